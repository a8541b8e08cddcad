//! The journal's tests: every prefix of a run plans what is safe.

use super::*;
use crate::{JobId, JobState};

fn id(sha: &str) -> Identity {
    Identity::new("a.pdf", 10, sha, "legacy:hi-IN:md")
}

fn job() -> JobId {
    "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse().unwrap()
}

fn other_job() -> JobId {
    "00000000-0000-4000-8000-00000000beef".parse().unwrap()
}

/// Nothing in the output folder.
fn empty() -> OnDisk {
    OnDisk::default()
}

/// The folder, holding the manifest of `job`.
fn published_by(job: JobId) -> OnDisk {
    OnDisk {
        folder_exists: true,
        manifest_job: Some(job),
        ..OnDisk::default()
    }
}

/// The plan for `input` into folder `a`, which must not be refused.
fn plan(journal: &Journal, input: &Identity, disk: &OnDisk, rerun: Rerun) -> Plan {
    journal
        .plan(input, "a", disk, rerun)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn forced() -> Rerun {
    Rerun {
        force: true,
        ..Rerun::default()
    }
}

/// A journal in which job() ran `a.pdf` to its end, outputs in `a`.
fn finished() -> Journal {
    let path = || "a.pdf".to_owned();
    Journal::from_records(&[
        Record::Input {
            input: id("x"),
            folder: "a".into(),
        },
        Record::Created {
            path: path(),
            job_id: job(),
        },
        Record::Ended {
            path: path(),
            job_id: job(),
            state: JobState::Completed,
        },
        Record::Published {
            path: path(),
            job_id: job(),
            folder: "a".into(),
        },
    ])
}

#[test]
fn a_submit_without_an_answer_is_never_sent_again_unasked() {
    let path = || "a.pdf".to_owned();
    let mut journal = Journal::default();
    journal.apply(&Record::Input {
        input: id("x"),
        folder: "a".into(),
    });
    assert_eq!(
        plan(&journal, &id("x"), &empty(), Rerun::default()),
        Plan::New { replaces: None }
    );
    journal.apply(&Record::Starting {
        path: path(),
        job_id: None,
    });
    assert_eq!(
        plan(&journal, &id("x"), &empty(), Rerun::default()),
        Plan::Unconfirmed
    );
    assert_eq!(
        plan(
            &journal,
            &id("x"),
            &empty(),
            Rerun {
                retry_unconfirmed: true,
                ..Rerun::default()
            }
        ),
        Plan::New { replaces: None }
    );
    journal.apply(&Record::Created {
        path: path(),
        job_id: job(),
    });
    assert_eq!(
        plan(&journal, &id("x"), &empty(), Rerun::default()),
        Plan::Resume {
            job: job(),
            folder: "a".into()
        }
    );
    journal.apply(&Record::Published {
        path: path(),
        job_id: job(),
        folder: "a".into(),
    });
    // Forced again: the new submit forgets the old job, so a kill
    // before its answer is unconfirmed, not a skip of the old outputs.
    journal.apply(&Record::Starting {
        path: path(),
        job_id: None,
    });
    assert_eq!(
        plan(&journal, &id("x"), &empty(), Rerun::default()),
        Plan::Unconfirmed
    );
}

#[test]
fn every_prefix_of_a_run_plans_what_is_safe() {
    let path = || "a.pdf".to_owned();
    let resume = || Plan::Resume {
        job: job(),
        folder: "a".into(),
    };
    let records = [
        Record::Input {
            input: id("x"),
            folder: "a".into(),
        },
        Record::Creating { path: path() },
        Record::Created {
            path: path(),
            job_id: job(),
        },
        Record::Uploaded {
            path: path(),
            job_id: job(),
        },
        Record::Starting {
            path: path(),
            job_id: Some(job()),
        },
        Record::Started {
            path: path(),
            job_id: job(),
        },
        Record::Ended {
            path: path(),
            job_id: job(),
            state: JobState::Completed,
        },
        Record::Published {
            path: path(),
            job_id: job(),
            folder: "a".into(),
        },
    ];
    let expected = [
        Plan::New { replaces: None },
        Plan::New { replaces: None },
        resume(),
        resume(),
        resume(),
        resume(),
        resume(),
        Plan::Skip {
            job: job(),
            folder: "a".into(),
        },
    ];
    for k in 1..=records.len() {
        let journal = Journal::from_records(&records[..k]);
        // The folder is published (renamed into place) just before
        // its journal line.
        let disk = if k == records.len() {
            published_by(job())
        } else {
            empty()
        };
        let planned = plan(&journal, &id("x"), &disk, Rerun::default());
        assert_eq!(planned, expected[k - 1], "after {k} records");
        // Once a job exists, a rerun never plans a second one, unless forced.
        if k >= 3 {
            assert!(!matches!(planned, Plan::New { .. }));
        }
    }
    let done = Journal::from_records(&records);
    let disk = published_by(job());
    assert_eq!(
        plan(&done, &id("x"), &disk, forced()),
        Plan::New {
            replaces: Some("a".into())
        }
    );
    // A changed file is a new document.
    assert_eq!(
        plan(&done, &id("y"), &disk, Rerun::default()),
        Plan::New {
            replaces: Some("a".into())
        }
    );
}

#[test]
fn published_outputs_whose_manifest_names_their_job_are_skipped() {
    assert_eq!(
        plan(
            &finished(),
            &id("x"),
            &published_by(job()),
            Rerun::default()
        ),
        Plan::Skip {
            job: job(),
            folder: "a".into()
        }
    );
}

#[test]
fn published_outputs_that_are_gone_or_another_jobs_are_fetched_again() {
    let again = Plan::Resume {
        job: job(),
        folder: "a".into(),
    };
    // The folder was removed.
    assert_eq!(
        plan(&finished(), &id("x"), &empty(), Rerun::default()),
        again
    );
    // The folder is there but its manifest is gone.
    let no_manifest = OnDisk {
        folder_exists: true,
        manifest_job: None,
        ..OnDisk::default()
    };
    assert_eq!(
        finished().plan(&id("x"), "a", &no_manifest, Rerun::default()),
        Err(Refusal::FolderTaken { folder: "a".into() }),
        "a folder without a manifest is not known to be ours"
    );
    // The folder holds the outputs of a job that is not this input's (a
    // journal edited to name another input's folder): not ours to replace,
    // unless the user says so.
    assert_eq!(
        finished().plan(&id("x"), "a", &published_by(other_job()), Rerun::default()),
        Err(Refusal::FolderTaken { folder: "a".into() }),
    );
    let overwrite = Rerun {
        overwrite: true,
        ..Rerun::default()
    };
    assert_eq!(
        plan(&finished(), &id("x"), &published_by(other_job()), overwrite),
        again
    );
}

#[test]
fn a_job_to_resume_whose_manifest_is_in_place_is_done() {
    // Killed between the rename into place and the journal's line.
    let journal = Journal::from_records(&[
        Record::Input {
            input: id("x"),
            folder: "a".into(),
        },
        Record::Created {
            path: "a.pdf".into(),
            job_id: job(),
        },
    ]);
    assert_eq!(
        plan(&journal, &id("x"), &published_by(job()), Rerun::default()),
        Plan::Skip {
            job: job(),
            folder: "a".into()
        }
    );
}

#[test]
fn a_folder_that_is_not_the_runs_is_refused_unless_overwrite() {
    let taken = OnDisk {
        folder_exists: true,
        manifest_job: None,
        ..OnDisk::default()
    };
    let never_seen = Journal::default();
    let refused = never_seen.plan(&id("x"), "a", &taken, Rerun::default());
    assert_eq!(refused, Err(Refusal::FolderTaken { folder: "a".into() }));
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("\"a\"") && message.contains("--overwrite"),
        "{message}"
    );
    let overwrite = Rerun {
        overwrite: true,
        ..Rerun::default()
    };
    assert_eq!(
        never_seen.plan(&id("x"), "a", &taken, overwrite),
        Ok(Plan::New { replaces: None })
    );
    // Forced over the journal's own outputs: its own folder, replaced.
    assert_eq!(
        finished().plan(&id("x"), "a", &published_by(job()), forced()),
        Ok(Plan::New {
            replaces: Some("a".into())
        })
    );
    // A folder the journal never published this input's outputs to: not
    // ours.
    assert_eq!(
        finished().plan(&id("x"), "a-2", &published_by(job()), forced()),
        Err(Refusal::FolderTaken {
            folder: "a-2".into()
        })
    );
}

