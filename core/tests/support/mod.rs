//! A simulated-time harness: a scripted server and a driver that jumps the
//! clock to the next deadline instead of sleeping.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use http::Response;
use sarvam_doc_core::doc_ai::{Digitise, Extract, ExtractSource, Schema, Task};
use sarvam_doc_core::journal::Record;
use sarvam_doc_core::model::{FileSignedUrl, JobDetail, JobParameters};
use sarvam_doc_core::{
    Action, Api, ApiKey, Attempt, Body, Config, Event, JobId, Machine, Outcome, Sink, Transmit,
    TransportError, TransportErrorKind,
    api::Endpoint,
    config::ApiVersion,
    model::{
        CreateJobResponse, DownloadFilesResponse, FileState, JobState, JobStatus, PageError,
        StorageContainerType, UploadFilesResponse,
    },
    time::OffsetDateTime,
};

pub const KEY: &str = "sk_harness_secret";
pub const JOB: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

pub fn api() -> Api {
    Api::new(
        Config::builder(ApiKey::new(KEY).unwrap())
            .base_url("http://127.0.0.1:4010")
            .build()
            .unwrap(),
    )
}

pub fn job_id() -> JobId {
    JOB.parse().unwrap()
}

/// The id of the `n`th job created (from 1): the first is [`job_id`].
pub fn job_n(n: u32) -> JobId {
    if n <= 1 {
        job_id()
    } else {
        format!("3fa85f64-5717-4562-b3fc-{n:012x}").parse().unwrap()
    }
}

/// How the scripted job ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Completed,
    Partial,
    Failed,
    /// Never ends: stays Running forever.
    Never,
    /// Reports a state the client does not know, forever.
    UnknownState,
}

/// A job's life on the server, relative to when it was started.
#[derive(Clone, Debug)]
pub struct Script {
    /// Time in `Pending` after the start.
    pub queued: Duration,
    /// Time in `Running`.
    pub running: Duration,
    pub pages: u32,
    pub ending: Ending,
}

impl Script {
    pub fn simple(running: Duration, ending: Ending) -> Self {
        Script {
            queued: Duration::from_millis(500),
            running,
            pages: 3,
            ending,
        }
    }
}

/// What the server does with one request instead of answering normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and error code, with an optional Retry-After.
    /// (A 2xx status answers as the request would, without taking effect:
    /// for a download, a body of the wrong length.)
    Status {
        status: u16,
        code: &'static str,
        retry_after: Option<u64>,
    },
    /// Fail before the request reached the server.
    Connect,
    /// Process the request, then time out before answering.
    TimeoutAfter,
    /// Process the request, then never answer (the transport hangs).
    Hang,
    /// Process the request, then answer 2xx with a body that is not JSON.
    Garbage,
    /// Answer 200 with the status of another job (no effect).
    OtherJob,
    /// Process the request, then answer it only after its timeout has
    /// passed: the machine has given up on the attempt, so the answer is
    /// stale when it comes.
    Late,
    /// Process the request, then the connection breaks before the answer
    /// (a transport error of the kind "other").
    Reset,
    /// Answer as usual: a gap in a list of faults.
    Fine,
}

impl Fault {
    pub fn status(status: u16, code: &'static str) -> Self {
        Fault::Status {
            status,
            code,
            retry_after: None,
        }
    }

    /// Whether the request takes effect on the server despite the fault.
    pub fn takes_effect(&self) -> bool {
        matches!(
            self,
            Fault::TimeoutAfter
                | Fault::Hang
                | Fault::Garbage
                | Fault::Late
                | Fault::Reset
                | Fault::Fine
        )
    }

