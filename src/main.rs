use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = streamgate::cli::Cli::parse();
    streamgate::cli::init_logging(&cli.global.log);
    if let Err(e) = streamgate::cli::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
