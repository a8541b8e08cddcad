//! Blocking transport for [`sarvam_doc_core`], built on `ureq`.
//!
//! **Not built yet.** This crate will run the core's state machines with a
//! `ureq::Agent`: the plain endpoint calls, watching one job to its outcome and
//! running one file through the whole job, streaming uploads and downloads.
//! It will hold no protocol rule of its own: every decision stays in the core.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
