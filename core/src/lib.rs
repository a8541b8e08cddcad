//! The sans-IO core of a client for Sarvam AI's Document Intelligence APIs:
//! a PDF, or a ZIP of page images, in any of 23 Indian languages, turned into
//! Markdown, HTML or JSON (or fields, by a schema) by an asynchronous job.
//!
//! It speaks both APIs: the legacy job API (`/doc-digitization/job/v1`, the
//! default) and the current one (`/doc-ai/v1`, see [`doc_ai`]), chosen by
//! [`Config`]'s [`ApiVersion`]. The same machines run both, on one engine:
//! one retry table, one cadence, one set of limits.
//!
//! This crate does no I/O, reads no clock and draws no random numbers. It
//! builds [`http::Request`] values and reads [`http::Response`] values, and
//! decides every rule; a driver (`sarvam-doc-driver`, with the blocking
//! `sarvam-doc-ureq` or async `sarvam-doc-hyper` transport, or your own) does
//! the I/O.
//!
//! # The run loop
//!
//! A [`Watch`] follows one job to its end; a [`Run`] takes one document
//! through the whole job (legacy: create → upload-files → PUT the file →
//! start; `/doc-ai/v1`: presign → PUT → submit; then watch → fetch the
//! outputs). Both are driven through the [`Machine`] trait, the same way:
//!
//! 1. Make the machine with `now` (the deadline counts from there).
//! 2. Call `poll(now)` until it says [`Action::Done`]. It returns an [`Action`]:
//!    - [`Action::Event`]: something happened (progress, a retry, a job id
//!      to write down before the next request); report it and poll again
//!      at once. Events always come first.
//!    - [`Action::Transmit`]: send `t.request` within `t.timeout` (and no
//!      longer than `t.idle` without progress), streaming a [`Body::File`]
//!      from the input file. Then hand back what happened, with `t.attempt`:
//!      - an answer, for a [`Sink::Memory`] request (read at most `limit + 1`
//!        bytes), or for a [`Sink::File`] request that was not 2xx (read at
//!        most `error_limit + 1`): `handle_response(now, attempt, response)`;
//!      - a [`Sink::File`] request answered 2xx: stream the body into the
//!        file through a temporary file, then `handle_saved(now, attempt,
//!        bytes)`; the moment it passes `max_len`, stop, keep nothing, and
//!        `handle_too_large(now, attempt, bytes_so_far)`;
//!      - no answer: `handle_transport_error(now, attempt, error)`, with a
//!        [`TransportErrorKind`] (could not connect / timed out / other), so
//!        the core can tell "surely not sent" from "maybe processed".
//!    - [`Action::Wait`]: sleep until `until` (always in the future), then
//!      poll again.
//!    - [`Action::Done`]: the [`Outcome`]; every later poll returns it again.
//!
//! A late answer (to an attempt the machine timed out) changes nothing.
//! The example below is the loop for a [`Watch`], which sends only
//! [`Sink::Memory`] requests; `core/examples/run.rs` drives a whole [`Run`]
//! against the local simulator, with every input above
//! (`cargo run -p sarvam-doc-core --example run`). A runtime that wants the
//! streaming, timeouts and files done for it implements the driver's
//! three-method `AsyncTransport` trait (`sarvam-doc-driver`) instead.
//!
//! ```
//! use std::time::Instant;
//! use sarvam_doc_core::{Action, Api, ApiKey, Config, Machine, Outcome, Policy, Watch};
//!
//! # fn send(_: &http::Request<sarvam_doc_core::Body>) -> http::Response<Vec<u8>> {
//! #     http::Response::new(br#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed",
//! #       "created_at":"2026-11-29T10:00:00Z","updated_at":"2026-11-29T10:00:09Z","storage_container_type":"Azure"}"#.to_vec())
//! # }
//! # fn sleep_until(_: Instant) {}
//! let api = Api::new(Config::new(ApiKey::new("sk_test")?));
//! let mut watch = Watch::new(api, "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?, Policy::default(), Instant::now());
//! let outcome = loop {
//!     match watch.poll(Instant::now()) {
//!         Action::Event(event) => eprintln!("{event:?}"),
//!         Action::Transmit(t) => {
//!             let response = send(&t.request); // your HTTP client, within t.timeout
//!             watch.handle_response(Instant::now(), t.attempt, response);
//!         }
//!         Action::Wait { until, .. } => sleep_until(until),
//!         Action::Done(outcome) => break outcome,
//!     }
//! };
//! assert!(matches!(outcome, Outcome::Completed { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The machines hold every protocol rule: which errors to retry and how long
//! to back off (the retry table, by [`error::RetryClass`] and `Retry-After`),
//! at most one started job per document, the polling cadence
//! ([`policy::PollPolicy`]), the stall, no-progress and download limits and
//! the deadline ([`Policy`]). So do the pure planners in [`output`] (which
//! names touch the disk, what an output ZIP may hold) and [`journal`] (what a
//! rerun does with each input). A driver holds none.
//!
//! # Where things are
//!
//! The root holds the run loop and what sets it up. Everything else is in
//! one module: [`model`] (the API's bodies, states, languages, [`model::Status`]),
//! [`error`], [`config`], [`policy`], [`budget`] (a request budget shared by a
//! client's machines), [`api`] ([`api::Endpoint`]), [`doc_ai`] (the
//! `/doc-ai/v1` messages), [`wire`] (headers, dates, URL checks), [`output`],
//! [`journal`].
//!
//! # The messages underneath
//!
//! 1. Make a [`Config`] from an [`ApiKey`] (and, for tests, a loopback base
//!    URL), and an [`Api`] from it.
//! 2. Ask the [`Api`] for the request of an endpoint: [`Api::create_job`],
//!    [`Api::upload_files`], [`Api::upload_file`] (the PUT to storage),
//!    [`Api::start`], [`Api::status`], [`Api::download_files`],
//!    [`Api::download_output`] (the GET from storage).
//! 3. Send it, and hand the response to the matching parser
//!    ([`Api::parse_status`], …). You get the model or an [`Error`]:
//!    [`ApiError`] for a status outside 2xx, [`ProtocolError`] for a 2xx that
//!    broke the contract (an answer about another job, a presigned URL that
//!    is not https). [`Error::retry_class`] says, as data, whether retrying
//!    can help, and [`Error::may_have_taken_effect`] whether repeating a
//!    create or start could do it twice.
//!
//! ```
//! use sarvam_doc_core::{Api, ApiKey, Body, Config, model::{CreateJobRequest, JobState, Language, OutputFormat}};
//!
//! let api = Api::new(Config::builder(ApiKey::new("sk_test")?).base_url("http://127.0.0.1:8080").build()?);
//!
//! // 1. Create a job.
//! let request = api.create_job(&CreateJobRequest::new(Language::HINDI, OutputFormat::Md))?;
//! assert_eq!(request.uri(), "http://127.0.0.1:8080/doc-digitization/job/v1");
//! assert!(matches!(request.body(), Body::Bytes(_)));
//!
//! // 2. A transport sends it; here is what the server answers.
//! let response = http::Response::builder().status(202).body(
//!     r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","storage_container_type":"Azure",
//!         "job_parameters":{"language":"hi-IN","output_format":"md"},"job_state":"Accepted"}"#,
//! )?;
//! let job = api.parse_create_job(&response)?;
//! assert_eq!(job.job_state, JobState::Accepted);
//!
//! // 3. The next request uses the checked job id: percent-encoded into the path.
//! let status = api.status(&job.job_id);
//! assert_eq!(status.uri().path(), "/doc-digitization/job/v1/3fa85f64-5717-4562-b3fc-2c963f66afa6/status");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # In scope, and not
//!
//! In scope: the job state machines, every endpoint of the job API and the
//! two storage requests, typed models with the spec's defaults, errors with
//! retry classes, the output planners, and the safety rules: the key goes
//! only to the API origin, never in `Debug`, `Display` or an error (it is
//! redacted from anything a server sends back); `https` except loopback or
//! an explicit opt-in; job ids checked before they go into a path; every
//! body and output bounded.
//!
//! Not in scope: sockets, files, sleeping and clocks (the driver's work),
//! and the webhook receiver (its payload is undocumented).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod budget;
pub mod config;
pub mod doc_ai;
mod document;
mod enums;
pub mod error;
mod input;
pub mod journal;
mod language;
mod machine;
mod messages;

