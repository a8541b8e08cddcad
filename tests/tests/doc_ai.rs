//! `/doc-ai/v1` conformance: digitise and extract through both transports
//! against the simulator, every declared error status, a 409 before the
//! end, `rejected`, expired presigned URLs, unconfirmed submits, and the
//! official SDKs' multipart bodies.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::Duration;

use sarvam_doc_core::doc_ai::{
    Digitise, Extract, ExtractFormat, ExtractSource, Results, Schema, Task,
};
use sarvam_doc_core::{
    Error, Event, GiveUpReason, Outcome,
    error::Peer,
    model::{JobState, Language, OutputFormat},
};
use sarvam_doc_driver::RunOptions;
use sarvam_doc_sim::{
    ErrorShape, Fault, RateLimit, RetryAfter, Route, SimConfig, Simulator, sample,
};
use sarvam_doc_tests::*;

fn sim_with(edit: impl FnOnce(&mut SimConfig)) -> Simulator {
    let mut config = fast_sim();
    edit(&mut config);
    Simulator::start(config).unwrap()
}

fn digitise(format: OutputFormat) -> Task {
    Task::Digitise(Digitise {
        language: Some(Language::TAMIL),
        output_format: Some(format),
        ..Digitise::default()
    })
}

const SCHEMA: &str = r#"{"type":"object","properties":{
    "invoice_no":{"type":"string","description":"Invoice number as printed"},
    "total":{"type":"number","description":"Grand total in INR"},
    "items":{"type":"array","description":"Line items","items":{"type":"object","properties":{
        "name":{"type":"string","description":"Item name"}}}}}}"#;

fn extract(format: ExtractFormat) -> Task {
    let mut task = Extract::new(ExtractSource::Schema(Schema::parse(SCHEMA).unwrap()));
    task.output_format = Some(format);
    Task::Extract(task)
}

/// The routes the simulator saw, in order, without the storage host's.
fn api_routes(sim: &Simulator) -> Vec<Route> {
    sim.requests().iter().filter_map(|r| r.route).collect()
}

#[test]
fn digitise_runs_a_pdf_and_a_zip_to_completed_with_the_documented_layout() {
    let sim = sim_with(|_| {});
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        for (file, bytes, pages) in [
            ("scan.pdf", sample::pdf(3, "doc-ai"), 3),
            ("pages.zip", sample::image_zip(2), 2),
        ] {
            let before = sim.requests().len();
            let (_d, input) = input_file(file, &bytes);
            let out = tempfile::tempdir().unwrap();
            let mut events = Vec::new();
            let options = RunOptions::new(out.path()).with_job(digitise(OutputFormat::Md));
            let report = client
                .run(&input, &options, |e| events.push(e.clone()))
                .await
                .unwrap();
            let Outcome::Completed { status, outputs } = &report.outcome else {
                panic!("{name} {file}: {}", report.outcome)
            };
            assert_eq!(status.pages().succeeded, pages, "{name} {file}");
            assert!(status.as_doc_ai().is_some_and(|s| s.pipeline == "digitise"));
            assert_eq!(outputs.len(), 1, "{name} {file}");
            // The ZIP's documented layout, unpacked, beside our manifest.
            let stem = file.split('.').next().unwrap();
            let mut expected: Vec<String> = vec!["document.md".into(), "manifest.json".into()];
            expected.extend((1..=pages).map(|p| format!("metadata/page_{p:03}.json")));
            expected.push(sarvam_doc_driver::MANIFEST.into());
            expected.sort();
            assert_eq!(tree(&out.path().join(stem)), expected, "{name} {file}");
            let document =
                std::fs::read_to_string(out.path().join(stem).join("document.md")).unwrap();
            assert!(document.contains("(ta-IN)"), "{document}");
            // The flow, in order: presign, PUT, submit, statuses, download URL, GET.
            let routes: Vec<Route> = api_routes(&sim)[before..].to_vec();
            assert_eq!(
                &routes[..3],
                [Route::AiPresign, Route::AiStoragePut, Route::AiSubmit]
            );
            assert_eq!(
                &routes[routes.len() - 2..],
                [Route::AiDownloadUrl, Route::AiStorageGet]
            );
            assert!(
                routes[3..routes.len() - 2]
                    .iter()
                    .all(|r| *r == Route::AiStatus)
            );
            assert!(events.contains(&Event::Sending {
                endpoint: sarvam_doc_core::api::Endpoint::Submit
            }));
        }
        // The PUT carried the presigned headers and never the key.
        let put = sim
            .requests()
            .into_iter()
            .find(|r| r.route == Some(Route::AiStoragePut))
            .unwrap();
        assert_eq!(put.headers["x-ms-blob-type"], "BlockBlob");
        assert_eq!(put.headers["content-type"], "application/pdf");
        assert!(!sim.storage_saw_api_key(), "{name}");
    });
}

