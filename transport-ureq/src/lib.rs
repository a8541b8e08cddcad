//! Blocking transport for [`sarvam_doc_core`], on a [`ureq::Agent`].
//!
//! It runs the core's state machines and holds no protocol rule of its own:
//! what to send, when to retry and when to give up are the core's; this
//! crate sends, sleeps, streams files and reports how I/O failed.
//!
//! 1. Make a [`Client`] from a [`Config`] (and, if you like, your own
//!    [`ureq::Agent`] and [`Policy`]).
//! 2. Call [`Client::run`] to take a file through the whole job into an
//!    output folder, or [`Client::watch`] to follow a job to its end. Both
//!    report the core's [`Event`]s to a callback and return the [`Outcome`].
//! 3. Or call one endpoint at a time: [`Client::create_job`],
//!    [`Client::status`], … (one request each, no retries).
//!
//! ```no_run
//! use sarvam_doc_core::{ApiKey, Config, CreateJobRequest, Language, Outcome, OutputFormat};
//! use sarvam_doc_ureq::{Client, RunOptions};
//!
//! let key = ApiKey::new(std::env::var("SARVAM_API_KEY")?)?;
//! let client = Client::new(Config::new(key));
//! let mut options = RunOptions::new("./out");
//! options.job = CreateJobRequest::new(Language::TAMIL, OutputFormat::Md);
//! let outcome = client.run("scan.pdf".as_ref(), &options, |event| eprintln!("{event:?}"))?;
//! if let Outcome::Completed { outputs, .. } = &outcome {
//!     println!("saved {}", outputs[0].name);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Your own agent
//!
//! Bring an agent for a proxy or your own TLS settings. Keep three settings
//! as [`Client::default_agent`] has them: `http_status_as_error(false)` (the
//! core reads error answers), `max_redirects(0)` (a redirect must never carry
//! the key elsewhere) and a connect timeout.
//!
//! ```no_run
//! use std::time::Duration;
//! # let config = sarvam_doc_core::Config::new(sarvam_doc_core::ApiKey::new("k").unwrap());
//! let agent: ureq::Agent = ureq::Agent::config_builder()
//!     .http_status_as_error(false)
//!     .max_redirects(0)
//!     .timeout_connect(Some(Duration::from_secs(10)))
//!     .proxy(ureq::Proxy::new("http://proxy.internal:3128").ok())
//!     .build()
//!     .into();
//! let client = sarvam_doc_ureq::Client::with_agent(config, agent);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sarvam_doc_core::http::{self, Response};
use sarvam_doc_core::{
    Action, Api, Attempt, Body, Config, CreateJobRequest, CreateJobResponse, Document,
    DownloadFilesResponse, Endpoint, Event, JobId, JobStatus, Machine, Outcome, Policy, Run, Sink,
    TransportError, TransportErrorKind, UploadFilesRequest, UploadFilesResponse, Watch,
};

pub use sarvam_doc_core;
pub use sarvam_doc_core::{RunError as Error, RunOptions};
pub use ureq;

/// A blocking client.
#[derive(Clone, Debug)]
pub struct Client {
    api: Arc<Api>,
    agent: ureq::Agent,
    policy: Policy,
}

impl Client {
    /// A client for `config` on [`Client::default_agent`], with the default
    /// [`Policy`].
    #[must_use]
    pub fn new(config: Config) -> Self {
        Client::with_agent(config, Client::default_agent())
    }

    /// A client for `config` on your own `agent` (see the crate docs for the
    /// settings to keep).
    #[must_use]
    pub fn with_agent(config: Config, agent: ureq::Agent) -> Self {
        Client {
            api: Arc::new(Api::new(config)),
            agent,
            policy: Policy::default(),
        }
    }

