//! The core's cost per message, beside serde_json's own floors on the same
//! bytes. `cargo bench -p sarvam-doc-core --bench core`
#![allow(missing_docs, clippy::unwrap_used)] // A benchmark: criterion's macros, and loud failures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sarvam_doc_core::http::Response;
use sarvam_doc_core::{
    Action, Api, ApiKey, Config, JobId, Machine, Policy, Watch, model::JobStatus,
};

const JOB: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// The API reference's status example: about 600 bytes.
const TYPICAL: &str = r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Running","created_at":"2024-01-15T09:30:00Z","updated_at":"2024-01-15T10:00:00Z","storage_container_type":"Azure","total_files":1,"successful_files_count":0,"failed_files_count":0,"error_message":"","job_details":[{"inputs":[{"file_name":"invoice_january.pdf","file_id":"file-1234abcd"}],"outputs":[{"file_name":"invoice_january_output.json","file_id":"file-5678efgh"}],"state":"Running","total_pages":12,"pages_processed":4,"pages_succeeded":4,"pages_failed":0,"error_message":"","error_code":null,"page_errors":[]}]}"#;

/// A status with 1,000 page errors.
fn large() -> String {
    let errors: Vec<String> = (1..=1000)
        .map(|n| format!(r#"{{"page_number":{n},"error_code":"page_processing_failed","error_message":"Page {n} could not be read: the scan is too faint"}}"#))
        .collect();
    TYPICAL
        .replace(
            r#""page_errors":[]"#,
            &format!(r#""page_errors":[{}]"#, errors.join(",")),
        )
        .replace(
            r#""job_state":"Running""#,
            r#""job_state":"PartiallyCompleted""#,
        )
}

fn api() -> Api {
    let config = Config::builder(ApiKey::new("sk_bench").unwrap())
        .base_url("http://127.0.0.1:4010")
        .build()
        .unwrap();
    Api::new(config)
}

fn messages(c: &mut Criterion) {
    let api = api();
    let job: JobId = JOB.parse().unwrap();
    c.bench_function("build status request", |b| {
        b.iter(|| black_box(api.status(black_box(&job))))
    });

    for (name, body) in [
        ("typical (613 B)", TYPICAL.to_owned()),
        ("1000 page errors", large()),
    ] {
        let mut group = c.benchmark_group(format!("parse status, {name}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        let response = Response::new(body.clone().into_bytes());
        group.bench_function("typed: Api::parse_status", |b| {
            b.iter(|| black_box(api.parse_status(black_box(&response), &job).unwrap()))
        });
        group.bench_function("typed: serde_json::from_slice::<JobStatus>", |b| {
            b.iter(|| {
                black_box(serde_json::from_slice::<JobStatus>(black_box(body.as_bytes())).unwrap())
            })
        });
        group.bench_function("floor: serde_json IgnoredAny", |b| {
            b.iter(|| {
                black_box(
                    serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body.as_bytes()))
                        .unwrap(),
                )
            })
        });
        group.bench_function("floor: serde_json Value", |b| {
            b.iter(|| {
                black_box(
                    serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes()))
                        .unwrap(),
                )
            })
        });
        group.finish();
    }
}

/// `/doc-ai/v1`'s status, as the lifecycle guide shows it.
const DOC_AI_STATUS: &str = r#"{"job_id":"019fb81e-2543-70bd-a737-b5a2d62a3bb7","status":"running","pipeline":"digitise","usage":{"pages_total":4,"pages_processed":2,"pages_succeeded":2,"pages_failed":0},"created_at":"2026-11-30T10:00:02Z","updated_at":"2026-11-30T10:00:09Z"}"#;

/// A `/doc-ai/v1` 400, as a problem.
const PROBLEM: &str = r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"Exactly one of file and upload_ids must be provided.","errors":[{"location":"body.upload_ids","message":"must not be set together with file","value":"upl_8f0c2d4e"}]}"#;

fn doc_ai_messages(c: &mut Criterion) {
    use sarvam_doc_core::doc_ai::{Digitise, DocAiStatus, Task};
    let api = Api::new(
        Config::builder(ApiKey::new("sk_bench").unwrap())
            .base_url("http://127.0.0.1:4010")
            .api_version(sarvam_doc_core::config::ApiVersion::DocAi)
            .build()
            .unwrap(),
    );
    let job: JobId = "019fb81e-2543-70bd-a737-b5a2d62a3bb7".parse().unwrap();
    let mut group = c.benchmark_group(format!("doc-ai: parse status ({} B)", DOC_AI_STATUS.len()));
    group.throughput(Throughput::Bytes(DOC_AI_STATUS.len() as u64));
    let response = Response::new(DOC_AI_STATUS.as_bytes());
    group.bench_function("typed: DocAi::parse_status", |b| {
        b.iter(|| {
            black_box(
                api.doc_ai()
                    .parse_status(black_box(&response), &job)
                    .unwrap(),
            )
        })
    });
    group.bench_function("typed: serde_json::from_slice::<DocAiStatus>", |b| {
        b.iter(|| {
            black_box(
                serde_json::from_slice::<DocAiStatus>(black_box(DOC_AI_STATUS.as_bytes())).unwrap(),
            )
        })
    });
    group.bench_function("floor: serde_json IgnoredAny", |b| {
        b.iter(|| {
            black_box(
                serde_json::from_slice::<serde::de::IgnoredAny>(black_box(
                    DOC_AI_STATUS.as_bytes(),
                ))
                .unwrap(),
            )
        })
    });
    group.finish();
    let task = Task::Digitise(Digitise {
        language: Some(sarvam_doc_core::model::Language::HINDI),
        output_format: Some(sarvam_doc_core::model::OutputFormat::Md),
        ..Digitise::default()
    });
    c.bench_function("doc-ai: build submit (multipart)", |b| {
        b.iter(|| {
            black_box(
                api.doc_ai()
                    .submit(black_box(&task), &["upl_8f0c2d4e"])
                    .unwrap(),
            )
        })
    });
    let problem = Response::builder()
        .status(400)
        .body(PROBLEM.as_bytes())
        .unwrap();
    c.bench_function("doc-ai: read a problem (400)", |b| {
        b.iter(|| {
            black_box(
                api.doc_ai()
                    .parse_status(black_box(&problem), &job)
                    .unwrap_err(),
            )
        })
    });
}

fn watch_step(c: &mut Criterion) {
    let api = api();
    let job: JobId = JOB.parse().unwrap();
    let start = fixed_origin();
    // One step: the status request out, its answer in, the next action out.
    c.bench_function("watch step (poll, answer, poll)", |b| {
        b.iter_batched(
            || Watch::new(api.clone(), job.clone(), Policy::default(), start),
            |mut watch| {
                let Action::Transmit(send) = watch.poll(start) else {
                    unreachable!()
                };
                let now = start + Duration::from_millis(30);
                watch.handle_response(now, send.attempt, Response::new(TYPICAL.as_bytes()));
                // The events of the answer, then the next wait.
                loop {
                    match watch.poll(now) {
                        Action::Event(e) => {
                            black_box(e);
                        }
                        other => break black_box(other),
                    }
                }
            },
            BatchSize::SmallInput,
        );
    });
}

/// The one clock read: an origin for the machine's arithmetic.
#[allow(clippy::disallowed_methods)]
fn fixed_origin() -> Instant {
    Instant::now()
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = messages, doc_ai_messages, watch_step
}
criterion_main!(benches);
