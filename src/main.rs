use clap::Parser;

// A faster allocator for the many small allocations of request handling (see bench/verify.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = streamgate::cli::Cli::parse();
    // The one place the environment is read: the typed Config, validated before anything starts.
    let config = match streamgate::Config::load(|k| std::env::var(k).ok(), &cli.flags()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    streamgate::cli::init_logging(&config.log);
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
    if let Err(e) = runtime.block_on(streamgate::cli::run(cli, config)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