/// The API's request and response bodies, field for field.
///
/// Names follow the API's schemas (`DocDigitizationJobStatusResponse` becomes
/// [`JobStatus`], and so on). Optional fields take the
/// spec's defaults when they are missing *or* `null`; unknown fields are
/// ignored.
///
/// Also here: the values the API sends as strings
/// ([`JobState`], [`OutputFormat`],
/// [`Language`], …), one [`Status`] over both
/// APIs, and the rules of an input document
/// ([`check_file_name`],
/// [`LEGACY_PAGE_LIMIT`](model::LEGACY_PAGE_LIMIT)).
pub mod model {
    pub use crate::document::Job;
    pub use crate::enums::{
        Ending, ErrorCode, FileState, JobState, OutputFormat, StateClass, StorageContainerType,
    };
    pub use crate::input::{DocumentKind, LEGACY_PAGE_LIMIT, MAX_INPUT_BYTES, check_file_name};
    pub use crate::language::Language;
    pub use crate::messages::*;
    pub use crate::status::Status;
}
pub mod output;
pub mod policy;
pub mod split;
mod status;
pub mod wire;

// The run loop: what a driver needs to drive a machine, and to set one up.
pub use api::{Api, Body};
pub use config::{ApiKey, Config};
pub use document::Document;
pub use error::{Error, TransportError, TransportErrorKind};
pub use machine::{
    Action, Attempt, Direction, DownloadedFile, Event, GiveUpReason, Machine, Outcome, Run, Sink,
    Transmit, WaitReason, Watch,
};
pub use messages::JobId;
pub use policy::Policy;

// Re-exported so that users need not pin the same versions themselves.
pub use http;
pub use time;
pub use uuid;

// Inside the crate, every type by its short name.
pub(crate) use api::Endpoint;
pub(crate) use budget::Budget;
pub(crate) use config::ApiVersion;
pub(crate) use document::Job;
pub(crate) use enums::{
    Ending, ErrorCode, FileState, JobState, OutputFormat, StateClass, StorageContainerType,
};
pub(crate) use error::{ApiError, InputError, Peer, ProtocolError, ProtocolErrorKind, RetryClass};
pub(crate) use input::check_file_name;
pub(crate) use language::Language;
pub(crate) use messages::{
    CreateJobRequest, CreateJobResponse, DownloadFilesResponse, JobStatus, PageCounts, PageError,
    UploadFilesRequest, UploadFilesResponse,
};
pub(crate) use status::Status;
