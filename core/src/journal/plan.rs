//! What a rerun does with each input: decided from the journal and from
//! what the driver found on disk.

use super::{Identity, Journal};
use crate::output::FolderPlan;
use crate::{Ending, JobId, JobState, StateClass};

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

impl Plan {
    /// Whether carrying it out sends requests: a new job, or one resumed.
    #[must_use]
    pub fn sends(&self) -> bool {
        matches!(self, Plan::New { .. } | Plan::Resume { .. })
    }
}

/// What the driver found in an input's output folder, for
/// [`Journal::plan`]: the facts, looked up, never judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnDisk {
    /// Whether the folder exists (as anything: a file or a link counts).
    pub folder_exists: bool,
    /// The job its manifest names, when it is a folder (not a link to one)
    /// holding a manifest that can be read.
    pub manifest_job: Option<JobId>,
    /// The jobs of the chunks its manifest lists, in order, when it holds
    /// the stitched outputs of a long input (each `None` for a chunk with
    /// no job).
    pub chunk_jobs: Vec<Option<JobId>>,
    /// Whether its manifest says every page came back (`Completed`).
    pub complete: bool,
}

/// What a rerun does with an input cut into chunks: each chunk's plan, and
/// whether the stitched outputs are in place already.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitPlan {
    /// Each chunk's plan, in order.
    pub chunks: Vec<Plan>,
    /// Whether the input's folder holds the stitch of exactly the jobs the
    /// journal says published each chunk: nothing to do at all.
    pub stitched: bool,
    /// Whether the input's folder may be replaced by the stitch (it is this
    /// input's, or `overwrite`).
    pub replace: bool,
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
    /// Make a new job for an input (or a chunk) whose job failed, was
    /// rejected or was refused for good in an earlier run (each is paid
    /// for); what is done stays done.
    pub retry_failed: bool,
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
    /// Its output folder, as the journal or the caller names it, is not one
    /// sarvam-doc makes for it ([`FolderPlan::could_assign`]): a journal
    /// changed by something else, which may name the state folder, a hidden
    /// file or a path outside the output folder. Never used, even with
    /// `overwrite`.
    ForeignFolder {
        /// The folder named.
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
            Refusal::ForeignFolder { folder } => write!(
                f,
                "the journal names {:?} as its output folder, which sarvam-doc never makes for \
                 it (the journal was changed by something else): nothing is sent for it; mend or \
                 remove its lines in the output folder's .sarvam-doc/journal.jsonl",
                crate::error::bounded(crate::error::printable(folder), 120)
            ),
        }
    }
}

impl std::error::Error for Refusal {}

impl Journal {
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
    /// [`Refusal::ForeignFolder`] when the journal named a folder for the
    /// input that sarvam-doc never makes for it, or `folder` is not one;
    /// [`Refusal::FolderTaken`] when the plan would write into a folder that
    /// exists (as anything: a link, even a dangling one, or a file) and is
    /// not this run's, unless `overwrite`. A folder the journal says the
    /// input's outputs were published to is this run's only while it holds
    /// a manifest.
    pub fn plan(
        &self,
        input: &Identity,
        folder: &str,
        on_disk: &OnDisk,
        rerun: Rerun,
    ) -> Result<Plan, Refusal> {
        self.check_folder(input, folder)?;
        let plan = match self.journal_plan(input, rerun.force) {
            Plan::Unconfirmed if rerun.retry_unconfirmed => Plan::New { replaces: None },
            Plan::Failed { .. } if rerun.retry_failed => Plan::New { replaces: None },
            Plan::Skip { job, folder } if on_disk.manifest_job.as_ref() != Some(&job) => {
                Plan::Resume { job, folder }
            }
            Plan::Resume { job, folder } if on_disk.manifest_job.as_ref() == Some(&job) => {
                Plan::Skip { job, folder }
            }
            other => other,
        };
        // A folder of outputs of one of this input's jobs: a link or a file
        // left in their place is not, nor another input's outputs (a journal
        // edited to name them).
        let its_outputs = self.holds_outputs_of(&input.path, on_disk);
        let ours = match &plan {
            // Outputs of one of its jobs (or of its chunks', stitched), in
            // the folder the journal gives it: its own to replace, whichever
            // cut made them.
            Plan::New { replaces } => {
                let its_folder = self.get(&input.path).and_then(|s| s.folder.as_deref());
                its_outputs && (replaces.as_deref() == Some(folder) || its_folder == Some(folder))
            }
            Plan::Resume { .. } => its_outputs,
            Plan::Skip { .. } | Plan::Failed { .. } | Plan::Unconfirmed => true,
        };
        if on_disk.folder_exists && !ours && !rerun.overwrite {
            return Err(Refusal::FolderTaken {
                folder: folder.to_owned(),
            });
        }
        Ok(plan)
    }

