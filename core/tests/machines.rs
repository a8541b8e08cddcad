//! The job state machines, driven in simulated time against a scripted server.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

mod support;

use std::time::{Duration, Instant};

use sarvam_doc_core::{
    Action, Document, Error, Event, GiveUpReason, Machine, Outcome, Policy, Run, Sink,
    TransportError, TransportErrorKind, Watch,
    api::Endpoint,
    error::ProtocolErrorKind,
    model::{CreateJobRequest, JobState},
    policy::PollPolicy,
};
use support::*;

const S: Duration = Duration::from_secs(1);

fn doc() -> Document {
    Document::new("doc.pdf", 4096, CreateJobRequest::default()).unwrap()
}

fn run(policy: Policy, start: Instant) -> Run {
    Run::new(api(), doc(), policy, start)
}

fn watch(policy: Policy, start: Instant) -> Watch {
    Watch::new(api(), job_id(), policy, start)
}

/// The next action that is not an event.
fn next(m: &mut impl Machine, now: Instant) -> Action {
    loop {
        match m.poll(now) {
            Action::Event(_) => {}
            other => return other,
        }
    }
}

#[test]
fn a_run_goes_through_every_step_in_order() {
    let start = origin();
    let mut server = Server::new(start, Script::simple(3 * S, Ending::Completed));
    let mut m = run(Policy::default(), start);
    let trace = drive(&mut m, &mut server, start, 1000);

    let sends = trace.sends();
    use Endpoint::*;
    assert_eq!(&sends[..4], [CreateJob, UploadFiles, StorageUpload, Start]);
    assert_eq!(&sends[sends.len() - 2..], [DownloadFiles, StorageDownload]);
    assert!(sends[4..sends.len() - 2].iter().all(|e| *e == Status));
    let Outcome::Completed { status, outputs } = &trace.outcome else {
        panic!("{:?}", trace.outcome)
    };
    assert_eq!(status.state(), JobState::Completed);
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].name, "doc_output.zip");
    assert_eq!(server.jobs_created, 1);
    assert_eq!(server.starts, 1);
    assert_eq!(m.job_id(), Some(&job_id()));
    assert!(m.is_done());

    // The events tell the story a progress bar needs.
    // A create is announced before it is sent, so a journal has it first.
    assert_eq!(
        trace.events[0],
        Event::Sending {
            endpoint: CreateJob
        }
    );
    assert_eq!(trace.events[1], Event::JobCreated(job_id()));
    let announced_start = trace
        .events
        .iter()
        .position(|e| *e == Event::Sending { endpoint: Start });
    let started = trace.events.iter().position(|e| *e == Event::Started);
    assert!(announced_start.is_some() && announced_start < started);
    assert!(trace.events.contains(&Event::Uploaded {
        file_name: "doc.pdf".into(),
        len: 4096
    }));
    assert!(trace.events.contains(&Event::Started));
    let states: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { to, .. } => Some(to.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(states, ["Pending", "Running", "Completed"]);
    assert!(
        matches!(trace.events.last(), Some(Event::Downloaded(o)) if o.name == "doc_output.zip")
    );
}

#[test]
fn the_exact_actions_of_a_short_watch() {
    // A job that is already done: one status request, then Done, with no wait.
    let start = origin();
    let mut server = Server::started(start - 10 * S, Script::simple(S, Ending::Completed));
    let mut m = watch(Policy::default(), start);
    let trace = drive(&mut m, &mut server, start, 10);
    assert_eq!(trace.actions, [Step::Send(Endpoint::Status)]);
    assert!(matches!(trace.outcome, Outcome::Completed { ref outputs, .. } if outputs.is_empty()));

    // Running for 2.5 s more: polls at the floor of 1 s, as the job is young.
    let mut server = Server::started(
        start,
        Script {
            queued: Duration::ZERO,
            running: Duration::from_millis(2500),
            pages: 1,
            ending: Ending::Completed,
        },
    );
    let mut m = watch(Policy::default(), start);
    let trace = drive(&mut m, &mut server, start, 20);
    let lat = server.latency;
    assert_eq!(
        trace.actions,
        [
            Step::Send(Endpoint::Status),
            Step::Wait(S),
            Step::Send(Endpoint::Status),
            Step::Wait(S),
            Step::Send(Endpoint::Status),
            Step::Wait(S),
            Step::Send(Endpoint::Status),
        ],
        "latency {lat:?}"
    );
}

