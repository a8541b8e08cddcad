//! Cross-crate conformance tests for sarvam-doc.
//!
//! **Not built yet.** The suites in `tests/` will run every transport against
//! every simulator scenario. This library will hold the shared test helpers.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