    /// The agent this crate uses by default: rustls with ring and the
    /// webpki roots, no redirects, error statuses returned as answers, a
    /// 10 s connect timeout, and TCP_NODELAY.
    #[must_use]
    pub fn default_agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .no_delay(true)
            .user_agent(ureq::config::AutoHeaderValue::None)
            .build()
            .into()
    }

    /// Uses `policy` for watches and runs. Each machine still gets its own
    /// random jitter seed, so that many clients do not retry in step.
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The core's request builder and parsers.
    #[must_use]
    pub fn api(&self) -> &Arc<Api> {
        &self.api
    }

    /// The policy for watches and runs.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Creates a job (one request, no retry).
    ///
    /// # Errors
    /// [`Error::Core`] for bad input, an API error or a transport failure.
    pub fn create_job(&self, job: &CreateJobRequest) -> Result<CreateJobResponse, Error> {
        let r = self.call(self.api.create_job(job)?)?;
        Ok(self.api.parse_create_job(&r)?)
    }

    /// Asks for the upload URL of `file_name` (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn upload_files(
        &self,
        job_id: JobId,
        file_name: &str,
    ) -> Result<UploadFilesResponse, Error> {
        let r = self.call(
            self.api
                .upload_files(&UploadFilesRequest::new(job_id, file_name))?,
        )?;
        Ok(self.api.parse_upload_files(&r, file_name)?)
    }

    /// Starts a job (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn start(&self, job_id: JobId) -> Result<JobStatus, Error> {
        let r = self.call(self.api.start(job_id))?;
        Ok(self.api.parse_start(&r)?)
    }

    /// A job's status (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn status(&self, job_id: JobId) -> Result<JobStatus, Error> {
        let r = self.call(self.api.status(job_id))?;
        Ok(self.api.parse_status(&r)?)
    }

    /// The download URLs of a job's outputs (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn download_files(&self, job_id: JobId) -> Result<DownloadFilesResponse, Error> {
        let r = self.call(self.api.download_files(job_id))?;
        Ok(self.api.parse_download_files(&r)?)
    }

    /// Follows `job_id` to its end, reporting events to `on_event`.
    pub fn watch(&self, job_id: JobId, on_event: impl FnMut(&Event)) -> Outcome {
        let mut watch = Watch::new(
            self.api.clone(),
            job_id,
            self.machine_policy(),
            Instant::now(),
        );
        let files = Files::none();
        match self.drive(&mut watch, &files, on_event) {
            Ok(outcome) => outcome,
            // A watch touches no file.
            Err(_) => unreachable!("a watch has no local I/O"),
        }
    }

    /// Takes `input` (a `.pdf`, or a `.zip` of JPEG/PNG pages) through the
    /// whole job, saving the outputs into `options.out_dir`, reporting events
    /// to `on_event`.
    ///
    /// # Errors
    /// [`Error::Input`] if the file cannot be read; [`Error::Core`] with an
    /// [`sarvam_doc_core::InputError`] for a file the API refuses (name,
    /// size); [`Error::Output`] if an output cannot be written. What the
    /// server says (completed, failed, gave up) is the [`Outcome`].
    pub fn run(
        &self,
        input: &Path,
        options: &RunOptions,
        on_event: impl FnMut(&Event),
    ) -> Result<Outcome, Error> {
        let document = document(input, options)?;
        let mut run = Run::new(
            self.api.clone(),
            document,
            self.machine_policy(),
            Instant::now(),
        );
        let files = Files {
            input: Some(input),
            out_dir: Some(&options.out_dir),
            overwrite: options.overwrite,
        };
        self.drive(&mut run, &files, on_event)
    }

    fn machine_policy(&self) -> Policy {
        let mut policy = self.policy.clone();
        policy.seed = fastrand::u64(..);
        policy
    }

    /// The run loop: the same for every machine.
    fn drive<M: Machine>(
        &self,
        machine: &mut M,
        files: &Files<'_>,
        mut on_event: impl FnMut(&Event),
    ) -> Result<Outcome, Error> {
        loop {
            let action = machine.poll(Instant::now());
            while let Some(event) = machine.poll_event() {
                on_event(&event);
            }
            match action {
                Action::Send(send) => {
                    let attempt = send.attempt;
                    match self.exchange(send.request, send.timeout, send.sink, files, Some(attempt))
                    {
                        Ok(response) => machine.handle_response(Instant::now(), attempt, response),
                        Err(Failure::Transport(e)) => {
                            machine.handle_transport_error(Instant::now(), attempt, e)
                        }
                        Err(Failure::Local(path, source)) => {
                            return Err(Error::Output {
                                path,
                                source,
                                job_id: machine.job_id(),
                            });
                        }
                        Err(Failure::Input(path, source)) => {
                            return Err(Error::Input { path, source });
                        }
                    }
                }
                Action::Wait { until, .. } => {
                    std::thread::sleep(until.saturating_duration_since(Instant::now()))
                }
                Action::Done(outcome) => return Ok(outcome),
            }
        }
    }

    /// One request with no retries, for the plain endpoint calls.
    fn call(&self, request: http::Request<Body>) -> Result<Response<Vec<u8>>, Error> {
        let timeout = self.policy.request_timeout;
        let limit = self.api.config().max_json_body();
        self.exchange(
            request,
            timeout,
            Sink::Memory { limit },
            &Files::none(),
            None,
        )
        .map_err(|e| match e {
            Failure::Transport(t) => Error::Core(t.into()),
            Failure::Local(path, source) | Failure::Input(path, source) => {
                Error::Input { path, source }
            }
        })
    }

    /// Sends one request, streaming files as its sink says, in a tracing
    /// span (endpoint, method, path, attempt: never the key or the query,
    /// which may hold a signature).
    fn exchange(
        &self,
        request: http::Request<Body>,
        timeout: Duration,
        sink: Sink,
        files: &Files<'_>,
        attempt: Option<Attempt>,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let endpoint = request.extensions().get::<Endpoint>().copied();
        let span = tracing::debug_span!(
            "sarvam_doc.request",
            endpoint = endpoint.map_or("other", Endpoint::name),
            method = %request.method(),
            path = request.uri().path(),
            attempt = attempt.map_or(0, Attempt::get),
        );
        let _entered = span.enter();
        let started = Instant::now();
        let result = match sink {
            Sink::Memory { limit } => self.send_memory(request, timeout, limit, files),
            Sink::File {
                name,
                expected_len,
                error_limit,
            } => self.send_to_file(request, timeout, &name, expected_len, error_limit, files),
        };
        match &result {
            Ok(r) => tracing::debug!(
                status = r.status().as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "answered"
            ),
            Err(Failure::Transport(e)) => {
                tracing::debug!(error = %e, elapsed_ms = started.elapsed().as_millis() as u64, "failed")
            }
            Err(_) => {}
        }
        result
    }

    fn send_memory(
        &self,
        request: http::Request<Body>,
        timeout: Duration,
        limit: usize,
        files: &Files<'_>,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let response = self.send(request, timeout, files)?;
        let (parts, mut body) = response.into_parts();
        let bytes = read_capped(&mut body, limit)?;
        Ok(Response::from_parts(parts, bytes))
    }

    fn send_to_file(
        &self,
        request: http::Request<Body>,
        timeout: Duration,
        name: &str,
        expected_len: Option<u64>,
        error_limit: usize,
        files: &Files<'_>,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let out_dir = files.out_dir.unwrap_or_else(|| Path::new("."));
        let target = out_dir.join(name);
        if !files.overwrite && target.exists() {
            return Err(Failure::Local(target, io::ErrorKind::AlreadyExists.into()));
        }
        let response = self.send(request, timeout, files)?;
        let (parts, mut body) = response.into_parts();
        if !parts.status.is_success() {
            let bytes = read_capped(&mut body, error_limit)?;
            return Ok(Response::from_parts(parts, bytes));
        }
        // Into a temporary file beside the target, renamed into place only
        // when complete: a cut download leaves nothing behind.
        let mut tmp = part_file(out_dir).map_err(|e| Failure::Local(target.clone(), e))?;
        let mut reader = body.as_reader();
        let mut buf = vec![0u8; 64 * 1024];
        let mut written: u64 = 0;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Transport(io_failure(&e, "the download broke off"))),
            };
            tmp.write_all(&buf[..n])
                .map_err(|e| Failure::Local(target.clone(), e))?;
            written += n as u64;
        }
        if let Some(expected) = expected_len
            && expected != written
        {
            return Err(Failure::Transport(TransportError::new(
                TransportErrorKind::Other,
                format!("the download was {written} bytes, but {expected} were announced"),
            )));
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| Failure::Local(target.clone(), e))?;
        let persisted = if files.overwrite {
            tmp.persist(&target).map(drop)
        } else {
            tmp.persist_noclobber(&target).map(drop)
        };
        persisted.map_err(|e| Failure::Local(target.clone(), e.error))?;
        let mut response = Response::from_parts(parts, Vec::new());
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, written.into());
        Ok(response)
    }

    /// Sends the request (streaming a file body) and returns the answer
    /// with its body unread.
    fn send(
        &self,
        request: http::Request<Body>,
        timeout: Duration,
        files: &Files<'_>,
    ) -> Result<Response<ureq::Body>, Failure> {
        let (parts, body) = request.into_parts();
        let result = match body {
            Body::File { len, .. } => {
                let path = files.input.unwrap_or_else(|| Path::new(""));
                let mut file = File::open(path).map_err(|e| Failure::Input(path.to_owned(), e))?;
                let actual = file
                    .metadata()
                    .map_err(|e| Failure::Input(path.to_owned(), e))?
                    .len();
                if actual != len {
                    return Err(Failure::Input(
                        path.to_owned(),
                        io::Error::other(format!(
                            "the file changed while the job ran: {actual} bytes, not {len}"
                        )),
                    ));
                }
                // The request carries Content-Length, so ureq streams it as is, never chunked.
                let request =
                    http::Request::from_parts(parts, ureq::SendBody::from_reader(&mut file));
                self.run_configured(request, timeout)
            }
            Body::Json(bytes) => {
                self.run_configured(http::Request::from_parts(parts, bytes), timeout)
            }
            Body::Empty => self.run_configured(http::Request::from_parts(parts, ()), timeout),
        };
        result.map_err(|e| Failure::Transport(classify(&e)))
    }

    fn run_configured<S: ureq::AsSendBody>(
        &self,
        request: http::Request<S>,
        timeout: Duration,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        // Each phase gets the whole timeout. Not ureq's global or per-call
        // timeout: with either set, its resolver starts a thread on every
        // request, which costs about 1 ms a call (measured in BENCHMARKS.md).
        let t = Some(timeout);
        let request = self
            .agent
            .configure_request(request)
            .timeout_send_request(t)
            .timeout_send_body(t)
            .timeout_recv_response(t)
            .timeout_recv_body(t)
            .build();
        self.agent.run(request)
    }
}