#[test]
fn done_is_sticky_and_late_answers_change_nothing() {
    let start = origin();
    let mut server = Server::started(start - 100 * S, Script::simple(S, Ending::Failed));
    let mut m = watch(Policy::default(), start);
    let Action::Transmit(first) = m.poll(start) else {
        panic!()
    };
    // A second poll while the request is in flight sends nothing new.
    assert!(matches!(
        m.poll(start),
        Action::Wait {
            reason: sarvam_doc_core::WaitReason::Response,
            ..
        }
    ));
    let Answer::Response(r) = server.answer(start, &first) else {
        panic!()
    };
    m.handle_response(start + S, first.attempt, r.clone());
    // Events come first, then the end.
    assert!(matches!(
        m.poll(start + S),
        Action::Event(Event::StateChanged { .. })
    ));
    let Action::Done(outcome) = next(&mut m, start + S) else {
        panic!()
    };
    assert!(
        matches!(outcome, Outcome::Failed { ref status } if status.error_message() == "every page failed")
    );
    // Anything after Done changes nothing.
    m.handle_response(start + 2 * S, first.attempt, r);
    m.handle_transport_error(
        start + 2 * S,
        first.attempt,
        TransportError::new(TransportErrorKind::Other, "x"),
    );
    for t in [start, start + S, start + 10_000 * S] {
        assert!(matches!(m.poll(t), Action::Done(ref o) if *o == outcome));
    }
}

#[test]
fn a_stale_answer_to_an_abandoned_attempt_is_ignored() {
    let start = origin();
    let mut server = Server::started(start, Script::simple(60 * S, Ending::Completed));
    let mut m = watch(Policy::default().with_request_timeout(5 * S), start);
    let Action::Transmit(first) = m.poll(start) else {
        panic!()
    };
    let Answer::Response(stale) = server.answer(start, &first) else {
        panic!()
    };
    // No answer within 5 s: the machine gives the attempt up and backs off.
    let Action::Wait { until, .. } = m.poll(start) else {
        panic!()
    };
    assert_eq!(until, start + 5 * S);
    // The retry is reported first, then the backoff.
    let retry = m.poll(until);
    assert!(
        matches!(
            retry,
            Action::Event(Event::Retrying {
                endpoint: Endpoint::Status,
                retry: 1,
                ..
            })
        ),
        "{retry:?}"
    );
    let Action::Wait { reason, until } = m.poll(until) else {
        panic!()
    };
    assert_eq!(reason, sarvam_doc_core::WaitReason::Backoff);
    // The old answer arrives now: ignored, the machine still backs off.
    let mut completed = stale.clone();
    *completed.body_mut() = completed.body().clone();
    m.handle_response(start + 6 * S, first.attempt, completed);
    assert!(m.last_status().is_none());
    let Action::Transmit(second) = m.poll(until) else {
        panic!()
    };
    assert_ne!(second.attempt, first.attempt);
}

#[test]
fn retry_after_is_never_undercut() {
    let start = origin();
    let mut server = Server::started(start, Script::simple(20 * S, Ending::Completed));
    server.fault(
        Endpoint::Status,
        [Fault::Status {
            status: 429,
            code: "rate_limit_exceeded_error",
            retry_after: Some(7),
        }],
    );
    let mut m = watch(Policy::default(), start);
    // drive() asserts that nothing is sent before the Retry-After ends.
    let trace = drive(&mut m, &mut server, start, 1000);
    assert!(matches!(trace.outcome, Outcome::Completed { .. }));
    let log = &server.log;
    assert_eq!(log[1].at - log[0].at, 7 * S + server.latency);
    assert!(
        trace
            .events
            .iter()
            .any(|e| matches!(e, Event::Retrying { after, .. } if *after == 7 * S))
    );
}

#[test]
fn server_errors_back_off_exponentially_then_give_up() {
    let start = origin();
    let mut server = Server::started(start, Script::simple(20 * S, Ending::Completed));
    server.fault(
        Endpoint::Status,
        std::iter::repeat_n(Fault::status(503, "high_load_error"), 100),
    );
    let mut m = watch(Policy::default(), start);
    let trace = drive(&mut m, &mut server, start, 1000);
    let Outcome::GaveUp {
        reason: GiveUpReason::RetriesExhausted { attempts, last },
        ..
    } = &trace.outcome
    else {
        panic!("{:?}", trace.outcome)
    };
    assert_eq!(*attempts, 7);
    assert!(matches!(last, Error::Api(e) if e.status == 503));
    assert_eq!(server.count(Endpoint::Status), 7);
    let gaps: Vec<_> = server
        .log
        .windows(2)
        .map(|w| w[1].at - w[0].at - server.latency)
        .collect();
    for (i, gap) in gaps.iter().enumerate() {
        let full = (Duration::from_millis(500) * 2u32.pow(i as u32)).min(30 * S);
        assert!(*gap >= full / 2 && *gap <= full, "retry {i}: {gap:?}");
    }
}