    /// Whether the client may hold, from what it got back, that the request
    /// surely did not take effect: it could not connect, or the server
    /// refused it with a 4xx or a 503.
    pub fn surely_not_taken(&self) -> bool {
        matches!(self, Fault::Connect)
            || matches!(self, Fault::Status { status, .. } if (400..500).contains(status) || *status == 503)
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub endpoint: Endpoint,
    pub attempt: Attempt,
    pub fault: Option<Fault>,
    pub had_key: bool,
    /// The request's path.
    pub path: String,
}

pub struct Server {
    pub origin: Instant,
    pub script: Script,
    pub faults: HashMap<Endpoint, VecDeque<Fault>>,
    pub log: Vec<Seen>,
    pub latency: Duration,
    pub jobs_created: u32,
    /// Starts that started a job (a start of a started job is refused).
    pub starts: u32,
    /// The jobs that were started, in order.
    pub started_jobs: Vec<JobId>,
    pub uploaded: bool,
    pub started_at: Option<Instant>,
    /// For watch-only tests: the job exists and was started at `origin`.
    pub preexisting: bool,
    /// The end of the last Retry-After the server asked for.
    pub retry_after_until: Option<Instant>,
}

pub enum Answer {
    Response(Response<Vec<u8>>),
    Transport(TransportError),
    Nothing,
    /// This answer, once the request's timeout has passed.
    Late(Response<Vec<u8>>),
}

/// A scripted server that [`drive`] talks to: one for each API.
pub trait Scripted {
    /// Answers `send` at `now` (the answer arrives `latency` later).
    fn answer(&mut self, now: Instant, send: &Transmit) -> Answer;
    /// How long an answer takes to arrive.
    fn latency(&self) -> Duration;
    /// The end of the last Retry-After the server asked for.
    fn retry_after_until(&self) -> Option<Instant>;
}

impl Scripted for Server {
    fn answer(&mut self, now: Instant, send: &Transmit) -> Answer {
        Server::answer(self, now, send)
    }
    fn latency(&self) -> Duration {
        self.latency
    }
    fn retry_after_until(&self) -> Option<Instant> {
        self.retry_after_until
    }
}

impl Server {
    pub fn new(origin: Instant, script: Script) -> Self {
        Server {
            origin,
            script,
            faults: HashMap::new(),
            log: Vec::new(),
            latency: Duration::from_millis(40),
            jobs_created: 0,
            starts: 0,
            started_jobs: Vec::new(),
            uploaded: false,
            started_at: None,
            preexisting: false,
            retry_after_until: None,
        }
    }

    /// A server where the job already exists and was started at `origin`.
    pub fn started(origin: Instant, script: Script) -> Self {
        let mut s = Server::new(origin, script);
        s.preexisting = true;
        s.jobs_created = 1;
        s.uploaded = true;
        s.started_at = Some(origin);
        s.started_jobs.push(job_id());
        s
    }

    /// The job the server knows the client by: the last one created.
    pub fn job(&self) -> JobId {
        job_n(self.jobs_created)
    }

    pub fn fault(&mut self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        self.faults.entry(endpoint).or_default().extend(faults);
    }

    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.log.iter().filter(|s| s.endpoint == endpoint).count()
    }

    /// When the scripted job reaches its terminal state, if it does.
    pub fn ends_at(&self) -> Option<Instant> {
        match self.script.ending {
            Ending::Never | Ending::UnknownState => None,
            _ => Some(self.started_at? + self.script.queued + self.script.running),
        }
    }

    pub fn state_at(&self, now: Instant) -> (JobState, u32) {
        let Some(start) = self.started_at else {
            return (
                if self.uploaded {
                    JobState::Pending
                } else {
                    JobState::Accepted
                },
                0,
            );
        };
        let t = now.saturating_duration_since(start);
        if self.script.ending == Ending::UnknownState {
            return (JobState::from("Thinking"), 0);
        }
        if t < self.script.queued {
            return (JobState::Pending, 0);
        }
        let run = t - self.script.queued;
        if run < self.script.running || self.script.ending == Ending::Never {
            let frac = run.as_secs_f64() / self.script.running.as_secs_f64().max(1e-9);
            let done = ((frac * f64::from(self.script.pages)) as u32)
                .min(self.script.pages.saturating_sub(1));
            return (JobState::Running, done);
        }
        let state = match self.script.ending {
            Ending::Completed => JobState::Completed,
            Ending::Partial => JobState::PartiallyCompleted,
            _ => JobState::Failed,
        };
        (state, self.script.pages)
    }

