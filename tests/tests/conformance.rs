//! One conformance suite, run against both transports with the in-process
//! simulator.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::Duration;

use sarvam_doc_core::{
    CreateJobRequest, Endpoint, Error, ErrorCode, Event, GiveUpReason, JobState, Language, Outcome,
    OutputFormat, RunError, RunOptions,
};
use sarvam_doc_sim::{Fault, RetryAfter, Route, Scenario, SimConfig, Simulator, sample};
use sarvam_doc_tests::*;

/// A simulator and both transports with the fast policy.
fn setup(config: SimConfig) -> (Simulator, Vec<Box<dyn Transport>>) {
    let sim = Simulator::start(config).unwrap();
    let transports = transports(&sim, &fast_policy());
    (sim, transports)
}

fn options(dir: &std::path::Path) -> RunOptions {
    let mut o = RunOptions::new(dir);
    o.job = CreateJobRequest::new(Language::TAMIL, OutputFormat::Md);
    o
}

#[test]
fn every_endpoint_one_request_at_a_time() {
    let (sim, transports) = setup(fast_sim());
    for t in &transports {
        let created = t
            .create_job(&CreateJobRequest::new(
                Language::BENGALI,
                OutputFormat::Html,
            ))
            .unwrap();
        assert_eq!(created.job_state, JobState::Accepted, "{}", t.name());
        assert_eq!(created.job_parameters.language, Language::BENGALI);
        let job = created.job_id;
        let status = t.status(job).unwrap();
        assert_eq!((status.job_id, status.job_state), (job, JobState::Accepted));
        let upload = t.upload_files(job, "scan.pdf").unwrap();
        assert!(
            upload.upload_urls["scan.pdf"]
                .file_url
                .starts_with(&sim.storage_url())
        );
        // Start before the upload: the API's 400, typed.
        let Err(RunError::Core(Error::Api(e))) = t.start(job) else {
            panic!("{}", t.name())
        };
        assert_eq!(
            (e.status.as_u16(), e.code),
            (400, Some(ErrorCode::InvalidRequest))
        );
        assert!(e.request_id.is_some());
        // Outputs before the end: 409.
        let Err(RunError::Core(Error::Api(e))) = t.download_files(job) else {
            panic!()
        };
        assert_eq!(e.status.as_u16(), 409);
        // An unknown job: 404 not_found_error.
        let Err(RunError::Core(Error::Api(e))) =
            t.status("00000000-0000-4000-8000-000000000000".parse().unwrap())
        else {
            panic!()
        };
        assert_eq!(e.code, Some(ErrorCode::NotFound));
    }
    assert!(!sim.storage_saw_api_key());
}

#[test]
fn a_pdf_and_a_zip_run_to_completed_with_their_outputs() {
    let (sim, transports) = setup(fast_sim());
    for t in &transports {
        for (name, bytes, pages) in [
            ("report.pdf", sample::pdf(3, "Report"), 3),
            ("scans.zip", sample::image_zip(2), 2),
        ] {
            let (_in, input) = input_file(name, &bytes);
            let out = tempfile::tempdir().unwrap();
            let (outcome, events) = t.run(&input, &options(out.path()));
            let Outcome::Completed { status, outputs } = outcome.unwrap() else {
                panic!("{} {name}", t.name())
            };
            assert_eq!(status.pages().succeeded, pages);
            assert_eq!(outputs.len(), 1);
            let stem = name.split('.').next().unwrap();
            assert_eq!(outputs[0].name, format!("{stem}_output.zip"));
            assert_eq!(
                files_in(out.path()),
                [format!("{stem}_output.zip")],
                "no temporary files left"
            );
            let entries = zip_entries(&out.path().join(&outputs[0].name));
            assert_eq!(entries.len() as u32, pages);
            assert!(entries[0].1.contains("(ta-IN)"), "{:?}", entries[0]);
            assert!(matches!(events[0], Event::JobCreated(_)));
            assert!(
                events.iter().any(
                    |e| matches!(e, Event::Uploaded { len, .. } if *len == bytes.len() as u64)
                )
            );
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e, Event::Downloaded(o) if o.len == outputs[0].len))
            );
        }
    }
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
    assert_eq!(sim.jobs(), 4);
}

