//! The job state machines: [`Watch`] one job to its end, or [`Run`] one file
//! through the whole job.
//!
//! Both are one private machine: a `Watch` is a run that starts at the
//! watching step and stops at the job's terminal state. Every transition is
//! in this file.
//!
//! ```text
//!  Run   Create ─► UploadUrl ─► Upload ─► Start ─► Watch ─► DownloadUrls ─► Download ×n ─► Done(outcome)
//!  Watch                                           Watch ─────────────────────────────────► Done(outcome)
//!
//!  in Watch, by the job state in each status answer:
//!    Accepted, Pending, unknown ── unchanged for stall_limit? ── yes ─► GaveUp(Stalled)
//!                                                              └ no ─► poll again (cadence)
//!    Running ───────────────────────────────────────────────────────► poll again (cadence)
//!    Completed, PartiallyCompleted ─► DownloadUrls (Run) or Done (Watch)
//!    Failed ────────────────────────► Done(Failed)
//!
//!  any step, on an error, by its retry class (see `decide`):
//!    fatal ─────────────────────────────────────────────────────────► GaveUp(Refused)
//!    Create, may have taken effect (timed out, 5xx, bad 2xx body) ──► GaveUp(Unconfirmed)
//!    Start,  may have taken effect ─────────────────────────────────► Watch (never a 2nd start)
//!    throttled, server, transport ─ retries left? ─ no ─────────────► GaveUp(RetriesExhausted)
//!                                                 └ yes ─► wait max(backoff, Retry-After) ─► same step
//!  at any time: the deadline passes ─► GaveUp(Deadline)
//! ```
//!
//! Terminal outcomes stick: once [`Action::Done`] is returned, every later
//! `poll` returns the same, and responses change nothing. A response or
//! transport error for an attempt other than the one in flight is stale and
//! ignored.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::CONTENT_LENGTH;
use http::{Request, Response};

use crate::policy::Jitter;
use crate::{
    Api, Body, CreateJobRequest, DownloadFilesResponse, Endpoint, Error, InputError, JobId,
    JobState, JobStatus, PageCounts, PageError, Policy, ProtocolError, ProtocolErrorKind,
    RetryClass, StorageContainerType, TransportError, TransportErrorKind, UploadFilesRequest,
};

/// The id of one attempt at a request. Hand it back with the response, so a
/// late answer to an abandoned attempt can be told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attempt(u64);

impl Attempt {
    /// The attempt's number, from 1, unique within one machine.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where the body of a response goes.
///
/// Not `#[non_exhaustive]`, like [`Action`]: a driver must handle every kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Read it into memory, refusing more than `limit` bytes, and hand it to
    /// `handle_response`.
    Memory {
        /// The cap, in bytes.
        limit: usize,
    },
    /// On a 2xx answer, stream the body into the output file `name` (already
    /// made safe with [`crate::safe_output_name`]) through a temporary file
    /// renamed into place when complete; then hand `handle_response` the
    /// answer with an empty body. Any other answer: read it into memory
    /// (capped) as for [`Sink::Memory`], and write no file.
    File {
        /// The output's file name.
        name: String,
        /// The size the server announced, if it did.
        expected_len: Option<u64>,
        /// The cap for a non-2xx body.
        error_limit: usize,
    },
}

/// A request to send.
#[derive(Debug)]
#[non_exhaustive]
pub struct Send {
    /// Hand this back with the answer.
    pub attempt: Attempt,
    /// The request. A [`Body::File`] is the input file, to be streamed.
    pub request: Request<Body>,
    /// How long the whole exchange may take; past it, report
    /// [`TransportErrorKind::TimedOut`]. The machine counts it too.
    pub timeout: Duration,
    /// Where the answer's body goes.
    pub sink: Sink,
}

/// Why the machine waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// Until the next status request.
    Poll,
    /// Backing off before a retry (at least as long as `Retry-After`).
    Backoff,
    /// For the answer to the request in flight; past `until` it counts as
    /// timed out.
    Response,
}

/// What the driver should do next.
///
/// Deliberately not `#[non_exhaustive]`: a driver must handle every action,
/// and a new one must break its build rather than be ignored.
#[derive(Debug)]
#[must_use]
pub enum Action {
    /// Send this request, then call `handle_response` or
    /// `handle_transport_error` with its attempt.
    Send(Send),
    /// Nothing to do before `until` (always later than the `now` given to
    /// `poll`); call `poll` again then, or when an answer arrives.
    Wait {
        /// When to poll again.
        until: Instant,
        /// Why.
        reason: WaitReason,
    },
    /// The machine has ended; every later `poll` returns the same.
    Done(Outcome),
}

