//! The two HTTP origins: the API and presigned storage.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use serde_json::{Value, json};

use crate::answer::{Answer, read, upload_body};
use crate::jobs::{Job, LANGUAGES, Started, stem};
use crate::{Fault, LoggedRequest, Origin, RetryAfter, Route, Scenario, Shared};

/// The largest JSON request body the API reads.
const MAX_JSON_REQUEST: usize = 1024 * 1024;

/// A response body: whole, cut short to simulate a dropped connection, or
/// hostile (never ending, or never coming).
pub(crate) enum SimBody {
    Whole(Option<Bytes>),
    Cut(Option<Bytes>),
    Endless,
    Stall,
}

/// What an endless body is made of.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

impl Body for SimBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(match self.get_mut() {
            SimBody::Whole(b) => b.take().map(|b| Ok(Frame::data(b))),
            SimBody::Cut(b) => Some(match b.take() {
                Some(b) => Ok(Frame::data(b)),
                None => Err(std::io::Error::other("body cut short by fault injection")),
            }),
            SimBody::Endless => Some(Ok(Frame::data(Bytes::from_static(&ZEROS)))),
            // Never woken: the connection just sits until the client gives up.
            SimBody::Stall => return Poll::Pending,
        })
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SimBody::Whole(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Whole(Some(b)) => SizeHint::with_exact(b.len() as u64),
            SimBody::Whole(None) => SizeHint::with_exact(0),
            SimBody::Cut(_) | SimBody::Endless | SimBody::Stall => SizeHint::default(),
        }
    }
}

/// The connection is to be closed without an answer.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

pub(crate) async fn handle(
    shared: Arc<Shared>,
    origin: Origin,
    request: Request<Incoming>,
) -> Result<Response<SimBody>, Dropped> {
    let arrived = Instant::now();
    let route = route(origin, request.method(), request.uri().path());
    let fault = route.and_then(|r| shared.take_fault(r));
    // Logged on arrival, so a request shows even while it is being answered.
    let entry = shared.log(LoggedRequest {
        at: arrived,
        origin,
        route,
        method: request.method().clone(),
        path: request.uri().path().to_owned(),
        headers: request.headers().clone(),
        fault: fault.clone(),
        status: None,
    });
    let result = answer(&shared, origin, route, fault, request).await;
    if let Ok(response) = &result {
        shared.log_status(entry, response.status().as_u16());
    }
    result
}

