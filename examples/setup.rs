//! What the transports' examples share: the real API when `SARVAM_API_KEY`
//! is set (at `SARVAM_BASE_URL`, default `https://api.sarvam.ai`), else an
//! in-process simulator. Included by each example with `#[path]`.

use sarvam_doc_core::{ApiKey, Config};
use sarvam_doc_sim::{SimConfig, Simulator};

/// The configuration, and the simulator to keep alive if one was started.
pub(crate) fn config() -> Result<(Config, Option<Simulator>), Box<dyn std::error::Error>> {
    if let Ok(key) = std::env::var("SARVAM_API_KEY") {
        let base = std::env::var("SARVAM_BASE_URL")
            .unwrap_or_else(|_| sarvam_doc_core::config::DEFAULT_BASE_URL.into());
        return Ok((
            Config::builder(ApiKey::new(key)?).base_url(base).build()?,
            None,
        ));
    }
    let sim = Simulator::start(SimConfig::default())?;
    eprintln!(
        "no SARVAM_API_KEY: using a local simulator at {}",
        sim.api_url()
    );
    let config = Config::builder(ApiKey::new(sim.api_key())?)
        .base_url(sim.api_url())
        .build()?;
    Ok((config, Some(sim)))
}
