//! Requests for each endpoint of the job API, and the parsing of their
//! answers.
//!
//! [`Api`] builds an [`http::Request<Body>`] per endpoint and parses the
//! [`http::Response`] a transport got back. It checks what the API would
//! refuse before anything is sent, puts the key only on requests to the API
//! origin, checks every answer is about the job asked about and every
//! presigned URL is usable, and redacts the key from anything a server sends
//! back before any of it is cut or kept.

use std::sync::Arc;

use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::uri::Uri;
use http::{HeaderValue, Method, Request, Response};

use crate::wire::{API_KEY_HEADER, BLOB_TYPE_HEADER, View};
use crate::{
    Config, CreateJobRequest, CreateJobResponse, DownloadFilesResponse, Error, InputError, JobId,
    JobStatus, OutputFormat, Peer, StorageContainerType, UploadFilesRequest, UploadFilesResponse,
};

const JOBS_PATH: &str = "/doc-digitization/job/v1";

/// The body of a request the core built.
///
/// The core never holds a file: for an upload it says which file and how long
/// it is, and the driver streams it.
///
/// Not `#[non_exhaustive]`: a transport must send every kind of body, and a
/// new one must break its build rather than be sent empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// Bytes the core built (JSON, or a multipart form of text fields),
    /// ready to send; the request's `Content-Type` says which.
    Bytes(Vec<u8>),
    /// The input file, to be streamed by the driver with exactly `len`
    /// bytes (the request carries `Content-Length: len`).
    File {
        /// The file's name, as uploaded.
        file_name: String,
        /// The file's length in bytes.
        len: u64,
    },
}

impl Body {
    /// The body's bytes when the core holds them (empty for [`Body::Empty`]),
    /// `None` for a file the driver streams.
    #[must_use]
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Empty => Some(&[]),
            Body::Bytes(bytes) => Some(bytes),
            Body::File { .. } => None,
        }
    }
}

/// Which endpoint a request is for. Every request the core builds carries it
/// as an extension, for logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /doc-digitization/job/v1`.
    CreateJob,
    /// `POST /doc-digitization/job/v1/upload-files`.
    UploadFiles,
    /// `POST /doc-digitization/job/v1/{job_id}/start`.
    Start,
    /// `GET /doc-digitization/job/v1/{job_id}/status`.
    Status,
    /// `POST /doc-digitization/job/v1/{job_id}/download-files`.
    DownloadFiles,
    /// `PUT` of the input file to its presigned storage URL.
    StorageUpload,
    /// `GET` of an output from its presigned storage URL.
    StorageDownload,
    /// `POST /doc-ai/v1/job/upload`: presign an upload.
    Presign,
    /// `POST /doc-ai/v1/job/{digitise,parse,extract}`: make and start a job.
    Submit,
    /// `GET /doc-ai/v1/job/{job_id}/results`.
    Results,
    /// `GET /doc-ai/v1/job/{job_id}/download-url`.
    DownloadUrl,
}

impl Endpoint {
    /// Every endpoint: the legacy API's in the order a run uses them, then
    /// `/doc-ai/v1`'s own.
    pub const ALL: [Endpoint; 11] = [
        Endpoint::CreateJob,
        Endpoint::UploadFiles,
        Endpoint::StorageUpload,
        Endpoint::Start,
        Endpoint::Status,
        Endpoint::DownloadFiles,
        Endpoint::StorageDownload,
        Endpoint::Presign,
        Endpoint::Submit,
        Endpoint::Results,
        Endpoint::DownloadUrl,
    ];

    /// A short name for logs: `create_job`, `status`, `storage_upload`, ….
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::CreateJob => "create_job",
            Endpoint::UploadFiles => "upload_files",
            Endpoint::Start => "start",
            Endpoint::Status => "status",
            Endpoint::DownloadFiles => "download_files",
            Endpoint::StorageUpload => "storage_upload",
            Endpoint::StorageDownload => "storage_download",
            Endpoint::Presign => "presign",
            Endpoint::Submit => "submit",
            Endpoint::Results => "results",
            Endpoint::DownloadUrl => "download_url",
        }
    }

    /// What the request does, in a user's words: "creating the job",
    /// "reading the job's status", "uploading the file", ….
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Endpoint::CreateJob => "creating the job",
            Endpoint::UploadFiles => "asking where to upload the file",
            Endpoint::Start => "starting the job",
            Endpoint::Status => "reading the job's status",
            Endpoint::DownloadFiles | Endpoint::DownloadUrl => {
                "asking where to download the outputs"
            }
            Endpoint::StorageUpload => "uploading the file",
            Endpoint::StorageDownload => "downloading an output",
            Endpoint::Presign => "asking for an upload URL",
            Endpoint::Submit => "submitting the job",
            Endpoint::Results => "reading the job's results",
        }
    }

    /// Who the request goes to: the API origin (which gets the key) or
    /// presigned storage (which never does).
    #[must_use]
    pub fn peer(self) -> Peer {
        match self {
            Endpoint::StorageUpload | Endpoint::StorageDownload => Peer::Storage,
            _ => Peer::Api,
        }
    }

    /// Whether the request goes to the API origin (and so carries the key).
    #[must_use]
    pub fn is_api(self) -> bool {
        self.peer() == Peer::Api
    }
}

