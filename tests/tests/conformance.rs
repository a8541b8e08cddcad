//! One conformance suite, run with the in-process simulator through every
//! client users can hold: the driver's one client over each transport, and
//! the public blocking client ([`for_each_client!`]).
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::Duration;

use sarvam_doc_core::{
    Direction, Error, Event, GiveUpReason, Outcome,
    api::Endpoint,
    error::Peer,
    model::{CreateJobRequest, ErrorCode, JobState, Language, OutputFormat},
};
use sarvam_doc_driver::{Layout, RunError, RunOptions};
use sarvam_doc_sim::{Fault, RetryAfter, Route, Scenario, SimConfig, Simulator, sample};
use sarvam_doc_tests::*;

fn options(dir: &std::path::Path) -> RunOptions {
    RunOptions::new(dir).with_job(CreateJobRequest::new(Language::TAMIL, OutputFormat::Md))
}

fn sim(config: SimConfig) -> Simulator {
    Simulator::start(config).unwrap()
}

#[test]
fn every_endpoint_one_request_at_a_time() {
    let sim = sim(fast_sim());
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        let created = client
            .create_job(&CreateJobRequest::new(
                Language::BENGALI,
                OutputFormat::Html,
            ))
            .await
            .unwrap();
        assert_eq!(created.job_state, JobState::Accepted, "{name}");
        assert_eq!(created.job_parameters.language, Language::BENGALI);
        let job = created.job_id;
        let status = client.status(&job).await.unwrap();
        assert_eq!(
            (status.job_id(), status.state()),
            (&job, JobState::Accepted)
        );
        let upload = client.upload_files(&job, "scan.pdf").await.unwrap();
        assert!(
            upload.upload_urls["scan.pdf"]
                .file_url
                .to_string()
                .starts_with(&sim.storage_url())
        );
        // Start before the upload: the API's 400, typed.
        let Err(Error::Api(e)) = client.start(&job).await else {
            panic!("{name}")
        };
        assert_eq!(
            (e.status.as_u16(), e.code),
            (400, Some(ErrorCode::InvalidRequest))
        );
        assert!(e.request_id.is_some());
        // Outputs before the end: 409.
        let Err(Error::Api(e)) = client.download_files(&job).await else {
            panic!()
        };
        assert_eq!(e.status.as_u16(), 409);
        // An unknown job: 404 not_found_error.
        let Err(Error::Api(e)) = client
            .status(&"00000000-0000-4000-8000-000000000000".parse().unwrap())
            .await
        else {
            panic!()
        };
        assert_eq!(e.code, Some(ErrorCode::NotFound));
    });
    assert!(!sim.storage_saw_api_key());
}

