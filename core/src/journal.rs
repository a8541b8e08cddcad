//! A batch's journal: one record per line of what happened to each input,
//! and what a rerun does about each input. The driver writes the lines
//! (each flushed and synced before the step it announces is sent) and reads
//! them back after a crash, and tells [`Journal::plan`] what it finds on
//! disk ([`OnDisk`]); every decision is made here.
//!
//! ```
//! use sarvam_doc_core::journal::{Identity, Journal, OnDisk, Plan, Record, Rerun};
//! let input = Identity::new("scans/a.pdf", 1024, "ab12…", "legacy:hi-IN:md");
//! let job: sarvam_doc_core::JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
//! let (nothing, asked) = (OnDisk::default(), Rerun::default());
//! let mut journal = Journal::default();
//! journal.apply(&Record::Input { input: input.clone(), folder: "a".into() });
//! journal.apply(&Record::Creating { path: "scans/a.pdf".into() });
//! // Killed here: the create may or may not have made a job. Make one (again).
//! assert_eq!(journal.plan(&input, "a", &nothing, asked), Ok(Plan::New { replaces: None }));
//! journal.apply(&Record::Created { path: "scans/a.pdf".into(), job_id: job.clone() });
//! // Killed here: the job exists; go on with it, never make a second.
//! assert_eq!(journal.plan(&input, "a", &nothing, asked), Ok(Plan::Resume { job: job.clone(), folder: "a".into() }));
//! # Ok::<(), sarvam_doc_core::error::InputError>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Ending, JobId, JobState, StateClass};

/// What makes an input the same input on a rerun: where it is, its size and
/// content hash, and what was asked of it (API, language, format).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The input's path, as given.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, in hex.
    pub sha256: String,
    /// What was asked of it, such as `legacy:hi-IN:md`.
    pub request: String,
}

impl Identity {
    /// An input's identity.
    #[must_use]
    pub fn new(
        path: impl Into<String>,
        size: u64,
        sha256: impl Into<String>,
        request: impl Into<String>,
    ) -> Self {
        Identity {
            path: path.into(),
            size,
            sha256: sha256.into(),
            request: request.into(),
        }
    }

    /// Whether `other` is the same document asked for the same thing.
    #[must_use]
    pub fn same_work(&self, other: &Identity) -> bool {
        self.size == other.size && self.sha256 == other.sha256 && self.request == other.request
    }
}

/// One line of a journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Record {
    /// An input was taken up, and the folder its pages go to.
    Input {
        /// Its identity.
        input: Identity,
        /// Its output folder, inside the output folder.
        folder: String,
    },
    /// A create is about to be sent for the input at `path`.
    Creating {
        /// The input.
        path: String,
    },
    /// A create's answer was lost: it may have made a job nobody will hear
    /// of (never started, so it costs nothing). Counted in
    /// [`InputState::lost_creates`].
    CreateLost {
        /// The input.
        path: String,
    },
    /// The input's job exists.
    Created {
        /// The input.
        path: String,
        /// The job.
        job_id: JobId,
    },
    /// The input file reached storage.
    Uploaded {
        /// The input.
        path: String,
        /// The job.
        job_id: JobId,
    },
    /// A start is about to be sent (or, on `/doc-ai/v1`, a submit, which
    /// makes and starts a job in one).
    Starting {
        /// The input.
        path: String,
        /// The job, when it exists already.
        job_id: Option<JobId>,
    },
    /// The server confirmed the start.
    Started {
        /// The input.
        path: String,
        /// The job.
        job_id: JobId,
    },
    /// The job ended, by the server's word.
    Ended {
        /// The input.
        path: String,
        /// The job.
        job_id: JobId,
        /// Its terminal state.
        state: JobState,
    },
    /// The outputs are in place: the pages, or a refused download kept whole.
    Published {
        /// The input.
        path: String,
        /// The job.
        job_id: JobId,
        /// The folder, inside the output folder.
        folder: String,
    },
    /// The client stopped on this input without an end: it gave up, was
    /// refused, or could not write.
    Stopped {
        /// The input.
        path: String,
        /// The job, if there was one.
        job_id: Option<JobId>,
        /// Why, in a line.
        reason: String,
    },
}

impl Record {
    /// The input the record is about.
    #[must_use]
    pub fn path(&self) -> &str {
        match self {
            Record::Input { input, .. } => &input.path,
            Record::Creating { path }
            | Record::CreateLost { path }
            | Record::Created { path, .. }
            | Record::Uploaded { path, .. }
            | Record::Starting { path, .. }
            | Record::Started { path, .. }
            | Record::Ended { path, .. }
            | Record::Published { path, .. }
            | Record::Stopped { path, .. } => path,
        }
    }
}