/// Builds requests and parses answers for one [`Config`]. Cheap to clone:
/// clones share the configuration.
///
/// ```
/// use sarvam_doc_core::{Api, ApiKey, Config, JobId};
/// let api = Api::new(Config::new(ApiKey::new("sk_test")?));
/// let id: JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
/// let request = api.status(&id);
/// assert_eq!(request.method(), "GET");
/// assert_eq!(
///     request.uri(),
///     "https://api.sarvam.ai/doc-digitization/job/v1/3fa85f64-5717-4562-b3fc-2c963f66afa6/status"
/// );
///
/// let response = http::Response::builder()
///     .status(404)
///     .header("x-request-id", "20261129_abc")
///     .body(r#"{"error":{"message":"Job not found","code":"not_found_error"}}"#)?;
/// let error = api.parse_status(&response, &id).unwrap_err();
/// assert_eq!(error.request_id(), Some("20261129_abc"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Api {
    config: Arc<Config>,
}

impl Api {
    /// An `Api` for `config`.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Api {
            config: Arc::new(config),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The request id in a response's `headers`, as it may be kept or shown:
    /// the key redacted, printable, at most 128 bytes; `None` when absent.
    ///
    /// ```
    /// # use sarvam_doc_core::{Api, ApiKey, Config};
    /// let api = Api::new(Config::new(ApiKey::new("sk_secret").unwrap()));
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-request-id", "id-sk_secret".parse().unwrap());
    /// assert_eq!(api.request_id(&headers).as_deref(), Some("id-<redacted>"));
    /// ```
    #[must_use]
    pub fn request_id(&self, headers: &http::HeaderMap) -> Option<String> {
        crate::wire::request_id(headers, Some(self.config.api_key().expose_secret()))
    }

    /// `POST /doc-digitization/job/v1`: create a job.
    ///
    /// # Errors
    /// [`InputError::OutputFormat`] for a format the API does not take;
    /// [`InputError::Url`] for a callback URL that is not `https`.
    pub fn create_job(&self, body: &CreateJobRequest) -> Result<Request<Body>, InputError> {
        if let Some(params) = &body.job_parameters
            && let OutputFormat::Unknown(other) = &params.output_format
        {
            return Err(InputError::OutputFormat(other.clone()));
        }
        if let Some(callback) = &body.callback {
            // The API allows only https callbacks, whatever our own opt-ins.
            let uri = crate::wire::check_url("callback URL", &callback.url, false)?;
            if uri.scheme() != Some(&http::uri::Scheme::HTTPS) {
                return Err(InputError::Url {
                    role: "callback URL",
                    url: callback
                        .url
                        .split('?')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    reason: "the API calls back only over https".to_owned(),
                });
            }
        }
        Ok(self.api_request(
            Method::POST,
            JOBS_PATH,
            Endpoint::CreateJob,
            Some(json(body)),
        ))
    }

    /// `POST /doc-digitization/job/v1/upload-files`: ask for the presigned
    /// URL to upload the job's one input file to.
    ///
    /// # Errors
    /// [`InputError::FileName`] unless it is a bare name ending `.pdf` or `.zip`.
    pub fn upload_files(
        &self,
        job_id: &JobId,
        file_name: &str,
    ) -> Result<Request<Body>, InputError> {
        crate::check_file_name(file_name)?;
        let body = UploadFilesRequest::new(job_id.clone(), file_name);
        let path = format!("{JOBS_PATH}/upload-files");
        Ok(self.api_request(
            Method::POST,
            &path,
            Endpoint::UploadFiles,
            Some(json(&body)),
        ))
    }

    /// `POST /doc-digitization/job/v1/{job_id}/start`: start processing the
    /// uploaded file. No body, as in the API's own spec.
    #[must_use]
    pub fn start(&self, job_id: &JobId) -> Request<Body> {
        let path = format!("{JOBS_PATH}/{}/start", job_id.path_segment());
        self.api_request(Method::POST, &path, Endpoint::Start, None)
    }

