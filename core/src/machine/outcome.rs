//! How a machine ends.

use std::fmt;
use std::time::Duration;

use super::action::DownloadedFile;
use crate::{Error, JobId, JobState, PageCounts, PageError, Status};

/// Why a machine gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The policy's deadline passed.
    Deadline(Duration),
    /// The job sat unchanged in `state` for `duration` (the stall limit).
    Stalled {
        /// The state it sat in.
        state: JobState,
        /// How long.
        duration: Duration,
    },
    /// The job read `Running` with its page counts unchanged for `duration`
    /// (the no-progress limit).
    NoProgress {
        /// How long.
        duration: Duration,
        /// The pages at the time.
        pages: PageCounts,
    },
    /// A step failed `attempts` times in a row.
    RetriesExhausted {
        /// Tries made.
        attempts: u32,
        /// The last error.
        last: Error,
    },
    /// The server refused in a way retrying cannot change (403, 404, 422,
    /// insufficient quota, …).
    Refused(Error),
    /// The server asked to wait longer than allowed: past the deadline, or
    /// past [`crate::Policy::max_retry_after`].
    RetryAfterTooLong {
        /// What the server asked for.
        asked: Duration,
        /// The longest wait allowed then.
        allowed: Duration,
        /// The answer that asked.
        error: Error,
    },
    /// The job has not ended, and its outputs were asked for only if it had.
    NotEnded {
        /// Its state.
        state: JobState,
    },
    /// A `/doc-ai/v1` submit (which makes and starts a job in one) got no
    /// answer: a job may be running that the client will never hear of, and
    /// sending it again may pay twice. Not sent again unless
    /// [`crate::Policy::retry_unconfirmed`] says so.
    SubmitUnconfirmed(Error),
    /// An output is larger than the download limit.
    TooLarge {
        /// The output's name.
        name: String,
        /// The limit, in bytes.
        limit: u64,
    },
}

impl GiveUpReason {
    /// Whether this give-up ends the input's job for good, so a journal
    /// records it refused, not stopped, and a rerun never goes on with it:
    /// the API refused the job for its pages (no rerun changes that); the
    /// API answered 404 about the job made (`job_made`): it does not know
    /// it; or, with no job made, it refused with a 4xx that took no effect
    /// the request that would have made one (a create, or a `/doc-ai/v1`
    /// submit), so no job runs that a rerun could find.
    #[must_use]
    pub fn ends_job(&self, job_made: bool) -> bool {
        if self.page_limit_refusal().is_some() {
            return true;
        }
        match self {
            // The API does not know the job (any more): nothing to go on with.
            GiveUpReason::Refused(Error::Api(e)) if job_made => {
                e.peer == crate::error::Peer::Api && e.status.as_u16() == 404
            }
            GiveUpReason::Refused(Error::Api(e)) => {
                e.status.is_client_error() && !e.may_have_taken_effect()
            }
            _ => false,
        }
    }

    /// The API's refusal of the job for its pages, if that is why
    /// ([`crate::error::ApiError::is_page_limit`]): the job can never run,
    /// so it is ended, never resumed, and only fewer pages a job help.
    #[must_use]
    pub fn page_limit_refusal(&self) -> Option<&crate::error::ApiError> {
        match self {
            GiveUpReason::Refused(Error::Api(e)) if e.is_page_limit() => Some(e),
            _ => None,
        }
    }

