//! A local simulator of Sarvam AI's Document Intelligence APIs, the legacy
//! job API (`/doc-digitization/job/v1`) and the current one (`/doc-ai/v1`),
//! and of their presigned storage, over real HTTP on loopback, with fault
//! injection. Its `/doc-ai/v1` choices, where the sources are silent, are
//! listed in `docs/doc-ai-choices.md`.
//!
//! It is the server for every test, benchmark and demo of `sarvam-doc`, and
//! yours to test your own integration without credits or network. It speaks
//! the wire format only (it does not use the client's core), and follows the
//! API reference: where the two disagree, that is a bug here.
//!
//! 1. [`Simulator::start`] with a [`SimConfig`]: the API listens on one
//!    loopback port and storage on another (another origin, so a key sent
//!    to storage shows).
//! 2. Point a client at [`Simulator::api_url`] with [`Simulator::api_key`].
//! 3. Read what the client sent with [`Simulator::requests`], and inject
//!    faults up front ([`FaultPlan`]) or as you go ([`Simulator::inject`]):
//!    the transient kinds a real service shows (429, 503, drops, slow or cut
//!    answers), and hostile ones a client must survive ([`Fault::Hang`],
//!    endless or oversized bodies, ZIP bombs, unsafe entry names, answers
//!    about another job, the key echoed back).
//!
//! ```
//! use sarvam_doc_sim::{SimConfig, Simulator};
//!
//! let sim = Simulator::start(SimConfig::default())?;
//! let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
//! let mut answer = agent
//!     .post(format!("{}/doc-digitization/job/v1", sim.api_url()))
//!     .header("api-subscription-key", sim.api_key())
//!     .header("content-type", "application/json")
//!     .send("{}")?;
//! assert_eq!(answer.status(), 202);
//! let job: serde_json::Value = serde_json::from_slice(&answer.body_mut().read_to_vec()?)?;
//! assert_eq!(job["job_state"], "Accepted");
//! assert_eq!(job["job_parameters"]["language"], "hi-IN");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How jobs behave
//!
//! Validation follows the reference: a missing or wrong key is 403
//! `invalid_api_key_error`; an unknown job 404 `not_found_error`; exactly one
//! `.pdf` or `.zip` per job; start needs the upload, at most 200 MB, a PDF
//! that parses or a flat ZIP of JPEG/PNG images, at most `max_pages` pages
//! (422 `max_page_limit_exceeded`) and enough credits (429
//! `insufficient_quota_error`). A GET on download-files is 405.
//!
//! A second start of a started job is refused as the API does: 400
//! `invalid_request_error`, "The job has already started" (a client that
//! lost the first start's answer takes that as the confirmation).
//!
//! Once started, a job is `Pending` for `queue_time`, then `Running` page by
//! page at `page_time` a page, then ends by its [`Scenario`]: set for all
//! jobs in the config, or by the uploaded file's name (`…partial…` partly
//! fails, `…fail…` fails, anything else completes). Outputs are real ZIPs,
//! one entry per successful page in the job's format.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod answer;
mod doc_ai;
mod faults;
mod hostile;
mod jobs;
mod pages;
pub mod sample;
mod server;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, Method};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use faults::{Fault, FaultPlan, RandomFaults, RetryAfter, Route};
pub use hostile::UNSAFE_NAMES;

/// How every job ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scenario {
    /// Every page succeeds.
    Completed,
    /// Every second page fails (a one-page document fails whole).
    PartiallyCompleted,
    /// Every page fails.
    Failed,
    /// The server cannot read the document (a damaged or encrypted PDF that
    /// a client's own check let through): a legacy job fails with the error
    /// message "Invalid PDF: …"; a `/doc-ai/v1` submit is refused with 422,
    /// as one source says the API does for corrupt files. Chosen for a file
    /// whose name holds "invalid".
    Unreadable,
    /// `/doc-ai/v1` only: the job is refused after its time in the queue
    /// (`rejected`); on the legacy API, as `Failed`.
    Rejected,
}

