//! Issue 21, breaks 14 (`--from /dev/zero`) and 18 (a schema that names the
//! key): every user file is read within a bound named in its error, and a
//! user's text is shown without the key.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::{Duration, Instant};

use sarvam_doc_sim::Simulator;

mod common;
use common::{cli, run, write};

const KEY: &str = "sk_live_bounded_0123456789abcdefghijklmnop";

fn sim() -> Simulator {
    let mut c = common::fast();
    c.api_key = KEY.to_owned();
    Simulator::start(c).unwrap()
}

#[cfg(unix)]
#[test]
fn a_list_without_end_is_refused_at_its_bound_and_nothing_is_sent() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--from", "/dev/zero", "--out"])
        .arg(dir.path().join("out")));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("/dev/zero") && stderr.contains("16 MiB"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(sim.requests().is_empty(), "nothing was sent");
}

#[test]
fn a_list_over_its_bound_names_the_bound_and_one_under_it_is_read() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let big = write(dir.path(), "big.txt", &vec![b'#'; 16 * 1024 * 1024 + 1]);
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--dry-run", "--from"])
        .arg(&big)
        .arg("--out")
        .arg(dir.path().join("out")));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("over 16 MiB"), "{stderr}");
    // A list of comments only, under the bound: read, and found empty.
    let small = write(dir.path(), "small.txt", b"# nothing\n");
    let (code, _, stderr) = run(cli(&sim)
        .args(["run", "--dry-run", "--from"])
        .arg(&small)
        .arg("--out")
        .arg(dir.path().join("out")));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no inputs"), "{stderr}");
}

#[test]
fn a_schema_field_named_like_the_key_is_never_printed_back() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.pdf", &sarvam_doc_sim::sample::pdf(1, "a"));
    // A field named after the key, with no description: refused, naming it.
    for name in [KEY.to_owned(), format!("\\u0073{}", &KEY[1..])] {
        let schema =
            format!(r#"{{"type":"object","properties":{{"{name}":{{"type":"string"}}}}}}"#);
        let schema = write(dir.path(), "schema.json", schema.as_bytes());
        let (code, stdout, stderr) = run(cli(&sim)
            .args(["extract", "--schema"])
            .arg(&schema)
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg(&input));
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("description"), "{stderr}");
        assert!(stderr.contains("<redacted>"), "{stderr}");
        assert!(
            !(stdout + &stderr).contains(&KEY[1..]),
            "the key was printed"
        );
        assert!(sim.requests().is_empty(), "nothing was sent");
    }
}
