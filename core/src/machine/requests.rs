//! Each phase's request, and what its answer says: the engine's link to
//! [`crate::Api`]. Every match here is over one phase's own steps, so a step
//! of one API never meets the other's request or parser.

use std::time::Duration;

use http::{Request, Response};

use super::engine::Engine;
use super::outcome::GiveUpReason;
use super::phase::{
    DocAiFetch, DocAiSubmit, Downloads, Fetch, LegacyFetch, LegacySubmit, PendingDownload, Phase,
    Submit, Watching,
};
use super::transitions::Reply;
use crate::doc_ai::{DownloadUrl, MAX_RESULTS_BODY, RESULTS_FILE};
use crate::{
    Body, Document, Error, InputError, Job, Peer, ProtocolError, ProtocolErrorKind, Status,
};

use super::action::Sink;

/// Why a phase's request cannot be built: the machine gives up.
type NoRequest = Box<GiveUpReason>;

impl Engine {
    /// The run's document and what its job asks. Only a run submits, so a
    /// watch never gets here; if it did, it would be the caller's misuse.
    fn submitted(&self) -> Result<(&Document, &Job), NoRequest> {
        self.document().map(|d| (d, d.job())).ok_or_else(|| {
            Box::new(GiveUpReason::Refused(Error::Input(InputError::Misuse(
                "only a run submits a document",
            ))))
        })
    }

    /// The request of `phase`, its timeout and where its answer goes.
    pub(super) fn build(
        &self,
        phase: &Phase,
    ) -> Result<(Request<Body>, Duration, Sink), NoRequest> {
        let api = &self.api;
        let memory = Sink::Memory {
            limit: api.config().max_json_body(),
        };
        let timeout = self.policy.request_timeout;
        let refused = |e: InputError| Box::new(GiveUpReason::Refused(Error::Input(e)));
        Ok(match phase {
            Phase::Submit(Submit::Legacy(step)) => {
                let (doc, job) = self.submitted()?;
                match step {
                    LegacySubmit::Create => {
                        let Job::Legacy(request) = job else {
                            return Err(refused(InputError::Misuse(
                                "a /doc-ai/v1 task on the legacy API",
                            )));
                        };
                        (api.create_job(request).map_err(refused)?, timeout, memory)
                    }
                    LegacySubmit::UploadUrl(job) => (
                        api.upload_files(job, doc.file_name()).map_err(refused)?,
                        timeout,
                        memory,
                    ),
                    LegacySubmit::Upload { url, storage, .. } => (
                        api.upload_file(url, doc.file_name(), doc.len(), storage)
                            .map_err(refused)?,
                        self.policy.transfer_timeout(doc.len()),
                        memory,
                    ),
                    LegacySubmit::Start(job) => (api.start(job), timeout, memory),
                }
            }
            Phase::Submit(Submit::DocAi(step)) => {
                let (doc, job) = self.submitted()?;
                let doc_ai = api.doc_ai();
                match step {
                    DocAiSubmit::Presign => {
                        let mime = crate::doc_ai::mime_of(doc.file_name());
                        (doc_ai.presign(Some(mime)), timeout, memory)
                    }
                    DocAiSubmit::Upload(upload) => (
                        doc_ai
                            .upload(upload, doc.file_name(), doc.len())
                            .map_err(refused)?,
                        self.policy.transfer_timeout(doc.len()),
                        memory,
                    ),
                    DocAiSubmit::Submit { upload_id } => {
                        let Job::DocAi(task) = job else {
                            return Err(refused(InputError::Misuse("a legacy job on /doc-ai/v1")));
                        };
                        let request = doc_ai
                            .submit(task, &[upload_id.as_str()])
                            .map_err(refused)?;
                        (request, timeout, memory)
                    }
                }
            }
            Phase::Watch(Watching::Legacy { job, .. }) => (api.status(job), timeout, memory),
            Phase::Watch(Watching::DocAi { job }) => (api.doc_ai().status(job), timeout, memory),
            Phase::Fetch(Fetch::Legacy(LegacyFetch::Urls(job))) => {
                (api.download_files(job), timeout, memory)
            }
            Phase::Fetch(Fetch::DocAi(DocAiFetch::Results(job))) => {
                let limit = self.results_limit();
                let sink = Sink::Memory { limit };
                let request = api.doc_ai().results(job, None);
                (request, self.policy.transfer_timeout(limit as u64), sink)
            }
            Phase::Fetch(Fetch::DocAi(DocAiFetch::Url(job))) => {
                (api.doc_ai().download_url(job), timeout, memory)
            }
            Phase::Fetch(
                Fetch::Legacy(LegacyFetch::Files(d)) | Fetch::DocAi(DocAiFetch::File(d)),
            ) => self.download(&d.next)?,
        })
    }

