//! The connection options go before the command or after it, against the
//! simulator; `sim` and `demo` take none.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::path::Path;

use sarvam_doc_sim::{Simulator, sample};

mod common;
use common::{bin, cli, fast, run, write};

/// The line `sarvam-doc <leading> run <file> <trailing> --out <out>`.
fn run_line(leading: &[&str], file: &Path, trailing: &[&str], out: &Path) -> Vec<String> {
    let mut line: Vec<String> = leading.iter().map(ToString::to_string).collect();
    line.push("run".into());
    line.push(file.display().to_string());
    line.extend(trailing.iter().map(ToString::to_string));
    line.push("--out".into());
    line.push(out.display().to_string());
    line
}

/// Asserts that the run completed and unpacked the file's two pages.
fn assert_completed(out: &Path, code: i32, stdout: &str, stderr: &str) {
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 completed"), "{stdout}");
    assert!(out.join("a").is_dir(), "{stdout}");
}

#[test]
fn the_api_option_works_before_the_command_and_after_it_even_over_the_environment() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.pdf", &sample::pdf(2, "a"));
    let api = ["--api", "doc-ai"];
    for (i, (leading, trailing)) in [(&api[..], &[][..]), (&[][..], &api[..])]
        .into_iter()
        .enumerate()
    {
        let out = dir.path().join(format!("out{i}"));
        let (code, stdout, stderr) = run(cli(&sim)
            .env("SARVAM_API", "legacy")
            .args(run_line(leading, &file, trailing, &out)));
        assert_completed(&out, code, &stdout, &stderr);
        assert_eq!(sim.doc_ai_jobs(), i + 1, "a /doc-ai/v1 job each time");
    }
    assert_eq!(sim.jobs(), 0, "no legacy job: {:?}", sim.job_list());
}

#[test]
fn the_base_url_and_the_key_file_work_before_the_command_and_after_it() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.pdf", &sample::pdf(2, "a"));
    let key = write(dir.path(), "key", sim.api_key().as_bytes());
    let url = sim.api_url();
    let key = key.display().to_string();
    let options = ["--base-url", &url, "--api-key-file", &key];
    for (i, (leading, trailing)) in [
        (&options[..], &[][..]),
        (&options[..2], &options[2..]),
        (&options[2..], &options[..2]),
        (&[][..], &options[..]),
    ]
    .into_iter()
    .enumerate()
    {
        let out = dir.path().join(format!("out{i}"));
        // No key and no base URL in the environment: only the options.
        let (code, stdout, stderr) = run(bin().args(run_line(leading, &file, trailing, &out)));
        assert_completed(&out, code, &stdout, &stderr);
        assert_eq!(sim.started_jobs(), i + 1, "{leading:?} {trailing:?}");
    }
}

#[test]
fn an_option_given_before_and_after_the_command_is_refused_with_nothing_sent() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.pdf", &sample::pdf(1, "a"));
    let out = dir.path().join("out");
    let (code, _, stderr) = run(cli(&sim).args(run_line(
        &["--api", "doc-ai"],
        &file,
        &["--api", "doc-ai"],
        &out,
    )));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--api is given both before and after `run`: give it once"),
        "{stderr}"
    );
    assert!(sim.requests().is_empty());
    assert!(!out.exists());
}

#[test]
fn a_connection_option_before_sim_or_demo_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for line in [
        &["--api", "doc-ai", "demo", "--out", "demo"][..],
        &["--base-url", "http://127.0.0.1:9", "demo", "--out", "demo"],
        &["--api-key-file", "key", "sim", "--listen", "127.0.0.1:0"],
        &["--verbose", "sim", "--listen", "127.0.0.1:0"],
    ] {
        let (code, stdout, stderr) = run(bin().current_dir(dir.path()).args(line));
        assert_eq!(code, 2, "{line:?}: {stdout}{stderr}");
        assert!(stderr.contains("takes no connection options"), "{stderr}");
        assert!(stdout.is_empty(), "{line:?}: {stdout}");
    }
    assert!(!dir.path().join("demo").exists(), "the demo did not run");
}

#[test]
fn sim_and_demo_list_none_of_the_connection_options_in_their_help() {
    for command in ["sim", "demo"] {
        let (code, help, _) = run(bin().args([command, "--help"]));
        assert_eq!(code, 0);
        assert!(help.contains("Usage: sarvam-doc"), "{help}");
        // The demo's own --api (which API its simulator speaks) is not the
        // connection option: it reads no environment.
        for flag in [
            "Connection:",
            "--base-url",
            "--api-key-file",
            "--tls-roots",
            "--verbose",
            "--log-format",
            "SARVAM_API",
        ] {
            assert!(
                !help.contains(flag),
                "{command} --help lists {flag}: {help}"
            );
        }
        assert_eq!(command == "demo", help.contains("--api "), "{help}");
    }
}