    pub fn status_at(&self, now: Instant) -> JobStatus {
        let (state, processed) = self.state_at(now);
        let failed_pages = match (&state, self.script.ending) {
            (JobState::PartiallyCompleted, _) => 1,
            (JobState::Failed, _) => processed,
            _ => 0,
        };
        let ts = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        JobStatus {
            job_id: self.job(),
            job_state: state.clone(),
            created_at: ts,
            updated_at: ts,
            storage_container_type: StorageContainerType::Azure,
            total_files: 1,
            successful_files_count: u32::from(state == JobState::Completed),
            failed_files_count: u32::from(state == JobState::Failed),
            error_message: if state == JobState::Failed {
                "every page failed".into()
            } else {
                String::new()
            },
            job_details: vec![JobDetail {
                inputs: vec![],
                outputs: vec![],
                state: FileState::Running,
                total_pages: self.script.pages,
                pages_processed: processed,
                pages_succeeded: processed - failed_pages,
                pages_failed: failed_pages,
                error_message: String::new(),
                error_code: None,
                page_errors: (0..failed_pages)
                    .map(|i| PageError {
                        page_number: i + 1,
                        error_code: "ocr_failed".into(),
                        error_message: "unreadable".into(),
                    })
                    .collect(),
            }],
        }
    }

