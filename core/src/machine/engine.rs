//! The one engine behind [`super::Watch`] and [`super::Run`]: every
//! transition is in this file.
//!
//! ```text
//!  legacy   Run    Create ─► UploadUrl ─► Upload ─► Start ─► Watch ─► DownloadUrls ─► Download ×n ─► Done(outcome)
//!  doc-ai   Run    Presign ─► PutUpload ─► Submit ─────────► Watch ─► [Results] ─► DownloadUrl ─► Download ─► Done
//!           Watch                                             Watch ─► (as a run, or Done(outcome))
//!  (Results only for an extraction: its inline answer, kept as results.json)
//!
//!  in Watch, by the class of the job state in each status answer (JobState::class):
//!    Waiting (Accepted, Pending, unknown) ─ unchanged for stall_limit? ─ yes ─► GaveUp(Stalled)
//!      │ a start was lost and the job still reads Pending after restart_after ─► Start (same job)
//!      └──────────────────────────────────────────────────────────────── no ─► poll again (cadence)
//!    Working (Running) ─ pages unchanged for progress_limit? ─ yes ─► GaveUp(NoProgress)
//!                                                            └ no ─► poll again (cadence)
//!    Ended, with output (Completed, PartiallyCompleted) ─► fetch (Run) or Done (Watch)
//!    Ended, without (Failed, Rejected) ──────────────────► Done(Failed)
//!
//!  any step, on an error, by its retry class (see `decide`):
//!    fatal ──────────────────────────────────────────────────────────► GaveUp(Refused)
//!      (a re-sent start answered 4xx: the job had started ─► Watch)
//!    Create, may have taken effect ─► CreateUnconfirmed, then as throttled (an orphan costs nothing)
//!    Start,  may have taken effect ─► StartUnconfirmed ─► Watch (never a blind 2nd start)
//!    Submit, may have taken effect ─► GaveUp(SubmitUnconfirmed), or with retry_unconfirmed
//!                                     SubmitUnconfirmed, then as throttled (may pay twice)
//!    Results/DownloadUrl answered 409 (not ended yet) ─► Watch (at most max_retries times)
//!    storage answered 403 (a presigned URL expired) ─► ask the API for a fresh URL
//!      (UploadUrl, Presign, DownloadUrls or DownloadUrl), within the retry budget
//!    throttled, server, transport ─ retries left? ─ no ──────────────► GaveUp(RetriesExhausted)
//!                                                 └ yes ─► wait max(backoff, Retry-After) ─► same step
//!      (Retry-After past the deadline or max_retry_after ────────────► GaveUp(RetryAfterTooLong))
//!  at any time: the deadline passes ─► GaveUp(Deadline)
//! ```
//!
//! Terminal outcomes stick: once [`Action::Done`] is returned, every later
//! `poll` returns the same, and answers change nothing. An answer for an
//! attempt other than the one in flight is stale and ignored.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use http::header::CONTENT_LENGTH;
use http::uri::Uri;
use http::{Request, Response};

use super::action::{Action, Attempt, Event, Output, Sink, Transmit, WaitReason};
use super::outcome::{GiveUpReason, Outcome};
use crate::doc_ai::{DownloadUrl, PresignedUpload, RESULTS_FILE, Submitted};
use crate::policy::Jitter;
use crate::{
    Api, ApiVersion, Body, Document, DownloadFilesResponse, Ending, Endpoint, Error, InputError,
    Job, JobId, JobState, PageCounts, Peer, Policy, ProtocolErrorKind, RetryClass, StateClass,
    Status, StorageContainerType, TransportError, TransportErrorKind,
};

/// How many times a lost start is sent again, at most.
const MAX_START_RESENDS: u32 = 3;

/// What a machine is for.
#[derive(Debug)]
pub(crate) enum Mode {
    /// Follow a job to its end, and fetch its outputs or not.
    Watch(Fetch),
    /// Take a document through the whole job.
    Run(Document),
}

/// Whether a watch fetches the job's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fetch {
    /// No: stop at the terminal state.
    Never,
    /// Yes, once the job ends.
    WhenEnded,
    /// Yes, if the job has ended already; otherwise give up at once.
    IfEnded,
}

/// Where the machine is.
#[derive(Debug)]
enum Step {
    /// Resuming a job a journal knows: its status says where to go on.
    Recheck(JobId),
    Create,
    UploadUrl(JobId),
    Upload {
        job: JobId,
        url: Uri,
        storage: StorageContainerType,
    },
    Start(JobId),
    /// `/doc-ai/v1`: ask for an upload URL.
    Presign,
    /// `/doc-ai/v1`: upload the file where the presign said.
    PutUpload(Box<PresignedUpload>),
    /// `/doc-ai/v1`: make and start the job on the upload.
    Submit {
        upload_id: String,
    },
    Watch(JobId),
    /// `/doc-ai/v1`: an extraction's inline results, kept as a file.
    Results(JobId),
    /// `/doc-ai/v1`: the output file's URL.
    DownloadUrl(JobId),
    DownloadUrls(JobId),
    Download {
        job: JobId,
        queue: VecDeque<PendingDownload>,
    },
    Done(Outcome),
}

