//! Issue 21, breaks 15–17 and 19: server strings the client parses before it
//! keeps them (status fields, unknown fields, file names, download URLs,
//! extraction results) are scrubbed of the key in every spelling a JSON or
//! URL decoder can produce, and of terminal escapes where they are printed.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::path::Path;

use sarvam_doc_sim::{Fault, FaultPlan, Origin, RandomFaults, Route, Simulator, sample};

mod common;
use common::{cli, run, write};

const KEY: &str = "sk_live_escaped_0123456789abcdefghijklmnopqrstuv";

/// A simulator whose 2xx JSON answers on `routes` spell the key in escapes.
fn escaping_sim(routes: Vec<Route>) -> Simulator {
    let mut c = common::fast();
    c.api_key = KEY.to_owned();
    let mut random = RandomFaults::new(100, vec![Fault::EchoKeyEscaped], 0);
    random.routes = routes;
    c.faults = FaultPlan::default().random(random);
    Simulator::start(c).unwrap()
}

/// How many 2xx API answers `sim` sent with the key escaped in them.
fn escaped(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| {
            r.origin == Origin::Api
                && r.fault == Some(Fault::EchoKeyEscaped)
                && r.status.is_some_and(|s| (200..300).contains(&s))
        })
        .count()
}

/// Fails the test if any trace of the key, or a terminal escape, is in `text`.
#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for fragment in [KEY, &KEY[1..], &KEY[KEY.len() - 16..]] {
        assert!(!text.contains(fragment), "{what}: {fragment:?} in:\n{text}");
    }
    assert!(
        !text.contains(['\u{1b}', '\u{7}']),
        "{what}: a terminal escape in:\n{text:?}"
    );
}

/// Every regular file below `dir`, with its bytes as text.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    out
}

#[test]
fn a_key_spelled_in_escapes_in_status_fields_reaches_no_output_no_file_and_no_log() {
    let sim = escaping_sim(vec![Route::Status, Route::AiStatus, Route::DownloadFiles]);
    let dir = tempfile::tempdir().unwrap();
    for api in ["legacy", "doc-ai"] {
        let input = write(dir.path(), "doc.pdf", &sample::pdf(2, "x"));
        let out = dir.path().join(format!("out-{api}"));
        let before = escaped(&sim);
        let (code, stdout, stderr) = run(cli(&sim)
            .args(["run", "--api", api, "--json", "-v", "--out"])
            .arg(&out)
            .arg(&input));
        assert_eq!(code, 0, "{api}: {stderr}");
        assert!(escaped(&sim) > before, "{api}: the answers spelled the key");
        assert_clean(api, &(stdout.clone() + &stderr));
        for (file, text) in files(&out) {
            assert_clean(&file, &text);
        }
        let job = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["files"][0]["job_id"]
            .as_str()
            .unwrap()
            .to_owned();
        for json in [true, false] {
            let before = escaped(&sim);
            let mut cmd = cli(&sim);
            cmd.args(["status", "--api", api, "-v", &job]);
            if json {
                cmd.arg("--json");
            }
            let (code, stdout, stderr) = run(&mut cmd);
            assert_eq!(code, 0, "{api}: {stderr}");
            assert_eq!(
                escaped(&sim),
                before + 1,
                "{api}: the status spelled the key"
            );
            assert_clean(&format!("{api} status json={json}"), &(stdout + &stderr));
        }
    }
}

#[test]
fn a_download_url_whose_file_name_spells_the_key_is_refused_and_the_key_is_nowhere() {
    let sim = escaping_sim(vec![Route::AiDownloadUrl]);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "doc.pdf", &sample::pdf(2, "x"));
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(cli(&sim)
        .args(["run", "--api", "doc-ai", "--json", "-v", "--out"])
        .arg(&out)
        .arg(&input));
    assert_ne!(code, 0, "a URL spelling the key is never fetched: {stderr}");
    assert!(escaped(&sim) > 0);
    assert_clean("run", &(stdout + &stderr));
    // Storage never saw a request for that name.
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.origin != Origin::Api && r.path.contains(&KEY[1..])),
        "the key went to storage"
    );
    for (file, text) in files(&out) {
        assert_clean(&file, &text);
    }
}

