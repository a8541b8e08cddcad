//! What the CLI's process tests share: the binary with a clean environment,
//! pointed at a simulator, run to its exit code and output.
#![allow(dead_code, clippy::unwrap_used)] // Each test file uses some of these; a test unwraps.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sarvam_doc_sim::{SimConfig, Simulator};

/// A simulator config whose jobs run fast: 50 ms in the queue, 50 ms a page.
pub(crate) fn fast() -> SimConfig {
    let mut c = SimConfig::default();
    c.queue_time = Duration::from_millis(50);
    c.page_time = Duration::from_millis(50);
    c
}

/// `sarvam-doc` with none of the environment it reads.
pub(crate) fn bin() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("sarvam-doc"));
    for var in [
        "SARVAM_API_KEY",
        "SARVAM_BASE_URL",
        "SARVAM_API",
        "SARVAM_TLS_ROOTS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `sarvam-doc` pointed at `sim`, with its key in the environment.
pub(crate) fn cli(sim: &Simulator) -> Command {
    let mut cmd = bin();
    cmd.env("SARVAM_API_KEY", sim.api_key())
        .env("SARVAM_BASE_URL", sim.api_url());
    cmd
}

/// Runs `cmd` to its end: the exit code (-1 for a signal), stdout, stderr.
pub(crate) fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Writes `bytes` to `dir/name`, and says where.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}
