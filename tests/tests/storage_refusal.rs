//! Issue 21, break 14: storage that answers 403 to every upload or download
//! is not an endless chain of fresh URLs. Each 403 may ask for a fresh URL,
//! but every one counts against the step's tries: the run ends within the
//! retry bound, naming storage and the 403. Both APIs, every client.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use sarvam_doc_core::Outcome;
use sarvam_doc_driver::RunOptions;
use sarvam_doc_sim::{Fault, FaultPlan, RandomFaults, Route, Simulator, sample};
use sarvam_doc_tests::*;

/// A simulator whose storage answers 403 (an expired URL) on `route`, always.
fn refusing(route: Route) -> Simulator {
    let mut config = fast_sim();
    let mut random = RandomFaults::new(100, vec![Fault::Expired], 0);
    random.routes = vec![route];
    config.faults = FaultPlan::default().random(random);
    Simulator::start(config).unwrap()
}

fn check(sim: &Simulator, config: sarvam_doc_core::Config, storage: Route, presign: Route) {
    let policy = fast_policy();
    let tries = policy.retry.max_retries as usize + 1;
    for_each_client!(config.clone(), policy.clone(), |name, client| {
        let before = (sim.count(storage), sim.count(presign));
        let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |_| {})
            .await
            .unwrap();
        let Outcome::GaveUp { .. } = &report.outcome else {
            panic!("{name}: {}", report.outcome)
        };
        let text = report.outcome.to_string();
        assert!(
            text.contains("storage") && text.contains("403"),
            "{name}: {text}"
        );
        assert_eq!(
            sim.count(storage) - before.0,
            tries,
            "{name}: storage tries"
        );
        assert!(
            sim.count(presign) - before.1 <= tries,
            "{name}: {} fresh URLs",
            sim.count(presign) - before.1
        );
    });
}

#[test]
fn legacy_storage_that_refuses_every_upload_ends_within_the_retry_bound() {
    let sim = refusing(Route::StoragePut);
    check(
        &sim,
        config_for(&sim),
        Route::StoragePut,
        Route::UploadFiles,
    );
}

#[test]
fn legacy_storage_that_refuses_every_download_ends_within_the_retry_bound() {
    let sim = refusing(Route::StorageGet);
    check(
        &sim,
        config_for(&sim),
        Route::StorageGet,
        Route::DownloadFiles,
    );
}

#[test]
fn doc_ai_storage_that_refuses_every_upload_ends_within_the_retry_bound() {
    let sim = refusing(Route::AiStoragePut);
    check(
        &sim,
        doc_ai_config(&sim),
        Route::AiStoragePut,
        Route::AiPresign,
    );
}

#[test]
fn doc_ai_storage_that_refuses_every_download_ends_within_the_retry_bound() {
    let sim = refusing(Route::AiStorageGet);
    check(
        &sim,
        doc_ai_config(&sim),
        Route::AiStorageGet,
        Route::AiDownloadUrl,
    );
}