#[test]
fn fatal_errors_end_at_once() {
    for (status, code) in [
        (403, "invalid_api_key_error"),
        (404, "not_found_error"),
        (429, "insufficient_quota_error"),
    ] {
        let start = origin();
        let mut server = Server::started(start, Script::simple(20 * S, Ending::Completed));
        server.fault(Endpoint::Status, [Fault::status(status, code)]);
        let trace = drive(&mut watch(Policy::default(), start), &mut server, start, 10);
        let Outcome::GaveUp {
            reason: GiveUpReason::Refused(Error::Api(e)),
            job_id: id,
            ..
        } = &trace.outcome
        else {
            panic!("{:?}", trace.outcome)
        };
        assert_eq!(e.status.as_u16(), status);
        assert_eq!(*id, Some(job_id()));
        assert_eq!(server.count(Endpoint::Status), 1);
    }
}

#[test]
fn a_quota_refusal_at_start_ends_the_run_with_the_job_id() {
    let start = origin();
    let mut server = Server::new(start, Script::simple(3 * S, Ending::Completed));
    server.fault(
        Endpoint::Start,
        [Fault::status(429, "insufficient_quota_error")],
    );
    let trace = drive(&mut run(Policy::default(), start), &mut server, start, 100);
    assert!(matches!(
        trace.outcome,
        Outcome::GaveUp {
            reason: GiveUpReason::Refused(_),
            job_id: Some(_),
            ..
        }
    ));
    assert_eq!(server.starts, 0);
}

#[test]
fn a_create_that_surely_did_not_take_effect_is_simply_retried() {
    // Could not connect, 429, 503: surely not processed, so retried; one job.
    for fault in [
        Fault::Connect,
        Fault::status(429, "rate_limit_exceeded_error"),
        Fault::status(503, "high_load_error"),
    ] {
        let start = origin();
        let mut server = Server::new(start, Script::simple(2 * S, Ending::Completed));
        server.fault(Endpoint::CreateJob, [fault.clone()]);
        let trace = drive(&mut run(Policy::default(), start), &mut server, start, 1000);
        assert!(
            matches!(trace.outcome, Outcome::Completed { .. }),
            "{fault:?}: {:?}",
            trace.outcome
        );
        assert_eq!(server.count(Endpoint::CreateJob), 2, "{fault:?}");
        assert_eq!(server.jobs_created, 1);
        assert!(
            !trace
                .events
                .iter()
                .any(|e| matches!(e, Event::CreateUnconfirmed { .. }))
        );
    }
}

#[test]
fn a_create_whose_answer_was_lost_is_sent_again_and_the_orphan_never_starts() {
    // Timed out after sending, 500, a 2xx we could not read, no answer at
    // all: maybe processed. Sent again: at worst the first made a job that
    // is never uploaded to nor started, which costs nothing.
    for fault in [
        Fault::TimeoutAfter,
        Fault::status(500, "internal_server_error"),
        Fault::Garbage,
        Fault::Hang,
    ] {
        let start = origin();
        let mut server = Server::new(start, Script::simple(2 * S, Ending::Completed));
        server.fault(Endpoint::CreateJob, [fault.clone()]);
        let mut m = run(Policy::default(), start);
        let trace = drive(&mut m, &mut server, start, 1000);
        assert!(
            matches!(trace.outcome, Outcome::Completed { .. }),
            "{fault:?}: {:?}",
            trace.outcome
        );
        assert_eq!(server.count(Endpoint::CreateJob), 2, "{fault:?}");
        assert!(
            trace
                .events
                .iter()
                .any(|e| matches!(e, Event::CreateUnconfirmed { .. })),
            "{fault:?}: the possible orphan is reported"
        );
        // Exactly one job started, and it is the run's own.
        assert_eq!(
            server.started_jobs,
            [m.job_id().unwrap().clone()],
            "{fault:?}"
        );
        assert_eq!(server.started_jobs[0], job_n(server.jobs_created));
    }
}

