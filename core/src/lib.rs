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
//! through the whole job (create → upload-files → PUT the file → start →
//! watch → download-files → GET each output). Both are driven the same way:
//!
//! 1. Make the machine with `now` (the deadline counts from there).
//! 2. Call `poll(now)` until it says [`Action::Done`]. It returns an [`Action`]:
//!    - [`Action::Event`]: something happened (progress, a retry); report
//!      it and poll again at once. Events always come first.
//!    - [`Action::Transmit`]: send the request within its `timeout`
//!      (streaming a [`Body::File`] from the input file, and a [`Sink::File`]
//!      answer into the output file), then hand the answer to
//!      `handle_response(now, attempt, response)`, or the failure to
//!      `handle_transport_error(now, attempt, error)` with its
//!      [`TransportErrorKind`] (could not connect / timed out / other).
//!    - [`Action::Wait`]: sleep until `until` (always in the future), then
//!      poll again.
//!    - [`Action::Done`]: the [`Outcome`]; every later poll returns it again.
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
//! to back off ([`RetryClass`], `Retry-After`), at most one started job per
//! document, the polling cadence ([`PollPolicy`]), the stall, no-progress and
//! download limits and the deadline ([`Policy`]). So do the pure planners in
//! [`output`]: which names touch the disk, and what an output ZIP may hold. A
//! driver holds none.
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
//! use sarvam_doc_core::{Api, ApiKey, Body, Config, CreateJobRequest, JobState, Language, OutputFormat};
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

mod api;
mod budget;
mod config;
pub mod doc_ai;
mod document;
mod enums;
mod error;
pub mod journal;
mod language;
pub mod machine;
pub mod model;
pub mod output;
mod policy;
mod status;
pub mod wire;

pub use api::{Api, Body, Endpoint};
pub use budget::{Budget, BudgetStats, Priority, Rate};
pub use config::{
    ApiKey, ApiVersion, BaseUrl, Config, ConfigBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_JSON_BODY,
};
pub use document::LEGACY_PAGE_LIMIT;
pub use document::{Document, DocumentKind, Job, MAX_INPUT_BYTES, check_file_name};
pub use enums::{
    Ending, ErrorCode, FileState, JobState, OutputFormat, StateClass, StorageContainerType,
};
pub use error::{
    ApiError, EXCERPT_LIMIT, Error, InputError, Peer, ProtocolError, ProtocolErrorKind, RetryClass,
    TransportError, TransportErrorKind,
};
pub use language::Language;
pub use machine::{
    Action, Attempt, Direction, DownloadedFile, Event, GiveUpReason, Machine, Outcome, Run, Sink,
    Transmit, WaitReason, Watch,
};
pub use model::{
    CreateJobRequest, CreateJobResponse, DownloadFilesResponse, JobId, JobStatus, PageCounts,
    PageError, UploadFilesRequest, UploadFilesResponse,
};
pub use policy::{DEFAULT_MAX_DOWNLOAD, Policy, PollPolicy, RetryPolicy};
pub use status::Status;

// Re-exported so that users need not pin the same versions themselves.
pub use http;
pub use time;
pub use uuid;
