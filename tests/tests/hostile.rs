//! A hostile server and hostile storage, through both transports: every
//! promise of the README's Safety section holds. Each test names the break
//! of the security review it proves fixed.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::{Duration, Instant};

use sarvam_doc_core::output::{UnpackError, UnpackLimits};
use sarvam_doc_core::{Error, Event, GiveUpReason, Outcome, error::ProtocolErrorKind};
use sarvam_doc_driver::{RunError, RunOptions};
use sarvam_doc_sim::{Fault, RetryAfter, Route, SimConfig, Simulator, sample};
use sarvam_doc_tests::*;

/// A key long enough that any fragment of it is unmistakable.
const KEY: &str = "sk_live_hostile_0123456789abcdefghijklmnopqrstuv";

fn sim() -> Simulator {
    let mut config: SimConfig = fast_sim();
    config.api_key = KEY.to_owned();
    Simulator::start(config).unwrap()
}

fn doc() -> (tempfile::TempDir, std::path::PathBuf) {
    input_file("doc.pdf", &sample::pdf(2, "x"))
}

/// Every trace of the key in what a user could be shown.
fn leaks(text: &str) -> bool {
    text.contains(KEY) || text.contains(&KEY[..16]) || text.contains(&KEY[KEY.len() - 16..])
}

#[test]
fn break_2_downloads_stop_at_the_size_storage_announced() {
    let sim = sim();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        // A body that never ends, then one that runs on past the announced size.
        sim.inject(
            Route::StorageGet,
            [Fault::EndlessBody, Fault::Oversized(5_000_000)],
        );
        let (_d, input) = doc();
        let out = tempfile::tempdir().unwrap();
        let mut events = Vec::new();
        let started = Instant::now();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |e| {
                events.push(e.clone())
            })
            .await
            .unwrap();
        assert_completed(name, &report.outcome);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}: {:?}",
            started.elapsed()
        );
        let stopped: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Retrying {
                    error: Error::Protocol(p),
                    ..
                } => Some(p.kind.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(stopped.len(), 2, "{name}: {stopped:?}");
        for kind in stopped {
            let ProtocolErrorKind::WrongLength {
                announced,
                received,
            } = kind
            else {
                panic!("{kind:?}")
            };
            // Stopped the moment it passed the announced size, not after.
            assert!(
                received > announced && received <= announced + 64 * 1024,
                "{name}: {received}"
            );
        }
        assert_eq!(
            files_in(out.path()),
            ["doc"],
            "{name}: no temporary file left"
        );
    });
}

#[test]
fn break_2_a_huge_announced_size_is_refused_before_any_byte() {
    let sim = sim();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        sim.inject(Route::DownloadFiles, [Fault::HugeAnnounced]);
        let before = sim.count(Route::StorageGet);
        let (_d, input) = doc();
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |_| {})
            .await
            .unwrap();
        let Outcome::GaveUp {
            reason: reason @ GiveUpReason::TooLarge { limit, .. },
            job_id: Some(_),
            ..
        } = &report.outcome
        else {
            panic!("{name}: {}", report.outcome)
        };
        assert_eq!(*limit, sarvam_doc_core::policy::DEFAULT_MAX_DOWNLOAD);
        assert!(reason.to_string().contains("download limit"), "{reason}");
        assert_eq!(
            sim.count(Route::StorageGet),
            before,
            "{name}: nothing was fetched"
        );
        assert!(files_in(out.path()).is_empty());
    });
}

