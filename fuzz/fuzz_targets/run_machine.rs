//! `Run` fed arbitrary answers, failures and time jumps: as for `Watch`,
//! plus no second create unless the first surely did not take effect.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::{Document, Run, model::CreateJobRequest};
use sarvam_doc_fuzz::{Checked, Op, api, check, policy};

fuzz_target!(|ops: Vec<Op>| {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    let document = Document::new("doc.pdf", 4096, CreateJobRequest::default())
        .unwrap_or_else(|_| unreachable!());
    let mut run = Run::new(api(), document, policy(), start);
    check(&mut run, start, &ops, Checked::Run);
});