    /// A stable name for scripts: `deadline`, `stalled`, `no_progress`,
    /// `retries_exhausted`, `refused`, `retry_after_too_long`, `not_ended`,
    /// `submit_unconfirmed`, `too_large`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            GiveUpReason::Deadline(_) => "deadline",
            GiveUpReason::Stalled { .. } => "stalled",
            GiveUpReason::NoProgress { .. } => "no_progress",
            GiveUpReason::RetriesExhausted { .. } => "retries_exhausted",
            GiveUpReason::Refused(_) => "refused",
            GiveUpReason::RetryAfterTooLong { .. } => "retry_after_too_long",
            GiveUpReason::NotEnded { .. } => "not_ended",
            GiveUpReason::SubmitUnconfirmed(_) => "submit_unconfirmed",
            GiveUpReason::TooLarge { .. } => "too_large",
        }
    }

    /// Why, in one short line for a summary table (the full sentence, with
    /// what to check, is its [`fmt::Display`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sarvam_doc_core::GiveUpReason;
    /// let why = GiveUpReason::Deadline(Duration::from_secs(600));
    /// assert_eq!(why.brief(), "deadline: 600 s passed");
    /// ```
    #[must_use]
    pub fn brief(&self) -> String {
        match self {
            GiveUpReason::Deadline(d) => format!("deadline: {} s passed", d.as_secs()),
            GiveUpReason::Stalled { state, duration } => {
                format!("stalled: {state} for {} s", duration.as_secs())
            }
            GiveUpReason::NoProgress { duration, pages } => format!(
                "no progress: {}/{} pages for {} s",
                pages.processed,
                pages.total,
                duration.as_secs()
            ),
            GiveUpReason::RetriesExhausted { attempts, last } => {
                format!("{attempts} tries failed: {}", last.brief())
            }
            GiveUpReason::Refused(e) => format!("refused: {}", e.brief()),
            GiveUpReason::RetryAfterTooLong { asked, allowed, .. } => format!(
                "told to wait {} s, over the {} s allowed",
                asked.as_secs(),
                allowed.as_secs()
            ),
            GiveUpReason::NotEnded { state } => format!("not ended: {state}"),
            GiveUpReason::SubmitUnconfirmed(e) => {
                format!("submit unanswered, not sent again: {}", e.brief())
            }
            GiveUpReason::TooLarge { name, limit } => {
                format!("output {name:?} over the {limit}-byte limit")
            }
        }
    }
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUpReason::Deadline(d) => write!(f, "the deadline of {} s passed", d.as_secs()),
            GiveUpReason::Stalled { state, duration } => write!(
                f,
                "the job sat in {state} for {} s without change (the stall limit){}",
                duration.as_secs(),
                match state {
                    JobState::Accepted => "; was its file ever uploaded?",
                    JobState::Pending => "; was it ever started?",
                    _ => "",
                }
            ),
            GiveUpReason::NoProgress { duration, pages } => write!(
                f,
                "the job read Running for {} s with its pages stuck at {}/{} (the no-progress limit)",
                duration.as_secs(),
                pages.processed,
                pages.total
            ),
            GiveUpReason::RetriesExhausted { attempts, last } => {
                write!(f, "{attempts} tries in a row failed; the last: {last}")
            }
            GiveUpReason::Refused(e) => e.fmt(f),
            GiveUpReason::RetryAfterTooLong {
                asked,
                allowed,
                error,
            } => write!(
                f,
                "the server asked to wait {} s before trying again, more than the {} s allowed ({error})",
                asked.as_secs(),
                allowed.as_secs()
            ),
            GiveUpReason::NotEnded { state } => write!(
                f,
                "the job has not ended (it is {state}), so it has no outputs yet"
            ),
            GiveUpReason::SubmitUnconfirmed(error) => write!(
                f,
                "the submit got no answer ({error}), so a job may have been made and started that no request can find; it was not sent again, which could pay twice"
            ),
            GiveUpReason::TooLarge { name, limit } => write!(
                f,
                "the output {name:?} is over the {limit}-byte download limit"
            ),
        }
    }
}

/// How a machine ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every page succeeded (and, for a run, the outputs are downloaded).
    Completed {
        /// The last status.
        status: Status,
        /// The outputs downloaded (empty for a watch).
        outputs: Vec<DownloadedFile>,
    },
    /// Some pages failed; the rest succeeded (and, for a run, the outputs
    /// are downloaded).
    PartiallyCompleted {
        /// The last status, with the page errors.
        status: Status,
        /// The outputs downloaded (empty for a watch).
        outputs: Vec<DownloadedFile>,
    },
    /// The server says the job failed (or refused it): see
    /// [`Status::error_message`] and the page errors.
    Failed {
        /// The last status.
        status: Status,
    },
    /// The client gave up.
    GaveUp {
        /// The job, if one was created.
        job_id: Option<JobId>,
        /// Why.
        reason: GiveUpReason,
        /// The last status seen, if any.
        last_status: Option<Box<Status>>,
    },
}

