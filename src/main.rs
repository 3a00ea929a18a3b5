use clap::Parser;

// A faster allocator for the many small allocations of request handling (see bench/verify.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Before any thread exists: the config file becomes environment defaults.
    if let Err(e) = streamgate::config::load_into_env() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    let cli = streamgate::cli::Cli::parse();
    streamgate::cli::init_logging(&cli.global.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(streamgate::cli::run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
