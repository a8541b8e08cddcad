//! Watches one job until it ends.
//!
//! `SARVAM_API_KEY=… cargo run -p sarvam-doc-ureq --example ureq_watch -- JOB_ID`
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints.

#[path = "../../examples/setup.rs"]
mod setup;

use sarvam_doc_core::JobId;
use sarvam_doc_ureq::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let job: JobId = std::env::args()
        .nth(1)
        .ok_or("usage: ureq_watch JOB_ID")?
        .parse()?;
    let (config, _sim) = setup::config()?;
    let outcome = Client::new(config).watch(job, |event| eprintln!("{event:?}"));
    println!("{outcome}");
    Ok(())
}