impl Step {
    fn endpoint(&self) -> Option<Endpoint> {
        Some(match self {
            Step::Recheck(_) => Endpoint::Status,
            Step::Create => Endpoint::CreateJob,
            Step::UploadUrl(_) => Endpoint::UploadFiles,
            Step::Upload { .. } => Endpoint::StorageUpload,
            Step::Start(_) => Endpoint::Start,
            Step::Presign => Endpoint::Presign,
            Step::PutUpload(_) => Endpoint::StorageUpload,
            Step::Submit { .. } => Endpoint::Submit,
            Step::Watch(_) => Endpoint::Status,
            Step::Results(_) => Endpoint::Results,
            Step::DownloadUrl(_) => Endpoint::DownloadUrl,
            Step::DownloadUrls(_) => Endpoint::DownloadFiles,
            Step::Download { .. } => Endpoint::StorageDownload,
            Step::Done(_) => return None,
        })
    }
}

#[derive(Debug)]
struct PendingDownload {
    name: String,
    server_name: String,
    url: Uri,
    announced: Option<u64>,
    /// Headers the server asked the download to carry (`/doc-ai/v1`).
    headers: BTreeMap<String, String>,
}

/// A parsed answer to the step in flight.
enum Reply {
    Created(JobId),
    UploadUrl {
        url: Uri,
        storage: StorageContainerType,
    },
    Stored,
    Status(Status),
    DownloadUrls(DownloadFilesResponse),
    Downloaded(u64),
    Presigned(Box<PresignedUpload>),
    Submitted(Submitted),
    ResultsSaved(u64),
    DownloadUrl(DownloadUrl),
}

/// What to do about an error: the retry table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Retry,
    GiveUp,
    /// A create that may have taken effect: retried (the orphan is harmless).
    RetryCreate,
    /// A start that may have taken effect: watch instead.
    WatchInstead,
    /// A `/doc-ai/v1` submit that may have taken effect: it may have made
    /// and started a job that cannot be found; stop unless told to retry.
    Unconfirmed,
}

/// The retry table: retry class × whether the request may have taken effect
/// × which step.
///
/// | class | repeatable step | create, may have taken effect | start, may have taken effect | submit, may have taken effect | create/start/submit, surely did not |
/// |---|---|---|---|---|---|
/// | fatal | give up | give up | give up | give up | give up |
/// | throttled, server, transport | retry | retry (record the possible orphan) | watch instead | unconfirmed: stop, or retry if asked | retry |
pub(crate) fn decide(
    endpoint: Endpoint,
    class: RetryClass,
    may_have_taken_effect: bool,
) -> Decision {
    match (class, endpoint, may_have_taken_effect) {
        (RetryClass::Fatal, _, _) => Decision::GiveUp,
        (_, Endpoint::CreateJob, true) => Decision::RetryCreate,
        (_, Endpoint::Start, true) => Decision::WatchInstead,
        (_, Endpoint::Submit, true) => Decision::Unconfirmed,
        _ => Decision::Retry,
    }
}

/// Where the job's start stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StartState {
    /// Not sent yet, or the server confirmed it.
    Settled,
    /// Sent, answer lost, since `at`; `resends` so far.
    Unconfirmed { at: Instant, resends: u32 },
    /// Being sent again.
    Resending { resends: u32 },
}

#[derive(Debug)]
struct InFlight {
    attempt: Attempt,
    expires: Instant,
}

/// What the watch has seen, for the cadence, the limits and the events.
#[derive(Debug)]
struct Observed {
    state: JobState,
    /// When the state was first seen.
    since: Instant,
    pages: PageCounts,
    /// When the page counts last changed (or the state was entered).
    moved: Instant,
    /// When the pages were first seen, for the pace.
    pace_origin: Option<(Instant, u32)>,
    /// When the last page should be done, at the pace so far.
    predicted_end: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Engine {
    api: Api,
    policy: Policy,
    rng: Jitter,
    mode: Mode,
    step: Step,
    deadline_at: Option<Instant>,
    next_attempt: u64,
    in_flight: Option<InFlight>,
    /// The sink of the request in flight, for `handle_too_large`.
    in_flight_download: Option<(String, Option<u64>)>,
    ready_at: Instant,
    ready_reason: WaitReason,
    failures: u32,
    /// Whether the request about to make or start a job was announced.
    announced: bool,
    /// The client's request budget, this machine's ticket in it, and
    /// whether the next request has its token.
    budget: Option<(crate::Budget, u64)>,
    granted: bool,
    job: Option<JobId>,
    start: StartState,
    /// Times a results or download-url request was answered "not yet" (409).
    not_yet: u32,
    pub(crate) last_status: Option<Box<Status>>,
    observed: Option<Observed>,
    outputs: Vec<Output>,
    events: VecDeque<Event>,
}

/// `now + d`, saturating instead of panicking on absurd durations.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

impl Engine {
    pub(crate) fn watch(api: Api, job: JobId, fetch: Fetch, policy: Policy, now: Instant) -> Self {
        Engine::new(
            api,
            Mode::Watch(fetch),
            Step::Watch(job.clone()),
            Some(job),
            policy,
            now,
        )
    }