async fn answer(
    shared: &Shared,
    origin: Origin,
    route: Option<Route>,
    fault: Option<Fault>,
    request: Request<Incoming>,
) -> Result<Response<SimBody>, Dropped> {
    let request_id = if fault == Some(Fault::KeyInRequestId) {
        shared.config.api_key.clone()
    } else {
        format!(
            "{}_{}",
            crate::jobs::rfc3339(SystemTime::now())[..10].replace('-', ""),
            uuid::Uuid::new_v4()
        )
    };
    let storage = origin == Origin::Storage;
    let doc_ai = route.is_some_and(Route::is_doc_ai) && !storage;
    let before = match &fault {
        Some(Fault::DropBefore) => return Err(Dropped),
        Some(Fault::KeyAtCut) => {
            let key = &shared.config.api_key;
            // The key straddles the 512th byte, where a careless client cuts.
            let pad = 512usize.saturating_sub(key.len() / 2);
            let body = format!("{}{key}{}", "x".repeat(pad), "y".repeat(100));
            Some(Answer {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                body: Bytes::from(body),
                json: false,
                headers: HeaderMap::new(),
            })
        }
        Some(Fault::RateLimited(after)) => Some(rate_limited(shared, *after, storage, doc_ai)),
        Some(Fault::QuotaExhausted) if doc_ai => Some(crate::doc_ai::problem(
            shared,
            402,
            "Insufficient credits: add credits to continue.",
            &[],
        )),
        Some(Fault::HighLoad) if doc_ai => Some(crate::doc_ai::problem(
            shared,
            503,
            "The service is under high load; retry later.",
            &[],
        )),
        Some(Fault::Internal) if doc_ai => Some(crate::doc_ai::problem(
            shared,
            500,
            "Internal server error.",
            &[],
        )),
        Some(Fault::Expired) if storage => Some(Answer::storage_error(
            403,
            "AuthenticationFailed",
            "Signature not valid in the specified time frame: the URL has expired.",
        )),
        Some(Fault::Conflict) if doc_ai => Some(crate::doc_ai::problem(
            shared,
            409,
            "The job has not reached a terminal status yet.",
            &[],
        )),
        Some(Fault::Conflict) if !storage => Some(Answer::error(
            409,
            "invalid_request_error",
            "The job has not ended yet",
        )),
        Some(Fault::QuotaExhausted) if !storage => Some(Answer::error(
            429,
            "insufficient_quota_error",
            "Insufficient credits: add credits to continue",
        )),
        Some(Fault::HighLoad) if storage => Some(Answer::storage_error(
            503,
            "ServerBusy",
            "The server is busy.",
        )),
        Some(Fault::HighLoad) => Some(Answer::error(
            503,
            "high_load_error",
            "The service is under high load, retry later",
        )),
        Some(Fault::Internal) if storage => Some(Answer::storage_error(
            500,
            "InternalError",
            "The server encountered an internal error.",
        )),
        Some(Fault::Internal) => Some(Answer::error(
            500,
            "internal_server_error",
            "Internal server error",
        )),
        _ => None,
    };
    let mut answer = match before {
        Some(a) => a,
        None => {
            if let Some(output) = fault.as_ref().and_then(hostile_output) {
                // The job's output is hostile from now on, announced as it is.
                give_output(shared, request.uri().path(), output);
            }
            match route {
                None if storage => Answer::storage_not_found(),
                None => not_found_or_405(shared, request.method(), request.uri().path()),
                Some(route) => serve(shared, route, request).await,
            }
        }
    };
    // Faults that act after the request took effect.
    let mut cut = false;
    let mut hostile_body = None;
    let success = answer.status.is_success();
    let request_id = match &fault {
        Some(Fault::EchoKeyInId) if success && !storage => {
            format!("{request_id}-{}", shared.config.api_key)
        }
        _ => request_id,
    };
    match &fault {
        // A slow server: the work is done, the answer comes late.
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::DropAfter) => return Err(Dropped),
        Some(Fault::Truncated) => cut = true,
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::StallAfterHeaders) => hostile_body = Some(SimBody::Stall),
        Some(Fault::EndlessBody) => hostile_body = Some(SimBody::Endless),
        Some(Fault::Oversized(extra)) if success => {
            let mut bytes = answer.body.to_vec();
            bytes.resize(bytes.len() + usize::try_from(*extra).unwrap_or(0), 0);
            answer.body = Bytes::from(bytes);
        }

        Some(Fault::HugeAnnounced) if answer.json => rewrite(&mut answer, |v| {
            if let Some(urls) = v.get_mut("download_urls").and_then(Value::as_object_mut) {
                for entry in urls.values_mut() {
                    entry["file_metadata"]["fileSize"] = json!(1_000_000_000_000_000u64);
                }
            }
        }),
        Some(Fault::OtherJob) if answer.json => rewrite(&mut answer, |v| {
            if v.get("job_id").is_some() {
                v["job_id"] = json!("00000000-0000-4000-8000-00000000beef");
            }
        }),
        Some(Fault::EchoKey) if answer.json => {
            let key = shared.config.api_key.clone();
            rewrite(&mut answer, |v| echo_key(v, &key));
        }
        Some(Fault::EchoKeyEscaped) if answer.json && success && !storage => {
            let key = shared.config.api_key.clone();
            rewrite(&mut answer, |v| echo_key_escaped(v, &key));
            // Each mark becomes the key with its first character a JSON
            // escape: `\u0073k_…`, which no search of the raw bytes finds.
            if let (Ok(text), Some(first)) = (std::str::from_utf8(&answer.body), key.chars().next())
            {
                let rest = serde_json::to_string(&key[first.len_utf8()..]).unwrap_or_default();
                let escaped = format!("\\u{:04x}{}", u32::from(first), rest.trim_matches('"'));
                answer.body = Bytes::from(text.replace(KEY_MARK, &escaped));
            }
        }
        Some(Fault::InvalidJson) if answer.json && answer.status.is_success() => {
            let half = answer.body.len() / 2;
            answer.body = Bytes::from(format!(
                "{}<<not json",
                String::from_utf8_lossy(&answer.body[..half])
            ));
        }
        Some(Fault::UnknownState) if answer.json => rewrite(&mut answer, |v| {
            if v.get("job_state").is_some() {
                v["job_state"] = json!("Reticulating");
            }
            if v.get("pipeline").is_some() {
                v["status"] = json!("reticulating");
            }
        }),
        Some(Fault::ExtraFields) if answer.json => rewrite(&mut answer, |v| {
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "sim_extra_field".into(),
                    json!({"nested": [1, 2, 3], "note": "not in the spec"}),
                );
                obj.insert("sim_flag".into(), json!(true));
            }
        }),
        _ => {}
    }
    if answer.json {
        // The error body carries the same request id as the header.
        rewrite(&mut answer, |v| {
            if let Some(err) = v.get_mut("error").and_then(Value::as_object_mut) {
                err.insert("request_id".into(), json!(request_id.clone()));
            }
        });
        answer
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let mut response = Response::builder().status(answer.status);
    let headers = response.headers_mut().ok_or(Dropped)?;
    headers.extend(answer.headers);
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", id);
    }
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
        headers.insert(DATE, date);
    }
    let body = match hostile_body {
        Some(hostile) => hostile,
        None if cut => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(answer.body.len()));
            let half = answer.body.slice(..answer.body.len() / 2);
            SimBody::Cut(Some(half))
        }
        None => SimBody::Whole(Some(answer.body)),
    };
    response.body(body).map_err(|_| Dropped)
}

