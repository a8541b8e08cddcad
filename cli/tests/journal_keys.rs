//! The journal's keys and folders, and the output destination, against a
//! hostile output folder (issue 21, breaks 6, 7 and 8): each test replays a
//! break through the binary and names what it proves.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::path::{Path, PathBuf};

use sarvam_doc_sim::{Simulator, sample};

mod common;
use common::{cli, fast, run, write};

fn sim() -> Simulator {
    Simulator::start(fast()).unwrap()
}

/// The job the manifest in `folder` names, if it holds one.
fn manifest_job(folder: &Path) -> Option<String> {
    let text = std::fs::read_to_string(folder.join("sarvam-doc-manifest.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(value["job_id"].as_str()?.to_owned())
}

/// `sarvam-doc run` of `inputs` into `out`, with `extra` arguments.
fn run_into(sim: &Simulator, out: &Path, inputs: &[&PathBuf], extra: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = run(cli(sim)
        .arg("run")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(extra));
    (code, stdout + &stderr)
}

#[cfg(unix)]
#[test]
fn two_paths_that_differ_only_in_non_utf8_bytes_are_two_inputs() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let sim = sim();
    let root = tempfile::tempdir().unwrap();
    let ff = root.path().join(OsStr::from_bytes(b"\xff"));
    let fe = root.path().join(OsStr::from_bytes(b"\xfe"));
    std::fs::create_dir_all(&ff).unwrap();
    std::fs::create_dir_all(&fe).unwrap();
    let first = write(&ff, "scan.pdf", &sample::pdf(1, "first"));
    let second = write(&fe, "scan.pdf", &sample::pdf(2, "second"));
    let out = root.path().join("out");

    let (code, said) = run_into(&sim, &out, &[&first], &[]);
    assert_eq!(code, 0, "{said}");
    let first_job = manifest_job(&out.join("scan")).unwrap();

    // Another file, whose path shows the same once made lossy: a new input
    // with a folder of its own, and the first's outputs untouched.
    let (code, said) = run_into(&sim, &out, &[&second], &[]);
    assert_eq!(code, 0, "{said}");
    assert_eq!(
        manifest_job(&out.join("scan")).as_deref(),
        Some(first_job.as_str()),
        "the first input's outputs were replaced: {said}"
    );
    let second_job = manifest_job(&out.join("scan-2")).unwrap();
    assert_ne!(second_job, first_job);

    // Given together, neither is "given twice", and both are done already.
    let before = sim.requests().len();
    let (code, said) = run_into(&sim, &out, &[&first, &second], &[]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("2 skipped"), "{said}");
    assert_eq!(sim.requests().len(), before, "nothing was sent: {said}");
}

#[cfg(unix)]
#[test]
fn a_dangling_link_where_the_output_folder_goes_is_refused_before_anything_is_sent() {
    let sim = sim();
    let root = tempfile::tempdir().unwrap();
    let scan = write(root.path(), "scan.pdf", &sample::pdf(1, "x"));
    let out = root.path().join("out");
    let (code, said) = run_into(&sim, &out, &[&scan], &[]);
    assert_eq!(code, 0, "{said}");

    // The published folder gives way to a link to nowhere.
    let folder = out.join("scan");
    std::fs::remove_dir_all(&folder).unwrap();
    let nowhere = root.path().join("nowhere");
    std::os::unix::fs::symlink(&nowhere, &folder).unwrap();
    // And a new input finds one where its folder would go.
    let fresh = write(root.path(), "fresh.pdf", &sample::pdf(1, "y"));
    std::os::unix::fs::symlink(&nowhere, out.join("fresh")).unwrap();

    let before = sim.requests().len();
    for (inputs, extra) in [
        // A new request for the same file: its earlier outputs are replaced
        // only while they are a folder of outputs.
        (vec![&scan], vec!["--language", "en-IN"]),
        (vec![&scan], vec!["--force"]),
        (vec![&fresh], vec![]),
    ] {
        let (code, said) = run_into(&sim, &out, &inputs, &extra);
        assert_eq!(code, 2, "{extra:?}: {said}");
        assert!(
            said.contains("exists already") && said.contains("nothing was sent"),
            "{extra:?}: {said}"
        );
    }
    assert_eq!(sim.requests().len(), before, "nothing was sent");
    for link in [&folder, &out.join("fresh")] {
        assert!(
            std::fs::symlink_metadata(link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{} was left alone",
            link.display()
        );
    }
    assert!(!nowhere.exists(), "nothing was made through the link");
}

#[test]
fn a_journal_folder_naming_the_state_folder_is_refused_and_the_state_folder_survives() {
    let sim = sim();
    let root = tempfile::tempdir().unwrap();
    let a = write(root.path(), "a.pdf", &sample::pdf(1, "a"));
    let b = write(root.path(), "b.pdf", &sample::pdf(1, "b"));
    let out = root.path().join("out");
    let (code, said) = run_into(&sim, &out, &[&a, &b], &[]);
    assert_eq!(code, 0, "{said}");
    let b_job = manifest_job(&out.join("b")).unwrap();

    // Someone points a's lines at the state folder.
    let journal = out.join(".sarvam-doc").join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains(r#""folder":"a""#), "{text}");
    std::fs::write(
        &journal,
        text.replace(r#""folder":"a""#, r#""folder":".sarvam-doc""#),
    )
    .unwrap();

    let before = sim.requests().len();
    for extra in [vec!["--overwrite"], vec!["--overwrite", "--force"]] {
        let (code, said) = run_into(&sim, &out, &[&a, &b], &extra);
        assert_eq!(code, 2, "{extra:?}: {said}");
        assert!(
            said.contains("\".sarvam-doc\"") && said.contains("journal"),
            "{extra:?}: {said}"
        );
    }
    assert_eq!(sim.requests().len(), before, "nothing was sent");
    let kept = std::fs::read_to_string(&journal).unwrap();
    assert!(kept.contains(&b_job), "the other inputs' job ids survive");
    assert_eq!(
        manifest_job(&out.join("b")).as_deref(),
        Some(b_job.as_str())
    );
    assert!(out.join("a").join("sarvam-doc-manifest.json").exists());
}