/// Something that happened, for a progress bar or a log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The job was created.
    JobCreated(JobId),
    /// The input file was uploaded.
    Uploaded {
        /// The file's name.
        file_name: String,
        /// Its length in bytes.
        len: u64,
    },
    /// The job was started.
    Started,
    /// The job's state changed (`from` is `None` at the first status seen).
    StateChanged {
        /// The state before.
        from: Option<JobState>,
        /// The state now.
        to: JobState,
    },
    /// The page counts changed.
    Pages(PageCounts),
    /// A request failed and will be tried again after `after`.
    Retrying {
        /// Which request.
        endpoint: Endpoint,
        /// The wait before the next try.
        after: Duration,
        /// What went wrong.
        error: Error,
    },
    /// A start may or may not have taken effect; rather than risk a second
    /// start, the machine watches the job.
    StartUnconfirmed {
        /// What went wrong.
        error: Error,
    },
    /// An output was downloaded.
    Downloaded(Output),
}

/// An output file a run downloaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Output {
    /// The file's name in the output folder (safe: see [`crate::safe_output_name`]).
    pub name: String,
    /// The name the server gave it.
    pub server_name: String,
    /// The length, when the storage announced it.
    pub len: Option<u64>,
}

/// Why a machine gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The policy's deadline passed.
    Deadline(Duration),
    /// The job sat unchanged in `state` for `duration` (the stall limit).
    Stalled {
        /// The state it sat in.
        state: JobState,
        /// How long.
        duration: Duration,
    },
    /// A step failed `attempts` times in a row.
    RetriesExhausted {
        /// Tries made.
        attempts: u32,
        /// The last error.
        last: Error,
    },
    /// The server refused in a way retrying cannot change (403, 404, 422,
    /// insufficient quota, a bad presigned URL, …).
    Refused(Error),
    /// A create may or may not have made a job; repeating it could make a
    /// second, so it was not repeated. The job, if any, is unknown.
    Unconfirmed(Error),
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUpReason::Deadline(d) => write!(f, "the deadline of {} s passed", d.as_secs()),
            GiveUpReason::Stalled { state, duration } => write!(
                f,
                "the job sat in {state} for {} s without change{}",
                duration.as_secs(),
                match state {
                    JobState::Accepted => " (was its file ever uploaded?)",
                    JobState::Pending => " (was it ever started?)",
                    _ => "",
                }
            ),
            GiveUpReason::RetriesExhausted { attempts, last } => {
                write!(f, "{attempts} tries in a row failed; the last: {last}")
            }
            GiveUpReason::Refused(e) => e.fmt(f),
            GiveUpReason::Unconfirmed(e) => write!(
                f,
                "creating the job may or may not have worked, and was not repeated so as not to make a second job ({e})"
            ),
        }
    }
}

/// How a machine ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every page succeeded (and, for a run, the outputs are downloaded).
    Completed {
        /// The last status.
        status: JobStatus,
        /// The outputs downloaded (empty for a watch).
        outputs: Vec<Output>,
    },
    /// Some pages failed; the rest succeeded (and, for a run, the outputs
    /// are downloaded).
    PartiallyCompleted {
        /// The last status, with the page errors.
        status: JobStatus,
        /// The outputs downloaded (empty for a watch).
        outputs: Vec<Output>,
    },
    /// The server says the job failed: see `status.error_message` and the
    /// page errors.
    Failed {
        /// The last status.
        status: JobStatus,
    },
    /// The client gave up.
    GaveUp {
        /// The job, if one was created.
        job_id: Option<JobId>,
        /// Why.
        reason: GiveUpReason,
        /// The last status seen, if any.
        last_status: Option<Box<JobStatus>>,
    },
}

impl Outcome {
    /// The job's id, if there is one.
    #[must_use]
    pub fn job_id(&self) -> Option<JobId> {
        match self {
            Outcome::Completed { status, .. }
            | Outcome::PartiallyCompleted { status, .. }
            | Outcome::Failed { status } => Some(status.job_id),
            Outcome::GaveUp { job_id, .. } => *job_id,
        }
    }

    /// The last status seen, if any.
    #[must_use]
    pub fn status(&self) -> Option<&JobStatus> {
        match self {
            Outcome::Completed { status, .. }
            | Outcome::PartiallyCompleted { status, .. }
            | Outcome::Failed { status } => Some(status),
            Outcome::GaveUp { last_status, .. } => last_status.as_deref(),
        }
    }

    /// The outputs downloaded.
    #[must_use]
    pub fn outputs(&self) -> &[Output] {
        match self {
            Outcome::Completed { outputs, .. } | Outcome::PartiallyCompleted { outputs, .. } => {
                outputs
            }
            Outcome::Failed { .. } | Outcome::GaveUp { .. } => &[],
        }
    }