#[test]
fn a_link_or_file_left_where_earlier_outputs_were_is_not_replaced_unasked() {
    // The journal published `a`; now `a` is a link (dangling or not) or a
    // file: no manifest can be read in it, so it is not ours.
    let left = OnDisk {
        folder_exists: true,
        manifest_job: None,
        ..OnDisk::default()
    };
    assert_eq!(
        finished().plan(&id("changed"), "a", &left, Rerun::default()),
        Err(Refusal::FolderTaken { folder: "a".into() })
    );
    assert_eq!(
        finished().plan(&id("x"), "a", &left, forced()),
        Err(Refusal::FolderTaken { folder: "a".into() })
    );
    // Still a folder of outputs: replaced, as the journal's own.
    assert_eq!(
        finished().plan(&id("changed"), "a", &published_by(job()), Rerun::default()),
        Ok(Plan::New {
            replaces: Some("a".into())
        })
    );
    // Gone: nothing to replace.
    assert_eq!(
        finished().plan(&id("changed"), "a", &empty(), Rerun::default()),
        Ok(Plan::New {
            replaces: Some("a".into())
        })
    );
}

#[test]
fn a_journal_folder_sarvam_doc_never_makes_for_the_input_is_refused_even_with_overwrite() {
    let overwrite = Rerun {
        overwrite: true,
        force: true,
        ..Rerun::default()
    };
    for foreign in [
        ".sarvam-doc",
        "..",
        "../x",
        "/tmp/x",
        "b",
        "a-1",
        ".a",
        "a/b",
    ] {
        let path = || "a.pdf".to_owned();
        let journal = Journal::from_records(&[
            Record::Input {
                input: id("x"),
                folder: foreign.into(),
            },
            Record::Created {
                path: path(),
                job_id: job(),
            },
            Record::Published {
                path: path(),
                job_id: job(),
                folder: foreign.into(),
            },
        ]);
        let state = journal.get("a.pdf").cloned().unwrap_or_default();
        assert_eq!(state.folder, None, "{foreign}: never taken");
        assert_eq!(state.foreign_folder.as_deref(), Some(foreign));
        assert_eq!(state.job, Some(job()), "{foreign}: the job id is kept");
        for disk in [empty(), published_by(job())] {
            let planned = journal.plan(&id("x"), "a", &disk, overwrite);
            assert_eq!(
                planned,
                Err(Refusal::ForeignFolder {
                    folder: foreign.into()
                }),
                "{foreign}"
            );
        }
        // Nor is it taken when the driver gives it.
        assert_eq!(
            Journal::default().plan(&id("x"), foreign, &empty(), overwrite),
            Err(Refusal::ForeignFolder {
                folder: foreign.into()
            })
        );
    }
    let message = Refusal::ForeignFolder {
        folder: ".sarvam-doc\u{1b}[2J".into(),
    }
    .to_string();
    assert!(
        message.contains("journal")
            && message.contains(".sarvam-doc")
            && !message.contains('\u{1b}'),
        "{message}"
    );
    // The folders sarvam-doc makes for it still read.
    for ours in ["a", "a-2", "a-17"] {
        let journal = Journal::from_records(&[Record::Input {
            input: id("x"),
            folder: ours.into(),
        }]);
        assert_eq!(
            journal.get("a.pdf").and_then(|s| s.folder.as_deref()),
            Some(ours)
        );
    }
}