/// The hostile output a fault gives a job, if it is that kind of fault.
fn hostile_output(fault: &Fault) -> Option<Vec<u8>> {
    Some(match fault {
        Fault::ZipBombSize(mib) => crate::hostile::bomb_by_size(*mib),
        Fault::LargeOutput(mib) => crate::hostile::large(*mib),
        Fault::ZipBombCount(n) => crate::hostile::bomb_by_count(*n),
        Fault::UnsafeEntries => crate::hostile::unsafe_entries(),
        Fault::NotAZip => crate::hostile::NOT_A_ZIP.as_bytes().to_vec(),
        _ => return None,
    })
}

/// Sets the output of the job named in an API `path`.
fn give_output(shared: &Shared, path: &str, output: Vec<u8>) {
    if path.starts_with(crate::doc_ai::DOC_AI) {
        return crate::doc_ai::give_output(shared, path, output);
    }
    let id = path
        .strip_prefix(JOBS)
        .and_then(|r| r.split('/').nth(1))
        .and_then(|s| uuid::Uuid::try_parse(s).ok());
    if let Some(id) = id {
        let _ = shared.with_job(id, move |job| {
            job.output_override = Some(output);
            Answer::json(200, &json!({}))
        });
    }
}

/// Puts the key where a careless client would print it: an upload-files
/// answer loses the asked file's URL and carries the key; a status gets it,
/// with terminal escape sequences, in its error messages.
fn echo_key(v: &mut Value, key: &str) {
    let hostile = format!("failed for {key}\u{1b}[2J\u{1b}[31m");
    if let Some(urls) = v.get_mut("upload_urls").and_then(Value::as_object_mut) {
        let taken: Vec<Value> = std::mem::take(urls).into_values().collect();
        for (i, url) in taken.into_iter().enumerate() {
            urls.insert(format!("not-yours-{i}.pdf"), url);
        }
    }
    if v.get("job_state").is_some() {
        v["error_message"] = json!(hostile.clone());
        if let Some(details) = v.get_mut("job_details").and_then(Value::as_array_mut) {
            for detail in details {
                detail["error_message"] = json!(hostile.clone());
                detail["page_errors"] = json!([{"page_number": 1, "error_code": key, "error_message": hostile.clone()}]);
            }
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "debug".into(),
            json!(format!("api-subscription-key: {key}")),
        );
    }
}

/// Where [`echo_key_escaped`] puts the key, to be escaped once serialized.
const KEY_MARK: &str = "@@sim-key@@";