#[test]
fn a_pdf_and_a_zip_run_to_completed_with_their_pages_published() {
    let sim = sim(fast_sim());
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        for (file, bytes, pages) in [
            ("report.pdf", sample::pdf(3, "Report"), 3),
            ("scans.zip", sample::image_zip(2), 2),
        ] {
            let (_in, input) = input_file(file, &bytes);
            let out = tempfile::tempdir().unwrap();
            let mut events = Vec::new();
            let report = client
                .run(&input, &options(out.path()), |e| events.push(e.clone()))
                .await
                .unwrap();
            let Outcome::Completed { status, outputs } = &report.outcome else {
                panic!("{name} {file}: {}", report.outcome)
            };
            assert_eq!(status.pages().succeeded, pages);
            assert_eq!(outputs.len(), 1);
            let stem = file.split('.').next().unwrap();
            assert_eq!(report.output, [out.path().join(stem)]);
            // The pages, and nothing else: no ZIP, no temporary file.
            assert_eq!(files_in(out.path()), [stem.to_owned()], "{name}");
            let published = published_in(&out.path().join(stem));
            assert_eq!(published.len() as u32, pages, "{name}: {published:?}");
            let first = std::fs::read_to_string(out.path().join(stem).join("page_001.md")).unwrap();
            assert!(first.contains("(ta-IN)"), "{first}");
            assert!(matches!(
                events[0],
                Event::Sending {
                    endpoint: Endpoint::CreateJob
                }
            ));
            assert!(matches!(events[1], Event::JobCreated(_)));
            assert!(
                events.iter().any(
                    |e| matches!(e, Event::Uploaded { len, .. } if *len == bytes.len() as u64)
                )
            );
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e, Event::Downloaded(o) if o.len > 0))
            );
        }
        // The ZIP layout keeps the downloads as they came.
        let (_in, input) = input_file("kept.pdf", &sample::pdf(2, "Kept"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(
                &input,
                &options(out.path()).with_layout(Layout::Zips),
                |_| {},
            )
            .await
            .unwrap();
        assert_eq!(report.output, [out.path().join("kept_output.zip")]);
        assert_eq!(zip_entries(&report.output[0]).len(), 2);
        assert_eq!(files_in(out.path()), ["kept_output.zip"]);
    });
    // Uploads carried their length (Azure refuses chunked) and never the key.
    for put in sim
        .requests()
        .iter()
        .filter(|r| r.route == Some(Route::StoragePut))
    {
        assert!(put.headers.contains_key("content-length"));
        assert!(!put.headers.contains_key("transfer-encoding"));
        assert_eq!(put.headers["x-ms-blob-type"], "BlockBlob");
        assert_eq!(put.status, Some(201));
    }
    assert!(!sim.storage_saw_api_key());
    assert_eq!(sim.jobs(), 3 * CLIENTS);
}

#[test]
fn partial_and_failed_jobs_end_as_the_server_says() {
    let sim = sim(fast_sim());
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        let (_in, input) = input_file("partial-scan.pdf", &sample::pdf(4, "x"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &options(out.path()), |_| {})
            .await
            .unwrap();
        let Outcome::PartiallyCompleted { .. } = &report.outcome else {
            panic!("{name}: {}", report.outcome)
        };
        let failed: Vec<_> = report
            .outcome
            .page_errors()
            .map(|e| e.page_number)
            .collect();
        assert_eq!(failed, [2, 4]);
        assert_eq!(
            published_in(&out.path().join("partial-scan")),
            ["page_001.md", "page_003.md"]
        );

        let (_in, input) = input_file("will-fail.pdf", &sample::pdf(2, "x"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &options(out.path()), |_| {})
            .await
            .unwrap();
        let Outcome::Failed { status } = &report.outcome else {
            panic!()
        };
        assert!(!status.error_message().is_empty());
        assert!(
            files_in(out.path()).is_empty(),
            "nothing published, nothing left over"
        );
    });
    assert_eq!(
        sim.count(Route::DownloadFiles),
        CLIENTS,
        "a failed job is not asked for outputs"
    );
}

#[test]
fn a_watch_follows_a_job_to_its_end() {
    let mut config = fast_sim();
    config.scenario = Some(Scenario::Completed);
    let sim = sim(config);
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        let job = started_job(&client, "a.pdf", 2).await;
        let mut events = Vec::new();
        let outcome = client.watch(job, |e| events.push(e.clone())).await;
        assert!(
            matches!(outcome, Outcome::Completed { ref outputs, .. } if outputs.is_empty()),
            "{outcome:?}"
        );
        let states: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::StateChanged { to, .. } => Some(to.as_str().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(
            states.last().map(String::as_str),
            Some("Completed"),
            "{name}"
        );
    });
}

/// A fresh simulator with `faults` on `route`.
fn faulty(route: Route, faults: Vec<Fault>) -> Simulator {
    let sim = sim(fast_sim());
    sim.inject(route, faults);
    sim
}