#[test]
fn partial_and_failed_jobs_end_as_the_server_says() {
    let (sim, transports) = setup(fast_sim());
    for t in &transports {
        let (_in, input) = input_file("partial-scan.pdf", &sample::pdf(4, "x"));
        let out = tempfile::tempdir().unwrap();
        let (outcome, _) = t.run(&input, &options(out.path()));
        let outcome = outcome.unwrap();
        let Outcome::PartiallyCompleted { outputs, .. } = &outcome else {
            panic!("{outcome:?}")
        };
        let failed: Vec<_> = outcome.page_errors().map(|e| e.page_number).collect();
        assert_eq!(failed, [2, 4]);
        let names: Vec<_> = zip_entries(&out.path().join(&outputs[0].name))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["page_001.md", "page_003.md"]);

        let (_in, input) = input_file("will-fail.pdf", &sample::pdf(2, "x"));
        let out = tempfile::tempdir().unwrap();
        let (outcome, _) = t.run(&input, &options(out.path()));
        let Outcome::Failed { status } = outcome.unwrap() else {
            panic!()
        };
        assert!(!status.error_message.is_empty());
        assert!(files_in(out.path()).is_empty());
    }
    assert_eq!(
        sim.count(Route::DownloadFiles),
        2,
        "a failed job is not asked for outputs"
    );
}

#[test]
fn a_watch_follows_a_job_to_its_end() {
    let mut config = fast_sim();
    config.scenario = Some(Scenario::Completed);
    let (_sim, transports) = setup(config);
    for t in &transports {
        let job = started_job(t.as_ref(), "a.pdf", 2);
        let (outcome, events) = t.watch(job);
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
            "{}",
            t.name()
        );
    }
}

/// Runs one PDF with `faults` on `route`; returns the outcome, the events,
/// the simulator and the output folder.
fn run_with_faults(
    t: &dyn Transport,
    route: Route,
    faults: Vec<Fault>,
) -> (
    Result<Outcome, RunError>,
    Vec<Event>,
    Simulator,
    tempfile::TempDir,
) {
    let sim = Simulator::start(fast_sim()).unwrap();
    sim.inject(route, faults);
    // Each case gets its own simulator: rebuild the transport for it.
    let transport: Box<dyn Transport> = match t.name() {
        "ureq" => Box::new(Ureq(
            sarvam_doc_ureq::Client::new(config_for(&sim)).with_policy(fast_policy()),
        )),
        _ => Box::new(Hyper::new(config_for(&sim), fast_policy())),
    };
    let (_in, input) = input_file("doc.pdf", &sample::pdf(2, "x"));
    let out = tempfile::tempdir().unwrap();
    let (outcome, events) = transport.run(&input, &options(out.path()));
    (outcome, events, sim, out)
}

fn both() -> Vec<Box<dyn Transport>> {
    let sim = Simulator::start(fast_sim()).unwrap();
    transports(&sim, &fast_policy())
}

#[test]
fn transient_faults_are_retried_to_completion() {
    for t in both() {
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
            let (outcome, events, sim, out) =
                run_with_faults(t.as_ref(), route, vec![fault.clone(), fault.clone()]);
            let outcome = outcome.unwrap();
            assert!(
                matches!(outcome, Outcome::Completed { .. }),
                "{} {route:?} {fault:?}: {outcome}",
                t.name()
            );
            assert_eq!(sim.jobs(), 1, "{} {route:?} {fault:?}", t.name());
            assert_eq!(files_in(out.path()), ["doc_output.zip"]);
            let retried = events
                .iter()
                .filter(|e| matches!(e, Event::Retrying { .. }))
                .count();
            let expected = match fault {
                Fault::UnknownState | Fault::ExtraFields => 0,
                _ => 2,
            };
            assert_eq!(retried, expected, "{} {route:?} {fault:?}", t.name());
            assert!(!sim.storage_saw_api_key());
        }
    }
}

