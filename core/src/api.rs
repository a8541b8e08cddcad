//! Requests for each endpoint, and the parsing of their answers.
//!
//! [`Api`] builds an [`http::Request<Body>`] per endpoint and parses the
//! [`http::Response`] a transport got back. It checks what the API would
//! refuse before anything is sent, puts the key only on requests to the API
//! origin, and turns every answer outside 2xx into one [`ApiError`].

use std::path::Path;
use std::time::Duration;

use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, DATE, HeaderMap, HeaderName, USER_AGENT};
use http::{HeaderValue, Method, Request, Response};
use serde::de::DeserializeOwned;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::{bounded, excerpt};
use crate::{
    ApiError, Config, CreateJobRequest, CreateJobResponse, DownloadFilesResponse, Error, ErrorBody,
    InputError, JobId, JobStatus, OutputFormat, ProtocolError, ProtocolErrorKind,
    StorageContainerType, UploadFilesRequest, UploadFilesResponse,
};

/// The header that carries the API key.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("api-subscription-key");
/// The header with the server's request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// The header Azure's Put Blob needs.
pub const BLOB_TYPE_HEADER: HeaderName = HeaderName::from_static("x-ms-blob-type");

/// The largest input file the API takes: 200 MB.
pub const MAX_INPUT_BYTES: u64 = 200 * 1024 * 1024;

const JOBS_PATH: &str = "/doc-digitization/job/v1";

/// The body of a request the core built.
///
/// The core never holds a file: for an upload it says which file and how long
/// it is, and the transport streams it.
///
/// Not `#[non_exhaustive]`: a transport must send every kind of body, and a
/// new one must break its build rather than be sent empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON document, ready to send.
    Json(Vec<u8>),
    /// The job's input file, to be streamed by the transport with exactly
    /// `len` bytes (the request carries `Content-Length: len`).
    File {
        /// The file's name, as uploaded.
        file_name: String,
        /// The file's length in bytes.
        len: u64,
    },
}

impl Body {
    /// The body's bytes when the core holds them (empty for [`Body::Empty`]),
    /// `None` for a file the transport streams.
    #[must_use]
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Empty => Some(&[]),
            Body::Json(bytes) => Some(bytes),
            Body::File { .. } => None,
        }
    }
}

/// Which endpoint a request is for. Every request the core builds carries it
/// as an extension, for logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
}

impl Endpoint {
    /// Every endpoint, in the order a run uses them.
    pub const ALL: [Endpoint; 7] = [
        Endpoint::CreateJob,
        Endpoint::UploadFiles,
        Endpoint::StorageUpload,
        Endpoint::Start,
        Endpoint::Status,
        Endpoint::DownloadFiles,
        Endpoint::StorageDownload,
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
        }
    }

    /// Whether the request goes to the API origin (and so carries the key),
    /// rather than to presigned storage.
    #[must_use]
    pub fn is_api(self) -> bool {
        !matches!(self, Endpoint::StorageUpload | Endpoint::StorageDownload)
    }
}

/// Builds requests and parses answers for one [`Config`].
///
/// ```
/// use sarvam_doc_core::{Api, ApiKey, Config, JobId};
/// let api = Api::new(Config::new(ApiKey::new("sk_test")?));
/// let id: JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
/// let request = api.status(id);
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
/// let error = api.parse_status(&response).unwrap_err();
/// assert_eq!(error.request_id(), Some("20261129_abc"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Api {
    config: Config,
}

impl Api {
    /// An `Api` for `config`.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Api { config }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
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
            let uri = crate::config::check_url("callback URL", &callback.url, false)?;
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
    /// [`InputError::FileCount`] unless there is exactly one file;
    /// [`InputError::FileName`] unless it is a bare name ending `.pdf` or `.zip`.
    pub fn upload_files(&self, body: &UploadFilesRequest) -> Result<Request<Body>, InputError> {
        match body.files.as_slice() {
            [name] => check_file_name(name)?,
            files => return Err(InputError::FileCount(files.len())),
        }
        let path = format!("{JOBS_PATH}/upload-files");
        Ok(self.api_request(Method::POST, &path, Endpoint::UploadFiles, Some(json(body))))
    }

    /// `POST /doc-digitization/job/v1/{job_id}/start`: start processing the
    /// uploaded file. No body, as in the API's own spec.
    #[must_use]
    pub fn start(&self, job_id: JobId) -> Request<Body> {
        let path = format!("{JOBS_PATH}/{job_id}/start");
        self.api_request(Method::POST, &path, Endpoint::Start, None)
    }

