//! Every `/doc-ai/v1` parser, fed any status, headers and body: never a
//! panic, a status outside 2xx is always an API error (a problem body read
//! into it, or its excerpt), never the key; and what parses is usable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::Error;
use sarvam_doc_fuzz::{api, raw_response};

fuzz_target!(|data: &[u8]| {
    let response = raw_response(data);
    let api = api();
    let doc_ai = api.doc_ai();
    let job = "20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7"
        .parse()
        .unwrap_or_else(|_| unreachable!());
    if let Ok(upload) = doc_ai.parse_presign(&response) {
        // A presign that parses can be used: its upload request builds.
        assert!(doc_ai.upload(&upload, "doc.pdf", 10).is_ok(), "{upload:?}");
    }
    if let Ok(target) = doc_ai.parse_download_url(&response) {
        assert!(doc_ai.download(&target).is_ok(), "{target:?}");
    }
    if let Ok(status) = doc_ai.parse_status(&response, &job) {
        assert_eq!(status.job_id, job);
        let _ = status.state().class();
    }
    if let Ok(results) = doc_ai.parse_results(&response, &job) {
        assert_eq!(results.job_id(), &job);
    }
    let errors = [
        doc_ai.parse_presign(&response).err(),
        doc_ai.parse_submit(&response).err(),
        doc_ai.parse_status(&response, &job).err(),
        doc_ai.parse_results(&response, &job).err(),
        doc_ai.parse_download_url(&response).err(),
    ];
    for error in errors.into_iter().flatten() {
        let shown = error.to_string();
        assert!(!shown.contains("fuzz-key"), "the key in an error: {shown}");
        let _ = error.retry_class();
        if !response.status().is_success() {
            assert!(matches!(error, Error::Api(_)));
        }
    }
});
