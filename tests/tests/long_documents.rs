//! Documents longer than a job (issue 22), through the library: `run` and
//! `run_all` on every client, and a batch (`plan_batch`, `run_batch`) on
//! both transports, cut an input over `RunOptions::page_limit` into chunks,
//! a job each, and stitch their outputs back; the simulator's fingerprints
//! prove every page is in its place.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::path::Path;

use sarvam_doc_core::Outcome;
use sarvam_doc_driver::{BatchOptions, Done, RunError, RunOptions};
use sarvam_doc_sim::{Simulator, sample};
use sarvam_doc_tests::*;

/// A book of `pages` pages; the pages `failing` say their job fails.
fn book(pages: u32, failing: std::ops::RangeInclusive<u32>) -> Vec<u8> {
    let titles: Vec<&str> = (1..=pages)
        .map(|n| {
            if failing.contains(&n) {
                "Book sim:fail-job"
            } else {
                "Book"
            }
        })
        .collect();
    sample::pdf_of_pages(&titles)
}

fn check(input: &[u8], folder: &Path, missing: &[u32], name: &str) {
    if let Err(e) = sample::check_outputs(input, folder, missing) {
        panic!("{name}: {e}");
    }
}

#[test]
fn run_cuts_a_25_page_pdf_into_3_jobs_and_stitches_every_page_in_place() {
    for doc_ai in [false, true] {
        let sim = Simulator::start(fast_sim()).unwrap();
        let config = if doc_ai {
            doc_ai_config(&sim)
        } else {
            config_for(&sim)
        };
        let bytes = book(25, 0..=0);
        let mut jobs_before = 0;
        for_each_client!(config.clone(), fast_policy(), |name, client| {
            let (_d, input) = input_file("book.pdf", &bytes);
            let out = tempfile::tempdir().unwrap();
            let report = client
                .run(&input, &RunOptions::new(out.path()), |_| {})
                .await
                .unwrap();
            assert!(
                matches!(report.outcome, Outcome::Completed { .. }),
                "{name}: {}",
                report.outcome
            );
            assert_eq!(report.chunks.len(), 3, "{name}");
            assert!(report.missing_pages.is_empty(), "{name}");
            assert_eq!(report.output, [out.path().join("book")], "{name}");
            check(&bytes, &out.path().join("book"), &[], name);
            // The work folder (the cut chunks, their jobs' outputs) is gone.
            assert_eq!(files_in(out.path()), ["book"], "{name}");
            let jobs = if doc_ai {
                sim.doc_ai_jobs()
            } else {
                sim.started_jobs()
            };
            assert_eq!(jobs - jobs_before, 3, "{name}: one job a chunk");
            jobs_before = jobs;
        });
    }
}

#[test]
fn run_of_a_long_input_with_a_failed_chunk_keeps_the_rest_and_names_the_missing_pages() {
    let sim = Simulator::start(fast_sim()).unwrap();
    let bytes = book(25, 11..=20);
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        let (_d, input) = input_file("book.pdf", &bytes);
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |_| {})
            .await
            .unwrap();
        assert_eq!(
            report.missing_pages,
            (11..=20).collect::<Vec<_>>(),
            "{name}"
        );
        assert!(
            matches!(report.outcome, Outcome::Failed { .. }),
            "{name}: the failed chunk's"
        );
        assert!(
            report.chunks[1]
                .outcome
                .as_ref()
                .is_some_and(|o| o.kind() == "failed"),
            "{name}"
        );
        let missing: Vec<u32> = (11..=20).collect();
        check(&bytes, &out.path().join("book"), &missing, name);
    });
}

#[test]
fn run_all_cuts_long_inputs_and_sends_short_ones_whole() {
    let sim = Simulator::start(fast_sim()).unwrap();
    let long = book(25, 0..=0);
    let short = book(3, 0..=0);
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("long.pdf");
        let b = dir.path().join("short.pdf");
        std::fs::write(&a, &long).unwrap();
        std::fs::write(&b, &short).unwrap();
        let out = dir.path().join("out");
        let before = sim.started_jobs();
        let results = client
            .run_all(vec![a, b], &RunOptions::new(&out), 4, |_, _| {})
            .await;
        assert!(results.iter().all(Result::is_ok), "{name}: {results:?}");
        assert_eq!(
            sim.started_jobs() - before,
            4,
            "{name}: 3 chunks and 1 whole"
        );
        check(&long, &out.join("long"), &[], name);
        check(&short, &out.join("short"), &[], name);
    });
}

#[test]
fn a_batch_on_both_transports_cuts_stitches_and_skips_the_book_on_a_rerun() {
    let sim = Simulator::start(fast_sim()).unwrap();
    let bytes = book(25, 0..=0);
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        let (_d, input) = input_file("book.pdf", &bytes);
        let out = tempfile::tempdir().unwrap();
        let options = BatchOptions::new(RunOptions::new(out.path()).with_page_limit(Some(7)));
        let plan = client
            .plan_batch(vec![input.clone()], &options)
            .await
            .unwrap();
        assert_eq!(plan.inputs[0].chunks.len(), 4, "{name}");
        assert_eq!(plan.jobs_to_send(), 4, "{name}");
        let before = sim.started_jobs();
        let items = client
            .run_batch(plan, &options, 4, |_, _| {})
            .await
            .unwrap();
        assert!(items[0].result.is_ok(), "{name}: {:?}", items[0].result);
        assert!(items[0].missing_pages.is_empty(), "{name}");
        assert_eq!(sim.started_jobs() - before, 4, "{name}");
        check(&bytes, &out.path().join("book"), &[], name);

        let plan = client.plan_batch(vec![input], &options).await.unwrap();
        assert!(
            plan.inputs[0].stitched,
            "{name}: the rerun finds the book done"
        );
        assert_eq!(plan.jobs_to_send(), 0, "{name}");
        let requests = sim.requests().len();
        let items = client
            .run_batch(plan, &options, 4, |_, _| {})
            .await
            .unwrap();
        assert_eq!(items[0].done, Done::Skipped, "{name}");
        assert_eq!(sim.requests().len(), requests, "{name}: nothing sent");
    });
}

#[test]
fn an_extraction_over_the_limit_is_refused_by_run_before_anything_is_sent() {
    use sarvam_doc_core::doc_ai::{Extract, ExtractSource, Task};
    let sim = Simulator::start(fast_sim()).unwrap();
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        let (_d, input) = input_file("form.pdf", &book(12, 0..=0));
        let out = tempfile::tempdir().unwrap();
        let task = Task::Extract(Extract::new(ExtractSource::ConfigId("cfg_1".into())));
        let before = sim.requests().len();
        let result = client
            .run(&input, &RunOptions::new(out.path()).with_job(task), |_| {})
            .await;
        let Err(RunError::Core(e)) = &result else {
            panic!("{name}: {result:?}")
        };
        assert!(
            e.to_string().contains("cannot be joined across jobs"),
            "{name}: {e}"
        );
        assert_eq!(sim.requests().len(), before, "{name}");
    });
}
