//! A local simulator of Sarvam AI's Document Intelligence job API.
//!
//! **Not built yet.** This crate will serve the five job endpoints and a
//! presigned storage origin over real HTTP on loopback, with jobs that progress
//! page by page and scripted or seeded-random fault injection. It speaks the
//! wire format only, so it does not depend on the client's core.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
