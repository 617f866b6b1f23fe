use clap::Parser;
use tern_server::config::{Cli, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tern_server::init_logging();
    let cli = Cli::parse();
    let migrate = cli.migrate_to_redis;
    let config = match Config::load(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tern: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    if migrate {
        return match tern_server::migrate_to_redis(&config) {
            Ok(report) => {
                println!("tern: migrated {report}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tern: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match tern_server::run_until_signal(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