#[test]
fn transient_faults_are_retried_to_completion() {
    for (route, fault) in [
        (Route::Status, Fault::HighLoad),
        (Route::Status, Fault::Internal),
        (Route::Status, Fault::InvalidJson),
        (Route::Status, Fault::Truncated),
        (Route::Status, Fault::DropBefore),
        (Route::Status, Fault::DropAfter),
        (Route::Status, Fault::UnknownState),
        (Route::Status, Fault::ExtraFields),
        (Route::UploadFiles, Fault::Internal),
        (Route::StoragePut, Fault::HighLoad),
        (Route::StoragePut, Fault::DropBefore),
        (Route::DownloadFiles, Fault::Truncated),
        (Route::StorageGet, Fault::Truncated),
        (Route::StorageGet, Fault::DropAfter),
        (Route::CreateJob, Fault::HighLoad),
        (Route::CreateJob, Fault::RateLimited(RetryAfter::Absent)),
        (Route::CreateJob, Fault::ExtraFields),
        (Route::Start, Fault::HighLoad),
    ] {
        let sim = sim(fast_sim());
        for_each_client!(config_for(&sim), fast_policy(), |name, client| {
            sim.inject(route, [fault.clone(), fault.clone()]);
            let (_in, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
            let out = tempfile::tempdir().unwrap();
            let mut events = Vec::new();
            let report = client
                .run(&input, &options(out.path()), |e| events.push(e.clone()))
                .await
                .unwrap();
            assert!(
                matches!(report.outcome, Outcome::Completed { .. }),
                "{name} {route:?} {fault:?}: {}",
                report.outcome
            );
            assert_eq!(files_in(out.path()), ["doc"]);
            let retried = events
                .iter()
                .filter(|e| matches!(e, Event::Retrying { .. }))
                .count();
            assert!(
                retried <= 2
                    && (retried == 2 || matches!(fault, Fault::UnknownState | Fault::ExtraFields)),
                "{name} {route:?} {fault:?}: {retried}"
            );
        });
        assert_eq!(sim.jobs(), CLIENTS, "{route:?} {fault:?}: one job per run");
        assert_eq!(sim.started_jobs(), CLIENTS);
        assert!(!sim.storage_saw_api_key());
    }
}

#[test]
fn a_create_whose_answer_was_lost_is_sent_again_and_only_one_job_starts() {
    for fault in [
        Fault::Internal,
        Fault::DropAfter,
        Fault::Truncated,
        Fault::InvalidJson,
        Fault::DropBefore,
    ] {
        // The fault meets the first transport's run; the second runs clean.
        let sim = faulty(Route::CreateJob, vec![fault.clone()]);
        for_each_client!(config_for(&sim), fast_policy(), |name, client| {
            let (_in, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
            let out = tempfile::tempdir().unwrap();
            let mut events = Vec::new();
            let report = client
                .run(&input, &options(out.path()), |e| events.push(e.clone()))
                .await
                .unwrap();
            assert!(
                matches!(report.outcome, Outcome::Completed { .. }),
                "{name} {fault:?}: {}",
                report.outcome
            );
            let lost = events
                .iter()
                .any(|e| matches!(e, Event::CreateUnconfirmed { .. }));
            // A dropped connection cannot be told from one dropped after the work.
            assert_eq!(
                lost,
                name == "ureq",
                "{name} {fault:?}: the possible orphan is reported"
            );
        });
        // The simulator's own books: one started job per run, and an extra
        // job only where a create took effect but its answer never arrived.
        assert_eq!(sim.count(Route::CreateJob), CLIENTS + 1, "{fault:?}");
        let orphans = usize::from(fault.takes_effect());
        assert_eq!(sim.jobs(), CLIENTS + orphans, "{fault:?}");
        assert_eq!(sim.started_jobs(), CLIENTS, "{fault:?}");
    }
}

#[test]
fn a_start_that_may_have_taken_effect_is_watched_not_repeated() {
    for fault in [Fault::DropAfter, Fault::Truncated, Fault::InvalidJson] {
        let sim = faulty(Route::Start, vec![fault.clone()]);
        let client = ureq_client(config_for(&sim), fast_policy());
        let (_in, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
        let out = tempfile::tempdir().unwrap();
        let mut events = Vec::new();
        let report =
            block_on(client.run(&input, &options(out.path()), |e| events.push(e.clone()))).unwrap();
        assert!(
            matches!(report.outcome, Outcome::Completed { .. }),
            "{fault:?}"
        );
        assert_eq!(sim.count(Route::Start), 1, "{fault:?}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::StartUnconfirmed { .. }))
        );
    }
}

#[test]
fn a_start_lost_before_any_work_is_sent_again_to_the_same_job() {
    for fault in [Fault::Internal, Fault::DropBefore] {
        let sim = faulty(Route::Start, vec![fault.clone()]);
        for_each_client!(config_for(&sim), fast_policy(), |name, client| {
            let (_in, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
            let out = tempfile::tempdir().unwrap();
            let mut events = Vec::new();
            let started = std::time::Instant::now();
            let report = client
                .run(&input, &options(out.path()), |e| events.push(e.clone()))
                .await
                .unwrap();
            assert!(
                matches!(report.outcome, Outcome::Completed { .. }),
                "{name} {fault:?}: {}",
                report.outcome
            );
            // The first transport used the fault up; it re-sent the start
            // after restart_after (1 s), long before the stall limit.
            if name == "ureq" {
                assert!(events.contains(&Event::StartResent), "{fault:?}");
                assert!(started.elapsed() < Duration::from_secs(10));
            }
        });
        assert_eq!(
            sim.started_jobs(),
            sim.jobs(),
            "{fault:?}: one start per job"
        );
        assert_eq!(
            sim.count(Route::Start),
            CLIENTS + 1,
            "{fault:?}: 2 for the first run, 1 for each other"
        );
    }
}

#[test]
fn fatal_answers_end_the_run_with_the_job_id() {
    let sim = faulty(Route::Start, vec![Fault::QuotaExhausted; CLIENTS]);
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        let (_in, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &options(out.path()), |_| {})
            .await
            .unwrap();
        let Outcome::GaveUp {
            reason: GiveUpReason::Refused(Error::Api(e)),
            job_id: Some(_),
            ..
        } = &report.outcome
        else {
            panic!("{name}: {:?}", report.outcome)
        };
        assert_eq!(
            (e.status.as_u16(), e.code.clone()),
            (429, Some(ErrorCode::InsufficientQuota))
        );
        assert!(files_in(out.path()).is_empty());
    });
    assert_eq!(sim.count(Route::Start), CLIENTS);
    assert_eq!(sim.started_jobs(), 0);
}

#[test]
fn retry_after_is_honoured_to_the_millisecond_in_the_log() {
    for after in [RetryAfter::Seconds(1), RetryAfter::Date(1)] {
        let sim = faulty(Route::Status, vec![Fault::RateLimited(after); 2]);
        for_each_client!(config_for(&sim), fast_policy(), |name, client| {
            let (_in, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
            let out = tempfile::tempdir().unwrap();
            let report = client
                .run(&input, &options(out.path()), |_| {})
                .await
                .unwrap();
            assert!(
                matches!(report.outcome, Outcome::Completed { .. }),
                "{name}"
            );
        });
        let log = sim.requests();
        let limited: Vec<_> = log.iter().filter(|r| r.fault.is_some()).collect();
        for hit in limited {
            let next = log
                .iter()
                .find(|r| r.route == Some(Route::Status) && r.at > hit.at)
                .unwrap();
            let gap = next.at - hit.at;
            // An HTTP date has whole seconds, so a date 1 s ahead may be read as
            // just under 1 s after the 429's own Date header was stamped.
            let floor = match after {
                RetryAfter::Date(_) => Duration::ZERO,
                _ => Duration::from_secs(1),
            };
            assert!(
                gap >= floor,
                "{after:?}: the next status came {gap:?} after the 429"
            );
            if matches!(after, RetryAfter::Seconds(_)) {
                assert!(gap < Duration::from_millis(1500), "{gap:?}");
            }
        }
    }
}

#[test]
fn a_download_cut_mid_body_leaves_no_partial_file() {
    let retries = fast_policy().retry.max_retries as usize;
    let sim = faulty(
        Route::StorageGet,
        vec![Fault::Truncated; CLIENTS * (retries + 1)],
    );
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        let (_in, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &options(out.path()), |_| {})
            .await
            .unwrap();
        assert!(
            matches!(
                report.outcome,
                Outcome::GaveUp {
                    reason: GiveUpReason::RetriesExhausted { .. },
                    ..
                }
            ),
            "{name}: {}",
            report.outcome
        );
        assert!(
            files_in(out.path()).is_empty(),
            "{name}: {:?}",
            files_in(out.path())
        );
    });
    assert_eq!(sim.count(Route::StorageGet), CLIENTS * (retries + 1));
}

#[test]
fn an_existing_output_is_not_overwritten_unless_asked() {
    let sim = sim(fast_sim());
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        let (_in, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        std::fs::create_dir(out.path().join("doc")).unwrap();
        std::fs::write(out.path().join("doc").join("mine.txt"), b"keep me").unwrap();
        let before = sim.requests().len();
        let Err(RunError::Output { source, .. }) =
            client.run(&input, &options(out.path()), |_| {}).await
        else {
            panic!("{name}")
        };
        assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(
            sim.requests().len(),
            before,
            "refused before anything was sent"
        );
        assert_eq!(
            std::fs::read(out.path().join("doc").join("mine.txt")).unwrap(),
            b"keep me"
        );
        let report = client
            .run(&input, &options(out.path()).with_overwrite(true), |_| {})
            .await
            .unwrap();
        assert!(matches!(report.outcome, Outcome::Completed { .. }));
        assert_eq!(published_in(&out.path().join("doc")), ["page_001.md"]);
        assert_eq!(
            files_in(out.path()),
            ["doc"],
            "the old folder was moved away, not left"
        );
    });
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let sim = sim(fast_sim());
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        let out = tempfile::tempdir().unwrap();
        for bad in ["letter.docx", "empty.pdf", "...pdf", "..pdf"] {
            let bytes: &[u8] = if bad == "empty.pdf" { b"" } else { b"%PDF-" };
            let (_d, path) = input_file(bad, bytes);
            assert!(
                matches!(
                    client.run(&path, &options(out.path()), |_| {}).await,
                    Err(RunError::Core(Error::Input(_)))
                ),
                "{name} {bad}"
            );
        }
        let missing = out.path().join("missing.pdf");
        assert!(matches!(
            client.run(&missing, &options(out.path()), |_| {}).await,
            Err(RunError::Input { .. })
        ));
        assert!(matches!(
            client.run(out.path(), &options(out.path()), |_| {}).await,
            Err(RunError::Input { .. })
        ));
    });
    assert!(sim.requests().is_empty());
}