    /// Every page error of the last status.
    pub fn page_errors(&self) -> impl Iterator<Item = &PageError> {
        self.status().into_iter().flat_map(JobStatus::page_errors)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed { status, .. } => {
                write!(
                    f,
                    "job {} completed: {} pages",
                    status.job_id,
                    status.pages().succeeded
                )
            }
            Outcome::PartiallyCompleted { status, .. } => {
                let p = status.pages();
                write!(
                    f,
                    "job {} partially completed: {} pages succeeded, {} failed",
                    status.job_id, p.succeeded, p.failed
                )
            }
            Outcome::Failed { status } => {
                write!(f, "job {} failed", status.job_id)?;
                if !status.error_message.is_empty() {
                    write!(f, ": {}", status.error_message)?;
                }
                Ok(())
            }
            Outcome::GaveUp { job_id, reason, .. } => {
                match job_id {
                    Some(id) => write!(f, "gave up on job {id}: ")?,
                    None => f.write_str("gave up: ")?,
                }
                reason.fmt(f)
            }
        }
    }
}

/// The document a [`Run`] processes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Document {
    /// The file's name as uploaded (a bare name ending `.pdf` or `.zip`).
    pub file_name: String,
    /// The file's length in bytes.
    pub len: u64,
    /// The job to create for it.
    pub job: CreateJobRequest,
}

impl Document {
    /// A document named `file_name` of `len` bytes, processed as `job` asks.
    ///
    /// # Errors
    /// [`InputError::FileName`] for a name the API refuses,
    /// [`InputError::FileSize`] for an empty file or one over 200 MB.
    pub fn new(
        file_name: impl Into<String>,
        len: u64,
        job: CreateJobRequest,
    ) -> Result<Self, InputError> {
        let file_name = file_name.into();
        crate::check_file_name(&file_name)?;
        if len == 0 || len > crate::MAX_INPUT_BYTES {
            return Err(InputError::FileSize(len));
        }
        Ok(Document {
            file_name,
            len,
            job,
        })
    }
}

/// Watches one job until it reaches a terminal state.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, Instant};
/// use sarvam_doc_core::{Action, Api, ApiKey, Config, Outcome, Policy, Watch};
///
/// let api = Arc::new(Api::new(Config::new(ApiKey::new("sk_test")?)));
/// let job = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
/// let start = Instant::now();
/// let mut watch = Watch::new(api, job, Policy::default(), start);
///
/// let Action::Send(send) = watch.poll(start) else { panic!() };
/// assert_eq!(send.request.uri().path(), "/doc-digitization/job/v1/3fa85f64-5717-4562-b3fc-2c963f66afa6/status");
///
/// // The transport sends it; the server says the job has completed.
/// let body = r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed",
///     "created_at":"2026-11-29T10:00:00Z","updated_at":"2026-11-29T10:00:09Z","storage_container_type":"Azure"}"#;
/// let now = start + Duration::from_millis(80);
/// watch.handle_response(now, send.attempt, http::Response::new(body));
/// assert!(matches!(watch.poll(now), Action::Done(Outcome::Completed { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Watch(Engine);

/// Runs one document through the whole job: create → upload-files → PUT the
/// file → start → watch → download-files → GET each output.
///
/// A create is sent again only when the first surely did not reach the
/// server (could not connect, 429, 503); a start, likewise, and when a start
/// may have taken effect the machine watches the job instead of repeating it.
#[derive(Debug)]
pub struct Run(Engine);

/// What a driver needs of a machine: [`Watch`] and [`Run`] both are one, so
/// a transport writes its loop once.
pub trait Machine {
    /// See [`Watch::poll`].
    fn poll(&mut self, now: Instant) -> Action;
    /// See [`Watch::handle_response`].
    fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        attempt: Attempt,
        response: Response<B>,
    );
    /// See [`Watch::handle_transport_error`].
    fn handle_transport_error(&mut self, now: Instant, attempt: Attempt, error: TransportError);
    /// See [`Watch::poll_event`].
    fn poll_event(&mut self) -> Option<Event>;
    /// See [`Watch::job_id`].
    fn job_id(&self) -> Option<JobId>;
}

macro_rules! machine_impl {
    ($t:ty) => {
        impl Machine for $t {
            fn poll(&mut self, now: Instant) -> Action {
                <$t>::poll(self, now)
            }
            fn handle_response<B: AsRef<[u8]>>(
                &mut self,
                now: Instant,
                attempt: Attempt,
                response: Response<B>,
            ) {
                <$t>::handle_response(self, now, attempt, response);
            }
            fn handle_transport_error(
                &mut self,
                now: Instant,
                attempt: Attempt,
                error: TransportError,
            ) {
                <$t>::handle_transport_error(self, now, attempt, error);
            }
            fn poll_event(&mut self) -> Option<Event> {
                <$t>::poll_event(self)
            }
            fn job_id(&self) -> Option<JobId> {
                <$t>::job_id(self)
            }
        }
    };
}

machine_impl!(Watch);
machine_impl!(Run);

