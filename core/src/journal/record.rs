//! One line of a journal: what happened to one input.

use serde::{Deserialize, Serialize};

use super::Identity;
use crate::{JobId, JobState};

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
    /// [`InputState::lost_creates`](super::InputState::lost_creates).
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
    /// The API refused the job for good (for its pages, say): a job that
    /// can never run is ended, never resumed; a refused `/doc-ai/v1` submit
    /// made no job, so nothing is running that a rerun could find.
    Refused {
        /// The input.
        path: String,
        /// The job, if one was made.
        job_id: Option<JobId>,
        /// Why, in a line.
        reason: String,
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
            | Record::Refused { path, .. }
            | Record::Stopped { path, .. } => path,
        }
    }
}
