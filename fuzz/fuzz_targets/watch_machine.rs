//! `Watch` fed arbitrary answers, failures and time jumps: no panic, every
//! Wait in the future, nothing sent after Done, Done by the deadline.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::Watch;
use sarvam_doc_fuzz::{Checked, JOB, Op, api, check, policy};

fuzz_target!(|ops: Vec<Op>| {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    let mut watch = Watch::new(
        api(),
        JOB.parse().unwrap_or_else(|_| unreachable!()),
        policy(),
        start,
    );
    check(&mut watch, start, &ops, Checked::Watch);
});
