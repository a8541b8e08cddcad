//! What the fuzz targets share: turning fuzz bytes into HTTP answers, and a
//! checked driver for the state machines.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use sarvam_doc_core::http::Response;
use sarvam_doc_core::{Action, Api, ApiKey, Attempt, Config, Machine, Outcome, Policy, Sink, TransportError, TransportErrorKind, config::ApiVersion, api::Endpoint, model::JobState};
use serde_json::json;

/// The job every answer is about (or, when the fuzzer says so, another).
pub const JOB: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const OTHER_JOB: &str = "00000000-0000-4000-8000-000000000001";

/// An `Api` of the job API on loopback with a fixed key.
pub fn api() -> Api {
    api_of(ApiVersion::Legacy)
}

/// An `Api` of `/doc-ai/v1` on loopback with a fixed key.
pub fn doc_ai_api() -> Api {
    api_of(ApiVersion::DocAi)
}

fn api_of(version: ApiVersion) -> Api {
    let key = ApiKey::new("fuzz-key").unwrap_or_else(|_| unreachable!());
    let config = Config::builder(key)
        .base_url("http://127.0.0.1:4010")
        .api_version(version)
        .max_json_body(64 * 1024)
        .build()
        .unwrap_or_else(|_| unreachable!());
    Api::new(config)
}

/// Which machine [`check`] drives, and so which promises it checks on top
/// of every machine's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// A watch of one job.
    Watch,
    /// A job API run: no create once a job is created, no start once the
    /// job is seen started.
    Run,
    /// A `/doc-ai/v1` run: no second submit after one that may have taken
    /// effect (the fuzzed policy never allows paying twice).
    DocAiRun,
}

/// A response from raw fuzz bytes: two bytes of status (folded into
/// 100..=599), one byte choosing headers, the rest the body.
pub fn raw_response(data: &[u8]) -> Response<Vec<u8>> {
    let (status, flags, body) = match data {
        [a, b, f, rest @ ..] => (u16::from_be_bytes([*a, *b]) % 500 + 100, *f, rest),
        _ => (200, 0, data),
    };
    let mut builder = Response::builder().status(status);
    if flags & 1 != 0 {
        builder = builder.header("x-request-id", "20261129_fuzz");
    }
    if flags & 2 != 0 {
        builder = builder.header("retry-after", u64::from(flags >> 2).to_string());
    }
    if flags & 4 != 0 {
        builder = builder
            .header("retry-after", "Sun, 29 Nov 2026 10:00:30 GMT")
            .header("date", "Sun, 29 Nov 2026 10:00:00 GMT");
    }
    builder.body(body.to_vec()).unwrap_or_default()
}

/// What the fuzzer does next to a machine.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// Let time pass (in units of 50 ms).
    Advance(u16),
    /// Poll the machine.
    Poll,
    /// Answer the request in flight (or an older one, if `stale`).
    Answer {
        status: Status,
        body: BodyKind,
        retry_after: Option<u8>,
        stale: bool,
    },
    /// Fail the request in flight.
    Fail { kind: u8, stale: bool },
    /// Report that the body of the request in flight passed its bound.
    TooLarge { received: u32, stale: bool },
}

/// A status code, mostly plausible.
#[derive(Arbitrary, Debug)]
pub enum Status {
    Ok,
    Accepted,
    Created,
    Code(u16),
}

impl Status {
    fn code(&self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::Accepted => 202,
            Status::Created => 201,
            Status::Code(c) => c % 500 + 100,
        }
    }
}

/// The body of an answer.
#[derive(Arbitrary, Debug)]
pub enum BodyKind {
    /// The right shape for the endpoint, with these values.
    Fitting {
        state: u8,
        processed: u8,
        total: u8,
        failed: u8,
        other_job: bool,
        name: u8,
    },
    /// An error body with this code.
    Error { code: u8 },
    /// Anything.
    Raw(Vec<u8>),
}

const STATES: [&str; 7] = [
    "Accepted",
    "Pending",
    "Running",
    "Completed",
    "PartiallyCompleted",
    "Failed",
    "Mystery",
];
const CODES: [&str; 7] = [
    "rate_limit_exceeded_error",
    "insufficient_quota_error",
    "high_load_error",
    "internal_server_error",
    "invalid_request_error",
    "not_found_error",
    "brand_new_error",
];
const NAMES: [&str; 5] = ["doc.pdf", "../../etc/passwd", "", "a/b.zip", "..."];