#[test]
fn a_create_that_may_have_taken_effect_is_not_repeated() {
    for t in both() {
        for fault in [
            Fault::Internal,
            Fault::DropAfter,
            Fault::Truncated,
            Fault::InvalidJson,
            Fault::DropBefore,
        ] {
            let (outcome, _, sim, out) =
                run_with_faults(t.as_ref(), Route::CreateJob, vec![fault.clone()]);
            let outcome = outcome.unwrap();
            assert!(
                matches!(
                    outcome,
                    Outcome::GaveUp {
                        reason: GiveUpReason::Unconfirmed(_),
                        job_id: None,
                        ..
                    }
                ),
                "{} {fault:?}: {outcome}",
                t.name()
            );
            assert_eq!(sim.count(Route::CreateJob), 1, "{} {fault:?}", t.name());
            assert!(files_in(out.path()).is_empty());
        }
    }
}

#[test]
fn a_start_that_may_have_taken_effect_is_watched_not_repeated() {
    for t in both() {
        for fault in [Fault::DropAfter, Fault::Truncated, Fault::InvalidJson] {
            let (outcome, events, sim, _out) =
                run_with_faults(t.as_ref(), Route::Start, vec![fault.clone()]);
            assert!(
                matches!(outcome.unwrap(), Outcome::Completed { .. }),
                "{} {fault:?}",
                t.name()
            );
            assert_eq!(sim.count(Route::Start), 1);
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e, Event::StartUnconfirmed { .. }))
            );
        }
    }
}

#[test]
fn fatal_answers_end_the_run_with_the_job_id() {
    for t in both() {
        let (outcome, _, sim, _out) =
            run_with_faults(t.as_ref(), Route::Start, vec![Fault::QuotaExhausted]);
        let outcome = outcome.unwrap();
        let Outcome::GaveUp {
            reason: GiveUpReason::Refused(Error::Api(e)),
            job_id: Some(_),
            ..
        } = &outcome
        else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            (e.status.as_u16(), e.code.clone()),
            (429, Some(ErrorCode::InsufficientQuota))
        );
        assert_eq!(sim.count(Route::Start), 1);
    }
}

#[test]
fn retry_after_is_honoured_to_the_millisecond_in_the_log() {
    for t in both() {
        for after in [RetryAfter::Seconds(1), RetryAfter::Date(1)] {
            let (outcome, _, sim, _out) =
                run_with_faults(t.as_ref(), Route::Status, vec![Fault::RateLimited(after)]);
            assert!(matches!(outcome.unwrap(), Outcome::Completed { .. }));
            let statuses: Vec<_> = sim
                .requests()
                .into_iter()
                .filter(|r| r.route == Some(Route::Status))
                .collect();
            let gap = statuses[1].at - statuses[0].at;
            // An HTTP date has whole seconds, so a date 1 s ahead may be read as
            // just under 1 s after the 429's own Date header was stamped.
            let floor = if matches!(after, RetryAfter::Date(_)) {
                Duration::ZERO
            } else {
                Duration::from_secs(1)
            };
            assert!(
                gap >= floor,
                "{} {after:?}: the next status came {gap:?} after the 429",
                t.name()
            );
            if matches!(after, RetryAfter::Seconds(_)) {
                assert!(gap < Duration::from_millis(1500), "{gap:?}");
            }
        }
    }
}

#[test]
fn a_download_cut_mid_body_leaves_no_partial_file() {
    for t in both() {
        let retries = fast_policy().retry.max_retries as usize;
        let (outcome, _, sim, out) = run_with_faults(
            t.as_ref(),
            Route::StorageGet,
            vec![Fault::Truncated; retries + 1],
        );
        let outcome = outcome.unwrap();
        assert!(
            matches!(
                outcome,
                Outcome::GaveUp {
                    reason: GiveUpReason::RetriesExhausted { .. },
                    ..
                }
            ),
            "{}: {outcome}",
            t.name()
        );
        assert_eq!(sim.count(Route::StorageGet), retries + 1);
        assert!(
            files_in(out.path()).is_empty(),
            "{}: {:?}",
            t.name(),
            files_in(out.path())
        );
    }
}

