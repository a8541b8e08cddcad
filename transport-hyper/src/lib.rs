//! Async transport for [`sarvam_doc_core`], on hyper-util's pooled client
//! (rustls with ring, webpki roots, HTTP/1.1 and HTTP/2) and tokio.
//!
//! It runs the core's state machines and holds no protocol rule of its own:
//! what to send, when to retry and when to give up are the core's; this
//! crate sends, sleeps, streams files and reports how I/O failed. Each
//! watch or run is one small task, so many thousands fit in one process.
//!
//! 1. Make a [`Client`] from a [`Config`] (and, if you like, your own hyper
//!    client and [`Policy`]). Clones share the connection pool.
//! 2. `await` [`Client::run`] or [`Client::watch`] for one job, or
//!    [`Client::run_all`] / [`Client::watch_all`] for many with a bound on
//!    how many run at once. Each reports the core's [`Event`]s.
//! 3. Or call one endpoint at a time: [`Client::create_job`],
//!    [`Client::status`], … (one request each, no retries).
//!
//! ```no_run
//! use sarvam_doc_core::{ApiKey, Config, Outcome};
//! use sarvam_doc_hyper::Client;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(Config::new(ApiKey::new(std::env::var("SARVAM_API_KEY")?)?));
//! let job = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
//! match client.watch(job, |event| eprintln!("{event:?}")).await {
//!     Outcome::Completed { status, .. } => println!("{} pages", status.pages().succeeded),
//!     other => eprintln!("{other}"),
//! }
//! # Ok(()) }
//! ```
//!
//! # Your own hyper client
//!
//! For a proxy connector or your own TLS, build an [`HttpClient`] and hand
//! it to [`Client::with_http`]. Do not add a redirect-following layer: a
//! redirect must never carry the key to another origin.
//!
//! ```no_run
//! use hyper_util::client::legacy::connect::HttpConnector;
//! use hyper_util::rt::TokioExecutor;
//! # let config = sarvam_doc_core::Config::new(sarvam_doc_core::ApiKey::new("k").unwrap());
//! let mut http = HttpConnector::new();
//! http.enforce_http(false);
//! let tls = rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
//!     .with_safe_default_protocol_versions()
//!     .unwrap()
//!     .with_root_certificates(rustls::RootCertStore::empty()) // your roots here
//!     .with_no_client_auth();
//! let https = hyper_rustls::HttpsConnectorBuilder::new()
//!     .with_tls_config(tls)
//!     .https_or_http()
//!     .enable_all_versions()
//!     .wrap_connector(http);
//! let http_client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(https);
//! let client = sarvam_doc_hyper::Client::with_http(config, http_client);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sarvam_doc_core::http::{self, Response};
use sarvam_doc_core::{
    Action, Api, Attempt, Body, Config, CreateJobRequest, CreateJobResponse, Document,
    DownloadFilesResponse, Endpoint, Event, JobId, JobStatus, Machine, Outcome, Policy, Run, Send,
    Sink, TransportError, TransportErrorKind, UploadFilesRequest, UploadFilesResponse, Watch,
};
use tokio::io::AsyncWriteExt;

pub use sarvam_doc_core;
pub use sarvam_doc_core::{RunError as Error, RunOptions};
pub use {hyper, hyper_rustls, hyper_util, rustls};

/// The request body type of the hyper client.
pub type RequestBody = BoxBody<Bytes, io::Error>;

/// The hyper client this crate drives.
pub type HttpClient =
    hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, RequestBody>;

/// An async client. Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    api: Arc<Api>,
    http: HttpClient,
    policy: Policy,
    in_flight: Arc<tokio::sync::Semaphore>,
}

/// How many requests one [`Client`] (and its clones) has in flight at most,
/// by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

