//! Every response parser, fed any status, headers and body: never a panic,
//! and a status outside 2xx is always an API error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sarvam_doc_core::Error;
use sarvam_doc_fuzz::{api, raw_response};

fuzz_target!(|data: &[u8]| {
    let response = raw_response(data);
    let api = api();
    let errors = [
        api.parse_status(&response).err(),
        api.parse_start(&response).err(),
        api.parse_create_job(&response).err(),
        api.parse_upload_files(&response, "doc.pdf").err(),
        api.parse_download_files(&response).err(),
        api.check_storage(&response).err(),
    ];
    for error in errors.into_iter().flatten() {
        let _ = error.to_string();
        let _ = error.retry_class();
        if !response.status().is_success() {
            assert!(matches!(error, Error::Api(_)));
        }
    }
    let _ = sarvam_doc_core::retry_after(response.headers());
});
