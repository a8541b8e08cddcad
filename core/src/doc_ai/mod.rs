//! Sarvam's current document API, `/doc-ai/v1`: its tasks, its messages and
//! its bodies.
//!
//! One job takes one document (the input rule of [`crate::Document`]):
//!
//! 1. [`DocAi::presign`] asks for an upload URL; [`DocAi::upload`] PUTs the
//!    file there with the method and headers the server returned (the
//!    driver streams it, as for the legacy API).
//! 2. [`DocAi::submit`] makes **and starts** the job: digitise, parse or
//!    extract ([`Task`]), naming the upload by its id in a multipart form of
//!    text fields the core builds ([`Form`]).
//! 3. [`DocAi::status`] until the job ends; [`DocAi::results`] (inline
//!    JSON) and [`DocAi::download_url`] then [`DocAi::download`] (the output
//!    file) once it has.
//!
//! [`crate::Run`] and [`crate::Watch`] do all of it on the same engine as
//! the legacy API when their [`crate::Config`] says
//! [`crate::ApiVersion::DocAi`].
//!
//! ```
//! use sarvam_doc_core::doc_ai::{Digitise, Task};
//! use sarvam_doc_core::{Api, ApiKey, Config, config::ApiVersion, model::{Language, OutputFormat}};
//!
//! let config = Config::builder(ApiKey::new("sk_test")?)
//!     .base_url("http://127.0.0.1:8080")
//!     .api_version(ApiVersion::DocAi)
//!     .build()?;
//! let api = Api::new(config);
//! let task = Task::Digitise(Digitise {
//!     language: Some(Language::HINDI),
//!     output_format: Some(OutputFormat::Md),
//!     ..Digitise::default()
//! });
//! let request = api.doc_ai().submit(&task, &["upl_8f0c2d4e"])?;
//! assert_eq!(request.uri().path(), "/doc-ai/v1/job/digitise");
//! let body = String::from_utf8(request.body().bytes().unwrap().to_vec())?;
//! assert!(body.contains("name=\"upload_ids\"\r\n\r\nupl_8f0c2d4e\r\n"));
//! assert!(body.contains("name=\"output_format\"\r\n\r\nmd\r\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod model;
mod multipart;
mod schema;

use std::collections::BTreeMap;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, USER_AGENT};
use http::{HeaderValue, Method, Request, Response};

pub use model::{
    DigitiseResults, DocAiStatus, DownloadUrl, ExtractResults, PresignRequest, PresignedUpload,
    Problem, ProblemItem, ResultDocument, ResultPage, Results, Submitted, Usage, state_of,
};
pub use multipart::Form;
pub use schema::{MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH, Schema};

use crate::error::{bounded, printable};
use crate::{Api, Body, Endpoint, Error, InputError, JobId, Language, OutputFormat, Peer};

/// The path every `/doc-ai/v1` request starts with.
pub const DOC_AI_PATH: &str = "/doc-ai/v1/job";

/// The file an extract job's results are kept in, beside its outputs.
pub const RESULTS_FILE: &str = "results.json";

/// What the document is: printed, handwritten, or both (`content_type`;
/// not a MIME type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// Printed text (the API's default).
    Printed,
    /// Handwriting.
    Handwritten,
    /// Both.
    Mixed,
}

impl ContentType {
    /// The value as sent.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Printed => "printed",
            ContentType::Handwritten => "handwritten",
            ContentType::Mixed => "mixed",
        }
    }
}

/// The format of an extract job's output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtractFormat {
    /// JSON (the default in the sources that say).
    Json,
    /// CSV.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl ExtractFormat {
    /// The value as sent.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ExtractFormat::Json => "json",
            ExtractFormat::Csv => "csv",
            ExtractFormat::Xlsx => "xlsx",
        }
    }
}

