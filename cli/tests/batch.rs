//! Batches: preflight, dry runs, reruns that skip or resume, and fetching a
//! finished job's outputs by its id.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use sarvam_doc_sim::{Route, SimConfig, Simulator, sample};
use serde_json::Value;

mod common;
use common::{cli, run, write};

fn fast() -> SimConfig {
    let mut c = SimConfig::default();
    c.queue_time = Duration::from_millis(30);
    c.page_time = Duration::from_millis(30);
    c
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

#[test]
fn preflight_refuses_a_fake_pdf_and_a_nested_or_non_image_zip_with_nothing_sent() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let png: &[u8] = b"\x89PNG\r\n\x1a\nrest";
    let cases = [
        (
            write(dir.path(), "fake.pdf", b"just some text, not a PDF"),
            "not a PDF",
        ),
        (
            write(dir.path(), "nested.zip", &zip_of(&[("a/b/1.png", png)])),
            "not flat",
        ),
        (
            write(dir.path(), "notes.zip", &zip_of(&[("notes.txt", b"hello")])),
            "not a JPEG or PNG",
        ),
        (
            write(
                dir.path(),
                "fake-image.zip",
                &zip_of(&[("1.png", b"GIF89a...")]),
            ),
            "not a JPEG or PNG",
        ),
    ];
    for (path, needle) in &cases {
        let (code, stdout, stderr) = run(cli(&sim)
            .arg("run")
            .arg(path)
            .arg("--out")
            .arg(dir.path().join("out")));
        assert_eq!(code, 2, "{path:?}: {stderr}");
        assert!(stderr.contains(needle), "{path:?}: {stderr}");
        assert!(stdout.is_empty());
    }
    assert!(sim.requests().is_empty(), "nothing was sent");
    assert!(
        !dir.path().join("out").join(".sarvam-doc").exists(),
        "nothing was written"
    );
}

#[test]
fn a_dry_run_prints_the_plan_and_sends_nothing() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    write(&docs, "a.pdf", &sample::pdf(2, "a"));
    write(&docs, "b.pdf", &sample::pdf(3, "b"));
    write(&docs, "c.zip", &sample::image_zip(4));
    write(&docs, "notes.txt", b"not an input");
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(cli(&sim)
        .arg("run")
        .arg(&docs)
        .arg("--out")
        .arg(&out)
        .arg("--dry-run"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .contains("3 files, 9 pages in all; 9 pages to send in 3 jobs; 3 new jobs, 0 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("Dry run: nothing was sent"), "{stdout}");
    assert!(sim.requests().is_empty(), "the simulator's log is empty");
    assert!(
        !out.join(".sarvam-doc").exists(),
        "a dry run writes nothing"
    );
    // Run it, then plan again: everything is done.
    let (code, _, stderr) = run(cli(&sim).arg("run").arg(&docs).arg("--out").arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let sent = sim.requests().len();
    let (code, stdout, _) = run(cli(&sim)
        .arg("run")
        .arg(&docs)
        .arg("--out")
        .arg(&out)
        .args(["--dry-run", "--json"]));
    assert_eq!(code, 0);
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["jobs_to_create"], 0);
    assert_eq!(plan["skipped"], 3);
    assert_eq!(plan["pages_to_send"], 0);
    assert_eq!(sim.requests().len(), sent);
}

#[test]
fn a_rerun_skips_what_is_done_and_resumes_from_a_list_and_a_folder() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let a = write(&docs, "a.pdf", &sample::pdf(2, "a"));
    write(&docs, "b.pdf", &sample::pdf(1, "b"));
    let other = write(dir.path(), "other.pdf", &sample::pdf(1, "o"));
    let list = write(
        dir.path(),
        "list.txt",
        format!("# inputs\n{}\n\n", other.display()).as_bytes(),
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(cli(&sim)
        .arg("run")
        .arg(&docs)
        .arg("--from")
        .arg(&list)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 files, 4 pages: 3 completed"), "{stdout}");
    let creates = sim.count(Route::CreateJob);
    assert_eq!(creates, 3);
    // Again: nothing to do, nothing paid for.
    let (code, stdout, _) = run(cli(&sim)
        .arg("run")
        .arg(&docs)
        .arg("--from")
        .arg(&list)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0);
    assert!(stdout.contains("3 skipped (done before)"), "{stdout}");
    assert_eq!(sim.count(Route::CreateJob), creates);
    // A changed file is a new document; a deleted output is fetched again from its job.
    std::fs::write(&a, sample::pdf(3, "a, longer")).unwrap();
    std::fs::remove_dir_all(out.join("b")).unwrap();
    let (code, stdout, stderr) = run(cli(&sim)
        .arg("run")
        .arg(&docs)
        .arg("--from")
        .arg(&list)
        .arg("--out")
        .arg(&out)
        .arg("--json"));
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let done: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["done"].as_str().unwrap())
        .collect();
    assert_eq!(done, ["ran", "resumed", "skipped"]);
    assert_eq!(
        sim.count(Route::CreateJob),
        creates + 1,
        "only the changed file made a job"
    );
    assert_eq!(
        std::fs::read_dir(out.join("a")).unwrap().count(),
        5,
        "3 pages, the merged document and the manifest"
    );
    assert!(out.join("b").join("page_001.md").exists());
    assert_eq!(report["summary"]["resumed"], 1);
    assert_eq!(report["summary"]["skipped"], 1);
    // --force pays for new jobs.
    let (_, _, _) = run(cli(&sim)
        .arg("run")
        .arg(&other)
        .arg("--out")
        .arg(&out)
        .arg("--force"));
    assert_eq!(sim.count(Route::CreateJob), creates + 2);
}

#[test]
fn a_document_over_the_page_limit_is_cut_by_default_and_refused_when_strict() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big = write(dir.path(), "big.pdf", &sample::pdf(12, "twelve"));
    let (code, _, stderr) = run(cli(&sim)
        .arg("run")
        .arg(&big)
        .arg("--out")
        .arg(dir.path().join("o1"))
        .arg("--strict-pages"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("12 pages, over the 10 one job is sent")
            && stderr.contains("--strict-pages"),
        "{stderr}"
    );
    assert!(sim.requests().is_empty());
    let (code, stdout, stderr) = run(cli(&sim)
        .arg("run")
        .arg(&big)
        .arg("--out")
        .arg(dir.path().join("o2")));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("completed (2 jobs)"), "{stdout}");
    assert_eq!(sim.started_jobs(), 2);
    assert!(dir.path().join("o2/big/page_012.md").exists());
}

/// A job on `sim` for `name` (its pages say how it ends), started by a run
/// into a scratch folder; returns its id.
fn finished_job(sim: &Simulator, dir: &Path, name: &str) -> String {
    let input = write(dir, name, &sample::pdf(4, "x"));
    let scratch = dir.join(format!("scratch-{name}"));
    let (_, stdout, _) = run(cli(sim)
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&scratch)
        .arg("--json"));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    report["files"][0]["job_id"].as_str().unwrap().to_owned()
}

