//! Parses the API reference's status example in a loop, for a profiler.
//! `cargo run --release -p sarvam-doc-core --example parse_loop [N] [api]`
#![allow(clippy::unwrap_used, clippy::print_stdout)] // A profiling aid.

fn main() {
    let body = br#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Running","created_at":"2024-01-15T09:30:00Z","updated_at":"2024-01-15T10:00:00Z","storage_container_type":"Azure","total_files":1,"successful_files_count":0,"failed_files_count":0,"error_message":"","job_details":[{"inputs":[{"file_name":"invoice_january.pdf","file_id":"file-1234abcd"}],"outputs":[{"file_name":"invoice_january_output.json","file_id":"file-5678efgh"}],"state":"Running","total_pages":12,"pages_processed":4,"pages_succeeded":4,"pages_failed":0,"error_message":"","error_code":null,"page_errors":[]}]}"#;
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    // `api`: as a client parses it, through `Api::parse_status`, the key's
    // search and the job's check included.
    let api = std::env::args().nth(2).is_some_and(|a| a == "api");
    let client = sarvam_doc_core::Api::new(sarvam_doc_core::Config::new(
        sarvam_doc_core::ApiKey::new("sk_live_0123456789abcdefghijklmnop").unwrap(),
    ));
    let job: sarvam_doc_core::JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse().unwrap();
    let mut states = 0usize;
    for _ in 0..n {
        let response = sarvam_doc_core::http::Response::new(std::hint::black_box(&body[..]));
        let s: sarvam_doc_core::model::JobStatus = if api {
            client.parse_status(&response, &job).unwrap()
        } else {
            sarvam_doc_core::wire::parse_json(&response, 1 << 20).unwrap()
        };
        states += s.job_details.len();
    }
    println!("{states}");
}