#[test]
fn an_unconfirmed_start_is_watched_and_sent_again_only_to_the_same_job() {
    for fault in [
        Fault::TimeoutAfter,
        Fault::Garbage,
        Fault::status(502, "internal_server_error"),
    ] {
        let start = origin();
        let mut server = Server::new(start, Script::simple(2 * S, Ending::Completed));
        server.fault(Endpoint::Start, [fault.clone()]);
        let trace = drive(&mut run(Policy::default(), start), &mut server, start, 1000);
        assert!(
            matches!(trace.outcome, Outcome::Completed { .. }),
            "{fault:?}: {:?}",
            trace.outcome
        );
        assert!(
            trace
                .events
                .iter()
                .any(|e| matches!(e, Event::StartUnconfirmed { .. }))
        );
        assert_eq!(
            server.started_jobs,
            [job_id()],
            "{fault:?}: one job started, once"
        );
        if fault.takes_effect() {
            // It had started: the watch sees it run, and nothing is sent again.
            assert_eq!(server.count(Endpoint::Start), 1, "{fault:?}");
        } else {
            // A 502 before any work: after restart_after of Pending, the same
            // job is started again, promptly rather than at the stall limit.
            assert_eq!(server.count(Endpoint::Start), 2, "{fault:?}");
            assert!(trace.events.contains(&Event::StartResent));
            let resent = server
                .log
                .iter()
                .filter(|s| s.endpoint == Endpoint::Start)
                .nth(1)
                .unwrap();
            let waited = resent.at - start;
            assert!(waited >= 60 * S && waited < 62 * S, "{waited:?}");
        }
    }
}

#[test]
fn a_resent_start_refused_as_already_started_counts_as_started() {
    // The lost start did start the job, but it sits queued (Pending) for two
    // minutes: the start is sent again, the API refuses it as already
    // started, and that is taken as the confirmation it is.
    let start = origin();
    let mut script = Script::simple(2 * S, Ending::Completed);
    script.queued = 120 * S;
    let mut server = Server::new(start, script);
    server.fault(Endpoint::Start, [Fault::TimeoutAfter]);
    let trace = drive(&mut run(Policy::default(), start), &mut server, start, 2000);
    assert!(
        matches!(trace.outcome, Outcome::Completed { .. }),
        "{:?}",
        trace.outcome
    );
    assert_eq!(server.count(Endpoint::Start), 2);
    assert_eq!(server.started_jobs, [job_id()]);
    assert_eq!(
        trace
            .events
            .iter()
            .filter(|e| **e == Event::Started)
            .count(),
        1,
        "the refusal confirmed the start"
    );
}

#[test]
fn repeatable_steps_are_retried_through_every_transient_fault() {
    let faults = [
        Fault::Connect,
        Fault::TimeoutAfter,
        Fault::Hang,
        Fault::Garbage,
        Fault::status(500, "internal_server_error"),
        Fault::status(503, "high_load_error"),
        Fault::Status {
            status: 429,
            code: "rate_limit_exceeded_error",
            retry_after: Some(2),
        },
    ];
    for endpoint in [
        Endpoint::UploadFiles,
        Endpoint::StorageUpload,
        Endpoint::Status,
        Endpoint::DownloadFiles,
        Endpoint::StorageDownload,
    ] {
        // Storage answers are judged by status alone: a 2xx with an odd body is fine.
        let faults: Vec<_> = faults
            .iter()
            .filter(|f| endpoint.is_api() || **f != Fault::Garbage)
            .cloned()
            .collect();
        let start = origin();
        let mut server = Server::new(start, Script::simple(5 * S, Ending::Partial));
        server.fault(endpoint, faults.clone());
        let mut policy = Policy::default().with_max_download(10 * 1024 * 1024);
        policy.retry.max_retries = faults.len() as u32;
        let trace = drive(&mut run(policy, start), &mut server, start, 2000);
        let Outcome::PartiallyCompleted { status, outputs } = &trace.outcome else {
            panic!("{endpoint:?}: {:?}", trace.outcome)
        };
        assert_eq!(status.page_errors().count(), 1);
        assert_eq!(outputs.len(), 1);
        assert_eq!(server.jobs_created, 1);
        assert_eq!(server.starts, 1);
        let retries = trace
            .events
            .iter()
            .filter(|e| matches!(e, Event::Retrying { endpoint: e, .. } if *e == endpoint))
            .count();
        assert_eq!(retries, faults.len(), "{endpoint:?}");
    }
}