impl Client {
    /// A client for `config` on [`Client::default_http`], with the default
    /// [`Policy`]. Must be called within a tokio runtime.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Client::with_http(config, Client::default_http())
    }

    /// A client for `config` on your own hyper client.
    #[must_use]
    pub fn with_http(config: Config, http: HttpClient) -> Self {
        Client {
            api: Arc::new(Api::new(config)),
            http,
            policy: Policy::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_IN_FLIGHT)),
        }
    }

    /// Caps the requests this client and its clones have in flight at once
    /// (default [`DEFAULT_MAX_IN_FLIGHT`]). Thousands of watches then share
    /// a bounded number of connections, and the API's rate limits are
    /// spared bursts. A request's timeout starts once it has its turn.
    #[must_use]
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.in_flight = Arc::new(tokio::sync::Semaphore::new(max.max(1)));
        self
    }

    /// The hyper client this crate uses by default: pooled, rustls with ring
    /// and the webpki roots, HTTP/1.1 and HTTP/2 by ALPN (plain HTTP/1.1 for
    /// loopback), a 10 s connect timeout, TCP_NODELAY, no redirects.
    #[must_use]
    pub fn default_http() -> HttpClient {
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        // The explicit provider: never depend on a process-wide default.
        let builder = match builder
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        {
            Ok(b) => b,
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots(),
        };
        let https = builder
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(connector);
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https)
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
    pub async fn create_job(&self, job: &CreateJobRequest) -> Result<CreateJobResponse, Error> {
        let r = self.call(self.api.create_job(job)?).await?;
        Ok(self.api.parse_create_job(&r)?)
    }

    /// Asks for the upload URL of `file_name` (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn upload_files(
        &self,
        job_id: JobId,
        file_name: &str,
    ) -> Result<UploadFilesResponse, Error> {
        let r = self
            .call(
                self.api
                    .upload_files(&UploadFilesRequest::new(job_id, file_name))?,
            )
            .await?;
        Ok(self.api.parse_upload_files(&r, file_name)?)
    }

    /// Starts a job (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn start(&self, job_id: JobId) -> Result<JobStatus, Error> {
        let r = self.call(self.api.start(job_id)).await?;
        Ok(self.api.parse_start(&r)?)
    }

    /// A job's status (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn status(&self, job_id: JobId) -> Result<JobStatus, Error> {
        let r = self.call(self.api.status(job_id)).await?;
        Ok(self.api.parse_status(&r)?)
    }

    /// The download URLs of a job's outputs (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn download_files(&self, job_id: JobId) -> Result<DownloadFilesResponse, Error> {
        let r = self.call(self.api.download_files(job_id)).await?;
        Ok(self.api.parse_download_files(&r)?)
    }

    /// Follows `job_id` to its end, reporting events to `on_event`.
    pub async fn watch(&self, job_id: JobId, on_event: impl FnMut(&Event)) -> Outcome {
        let mut watch = Watch::new(
            self.api.clone(),
            job_id,
            self.machine_policy(),
            Instant::now(),
        );
        match self.drive(&mut watch, &Files::none(), on_event).await {
            Ok(outcome) => outcome,
            Err(_) => unreachable!("a watch has no local I/O"),
        }
    }

    /// Takes `input` (a `.pdf`, or a `.zip` of JPEG/PNG pages) through the
    /// whole job, saving the outputs into `options.out_dir`.
    ///
    /// # Errors
    /// [`Error::Input`] if the file cannot be read; [`Error::Core`] with an
    /// input error for a file the API refuses (name, size); [`Error::Output`]
    /// if an output cannot be written. What the server says (completed,
    /// failed, gave up) is the [`Outcome`].
    pub async fn run(
        &self,
        input: &Path,
        options: &RunOptions,
        on_event: impl FnMut(&Event),
    ) -> Result<Outcome, Error> {
        let document = document(input, options).await?;
        let mut run = Run::new(
            self.api.clone(),
            document,
            self.machine_policy(),
            Instant::now(),
        );
        let files = Files {
            input: Some(input.to_owned()),
            out_dir: Some(options.out_dir.clone()),
            overwrite: options.overwrite,
        };
        self.drive(&mut run, &files, on_event).await
    }

    /// Watches every job in `jobs`, at most `concurrency` at once; the
    /// outcomes come back in the order of `jobs`. `on_event` gets each
    /// event with the index of its job.
    pub async fn watch_all(
        &self,
        jobs: Vec<JobId>,
        concurrency: usize,
        on_event: impl Fn(usize, &Event) + std::marker::Send + Sync + 'static,
    ) -> Vec<Outcome> {
        let on_event = Arc::new(on_event);
        let results = self
            .bounded(jobs, concurrency, move |client, i, job| {
                let on_event = on_event.clone();
                async move { client.watch(job, |e| on_event(i, e)).await }
            })
            .await;
        results.into_iter().flatten().collect()
    }

    /// Runs every file in `inputs` through its own job, at most
    /// `concurrency` at once; the results come back in the order of
    /// `inputs`. `on_event` gets each event with the index of its file.
    pub async fn run_all(
        &self,
        inputs: Vec<PathBuf>,
        options: &RunOptions,
        concurrency: usize,
        on_event: impl Fn(usize, &Event) + std::marker::Send + Sync + 'static,
    ) -> Vec<Result<Outcome, Error>> {
        let on_event = Arc::new(on_event);
        let options = Arc::new(options.clone());
        let results = self
            .bounded(inputs, concurrency, move |client, i, input| {
                let on_event = on_event.clone();
                let options = options.clone();
                async move { client.run(&input, &options, |e| on_event(i, e)).await }
            })
            .await;
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(Error::Core(
                        TransportError::new(TransportErrorKind::Other, "the task ended early")
                            .into(),
                    ))
                })
            })
            .collect()
    }

    /// Runs `work` over `items` on tasks, `concurrency` at once, keeping order.
    async fn bounded<T, R, F, Fut>(
        &self,
        items: Vec<T>,
        concurrency: usize,
        work: F,
    ) -> Vec<Option<R>>
    where
        T: std::marker::Send + 'static,
        R: std::marker::Send + 'static,
        F: Fn(Client, usize, T) -> Fut + std::marker::Send + Sync + 'static,
        Fut: std::future::Future<Output = R> + std::marker::Send + 'static,
    {
        let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let work = Arc::new(work);
        let mut tasks = tokio::task::JoinSet::new();
        let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
        for (i, item) in items.into_iter().enumerate() {
            let permits = permits.clone();
            let work = work.clone();
            let client = self.clone();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (i, work(client, i, item).await)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Ok((i, r)) = joined {
                results[i] = Some(r);
            }
        }
        results
    }

    fn machine_policy(&self) -> Policy {
        let mut policy = self.policy.clone();
        policy.seed = fastrand::u64(..);
        policy
    }

    /// The run loop: the same for every machine.
    async fn drive<M: Machine>(
        &self,
        machine: &mut M,
        files: &Files,
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
                    match self.exchange_boxed(send, files).await {
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
                Action::Wait { until, .. } => tokio::time::sleep_until(until.into()).await,
                Action::Done(outcome) => return Ok(outcome),
            }
        }
    }

    /// A machine's request, boxed: its state lives on the heap only while it
    /// is in flight, so a waiting watch stays small. Built in a plain `fn` so
    /// the unboxed future never takes room in the caller's frame.
    fn exchange_boxed<'a>(&'a self, send: Send, files: &'a Files) -> Exchange<'a> {
        Box::pin(async move {
            self.exchange(
                send.request,
                send.timeout,
                &send.sink,
                files,
                Some(send.attempt),
            )
            .await
        })
    }

    /// One request with no retries, for the plain endpoint calls.
    async fn call(&self, request: http::Request<Body>) -> Result<Response<Vec<u8>>, Error> {
        let sink = Sink::Memory {
            limit: self.api.config().max_json_body(),
        };
        let files = Files::none();
        let exchange = self.exchange(request, self.policy.request_timeout, &sink, &files, None);
        exchange.await.map_err(|e| match e {
            Failure::Transport(t) => Error::Core(t.into()),
            Failure::Local(path, source) | Failure::Input(path, source) => {
                Error::Input { path, source }
            }
        })
    }

    /// One request, in a tracing span (endpoint, method, path, attempt:
    /// never the key or the query, which may hold a signature).
    async fn exchange(
        &self,
        request: http::Request<Body>,
        timeout: Duration,
        sink: &Sink,
        files: &Files,
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
        // Waiting for a turn is not part of the request's time: a request
        // that never left must not count as timed out (maybe processed).
        let _turn = self.in_flight.acquire().await;
        let started = Instant::now();
        let result = tracing::Instrument::instrument(
            self.timed(request, timeout, sink, files),
            span.clone(),
        )
        .await;
        let _entered = span.enter();
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

    /// The whole exchange, body included, within `timeout`.
    async fn timed(
        &self,
        request: http::Request<Body>,
        timeout: Duration,
        sink: &Sink,
        files: &Files,
    ) -> Result<Response<Vec<u8>>, Failure> {
        match tokio::time::timeout(timeout, self.exchange_inner(request, sink, files)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Transport(TransportError::new(
                TransportErrorKind::TimedOut,
                format!("no complete answer within {} s", timeout.as_secs()),
            ))),
        }
    }

    async fn exchange_inner(
        &self,
        request: http::Request<Body>,
        sink: &Sink,
        files: &Files,
    ) -> Result<Response<Vec<u8>>, Failure> {
        if let Sink::File { name, .. } = sink {
            let target = files.out_path(name);
            if !files.overwrite && tokio::fs::try_exists(&target).await.unwrap_or(false) {
                return Err(Failure::Local(target, io::ErrorKind::AlreadyExists.into()));
            }
        }
        let (parts, body) = request.into_parts();
        let body: RequestBody = match body {
            Body::Empty => Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed(),
            Body::Json(bytes) => Full::new(Bytes::from(bytes))
                .map_err(|never| match never {})
                .boxed(),
            Body::File { len, .. } => {
                let path = files.input.clone().unwrap_or_default();
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| Failure::Input(path.clone(), e))?;
                let actual = file
                    .metadata()
                    .await
                    .map_err(|e| Failure::Input(path.clone(), e))?
                    .len();
                if actual != len {
                    return Err(Failure::Input(
                        path,
                        io::Error::other(format!(
                            "the file changed while the job ran: {actual} bytes, not {len}"
                        )),
                    ));
                }
                // Streamed with the request's Content-Length, never chunked.
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024)
                    .map_ok(Frame::data);
                StreamBody::new(stream).boxed()
            }
        };
        let response = self
            .http
            .request(http::Request::from_parts(parts, body))
            .await
            .map_err(|e| Failure::Transport(classify(&e)))?;
        let (parts, mut body) = response.into_parts();
        match sink {
            Sink::File {
                name, expected_len, ..
            } if parts.status.is_success() => {
                let written = save(&mut body, files, name, *expected_len).await?;
                let mut response = Response::from_parts(parts, Vec::new());
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_LENGTH, written.into());
                Ok(response)
            }
            Sink::File {
                error_limit: limit, ..
            }
            | Sink::Memory { limit } => {
                let bytes = read_capped(&mut body, *limit).await?;
                Ok(Response::from_parts(parts, bytes))
            }
        }
    }
}

