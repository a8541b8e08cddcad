//! Watches one job until it ends.
//!
//! `SARVAM_API_KEY=… cargo run -p sarvam-doc-ureq --example ureq_watch -- JOB_ID`
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints.

use sarvam_doc_core::{ApiKey, Config, JobId};
use sarvam_doc_ureq::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let job: JobId = std::env::args()
        .nth(1)
        .ok_or("usage: ureq_watch JOB_ID")?
        .parse()?;
    let key = ApiKey::new(std::env::var("SARVAM_API_KEY").map_err(|_| "set SARVAM_API_KEY")?)?;
    let base = std::env::var("SARVAM_BASE_URL")
        .unwrap_or_else(|_| sarvam_doc_core::DEFAULT_BASE_URL.into());
    let client = Client::new(Config::builder(key).base_url(base).build()?);
    let outcome = client.watch(job, |event| eprintln!("{event:?}"));
    println!("{outcome}");
    Ok(())
}