impl Outcome {
    /// The job's id, if there is one.
    #[must_use]
    pub fn job_id(&self) -> Option<&JobId> {
        match self {
            Outcome::Completed { status, .. }
            | Outcome::PartiallyCompleted { status, .. }
            | Outcome::Failed { status } => Some(status.job_id()),
            Outcome::GaveUp { job_id, .. } => job_id.as_ref(),
        }
    }

    /// The last status seen, if any.
    #[must_use]
    pub fn status(&self) -> Option<&Status> {
        match self {
            Outcome::Completed { status, .. }
            | Outcome::PartiallyCompleted { status, .. }
            | Outcome::Failed { status } => Some(status),
            Outcome::GaveUp { last_status, .. } => last_status.as_deref(),
        }
    }

    /// The outputs downloaded.
    #[must_use]
    pub fn outputs(&self) -> &[DownloadedFile] {
        match self {
            Outcome::Completed { outputs, .. } | Outcome::PartiallyCompleted { outputs, .. } => {
                outputs
            }
            Outcome::Failed { .. } | Outcome::GaveUp { .. } => &[],
        }
    }

    /// A stable name for scripts: `completed`, `partially_completed`,
    /// `failed`, `rejected` or `gave_up`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Completed { .. } => "completed",
            Outcome::PartiallyCompleted { .. } => "partially_completed",
            Outcome::Failed { status } if status.state() == JobState::Rejected => "rejected",
            Outcome::Failed { .. } => "failed",
            Outcome::GaveUp { .. } => "gave_up",
        }
    }

    /// Why it did not complete, in one short line (`None` when it did): the
    /// page failures, the server's message about a failed job, or why the
    /// client gave up.
    #[must_use]
    pub fn reason(&self) -> Option<String> {
        match self {
            Outcome::Completed { .. } => None,
            Outcome::PartiallyCompleted { status, .. } => {
                let p = status.pages();
                let mut line = format!("{} of {} pages failed", p.failed, p.total);
                if let Some(first) = status.page_errors().next() {
                    line.push_str(&format!(
                        " (page {}: {})",
                        first.page_number, first.error_message
                    ));
                }
                Some(crate::error::bounded(line, crate::error::BRIEF_MAX))
            }
            Outcome::Failed { status } => Some(if status.error_message().is_empty() {
                "the API gave no reason".to_owned()
            } else {
                crate::error::bounded(status.error_message().to_owned(), crate::error::BRIEF_MAX)
            }),
            Outcome::GaveUp { reason, .. } => Some(reason.brief()),
        }
    }

    /// Every page error of the last status.
    pub fn page_errors(&self) -> impl Iterator<Item = &PageError> {
        self.status().into_iter().flat_map(Status::page_errors)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed { status, .. } => write!(
                f,
                "job {} completed: {} pages",
                status.job_id(),
                status.pages().succeeded
            ),
            Outcome::PartiallyCompleted { status, .. } => {
                let p = status.pages();
                write!(
                    f,
                    "job {} partially completed: {} pages succeeded, {} failed",
                    status.job_id(),
                    p.succeeded,
                    p.failed
                )
            }
            Outcome::Failed { status } => {
                write!(
                    f,
                    "job {} {}",
                    status.job_id(),
                    match status.state() {
                        JobState::Rejected => "was rejected",
                        _ => "failed",
                    }
                )?;
                if !status.error_message().is_empty() {
                    write!(f, ": {}", status.error_message())?;
                }
                Ok(())
            }
            Outcome::GaveUp { job_id, reason, .. } => {
                match job_id {
                    Some(id) => write!(f, "gave up on job {id}: ")?,
                    None => f.write_str("gave up: ")?,
                }
                reason.fmt(f)
            }
        }
    }
}
