//! The `/doc-ai/v1` run under arbitrary answers, in simulated time: the
//! promises it keeps whatever the server and the network do.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

mod support;

use std::time::Duration;

use proptest::prelude::*;
use sarvam_doc_core::{
    Action, Document, GiveUpReason, Machine, Outcome, Policy, Run, api::Endpoint,
};
use support::*;

/// The steps of a `/doc-ai/v1` run, in order.
const STEPS: [Endpoint; 7] = [
    Endpoint::Presign,
    Endpoint::StorageUpload,
    Endpoint::Submit,
    Endpoint::Status,
    Endpoint::Results,
    Endpoint::DownloadUrl,
    Endpoint::StorageDownload,
];

/// One answer to one request.
fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        8 => Just(Fault::Fine),
        1 => Just(Fault::Garbage),
        1 => Just(Fault::status(400, "Bad Request")),
        1 => Just(Fault::status(403, "Forbidden")),
        1 => Just(Fault::status(404, "Not Found")),
        1 => Just(Fault::status(409, "Conflict")),
        1 => (0u64..40).prop_map(|s| Fault::Status { status: 429, code: "Too Many Requests", retry_after: Some(s) }),
        1 => Just(Fault::status(429, "Too Many Requests")),
        1 => Just(Fault::status(500, "Internal Server Error")),
        1 => Just(Fault::status(503, "Service Unavailable")),
        1 => Just(Fault::Connect),
        1 => Just(Fault::TimeoutAfter),
        1 => Just(Fault::Reset),
        1 => Just(Fault::Hang),
        1 => Just(Fault::Late),
        1 => Just(Fault::OtherJob),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_doc_ai_run_keeps_every_promise(
        script in script_strategy(),
        faults in proptest::collection::vec((0..STEPS.len(), proptest::collection::vec(fault(), 0..10)), 0..8),
        extract in any::<bool>(),
        retry_unconfirmed in any::<bool>(),
        deadline in proptest::option::of(30u64..3000),
        stall in proptest::option::of(5u64..900),
        seed in any::<u64>(),
        request_timeout in 1u64..120,
    ) {
        let start = origin();
        let endless = matches!(script.ending, Ending::Never | Ending::UnknownState);
        let deadline = if endless || stall.is_none() { deadline.or(Some(3000)) } else { deadline };
        let mut server = DocAiServer::new(script);
        for (step, list) in faults {
            server.fault(STEPS[step], list);
        }
        let policy = Policy::default()
            .with_deadline(deadline.map(Duration::from_secs))
            .with_stall_limit(stall.map(Duration::from_secs))
            .with_seed(seed)
            .with_request_timeout(Duration::from_secs(request_timeout))
            .with_retry_unconfirmed(retry_unconfirmed);
        let task = if extract { extract_task() } else { digitise_task() };
        let document = Document::new("doc.pdf", 4096, task).unwrap();
        let mut run = Run::new(doc_ai_api(), document, policy.clone(), start);
        // drive() checks: every Wait in the future, nothing before a
        // Retry-After, the key only to the API, late answers (to timed-out
        // attempts, and after Done) change nothing.
        let trace = drive(&mut run, &mut server, start, 200_000);

        // It ends, by the deadline (plus an answer in flight).
        if let Some(d) = policy.deadline {
            prop_assert!(trace.done_at <= start + d + server.latency);
        }
        // Done sticks: later polls say the same.
        for t in [trace.done_at, trace.done_at + Duration::from_secs(86_400)] {
            let after = run.poll(t);
            prop_assert!(matches!(after, Action::Done(ref o) if *o == trace.outcome), "{after:?}");
        }
        // Never a second submit after one that may have taken effect,
        // unless asked; so never two jobs paid for.
        let submits: Vec<&Seen> = server.log.iter().filter(|s| s.endpoint == Endpoint::Submit).collect();
        if !retry_unconfirmed {
            for (i, later) in submits.iter().enumerate().skip(1) {
                for earlier in &submits[..i] {
                    prop_assert!(
                        earlier.fault.as_ref().is_some_and(Fault::surely_not_taken),
                        "a submit at {:?} after one answered {:?}", later.at, earlier.fault
                    );
                }
            }
            prop_assert!(server.submits <= 1, "{} jobs made", server.submits);
        }
        // A submit whose fate is unknown, not retried, ends the run saying so.
        if let Outcome::GaveUp { reason: GiveUpReason::SubmitUnconfirmed(_), job_id, .. } = &trace.outcome {
            prop_assert!(!retry_unconfirmed);
            prop_assert!(job_id.is_none());
        }
        // Success is only the job's own, with every output.
        if matches!(trace.outcome, Outcome::Completed { .. }) {
            prop_assert_eq!(trace.outcome.status().unwrap().job_id(), &server.job());
            prop_assert_eq!(trace.outcome.outputs().len(), if extract { 2 } else { 1 });
        }
        // The key goes to the API origin only, never to storage.
        for seen in &server.log {
            prop_assert_eq!(seen.had_key, seen.endpoint.is_api(), "{:?}", seen.endpoint);
        }
    }
}
