//! The words of the CLI as reviewed snapshots: every command's `--help`, and
//! the main messages (the demo, a retry, the summary table with its reasons,
//! a give-up, bad input). A change to any of them fails here until the
//! snapshot is updated (`SNAPSHOTS=overwrite cargo test -p sarvam-doc --test
//! snapshots`) and the diff reviewed.
//!
//! What changes from run to run (job and request ids, times, the simulator's
//! ports and key) is replaced by a `[NAME]` before comparing.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::process::Command;
use std::time::Duration;

use regex::Regex;
use sarvam_doc_sim::{Fault, Route, Simulator, sample};
use snapbox::{assert_data_eq, file};

mod common;
use common::fast;

/// The output with what varies between runs named instead.
fn normalize(text: &str, sim: Option<&Simulator>) -> String {
    let mut text = text.to_owned();
    if let Some(sim) = sim {
        text = text.replace(&sim.api_url(), "[API]");
    }
    for (pattern, name) in [
        (
            r"\d{8}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[ID]",
        ),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[JOB]",
        ),
        (r"127\.0\.0\.1:\d+", "[ADDR]"),
        (r"\b\d+\.\d+\b", "[N]"),
    ] {
        text = Regex::new(pattern)
            .unwrap()
            .replace_all(&text, name)
            .into_owned();
    }
    // What a poll happened to see on its way (the queue, the pages so far)
    // depends on timing: those lines are left out.
    let text: String = text
        .lines()
        .filter(|l| {
            !(l.ends_with(": Pending")
                || l.ends_with(": Running")
                || l.contains("pages processed ("))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    // Columns padded to a varying width are compared as single spaces.
    Regex::new(r" {2,}")
        .unwrap()
        .replace_all(&text, "  ")
        .into_owned()
}

/// `sarvam-doc` with a clean environment, at clap's default width.
fn bin() -> Command {
    let mut cmd = common::bin();
    cmd.env_remove("COLUMNS");
    cmd
}

/// Exit code, then stdout and stderr as one text, normalized.
fn output(cmd: &mut Command, sim: Option<&Simulator>) -> (i32, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), normalize(&text, sim))
}

#[test]
fn every_commands_help_names_its_environment_exit_codes_and_an_example() {
    let cases: [(&str, _); 9] = [
        ("", file!["snapshots/help.txt"]),
        ("run", file!["snapshots/help-run.txt"]),
        ("extract", file!["snapshots/help-extract.txt"]),
        ("status", file!["snapshots/help-status.txt"]),
        ("wait", file!["snapshots/help-wait.txt"]),
        ("download", file!["snapshots/help-download.txt"]),
        ("mcp", file!["snapshots/help-mcp.txt"]),
        ("sim", file!["snapshots/help-sim.txt"]),
        ("demo", file!["snapshots/help-demo.txt"]),
    ];
    for (command, snapshot) in cases {
        let mut cmd = bin();
        if !command.is_empty() {
            cmd.arg(command);
        }
        let out = cmd.arg("--help").output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{command}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("Exit codes"), "{command}: {help}");
        assert!(help.contains("sarvam-doc "), "{command}: an example");
        match command {
            // They read no environment, and say so; they take no key.
            "sim" | "demo" => {
                assert!(help.contains("no environment"), "{command}: {help}");
                assert!(!help.contains("--api-key-file"), "{command}: {help}");
                assert!(!help.contains("--base-url"), "{command}: {help}");
            }
            _ => assert!(help.contains("SARVAM_API_KEY"), "{command}: {help}"),
        }
        if command == "wait" {
            assert!(help.contains("downloads nothing unless --out"), "{help}");
        }
        assert_data_eq!(help, snapshot);
    }
}

#[test]
fn the_demo_tells_a_newcomer_what_happened_and_where_the_outputs_are() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = output(
        bin()
            .current_dir(dir.path())
            .args(["demo", "--out", "demo"]),
        None,
    );
    assert_eq!(code, 0, "{text}");
    assert_data_eq!(text, file!["snapshots/demo.txt"]);
}