/// What a journal says of one input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputState {
    /// Its identity when last taken up.
    pub identity: Option<Identity>,
    /// Its output folder.
    pub folder: Option<String>,
    /// Its job, once one was created (the last one, for a changed input).
    pub job: Option<JobId>,
    /// Creates sent whose answer never reached the journal (a
    /// [`Record::CreateLost`], or a create followed by another): possible
    /// orphans, each counted once.
    pub lost_creates: u32,
    /// Whether a start (or submit) was sent for the current job.
    pub start_sent: bool,
    /// Whether the server confirmed the start.
    pub started: bool,
    /// The job's terminal state, once seen.
    pub ended: Option<JobState>,
    /// Whether the outputs were published.
    pub published: bool,
    /// Why the client last stopped on it, if it did.
    pub stopped: Option<String>,
    creating: bool,
}

/// What a rerun does with one input.
///
/// Not `#[non_exhaustive]`: a driver must carry out every kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Make a job for it: never seen, changed since, forced, or its create
    /// never answered (at worst that made a job that can never start).
    /// `replaces` is the folder of an earlier run's outputs for it.
    New {
        /// The folder the journal says holds its earlier outputs.
        replaces: Option<String>,
    },
    /// Its outputs are in place from an earlier run: nothing to do.
    Skip {
        /// The job that made them.
        job: JobId,
        /// Their folder.
        folder: String,
    },
    /// Its job exists: go on with it (upload, start, watch or download, as
    /// the job's state says). Never a second job.
    Resume {
        /// The job.
        job: JobId,
        /// The folder its outputs go to.
        folder: String,
    },
    /// A `/doc-ai/v1` submit (which makes and starts a job in one) went
    /// out and its answer never reached the journal: a job may be running,
    /// and paid for, that no request can find. Submitting again may pay
    /// twice, so it is done only if the user asks
    /// ([`Rerun::retry_unconfirmed`]).
    Unconfirmed,
    /// Its job ended without outputs (failed or rejected): nothing to go on
    /// with; `--force` makes a new job.
    Failed {
        /// The job.
        job: JobId,
        /// How it ended.
        state: JobState,
    },
}

/// What the driver found in an input's output folder, for
/// [`Journal::plan`]: the facts, looked up, never judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnDisk {
    /// Whether the folder exists (as anything: a file or a link counts).
    pub folder_exists: bool,
    /// The job its manifest names, when it holds a manifest that can be
    /// read.
    pub manifest_job: Option<JobId>,
}

/// What the user allows a rerun beyond the journal's word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rerun {
    /// Make a new job whatever the journal says (each is paid for).
    pub force: bool,
    /// Replace an output folder that is not this run's.
    pub overwrite: bool,
    /// Submit again an input whose `/doc-ai/v1` submit never answered (it
    /// may pay twice): [`crate::Policy::retry_unconfirmed`].
    pub retry_unconfirmed: bool,
}

