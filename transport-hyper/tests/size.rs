//! Thousands of watches wait at once: a waiting one must stay small.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

#[tokio::test]
async fn a_waiting_watch_is_small() {
    let config = sarvam_doc_core::Config::builder(sarvam_doc_core::ApiKey::new("k").unwrap())
        .base_url("http://127.0.0.1:1")
        .build()
        .unwrap();
    let client: sarvam_doc_hyper::Client = sarvam_doc_hyper::Client::new(config);
    let job: sarvam_doc_core::JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse().unwrap();
    let watch = client.watch(job, |_| {});
    let size = std::mem::size_of_val(&watch);
    eprintln!("a watch's future: {size} bytes");
    // The request in flight is boxed, so it does not count here.
    assert!(size <= 2048, "a watch's future is {size} bytes");
}