#[test]
fn an_existing_output_is_not_overwritten_unless_asked() {
    let (_sim, transports) = setup(fast_sim());
    for t in &transports {
        let (_in, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("doc_output.zip"), b"keep me").unwrap();
        let (result, _) = t.run(&input, &options(out.path()));
        let Err(RunError::Output { source, job_id, .. }) = result else {
            panic!("{}", t.name())
        };
        assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(job_id.is_some());
        assert_eq!(
            std::fs::read(out.path().join("doc_output.zip")).unwrap(),
            b"keep me"
        );
        assert_eq!(files_in(out.path()), ["doc_output.zip"]);
        let mut overwrite = options(out.path());
        overwrite.overwrite = true;
        let (result, _) = t.run(&input, &overwrite);
        assert!(matches!(result.unwrap(), Outcome::Completed { .. }));
        assert_eq!(zip_entries(&out.path().join("doc_output.zip")).len(), 1);
    }
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let (sim, transports) = setup(fast_sim());
    for t in &transports {
        let out = tempfile::tempdir().unwrap();
        let (_d, docx) = input_file("letter.docx", b"PK..");
        assert!(matches!(
            t.run(&docx, &options(out.path())).0,
            Err(RunError::Core(Error::Input(_)))
        ));
        let (_d, empty) = input_file("empty.pdf", b"");
        assert!(matches!(
            t.run(&empty, &options(out.path())).0,
            Err(RunError::Core(Error::Input(_)))
        ));
        let missing = out.path().join("missing.pdf");
        assert!(matches!(
            t.run(&missing, &options(out.path())).0,
            Err(RunError::Input { .. })
        ));
        assert!(matches!(
            t.run(out.path(), &options(out.path())).0,
            Err(RunError::Input { .. })
        ));
    }
    assert!(sim.requests().is_empty());
}

#[test]
fn a_transport_that_cannot_connect_says_so() {
    // A port nothing listens on: start a simulator, note its port, stop it.
    let sim = Simulator::start(fast_sim()).unwrap();
    let config = config_for(&sim);
    drop(sim);
    let mut policy = fast_policy();
    policy.retry.max_retries = 1;
    for t in [
        Box::new(Ureq(
            sarvam_doc_ureq::Client::new(config.clone()).with_policy(policy.clone()),
        )) as Box<dyn Transport>,
        Box::new(Hyper::new(config.clone(), policy.clone())),
    ] {
        let Err(RunError::Core(Error::Transport(e))) = t.create_job(&CreateJobRequest::default())
        else {
            panic!()
        };
        assert_eq!(
            e.kind,
            sarvam_doc_core::TransportErrorKind::Connect,
            "{}: {e}",
            t.name()
        );
        // In a run, a create that could not connect surely did not take effect: retried, then given up.
        let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let (outcome, events) = t.run(&input, &options(out.path()));
        let outcome = outcome.unwrap();
        assert!(
            matches!(
                outcome,
                Outcome::GaveUp {
                    reason: GiveUpReason::RetriesExhausted { attempts: 2, .. },
                    ..
                }
            ),
            "{outcome}"
        );
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Retrying {
                endpoint: Endpoint::CreateJob,
                ..
            }
        )));
    }
}

#[test]
fn a_slow_answer_past_the_request_timeout_is_retried() {
    for t in both() {
        let sim = Simulator::start(fast_sim()).unwrap();
        sim.inject(Route::Status, [Fault::Delay(Duration::from_millis(1500))]);
        let mut policy = fast_policy();
        policy.request_timeout = Duration::from_millis(500);
        let transport: Box<dyn Transport> = match t.name() {
            "ureq" => Box::new(Ureq(
                sarvam_doc_ureq::Client::new(config_for(&sim)).with_policy(policy),
            )),
            _ => Box::new(Hyper::new(config_for(&sim), policy)),
        };
        let (_d, input) = input_file("doc.pdf", &sample::pdf(1, "x"));
        let out = tempfile::tempdir().unwrap();
        let (outcome, events) = transport.run(&input, &options(out.path()));
        assert!(matches!(outcome.unwrap(), Outcome::Completed { .. }));
        let timed_out = events.iter().any(|e| {
            matches!(e, Event::Retrying { error: Error::Transport(t), .. } if t.kind == sarvam_doc_core::TransportErrorKind::TimedOut)
        });
        assert!(timed_out, "{}", t.name());
    }
}
