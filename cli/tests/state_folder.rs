//! The state folder `OUT/.sarvam-doc/` is hostile input (issue 21): the
//! second audit's breaks 1, 2, 3, 4, 9, 10, 12 and 13, replayed against the
//! binary and a simulator. Each test names what it proves.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sarvam_doc_sim::{Fault, Route, Simulator, sample};
use serde_json::Value;

mod common;
use common::{cli, fast, run, write};

/// How long a command may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(20);

fn sim() -> Simulator {
    Simulator::start(fast()).unwrap()
}

/// `run INPUT --out OUT` with `extra` arguments.
fn run_into(sim: &Simulator, input: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    run(cli(sim)
        .arg("run")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(extra))
}

/// Runs `cmd` to its end, killing it (and failing) if it takes longer than
/// [`HANG`]: the exit code and stderr.
fn run_or_hang(cmd: &mut Command, what: &str) -> (i32, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), stderr_of(child));
        }
        if started.elapsed() > HANG {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("{what} still running after {HANG:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(mut child: Child) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut text).unwrap();
    text
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A refusal of the state folder: a clean error (no signal), naming
/// `named`, saying what it is, and with nothing sent.
fn assert_refused(sim: &Simulator, (code, stderr): (i32, &str), named: &str, what: &str) {
    assert!(code == 1 || code == 2, "exit {code}: {stderr}");
    assert!(stderr.contains(named), "names {named}: {stderr}");
    assert!(stderr.contains(what), "says {what}: {stderr}");
    assert!(stderr.contains("remove it"), "says what to do: {stderr}");
    assert_eq!(sim.jobs(), 0, "nothing was paid for");
}

#[test]
fn a_journal_linked_out_of_the_folder_is_refused_and_nothing_is_written_there() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "x$(touch PWNED).pdf", &sample::pdf(1, "x"));
    let profile = write(dir.path(), "profile", b"# the user's shell start-up\n");
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join(".sarvam-doc")).unwrap();
    symlink(&profile, out.join(".sarvam-doc/journal.jsonl")).unwrap();
    for extra in [&["--dry-run"][..], &[]] {
        let (code, _, stderr) = run_into(&sim, &input, &out, extra);
        assert_refused(&sim, (code, &stderr), "journal.jsonl", "symbolic link");
    }
    assert_eq!(
        std::fs::read(&profile).unwrap(),
        b"# the user's shell start-up\n"
    );
}

#[test]
fn a_journal_hard_linked_to_a_file_outside_is_refused_and_that_file_is_untouched() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "x.pdf", &sample::pdf(1, "x"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join(".sarvam-doc")).unwrap();
    // Empty (appended to), and one line without its newline (trimmed as cut).
    for contents in [&b""[..], b"export PATH=/usr/bin"] {
        let outside = write(dir.path(), "profile", contents);
        let journal = out.join(".sarvam-doc/journal.jsonl");
        let _ = std::fs::remove_file(&journal);
        std::fs::hard_link(&outside, &journal).unwrap();
        for extra in [&["--dry-run"][..], &[]] {
            let (code, _, stderr) = run_into(&sim, &input, &out, extra);
            assert!(code == 1 || code == 2, "exit {code}: {stderr}");
            assert!(
                stderr.contains("journal.jsonl") && stderr.contains("hard links"),
                "{stderr}"
            );
            assert_eq!(sim.jobs(), 0, "nothing was paid for");
        }
        assert_eq!(std::fs::read(&outside).unwrap(), contents);
    }
}

#[test]
fn a_lock_linked_to_a_missing_path_outside_is_refused_and_that_path_is_not_made() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.pdf", &sample::pdf(1, "x"));
    let target = dir.path().join("made-outside");
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join(".sarvam-doc")).unwrap();
    symlink(&target, out.join(".sarvam-doc/lock")).unwrap();
    let (code, _, stderr) = run_into(&sim, &input, &out, &[]);
    assert_refused(&sim, (code, &stderr), "lock", "symbolic link");
    // download and wait --out take the same lock, by the same rules.
    let job = "00000000-0000-4000-8000-000000000000";
    for command in ["download", "wait"] {
        let (code, _, stderr) = run(cli(&sim).args([command, job, "--out"]).arg(&out));
        assert_refused(&sim, (code, &stderr), "lock", "symbolic link");
    }
    assert!(
        std::fs::symlink_metadata(&target).is_err(),
        "nothing was made outside the output folder"
    );
    assert_eq!(sim.requests().len(), 0, "nothing was sent");
}

#[test]
fn a_state_folder_linked_out_of_the_folder_is_refused_and_nothing_is_written_there() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.pdf", &sample::pdf(1, "x"));
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    symlink(&elsewhere, out.join(".sarvam-doc")).unwrap();
    let (code, _, stderr) = run_into(&sim, &input, &out, &[]);
    assert_refused(&sim, (code, &stderr), ".sarvam-doc", "symbolic link");
    assert!(names(&elsewhere).is_empty(), "{:?}", names(&elsewhere));
}

#[test]
fn a_cut_last_line_then_a_run_and_a_rerun_make_exactly_one_job_per_file() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &sample::pdf(1, "a"));
    let b = write(dir.path(), "b.pdf", &sample::pdf(1, "b"));
    let out = dir.path().join("out");
    let (code, _, stderr) = run_into(&sim, &a, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    // A crash (or a full disk) in the middle of a line.
    let journal = out.join(".sarvam-doc/journal.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut file, br#"{"at":"2025-01-01T00:00:00Z","event":"crea"#).unwrap();
    drop(file);
    for round in ["the run after the cut", "the rerun"] {
        let (code, _, stderr) = run(cli(&sim).arg("run").arg(&a).arg(&b).arg("--out").arg(&out));
        assert_eq!(code, 0, "{round}: {stderr}");
        assert_eq!(sim.jobs(), 2, "{round}: one job for a.pdf, one for b.pdf");
    }
    let text = std::fs::read_to_string(&journal).unwrap();
    for (i, line) in text.lines().enumerate() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "line {} is a record: {line}",
            i + 1
        );
    }
}

