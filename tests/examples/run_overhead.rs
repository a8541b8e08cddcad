//! Client overhead of a whole run: a 3-page PDF through create → upload →
//! start → watch → download against a simulator that processes in zero
//! time, polling again after 1 ms instead of the default policy's 1 s, so
//! the wall time is the client's and the loopback's alone.
//!
//! `cargo run --release -p sarvam-doc-tests --example run_overhead [RUNS]`
#![allow(clippy::print_stdout, clippy::unwrap_used)] // A measuring tool: it prints, and fails loudly.

use std::time::{Duration, Instant};

use sarvam_doc_core::{Outcome, Policy, policy::PollPolicy};
use sarvam_doc_driver::{Layout, RunOptions};
use sarvam_doc_sim::{SimConfig, Simulator, sample};
use sarvam_doc_tests::{config_for, for_each_transport, input_file};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let mut config = SimConfig::default();
    config.queue_time = Duration::ZERO;
    config.page_time = Duration::ZERO;
    let sim = Simulator::start(config).unwrap();
    let (_dir, input) = input_file("three.pdf", &sample::pdf(3, "overhead"));
    let policy = Policy::default().with_poll(PollPolicy::fixed(Duration::from_millis(1)));
    for_each_transport!(config_for(&sim), policy.clone(), |name, client| {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let out = tempfile::tempdir().unwrap();
            let started = Instant::now();
            let options = RunOptions::new(out.path()).with_layout(Layout::Zips);
            let report = client.run(&input, &options, |_| {}).await.unwrap();
            times.push(started.elapsed());
            assert!(matches!(report.outcome, Outcome::Completed { .. }));
        }
        report(name, &mut times);
    });
}

fn report(name: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{name:>5}: whole run of a 3-page PDF, zero processing: median {:.2} ms, p90 {:.2} ms, min {:.2} ms ({} runs, 7 requests each)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times.len()
    );
}