#[test]
fn two_paths_that_differ_only_in_non_utf8_bytes_have_two_keys() {
    let ff = path_key(b"/in/\xff/scan.pdf");
    let fe = path_key(b"/in/\xfe/scan.pdf");
    assert_ne!(ff, fe);
    assert_ne!(ff, "/in/\u{fffd}/scan.pdf");
    // A path that is UTF-8 keeps the key old journals wrote for it.
    assert_eq!(
        path_key("/in/%ff/scan ä.pdf".as_bytes()),
        "/in/%ff/scan ä.pdf"
    );
    // The file name, always UTF-8, is left as it is, so the folder too.
    assert!(ff.ends_with("/scan.pdf"));
    let mut journal = Journal::default();
    for key in [&ff, &fe] {
        journal.apply(&Record::Input {
            input: Identity::new(key.clone(), 10, "x", "legacy:hi-IN:md"),
            folder: "scan".into(),
        });
    }
    assert_eq!(journal.inputs().count(), 2);
}

proptest::proptest! {
    #[test]
    fn a_path_key_gives_back_its_bytes_and_no_two_paths_share_one(
        a in proptest::collection::vec(1u8..=255, 0..40),
        b in proptest::collection::vec(1u8..=255, 0..40),
    ) {
        proptest::prop_assert_eq!(path_bytes(&path_key(&a)), a.clone());
        if a != b {
            proptest::prop_assert_ne!(path_key(&a), path_key(&b));
        }
        if let Ok(text) = std::str::from_utf8(&a) {
            proptest::prop_assert_eq!(path_key(&a), text);
        }
    }
}