    /// The GET of one output from storage.
    fn download(
        &self,
        next: &PendingDownload,
    ) -> Result<(Request<Body>, Duration, Sink), NoRequest> {
        let api = &self.api;
        let limit = self.policy.max_download;
        if next.announced.is_some_and(|len| len > limit) {
            return Err(Box::new(GiveUpReason::TooLarge {
                name: next.name.clone(),
                limit,
            }));
        }
        let max_len = next.announced.unwrap_or(limit);
        let sink = Sink::File {
            name: next.name.clone(),
            max_len,
            error_limit: api.config().max_json_body(),
        };
        let request = if next.headers.is_empty() {
            api.download_output(&next.url)
        } else {
            api.doc_ai().download(&DownloadUrl {
                method: "GET".into(),
                url: next.url.clone(),
                headers: next.headers.clone(),
                expires_at: String::new(),
            })
        }
        .map_err(|e| Box::new(GiveUpReason::Refused(Error::Input(e))))?;
        Ok((request, self.policy.transfer_timeout(max_len), sink))
    }

    /// What the answer to `phase`'s request says. A 2xx answer to a request
    /// whose body goes to a file comes through [`Engine::saved`] instead.
    pub(super) fn parse<B: AsRef<[u8]>>(
        &self,
        phase: &Phase,
        r: &Response<B>,
    ) -> Result<Reply, Error> {
        let api = &self.api;
        Ok(match phase {
            Phase::Submit(Submit::Legacy(step)) => match step {
                LegacySubmit::Create => Reply::Created(api.parse_create_job(r)?.job_id),
                LegacySubmit::UploadUrl(job) => {
                    let name = self.document().map(Document::file_name).unwrap_or_default();
                    let mut answer = api.parse_upload_files(r, job, name)?;
                    // parse_upload_files checked the name is there.
                    let url = answer
                        .upload_urls
                        .remove(name)
                        .map(|t| t.file_url)
                        .unwrap_or_default();
                    Reply::UploadUrl {
                        job: job.clone(),
                        url,
                        storage: answer.storage_container_type,
                    }
                }
                LegacySubmit::Upload { job, .. } => {
                    api.check_storage(r)?;
                    Reply::LegacyUploaded(job.clone())
                }
                LegacySubmit::Start(job) => Reply::Started {
                    job: job.clone(),
                    status: Status::Legacy(api.parse_start(r, job)?),
                },
            },
            Phase::Submit(Submit::DocAi(step)) => match step {
                DocAiSubmit::Presign => Reply::Presigned(Box::new(api.doc_ai().parse_presign(r)?)),
                DocAiSubmit::Upload(upload) => {
                    api.check_storage(r)?;
                    Reply::DocAiUploaded {
                        upload_id: upload.upload_id.clone(),
                    }
                }
                DocAiSubmit::Submit { .. } => {
                    Reply::Submitted(api.doc_ai().parse_submit(r)?.job_id)
                }
            },
            Phase::Watch(Watching::Legacy { job, resumed }) => Reply::Status {
                watching: Watching::Legacy {
                    job: job.clone(),
                    resumed: false,
                },
                resumed: *resumed,
                status: Status::Legacy(api.parse_status(r, job)?),
            },
            Phase::Watch(Watching::DocAi { job }) => Reply::Status {
                watching: Watching::DocAi { job: job.clone() },
                resumed: false,
                status: Status::DocAi(api.doc_ai().parse_status(r, job)?),
            },
            Phase::Fetch(Fetch::Legacy(LegacyFetch::Urls(job))) => {
                let answer = api.parse_download_files(r, job)?;
                if answer.download_urls.is_empty() {
                    return Err(api
                        .view(r, Peer::Api)
                        .contract("the job has no outputs to download".into()));
                }
                Reply::Outputs {
                    job: job.clone(),
                    queue: crate::output::plan_downloads(answer, Some(api.key())),
                    step: |d| Fetch::Legacy(LegacyFetch::Files(Box::new(d))),
                }
            }
            Phase::Fetch(Fetch::DocAi(DocAiFetch::Url(job))) => Reply::Outputs {
                job: job.clone(),
                queue: crate::output::plan_download(
                    api.doc_ai().parse_download_url(r)?,
                    Some(api.key()),
                ),
                step: |d| Fetch::DocAi(DocAiFetch::File(Box::new(d))),
            },
            Phase::Fetch(Fetch::DocAi(DocAiFetch::Results(job))) => {
                let value = api
                    .doc_ai()
                    .results_document(r, job, self.results_limit())?;
                Reply::Results {
                    job: job.clone(),
                    // Written back as read: pretty, the key scrubbed.
                    document: serde_json::to_vec_pretty(&value).unwrap_or_default(),
                }
            }
            Phase::Fetch(
                Fetch::Legacy(LegacyFetch::Files(_)) | Fetch::DocAi(DocAiFetch::File(_)),
            ) => {
                api.check_storage(r)?;
                return Err(Self::misuse_file_answer());
            }
        })
    }