#[test]
fn extract_by_schema_and_by_config_writes_its_results_beside_its_output() {
    let sim = sim_with(|_| {});
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        let (_d, input) = input_file("invoice.pdf", &sample::pdf(1, "invoice"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(
                &input,
                &RunOptions::new(out.path()).with_job(extract(ExtractFormat::Json)),
                |_| {},
            )
            .await
            .unwrap();
        assert_completed(name, &report.outcome);
        let folder = out.path().join("invoice");
        let results: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("results.json")).unwrap()).unwrap();
        assert_eq!(results["type"], "extract");
        assert_eq!(results["version"], 1);
        // Shaped as the schema asked, with annotations of the same shape.
        assert!(results["result"]["total"].is_number(), "{results}");
        assert!(
            results["result"]["items"][0]["name"].is_string(),
            "{results}"
        );
        assert!(
            results["annotations"]["total"]["confidence"].is_number(),
            "{results}"
        );
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("result.json")).unwrap()).unwrap();
        assert_eq!(file, results["result"]);
        // The typed results say the same.
        let job = report.outcome.job_id().unwrap();
        let Results::Extract(typed) = client.results(job).await.unwrap() else {
            panic!("{name}: not an extraction")
        };
        assert_eq!(typed.result, results["result"]);

        // By a saved config, as CSV.
        let mut by_config = Extract::new(ExtractSource::ConfigId("cfg_abc123".into()));
        by_config.output_format = Some(ExtractFormat::Csv);
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(
                &input,
                &RunOptions::new(out.path()).with_job(Task::Extract(by_config)),
                |_| {},
            )
            .await
            .unwrap();
        assert!(
            matches!(report.outcome, Outcome::Completed { .. }),
            "{name}"
        );
        assert_eq!(
            published_in(&out.path().join("invoice")),
            ["result.csv", "results.json"],
            "{name}"
        );
    });
}

#[test]
fn partial_failed_and_rejected_jobs_end_as_the_server_says() {
    let sim = sim_with(|_| {});
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        let run = |file: &'static str| {
            let client = &client;
            async move {
                // An upload has no name: the simulator reads the scenario from the title.
                let (_d, input) = input_file(file, &sample::pdf(4, file));
                let out = tempfile::tempdir().unwrap();
                let report = client
                    .run(&input, &RunOptions::new(out.path()), |_| {})
                    .await
                    .unwrap();
                (report, out)
            }
        };
        let (partial, out) = run("partial-scan.pdf").await;
        let Outcome::PartiallyCompleted { status, .. } = &partial.outcome else {
            panic!("{name}: {}", partial.outcome)
        };
        assert_eq!((status.pages().succeeded, status.pages().failed), (2, 2));
        // No format asked: the server's default, HTML.
        assert!(
            out.path()
                .join("partial-scan")
                .join("document.html")
                .exists(),
            "{:?}",
            tree(out.path())
        );

        let fetches = sim.count(Route::AiDownloadUrl) + sim.count(Route::AiResults);
        let (failed, out) = run("fail.pdf").await;
        assert!(
            matches!(&failed.outcome, Outcome::Failed { status } if status.state() == JobState::Failed),
            "{name}: {}",
            failed.outcome
        );
        assert!(
            files_in(out.path()).is_empty(),
            "{name}: nothing to publish"
        );
        let (rejected, _out) = run("reject-me.pdf").await;
        assert!(
            matches!(&rejected.outcome, Outcome::Failed { status } if status.state() == JobState::Rejected),
            "{name}: {}",
            rejected.outcome
        );
        assert!(rejected.outcome.to_string().contains("was rejected"));
        // Terminal without outputs: nothing is fetched.
        assert_eq!(
            sim.count(Route::AiDownloadUrl) + sim.count(Route::AiResults),
            fetches,
            "{name}"
        );
    });
}