/// Streams a download into a temporary file beside its target, renamed into
/// place only when complete: a cut download leaves nothing behind.
async fn save(
    body: &mut Incoming,
    files: &Files,
    name: &str,
    expected_len: Option<u64>,
) -> Result<u64, Failure> {
    let target = files.out_path(name);
    let dir = target.parent().map(Path::to_owned).unwrap_or_default();
    let tmp = part_file(&dir).map_err(|e| Failure::Local(target.clone(), e))?;
    let std_file = tmp
        .reopen()
        .map_err(|e| Failure::Local(target.clone(), e))?;
    let mut file = tokio::fs::File::from_std(std_file);
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| broke_off("the download", &e))?;
        if let Ok(data) = frame.into_data() {
            file.write_all(&data)
                .await
                .map_err(|e| Failure::Local(target.clone(), e))?;
            written += data.len() as u64;
        }
    }
    if let Some(expected) = expected_len
        && expected != written
    {
        return Err(Failure::Transport(TransportError::new(
            TransportErrorKind::Other,
            format!("the download was {written} bytes, but {expected} were announced"),
        )));
    }
    file.sync_all()
        .await
        .map_err(|e| Failure::Local(target.clone(), e))?;
    drop(file);
    let overwrite = files.overwrite;
    let persist_target = target.clone();
    let persisted = tokio::task::spawn_blocking(move || {
        if overwrite {
            tmp.persist(&persist_target).map(drop).map_err(|e| e.error)
        } else {
            tmp.persist_noclobber(&persist_target)
                .map(drop)
                .map_err(|e| e.error)
        }
    })
    .await
    .unwrap_or_else(|e| Err(io::Error::other(e)));
    persisted.map_err(|e| Failure::Local(target, e))?;
    Ok(written)
}

