//! The `sarvam-doc` command as a process, against the simulator.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sarvam_doc_sim::{Fault, RetryAfter, Route, Simulator, sample};
use serde_json::Value;

mod common;
use common::{bin, cli, fast, run, write};

/// A job on `sim` taken to the start, through plain HTTP.
fn started_job(sim: &Simulator, name: &str, pages: u32) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let base = format!("{}/doc-digitization/job/v1", sim.api_url());
    let key = sim.api_key();
    let read = |mut r: ureq::http::Response<ureq::Body>| -> Value {
        serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap()
    };
    let job = read(
        agent
            .post(&base)
            .header("api-subscription-key", key)
            .send("{}")
            .unwrap(),
    )["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let up = read(
        agent
            .post(format!("{base}/upload-files"))
            .header("api-subscription-key", key)
            .send(format!(r#"{{"job_id":"{job}","files":["{name}"]}}"#))
            .unwrap(),
    );
    let url = up["upload_urls"][name]["file_url"].as_str().unwrap();
    agent
        .put(url)
        .header("x-ms-blob-type", "BlockBlob")
        .send(&sample::pdf(pages, "t")[..])
        .unwrap();
    agent
        .post(format!("{base}/{job}/start"))
        .header("api-subscription-key", key)
        .send_empty()
        .unwrap();
    job
}

#[test]
fn demo_runs_end_to_end_without_a_key_or_network() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(bin().current_dir(dir.path()).arg("demo"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("completed"), "{stdout}");
    assert!(
        stderr.contains("trying again"),
        "the injected 503 is ridden out: {stderr}"
    );
    let pages = dir.path().join("sarvam-demo-output/sarvam-demo");
    let mut names: Vec<_> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "document.md",
            "page_001.md",
            "page_002.md",
            "page_003.md",
            "sarvam-doc-manifest.json"
        ]
    );
    assert!(
        std::fs::read_to_string(pages.join("page_002.md"))
            .unwrap()
            .starts_with("# Page 2")
    );
}

#[test]
fn status_prints_the_job_and_its_json_has_the_api_field_names() {
    let sim = Simulator::start(fast()).unwrap();
    let job = started_job(&sim, "partial-doc.pdf", 4);
    std::thread::sleep(Duration::from_millis(600));
    let (code, stdout, stderr) = run(cli(&sim).args(["status", &job]));
    assert_eq!(code, 3, "partially completed: {stderr}");
    assert!(
        stdout.contains(&format!("job {job}: PartiallyCompleted")),
        "{stdout}"
    );
    assert!(
        stdout.contains("4 total, 4 processed, 2 succeeded, 2 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("page 2: Page 2 could not be read"),
        "{stdout}"
    );

    let (code, stdout, _) = run(cli(&sim).args(["status", &job, "--json"]));
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["job_id"], job.as_str());
    assert_eq!(v["job_state"], "PartiallyCompleted");
    assert_eq!(v["storage_container_type"], "Azure");
    assert_eq!(v["total_files"], 1);
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["job_details"][0]["pages_failed"], 2);
    assert_eq!(v["job_details"][0]["page_errors"][0]["page_number"], 2);
    assert_eq!(v["outcome"]["kind"], "partially_completed");
}

#[test]
fn wait_exits_with_the_jobs_outcome() {
    let sim = Simulator::start(fast()).unwrap();
    for (name, code, kind) in [
        ("ok.pdf", 0, "completed"),
        ("partial.pdf", 3, "partially_completed"),
        ("fail.pdf", 4, "failed"),
    ] {
        let job = started_job(&sim, name, 2);
        let (got, stdout, stderr) = run(cli(&sim).args(["wait", &job, "--json"]));
        assert_eq!(got, code, "{name}: {stderr}");
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["outcome"]["kind"], kind);
        assert_eq!(v["job_id"], job.as_str());
    }
}