    /// Answers `send` at `now` (the answer arrives `latency` later).
    pub fn answer(&mut self, now: Instant, send: &Transmit) -> Answer {
        let (endpoint, fault) = take_fault(&mut self.faults, &mut self.log, now, send);
        match &fault {
            Some(Fault::Connect) => {
                return Answer::Transport(TransportError::new(
                    TransportErrorKind::Connect,
                    "refused",
                ));
            }
            Some(Fault::Status {
                status,
                code,
                retry_after,
            }) => {
                let mut r = Response::builder()
                    .status(*status)
                    .header("x-request-id", "req-1");
                if let Some(secs) = retry_after {
                    r = r.header("retry-after", secs.to_string());
                    self.retry_after_until = Some(now + Duration::from_secs(*secs));
                }
                let body = format!(r#"{{"error":{{"message":"injected","code":"{code}"}}}}"#);
                return Answer::Response(r.body(body.into_bytes()).unwrap());
            }
            Some(Fault::OtherJob) => {
                let mut other = self.status_at(now);
                other.job_id = job_n(999);
                let body = serde_json::to_vec(&other).unwrap();
                return Answer::Response(Response::builder().status(200).body(body).unwrap());
            }
            _ => {}
        }
        // The request takes effect.
        let (status, body) = self.effect(now, endpoint, send);
        after_effect(fault.as_ref(), status, body, |status, body| {
            Response::builder().status(status).body(body).unwrap()
        })
    }

    fn effect(&mut self, now: Instant, endpoint: Endpoint, send: &Transmit) -> (u16, Vec<u8>) {
        let json = |v: &dyn erased::Ser| v.to_vec();
        match endpoint {
            Endpoint::CreateJob => {
                self.jobs_created += 1;
                // A new job: an earlier one is an orphan, never uploaded to or started.
                self.uploaded = false;
                let body = CreateJobResponse {
                    job_id: self.job(),
                    storage_container_type: StorageContainerType::Azure,
                    job_parameters: JobParameters::default(),
                    job_state: JobState::Accepted,
                };
                (202, json(&body))
            }
            Endpoint::UploadFiles => {
                let mut urls = BTreeMap::new();
                urls.insert(
                    "doc.pdf".to_owned(),
                    FileSignedUrl {
                        file_url: "http://127.0.0.1:4011/upload/doc.pdf?sig=x"
                            .parse()
                            .unwrap(),
                        file_metadata: None,
                    },
                );
                let body = UploadFilesResponse {
                    job_id: self.job(),
                    job_state: JobState::Accepted,
                    upload_urls: urls,
                    storage_container_type: StorageContainerType::Azure,
                };
                (200, json(&body))
            }
            Endpoint::StorageUpload => {
                assert!(matches!(send.request.body(), Body::File { .. }));
                self.uploaded = true;
                (201, Vec::new())
            }
            Endpoint::Start => {
                if self.started_at.is_some() {
                    // As the API: a started job cannot be started again.
                    let body = br#"{"error":{"message":"The job has already started","code":"invalid_request_error"}}"#;
                    return (400, body.to_vec());
                }
                if !self.uploaded {
                    let body = br#"{"error":{"message":"Upload the file first","code":"invalid_request_error"}}"#;
                    return (400, body.to_vec());
                }
                self.starts += 1;
                self.started_at = Some(now);
                self.started_jobs.push(self.job());
                (202, json(&self.status_at(now)))
            }
            Endpoint::Status => (200, json(&self.status_at(now))),
            Endpoint::DownloadFiles => {
                let mut urls = BTreeMap::new();
                urls.insert(
                    "doc_output.zip".to_owned(),
                    FileSignedUrl {
                        file_url: "http://127.0.0.1:4011/download/doc_output.zip?sig=y"
                            .parse()
                            .unwrap(),
                        file_metadata: None,
                    },
                );
                let body = DownloadFilesResponse {
                    job_id: self.job(),
                    job_state: self.state_at(now).0,
                    storage_container_type: StorageContainerType::Azure,
                    download_urls: urls,
                    error_code: None,
                    error_message: None,
                };
                (200, json(&body))
            }
            Endpoint::StorageDownload => {
                assert!(matches!(send.sink, Sink::File { .. }));
                // What a driver hands back for a saved download: the length written.
                (200, Vec::new())
            }
            _ => (500, Vec::new()),
        }
    }
}

mod erased {
    pub trait Ser {
        fn to_vec(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_vec(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap()
        }
    }
}

/// The API of a `/doc-ai/v1` client of the scripted server.
pub fn doc_ai_api() -> Api {
    Api::new(
        Config::builder(ApiKey::new(KEY).unwrap())
            .base_url("http://127.0.0.1:4010")
            .api_version(ApiVersion::DocAi)
            .build()
            .unwrap(),
    )
}

/// The id of the `n`th `/doc-ai/v1` job submitted (from 1).
pub fn doc_ai_job(n: u32) -> JobId {
    format!("20261130_{n:08x}-e2c3-490d-afe5-d2e7e9e2b6c7")
        .parse()
        .unwrap()
}

/// An extraction task with a one-field schema.
pub fn extract_task() -> Task {
    let schema = Schema::parse(
        r#"{"type":"object","properties":{"total":{"type":"number","description":"Total"}}}"#,
    )
    .unwrap();
    Task::Extract(Extract::new(ExtractSource::Schema(schema)))
}

/// A digitisation task.
pub fn digitise_task() -> Task {
    Task::Digitise(Digitise::default())
}

/// A scripted `/doc-ai/v1` server and its storage: presign, PUT, submit
/// (which makes and starts a job), status, results, download-url, GET. It
/// speaks the same [`Fault`]s as [`Server`]; a storage 403 is an expired
/// presigned URL.
pub struct DocAiServer {
    pub script: Script,
    pub faults: HashMap<Endpoint, VecDeque<Fault>>,
    pub log: Vec<Seen>,
    pub latency: Duration,
    /// Upload URLs handed out.
    pub presigned: u32,
    /// Whether a file reached storage.
    pub uploaded: bool,
    /// Submits that made (and started) a job: each may be paid for.
    pub submits: u32,
    pub started_at: Option<Instant>,
    pub retry_after_until: Option<Instant>,
}

impl DocAiServer {
    pub fn new(script: Script) -> Self {
        DocAiServer {
            script,
            faults: HashMap::new(),
            log: Vec::new(),
            latency: Duration::from_millis(40),
            presigned: 0,
            uploaded: false,
            submits: 0,
            started_at: None,
            retry_after_until: None,
        }
    }

