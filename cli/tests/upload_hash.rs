//! Issue 21, break 5, through the binary: an input edited in place (the
//! same size) while its job waits for the upload is stopped with a message
//! naming it, no job is started, and the rerun once it is restored runs
//! one job.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sarvam_doc_sim::{Fault, Route, Simulator, sample};

mod common;
use common::{cli, fast, run, write};

/// Rewrites `path` in place with `bytes`.
fn edit_in_place(path: &Path, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
}

#[test]
fn a_run_whose_input_is_edited_before_its_upload_exits_1_naming_it_and_starts_nothing() {
    let sim = Simulator::start(fast()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let planned = sample::pdf(2, "planned text");
    let edited = sample::pdf(2, "other!! text");
    assert_eq!(planned.len(), edited.len());
    let input = write(dir.path(), "scan.pdf", &planned);
    let out = dir.path().join("out");

    // The upload URL is answered late: the file is edited while the run
    // waits for it, after preflight hashed it.
    sim.inject(
        Route::UploadFiles,
        [Fault::Delay(Duration::from_millis(1500))],
    );
    let child = cli(&sim)
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.count(Route::UploadFiles) == 0 {
        assert!(Instant::now() < deadline, "the run never asked to upload");
        std::thread::sleep(Duration::from_millis(5));
    }
    edit_in_place(&input, &edited);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("scan.pdf changed while it was being uploaded")
            && stderr.contains("nothing was started"),
        "{stderr}"
    );
    assert_eq!(sim.count(Route::Start), 0, "a job was started");
    assert_eq!(sim.started_jobs(), 0);

    // Restored, the plan's hash matches again: one job, started once.
    edit_in_place(&input, &planned);
    let (code, _, stderr) = run(cli(&sim).arg("run").arg(&input).arg("--out").arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(sim.started_jobs(), 1);
}