#[test]
fn wait_gives_up_at_its_timeout_with_exit_5() {
    let mut config = fast();
    config.page_time = Duration::from_secs(600);
    let sim = Simulator::start(config).unwrap();
    let job = started_job(&sim, "slow.pdf", 2);
    let t = Instant::now();
    let (code, stdout, stderr) = run(cli(&sim).args(["wait", &job, "--timeout", "2", "--json"]));
    assert_eq!(code, 5, "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(6));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["outcome"]["kind"], "gave_up");
    assert_eq!(v["outcome"]["reason"], "deadline");
    assert_eq!(v["job_state"], "Running", "the last status seen");
}

#[test]
fn api_errors_print_code_message_and_request_id_and_exit_1() {
    let sim = Simulator::start(fast()).unwrap();
    let (code, stdout, stderr) =
        run(cli(&sim).args(["status", "3fa85f64-5717-4562-b3fc-2c963f66afa6"]));
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("404 not_found_error"), "{stderr}");
    assert!(stderr.contains("(request id 2"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    // A wrong key: 403, and the key is not repeated.
    let (code, _, stderr) = run(cli(&sim)
        .env("SARVAM_API_KEY", "wrong-key-123")
        .args(["status", "3fa85f64-5717-4562-b3fc-2c963f66afa6"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("invalid_api_key_error") && stderr.contains("SARVAM_API_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-key-123"));
}

#[test]
fn run_unzips_each_file_into_its_own_folder_and_prints_a_summary() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "alpha.pdf", &sample::pdf(2, "a"));
    let b = write(dir.path(), "beta.zip", &sample::image_zip(3));
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(cli(&sim)
        .arg("run")
        .arg(&a)
        .arg(&b)
        .args(["--format", "html", "--language", "ta-IN", "--out"])
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.lines().next().unwrap().starts_with("FILE"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().count(),
        4,
        "a header, a row a file, the counts"
    );
    assert!(
        stdout.contains("completed") && stdout.contains("2/0") && stdout.contains("3/0"),
        "{stdout}"
    );
    assert!(stdout.contains("2 files, 5 pages: 2 completed"), "{stdout}");
    // Two pages, the merged document and the manifest.
    assert_eq!(std::fs::read_dir(out.join("alpha")).unwrap().count(), 4);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("alpha/sarvam-doc-manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["state"], "Completed");
    assert_eq!(manifest["request"], "legacy:ta-IN:html");
    assert_eq!(manifest["pages"]["succeeded"], 2);
    assert_eq!(manifest["input"]["sha256"].as_str().unwrap().len(), 64);
    assert!(manifest["requests"].as_array().unwrap().len() >= 7);
    assert!(
        std::fs::read_to_string(out.join("beta/page_003.html"))
            .unwrap()
            .contains("(ta-IN)")
    );
    // Nothing else: no staging folders, no ZIPs; the journal in its own folder.
    let mut top: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    top.sort();
    assert_eq!(top, [".sarvam-doc", "alpha", "beta"]);
    assert!(!sim.storage_saw_api_key());
}

#[test]
fn run_json_reports_every_file_and_the_worst_exit_code() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.pdf", &sample::pdf(1, "a"));
    let partial = write(dir.path(), "partial.pdf", &sample::pdf(2, "a"));
    let failed = write(dir.path(), "fail.pdf", &sample::pdf(1, "a"));
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(cli(&sim)
        .arg("run")
        .args([&ok, &partial, &failed])
        .arg("--json")
        .arg("--concurrency")
        .arg("2")
        .arg("--out")
        .arg(&out));
    assert_eq!(
        code, 4,
        "a failed job is worse than a partial one: {stderr}"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    let kinds: Vec<_> = files
        .iter()
        .map(|f| f["outcome"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["completed", "partially_completed", "failed"]);
    let codes: Vec<_> = files
        .iter()
        .map(|f| f["exit_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [0, 3, 4]);
    assert_eq!(files[1]["status"]["job_details"][0]["pages_failed"], 1);
    assert!(files[0]["job_id"].as_str().unwrap().len() == 36);
    assert!(files[2]["output"].is_null());
    assert!(out.join("ok/page_001.md").exists());
    assert!(!out.join("fail").exists());
}

#[test]
fn a_run_with_faults_injected_still_completes() {
    let sim = Simulator::start(fast()).unwrap();
    sim.inject(
        Route::Status,
        [
            Fault::HighLoad,
            Fault::RateLimited(RetryAfter::Seconds(1)),
            Fault::Truncated,
        ],
    );
    sim.inject(Route::StorageGet, [Fault::DropAfter]);
    sim.inject(Route::CreateJob, [Fault::HighLoad]);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "doc.pdf", &sample::pdf(2, "a"));
    let (code, _, stderr) = run(cli(&sim)
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out")));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.matches("trying again").count() >= 5, "{stderr}");
    assert_eq!(sim.jobs(), 1);
    assert!(dir.path().join("out/doc/page_002.md").exists());
}

#[test]
fn bad_input_exits_2_with_nothing_sent_and_nothing_written() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(dir.path(), "doc.pdf", &sample::pdf(1, "a"));
    let empty = write(dir.path(), "empty.pdf", b"");
    let docx = write(dir.path(), "letter.docx", b"PK");
    let big = dir.path().join("huge.pdf");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(201 * 1024 * 1024)
        .unwrap();
    let a_file = write(dir.path(), "not-a-folder", b"x");
    std::fs::create_dir(dir.path().join("empty-folder")).unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let p = |p: &PathBuf| p.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["status".into(), "not-a-uuid".into()],
            "is not a legacy job id",
        ),
        (
            vec!["wait".into(), "12345".into()],
            "is not a legacy job id",
        ),
        (
            vec![
                "run".into(),
                p(&dir.path().join("missing.pdf")),
                "--out".into(),
                out_s.into(),
            ],
            "cannot read",
        ),
        (
            vec![
                "run".into(),
                p(&dir.path().join("empty-folder")),
                "--out".into(),
                out_s.into(),
            ],
            "holds no .pdf or .zip files",
        ),
        (
            vec!["run".into(), p(&empty), "--out".into(), out_s.into()],
            "empty",
        ),
        (
            vec!["run".into(), p(&docx), "--out".into(), out_s.into()],
            ".pdf or .zip",
        ),
        (
            vec!["run".into(), p(&big), "--out".into(), out_s.into()],
            "200 MB",
        ),
        (
            vec![
                "run".into(),
                p(&pdf),
                "--language".into(),
                "xx-IN".into(),
                "--out".into(),
                out_s.into(),
            ],
            "not a language",
        ),
        (
            vec![
                "run".into(),
                p(&pdf),
                "--format".into(),
                "markdown".into(),
                "--out".into(),
                out_s.into(),
            ],
            "use md, html or json",
        ),
        (
            vec!["run".into(), p(&pdf), "--out".into(), p(&a_file)],
            "cannot write to the output folder",
        ),
        (
            vec!["run".into(), p(&pdf), p(&pdf), "--out".into(), out_s.into()],
            "given twice",
        ),
        (
            vec![
                "status".into(),
                "3fa85f64-5717-4562-b3fc-2c963f66afa6".into(),
                "--base-url".into(),
                "http://api.example.com".into(),
            ],
            "https",
        ),
        (vec!["frobnicate".into()], "unrecognized subcommand"),
    ];
    for (args, needle) in cases {
        let (code, stdout, stderr) = run(cli(&sim).args(&args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}");
    }
    // No key at all: say how to set one.
    let (code, _, stderr) = run(bin()
        .env("SARVAM_BASE_URL", sim.api_url())
        .args(["status", "3fa85f64-5717-4562-b3fc-2c963f66afa6"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("set SARVAM_API_KEY"), "{stderr}");
    // An existing output folder is not replaced without --overwrite.
    std::fs::create_dir_all(out.join("doc")).unwrap();
    let (code, _, stderr) = run(cli(&sim).arg("run").arg(&pdf).arg("--out").arg(&out));
    assert_eq!(code, 2);
    assert!(stderr.contains("--overwrite"), "{stderr}");
    assert!(sim.requests().is_empty(), "nothing was sent");
    let mut left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["doc"], "nothing was written, not even a journal");
}

#[test]
fn the_key_can_come_from_a_file() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = write(dir.path(), "key", format!("{}\n", sim.api_key()).as_bytes());
    let job = started_job(&sim, "a.pdf", 1);
    let (code, stdout, stderr) = run(bin()
        .env("SARVAM_BASE_URL", sim.api_url())
        .arg("status")
        .arg("--api-key-file")
        .arg(&key_file)
        .arg(&job));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&job));
}

#[test]
fn verbose_shows_each_request_but_never_the_key() {
    let sim = Simulator::start(fast()).unwrap();
    let job = started_job(&sim, "a.pdf", 1);
    let (code, _, stderr) = run(cli(&sim).args(["status", "--verbose", &job]));
    assert_eq!(code, 0);
    assert!(
        stderr.contains("GET")
            && stderr.contains(&format!("/doc-digitization/job/v1/{job}/status")),
        "{stderr}"
    );
    assert!(stderr.contains("status=200"), "{stderr}");
    assert!(stderr.contains("elapsed_ms="), "{stderr}");
    assert!(!stderr.contains(sim.api_key()), "{stderr}");
}

#[test]
fn ctrl_c_during_a_run_leaves_no_partial_output_and_names_the_job() {
    let mut config = fast();
    config.page_time = Duration::from_secs(30);
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "doc.pdf", &sample::pdf(2, "a"));
    let out = dir.path().join("out");
    let mut child = cli(&sim)
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Wait until the job has started and is being watched.
    let mut seen = String::new();
    while !seen.contains("Running") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the run ended early: {seen}"
        );
        seen.push_str(&line);
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    stderr.read_to_string(&mut seen).unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("run the same command again"), "{seen}");
    assert!(
        seen.contains(&format!("--out {}", out.display())),
        "a command that works: {seen}"
    );
    let job = sim
        .requests()
        .into_iter()
        .find(|r| r.route == Some(Route::Start))
        .unwrap()
        .path;
    let job_id = job.split('/').nth(4).unwrap();
    assert!(seen.contains(job_id), "{seen}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        left,
        [".sarvam-doc"],
        "no partial output, no staging folder; the journal"
    );
}

