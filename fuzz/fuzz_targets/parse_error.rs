//! The error parser: never fails, never panics, keeps what it shows bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sarvam_doc_fuzz::raw_response;

fuzz_target!(|data: &[u8]| {
    let response = raw_response(data);
    let error = sarvam_doc_core::wire::parse_error(&response);
    assert_eq!(error.status, response.status());
    // A message from a JSON body is cut at 1 KiB; an excerpt of another at 512 bytes.
    assert!(
        error.message.len() <= 1024 + 3,
        "message of {} bytes",
        error.message.len()
    );
    assert!(
        error
            .request_id
            .as_ref()
            .is_none_or(|id| id.len() <= 128 + 3)
    );
    let shown = error.to_string();
    assert!(
        !shown.contains('\n') || error.code.is_some(),
        "one line unless the server's message has newlines"
    );
    let _ = error.retry_class();
    let _ = error.may_have_taken_effect();
});
