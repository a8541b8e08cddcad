//! Runs every `.pdf` and `.zip` in a folder, four at a time.
//!
//! `cargo run -p sarvam-doc-hyper --example hyper_run_folder -- IN_DIR OUT_DIR`
//!
//! With `SARVAM_API_KEY` set it talks to `SARVAM_BASE_URL` (default
//! `https://api.sarvam.ai`); without, to an in-process simulator.
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints.

use sarvam_doc_core::{ApiKey, Config, Event};
use sarvam_doc_hyper::{Client, RunOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let in_dir = args
        .next()
        .ok_or("usage: hyper_run_folder IN_DIR OUT_DIR")?;
    let out_dir = args
        .next()
        .ok_or("usage: hyper_run_folder IN_DIR OUT_DIR")?;
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
    let _sim;
    let config = if let Ok(key) = std::env::var("SARVAM_API_KEY") {
        let base = std::env::var("SARVAM_BASE_URL")
            .unwrap_or_else(|_| sarvam_doc_core::DEFAULT_BASE_URL.into());
        Config::builder(ApiKey::new(key)?).base_url(base).build()?
    } else {
        let sim = sarvam_doc_sim::Simulator::start(sarvam_doc_sim::SimConfig::default())?;
        eprintln!(
            "no SARVAM_API_KEY: using a local simulator at {}",
            sim.api_url()
        );
        let config = Config::builder(ApiKey::new(sim.api_key())?)
            .base_url(sim.api_url())
            .build()?;
        _sim = sim;
        config
    };
    let client = Client::new(config);
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let results = client
        .run_all(inputs, &RunOptions::new(out_dir), 4, move |i, event| {
            if let Event::StateChanged { to, .. } = event {
                eprintln!("{}: {to}", names[i]);
            }
        })
        .await;
    for result in results {
        match result {
            Ok(outcome) => println!("{outcome}"),
            Err(e) => println!("error: {e}"),
        }
    }
    Ok(())
}