#[test]
fn a_failed_job_downloads_nothing() {
    let start = origin();
    let mut server = Server::new(start, Script::simple(2 * S, Ending::Failed));
    let trace = drive(&mut run(Policy::default(), start), &mut server, start, 1000);
    assert!(matches!(trace.outcome, Outcome::Failed { .. }));
    assert_eq!(server.count(Endpoint::DownloadFiles), 0);
    assert_eq!(trace.outcome.page_errors().count(), 3);
}

#[test]
fn an_unknown_state_is_never_success_and_ends_at_the_stall_limit() {
    let start = origin();
    let mut server = Server::started(start, Script::simple(2 * S, Ending::UnknownState));
    let policy = Policy::default().with_stall_limit(Some(60 * S));
    let trace = drive(&mut watch(policy, start), &mut server, start, 1000);
    let Outcome::GaveUp {
        reason: GiveUpReason::Stalled { state, .. },
        last_status,
        ..
    } = &trace.outcome
    else {
        panic!("{:?}", trace.outcome)
    };
    assert_eq!(state.as_str(), "Thinking");
    assert_eq!(last_status.as_ref().unwrap().state().as_str(), "Thinking");
    assert!(trace.done_at - start >= 60 * S && trace.done_at - start <= 62 * S);
}

#[test]
fn a_job_left_in_accepted_is_not_waited_on_forever() {
    let start = origin();
    let mut server = Server::new(start, Script::simple(2 * S, Ending::Completed));
    server.jobs_created = 1; // created elsewhere, never uploaded or started
    let trace = drive(
        &mut watch(Policy::default(), start),
        &mut server,
        start,
        1000,
    );
    let Outcome::GaveUp { reason, .. } = &trace.outcome else {
        panic!()
    };
    assert!(matches!(
        reason,
        GiveUpReason::Stalled {
            state: JobState::Accepted,
            ..
        }
    ));
    assert!(
        reason.to_string().contains("was its file ever uploaded?"),
        "{reason}"
    );
    // 10 minutes at the default cadence: about 70 requests, not 300.
    let n = server.count(Endpoint::Status);
    assert!((60..=90).contains(&n), "{n}");
}

#[test]
fn the_deadline_ends_the_wait_on_time() {
    let start = origin();
    let mut server = Server::started(start, Script::simple(S, Ending::Never));
    let policy = policy_with_deadline(90 * S).with_progress_limit(None);
    let trace = drive(&mut watch(policy, start), &mut server, start, 1000);
    assert!(
        matches!(trace.outcome, Outcome::GaveUp { reason: GiveUpReason::Deadline(d), .. } if d == 90 * S)
    );
    assert_eq!(trace.done_at, start + 90 * S);
}

#[test]
fn a_retry_after_past_the_deadline_ends_at_once_and_says_what_was_asked() {
    let start = origin();
    let mut server = Server::started(start, Script::simple(S, Ending::Never));
    server.fault(
        Endpoint::Status,
        [Fault::Status {
            status: 429,
            code: "rate_limit_exceeded_error",
            retry_after: Some(99_999_999),
        }],
    );
    let trace = drive(
        &mut watch(policy_with_deadline(30 * S), start),
        &mut server,
        start,
        1000,
    );
    let Outcome::GaveUp {
        reason: reason @ GiveUpReason::RetryAfterTooLong { asked, allowed, .. },
        ..
    } = &trace.outcome
    else {
        panic!("{:?}", trace.outcome)
    };
    assert_eq!(*asked, 99_999_999 * S);
    assert!(*allowed <= 30 * S);
    assert!(
        reason.to_string().contains("asked to wait 99999999 s"),
        "{reason}"
    );
    assert_eq!(trace.done_at, start + server.latency);
    // With no deadline, the ceiling on Retry-After does the same.
    let mut server = Server::started(start, Script::simple(S, Ending::Never));
    server.fault(
        Endpoint::Status,
        [Fault::Status {
            status: 429,
            code: "rate_limit_exceeded_error",
            retry_after: Some(3600),
        }],
    );
    let policy = Policy::default().with_deadline(None);
    let trace = drive(&mut watch(policy, start), &mut server, start, 1000);
    assert!(matches!(
        trace.outcome,
        Outcome::GaveUp {
            reason: GiveUpReason::RetryAfterTooLong { allowed, .. },
            ..
        } if allowed == 10 * 60 * S
    ));
}

