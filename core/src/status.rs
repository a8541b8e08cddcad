//! A job's status in either API's terms, read the same way.

use serde::Serialize;

use crate::doc_ai::DocAiStatus;
use crate::{JobId, JobState, JobStatus, PageCounts, PageError};

/// The last status of a job, as its API sent it: what the machines act on
/// and what an [`crate::Outcome`] reports.
///
/// ```
/// use sarvam_doc_core::{model::{JobState, Status}};
/// let status: sarvam_doc_core::doc_ai::DocAiStatus = serde_json::from_str(
///     r#"{"job_id":"20261130_6eb74174","status":"running","pipeline":"digitise",
///         "usage":{"pages_total":4,"pages_processed":1},"created_at":"","updated_at":""}"#)?;
/// let status = Status::from(status);
/// assert_eq!(status.state(), JobState::Running);
/// assert_eq!(status.pages().total, 4);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Status {
    /// A legacy job's status.
    Legacy(JobStatus),
    /// A `/doc-ai/v1` job's status.
    DocAi(DocAiStatus),
}

impl Status {
    /// The job.
    #[must_use]
    pub fn job_id(&self) -> &JobId {
        match self {
            Status::Legacy(s) => &s.job_id,
            Status::DocAi(s) => &s.job_id,
        }
    }

    /// Its state, in the terms both APIs share.
    #[must_use]
    pub fn state(&self) -> JobState {
        match self {
            Status::Legacy(s) => s.job_state.clone(),
            Status::DocAi(s) => s.state(),
        }
    }

    /// Its page counts.
    #[must_use]
    pub fn pages(&self) -> PageCounts {
        match self {
            Status::Legacy(s) => s.pages(),
            Status::DocAi(s) => s.usage.pages(),
        }
    }

    /// Its page errors (the legacy API lists them; `/doc-ai/v1` does not).
    pub fn page_errors(&self) -> impl Iterator<Item = &PageError> {
        let legacy = match self {
            Status::Legacy(s) => Some(s),
            Status::DocAi(_) => None,
        };
        legacy.into_iter().flat_map(JobStatus::page_errors)
    }

    /// The server's message about the job (empty when there is none;
    /// `/doc-ai/v1` sends none).
    #[must_use]
    pub fn error_message(&self) -> &str {
        match self {
            Status::Legacy(s) => &s.error_message,
            Status::DocAi(_) => "",
        }
    }

    /// The legacy status, if it is one.
    #[must_use]
    pub fn as_legacy(&self) -> Option<&JobStatus> {
        match self {
            Status::Legacy(s) => Some(s),
            Status::DocAi(_) => None,
        }
    }

    /// The `/doc-ai/v1` status, if it is one.
    #[must_use]
    pub fn as_doc_ai(&self) -> Option<&DocAiStatus> {
        match self {
            Status::DocAi(s) => Some(s),
            Status::Legacy(_) => None,
        }
    }
}

impl From<JobStatus> for Status {
    fn from(status: JobStatus) -> Self {
        Status::Legacy(status)
    }
}

impl From<DocAiStatus> for Status {
    fn from(status: DocAiStatus) -> Self {
        Status::DocAi(status)
    }
}
