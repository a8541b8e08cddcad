//! The security review's breaks, replayed against the release-shaped binary:
//! each test names the break it proves fixed.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sarvam_doc_sim::{
    Fault, FaultPlan, Origin, RandomFaults, RetryAfter, Route, SimConfig, Simulator, sample,
};

mod common;
use common::{bin, cli, run, write};

const KEY: &str = "sk_live_hostile_0123456789abcdefghijklmnopqrstuv";

fn sim() -> Simulator {
    let mut c = SimConfig::default();
    c.queue_time = Duration::from_millis(50);
    c.page_time = Duration::from_millis(50);
    c.api_key = KEY.to_owned();
    Simulator::start(c).unwrap()
}

/// Every entry below `dir`, files and folders, relative and sorted.
fn everything(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Everything below `dir` but the journal's own folder.
fn outside_journal(dir: &Path) -> Vec<String> {
    everything(dir)
        .into_iter()
        .filter(|p| p != ".sarvam-doc" && !p.starts_with(".sarvam-doc/"))
        .collect()
}

#[test]
fn break_1_a_stem_of_dots_is_refused_and_nothing_is_deleted() {
    let sim = sim();
    let root = tempfile::tempdir().unwrap();
    let parent = root.path().join("parent");
    std::fs::create_dir_all(parent.join("out").join("earlier")).unwrap();
    write(&parent, "keep.txt", b"the user's other file");
    let pdf = sample::pdf(1, "x");
    let dots3 = write(&parent, "...pdf", &pdf);
    let dots2 = write(&parent, "..pdf", &pdf);
    let a = write(&parent, "a.pdf", &pdf);
    let before = everything(root.path());
    for args in [
        vec![
            dots3.clone(),
            "--out".into(),
            parent.join("out"),
            "--overwrite".into(),
        ],
        vec![a.clone(), dots2.clone(), "--out".into(), parent.join("out")],
    ] {
        let (code, _, stderr) = run(cli(&sim).arg("run").args(&args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("only dots"), "{stderr}");
    }
    assert_eq!(
        everything(root.path()),
        before,
        "nothing was deleted, moved or written"
    );
    assert!(sim.requests().is_empty(), "nothing was sent");
}

#[test]
fn break_4_the_key_is_never_printed_and_no_escape_reaches_the_terminal() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "doc.pdf", &sample::pdf(2, "x"));
    sim.inject(Route::CreateJob, [Fault::KeyInRequestId]);
    sim.inject(Route::UploadFiles, [Fault::EchoKey, Fault::EchoKey]);
    sim.inject(
        Route::Status,
        [Fault::KeyAtCut, Fault::KeyInRequestId, Fault::EchoKey],
    );
    let mut shown = String::new();
    let (code, stdout, stderr) = run(cli(&sim)
        .args(["run", "--json", "--out"])
        .arg(dir.path().join("out"))
        .arg(&input));
    assert_eq!(code, 0, "{stderr}");
    shown += &(stdout.clone() + &stderr);
    let job = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["files"][0]["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A status whose error message holds the key and escape sequences, as
    // text and as JSON; and a contract-breaking answer, in -v.
    for args in [
        vec!["status", &job],
        vec!["status", &job, "--json"],
        vec!["status", "-v", &job],
    ] {
        sim.clear_faults();
        sim.inject(Route::Status, [Fault::EchoKey]);
        let (_, out, err) = run(cli(&sim).args(&args));
        shown += &(out + &err);
    }
    sim.clear_faults();
    sim.inject(Route::Status, [Fault::OtherJob]);
    let (code, out, err) = run(cli(&sim).args(["status", &job]));
    assert_eq!(code, 1);
    shown += &(out + &err);
    for fragment in [KEY, &KEY[..16], &KEY[KEY.len() - 16..]] {
        assert!(
            !shown.contains(fragment),
            "{fragment:?} printed in:\n{shown}"
        );
    }
    assert!(
        !shown.contains('\u{1b}'),
        "an escape sequence printed:\n{shown:?}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
}

#[test]
fn break_5_timeouts_hold_inside_a_request() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    // A job for `wait`, then a server that accepts and never answers.
    let input = write(dir.path(), "doc.pdf", &sample::pdf(1, "x"));
    let (_, stdout, _) = run(cli(&sim)
        .args(["run", "--json", "--out"])
        .arg(dir.path().join("o1"))
        .arg(&input));
    let job = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["files"][0]["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.inject(Route::Status, std::iter::repeat_n(Fault::Hang, 20));
    let started = Instant::now();
    let (code, _, stderr) = run(cli(&sim).args(["wait", &job, "--timeout", "3"]));
    assert_eq!(code, 5, "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    sim.clear_faults();
    // Storage that sends its headers, then stalls.
    sim.inject(
        Route::StorageGet,
        std::iter::repeat_n(Fault::StallAfterHeaders, 20),
    );
    let started = Instant::now();
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--timeout", "3", "--out"])
        .arg(dir.path().join("o2"))
        .arg(&input));
    assert_eq!(code, 5, "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(stderr.contains("deadline of 3 s"), "{stderr}");
    // Nothing half-written: only the journal, which says what to resume.
    let left = outside_journal(&dir.path().join("o2"));
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn break_6_ctrl_c_during_an_unpack_leaves_nothing_behind() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "doc.pdf", &sample::pdf(1, "x"));
    let out = dir.path().join("out");
    // An output of 150,000 files takes seconds to unpack: time to interrupt it.
    sim.inject(Route::DownloadFiles, [Fault::ZipBombCount(150_000)]);
    let mut child = cli(&sim)
        .args(["run", "--max-entries", "200000", "--out"])
        .arg(&out)
        .arg(&input)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("downloaded") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the run ended early: {seen}"
        );
        seen.push_str(&line);
    }
    // Let the unpack get going, then interrupt it.
    let waiting = Instant::now();
    let mut staged = 0;
    while staged == 0 && waiting.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
        staged = everything(&out)
            .iter()
            .filter(|p| p.contains("pages/"))
            .count();
    }
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    stderr.read_to_string(&mut seen).unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(staged > 0, "the unpack had begun: {staged} files staged");
    let left = outside_journal(&out);
    assert!(
        left.is_empty(),
        "left behind: {:?}",
        &left[..left.len().min(5)]
    );
}