#[test]
fn a_retry_says_which_request_failed_and_that_the_client_tries_again() {
    let sim = Simulator::start(fast()).unwrap();
    sim.inject(Route::Status, [Fault::HighLoad]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.pdf"), sample::pdf(2, "a")).unwrap();
    let (code, text) = output(
        bin()
            .current_dir(dir.path())
            .env("SARVAM_API_KEY", sim.api_key())
            .env("SARVAM_BASE_URL", sim.api_url())
            .args(["run", "a.pdf", "--out", "out"]),
        Some(&sim),
    );
    assert_eq!(code, 0, "{text}");
    assert_data_eq!(text, file!["snapshots/run-retry.txt"]);
}

#[test]
fn the_summary_gives_one_reason_per_file() {
    let mut config = fast();
    config.credits = Some(5);
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // One completes, one is refused for quota, one is an invalid PDF, one
    // partly fails: one at a time, so the credits go in this order.
    for (name, pages) in [
        ("1-ok.pdf", 2),
        ("2-invalid.pdf", 1),
        ("3-partial.pdf", 2),
        ("4-over-quota.pdf", 1),
    ] {
        std::fs::write(dir.path().join(name), sample::pdf(pages, name)).unwrap();
    }
    let (code, text) = output(
        bin()
            .current_dir(dir.path())
            .env("SARVAM_API_KEY", sim.api_key())
            .env("SARVAM_BASE_URL", sim.api_url())
            .args([
                "run",
                "1-ok.pdf",
                "2-invalid.pdf",
                "3-partial.pdf",
                "4-over-quota.pdf",
                "--concurrency",
                "1",
                "--out",
                "out",
            ]),
        Some(&sim),
    );
    assert_eq!(code, 1, "the worst: the quota refusal, an error; {text}");
    let summary = text.split("--- stdout\n").nth(1).unwrap_or_default();
    let summary = summary.split("--- stderr").next().unwrap_or_default();
    assert_data_eq!(summary, file!["snapshots/run-reasons.txt"]);
}

#[test]
fn a_wait_that_gives_up_says_why_and_how_to_go_on() {
    let mut config = fast();
    config.queue_time = Duration::from_secs(3600);
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.pdf"), sample::pdf(1, "a")).unwrap();
    let (code, text) = output(
        bin()
            .current_dir(dir.path())
            .env("SARVAM_API_KEY", sim.api_key())
            .env("SARVAM_BASE_URL", sim.api_url())
            .args(["run", "a.pdf", "--out", "out", "--timeout", "1"]),
        Some(&sim),
    );
    assert_eq!(code, 5, "{text}");
    assert_data_eq!(text, file!["snapshots/run-deadline.txt"]);
}

#[test]
fn bad_input_says_what_is_wrong_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a document").unwrap();
    let mut text = String::new();
    for args in [
        vec!["run", "missing.pdf"],
        vec!["run", "notes.txt"],
        vec!["status", "not-a-job"],
        vec!["run", "--rate", "0", "missing.pdf"],
    ] {
        let (code, out) = output(
            bin()
                .current_dir(dir.path())
                .env("SARVAM_API_KEY", "sk_snapshot")
                .args(&args),
            None,
        );
        assert_eq!(code, 2, "{args:?}: {out}");
        text.push_str(&format!("$ sarvam-doc {}\n{out}\n", args.join(" ")));
    }
    assert!(!text.contains("sk_snapshot"));
    // Without a key, before anything is read or sent.
    let (code, out) = output(bin().current_dir(dir.path()).args(["status", "x"]), None);
    assert_eq!(code, 2, "{out}");
    text.push_str(&format!("$ sarvam-doc status x  (no key)\n{out}"));
    assert_data_eq!(text, file!["snapshots/bad-input.txt"]);
}
