//! The `/doc-ai/v1` `Run` (an extraction or a digitisation) fed arbitrary
//! answers, failures and time jumps: as for `Watch`, plus no second submit
//! after one that may have taken effect.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::doc_ai::{Digitise, Extract, ExtractSource, Schema, Task};
use sarvam_doc_core::{Document, Run};
use sarvam_doc_fuzz::{Checked, Op, check, doc_ai_api, policy};

fuzz_target!(|input: (bool, Vec<Op>)| {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    let (extract, ops) = input;
    let task = if extract {
        let schema = Schema::parse(
            r#"{"type":"object","properties":{"total":{"type":"number","description":"Total"}}}"#,
        )
        .unwrap_or_else(|_| unreachable!());
        Task::Extract(Extract::new(ExtractSource::Schema(schema)))
    } else {
        Task::Digitise(Digitise::default())
    };
    let document = Document::new("doc.pdf", 4096, task).unwrap_or_else(|_| unreachable!());
    let mut run = Run::new(doc_ai_api(), document, policy(), start);
    check(&mut run, start, &ops, Checked::DocAiRun);
});
