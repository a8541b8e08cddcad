//! A document to run: its file, and the job asked of it.

use crate::doc_ai::Task;
use crate::input::{DocumentKind, MAX_INPUT_BYTES, check_file_name};
use crate::{ApiVersion, CreateJobRequest, InputError};

/// What a job is asked to do with a document, in the terms of one API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Job {
    /// A legacy `/doc-digitization/job/v1` job.
    Legacy(CreateJobRequest),
    /// A `/doc-ai/v1` job: digitise, parse or extract.
    DocAi(Task),
}

impl Job {
    /// The API this job is for.
    #[must_use]
    pub fn api_version(&self) -> ApiVersion {
        match self {
            Job::Legacy(_) => ApiVersion::Legacy,
            Job::DocAi(_) => ApiVersion::DocAi,
        }
    }

    /// Whether an input over a job's page limit may be cut into chunks,
    /// each its own job, for this job: every job but an extraction, whose
    /// fields cannot be joined across jobs.
    #[must_use]
    pub fn can_split(&self) -> bool {
        !matches!(self, Job::DocAi(Task::Extract(_)))
    }

    /// What it asks, as one line for a journal: the same line means the
    /// same work (`legacy:hi-IN:md`, `doc-ai:digitise:…`).
    #[must_use]
    pub fn request_key(&self) -> String {
        match self {
            Job::Legacy(request) => {
                let params = request.job_parameters.clone().unwrap_or_default();
                format!("legacy:{}:{}", params.language, params.output_format)
            }
            Job::DocAi(task) => task.request_key(),
        }
    }
}

impl From<CreateJobRequest> for Job {
    fn from(request: CreateJobRequest) -> Self {
        Job::Legacy(request)
    }
}

impl From<Task> for Job {
    fn from(task: Task) -> Self {
        Job::DocAi(task)
    }
}

/// The document a run processes: checked before anything is sent.
///
/// ```
/// use sarvam_doc_core::{Document, model::CreateJobRequest};
/// let doc = Document::new("scan.pdf", 1024, CreateJobRequest::default())?;
/// assert_eq!(doc.file_name(), "scan.pdf");
/// assert!(Document::new("scan.pdf", 0, CreateJobRequest::default()).is_err());
/// assert!(Document::new("..pdf", 10, CreateJobRequest::default()).is_err());
/// # Ok::<(), sarvam_doc_core::error::InputError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    file_name: String,
    kind: DocumentKind,
    len: u64,
    job: Job,
}

impl Document {
    /// A document named `file_name` of `len` bytes, processed as `job` asks
    /// (a [`CreateJobRequest`] for the legacy API, a [`Task`] for
    /// `/doc-ai/v1`).
    ///
    /// # Errors
    /// [`InputError::FileName`] for a name the API refuses (see
    /// [`check_file_name`]), [`InputError::FileSize`] for an empty file or one
    /// over 200 MB.
    pub fn new(
        file_name: impl Into<String>,
        len: u64,
        job: impl Into<Job>,
    ) -> Result<Self, InputError> {
        let file_name = file_name.into();
        let kind = check_file_name(&file_name)?;
        if len == 0 || len > MAX_INPUT_BYTES {
            return Err(InputError::FileSize(len));
        }
        Ok(Document {
            file_name,
            kind,
            len,
            job: job.into(),
        })
    }

    /// The file's name, as uploaded.
    #[must_use]
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// PDF or ZIP.
    #[must_use]
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The file's length in bytes.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty (never: a `Document` is at least one byte).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What its job is asked to do.
    #[must_use]
    pub fn job(&self) -> &Job {
        &self.job
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_not_name_their_own_folder_are_refused() {
        for bad in [
            "",
            ".pdf",
            "..pdf",
            "...pdf",
            ". .pdf",
            "a/b.pdf",
            "..\\x.pdf",
            "a\u{1b}.pdf",
            "x.docx",
            "pdf",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}.pdf", "a".repeat(252));
        assert!(check_file_name(&long).is_err());
        for good in ["a.pdf", "A.PDF", ".hidden.pdf", "a..b.zip", "हिन्दी.pdf"] {
            assert!(check_file_name(good).is_ok(), "{good:?}");
        }
    }
}