#[test]
fn no_request_is_given_more_time_than_the_deadline_leaves() {
    // A request that hangs: cut at the deadline, not at the 60 s timeout.
    let start = origin();
    let mut server = Server::started(start, Script::simple(S, Ending::Never));
    server.fault(Endpoint::Status, [Fault::Hang]);
    let mut m = watch(policy_with_deadline(5 * S), start);
    let Action::Transmit(t) = m.poll(start) else {
        panic!()
    };
    assert_eq!(t.timeout, 5 * S);
    let _ = server.answer(start, &t);
    let trace = drive(&mut m, &mut server, start, 100);
    assert!(matches!(
        trace.outcome,
        Outcome::GaveUp {
            reason: GiveUpReason::Deadline(_),
            ..
        }
    ));
    assert_eq!(trace.done_at, start + 5 * S);
}

#[test]
fn a_job_running_without_progress_is_given_up_at_the_no_progress_limit() {
    let start = origin();
    let mut server = Server::started(start, Script::simple(S, Ending::Never));
    let policy = Policy::default()
        .with_deadline(None)
        .with_progress_limit(Some(20 * 60 * S));
    let trace = drive(&mut watch(policy, start), &mut server, start, 10_000);
    let Outcome::GaveUp {
        reason: reason @ GiveUpReason::NoProgress { duration, .. },
        ..
    } = &trace.outcome
    else {
        panic!("{:?}", trace.outcome)
    };
    // Pages stop moving once the script's 1 s of running is over.
    assert!(
        *duration >= 20 * 60 * S && *duration <= 20 * 60 * S + 2 * S,
        "{duration:?}"
    );
    assert!(reason.to_string().contains("no-progress limit"), "{reason}");
}

