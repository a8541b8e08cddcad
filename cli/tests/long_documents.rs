//! Documents longer than a job (issue 22), through the binary against the
//! simulator, which counts the pages of what it is sent and marks each
//! output page with the fingerprint of the input page it came from: each
//! test proves page N of the stitched output is page N of the input, and
//! counts the jobs the simulator started.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sarvam_doc_sim::{SimConfig, Simulator, sample};
use serde_json::Value;

mod common;
use common::{cli, fast, run, write};

fn sim(config: SimConfig) -> Simulator {
    Simulator::start(config).unwrap()
}

/// `sarvam-doc [--api doc-ai] run FILE --out OUT EXTRA…`: exit code, stdout, stderr.
fn run_into(
    sim: &Simulator,
    api: &str,
    input: &Path,
    out: &Path,
    extra: &[&str],
) -> (i32, String, String) {
    let mut cmd = cli(sim);
    if api == "doc-ai" {
        cmd.args(["--api", "doc-ai"]);
    }
    run(cmd.arg("run").arg(input).arg("--out").arg(out).args(extra))
}

/// A book of `pages` pages, each showing "Book Page N of PAGES", or the
/// title `marked` gives it.
fn book(pages: u32, marked: impl Fn(u32) -> Option<&'static str>) -> Vec<u8> {
    let titles: Vec<&str> = (1..=pages).map(|n| marked(n).unwrap_or("Book")).collect();
    sample::pdf_of_pages(&titles)
}

/// Asserts `folder` holds page N of `input` as its page N, for every page
/// but `missing`, and the merged document the pages in order
/// ([`sample::check_outputs`]).
fn assert_stitched(input: &[u8], folder: &Path, api: &str, missing: &[u32]) {
    if let Err(e) = sample::check_outputs(input, folder, missing) {
        panic!("{api}: {e}");
    }
}

fn manifest(folder: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(folder.join("sarvam-doc-manifest.json")).unwrap())
        .unwrap()
}

/// The files uploaded to started jobs, each with how many jobs it started.
fn started_by_file(sim: &Simulator) -> BTreeMap<String, usize> {
    let mut by_file = BTreeMap::new();
    for (_, file, started) in sim.job_list() {
        if started {
            *by_file.entry(file.unwrap_or_default()).or_insert(0) += 1;
        }
    }
    by_file
}

#[test]
fn a_25_page_pdf_becomes_one_job_a_chunk_and_one_folder_with_every_page_in_its_place() {
    for (api, limit, jobs) in [
        ("legacy", "10", 3),
        ("legacy", "7", 4),
        ("doc-ai", "10", 3),
        ("doc-ai", "7", 4),
    ] {
        let sim = sim(fast());
        let dir = tempfile::tempdir().unwrap();
        let bytes = book(25, |_| None);
        let input = write(dir.path(), "book.pdf", &bytes);
        let out = dir.path().join("out");
        let (code, stdout, stderr) = run_into(
            &sim,
            api,
            &input,
            &out,
            &["--page-limit", limit, "--concurrency", "4"],
        );
        assert_eq!(code, 0, "{api} {limit}: {stdout}{stderr}");
        let started = if api == "doc-ai" {
            sim.doc_ai_jobs()
        } else {
            sim.started_jobs()
        };
        assert_eq!(started, jobs, "{api} {limit}: jobs started");
        assert_stitched(&bytes, &out.join("book"), api, &[]);
        let m = manifest(&out.join("book"));
        assert_eq!(m["chunks"].as_array().unwrap().len(), jobs, "{m}");
        assert_eq!(m["state"], "Completed");
        assert_eq!(m["pages"]["total"], 25);
        assert!(
            stdout.contains(&format!("completed ({jobs} jobs)")),
            "{stdout}"
        );
        // Every page is home: the chunks' folder is gone; only the state folder's own files stay.
        assert!(!out.join(".sarvam-doc/chunks/book").exists());
    }
}