    /// `GET /doc-digitization/job/v1/{job_id}/status`: the job's status.
    #[must_use]
    pub fn status(&self, job_id: JobId) -> Request<Body> {
        let path = format!("{JOBS_PATH}/{job_id}/status");
        self.api_request(Method::GET, &path, Endpoint::Status, None)
    }

    /// `POST /doc-digitization/job/v1/{job_id}/download-files`: presigned URLs
    /// of the outputs. POST only: the API answers a GET with 405.
    #[must_use]
    pub fn download_files(&self, job_id: JobId) -> Request<Body> {
        let path = format!("{JOBS_PATH}/{job_id}/download-files");
        self.api_request(Method::POST, &path, Endpoint::DownloadFiles, None)
    }

    /// `PUT` of the input file to its presigned `url`: the body is the file,
    /// streamed by the transport with `Content-Length: len` (Azure refuses
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
        url: &str,
        file_name: &str,
        len: u64,
        storage: &StorageContainerType,
    ) -> Result<Request<Body>, InputError> {
        check_file_name(file_name)?;
        let uri = crate::config::check_url("upload URL", url, self.config.allow_insecure_http())?;
        let mut request = Request::new(Body::File {
            file_name: file_name.to_owned(),
            len,
        });
        *request.method_mut() = Method::PUT;
        *request.uri_mut() = uri;
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
    pub fn download_output(&self, url: &str) -> Result<Request<Body>, InputError> {
        let uri = crate::config::check_url("download URL", url, self.config.allow_insecure_http())?;
        let mut request = Request::new(Body::Empty);
        *request.uri_mut() = uri;
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
        self.parse(response)
    }

    /// Parses the answer to [`Api::upload_files`], and checks it has an
    /// upload URL for the file asked about.
    ///
    /// # Errors
    /// As [`Api::parse_create_job`], plus [`ProtocolErrorKind::Contract`] when
    /// there is no upload URL for `file_name`.
    pub fn parse_upload_files<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        file_name: &str,
    ) -> Result<UploadFilesResponse, Error> {
        let parsed: UploadFilesResponse = self.parse(response)?;
        if parsed.upload_urls.contains_key(file_name) {
            Ok(parsed)
        } else {
            Err(contract(
                response,
                format!(
                    "no upload URL for {file_name:?} among {} given",
                    parsed.upload_urls.len()
                ),
            ))
        }
    }

    /// Parses the answer to [`Api::start`] (the job's status).
    ///
    /// # Errors
    /// As [`Api::parse_create_job`].
    pub fn parse_start<B: AsRef<[u8]>>(&self, response: &Response<B>) -> Result<JobStatus, Error> {
        self.parse(response)
    }

    /// Parses the answer to [`Api::status`].
    ///
    /// # Errors
    /// As [`Api::parse_create_job`].
    pub fn parse_status<B: AsRef<[u8]>>(&self, response: &Response<B>) -> Result<JobStatus, Error> {
        self.parse(response)
    }

    /// Parses the answer to [`Api::download_files`].
    ///
    /// # Errors
    /// As [`Api::parse_create_job`].
    pub fn parse_download_files<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
    ) -> Result<DownloadFilesResponse, Error> {
        self.parse(response)
    }

    /// Checks the answer of a storage request ([`Api::upload_file`] or
    /// [`Api::download_output`]): any 2xx is success (Azure answers a Put
    /// Blob with 201). Only the status and headers are read; a download's
    /// body is the transport's to stream.
    ///
    /// # Errors
    /// [`Error::Api`] for a status outside 2xx, with an excerpt of the body
    /// (Azure's are XML).
    pub fn check_storage<B: AsRef<[u8]>>(&self, response: &Response<B>) -> Result<(), Error> {
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.scrub(Error::Api(parse_error(response))))
        }
    }

    fn parse<T: DeserializeOwned, B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
    ) -> Result<T, Error> {
        parse_json(response, self.config.max_json_body()).map_err(|e| self.scrub(e))
    }

    /// Removes the API key from anything the server sent back in an error,
    /// should it ever echo it.
    fn scrub(&self, error: Error) -> Error {
        let key = self.config.api_key().expose_secret();
        let clean = |s: &mut String| {
            if s.contains(key) {
                *s = s.replace(key, "<redacted>");
            }
        };
        let mut error = error;
        match &mut error {
            Error::Api(e) => {
                clean(&mut e.message);
                if let Some(id) = &mut e.request_id {
                    clean(id);
                }
            }
            Error::Protocol(e) => {
                clean(&mut e.excerpt);
                if let ProtocolErrorKind::InvalidBody { detail }
                | ProtocolErrorKind::Contract { detail } = &mut e.kind
                {
                    clean(detail);
                }
                if let Some(id) = &mut e.request_id {
                    clean(id);
                }
            }
            Error::Input(_) | Error::Transport(_) => {}
        }
        error
    }

    fn api_request(
        &self,
        method: Method,
        path: &str,
        endpoint: Endpoint,
        body: Option<Vec<u8>>,
    ) -> Request<Body> {
        let mut request = Request::new(body.map_or(Body::Empty, Body::Json));
        *request.method_mut() = method;
        *request.uri_mut() = self.config.base_url().join(path);
        let headers = request.headers_mut();
        headers.insert(API_KEY_HEADER, self.config.api_key().header_value());
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, self.config.user_agent().clone());
        if matches!(request.body(), Body::Json(_)) {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        request.extensions_mut().insert(endpoint);
        request
    }
}

