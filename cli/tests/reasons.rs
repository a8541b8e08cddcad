//! One reason per outcome: a quota refusal, an invalid PDF, a deadline and a
//! stall each say why in the summary table's REASON column and in the
//! `--json` file's `reason`, on both APIs where the API can end that way.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::path::Path;
use std::time::Duration;

use sarvam_doc_sim::{Simulator, sample};
use serde_json::Value;

mod common;
use common::{cli, fast};

/// Runs `file` through `sim` with `extra` flags, as a table and as JSON:
/// the exit codes, the table's row for the file, and the file's JSON.
fn run_both(sim: &Simulator, dir: &Path, file: &str, extra: &[&str]) -> (i32, String, Value) {
    let pdf = dir.join(file);
    if !pdf.exists() {
        std::fs::write(&pdf, sample::pdf(1, file)).unwrap();
    }
    let mut codes = Vec::new();
    let mut outs = Vec::new();
    for (i, json) in [false, true].into_iter().enumerate() {
        let mut cmd = cli(sim);
        cmd.arg("run")
            .arg(&pdf)
            .arg("--out")
            .arg(dir.join(format!("out-{file}-{i}")))
            .args(extra);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        codes.push(out.status.code().unwrap_or(-1));
        outs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    assert_eq!(codes[0], codes[1], "the exit code is the same either way");
    let table = &outs[0];
    let header = table.lines().next().unwrap_or_default();
    assert!(header.ends_with("REASON"), "{table}");
    let row = table
        .lines()
        .find(|l| l.contains(file))
        .unwrap_or_else(|| panic!("no row for {file}:\n{table}"))
        .to_owned();
    let v: Value = serde_json::from_str(&outs[1]).unwrap_or_else(|e| panic!("{e}: {}", outs[1]));
    (codes[0], row, v["files"][0].clone())
}

/// The table's REASON cell and the JSON's `reason` both hold `needle`.
fn says(row: &str, file: &Value, needle: &str) {
    assert!(row.contains(needle), "table row: {row}");
    let reason = file["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(needle), "json reason: {file}");
    assert!(!reason.contains('\n'), "one line: {reason:?}");
}

#[test]
fn a_quota_refusal_says_so_on_both_apis() {
    let mut config = fast();
    config.credits = Some(0);
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, row, file) = run_both(&sim, dir.path(), "a.pdf", &[]);
    assert_eq!(code, 1);
    assert!(row.contains("gave up"), "{row}");
    says(
        &row,
        &file,
        "refused: the API answered 429 insufficient_quota_error",
    );
    assert_eq!(file["outcome"]["reason"], "refused");
    let (code, row, file) = run_both(&sim, dir.path(), "b.pdf", &["--api", "doc-ai"]);
    assert_eq!(code, 1);
    says(&row, &file, "refused: the API answered 402");
}

#[test]
fn an_invalid_pdf_says_what_the_server_said() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The legacy job fails, with the server's message as the reason.
    let (code, row, file) = run_both(&sim, dir.path(), "invalid.pdf", &[]);
    assert_eq!(code, 4);
    assert!(row.contains("failed"), "{row}");
    says(&row, &file, "Invalid PDF: the document could not be read");
    assert_eq!(file["outcome"]["kind"], "failed");
    // /doc-ai/v1 refuses the submit with 422.
    let (code, row, file) = run_both(&sim, dir.path(), "invalid2.pdf", &["--api", "doc-ai"]);
    assert_eq!(code, 1);
    says(&row, &file, "422");
    says(&row, &file, "Invalid PDF");
}

#[test]
fn a_deadline_and_a_stall_say_which_limit_ended_the_wait() {
    let mut config = fast();
    config.queue_time = Duration::from_secs(3600);
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, row, file) = run_both(&sim, dir.path(), "a.pdf", &["--timeout", "2"]);
    assert_eq!(code, 5);
    says(&row, &file, "deadline: 2 s passed");
    assert_eq!(file["outcome"]["reason"], "deadline");
    let (code, row, file) = run_both(&sim, dir.path(), "b.pdf", &["--stall-limit", "1"]);
    assert_eq!(code, 5);
    says(&row, &file, "stalled: Pending for");
    assert_eq!(file["outcome"]["reason"], "stalled");
}

#[test]
fn completed_files_have_no_reason_and_partial_ones_name_a_page() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, _, file) = run_both(&sim, dir.path(), "ok.pdf", &[]);
    assert_eq!(code, 0);
    assert!(file["reason"].is_null(), "{file}");
    std::fs::write(dir.path().join("partial.pdf"), sample::pdf(2, "p")).unwrap();
    let (code, row, file) = run_both(&sim, dir.path(), "partial.pdf", &[]);
    assert_eq!(code, 3);
    says(
        &row,
        &file,
        "1 of 2 pages failed (page 2: Page 2 could not be read)",
    );
}

#[test]
fn a_batch_at_a_rate_says_how_long_it_waited_for_the_budget() {
    let mut config = fast();
    config.rate_limit = Some(sarvam_doc_sim::RateLimit::per_minute(240));
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in ["a.pdf", "b.pdf", "c.pdf"] {
        let path = dir.path().join(name);
        std::fs::write(&path, sample::pdf(1, name)).unwrap();
        files.push(path);
    }
    let run = |json: bool, out: &str| {
        let mut cmd = cli(&sim);
        cmd.arg("run")
            .args(&files)
            .args(["--rate", "240/min", "--concurrency", "3", "--out"])
            .arg(dir.path().join(out));
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap()
    };
    let text = run(false, "out-text");
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert_eq!(text.status.code(), Some(0), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("rate limit: "))
        .unwrap_or_else(|| panic!("no budget line: {stderr}"));
    assert!(line.contains("at 240/min; 0 answered 429"), "{line}");
    assert!(line.contains("requests waited for the budget"), "{line}");
    let json = run(true, "out-json");
    assert_eq!(json.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let budget = &v["budget"];
    assert_eq!(budget["rate_per_minute"], 240.0, "{budget}");
    assert_eq!(budget["throttled"], 0, "{budget}");
    // Three files at once need more than one request a quarter second.
    assert!(budget["held_seconds"].as_f64().unwrap() > 0.0, "{budget}");
    let requests = budget["requests"].as_u64().unwrap();
    let api = sim
        .requests()
        .iter()
        .filter(|r| r.origin == sarvam_doc_sim::Origin::Api)
        .count() as u64;
    assert!(requests > 0 && requests <= api, "{requests} of {api}");
}
