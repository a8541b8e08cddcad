//! Runs every `.pdf` and `.zip` in a folder, four at a time, each into a
//! folder of pages of its own.
//!
//! `cargo run -p sarvam-doc-hyper --example hyper_run_folder -- IN_DIR OUT_DIR`
//!
//! With `SARVAM_API_KEY` set it talks to `SARVAM_BASE_URL` (default
//! `https://api.sarvam.ai`); without, to an in-process simulator.
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints.

#[path = "../../examples/setup.rs"]
mod setup;

use sarvam_doc_core::Event;
use sarvam_doc_hyper::{Client, RunOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: hyper_run_folder IN_DIR OUT_DIR";
    let (in_dir, out_dir) = (args.next().ok_or(usage)?, args.next().ok_or(usage)?);
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(&in_dir)? {
        let path = entry?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("pdf" | "zip")) {
            inputs.push(path);
        }
    }
    let (config, _sim) = setup::config()?;
    let client: Client = Client::new(config);
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let results = client
        .run_all(inputs, &RunOptions::new(out_dir), 4, |i, event| {
            if let Event::StateChanged { to, .. } = event {
                eprintln!("{}: {to}", names[i]);
            }
        })
        .await;
    for result in results {
        match result {
            Ok(report) => println!("{}", report.outcome),
            Err(e) => println!("error: {e}"),
        }
    }
    Ok(())
}