/// The key in every string a client keeps of a 2xx answer (see
/// [`Fault::EchoKeyEscaped`]): marks that become JSON escapes, and a URL
/// escape in a download URL's file name.
fn echo_key_escaped(v: &mut Value, key: &str) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    // The legacy API's times are typed (RFC 3339): only `/doc-ai/v1`'s are
    // free text a client keeps as sent.
    let free_times = obj.get("job_state").is_none();
    for (field, junk) in [
        ("created_at", " \u{1b}[2J"),
        ("updated_at", "\u{1b}]0;owned\u{7}"),
    ] {
        if free_times && obj.get(field).is_some_and(Value::is_string) {
            obj.insert(field.into(), json!(format!("{KEY_MARK}{junk}")));
        }
    }
    obj.insert(KEY_MARK.into(), json!(KEY_MARK));
    if let Some(urls) = obj.get_mut("download_urls").and_then(Value::as_object_mut) {
        let taken: Vec<Value> = std::mem::take(urls).into_values().collect();
        for (i, url) in taken.into_iter().enumerate() {
            urls.insert(format!("{KEY_MARK}-{i}.zip"), url);
        }
    }
    if let Some(result) = obj.get_mut("result").and_then(Value::as_object_mut) {
        result.insert("note".into(), json!(format!("signed {KEY_MARK}")));
    }
    // A `/doc-ai/v1` download URL: its file name, URL-escaped.
    if obj.get("method").is_some()
        && let Some(url) = obj.get("url").and_then(Value::as_str)
        && let Some((path, query)) = url.split_once('?')
        && let Some((dir, _)) = path.rsplit_once('/')
        && let Some(first) = key.bytes().next()
    {
        let name = format!("%{first:02X}{}.zip", key.get(1..).unwrap_or_default());
        obj.insert("url".into(), json!(format!("{dir}/{name}?{query}")));
    }
}

fn rewrite(answer: &mut Answer, edit: impl FnOnce(&mut Value)) {
    if let Ok(mut v) = serde_json::from_slice::<Value>(&answer.body) {
        edit(&mut v);
        answer.body = Bytes::from(v.to_string());
    }
}

fn rate_limited(shared: &Shared, after: RetryAfter, storage: bool, doc_ai: bool) -> Answer {
    let mut a = if storage {
        Answer::storage_error(503, "ServerBusy", "Egress is over the account limit.")
    } else if doc_ai {
        crate::doc_ai::problem(shared, 429, "Rate limit exceeded; retry later.", &[])
    } else {
        Answer::error(
            429,
            "rate_limit_exceeded_error",
            "Rate limit exceeded, retry later",
        )
    };
    let (name, value) = match after {
        RetryAfter::Seconds(s) => ("retry-after", s.to_string()),
        RetryAfter::Date(s) => (
            "retry-after",
            httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(s)),
        ),
        RetryAfter::Millis(ms) => ("retry-after-ms", ms.to_string()),
        RetryAfter::ResetIn(s) => ("x-ratelimit-reset", (crate::unix_now() + s).to_string()),
        _ => return a,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        a.headers.insert(name, v);
    }
    a
}

const JOBS: &str = "/doc-digitization/job/v1";

fn route(origin: Origin, method: &Method, path: &str) -> Option<Route> {
    match origin {
        Origin::Storage => match (method, path.split('/').nth(1), path.split('/').nth(2)) {
            (&Method::PUT, Some("upload"), _) => Some(Route::StoragePut),
            (&Method::GET, Some("download"), _) => Some(Route::StorageGet),
            (&Method::PUT, Some("doc-ai"), Some("uploads")) => Some(Route::AiStoragePut),
            (&Method::GET, Some("doc-ai"), Some("outputs")) => Some(Route::AiStorageGet),
            _ => None,
        },
        Origin::Api if path.starts_with(crate::doc_ai::DOC_AI) => {
            let rest = &path[crate::doc_ai::DOC_AI.len()..];
            match (method, rest) {
                (&Method::POST, "/upload") => Some(Route::AiPresign),
                (&Method::POST, "/digitise" | "/parse" | "/extract") => Some(Route::AiSubmit),
                (&Method::GET, r) if r.ends_with("/status") => Some(Route::AiStatus),
                (&Method::GET, r) if r.ends_with("/results") => Some(Route::AiResults),
                (&Method::GET, r) if r.ends_with("/download-url") => Some(Route::AiDownloadUrl),
                _ => None,
            }
        }
        Origin::Api => {
            let rest = path.strip_prefix(JOBS)?;
            let parts: Vec<&str> = rest.split('/').skip(1).collect();
            match (method, parts.as_slice()) {
                (&Method::POST, []) => Some(Route::CreateJob),
                (&Method::POST, ["upload-files"]) => Some(Route::UploadFiles),
                (&Method::POST, [_, "start"]) => Some(Route::Start),
                (&Method::GET, [_, "status"]) => Some(Route::Status),
                (&Method::POST, [_, "download-files"]) => Some(Route::DownloadFiles),
                _ => None,
            }
        }
    }
}