#[test]
fn break_3_zip_bombs_are_refused_by_size_and_by_count_and_kept_whole() {
    let sim = sim();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        for (fault, limits, expected) in [
            (
                Fault::ZipBombSize(64),
                UnpackLimits::default().with_max_total_bytes(16 * 1024 * 1024),
                UnpackError::TooLarge {
                    limit: 16 * 1024 * 1024,
                },
            ),
            (
                Fault::ZipBombSize(64),
                UnpackLimits::default().with_max_ratio(100),
                UnpackError::Ratio {
                    name: "page_001.md".into(),
                    limit: 100,
                },
            ),
            (
                Fault::ZipBombCount(12_000),
                UnpackLimits::default(),
                UnpackError::TooManyEntries { limit: 10_000 },
            ),
        ] {
            sim.inject(Route::DownloadFiles, [fault.clone()]);
            let (_d, input) = doc();
            let out = tempfile::tempdir().unwrap();
            let options = RunOptions::new(out.path()).with_unpack_limits(limits);
            let Err(RunError::Unpack {
                job_id: Some(_),
                raw,
                error,
                status: Some(_),
            }) = client.run(&input, &options, |_| {}).await
            else {
                panic!("{name} {fault:?}")
            };
            assert_eq!(error, expected, "{name} {fault:?}");
            // The download, whole, where the pages would be; nothing else.
            assert_eq!(raw, out.path().join("doc").join("doc_output.zip"));
            assert!(zip::ZipArchive::new(std::fs::File::open(&raw).unwrap()).is_ok());
            assert_eq!(published_in(&out.path().join("doc")), ["doc_output.zip"]);
            assert_eq!(
                files_in(out.path()),
                ["doc"],
                "{name}: no staging folder left"
            );
        }
    });
}

#[test]
fn breaks_8_and_12_hostile_entry_names_land_inside_and_nothing_is_lost() {
    let sim = sim();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        sim.inject(Route::DownloadFiles, [Fault::UnsafeEntries]);
        let (_d, input) = doc();
        let out = tempfile::tempdir().unwrap();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |_| {})
            .await
            .unwrap();
        assert!(matches!(report.outcome, Outcome::Completed { .. }));
        let pages = out.path().join("doc");
        let mut written = tree(&pages);
        // Beside the manifest, every entry kept, each under a safe name
        // inside the folder.
        let manifest = written
            .iter()
            .position(|p| p == sarvam_doc_driver::MANIFEST);
        assert!(manifest.is_some(), "{name}: {written:?}");
        // And the merged document, of the one page file among them.
        assert!(
            written.iter().any(|p| p == "document.md"),
            "{name}: {written:?}"
        );
        written.retain(|p| p != sarvam_doc_driver::MANIFEST && p != "document.md");
        assert_eq!(
            written.len(),
            sarvam_doc_sim::UNSAFE_NAMES.len(),
            "{name}: {written:?}"
        );
        for path in &written {
            assert!(
                !path
                    .split('/')
                    .any(|p| p.starts_with('.') || p.chars().any(char::is_control)),
                "{path}"
            );
            assert!(path.split('/').all(|p| p.len() <= 200), "{path}");
        }
        for expected in [
            "escape.md",
            "abs/root.md",
            "_hidden.md",
            "a",
            "a-2/b.md",
            "PAGE_001-2.md",
        ] {
            assert!(
                written.iter().any(|w| w == expected),
                "{name}: no {expected} in {written:?}"
            );
        }
        let texts: std::collections::BTreeSet<String> = written
            .iter()
            .map(|w| std::fs::read_to_string(pages.join(w)).unwrap())
            .collect();
        assert_eq!(
            texts.len(),
            sarvam_doc_sim::UNSAFE_NAMES.len(),
            "every entry's own bytes"
        );
        assert_eq!(
            files_in(out.path()),
            ["doc"],
            "{name}: nothing outside its folder"
        );
        assert!(!out.path().parent().unwrap().join("escape.md").exists());
    });
}

#[test]
fn break_8_a_download_that_is_not_a_zip_is_kept_as_it_came() {
    let sim = sim();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        sim.inject(Route::DownloadFiles, [Fault::NotAZip]);
        let (_d, input) = doc();
        let out = tempfile::tempdir().unwrap();
        let Err(
            e @ RunError::Unpack {
                error: UnpackError::NotAZip { .. },
                ..
            },
        ) = client
            .run(&input, &RunOptions::new(out.path()), |_| {})
            .await
        else {
            panic!("{name}")
        };
        let RunError::Unpack { raw, .. } = &e else {
            unreachable!()
        };
        assert!(
            std::fs::read_to_string(raw)
                .unwrap()
                .contains("Service Unavailable")
        );
        assert!(e.to_string().contains("kept whole at"), "{e}");
    });
}