/// What a `/doc-ai/v1` error body looks like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorShape {
    /// RFC 7807 problem details, as the reference and the SDK types say.
    #[default]
    Problem,
    /// The legacy `{"error": {…}}` envelope, as one of Sarvam's guides says.
    Legacy,
    /// An HTML page, as a proxy in front of the API may answer.
    Html,
}

/// What results and download URLs of a failed or rejected `/doc-ai/v1`
/// job answer (the sources do not say).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailedResults {
    /// 409, as for a job that has not ended.
    #[default]
    Conflict,
    /// 200, with no pages.
    Empty,
}

/// `/doc-ai/v1` settings where the sources disagree or are silent.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DocAiConfig {
    /// The page limit of a job (the sources say 10, 20 or 30).
    pub max_pages: u32,
    /// What error bodies look like.
    pub error_shape: ErrorShape,
    /// Results and download URLs of failed or rejected jobs.
    pub failed_results: FailedResults,
    /// A file that is not a PDF, PNG, JPEG or readable ZIP makes a
    /// `rejected` job instead of a 400 at submit.
    pub reject_unreadable: bool,
}

impl Default for DocAiConfig {
    /// 10 pages, problem details, 409 for the outputs of failed jobs,
    /// unreadable files refused at submit.
    fn default() -> Self {
        DocAiConfig {
            max_pages: 10,
            error_shape: ErrorShape::Problem,
            failed_results: FailedResults::Conflict,
            reject_unreadable: false,
        }
    }
}

/// A per-key rate limit over every API request (both APIs): a token bucket
/// that refills `per_minute` tokens a minute, up to `burst`. A request with
/// no token left is answered 429 with `Retry-After` (whole seconds until
/// the next token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Tokens a minute (the fact sheet's secondary source says 10).
    pub per_minute: u32,
    /// The most tokens held at once.
    pub burst: u32,
    /// Whether a refused request costs a token too (as a window counter
    /// that counts every request does), or only an accepted one (as most
    /// token buckets do). The sources do not say which Sarvam's is.
    pub count_refused: bool,
}

impl RateLimit {
    /// `per_minute` a minute, with a burst of as many.
    #[must_use]
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimit {
            per_minute: per_minute.max(1),
            burst: per_minute.max(1),
            count_refused: false,
        }
    }

    /// Counting refused requests against the limit, or not.
    #[must_use]
    pub fn counting_refused(mut self, count: bool) -> Self {
        self.count_refused = count;
        self
    }

    /// With a burst of `burst` tokens.
    #[must_use]
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }
}

/// The simulator's settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimConfig {
    /// The key the API accepts.
    pub api_key: String,
    /// Where the API listens; must be a loopback address (port 0 for any).
    pub api_addr: SocketAddr,
    /// Where storage listens; must be a loopback address (port 0 for any).
    pub storage_addr: SocketAddr,
    /// Time a started job stays `Pending`.
    pub queue_time: Duration,
    /// Time per page while `Running`.
    pub page_time: Duration,
    /// The page limit checked at start (the reference says 10).
    pub max_pages: u32,
    /// The size limit of an upload (the reference says 200 MB).
    pub max_file_bytes: u64,
    /// Pages of credit; `None` for unlimited.
    pub credits: Option<u64>,
    /// How long presigned URLs stay valid.
    pub url_ttl: Duration,
    /// How every job ends; `None` to go by the file name.
    pub scenario: Option<Scenario>,
    /// Faults to inject.
    pub faults: FaultPlan,
    /// `/doc-ai/v1`'s settings.
    pub doc_ai: DocAiConfig,
    /// A per-key rate limit; `None` (the default) for none.
    pub rate_limit: Option<RateLimit>,
    /// How much faster than real time the simulator's clock runs (job
    /// progress and the rate limit together; at least 1). A client on a
    /// clock of the same scale sees a faithful API in which an hour passes
    /// in a minute at 60.
    pub time_scale: f64,
}