    pub fn fault(&mut self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        self.faults.entry(endpoint).or_default().extend(faults);
    }

    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.log.iter().filter(|s| s.endpoint == endpoint).count()
    }

    /// The job the server knows: the last one submitted.
    pub fn job(&self) -> JobId {
        doc_ai_job(self.submits)
    }

    /// The job's state, as the legacy server's script says, in doc-ai words.
    fn state_at(&self, now: Instant) -> (&'static str, u32) {
        let Some(start) = self.started_at else {
            return ("pending", 0);
        };
        let t = now.saturating_duration_since(start);
        if self.script.ending == Ending::UnknownState {
            return ("thinking", 0);
        }
        if t < self.script.queued {
            return ("pending", 0);
        }
        let run = t - self.script.queued;
        if run < self.script.running || self.script.ending == Ending::Never {
            let frac = run.as_secs_f64() / self.script.running.as_secs_f64().max(1e-9);
            let done = ((frac * f64::from(self.script.pages)) as u32)
                .min(self.script.pages.saturating_sub(1));
            return ("running", done);
        }
        let state = match self.script.ending {
            Ending::Completed => "completed",
            Ending::Partial => "partially_completed",
            _ => "failed",
        };
        (state, self.script.pages)
    }

    fn ended(&self, now: Instant) -> bool {
        matches!(
            self.state_at(now).0,
            "completed" | "partially_completed" | "failed"
        )
    }

    fn status_json(&self, job: &JobId, now: Instant) -> Vec<u8> {
        let (state, processed) = self.state_at(now);
        let failed = match state {
            "partially_completed" => 1,
            "failed" => processed,
            _ => 0,
        };
        serde_json::to_vec(&serde_json::json!({
            "job_id": job.as_str(), "status": state, "pipeline": "extract",
            "usage": {"pages_total": self.script.pages, "pages_processed": processed,
                      "pages_succeeded": processed - failed, "pages_failed": failed},
            "created_at": "2026-11-30T10:00:00Z", "updated_at": "2026-11-30T10:00:01Z",
        }))
        .unwrap()
    }

    fn problem(status: u16, title: &str) -> (u16, Vec<u8>) {
        let body = serde_json::json!({"type": "about:blank", "title": title, "status": status, "detail": "scripted"});
        (status, serde_json::to_vec(&body).unwrap())
    }

