//! The transports' cost per status poll, side by side with the floor a thin
//! client can approach (a raw hyper client and a raw ureq loop doing the
//! same GET plus a `serde_json::Value` parse), against the simulator and
//! against a minimal static server; then 64 and 10,000 concurrent watches
//! through the hyper transport, measured in a child process for its RSS.
//!
//! Then, against the static server, each side in a child process of its
//! own, in interleaved rounds (floor, ours, floor, ours, …): the blocking
//! client's CPU per `status` (every thread of the child, from
//! `/proc/self/task/*/schedstat`) beside a raw ureq agent plus a `Value` parse, and the
//! async client's peak RSS (`VmHWM`) with 64 tasks polling `status` beside a
//! raw hyper-util client plus a `Value` parse.
//!
//! `cargo bench -p sarvam-doc-tests --bench load` (`LOAD_SECS`, default 3,
//! sets each measurement's length; `LOAD_ROUNDS`, default 7, the rounds;
//! `LOAD_PARTS`, default `poll,rounds,watches`, which parts run).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)] // A measuring tool: it prints, and fails loudly.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use sarvam_doc_core::{ApiKey, Config, JobId, config::ApiVersion};
use sarvam_doc_sim::{Route, SimConfig, Simulator};
use sarvam_doc_tests::{config_for, started_job, ureq_client};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--watches-child") {
        child(&args[2..]);
        return;
    }
    if args.get(1).map(String::as_str) == Some("--cpu-child") {
        cpu_child(&args[2..]);
        return;
    }
    if args.get(1).map(String::as_str) == Some("--rss-child") {
        rss_child(&args[2..]);
        return;
    }
    let parts = std::env::var("LOAD_PARTS").unwrap_or_else(|_| "poll,rounds,watches".into());
    let rounds: usize = std::env::var("LOAD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let secs: u64 = std::env::var("LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let window = Duration::from_secs(secs);

    let mut config = SimConfig::default();
    config.page_time = Duration::from_secs(24 * 3600);
    let sim = Simulator::start(config).unwrap();
    let job = start_job(&sim);
    let body = get_body(
        &format!("{}/doc-digitization/job/v1/{job}/status", sim.api_url()),
        sim.api_key(),
    );
    let fixed = static_server(body.clone());
    if parts.contains("rounds") {
        interleaved(fixed, sim.api_key(), &job, rounds, window);
    }
    if !parts.contains("poll") && !parts.contains("watches") {
        return;
    }
    println!(
        "status body: {} bytes; each row runs {secs} s on one thread; CPU is that thread's (schedstat)\n",
        body.len()
    );
    println!(
        "{:<10} {:<18} {:>12} {:>14} {:>10}",
        "server", "client", "polls/s", "CPU µs/poll", "vs floor"
    );
    let ai_job = start_doc_ai_job(&sim);
    let servers = if parts.contains("poll") { 3 } else { 0 };
    for (server, base, version, job) in [
        ("simulator", sim.api_url(), ApiVersion::Legacy, job.clone()),
        ("sim doc-ai", sim.api_url(), ApiVersion::DocAi, ai_job),
        (
            "static",
            format!("http://{fixed}"),
            ApiVersion::Legacy,
            job.clone(),
        ),
    ]
    .into_iter()
    .take(servers)
    {
        let url = match version {
            ApiVersion::DocAi => format!("{base}/doc-ai/v1/job/{job}/status"),
            _ => format!("{base}/doc-digitization/job/v1/{job}/status"),
        };
        let key = sim.api_key().to_owned();
        let config = Config::builder(ApiKey::new(&key).unwrap())
            .base_url(&base)
            .api_version(version)
            .build()
            .unwrap();
        let rows = [
            ("raw ureq + Value", measure(window, raw_ureq(&url, &key))),
            (
                "sarvam-doc-ureq",
                measure(window, ureq_transport(config.clone(), job.clone())),
            ),
            (
                "raw hyper + Value",
                measure_async(window, url.clone(), key.clone(), None),
            ),
            (
                "sarvam-doc-hyper",
                measure_async(
                    window,
                    url.clone(),
                    key.clone(),
                    Some((config, job.clone())),
                ),
            ),
        ];
        for (i, (name, (rate, cpu))) in rows.iter().enumerate() {
            let floor = rows[i - i % 2].1.1;
            println!(
                "{server:<10} {name:<18} {rate:>12.0} {:>14.2} {:>9.2}x",
                cpu * 1e6,
                cpu / floor
            );
        }
    }
    println!();
    if !parts.contains("watches") {
        return;
    }
    drop(sim);
    // A fresh simulator, so the log of the runs above does not slow it.
    let mut config = SimConfig::default();
    config.page_time = Duration::from_secs(24 * 3600);
    let sim = Simulator::start(config).unwrap();
    let job = start_job(&sim);
    for n in [64usize, 10_000] {
        concurrent(&sim, &job, n, window.max(Duration::from_secs(5)));
    }
}

