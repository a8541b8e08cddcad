//! Runs one file through the whole job and unpacks its pages.
//!
//! `cargo run -p sarvam-doc-ureq --example ureq_run_file -- FILE [OUT_DIR]`
//!
//! With `SARVAM_API_KEY` set it talks to `SARVAM_BASE_URL` (default
//! `https://api.sarvam.ai`); without, to an in-process simulator.
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints.

#[path = "../../examples/setup.rs"]
mod setup;

use sarvam_doc_core::model::{CreateJobRequest, Language, OutputFormat};
use sarvam_doc_ureq::{Client, RunOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or("usage: ureq_run_file FILE [OUT_DIR]")?;
    let out_dir = args.next().unwrap_or_else(|| "out".into());
    let (config, _sim) = setup::config()?;
    let client = Client::new(config);
    let options =
        RunOptions::new(out_dir).with_job(CreateJobRequest::new(Language::HINDI, OutputFormat::Md));
    let report = client.run(input.as_ref(), &options, |event| eprintln!("{event:?}"))?;
    println!("{}", report.outcome);
    for folder in &report.output {
        println!("pages in {}", folder.display());
    }
    Ok(())
}