#[test]
fn break_4_the_key_never_reaches_an_error_an_event_or_a_status() {
    let sim = sim();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        sim.inject(Route::UploadFiles, [Fault::EchoKey]);
        sim.inject(Route::CreateJob, [Fault::KeyInRequestId]);
        sim.inject(
            Route::Status,
            [Fault::KeyAtCut, Fault::KeyInRequestId, Fault::EchoKey],
        );
        sim.inject(Route::DownloadFiles, [Fault::KeyAtCut]);
        let (_d, input) = doc();
        let out = tempfile::tempdir().unwrap();
        let mut shown = Vec::new();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |e| {
                shown.push(format!("{e:?} {e:#?}"))
            })
            .await
            .unwrap();
        // The echoed status: its text redacted and printable.
        let status = client.status(report.outcome.job_id().unwrap()).await;
        shown.push(format!("{report:?} {} {status:?}", report.outcome));
        let all = shown.join("\n");
        assert!(!leaks(&all), "{name}: the key in {all}");
        assert!(
            !all.contains('\u{1b}'),
            "{name}: a terminal escape in {all}"
        );
        assert!(
            all.contains("<redacted>"),
            "{name}: what was echoed is there, redacted"
        );
    });
    // And a status answer that echoes it, parsed on its own.
    let client = ureq_client(config_for(&sim), fast_policy());
    let job = block_on(started_job(&client, "doc.pdf", 1));
    sim.inject(Route::Status, [Fault::EchoKey]);
    let status = block_on(client.status(&job)).unwrap();
    let text = format!("{status:?} {}", serde_json::to_string(&status).unwrap());
    assert!(!leaks(&text) && !text.contains('\u{1b}'), "{text}");
    assert!(
        status.error_message().contains("<redacted>"),
        "{}",
        status.error_message()
    );
}

#[test]
fn break_5_the_deadline_bounds_a_request_that_never_answers() {
    let sim = sim();
    let policy = fast_policy().with_deadline(Some(Duration::from_secs(2)));
    for_each_transport!(config_for(&sim), policy.clone(), |name, client| {
        for (route, fault) in [
            (Route::Status, Fault::Hang),
            (Route::StorageGet, Fault::StallAfterHeaders),
        ] {
            sim.inject(route, std::iter::repeat_n(fault.clone(), 50));
            let (_d, input) = doc();
            let out = tempfile::tempdir().unwrap();
            let started = Instant::now();
            let report = client
                .run(&input, &RunOptions::new(out.path()), |_| {})
                .await
                .unwrap();
            let took = started.elapsed();
            assert!(
                matches!(
                    report.outcome,
                    Outcome::GaveUp {
                        reason: GiveUpReason::Deadline(_),
                        ..
                    }
                ),
                "{name} {fault:?}: {}",
                report.outcome
            );
            assert!(
                took < Duration::from_millis(2600),
                "{name} {fault:?}: {took:?}"
            );
            assert!(
                files_in(out.path()).is_empty(),
                "{name}: {:?}",
                files_in(out.path())
            );
            // Clear what is left of the script for the next case.
            sim.clear_faults();
        }
    });
}

#[test]
fn break_5_a_stall_mid_transfer_is_cut_at_the_idle_bound() {
    // No deadline to lean on: the idle bound (the request timeout) alone.
    let sim = sim();
    let policy = fast_policy()
        .with_request_timeout(Duration::from_millis(500))
        .with_deadline(Some(Duration::from_secs(60)));
    for_each_transport!(config_for(&sim), policy.clone(), |name, client| {
        sim.inject(Route::StorageGet, [Fault::StallAfterHeaders]);
        let (_d, input) = doc();
        let out = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let mut events = Vec::new();
        let report = client
            .run(&input, &RunOptions::new(out.path()), |e| {
                events.push(e.clone())
            })
            .await
            .unwrap();
        assert!(
            matches!(report.outcome, Outcome::Completed { .. }),
            "{name}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name}: {:?}",
            started.elapsed()
        );
        assert!(events.iter().any(|e| matches!(e,
            Event::Retrying { endpoint: sarvam_doc_core::api::Endpoint::StorageDownload, error: Error::Transport(t), .. }
                if t.kind == sarvam_doc_core::TransportErrorKind::TimedOut)), "{name}");
    });
}

