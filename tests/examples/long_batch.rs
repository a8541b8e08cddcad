//! A 300-page PDF at a page limit of 10 (30 jobs) with 16 at once, against
//! the simulator at a realistic pace, through the batch the CLI runs
//! (`plan_batch`, `run_batch`, hyper): its wall time beside the ideal for
//! that concurrency (job rounds × the time of one 10-page job run alone,
//! measured the same way), the jobs the simulator started, and whether
//! every page came back once and in its place.
//!
//! `cargo run --release -p sarvam-doc-tests --example long_batch [QUEUE_MS PAGE_MS]`
//! (default 3000 ms in the queue and 500 ms a page: a 10-page job takes
//! some 8 s, as a real one does).
#![allow(clippy::print_stdout, clippy::unwrap_used)] // A measuring tool: it prints, and fails loudly.

use std::time::{Duration, Instant};

use sarvam_doc_core::Policy;
use sarvam_doc_driver::{BatchOptions, RunOptions};
use sarvam_doc_sim::{SimConfig, Simulator, sample};
use sarvam_doc_tests::{config_for, hyper_client, input_file, runtime};

const PAGES: u32 = 300;
const LIMIT: u32 = 10;
const CONCURRENCY: usize = 16;

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let mut config = SimConfig::default();
    config.queue_time = Duration::from_millis(arg(1, 3000));
    config.page_time = Duration::from_millis(arg(2, 500));
    let sim = Simulator::start(config).unwrap();
    let runtime = runtime();
    let client = {
        let _entered = runtime.enter();
        hyper_client(config_for(&sim), Policy::default())
    };
    let run = |name: &str, pages: u32| {
        let bytes = sample::pdf(pages, "Gazette");
        let (_dir, input) = input_file(name, &bytes);
        let out = tempfile::tempdir().unwrap();
        let options = BatchOptions::new(RunOptions::new(out.path()).with_page_limit(Some(LIMIT)));
        let started_jobs = sim.started_jobs();
        let started = Instant::now();
        let items = runtime.block_on(async {
            let plan = client.plan_batch(vec![input], &options).await.unwrap();
            client
                .run_batch(plan, &options, CONCURRENCY, |_, _| {})
                .await
                .unwrap()
        });
        let wall = started.elapsed();
        assert!(items[0].result.is_ok(), "{:?}", items[0].result);
        let folder = out.path().join(name.trim_end_matches(".pdf"));
        let whole = sample::check_outputs(&bytes, &folder, &[]);
        let page_files = std::fs::read_dir(&folder)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("page_"))
            })
            .count();
        (wall, sim.started_jobs() - started_jobs, whole, page_files)
    };
    let (one, one_jobs, _, _) = run("one.pdf", LIMIT);
    assert_eq!(one_jobs, 1);
    let (wall, jobs, whole, page_files) = run("book.pdf", PAGES);
    let rounds = PAGES
        .div_ceil(LIMIT)
        .div_ceil(u32::try_from(CONCURRENCY).unwrap());
    let ideal = one * rounds;
    println!(
        "one {LIMIT}-page job alone: {:.2} s; {PAGES} pages at --page-limit {LIMIT}, --concurrency {CONCURRENCY}: \
         {:.2} s = {:.3}x the ideal {:.2} s ({rounds} rounds of one job); {jobs} jobs started; \
         {page_files} page files; every page once and in its place: {}",
        one.as_secs_f64(),
        wall.as_secs_f64(),
        wall.as_secs_f64() / ideal.as_secs_f64(),
        ideal.as_secs_f64(),
        whole.map_or_else(|e| format!("no ({e})"), |()| "yes".to_owned()),
    );
}
