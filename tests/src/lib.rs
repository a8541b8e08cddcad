//! Cross-crate conformance tests for sarvam-doc: every transport against
//! the simulator, through one suite.
//!
//! This library holds what the suites share: one blocking [`Transport`]
//! face over both transports, fast policies and simulator settings, and
//! helpers to read outputs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sarvam_doc_core::{
    ApiKey, Config, CreateJobRequest, CreateJobResponse, DownloadFilesResponse, Event, JobId,
    JobStatus, Outcome, Policy, PollPolicy, RetryPolicy, RunError, RunOptions, UploadFilesResponse,
};
use sarvam_doc_sim::{SimConfig, Simulator};

/// One transport, seen through a blocking face, so one test serves both.
pub trait Transport {
    /// `ureq` or `hyper`.
    fn name(&self) -> &'static str;
    /// One create-job request.
    fn create_job(&self, job: &CreateJobRequest) -> Result<CreateJobResponse, RunError>;
    /// One upload-files request.
    fn upload_files(&self, job: JobId, name: &str) -> Result<UploadFilesResponse, RunError>;
    /// One start request.
    fn start(&self, job: JobId) -> Result<JobStatus, RunError>;
    /// One status request.
    fn status(&self, job: JobId) -> Result<JobStatus, RunError>;
    /// One download-files request.
    fn download_files(&self, job: JobId) -> Result<DownloadFilesResponse, RunError>;
    /// A watch, with the events it reported.
    fn watch(&self, job: JobId) -> (Outcome, Vec<Event>);
    /// A run, with the events it reported.
    fn run(&self, input: &Path, options: &RunOptions) -> (Result<Outcome, RunError>, Vec<Event>);
}

/// The blocking transport.
pub struct Ureq(pub sarvam_doc_ureq::Client);

impl Transport for Ureq {
    fn name(&self) -> &'static str {
        "ureq"
    }
    fn create_job(&self, job: &CreateJobRequest) -> Result<CreateJobResponse, RunError> {
        self.0.create_job(job)
    }
    fn upload_files(&self, job: JobId, name: &str) -> Result<UploadFilesResponse, RunError> {
        self.0.upload_files(job, name)
    }
    fn start(&self, job: JobId) -> Result<JobStatus, RunError> {
        self.0.start(job)
    }
    fn status(&self, job: JobId) -> Result<JobStatus, RunError> {
        self.0.status(job)
    }
    fn download_files(&self, job: JobId) -> Result<DownloadFilesResponse, RunError> {
        self.0.download_files(job)
    }
    fn watch(&self, job: JobId) -> (Outcome, Vec<Event>) {
        let mut events = Vec::new();
        let outcome = self.0.watch(job, |e| events.push(e.clone()));
        (outcome, events)
    }
    fn run(&self, input: &Path, options: &RunOptions) -> (Result<Outcome, RunError>, Vec<Event>) {
        let mut events = Vec::new();
        let outcome = self.0.run(input, options, |e| events.push(e.clone()));
        (outcome, events)
    }
}

/// The async transport, on its own runtime.
pub struct Hyper {
    client: sarvam_doc_hyper::Client,
    runtime: tokio::runtime::Runtime,
}

impl Hyper {
    /// A hyper client for `config` with `policy`, on a new runtime.
    ///
    /// # Panics
    /// If the runtime cannot start.
    #[must_use]
    pub fn new(config: Config, policy: Policy) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let client = {
            let _entered = runtime.enter();
            sarvam_doc_hyper::Client::new(config).with_policy(policy)
        };
        Hyper { client, runtime }
    }

    /// The client.
    #[must_use]
    pub fn client(&self) -> &sarvam_doc_hyper::Client {
        &self.client
    }

    /// The runtime.
    #[must_use]
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }
}

impl Transport for Hyper {
    fn name(&self) -> &'static str {
        "hyper"
    }
    fn create_job(&self, job: &CreateJobRequest) -> Result<CreateJobResponse, RunError> {
        self.runtime.block_on(self.client.create_job(job))
    }
    fn upload_files(&self, job: JobId, name: &str) -> Result<UploadFilesResponse, RunError> {
        self.runtime.block_on(self.client.upload_files(job, name))
    }
    fn start(&self, job: JobId) -> Result<JobStatus, RunError> {
        self.runtime.block_on(self.client.start(job))
    }
    fn status(&self, job: JobId) -> Result<JobStatus, RunError> {
        self.runtime.block_on(self.client.status(job))
    }
    fn download_files(&self, job: JobId) -> Result<DownloadFilesResponse, RunError> {
        self.runtime.block_on(self.client.download_files(job))
    }
    fn watch(&self, job: JobId) -> (Outcome, Vec<Event>) {
        let mut events = Vec::new();
        let outcome = self
            .runtime
            .block_on(self.client.watch(job, |e| events.push(e.clone())));
        (outcome, events)
    }
    fn run(&self, input: &Path, options: &RunOptions) -> (Result<Outcome, RunError>, Vec<Event>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let outcome = self
            .runtime
            .block_on(self.client.run(input, options, move |e| {
                sink.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(e.clone());
            }));
        let events = events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        (outcome, events)
    }
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
/// every 50 to 200 ms, 5 s per request, a 60 s deadline.
#[must_use]
pub fn fast_policy() -> Policy {
    let mut p = Policy::default();
    let mut retry = RetryPolicy::default();
    retry.base = Duration::from_millis(20);
    retry.cap = Duration::from_millis(200);
    p.retry = retry;
    let mut poll = PollPolicy::default();
    poll.min_interval = Duration::from_millis(50);
    poll.max_interval = Duration::from_millis(200);
    p.poll = poll;
    p.request_timeout = Duration::from_secs(5);
    p.deadline = Some(Duration::from_secs(60));
    p
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

/// Both transports, as clients of `sim` with `policy`.
#[must_use]
pub fn transports(sim: &Simulator, policy: &Policy) -> Vec<Box<dyn Transport>> {
    vec![
        Box::new(Ureq(
            sarvam_doc_ureq::Client::new(config_for(sim)).with_policy(policy.clone()),
        )),
        Box::new(Hyper::new(config_for(sim), policy.clone())),
    ]
}

/// Takes a job through create, upload-files, the PUT (by plain ureq) and
/// start with transport `t`: a job for a watch to follow.
///
/// # Panics
/// If any step fails.
#[must_use]
pub fn started_job(t: &dyn Transport, name: &str, pdf_pages: u32) -> JobId {
    let job = t
        .create_job(&CreateJobRequest::default())
        .expect("create")
        .job_id;
    let url = t.upload_files(job, name).expect("upload-files").upload_urls[name]
        .file_url
        .clone();
    let put = sarvam_doc_ureq::Client::default_agent()
        .put(&url)
        .header("x-ms-blob-type", "BlockBlob")
        .send(&sarvam_doc_sim::sample::pdf(pdf_pages, "test")[..])
        .expect("the PUT");
    assert_eq!(put.status(), 201);
    t.start(job).expect("start");
    job
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

/// Every file name in `dir`, sorted.
///
/// # Panics
/// If the folder cannot be read.
#[must_use]
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