/// Reads at most `limit + 1` bytes: one more than allowed is enough for the
/// core to see the body is over its cap.
async fn read_capped(body: &mut Incoming, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| broke_off("the answer", &e))?;
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
            if bytes.len() > limit {
                break;
            }
        }
    }
    Ok(bytes)
}

/// A body that stopped before its end: the network's fault, for the core.
fn broke_off(what: &str, e: &hyper::Error) -> Failure {
    Failure::Transport(TransportError::new(
        TransportErrorKind::Other,
        format!("{what} broke off: {e}"),
    ))
}

/// The local files of a drive.
struct Files {
    input: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    overwrite: bool,
}

impl Files {
    fn none() -> Self {
        Files {
            input: None,
            out_dir: None,
            overwrite: false,
        }
    }

    fn out_path(&self, name: &str) -> PathBuf {
        self.out_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(name)
    }
}

/// A request in flight, boxed.
type Exchange<'a> = std::pin::Pin<
    Box<dyn Future<Output = Result<Response<Vec<u8>>, Failure>> + std::marker::Send + 'a>,
>;

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
async fn document(input: &Path, options: &RunOptions) -> Result<Document, Error> {
    let meta = tokio::fs::metadata(input).await.map_err(|e| Error::Input {
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

/// How a hyper client error failed, for the core.
fn classify(e: &hyper_util::client::legacy::Error) -> TransportError {
    let kind = if e.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    // The source chain says what happened; the URL is not in it.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    TransportError::new(kind, message)
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

#[cfg(test)]
mod tests {
    /// Thousands of watches wait at once: a waiting one must stay small. The
    /// request in flight is boxed, so it does not count here.
    #[tokio::test]
    async fn a_waiting_watch_is_small() {
        let config = sarvam_doc_core::ApiKey::new("k")
            .and_then(|k| {
                sarvam_doc_core::Config::builder(k)
                    .base_url("http://127.0.0.1:1")
                    .build()
            })
            .unwrap_or_else(|_| unreachable!());
        let client = super::Client::new(config);
        let job = sarvam_doc_core::JobId(sarvam_doc_core::uuid::Uuid::nil());
        let watch = client.watch(job, |_| {});
        let size = std::mem::size_of_val(&watch);
        // 1.4 KiB in release, of which the machine is 0.9; unboxed it was 4 KiB.
        assert!(size <= 2048, "a watch's future is {size} bytes");
    }
}
