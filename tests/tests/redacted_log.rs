//! A server that echoes the key in the `x-request-id` of its successful
//! answers, through both transports and both APIs: the key reaches neither
//! the driver's log at its most verbose, nor an event, nor the manifest.
//!
//! In a binary of its own: tracing decides once per process whether a log
//! line is wanted, so a subscriber scoped to one test's thread misses lines
//! that other tests' threads reached first. Here one global subscriber
//! captures everything, and only this test runs.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::sync::{Arc, Mutex};

use sarvam_doc_driver::RunOptions;
use sarvam_doc_sim::{Fault, FaultPlan, Origin, RandomFaults, SimConfig, Simulator, sample};
use sarvam_doc_tests::*;

/// A key long enough that any fragment of it is unmistakable.
const KEY: &str = "sk_live_hostile_0123456789abcdefghijklmnopqrstuv";

/// Every trace of the key in what a user could be shown.
fn leaks(text: &str) -> bool {
    text.contains(KEY) || text.contains(&KEY[..16]) || text.contains(&KEY[KEY.len() - 16..])
}

/// A simulator whose every 2xx API answer carries the key inside its
/// `x-request-id`.
fn echoing_sim() -> Simulator {
    let mut config: SimConfig = fast_sim();
    config.api_key = KEY.to_owned();
    config.faults =
        FaultPlan::default().random(RandomFaults::new(100, vec![Fault::EchoKeyInId], 0));
    Simulator::start(config).unwrap()
}

/// How many 2xx API answers `sim` sent with the key in their request id.
fn echoed(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| {
            r.origin == Origin::Api
                && r.fault == Some(Fault::EchoKeyInId)
                && r.status.is_some_and(|s| (200..300).contains(&s))
        })
        .count()
}

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// What was logged since the last take, emptying the sink.
    fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

#[test]
fn a_key_echoed_in_a_successful_answers_request_id_never_reaches_the_log_an_event_or_the_manifest()
{
    use tracing_subscriber::util::SubscriberInitExt;
    let log = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .finish()
        .init();
    let sim = echoing_sim();
    for (api, config) in [
        ("legacy", config_for(&sim)),
        ("doc-ai", doc_ai_config(&sim)),
    ] {
        for_each_transport!(config.clone(), fast_policy(), |name, client| {
            let before = echoed(&sim);
            let (_d, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
            let out = tempfile::tempdir().unwrap();
            let mut events = Vec::new();
            let report = client
                .run(&input, &RunOptions::new(out.path()), |e| {
                    events.push(format!("{e:?}"))
                })
                .await
                .unwrap();
            assert_completed(name, &report.outcome);
            // Not vacuous: every API answer of this run echoed the key.
            assert!(echoed(&sim) > before + 2, "{api} {name}");
            let events = events.join("\n");
            assert!(!leaks(&events), "{api} {name}: the key in {events}");
            let manifest =
                std::fs::read_to_string(out.path().join("doc").join(sarvam_doc_driver::MANIFEST))
                    .unwrap();
            assert!(!leaks(&manifest), "{api} {name}: the key in {manifest}");
            // The request ids are kept, the key in them redacted.
            assert!(manifest.contains("-<redacted>"), "{api} {name}: {manifest}");
            let records = format!("{:?}", report.requests);
            assert!(!leaks(&records), "{api} {name}: the key in {records}");
            // Each answer is logged with its request id, the key redacted.
            let text = log.take();
            assert!(!leaks(&text), "{api} {name}: the key in the log:\n{text}");
            let answered = text
                .lines()
                .filter(|l| l.contains("answered") && l.contains("-<redacted>"))
                .count();
            assert!(answered > 2, "{api} {name}: {text}");
        });
    }
}