/// The status, detail and problem items of an API error.
fn api_error(e: &Error) -> (u16, String) {
    match e {
        Error::Api(e) => (e.status.as_u16(), e.message.clone()),
        other => panic!("not an API error: {other}"),
    }
}

#[test]
fn every_declared_error_status_is_read_from_its_problem_body() {
    let sim = sim_with(|_| {});
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        // 404: an unknown job, on status, results and download URL.
        let unknown: sarvam_doc_core::JobId = "20261130_unknown".parse().unwrap();
        for e in [
            client.status(&unknown).await.map(drop).unwrap_err(),
            client.results(&unknown).await.map(drop).unwrap_err(),
            client.download_url(&unknown).await.map(drop).unwrap_err(),
        ] {
            let (status, message) = api_error(&e);
            assert_eq!(status, 404, "{name}");
            assert!(message.contains("not found"), "{name}: {message}");
        }
        // 400: an upload id that was never presigned; the problem's items are kept.
        let e = client
            .submit(&digitise(OutputFormat::Md), &["upl_never"])
            .await
            .unwrap_err();
        let (status, message) = api_error(&e);
        assert_eq!(status, 400, "{name}");
        assert!(
            message.contains("body.upload_ids: unknown"),
            "{name}: {message}"
        );
        assert!(e.to_string().contains("fix the request"), "{name}: {e}");
        // 409: results and the download URL of a job that has not ended.
        let upload = client.presign(Some("application/pdf")).await.unwrap();
        put_presigned(&upload, &sample::pdf(3, "x"));
        let job = client
            .submit(&digitise(OutputFormat::Md), &[upload.upload_id.as_str()])
            .await
            .unwrap()
            .job_id;
        for e in [
            client.results(&job).await.map(drop).unwrap_err(),
            client.download_url(&job).await.map(drop).unwrap_err(),
        ] {
            assert_eq!(api_error(&e).0, 409, "{name}");
            assert!(e.to_string().contains("has not ended yet"), "{name}: {e}");
        }
    });
    // 403: a wrong key.
    let mut wrong = doc_ai_config(&sim);
    wrong = sarvam_doc_core::Config::builder(sarvam_doc_core::ApiKey::new("wrong").unwrap())
        .base_url(wrong.base_url().to_string())
        .api_version(sarvam_doc_core::config::ApiVersion::DocAi)
        .build()
        .unwrap();
    let client = ureq_client(wrong, fast_policy());
    let e = block_on(client.presign(None)).unwrap_err();
    assert_eq!(api_error(&e).0, 403);
    assert!(e.to_string().contains("check the API key"), "{e}");
}

/// A run against `sim` that ends refused: the API's status and message.
fn refused_run(sim: &Simulator, file: &str, bytes: &[u8]) -> (u16, String) {
    let client = ureq_client(doc_ai_config(sim), fast_policy());
    let (_d, input) = input_file(file, bytes);
    let out = tempfile::tempdir().unwrap();
    let report = block_on(client.run(&input, &RunOptions::new(out.path()), |_| {})).unwrap();
    match report.outcome {
        Outcome::GaveUp {
            reason: GiveUpReason::Refused(e),
            ..
        } => api_error(&e),
        other => panic!("{other}"),
    }
}

#[test]
fn credits_pages_and_size_end_a_run_with_the_servers_reason() {
    // 402: no credits left; fatal, with the hint to add some.
    let sim = sim_with(|c| c.credits = Some(1));
    let (status, message) = refused_run(&sim, "doc.pdf", &sample::pdf(3, "x"));
    assert_eq!(status, 402, "{message}");
    assert_eq!(sim.doc_ai_jobs(), 0);
    // 400: over the job's page limit, before any job is made.
    let sim = sim_with(|c| c.doc_ai.max_pages = 2);
    let (status, message) = refused_run(&sim, "doc.pdf", &sample::pdf(3, "x"));
    assert_eq!(status, 400);
    assert!(message.contains("over the limit of 2"), "{message}");
    // 413: a file over the size limit (inline, as an SDK sends it).
    let sim = sim_with(|c| c.max_file_bytes = 300);
    let answer = post_raw(
        &sim,
        "digitise",
        "multipart/form-data; boundary=b",
        &[
            b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n"
                .as_slice(),
            &sample::pdf(3, "x"),
            b"\r\n--b--\r\n",
        ]
        .concat(),
    );
    assert_eq!(answer.0, 413, "{}", answer.1);
    let problem: serde_json::Value = serde_json::from_str(&answer.1).unwrap();
    assert_eq!(problem["status"], 413);
}