#[test]
fn a_transport_that_cannot_connect_says_so() {
    // A port nothing listens on: bind one, note it, close it (at once: a
    // simulator's listener closes in the background, and may still reset).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = sarvam_doc_core::Config::builder(sarvam_doc_core::ApiKey::new("k").unwrap())
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let mut policy = fast_policy();
    policy.retry.max_retries = 1;
    for_each_client!(config.clone(), policy.clone(), |name, client| {
        let Err(Error::Transport(e)) = client.create_job(&CreateJobRequest::default()).await else {
            panic!()
        };
        assert_eq!(
            e.kind,
            sarvam_doc_core::TransportErrorKind::Connect,
            "{name}: {e}"
        );
        // In a run, a create that could not connect surely did not take effect: retried, then given up.
        let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let mut events = Vec::new();
        let report = client
            .run(&input, &options(out.path()), |e| events.push(e.clone()))
            .await
            .unwrap();
        assert!(
            matches!(
                report.outcome,
                Outcome::GaveUp {
                    reason: GiveUpReason::RetriesExhausted { attempts: 2, .. },
                    ..
                }
            ),
            "{}",
            report.outcome
        );
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Retrying {
                endpoint: Endpoint::CreateJob,
                ..
            }
        )));
    });
}

#[test]
fn a_slow_answer_past_the_request_timeout_is_retried() {
    let sim = sim(fast_sim());
    let policy = fast_policy().with_request_timeout(Duration::from_millis(500));
    for_each_client!(config_for(&sim), policy.clone(), |name, client| {
        sim.inject(Route::Status, [Fault::Delay(Duration::from_millis(1500))]);
        let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let mut events = Vec::new();
        let report = client
            .run(&input, &options(out.path()), |e| events.push(e.clone()))
            .await
            .unwrap();
        assert!(matches!(report.outcome, Outcome::Completed { .. }));
        let timed_out = events.iter().any(|e| {
            matches!(e, Event::Retrying { error: Error::Transport(t), .. } if t.kind == sarvam_doc_core::TransportErrorKind::TimedOut)
        });
        assert!(timed_out, "{name}");
    });
}

