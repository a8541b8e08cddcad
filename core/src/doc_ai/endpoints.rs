//! The `/doc-ai/v1` requests and the parsing of their answers ([`DocAi`]),
//! and the storage headers a server may ask for, checked.

use std::collections::BTreeMap;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, USER_AGENT};
use http::{HeaderValue, Method, Request, Response};

use super::*;
use crate::error::{bounded, printable};
use crate::{Api, Body, Endpoint, Error, InputError, JobId, OutputFormat, Peer};

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
        status.created_at = view.clean_text(std::mem::take(&mut status.created_at), 64);
        status.updated_at = view.clean_text(std::mem::take(&mut status.updated_at), 64);
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

    /// The answer to [`DocAi::results`] as the JSON document to keep: read
    /// (at most `max_body` bytes), checked to be results about `job_id`,
    /// with the key scrubbed from every string and name in it. What a run
    /// writes to [`super::RESULTS_FILE`].
    pub(crate) fn results_document<B: AsRef<[u8]>>(
        &self,
        response: &Response<B>,
        job_id: &JobId,
        max_body: usize,
    ) -> Result<serde_json::Value, Error> {
        use serde::Deserialize as _;
        let view = self.api.view(response, Peer::Api);
        let value: serde_json::Value = view.json(max_body)?;
        let results = Results::deserialize(&value).map_err(|e| {
            view.protocol(crate::ProtocolErrorKind::InvalidBody {
                detail: view.clean_text(e.to_string(), 200),
            })
        })?;
        crate::api::same_job(&view, job_id, results.job_id())?;
        Ok(value)
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