#[test]
fn throttling_and_high_load_on_a_submit_are_ridden_out_without_a_second_job() {
    for fault in [
        Fault::RateLimited(RetryAfter::Seconds(1)),
        Fault::RateLimited(RetryAfter::Millis(300)),
        Fault::RateLimited(RetryAfter::ResetIn(1)),
        Fault::HighLoad,
    ] {
        let sim = sim_with(|_| {});
        sim.inject(Route::AiSubmit, [fault.clone()]);
        let client = ureq_client(doc_ai_config(&sim), fast_policy());
        let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let report = block_on(client.run(&input, &RunOptions::new(out.path()), |_| {})).unwrap();
        assert!(
            matches!(report.outcome, Outcome::Completed { .. }),
            "{fault:?}: {}",
            report.outcome
        );
        assert_eq!(
            (sim.count(Route::AiSubmit), sim.doc_ai_jobs()),
            (2, 1),
            "{fault:?}"
        );
        // The server's wait was honoured, in each of its three forms.
        if matches!(fault, Fault::RateLimited(RetryAfter::Seconds(1))) {
            assert!(started.elapsed() >= Duration::from_secs(1));
        }
        if matches!(fault, Fault::RateLimited(RetryAfter::Millis(300))) {
            assert!(started.elapsed() >= Duration::from_millis(300));
        }
    }
}

#[test]
fn a_per_key_rate_limit_is_waited_out() {
    // 120 a minute with a burst of 3: a run of ~8 requests must wait for tokens.
    let sim = sim_with(|c| c.rate_limit = Some(RateLimit::per_minute(120).with_burst(3)));
    let client = ureq_client(doc_ai_config(&sim), fast_policy());
    let (_d, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
    let out = tempfile::tempdir().unwrap();
    let report = block_on(client.run(&input, &RunOptions::new(out.path()), |_| {})).unwrap();
    assert!(
        matches!(report.outcome, Outcome::Completed { .. }),
        "{}",
        report.outcome
    );
    let throttled = sim
        .requests()
        .iter()
        .filter(|r| r.status == Some(429))
        .count();
    assert!(throttled > 0, "the limit was never reached");
    assert_eq!(sim.doc_ai_jobs(), 1);
}

#[test]
fn a_409_before_the_end_sends_the_run_back_to_watching() {
    let sim = sim_with(|_| {});
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        sim.inject(Route::AiDownloadUrl, [Fault::Conflict, Fault::Conflict]);
        sim.inject(Route::AiResults, [Fault::Conflict]);
        let (_d, input) = input_file("invoice.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(
                &input,
                &RunOptions::new(out.path()).with_job(extract(ExtractFormat::Json)),
                |_| {},
            )
            .await
            .unwrap();
        assert_completed(name, &report.outcome);
        // After each 409, a status before the next ask.
        let routes = api_routes(&sim);
        for (i, r) in routes.iter().enumerate() {
            let conflicted = sim.requests()[i].status == Some(409);
            if conflicted && matches!(r, Route::AiDownloadUrl | Route::AiResults) {
                assert_eq!(
                    routes.get(i + 1),
                    Some(&Route::AiStatus),
                    "{name}: {routes:?}"
                );
            }
        }
    });
    // A server that keeps saying "ended" and "not yet" is given up on.
    let sim = sim_with(|_| {});
    sim.inject(
        Route::AiDownloadUrl,
        std::iter::repeat_n(Fault::Conflict, 20),
    );
    let client = ureq_client(doc_ai_config(&sim), fast_policy());
    let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
    let out = tempfile::tempdir().unwrap();
    let report = block_on(client.run(&input, &RunOptions::new(out.path()), |_| {})).unwrap();
    assert!(
        matches!(
            report.outcome,
            Outcome::GaveUp {
                reason: GiveUpReason::RetriesExhausted { .. },
                ..
            }
        ),
        "{}",
        report.outcome
    );
    assert_eq!(sim.count(Route::AiDownloadUrl), 7, "1 + max_retries (6)");
}

