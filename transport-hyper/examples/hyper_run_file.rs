//! Runs one file through the whole job and saves the output ZIP.
//!
//! `cargo run -p sarvam-doc-hyper --example hyper_run_file -- FILE [OUT_DIR]`
//!
//! With `SARVAM_API_KEY` set it talks to `SARVAM_BASE_URL` (default
//! `https://api.sarvam.ai`); without, to an in-process simulator.
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints.

use sarvam_doc_core::{ApiKey, Config};
use sarvam_doc_hyper::{Client, RunOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or("usage: hyper_run_file FILE [OUT_DIR]")?;
    let out_dir = args.next().unwrap_or_else(|| ".".into());
    let (config, _sim) = config()?;
    let client = Client::new(config);
    let outcome = client
        .run(input.as_ref(), &RunOptions::new(out_dir), |event| {
            eprintln!("{event:?}")
        })
        .await?;
    println!("{outcome}");
    Ok(())
}

/// The real API with `SARVAM_API_KEY`, else a local simulator.
fn config() -> Result<(Config, Option<sarvam_doc_sim::Simulator>), Box<dyn std::error::Error>> {
    if let Ok(key) = std::env::var("SARVAM_API_KEY") {
        let base = std::env::var("SARVAM_BASE_URL")
            .unwrap_or_else(|_| sarvam_doc_core::DEFAULT_BASE_URL.into());
        return Ok((
            Config::builder(ApiKey::new(key)?).base_url(base).build()?,
            None,
        ));
    }
    let sim = sarvam_doc_sim::Simulator::start(sarvam_doc_sim::SimConfig::default())?;
    eprintln!(
        "no SARVAM_API_KEY: using a local simulator at {}",
        sim.api_url()
    );
    let config = Config::builder(ApiKey::new(sim.api_key())?)
        .base_url(sim.api_url())
        .build()?;
    Ok((config, Some(sim)))
}
