//! `/doc-ai/v1` on the shared engine, sans I/O: every step in order, a 409
//! sends the run back to watching, an unanswered submit is never repeated
//! unless asked, and problems are read.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::{Duration, Instant};

use http::Response;
use sarvam_doc_core::doc_ai::{Digitise, Extract, ExtractSource, Schema, Task};
use sarvam_doc_core::{
    Action, Api, ApiKey, Config, Document, Event, GiveUpReason, Machine, Outcome, Policy, Run,
    Sink, TransportError, TransportErrorKind, api::Endpoint, config::ApiVersion,
};

/// The origin of simulated time: the one real clock read.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

const JOB: &str = "20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7";

fn api() -> Api {
    Api::new(
        Config::builder(ApiKey::new("sk_test").unwrap())
            .base_url("http://127.0.0.1:9")
            .api_version(ApiVersion::DocAi)
            .build()
            .unwrap(),
    )
}

fn extract() -> Task {
    let schema = Schema::parse(
        r#"{"type":"object","properties":{"total":{"type":"number","description":"Total"}}}"#,
    )
    .unwrap();
    Task::Extract(Extract::new(ExtractSource::Schema(schema)))
}

/// What the scripted server answers to one request.
enum Answer {
    Ok(u16, String),
    Lost,
}

/// Drives `run`, answering each request with `answer(endpoint, nth)`; the
/// endpoints sent, the events, and the outcome.
fn drive(
    mut run: Run,
    mut answer: impl FnMut(Endpoint, usize) -> Answer,
) -> (Vec<Endpoint>, Vec<Event>, Outcome) {
    let mut now = origin();
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    for _ in 0..500 {
        match run.poll(now) {
            Action::Event(e) => events.push(e),
            Action::Wait { until, .. } => now = until,
            Action::Done(outcome) => return (sent, events, outcome),
            Action::Transmit(t) => {
                let endpoint = t.endpoint().unwrap();
                // The key never goes to storage.
                assert_eq!(
                    t.request.headers().contains_key("api-subscription-key"),
                    endpoint.is_api(),
                    "{endpoint:?}"
                );
                let nth = sent.iter().filter(|e| **e == endpoint).count();
                sent.push(endpoint);
                now += Duration::from_millis(10);
                match answer(endpoint, nth) {
                    Answer::Ok(200, _) if endpoint == Endpoint::StorageDownload => {
                        assert!(matches!(t.sink, Sink::File { .. }), "{endpoint:?}");
                        run.handle_saved(now, t.attempt, 10);
                    }
                    Answer::Ok(status, body) => {
                        let r = Response::builder().status(status);
                        run.handle_response(now, t.attempt, r.body(body.into_bytes()).unwrap());
                    }
                    Answer::Lost => run.handle_transport_error(
                        now,
                        t.attempt,
                        TransportError::new(TransportErrorKind::TimedOut, "lost"),
                    ),
                }
            }
        }
    }
    panic!("the run never ended: {sent:?}")
}

fn status(state: &str) -> String {
    format!(
        r#"{{"job_id":"{JOB}","status":"{state}","pipeline":"extract","usage":{{"pages_total":2,"pages_processed":2,"pages_succeeded":2,"pages_failed":0}},"created_at":"","updated_at":""}}"#
    )
}

/// An extraction's results about `job`, its fields `result`.
fn results(job: &str, result: &str) -> String {
    format!(
        r#"{{"type":"extract","job_id":"{job}","status":"completed","usage":{{"pages_total":2,"pages_processed":2,"pages_succeeded":2,"pages_failed":0}},"result":{result},"annotations":{{}},"version":1}}"#
    )
}

/// The happy server: each endpoint's documented answer.
fn happy(endpoint: Endpoint, nth: usize) -> Answer {
    Answer::Ok(
        match endpoint {
            Endpoint::Presign | Endpoint::Submit => 201,
            _ => 200,
        },
        match endpoint {
            Endpoint::Presign => r#"{"upload_id":"upl_1","method":"PUT","url":"http://127.0.0.1:9/up?sig=1","headers":{"x-ms-blob-type":"BlockBlob","Content-Type":"application/pdf"},"expires_at":"2026-11-30T10:15:00Z"}"#.into(),
            Endpoint::Submit => format!(r#"{{"job_id":"{JOB}","status":"pending","run_id":"run_1"}}"#),
            Endpoint::Status if nth == 0 => status("running"),
            Endpoint::Status => status("completed"),
            Endpoint::DownloadUrl => r#"{"method":"GET","url":"http://127.0.0.1:9/out/output.zip?sig=2","headers":{"x-ms-version":"2021-08-06"},"expires_at":""}"#.into(),
            Endpoint::Results => results(JOB, r#"{"total":5}"#),
            _ => String::new(),
        },
    )
}

fn run(task: Task, policy: Policy) -> Run {
    let doc = Document::new("doc.pdf", 10, task).unwrap();
    Run::new(api(), doc, policy, origin())
}

#[test]
fn an_extraction_goes_through_every_step_in_order() {
    use Endpoint::*;
    let (sent, events, outcome) = drive(run(extract(), Policy::default()), happy);
    assert_eq!(
        sent,
        [
            Presign,
            StorageUpload,
            Submit,
            Status,
            Status,
            Results,
            DownloadUrl,
            StorageDownload
        ]
    );
    let Outcome::Completed { outputs, status } = outcome else {
        panic!("{outcome}")
    };
    let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["results.json", "output.zip"]);
    assert_eq!(status.job_id().as_str(), JOB);
    // The submit is announced before it is sent, so a journal has it first.
    let announced = events
        .iter()
        .position(|e| *e == Event::Sending { endpoint: Submit });
    let created = events
        .iter()
        .position(|e| matches!(e, Event::JobCreated(_)));
    assert!(announced.is_some() && announced < created);
}

#[test]
fn a_digitise_skips_the_inline_results() {
    let (sent, _, outcome) = drive(
        run(Task::Digitise(Digitise::default()), Policy::default()),
        happy,
    );
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome}");
    assert!(!sent.contains(&Endpoint::Results));
}