    pub(crate) fn run(api: Api, document: Document, policy: Policy, now: Instant) -> Self {
        let step = match (api.config().api_version(), document.job()) {
            (ApiVersion::Legacy, Job::Legacy(_)) => Step::Create,
            (ApiVersion::DocAi, Job::DocAi(_)) => Step::Presign,
            _ => Step::Done(Outcome::GaveUp {
                job_id: None,
                reason: GiveUpReason::Refused(Error::Input(InputError::Misuse(
                    "the document's job is for the other API than the configuration's",
                ))),
                last_status: None,
            }),
        };
        Engine::new(api, Mode::Run(document), step, None, policy, now)
    }

    pub(crate) fn resume(
        api: Api,
        document: Document,
        job: JobId,
        policy: Policy,
        now: Instant,
    ) -> Self {
        let step = Step::Recheck(job.clone());
        Engine::new(api, Mode::Run(document), step, Some(job), policy, now)
    }

    fn new(
        api: Api,
        mode: Mode,
        step: Step,
        job: Option<JobId>,
        policy: Policy,
        now: Instant,
    ) -> Self {
        Engine {
            rng: Jitter::new(policy.seed),
            deadline_at: policy.deadline.map(|d| later(now, d)),
            api,
            policy,
            mode,
            step,
            next_attempt: 0,
            in_flight: None,
            in_flight_download: None,
            ready_at: now,
            ready_reason: WaitReason::Poll,
            failures: 0,
            announced: false,
            budget: None,
            granted: false,
            job,
            start: StartState::Settled,
            not_yet: 0,
            last_status: None,
            observed: None,
            outputs: Vec::new(),
            events: VecDeque::new(),
        }
    }

    pub(crate) fn job_id(&self) -> Option<&JobId> {
        self.job.as_ref()
    }

    /// Asks `budget` before every request to the API.
    pub(crate) fn set_budget(&mut self, budget: crate::Budget) {
        let ticket = budget.ticket();
        self.budget = Some((budget, ticket));
    }

    /// How urgent the next request is, for the budget.
    fn priority(&self, now: Instant, endpoint: Endpoint) -> crate::Priority {
        use crate::Priority;
        match (endpoint, &self.step) {
            (Endpoint::Status, Step::Recheck(_)) => Priority::Work,
            (Endpoint::Status, _) => {
                let ended_by_now = self.observed.as_ref().is_some_and(|seen| {
                    seen.predicted_end.is_some_and(|end| end <= now)
                        || seen.state.class() == StateClass::Working
                            && seen.pages.total > 0
                            && seen.pages.processed >= seen.pages.total
                });
                if ended_by_now {
                    Priority::Likely
                } else {
                    Priority::Poll
                }
            }
            (
                Endpoint::DownloadFiles
                | Endpoint::DownloadUrl
                | Endpoint::Results
                | Endpoint::StorageDownload,
                _,
            ) => Priority::Finish,
            _ => Priority::Work,
        }
    }

    pub(crate) fn document(&self) -> Option<&Document> {
        match &self.mode {
            Mode::Run(doc) => Some(doc),
            Mode::Watch(_) => None,
        }
    }

    pub(crate) fn outcome(&self) -> Option<&Outcome> {
        match &self.step {
            Step::Done(outcome) => Some(outcome),
            _ => None,
        }
    }