    /// What the request does when it takes effect.
    fn effect(&mut self, now: Instant, endpoint: Endpoint, send: &Transmit) -> (u16, Vec<u8>) {
        let json = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();
        match endpoint {
            Endpoint::Presign => {
                self.presigned += 1;
                let n = self.presigned;
                (
                    201,
                    json(serde_json::json!({
                    "upload_id": format!("upl_{n}"), "method": "PUT",
                    "url": format!("http://127.0.0.1:4011/up/{n}?sig={n}"),
                    "headers": {"x-ms-blob-type": "BlockBlob"},
                    "expires_at": "2026-11-30T10:15:00Z"})),
                )
            }
            Endpoint::StorageUpload => {
                assert!(matches!(send.request.body(), Body::File { .. }));
                self.uploaded = true;
                (201, Vec::new())
            }
            Endpoint::Submit => {
                if !self.uploaded {
                    return Self::problem(400, "Upload the file first");
                }
                self.submits += 1;
                self.started_at = Some(now);
                (
                    201,
                    json(serde_json::json!({
                    "job_id": self.job().as_str(), "status": "pending",
                    "run_id": format!("run_{}", self.submits)})),
                )
            }
            Endpoint::Status => (200, self.status_json(&self.job(), now)),
            Endpoint::Results | Endpoint::DownloadUrl if !self.ended(now) => {
                Self::problem(409, "Conflict")
            }
            Endpoint::Results => (
                200,
                json(serde_json::json!({
                "type": "extract", "job_id": self.job().as_str(), "status": "completed",
                "result": {"total": 5}, "annotations": {}, "version": 1})),
            ),
            Endpoint::DownloadUrl => (
                200,
                json(serde_json::json!({
                "method": "GET", "url": "http://127.0.0.1:4011/out/output.zip?sig=d",
                "headers": {}, "expires_at": "2026-11-30T11:00:00Z"})),
            ),
            Endpoint::StorageDownload => {
                assert!(matches!(send.sink, Sink::File { .. }));
                (200, Vec::new())
            }
            _ => (500, Vec::new()),
        }
    }
}

impl Scripted for DocAiServer {
    fn answer(&mut self, now: Instant, send: &Transmit) -> Answer {
        let (endpoint, fault) = take_fault(&mut self.faults, &mut self.log, now, send);
        let respond = |status: u16, body: Vec<u8>| {
            let mut r = Response::builder().status(status);
            if matches!(send.sink, Sink::File { .. }) && (200..300).contains(&status) {
                r = r.header("content-length", "10");
            }
            r.body(body).unwrap()
        };
        match &fault {
            Some(Fault::Connect) => {
                return Answer::Transport(TransportError::new(
                    TransportErrorKind::Connect,
                    "refused",
                ));
            }
            Some(Fault::Status {
                status,
                code,
                retry_after,
            }) => {
                let mut r = Response::builder()
                    .status(*status)
                    .header("x-request-id", "req-1");
                if let Some(secs) = retry_after {
                    r = r.header("retry-after", secs.to_string());
                    self.retry_after_until = Some(now + Duration::from_secs(*secs));
                }
                let (_, body) = Self::problem(*status, code);
                return Answer::Response(r.body(body).unwrap());
            }
            Some(Fault::OtherJob) => {
                let body = self.status_json(&doc_ai_job(999), now);
                return Answer::Response(respond(200, body));
            }
            _ => {}
        }
        let (status, body) = self.effect(now, endpoint, send);
        after_effect(fault.as_ref(), status, body, respond)
    }
    fn latency(&self) -> Duration {
        self.latency
    }
    fn retry_after_until(&self) -> Option<Instant> {
        self.retry_after_until
    }
}

/// What a drive did.
#[derive(Debug)]
pub struct Trace {
    pub outcome: Outcome,
    pub done_at: Instant,
    /// Each action: the endpoint sent, or the wait.
    pub actions: Vec<Step>,
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Send(Endpoint),
    Wait(Duration),
}

impl Trace {
    pub fn sends(&self) -> Vec<Endpoint> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Step::Send(e) => Some(*e),
                Step::Wait(_) => None,
            })
            .collect()
    }
}

/// Drives `machine` against `server` from `start`, jumping the clock, until
/// Done or `max_actions`. Checks on the way: every Wait is in the future,
/// nothing goes to the server before a Retry-After it asked for ends, the
/// key goes to the API only, and answers that come late (after their
/// request timed out, or after Done) change nothing that was decided.
pub fn drive<M: Machine>(
    machine: &mut M,
    server: &mut impl Scripted,
    start: Instant,
    max_actions: usize,
) -> Trace {
    match drive_until(machine, server, start, max_actions, None) {
        Drove::Done(trace) => trace,
        Drove::Cut(_) => unreachable!("drive_until cuts only when asked"),
    }
}

/// Where to cut a drive: at action `at` (counting every action but Done,
/// from 0). If that action is a request and `sent`, the server gets it (it
/// takes effect, as its faults say) and its answer is lost; else the
/// process stops before acting on it.
#[derive(Clone, Copy, Debug)]
pub struct CutAt {
    pub at: usize,
    pub sent: bool,
}