#[test]
fn storage_errors_say_storage_answered() {
    let sim = faulty(Route::StoragePut, vec![Fault::Internal]);
    let client = ureq_client(config_for(&sim), fast_policy());
    let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
    let out = tempfile::tempdir().unwrap();
    let mut events = Vec::new();
    let report =
        block_on(client.run(&input, &options(out.path()), |e| events.push(e.clone()))).unwrap();
    assert!(matches!(report.outcome, Outcome::Completed { .. }));
    let error = events
        .iter()
        .find_map(|e| match e {
            Event::Retrying {
                error: Error::Api(a),
                ..
            } => Some(a.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(error.peer, Peer::Storage);
    assert!(
        error.to_string().starts_with("storage answered 500"),
        "{error}"
    );
}

#[test]
fn a_large_download_reports_its_bytes_as_they_arrive() {
    let sim = Simulator::start(fast_sim()).unwrap();
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        sim.inject(Route::DownloadFiles, [Fault::LargeOutput(3)]);
        let (_d, input) = input_file("big.pdf", &sample::pdf(1, "big"));
        let out = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |e| {
                if let Event::Transfer {
                    direction: Direction::Download,
                    done,
                    total,
                    ..
                } = e
                {
                    seen.push((*done, *total));
                }
            })
            .await
            .unwrap();
        assert_completed(name, &report.outcome);
        // Once a MiB, rising, each with the size storage announced.
        assert!(seen.len() >= 3, "{name}: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{name}: {seen:?}");
        let total = seen[0]
            .1
            .unwrap_or_else(|| panic!("{name}: no size announced"));
        assert!(total > 3 * 1024 * 1024, "{name}: {total}");
        assert!(
            seen.iter()
                .all(|&(done, t)| t == Some(total) && done <= total)
        );
    });
}