impl Default for SimConfig {
    /// Key `sim-key`, ephemeral loopback ports, 200 ms in the queue, 300 ms a
    /// page, 10 pages, 200 MB, unlimited credits, URLs valid 1 hour, the
    /// scenario by file name, no faults.
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        SimConfig {
            api_key: "sim-key".to_owned(),
            api_addr: loopback,
            storage_addr: loopback,
            queue_time: Duration::from_millis(200),
            page_time: Duration::from_millis(300),
            max_pages: 10,
            max_file_bytes: 200 * 1024 * 1024,
            credits: None,
            url_ttl: Duration::from_secs(3600),
            scenario: None,
            faults: FaultPlan::default(),
            doc_ai: DocAiConfig::default(),
            rate_limit: None,
            time_scale: 1.0,
        }
    }
}

/// Which listener a request came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The API.
    Api,
    /// Presigned storage.
    Storage,
}

/// One request as the simulator received it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// When it arrived.
    pub at: Instant,
    /// Which listener.
    pub origin: Origin,
    /// Which route, if it matched one.
    pub route: Option<Route>,
    /// The method.
    pub method: Method,
    /// The path, without the query (which holds signatures).
    pub path: String,
    /// The headers, as sent.
    pub headers: HeaderMap,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
    /// The status answered; `None` if the connection was dropped instead.
    pub status: Option<u16>,
}

/// State shared by the two listeners.
#[derive(Debug)]
pub(crate) struct Shared {
    config: SimConfig,
    storage_base: String,
    secret: u64,
    jobs: Mutex<HashMap<uuid::Uuid, jobs::Job>>,
    faults: Mutex<faults::Faults>,
    log: Mutex<Vec<LoggedRequest>>,
    credits: Mutex<Option<u64>>,
    doc_ai: Mutex<doc_ai::State>,
    /// Per key: tokens left, and when they were counted.
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    /// The origin of the simulator's clock.
    origin: Instant,
}

/// Locks a mutex, carrying on if a panicking thread poisoned it: the data
/// is plain bookkeeping that stays consistent between statements.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn take_fault(&self, route: Route) -> Option<Fault> {
        lock(&self.faults).take(route)
    }

    /// Logs a request; returns its place, to add the status later.
    fn log(&self, entry: LoggedRequest) -> usize {
        let mut log = lock(&self.log);
        log.push(entry);
        log.len() - 1
    }

    fn log_status(&self, entry: usize, status: u16) {
        if let Some(e) = lock(&self.log).get_mut(entry) {
            e.status = Some(status);
        }
    }

    fn insert_job(&self, job: jobs::Job) {
        lock(&self.jobs).insert(job.id, job);
    }

    fn with_job(
        &self,
        id: uuid::Uuid,
        f: impl FnOnce(&mut jobs::Job) -> answer::Answer,
    ) -> answer::Answer {
        match lock(&self.jobs).get_mut(&id) {
            Some(job) => f(job),
            None => answer::Answer::error(404, "not_found_error", format!("Job {id} not found")),
        }
    }

    fn scenario_for(&self, file_name: &str) -> Scenario {
        if let Some(s) = self.config.scenario {
            return s;
        }
        let lower = file_name.to_ascii_lowercase();
        if lower.contains("invalid") {
            Scenario::Unreadable
        } else if lower.contains("reject") {
            Scenario::Rejected
        } else if lower.contains("partial") {
            Scenario::PartiallyCompleted
        } else if lower.contains("fail") {
            Scenario::Failed
        } else {
            Scenario::Completed
        }
    }

    fn spend_credits(&self, pages: u32) -> bool {
        let mut credits = lock(&self.credits);
        match credits.as_mut() {
            None => true,
            Some(left) if *left >= u64::from(pages) => {
                *left -= u64::from(pages);
                true
            }
            Some(_) => false,
        }
    }

    /// A presigned storage URL for `kind` (`upload` or `download`).
    fn presign(&self, kind: &str, id: uuid::Uuid, name: &str) -> String {
        let expires = unix_now() + self.config.url_ttl.as_secs();
        let sig = server::sign(self.secret, kind, id, name, expires);
        const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'.')
            .remove(b'-')
            .remove(b'_')
            .remove(b'~');
        let encoded = percent_encoding::utf8_percent_encode(name, PATH_SEGMENT);
        format!(
            "{}/{kind}/{}/{encoded}?se={expires}&sig={sig}",
            self.storage_base,
            id.hyphenated()
        )
    }

    /// Now, on the simulator's clock.
    fn now(&self) -> Instant {
        let real = Instant::now();
        if self.config.time_scale <= 1.0 {
            return real;
        }
        self.origin
            + real
                .saturating_duration_since(self.origin)
                .mul_f64(self.config.time_scale)
    }

    /// Takes a token of `key`'s bucket, or says how long until one is due.
    fn take_token(&self, key: &str) -> Result<(), Duration> {
        let Some(limit) = self.config.rate_limit else {
            return Ok(());
        };
        let rate = f64::from(limit.per_minute) / 60.0;
        let burst = f64::from(limit.burst.max(1));
        let now = self.now();
        let mut buckets = lock(&self.buckets);
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            if limit.count_refused {
                // A refused request costs a token too (at most a minute's
                // worth of debt): hammering the limit pushes it away.
                *tokens = (*tokens - 1.0).max(-f64::from(limit.per_minute));
            }
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }

    /// A presigned `/doc-ai/v1` storage URL: `{kind}/{id}[/{tail}]`,
    /// signed over the kind, the id and the expiry.
    fn sign_url(&self, kind: &str, id: &str, tail: &str, expires: u64) -> String {
        const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'.')
            .remove(b'-')
            .remove(b'_')
            .remove(b'~');
        let sig = server::sign_text(self.secret, kind, id, expires);
        let id = percent_encoding::utf8_percent_encode(id, SEGMENT);
        let tail = if tail.is_empty() {
            String::new()
        } else {
            format!("/{}", percent_encoding::utf8_percent_encode(tail, SEGMENT))
        };
        format!(
            "{}/{kind}/{id}{tail}?se={expires}&sig={sig}",
            self.storage_base
        )
    }

    /// Checks a `/doc-ai/v1` presigned URL's expiry and signature.
    fn check_url(&self, kind: &str, id: &str, query: &str) -> Result<(), &'static str> {
        check_signed(query, |expires| {
            server::sign_text(self.secret, kind, id, expires)
        })
    }

    /// Checks a presigned URL's expiry and signature.
    fn check_signature(
        &self,
        kind: &str,
        id: uuid::Uuid,
        name: &str,
        query: &str,
    ) -> Result<(), &'static str> {
        check_signed(query, |expires| {
            server::sign(self.secret, kind, id, name, expires)
        })
    }
}