fn body(checked: Checked, endpoint: Endpoint, kind: &BodyKind) -> Vec<u8> {
    if checked == Checked::DocAiRun {
        return doc_ai_body(endpoint, kind);
    }
    match kind {
        BodyKind::Raw(bytes) => bytes.clone(),
        BodyKind::Error { code } => {
            json!({"error": {"message": "fuzz", "code": CODES[*code as usize % CODES.len()]}})
                .to_string()
                .into_bytes()
        }
        BodyKind::Fitting {
            state,
            processed,
            total,
            failed,
            other_job,
            name,
        } => {
            let job = if *other_job { OTHER_JOB } else { JOB };
            let state = STATES[*state as usize % STATES.len()];
            let name = NAMES[*name as usize % NAMES.len()];
            let value = match endpoint {
                Endpoint::CreateJob => json!({"job_id": job, "storage_container_type": "Azure",
                    "job_parameters": {"language": "hi-IN", "output_format": "md"}, "job_state": "Accepted"}),
                Endpoint::UploadFiles => {
                    json!({"job_id": job, "job_state": "Accepted", "storage_container_type": "Azure",
                    "upload_urls": {name: {"file_url": "http://127.0.0.1:4011/u?sig=1"}}})
                }
                Endpoint::DownloadFiles => {
                    json!({"job_id": job, "job_state": state, "storage_container_type": "Azure",
                    "download_urls": {name: {"file_url": "http://127.0.0.1:4011/d?sig=1", "file_metadata": {"fileSize": total}}}})
                }
                _ => {
                    json!({"job_id": job, "job_state": state, "created_at": "2026-11-29T10:00:00Z",
                    "updated_at": "2026-11-29T10:00:01Z", "storage_container_type": "Azure",
                    "job_details": [{"inputs": [], "outputs": [], "state": "Running", "total_pages": total,
                        "pages_processed": processed, "pages_failed": failed,
                        "page_errors": [{"page_number": 1, "error_code": "x", "error_message": "y"}]}]})
                }
            };
            value.to_string().into_bytes()
        }
    }
}

/// The `/doc-ai/v1` states the fuzzer picks from.
const DOC_AI_STATES: [&str; 8] = [
    "pending",
    "running",
    "completed",
    "partially_completed",
    "failed",
    "rejected",
    "accepted",
    "mystery",
];

/// The body of a `/doc-ai/v1` answer: its documented shape, a problem, or
/// anything.
fn doc_ai_body(endpoint: Endpoint, kind: &BodyKind) -> Vec<u8> {
    match kind {
        BodyKind::Raw(bytes) => bytes.clone(),
        BodyKind::Error { code } => json!({"type": "about:blank", "title": "fuzz",
            "status": 400 + u16::from(*code), "detail": CODES[*code as usize % CODES.len()]})
        .to_string()
        .into_bytes(),
        BodyKind::Fitting {
            state,
            processed,
            total,
            failed,
            other_job,
            name,
        } => {
            let job = if *other_job { OTHER_JOB } else { DOC_AI_JOB };
            let state = DOC_AI_STATES[*state as usize % DOC_AI_STATES.len()];
            let name = NAMES[*name as usize % NAMES.len()];
            let value = match endpoint {
                Endpoint::Presign => json!({"upload_id": "upl_1", "method": "PUT",
                    "url": format!("http://127.0.0.1:4011/up/{name}?sig=1"),
                    "headers": {"x-ms-blob-type": "BlockBlob"}, "expires_at": "2026-11-30T10:15:00Z"}),
                Endpoint::Submit => json!({"job_id": job, "status": state, "run_id": "run_1"}),
                Endpoint::DownloadUrl => json!({"method": "GET",
                    "url": format!("http://127.0.0.1:4011/d/{name}?sig=1"),
                    "headers": {"x-ms-version": "2021-08-06"}, "expires_at": ""}),
                Endpoint::Results => json!({"type": "extract", "job_id": job,
                    "status": state, "result": {"total": total}}),
                _ => json!({"job_id": job, "status": state, "pipeline": "extract",
                    "usage": {"pages_total": total, "pages_processed": processed, "pages_failed": failed},
                    "created_at": "2026-11-30T10:00:00Z", "updated_at": "2026-11-30T10:00:01Z"}),
            };
            value.to_string().into_bytes()
        }
    }
}

