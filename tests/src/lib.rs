//! Cross-crate conformance tests for sarvam-doc: every transport against
//! the simulator, through one suite.
//!
//! The suites drive the driver's own [`Client`] over each transport: the
//! async one over hyper, and the same client over ureq through
//! [`Blocking`], whose futures end on their first poll. [`for_each_transport!`]
//! runs one test body with each; [`for_each_client!`] runs it also through
//! the public [`BlockingClient`] that users call, seen through
//! [`BlockingAdapter`]. This library holds what the suites share: fast
//! policies and simulator settings, and helpers to read outputs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sarvam_doc_core::{
    ApiKey, Config, Error, Event, JobId, Outcome, Policy,
    model::{
        CreateJobRequest, CreateJobResponse, DownloadFilesResponse, JobStatus, Status,
        UploadFilesResponse,
    },
    policy::{PollPolicy, RetryPolicy},
};
use sarvam_doc_driver::{
    AsyncTransport, Blocking, BlockingClient, Client, Report, RunError, RunOptions, Transport,
};
use sarvam_doc_sim::{SimConfig, Simulator};

pub use sarvam_doc_driver::block_on;

/// The ureq client, seen through the driver's async face.
pub type UreqClient = Client<Blocking<sarvam_doc_ureq::Ureq>>;
/// The hyper client.
pub type HyperClient = sarvam_doc_hyper::Client;

/// Runs `$body` once with each transport: `$client` is a driver
/// [`Client`] over it and `$name` is `"ureq"` or `"hyper"`. The body is an
/// async block's contents; it runs on the calling thread for ureq and on a
/// fresh tokio runtime for hyper.
#[macro_export]
macro_rules! for_each_transport {
    ($config:expr, $policy:expr, |$name:ident, $client:ident| $body:block) => {{
        {
            let $name: &'static str = "ureq";
            let $client = $crate::ureq_client($config, $policy);
            $crate::block_on(async { $body });
        }
        {
            let $name: &'static str = "hyper";
            let runtime = $crate::runtime();
            let $client = {
                let _entered = runtime.enter();
                $crate::hyper_client($config, $policy)
            };
            runtime.block_on(async { $body });
        }
    }};
}

/// How many clients [`for_each_client!`] runs a body with: what a test that
/// counts the simulator's requests multiplies by.
pub const CLIENTS: usize = 3;

/// Runs `$body` once with each client users can hold: the two of
/// [`for_each_transport!`] (`"ureq"`, `"hyper"`), then the public
/// [`BlockingClient`] over ureq (`"blocking"`), whose sync methods the body
/// calls through [`BlockingAdapter`] with the same `.await`s. A failing body
/// panics again naming the client it ran with.
#[macro_export]
macro_rules! for_each_client {
    ($config:expr, $policy:expr, |$name:ident, $client:ident| $body:block) => {{
        $crate::naming_failures("ureq", || {
            let $name: &'static str = "ureq";
            let $client = $crate::ureq_client($config, $policy);
            $crate::block_on(async { $body });
        });
        $crate::naming_failures("hyper", || {
            let $name: &'static str = "hyper";
            let runtime = $crate::runtime();
            let $client = {
                let _entered = runtime.enter();
                $crate::hyper_client($config, $policy)
            };
            runtime.block_on(async { $body });
        });
        $crate::naming_failures("blocking", || {
            let $name: &'static str = "blocking";
            let $client = $crate::blocking_client($config, $policy);
            $crate::block_on(async { $body });
        });
    }};
}

/// Runs `test`; if it panics, panics again saying it ran with `client`
/// (the first panic's message and place are printed by the panic hook).
///
/// # Panics
/// When `test` does.
pub fn naming_failures<R>(client: &str, test: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(test)) {
        Ok(r) => r,
        Err(cause) => {
            let message = cause
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| cause.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("failed with the {client} client: {message}")
        }
    }
}

/// The public [`BlockingClient`] over ureq, for [`for_each_client!`].
pub type PublicBlockingClient = BlockingAdapter<sarvam_doc_ureq::Ureq>;

/// The public [`BlockingClient`] for `config` with `policy`.
#[must_use]
pub fn blocking_client(config: Config, policy: Policy) -> PublicBlockingClient {
    BlockingAdapter(
        BlockingClient::with_transport(config, sarvam_doc_ureq::Ureq::default())
            .with_policy(policy),
    )
}

/// A [`BlockingClient`] behind methods of the async [`Client`]'s names and
/// shapes, so that one test body (written with `.await`) serves it too.
/// Each method calls the blocking client's own sync method, which is what
/// users call, and returns a future that is already done.
#[derive(Debug, Clone)]
pub struct BlockingAdapter<T>(pub BlockingClient<T>);

impl<T: Transport> BlockingAdapter<T> {
    /// [`BlockingClient::create_job`].
    ///
    /// # Errors
    /// As the blocking client's.
    pub fn create_job(
        &self,
        job: &CreateJobRequest,
    ) -> impl Future<Output = Result<CreateJobResponse, Error>> {
        std::future::ready(self.0.create_job(job))
    }