    /// What a rerun does with `input`, cut into `chunks` (each the chunk's
    /// identity, under its [`crate::split::Chunk::key`], its folder, and
    /// what is on disk there), whose stitched outputs go to `folder`, given
    /// what is on disk there (`on_disk`):
    ///
    /// - each chunk is planned as an input of its own ([`Journal::plan`]);
    /// - when `folder`'s manifest lists, chunk by chunk, the very jobs the
    ///   journal says published each chunk, the input is done: every chunk
    ///   is [`Plan::Skip`], whatever is left of the chunks' folders;
    /// - `folder` is the input's to replace when its manifest names a job
    ///   the journal gave the input or one of its chunks, at any limit.
    ///
    /// # Errors
    /// A chunk's [`Refusal`]; [`Refusal::ForeignFolder`] when `folder` is
    /// not one sarvam-doc makes for the input; [`Refusal::FolderTaken`] when
    /// `folder` exists and is not the input's, unless `overwrite`.
    pub fn plan_split(
        &self,
        input: &Identity,
        folder: &str,
        on_disk: &OnDisk,
        chunks: &[(Identity, String, OnDisk)],
        rerun: Rerun,
    ) -> Result<SplitPlan, Refusal> {
        self.check_folder(input, folder)?;
        let published: Vec<Option<JobId>> = chunks
            .iter()
            .map(
                |(chunk, _, _)| match self.journal_plan(chunk, rerun.force) {
                    Plan::Skip { job, .. } => Some(job),
                    _ => None,
                },
            )
            .collect();
        let stitched = !rerun.force
            && !chunks.is_empty()
            && published.iter().all(Option::is_some)
            && on_disk.chunk_jobs == published;
        let ours = self.holds_outputs_of(&input.path, on_disk);
        if on_disk.folder_exists && !ours && !rerun.overwrite {
            return Err(Refusal::FolderTaken {
                folder: folder.to_owned(),
            });
        }
        let plans = if stitched {
            // Every chunk has its job (checked above).
            published
                .into_iter()
                .flatten()
                .zip(chunks)
                .map(|(job, (_, folder, _))| Plan::Skip {
                    job,
                    folder: folder.clone(),
                })
                .collect()
        } else {
            chunks
                .iter()
                .map(|(chunk, folder, on_disk)| self.plan(chunk, folder, on_disk, rerun))
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(SplitPlan {
            chunks: plans,
            stitched,
            replace: on_disk.folder_exists,
        })
    }

    /// The cut `input`'s jobs in flight were made at: `Some(None)` when
    /// its whole job is in flight (it was sent whole), `Some(Some(limit))`
    /// when chunks cut at `limit` are; `None` when nothing of it is. A
    /// rerun goes on at that cut whatever the page limit is now: a job in
    /// flight is never left behind to be paid for again at another cut.
    /// In flight: this very work (same content, same request), a job made
    /// (or a submit sent), not published, not ended failed or rejected.
    #[must_use]
    pub fn cut_in_flight(&self, input: &Identity) -> Option<Option<u32>> {
        if self
            .get(&input.path)
            .is_some_and(|state| state.in_flight(input))
        {
            return Some(None);
        }
        self.inputs_from(&input.path).find_map(|(key, state)| {
            let (of, _, limit) = crate::split::parse_chunk_key(key)?;
            (of == input.path && state.in_flight(input)).then_some(Some(limit))
        })
    }

    /// The key and limit under which the journal knows the pages of
    /// `chunk` of `input` cut at `limit`: their own, unless the journal has
    /// no job for them and has one, running or done, for the very same
    /// pages of this work cut at another limit. That job is the chunk's:
    /// the same pages are never paid for twice because the limit changed.
    #[must_use]
    pub fn chunk_key(
        &self,
        input: &Identity,
        chunk: crate::split::Chunk,
        limit: u32,
    ) -> (String, u32) {
        let own = chunk.key(&input.path, limit);
        if self.get(&own).is_some_and(|state| state.job.is_some()) {
            return (own, limit);
        }
        let reused = self.inputs_from(&input.path).find_map(|(key, state)| {
            let (of, same, other) = crate::split::parse_chunk_key(key)?;
            (of == input.path && same == chunk && other != limit && state.has_usable_job(input))
                .then(|| (key.to_owned(), other))
        });
        reused.unwrap_or((own, limit))
    }

    /// Whether the folder found (`on_disk`) holds every page of `input`,
    /// published by jobs the journal gave this very work (same content, same
    /// request): the outputs of its whole job, or a complete stitch of its
    /// chunks cut at any limit. Such an input is done whatever the page
    /// limit is now: changing the limit never pays for a book again.
    #[must_use]
    pub fn outputs_in_place(&self, input: &Identity, on_disk: &OnDisk) -> bool {
        if !on_disk.complete {
            return false;
        }
        let published = |key: &str, job: &JobId| {
            self.get(key).is_some_and(|state| {
                state.published
                    && state.job.as_ref() == Some(job)
                    && state.identity.as_ref().is_some_and(|i| i.same_work(input))
            })
        };
        if let Some(job) = &on_disk.manifest_job {
            return published(&input.path, job);
        }
        !on_disk.chunk_jobs.is_empty()
            && on_disk.chunk_jobs.iter().all(|job| {
                job.as_ref().is_some_and(|job| {
                    self.inputs_from(&input.path).any(|(key, _)| {
                        crate::split::parse_chunk_key(key)
                            .is_some_and(|(of, _, _)| of == input.path)
                            && published(key, job)
                    })
                })
            })
    }

    /// Refuses a folder for `input` that sarvam-doc never makes for it: one
    /// a line of the journal named, or `folder` itself.
    fn check_folder(&self, input: &Identity, folder: &str) -> Result<(), Refusal> {
        let foreign = self
            .get(&input.path)
            .and_then(|state| state.foreign_folder.as_deref())
            .or_else(|| (!FolderPlan::could_assign(&input.path, folder)).then_some(folder));
        match foreign {
            Some(foreign) => Err(Refusal::ForeignFolder {
                folder: foreign.to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// Whether the folder found (`on_disk`) holds outputs of a job the
    /// journal gave the input at `path` or one of its chunks.
    fn holds_outputs_of(&self, path: &str, on_disk: &OnDisk) -> bool {
        let mut jobs = on_disk
            .manifest_job
            .iter()
            .chain(on_disk.chunk_jobs.iter().flatten());
        jobs.any(|job| {
            self.get(path).is_some_and(|state| state.had_job(job))
                || self.inputs_from(path).any(|(key, state)| {
                    crate::split::parse_chunk_key(key).is_some_and(|(of, _, _)| of == path)
                        && state.had_job(job)
                })
        })
    }

    /// What the journal alone says of `input`.
    fn journal_plan(&self, input: &Identity, force: bool) -> Plan {
        let Some(state) = self.get(&input.path) else {
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
