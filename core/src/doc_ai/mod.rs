//! Sarvam's current document API, `/doc-ai/v1`: its tasks, its messages and
//! its bodies.
//!
//! One job takes one document (the input rule of [`crate::Document`]):
//!
//! 1. [`DocAi::presign`] asks for an upload URL; [`DocAi::upload`] PUTs the
//!    file there with the method and headers the server returned (the
//!    driver streams it, as for the legacy API).
//! 2. [`DocAi::submit`] makes **and starts** the job: digitise, parse or
//!    extract ([`Task`]), naming the upload by its id in a multipart form of
//!    text fields the core builds ([`Form`]).
//! 3. [`DocAi::status`] until the job ends; [`DocAi::results`] (inline
//!    JSON) and [`DocAi::download_url`] then [`DocAi::download`] (the output
//!    file) once it has.
//!
//! [`crate::Run`] and [`crate::Watch`] do all of it on the same engine as
//! the legacy API when their [`crate::Config`] says
//! [`crate::ApiVersion::DocAi`].
//!
//! ```
//! use sarvam_doc_core::doc_ai::{Digitise, Task};
//! use sarvam_doc_core::{Api, ApiKey, Config, config::ApiVersion, model::{Language, OutputFormat}};
//!
//! let config = Config::builder(ApiKey::new("sk_test")?)
//!     .base_url("http://127.0.0.1:8080")
//!     .api_version(ApiVersion::DocAi)
//!     .build()?;
//! let api = Api::new(config);
//! let task = Task::Digitise(Digitise {
//!     language: Some(Language::HINDI),
//!     output_format: Some(OutputFormat::Md),
//!     ..Digitise::default()
//! });
//! let request = api.doc_ai().submit(&task, &["upl_8f0c2d4e"])?;
//! assert_eq!(request.uri().path(), "/doc-ai/v1/job/digitise");
//! let body = String::from_utf8(request.body().bytes().unwrap().to_vec())?;
//! assert!(body.contains("name=\"upload_ids\"\r\n\r\nupl_8f0c2d4e\r\n"));
//! assert!(body.contains("name=\"output_format\"\r\n\r\nmd\r\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//!
//! - `task`: what a job is asked to do.
//! - `endpoints`: the requests and the parsing of their answers.
//! - `model`, `schema`, `multipart`: the bodies.

mod endpoints;
mod model;
mod multipart;
mod schema;
mod task;

pub use endpoints::{DocAi, mime_of};
pub use model::{
    DigitiseResults, DocAiStatus, DownloadUrl, ExtractResults, PresignRequest, PresignedUpload,
    Problem, ProblemItem, ResultDocument, ResultPage, Results, Submitted, Usage, state_of,
};
pub use multipart::Form;
pub use schema::{MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH, Schema};
pub use task::{ContentType, Digitise, Extract, ExtractFormat, ExtractSource, Task};

/// The path every `/doc-ai/v1` request starts with.
pub const DOC_AI_PATH: &str = "/doc-ai/v1/job";

/// The file an extract job's results are kept in, beside its outputs.
pub const RESULTS_FILE: &str = "results.json";

/// The largest results answer a run reads, in bytes (or the policy's
/// `max_download`, if smaller): the answer is read into memory, checked to
/// be about its job and scrubbed of the key before `results.json` is
/// written from it.
pub const MAX_RESULTS_BODY: usize = 64 * 1024 * 1024;
