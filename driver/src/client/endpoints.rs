//! The one-request endpoint calls: one request, its answer parsed, no retry.

use sarvam_doc_core::http::{Request, Response};
use sarvam_doc_core::{
    Body, Error, JobId, Sink, TransportError, TransportErrorKind,
    config::ApiVersion,
    doc_ai::{DownloadUrl, PresignedUpload, Results, Submitted, Task},
    model::{
        CreateJobRequest, CreateJobResponse, DownloadFilesResponse, JobStatus, Status,
        UploadFilesResponse,
    },
};

use crate::exchange::{Exchanged, Files, exchange};
use crate::transport::AsyncTransport;

use super::Client;

impl<T: AsyncTransport> Client<T> {
    /// Creates a job (one request, no retry).
    ///
    /// # Errors
    /// Bad input (nothing sent), or the API's, protocol or transport error.
    pub async fn create_job(&self, job: &CreateJobRequest) -> Result<CreateJobResponse, Error> {
        let r = self.call(self.api.create_job(job)?).await?;
        self.api.parse_create_job(&r)
    }

    /// Asks for the upload URL of `file_name` (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn upload_files(
        &self,
        job: &JobId,
        file_name: &str,
    ) -> Result<UploadFilesResponse, Error> {
        let r = self.call(self.api.upload_files(job, file_name)?).await?;
        self.api.parse_upload_files(&r, job, file_name)
    }

    /// Starts a job (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn start(&self, job: &JobId) -> Result<JobStatus, Error> {
        let r = self.call(self.api.start(job)).await?;
        self.api.parse_start(&r, job)
    }

    /// A job's status, in the terms of the client's API (one request, no
    /// retry); the answer is checked to be about `job`.
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn status(&self, job: &JobId) -> Result<Status, Error> {
        Ok(match self.api.config().api_version() {
            ApiVersion::DocAi => {
                let r = self.call(self.api.doc_ai().status(job)).await?;
                Status::DocAi(self.api.doc_ai().parse_status(&r, job)?)
            }
            _ => {
                let r = self.call(self.api.status(job)).await?;
                Status::Legacy(self.api.parse_status(&r, job)?)
            }
        })
    }

    /// A presigned `/doc-ai/v1` upload URL (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn presign(&self, content_type: Option<&str>) -> Result<PresignedUpload, Error> {
        let r = self.call(self.api.doc_ai().presign(content_type)).await?;
        self.api.doc_ai().parse_presign(&r)
    }

    /// Makes and starts a `/doc-ai/v1` job on uploads (one request, no
    /// retry: a submit whose answer is lost may have made a job).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn submit(&self, task: &Task, upload_ids: &[&str]) -> Result<Submitted, Error> {
        let r = self
            .call(self.api.doc_ai().submit(task, upload_ids)?)
            .await?;
        self.api.doc_ai().parse_submit(&r)
    }

    /// The presigned URL of a `/doc-ai/v1` job's output (one request, no
    /// retry). A job that has not ended is a 409 [`Error::Api`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn download_url(&self, job: &JobId) -> Result<DownloadUrl, Error> {
        let r = self.call(self.api.doc_ai().download_url(job)).await?;
        self.api.doc_ai().parse_download_url(&r)
    }

    /// A `/doc-ai/v1` job's inline results (one request, no retry): its
    /// pages, or its extracted fields. A job that has not ended is a 409
    /// [`Error::Api`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn results(&self, job: &JobId) -> Result<Results, Error> {
        let r = self.call(self.api.doc_ai().results(job, None)).await?;
        self.api.doc_ai().parse_results(&r, job)
    }

    /// The download URLs of a job's outputs (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn download_files(&self, job: &JobId) -> Result<DownloadFilesResponse, Error> {
        let r = self.call(self.api.download_files(job)).await?;
        self.api.parse_download_files(&r, job)
    }

    /// One request with no retries, for the plain endpoint calls.
    async fn call(&self, request: Request<Body>) -> Result<Response<Vec<u8>>, Error> {
        let transmit = sarvam_doc_core::Transmit::one_shot(
            request,
            self.policy.request_timeout,
            Sink::Memory {
                limit: self.api.config().max_json_body(),
            },
        );
        match exchange(
            self.transport.as_ref(),
            &self.api,
            transmit,
            Files::none(),
            &mut |_| {},
        )
        .await
        {
            Exchanged::Answer(r) => Ok(r),
            Exchanged::Transport(e) => Err(Error::Transport(e)),
            Exchanged::Saved(..)
            | Exchanged::TooLarge(_)
            | Exchanged::Input(..)
            | Exchanged::Output(..) => Err(Error::Transport(TransportError::new(
                TransportErrorKind::Other,
                "the answer could not be read",
            ))),
        }
    }
}