fn not_found_or_405(shared: &Shared, method: &Method, path: &str) -> Answer {
    if path.starts_with(crate::doc_ai::DOC_AI) {
        return crate::doc_ai::problem(shared, 404, format!("No route for {method} {path}."), &[]);
    }
    let known = path == JOBS
        || path == format!("{JOBS}/upload-files")
        || ["start", "status", "download-files"]
            .iter()
            .any(|end| path.starts_with(&format!("{JOBS}/")) && path.ends_with(&format!("/{end}")));
    if known {
        let mut a = Answer::json(
            405,
            &json!({"detail": format!("Method {method} Not Allowed")}),
        );
        a.headers.insert(
            "allow",
            HeaderValue::from_static(if path.ends_with("/status") {
                "GET"
            } else {
                "POST"
            }),
        );
        a
    } else {
        Answer::error(
            404,
            "not_found_error",
            format!("No route for {method} {path}"),
        )
    }
}

async fn serve(shared: &Shared, route: Route, request: Request<Incoming>) -> Answer {
    if route.is_doc_ai() && route.is_storage() {
        return crate::doc_ai::serve_storage(shared, route, request).await;
    }
    if route.is_storage() {
        return serve_storage(shared, route, request).await;
    }
    let key = request
        .headers()
        .get("api-subscription-key")
        .and_then(|v| v.to_str().ok());
    if key != Some(shared.config.api_key.as_str()) {
        let why = if key.is_none() {
            "Missing api-subscription-key header"
        } else {
            "Invalid API key"
        };
        return if route.is_doc_ai() {
            crate::doc_ai::problem(shared, 403, why, &[])
        } else {
            Answer::error(403, "invalid_api_key_error", why)
        };
    }
    if let Err(wait) = shared.take_token(&shared.config.api_key) {
        // Whole seconds (rounded up), and the exact wait in milliseconds,
        // both on the simulator's clock.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut answer = rate_limited(
            shared,
            RetryAfter::Seconds(secs.max(1)),
            false,
            route.is_doc_ai(),
        );
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        answer.header(
            http::header::HeaderName::from_static("retry-after-ms"),
            HeaderValue::from(ms),
        );
        return answer;
    }
    if route.is_doc_ai() {
        return crate::doc_ai::serve(shared, route, request).await;
    }
    let path = request.uri().path().to_owned();
    let job_in_path = path
        .strip_prefix(JOBS)
        .and_then(|r| r.split('/').nth(1))
        .map(str::to_owned);
    let body = match read(request.into_body(), MAX_JSON_REQUEST).await {
        Ok(b) => b,
        Err(a) => return a,
    };
    match route {
        Route::CreateJob => create_job(shared, &body),
        Route::UploadFiles => upload_files(shared, &body),
        _ => {
            let Some(id) = job_in_path
                .as_deref()
                .and_then(|s| uuid::Uuid::try_parse(s).ok())
            else {
                return Answer::error(400, "invalid_request_error", "job_id must be a UUID");
            };
            match route {
                Route::Start => start(shared, id),
                Route::Status => {
                    shared.with_job(id, |job| Answer::json(200, &job.status_json(shared.now())))
                }
                _ => download_files(shared, id),
            }
        }
    }
}