/// Why a rerun leaves an input alone, sending nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Its output folder exists and is not this run's: neither outputs the
    /// journal published there nor a folder with a manifest of its job.
    FolderTaken {
        /// The folder, inside the output folder.
        folder: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::FolderTaken { folder } => write!(
                f,
                "its output folder {folder:?} exists already and is not this run's: remove it, \
                 choose another --out, or pass --overwrite"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// All the journal says, input by input.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    inputs: BTreeMap<String, InputState>,
}

impl Journal {
    /// The journal of `records`, in order.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
        let mut journal = Journal::default();
        for record in records {
            journal.apply(record);
        }
        journal
    }

    /// Takes in one more record.
    pub fn apply(&mut self, record: &Record) {
        let state = self.inputs.entry(record.path().to_owned()).or_default();
        match record {
            Record::Input { input, folder } => {
                // A changed input is a new document: what was known of the old one is history.
                if state
                    .identity
                    .as_ref()
                    .is_some_and(|old| !old.same_work(input))
                {
                    let lost = state.lost_creates;
                    *state = InputState {
                        lost_creates: lost,
                        folder: state.folder.clone(),
                        ..InputState::default()
                    };
                }
                state.identity = Some(input.clone());
                state.folder = Some(folder.clone());
            }
            Record::Creating { .. } => {
                if state.creating {
                    state.lost_creates += 1;
                }
                state.creating = true;
                state.job = None;
                state.start_sent = false;
                state.started = false;
                state.ended = None;
                state.published = false;
                state.stopped = None;
            }
            Record::CreateLost { .. } => {
                // Said outright; a create followed by another create with
                // nothing between (killed mid-create) is counted above.
                if state.creating {
                    state.lost_creates += 1;
                    state.creating = false;
                }
            }
            Record::Created { job_id, .. } => {
                state.creating = false;
                state.job = Some(job_id.clone());
            }
            Record::Uploaded { .. } => {}
            Record::Starting {
                job_id: Some(job), ..
            } => {
                state.start_sent = true;
                state.job = Some(job.clone());
            }
            Record::Starting { job_id: None, .. } => {
                // A `/doc-ai/v1` submit: it makes a new job, as a create does.
                state.creating = false;
                state.job = None;
                state.start_sent = true;
                state.started = false;
                state.ended = None;
                state.published = false;
                state.stopped = None;
            }
            Record::Started { job_id, .. } => {
                state.started = true;
                state.job = Some(job_id.clone());
            }
            Record::Ended {
                job_id, state: s, ..
            } => {
                state.job = Some(job_id.clone());
                state.ended = Some(s.clone());
                state.stopped = None;
            }
            Record::Published { job_id, folder, .. } => {
                state.job = Some(job_id.clone());
                state.folder = Some(folder.clone());
                state.published = true;
                state.stopped = None;
            }
            Record::Stopped { reason, .. } => state.stopped = Some(reason.clone()),
        }
    }

    /// What the journal says of the input at `path`.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&InputState> {
        self.inputs.get(path)
    }

    /// Every input the journal knows, by path.
    pub fn inputs(&self) -> impl Iterator<Item = (&str, &InputState)> {
        self.inputs.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// What a rerun does with `input` (as it is now), whose outputs go to
    /// `folder` (inside the output folder), given what the driver found
    /// there (`on_disk`) and what the user allows (`rerun`):
    ///
    /// - outputs the journal says are published are skipped if the folder's
    ///   manifest names their job, else fetched again from it
    ///   ([`Plan::Resume`]);
    /// - a job to resume whose manifest is in place already (a crash between
    ///   publishing and the journal's line) is done: [`Plan::Skip`];
    /// - an unconfirmed `/doc-ai/v1` submit is submitted again only with
    ///   `retry_unconfirmed`;
    /// - `force` makes a new job whatever the journal says.
    ///
    /// # Errors
    /// [`Refusal::FolderTaken`] when the plan would write into a folder that
    /// exists and is not this run's, unless `overwrite`.
    pub fn plan(
        &self,
        input: &Identity,
        folder: &str,
        on_disk: &OnDisk,
        rerun: Rerun,
    ) -> Result<Plan, Refusal> {
        let plan = match self.journal_plan(input, rerun.force) {
            Plan::Unconfirmed if rerun.retry_unconfirmed => Plan::New { replaces: None },
            Plan::Skip { job, folder } if on_disk.manifest_job.as_ref() != Some(&job) => {
                Plan::Resume { job, folder }
            }
            Plan::Resume { job, folder } if on_disk.manifest_job.as_ref() == Some(&job) => {
                Plan::Skip { job, folder }
            }
            other => other,
        };
        let ours = match &plan {
            Plan::New { replaces } => replaces.as_deref() == Some(folder),
            Plan::Resume { .. } => on_disk.manifest_job.is_some(),
            Plan::Skip { .. } | Plan::Failed { .. } | Plan::Unconfirmed => true,
        };
        if on_disk.folder_exists && !ours && !rerun.overwrite {
            return Err(Refusal::FolderTaken {
                folder: folder.to_owned(),
            });
        }
        Ok(plan)
    }

    /// What the journal alone says of `input`.
    fn journal_plan(&self, input: &Identity, force: bool) -> Plan {
        let Some(state) = self.inputs.get(&input.path) else {
            return Plan::New { replaces: None };
        };
        let same = state
            .identity
            .as_ref()
            .is_some_and(|old| old.same_work(input));
        let earlier = state.folder.clone().filter(|_| state.published);
        if force || !same {
            return Plan::New { replaces: earlier };
        }
        let Some(job) = state.job.clone() else {
            if state.start_sent {
                // A submit went out and its answer never came back.
                return Plan::Unconfirmed;
            }
            // Never created, or the create never answered: make one.
            return Plan::New { replaces: None };
        };
        let folder = state.folder.clone().unwrap_or_default();
        if state.published {
            return Plan::Skip { job, folder };
        }
        match state.ended.as_ref().map(JobState::class) {
            Some(StateClass::Ended(Ending::Failed | Ending::Rejected)) => Plan::Failed {
                job,
                state: state.ended.clone().unwrap_or(JobState::Failed),
            },
            _ => Plan::Resume { job, folder },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        assert_eq!(
            finished().plan(&id("x"), "a", &no_manifest, Rerun::default()),
            Err(Refusal::FolderTaken { folder: "a".into() }),
            "a folder without a manifest is not known to be ours"
        );
        // The folder holds another job's outputs.
        assert_eq!(
            plan(
                &finished(),
                &id("x"),
                &published_by(other_job()),
                Rerun::default()
            ),
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
        // The same folder name for an input the journal never published
        // there: not ours.
        assert!(
            finished()
                .plan(&id("x"), "b", &published_by(job()), forced())
                .is_err()
        );
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
}
