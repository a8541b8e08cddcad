//! The whole loop, as a custom runtime would write it: one document taken
//! through a [`Run`] against the local simulator with nothing but a blocking
//! HTTP client (ureq) and the file system. Every input of the loop is here:
//! answers in memory, bodies saved to a file (`handle_saved`), a body past
//! its bound (`handle_too_large`), and transport failures
//! (`handle_transport_error`).
//!
//! ```sh
//! cargo run -p sarvam-doc-core --example run
//! ```
//!
//! A runtime that wants all of this done already (timeouts inside a
//! request, streaming, part files, journals) implements the driver's
//! three-method `AsyncTransport` trait instead (`sarvam-doc-driver`).

// This example is the runtime: it reads the clock and the files, which the
// core itself never does (the ban is for the core's library code).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::error::Error as StdError;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use sarvam_doc_core::http::{Request, Response};
use sarvam_doc_core::model::{CreateJobRequest, Language, OutputFormat};
use sarvam_doc_core::{
    Action, Api, ApiKey, Body, Config, Document, Machine, Outcome, Policy, Run, Sink,
    TransportError, TransportErrorKind,
};
use sarvam_doc_sim::{SimConfig, Simulator, sample};

/// How one exchange ended, in the terms of the machine's inputs.
enum Exchanged {
    Answer(Response<Vec<u8>>),
    Saved(u64),
    TooLarge(u64),
    Failed(TransportError),
}

fn main() -> Result<(), Box<dyn StdError>> {
    let sim = Simulator::start(SimConfig::default())?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("scan.pdf");
    std::fs::write(&input, sample::pdf(3, "example"))?;
    let out = dir.path().join("out");
    std::fs::create_dir(&out)?;

    let config = Config::builder(ApiKey::new(SimConfig::default().api_key)?)
        .base_url(sim.api_url())
        .build()?;
    let api = Api::new(config);
    let job = CreateJobRequest::new(Language::HINDI, OutputFormat::Md);
    let document = Document::new("scan.pdf", std::fs::metadata(&input)?.len(), job)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();

    let mut run = Run::new(api, document, Policy::default(), Instant::now());
    let outcome = loop {
        match run.poll(Instant::now()) {
            Action::Event(event) => eprintln!("event: {event:?}"),
            Action::Wait { until, .. } => {
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
            }
            Action::Transmit(t) => {
                let attempt = t.attempt;
                let exchanged = send(&agent, t.request, &t.sink, t.timeout, &input, &out);
                let now = Instant::now();
                match exchanged {
                    Exchanged::Answer(r) => run.handle_response(now, attempt, r),
                    Exchanged::Saved(len) => run.handle_saved(now, attempt, len),
                    Exchanged::TooLarge(n) => run.handle_too_large(now, attempt, n),
                    Exchanged::Failed(e) => run.handle_transport_error(now, attempt, e),
                }
            }
            Action::Done(outcome) => break outcome,
        }
    };
    eprintln!("{outcome}");
    for file in outcome.outputs() {
        eprintln!("saved {} ({} bytes)", file.name, file.len);
    }
    if !matches!(outcome, Outcome::Completed { .. }) {
        return Err(format!("the run did not complete: {outcome}").into());
    }
    Ok(())
}

/// Sends one request as the machine described it. A real runtime would
/// stream the input and the output and enforce `timeout` inside the
/// exchange; this one reads and writes whole files, which is enough for a
/// few pages.
fn send(
    agent: &ureq::Agent,
    request: Request<Body>,
    sink: &Sink,
    timeout: std::time::Duration,
    input: &Path,
    out: &Path,
) -> Exchanged {
    let (parts, body) = request.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Bytes(bytes) => bytes,
        Body::File { .. } => match std::fs::read(input) {
            Ok(bytes) => bytes,
            Err(e) => return failed(&e),
        },
    };
    let request = agent
        .configure_request(Request::from_parts(parts, bytes))
        .timeout_global(Some(timeout))
        .build();
    let response = match agent.run(request) {
        Ok(response) => response,
        Err(e) => {
            let kind = match e {
                ureq::Error::Timeout(_) => TransportErrorKind::TimedOut,
                ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                    TransportErrorKind::Connect
                }
                _ => TransportErrorKind::Other,
            };
            return Exchanged::Failed(TransportError::new(kind, e.to_string()));
        }
    };
    let (parts, body) = response.into_parts();
    let (limit, file) = match sink {
        Sink::File { name, max_len, .. } if parts.status.is_success() => {
            (*max_len, Some(out.join(name)))
        }
        Sink::File { error_limit, .. } => (*error_limit as u64, None),
        Sink::Memory { limit } => (*limit as u64, None),
    };
    // Read one byte more than allowed, to tell "at the bound" from "past it".
    let mut bytes = Vec::new();
    let read = body
        .into_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes);
    if let Err(e) = read {
        return failed(&e);
    }
    let len = bytes.len() as u64;
    match file {
        Some(_) if len > limit => Exchanged::TooLarge(len),
        Some(path) => match File::create_new(&path).and_then(|mut f| f.write_all(&bytes)) {
            Ok(()) => Exchanged::Saved(len),
            Err(e) => failed(&e),
        },
        // Over a memory limit: the machine sees the cut body and refuses it.
        None => Exchanged::Answer(Response::from_parts(parts, bytes)),
    }
}

fn failed(e: &std::io::Error) -> Exchanged {
    Exchanged::Failed(TransportError::new(
        TransportErrorKind::Other,
        e.to_string(),
    ))
}