#[test]
fn break_7_status_refuses_an_answer_about_another_job() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "doc.pdf", &sample::pdf(1, "x"));
    let (_, stdout, _) = run(cli(&sim)
        .args(["run", "--json", "--out"])
        .arg(dir.path().join("o"))
        .arg(&input));
    let job = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["files"][0]["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.inject(Route::Status, [Fault::OtherJob]);
    let (code, stdout, stderr) = run(cli(&sim).args(["status", &job, "--json"]));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("answered about job 00000000-0000-4000-8000-00000000beef"),
        "{stderr}"
    );
}

#[test]
fn break_8_outputs_are_never_lost_with_a_false_message() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "doc.pdf", &sample::pdf(1, "x"));
    // Clashing and hostile names: every entry kept, inside the folder.
    sim.inject(Route::DownloadFiles, [Fault::UnsafeEntries]);
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--out"])
        .arg(dir.path().join("o1"))
        .arg(&input));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("exists already"), "{stderr}");
    let pages = everything(&dir.path().join("o1").join("doc"));
    assert!(
        pages.contains(&"a-2/b.md".to_owned()) && pages.contains(&"a".to_owned()),
        "{pages:?}"
    );
    // Not a ZIP: kept as it came, and said so.
    sim.inject(Route::DownloadFiles, [Fault::NotAZip]);
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--out"])
        .arg(dir.path().join("o2"))
        .arg(&input));
    assert_eq!(code, 1, "{stderr}");
    let raw = dir.path().join("o2").join("doc").join("doc_output.zip");
    assert!(stderr.contains(&raw.display().to_string()), "{stderr}");
    assert!(stderr.contains("not a readable ZIP"), "{stderr}");
    assert!(
        std::fs::read_to_string(raw)
            .unwrap()
            .contains("Service Unavailable")
    );
}