#[test]
fn an_expired_presigned_url_is_refused_by_storage_and_a_fresh_one_is_asked_for() {
    // Truly expired: a URL presigned to live 0 s, used a second later.
    let sim = sim_with(|c| c.url_ttl = Duration::ZERO);
    let client = ureq_client(doc_ai_config(&sim), fast_policy());
    let upload = block_on(client.presign(Some("application/pdf"))).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut put = agent.put(upload.url.to_string());
    for (k, v) in &upload.headers {
        put = put.header(k, v);
    }
    let mut answer = put.send(&sample::pdf(1, "x")[..]).unwrap();
    assert_eq!(answer.status(), 403);
    assert!(
        answer
            .body_mut()
            .read_to_string()
            .unwrap()
            .contains("expired")
    );

    // A run meets it on the upload and on the download: it asks again.
    let sim = sim_with(|_| {});
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        sim.inject(Route::AiStoragePut, [Fault::Expired]);
        sim.inject(Route::AiStorageGet, [Fault::Expired]);
        let (presigns, urls) = (sim.count(Route::AiPresign), sim.count(Route::AiDownloadUrl));
        let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |_| {})
            .await
            .unwrap();
        assert_completed(name, &report.outcome);
        assert_eq!(sim.count(Route::AiPresign) - presigns, 2, "{name}");
        assert_eq!(sim.count(Route::AiDownloadUrl) - urls, 2, "{name}");
    });
}

#[test]
fn a_submit_without_an_answer_is_not_sent_again_unless_asked() {
    for fault in [Fault::DropAfter, Fault::Truncated, Fault::Internal] {
        let sim = sim_with(|_| {});
        sim.inject(Route::AiSubmit, [fault.clone()]);
        let client = ureq_client(doc_ai_config(&sim), fast_policy());
        let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let report = block_on(client.run(&input, &RunOptions::new(out.path()), |_| {})).unwrap();
        assert!(
            matches!(
                report.outcome,
                Outcome::GaveUp {
                    reason: GiveUpReason::SubmitUnconfirmed(_),
                    ..
                }
            ),
            "{fault:?}: {}",
            report.outcome
        );
        assert_eq!(sim.count(Route::AiSubmit), 1, "{fault:?}: never sent twice");
        // The job the lost answer was about exists (paid for), or not (500 before work).
        assert_eq!(
            sim.doc_ai_jobs(),
            usize::from(fault.takes_effect()),
            "{fault:?}"
        );

        // Asked to, the run submits again and completes: at most two jobs.
        sim.inject(Route::AiSubmit, [fault.clone()]);
        let client = ureq_client(
            doc_ai_config(&sim),
            fast_policy().with_retry_unconfirmed(true),
        );
        let out = tempfile::tempdir().unwrap();
        let mut events = Vec::new();
        let report = block_on(client.run(&input, &RunOptions::new(out.path()), |e| {
            events.push(e.clone())
        }))
        .unwrap();
        assert!(
            matches!(report.outcome, Outcome::Completed { .. }),
            "{fault:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::SubmitUnconfirmed { .. }))
        );
    }
}

#[test]
fn watch_wait_and_download_follow_an_opaque_job_id() {
    let sim = sim_with(|_| {});
    for_each_transport!(doc_ai_config(&sim), fast_policy(), |name, client| {
        let upload = client.presign(Some("application/pdf")).await.unwrap();
        put_presigned(&upload, &sample::pdf(2, "x"));
        let job = client
            .submit(&digitise(OutputFormat::Html), &[upload.upload_id.as_str()])
            .await
            .unwrap()
            .job_id;
        assert!(job.as_uuid().is_none(), "{name}: {job}");
        // Not ended yet: download refuses at once.
        let out = tempfile::tempdir().unwrap();
        let early = client
            .download(job.clone(), &RunOptions::new(out.path()), |_| {})
            .await
            .unwrap();
        assert!(
            matches!(
                early.outcome,
                Outcome::GaveUp {
                    reason: GiveUpReason::NotEnded { .. },
                    ..
                }
            ),
            "{name}: {}",
            early.outcome
        );
        // wait --out fetches when it ends; download then does it again.
        let report = client
            .wait_and_download(job.clone(), &RunOptions::new(out.path()), |_| {})
            .await
            .unwrap();
        assert!(
            matches!(report.outcome, Outcome::Completed { .. }),
            "{name}"
        );
        let folder = report.output[0].clone();
        assert!(folder.join("document.html").exists(), "{name}: {folder:?}");
        let again = client
            .download(
                job.clone(),
                &RunOptions::new(out.path()).with_overwrite(true),
                |_| {},
            )
            .await
            .unwrap();
        assert_eq!(again.output, [folder], "{name}");
        let watched = client.watch(job, |_| {}).await;
        assert!(matches!(watched, Outcome::Completed { ref outputs, .. } if outputs.is_empty()));
    });
}

