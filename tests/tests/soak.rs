//! A soak: 1,000 jobs through the hyper transport against the simulator with
//! 20 % seeded random faults, on every route, creates and starts included.
//! Every job must end as its script says, exactly one job must be started
//! per input, and every job created beyond one per input must be one whose
//! create answer never reached the client.
//!
//! `SOAK_JOBS=N` changes the count; the figures print with `--nocapture`.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // A test: it fails loudly and reports its figures.

use std::time::{Duration, Instant};

use sarvam_doc_core::Outcome;
use sarvam_doc_driver::RunOptions;
use sarvam_doc_sim::{
    Fault, FaultPlan, RandomFaults, RetryAfter, Route, SimConfig, Simulator, sample,
};
use sarvam_doc_tests::{config_for, fast_policy, files_in, hyper_client, runtime};

#[test]
fn a_thousand_jobs_through_twenty_percent_faults() {
    let jobs: usize = std::env::var("SOAK_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut config = SimConfig::default();
    config.queue_time = Duration::from_millis(5);
    config.page_time = Duration::from_millis(5);
    // Every kind of fault on every route: a lost create is sent again (its
    // orphan is never started), a lost start is watched and re-sent to the
    // same job only if it did not start it.
    let every = RandomFaults::new(
        20,
        vec![
            Fault::RateLimited(RetryAfter::Seconds(0)),
            Fault::HighLoad,
            Fault::Internal,
            Fault::DropBefore,
            Fault::DropAfter,
            Fault::Truncated,
            Fault::InvalidJson,
            Fault::Delay(Duration::from_millis(20)),
            Fault::UnknownState,
            Fault::ExtraFields,
        ],
        2026,
    );
    config.faults = FaultPlan::default().random(every);
    let sim = Simulator::start(config).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let pdf = sample::pdf(2, "soak");
    let inputs: Vec<_> = (0..jobs)
        .map(|i| {
            let name = match i % 10 {
                0 => format!("partial-{i}.pdf"),
                1 => format!("fail-{i}.pdf"),
                _ => format!("ok-{i}.pdf"),
            };
            let path = dir.path().join(name);
            std::fs::write(&path, &pdf).unwrap();
            path
        })
        .collect();

    let mut policy = fast_policy().with_deadline(Some(Duration::from_secs(120)));
    // 20 % faults: at most 12 in a row is a chance of 0.2^13 per step.
    policy.retry.max_retries = 12;
    let runtime = runtime();
    let client = {
        let _entered = runtime.enter();
        hyper_client(config_for(&sim), policy)
    };
    let started = Instant::now();
    // Each job's deadline is 120 s; a batch still running long after that
    // is a hang, and fails here saying where the simulator's log stopped.
    let results = runtime
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(600),
                client.run_all(inputs.clone(), &RunOptions::new(out.path()), 100, |_, _| {}),
            )
            .await
        })
        .unwrap_or_else(|_| {
            panic!(
                "the batch did not end in 600 s: {} requests, {} jobs created, {} started",
                sim.requests().len(),
                sim.jobs(),
                sim.started_jobs()
            )
        });
    let wall = started.elapsed();

    let (mut completed, mut partial, mut failed) = (0, 0, 0);
    for (input, result) in inputs.iter().zip(&results) {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = &result
            .as_ref()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .outcome;
        match outcome {
            Outcome::Completed { .. } if name.starts_with("ok-") => completed += 1,
            Outcome::PartiallyCompleted { .. } if name.starts_with("partial-") => partial += 1,
            Outcome::Failed { .. } if name.starts_with("fail-") => failed += 1,
            other => panic!("{name}: {other}"),
        }
    }
    let log = sim.requests();
    let faults = log.iter().filter(|r| r.fault.is_some()).count();
    // A create that took effect but whose answer never arrived: its job is an orphan.
    let lost_creates = log
        .iter()
        .filter(|r| {
            r.route == Some(Route::CreateJob)
                && r.fault.as_ref().is_some_and(|f| {
                    f.takes_effect()
                        && !matches!(
                            f,
                            Fault::UnknownState | Fault::ExtraFields | Fault::Delay(_)
                        )
                })
        })
        .count();
    eprintln!(
        "soak: {jobs} jobs in {:.1} s: {completed} completed, {partial} partially completed, {failed} failed; \
         {} requests, {faults} faults injected ({:.1} %); {} jobs created ({lost_creates} creates lost after \
         taking effect), {} started",
        wall.as_secs_f64(),
        log.len(),
        100.0 * faults as f64 / log.len() as f64,
        sim.jobs(),
        sim.started_jobs()
    );
    assert_eq!(completed + partial + failed, jobs);
    assert_eq!(
        sim.started_jobs(),
        jobs,
        "exactly one started job per input"
    );
    assert_eq!(
        sim.jobs(),
        jobs + lost_creates,
        "every extra job is a lost create's orphan"
    );
    assert!(
        faults * 100 >= log.len() * 15,
        "about 20 % of requests were faulted"
    );
    assert!(!sim.storage_saw_api_key());
    // The pages of every job that has them, and nothing else: no partial file.
    assert_eq!(files_in(out.path()).len(), completed + partial);
}
