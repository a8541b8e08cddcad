//! Every simulator fault kind × both transports × (watch, run) → the outcome
//! the core's rules say. Each case is bounded in time, and checked for no
//! key on storage and no partial file.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::{Duration, Instant};

use sarvam_doc_core::{GiveUpReason, JobState, Outcome, Policy, RunOptions};
use sarvam_doc_sim::{Fault, RetryAfter, Route, Simulator, sample};
use sarvam_doc_tests::{
    Hyper, Transport, Ureq, config_for, fast_policy, fast_sim, files_in, input_file, started_job,
};

/// What a case must end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Completed,
    /// The server refused: retrying cannot help.
    Refused,
    /// A create that may have taken effect: not repeated.
    Unconfirmed,
    /// A start that did not take effect, watched instead of repeated: the
    /// job never leaves Pending.
    StalledPending,
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

/// The core's rules, applied to one fault on one route of a run.
fn expect(route: Route, fault: &Fault) -> Expect {
    let storage = route.is_storage();
    // Storage answers are not JSON, and quota is an API matter: these faults do not apply there.
    if storage
        && matches!(
            fault,
            Fault::QuotaExhausted | Fault::InvalidJson | Fault::UnknownState | Fault::ExtraFields
        )
    {
        return Expect::Completed;
    }
    if *fault == Fault::QuotaExhausted {
        return Expect::Refused;
    }
    // Did the request surely not take effect? (429 and 503 are answered before any work.)
    let surely_not = matches!(fault, Fault::RateLimited(_) | Fault::HighLoad);
    let harmless = matches!(fault, Fault::UnknownState | Fault::ExtraFields)
        || matches!(fault, Fault::Delay(d) if *d < SLOW);
    let failed = !harmless;
    match route {
        Route::CreateJob if failed && !surely_not => Expect::Unconfirmed,
        // A start that may have taken effect is watched: it did take effect
        // unless the fault came before any work (500, a dropped request).
        Route::Start
            if failed && !surely_not && matches!(fault, Fault::Internal | Fault::DropBefore) =>
        {
            Expect::StalledPending
        }
        _ => Expect::Completed,
    }
}

fn policy() -> Policy {
    let mut p = fast_policy();
    p.request_timeout = Duration::from_secs(1);
    p.stall_limit = Some(Duration::from_secs(2));
    p.deadline = Some(Duration::from_secs(30));
    p
}

fn transport(name: &str, sim: &Simulator) -> Box<dyn Transport> {
    match name {
        "ureq" => Box::new(Ureq(
            sarvam_doc_ureq::Client::new(config_for(sim)).with_policy(policy()),
        )),
        _ => Box::new(Hyper::new(config_for(sim), policy())),
    }
}

fn check(outcome: &Outcome, expected: Expect, what: &str) {
    let ok = match expected {
        Expect::Completed => matches!(outcome, Outcome::Completed { .. }),
        Expect::Refused => matches!(
            outcome,
            Outcome::GaveUp {
                reason: GiveUpReason::Refused(_),
                ..
            }
        ),
        Expect::Unconfirmed => matches!(
            outcome,
            Outcome::GaveUp {
                reason: GiveUpReason::Unconfirmed(_),
                job_id: None,
                ..
            }
        ),
        Expect::StalledPending => matches!(
            outcome,
            Outcome::GaveUp {
                reason: GiveUpReason::Stalled {
                    state: JobState::Pending,
                    ..
                },
                ..
            }
        ),
    };
    assert!(ok, "{what}: expected {expected:?}, got {outcome}");
}

/// Every fault kind on `route`, for a run through both transports.
fn run_matrix(route: Route) -> usize {
    let mut cases = 0;
    for name in ["ureq", "hyper"] {
        for fault in kinds() {
            let what = format!("{name} run, {fault:?} on {route:?}");
            let sim = Simulator::start(fast_sim()).unwrap();
            sim.inject(route, [fault.clone()]);
            let t = transport(name, &sim);
            let (_dir, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
            let out = tempfile::tempdir().unwrap();
            let started = Instant::now();
            let (outcome, _) = t.run(&input, &RunOptions::new(out.path()));
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{what}: took {:?}",
                started.elapsed()
            );
            let outcome = outcome.unwrap_or_else(|e| panic!("{what}: {e}"));
            let expected = expect(route, &fault);
            check(&outcome, expected, &what);
            // No partial file: the output whole, or nothing at all.
            let files = files_in(out.path());
            if expected == Expect::Completed {
                assert_eq!(files, ["doc_output.zip"], "{what}");
            } else {
                assert!(files.is_empty(), "{what}: {files:?}");
            }
            assert!(!sim.storage_saw_api_key(), "{what}");
            assert!(sim.count(Route::CreateJob) <= 2, "{what}");
            if expected == Expect::Unconfirmed {
                assert_eq!(
                    sim.count(Route::CreateJob),
                    1,
                    "{what}: a create was repeated"
                );
            }
            assert!(sim.count(Route::Start) <= 2, "{what}");
            if route == Route::Start && fault.takes_effect() {
                assert_eq!(sim.count(Route::Start), 1, "{what}: a start was repeated");
            }
            cases += 1;
        }
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
fn watch_with_every_fault_on_status() {
    for name in ["ureq", "hyper"] {
        for fault in kinds() {
            let what = format!("{name} watch, {fault:?}");
            let sim = Simulator::start(fast_sim()).unwrap();
            let t = transport(name, &sim);
            let job = started_job(t.as_ref(), "doc.pdf", 2);
            sim.inject(Route::Status, [fault.clone()]);
            let started = Instant::now();
            let (outcome, _) = t.watch(job);
            assert!(started.elapsed() < Duration::from_secs(30), "{what}");
            let expected = if fault == Fault::QuotaExhausted {
                Expect::Refused
            } else {
                Expect::Completed
            };
            check(&outcome, expected, &what);
            if expected == Expect::Completed {
                assert!(outcome.outputs().is_empty(), "a watch downloads nothing");
            }
        }
    }
}

#[test]
fn the_matrix_covers_every_route_and_fault_kind() {
    // 7 routes × 13 kinds × 2 transports for runs, 13 × 2 for watches.
    assert_eq!(Route::ALL.len(), 7);
    assert_eq!(kinds().len(), 13);
    let unconfirmed = Route::ALL
        .iter()
        .flat_map(|r| kinds().into_iter().map(move |f| expect(*r, &f)))
        .filter(|e| *e == Expect::Unconfirmed)
        .count();
    // A create that failed after it may have been processed: 500, slow, dropped (before or after), cut, garbage.
    assert_eq!(unconfirmed, 6);
}