fn create_job(shared: &Shared, body: &[u8]) -> Answer {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Answer::error(
                    400,
                    "invalid_request_error",
                    "The body must be a JSON object",
                );
            }
        }
    };
    let params = &value["job_parameters"];
    let field = |name: &str, default: &str| match &params[name] {
        Value::Null => Ok(default.to_owned()),
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("job_parameters.{name} must be a string")),
    };
    let (language, format) = match (field("language", "hi-IN"), field("output_format", "md")) {
        (Ok(l), Ok(f)) => (l, f),
        (Err(m), _) | (_, Err(m)) => return Answer::error(400, "invalid_request_error", m),
    };
    if !LANGUAGES.contains(&language.as_str()) {
        return Answer::error(
            400,
            "invalid_request_error",
            format!("Unsupported language: {language}"),
        );
    }
    if !["html", "md", "json"].contains(&format.as_str()) {
        return Answer::error(
            400,
            "invalid_request_error",
            format!("Unsupported output_format: {format}; use html, md or json"),
        );
    }
    if let Some(callback) = value.get("callback").filter(|c| !c.is_null()) {
        let url = callback["url"].as_str().unwrap_or_default();
        if !url.starts_with("https://") {
            return Answer::error(
                400,
                "invalid_request_error",
                "callback.url must be an https URL",
            );
        }
    }
    let id = uuid::Uuid::new_v4();
    let job = Job::new(id, language.clone(), format.clone(), Scenario::Completed);
    shared.insert_job(job);
    Answer::json(
        202,
        &json!({
            "job_id": id.hyphenated().to_string(),
            "storage_container_type": "Azure",
            "job_parameters": {"language": language, "output_format": format},
            "job_state": "Accepted",
        }),
    )
}

fn upload_files(shared: &Shared, body: &[u8]) -> Answer {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Answer::error(
            400,
            "invalid_request_error",
            "The body must be a JSON object",
        );
    };
    let Some(id) = value["job_id"]
        .as_str()
        .and_then(|s| uuid::Uuid::try_parse(s).ok())
    else {
        return Answer::error(400, "invalid_request_error", "job_id must be a UUID");
    };
    let Some(files) = value["files"].as_array() else {
        return Answer::error(
            400,
            "invalid_request_error",
            "files must be a list of file names",
        );
    };
    let [Value::String(name)] = files.as_slice() else {
        return Answer::error(
            400,
            "invalid_request_error",
            "Exactly one file is allowed per job",
        );
    };
    let lower = name.to_ascii_lowercase();
    if !(lower.ends_with(".pdf") || lower.ends_with(".zip")) || name.contains('/') {
        return Answer::error(
            400,
            "invalid_request_error",
            "Only a .pdf or .zip file can be uploaded",
        );
    }
    let name = name.clone();
    shared.with_job(id, |job| {
        if job.started.is_some() {
            return Answer::error(400, "invalid_request_error", "The job has already started");
        }
        job.file_name = Some(name.clone());
        job.scenario = shared.scenario_for(&name);
        let url = shared.presign("upload", id, &name);
        Answer::json(
            200,
            &json!({
                "job_id": id.hyphenated().to_string(),
                "job_state": "Accepted",
                "upload_urls": {name.clone(): {"file_url": url, "file_metadata": null}},
                "storage_container_type": "Azure",
            }),
        )
    })
}

fn start(shared: &Shared, id: uuid::Uuid) -> Answer {
    shared.with_job(id, |job| {
        if job.started.is_some() {
            return Answer::error(400, "invalid_request_error", "The job has already started");
        }
        let (Some(name), Some(bytes)) = (&job.file_name, &job.upload) else {
            return Answer::error(
                400,
                "invalid_request_error",
                "Upload the file before starting the job",
            );
        };
        if bytes.len() as u64 > shared.config.max_file_bytes {
            return Answer::error(
                400,
                "invalid_request_error",
                "The file is over the 200 MB limit",
            );
        }
        let fingerprints = match crate::pages::read(name, bytes) {
            Ok(f) => f,
            Err(e) => return Answer::error(400, "invalid_request_error", e.0),
        };
        let pages = u32::try_from(fingerprints.len()).unwrap_or(u32::MAX);
        if pages > shared.config.max_pages {
            return Answer::error(
                422,
                "max_page_limit_exceeded",
                format!(
                    "The document has {pages} pages, over the limit of {}",
                    shared.config.max_pages
                ),
            );
        }
        if !shared.spend_credits(pages) {
            return Answer::error(
                429,
                "insufficient_quota_error",
                "Insufficient credits for this document",
            );
        }
        let now = shared.now();
        job.started = Some(Started {
            at: now,
            at_wall: SystemTime::now(),
            pages,
            fingerprints,
            queue: shared.config.queue_time,
            page_time: shared.config.page_time,
        });
        Answer::json(202, &job.status_json(now))
    })
}