#[test]
fn an_unconfirmed_submit_is_held_unless_retry_unconfirmed() {
    let journal = Journal::from_records(&[
        Record::Input {
            input: id("x"),
            folder: "a".into(),
        },
        Record::Starting {
            path: "a.pdf".into(),
            job_id: None,
        },
    ]);
    assert_eq!(
        plan(&journal, &id("x"), &empty(), Rerun::default()),
        Plan::Unconfirmed
    );
    let retry = Rerun {
        retry_unconfirmed: true,
        ..Rerun::default()
    };
    assert_eq!(
        plan(&journal, &id("x"), &empty(), retry),
        Plan::New { replaces: None }
    );
}

#[test]
fn creates_that_never_answered_are_counted_as_possible_orphans() {
    let path = || "a.pdf".to_owned();
    let journal = Journal::from_records(&[
        Record::Input {
            input: id("x"),
            folder: "a".into(),
        },
        Record::Creating { path: path() },
        Record::Creating { path: path() },
        Record::Created {
            path: path(),
            job_id: job(),
        },
    ]);
    assert_eq!(journal.get("a.pdf").unwrap().lost_creates, 1);
}

#[test]
fn a_lost_create_is_counted_once_whether_said_or_seen() {
    let path = || "a.pdf".to_owned();
    let input = Record::Input {
        input: id("x"),
        folder: "a".into(),
    };
    // Said: the answer was lost, then the create was sent again.
    let said = Journal::from_records(&[
        input.clone(),
        Record::Creating { path: path() },
        Record::CreateLost { path: path() },
        Record::Creating { path: path() },
        Record::Created {
            path: path(),
            job_id: job(),
        },
    ]);
    assert_eq!(said.get("a.pdf").map(|s| s.lost_creates), Some(1));
    // Said, and the run stopped there: still a possible orphan, and the
    // rerun makes a job.
    let stopped = Journal::from_records(&[
        input,
        Record::Creating { path: path() },
        Record::CreateLost { path: path() },
    ]);
    assert_eq!(stopped.get("a.pdf").map(|s| s.lost_creates), Some(1));
    assert_eq!(
        plan(&stopped, &id("x"), &empty(), Rerun::default()),
        Plan::New { replaces: None }
    );
}

#[test]
fn journals_with_create_lost_lines_still_read() {
    let line = r#"{"at":"2026-01-01T00:00:00Z","event":"create_lost","path":"a.pdf"}"#;
    assert_eq!(
        serde_json::from_str::<Record>(line).ok(),
        Some(Record::CreateLost {
            path: "a.pdf".into()
        })
    );
}