#[test]
fn break_7_an_answer_about_another_job_is_refused() {
    let sim = sim();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        let job = started_job(&client, "doc.pdf", 1).await;
        sim.inject(Route::Status, [Fault::OtherJob]);
        let Err(Error::Protocol(e)) = client.status(&job).await else {
            panic!("{name}")
        };
        assert!(
            matches!(&e.kind, ProtocolErrorKind::Contract { detail } if detail.contains("answered about job")),
            "{e}"
        );
        // A watch does not take it either: it retries, and sees its own job end.
        sim.inject(Route::Status, [Fault::OtherJob]);
        let outcome = client.watch(job.clone(), |_| {}).await;
        assert_eq!(outcome.job_id(), Some(&job), "{name}");
        assert!(
            matches!(outcome, Outcome::Completed { .. }),
            "{name}: {outcome}"
        );
    });
}

#[test]
fn break_9_a_huge_retry_after_ends_at_once_saying_what_was_asked() {
    let sim = sim();
    let policy = fast_policy().with_deadline(Some(Duration::from_secs(30)));
    for_each_transport!(config_for(&sim), policy.clone(), |name, client| {
        let job = started_job(&client, "doc.pdf", 1).await;
        sim.inject(
            Route::Status,
            [Fault::RateLimited(RetryAfter::Seconds(99_999_999))],
        );
        let started = Instant::now();
        let outcome = client.watch(job, |_| {}).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{name}");
        let Outcome::GaveUp {
            reason: reason @ GiveUpReason::RetryAfterTooLong { .. },
            ..
        } = &outcome
        else {
            panic!("{name}: {outcome}")
        };
        assert!(
            reason.to_string().contains("asked to wait 99999999 s"),
            "{reason}"
        );
    });
}

#[test]
fn an_input_that_changes_mid_run_stops_it() {
    let sim = sim();
    for_each_transport!(config_for(&sim), fast_policy(), |name, client| {
        // Upload-files answers late: time to change the file under the run.
        sim.inject(
            Route::UploadFiles,
            [Fault::Delay(Duration::from_millis(600))],
        );
        let (_d, input) = doc();
        let path = input.clone();
        let changer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend_from_slice(b"% appended\n");
            std::fs::write(&path, bytes).unwrap();
        });
        let out = tempfile::tempdir().unwrap();
        let result = client
            .run(&input, &RunOptions::new(out.path()), |_| {})
            .await;
        changer.join().unwrap();
        let Err(e @ RunError::Input { .. }) = result else {
            panic!("{name}: {result:?}")
        };
        assert!(e.to_string().contains("changed while the job ran"), "{e}");
        assert!(files_in(out.path()).is_empty());
    });
    assert_eq!(
        sim.count(Route::StoragePut),
        0,
        "the changed file was not uploaded"
    );
}

#[test]
fn a_redirect_is_an_answer_not_a_new_destination() {
    use std::io::{BufRead, BufReader, Write};
    // One server that redirects everything to a second, which records what reaches it.
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target_url = format!("http://{}/steal", target.local_addr().unwrap());
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = reached.clone();
    std::thread::spawn(move || {
        for _ in target.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let redirector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", redirector.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in redirector.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let answer = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target_url}\r\ncontent-length: 0\r\n\r\n"
            );
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    let config = sarvam_doc_core::Config::builder(sarvam_doc_core::ApiKey::new(KEY).unwrap())
        .base_url(base)
        .build()
        .unwrap();
    for_each_transport!(config.clone(), fast_policy(), |name, client| {
        let job: sarvam_doc_core::JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse().unwrap();
        let Err(Error::Api(e)) = client.status(&job).await else {
            panic!("{name}")
        };
        assert_eq!(e.status.as_u16(), 307, "{name}");
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        reached.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the key never went to the redirect's target"
    );
}