#[test]
fn download_and_wait_out_fetch_completed_partial_and_failed_jobs() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, exit, pages) in [
        ("done.pdf", 0, 4),
        ("partial-x.pdf", 3, 2),
        ("will-fail.pdf", 4, 0),
    ] {
        let job = finished_job(&sim, dir.path(), name);
        let out = dir.path().join(format!("dl-{name}"));
        let (code, stdout, stderr) = run(cli(&sim).args(["download", &job, "--out"]).arg(&out));
        assert_eq!(code, exit, "{name}: {stderr}");
        let folder = out.join(name.trim_end_matches(".pdf"));
        if pages > 0 {
            assert!(stdout.contains(&folder.display().to_string()), "{stdout}");
            let files = std::fs::read_dir(&folder).unwrap().count();
            assert_eq!(
                files,
                pages + 2,
                "{name}: pages, the merged document and the manifest"
            );
        } else {
            assert!(
                stderr.contains("the job failed: it has no outputs"),
                "{stderr}"
            );
            assert!(!folder.exists());
        }
        // wait --out does the same, once the job has ended.
        let out = dir.path().join(format!("wait-{name}"));
        let (code, _, stderr) = run(cli(&sim).args(["wait", &job, "--out"]).arg(&out));
        assert_eq!(code, exit, "{name}: {stderr}");
        assert_eq!(out.join(name.trim_end_matches(".pdf")).exists(), pages > 0);
    }
}

#[test]
fn download_refuses_a_job_that_has_not_ended_and_says_what_to_run() {
    let mut config = fast();
    config.page_time = Duration::from_secs(60);
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "slow.pdf", &sample::pdf(2, "x"));
    // Start it, and stop watching (a short timeout).
    let (code, stdout, _) = run(cli(&sim)
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("o"))
        .args(["--timeout", "1", "--json"]));
    assert_eq!(code, 5);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let job = report["files"][0]["job_id"].as_str().unwrap().to_owned();
    let out = dir.path().join("dl");
    let (code, _, stderr) = run(cli(&sim).args(["download", &job, "--out"]).arg(&out));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("has not ended (it is Running)"), "{stderr}");
    assert!(
        stderr.contains(&format!("sarvam-doc wait {job} --out {}", out.display())),
        "a command that works: {stderr}"
    );
    assert_eq!(sim.count(Route::DownloadFiles), 0);
}

#[test]
fn a_doc_ai_submit_without_an_answer_is_held_until_the_user_says_to_pay_again() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.pdf", &sample::pdf(1, "a"));
    write(dir.path(), "b.pdf", &sample::pdf(1, "b"));
    let out = dir.path().join("out");
    let batch = |extra: &[&str]| {
        let mut cmd = cli(&sim);
        cmd.args(["run", "--api", "doc-ai", "--concurrency", "1", "--out"])
            .arg(&out)
            .arg(dir.path().join("a.pdf"))
            .arg(dir.path().join("b.pdf"))
            .args(extra);
        run(&mut cmd)
    };
    // The first submit's answer is lost after the job was made.
    sim.inject(Route::AiSubmit, [sarvam_doc_sim::Fault::DropAfter]);
    let (code, _, stderr) = batch(&[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--retry-unconfirmed"), "{stderr}");
    assert_eq!((sim.count(Route::AiSubmit), sim.doc_ai_jobs()), (2, 2));
    assert!(out.join("b").join("document.md").exists());

    // Run again: b is done, a is held; nothing is sent for either.
    let (code, stdout, stderr) = batch(&[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("unconfirmed"), "{stdout}");
    assert!(stderr.contains("--retry-unconfirmed"), "{stderr}");
    assert_eq!(sim.count(Route::AiSubmit), 2, "nothing sent");

    // Told to: a is submitted again (a second job, paid for knowingly).
    let (code, stdout, stderr) = batch(&["--retry-unconfirmed"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!((sim.count(Route::AiSubmit), sim.doc_ai_jobs()), (3, 3));
    assert!(out.join("a").join("document.md").exists());
}