/// The local files of a drive.
struct Files<'a> {
    input: Option<&'a Path>,
    out_dir: Option<&'a Path>,
    overwrite: bool,
}

impl Files<'_> {
    fn none() -> Self {
        Files {
            input: None,
            out_dir: None,
            overwrite: false,
        }
    }
}

/// Why an exchange did not produce an answer.
enum Failure {
    /// The network: tell the core.
    Transport(TransportError),
    /// An output could not be written: stop.
    Local(PathBuf, io::Error),
    /// The input could not be read: stop.
    Input(PathBuf, io::Error),
}

/// The document of a run, from the file's name and size.
fn document(input: &Path, options: &RunOptions) -> Result<Document, Error> {
    let meta = std::fs::metadata(input).map_err(|e| Error::Input {
        path: input.to_owned(),
        source: e,
    })?;
    if !meta.is_file() {
        return Err(Error::Input {
            path: input.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file"),
        });
    }
    let name = input
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| sarvam_doc_core::InputError::FileName(input.display().to_string()))?;
    Ok(Document::new(name, meta.len(), options.job.clone())?)
}

/// Reads at most `limit + 1` bytes: one more than allowed is enough for the
/// core to see the body is over its cap.
fn read_capped(body: &mut ureq::Body, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    let cap = (limit as u64).saturating_add(1);
    body.as_reader()
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::Transport(io_failure(&e, "the answer broke off")))?;
    Ok(bytes)
}

fn io_failure(e: &io::Error, what: &str) -> TransportError {
    let kind = match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportErrorKind::TimedOut,
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, format!("{what}: {e}"))
}

/// How a ureq error failed, for the core.
fn classify(e: &ureq::Error) -> TransportError {
    use TransportErrorKind::{Connect, Other, TimedOut};
    let kind = match e {
        ureq::Error::Timeout(_) => TimedOut,
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_) => Connect,
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::HostUnreachable => Connect,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TimedOut,
            _ => Other,
        },
        _ => Other,
    };
    TransportError::new(kind, e.to_string())
}

/// A temporary file in `dir` for a download in progress. Once renamed into
/// place it is an ordinary file (rw-r--r--), not a private temporary one.
fn part_file(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".sarvam-doc-").suffix(".part");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder.tempfile_in(dir)
}
