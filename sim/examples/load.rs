//! Status requests per second the simulator serves: one keep-alive
//! connection in sequence, and 64 connections at once. Raw HTTP/1.1 over
//! TCP, so the client costs as little as it can.
//!
//! `cargo run --release -p sarvam-doc-sim --example load [SECONDS]`
#![allow(clippy::print_stdout, clippy::unwrap_used)] // A measuring tool: it prints, and fails loudly.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sarvam_doc_sim::{SimConfig, Simulator, sample};

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let sim = Simulator::start(SimConfig::default()).unwrap();
    let job = make_job(&sim);
    let request = format!(
        "GET /doc-digitization/job/v1/{job}/status HTTP/1.1\r\nhost: sim\r\napi-subscription-key: {}\r\n\r\n",
        sim.api_key()
    );
    for connections in [1usize, 64] {
        let until = Instant::now() + Duration::from_secs(secs);
        let addr = sim.api_addr();
        let threads: Vec<_> = (0..connections)
            .map(|_| {
                let request = request.clone();
                std::thread::spawn(move || poll_until(addr, &request, until))
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        println!(
            "{connections:>3} connection(s): {:>8.0} status requests/s ({total} in {secs} s)",
            total as f64 / secs as f64
        );
    }
}

fn poll_until(addr: SocketAddr, request: &str, until: Instant) -> u64 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut n = 0;
    while Instant::now() < until {
        stream.write_all(request.as_bytes()).unwrap();
        read_response(&mut stream, &mut buf);
        n += 1;
    }
    n
}

/// Reads one response with a Content-Length body.
fn read_response(stream: &mut TcpStream, buf: &mut [u8]) {
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).unwrap();
        assert!(n > 0, "the simulator closed the connection");
        filled += n;
        let text = &buf[..filled];
        if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&text[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap();
            if filled >= end + 4 + len {
                assert!(head.starts_with("http/1.1 200"), "{head}");
                return;
            }
        }
    }
}

/// Creates, uploads and starts a 3-page job through plain HTTP.
fn make_job(sim: &Simulator) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let base = format!("{}/doc-digitization/job/v1", sim.api_url());
    let key = sim.api_key();
    let job: serde_json::Value = serde_json::from_slice(
        &agent
            .post(&base)
            .header("api-subscription-key", key)
            .send("{}")
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap(),
    )
    .unwrap();
    let id = job["job_id"].as_str().unwrap().to_owned();
    let up: serde_json::Value = serde_json::from_slice(
        &agent
            .post(format!("{base}/upload-files"))
            .header("api-subscription-key", key)
            .send(format!(r#"{{"job_id":"{id}","files":["a.pdf"]}}"#))
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap(),
    )
    .unwrap();
    let url = up["upload_urls"]["a.pdf"]["file_url"].as_str().unwrap();
    agent
        .put(url)
        .header("x-ms-blob-type", "BlockBlob")
        .send(&sample::pdf(3, "load")[..])
        .unwrap();
    agent
        .post(format!("{base}/{id}/start"))
        .header("api-subscription-key", key)
        .send_empty()
        .unwrap();
    id
}