#[test]
fn an_upload_reports_its_bytes_while_it_waits_for_storage() {
    let sim = Simulator::start(fast_sim()).unwrap();
    for_each_client!(config_for(&sim), fast_policy(), |name, client| {
        // Storage takes 700 ms to answer: the upload reports meanwhile.
        sim.inject(
            Route::StoragePut,
            [Fault::Delay(Duration::from_millis(700))],
        );
        let pdf = sample::pdf(2, "up");
        let (_d, input) = input_file("up.pdf", &pdf);
        let out = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        let (mut reported_at, mut uploaded_at) = (None, None);
        let report = client
            .run(&input, &RunOptions::new(out.path()), |e| match e {
                Event::Transfer {
                    direction: Direction::Upload,
                    name,
                    done,
                    total,
                } => {
                    seen.push((name.clone(), *done, *total));
                    reported_at = Some(std::time::Instant::now());
                }
                Event::Uploaded { .. } => uploaded_at = Some(std::time::Instant::now()),
                _ => {}
            })
            .await
            .unwrap();
        assert_completed(name, &report.outcome);
        let len = pdf.len() as u64;
        // Reported when it changed (while storage waits, or, for the
        // blocking transport, at the end): the whole file, once.
        assert_eq!(seen, [("up.pdf".to_owned(), len, Some(len))], "{name}");
        if name == "hyper" {
            // The async transport reports while storage still holds the answer.
            let early = uploaded_at.unwrap() - reported_at.unwrap();
            assert!(early > Duration::from_millis(300), "{early:?}");
        }
    });
}