#[test]
fn breaks_2_and_3_downloads_and_unpacks_are_bounded_and_name_their_limit() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "doc.pdf", &sample::pdf(1, "x"));
    sim.inject(Route::DownloadFiles, [Fault::ZipBombSize(64)]);
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--max-unpacked", "10MiB", "--out"])
        .arg(dir.path().join("o1"))
        .arg(&input));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unpacked size limit"), "{stderr}");
    assert!(
        stderr.contains("--max-unpacked"),
        "says what to do: {stderr}"
    );
    assert!(
        dir.path()
            .join("o1")
            .join("doc")
            .join("doc_output.zip")
            .exists()
    );
    // A body that never ends: stopped at the announced size, tried again.
    sim.inject(Route::StorageGet, [Fault::EndlessBody]);
    let started = Instant::now();
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--out"])
        .arg(dir.path().join("o2"))
        .arg(&input));
    assert_eq!(code, 0, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // A petabyte announced: refused before any byte, naming the limit.
    sim.inject(Route::DownloadFiles, [Fault::HugeAnnounced]);
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--out"])
        .arg(dir.path().join("o3"))
        .arg(&input));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("download limit"), "{stderr}");
    assert!(
        stderr.contains("--max-download"),
        "says what to do: {stderr}"
    );
}