macro_rules! driver_methods {
    () => {
        /// What to do next, at `now`. Sends nothing twice: while a request
        /// is in flight this says to wait for it.
        pub fn poll(&mut self, now: Instant) -> Action {
            self.0.poll(now)
        }

        /// The answer to `attempt`. For a [`Sink::File`] request answered
        /// 2xx, the body is empty (the transport wrote it to the file).
        pub fn handle_response<B: AsRef<[u8]>>(
            &mut self,
            now: Instant,
            attempt: Attempt,
            response: Response<B>,
        ) {
            self.0.handle_response(now, attempt, &response);
        }

        /// `attempt` could not be completed.
        pub fn handle_transport_error(
            &mut self,
            now: Instant,
            attempt: Attempt,
            error: TransportError,
        ) {
            self.0.handle_error(now, attempt, Error::Transport(error));
        }

        /// The next event, oldest first.
        pub fn poll_event(&mut self) -> Option<Event> {
            self.0.events.pop_front()
        }

        /// The job's id, once known.
        #[must_use]
        pub fn job_id(&self) -> Option<JobId> {
            self.0.job_id()
        }

        /// The last status seen.
        #[must_use]
        pub fn last_status(&self) -> Option<&JobStatus> {
            self.0.last_status.as_ref()
        }

        /// The outcome, once done.
        #[must_use]
        pub fn outcome(&self) -> Option<&Outcome> {
            match &self.0.step {
                Step::Done(outcome) => Some(outcome),
                _ => None,
            }
        }

        /// Whether the machine has ended.
        #[must_use]
        pub fn is_done(&self) -> bool {
            matches!(self.0.step, Step::Done(_))
        }
    };
}

impl Watch {
    /// A watch of `job_id`, created at `now` (the deadline counts from here).
    #[must_use]
    pub fn new(api: Arc<Api>, job_id: JobId, policy: Policy, now: Instant) -> Self {
        Watch(Engine::new(api, Step::Watch(job_id), None, policy, now))
    }

    driver_methods!();
}

impl Run {
    /// A run of `document`, created at `now` (the deadline counts from here).
    #[must_use]
    pub fn new(api: Arc<Api>, document: Document, policy: Policy, now: Instant) -> Self {
        Run(Engine::new(api, Step::Create, Some(document), policy, now))
    }

    /// The document being run.
    #[must_use]
    pub fn document(&self) -> &Document {
        // A run always has its document.
        self.0
            .document
            .as_ref()
            .unwrap_or_else(|| unreachable!("a Run is built with a document"))
    }

    driver_methods!();
}

/// Where the machine is.
#[derive(Debug)]
enum Step {
    Create,
    UploadUrl(JobId),
    Upload {
        job: JobId,
        url: String,
        storage: StorageContainerType,
    },
    Start(JobId),
    Watch(JobId),
    DownloadUrls(JobId),
    Download {
        job: JobId,
        queue: VecDeque<Pending>,
    },
    Done(Outcome),
}

#[derive(Debug)]
struct Pending {
    name: String,
    server_name: String,
    url: String,
    len: Option<u64>,
}

impl Step {
    fn endpoint(&self) -> Option<Endpoint> {
        Some(match self {
            Step::Create => Endpoint::CreateJob,
            Step::UploadUrl(_) => Endpoint::UploadFiles,
            Step::Upload { .. } => Endpoint::StorageUpload,
            Step::Start(_) => Endpoint::Start,
            Step::Watch(_) => Endpoint::Status,
            Step::DownloadUrls(_) => Endpoint::DownloadFiles,
            Step::Download { .. } => Endpoint::StorageDownload,
            Step::Done(_) => return None,
        })
    }
}

/// A parsed answer to the step in flight.
enum Reply {
    Created(JobId),
    UploadUrl {
        url: String,
        storage: StorageContainerType,
    },
    Stored,
    Status(JobStatus),
    DownloadUrls(DownloadFilesResponse),
    Downloaded(Option<u64>),
}

/// What to do about an error: the retry table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decision {
    Retry,
    GiveUp,
    /// A create that may have taken effect.
    Unconfirmed,
    /// A start that may have taken effect: watch instead.
    WatchInstead,
}

/// The retry table: retry class × whether the request may have taken effect
/// × whether the step is safe to repeat.
///
/// | class | repeatable step | create, may have taken effect | start, may have taken effect | create/start, surely did not |
/// |---|---|---|---|---|
/// | fatal | give up | give up | give up | give up |
/// | throttled, server, transport | retry | unconfirmed | watch instead | retry |
fn decide(endpoint: Endpoint, class: RetryClass, may_have_taken_effect: bool) -> Decision {
    match (class, endpoint, may_have_taken_effect) {
        (RetryClass::Fatal, _, _) => Decision::GiveUp,
        (_, Endpoint::CreateJob, true) => Decision::Unconfirmed,
        (_, Endpoint::Start, true) => Decision::WatchInstead,
        _ => Decision::Retry,
    }
}

/// What a job state means for the watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StateClass {
    /// Ended; the outcome follows from the state.
    Terminal,
    /// Processing: keep polling.
    Working,
    /// Waiting on something (an upload, a start) or unknown: keep polling,
    /// but only up to the stall limit.
    Waiting,
}

