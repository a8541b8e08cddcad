//! A soak: 1,000 jobs through the hyper transport against the simulator with
//! 20 % seeded random faults. Every job must end as its script says, and no
//! job may be created twice.
//!
//! `SOAK_JOBS=N` changes the count; the figures print with `--nocapture`.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // A test: it fails loudly and reports its figures.

use std::time::{Duration, Instant};

use sarvam_doc_core::{Outcome, RunOptions};
use sarvam_doc_sim::{
    Fault, FaultPlan, RandomFaults, RetryAfter, Route, SimConfig, Simulator, sample,
};
use sarvam_doc_tests::{Hyper, config_for, fast_policy, files_in};

#[test]
fn a_thousand_jobs_through_twenty_percent_faults() {
    let jobs: usize = std::env::var("SOAK_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut config = SimConfig::default();
    config.queue_time = Duration::from_millis(5);
    config.page_time = Duration::from_millis(5);
    // Repeatable steps get every kind of fault; create and start only those
    // that surely did not take effect, so every job's outcome stays its script's.
    let mut repeatable = RandomFaults::new(
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
    repeatable.routes = vec![
        Route::UploadFiles,
        Route::StoragePut,
        Route::Status,
        Route::DownloadFiles,
        Route::StorageGet,
    ];
    let mut creating = RandomFaults::new(
        20,
        vec![Fault::RateLimited(RetryAfter::Absent), Fault::HighLoad],
        1129,
    );
    creating.routes = vec![Route::CreateJob, Route::Start];
    config.faults = FaultPlan::default().random(repeatable).random(creating);
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

    let mut policy = fast_policy();
    // 20 % faults: at most 12 in a row is a chance of 0.2^13 per step.
    policy.retry.max_retries = 12;
    policy.deadline = Some(Duration::from_secs(120));
    let hyper = Hyper::new(config_for(&sim), policy);
    let started = Instant::now();
    let results = hyper.runtime().block_on(hyper.client().run_all(
        inputs.clone(),
        &RunOptions::new(out.path()),
        100,
        |_, _| {},
    ));
    let wall = started.elapsed();

    let (mut completed, mut partial, mut failed) = (0, 0, 0);
    for (input, result) in inputs.iter().zip(&results) {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = result.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
        match outcome {
            Outcome::Completed { .. } if name.starts_with("ok-") => completed += 1,
            Outcome::PartiallyCompleted { .. } if name.starts_with("partial-") => partial += 1,
            Outcome::Failed { .. } if name.starts_with("fail-") => failed += 1,
            other => panic!("{name}: {other}"),
        }
    }
    let log = sim.requests();
    let faults = log.iter().filter(|r| r.fault.is_some()).count();
    let creates_ok = log
        .iter()
        .filter(|r| r.route == Some(Route::CreateJob) && r.status == Some(202))
        .count();
    eprintln!(
        "soak: {jobs} jobs in {:.1} s: {completed} completed, {partial} partially completed, {failed} failed; \
         {} requests, {faults} faults injected ({:.1} %); {} jobs created",
        wall.as_secs_f64(),
        log.len(),
        100.0 * faults as f64 / log.len() as f64,
        sim.jobs()
    );
    assert_eq!(completed + partial + failed, jobs);
    assert_eq!(sim.jobs(), jobs, "no job was created twice");
    assert_eq!(creates_ok, jobs);
    assert!(
        faults * 100 >= log.len() * 15,
        "about 20 % of requests were faulted"
    );
    assert!(!sim.storage_saw_api_key());
    // The outputs of every job that has one, and nothing else: no partial file.
    assert_eq!(files_in(out.path()).len(), completed + partial);
}
