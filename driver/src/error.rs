//! What a run asks for, and what can go wrong outside the protocol.

use std::fmt;
use std::io;
use std::path::PathBuf;

use sarvam_doc_core::output::{UnpackError, UnpackLimits};
use sarvam_doc_core::{
    JobId, Outcome,
    model::{CreateJobRequest, Job, Status},
};

/// What can go wrong outside the protocol: bad input, local files, or an
/// output that had to be refused. What the server says (completed, failed,
/// gave up) is the [`Outcome`], not an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// An error of the core: bad input (nothing was sent), or, for the
    /// one-request calls, an API, protocol or transport error.
    Core(sarvam_doc_core::Error),
    /// The input file could not be read, or changed while the job ran.
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// An output could not be written (or exists, and overwriting was not
    /// asked for). Nothing partial was left behind.
    Output {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
        /// The job, to fetch its outputs again later.
        job_id: Option<JobId>,
    },
    /// The job's output was downloaded but refused while unpacking (over a
    /// limit, or not a ZIP): it is kept whole at `raw`, and nothing else was
    /// published.
    Unpack {
        /// The job.
        job_id: Option<JobId>,
        /// Where the download is kept.
        raw: PathBuf,
        /// Why it was refused.
        error: UnpackError,
        /// The job's last status.
        status: Option<Box<Status>>,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Core(e) => e.fmt(f),
            RunError::Input { path, source } if crate::transport::Changed::is(source) => {
                write!(f, "{} {source}", path.display())
            }
            RunError::Input { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            RunError::Output {
                path,
                source,
                job_id,
            } => {
                if source.kind() == io::ErrorKind::AlreadyExists {
                    write!(
                        f,
                        "{} exists already: remove it, choose another output folder, or allow overwriting",
                        path.display()
                    )?;
                } else if source.kind() == io::ErrorKind::ResourceBusy {
                    // It says which folder, and what to do.
                    write!(f, "{source}")?;
                } else {
                    write!(f, "cannot write {}: {source}", path.display())?;
                }
                if let Some(id) = job_id {
                    write!(f, " (job {id})")?;
                }
                Ok(())
            }
            RunError::Unpack {
                job_id, raw, error, ..
            } => {
                f.write_str("the output")?;
                if let Some(id) = job_id {
                    write!(f, " of job {id}")?;
                }
                write!(
                    f,
                    " was refused: {error}; it is kept whole at {}",
                    raw.display()
                )
            }
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Core(e) => Some(e),
            RunError::Input { source, .. } | RunError::Output { source, .. } => Some(source),
            RunError::Unpack { error, .. } => Some(error),
        }
    }
}

impl From<sarvam_doc_core::Error> for RunError {
    fn from(e: sarvam_doc_core::Error) -> Self {
        RunError::Core(e)
    }
}

impl From<sarvam_doc_core::error::InputError> for RunError {
    fn from(e: sarvam_doc_core::error::InputError) -> Self {
        RunError::Core(e.into())
    }
}

/// How a run leaves its outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// Unpacked: the pages of input `scan.pdf` in `OUT/scan/`, published in
    /// one rename once all are written, under the [`UnpackLimits`].
    #[default]
    Pages,
    /// The output ZIPs as downloaded, in `OUT/`.
    Zips,
}

/// Where a run writes, and what it asks for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunOptions {
    /// What each job is asked to do: a legacy create request, or a
    /// `/doc-ai/v1` task. `None`: the API's defaults (a Hindi Markdown
    /// legacy job; a `/doc-ai/v1` digitise with the server's defaults).
    pub job: Option<Job>,
    /// The folder the outputs go into; made if missing.
    pub out_dir: PathBuf,
    /// How the outputs are left.
    pub layout: Layout,
    /// Whether to replace outputs that exist already (default: no, and the
    /// run fails before anything is sent).
    pub overwrite: bool,
    /// What an output ZIP may hold.
    pub unpack: UnpackLimits,
    /// The most pages one job is sent: a batch cuts an input with more
    /// into contiguous chunks of at most this many pages, each its own job,
    /// and stitches their outputs back into one folder
    /// ([`sarvam_doc_core::split`]). `None`: every input is sent whole.
    /// Default: [`DEFAULT_PAGE_LIMIT`](sarvam_doc_core::split::DEFAULT_PAGE_LIMIT)
    /// (10), the limit every source allows.
    pub page_limit: Option<u32>,
}

impl RunOptions {
    /// Outputs unpacked into `out_dir`, the API's default job, no
    /// overwriting, the default unpack limits.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            job: None,
            out_dir: out_dir.into(),
            layout: Layout::Pages,
            overwrite: false,
            unpack: UnpackLimits::default(),
            page_limit: Some(sarvam_doc_core::split::DEFAULT_PAGE_LIMIT),
        }
    }

    /// Cutting inputs over `limit` pages into chunks (`None`: never).
    #[must_use]
    pub fn with_page_limit(mut self, limit: Option<u32>) -> Self {
        self.page_limit = limit;
        self
    }

    /// With `job`: a [`CreateJobRequest`] for the legacy API, a
    /// [`sarvam_doc_core::doc_ai::Task`] for `/doc-ai/v1` (it must be for
    /// the client's API).
    #[must_use]
    pub fn with_job(mut self, job: impl Into<Job>) -> Self {
        self.job = Some(job.into());
        self
    }

    /// The job asked for, or the default of `version`.
    #[must_use]
    pub fn job_for(&self, version: sarvam_doc_core::config::ApiVersion) -> Job {
        match (&self.job, version) {
            (Some(job), _) => job.clone(),
            (None, sarvam_doc_core::config::ApiVersion::DocAi) => {
                Job::DocAi(sarvam_doc_core::doc_ai::Task::Digitise(
                    sarvam_doc_core::doc_ai::Digitise::default(),
                ))
            }
            (None, _) => Job::Legacy(CreateJobRequest::default()),
        }
    }

    /// With `layout`.
    #[must_use]
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Replacing existing outputs, or not.
    #[must_use]
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// With these unpack limits.
    #[must_use]
    pub fn with_unpack_limits(mut self, limits: UnpackLimits) -> Self {
        self.unpack = limits;
        self
    }
}

/// How a run ended, and where its outputs are.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    /// What the server said, or why the client gave up.
    pub outcome: Outcome,
    /// The folder of pages ([`Layout::Pages`]) or the ZIPs
    /// ([`Layout::Zips`]), when there were outputs.
    pub output: Vec<PathBuf>,
    /// Every request sent, with its answer's status and request id.
    pub requests: Vec<crate::record::RequestRecord>,
    /// For an input cut into chunks ([`RunOptions::page_limit`]): each
    /// chunk, in order, with how its job ended. The report's `outcome` is
    /// then the worst of theirs (given up, failed, partially completed,
    /// completed, in that order), and a chunk stopped by an error has no
    /// outcome: whether every page came back is `missing_pages`.
    pub chunks: Vec<ChunkReport>,
    /// For an input cut into chunks: the original pages missing from its
    /// stitched outputs (their chunk's job failed, or failed them).
    pub missing_pages: Vec<u32>,
}

/// How one chunk of a long input ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChunkReport {
    /// Its pages, numbered as in the input.
    pub chunk: sarvam_doc_core::split::Chunk,
    /// How its job ended, when it ran to an end.
    pub outcome: Option<Outcome>,
    /// What stopped it, when something did before its job's end.
    pub error: Option<String>,
}