/// Runs `poll` on this thread for `window`: polls per second, CPU seconds per poll.
fn measure(window: Duration, mut poll: impl FnMut()) -> (f64, f64) {
    for _ in 0..200 {
        poll();
    }
    let (cpu0, t0) = (thread_cpu(), Instant::now());
    let mut n = 0u64;
    while t0.elapsed() < window {
        poll();
        n += 1;
    }
    let (cpu, wall) = (thread_cpu() - cpu0, t0.elapsed());
    (n as f64 / wall.as_secs_f64(), cpu.as_secs_f64() / n as f64)
}

/// The same on a current-thread runtime, so all the client's work is on this thread.
fn measure_async(
    window: Duration,
    url: String,
    key: String,
    transport: Option<(Config, JobId)>,
) -> (f64, f64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let raw: hyper_util::client::legacy::Client<_, Empty<Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(hyper_util::client::legacy::connect::HttpConnector::new());
        let ours = transport.map(|(config, job)| (sarvam_doc_hyper::Client::new(config), job));
        let uri: hyper::Uri = url.parse().unwrap();
        let poll = async || {
            if let Some((client, job)) = &ours {
                std::hint::black_box(client.status(job).await.unwrap());
            } else {
                let req = hyper::Request::get(uri.clone())
                    .header("api-subscription-key", &key)
                    .body(Empty::new())
                    .unwrap();
                let body = raw
                    .request(req)
                    .await
                    .unwrap()
                    .into_body()
                    .collect()
                    .await
                    .unwrap()
                    .to_bytes();
                std::hint::black_box(serde_json::from_slice::<serde_json::Value>(&body).unwrap());
            }
        };
        for _ in 0..200 {
            poll().await;
        }
        let (cpu0, t0) = (thread_cpu(), Instant::now());
        let mut n = 0u64;
        while t0.elapsed() < window {
            poll().await;
            n += 1;
        }
        let (cpu, wall) = (thread_cpu() - cpu0, t0.elapsed());
        (n as f64 / wall.as_secs_f64(), cpu.as_secs_f64() / n as f64)
    })
}

fn raw_ureq(url: &str, key: &str) -> impl FnMut() {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let (url, key) = (url.to_owned(), key.to_owned());
    move || {
        let body = agent
            .get(&url)
            .header("api-subscription-key", &key)
            .call()
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap();
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(&body).unwrap());
    }
}

fn ureq_transport(config: Config, job: JobId) -> impl FnMut() {
    let client = sarvam_doc_ureq::Client::new(config);
    move || {
        std::hint::black_box(client.status(&job).unwrap());
    }
}

/// This thread's CPU time so far, from the kernel's schedstat (ns).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(
        text.split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    )
}

/// A process's memory figure from /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `n` concurrent watches of a job that never ends, in a child process.
fn concurrent(sim: &Simulator, job: &JobId, n: usize, window: Duration) {
    let before = sim.count(Route::Status);
    let t0 = Instant::now();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--watches-child",
            &n.to_string(),
            &sim.api_url(),
            sim.api_key(),
            &job.to_string(),
            &window.as_secs().to_string(),
        ])
        .output()
        .unwrap();
    let wall = t0.elapsed();
    let polls = sim.count(Route::Status) - before;
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let [base, peak, ..] = nums[..] else {
        panic!(
            "child said {text:?} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    };
    println!(
        "{n:>6} concurrent watches (hyper): {:>8.0} polls/s over {:.1} s; peak RSS {:.1} MiB ({:.1} MiB before the watches); {:.1} KiB per watch",
        polls as f64 / wall.as_secs_f64(),
        wall.as_secs_f64(),
        peak as f64 / 1024.0,
        base as f64 / 1024.0,
        (peak.saturating_sub(base)) as f64 / n as f64
    );
}

fn child(args: &[String]) {
    let n: usize = args[0].parse().unwrap();
    let (url, key) = (args[1].clone(), args[2].clone());
    let job: JobId = args[3].parse().unwrap();
    let secs: u64 = args[4].parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let config = Config::builder(ApiKey::new(&key).unwrap())
            .base_url(&url)
            .build()
            .unwrap();
        let client = sarvam_doc_hyper::Client::new(config);
        let base = status_kib("VmRSS:");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let (client, job) = (client.clone(), job.clone());
            tasks.spawn(async move { client.watch(job, |_| {}).await });
            // Spread the first polls over about a second, as jobs started over time would be.
            if i % (n / 100).max(1) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let peak = status_kib("VmHWM:");
        println!("{base} {peak}");
        std::process::exit(0);
    });
}