fn json<T: serde::Serialize>(body: &T) -> Vec<u8> {
    // Our request types hold only strings, maps and numbers: this cannot fail.
    serde_json::to_vec(body).unwrap_or_default()
}

/// Checks an input file name: a bare name (no path), ending `.pdf` or `.zip`
/// in any case.
///
/// ```
/// use sarvam_doc_core::check_file_name;
/// assert!(check_file_name("scan.PDF").is_ok());
/// assert!(check_file_name("pages.zip").is_ok());
/// assert!(check_file_name("photo.png").is_err());
/// assert!(check_file_name("../x.pdf").is_err());
/// ```
///
/// # Errors
/// [`InputError::FileName`].
pub fn check_file_name(name: &str) -> Result<(), InputError> {
    let bare = !name.is_empty()
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control)
        && Path::new(name).file_name().is_some_and(|f| f == name);
    let ext_ok = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf") || e.eq_ignore_ascii_case("zip"));
    let has_stem = Path::new(name).file_stem().is_some_and(|s| !s.is_empty());
    if bare && ext_ok && has_stem {
        Ok(())
    } else {
        Err(InputError::FileName(bounded(name.to_owned(), 120)))
    }
}

/// The content type of an upload, by extension (as the official SDK does).
fn content_type(file_name: &str) -> &'static str {
    let ext = Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// Parses a JSON answer: a 2xx body as `T`, anything else as an [`ApiError`].
///
/// This is what every `Api::parse_*` method does, without the key scrubbing;
/// it is public for code that holds no [`Config`] (fuzzers, simulators).
///
/// # Errors
/// [`Error::Api`] for a status outside 2xx; [`Error::Protocol`] for a 2xx
/// body over `max_body` bytes or not the documented JSON.
pub fn parse_json<T: DeserializeOwned, B: AsRef<[u8]>>(
    response: &Response<B>,
    max_body: usize,
) -> Result<T, Error> {
    if !response.status().is_success() {
        return Err(Error::Api(parse_error(response)));
    }
    let body = response.body().as_ref();
    if body.len() > max_body {
        return Err(Error::Protocol(ProtocolError {
            status: response.status(),
            kind: ProtocolErrorKind::BodyTooLarge {
                limit: max_body,
                actual: body.len(),
            },
            excerpt: excerpt(body),
            request_id: header_request_id(response.headers()),
        }));
    }
    // One UTF-8 check of the whole body, then a parse that need not check
    // each string again: a third faster than `from_slice` on status bodies.
    let parsed = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    };
    parsed.map_err(|e| {
        Error::Protocol(ProtocolError {
            status: response.status(),
            kind: ProtocolErrorKind::InvalidBody {
                detail: bounded(e.to_string(), 200),
            },
            excerpt: excerpt(body),
            request_id: header_request_id(response.headers()),
        })
    })
}

fn contract<B: AsRef<[u8]>>(response: &Response<B>, detail: String) -> Error {
    Error::Protocol(ProtocolError {
        status: response.status(),
        kind: ProtocolErrorKind::Contract { detail },
        excerpt: excerpt(response.body().as_ref()),
        request_id: header_request_id(response.headers()),
    })
}