#[test]
fn a_23_image_zip_is_cut_by_its_images_names_and_stitched_in_that_order() {
    let sim = sim(fast());
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample::image_zip(23);
    let input = write(dir.path(), "scans.zip", &bytes);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(sim.started_jobs(), 3);
    assert_stitched(&bytes, &out.join("scans"), "legacy", &[]);
}

#[test]
fn a_10_page_pdf_is_one_job_and_gets_the_same_merged_document() {
    for api in ["legacy", "doc-ai"] {
        let sim = sim(fast());
        let dir = tempfile::tempdir().unwrap();
        let bytes = book(10, |_| None);
        let input = write(dir.path(), "short.pdf", &bytes);
        let out = dir.path().join("out");
        let (code, stdout, stderr) = run_into(&sim, api, &input, &out, &[]);
        assert_eq!(code, 0, "{api}: {stdout}{stderr}");
        let jobs = if api == "doc-ai" {
            sim.doc_ai_jobs()
        } else {
            sim.started_jobs()
        };
        assert_eq!(jobs, 1, "{api}");
        assert_stitched(&bytes, &out.join("short"), api, &[]);
        assert!(
            manifest(&out.join("short"))["chunks"].is_null(),
            "a whole job's manifest"
        );
        assert!(
            !out.join(".sarvam-doc/chunks").exists(),
            "{api}: nothing was cut"
        );
    }
}

#[test]
fn a_failed_middle_chunk_leaves_the_rest_and_its_rerun_starts_no_finished_chunk() {
    for api in ["legacy", "doc-ai"] {
        let sim = sim(fast());
        let dir = tempfile::tempdir().unwrap();
        let bytes = book(25, |n| {
            (11..=20).contains(&n).then_some("Book sim:fail-job")
        });
        let input = write(dir.path(), "book.pdf", &bytes);
        let out = dir.path().join("out");
        let (code, stdout, stderr) = run_into(&sim, api, &input, &out, &["--json"]);
        assert_eq!(code, 3, "{api}: {stdout}{stderr}");
        let missing: Vec<u32> = (11..=20).collect();
        assert_stitched(&bytes, &out.join("book"), api, &missing);
        let json: Value = serde_json::from_str(&stdout).unwrap();
        let file = &json["files"][0];
        assert_eq!(file["missing_pages"], serde_json::json!(missing), "{file}");
        assert_eq!(file["outcome"]["kind"], "partially_completed", "{file}");
        assert!(file["reason"].as_str().unwrap().contains("11-20"), "{file}");
        assert_eq!(file["exit_code"], 3);
        let m = manifest(&out.join("book"));
        assert_eq!(m["state"], "PartiallyCompleted");
        assert_eq!(m["missing_pages"], serde_json::json!(missing));
        assert_eq!(m["chunks"][1]["missing_pages"], serde_json::json!(missing));
        let document = std::fs::read_to_string(out.join("book/document.md")).unwrap();
        assert!(document.contains("pages 11-20 are missing"), "{document}");
        assert!(
            !document.contains("Page 11 of 25"),
            "a failed page is claimed"
        );

        let jobs = |sim: &Simulator| {
            if api == "doc-ai" {
                sim.doc_ai_jobs()
            } else {
                started_by_file(sim).values().sum::<usize>()
            }
        };
        assert_eq!(jobs(&sim), 3, "{api}");
        let (code, stdout, stderr) = run_into(&sim, api, &input, &out, &[]);
        assert_eq!(code, 3, "{api}: {stdout}{stderr}");
        assert_eq!(jobs(&sim), 3, "{api}: the rerun started a job");
        assert_stitched(&bytes, &out.join("book"), api, &missing);
        // --retry-failed pays for the failed chunk alone (which fails again
        // here: its pages say so), never for the done ones.
        assert!(stderr.contains("--retry-failed"), "{api}: {stderr}");
        let (code, stdout, stderr) = run_into(&sim, api, &input, &out, &["--retry-failed"]);
        assert_eq!(code, 3, "{api}: {stdout}{stderr}");
        assert_eq!(jobs(&sim), 4, "{api}: one new job, for pages 11-20");
        assert_stitched(&bytes, &out.join("book"), api, &missing);
    }
}