/// Checks a presigned URL's query: its `sig` is what `sign` makes of its
/// `se` (the expiry), and the expiry has not passed.
fn check_signed(query: &str, sign: impl FnOnce(u64) -> String) -> Result<(), &'static str> {
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
    };
    let expires: u64 = param("se")
        .and_then(|v| v.parse().ok())
        .ok_or("The URL is not a valid presigned URL.")?;
    if param("sig") != Some(sign(expires).as_str()) {
        return Err("Server failed to authenticate the request: the signature does not match.");
    }
    if unix_now() > expires {
        return Err("Signature not valid in the specified time frame: the URL has expired.");
    }
    Ok(())
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A running simulator. Dropping it stops both listeners and closes every
/// connection.
#[derive(Debug)]
pub struct Simulator {
    api_addr: SocketAddr,
    storage_addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Simulator {
    /// Starts the simulator on its own small tokio runtime (two worker
    /// threads), so it serves the same from blocking and async code.
    ///
    /// # Errors
    /// An address that is not loopback, or one that cannot be bound.
    pub fn start(config: SimConfig) -> io::Result<Simulator> {
        for addr in [config.api_addr, config.storage_addr] {
            if !addr.ip().is_loopback() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("the simulator listens on loopback only, not {addr}: use 127.0.0.1"),
                ));
            }
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sarvam-doc-sim")
            .enable_all()
            .build()?;
        // Listeners belong to this runtime's reactor; entering it (without
        // blocking) works from sync code and from inside another runtime.
        let bound = {
            let _entered = runtime.enter();
            bind(&config)
        };
        let (api, storage, api_addr, storage_addr) = match bound {
            Ok(bound) => bound,
            Err(e) => {
                // Dropping a runtime blocks, which panics inside another
                // runtime (an async caller, the CLI): shut it down instead.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let shared = Arc::new(Shared {
            storage_base: format!("http://{storage_addr}"),
            secret: fastrand::u64(..),
            jobs: Mutex::new(HashMap::new()),
            faults: Mutex::new(faults::Faults::new(config.faults.clone())),
            log: Mutex::new(Vec::new()),
            credits: Mutex::new(config.credits),
            doc_ai: Mutex::new(doc_ai::State::default()),
            buckets: Mutex::new(HashMap::new()),
            origin: Instant::now(),
            config,
        });
        for (listener, origin) in [(api, Origin::Api), (storage, Origin::Storage)] {
            runtime.spawn(accept(listener, origin, shared.clone()));
        }
        Ok(Simulator {
            api_addr,
            storage_addr,
            shared,
            runtime: Some(runtime),
        })
    }

    /// The API's base URL, such as `http://127.0.0.1:41234`.
    #[must_use]
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// The storage origin, such as `http://127.0.0.1:41235`.
    #[must_use]
    pub fn storage_url(&self) -> String {
        format!("http://{}", self.storage_addr)
    }

    /// The API's address.
    #[must_use]
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The storage address.
    #[must_use]
    pub fn storage_addr(&self) -> SocketAddr {
        self.storage_addr
    }

    /// The key the API accepts.
    #[must_use]
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// Every request received so far, in the order they arrived.
    #[must_use]
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// How many requests came to `route`.
    #[must_use]
    pub fn count(&self, route: Route) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.route == Some(route))
            .count()
    }

    /// How many legacy jobs exist.
    #[must_use]
    pub fn jobs(&self) -> usize {
        lock(&self.shared.jobs).len()
    }

    /// How many `/doc-ai/v1` jobs exist (each was started, and so may be
    /// charged for).
    #[must_use]
    pub fn doc_ai_jobs(&self) -> usize {
        doc_ai::job_count(&self.shared)
    }

    /// The ids of every `/doc-ai/v1` job, sorted.
    #[must_use]
    pub fn doc_ai_job_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.shared.doc_ai).job_ids();
        ids.sort();
        ids
    }

    /// Every job: its id, the file uploaded to it (if any), and whether it
    /// was started (and so may be charged for).
    #[must_use]
    pub fn job_list(&self) -> Vec<(String, Option<String>, bool)> {
        let mut jobs: Vec<_> = lock(&self.shared.jobs)
            .values()
            .map(|j| {
                (
                    j.id.hyphenated().to_string(),
                    j.file_name.clone(),
                    j.started.is_some(),
                )
            })
            .collect();
        jobs.sort();
        jobs
    }

    /// How many jobs were started (and so may be charged for).
    #[must_use]
    pub fn started_jobs(&self) -> usize {
        lock(&self.shared.jobs)
            .values()
            .filter(|j| j.started.is_some())
            .count()
    }

    /// Whether storage ever received an `api-subscription-key` header.
    #[must_use]
    pub fn storage_saw_api_key(&self) -> bool {
        lock(&self.shared.log)
            .iter()
            .any(|r| r.origin == Origin::Storage && r.headers.contains_key("api-subscription-key"))
    }

    /// Adds `faults` to the script of `route`, for the next requests.
    pub fn inject(&self, route: Route, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.shared.faults).add(route, faults);
    }

    /// Drops every scripted fault not used yet (random plans stay).
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Stops the simulator (as dropping it does).
    pub fn shutdown(self) {}
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Both listeners and their addresses.
fn bind(config: &SimConfig) -> io::Result<(TcpListener, TcpListener, SocketAddr, SocketAddr)> {
    let api = listen(config.api_addr)?;
    let storage = listen(config.storage_addr)?;
    let (api_addr, storage_addr) = (api.local_addr()?, storage.local_addr()?);
    Ok((api, storage, api_addr, storage_addr))
}

/// A listener with a deep accept queue, so that thousands of clients
/// connecting at once are not left retrying their SYNs.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(addr)?;
    socket.listen(4096)
}

async fn accept(listener: TcpListener, origin: Origin, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Each answer goes out at once: no Nagle delay on keep-alive requests.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service =
                service_fn(move |request| server::handle(shared.clone(), origin, request));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