/// The `/doc-ai/v1` job every fitting answer is about (unless another).
pub const DOC_AI_JOB: &str = "20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7";

/// Whether an answer the machine takes says the job has started: a status
/// about its own job, 2xx, in a state only a started job reaches.
fn says_started(status: u16, kind: &BodyKind) -> bool {
    matches!(kind, BodyKind::Fitting { state, other_job: false, .. }
        if matches!(STATES[*state as usize % STATES.len()], "Running" | "Completed" | "PartiallyCompleted" | "Failed"))
        && (200..300).contains(&status)
}

/// Whether a create answer hands the machine its job.
fn creates_job(status: u16, kind: &BodyKind) -> bool {
    matches!(
        kind,
        BodyKind::Fitting {
            other_job: false,
            ..
        }
    ) && (200..300).contains(&status)
}

/// The policy the machines are fuzzed with: short, so deadlines are reached.
pub fn policy() -> Policy {
    Policy::default()
        .with_deadline(Some(Duration::from_secs(600)))
        .with_request_timeout(Duration::from_secs(30))
        .with_stall_limit(Some(Duration::from_secs(120)))
        .with_restart_after(Duration::from_secs(20))
}

/// Drives `machine` through `ops`, asserting the promises every machine
/// keeps, and those of the kind of machine it is (see [`Checked`]).
pub fn check<M: Machine>(machine: &mut M, start: Instant, ops: &[Op], checked: Checked) {
    let is_run = checked == Checked::Run;
    let policy = policy();
    let deadline = start + policy.deadline.unwrap_or_default();
    let mut now = start;
    // Each request sent: its attempt, endpoint, and whether its body goes
    // to a file (only such a body can pass its bound: `handle_too_large`).
    let mut in_flight: Option<(Attempt, Endpoint, bool)> = None;
    // When the request in flight runs out of time: an answer at or after it
    // is one the machine has already given up on (it timed the request
    // out), so it creates or starts nothing, whatever it says.
    let mut in_flight_until = start;
    let mut past: Vec<(Attempt, Endpoint, bool)> = Vec::new();
    let mut done: Option<Outcome> = None;
    let mut created = false;
    let mut started = false;
    // The last submit sent, and whether it surely did not take effect (the
    // machine heard, in time, a 4xx or 503, or that it could not connect).
    let mut submit: Option<(Attempt, bool)> = None;
    for op in ops {
        match op {
            Op::Advance(units) => now += Duration::from_millis(u64::from(*units) * 50),
            Op::Poll => match machine.poll(now) {
                Action::Event(_) => assert!(done.is_none(), "an event after Done"),
                Action::Transmit(send) => {
                    assert!(done.is_none(), "sent after Done");
                    assert!(now < deadline, "sent at or after the deadline");
                    let endpoint = send
                        .request
                        .extensions()
                        .get::<Endpoint>()
                        .copied()
                        .unwrap_or(Endpoint::Status);
                    assert_eq!(
                        send.request.headers().contains_key("api-subscription-key"),
                        endpoint.is_api(),
                        "the key goes to the API only"
                    );
                    assert!(
                        now + send.timeout <= deadline,
                        "a request given time past the deadline"
                    );
                    if endpoint == Endpoint::CreateJob {
                        assert!(!created, "a create after the job was created");
                    }
                    if endpoint == Endpoint::Start {
                        assert!(!started, "a start sent to a job seen started");
                    }
                    if endpoint == Endpoint::Submit {
                        if let Some((_, surely_not)) = submit {
                            assert!(
                                surely_not,
                                "a second submit after one that may have taken effect"
                            );
                        }
                        submit = Some((send.attempt, false));
                    }
                    in_flight_until = now + send.timeout;
                    let to_file = matches!(send.sink, Sink::File { .. });
                    if let Some(old) = in_flight.replace((send.attempt, endpoint, to_file)) {
                        past.push(old);
                    }
                }
                Action::Wait { until, .. } => {
                    assert!(until > now, "a Wait that is not in the future");
                    assert!(done.is_none(), "waited after Done");
                }
                Action::Done(outcome) => {
                    if let Some(previous) = &done {
                        assert_eq!(previous, &outcome, "Done changed");
                    }
                    if let Outcome::Completed { status, .. } = &outcome {
                        assert_eq!(
                            status.state(),
                            JobState::Completed,
                            "success without Completed"
                        );
                    }
                    if let Outcome::PartiallyCompleted { status, .. } = &outcome {
                        assert_eq!(status.state(), JobState::PartiallyCompleted);
                    }
                    done = Some(outcome);
                }
            },
            Op::Answer {
                status,
                body: kind,
                retry_after,
                stale,
            } => {
                let Some((attempt, endpoint, _)) = pick(&mut in_flight, &mut past, *stale) else {
                    continue;
                };
                let code = status.code();
                let mut builder = Response::builder().status(code);
                if let Some(secs) = retry_after {
                    builder = builder.header("retry-after", secs.to_string());
                }
                let response = builder
                    .body(body(checked, endpoint, kind))
                    .unwrap_or_default();
                if !*stale && now < in_flight_until && ((400..500).contains(&code) || code == 503) {
                    refused(&mut submit, attempt);
                }
                if is_run && !*stale && now < in_flight_until {
                    if endpoint == Endpoint::CreateJob && creates_job(code, kind) {
                        created = true;
                    }
                    if matches!(endpoint, Endpoint::Start | Endpoint::Status)
                        && says_started(code, kind)
                    {
                        started = true;
                    }
                }
                if endpoint == Endpoint::StorageDownload && response.status().is_success()
                {
                    // A driver saves a file-sink body and says how long it was.
                    let len = u64::try_from(response.body().len()).unwrap_or(u64::MAX);
                    machine.handle_saved(now, attempt, len);
                } else {
                    machine.handle_response(now, attempt, response);
                }
            }
            Op::Fail { kind, stale } => {
                let Some((attempt, endpoint, _)) = pick(&mut in_flight, &mut past, *stale) else {
                    continue;
                };
                let kind = [
                    TransportErrorKind::Connect,
                    TransportErrorKind::TimedOut,
                    TransportErrorKind::Other,
                ][*kind as usize % 3];
                let _ = endpoint;
                if !*stale && now < in_flight_until && kind == TransportErrorKind::Connect {
                    refused(&mut submit, attempt);
                }
                machine.handle_transport_error(now, attempt, TransportError::new(kind, "fuzz"));
            }
            Op::TooLarge { received, stale } => {
                // A driver reports this only for a body saved to a file.
                let to_file = if *stale {
                    past.last().is_some_and(|p| p.2)
                } else {
                    in_flight.is_some_and(|p| p.2)
                };
                if !to_file {
                    continue;
                }
                let Some((attempt, _, _)) = pick(&mut in_flight, &mut past, *stale) else {
                    continue;
                };
                machine.handle_too_large(now, attempt, u64::from(*received));
            }
        }
    }
    // Past the deadline, polls say Done (after any events left).
    let late = deadline.max(now) + Duration::from_millis(1);
    let end = loop {
        match machine.poll(late) {
            Action::Event(_) => {}
            other => break other,
        }
    };
    assert!(matches!(end, Action::Done(_)), "not done past the deadline");
}

/// Notes that `attempt` surely did not take effect, if it is the last submit.
fn refused(submit: &mut Option<(Attempt, bool)>, attempt: Attempt) {
    if let Some((sent, surely_not)) = submit
        && *sent == attempt
    {
        *surely_not = true;
    }
}

/// The attempt to answer: the one in flight (which the answer consumes), or
/// an older one.
fn pick(
    in_flight: &mut Option<(Attempt, Endpoint, bool)>,
    past: &mut Vec<(Attempt, Endpoint, bool)>,
    stale: bool,
) -> Option<(Attempt, Endpoint, bool)> {
    if stale {
        past.last().copied()
    } else {
        let taken = in_flight.take()?;
        past.push(taken);
        Some(taken)
    }
}