#[test]
fn errors_in_the_legacy_envelope_or_as_html_are_still_read() {
    for shape in [ErrorShape::Legacy, ErrorShape::Html] {
        let sim = sim_with(|c| c.doc_ai.error_shape = shape);
        let client = ureq_client(doc_ai_config(&sim), fast_policy());
        let e = block_on(client.status(&"20261130_nope".parse().unwrap())).unwrap_err();
        let (status, message) = api_error(&e);
        assert_eq!(status, 404, "{shape:?}");
        assert!(!message.is_empty(), "{shape:?}");
        if shape == ErrorShape::Legacy {
            assert!(matches!(&e, Error::Api(a) if a.code.is_some() && a.peer == Peer::Api));
        }
    }
}

/// POSTs `body` to a `/doc-ai/v1` submit route as raw bytes.
fn post_raw(sim: &Simulator, endpoint: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent
        .post(format!("{}/doc-ai/v1/job/{endpoint}", sim.api_url()))
        .header("api-subscription-key", sim.api_key())
        .header("content-type", content_type)
        .send(body)
        .unwrap();
    let status = answer.status().as_u16();
    (
        status,
        answer.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn the_official_sdks_request_bytes_are_accepted() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/doc-ai");
    let index: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index.len(), 8);
    let sim = sim_with(|_| {});
    let client = ureq_client(doc_ai_config(&sim), fast_policy());
    for case in index {
        let file = case["file"].as_str().unwrap();
        let mut body = std::fs::read(dir.join(file)).unwrap();
        let text = String::from_utf8_lossy(&body).into_owned();
        if text.contains("{{UPLOAD_ID}}") {
            let upload = block_on(client.presign(None)).unwrap();
            put_presigned(&upload, &sample::pdf(1, "fixture"));
            body = text
                .replace("{{UPLOAD_ID}}", &upload.upload_id)
                .into_bytes();
        }
        let (status, answer) = post_raw(
            &sim,
            case["endpoint"].as_str().unwrap(),
            case["content_type"].as_str().unwrap(),
            &body,
        );
        assert_eq!(
            u64::from(status),
            case["expect"].as_u64().unwrap(),
            "{file}: {answer}"
        );
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        if status == 201 {
            // Everything the Python SDK requires of a start response.
            for field in ["job_id", "status", "run_id"] {
                assert!(answer[field].is_string(), "{file}: {answer}");
            }
            let job: sarvam_doc_core::JobId = answer["job_id"].as_str().unwrap().parse().unwrap();
            let outcome = block_on(client.watch(job, |_| {}));
            assert!(
                matches!(outcome, Outcome::Completed { .. }),
                "{file}: {outcome}"
            );
        } else {
            assert_eq!(
                answer["errors"][0]["location"], "body.file",
                "{file}: {answer}"
            );
        }
    }
}

#[test]
fn the_client_refuses_what_the_api_would_before_anything_is_sent() {
    let sim = sim_with(|_| {});
    let client = ureq_client(doc_ai_config(&sim), fast_policy());
    // A legacy job on a /doc-ai/v1 client: a misuse, reported, nothing sent.
    let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
    let out = tempfile::tempdir().unwrap();
    let options =
        RunOptions::new(out.path()).with_job(sarvam_doc_core::model::CreateJobRequest::default());
    let report = block_on(client.run(&input, &options, |_| {})).unwrap();
    assert!(matches!(
        report.outcome,
        Outcome::GaveUp {
            reason: GiveUpReason::Refused(Error::Input(_)),
            ..
        }
    ));
    // A bad schema never becomes a task; a markdown format never leaves.
    assert!(Schema::parse(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#).is_err());
    let bad = Task::Digitise(Digitise {
        output_format: Some(OutputFormat::from("markdown")),
        ..Digitise::default()
    });
    let e = block_on(client.submit(&bad, &["upl_1"])).unwrap_err();
    assert!(matches!(e, Error::Input(_)), "{e}");
    assert!(sim.requests().is_empty(), "nothing was sent");
}