    pub(crate) fn poll(&mut self, now: Instant) -> Action {
        if let Some(event) = self.events.pop_front() {
            return Action::Event(event);
        }
        if let Step::Done(outcome) = &self.step {
            return Action::Done(outcome.clone());
        }
        if let Some(deadline) = self.deadline_at
            && now >= deadline
        {
            self.give_up(GiveUpReason::Deadline(
                self.policy.deadline.unwrap_or_default(),
            ));
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
        // A request to the API waits for the client's budget (before it is
        // announced: an announced request is one about to go).
        if let Some(endpoint) = self.step.endpoint()
            && endpoint.is_api()
            && !self.granted
            && let Some((budget, ticket)) = &self.budget
        {
            match budget.try_acquire(now, *ticket, self.priority(now, endpoint)) {
                Ok(()) => self.granted = true,
                Err(until) => {
                    return Action::Wait {
                        until: self
                            .cut_to_deadline(until.max(later(now, Duration::from_millis(1)))),
                        reason: WaitReason::Budget,
                    };
                }
            }
        }
        // A request that makes or starts a job is announced first, so a
        // journal has it on disk before it can take effect.
        if let Some(endpoint @ (Endpoint::CreateJob | Endpoint::Start | Endpoint::Submit)) =
            self.step.endpoint()
            && !self.announced
        {
            self.announced = true;
            return Action::Event(Event::Sending { endpoint });
        }
        match self.build_request() {
            Ok((request, step_timeout, sink)) => {
                let left = self
                    .deadline_at
                    .map_or(step_timeout, |d| d.saturating_duration_since(now));
                let timeout = step_timeout.min(left);
                self.next_attempt += 1;
                self.announced = false;
                self.granted = false;
                let attempt = Attempt(self.next_attempt);
                self.in_flight = Some(InFlight {
                    attempt,
                    expires: later(now, timeout),
                });
                self.in_flight_download = match &sink {
                    Sink::File { name, .. } => Some((name.clone(), self.announced())),
                    Sink::Memory { .. } => None,
                };
                Action::Transmit(Transmit {
                    attempt,
                    retry: self.failures,
                    request,
                    timeout,
                    idle: self.policy.request_timeout.min(timeout),
                    sink,
                })
            }
            Err(Build::Input(e)) => {
                // The server handed us something we must not use: nothing to retry.
                self.give_up(GiveUpReason::Refused(Error::Input(e)));
                self.poll(now)
            }
            Err(Build::GiveUp(reason)) => {
                self.give_up(*reason);
                self.poll(now)
            }
        }
    }

    fn cut_to_deadline(&self, at: Instant) -> Instant {
        self.deadline_at.map_or(at, |d| at.min(d))
    }

    fn announced(&self) -> Option<u64> {
        match &self.step {
            Step::Download { queue, .. } => queue.front().and_then(|p| p.announced),
            _ => None,
        }
    }

    fn build_request(&self) -> Result<(Request<Body>, Duration, Sink), Build> {
        let api = &self.api;
        let memory = Sink::Memory {
            limit: api.config().max_json_body(),
        };
        let timeout = self.policy.request_timeout;
        let document = || {
            self.document()
                .ok_or(Build::Input(InputError::Misuse("a watch has no document")))
        };
        let task = || match document()?.job() {
            Job::DocAi(task) => Ok(task),
            _ => Err(Build::Input(InputError::Misuse("a legacy job has no task"))),
        };
        Ok(match &self.step {
            Step::Create => {
                let Job::Legacy(request) = document()?.job() else {
                    return Err(Build::Input(InputError::Misuse("a task has no legacy job")));
                };
                (api.create_job(request)?, timeout, memory)
            }
            Step::Presign => {
                let mime = crate::doc_ai::mime_of(document()?.file_name());
                (api.doc_ai().presign(Some(mime)), timeout, memory)
            }
            Step::PutUpload(upload) => {
                let doc = document()?;
                let request = api.doc_ai().upload(upload, doc.file_name(), doc.len())?;
                (request, self.policy.transfer_timeout(doc.len()), memory)
            }
            Step::Submit { upload_id } => (
                api.doc_ai().submit(task()?, &[upload_id.as_str()])?,
                timeout,
                memory,
            ),
            Step::Results(job) => {
                let limit = self.policy.max_download;
                let sink = Sink::File {
                    name: RESULTS_FILE.to_owned(),
                    max_len: limit,
                    error_limit: api.config().max_json_body(),
                };
                let request = api.doc_ai().results(job, None);
                (request, self.policy.transfer_timeout(limit), sink)
            }
            Step::DownloadUrl(job) => (api.doc_ai().download_url(job), timeout, memory),
            Step::UploadUrl(job) => (
                api.upload_files(job, document()?.file_name())?,
                timeout,
                memory,
            ),
            Step::Upload { url, storage, .. } => {
                let doc = document()?;
                let request = api.upload_file(url, doc.file_name(), doc.len(), storage)?;
                (request, self.policy.transfer_timeout(doc.len()), memory)
            }
            Step::Start(job) => (api.start(job), timeout, memory),
            Step::Watch(job) | Step::Recheck(job) => (self.status_request(job), timeout, memory),
            Step::DownloadUrls(job) => (api.download_files(job), timeout, memory),
            Step::Download { queue, .. } => {
                let Some(next) = queue.front() else {
                    return Err(Build::Input(InputError::Misuse("no download is queued")));
                };
                let limit = self.policy.max_download;
                if next.announced.is_some_and(|len| len > limit) {
                    return Err(Build::GiveUp(Box::new(GiveUpReason::TooLarge {
                        name: next.name.clone(),
                        limit,
                    })));
                }
                let max_len = next.announced.unwrap_or(limit);
                let sink = Sink::File {
                    name: next.name.clone(),
                    max_len,
                    error_limit: api.config().max_json_body(),
                };
                let request = if next.headers.is_empty() {
                    api.download_output(&next.url)?
                } else {
                    api.doc_ai().download(&DownloadUrl {
                        method: "GET".into(),
                        url: next.url.clone(),
                        headers: next.headers.clone(),
                        expires_at: String::new(),
                    })?
                };
                (request, self.policy.transfer_timeout(max_len), sink)
            }
            Step::Done(_) => return Err(Build::Input(InputError::Misuse("the machine has ended"))),
        })
    }

    fn version(&self) -> ApiVersion {
        self.api.config().api_version()
    }

    fn status_request(&self, job: &JobId) -> Request<Body> {
        match self.version() {
            ApiVersion::DocAi => self.api.doc_ai().status(job),
            _ => self.api.status(job),
        }
    }

    fn parse_status<B: AsRef<[u8]>>(&self, r: &Response<B>, job: &JobId) -> Result<Status, Error> {
        Ok(match self.version() {
            ApiVersion::DocAi => Status::DocAi(self.api.doc_ai().parse_status(r, job)?),
            _ => Status::Legacy(self.api.parse_status(r, job)?),
        })
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

    pub(crate) fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        attempt: Attempt,
        r: &Response<B>,
    ) {
        if !self.land(attempt) {
            return;
        }
        if let Some((budget, _)) = &self.budget
            && self.step.endpoint().is_some_and(Endpoint::is_api)
        {
            let throttled = r.status() == http::StatusCode::TOO_MANY_REQUESTS;
            budget.observe(now, throttled, crate::wire::retry_after(r.headers()));
        }
        match self.parse(r) {
            Ok(reply) => self.advance(now, reply),
            Err(error) => self.fail(now, error),
        }
    }

    pub(crate) fn handle_error(&mut self, now: Instant, attempt: Attempt, error: Error) {
        if self.land(attempt) {
            self.fail(now, error);
        }
    }

    /// The driver stopped a download that passed its `max_len`.
    pub(crate) fn handle_too_large(&mut self, now: Instant, attempt: Attempt, received: u64) {
        if !self.land(attempt) {
            return;
        }
        let Some((name, announced)) = self.in_flight_download.take() else {
            return;
        };
        match announced {
            // More than storage said it would send: a broken transfer, retried.
            Some(announced) => {
                let error = Error::Protocol(crate::ProtocolError {
                    peer: Peer::Storage,
                    status: http::StatusCode::OK,
                    kind: ProtocolErrorKind::WrongLength {
                        announced,
                        received,
                    },
                    excerpt: String::new(),
                    request_id: None,
                });
                self.fail(now, error);
            }
            None => self.give_up(GiveUpReason::TooLarge {
                name,
                limit: self.policy.max_download,
            }),
        }
    }

    fn parse<B: AsRef<[u8]>>(&self, r: &Response<B>) -> Result<Reply, Error> {
        let api = &self.api;
        Ok(match &self.step {
            Step::Create => Reply::Created(api.parse_create_job(r)?.job_id),
            Step::UploadUrl(job) => {
                let name = self.document().map(Document::file_name).unwrap_or_default();
                let mut answer = api.parse_upload_files(r, job, name)?;
                let target = answer.upload_urls.remove(name);
                // parse_upload_files checked the name is there.
                let url = target.map(|t| t.file_url).unwrap_or_default();
                Reply::UploadUrl {
                    url,
                    storage: answer.storage_container_type,
                }
            }
            Step::Upload { .. } => {
                api.check_storage(r)?;
                Reply::Stored
            }
            Step::Start(job) => Reply::Status(Status::Legacy(api.parse_start(r, job)?)),
            Step::Watch(job) | Step::Recheck(job) => Reply::Status(self.parse_status(r, job)?),
            Step::Presign => Reply::Presigned(Box::new(api.doc_ai().parse_presign(r)?)),
            Step::PutUpload(_) => {
                api.check_storage(r)?;
                Reply::Stored
            }
            Step::Submit { .. } => Reply::Submitted(api.doc_ai().parse_submit(r)?),
            Step::Results(_) => {
                if !r.status().is_success() {
                    return Err(Error::Api(api.view(r, Peer::Api).error()));
                }
                Reply::ResultsSaved(content_length(r))
            }
            Step::DownloadUrl(_) => Reply::DownloadUrl(api.doc_ai().parse_download_url(r)?),
            Step::DownloadUrls(job) => {
                let answer = api.parse_download_files(r, job)?;
                if answer.download_urls.is_empty() {
                    return Err(api
                        .view(r, Peer::Api)
                        .contract("the job has no outputs to download".into()));
                }
                Reply::DownloadUrls(answer)
            }
            Step::Download { queue, .. } => {
                api.check_storage(r)?;
                let received = content_length(r);
                if let Some(announced) = queue.front().and_then(|p| p.announced)
                    && announced != received
                {
                    return Err(api.view(r, Peer::Storage).protocol(
                        ProtocolErrorKind::WrongLength {
                            announced,
                            received,
                        },
                    ));
                }
                Reply::Downloaded(received)
            }
            Step::Done(_) => {
                return Err(Error::Input(InputError::Misuse("the machine has ended")));
            }
        })
    }

    /// The one transition function for successful answers.
    fn advance(&mut self, now: Instant, reply: Reply) {
        self.failures = 0;
        self.ready_at = now;
        self.ready_reason = WaitReason::Poll;
        self.in_flight_download = None;
        let step = std::mem::replace(&mut self.step, Step::Create);
        self.step = match (step, reply) {
            (Step::Create, Reply::Created(job)) => {
                self.job = Some(job.clone());
                self.events.push_back(Event::JobCreated(job.clone()));
                Step::UploadUrl(job)
            }
            (Step::UploadUrl(job), Reply::UploadUrl { url, storage }) => {
                Step::Upload { job, url, storage }
            }
            (Step::Upload { job, .. }, Reply::Stored) => {
                self.uploaded();
                Step::Start(job)
            }
            (Step::Presign, Reply::Presigned(upload)) => Step::PutUpload(upload),
            (Step::PutUpload(upload), Reply::Stored) => {
                self.uploaded();
                Step::Submit {
                    upload_id: upload.upload_id,
                }
            }
            (Step::Submit { .. }, Reply::Submitted(answer)) => {
                let job = answer.job_id;
                self.job = Some(job.clone());
                self.events.push_back(Event::JobCreated(job.clone()));
                self.events.push_back(Event::Started);
                self.ready_at = later(now, self.policy.poll.min_interval);
                Step::Watch(job)
            }
            (Step::Results(job), Reply::ResultsSaved(len)) => {
                self.saved(RESULTS_FILE.to_owned(), RESULTS_FILE.to_owned(), len);
                Step::DownloadUrl(job)
            }
            (Step::DownloadUrl(job), Reply::DownloadUrl(target)) => {
                self.fetch_rest(job, plan_download(target))
            }
            (Step::Start(job), Reply::Status(status)) => {
                self.start = StartState::Settled;
                self.events.push_back(Event::Started);
                self.observe(now, job, status)
            }
            (Step::Watch(job), Reply::Status(status)) => self.observe(now, job, status),
            (Step::Recheck(job), Reply::Status(status)) => self.recheck(now, job, status),
            (Step::DownloadUrls(job), Reply::DownloadUrls(answer)) => {
                self.fetch_rest(job, plan_downloads(answer))
            }
            (Step::Download { job, mut queue }, Reply::Downloaded(len)) => {
                if let Some(done) = queue.pop_front() {
                    self.saved(done.name, done.server_name, len);
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

    /// The input reached storage.
    fn uploaded(&mut self) {
        if let Some(doc) = self.document() {
            let event = Event::Uploaded {
                file_name: doc.file_name().to_owned(),
                len: doc.len(),
            };
            self.events.push_back(event);
        }
    }

    /// An output is in the staging folder.
    fn saved(&mut self, name: String, server_name: String, len: u64) {
        let output = Output {
            name,
            server_name,
            len,
        };
        self.events.push_back(Event::Downloaded(output.clone()));
        self.outputs.push(output);
    }

    /// Where a resumed job goes on from, by its state now: upload if the
    /// file never arrived, start if it did (a start of a started job is
    /// refused as such, which confirms it), else watch it as it is.
    fn recheck(&mut self, now: Instant, job: JobId, status: Status) -> Step {
        if self.version() == ApiVersion::DocAi {
            // A submitted job needs nothing but watching: it was started then.
            return self.observe(now, job, status);
        }
        match status.state() {
            JobState::Accepted => {
                self.last_status = Some(Box::new(status));
                Step::UploadUrl(job)
            }
            JobState::Pending => {
                self.last_status = Some(Box::new(status));
                self.start = StartState::Resending { resends: 0 };
                Step::Start(job)
            }
            _ => self.observe(now, job, status),
        }
    }

    /// Takes in a status; returns the next step.
    fn observe(&mut self, now: Instant, job: JobId, status: Status) -> Step {
        let state = status.state();
        let pages = status.pages();
        match &mut self.observed {
            Some(seen) if seen.state == state => {
                if seen.pages != pages {
                    self.events.push_back(Event::Pages(pages));
                    seen.moved = now;
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
                    moved: now,
                    pace_origin: None,
                    predicted_end: None,
                };
                fresh.predict(now, pages);
                *seen = Some(fresh);
            }
        }
        self.last_status = Some(Box::new(status));
        let class = state.class();
        let fetch = match self.mode {
            Mode::Run(_) => Fetch::WhenEnded,
            Mode::Watch(fetch) => fetch,
        };
        if let StateClass::Ended(ending) = class {
            return if ending.has_output() && fetch != Fetch::Never {
                self.fetch(job)
            } else {
                Step::Done(self.finished())
            };
        }
        if fetch == Fetch::IfEnded {
            return Step::Done(self.gave_up(GiveUpReason::NotEnded { state }));
        }
        let Some(seen) = self.observed.as_ref() else {
            return Step::Watch(job);
        };
        let in_state = now.saturating_duration_since(seen.since);
        let still = now.saturating_duration_since(seen.moved);
        // The next moment a limit or a rule could act, to look again right then.
        let mut next_rule: Option<Duration> = None;
        match class {
            StateClass::Waiting => {
                if let Some(limit) = self.policy.stall_limit {
                    if in_state >= limit {
                        return Step::Done(self.gave_up(GiveUpReason::Stalled {
                            state,
                            duration: in_state,
                        }));
                    }
                    next_rule = Some(limit - in_state);
                }
                if let StartState::Unconfirmed { at, resends } = self.start
                    && state == JobState::Pending
                    && resends < MAX_START_RESENDS
                {
                    let waited = now.saturating_duration_since(at);
                    if waited >= self.policy.restart_after {
                        self.start = StartState::Resending {
                            resends: resends + 1,
                        };
                        self.events.push_back(Event::StartResent);
                        return Step::Start(job);
                    }
                    let until = self.policy.restart_after - waited;
                    next_rule = Some(next_rule.map_or(until, |n| n.min(until)));
                }
            }
            StateClass::Working => {
                if let Some(limit) = self.policy.progress_limit {
                    if still >= limit {
                        return Step::Done(self.gave_up(GiveUpReason::NoProgress {
                            duration: still,
                            pages,
                        }));
                    }
                    next_rule = Some(limit - still);
                }
            }
            StateClass::Ended(_) => {}
        }
        let eta = seen
            .predicted_end
            .map(|end| end.saturating_duration_since(now));
        let mut wait = self.policy.poll.interval(in_state, eta);
        if let Some(until) = next_rule {
            // Look once more right when a rule can act, not a whole interval after.
            wait = wait.min(until).max(Duration::from_millis(1));
        }
        self.ready_at = later(now, wait);
        self.ready_reason = WaitReason::Poll;
        Step::Watch(job)
    }

    /// The first step that fetches an ended job's outputs.
    fn fetch(&self, job: JobId) -> Step {
        match self.version() {
            ApiVersion::DocAi => {
                let extract = match &self.mode {
                    Mode::Run(doc) => {
                        matches!(doc.job(), Job::DocAi(task) if task.fetches_results())
                    }
                    // A watch knows the task from the status.
                    Mode::Watch(_) => self
                        .last_status
                        .as_deref()
                        .and_then(Status::as_doc_ai)
                        .is_some_and(crate::doc_ai::DocAiStatus::is_extract),
                };
                let saved = self.outputs.iter().any(|o| o.name == RESULTS_FILE);
                if extract && !saved {
                    Step::Results(job)
                } else {
                    Step::DownloadUrl(job)
                }
            }
            _ => Step::DownloadUrls(job),
        }
    }

    /// The outcome from the last status, with the outputs downloaded.
    fn finished(&mut self) -> Outcome {
        let Some(status) = self.last_status.as_deref().cloned() else {
            return self.gave_up(GiveUpReason::Refused(Error::Input(InputError::Misuse(
                "a machine ended without a status",
            ))));
        };
        let outputs = std::mem::take(&mut self.outputs);
        match status.state().class() {
            StateClass::Ended(Ending::Completed) => Outcome::Completed { status, outputs },
            StateClass::Ended(Ending::PartiallyCompleted) => {
                Outcome::PartiallyCompleted { status, outputs }
            }
            _ => Outcome::Failed { status },
        }
    }

    fn gave_up(&self, reason: GiveUpReason) -> Outcome {
        Outcome::GaveUp {
            job_id: self.job.clone(),
            reason,
            last_status: self.last_status.clone(),
        }
    }

    fn give_up(&mut self, reason: GiveUpReason) {
        if let Some((budget, ticket)) = &self.budget {
            budget.forget(*ticket);
        }
        self.in_flight = None;
        self.in_flight_download = None;
        self.step = Step::Done(self.gave_up(reason));
    }

    /// Whether `error` to a start sent again says the job had started: the
    /// server refuses a second start of a started job, and a 4xx other than
    /// a bad key, an unknown job or no credits is that refusal.
    fn confirms_resent_start(&self, error: &Error) -> bool {
        matches!(self.start, StartState::Resending { .. })
            && matches!(error, Error::Api(e)
                if e.status.is_client_error()
                    && !matches!(e.status.as_u16(), 401 | 403 | 404 | 429))
    }

    /// The one transition function for failures.
    fn fail(&mut self, now: Instant, error: Error) {
        self.in_flight_download = None;
        let Some(endpoint) = self.step.endpoint() else {
            return;
        };
        if self.confirms_resent_start(&error) {
            self.start = StartState::Settled;
            self.events.push_back(Event::Started);
            return self.watch_next(now);
        }
        if let (Step::Results(job) | Step::DownloadUrl(job), Error::Api(e)) = (&self.step, &error)
            && e.status == http::StatusCode::CONFLICT
        {
            // "Not ended yet": the status said otherwise a moment ago. Look
            // at the job again rather than ask blindly; a server that keeps
            // saying both is given up on after max_retries.
            self.not_yet += 1;
            if self.not_yet > self.policy.retry.max_retries {
                let attempts = self.not_yet;
                return self.give_up(GiveUpReason::RetriesExhausted {
                    attempts,
                    last: error,
                });
            }
            let job = job.clone();
            self.observed = None;
            self.step = Step::Watch(job);
            let wait = self.policy.retry.backoff(self.not_yet, &mut self.rng);
            self.ready_at = self.cut_to_deadline(later(now, wait));
            self.ready_reason = WaitReason::Poll;
            return;
        }
        // A presigned URL refused (expired, most likely): retried by asking
        // the API for a fresh one, within the same budget.
        let refresh = match &error {
            Error::Api(e) if e.peer == Peer::Storage && e.status == http::StatusCode::FORBIDDEN => {
                self.refreshed()
            }
            _ => None,
        };
        let mut decision = if refresh.is_some() {
            Decision::Retry
        } else {
            decide(endpoint, error.retry_class(), error.may_have_taken_effect())
        };
        if decision == Decision::Unconfirmed {
            if !self.policy.retry_unconfirmed {
                return self.give_up(GiveUpReason::SubmitUnconfirmed(error));
            }
            self.events.push_back(Event::SubmitUnconfirmed {
                error: error.clone(),
            });
            decision = Decision::Retry;
        }
        match decision {
            Decision::GiveUp => self.give_up(GiveUpReason::Refused(error)),
            Decision::WatchInstead => {
                self.start = match self.start {
                    StartState::Resending { resends } => {
                        StartState::Unconfirmed { at: now, resends }
                    }
                    _ => StartState::Unconfirmed {
                        at: now,
                        resends: 0,
                    },
                };
                self.events.push_back(Event::StartUnconfirmed { error });
                self.failures = 0;
                self.watch_next(now);
            }
            decision @ (Decision::Retry | Decision::RetryCreate | Decision::Unconfirmed) => {
                self.failures += 1;
                if self.failures > self.policy.retry.max_retries {
                    let attempts = self.failures;
                    return self.give_up(GiveUpReason::RetriesExhausted {
                        attempts,
                        last: error,
                    });
                }
                let mut wait = self.policy.retry.backoff(self.failures, &mut self.rng);
                if let Error::Api(api) = &error
                    && let Some(asked) = api.retry_after
                {
                    let left = self.deadline_at.map(|d| d.saturating_duration_since(now));
                    let allowed = left.map_or(self.policy.max_retry_after, |l| {
                        l.min(self.policy.max_retry_after)
                    });
                    if asked > allowed {
                        return self.give_up(GiveUpReason::RetryAfterTooLong {
                            asked,
                            allowed,
                            error,
                        });
                    }
                    wait = wait.max(asked);
                }
                if decision == Decision::RetryCreate {
                    self.events.push_back(Event::CreateUnconfirmed {
                        error: error.clone(),
                    });
                }
                // A backoff past the deadline waits for the deadline, which ends the machine.
                self.ready_at = self.cut_to_deadline(later(now, wait));
                self.ready_reason = WaitReason::Backoff;
                self.events.push_back(Event::Retrying {
                    endpoint,
                    retry: self.failures,
                    after: wait,
                    error,
                });
                if let Some(step) = refresh {
                    self.step = step;
                }
            }
        }
    }

    /// The step that asks for a fresh presigned URL in place of the one in
    /// use, if the step in flight uses one.
    fn refreshed(&self) -> Option<Step> {
        Some(match &self.step {
            Step::Upload { job, .. } => Step::UploadUrl(job.clone()),
            Step::PutUpload(_) => Step::Presign,
            Step::Download { job, .. } => match self.version() {
                ApiVersion::DocAi => Step::DownloadUrl(job.clone()),
                _ => Step::DownloadUrls(job.clone()),
            },
            _ => return None,
        })
    }

    /// Downloads the outputs of `queue` not fetched yet (a refreshed list
    /// holds those fetched too), or ends when there are none.
    fn fetch_rest(&mut self, job: JobId, mut queue: VecDeque<PendingDownload>) -> Step {
        queue.retain(|p| !self.outputs.iter().any(|o| o.name == p.name));
        if queue.is_empty() {
            Step::Done(self.finished())
        } else {
            Step::Download { job, queue }
        }
    }

    /// Moves to watching the job, a short poll from now.
    fn watch_next(&mut self, now: Instant) {
        let Step::Start(job) = &self.step else {
            return;
        };
        let job = job.clone();
        self.step = Step::Watch(job);
        self.ready_at = later(now, self.policy.poll.min_interval);
        self.ready_reason = WaitReason::Poll;
    }
}

impl Drop for Engine {
    /// A machine dropped while it waits for the budget gives its place up.
    fn drop(&mut self) {
        if let Some((budget, ticket)) = &self.budget {
            budget.forget(*ticket);
        }
    }
}

/// Why no request could be built.
enum Build {
    Input(InputError),
    GiveUp(Box<GiveUpReason>),
}

impl From<InputError> for Build {
    fn from(e: InputError) -> Self {
        Build::Input(e)
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

/// A `/doc-ai/v1` output to fetch: named by its URL's last segment when
/// that is a safe name, else `output.zip`; never `results.json`, which the
/// extraction's inline results take.
fn plan_download(target: DownloadUrl) -> VecDeque<PendingDownload> {
    let last = target
        .url
        .path()
        .rsplit('/')
        .next()
        .map(percent_decode)
        .unwrap_or_default();
    let name = crate::output::safe_output_name(&last)
        .filter(|n| !n.eq_ignore_ascii_case(RESULTS_FILE))
        .unwrap_or_else(|| "output.zip".to_owned());
    let headers = target.headers;
    VecDeque::from([PendingDownload {
        server_name: crate::error::bounded(crate::error::printable(&last), 255),
        name,
        url: target.url,
        announced: None,
        headers,
    }])
}

/// `%XX` sequences decoded (invalid ones kept as they are), for a name.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `Content-Length` the driver put on a file-sink answer.
fn content_length<B>(r: &Response<B>) -> u64 {
    r.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The outputs to fetch, with safe and distinct local names.
fn plan_downloads(answer: DownloadFilesResponse) -> VecDeque<PendingDownload> {
    let mut taken: Vec<String> = Vec::new();
    let mut queue = VecDeque::new();
    for (i, (server_name, url)) in answer.download_urls.into_iter().enumerate() {
        let base = crate::output::safe_output_name(&server_name)
            .unwrap_or_else(|| format!("output-{}.zip", i + 1));
        let mut name = base.clone();
        let mut n = 2;
        while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            name = format!("{n}-{base}");
            n += 1;
        }
        taken.push(name.clone());
        queue.push_back(PendingDownload {
            announced: url.announced_size(),
            name,
            // Kept for the record, but never as a path, and printable.
            server_name: crate::error::bounded(crate::error::printable(&server_name), 255),
            url: url.file_url,
            headers: BTreeMap::new(),
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
                        (_, Endpoint::CreateJob, true) => RetryCreate,
                        (_, Endpoint::Start, true) => WatchInstead,
                        (_, Endpoint::Submit, true) => Unconfirmed,
                        _ => Retry,
                    };
                    assert_eq!(decide(endpoint, class, effect), expected);
                }
            }
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
            .map(|p| (p.name, p.announced))
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