/// A digitise (or parse) job's fields. Every one is optional: the server's
/// defaults apply (and the sources disagree on them: `en-IN`, `hi-IN` or
/// "Indic" for the language, `html` for the format).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digitise {
    /// The document's language.
    pub language: Option<Language>,
    /// The output format: `html`, `md` or `json`.
    pub output_format: Option<OutputFormat>,
    /// Printed, handwritten or mixed.
    pub content_type: Option<ContentType>,
    /// The model, by a name the API takes (none is documented).
    pub model: Option<String>,
    /// Whether pages are turned upright first (sent as `"true"`/`"false"`).
    pub auto_orient: Option<bool>,
}

/// Where an extract job's fields are defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtractSource {
    /// A schema given with the job.
    Schema(Schema),
    /// A saved configuration, made in the Doc Agents dashboard.
    ConfigId(String),
}

/// An extract job's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extract {
    /// The schema or saved configuration.
    pub source: ExtractSource,
    /// The document's language.
    pub language: Option<Language>,
    /// The output file's format.
    pub output_format: Option<ExtractFormat>,
    /// Whether the document is also classified (sent as `"true"`/`"false"`).
    pub classification: Option<bool>,
    /// The model, by a name the API takes (none is documented).
    pub model: Option<String>,
}

impl Extract {
    /// An extraction by `source`, with the server's defaults for the rest.
    #[must_use]
    pub fn new(source: ExtractSource) -> Self {
        Extract {
            source,
            language: None,
            output_format: None,
            classification: None,
            model: None,
        }
    }
}

/// What a `/doc-ai/v1` job does with its document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Task {
    /// `POST /doc-ai/v1/job/digitise`: the document's text, page by page.
    Digitise(Digitise),
    /// `POST /doc-ai/v1/job/parse`: the newest docs' name for digitise,
    /// with the same fields.
    Parse(Digitise),
    /// `POST /doc-ai/v1/job/extract`: fields, by a schema or a saved config.
    Extract(Extract),
}

impl Task {
    /// The operation's name and path segment: `digitise`, `parse` or `extract`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Task::Digitise(_) => "digitise",
            Task::Parse(_) => "parse",
            Task::Extract(_) => "extract",
        }
    }

    /// Whether the job's inline results are fetched as well as its output
    /// file (an extraction's results are its answer; a digitise job's pages
    /// are all in its output).
    #[must_use]
    pub fn fetches_results(&self) -> bool {
        matches!(self, Task::Extract(_))
    }

    /// What the task asks, as one line for a journal: the same line means
    /// the same work. A schema is named by a hash of its text.
    #[must_use]
    pub fn request_key(&self) -> String {
        let opt = |s: Option<&str>| s.unwrap_or("-").to_owned();
        match self {
            Task::Digitise(d) | Task::Parse(d) => format!(
                "doc-ai:{}:{}:{}:{}:{}:{}",
                self.name(),
                opt(d.language.as_ref().map(Language::as_str)),
                opt(d.output_format.as_ref().map(OutputFormat::as_str)),
                opt(d.content_type.map(ContentType::as_str)),
                opt(d.model.as_deref()),
                opt(d.auto_orient.map(|b| if b { "true" } else { "false" })),
            ),
            Task::Extract(e) => format!(
                "doc-ai:extract:{}:{}:{}:{}:{}",
                match &e.source {
                    ExtractSource::Schema(s) => format!("schema-{:016x}", fnv(s.as_str())),
                    ExtractSource::ConfigId(id) => format!("config-{id}"),
                },
                opt(e.language.as_ref().map(Language::as_str)),
                opt(e.output_format.map(ExtractFormat::as_str)),
                opt(e.classification.map(|b| if b { "true" } else { "false" })),
                opt(e.model.as_deref()),
            ),
        }
    }

    /// The submit's form, naming the uploads by `upload_ids`, in the order
    /// the TypeScript SDK sends its fields.
    ///
    /// # Errors
    /// [`InputError::OutputFormat`] for a digitise format other than
    /// `html`, `md` or `json`; [`InputError::Field`] for no upload id, or a
    /// config id or model name that is empty, overlong or not printable.
    pub fn form(&self, upload_ids: &[&str]) -> Result<Form, InputError> {
        let ids: Vec<&str> = upload_ids.iter().map(|s| s.trim()).collect();
        if ids.is_empty() || ids.iter().any(|id| id.is_empty() || id.contains(',')) {
            return Err(InputError::Field {
                name: "upload_ids",
                reason: "give one or more upload ids, none empty or holding a comma".into(),
            });
        }
        let mut form = Form::new();
        form.text("upload_ids", ids.join(","));
        let flag = |b: bool| if b { "true" } else { "false" };
        match self {
            Task::Digitise(d) | Task::Parse(d) => {
                if let Some(language) = &d.language {
                    form.text("language", language.as_str());
                }
                if let Some(format) = &d.output_format {
                    if format.is_unknown() {
                        return Err(InputError::OutputFormat(format.as_str().to_owned()));
                    }
                    form.text("output_format", format.as_str());
                }
                if let Some(kind) = d.content_type {
                    form.text("content_type", kind.as_str());
                }
                if let Some(model) = &d.model {
                    form.text("model", checked("model", model)?);
                }
                if let Some(orient) = d.auto_orient {
                    form.text("auto_orient", flag(orient));
                }
            }
            Task::Extract(e) => {
                match &e.source {
                    ExtractSource::Schema(schema) => form.text("schema", schema.as_str()),
                    ExtractSource::ConfigId(id) => {
                        form.text("config_id", checked("config id", id)?)
                    }
                };
                if let Some(language) = &e.language {
                    form.text("language", language.as_str());
                }
                if let Some(format) = e.output_format {
                    form.text("output_format", format.as_str());
                }
                if let Some(classify) = e.classification {
                    form.text("classification", flag(classify));
                }
                if let Some(model) = &e.model {
                    form.text("model", checked("model", model)?);
                }
            }
        }
        Ok(form)
    }
}