fn classify(state: &JobState) -> StateClass {
    match state {
        JobState::Completed | JobState::PartiallyCompleted | JobState::Failed => {
            StateClass::Terminal
        }
        JobState::Running => StateClass::Working,
        JobState::Accepted | JobState::Pending | JobState::Unknown(_) => StateClass::Waiting,
    }
}

#[derive(Debug)]
struct InFlight {
    attempt: Attempt,
    expires: Instant,
}

/// What the watch has seen, for the cadence and the events.
#[derive(Debug)]
struct Observed {
    state: JobState,
    since: Instant,
    pages: PageCounts,
    /// When the pages were first seen, for the pace.
    pace_origin: Option<(Instant, u32)>,
    /// When the last page should be done, at the pace so far.
    predicted_end: Option<Instant>,
}

#[derive(Debug)]
struct Engine {
    api: Arc<Api>,
    policy: Policy,
    rng: Jitter,
    step: Step,
    document: Option<Document>,
    /// Watch only: stop at the terminal state instead of downloading.
    watch_only: bool,
    deadline_at: Option<Instant>,
    next_attempt: u64,
    in_flight: Option<InFlight>,
    ready_at: Instant,
    ready_reason: WaitReason,
    failures: u32,
    created: Option<JobId>,
    last_status: Option<JobStatus>,
    observed: Option<Observed>,
    outputs: Vec<Output>,
    events: VecDeque<Event>,
}

/// `now + d`, saturating instead of panicking on absurd durations.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(crate::MAX_RETRY_AFTER))
        .unwrap_or(now)
}

impl Engine {
    fn new(
        api: Arc<Api>,
        step: Step,
        document: Option<Document>,
        policy: Policy,
        now: Instant,
    ) -> Self {
        let watch_only = matches!(step, Step::Watch(_));
        let created = match step {
            Step::Watch(job) => Some(job),
            _ => None,
        };
        Engine {
            rng: Jitter::new(policy.seed),
            deadline_at: policy.deadline.and_then(|d| now.checked_add(d)),
            api,
            policy,
            step,
            document,
            watch_only,
            next_attempt: 0,
            in_flight: None,
            ready_at: now,
            ready_reason: WaitReason::Poll,
            failures: 0,
            created,
            last_status: None,
            observed: None,
            outputs: Vec::new(),
            events: VecDeque::new(),
        }
    }

    fn job_id(&self) -> Option<JobId> {
        self.created
    }

    fn poll(&mut self, now: Instant) -> Action {
        if let Step::Done(outcome) = &self.step {
            return Action::Done(outcome.clone());
        }
        if let Some(deadline) = self.deadline_at
            && now >= deadline
        {
            let limit = self.policy.deadline.unwrap_or_default();
            self.give_up(GiveUpReason::Deadline(limit));
            return self.poll(now);
        }
        if let Some(flight) = &self.in_flight {
            if now < flight.expires {
                return Action::Wait {
                    until: self.cut_to_deadline(flight.expires),
                    reason: WaitReason::Response,
                };
            }
            // The driver never answered in time: count it as a timeout.
            let attempt = flight.attempt;
            let timeout = TransportError::new(
                TransportErrorKind::TimedOut,
                "no answer within the request timeout",
            );
            self.handle_error(now, attempt, Error::Transport(timeout));
            return self.poll(now);
        }
        if now < self.ready_at {
            return Action::Wait {
                until: self.cut_to_deadline(self.ready_at),
                reason: self.ready_reason,
            };
        }
        match self.build_request() {
            Ok((request, timeout, sink)) => {
                self.next_attempt += 1;
                let attempt = Attempt(self.next_attempt);
                self.in_flight = Some(InFlight {
                    attempt,
                    expires: later(now, timeout),
                });
                Action::Send(Send {
                    attempt,
                    request,
                    timeout,
                    sink,
                })
            }
            Err(e) => {
                // The server handed us something we must not use (a presigned
                // URL that is not https): nothing to retry.
                self.give_up(GiveUpReason::Refused(Error::Input(e)));
                self.poll(now)
            }
        }
    }

    fn cut_to_deadline(&self, at: Instant) -> Instant {
        self.deadline_at.map_or(at, |d| at.min(d))
    }