#[test]
fn a_page_error_inside_a_chunk_is_named_by_its_original_number() {
    let sim = sim(fast());
    let dir = tempfile::tempdir().unwrap();
    let bytes = book(25, |n| (n == 17).then_some("Book sim:fail-page"));
    let input = write(dir.path(), "book.pdf", &bytes);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &[]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert_stitched(&bytes, &out.join("book"), "legacy", &[17]);
    let m = manifest(&out.join("book"));
    assert_eq!(m["missing_pages"], serde_json::json!([17]));
    assert!(stdout.contains("1 of 25 pages missing (17)"), "{stdout}");
    assert!(stdout.contains("24/1"), "{stdout}");
    // Run again: every chunk is done, and the book is still partial.
    let requests = sim.requests().len();
    let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &["--json"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["files"][0]["missing_pages"], serde_json::json!([17]));
    assert_eq!(json["files"][0]["outcome"]["kind"], "partially_completed");
    assert_eq!(sim.requests().len(), requests, "nothing was sent");
}

#[test]
fn a_dry_run_shows_each_chunk_and_the_totals_and_sends_nothing() {
    let sim = sim(fast());
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "book.pdf", &book(25, |_| None));
    let short = write(dir.path(), "short.pdf", &book(4, |_| None));
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(cli(&sim)
        .arg("run")
        .args([&input, &short])
        .arg("--out")
        .arg(&out)
        .arg("--dry-run"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    for row in [
        "cut into 3 jobs of at most 10 pages",
        "pages 1-10",
        "pages 11-20",
        "pages 21-25",
    ] {
        assert!(stdout.contains(row), "{row}: {stdout}");
    }
    assert!(
        stdout.contains("29 pages in all; 29 pages to send in 4 jobs"),
        "{stdout}"
    );
    assert!(sim.requests().is_empty(), "a dry run sent a request");
    assert!(
        !out.join(".sarvam-doc/chunks").exists(),
        "a dry run cut the book"
    );

    let (code, stdout, _) = run(cli(&sim)
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--dry-run", "--json", "--page-limit", "7"]));
    assert_eq!(code, 0);
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let ranges: Vec<&str> = plan["files"][0]["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pages"].as_str().unwrap())
        .collect();
    assert_eq!(ranges, ["1-7", "8-14", "15-21", "22-25"]);
    assert_eq!(plan["jobs_to_send"], 4);
    assert_eq!(plan["pages_to_send"], 25);
}

#[test]
fn max_pages_refuses_a_batch_over_it_before_anything_is_sent() {
    let sim = sim(fast());
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "book.pdf", &book(25, |_| None));
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &["--max-pages", "24"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("25 pages") && stderr.contains("--max-pages 24"),
        "{stderr}"
    );
    assert!(sim.requests().is_empty());
    let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &["--max-pages", "25"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Done: nothing more to send, so no guard trips.
    let (code, _, stderr) = run_into(&sim, "legacy", &input, &out, &["--max-pages", "1"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_server_whose_limit_is_lower_says_so_and_a_smaller_page_limit_finishes_the_book() {
    for api in ["legacy", "doc-ai"] {
        let mut config = fast();
        config.max_pages = 5;
        config.doc_ai.max_pages = 5;
        let sim = sim(config);
        let dir = tempfile::tempdir().unwrap();
        let bytes = book(25, |_| None);
        let input = write(dir.path(), "book.pdf", &bytes);
        let out = dir.path().join("out");
        let (code, stdout, stderr) = run_into(&sim, api, &input, &out, &[]);
        assert_ne!(code, 0, "{api}: {stdout}{stderr}");
        let said = format!("{stdout}{stderr}");
        assert!(said.contains("it takes at most 5 pages"), "{api}: {said}");
        assert!(said.contains("cut at --page-limit 10"), "{api}: {said}");
        assert!(
            said.contains("run again with --page-limit 5"),
            "{api}: {said}"
        );
        assert!(
            !said.contains("run the same command again"),
            "{api}: {said}"
        );

        // The same command again: the refused jobs are ended, not resumed.
        let requests = sim.requests().len();
        let (code, stdout, stderr) = run_into(&sim, api, &input, &out, &[]);
        assert_ne!(code, 0, "{api}: {stdout}{stderr}");
        if api == "legacy" {
            assert_eq!(
                sim.requests().len(),
                requests,
                "{api}: a refused job was sent again"
            );
        }

        let (code, stdout, stderr) = run_into(&sim, api, &input, &out, &["--page-limit", "5"]);
        assert_eq!(code, 0, "{api}: {stdout}{stderr}");
        assert_stitched(&bytes, &out.join("book"), api, &[]);
        if api == "legacy" {
            // Pages 21-25 went through at limit 10: that job is the chunk's
            // at limit 5 too, not paid for again.
            let started = started_by_file(&sim);
            assert_eq!(
                started.get("pages-021-025-limit-10.pdf"),
                Some(&1),
                "{started:?}"
            );
            assert_eq!(
                started.get("pages-021-025-limit-5.pdf"),
                None,
                "{started:?}"
            );
            assert_eq!(started.values().sum::<usize>(), 5, "{started:?}");
        }
    }
}

#[cfg(unix)]
#[test]
fn jobs_in_flight_keep_their_cut_when_the_page_limit_changes() {
    let mut config = SimConfig::default();
    config.queue_time = Duration::from_millis(200);
    config.page_time = Duration::from_millis(100);
    let sim = sim(config);
    let dir = tempfile::tempdir().unwrap();
    let bytes = book(25, |_| None);
    let input = write(dir.path(), "book.pdf", &bytes);
    let out = dir.path().join("out");
    let mut child = cli(&sim)
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while sim.started_jobs() < 3 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(sim.started_jobs(), 3);
    // Rerun at a limit the book fits whole: the three jobs in flight are
    // gone on with, no whole job is made.
    let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &["--page-limit", "30"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("cut at 10 pages"), "{stderr}");
    assert_eq!(sim.started_jobs(), 3, "a job was paid for again");
    assert_stitched(&bytes, &out.join("book"), "legacy", &[]);
}

#[test]
fn extraction_over_the_limit_is_refused_before_anything_is_sent() {
    let sim = sim(fast());
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "form.pdf", &book(12, |_| None));
    let schema = write(
        dir.path(),
        "schema.json",
        br#"{"type":"object","properties":{"name":{"type":"string","description":"The name"}}}"#,
    );
    let (code, stdout, stderr) = run(cli(&sim)
        .args(["--api", "doc-ai", "extract"])
        .arg(&input)
        .arg("--schema")
        .arg(&schema)
        .arg("--out")
        .arg(dir.path().join("out")));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("12 pages") && stderr.contains("--page-limit"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot be joined across jobs"), "{stderr}");
    assert!(sim.requests().is_empty());
}

#[cfg(unix)]
#[test]
fn a_run_killed_anywhere_across_chunks_and_run_again_starts_no_chunk_twice() {
    let mut config = SimConfig::default();
    config.queue_time = Duration::from_millis(20);
    config.page_time = Duration::from_millis(15);
    let bytes = book(25, |_| None);
    // Kill points: after this many requests reached the simulator (a whole
    // run takes about 40), and "late" (none: after the last request).
    for point in [1, 3, 5, 8, 12, 16, 20, 25, 30, 35, 0] {
        let sim = sim(config.clone());
        let dir = tempfile::tempdir().unwrap();
        let input = write(dir.path(), "book.pdf", &bytes);
        let out = dir.path().join("out");
        let mut cmd = cli(&sim);
        let mut child = cmd
            .arg("run")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(["--concurrency", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            let seen = sim.requests().len();
            let exited = child.try_wait().unwrap().is_some();
            if exited || (point > 0 && seen >= point) || start.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &[]);
        assert_eq!(code, 0, "kill at {point}: {stdout}{stderr}");
        assert_stitched(&bytes, &out.join("book"), "legacy", &[]);
        let started = started_by_file(&sim);
        assert!(
            started.values().all(|n| *n == 1) && started.len() == 3,
            "kill at {point}: a chunk was started twice, or not at all: {started:?}"
        );
        // A third run: nothing more.
        let requests = sim.requests().len();
        let (code, _, _) = run_into(&sim, "legacy", &input, &out, &[]);
        assert_eq!(code, 0);
        assert_eq!(
            sim.requests().len(),
            requests,
            "kill at {point}: a finished book sent requests"
        );
    }
}

#[test]
fn a_path_to_the_help_of_run_names_the_page_flags() {
    let (code, stdout, _) = run(common::bin().args(["run", "--help"]));
    assert_eq!(code, 0);
    for flag in ["--page-limit", "--max-pages", "--strict-pages"] {
        assert!(stdout.contains(flag), "{flag}");
    }
    let _ = PathBuf::new();
}

#[cfg(unix)]
#[test]
fn a_chunks_folder_linked_out_of_the_output_folder_is_refused_and_what_it_points_to_survives() {
    let sim = sim(fast());
    let dir = tempfile::tempdir().unwrap();
    let bytes = book(25, |n| {
        (11..=20).contains(&n).then_some("Book sim:fail-job")
    });
    let input = write(dir.path(), "book.pdf", &bytes);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &[]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    // The good chunks' outputs stay while a page is missing; move them out
    // of OUT and leave a link in their place.
    let chunks = out.join(".sarvam-doc/chunks");
    let outside = dir.path().join("outside");
    std::fs::rename(&chunks, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &chunks).unwrap();
    let before: Vec<_> = walk(&outside);
    assert!(!before.is_empty());
    let (code, stdout, stderr) = run_into(&sim, "legacy", &input, &out, &[]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("is not a folder sarvam-doc made"),
        "{stdout}{stderr}"
    );
    assert_eq!(
        walk(&outside),
        before,
        "what the link points to was changed"
    );
}

/// Every path under `dir`, sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p.clone());
            }
            found.push(p);
        }
    }
    found.sort();
    found
}

#[test]
fn a_done_book_is_not_paid_for_again_when_the_page_limit_changes() {
    let sim = sim(fast());
    let dir = tempfile::tempdir().unwrap();
    let bytes = book(25, |_| None);
    let input = write(dir.path(), "book.pdf", &bytes);
    let short = write(dir.path(), "short.pdf", &book(8, |_| None));
    let out = dir.path().join("out");
    for input in [&input, &short] {
        let (code, stdout, stderr) = run_into(&sim, "legacy", input, &out, &[]);
        assert_eq!(code, 0, "{stdout}{stderr}");
    }
    let requests = sim.requests().len();
    // The book cut at 10 is whole at 30; the short one, whole at 10, is cut at 5.
    for limit in ["30", "5", "7"] {
        for input in [&input, &short] {
            let (code, stdout, stderr) =
                run_into(&sim, "legacy", input, &out, &["--page-limit", limit]);
            assert_eq!(code, 0, "{limit}: {stdout}{stderr}");
            assert!(stdout.contains("done before"), "{limit}: {stdout}");
        }
    }
    assert_eq!(
        sim.requests().len(),
        requests,
        "a done input was sent again"
    );
    assert_stitched(&bytes, &out.join("book"), "legacy", &[]);
}
