//! Every response parser, fed any status, headers and body: never a panic,
//! and a status outside 2xx is always an API error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::Error;
use sarvam_doc_fuzz::{JOB, api, raw_response};

fuzz_target!(|data: &[u8]| {
    let response = raw_response(data);
    let api = api();
    let job = JOB.parse().unwrap_or_else(|_| unreachable!());
    let errors = [
        api.parse_status(&response, &job).err(),
        api.parse_start(&response, &job).err(),
        api.parse_create_job(&response).err(),
        api.parse_upload_files(&response, &job, "doc.pdf").err(),
        api.parse_download_files(&response, &job).err(),
        api.check_storage(&response).err(),
    ];
    for error in errors.into_iter().flatten() {
        let shown = error.to_string();
        assert!(!shown.contains("fuzz-key"), "the key in an error: {shown}");
        let _ = error.retry_class();
        if !response.status().is_success() {
            assert!(matches!(error, Error::Api(_)));
        }
    }
    let _ = sarvam_doc_core::wire::retry_after(response.headers());
});