    fn build_request(&self) -> Result<(Request<Body>, Duration, Sink), InputError> {
        let api = &self.api;
        let memory = Sink::Memory {
            limit: api.config().max_json_body(),
        };
        let timeout = self.policy.request_timeout;
        Ok(match &self.step {
            Step::Create => {
                let doc = self.document()?;
                (api.create_job(&doc.job)?, timeout, memory)
            }
            Step::UploadUrl(job) => {
                let doc = self.document()?;
                let body = UploadFilesRequest::new(*job, doc.file_name.clone());
                (api.upload_files(&body)?, timeout, memory)
            }
            Step::Upload { url, storage, .. } => {
                let doc = self.document()?;
                let request = api.upload_file(url, &doc.file_name, doc.len, storage)?;
                (request, self.policy.transfer_timeout(Some(doc.len)), memory)
            }
            Step::Start(job) => (api.start(*job), timeout, memory),
            Step::Watch(job) => (api.status(*job), timeout, memory),
            Step::DownloadUrls(job) => (api.download_files(*job), timeout, memory),
            Step::Download { queue, .. } => {
                // Never empty: the last download moves the machine to Done.
                let Some(next) = queue.front() else {
                    return Err(InputError::FileCount(0));
                };
                let sink = Sink::File {
                    name: next.name.clone(),
                    expected_len: next.len,
                    error_limit: api.config().max_json_body(),
                };
                let request = api.download_output(&next.url)?;
                (request, self.policy.transfer_timeout(next.len), sink)
            }
            // Never reached: `poll` returns before building once done.
            Step::Done(_) => return Err(InputError::FileCount(0)),
        })
    }

    /// The run's document; only a watch has none, and it never asks.
    fn document(&self) -> Result<&Document, InputError> {
        self.document.as_ref().ok_or(InputError::FileCount(0))
    }

    /// Takes the in-flight attempt if `attempt` is it; stale answers are dropped.
    fn land(&mut self, attempt: Attempt) -> bool {
        if matches!(self.step, Step::Done(_)) {
            return false;
        }
        match &self.in_flight {
            Some(flight) if flight.attempt == attempt => {
                self.in_flight = None;
                true
            }
            _ => false,
        }
    }

    fn handle_response<B: AsRef<[u8]>>(&mut self, now: Instant, attempt: Attempt, r: &Response<B>) {
        if !self.land(attempt) {
            return;
        }
        match self.parse(r) {
            Ok(reply) => self.advance(now, reply),
            Err(error) => self.fail(now, error),
        }
    }

    fn handle_error(&mut self, now: Instant, attempt: Attempt, error: Error) {
        if self.land(attempt) {
            self.fail(now, error);
        }
    }

    fn parse<B: AsRef<[u8]>>(&self, r: &Response<B>) -> Result<Reply, Error> {
        let api = &self.api;
        Ok(match &self.step {
            Step::Create => Reply::Created(api.parse_create_job(r)?.job_id),
            Step::UploadUrl(job) => {
                let name = &self.document()?.file_name;
                let mut answer = api.parse_upload_files(r, name)?;
                check_job(r, *job, answer.job_id)?;
                let url = answer
                    .upload_urls
                    .remove(name)
                    .map(|u| u.file_url)
                    .unwrap_or_default();
                Reply::UploadUrl {
                    url,
                    storage: answer.storage_container_type,
                }
            }
            Step::Upload { .. } => {
                api.check_storage(r)?;
                Reply::Stored
            }
            Step::Start(job) | Step::Watch(job) => {
                let status = if matches!(self.step, Step::Start(_)) {
                    api.parse_start(r)?
                } else {
                    api.parse_status(r)?
                };
                check_job(r, *job, status.job_id)?;
                Reply::Status(status)
            }
            Step::DownloadUrls(job) => {
                let answer = api.parse_download_files(r)?;
                check_job(r, *job, answer.job_id)?;
                if answer.download_urls.is_empty() {
                    return Err(contract(r, "the job has no outputs to download".into()));
                }
                Reply::DownloadUrls(answer)
            }
            Step::Download { .. } => {
                api.check_storage(r)?;
                let len = r
                    .headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                Reply::Downloaded(len)
            }
            Step::Done(_) => return Err(contract(r, "the machine has ended".into())),
        })
    }

    /// The one transition function for successful answers.
    fn advance(&mut self, now: Instant, reply: Reply) {
        self.failures = 0;
        self.ready_at = now;
        self.ready_reason = WaitReason::Poll;
        let step = std::mem::replace(&mut self.step, Step::Create);
        self.step = match (step, reply) {
            (Step::Create, Reply::Created(job)) => {
                self.created = Some(job);
                self.events.push_back(Event::JobCreated(job));
                Step::UploadUrl(job)
            }
            (Step::UploadUrl(job), Reply::UploadUrl { url, storage }) => {
                Step::Upload { job, url, storage }
            }
            (Step::Upload { job, .. }, Reply::Stored) => {
                if let Some(doc) = &self.document {
                    self.events.push_back(Event::Uploaded {
                        file_name: doc.file_name.clone(),
                        len: doc.len,
                    });
                }
                Step::Start(job)
            }
            (Step::Start(job), Reply::Status(status)) => {
                self.events.push_back(Event::Started);
                self.observe(now, job, status)
            }
            (Step::Watch(job), Reply::Status(status)) => self.observe(now, job, status),
            (Step::DownloadUrls(job), Reply::DownloadUrls(answer)) => Step::Download {
                job,
                queue: plan_downloads(answer),
            },
            (Step::Download { job, mut queue }, Reply::Downloaded(len)) => {
                if let Some(done) = queue.pop_front() {
                    let output = Output {
                        name: done.name,
                        server_name: done.server_name,
                        len: len.or(done.len),
                    };
                    self.events.push_back(Event::Downloaded(output.clone()));
                    self.outputs.push(output);
                }
                if queue.is_empty() {
                    Step::Done(self.finished())
                } else {
                    Step::Download { job, queue }
                }
            }
            (step, _) => step, // parse() answers in the step's own terms
        };
    }

