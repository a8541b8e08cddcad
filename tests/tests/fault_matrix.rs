//! Every simulator fault kind × both transports × (watch, run) → the outcome
//! the core's rules say. Each case is bounded in time, and checked for no
//! key on storage, no partial file, and at most one started job per input:
//! every job created beyond one is one whose create answer never arrived.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::{Duration, Instant};

use sarvam_doc_core::{GiveUpReason, Outcome, Policy};
use sarvam_doc_driver::RunOptions;
use sarvam_doc_sim::{Fault, RetryAfter, Route, Simulator, sample};
use sarvam_doc_tests::{
    config_for, fast_policy, fast_sim, files_in, for_each_transport, input_file, published_in,
    started_job,
};

/// What a case must end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Completed,
    /// The server refused: retrying cannot help.
    Refused,
}

/// Longer than the matrix policy's request timeout.
const SLOW: Duration = Duration::from_millis(1500);

fn kinds() -> Vec<Fault> {
    vec![
        Fault::RateLimited(RetryAfter::Seconds(1)),
        Fault::RateLimited(RetryAfter::Date(1)),
        Fault::QuotaExhausted,
        Fault::HighLoad,
        Fault::Internal,
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

/// The core's rules, applied to one fault on one route of a run: only a
/// quota refusal from the API ends it; everything else is ridden out (a
/// lost create sent again, a lost start watched and re-sent to the same job).
fn expect(route: Route, fault: &Fault) -> Expect {
    if *fault == Fault::QuotaExhausted && !route.is_storage() {
        Expect::Refused
    } else {
        Expect::Completed
    }
}

/// Whether a create met by `fault` may have made a job the client never heard of.
fn may_orphan(fault: &Fault) -> bool {
    fault.takes_effect()
        && !matches!(fault, Fault::UnknownState | Fault::ExtraFields)
        && !matches!(fault, Fault::Delay(d) if *d < SLOW)
}

fn policy() -> Policy {
    fast_policy()
        .with_request_timeout(Duration::from_secs(1))
        .with_stall_limit(Some(Duration::from_secs(5)))
        .with_deadline(Some(Duration::from_secs(30)))
}

/// Every fault kind on `route`, for a run through both transports.
fn run_matrix(route: Route) -> usize {
    let mut cases = 0;
    for fault in kinds() {
        let sim = Simulator::start(fast_sim()).unwrap();
        for_each_transport!(config_for(&sim), policy(), |name, client| {
            let what = format!("{name} run, {fault:?} on {route:?}");
            let (jobs, started, creates) =
                (sim.jobs(), sim.started_jobs(), sim.count(Route::CreateJob));
            sim.inject(route, [fault.clone()]);
            let (_dir, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
            let out = tempfile::tempdir().unwrap();
            let clock = Instant::now();
            let report = client
                .run(&input, &RunOptions::new(out.path()), |_| {})
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                clock.elapsed() < Duration::from_secs(30),
                "{what}: took {:?}",
                clock.elapsed()
            );
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
            };
            assert!(ok, "{what}: expected {expected:?}, got {}", report.outcome);
            // No partial file: the pages whole, or nothing at all.
            let files = files_in(out.path());
            if expected == Expect::Completed {
                assert_eq!(files, ["doc"], "{what}");
                assert_eq!(published_in(&out.path().join("doc")).len(), 2, "{what}");
            } else {
                assert!(files.is_empty(), "{what}: {files:?}");
            }
            assert!(!sim.storage_saw_api_key(), "{what}");
            // Never two started jobs for one input; an extra job only where a
            // create took effect and its answer was lost.
            let refused_before_start = expected == Expect::Refused
                && matches!(route, Route::CreateJob | Route::UploadFiles | Route::Start);
            let started_now = sim.started_jobs() - started;
            assert_eq!(started_now, usize::from(!refused_before_start), "{what}");
            let creates_now = sim.count(Route::CreateJob) - creates;
            let jobs_now = sim.jobs() - jobs;
            if route == Route::CreateJob && expected == Expect::Completed {
                assert!(creates_now <= 2, "{what}");
                assert_eq!(jobs_now, 1 + usize::from(may_orphan(&fault)), "{what}");
            } else if route != Route::CreateJob {
                assert_eq!((creates_now, jobs_now), (1, 1), "{what}");
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
    run_with_faults_on_create => Route::CreateJob,
    run_with_faults_on_upload_files => Route::UploadFiles,
    run_with_faults_on_storage_put => Route::StoragePut,
    run_with_faults_on_start => Route::Start,
    run_with_faults_on_status => Route::Status,
    run_with_faults_on_download_files => Route::DownloadFiles,
    run_with_faults_on_storage_get => Route::StorageGet,
}

#[test]
fn a_lost_start_is_sent_again_only_when_it_did_not_start_the_job() {
    for fault in kinds() {
        let sim = Simulator::start(fast_sim()).unwrap();
        sim.inject(Route::Start, [fault.clone()]);
        let client = sarvam_doc_tests::ureq_client(config_for(&sim), policy());
        let (_dir, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
        let out = tempfile::tempdir().unwrap();
        let _ =
            sarvam_doc_tests::block_on(client.run(&input, &RunOptions::new(out.path()), |_| {}));
        let starts = sim.count(Route::Start);
        // A start that took effect is never repeated; one refused before any
        // work (429, 503, 500, a dropped request) is sent once more; quota ends it.
        let expected = match &fault {
            Fault::QuotaExhausted => 1,
            f if f.takes_effect() => 1,
            _ => 2,
        };
        assert_eq!(starts, expected, "{fault:?}");
        assert!(sim.started_jobs() <= 1, "{fault:?}");
    }
}

#[test]
fn watch_with_every_fault_on_status() {
    for fault in kinds() {
        let sim = Simulator::start(fast_sim()).unwrap();
        for_each_transport!(config_for(&sim), policy(), |name, client| {
            let what = format!("{name} watch, {fault:?}");
            let job = started_job(&client, "doc.pdf", 2).await;
            sim.inject(Route::Status, [fault.clone()]);
            let clock = Instant::now();
            let outcome = client.watch(job, |_| {}).await;
            assert!(clock.elapsed() < Duration::from_secs(30), "{what}");
            let refused = matches!(
                outcome,
                Outcome::GaveUp {
                    reason: GiveUpReason::Refused(_),
                    ..
                }
            );
            if fault == Fault::QuotaExhausted {
                assert!(refused, "{what}: {outcome}");
            } else {
                assert!(
                    matches!(outcome, Outcome::Completed { ref outputs, .. } if outputs.is_empty()),
                    "{what}: {outcome}"
                );
            }
        });
    }
}

#[test]
fn the_matrix_covers_every_route_and_fault_kind() {
    // 7 routes × 13 kinds × 2 transports for runs, 13 × 2 for watches.
    assert_eq!(Route::LEGACY.len(), 7);
    assert_eq!(kinds().len(), 13);
    // A create whose answer was lost after it may have made a job: 500?
    // no (refused before any work), slow, dropped after, cut, garbage.
    let orphaning = kinds().iter().filter(|f| may_orphan(f)).count();
    assert_eq!(orphaning, 4);
}