#[test]
fn a_failed_job_is_not_run_again_unless_forced() {
    let path = || "a.pdf".to_owned();
    let journal = Journal::from_records(&[
        Record::Input {
            input: id("x"),
            folder: "a".into(),
        },
        Record::Created {
            path: path(),
            job_id: job(),
        },
        Record::Ended {
            path: path(),
            job_id: job(),
            state: JobState::Failed,
        },
    ]);
    assert!(matches!(
        plan(&journal, &id("x"), &empty(), Rerun::default()),
        Plan::Failed { .. }
    ));
    assert!(matches!(
        plan(&journal, &id("x"), &empty(), forced()),
        Plan::New { .. }
    ));
}

#[test]
fn records_are_one_json_object_a_line() {
    let record = Record::Created {
        path: "a.pdf".into(),
        job_id: job(),
    };
    let line = serde_json::to_string(&record).unwrap();
    assert_eq!(
        line,
        r#"{"event":"created","path":"a.pdf","job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6"}"#
    );
    assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), record);
}

#[test]
fn a_journal_edited_to_send_an_input_into_another_inputs_folder_is_refused() {
    // x/a.pdf published into `a`, y/a.pdf into `a-2`; then x's line is
    // edited to name `a-2`, a name the client could have made for x.
    let (x, y) = ("x/a.pdf", "y/a.pdf");
    let identity = |path: &str| Identity::new(path, 10, "s", "legacy:hi-IN:md");
    let mut journal = Journal::default();
    for (path, folder, job) in [(x, "a", job()), (y, "a-2", other_job())] {
        journal.apply(&Record::Input {
            input: identity(path),
            folder: folder.into(),
        });
        journal.apply(&Record::Published {
            path: path.into(),
            job_id: job,
            folder: folder.into(),
        });
    }
    journal.apply(&Record::Input {
        input: identity(x),
        folder: "a-2".into(),
    });
    // x's job is not in `a-2`: y's is. Not x's to replace.
    assert_eq!(
        journal.plan(
            &identity(x),
            "a-2",
            &published_by(other_job()),
            Rerun::default()
        ),
        Err(Refusal::FolderTaken {
            folder: "a-2".into()
        })
    );
    // Its own earlier outputs, found where the journal says, are skipped.
    assert!(matches!(
        journal.plan(&identity(x), "a-2", &published_by(job()), Rerun::default()),
        Ok(Plan::Skip { .. })
    ));
}

/// The journal of a 25-page `a.pdf` cut at `limit`, each chunk of `done`
/// published by the job of its number; returns it and the chunks'
/// (identity, folder) in order.
fn cut(limit: u32, done: &[usize]) -> (Journal, Vec<(Identity, String)>) {
    let plan = crate::split::ChunkPlan::new(25, limit).unwrap();
    let input = id("x");
    let mut records = vec![Record::Input {
        input: input.clone(),
        folder: "a".into(),
    }];
    let mut chunks = Vec::new();
    for (i, chunk) in plan.chunks().iter().enumerate() {
        let key = chunk.key("a.pdf", limit);
        let identity = Identity::new(key.clone(), 10, "x", "legacy:hi-IN:md");
        let folder = chunk.folder("a", limit);
        records.push(Record::Input {
            input: identity.clone(),
            folder: folder.clone(),
        });
        if done.contains(&i) {
            let job = chunk_job(i);
            records.push(Record::Created {
                path: key.clone(),
                job_id: job.clone(),
            });
            records.push(Record::Published {
                path: key,
                job_id: job,
                folder: folder.clone(),
            });
        }
        chunks.push((identity, folder));
    }
    (Journal::from_records(&records), chunks)
}

fn chunk_job(i: usize) -> JobId {
    format!("00000000-0000-4000-8000-{i:012}").parse().unwrap()
}

