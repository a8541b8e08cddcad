//! Where a machine is: a few phases, each holding one sum type per API, so
//! that a legacy step under a `/doc-ai/v1` job cannot be written.
//!
//! [`Phase`] has no "done": an ended machine holds its [`crate::Outcome`]
//! instead of a phase (see the engine's `State`), so nothing can be sent or
//! answered once it has ended.

use std::collections::VecDeque;

use http::uri::Uri;

use crate::doc_ai::PresignedUpload;
pub(crate) use crate::output::PendingDownload;
use crate::{Endpoint, JobId, StorageContainerType};

/// The step a live machine is on.
#[derive(Debug)]
pub(super) enum Phase {
    /// Getting the input to the API and the job started.
    Submit(Submit),
    /// Following the job's status.
    Watch(Watching),
    /// Fetching an ended job's outputs.
    Fetch(Fetch),
}

/// The submit phase, per API.
#[derive(Debug)]
pub(super) enum Submit {
    /// create → upload-files → PUT → start.
    Legacy(LegacySubmit),
    /// presign → PUT → submit (which makes and starts the job in one).
    DocAi(DocAiSubmit),
}

/// The legacy API's submit steps.
#[derive(Debug)]
pub(super) enum LegacySubmit {
    /// Make the job.
    Create,
    /// Ask where to upload the file.
    UploadUrl(JobId),
    /// PUT the file to storage.
    Upload {
        job: JobId,
        url: Uri,
        storage: StorageContainerType,
    },
    /// Start the job.
    Start(JobId),
}

/// `/doc-ai/v1`'s submit steps.
#[derive(Debug)]
pub(super) enum DocAiSubmit {
    /// Ask for an upload URL.
    Presign,
    /// PUT the file where the presign said.
    Upload(Box<PresignedUpload>),
    /// Make and start the job on the upload.
    Submit { upload_id: String },
}

/// The watch phase, per API.
#[derive(Debug)]
pub(super) enum Watching {
    /// A legacy job. `resumed`: the first status of a job a journal knew,
    /// which says where to go on from (upload, start, or watch).
    Legacy { job: JobId, resumed: bool },
    /// A `/doc-ai/v1` job (submitted, so started: it only needs watching).
    DocAi { job: JobId },
}

/// The fetch phase, per API.
#[derive(Debug)]
pub(super) enum Fetch {
    /// download-files, then each output from storage.
    Legacy(LegacyFetch),
    /// [results,] download-url, then the output from storage.
    DocAi(DocAiFetch),
}

/// The legacy API's fetch steps.
#[derive(Debug)]
pub(super) enum LegacyFetch {
    /// Ask for the outputs' URLs.
    Urls(JobId),
    /// GET each output from storage.
    Files(Box<Downloads>),
}

/// `/doc-ai/v1`'s fetch steps.
#[derive(Debug)]
pub(super) enum DocAiFetch {
    /// An extraction's inline results, kept as a file.
    Results(JobId),
    /// Ask for the output file's URL.
    Url(JobId),
    /// GET it from storage.
    File(Box<Downloads>),
}

/// Outputs still to download (never empty while in a phase).
#[derive(Clone, Debug)]
pub(super) struct Downloads {
    pub(super) job: JobId,
    pub(super) next: PendingDownload,
    pub(super) rest: VecDeque<PendingDownload>,
}

impl Downloads {
    /// The downloads of `queue`, or `None` when it is empty.
    pub(super) fn of(job: JobId, mut queue: VecDeque<PendingDownload>) -> Option<Self> {
        let next = queue.pop_front()?;
        Some(Downloads {
            job,
            next,
            rest: queue,
        })
    }

    /// The downloads after this one, if any are left.
    pub(super) fn rest(self) -> Option<Downloads> {
        Downloads::of(self.job, self.rest)
    }
}

impl Phase {
    /// The endpoint of the phase's request.
    pub(super) fn endpoint(&self) -> Endpoint {
        match self {
            Phase::Submit(Submit::Legacy(step)) => match step {
                LegacySubmit::Create => Endpoint::CreateJob,
                LegacySubmit::UploadUrl(_) => Endpoint::UploadFiles,
                LegacySubmit::Upload { .. } => Endpoint::StorageUpload,
                LegacySubmit::Start(_) => Endpoint::Start,
            },
            Phase::Submit(Submit::DocAi(step)) => match step {
                DocAiSubmit::Presign => Endpoint::Presign,
                DocAiSubmit::Upload(_) => Endpoint::StorageUpload,
                DocAiSubmit::Submit { .. } => Endpoint::Submit,
            },
            Phase::Watch(_) => Endpoint::Status,
            Phase::Fetch(Fetch::Legacy(step)) => match step {
                LegacyFetch::Urls(_) => Endpoint::DownloadFiles,
                LegacyFetch::Files(_) => Endpoint::StorageDownload,
            },
            Phase::Fetch(Fetch::DocAi(step)) => match step {
                DocAiFetch::Results(_) => Endpoint::Results,
                DocAiFetch::Url(_) => Endpoint::DownloadUrl,
                DocAiFetch::File(_) => Endpoint::StorageDownload,
            },
        }
    }

    /// The step that asks the API for a fresh presigned URL in place of the
    /// one in use, if this step uses one.
    pub(super) fn refreshed(&self) -> Option<Phase> {
        Some(match self {
            Phase::Submit(Submit::Legacy(LegacySubmit::Upload { job, .. })) => {
                Phase::Submit(Submit::Legacy(LegacySubmit::UploadUrl(job.clone())))
            }
            Phase::Submit(Submit::DocAi(DocAiSubmit::Upload(_))) => {
                Phase::Submit(Submit::DocAi(DocAiSubmit::Presign))
            }
            Phase::Fetch(Fetch::Legacy(LegacyFetch::Files(d))) => {
                Phase::Fetch(Fetch::Legacy(LegacyFetch::Urls(d.job.clone())))
            }
            Phase::Fetch(Fetch::DocAi(DocAiFetch::File(d))) => {
                Phase::Fetch(Fetch::DocAi(DocAiFetch::Url(d.job.clone())))
            }
            _ => return None,
        })
    }
}