#[test]
fn extraction_results_that_spell_the_key_are_saved_without_it() {
    let sim = escaping_sim(vec![Route::AiResults]);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "invoice.pdf", &sample::pdf(2, "x"));
    let schema = write(
        dir.path(),
        "schema.json",
        br#"{"type":"object","properties":{"total":{"type":"number","description":"Total"}}}"#,
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(cli(&sim)
        .args(["extract", "--json", "--schema"])
        .arg(&schema)
        .arg("--out")
        .arg(&out)
        .arg(&input));
    assert_eq!(code, 0, "{stderr}");
    assert!(escaped(&sim) > 0);
    assert_clean("extract", &(stdout + &stderr));
    let results = std::fs::read_to_string(out.join("invoice/results.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&results).unwrap();
    assert_eq!(value["result"]["note"], "signed <redacted>", "{results}");
    for (file, text) in files(&out) {
        assert_clean(&file, &text);
    }
}

#[test]
fn extraction_results_about_another_job_are_retried_and_never_saved_as_this_inputs() {
    let mut c = common::fast();
    c.api_key = KEY.to_owned();
    c.faults = FaultPlan::default().script(Route::AiResults, [Fault::OtherJob, Fault::OtherJob]);
    let sim = Simulator::start(c).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "invoice.pdf", &sample::pdf(1, "x"));
    let schema = write(
        dir.path(),
        "schema.json",
        br#"{"type":"object","properties":{"total":{"type":"number","description":"Total"}}}"#,
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(cli(&sim)
        .args(["extract", "--json", "--schema"])
        .arg(&schema)
        .arg("--out")
        .arg(&out)
        .arg(&input));
    assert_eq!(code, 0, "{stderr}");
    let job = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["files"][0]["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tries = sim
        .requests()
        .iter()
        .filter(|r| r.route == Some(Route::AiResults))
        .count();
    assert_eq!(tries, 3, "two answers about another job, each retried");
    let results = std::fs::read_to_string(out.join("invoice/results.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&results).unwrap();
    assert_eq!(value["job_id"], job.as_str(), "{results}");
}

#[test]
fn an_extractions_download_that_is_not_a_zip_is_kept_beside_its_results() {
    let mut c = common::fast();
    c.api_key = KEY.to_owned();
    c.faults = FaultPlan::default().script(Route::AiDownloadUrl, [Fault::NotAZip]);
    let sim = Simulator::start(c).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "invoice.pdf", &sample::pdf(1, "x"));
    let schema = write(
        dir.path(),
        "schema.json",
        br#"{"type":"object","properties":{"total":{"type":"number","description":"Total"}}}"#,
    );
    let out = dir.path().join("out");
    let (code, _, stderr) = run(cli(&sim)
        .args(["extract", "--schema"])
        .arg(&schema)
        .arg("--out")
        .arg(&out)
        .arg(&input));
    assert_ne!(code, 0, "a refused output is not a success: {stderr}");
    assert!(!stderr.contains("No such file"), "{stderr}");
    // The message points at the refused download, not at the results.
    assert!(
        !stderr
            .lines()
            .any(|l| l.contains("kept") && l.contains("results.json")),
        "{stderr}"
    );
    // The paid results and the download, kept as they came.
    let folder = out.join("invoice");
    let results = std::fs::read_to_string(folder.join("results.json")).unwrap();
    assert!(results.contains("\"result\""), "{results}");
    let kept: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        kept.iter()
            .any(|n| n != "results.json" && n != "sarvam-doc-manifest.json"),
        "{kept:?}"
    );
    let manifest = std::fs::read_to_string(folder.join("sarvam-doc-manifest.json")).unwrap();
    assert!(manifest.contains("\"refused\""), "{manifest}");
}