    /// [`BlockingClient::upload_files`].
    ///
    /// # Errors
    /// As the blocking client's.
    pub fn upload_files(
        &self,
        job: &JobId,
        file_name: &str,
    ) -> impl Future<Output = Result<UploadFilesResponse, Error>> {
        std::future::ready(self.0.upload_files(job, file_name))
    }

    /// [`BlockingClient::start`].
    ///
    /// # Errors
    /// As the blocking client's.
    pub fn start(&self, job: &JobId) -> impl Future<Output = Result<JobStatus, Error>> {
        std::future::ready(self.0.start(job))
    }

    /// [`BlockingClient::status`].
    ///
    /// # Errors
    /// As the blocking client's.
    pub fn status(&self, job: &JobId) -> impl Future<Output = Result<Status, Error>> {
        std::future::ready(self.0.status(job))
    }

    /// [`BlockingClient::download_files`].
    ///
    /// # Errors
    /// As the blocking client's.
    pub fn download_files(
        &self,
        job: &JobId,
    ) -> impl Future<Output = Result<DownloadFilesResponse, Error>> {
        std::future::ready(self.0.download_files(job))
    }

    /// [`BlockingClient::watch`].
    pub fn watch(
        &self,
        job: JobId,
        on_event: impl FnMut(&Event) + Send,
    ) -> impl Future<Output = Outcome> {
        std::future::ready(self.0.watch(job, on_event))
    }

    /// [`BlockingClient::run`].
    ///
    /// # Errors
    /// As the blocking client's.
    pub fn run(
        &self,
        input: &Path,
        options: &RunOptions,
        on_event: impl FnMut(&Event) + Send,
    ) -> impl Future<Output = Result<Report, RunError>> {
        std::future::ready(self.0.run(input, options, on_event))
    }
}

/// The three calls that take a job to started, for [`started_job`]: the
/// async [`Client`]'s, or the public blocking client's.
pub trait StartsJobs {
    /// Creates a job.
    fn create_job(
        &self,
        job: &CreateJobRequest,
    ) -> impl Future<Output = Result<CreateJobResponse, Error>>;
    /// Asks for the upload URL of `file_name`.
    fn upload_files(
        &self,
        job: &JobId,
        file_name: &str,
    ) -> impl Future<Output = Result<UploadFilesResponse, Error>>;
    /// Starts a job.
    fn start(&self, job: &JobId) -> impl Future<Output = Result<JobStatus, Error>>;
}

impl<T: AsyncTransport> StartsJobs for Client<T> {
    fn create_job(
        &self,
        job: &CreateJobRequest,
    ) -> impl Future<Output = Result<CreateJobResponse, Error>> {
        Client::create_job(self, job)
    }
    fn upload_files(
        &self,
        job: &JobId,
        file_name: &str,
    ) -> impl Future<Output = Result<UploadFilesResponse, Error>> {
        Client::upload_files(self, job, file_name)
    }
    fn start(&self, job: &JobId) -> impl Future<Output = Result<JobStatus, Error>> {
        Client::start(self, job)
    }
}

impl<T: Transport> StartsJobs for BlockingAdapter<T> {
    fn create_job(
        &self,
        job: &CreateJobRequest,
    ) -> impl Future<Output = Result<CreateJobResponse, Error>> {
        BlockingAdapter::create_job(self, job)
    }
    fn upload_files(
        &self,
        job: &JobId,
        file_name: &str,
    ) -> impl Future<Output = Result<UploadFilesResponse, Error>> {
        BlockingAdapter::upload_files(self, job, file_name)
    }
    fn start(&self, job: &JobId) -> impl Future<Output = Result<JobStatus, Error>> {
        BlockingAdapter::start(self, job)
    }
}

/// A small multi-threaded tokio runtime for the hyper client.
///
/// # Panics
/// If the runtime cannot start.
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The ureq client for `config` with `policy`.
#[must_use]
pub fn ureq_client(config: Config, policy: Policy) -> UreqClient {
    Client::with_transport(config, Blocking(sarvam_doc_ureq::Ureq::default())).with_policy(policy)
}

/// The hyper client for `config` with `policy` (call within a runtime).
#[must_use]
pub fn hyper_client(config: Config, policy: Policy) -> HyperClient {
    Client::new(config).with_policy(policy)
}

/// A simulator that runs jobs fast: 50 ms in the queue, 50 ms a page.
#[must_use]
pub fn fast_sim() -> SimConfig {
    let mut c = SimConfig::default();
    c.queue_time = Duration::from_millis(50);
    c.page_time = Duration::from_millis(50);
    c
}

/// A policy scaled down for tests: 20 ms backoff doubling to 200 ms, polls
/// every 50 to 200 ms, 5 s per request, a 60 s deadline, a lost start sent
/// again after 1 s of `Pending`.
#[must_use]
pub fn fast_policy() -> Policy {
    Policy::default()
        .with_retry(RetryPolicy::new(
            6,
            Duration::from_millis(20),
            Duration::from_millis(200),
        ))
        .with_poll(PollPolicy::new(
            Duration::from_millis(50),
            Duration::from_millis(200),
            10,
        ))
        .with_request_timeout(Duration::from_secs(5))
        .with_deadline(Some(Duration::from_secs(60)))
        .with_restart_after(Duration::from_secs(1))
}