/// Reads an error answer: the documented JSON body when it is one, else a
/// bounded excerpt of the body as the message. Never fails.
///
/// ```
/// use sarvam_doc_core::{parse_error, ErrorCode};
/// let response = http::Response::builder()
///     .status(502)
///     .body("<html>Bad Gateway</html>")
///     .unwrap();
/// let error = parse_error(&response);
/// assert_eq!(error.code, None);
/// assert_eq!(error.message, "<html>Bad Gateway</html>");
/// ```
#[must_use]
pub fn parse_error<B: AsRef<[u8]>>(response: &Response<B>) -> ApiError {
    let body = response.body().as_ref();
    let header_id = header_request_id(response.headers());
    let parsed = if body.len() <= crate::DEFAULT_MAX_JSON_BODY {
        serde_json::from_slice::<ErrorBody>(body).ok()
    } else {
        None
    };
    let (code, message, request_id) = match parsed {
        Some(ErrorBody { error }) => {
            let id = Some(error.request_id)
                .filter(|id| !id.is_empty())
                .map(|id| bounded(id, 128));
            (
                Some(error.code),
                bounded(error.message, 1024),
                id.or(header_id),
            )
        }
        None => (None, excerpt(body), header_id),
    };
    ApiError {
        status: response.status(),
        code,
        message,
        request_id,
        retry_after: retry_after(response.headers()),
    }
}

fn header_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(|v| bounded(v.to_owned(), 128))
}

/// The longest wait a `Retry-After` can ask for; longer asks are cut to this,
/// so no arithmetic on instants can overflow.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How long the server asks us to wait: `retry-after-ms`, else `Retry-After`
/// as seconds or as an HTTP date, read against the response's own `Date`
/// header (the core reads no clock, and the server's clock is the one that
/// matters). A date with no `Date` header to read it against is ignored.
/// Capped at [`MAX_RETRY_AFTER`].
///
/// ```
/// use std::time::Duration;
/// use http::HeaderMap;
/// use sarvam_doc_core::retry_after;
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "7".parse().unwrap());
/// assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
/// headers.insert("retry-after", "Sun, 29 Nov 2026 10:00:30 GMT".parse().unwrap());
/// headers.insert("date", "Sun, 29 Nov 2026 10:00:00 GMT".parse().unwrap());
/// assert_eq!(retry_after(&headers), Some(Duration::from_secs(30)));
/// ```
#[must_use]
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let wait = if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<u64>().ok()) {
        Duration::from_millis(ms)
    } else {
        let value = text("retry-after")?;
        if let Ok(secs) = value.parse::<u64>() {
            Duration::from_secs(secs)
        } else {
            let at = parse_http_date(value)?;
            let now = parse_http_date(headers.get(DATE)?.to_str().ok()?)?;
            let delta = at - now;
            if delta.is_negative() {
                Duration::ZERO
            } else {
                delta.try_into().unwrap_or(MAX_RETRY_AFTER)
            }
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Parses an HTTP date (RFC 9110): IMF-fixdate, RFC 850 or asctime.
///
/// ```
/// use sarvam_doc_core::parse_http_date;
/// let a = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// let b = parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").unwrap();
/// let c = parse_http_date("Sun Nov  6 08:49:37 1994").unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a, c);
/// assert_eq!(a.unix_timestamp(), 784111777);
/// ```
#[must_use]
pub fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    use time::macros::format_description;
    let text = text.trim();
    let imf = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let asctime = format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    if let Ok(t) = PrimitiveDateTime::parse(text, imf) {
        return Some(t.assume_utc());
    }
    if let Ok(t) = PrimitiveDateTime::parse(text, asctime) {
        return Some(t.assume_utc());
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". Two-digit years 70-99 are
    // 19xx and 00-69 are 20xx, which RFC 9110's 50-year rule gives until 2069.
    let (_, rest) = text.split_once(", ")?;
    let (date, rest) = rest.split_once(' ')?;
    let time_part = rest.strip_suffix(" GMT")?;
    let mut parts = date.split('-');
    let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || yy.len() != 2 {
        return None;
    }
    let yy: i32 = yy.parse().ok()?;
    let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
    let rebuilt = format!("{day} {month} {year} {time_part}");
    let fmt = format_description!("[day] [month repr:short] [year] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(&rebuilt, fmt)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}
