//! `tern-load`: runs one load scenario against Tern or Janus and prints its
//! figures as a table and as one line of JSON.

use clap::Parser;
use tern_load::scenario::Args;
use tern_load::{report, run};

fn main() {
    let scenario = match Args::parse().scenario() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tern-load: {e:#}");
            std::process::exit(2);
        }
    };
    let rt = if scenario.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(scenario.threads)
            .enable_all()
            .build()
    };
    let rt = rt.expect("a tokio runtime");
    let mut rep = match rt.block_on(run::run(&scenario)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tern-load: {e:#}");
            std::process::exit(1);
        }
    };
    let j = rep.to_json(&scenario);
    print!("{}", report::table(&j));
    println!("{j}");
    if let Some(path) = &scenario.json {
        if let Err(e) = std::fs::write(path, format!("{j:#}\n")) {
            eprintln!("tern-load: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