fn download_files(shared: &Shared, id: uuid::Uuid) -> Answer {
    shared.with_job(id, |job| {
        let now = shared.now();
        let progress = job.progress(now);
        match progress.state {
            "Completed" | "PartiallyCompleted" => {}
            "Failed" => {
                return Answer::error(
                    400,
                    "invalid_request_error",
                    "The job failed; it has no output",
                );
            }
            state => {
                return Answer::error(
                    409,
                    "invalid_request_error",
                    format!("The job is {state}; outputs are ready when it completes"),
                );
            }
        }
        let name = format!(
            "{}_output.zip",
            stem(job.file_name.as_deref().unwrap_or("output"))
        );
        let size = job.output_zip(now).len();
        let url = shared.presign("download", id, &name);
        Answer::json(
            200,
            &json!({
                "job_id": id.hyphenated().to_string(),
                "job_state": progress.state,
                "storage_container_type": "Azure",
                "download_urls": {name: {"file_url": url, "file_metadata": {
                    "contentType": "application/zip",
                    "fileSize": size,
                    "lastModified": crate::jobs::rfc3339(progress.updated),
                }}},
                "error_code": null,
                "error_message": null,
            }),
        )
    })
}

async fn serve_storage(shared: &Shared, route: Route, request: Request<Incoming>) -> Answer {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let mut parts = path.split('/').skip(2);
    let (Some(id), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Answer::storage_not_found();
    };
    let Ok(id) = uuid::Uuid::try_parse(id) else {
        return Answer::storage_not_found();
    };
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .into_owned();
    let kind = if route == Route::StoragePut {
        "upload"
    } else {
        "download"
    };
    if let Err(reason) = shared.check_signature(kind, id, &name, &query) {
        return Answer::storage_error(403, "AuthenticationFailed", reason);
    }
    if route == Route::StorageGet {
        return shared.with_job(id, |job| {
            let bytes = job.output_zip(shared.now());
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
            Answer {
                status: StatusCode::OK,
                body: Bytes::from(bytes),
                json: false,
                headers,
            }
        });
    }
    if request
        .headers()
        .get("x-ms-blob-type")
        .is_none_or(|v| v.as_bytes() != b"BlockBlob")
    {
        return Answer::storage_error(
            400,
            "MissingRequiredHeader",
            "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.",
        );
    }
    let body = match upload_body(request, shared.config.max_file_bytes).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    shared.with_job(id, move |job| {
        if job.file_name.as_deref() != Some(name.as_str()) || job.started.is_some() {
            return Answer::storage_error(
                403,
                "AuthorizationFailure",
                "This URL does not accept this upload.",
            );
        }
        job.upload = Some(body.to_vec());
        Answer {
            status: StatusCode::CREATED,
            body: Bytes::new(),
            json: false,
            headers: HeaderMap::new(),
        }
    })
}

/// A keyed hash for `/doc-ai/v1` presigned URLs.
pub(crate) fn sign_text(secret: u64, kind: &str, id: &str, expires: u64) -> String {
    let mut h = DefaultHasher::new();
    (secret, kind, id, expires).hash(&mut h);
    format!("{:016x}", h.finish())
}

/// A keyed hash for presigned URLs; a simulator's signature, not a secure one.
pub(crate) fn sign(secret: u64, kind: &str, id: uuid::Uuid, name: &str, expires: u64) -> String {
    let mut h = DefaultHasher::new();
    (secret, kind, id, name, expires).hash(&mut h);
    format!("{:016x}", h.finish())
}
