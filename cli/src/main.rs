//! The `sarvam-doc` command-line tool.
//!
//! **Not built yet.** It will offer `status`, `wait`, `run`, `sim` and `demo`
//! as described in the project's design; until then it says so and exits 2.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "sarvam-doc {}: the command-line tool is not built yet; use the sarvam-doc-core library",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