#[test]
fn break_9_a_huge_retry_after_ends_at_once_saying_what_the_server_asked() {
    let sim = sim();
    sim.inject(
        Route::Status,
        [Fault::RateLimited(RetryAfter::Seconds(99_999_999))],
    );
    let started = Instant::now();
    let (code, _, stderr) = run(cli(&sim).args([
        "wait",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "--timeout",
        "30",
    ]));
    assert_eq!(code, 5, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(stderr.contains("asked to wait 99999999 s"), "{stderr}");
    assert!(!stderr.contains("deadline of 30 s passed"), "{stderr}");
}

#[test]
fn break_10_a_key_file_without_end_is_refused_without_reading_it_all() {
    let started = Instant::now();
    let (code, _, stderr) = run(bin().args([
        "status",
        "--api-key-file",
        "/dev/zero",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("over 4096 bytes"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn break_11_the_simulator_on_a_port_in_use_says_so_without_a_panic() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let (code, _, stderr) =
        run(bin().args(["sim", "--listen", &port, "--storage-listen", "127.0.0.1:0"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot start the simulator"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // And from inside an async caller, as a library.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut config = SimConfig::default();
        config.api_addr = port.parse().unwrap();
        assert!(Simulator::start(config).is_err());
    });
}

/// A simulator whose every 2xx API answer carries the key inside its
/// `x-request-id`.
fn echoing_sim() -> Simulator {
    let mut c = common::fast();
    c.api_key = KEY.to_owned();
    c.faults = FaultPlan::default().random(RandomFaults::new(100, vec![Fault::EchoKeyInId], 0));
    Simulator::start(c).unwrap()
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

/// Fails the test if any trace of the key is in `text`.
#[track_caller]
fn assert_no_key(what: &str, text: &str) {
    for fragment in [KEY, &KEY[..16], &KEY[KEY.len() - 16..]] {
        assert!(!text.contains(fragment), "{what}: {fragment:?} in:\n{text}");
    }
}

/// `run` of a fresh document through `api` against an echoing simulator,
/// with `flags`: its exit code, stdout, stderr and output folder, after
/// checking the simulator did echo the key in this run.
fn echoed_run(
    sim: &Simulator,
    dir: &Path,
    api: &str,
    flags: &[&str],
) -> (String, String, std::path::PathBuf) {
    let input = write(dir, "doc.pdf", &sample::pdf(2, "x"));
    let out = dir.join(format!("out-{api}-{}", flags.join("")));
    let before = echoed(sim);
    let (code, stdout, stderr) = run(cli(sim)
        .args(["run", "--api", api])
        .args(flags)
        .arg("--out")
        .arg(&out)
        .arg(&input));
    assert_eq!(code, 0, "{api} {flags:?}: {stderr}");
    // Not vacuous: the API's answers to this run carried the key.
    assert!(echoed(sim) > before + 2, "{api} {flags:?}");
    (stdout, stderr, out)
}

#[test]
fn a_key_echoed_in_a_successful_answers_request_id_is_not_in_the_verbose_log() {
    let sim = echoing_sim();
    let dir = tempfile::tempdir().unwrap();
    for api in ["legacy", "doc-ai"] {
        let (_, stderr, _) = echoed_run(&sim, dir.path(), api, &["-v"]);
        assert_no_key(api, &stderr);
        // Each answer is logged, with its request id redacted.
        let answered: Vec<_> = stderr.lines().filter(|l| l.contains("answered")).collect();
        assert!(answered.len() > 2, "{api}: {stderr}");
        assert!(
            answered.iter().any(|l| l.contains("-<redacted>")),
            "{api}: {stderr}"
        );
    }
}

#[test]
fn a_key_echoed_in_a_successful_answers_request_id_is_not_in_the_json_log() {
    let sim = echoing_sim();
    let dir = tempfile::tempdir().unwrap();
    for api in ["legacy", "doc-ai"] {
        let (_, stderr, _) = echoed_run(&sim, dir.path(), api, &["--log-format", "json", "-v"]);
        assert_no_key(api, &stderr);
        let ids: Vec<String> = stderr
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| Some(v["fields"]["request_id"].as_str()?.to_owned()))
            .collect();
        assert!(
            ids.iter().filter(|id| id.ends_with("-<redacted>")).count() > 2,
            "{api}: {ids:?}\n{stderr}"
        );
    }
}

#[test]
fn a_key_echoed_in_a_successful_answers_request_id_is_not_in_run_json_or_any_saved_file() {
    let sim = echoing_sim();
    let dir = tempfile::tempdir().unwrap();
    for api in ["legacy", "doc-ai"] {
        let (stdout, stderr, out) = echoed_run(&sim, dir.path(), api, &["--json"]);
        assert_no_key(api, &(stdout.clone() + &stderr));
        assert!(
            serde_json::from_str::<serde_json::Value>(&stdout).is_ok(),
            "{stdout}"
        );
        // The manifest keeps each request id, redacted; no file under OUT
        // (the journal included) holds the key.
        let manifest = std::fs::read_to_string(out.join("doc/sarvam-doc-manifest.json")).unwrap();
        assert!(manifest.contains("-<redacted>"), "{api}: {manifest}");
        for file in everything(&out) {
            let path = out.join(&file);
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                assert_no_key(&file, &String::from_utf8_lossy(&bytes));
            }
        }
    }
}

#[test]
fn a_key_echoed_in_a_successful_answers_request_id_is_not_in_status_json() {
    let sim = echoing_sim();
    let dir = tempfile::tempdir().unwrap();
    for api in ["legacy", "doc-ai"] {
        let (stdout, _, _) = echoed_run(&sim, dir.path(), api, &["--json"]);
        let job = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["files"][0]["job_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let before = echoed(&sim);
        let (code, stdout, stderr) =
            run(cli(&sim).args(["status", "--api", api, "--json", "-v", &job]));
        assert_eq!(code, 0, "{api}: {stderr}");
        assert_eq!(
            echoed(&sim),
            before + 1,
            "{api}: the status answer echoed the key"
        );
        assert_no_key(api, &(stdout.clone() + &stderr));
        assert!(
            serde_json::from_str::<serde_json::Value>(&stdout).is_ok(),
            "{stdout}"
        );
    }
}