/// Presigns, uploads and submits a `/doc-ai/v1` job that will run for a day.
fn start_doc_ai_job(sim: &Simulator) -> JobId {
    use sarvam_doc_core::doc_ai::{Digitise, Task};
    let client = ureq_client(
        sarvam_doc_tests::doc_ai_config(sim),
        sarvam_doc_core::Policy::default(),
    );
    let upload = sarvam_doc_tests::block_on(client.presign(Some("application/pdf"))).unwrap();
    sarvam_doc_tests::put_presigned(&upload, &sarvam_doc_sim::sample::pdf(3, "load"));
    let task = Task::Digitise(Digitise::default());
    sarvam_doc_tests::block_on(client.submit(&task, &[upload.upload_id.as_str()]))
        .unwrap()
        .job_id
}

/// Creates, uploads and starts a job that will run for a day.
fn start_job(sim: &Simulator) -> JobId {
    let client = ureq_client(config_for(sim), sarvam_doc_core::Policy::default());
    sarvam_doc_tests::block_on(started_job(&client, "load.pdf", 3))
}

fn get_body(url: &str, key: &str) -> Bytes {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    Bytes::from(
        agent
            .get(url)
            .header("api-subscription-key", key)
            .call()
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap(),
    )
}

/// A server that answers every request with `body`, on its own thread.
fn static_server(body: Bytes) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(body);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let body = body.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_req| {
                        let body = body.clone();
                        async move {
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new((*body).clone()))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

/// Floor and ours in child processes, alternating, `rounds` times: the
/// blocking client's CPU per request, then the async client's peak RSS.
fn interleaved(server: SocketAddr, key: &str, job: &JobId, rounds: usize, window: Duration) {
    let base = format!("http://{server}");
    let run = |mode: &str, side: &str| -> (f64, f64) {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                mode,
                side,
                &base,
                key,
                &job.to_string(),
                &window.as_millis().to_string(),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let nums: Vec<f64> = text
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if let [_, _, anon, file] = nums[..] {
            println!("  {side}: at the end {anon} KiB anonymous, {file} KiB of files");
        }
        let [figure, rate, ..] = nums[..] else {
            panic!(
                "child said {text:?} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        };
        (figure, rate)
    };
    println!(
        "static server, {rounds} rounds of (floor, ours), each side a child process for {} ms",
        window.as_millis()
    );
    for (mode, floor, ours, what) in [
        (
            "--cpu-child",
            "raw-ureq",
            "sarvam-doc-ureq",
            "CPU µs/request (all threads of the process)",
        ),
        (
            "--rss-child",
            "raw-hyper",
            "sarvam-doc-hyper",
            "peak RSS KiB, 64 tasks polling",
        ),
    ] {
        let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let x = run(mode, floor);
            let y = run(mode, ours);
            ratios.push(y.0 / x.0);
            a.push(x);
            b.push(y);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let rounds_text: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
        let (mut fa, mut fb) = (
            a.iter().map(|x| x.0).collect::<Vec<_>>(),
            b.iter().map(|x| x.0).collect::<Vec<_>>(),
        );
        let (mut ra, mut rb) = (
            a.iter().map(|x| x.1).collect::<Vec<_>>(),
            b.iter().map(|x| x.1).collect::<Vec<_>>(),
        );
        println!(
            "{what}: {floor} {:.2} ({:.0} req/s), {ours} {:.2} ({:.0} req/s); ratio median {:.3}, min {:.3}, max {:.3}; rounds [{}]",
            median(&mut fa),
            median(&mut ra),
            median(&mut fb),
            median(&mut rb),
            median(&mut ratios),
            ratios[0],
            ratios[ratios.len() - 1],
            rounds_text.join(", ")
        );
    }
    println!();
}

/// The child's arguments: side, base URL, key, job, milliseconds.
fn child_args(args: &[String]) -> (String, String, String, JobId, Duration) {
    (
        args[0].clone(),
        args[1].clone(),
        args[2].clone(),
        args[3].parse().unwrap(),
        Duration::from_millis(args[4].parse().unwrap()),
    )
}

/// One side's CPU per request (µs, every thread of this process) and requests per second.
fn cpu_child(args: &[String]) {
    let (side, base, key, job, window) = child_args(args);
    let url = format!("{base}/doc-digitization/job/v1/{job}/status");
    let mut poll: Box<dyn FnMut()> = if side == "raw-ureq" {
        Box::new(raw_ureq(&url, &key))
    } else {
        let config = Config::builder(ApiKey::new(&key).unwrap())
            .base_url(&base)
            .build()
            .unwrap();
        Box::new(ureq_transport(config, job))
    };
    for _ in 0..500 {
        poll();
    }
    let ((cpu0, threads0), t0) = (process_cpu(), Instant::now());
    let mut n = 0u64;
    while t0.elapsed() < window {
        poll();
        n += 1;
    }
    let ((cpu1, threads1), wall) = (process_cpu(), t0.elapsed());
    let cpu = cpu1 - cpu0;
    assert_eq!(
        threads0, threads1,
        "a thread came or went: its time is not all counted"
    );
    println!(
        "{} {}",
        cpu.as_secs_f64() * 1e6 / n as f64,
        n as f64 / wall.as_secs_f64()
    );
}

/// This process's CPU time, all its threads (the sum of each thread's
/// `/proc/self/task/*/schedstat`, in ns; `/proc/self/stat`'s user + system
/// time counts the same but in 10 ms ticks), and how many threads it has:
/// a thread that ended between two readings would take its time with it.
fn process_cpu() -> (Duration, usize) {
    let mut total = Duration::ZERO;
    let mut threads = 0;
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = entry.unwrap().path().join("schedstat");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let ns: u64 = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        total += Duration::from_nanos(ns);
        threads += 1;
    }
    (total, threads)
}

/// One side's peak RSS (KiB) with 64 tasks polling status on a 2-thread
/// runtime, and its requests per second.
fn rss_child(args: &[String]) {
    let (side, base, key, job, window) = child_args(args);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let polls = rt.block_on(async move {
        let raw: hyper_util::client::legacy::Client<_, Empty<Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(hyper_util::client::legacy::connect::HttpConnector::new());
        let ours = (side != "raw-hyper").then(|| {
            let config = Config::builder(ApiKey::new(&key).unwrap())
                .base_url(&base)
                .build()
                .unwrap();
            sarvam_doc_hyper::Client::new(config)
        });
        let uri: hyper::Uri = format!("{base}/doc-digitization/job/v1/{job}/status")
            .parse()
            .unwrap();
        let end = Instant::now() + window;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (raw, ours, uri, key, job) = (
                raw.clone(),
                ours.clone(),
                uri.clone(),
                key.clone(),
                job.clone(),
            );
            tasks.spawn(async move {
                let mut n = 0u64;
                while Instant::now() < end {
                    if let Some(client) = &ours {
                        std::hint::black_box(client.status(&job).await.unwrap());
                    } else {
                        let req = hyper::Request::get(uri.clone())
                            .header("api-subscription-key", &key)
                            .body(Empty::new())
                            .unwrap();
                        let body = raw
                            .request(req)
                            .await
                            .unwrap()
                            .into_body()
                            .collect()
                            .await
                            .unwrap()
                            .to_bytes();
                        std::hint::black_box(
                            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
                        );
                    }
                    n += 1;
                }
                n
            });
        }
        let mut polls = 0;
        while let Some(n) = tasks.join_next().await {
            polls += n.unwrap();
        }
        polls
    });
    // The peak, the rate, and what is resident at the end: heap and such
    // (anonymous) and the binary's pages (file).
    println!(
        "{} {} {} {}",
        status_kib("VmHWM:"),
        polls as f64 / window.as_secs_f64(),
        status_kib("RssAnon:"),
        status_kib("RssFile:")
    );
}
