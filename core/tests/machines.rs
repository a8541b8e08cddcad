//! The job state machines, driven in simulated time against a scripted server.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

mod support;

use std::time::{Duration, Instant};

use sarvam_doc_core::{
    Action, CreateJobRequest, Document, Endpoint, Error, Event, GiveUpReason, JobState, Outcome,
    Policy, PollPolicy, Run, Sink, TransportError, TransportErrorKind, Watch,
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
    assert_eq!(status.job_state, JobState::Completed);
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].name, "doc_output.zip");
    assert_eq!(server.jobs_created, 1);
    assert_eq!(server.starts, 1);
    assert_eq!(m.job_id(), Some(job_id()));
    assert!(m.is_done());

    // The events tell the story a progress bar needs.
    assert_eq!(trace.events[0], Event::JobCreated(job_id()));
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
    let Action::Send(first) = m.poll(start) else {
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
    let Action::Done(outcome) = m.poll(start + S) else {
        panic!()
    };
    assert!(
        matches!(outcome, Outcome::Failed { ref status } if status.error_message == "every page failed")
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
    let mut policy = Policy::default();
    policy.request_timeout = 5 * S;
    let mut m = watch(policy, start);
    let Action::Send(first) = m.poll(start) else {
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
    let Action::Wait { reason, until } = m.poll(until) else {
        panic!()
    };
    assert_eq!(reason, sarvam_doc_core::WaitReason::Backoff);
    // The old answer arrives now: ignored, the machine still backs off.
    let mut completed = stale.clone();
    *completed.body_mut() = completed.body().clone();
    m.handle_response(start + 6 * S, first.attempt, completed);
    assert!(m.last_status().is_none());
    let Action::Send(second) = m.poll(until) else {
        panic!()
    };
    assert_ne!(second.attempt, first.attempt);
    let retry = m.poll_event();
    assert!(
        matches!(
            retry,
            Some(Event::Retrying {
                endpoint: Endpoint::Status,
                ..
            })
        ),
        "{retry:?}"
    );
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
fn a_create_is_repeated_only_when_it_surely_did_not_take_effect() {
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
    }
    // Timed out after sending, 500, or a 2xx we could not read: maybe
    // processed, so not repeated.
    for fault in [
        Fault::TimeoutAfter,
        Fault::status(500, "internal_server_error"),
        Fault::Garbage,
        Fault::Hang,
    ] {
        let start = origin();
        let mut server = Server::new(start, Script::simple(2 * S, Ending::Completed));
        server.fault(Endpoint::CreateJob, [fault.clone()]);
        let trace = drive(&mut run(Policy::default(), start), &mut server, start, 1000);
        assert!(
            matches!(
                trace.outcome,
                Outcome::GaveUp {
                    reason: GiveUpReason::Unconfirmed(_),
                    job_id: None,
                    ..
                }
            ),
            "{fault:?}: {:?}",
            trace.outcome
        );
        assert_eq!(server.count(Endpoint::CreateJob), 1, "{fault:?}");
    }
}

#[test]
fn an_unconfirmed_start_is_watched_not_repeated() {
    for fault in [
        Fault::TimeoutAfter,
        Fault::Garbage,
        Fault::status(502, "internal_server_error"),
    ] {
        let start = origin();
        let mut server = Server::new(start, Script::simple(2 * S, Ending::Completed));
        server.fault(Endpoint::Start, [fault.clone()]);
        let trace = drive(&mut run(Policy::default(), start), &mut server, start, 1000);
        assert_eq!(server.count(Endpoint::Start), 1, "{fault:?}");
        assert!(
            trace
                .events
                .iter()
                .any(|e| matches!(e, Event::StartUnconfirmed { .. }))
        );
        if fault.takes_effect() {
            assert!(
                matches!(trace.outcome, Outcome::Completed { .. }),
                "{fault:?}: {:?}",
                trace.outcome
            );
        } else {
            // A 502 that did not start it: the job sits in Pending until the stall limit.
            let Outcome::GaveUp {
                reason: GiveUpReason::Stalled { state, duration },
                ..
            } = &trace.outcome
            else {
                panic!("{:?}", trace.outcome)
            };
            assert_eq!(*state, JobState::Pending);
            assert!(*duration >= 10 * 60 * S && *duration < 10 * 60 * S + 2 * S);
        }
    }
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
        let mut policy = Policy::default();
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
    let mut policy = Policy::default();
    policy.stall_limit = Some(60 * S);
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
    assert_eq!(last_status.as_ref().unwrap().job_state.as_str(), "Thinking");
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
    let mut policy = Policy::default();
    policy.deadline = Some(90 * S);
    let trace = drive(&mut watch(policy, start), &mut server, start, 1000);
    assert!(
        matches!(trace.outcome, Outcome::GaveUp { reason: GiveUpReason::Deadline(d), .. } if d == 90 * S)
    );
    assert_eq!(trace.done_at, start + 90 * S);
    // A Retry-After past the deadline ends it at once rather than send late.
    let mut server = Server::started(start, Script::simple(S, Ending::Never));
    server.fault(
        Endpoint::Status,
        [Fault::Status {
            status: 429,
            code: "rate_limit_exceeded_error",
            retry_after: Some(3600),
        }],
    );
    let trace = drive(
        &mut watch(policy_with_deadline(90 * S), start),
        &mut server,
        start,
        1000,
    );
    assert!(matches!(
        trace.outcome,
        Outcome::GaveUp {
            reason: GiveUpReason::Deadline(_),
            ..
        }
    ));
    assert_eq!(trace.done_at, start + server.latency);
}

fn policy_with_deadline(d: Duration) -> Policy {
    let mut p = Policy::default();
    p.deadline = Some(d);
    p
}

#[test]
fn downloads_are_described_not_held() {
    let start = origin();
    let mut server = Server::new(start, Script::simple(S, Ending::Completed));
    let mut m = run(Policy::default(), start);
    let mut now = start;
    loop {
        match m.poll(now) {
            Action::Send(send) => {
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
                m.handle_response(now, send.attempt, r);
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
            let mut p = Policy::default();
            p.poll = policy;
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
        ]
    }

    fn script() -> impl Strategy<Value = Script> {
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn a_run_keeps_every_promise(
            script in script(),
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
            let mut policy = Policy::default();
            policy.deadline = deadline.map(Duration::from_secs);
            policy.stall_limit = stall.map(Duration::from_secs);
            policy.seed = seed;
            policy.request_timeout = Duration::from_secs(request_timeout);
            let max_retries = policy.retry.max_retries;
            let mut m = run(policy.clone(), start);
            // drive() checks: every Wait in the future, nothing before Retry-After, key only to the API.
            let trace = drive(&mut m, &mut server, start, 200_000);

            // Done within the deadline plus one request timeout (and the answer's latency).
            if let Some(d) = policy.deadline {
                prop_assert!(trace.done_at <= start + d + policy.request_timeout + server.latency);
            }
            // Nothing is sent after Done, whatever comes in.
            for t in [trace.done_at, trace.done_at + 3600 * S] {
                let after = m.poll(t);
                prop_assert!(matches!(after, Action::Done(ref o) if *o == trace.outcome));
            }
            // An unknown state is never success.
            if let Some(status) = trace.outcome.status() {
                let success = matches!(trace.outcome, Outcome::Completed { .. } | Outcome::PartiallyCompleted { .. });
                prop_assert!(!(status.job_state.is_unknown() && success));
            }
            if matches!(trace.outcome, Outcome::Completed { .. }) {
                prop_assert_eq!(trace.outcome.status().unwrap().job_state.clone(), JobState::Completed);
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
            // A create is repeated only when the one before surely did not take effect.
            let creates: Vec<_> = server.log.iter().filter(|s| s.endpoint == Endpoint::CreateJob).collect();
            for pair in creates.windows(2) {
                let first = pair[0].fault.as_ref();
                let surely_not = first.is_some_and(|f| !f.takes_effect() && !matches!(f, Fault::Status { status: 500, .. }));
                prop_assert!(surely_not);
            }
            prop_assert!(server.jobs_created <= 1);
            // Likewise a start: never twice once one may have taken effect.
            prop_assert!(server.starts <= 1);
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
            let mut policy = Policy::default();
            policy.seed = seed;
            policy.deadline = Some(Duration::from_secs(1200));
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
                match m.poll(now) {
                    Action::Send(s) => { prop_assert!(done.is_none()); last_attempt = Some(s.attempt); }
                    Action::Wait { until, .. } => prop_assert!(until > now),
                    Action::Done(o) => {
                        if let Some(prev) = &done { prop_assert_eq!(prev, &o); }
                        if let Some(s) = o.status() {
                            let success = matches!(o, Outcome::Completed { .. });
                            prop_assert!(!(s.job_state.is_unknown() && success));
                            prop_assert_eq!(s.job_id, job_id());
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