fn with_disk(
    chunks: &[(Identity, String)],
    disk: impl Fn(usize) -> OnDisk,
) -> Vec<(Identity, String, OnDisk)> {
    chunks
        .iter()
        .enumerate()
        .map(|(i, (identity, folder))| (identity.clone(), folder.clone(), disk(i)))
        .collect()
}

#[test]
fn a_cut_input_plans_each_chunk_and_skips_the_finished_ones() {
    let (journal, chunks) = cut(10, &[0, 2]);
    let found = with_disk(&chunks, |i| {
        if i == 1 {
            empty()
        } else {
            published_by(chunk_job(i))
        }
    });
    let split = journal
        .plan_split(&id("x"), "a", &empty(), &found, Rerun::default())
        .unwrap();
    assert!(!split.stitched);
    assert!(matches!(split.chunks[0], Plan::Skip { .. }));
    assert_eq!(split.chunks[1], Plan::New { replaces: None });
    assert!(matches!(split.chunks[2], Plan::Skip { .. }));
}

#[test]
fn a_stitch_of_exactly_the_published_chunks_is_done_even_without_their_folders() {
    let (journal, chunks) = cut(10, &[0, 1, 2]);
    let stitch = OnDisk {
        folder_exists: true,
        chunk_jobs: (0..3).map(|i| Some(chunk_job(i))).collect(),
        complete: true,
        ..OnDisk::default()
    };
    let gone = with_disk(&chunks, |_| empty());
    let split = journal
        .plan_split(&id("x"), "a", &stitch, &gone, Rerun::default())
        .unwrap();
    assert!(split.stitched);
    assert!(split.chunks.iter().all(|p| matches!(p, Plan::Skip { .. })));
    // A stitch naming another job for a chunk is not this journal's: the
    // chunks are planned, and the folder is refused as another's.
    let foreign = OnDisk {
        chunk_jobs: vec![Some(other_job())],
        ..stitch.clone()
    };
    assert!(matches!(
        journal.plan_split(&id("x"), "a", &foreign, &gone, Rerun::default()),
        Err(Refusal::FolderTaken { .. })
    ));
    // Forced: every chunk is a new job.
    let split = journal
        .plan_split(&id("x"), "a", &stitch, &gone, forced())
        .unwrap();
    assert!(!split.stitched);
    assert!(split.chunks.iter().all(|p| matches!(p, Plan::New { .. })));
}

#[test]
fn a_complete_stitch_at_another_limit_is_in_place_and_a_changed_input_is_not() {
    let (journal, _) = cut(10, &[0, 1, 2]);
    let stitch = OnDisk {
        folder_exists: true,
        chunk_jobs: (0..3).map(|i| Some(chunk_job(i))).collect(),
        complete: true,
        ..OnDisk::default()
    };
    assert!(journal.outputs_in_place(&id("x"), &stitch));
    assert!(!journal.outputs_in_place(&id("changed"), &stitch));
    let partial = OnDisk {
        complete: false,
        ..stitch.clone()
    };
    assert!(!journal.outputs_in_place(&id("x"), &partial));
    // A whole job's outputs, published for this work.
    assert!(finished().outputs_in_place(
        &id("x"),
        &OnDisk {
            complete: true,
            ..published_by(job())
        }
    ));
    assert!(!finished().outputs_in_place(
        &id("x"),
        &OnDisk {
            complete: true,
            ..published_by(other_job())
        }
    ));
}

#[test]
fn a_chunk_folder_the_journal_names_for_another_range_is_foreign() {
    let (_, chunks) = cut(10, &[]);
    let (identity, _) = &chunks[1];
    assert!(!crate::output::FolderPlan::could_assign(
        &identity.path,
        ".sarvam-doc/chunks/a/pages-001-010-limit-10"
    ));
    let journal = Journal::from_records(&[Record::Input {
        input: identity.clone(),
        folder: ".sarvam-doc".into(),
    }]);
    assert!(matches!(
        journal.plan(identity, &chunks[1].1, &empty(), Rerun::default()),
        Err(Refusal::ForeignFolder { .. })
    ));
}
