//! The output destination is checked before anything is paid for (issue
//! 21, break 7): a library run, through both transports.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use sarvam_doc_driver::{RunError, RunOptions};
use sarvam_doc_sim::{Simulator, sample};
use sarvam_doc_tests::*;

#[cfg(unix)]
#[test]
fn a_dangling_link_where_the_output_folder_goes_is_refused_before_anything_is_sent() {
    let sim = Simulator::start(fast_sim()).unwrap();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        let (_d, input) = input_file("scan.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let nowhere = out.path().join("nowhere");
        std::os::unix::fs::symlink(&nowhere, out.path().join("scan")).unwrap();
        let before = sim.requests().len();
        let result = client
            .run(&input, &RunOptions::new(out.path()), |_| {})
            .await;
        let Err(RunError::Output { source, .. }) = &result else {
            panic!("{name}: {result:?}")
        };
        assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists, "{name}");
        assert_eq!(sim.requests().len(), before, "{name}: nothing was sent");
        assert!(!nowhere.exists(), "{name}");
    });
}
