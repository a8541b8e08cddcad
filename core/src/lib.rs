//! The sans-IO core of a client for Sarvam AI's Document Intelligence job API
//! (`/doc-digitization/job/v1`): a PDF, or a ZIP of page images, in any of 23
//! Indian languages, turned into Markdown, HTML or JSON by an asynchronous job.
//!
//! This crate does no I/O, reads no clock and draws no random numbers. It
//! builds [`http::Request`] values and reads [`http::Response`] values;
//! a transport (blocking `sarvam-doc-ureq`, async `sarvam-doc-hyper`, or your
//! own) sends them.
//!
//! # The run loop
//!
//! A [`Watch`] follows one job to its end; a [`Run`] takes one document
//! through the whole job (create → upload-files → PUT the file → start →
//! watch → download-files → GET each output). Both are driven the same way:
//!
//! 1. Make the machine with `now` (the deadline counts from there).
//! 2. Call `poll(now)`. It returns an [`Action`]:
//!    - [`Action::Send`]: send the request (streaming a [`Body::File`] from
//!      the input file, and a [`Sink::File`] answer into the output file),
//!      then hand the answer to `handle_response(now, attempt, response)`,
//!      or the failure to `handle_transport_error(now, attempt, error)` with
//!      its [`TransportErrorKind`] (could not connect / timed out / other).
//!    - [`Action::Wait`]: sleep until `until` (always in the future), then
//!      poll again.
//!    - [`Action::Done`]: the [`Outcome`]; every later poll returns it again.
//! 3. Between polls, drain `poll_event()` for progress ([`Event`]).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use sarvam_doc_core::{Action, Api, ApiKey, Config, Outcome, Policy, Watch};
//!
//! # fn send(_: &http::Request<sarvam_doc_core::Body>) -> http::Response<Vec<u8>> {
//! #     http::Response::new(br#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed",
//! #       "created_at":"2026-11-29T10:00:00Z","updated_at":"2026-11-29T10:00:09Z","storage_container_type":"Azure"}"#.to_vec())
//! # }
//! # fn sleep_until(_: Instant) {}
//! let api = Arc::new(Api::new(Config::new(ApiKey::new("sk_test")?)));
//! let mut watch = Watch::new(api, "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?, Policy::default(), Instant::now());
//! let outcome = loop {
//!     match watch.poll(Instant::now()) {
//!         Action::Send(s) => {
//!             let response = send(&s.request); // your HTTP client, with s.timeout
//!             watch.handle_response(Instant::now(), s.attempt, response);
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
//! to back off ([`RetryClass`], `Retry-After`), never repeating a create or
//! start that may have taken effect, the polling cadence ([`PollPolicy`]),
//! the stall limit and the deadline ([`Policy`]). A driver holds none.
//!
//! # The messages underneath
//!
//! 1. Make a [`Config`] from an [`ApiKey`] (and, for tests, a loopback base
//!    URL), and an [`Api`] from it.
//! 2. Ask the [`Api`] for the request of an endpoint: [`Api::create_job`],
//!    [`Api::upload_files`], [`Api::upload_file`] (the PUT to storage),
//!    [`Api::start`], [`Api::status`], [`Api::download_files`],
//!    [`Api::download_output`] (the GET from storage). Each returns an
//!    `http::Request<`[`Body`]`>`; a [`Body::File`] names the file the
//!    transport must stream, with its length.
//! 3. Send it, and hand the response to the matching parser
//!    ([`Api::parse_status`], …). You get the model ([`JobStatus`], …) or an
//!    [`Error`]: [`ApiError`] for a status outside 2xx, [`ProtocolError`] for a
//!    2xx that broke the contract. [`Error::retry_class`] says, as data,
//!    whether retrying can help, and [`Error::may_have_taken_effect`] whether
//!    repeating a create or start could do it twice.
//!
//! ```
//! use sarvam_doc_core::{Api, ApiKey, Body, Config, CreateJobRequest, JobState, Language, OutputFormat};
//!
//! let api = Api::new(Config::builder(ApiKey::new("sk_test")?).base_url("http://127.0.0.1:8080").build()?);
//!
//! // 1. Create a job.
//! let request = api.create_job(&CreateJobRequest::new(Language::HINDI, OutputFormat::Md))?;
//! assert_eq!(request.uri(), "http://127.0.0.1:8080/doc-digitization/job/v1");
//! assert!(matches!(request.body(), Body::Json(_)));
//!
//! // 2. A transport sends it; here is what the server answers.
//! let response = http::Response::builder().status(202).body(
//!     r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","storage_container_type":"Azure",
//!         "job_parameters":{"language":"hi-IN","output_format":"md"},"job_state":"Accepted"}"#,
//! )?;
//! let job = api.parse_create_job(&response)?;
//! assert_eq!(job.job_state, JobState::Accepted);
//!
//! // 3. The next request uses the typed job id: no string ever goes into a path.
//! let status = api.status(job.job_id);
//! assert_eq!(status.uri().path(), "/doc-digitization/job/v1/3fa85f64-5717-4562-b3fc-2c963f66afa6/status");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # In scope, and not
//!
//! In scope: the job state machines, every endpoint of the job API and the
//! two storage requests, typed models with the spec's defaults, errors with retry classes, and the
//! safety rules: the key goes only to the API origin, never in `Debug`,
//! `Display` or an error; `https` except loopback or an explicit opt-in; job
//! ids are UUIDs before they go into a path; bodies are capped.
//!
//! Not in scope: sockets, files, sleeping and clocks (the transports' work),
//! the webhook receiver (its payload is undocumented) and the newer
//! `/doc-ai/v1` API.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod config;
mod enums;
mod error;
mod language;
mod local;
mod machine;
mod model;
mod output;
mod policy;

pub use api::{
    API_KEY_HEADER, Api, BLOB_TYPE_HEADER, Body, Endpoint, MAX_INPUT_BYTES, MAX_RETRY_AFTER,
    REQUEST_ID_HEADER, check_file_name, parse_error, parse_http_date, parse_json, retry_after,
};
pub use config::{
    ApiKey, BaseUrl, Config, ConfigBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_JSON_BODY,
    is_loopback_host,
};
pub use enums::{ErrorCode, FileState, JobState, OutputFormat, StorageContainerType};
pub use error::{
    ApiError, EXCERPT_LIMIT, Error, InputError, ProtocolError, ProtocolErrorKind, RetryClass,
    TransportError, TransportErrorKind,
};
pub use language::Language;
pub use local::{RunError, RunOptions};
pub use machine::{
    Action, Attempt, Document, Event, GiveUpReason, Machine, Outcome, Output, Run, Send, Sink,
    WaitReason, Watch,
};
pub use model::{
    Callback, CreateJobRequest, CreateJobResponse, DownloadFilesResponse, ErrorBody, ErrorDetails,
    FileSignedUrl, JobDetail, JobId, JobParameters, JobStatus, PageCounts, PageError,
    TaskFileDetails, UploadFilesRequest, UploadFilesResponse,
};

pub use output::safe_output_name;
pub use policy::{Policy, PollPolicy, RetryPolicy};

// Re-exported so that users need not pin the same versions themselves.
pub use http;
pub use time;
pub use uuid;
