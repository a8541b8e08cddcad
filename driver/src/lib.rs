//! The driving layer of `sarvam-doc`: runs the sans-IO core's machines over
//! files and time, written once for every transport.
//!
//! The core ([`sarvam_doc_core`]) decides every rule; this crate carries its
//! actions out: it sends each request through a transport within the
//! timeout the core gave, streams the input file up and outputs down
//! (stopping the moment a download passes its bound), saves through
//! temporary files renamed into place, unpacks outputs under the core's ZIP
//! rules, and publishes pages in one rename. A transport only moves bytes:
//!
//! - [`Transport`]: blocking. Used through [`BlockingClient`]
//!   (`sarvam-doc-ureq` is one).
//! - [`AsyncTransport`]: async. Used through [`Client`] (`sarvam-doc-hyper`
//!   is one, on tokio).
//!
//! The loop is the core's, run once here for both: the blocking face runs
//! the very same async code over [`Blocking`], whose futures end on their
//! first poll, with [`block_on`].
//!
//! 1. Make a client: `Client::with_transport(config, transport)`, or
//!    `Client::new(config)` for a transport's default setup, and, if you
//!    like, `.with_policy(..)`.
//! 2. [`Client::run`] a file through the whole job into an output folder, or
//!    [`Client::watch`] a job to its end; [`Client::run_all`] and
//!    [`Client::watch_all`] for many at once. Each reports the core's
//!    [`Event`](sarvam_doc_core::Event)s to a callback.
//! 3. Or call one endpoint at a time: [`Client::status`], … (one request
//!    each, no retries).
//!
//! ```no_run
//! # async fn demo<T: sarvam_doc_driver::AsyncTransport>(transport: T) -> Result<(), Box<dyn std::error::Error>> {
//! use sarvam_doc_core::{ApiKey, Config, model::{CreateJobRequest, Language, OutputFormat}};
//! use sarvam_doc_driver::{Client, RunOptions};
//!
//! let client = Client::with_transport(Config::new(ApiKey::new(std::env::var("SARVAM_API_KEY")?)?), transport);
//! let options = RunOptions::new("out").with_job(CreateJobRequest::new(Language::TAMIL, OutputFormat::Md));
//! let report = client.run("scan.pdf".as_ref(), &options, |event| eprintln!("{event:?}")).await?;
//! println!("{}: pages in {:?}", report.outcome, report.output);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod batch;
mod client;
mod clock;
mod error;
mod exchange;
mod job;
pub mod journal;
pub mod preflight;
mod record;
pub mod split;
mod staging;
mod stitch;
mod transport;
mod unpack;

use std::path::Path;

pub use batch::{BatchItem, BatchOptions, BatchPlan, ChunkItem, Done, PlannedChunk, PlannedInput};
pub use client::{BlockingClient, Client};
pub use clock::Clock;
pub use error::{ChunkReport, Layout, Report, RunError, RunOptions};
pub use record::RequestRecord;
pub use transport::{
    AsyncTransport, Blocking, BlockingBody, Outgoing, ReadBody, ResponseBody, Timeouts, Transport,
    UploadBody, block_on,
};
pub use unpack::MANIFEST;

use sarvam_doc_core::{Document, error::InputError, model::Job};

/// Which certificates a transport's TLS connections trust.
///
/// Not `#[non_exhaustive]`: a transport must handle every kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Roots {
    /// Mozilla's roots, built in (`webpki-roots`): the same everywhere.
    #[default]
    WebPki,
    /// The operating system's store and verifier (`rustls-platform-verifier`):
    /// needed behind a corporate proxy that re-signs TLS.
    Platform,
}

/// The prefix of every temporary file and folder the driver makes in an
/// output folder: a staging folder's name is this and 16 random letters and
/// digits, and it holds a marker file written when it was made; a part file
/// (a download in progress) is named the same way, followed by `.part`. When
/// a run takes an output folder, it removes what killed runs left behind,
/// and only entries of exactly that shape (a folder only with its marker,
/// unlocked; never a link): a user's `.sarvam-doc-backup` stays.
pub const TEMP_PREFIX: &str = ".sarvam-doc-tmp~";

/// The document for the input file at `path`: the file must exist, be a
/// regular file that can be opened, and pass the core's input rule
/// ([`Document::new`]). The one check of input files, for every transport
/// and the CLI.
///
/// # Errors
/// [`RunError::Input`] if the file cannot be read or is not a file;
/// [`RunError::Core`] with an [`InputError`] for one the API refuses.
pub fn document(path: &Path, job: impl Into<Job>) -> Result<Document, RunError> {
    let input = |source| RunError::Input {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(input)?;
    if !meta.is_file() {
        return Err(input(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file: give a .pdf or a .zip file",
        )));
    }
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        RunError::Core(
            InputError::FileName {
                name: path.display().to_string(),
                reason: "the name is not valid UTF-8",
            }
            .into(),
        )
    })?;
    let document = Document::new(name, meta.len(), job)?;
    std::fs::File::open(path).map_err(input)?;
    Ok(document)
}