/// The configuration for a client of `sim`.
///
/// # Panics
/// If the simulator's key or URL is refused (they never are).
#[must_use]
pub fn config_for(sim: &Simulator) -> Config {
    Config::builder(ApiKey::new(sim.api_key()).expect("the simulator's key"))
        .base_url(sim.api_url())
        .build()
        .expect("the simulator's loopback URL")
}

/// The configuration for a `/doc-ai/v1` client of `sim`.
///
/// # Panics
/// If the simulator's key or URL is refused (they never are).
#[must_use]
pub fn doc_ai_config(sim: &Simulator) -> Config {
    Config::builder(ApiKey::new(sim.api_key()).expect("the simulator's key"))
        .base_url(sim.api_url())
        .api_version(sarvam_doc_core::config::ApiVersion::DocAi)
        .build()
        .expect("the simulator's loopback URL")
}

/// Takes a job through create, upload-files, the PUT (by plain ureq) and
/// start with `client`: a job for a watch to follow.
///
/// # Panics
/// If any step fails.
pub async fn started_job(client: &impl StartsJobs, name: &str, pdf_pages: u32) -> JobId {
    let job = client
        .create_job(&CreateJobRequest::default())
        .await
        .expect("create")
        .job_id;
    let url = client
        .upload_files(&job, name)
        .await
        .expect("upload-files")
        .upload_urls[name]
        .file_url
        .to_string();
    put_pdf(&url, pdf_pages);
    client.start(&job).await.expect("start");
    job
}

/// PUTs `bytes` to a `/doc-ai/v1` presigned upload, with the headers it
/// asked for.
///
/// # Panics
/// If storage does not answer 201.
pub fn put_presigned(upload: &sarvam_doc_core::doc_ai::PresignedUpload, bytes: &[u8]) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut put = agent.put(upload.url.to_string());
    for (name, value) in &upload.headers {
        put = put.header(name, value);
    }
    assert_eq!(put.send(bytes).expect("the PUT").status(), 201);
}

/// PUTs a sample PDF of `pages` to a presigned `url`, as Azure wants it.
///
/// # Panics
/// If storage does not answer 201.
pub fn put_pdf(url: &str, pages: u32) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let put = agent
        .put(url)
        .header("x-ms-blob-type", "BlockBlob")
        .send(&sarvam_doc_sim::sample::pdf(pages, "test")[..])
        .expect("the PUT");
    assert_eq!(put.status(), 201);
}

/// Writes `bytes` as `name` in a new temporary folder; returns the folder
/// (keep it alive) and the file's path.
///
/// # Panics
/// If the file cannot be written.
#[must_use]
pub fn input_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("the input file");
    (dir, path)
}

/// The names and texts of the entries of the ZIP at `path`.
///
/// # Panics
/// If the file is not a readable ZIP.
#[must_use]
pub fn zip_entries(path: &Path) -> Vec<(String, String)> {
    let file = std::fs::File::open(path).expect("the output exists");
    let mut archive = zip::ZipArchive::new(file).expect("the output is a ZIP");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).expect("a ZIP entry");
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("a text entry");
            (entry.name().expect("a name").into_owned(), text)
        })
        .collect()
}

/// Fails the test unless `outcome` is `Completed`, naming the transport.
#[track_caller]
pub fn assert_completed(transport: &str, outcome: &Outcome) {
    assert!(
        matches!(outcome, Outcome::Completed { .. }),
        "{transport}: {outcome}"
    );
}

/// Every file name in `dir`, sorted (empty if it does not exist).
#[must_use]
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// What a published folder holds besides its manifest and its merged
/// document, sorted; panics when the manifest is missing or does not name
/// the job, or when page files came without the merged document of them.
#[must_use]
pub fn published_in(dir: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(dir.join(sarvam_doc_driver::MANIFEST))
        .unwrap_or_else(|e| panic!("{}: no manifest: {e}", dir.display()));
    let value: serde_json::Value = serde_json::from_str(&manifest).expect("the manifest is JSON");
    assert!(
        value
            .get("job_id")
            .and_then(serde_json::Value::as_str)
            .is_some(),
        "the manifest names its job: {manifest}"
    );
    let files: Vec<String> = files_in(dir)
        .into_iter()
        .filter(|n| n != sarvam_doc_driver::MANIFEST)
        .collect();
    let pages = files.iter().filter(|n| n.starts_with("page_")).count();
    let document = files.iter().any(|n| n.starts_with("document."));
    assert!(
        pages == 0 || document,
        "{}: pages without their merged document: {files:?}",
        dir.display()
    );
    files
        .into_iter()
        .filter(|n| !n.starts_with("document."))
        .collect()
}

/// Every file under `dir`, as paths relative to it, sorted.
#[must_use]
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