#[test]
fn sim_runs_in_the_foreground_and_stops_on_ctrl_c() {
    let mut child = bin()
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--storage-listen",
            "127.0.0.1:0",
            "--key",
            "k123",
            "--fault",
            "status=503",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut api = String::new();
    for _ in 0..4 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if let Some(url) = line.trim().strip_prefix("API:") {
            api = url.trim().to_owned();
        }
        assert!(
            !line.contains("storage:") || line.contains("http://127.0.0.1:"),
            "{line}"
        );
    }
    assert!(api.starts_with("http://127.0.0.1:"), "{api}");
    // The scripted fault answers the first status; then a 404 for an unknown job.
    let (code, _, stderr) = run(bin().env("SARVAM_API_KEY", "k123").args([
        "status",
        "--base-url",
        &api,
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    ]));
    assert_eq!(code, 1);
    assert!(stderr.contains("503 high_load_error"), "{stderr}");
    let (_, _, stderr) = run(bin().env("SARVAM_API_KEY", "k123").args([
        "status",
        "--base-url",
        &api,
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    ]));
    assert!(stderr.contains("404 not_found_error"), "{stderr}");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn the_cli_sends_https_through_the_proxy_the_environment_names() {
    // A loopback proxy that writes down each request line and refuses the tunnel.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            log.lock().unwrap().push(line.trim().to_owned());
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let _ = std::io::Write::write_all(
                reader.get_mut(),
                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let (code, _, stderr) = run(bin()
        .env("SARVAM_API_KEY", "sk_proxy_test")
        .env("HTTPS_PROXY", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .args([
            "status",
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "--base-url",
            "https://api.sarvam.invalid",
        ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert_eq!(
        *seen.lock().unwrap(),
        ["CONNECT api.sarvam.invalid:443 HTTP/1.1"]
    );
}