#[test]
fn a_409_after_the_end_looks_at_the_job_again() {
    let (sent, _, outcome) = drive(run(extract(), Policy::default()), |e, nth| match (e, nth) {
        (Endpoint::DownloadUrl, 0) => Answer::Ok(
            409,
            r#"{"title":"Conflict","status":409,"detail":"not yet"}"#.into(),
        ),
        _ => happy(e, nth),
    });
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome}");
    let at = sent
        .iter()
        .position(|e| *e == Endpoint::DownloadUrl)
        .unwrap();
    assert_eq!(sent[at + 1], Endpoint::Status, "{sent:?}");
    // The results, saved once, are not asked for again.
    assert_eq!(sent.iter().filter(|e| **e == Endpoint::Results).count(), 1);
}

#[test]
fn an_unanswered_submit_is_never_sent_twice_unless_asked() {
    let lost = |e: Endpoint, nth| match (e, nth) {
        (Endpoint::Submit, 0) => Answer::Lost,
        _ => happy(e, nth),
    };
    let (sent, _, outcome) = drive(run(extract(), Policy::default()), lost);
    assert!(
        matches!(
            outcome,
            Outcome::GaveUp {
                reason: GiveUpReason::SubmitUnconfirmed(_),
                job_id: None,
                ..
            }
        ),
        "{outcome}"
    );
    assert_eq!(sent.iter().filter(|e| **e == Endpoint::Submit).count(), 1);

    let policy = Policy::default().with_retry_unconfirmed(true);
    let (sent, events, outcome) = drive(run(extract(), policy), lost);
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome}");
    assert_eq!(sent.iter().filter(|e| **e == Endpoint::Submit).count(), 2);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SubmitUnconfirmed { .. }))
    );
}

