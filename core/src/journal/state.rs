//! What a journal says, input by input: its records folded in order.

use std::collections::BTreeMap;

use super::{Identity, Record};
use crate::output::FolderPlan;
use crate::{JobId, JobState};

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
    /// A folder a line of the journal named for it that is not one
    /// sarvam-doc makes for it ([`FolderPlan::could_assign`]): the journal
    /// was changed by something else. That folder is never used, and
    /// [`Journal::plan`] refuses the input until the journal is mended.
    pub foreign_folder: Option<String>,
    /// Every job the journal names for it, oldest first (at most
    /// [`MAX_JOBS_KEPT`]): an output folder whose manifest names one of
    /// them holds its outputs; any other is not its to replace.
    jobs: Vec<JobId>,
    creating: bool,
}

/// The most job ids an input's history keeps.
const MAX_JOBS_KEPT: usize = 64;

impl InputState {
    /// Whether `job` is one the journal names for this input, now or before.
    #[must_use]
    pub fn had_job(&self, job: &JobId) -> bool {
        self.jobs.contains(job) || self.job.as_ref() == Some(job)
    }

    /// Whether this work (`input`: same content, same request) has a job
    /// here, running or done, that is not failed: one to go on with, or
    /// whose outputs stand.
    pub(crate) fn has_usable_job(&self, input: &Identity) -> bool {
        let failed = self.ended.as_ref().is_some_and(|s| {
            matches!(
                s.class(),
                crate::StateClass::Ended(crate::Ending::Failed | crate::Ending::Rejected)
            )
        });
        self.job.is_some() && !failed && self.identity.as_ref().is_some_and(|i| i.same_work(input))
    }

    /// Whether this work has a job in flight here: made (or a submit sent),
    /// not published, not ended failed or rejected.
    pub(crate) fn in_flight(&self, input: &Identity) -> bool {
        let same = self.identity.as_ref().is_some_and(|i| i.same_work(input));
        let failed = self.ended.as_ref().is_some_and(|s| {
            matches!(
                s.class(),
                crate::StateClass::Ended(crate::Ending::Failed | crate::Ending::Rejected)
            )
        });
        same && (self.job.is_some() || self.start_sent) && !self.published && !failed
    }

    fn remember_job(&mut self) {
        if let Some(job) = &self.job
            && !self.jobs.contains(job)
        {
            if self.jobs.len() == MAX_JOBS_KEPT {
                self.jobs.remove(0);
            }
            self.jobs.push(job.clone());
        }
    }
}

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

    /// Takes in one more record. A folder that is not one sarvam-doc makes
    /// for the record's input is not taken: it is kept as the input's
    /// [`InputState::foreign_folder`].
    pub fn apply(&mut self, record: &Record) {
        let state = self.inputs.entry(record.path().to_owned()).or_default();
        Self::fold(state, record);
        state.remember_job();
    }

    fn fold(state: &mut InputState, record: &Record) {
        if let Record::Input { folder, .. } | Record::Published { folder, .. } = record
            && !FolderPlan::could_assign(record.path(), folder)
        {
            state.foreign_folder = Some(folder.clone());
            if let Record::Published { job_id, .. } = record {
                // What it says of the job is kept: a job id is never lost.
                state.job = Some(job_id.clone());
            }
            return;
        }
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
                        foreign_folder: state.foreign_folder.clone(),
                        jobs: std::mem::take(&mut state.jobs),
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
            Record::Refused {
                job_id: Some(job),
                reason,
                ..
            } => {
                // A job that can never run: ended, as a failed one is.
                state.job = Some(job.clone());
                state.ended = Some(JobState::Failed);
                state.stopped = Some(reason.clone());
            }
            Record::Refused {
                job_id: None,
                reason,
                ..
            } => {
                // Refused before any job was made: nothing runs, nothing to find.
                state.creating = false;
                state.start_sent = false;
                state.stopped = Some(reason.clone());
            }
            Record::Stopped { reason, .. } => state.stopped = Some(reason.clone()),
        }
    }

    /// What the journal says of the input at `path`.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&InputState> {
        self.inputs.get(path)
    }

    /// The inputs whose key is `prefix` or starts with it, by key.
    pub(crate) fn inputs_from<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a InputState)> {
        self.inputs
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every input the journal knows, by path.
    pub fn inputs(&self) -> impl Iterator<Item = (&str, &InputState)> {
        self.inputs.iter().map(|(k, v)| (k.as_str(), v))
    }
}
