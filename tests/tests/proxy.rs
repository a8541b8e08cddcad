//! Proxies from the environment: both transports, and the CLI, send https
//! traffic through `HTTPS_PROXY` (as a CONNECT tunnel) and honour
//! `NO_PROXY`. A loopback proxy records what reaches it and refuses the
//! tunnel, so nothing leaves the machine.
//!
//! Environment variables are read when a client is made; tests cannot set
//! them in their own process without `unsafe`, so each case runs in a child
//! process of this same test binary with the variables set.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

use sarvam_doc_core::{ApiKey, Config, Error, TransportErrorKind, model::CreateJobRequest};
use sarvam_doc_sim::Simulator;
use sarvam_doc_tests::{
    block_on, fast_policy, for_each_transport, hyper_client, runtime, ureq_client,
};

const CHILD: &str = "SARVAM_DOC_PROXY_TEST_CHILD";

/// A proxy on loopback that writes down each request line and answers 502.
fn proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_ok() {
                log.lock().unwrap().push(line.trim().to_owned());
            }
            // The rest of the head, so the refusal is read, not a reset.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let _ = reader.get_mut().write_all(
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, seen)
}

/// Runs the test `name` of this binary in a child process with `env` set.
fn in_child(name: &str, env: &[(&str, &str)]) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture", "--test-threads", "1"]);
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(CHILD, "1").envs(env.iter().copied());
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed in its child:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn https_goes_through_the_proxy_the_environment_names() {
    if std::env::var_os(CHILD).is_some() {
        // The child: an https origin that does not exist; only the proxy can be reached.
        let config = Config::builder(ApiKey::new("sk_proxy_test").unwrap())
            .base_url("https://api.sarvam.invalid")
            .build()
            .unwrap();
        for_each_transport!(config.clone(), fast_policy(), |name, client| {
            let result = client.create_job(&CreateJobRequest::default()).await;
            assert!(
                matches!(&result, Err(Error::Transport(e)) if e.kind == TransportErrorKind::Connect),
                "{name}: {result:?}"
            );
        });
        return;
    }
    let (url, seen) = proxy();
    in_child(
        "https_goes_through_the_proxy_the_environment_names",
        &[("HTTPS_PROXY", &url)],
    );
    let seen = seen.lock().unwrap().clone();
    // One CONNECT per transport (ureq and hyper), for the API's host and port.
    let tunnels = seen
        .iter()
        .filter(|l| l.starts_with("CONNECT api.sarvam.invalid:443 "))
        .count();
    assert_eq!(tunnels, 2, "{seen:?}");
    assert_eq!(seen.len(), 2, "nothing else reached the proxy: {seen:?}");
    eprintln!("the proxy saw: {seen:?}");
}

#[test]
fn no_proxy_and_loopback_go_direct() {
    if std::env::var_os(CHILD).is_some() {
        let base = std::env::var("SIM_URL").unwrap();
        let key = std::env::var("SIM_KEY").unwrap();
        let config = Config::builder(ApiKey::new(key).unwrap())
            .base_url(base)
            .build()
            .unwrap();
        // ureq honours NO_PROXY; hyper never proxies loopback at all.
        let ureq = ureq_client(config.clone(), fast_policy());
        assert!(block_on(ureq.create_job(&CreateJobRequest::default())).is_ok());
        let rt = runtime();
        let hyper = {
            let _entered = rt.enter();
            hyper_client(config, fast_policy())
        };
        assert!(
            rt.block_on(hyper.create_job(&CreateJobRequest::default()))
                .is_ok()
        );
        return;
    }
    let sim = Simulator::start(sarvam_doc_tests::fast_sim()).unwrap();
    let (url, seen) = proxy();
    let sim_url = sim.api_url();
    in_child(
        "no_proxy_and_loopback_go_direct",
        &[
            ("HTTPS_PROXY", &url),
            ("HTTP_PROXY", &url),
            ("NO_PROXY", "127.0.0.1,localhost"),
            ("SIM_URL", &sim_url),
            ("SIM_KEY", sim.api_key()),
        ],
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    assert_eq!(sim.jobs(), 2, "both went straight to the simulator");
}