    /// Takes in a status; returns the next step.
    fn observe(&mut self, now: Instant, job: JobId, status: JobStatus) -> Step {
        let state = status.job_state.clone();
        let pages = status.pages();
        match &mut self.observed {
            Some(seen) if seen.state == state => {
                if seen.pages != pages {
                    self.events.push_back(Event::Pages(pages));
                    seen.predict(now, pages);
                }
            }
            seen => {
                let from = seen.as_ref().map(|s| s.state.clone());
                self.events.push_back(Event::StateChanged {
                    from,
                    to: state.clone(),
                });
                if seen.as_ref().is_none_or(|s| s.pages != pages) {
                    self.events.push_back(Event::Pages(pages));
                }
                let mut fresh = Observed {
                    state: state.clone(),
                    since: now,
                    pages,
                    pace_origin: None,
                    predicted_end: None,
                };
                fresh.predict(now, pages);
                *seen = Some(fresh);
            }
        }
        self.last_status = Some(status);
        match classify(&state) {
            StateClass::Terminal if state.has_output() && !self.watch_only => {
                Step::DownloadUrls(job)
            }
            StateClass::Terminal => Step::Done(self.finished()),
            class => {
                let seen = self.observed.as_ref();
                let since = seen.map_or(now, |s| s.since);
                let quiet = now.saturating_duration_since(since);
                if class == StateClass::Waiting
                    && let Some(limit) = self.policy.stall_limit
                    && quiet >= limit
                {
                    return Step::Done(self.gave_up(GiveUpReason::Stalled {
                        state,
                        duration: quiet,
                    }));
                }
                let eta = seen
                    .and_then(|s| s.predicted_end)
                    .map(|end| end.saturating_duration_since(now));
                let mut wait = self.policy.poll.interval(quiet, eta);
                if class == StateClass::Waiting
                    && let Some(limit) = self.policy.stall_limit
                {
                    // Look once more right at the stall limit, not a whole interval after.
                    wait = wait.min(limit - quiet).max(Duration::from_millis(1));
                }
                self.ready_at = later(now, wait);
                self.ready_reason = WaitReason::Poll;
                Step::Watch(job)
            }
        }
    }

    /// The outcome from the last status, with the outputs downloaded.
    fn finished(&mut self) -> Outcome {
        let Some(status) = self.last_status.clone() else {
            return self.gave_up(GiveUpReason::Refused(Error::Input(InputError::FileCount(
                0,
            ))));
        };
        let outputs = std::mem::take(&mut self.outputs);
        match status.job_state {
            JobState::Completed => Outcome::Completed { status, outputs },
            JobState::PartiallyCompleted => Outcome::PartiallyCompleted { status, outputs },
            _ => Outcome::Failed { status },
        }
    }

    fn gave_up(&self, reason: GiveUpReason) -> Outcome {
        Outcome::GaveUp {
            job_id: self.created,
            reason,
            last_status: self.last_status.clone().map(Box::new),
        }
    }

    fn give_up(&mut self, reason: GiveUpReason) {
        self.in_flight = None;
        self.step = Step::Done(self.gave_up(reason));
    }

    /// The one transition function for failures.
    fn fail(&mut self, now: Instant, error: Error) {
        let Some(endpoint) = self.step.endpoint() else {
            return;
        };
        match decide(endpoint, error.retry_class(), error.may_have_taken_effect()) {
            Decision::GiveUp => self.give_up(GiveUpReason::Refused(error)),
            Decision::Unconfirmed => self.give_up(GiveUpReason::Unconfirmed(error)),
            Decision::WatchInstead => {
                if let Step::Start(job) = self.step {
                    self.events.push_back(Event::StartUnconfirmed { error });
                    self.failures = 0;
                    self.step = Step::Watch(job);
                    let wait = self.policy.poll.min_interval;
                    self.ready_at = later(now, wait);
                    self.ready_reason = WaitReason::Poll;
                }
            }
            Decision::Retry => {
                self.failures += 1;
                if self.failures > self.policy.retry.max_retries {
                    let attempts = self.failures;
                    self.give_up(GiveUpReason::RetriesExhausted {
                        attempts,
                        last: error,
                    });
                    return;
                }
                let mut wait = self.policy.retry.backoff(self.failures, &mut self.rng);
                if let Error::Api(api) = &error
                    && let Some(asked) = api.retry_after
                {
                    wait = wait.max(asked);
                }
                let at = later(now, wait);
                if self.deadline_at.is_some_and(|d| at >= d) {
                    let limit = self.policy.deadline.unwrap_or_default();
                    self.give_up(GiveUpReason::Deadline(limit));
                    return;
                }
                self.ready_at = at;
                self.ready_reason = WaitReason::Backoff;
                self.events.push_back(Event::Retrying {
                    endpoint,
                    after: wait,
                    error,
                });
            }
        }
    }
}

