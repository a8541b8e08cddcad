//! `/doc-ai/v1`'s fault matrix: every simulator fault kind on every
//! `/doc-ai/v1` route × both transports → the outcome the core's rules say,
//! bounded in time, with no key on storage, no partial file, and never a
//! second job for one input.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::{Duration, Instant};

use sarvam_doc_core::doc_ai::{Extract, ExtractSource, Schema, Task};
use sarvam_doc_core::{GiveUpReason, Outcome, Policy};
use sarvam_doc_driver::RunOptions;
use sarvam_doc_sim::{Fault, RetryAfter, Route, Simulator, sample};
use sarvam_doc_tests::{
    doc_ai_config, fast_policy, fast_sim, files_in, for_each_transport, input_file, published_in,
};

/// Longer than the matrix policy's request timeout.
const SLOW: Duration = Duration::from_millis(1500);

fn kinds() -> Vec<Fault> {
    vec![
        Fault::RateLimited(RetryAfter::Seconds(1)),
        Fault::RateLimited(RetryAfter::Millis(200)),
        Fault::QuotaExhausted,
        Fault::HighLoad,
        Fault::Internal,
        Fault::Conflict,
        Fault::Expired,
        Fault::Delay(Duration::from_millis(100)),
        Fault::Delay(SLOW),
        Fault::DropBefore,
        Fault::DropAfter,
        Fault::Truncated,
        Fault::InvalidJson,
        Fault::UnknownState,
        Fault::ExtraFields,
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Completed,
    /// The server refused: retrying cannot help.
    Refused,
    /// A submit whose answer was lost: not sent again.
    Unconfirmed,
}

/// The core's rules for one fault on one route of an extraction run.
fn expect(route: Route, fault: &Fault) -> Expect {
    let api = !route.is_storage();
    match fault {
        // 402 from the API: credits are gone.
        Fault::QuotaExhausted if api => Expect::Refused,
        // A 409 where the API does not declare one is a refusal.
        Fault::Conflict if api && !matches!(route, Route::AiResults | Route::AiDownloadUrl) => {
            Expect::Refused
        }
        // A submit that may have made a job, with no answer: never repeated.
        // (A connection dropped before the work looks, to a client, like one
        // dropped after it.)
        f if route == Route::AiSubmit
            && (matches!(
                f,
                Fault::Internal
                    | Fault::DropBefore
                    | Fault::DropAfter
                    | Fault::Truncated
                    | Fault::InvalidJson
            ) || *f == Fault::Delay(SLOW)) =>
        {
            Expect::Unconfirmed
        }
        _ => Expect::Completed,
    }
}

fn policy() -> Policy {
    fast_policy()
        .with_request_timeout(Duration::from_secs(1))
        .with_stall_limit(Some(Duration::from_secs(5)))
        .with_deadline(Some(Duration::from_secs(30)))
}

fn task() -> Task {
    let schema = Schema::parse(
        r#"{"type":"object","properties":{"total":{"type":"number","description":"Grand total"}}}"#,
    )
    .unwrap();
    Task::Extract(Extract::new(ExtractSource::Schema(schema)))
}

fn run_matrix(route: Route) -> usize {
    let mut cases = 0;
    for fault in kinds() {
        let sim = Simulator::start(fast_sim()).unwrap();
        for_each_transport!(doc_ai_config(&sim), policy(), |name, client| {
            let what = format!("{name} run, {fault:?} on {route:?}");
            let (jobs, submits) = (sim.doc_ai_jobs(), sim.count(Route::AiSubmit));
            sim.inject(route, [fault.clone()]);
            let (_dir, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
            let out = tempfile::tempdir().unwrap();
            let clock = Instant::now();
            let report = client
                .run(
                    &input,
                    &RunOptions::new(out.path()).with_job(task()),
                    |_| {},
                )
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(clock.elapsed() < Duration::from_secs(30), "{what}");
            let expected = expect(route, &fault);
            let ok = match expected {
                Expect::Completed => matches!(report.outcome, Outcome::Completed { .. }),
                Expect::Refused => matches!(
                    report.outcome,
                    Outcome::GaveUp {
                        reason: GiveUpReason::Refused(_),
                        ..
                    }
                ),
                Expect::Unconfirmed => matches!(
                    report.outcome,
                    Outcome::GaveUp {
                        reason: GiveUpReason::SubmitUnconfirmed(_),
                        ..
                    }
                ),
            };
            assert!(ok, "{what}: expected {expected:?}, got {}", report.outcome);
            let files = files_in(out.path());
            if expected == Expect::Completed {
                assert_eq!(files, ["doc"], "{what}");
                assert_eq!(
                    published_in(&out.path().join("doc")),
                    ["result.json", "results.json"],
                    "{what}"
                );
            } else {
                assert!(files.is_empty(), "{what}: {files:?}");
            }
            assert!(!sim.storage_saw_api_key(), "{what}");
            // Never a second job; a submit sent twice only when the first
            // surely did nothing.
            let (jobs_now, submits_now) = (
                sim.doc_ai_jobs() - jobs,
                sim.count(Route::AiSubmit) - submits,
            );
            assert!(jobs_now <= 1, "{what}: {jobs_now} jobs");
            if expected == Expect::Unconfirmed {
                assert_eq!(submits_now, 1, "{what}");
            }
            cases += 1;
        });
    }
    cases
}

macro_rules! run_cases {
    ($($test:ident => $route:expr,)+) => {$(
        #[test]
        fn $test() {
            assert_eq!(run_matrix($route), 2 * kinds().len());
        }
    )+};
}

run_cases! {
    doc_ai_run_with_faults_on_presign => Route::AiPresign,
    doc_ai_run_with_faults_on_storage_put => Route::AiStoragePut,
    doc_ai_run_with_faults_on_submit => Route::AiSubmit,
    doc_ai_run_with_faults_on_status => Route::AiStatus,
    doc_ai_run_with_faults_on_results => Route::AiResults,
    doc_ai_run_with_faults_on_download_url => Route::AiDownloadUrl,
    doc_ai_run_with_faults_on_storage_get => Route::AiStorageGet,
}

#[test]
fn the_doc_ai_matrix_covers_every_route() {
    assert_eq!(Route::DOC_AI.len(), 7);
    assert_eq!(kinds().len(), 15);
}
