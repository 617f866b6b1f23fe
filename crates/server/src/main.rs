use clap::Parser;
use tern_server::config::{Cli, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tern_server::init_logging();
    let config = match Config::load(Cli::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tern: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    match tern_server::run_until_signal(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