impl Observed {
    /// Updates the predicted end from the pace of pages since first seen.
    fn predict(&mut self, now: Instant, pages: PageCounts) {
        self.pages = pages;
        let Some((origin, done_then)) = self.pace_origin else {
            self.pace_origin = Some((now, pages.processed));
            return;
        };
        let done = pages.processed.saturating_sub(done_then);
        let left = pages.total.saturating_sub(pages.processed);
        if done == 0 || left == 0 {
            self.predicted_end = None;
            return;
        }
        let per_page = now.saturating_duration_since(origin) / done;
        self.predicted_end = Some(later(now, per_page.saturating_mul(left)));
    }
}

fn check_job<B: AsRef<[u8]>>(r: &Response<B>, asked: JobId, got: JobId) -> Result<(), Error> {
    if asked == got {
        Ok(())
    } else {
        Err(contract(
            r,
            format!("asked about job {asked}, answered about {got}"),
        ))
    }
}

fn contract<B: AsRef<[u8]>>(r: &Response<B>, detail: String) -> Error {
    Error::Protocol(ProtocolError {
        status: r.status(),
        kind: ProtocolErrorKind::Contract { detail },
        excerpt: crate::error::excerpt(r.body().as_ref()),
        request_id: r
            .headers()
            .get(crate::REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    })
}

/// The outputs to fetch, with safe and distinct local names.
fn plan_downloads(answer: DownloadFilesResponse) -> VecDeque<Pending> {
    let mut taken: Vec<String> = Vec::new();
    let mut queue = VecDeque::new();
    for (i, (server_name, url)) in answer.download_urls.into_iter().enumerate() {
        let base = crate::safe_output_name(&server_name)
            .unwrap_or_else(|| format!("output-{}.zip", i + 1));
        let mut name = base.clone();
        let mut n = 2;
        while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            name = format!("{n}-{base}");
            n += 1;
        }
        taken.push(name.clone());
        queue.push_back(Pending {
            len: url.announced_size(),
            name,
            server_name,
            url: url.file_url,
        });
    }
    queue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_table_is_what_the_docs_say() {
        use Decision::*;
        let classes = [
            RetryClass::Throttled,
            RetryClass::Server,
            RetryClass::Transport,
            RetryClass::Fatal,
        ];
        for class in classes {
            for endpoint in Endpoint::ALL {
                for effect in [false, true] {
                    let expected = match (class, endpoint, effect) {
                        (RetryClass::Fatal, ..) => GiveUp,
                        (_, Endpoint::CreateJob, true) => Unconfirmed,
                        (_, Endpoint::Start, true) => WatchInstead,
                        _ => Retry,
                    };
                    assert_eq!(decide(endpoint, class, effect), expected);
                }
            }
        }
    }

    #[test]
    fn every_state_has_a_class_and_unknown_is_never_terminal() {
        assert_eq!(classify(&JobState::Completed), StateClass::Terminal);
        assert_eq!(
            classify(&JobState::PartiallyCompleted),
            StateClass::Terminal
        );
        assert_eq!(classify(&JobState::Failed), StateClass::Terminal);
        assert_eq!(classify(&JobState::Running), StateClass::Working);
        assert_eq!(classify(&JobState::Accepted), StateClass::Waiting);
        assert_eq!(classify(&JobState::Pending), StateClass::Waiting);
        assert_eq!(classify(&JobState::from("Done")), StateClass::Waiting);
        for state in JobState::KNOWN {
            assert_eq!(classify(state) == StateClass::Terminal, state.is_terminal());
        }
    }

    #[test]
    fn download_names_are_safe_and_distinct() {
        let answer: DownloadFilesResponse = serde_json::from_str(
            r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed",
            "storage_container_type":"Azure","download_urls":{
              "a/out.zip":{"file_url":"https://s/1"},"b/out.zip":{"file_url":"https://s/2"},
              "..":{"file_url":"https://s/3","file_metadata":{"fileSize":5}}}}"#,
        )
        .unwrap();
        let names: Vec<_> = plan_downloads(answer)
            .into_iter()
            .map(|p| (p.name, p.len))
            .collect();
        assert_eq!(
            names,
            [
                ("output-1.zip".to_owned(), Some(5)),
                ("out.zip".to_owned(), None),
                ("2-out.zip".to_owned(), None)
            ]
        );
    }
}