    /// `GET /doc-digitization/job/v1/{job_id}/status`: the job's status.
    #[must_use]
    pub fn status(&self, job_id: &JobId) -> Request<Body> {
        let path = format!("{JOBS_PATH}/{}/status", job_id.path_segment());
        self.api_request(Method::GET, &path, Endpoint::Status, None)
    }

    /// `POST /doc-digitization/job/v1/{job_id}/download-files`: presigned URLs
    /// of the outputs. POST only: the API answers a GET with 405.
    #[must_use]
    pub fn download_files(&self, job_id: &JobId) -> Request<Body> {
        let path = format!("{JOBS_PATH}/{}/download-files", job_id.path_segment());
        self.api_request(Method::POST, &path, Endpoint::DownloadFiles, None)
    }

    /// `PUT` of the input file to its presigned `url`: the body is the file,
    /// streamed by the driver with `Content-Length: len` (Azure refuses
    /// chunked uploads with 411). Azure storage gets `x-ms-blob-type:
    /// BlockBlob`; the content type follows the extension. The API key is
    /// never added, whatever the URL's origin.
    ///
    /// `file_metadata` entries are not turned into headers: no source
    /// documents upload metadata, and copying server-chosen headers onto a
    /// request is a risk with no known use.
    ///
    /// # Errors
    /// [`InputError::Url`] for a URL that is not `https` (nor loopback, nor
    /// allowed insecure); [`InputError::FileName`] for a name the API refuses.
    pub fn upload_file(
        &self,
        url: &Uri,
        file_name: &str,
        len: u64,
        storage: &StorageContainerType,
    ) -> Result<Request<Body>, InputError> {
        crate::check_file_name(file_name)?;
        crate::wire::check_uri("upload URL", url, self.config.allow_insecure_http())?;
        let mut request = Request::new(Body::File {
            file_name: file_name.to_owned(),
            len,
        });
        *request.method_mut() = Method::PUT;
        *request.uri_mut() = url.clone();
        let headers = request.headers_mut();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(content_type(file_name)),
        );
        if storage.is_azure() {
            headers.insert(BLOB_TYPE_HEADER, HeaderValue::from_static("BlockBlob"));
        }
        headers.insert(USER_AGENT, self.config.user_agent().clone());
        request.extensions_mut().insert(Endpoint::StorageUpload);
        Ok(request)
    }

    /// `GET` of an output from its presigned `url`. No API key.
    ///
    /// # Errors
    /// [`InputError::Url`] for a URL that is not `https` (nor loopback, nor
    /// allowed insecure).
    pub fn download_output(&self, url: &Uri) -> Result<Request<Body>, InputError> {
        crate::wire::check_uri("download URL", url, self.config.allow_insecure_http())?;
        let mut request = Request::new(Body::Empty);
        *request.uri_mut() = url.clone();
        request
            .headers_mut()
            .insert(USER_AGENT, self.config.user_agent().clone());
        request.extensions_mut().insert(Endpoint::StorageDownload);
        Ok(request)
    }

    /// Parses the answer to [`Api::create_job`].
    ///
    /// # Errors
    /// [`Error::Api`] for a status outside 2xx, [`Error::Protocol`] for a body
    /// that is not the documented JSON or is over the cap.
    pub fn parse_create_job<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
    ) -> Result<CreateJobResponse, Error> {
        self.view(response, Peer::Api)
            .json(self.config.max_json_body())
    }

    /// Parses the answer to [`Api::upload_files`], and checks it is about
    /// `job_id` and has a usable upload URL for `file_name`.
    ///
    /// # Errors
    /// As [`Api::parse_create_job`], plus [`crate::ProtocolErrorKind::Contract`]
    /// when the answer is about another job, has no upload URL for
    /// `file_name`, or has one that is not https (nor loopback).
    pub fn parse_upload_files<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        job_id: &JobId,
        file_name: &str,
    ) -> Result<UploadFilesResponse, Error> {
        let view = self.view(response, Peer::Api);
        let parsed: UploadFilesResponse = view.json(self.config.max_json_body())?;
        same_job(&view, job_id, &parsed.job_id)?;
        let Some(target) = parsed.upload_urls.get(file_name) else {
            return Err(view.contract(format!(
                "no upload URL for {file_name:?} among the {} given",
                parsed.upload_urls.len()
            )));
        };
        view.presigned(
            "upload URL",
            &target.file_url,
            self.config.allow_insecure_http(),
        )?;
        Ok(parsed)
    }

    /// Parses the answer to [`Api::start`] (the job's status), and checks it
    /// is about `job_id`.
    ///
    /// # Errors
    /// As [`Api::parse_status`].
    pub fn parse_start<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        job_id: &JobId,
    ) -> Result<JobStatus, Error> {
        self.parse_status(response, job_id)
    }

    /// Parses the answer to [`Api::status`], and checks it is about
    /// `job_id`. Free text the server sent (error messages, page errors) has
    /// the key redacted and control characters removed.
    ///
    /// # Errors
    /// As [`Api::parse_create_job`], plus [`crate::ProtocolErrorKind::Contract`]
    /// when the answer is about another job.
    pub fn parse_status<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        job_id: &JobId,
    ) -> Result<JobStatus, Error> {
        let view = self.view(response, Peer::Api);
        let mut status: JobStatus = view.json(self.config.max_json_body())?;
        same_job(&view, job_id, &status.job_id)?;
        status.error_message = view.clean_text(std::mem::take(&mut status.error_message), 4096);
        for detail in &mut status.job_details {
            detail.error_message = view.clean_text(std::mem::take(&mut detail.error_message), 4096);
            for page in &mut detail.page_errors {
                page.error_message = view.clean_text(std::mem::take(&mut page.error_message), 1024);
                page.error_code = view.clean_text(std::mem::take(&mut page.error_code), 128);
            }
        }
        Ok(status)
    }

    /// Parses the answer to [`Api::download_files`], and checks it is about
    /// `job_id` and every URL is usable.
    ///
    /// # Errors
    /// As [`Api::parse_create_job`], plus [`crate::ProtocolErrorKind::Contract`]
    /// when the answer is about another job or a URL is not https (nor
    /// loopback).
    pub fn parse_download_files<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        job_id: &JobId,
    ) -> Result<DownloadFilesResponse, Error> {
        let view = self.view(response, Peer::Api);
        let parsed: DownloadFilesResponse = view.json(self.config.max_json_body())?;
        same_job(&view, job_id, &parsed.job_id)?;
        for target in parsed.download_urls.values() {
            view.presigned(
                "download URL",
                &target.file_url,
                self.config.allow_insecure_http(),
            )?;
        }
        Ok(parsed)
    }

    /// Checks the answer of a storage request ([`Api::upload_file`] or
    /// [`Api::download_output`]): any 2xx is success (Azure answers a Put
    /// Blob with 201). Only the status and headers are read; a download's
    /// body is the driver's to stream.
    ///
    /// # Errors
    /// [`Error::Api`] (from [`Peer::Storage`]) for a status outside 2xx, with
    /// an excerpt of the body (Azure's are XML).
    pub fn check_storage<B: AsRef<[u8]>>(&self, response: &Response<B>) -> Result<(), Error> {
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Error::Api(self.view(response, Peer::Storage).error()))
        }
    }

    /// A view of an answer with the key redacted from it.
    /// The key, for the redaction of what a server sends.
    pub(crate) fn key(&self) -> &str {
        self.config.api_key().expose_secret()
    }

    pub(crate) fn view<'a, B: AsRef<[u8]>>(
        &'a self,
        response: &'a Response<B>,
        peer: Peer,
    ) -> View<'a> {
        View::new(response, Some(self.config.api_key().expose_secret()), peer)
    }

    pub(crate) fn api_request(
        &self,
        method: Method,
        path: &str,
        endpoint: Endpoint,
        body: Option<Vec<u8>>,
    ) -> Request<Body> {
        let json_body = body.is_some();
        let mut request = Request::new(body.map_or(Body::Empty, Body::Bytes));
        *request.method_mut() = method;
        *request.uri_mut() = self.config.base_url().join(path);
        let headers = request.headers_mut();
        headers.insert(API_KEY_HEADER, self.config.api_key().header_value());
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, self.config.user_agent().clone());
        if json_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        request.extensions_mut().insert(endpoint);
        request
    }
}

/// Every answer about a job must be about the job asked about.
pub(crate) fn same_job(view: &View<'_>, asked: &JobId, got: &JobId) -> Result<(), Error> {
    if asked == got {
        Ok(())
    } else {
        Err(view.contract(format!("asked about job {asked}, answered about job {got}")))
    }
}

fn json<T: serde::Serialize>(body: &T) -> Vec<u8> {
    // Our request types hold only strings, maps and numbers: this cannot fail.
    serde_json::to_vec(body).unwrap_or_default()
}

/// The content type of an upload, by extension (as the official SDK does).
pub(crate) fn content_type(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}