#[test]
fn the_users_own_dot_sarvam_doc_files_survive_a_run() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.pdf", &sample::pdf(1, "x"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join(".sarvam-doc-backup")).unwrap();
    write(&out.join(".sarvam-doc-backup"), "journal.jsonl", b"kept");
    write(&out, ".sarvam-doc-notes.txt", b"my notes");
    let (code, _, stderr) = run_into(&sim, &input, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read(out.join(".sarvam-doc-backup/journal.jsonl")).unwrap(),
        b"kept"
    );
    assert_eq!(
        std::fs::read(out.join(".sarvam-doc-notes.txt")).unwrap(),
        b"my notes"
    );
    assert!(out.join("a").is_dir(), "and the run did its work");
}

#[test]
fn a_run_into_a_folder_a_download_is_using_is_refused_and_the_download_ends_well() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.pdf", &sample::pdf(2, "a"));
    let b = write(dir.path(), "b.pdf", &sample::pdf(1, "b"));
    let (code, stdout, stderr) = run_into(&sim, &a, &dir.path().join("scratch"), &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let job = report["files"][0]["job_id"].as_str().unwrap().to_owned();
    // The download's output answers slowly: time for a run to start.
    let gets = sim.count(Route::StorageGet);
    sim.inject(Route::StorageGet, [Fault::Delay(Duration::from_secs(3))]);
    let out = dir.path().join("out");
    let download = cli(&sim)
        .args(["download", &job, "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while sim.count(Route::StorageGet) == gets {
        assert!(started.elapsed() < HANG, "the download never began");
        std::thread::sleep(Duration::from_millis(10));
    }
    let jobs = sim.jobs();
    let (code, _, stderr) = run_into(&sim, &b, &out, &[]);
    assert!(code == 1 || code == 2, "refused: {code} {stderr}");
    assert!(
        stderr.contains("another sarvam-doc run is using"),
        "{stderr}"
    );
    assert_eq!(sim.jobs(), jobs, "the refused run sent nothing");
    let mut download = download;
    let status = download.wait().unwrap();
    let download_err = stderr_of(download);
    assert_eq!(
        status.code(),
        Some(0),
        "the download ends well: {download_err}"
    );
    assert!(out.join("a").is_dir(), "{:?}", names(&out));
}

#[test]
fn a_journal_or_lock_that_is_a_fifo_ends_every_command_at_once_with_an_error() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.pdf", &sample::pdf(1, "x"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join(".sarvam-doc")).unwrap();
    let made = Command::new("mkfifo")
        .arg(out.join(".sarvam-doc/journal.jsonl"))
        .status()
        .unwrap();
    assert!(made.success());
    for extra in [&["--dry-run"][..], &[]] {
        let mut cmd = cli(&sim);
        cmd.arg("run")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(extra);
        let (code, stderr) = run_or_hang(&mut cmd, &format!("run {extra:?}"));
        assert_refused(&sim, (code, &stderr), "journal.jsonl", "not a regular file");
    }
    // A lock that is a FIFO: download and wait --out take it too.
    std::fs::remove_file(out.join(".sarvam-doc/journal.jsonl")).unwrap();
    let made = Command::new("mkfifo")
        .arg(out.join(".sarvam-doc/lock"))
        .status()
        .unwrap();
    assert!(made.success());
    let job = "00000000-0000-4000-8000-000000000000";
    for command in ["download", "wait"] {
        let mut cmd = cli(&sim);
        cmd.args([command, job, "--out"]).arg(&out);
        let (code, stderr) = run_or_hang(&mut cmd, command);
        assert_refused(&sim, (code, &stderr), "lock", "not a regular file");
    }
    let mut cmd = cli(&sim);
    cmd.arg("run").arg(&input).arg("--out").arg(&out);
    let (code, stderr) = run_or_hang(&mut cmd, "run with a FIFO lock");
    assert_refused(&sim, (code, &stderr), "lock", "not a regular file");
    assert_eq!(sim.requests().len(), 0, "nothing was sent");
}

#[test]
fn a_journal_linked_to_dev_zero_or_huge_is_refused_without_an_abort() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.pdf", &sample::pdf(1, "x"));
    let out = dir.path().join("out");
    let journal = out.join(".sarvam-doc/journal.jsonl");
    std::fs::create_dir_all(out.join(".sarvam-doc")).unwrap();
    symlink("/dev/zero", &journal).unwrap();
    let mut cmd = cli(&sim);
    cmd.arg("run").arg(&input).arg("--out").arg(&out);
    let (code, stderr) = run_or_hang(&mut cmd, "run on /dev/zero");
    assert_refused(&sim, (code, &stderr), "journal.jsonl", "symbolic link");
    // 3 GiB without a newline (sparse: no disk is spent).
    std::fs::remove_file(&journal).unwrap();
    std::fs::File::create(&journal)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let mut cmd = cli(&sim);
    cmd.arg("run").arg(&input).arg("--out").arg(&out);
    let (code, stderr) = run_or_hang(&mut cmd, "run on a huge journal");
    assert!(code == 1 || code == 2, "exit {code}: {stderr}");
    assert!(
        stderr.contains("journal.jsonl is over 268435456 bytes"),
        "{stderr}"
    );
    assert_eq!(sim.jobs(), 0);
}
