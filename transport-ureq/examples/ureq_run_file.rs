//! Runs one file through the whole job and saves the output ZIP.
//!
//! `cargo run -p sarvam-doc-ureq --example ureq_run_file -- FILE [OUT_DIR]`
//!
//! With `SARVAM_API_KEY` set it talks to `SARVAM_BASE_URL` (default
//! `https://api.sarvam.ai`); without, to an in-process simulator.
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints.

use sarvam_doc_core::{ApiKey, Config, CreateJobRequest, Language, OutputFormat};
use sarvam_doc_ureq::{Client, RunOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or("usage: ureq_run_file FILE [OUT_DIR]")?;
    let out_dir = args.next().unwrap_or_else(|| ".".into());

    let (config, _sim) = match std::env::var("SARVAM_API_KEY") {
        Ok(key) => {
            let base = std::env::var("SARVAM_BASE_URL")
                .unwrap_or_else(|_| sarvam_doc_core::DEFAULT_BASE_URL.into());
            (
                Config::builder(ApiKey::new(key)?).base_url(base).build()?,
                None,
            )
        }
        Err(_) => {
            let sim = sarvam_doc_sim::Simulator::start(sarvam_doc_sim::SimConfig::default())?;
            eprintln!(
                "no SARVAM_API_KEY: using a local simulator at {}",
                sim.api_url()
            );
            let config = Config::builder(ApiKey::new(sim.api_key())?)
                .base_url(sim.api_url())
                .build()?;
            (config, Some(sim))
        }
    };

    let client = Client::new(config);
    let mut options = RunOptions::new(out_dir);
    options.job = CreateJobRequest::new(Language::HINDI, OutputFormat::Md);
    let outcome = client.run(input.as_ref(), &options, |event| eprintln!("{event:?}"))?;
    println!("{outcome}");
    for output in outcome.outputs() {
        println!("saved {}", output.name);
    }
    Ok(())
}
