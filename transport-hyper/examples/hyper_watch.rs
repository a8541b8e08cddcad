//! Watches one job until it ends.
//!
//! `SARVAM_API_KEY=… cargo run -p sarvam-doc-hyper --example hyper_watch -- JOB_ID`
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints.

#[path = "../../examples/setup.rs"]
mod setup;

use sarvam_doc_core::JobId;
use sarvam_doc_hyper::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let job: JobId = std::env::args()
        .nth(1)
        .ok_or("usage: hyper_watch JOB_ID")?
        .parse()?;
    let (config, _sim) = setup::config()?;
    let client: Client = Client::new(config);
    let outcome = client.watch(job, |event| eprintln!("{event:?}")).await;
    println!("{outcome}");
    Ok(())
}
