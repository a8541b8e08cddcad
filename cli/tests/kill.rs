//! `run` killed (SIGKILL, no chance to clean up) at many points of a batch,
//! then run again: every input's output ends up present once and whole, no
//! input ever has two started jobs, every job beyond one per input is a
//! create whose answer never reached the journal (never uploaded to, never
//! started: it costs nothing), and nothing paid for is lost.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // A test: it fails loudly and reports its figures.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sarvam_doc_sim::{Route, SimConfig, Simulator, sample};
use serde_json::Value;

mod common;

const INPUTS: [(&str, u32); 4] = [
    ("a.pdf", 2),
    ("b.pdf", 3),
    ("partial-c.pdf", 2),
    ("d.zip", 2),
];

fn sim() -> Simulator {
    let mut c = SimConfig::default();
    c.queue_time = Duration::from_millis(20);
    c.page_time = Duration::from_millis(20);
    Simulator::start(c).unwrap()
}

fn run_cmd(sim: &Simulator, docs: &Path, out: &Path) -> Command {
    let mut cmd = common::cli(sim);
    cmd.arg("run")
        .arg(docs)
        .arg("--out")
        .arg(out)
        .args(["--concurrency", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

/// The journal's records, each as a JSON value.
fn journal(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join(".sarvam-doc/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn a_batch_killed_anywhere_and_run_again_loses_nothing_and_pays_once() {
    // Kill points: after this many requests reached the simulator (a full
    // run of this batch takes about 40), and "late" (after its last request,
    // while it unpacks and publishes).
    let points: Vec<Option<usize>> = [
        1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
    ]
    .into_iter()
    .map(Some)
    .chain([None])
    .collect();
    let mut figures = Vec::new();
    for point in &points {
        let sim = sim();
        let dir = tempfile::tempdir().unwrap();
        let docs = dir.path().join("docs");
        std::fs::create_dir(&docs).unwrap();
        for (name, pages) in INPUTS {
            let bytes = if name.ends_with(".zip") {
                sample::image_zip(pages)
            } else {
                sample::pdf(pages, name)
            };
            std::fs::write(docs.join(name), bytes).unwrap();
        }
        let out = dir.path().join("out");
        // The run to kill.
        let mut child = run_cmd(&sim, &docs, &out).spawn().unwrap();
        let started = Instant::now();
        let killed = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break format!("ended first ({status})");
            }
            let seen = sim.requests().len();
            let due = match point {
                Some(k) => seen >= *k,
                // Late: past the last download, while the pages are unpacked.
                None => sim.count(Route::StorageGet) >= INPUTS.len(),
            };
            if due || started.elapsed() > Duration::from_secs(30) {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                break format!("killed after {seen} requests");
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        // The rerun, to the end.
        let rerun = run_cmd(&sim, &docs, &out).output().unwrap();
        let report: Value = serde_json::from_slice(&rerun.stdout).unwrap_or_else(|e| {
            panic!("{point:?}: {e}: {}", String::from_utf8_lossy(&rerun.stdout))
        });
        let what = format!("kill point {point:?} ({killed})");
        let code = rerun.status.code().unwrap();
        assert_eq!(
            code, 3,
            "{what}: the partial input ends partially completed: {report}"
        );

        // Every input's output, present once and whole.
        for (name, pages) in INPUTS {
            let stem = name.rsplit_once('.').unwrap().0;
            let folder = out.join(stem);
            let expected = if name.starts_with("partial") {
                pages / 2 + pages % 2
            } else {
                pages
            };
            let files: Vec<String> = std::fs::read_dir(&folder)
                .unwrap_or_else(|e| panic!("{what}: {stem}: {e}"))
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            // The pages, the merged document (not for a ZIP of images,
            // whose outputs are the same Markdown pages) and the manifest.
            assert_eq!(
                files.len() as u32,
                expected + 2,
                "{what}: {stem}: {files:?}"
            );
        }
        let mut top: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        top.sort();
        assert_eq!(
            top,
            [".sarvam-doc", "a", "b", "d", "partial-c"],
            "{what}: nothing else, no staging left"
        );

        // The simulator's books: one started job per input, for the file it is for.
        let jobs = sim.job_list();
        let started: Vec<&(String, Option<String>, bool)> = jobs.iter().filter(|j| j.2).collect();
        assert_eq!(started.len(), INPUTS.len(), "{what}: {jobs:?}");
        let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
        for job in &started {
            *per_file.entry(job.1.as_deref().unwrap()).or_default() += 1;
        }
        assert!(per_file.values().all(|n| *n == 1), "{what}: {per_file:?}");
        // Every other job: never uploaded to, never started, and unknown to
        // the journal (its create's answer never reached it).
        let records = journal(&out);
        let journaled: Vec<&str> = records
            .iter()
            .filter(|r| r["event"] == "created")
            .map(|r| r["job_id"].as_str().unwrap())
            .collect();
        let orphans: Vec<_> = jobs.iter().filter(|j| !j.2).collect();
        for orphan in &orphans {
            assert!(
                orphan.1.is_none(),
                "{what}: an orphan was uploaded to: {orphan:?}"
            );
            assert!(
                !journaled.contains(&orphan.0.as_str()),
                "{what}: the journal knew {orphan:?}"
            );
        }
        let creating = records.iter().filter(|r| r["event"] == "creating").count();
        assert!(
            orphans.len() <= creating.saturating_sub(journaled.len()),
            "{what}: {} orphans, but only {} creates went unanswered",
            orphans.len(),
            creating - journaled.len()
        );
        // Every started job's outputs were fetched: nothing paid for was lost.
        for job in &started {
            assert!(
                journaled.contains(&job.0.as_str()),
                "{what}: a started job the journal lost: {job:?}"
            );
        }
        figures.push((
            point.map_or_else(|| "late".to_owned(), |k| k.to_string()),
            killed,
            jobs.len(),
            orphans.len(),
        ));
    }
    for (point, killed, jobs, orphans) in &figures {
        eprintln!(
            "kill point {point:>4}: {killed:<28} jobs created {jobs} for 4 inputs ({orphans} never started)"
        );
    }
    assert!(
        figures.iter().filter(|f| f.1.starts_with("killed")).count() >= points.len() - 2,
        "most runs were killed mid-way"
    );
}

#[test]
fn a_doc_ai_batch_killed_anywhere_pays_once_or_says_why_it_cannot_know() {
    let inputs = [("a.pdf", 2u32), ("b.pdf", 1), ("c.zip", 2)];
    let mut figures = Vec::new();
    for point in (1..=24).step_by(2) {
        let sim = sim();
        let dir = tempfile::tempdir().unwrap();
        let docs = dir.path().join("docs");
        std::fs::create_dir(&docs).unwrap();
        for (name, pages) in inputs {
            let bytes = if name.ends_with(".zip") {
                sample::image_zip(pages)
            } else {
                sample::pdf(pages, name)
            };
            std::fs::write(docs.join(name), bytes).unwrap();
        }
        let out = dir.path().join("out");
        let cmd = |extra: &[&str]| {
            let mut cmd = run_cmd(&sim, &docs, &out);
            cmd.args(["--api", "doc-ai"]).args(extra);
            cmd
        };
        let mut child = cmd(&[]).spawn().unwrap();
        let started = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if sim.requests().len() >= point || started.elapsed() > Duration::from_secs(30) {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let what = format!("doc-ai kill point {point}");
        // Rerun: each input ends done, or held as unconfirmed (never resent).
        let rerun = cmd(&[]).output().unwrap();
        let report: Value = serde_json::from_slice(&rerun.stdout).unwrap();
        let held: Vec<&str> = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["done"] == "unconfirmed")
            .map(|f| f["file"].as_str().unwrap())
            .collect();
        assert!(
            held.len() <= 2,
            "{what}: at most the two in flight: {held:?}"
        );
        let jobs_after_rerun = sim.doc_ai_jobs();
        // Every job the journal does not know is one an unconfirmed submit made.
        let records = journal(&out);
        let journaled: Vec<&str> = records
            .iter()
            .filter(|r| r["event"] == "created")
            .filter_map(|r| r["job_id"].as_str())
            .collect();
        let unknown = sim
            .doc_ai_job_ids()
            .into_iter()
            .filter(|id| !journaled.contains(&id.as_str()))
            .count();
        assert!(
            unknown <= held.len(),
            "{what}: {unknown} jobs lost, {} held",
            held.len()
        );
        // Told to pay again: everything completes, each held input once more.
        let last = cmd(&["--retry-unconfirmed"]).output().unwrap();
        assert_eq!(
            last.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&last.stdout)
        );
        for (name, _) in inputs {
            let stem = name.rsplit_once('.').unwrap().0;
            let manifest = out.join(stem).join("sarvam-doc-manifest.json");
            assert!(manifest.exists(), "{what}: {stem}");
        }
        assert!(sim.doc_ai_jobs() <= inputs.len() + held.len(), "{what}");
        figures.push((point, held.len(), jobs_after_rerun, sim.doc_ai_jobs()));
    }
    for (point, held, after_rerun, total) in &figures {
        eprintln!(
            "doc-ai kill point {point:>3}: {held} held as unconfirmed; jobs {after_rerun} after the rerun, {total} after --retry-unconfirmed, for 3 inputs"
        );
    }
}