/// What a cut drive leaves: the time, and what the driver saw.
#[derive(Debug)]
pub struct Stopped {
    pub at: Instant,
    pub events: Vec<Event>,
    pub actions: Vec<Step>,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // One per test drive: its size does not matter.
pub enum Drove {
    Done(Trace),
    Cut(Stopped),
}

/// As [`drive`], cut where `cut` says, if the machine gets that far.
pub fn drive_until<M: Machine>(
    machine: &mut M,
    server: &mut impl Scripted,
    start: Instant,
    max_actions: usize,
    cut: Option<CutAt>,
) -> Drove {
    let mut now = start;
    let mut actions = Vec::new();
    let mut events = Vec::new();
    // Answers on their way that the machine no longer waits for.
    let mut late: Vec<(Instant, Attempt, Response<Vec<u8>>)> = Vec::new();
    for n in 0..max_actions {
        late.sort_by_key(|(at, _, _)| *at);
        while late.first().is_some_and(|(at, _, _)| *at <= now) {
            let (_, attempt, response) = late.remove(0);
            machine.handle_response(now, attempt, response);
        }
        let action = machine.poll(now);
        if let Some(c) = cut.filter(|c| c.at == n) {
            if let Action::Transmit(send) = &action
                && c.sent
            {
                actions.push(Step::Send(send.endpoint().unwrap()));
                let _lost = server.answer(now, send);
                now += server.latency();
            }
            if !matches!(action, Action::Done(_)) {
                return Drove::Cut(Stopped {
                    at: now,
                    events,
                    actions,
                });
            }
        }
        match action {
            Action::Event(e) => events.push(e),
            Action::Transmit(send) => {
                if let Some(until) = server.retry_after_until() {
                    assert!(
                        now >= until,
                        "sent {:?} before Retry-After ended",
                        send.request.uri()
                    );
                }
                let endpoint = *send.request.extensions().get::<Endpoint>().unwrap();
                if endpoint.is_api() {
                    assert!(send.request.headers().contains_key("api-subscription-key"));
                } else {
                    assert!(!send.request.headers().contains_key("api-subscription-key"));
                }
                assert!(
                    send.timeout > Duration::ZERO,
                    "a request with no time to run"
                );
                actions.push(Step::Send(endpoint));
                let answer = server.answer(now, &send);
                let sent_at = now;
                now += server.latency();
                match answer {
                    Answer::Response(r) => hand(machine, now, &send, r),
                    Answer::Transport(e) => machine.handle_transport_error(now, send.attempt, e),
                    Answer::Nothing => {}
                    Answer::Late(r) => {
                        late.push((sent_at + send.timeout + server.latency(), send.attempt, r))
                    }
                }
            }
            Action::Wait { until, .. } => {
                assert!(until > now, "a Wait that is not in the future");
                actions.push(Step::Wait(until - now));
                now = until;
            }
            Action::Done(outcome) => {
                // What was still on its way arrives, to a machine that has ended.
                for (at, attempt, response) in late {
                    machine.handle_response(at.max(now), attempt, response);
                }
                let again = machine.poll(now + Duration::from_secs(3600));
                assert!(
                    matches!(&again, Action::Done(o) if *o == outcome),
                    "Done changed after late answers: {outcome} then {again:?}"
                );
                return Drove::Done(Trace {
                    outcome,
                    done_at: now,
                    actions,
                    events,
                });
            }
        }
    }
    panic!("the machine did not finish within {max_actions} actions");
}

/// The next scripted fault for `send`'s endpoint, with the request logged.
fn take_fault(
    faults: &mut HashMap<Endpoint, VecDeque<Fault>>,
    log: &mut Vec<Seen>,
    now: Instant,
    send: &Transmit,
) -> (Endpoint, Option<Fault>) {
    let endpoint = *send.request.extensions().get::<Endpoint>().unwrap();
    let fault = faults.get_mut(&endpoint).and_then(VecDeque::pop_front);
    log.push(Seen {
        at: now,
        endpoint,
        attempt: send.attempt,
        fault: fault.clone(),
        had_key: send.request.headers().contains_key("api-subscription-key"),
        path: send.request.uri().path().to_owned(),
    });
    (endpoint, fault)
}

/// What reaches the client of a request that took effect (`status`,
/// `body`), under `fault`; `respond` builds the answer as the server would.
fn after_effect(
    fault: Option<&Fault>,
    status: u16,
    body: Vec<u8>,
    respond: impl Fn(u16, Vec<u8>) -> Response<Vec<u8>>,
) -> Answer {
    match fault {
        Some(Fault::TimeoutAfter) => Answer::Transport(TransportError::new(
            TransportErrorKind::TimedOut,
            "timed out",
        )),
        Some(Fault::Hang) => Answer::Nothing,
        Some(Fault::Reset) => Answer::Transport(TransportError::new(
            TransportErrorKind::Other,
            "connection reset",
        )),
        Some(Fault::Late) => Answer::Late(respond(status, body)),
        Some(Fault::Garbage) => Answer::Response(respond(status, b"<html>oops".to_vec())),
        _ => Answer::Response(respond(status, body)),
    }
}

/// A strategy for a job's script: how long it queues and runs, its pages,
/// and how it ends.
pub fn script_strategy() -> impl proptest::strategy::Strategy<Value = Script> {
    use proptest::strategy::Strategy;
    (0u64..30, 0u64..900, 1u32..12, 0..5usize).prop_map(|(q, r, pages, e)| Script {
        queued: Duration::from_secs(q),
        running: Duration::from_millis(r * 700),
        pages,
        ending: [
            Ending::Completed,
            Ending::Partial,
            Ending::Failed,
            Ending::Never,
            Ending::UnknownState,
        ][e],
    })
}

/// Hands `r`, the answer to `send`, to `machine` as a driver would: a 2xx
/// answer to a file-sink request as the bytes saved (its body's length).
pub fn hand<M: Machine>(machine: &mut M, now: Instant, send: &Transmit, r: Response<Vec<u8>>) {
    if matches!(send.sink, Sink::File { .. }) && r.status().is_success() {
        let len = u64::try_from(r.body().len()).unwrap();
        machine.handle_saved(now, send.attempt, len);
    } else {
        machine.handle_response(now, send.attempt, r);
    }
}

/// The journal records the driver writes for `events`, in order, for the
/// input at `path` (as the driver's `record_of` does: a create announced,
/// a start or submit announced, the job created, uploaded, started, ended).
pub fn journal_records(events: &[Event], path: &str) -> Vec<Record> {
    let mut job: Option<JobId> = None;
    let mut records = Vec::new();
    let path = || path.to_owned();
    for event in events {
        let record = match event {
            Event::Sending {
                endpoint: Endpoint::CreateJob,
            } => Record::Creating { path: path() },
            Event::Sending { .. } => Record::Starting {
                path: path(),
                job_id: job.clone(),
            },
            Event::CreateUnconfirmed { .. } => Record::CreateLost { path: path() },
            Event::JobCreated(id) => {
                job = Some(id.clone());
                Record::Created {
                    path: path(),
                    job_id: id.clone(),
                }
            }
            Event::Uploaded { .. } if job.is_some() => Record::Uploaded {
                path: path(),
                job_id: job.clone().unwrap(),
            },
            Event::Started if job.is_some() => Record::Started {
                path: path(),
                job_id: job.clone().unwrap(),
            },
            Event::StateChanged { to, .. } if to.is_terminal() && job.is_some() => Record::Ended {
                path: path(),
                job_id: job.clone().unwrap(),
                state: to.clone(),
            },
            _ => continue,
        };
        records.push(record);
    }
    records
}

/// The origin of simulated time: the one real clock read, since `Instant`
/// cannot be made any other way. Everything after it is arithmetic.
#[allow(clippy::disallowed_methods)]
pub fn origin() -> Instant {
    Instant::now()
}
