//! What both APIs' handlers share: an answer before the touches of faults
//! and common headers (JSON, errors, problems, HTML, storage's XML), and
//! request bodies read within their bounds. The router ([`crate::server`])
//! and `/doc-ai/v1` ([`crate::doc_ai`]) both use it; it uses neither.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};

/// An answer before the touches of faults and common headers.
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: StatusCode,
    /// The body, whole.
    pub(crate) body: Bytes,
    /// Whether the body is the API's JSON, which faults may rewrite and
    /// which gets the common `content-type` and error request id.
    pub(crate) json: bool,
    /// Headers of its own, before the common ones.
    pub(crate) headers: HeaderMap,
}

impl Answer {
    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Answer {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: Bytes::from(value.to_string()),
            json: true,
            headers: HeaderMap::new(),
        }
    }

    pub(crate) fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Answer::json(
            status,
            &json!({"error": {"message": message.into(), "code": code, "request_id": ""}}),
        )
    }

    /// An RFC 7807 problem, as `/doc-ai/v1` answers errors.
    pub(crate) fn problem(status: u16, value: &Value) -> Self {
        let mut a = Answer::json(status, value);
        a.json = false;
        a.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        a
    }

    /// An HTML error page, as a proxy in front of an API answers.
    pub(crate) fn html(status: u16, text: &str) -> Self {
        let mut a = Answer::bytes(
            status,
            Bytes::from(format!("<html><body><h1>{text}</h1></body></html>")),
        );
        a.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        a
    }

    /// Raw bytes.
    pub(crate) fn bytes(status: u16, body: Bytes) -> Self {
        Answer {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
            json: false,
            headers: HeaderMap::new(),
        }
    }

    /// Adds a header.
    pub(crate) fn header(&mut self, name: http::header::HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    /// Storage's 404 for a path it does not know.
    pub(crate) fn storage_not_found() -> Self {
        Answer::storage_error(
            404,
            "ResourceNotFound",
            "The specified resource does not exist.",
        )
    }

    /// An Azure-style XML error, as storage answers.
    pub(crate) fn storage_error(status: u16, code: &str, message: &str) -> Self {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        );
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        Answer {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            body: Bytes::from(xml),
            json: false,
            headers,
        }
    }
}
/// A request body of at most `limit` bytes: 413 past it, 400 when it
/// cannot be read.
pub(crate) async fn read(body: Incoming, limit: usize) -> Result<Bytes, Answer> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Answer::error(
            413,
            "invalid_request_error",
            format!("The request body is over {limit} bytes"),
        )),
        Err(_) => Err(Answer::error(
            400,
            "invalid_request_error",
            "The request body could not be read",
        )),
    }
}
/// The body of an upload to storage, as Azure takes it: with a
/// `Content-Length` (411 without), within the size limit (413).
pub(crate) async fn upload_body(
    request: Request<Incoming>,
    max_file_bytes: u64,
) -> Result<Bytes, Answer> {
    let Some(len) = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        // Read a little of what was sent first, so that a client still
        // sending its chunks gets the answer rather than a broken pipe.
        let _ = read(request.into_body(), 64 * 1024).await;
        return Err(Answer::storage_error(
            411,
            "MissingContentLengthHeader",
            "Content-Length HTTP header is missing.",
        ));
    };
    if len > max_file_bytes {
        return Err(Answer::storage_error(
            413,
            "RequestBodyTooLarge",
            "The request body is too large.",
        ));
    }
    read(
        request.into_body(),
        usize::try_from(len).unwrap_or(usize::MAX),
    )
    .await
    .map_err(|_| Answer::storage_error(400, "InvalidInput", "The body could not be read."))
}