/// A free-text field's value: trimmed, 1 to 128 printable characters.
fn checked<'a>(name: &'static str, value: &'a str) -> Result<&'a str, InputError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
        return Err(InputError::Field {
            name,
            reason: "give 1 to 128 printable characters".into(),
        });
    }
    Ok(value)
}

/// FNV-1a: a stable hash for naming a schema in a journal line.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The MIME type an upload of `file_name` is presigned for and carries.
#[must_use]
pub fn mime_of(file_name: &str) -> &'static str {
    crate::api::content_type(file_name)
}

/// Builds `/doc-ai/v1` requests and parses their answers; from
/// [`Api::doc_ai`]. The same key, base URL, limits and redaction as the
/// legacy messages.
#[derive(Clone, Copy, Debug)]
pub struct DocAi<'a> {
    api: &'a Api,
}

impl Api {
    /// The `/doc-ai/v1` messages, with this configuration.
    #[must_use]
    pub fn doc_ai(&self) -> DocAi<'_> {
        DocAi { api: self }
    }
}

impl DocAi<'_> {
    /// `POST /doc-ai/v1/job/upload`: a presigned URL to upload one file to.
    /// `content_type`, when given, is the MIME type the upload will carry
    /// (the server then requires it); without it the body is `{}`.
    #[must_use]
    pub fn presign(&self, content_type: Option<&str>) -> Request<Body> {
        let body = PresignRequest {
            content_type: content_type.map(str::to_owned),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        self.api.api_request(
            Method::POST,
            &format!("{DOC_AI_PATH}/upload"),
            Endpoint::Presign,
            Some(bytes),
        )
    }

    /// Parses the answer to [`DocAi::presign`], and checks that its URL is
    /// usable, its method is `PUT` or `POST`, and its headers can be sent.
    ///
    /// # Errors
    /// [`Error::Api`] for a status outside 2xx (a problem body read into
    /// it); [`Error::Protocol`] for a body that is not the documented JSON,
    /// or a URL, method or header that cannot be used.
    pub fn parse_presign<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
    ) -> Result<PresignedUpload, Error> {
        let view = self.api.view(response, Peer::Api);
        let parsed: PresignedUpload = view.json(self.api.config().max_json_body())?;
        view.presigned(
            "upload URL",
            &parsed.url,
            self.api.config().allow_insecure_http(),
        )?;
        if !matches!(parsed.method.to_ascii_uppercase().as_str(), "PUT" | "POST") {
            return Err(view.contract(format!(
                "the upload method {:?} is not PUT or POST",
                bounded(printable(&parsed.method), 16)
            )));
        }
        storage_headers(&parsed.headers).map_err(|reason| view.contract(reason))?;
        Ok(parsed)
    }

    /// The upload of the input file to `upload`'s URL, with its method and
    /// every header it asked for; the body is the file, streamed by the
    /// driver with `Content-Length: len`. The content type is the file's
    /// unless the server named one. The API key is never added.
    ///
    /// # Errors
    /// [`InputError::Url`] for a URL that is not `https` (nor loopback, nor
    /// allowed insecure); [`InputError::FileName`] for a name the API
    /// refuses; [`InputError::Field`] for a method or header that cannot be
    /// sent.
    pub fn upload(
        &self,
        upload: &PresignedUpload,
        file_name: &str,
        len: u64,
    ) -> Result<Request<Body>, InputError> {
        crate::check_file_name(file_name)?;
        let config = self.api.config();
        crate::wire::check_uri("upload URL", &upload.url, config.allow_insecure_http())?;
        let method = match upload.method.to_ascii_uppercase().as_str() {
            "PUT" => Method::PUT,
            "POST" => Method::POST,
            _ => {
                return Err(InputError::Field {
                    name: "upload method",
                    reason: "only PUT or POST uploads are sent".into(),
                });
            }
        };
        let mut request = Request::new(Body::File {
            file_name: file_name.to_owned(),
            len,
        });
        *request.method_mut() = method;
        *request.uri_mut() = upload.url.clone();
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(mime_of(file_name)));
        for (name, value) in
            storage_headers(&upload.headers).map_err(|reason| InputError::Field {
                name: "upload headers",
                reason,
            })?
        {
            headers.insert(name, value);
        }
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        headers.insert(USER_AGENT, config.user_agent().clone());
        request.extensions_mut().insert(Endpoint::StorageUpload);
        Ok(request)
    }

    /// `POST /doc-ai/v1/job/{digitise,parse,extract}`: make and start a job
    /// on the files uploaded as `upload_ids`.
    ///
    /// # Errors
    /// As [`Task::form`].
    pub fn submit(&self, task: &Task, upload_ids: &[&str]) -> Result<Request<Body>, InputError> {
        let (content_type, body) = task.form(upload_ids)?.finish();
        let mut request = self.api.api_request(
            Method::POST,
            &format!("{DOC_AI_PATH}/{}", task.name()),
            Endpoint::Submit,
            Some(body),
        );
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            request.headers_mut().insert(CONTENT_TYPE, value);
        }
        Ok(request)
    }

    /// Parses the answer to [`DocAi::submit`].
    ///
    /// # Errors
    /// As [`DocAi::parse_presign`].
    pub fn parse_submit<B: AsRef<[u8]>>(&self, response: &Response<B>) -> Result<Submitted, Error> {
        self.api
            .view(response, Peer::Api)
            .json(self.api.config().max_json_body())
    }

    /// `GET /doc-ai/v1/job/{job_id}/status`.
    #[must_use]
    pub fn status(&self, job_id: &JobId) -> Request<Body> {
        self.job_get(job_id, "status", Endpoint::Status)
    }

    /// Parses the answer to [`DocAi::status`], and checks it is about
    /// `job_id`.
    ///
    /// # Errors
    /// As [`DocAi::parse_presign`], plus a contract error for an answer
    /// about another job.
    pub fn parse_status<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        job_id: &JobId,
    ) -> Result<DocAiStatus, Error> {
        let view = self.api.view(response, Peer::Api);
        let mut status: DocAiStatus = view.json(self.api.config().max_json_body())?;
        crate::api::same_job(&view, job_id, &status.job_id)?;
        status.status = view.clean_text(std::mem::take(&mut status.status), 64);
        status.pipeline = view.clean_text(std::mem::take(&mut status.pipeline), 64);
        Ok(status)
    }

    /// `GET /doc-ai/v1/job/{job_id}/results[?format=…]`: the job's output
    /// inline, once it has ended (a 409 before that).
    #[must_use]
    pub fn results(&self, job_id: &JobId, format: Option<&OutputFormat>) -> Request<Body> {
        let mut request = self.job_get(job_id, "results", Endpoint::Results);
        if let Some(format) = format.filter(|f| !f.is_unknown()) {
            let uri = format!("{}?format={}", request.uri(), format.as_str());
            if let Ok(uri) = uri.parse() {
                *request.uri_mut() = uri;
            }
        }
        request
    }

    /// Parses the answer to [`DocAi::results`], and checks it is about
    /// `job_id`.
    ///
    /// # Errors
    /// As [`DocAi::parse_status`]; a body without a known `type` is a
    /// protocol error.
    pub fn parse_results<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        job_id: &JobId,
    ) -> Result<Results, Error> {
        let view = self.api.view(response, Peer::Api);
        let results: Results = view.json(self.api.config().max_json_body())?;
        crate::api::same_job(&view, job_id, results.job_id())?;
        Ok(results)
    }

    /// `GET /doc-ai/v1/job/{job_id}/download-url`: a presigned URL of the
    /// job's output file, once it has ended (a 409 before that).
    #[must_use]
    pub fn download_url(&self, job_id: &JobId) -> Request<Body> {
        self.job_get(job_id, "download-url", Endpoint::DownloadUrl)
    }

    /// Parses the answer to [`DocAi::download_url`], and checks its URL,
    /// method and headers can be used.
    ///
    /// # Errors
    /// As [`DocAi::parse_presign`]; a method other than `GET` is a contract
    /// error.
    pub fn parse_download_url<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
    ) -> Result<DownloadUrl, Error> {
        let view = self.api.view(response, Peer::Api);
        let parsed: DownloadUrl = view.json(self.api.config().max_json_body())?;
        view.presigned(
            "download URL",
            &parsed.url,
            self.api.config().allow_insecure_http(),
        )?;
        if !parsed.method.eq_ignore_ascii_case("GET") {
            return Err(view.contract(format!(
                "the download method {:?} is not GET",
                bounded(printable(&parsed.method), 16)
            )));
        }
        storage_headers(&parsed.headers).map_err(|reason| view.contract(reason))?;
        Ok(parsed)
    }

    /// The `GET` of the output file, with every header the server asked
    /// for. No API key.
    ///
    /// # Errors
    /// [`InputError::Url`] for a URL that is not `https` (nor loopback, nor
    /// allowed insecure); [`InputError::Field`] for a header that cannot be
    /// sent.
    pub fn download(&self, target: &DownloadUrl) -> Result<Request<Body>, InputError> {
        let mut request = self.api.download_output(&target.url)?;
        for (name, value) in
            storage_headers(&target.headers).map_err(|reason| InputError::Field {
                name: "download headers",
                reason,
            })?
        {
            request.headers_mut().insert(name, value);
        }
        Ok(request)
    }

    fn job_get(&self, job_id: &JobId, what: &str, endpoint: Endpoint) -> Request<Body> {
        let path = format!("{DOC_AI_PATH}/{}/{what}", job_id.path_segment());
        self.api.api_request(Method::GET, &path, endpoint, None)
    }
}

/// The headers a server asked a storage request to carry, checked: at most
/// 32, each a valid header, none that frames the message or routes it
/// (which the transport owns) and none named like the API key (which never
/// goes to storage).
fn storage_headers(
    headers: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    const OWNED: [&str; 7] = [
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
    ];
    if headers.len() > 32 {
        return Err(format!(
            "{} headers asked for, over the 32 taken",
            headers.len()
        ));
    }
    headers
        .iter()
        .map(|(name, value)| {
            let shown = bounded(printable(name), 64);
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| format!("{shown:?} is not a header name"))?;
            if OWNED.contains(&name.as_str()) || name == crate::wire::API_KEY_HEADER {
                return Err(format!("the header {shown:?} is not the server's to set"));
            }
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| format!("the value of {shown:?} cannot be sent"))?;
            Ok((name, value))
        })
        .collect()
}
