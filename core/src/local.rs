//! What transports report about local files. The core touches no file;
//! these are the types every transport shares for what it does touch.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::{CreateJobRequest, JobId};

/// What can go wrong outside the protocol: the core's errors, and local
/// files.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// An error of the core: bad input, an API error, a protocol violation,
    /// or a transport failure.
    Core(crate::Error),
    /// The input file could not be read.
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// An output could not be written (or exists, and overwriting was not
    /// asked for). Nothing partial was left behind.
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
        /// The job, to pick up later with `watch` and a download.
        job_id: Option<JobId>,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Core(e) => e.fmt(f),
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
                } else {
                    write!(f, "cannot write {}: {source}", path.display())?;
                }
                if let Some(id) = job_id {
                    write!(f, " (job {id})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Core(e) => Some(e),
            RunError::Input { source, .. } | RunError::Output { source, .. } => Some(source),
        }
    }
}

impl From<crate::Error> for RunError {
    fn from(e: crate::Error) -> Self {
        RunError::Core(e)
    }
}

impl From<crate::InputError> for RunError {
    fn from(e: crate::InputError) -> Self {
        RunError::Core(e.into())
    }
}

/// Where a run writes, and what it asks for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunOptions {
    /// The job to create (language, output format, callback).
    pub job: CreateJobRequest,
    /// The folder the outputs (ZIPs) are saved into; it must exist.
    pub out_dir: PathBuf,
    /// Whether to replace outputs that exist already (default: no, and the
    /// run fails before anything is replaced).
    pub overwrite: bool,
}

impl RunOptions {
    /// Outputs into `out_dir`, a Hindi Markdown job, no overwriting.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            job: CreateJobRequest::default(),
            out_dir: out_dir.into(),
            overwrite: false,
        }
    }
}
