//! A batch under a rate limit: 200 three-page documents through `run`
//! against the simulator with a per-key limit, on a clock run faster than
//! real time (simulator and client at the same scale), for three clients in
//! the same run:
//!
//! - **budget**: the shared request budget at the limit's rate (`--rate`);
//! - **learned**: the shared budget with no rate given, learning it from 429s;
//! - **fixed 2 s**: the same machines, each polling every 2 s and retrying
//!   its own 429s, with no shared budget (what the official SDKs do).
//!
//! Reported: wall time in simulated minutes, API requests, 429s, and the
//! ideal bound (the fewest API requests the batch needs, divided by the rate).
//!
//! `cargo bench -p sarvam-doc-tests --bench rate` (`RATE_DOCS`, default 200).
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)] // A benchmark that reports.

use std::time::{Duration, Instant};

use sarvam_doc_core::{
    Outcome, Policy,
    budget::Rate,
    config::ApiVersion,
    policy::{PollPolicy, RetryPolicy},
};
use sarvam_doc_driver::{Clock, RunOptions};
use sarvam_doc_sim::{Origin, RateLimit, SimConfig, Simulator, sample};
use sarvam_doc_tests::{config_for, doc_ai_config, hyper_client, runtime};

/// The fewest API requests one document needs: legacy create, upload-files,
/// start, one status that sees the end, download-files; `/doc-ai/v1`
/// presign, submit, one status, download-url. (Storage is not rate-limited.)
fn requests_per_doc(api: ApiVersion) -> u64 {
    match api {
        ApiVersion::DocAi => 4,
        _ => 5,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Budget,
    Learned,
    Fixed2s,
}

struct Row {
    minutes: f64,
    /// Stopped at ten times the ideal, unfinished.
    capped: bool,
    requests: usize,
    throttled: usize,
    completed: usize,
}

fn run(
    api: ApiVersion,
    limit: u32,
    strict: bool,
    mode: Mode,
    docs: usize,
    scale: f64,
    ideal: f64,
) -> Row {
    let mut config = SimConfig::default();
    config.queue_time = Duration::from_secs(10);
    config.page_time = Duration::from_secs(5);
    config.max_pages = 10;
    config.rate_limit = Some(
        RateLimit::per_minute(limit)
            .with_burst(5)
            .counting_refused(strict),
    );
    config.time_scale = scale;
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<_> = (0..docs)
        .map(|i| {
            let path = dir.path().join(format!("doc-{i:03}.pdf"));
            std::fs::write(&path, sample::pdf(3, &format!("doc {i}"))).unwrap();
            path
        })
        .collect();
    let out = tempfile::tempdir().unwrap();
    let client_config = match api {
        ApiVersion::DocAi => doc_ai_config(&sim),
        _ => config_for(&sim),
    };
    let runtime = runtime();
    let _entered = runtime.enter();
    let mut policy = Policy::default().with_deadline(Some(Duration::from_secs(6 * 3600)));
    if mode == Mode::Fixed2s {
        // Every 2 s, and a job's 429s retried for as long as it takes, each
        // after the server's Retry-After: a user's loop around an SDK.
        let two = Duration::from_secs(2);
        policy = policy
            .with_poll(PollPolicy::new(two, two, 1))
            .with_retry(RetryPolicy::new(
                10_000,
                Duration::from_secs(1),
                Duration::from_secs(2),
            ));
    }
    let client = hyper_client(client_config, policy).with_clock(Clock::scaled(scale));
    let client = match mode {
        Mode::Budget => client.with_rate(Some(Rate::per_minute(limit))),
        Mode::Learned => client.with_rate(None),
        Mode::Fixed2s => client.without_budget(),
    };
    let started = Instant::now();
    // A client that cannot get through is stopped at ten times the ideal.
    let cap = Duration::from_secs_f64(ideal * 10.0 * 60.0 / scale);
    let results = runtime.block_on(async {
        tokio::time::timeout(
            cap,
            client.run_all(inputs, &RunOptions::new(out.path()), 16, |_, _| {}),
        )
        .await
    });
    let capped = results.is_err();
    let results = results.unwrap_or_default();
    let minutes = started.elapsed().as_secs_f64() * scale / 60.0;
    let completed = results
        .iter()
        .filter(|r| matches!(r, Ok(report) if matches!(report.outcome, Outcome::Completed { .. })))
        .count();
    let log = sim.requests();
    let api_requests: Vec<_> = log.iter().filter(|r| r.origin == Origin::Api).collect();
    Row {
        minutes,
        capped,
        requests: api_requests.len(),
        throttled: api_requests
            .iter()
            .filter(|r| r.status == Some(429))
            .count(),
        completed,
    }
}

fn main() {
    let docs: usize = std::env::var("RATE_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    println!(
        "{docs} three-page documents, 16 at a time; the simulator queues a job 10 s and runs 5 s a page (simulated time)\n"
    );
    println!(
        "{:<8} {:>6} {:<10} {:>9} {:>9} {:>8} {:>9} {:>7} {:>9} {:>10}",
        "api",
        "limit",
        "client",
        "minutes",
        "÷ ideal",
        "requests",
        "429s",
        "429 %",
        "completed",
        "÷ fixed 2s"
    );
    // A limiter that counts only the requests it accepts (most token
    // buckets), and one that counts refused requests too (a window counter).
    let sets = std::env::var("RATE_SETS").unwrap_or_default();
    for (set, api, limit, strict, scale) in [
        ("legacy60", ApiVersion::Legacy, 60, false, 60.0),
        ("legacy20", ApiVersion::Legacy, 20, false, 180.0),
        ("doc-ai60", ApiVersion::DocAi, 60, false, 60.0),
        ("strict60", ApiVersion::Legacy, 60, true, 60.0),
    ] {
        if !sets.is_empty() && !sets.contains(set) {
            continue;
        }
        let ideal = (docs as u64 * requests_per_doc(api)) as f64 / f64::from(limit);
        let only = std::env::var("RATE_MODES").unwrap_or_default();
        let rows: Vec<(Mode, Row)> = [Mode::Budget, Mode::Learned, Mode::Fixed2s]
            .into_iter()
            .filter(|m| only.is_empty() || only.contains(&format!("{m:?}").to_lowercase()))
            .map(|mode| {
                let t = Instant::now();
                let row = run(api, limit, strict, mode, docs, scale, ideal);
                eprintln!(
                    "  ({set} {mode:?}: {:.1} s real)",
                    t.elapsed().as_secs_f64()
                );
                (mode, row)
            })
            .collect();
        let baseline = rows
            .iter()
            .find(|(m, _)| *m == Mode::Fixed2s)
            .map_or(1.0, |(_, r)| r.minutes);
        for (mode, row) in &rows {
            println!(
                "{:<8} {:>4}/m {:<10} {}{:>8.1} {:>8.2}x {:>8} {:>9} {:>6.1}% {:>5}/{docs} {:>9.2}x",
                match (api, strict) {
                    (ApiVersion::DocAi, _) => "doc-ai",
                    (_, true) => "legacy*",
                    _ => "legacy",
                },
                limit,
                match mode {
                    Mode::Budget => "budget",
                    Mode::Learned => "learned",
                    Mode::Fixed2s => "fixed 2s",
                },
                if row.capped { ">" } else { " " },
                row.minutes,
                row.minutes / ideal,
                row.requests,
                row.throttled,
                row.throttled as f64 * 100.0 / row.requests.max(1) as f64,
                row.completed,
                baseline / row.minutes,
            );
        }
        println!(
            "{:<8} {:>4}/m {:<10} {:>9.1}   (ideal: {} requests ÷ {limit}/min)\n",
            "",
            limit,
            "ideal",
            ideal,
            docs as u64 * requests_per_doc(api)
        );
    }
}