    /// The most bytes of a results answer read: [`MAX_RESULTS_BODY`], or the
    /// download cap if smaller.
    fn results_limit(&self) -> usize {
        usize::try_from(self.policy.max_download)
            .unwrap_or(usize::MAX)
            .min(MAX_RESULTS_BODY)
    }

    fn misuse_file_answer() -> Error {
        Error::Input(InputError::Misuse(
            "a 2xx answer to a Sink::File request goes to handle_saved, with the bytes saved",
        ))
    }

    /// What a body saved to a file says: `len` bytes were written.
    pub(super) fn saved(&self, phase: &Phase, len: u64) -> Result<Reply, Error> {
        match phase {
            Phase::Fetch(Fetch::Legacy(LegacyFetch::Files(d))) => {
                downloaded(d, len, |d| Fetch::Legacy(LegacyFetch::Files(Box::new(d))))
            }
            Phase::Fetch(Fetch::DocAi(DocAiFetch::File(d))) => {
                downloaded(d, len, |d| Fetch::DocAi(DocAiFetch::File(Box::new(d))))
            }
            _ => Err(Error::Input(InputError::Misuse(
                "handle_saved is for a Sink::File request only",
            ))),
        }
    }

    /// A body that passed its `max_len` at `received` bytes: over what
    /// storage announced is a broken transfer (an error, retried); over the
    /// download cap is the end. Only a [`Sink::File`] body has such a bound:
    /// for any other request the answer was lost as far as the machine
    /// knows, and the retry table treats it so (a submit or start that may
    /// have taken effect is never sent blindly again).
    pub(super) fn too_large(&self, phase: &Phase, received: u64) -> Result<Error, NoRequest> {
        let limit = self.policy.max_download;
        match phase {
            Phase::Fetch(Fetch::DocAi(DocAiFetch::Results(_))) => {
                Err(Box::new(GiveUpReason::TooLarge {
                    name: RESULTS_FILE.to_owned(),
                    limit: self.results_limit() as u64,
                }))
            }
            Phase::Fetch(
                Fetch::Legacy(LegacyFetch::Files(d)) | Fetch::DocAi(DocAiFetch::File(d)),
            ) => match d.next.announced {
                Some(announced) => Ok(wrong_length(announced, received)),
                None => Err(Box::new(GiveUpReason::TooLarge {
                    name: d.next.name.clone(),
                    limit,
                })),
            },
            _ => Ok(Error::Transport(crate::TransportError::new(
                crate::TransportErrorKind::Other,
                "the answer was cut off at its bound",
            ))),
        }
    }
}

/// `len` bytes of `d`'s next output were saved: checked against what
/// storage announced, and what is left, in the same fetch step.
fn downloaded(d: &Downloads, len: u64, step: fn(Downloads) -> Fetch) -> Result<Reply, Error> {
    if let Some(announced) = d.next.announced
        && announced != len
    {
        return Err(wrong_length(announced, len));
    }
    Ok(Reply::Downloaded {
        file: d.next.clone(),
        len,
        rest: d.clone().rest().map(|rest| Phase::Fetch(step(rest))),
    })
}

/// Storage sent another length than it announced.
fn wrong_length(announced: u64, received: u64) -> Error {
    Error::Protocol(ProtocolError {
        peer: Peer::Storage,
        status: http::StatusCode::OK,
        kind: ProtocolErrorKind::WrongLength {
            announced,
            received,
        },
        excerpt: String::new(),
        request_id: None,
    })
}