#[test]
fn an_answer_about_another_job_is_never_taken() {
    let start = origin();
    let mut server = Server::started(start, Script::simple(2 * S, Ending::Completed));
    server.fault(Endpoint::Status, [Fault::OtherJob, Fault::OtherJob]);
    let trace = drive(
        &mut watch(Policy::default(), start),
        &mut server,
        start,
        1000,
    );
    assert!(
        matches!(trace.outcome, Outcome::Completed { ref status, .. } if *status.job_id() == job_id())
    );
    let retried: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Retrying {
                error: Error::Protocol(p),
                ..
            } => Some(p.kind.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(retried.len(), 2);
    assert!(
        matches!(&retried[0], ProtocolErrorKind::Contract { detail } if detail.contains("answered about job"))
    );
}

#[test]
fn a_download_is_bounded_by_its_announced_size_or_the_cap() {
    let start = origin();
    let mut server = Server::new(start, Script::simple(S, Ending::Completed));
    let policy = Policy::default().with_max_download(1000);
    let mut m = run(policy, start);
    let mut now = start;
    let mut too_large_once = true;
    let outcome = loop {
        match m.poll(now) {
            Action::Event(_) => {}
            Action::Transmit(t) => {
                if t.endpoint() == Some(Endpoint::StorageDownload) {
                    let Sink::File { max_len, .. } = t.sink else {
                        panic!()
                    };
                    assert_eq!(max_len, 1000, "no size announced: the cap");
                    if too_large_once {
                        // The body ran past the cap: the driver stopped it.
                        too_large_once = false;
                        m.handle_too_large(now, t.attempt, 1001);
                        continue;
                    }
                }
                let Answer::Response(r) = server.answer(now, &t) else {
                    panic!()
                };
                m.handle_response(now, t.attempt, r);
            }
            Action::Wait { until, .. } => now = until,
            Action::Done(o) => break o,
        }
    };
    let Outcome::GaveUp {
        reason: GiveUpReason::TooLarge { limit, .. },
        job_id: Some(_),
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(limit, 1000);
}

fn policy_with_deadline(d: Duration) -> Policy {
    Policy::default().with_deadline(Some(d))
}

#[test]
fn downloads_are_described_not_held() {
    let start = origin();
    let mut server = Server::new(start, Script::simple(S, Ending::Completed));
    let mut m = run(Policy::default(), start);
    let mut now = start;
    loop {
        match m.poll(now) {
            Action::Event(_) => {}
            Action::Transmit(send) => {
                let endpoint = *send.request.extensions().get::<Endpoint>().unwrap();
                match endpoint {
                    Endpoint::StorageUpload => {
                        assert_eq!(send.request.headers()["content-length"], "4096");
                        // 60 s plus 4096 bytes at 256 KiB/s.
                        assert_eq!(send.timeout, 61 * S);
                    }
                    Endpoint::StorageDownload => {
                        assert!(
                            matches!(&send.sink, Sink::File { name, .. } if name == "doc_output.zip")
                        );
                    }
                    _ => assert!(matches!(send.sink, Sink::Memory { .. })),
                }
                let Answer::Response(r) = server.answer(now, &send) else {
                    panic!()
                };
                hand(&mut m, now, &send, r);
            }
            Action::Wait { until, .. } => now = until,
            Action::Done(o) => {
                assert!(matches!(o, Outcome::Completed { .. }));
                break;
            }
        }
    }
}

/// The figures for the cadence: status requests and how late the end is
/// seen, for jobs of 10 s, 60 s and 10 min, default policy against fixed
/// 2 s polling (what the official SDKs do).
#[test]
fn cadence_meets_its_targets() {
    let mut rows = Vec::new();
    for (label, running, pages) in [("10 s", 10, 3), ("60 s", 60, 10), ("10 min", 600, 10)] {
        let mut figures = Vec::new();
        for policy in [PollPolicy::default(), PollPolicy::fixed(2 * S)] {
            let start = origin();
            let script = Script {
                queued: Duration::ZERO,
                running: running * S,
                pages,
                ending: Ending::Completed,
            };
            let mut server = Server::started(start, script);
            let p = Policy::default().with_poll(policy);
            let trace = drive(&mut watch(p, start), &mut server, start, 10_000);
            assert!(matches!(trace.outcome, Outcome::Completed { .. }));
            let lag = trace.done_at - server.ends_at().unwrap();
            figures.push((server.count(Endpoint::Status), lag));
        }
        let [(ours, our_lag), (fixed, fixed_lag)] = figures[..] else {
            unreachable!()
        };
        eprintln!(
            "cadence: {label:>6} job: default {ours:>3} requests, end seen {:>5} ms late; fixed 2 s {fixed:>3} requests, {:>5} ms late",
            our_lag.as_millis(),
            fixed_lag.as_millis()
        );
        rows.push((label, ours, our_lag, fixed, fixed_lag));
    }
    let (_, _, lag10, _, _) = rows[0];
    assert!(lag10 <= 2 * S, "a 10 s job's end seen {lag10:?} late");
    let (_, ours, lag, fixed, _) = rows[2];
    assert!(ours * 3 <= fixed, "10 min: {ours} requests against {fixed}");
    assert!(lag <= 10 * S, "a 10 min job's end seen {lag:?} late");
}

mod invariants {
    use super::*;
    use proptest::prelude::*;

    fn fault() -> impl Strategy<Value = Option<Fault>> {
        prop_oneof![
            6 => Just(None),
            1 => Just(Some(Fault::Connect)),
            1 => Just(Some(Fault::TimeoutAfter)),
            1 => Just(Some(Fault::Hang)),
            1 => Just(Some(Fault::Garbage)),
            1 => (0u64..40).prop_map(|s| Some(Fault::Status { status: 429, code: "rate_limit_exceeded_error", retry_after: Some(s) })),
            1 => Just(Some(Fault::status(429, "insufficient_quota_error"))),
            1 => Just(Some(Fault::status(500, "internal_server_error"))),
            1 => Just(Some(Fault::status(503, "high_load_error"))),
            1 => Just(Some(Fault::status(404, "not_found_error"))),
            1 => Just(Some(Fault::OtherJob)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn a_run_keeps_every_promise(
            script in script_strategy(),
            faults in proptest::collection::vec((0..7usize, proptest::collection::vec(fault(), 0..12)), 0..7),
            deadline in proptest::option::of(30u64..3000),
            stall in proptest::option::of(5u64..900),
            seed in any::<u64>(),
            request_timeout in 1u64..120,
        ) {
            let start = origin();
            // A job that never ends, or one left Pending with no stall limit, is
            // waited on until the deadline: give it one.
            let endless = matches!(script.ending, Ending::Never | Ending::UnknownState);
            let deadline = if endless || stall.is_none() { deadline.or(Some(3000)) } else { deadline };
            let mut server = Server::new(start, script);
            for (e, list) in faults {
                server.fault(Endpoint::ALL[e], list.into_iter().map(|f| f.unwrap_or(Fault::status(200, ""))).filter(|f| *f != Fault::status(200, "")));
            }
            let policy = Policy::default()
                .with_deadline(deadline.map(Duration::from_secs))
                .with_stall_limit(stall.map(Duration::from_secs))
                .with_seed(seed)
                .with_request_timeout(Duration::from_secs(request_timeout));
            let max_retries = policy.retry.max_retries;
            let mut m = run(policy.clone(), start);
            // drive() checks: every Wait in the future, nothing before Retry-After, key only to the API.
            let trace = drive(&mut m, &mut server, start, 200_000);

            // Done by the deadline (plus the latency of an answer in flight):
            // no request is given more time than the deadline leaves.
            if let Some(d) = policy.deadline {
                prop_assert!(trace.done_at <= start + d + server.latency);
            }
            // Nothing is sent after Done, whatever comes in.
            for t in [trace.done_at, trace.done_at + 3600 * S] {
                let after = m.poll(t);
                prop_assert!(matches!(after, Action::Done(ref o) if *o == trace.outcome));
            }
            // An unknown state is never success.
            if let Some(status) = trace.outcome.status() {
                let success = matches!(trace.outcome, Outcome::Completed { .. } | Outcome::PartiallyCompleted { .. });
                prop_assert!(!(status.state().is_unknown() && success));
            }
            if matches!(trace.outcome, Outcome::Completed { .. }) {
                prop_assert_eq!(trace.outcome.status().unwrap().state(), JobState::Completed);
                prop_assert_eq!(trace.outcome.outputs().len(), 1);
            }
            // Attempts never exceed the bound: no step fails more than max_retries + 1 times in a row.
            let mut run_len = 0u32;
            let mut last: Option<Endpoint> = None;
            for seen in &server.log {
                let failed = seen.fault.is_some();
                if last == Some(seen.endpoint) && failed { run_len += 1 } else { run_len = u32::from(failed) }
                last = Some(seen.endpoint);
                prop_assert!(run_len <= max_retries + 1);
            }
            // At most one started job per document, and it is the run's own;
            // every job created beyond the first is one whose create answer
            // never reached the client.
            prop_assert!(server.starts <= 1);
            if let Some(started) = server.started_jobs.first() {
                prop_assert_eq!(Some(started), m.job_id());
            }
            let creates: Vec<_> = server.log.iter().filter(|s| s.endpoint == Endpoint::CreateJob).collect();
            for pair in creates.windows(2) {
                let lost = pair[0].fault.is_some();
                prop_assert!(lost, "a create was repeated after a clean answer");
            }
            // The key never goes to storage.
            for seen in &server.log {
                prop_assert_eq!(seen.had_key, seen.endpoint.is_api());
            }
        }

        #[test]
        fn a_watch_survives_arbitrary_answers_and_time_jumps(
            steps in proptest::collection::vec((0..6usize, 0u64..200_000, any::<u8>()), 1..200),
            seed in any::<u64>(),
        ) {
            // Feed the machine whatever: answers to the wrong attempt, garbage,
            // early and late polls. It must never panic, never wait in the past,
            // and stay Done once done.
            let start = origin();
            let policy = Policy::default()
                .with_seed(seed)
                .with_deadline(Some(Duration::from_secs(1200)));
            let mut m = watch(policy, start);
            let mut now = start;
            let mut last_attempt = None;
            let mut done: Option<Outcome> = None;
            let statuses = [
                r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Running","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","storage_container_type":"Azure","job_details":[{"inputs":[],"outputs":[],"state":"Running","total_pages":5,"pages_processed":2}]}"#,
                r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","storage_container_type":"Azure"}"#,
                r#"{"job_id":"00000000-0000-0000-0000-000000000000","job_state":"Completed","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","storage_container_type":"Azure"}"#,
                r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Mystery","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","storage_container_type":"Azure"}"#,
                "not json",
            ];
            for (kind, millis, pick) in steps {
                now += Duration::from_millis(millis % 5000);
                match next(&mut m, now) {
                    Action::Event(_) => {}
                    Action::Transmit(s) => { prop_assert!(done.is_none()); last_attempt = Some(s.attempt); }
                    Action::Wait { until, .. } => prop_assert!(until > now),
                    Action::Done(o) => {
                        if let Some(prev) = &done { prop_assert_eq!(prev, &o); }
                        if let Some(s) = o.status() {
                            let success = matches!(o, Outcome::Completed { .. });
                            prop_assert!(!(s.state().is_unknown() && success));
                            prop_assert_eq!(s.job_id(), &job_id());
                        }
                        done = Some(o);
                    }
                }
                let Some(attempt) = last_attempt else { continue };
                match kind {
                    0..=2 => {
                        let body = statuses[pick as usize % statuses.len()];
                        let status = [200u16, 200, 202, 429, 500, 404][pick as usize % 6];
                        let r = http::Response::builder().status(status).body(body).unwrap();
                        m.handle_response(now, attempt, r);
                    }
                    3 => m.handle_transport_error(now, attempt, TransportError::new(TransportErrorKind::Connect, "x")),
                    _ => {}
                }
            }
        }
    }
}