#[test]
fn credits_and_rejection_end_the_run_as_the_server_says() {
    let (_, _, outcome) = drive(run(extract(), Policy::default()), |e, nth| {
        match e {
        Endpoint::Submit => Answer::Ok(402, r#"{"type":"about:blank","title":"Payment Required","status":402,"detail":"Insufficient credits"}"#.into()),
        _ => happy(e, nth),
    }
    });
    let Outcome::GaveUp {
        reason: GiveUpReason::Refused(e),
        ..
    } = &outcome
    else {
        panic!("{outcome}")
    };
    assert!(e.to_string().contains("Insufficient credits"), "{e}");
    assert!(e.to_string().contains("add credits"), "{e}");

    let (sent, _, outcome) = drive(run(extract(), Policy::default()), |e, nth| match e {
        Endpoint::Status => Answer::Ok(200, status("rejected")),
        _ => happy(e, nth),
    });
    assert!(outcome.to_string().contains("was rejected"), "{outcome}");
    assert!(!sent.contains(&Endpoint::Results) && !sent.contains(&Endpoint::DownloadUrl));
}

#[test]
fn a_legacy_job_on_a_doc_ai_api_is_a_misuse_and_sends_nothing() {
    let doc = Document::new(
        "doc.pdf",
        10,
        sarvam_doc_core::model::CreateJobRequest::default(),
    )
    .unwrap();
    let now = origin();
    let mut run = Run::new(api(), doc, Policy::default(), now);
    assert!(matches!(
        run.poll(now),
        Action::Done(Outcome::GaveUp { .. })
    ));
}

#[test]
fn results_about_another_job_are_retried_then_given_up_and_never_kept() {
    const OTHER: &str = "20261130_00000000-0000-4000-8000-000000000999";
    let policy = Policy::default();
    let (sent, events, outcome) = drive(run(extract(), policy.clone()), |e, nth| match e {
        Endpoint::Results => Answer::Ok(200, results(OTHER, r#"{"total":7}"#)),
        _ => happy(e, nth),
    });
    let tries = sent.iter().filter(|e| **e == Endpoint::Results).count();
    assert_eq!(tries, policy.retry.max_retries as usize + 1, "{sent:?}");
    assert!(!sent.contains(&Endpoint::DownloadUrl), "{sent:?}");
    let Outcome::GaveUp { reason, .. } = &outcome else {
        panic!("{outcome}")
    };
    assert!(
        matches!(reason, GiveUpReason::RetriesExhausted { .. }),
        "{reason}"
    );
    assert!(outcome.to_string().contains(OTHER), "{outcome}");
    assert!(
        !events.iter().any(|e| matches!(e, Event::Downloaded(_))),
        "nothing is kept: {events:?}"
    );
}

#[test]
fn results_that_spell_the_key_in_escapes_are_kept_without_it() {
    // `sk_test`, as a JSON escape in a value and in a field's name, and as a
    // URL escape.
    let echo = r#"{"note":"\u0073k_test","\u0073k_test":1,"url":"https://x/%73k_test","n":"\n"}"#;
    let (_, _, outcome) = drive(run(extract(), Policy::default()), |e, nth| match e {
        Endpoint::Results => Answer::Ok(200, results(JOB, echo)),
        _ => happy(e, nth),
    });
    let Outcome::Completed { outputs, .. } = &outcome else {
        panic!("{outcome}")
    };
    let kept = outputs
        .iter()
        .find(|o| o.name == "results.json")
        .and_then(|o| o.document())
        .unwrap();
    let text = std::str::from_utf8(kept).unwrap();
    assert!(!text.contains("sk_test"), "{text}");
    let value: serde_json::Value = serde_json::from_slice(kept).unwrap();
    assert_eq!(value["job_id"], JOB);
    assert_eq!(value["result"]["note"], "<redacted>");
    assert_eq!(value["result"]["<redacted>"], 1);
    assert_eq!(value["result"]["url"], "https://x/<redacted>");
    // What is not the key is kept as it came, newlines and all.
    assert_eq!(value["result"]["n"], "\n");
    assert_eq!(
        outputs
            .iter()
            .find(|o| o.name == "results.json")
            .unwrap()
            .len,
        kept.len() as u64
    );
}

#[test]
fn status_strings_that_spell_the_key_or_move_the_cursor_are_scrubbed() {
    let body = format!(
        r#"{{"job_id":"{JOB}","status":"running","pipeline":"extract","usage":{{"pages_total":2,"pages_processed":1,"pages_failed":0}},
        "created_at":"\u0073k_test \u001b[2J","updated_at":"\u001b]0;owned\u0007x","\u0073k_test":"\u0073k_test"}}"#
    );
    let response = Response::builder()
        .status(200)
        .body(body.into_bytes())
        .unwrap();
    let job = JOB.parse().unwrap();
    let status = api().doc_ai().parse_status(&response, &job).unwrap();
    let all = format!(
        "{} {} {:?}",
        status.created_at, status.updated_at, status.extra
    );
    assert!(!all.contains("sk_test"), "{all}");
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    assert!(status.created_at.starts_with("<redacted>"), "{all}");
    assert_eq!(status.extra["<redacted>"], "<redacted>");
}

#[test]
fn a_storage_that_refuses_every_upload_ends_within_the_retry_bound() {
    let policy = Policy::default();
    let (sent, _, outcome) = drive(run(extract(), policy.clone()), |e, nth| match e {
        Endpoint::StorageUpload => Answer::Ok(403, "AuthenticationFailed".into()),
        _ => happy(e, nth),
    });
    let tries = policy.retry.max_retries as usize + 1;
    let count = |endpoint| sent.iter().filter(|e| **e == endpoint).count();
    assert_eq!(count(Endpoint::StorageUpload), tries, "{sent:?}");
    assert_eq!(count(Endpoint::Presign), tries, "{sent:?}");
    assert!(!sent.contains(&Endpoint::Submit));
    let text = outcome.to_string();
    assert!(text.contains("storage") && text.contains("403"), "{text}");
}

#[test]
fn a_storage_that_refuses_every_download_ends_within_the_retry_bound() {
    let policy = Policy::default();
    let (sent, _, outcome) = drive(
        run(Task::Digitise(Digitise::default()), policy.clone()),
        |e, nth| match e {
            Endpoint::StorageDownload => Answer::Ok(403, "AuthenticationFailed".into()),
            _ => happy(e, nth),
        },
    );
    let tries = policy.retry.max_retries as usize + 1;
    let count = |endpoint| sent.iter().filter(|e| **e == endpoint).count();
    assert_eq!(count(Endpoint::StorageDownload), tries, "{sent:?}");
    assert!(count(Endpoint::DownloadUrl) <= tries, "{sent:?}");
    assert!(outcome.to_string().contains("403"), "{outcome}");
}
