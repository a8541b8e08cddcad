//! Async transport for [`sarvam_doc_core`], built on hyper and tokio.
//!
//! **Not built yet.** This crate will run the core's state machines on
//! hyper-util's pooled client (rustls with ring), many jobs at once with a
//! bound on concurrency. It will hold no protocol rule of its own: every
//! decision stays in the core.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
