//! `/doc-ai/v1`: presigned uploads, submits that make and start a job,
//! statuses, results and output downloads, as the fact sheet describes
//! them. Where the sources leave a choice, the choice is named here and in
//! [`crate::DocAiConfig`].

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Request, StatusCode};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use crate::answer::{Answer, read, upload_body};
use crate::jobs::{self, Job, LANGUAGES, Started, rfc3339};
use crate::pages::{self, Unreadable};
use crate::{ErrorShape, FailedResults, Route, Scenario, Shared, lock, unix_now};

/// The path every `/doc-ai/v1` request starts with.
pub(crate) const DOC_AI: &str = "/doc-ai/v1/job";

/// The state of `/doc-ai/v1`: uploads and jobs.
#[derive(Debug, Default)]
pub(crate) struct State {
    uploads: HashMap<String, Upload>,
    jobs: HashMap<String, DocAiJob>,
}

/// A presigned upload.
#[derive(Debug)]
struct Upload {
    /// The MIME type the PUT must carry, when one was presigned.
    content_type: Option<String>,
    expires: u64,
    bytes: Option<Vec<u8>>,
}

/// One `/doc-ai/v1` job.
#[derive(Debug)]
pub(crate) struct DocAiJob {
    id: String,
    pipeline: &'static str,
    output_format: String,
    language: String,
    /// The inputs, by name, with their pages.
    documents: Vec<(String, u32)>,
    /// The extraction's schema, or its config id.
    schema: Option<Value>,
    config_id: Option<String>,
    /// Progress, as a legacy job runs.
    inner: Job,
    rejected: bool,
}

impl DocAiJob {
    /// The status word, by the clock.
    fn status(&self, now: Instant) -> &'static str {
        let progress = self.inner.progress(now);
        if self.rejected && progress.state != "Pending" {
            return "rejected";
        }
        match progress.state {
            "Pending" | "Accepted" => "pending",
            "Running" => "running",
            "Completed" => "completed",
            "PartiallyCompleted" => "partially_completed",
            _ => "failed",
        }
    }

    fn usage(&self, now: Instant) -> Value {
        let total = self.documents.iter().map(|(_, p)| p).sum::<u32>();
        if self.rejected && self.status(now) == "rejected" {
            return json!({"pages_total": total, "pages_processed": 0, "pages_succeeded": 0, "pages_failed": 0});
        }
        let p = self.inner.progress(now);
        let failed = p.failed_pages.len() as u32;
        json!({
            "pages_total": total,
            "pages_processed": p.processed,
            "pages_succeeded": p.processed - failed,
            "pages_failed": failed,
        })
    }

    fn status_json(&self, now: Instant) -> Value {
        let p = self.inner.progress(now);
        json!({
            "job_id": self.id,
            "status": self.status(now),
            "pipeline": self.pipeline,
            "usage": self.usage(now),
            "created_at": rfc3339(self.inner.created),
            "updated_at": rfc3339(p.updated),
        })
    }

    /// Page `n` (from 1) of the whole job, in `format`; `None` if it failed.
    /// It carries the fingerprint of the input page it came from: a
    /// `source: …` line in Markdown and HTML, a `source` field in JSON.
    fn page(&self, n: u32, failed: &[u32], format: &str) -> Option<String> {
        if failed.contains(&n) {
            return None;
        }
        let text = format!("Simulated text of page {n} ({}).", self.language);
        let source = self.inner.fingerprint(n).unwrap_or_default();
        Some(match format {
            "html" => format!("<h1>Page {n}</h1><p>{text}</p><p class=\"source\">source: {source}</p>"),
            // A simulator's invented block format: labelled as such.
            "json" => json!({"sim_block_format": 1, "source": source, "blocks": [{"type": "heading", "text": format!("Page {n}")}, {"type": "paragraph", "text": text}]}).to_string(),
            _ => format!("# Page {n}\n\n{text}\n\nsource: {source}\n"),
        })
    }

    /// Each document's pages, numbered from 1 within it.
    fn documents(&self, now: Instant, format: &str) -> Vec<Value> {
        let failed = self.inner.progress(now).failed_pages;
        let mut first = 1;
        self.documents
            .iter()
            .map(|(name, pages)| {
                let pages: Vec<Value> = (0..*pages)
                    .map(|i| {
                        json!({
                            "page_number": i + 1,
                            "content": self.page(first + i, &failed, format).unwrap_or_default(),
                        })
                    })
                    .collect();
                first += pages.len() as u32;
                json!({"file_name": name, "pages": pages})
            })
            .collect()
    }

    /// What an extraction finds: a value of each field's type.
    fn extraction(&self) -> (Value, Value) {
        let schema = self.schema.clone().unwrap_or_else(|| {
            json!({"type": "object", "properties": {
                "document_type": {"type": "string", "description": "config"},
                "total": {"type": "number", "description": "config"}}})
        });
        fill(&schema, "")
    }

    /// The output file: for a digitise, a ZIP of the document, its pages'
    /// metadata and a manifest; for an extraction, the result in its format.
    fn output(&self, now: Instant) -> (String, Vec<u8>) {
        if let Some(bytes) = &self.inner.output_override {
            return ("output.zip".into(), bytes.clone());
        }
        if self.pipeline == "extract" {
            let (result, _) = self.extraction();
            return match self.output_format.as_str() {
                "csv" => ("result.csv".into(), csv(&result).into_bytes()),
                "xlsx" => ("result.xlsx".into(), xlsx(&result)),
                _ => ("result.json".into(), result.to_string().into_bytes()),
            };
        }
        let format = self.output_format.as_str();
        let ext = match format {
            "html" | "json" => format,
            _ => "md",
        };
        let p = self.inner.progress(now);
        let total: u32 = self.documents.iter().map(|(_, n)| n).sum();
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        let pages: Vec<String> = (1..=total)
            .filter_map(|n| self.page(n, &p.failed_pages, format))
            .collect();
        let document = match ext {
            "html" => format!("<html><body>{}</body></html>\n", pages.join("\n")),
            // The pages as JSON values, not as strings of JSON.
            "json" => json!({"pages": pages.iter().map(|p| serde_json::from_str::<Value>(p).unwrap_or(Value::Null)).collect::<Vec<_>>()}).to_string(),
            _ => pages.join("\n"),
        };
        // Writing to memory cannot fail.
        let _ = zip.start_file(format!("document.{ext}"), options);
        let _ = zip.write_all(document.as_bytes());
        for n in 1..=total {
            let _ = zip.start_file(format!("metadata/page_{n:03}.json"), options);
            let ok = !p.failed_pages.contains(&n);
            let _ = zip.write_all(
                json!({"page_number": n, "status": if ok { "succeeded" } else { "failed" }, "language": self.language, "source": self.inner.fingerprint(n).unwrap_or_default()})
                    .to_string()
                    .as_bytes(),
            );
        }
        let _ = zip.start_file("manifest.json", options);
        let _ = zip.write_all(
            json!({
                "job_id": self.id,
                "pipeline": self.pipeline,
                "output_format": ext,
                "documents": self.documents.iter().map(|(n, p)| json!({"file_name": n, "pages": p})).collect::<Vec<_>>(),
                "pages_total": total,
                "pages_failed": p.failed_pages.len(),
            })
            .to_string()
            .as_bytes(),
        );
        let bytes = zip.finish().map(Cursor::into_inner).unwrap_or_default();
        ("output.zip".into(), bytes)
    }
}

/// A value for each field of `schema`, and the annotations that mirror it.
fn fill(schema: &Value, name: &str) -> (Value, Value) {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return (first.clone(), annotation());
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut result = Map::new();
            let mut notes = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (field, sub) in props {
                    let (r, a) = fill(sub, field);
                    result.insert(field.clone(), r);
                    notes.insert(field.clone(), a);
                }
            }
            (Value::Object(result), Value::Object(notes))
        }
        Some("array") => {
            let (r, a) = fill(schema.get("items").unwrap_or(&Value::Null), name);
            (json!([r]), json!([a]))
        }
        Some("number") => (json!(1180.5), annotation()),
        Some("integer") => (json!(7), annotation()),
        Some("boolean") => (json!(true), annotation()),
        _ => (json!(format!("Simulated {name}")), annotation()),
    }
}

/// The leaf of an annotation: a simulator's guess at an undocumented shape.
fn annotation() -> Value {
    json!({"confidence": 0.93, "sources": [{"page": 1}]})
}

fn csv(result: &Value) -> String {
    let mut out = String::from("field,value\n");
    if let Some(obj) = result.as_object() {
        for (k, v) in obj {
            let v = v.to_string().replace('"', "\"\"");
            out.push_str(&format!("{k},\"{v}\"\n"));
        }
    }
    out
}

/// A minimal workbook of one sheet: the fields and their values.
fn xlsx(result: &Value) -> Vec<u8> {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut rows = String::new();
    if let Some(obj) = result.as_object() {
        for (i, (k, v)) in obj.iter().enumerate() {
            rows.push_str(&format!(
                r#"<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{}</t></is></c><c r="B{r}" t="inlineStr"><is><t>{}</t></is></c></row>"#,
                escape(k),
                escape(&v.to_string()),
                r = i + 1
            ));
        }
    }
    let files = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_owned()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="result" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_owned()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_owned()),
        ("xl/worksheets/sheet1.xml", format!(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#)),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in files {
        let _ = zip.start_file(name, zip::write::SimpleFileOptions::default());
        let _ = zip.write_all(body.as_bytes());
    }
    zip.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// A problem answer (RFC 7807), or the shape the config asks for instead.
pub(crate) fn problem(
    shared: &Shared,
    status: u16,
    detail: impl Into<String>,
    errors: &[(&str, &str)],
) -> Answer {
    let detail = detail.into();
    let title = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    match shared.config.doc_ai.error_shape {
        ErrorShape::Legacy => Answer::error(status, legacy_code(status), detail),
        ErrorShape::Html => Answer::html(status, &format!("{status} {title}")),
        _ => {
            let mut body =
                json!({"type": "about:blank", "title": title, "status": status, "detail": detail});
            if !errors.is_empty() {
                body["errors"] = errors
                    .iter()
                    .map(|(location, message)| json!({"location": location, "message": message}))
                    .collect();
            }
            Answer::problem(status, &body)
        }
    }
}

fn legacy_code(status: u16) -> &'static str {
    match status {
        402 => "insufficient_quota_error",
        403 => "invalid_api_key_error",
        404 => "not_found_error",
        429 => "rate_limit_exceeded_error",
        500..=599 => "internal_server_error",
        _ => "invalid_request_error",
    }
}

/// Serves a `/doc-ai/v1` API route (the key is checked already).
pub(crate) async fn serve(shared: &Shared, route: Route, request: Request<Incoming>) -> Answer {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match route {
        Route::AiPresign => match read(request.into_body(), 64 * 1024).await {
            Ok(body) => presign(shared, &body),
            Err(a) => a,
        },
        Route::AiSubmit => {
            // Room for inline files as large as the limit, and the form around them.
            let limit = usize::try_from(shared.config.max_file_bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(1024 * 1024);
            let body = match read(request.into_body(), limit).await {
                Ok(b) => b,
                Err(_) => {
                    return problem(
                        shared,
                        413,
                        format!(
                            "The request is over the {} bytes taken.",
                            shared.config.max_file_bytes
                        ),
                        &[],
                    );
                }
            };
            let operation = path.rsplit('/').next().unwrap_or_default().to_owned();
            submit(shared, &operation, &content_type, body).await
        }
        _ => {
            let Some(id) = job_in(&path) else {
                return problem(shared, 404, "Job not found", &[]);
            };
            let now = shared.now();
            let state = lock(&shared.doc_ai);
            let Some(job) = state.jobs.get(&id) else {
                return problem(shared, 404, format!("Job {id} not found"), &[]);
            };
            match route {
                Route::AiStatus => Answer::json(200, &job.status_json(now)),
                Route::AiResults | Route::AiDownloadUrl => {
                    let status = job.status(now);
                    let ended_well = matches!(status, "completed" | "partially_completed");
                    let ended = ended_well || matches!(status, "failed" | "rejected");
                    let conflict = || {
                        problem(
                            shared,
                            409,
                            format!(
                                "Job {id} is {status}; results are available once it reaches a terminal status."
                            ),
                            &[],
                        )
                    };
                    if !ended {
                        return conflict();
                    }
                    if !ended_well && shared.config.doc_ai.failed_results == FailedResults::Conflict
                    {
                        return conflict();
                    }
                    if route == Route::AiResults {
                        results(job, now, &query)
                    } else {
                        download_url(shared, job, now)
                    }
                }
                _ => problem(shared, 404, "No such route", &[]),
            }
        }
    }
}

/// The job id in a `/doc-ai/v1/job/{id}/…` path, percent-decoded.
pub(crate) fn job_in(path: &str) -> Option<String> {
    let rest = path.strip_prefix(DOC_AI)?.strip_prefix('/')?;
    let (id, _) = rest.rsplit_once('/')?;
    Some(
        percent_encoding::percent_decode_str(id)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn presign(shared: &Shared, body: &[u8]) -> Answer {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return problem(
                    shared,
                    400,
                    "The body must be a JSON object.",
                    &[("body", "not a JSON object")],
                );
            }
        }
    };
    let content_type = match &value["content_type"] {
        Value::Null => None,
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => {
            return problem(
                shared,
                400,
                "content_type must be a MIME type.",
                &[("body.content_type", "not a MIME type")],
            );
        }
    };
    let id = format!("upl_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let expires = unix_now() + shared.config.url_ttl.as_secs();
    let url = shared.sign_url("doc-ai/uploads", &id, "", expires);
    let mut headers = json!({"x-ms-blob-type": "BlockBlob"});
    if let Some(ct) = &content_type {
        headers["Content-Type"] = json!(ct);
    }
    lock(&shared.doc_ai).uploads.insert(
        id.clone(),
        Upload {
            content_type,
            expires,
            bytes: None,
        },
    );
    Answer::json(
        201,
        &json!({
            "upload_id": id,
            "method": "PUT",
            "url": url,
            "headers": headers,
            "expires_at": rfc3339(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(expires)),
        }),
    )
}

/// The storage side of `/doc-ai/v1`: uploads and outputs.
pub(crate) async fn serve_storage(
    shared: &Shared,
    route: Route,
    request: Request<Incoming>,
) -> Answer {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let Some(rest) = path.strip_prefix('/') else {
        return Answer::storage_not_found();
    };
    if route == Route::AiStorageGet {
        // doc-ai/outputs/{job}/{name}
        let Some((resource, _name)) = rest.rsplit_once('/') else {
            return Answer::storage_not_found();
        };
        let Some(job_id) = resource.strip_prefix("doc-ai/outputs/") else {
            return Answer::storage_not_found();
        };
        let job_id = percent_encoding::percent_decode_str(job_id)
            .decode_utf8_lossy()
            .into_owned();
        if let Err(reason) = shared.check_url("doc-ai/outputs", &job_id, &query) {
            return Answer::storage_error(403, "AuthenticationFailed", reason);
        }
        if request
            .headers()
            .get("x-ms-version")
            .is_none_or(|v| v.as_bytes() != OUTPUT_VERSION.as_bytes())
        {
            return Answer::storage_error(
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified: x-ms-version.",
            );
        }
        let state = lock(&shared.doc_ai);
        let Some(job) = state.jobs.get(&job_id) else {
            return Answer::storage_error(
                404,
                "BlobNotFound",
                "The specified blob does not exist.",
            );
        };
        let (_, bytes) = job.output(shared.now());
        let mut answer = Answer::bytes(200, Bytes::from(bytes));
        answer.header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        return answer;
    }
    // doc-ai/uploads/{upload_id}
    let Some(id) = rest.strip_prefix("doc-ai/uploads/").map(str::to_owned) else {
        return Answer::storage_not_found();
    };
    if let Err(reason) = shared.check_url("doc-ai/uploads", &id, &query) {
        return Answer::storage_error(403, "AuthenticationFailed", reason);
    }
    let headers = request.headers().clone();
    let wanted = lock(&shared.doc_ai)
        .uploads
        .get(&id)
        .map(|u| u.content_type.clone());
    let Some(wanted) = wanted else {
        return Answer::storage_not_found();
    };
    if let Err(reason) = check_upload_headers(&headers, wanted.as_deref()) {
        return Answer::storage_error(403, "AuthorizationFailure", reason);
    }
    let body = match upload_body(request, shared.config.max_file_bytes).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    if let Some(upload) = lock(&shared.doc_ai).uploads.get_mut(&id) {
        upload.bytes = Some(body.to_vec());
    }
    Answer::bytes(201, Bytes::new())
}

/// The `x-ms-version` a `/doc-ai/v1` download URL asks its GET to carry.
const OUTPUT_VERSION: &str = "2021-08-06";

fn check_upload_headers(headers: &HeaderMap, wanted: Option<&str>) -> Result<(), &'static str> {
    if headers
        .get("x-ms-blob-type")
        .is_none_or(|v| v.as_bytes() != b"BlockBlob")
    {
        return Err("The upload lacks a header the presign asked for: x-ms-blob-type: BlockBlob.");
    }
    if let Some(wanted) = wanted {
        let sent = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if sent.map(str::trim) != Some(wanted) {
            return Err("The upload's Content-Type is not the one it was presigned for.");
        }
    }
    Ok(())
}

/// What a submit's form held.
#[derive(Debug, Default)]
struct Form {
    files: Vec<(String, Vec<u8>)>,
    fields: HashMap<String, String>,
}

async fn parse_form(content_type: &str, body: Bytes) -> Result<Form, String> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| "The body must be multipart/form-data with a boundary.".to_owned())?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut form = Form::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(format!("The multipart body could not be read: {e}.")),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("The multipart body could not be read: {e}."))?;
        if name == "file" {
            // The part's name and type are not trusted: the bytes decide.
            form.files.push((
                file_name.unwrap_or_else(|| "upload".to_owned()),
                bytes.to_vec(),
            ));
        } else {
            form.fields
                .insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(form)
}

/// The kind of a file, by its bytes.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF") {
        Some("pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some("zip")
    } else {
        None
    }
}

async fn submit(shared: &Shared, operation: &str, content_type: &str, body: Bytes) -> Answer {
    let form = match parse_form(content_type, body).await {
        Ok(f) => f,
        Err(e) => return problem(shared, 400, e, &[("body", "not a multipart form")]),
    };
    let extract = operation == "extract";
    let field = |name: &str| form.fields.get(name).map(|v| v.trim().to_owned());
    let upload_ids: Vec<String> = field("upload_ids")
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    match (form.files.is_empty(), upload_ids.is_empty()) {
        (false, false) => {
            return problem(
                shared,
                400,
                "Exactly one of file and upload_ids must be provided.",
                &[("body.upload_ids", "must not be set together with file")],
            );
        }
        (true, true) => {
            return problem(
                shared,
                400,
                "Exactly one of file and upload_ids must be provided.",
                &[("body.file", "give files or upload_ids")],
            );
        }
        _ => {}
    }
    let formats: &[&str] = if extract {
        &["json", "csv", "xlsx"]
    } else {
        &["html", "md", "json"]
    };
    let output_format =
        field("output_format").unwrap_or_else(|| if extract { "json" } else { "html" }.to_owned());
    if !formats.contains(&output_format.as_str()) {
        return problem(
            shared,
            400,
            format!("output_format must be one of {}.", formats.join(", ")),
            &[("body.output_format", "not an allowed value")],
        );
    }
    if let Some(kind) = field("content_type")
        && !["printed", "handwritten", "mixed"].contains(&kind.as_str())
    {
        return problem(
            shared,
            400,
            "content_type must be printed, handwritten or mixed.",
            &[("body.content_type", "not an allowed value")],
        );
    }
    for flag in ["classification", "auto_orient"] {
        if let Some(v) = field(flag)
            && !["true", "false"].contains(&v.as_str())
        {
            return problem(
                shared,
                400,
                format!("{flag} must be \"true\" or \"false\"."),
                &[("body", "not a boolean")],
            );
        }
    }
    let language = field("language").unwrap_or_else(|| {
        if operation == "parse" {
            "hi-IN"
        } else {
            "en-IN"
        }
        .to_owned()
    });
    if !LANGUAGES.contains(&language.as_str()) && !["or-IN", "bodo-IN"].contains(&language.as_str())
    {
        return problem(
            shared,
            400,
            format!("Unsupported language: {language}."),
            &[("body.language", "not a supported language")],
        );
    }
    let (mut schema, mut config_id) = (None, None);
    if extract {
        match (field("schema"), field("config_id")) {
            (Some(_), Some(_)) | (None, None) => {
                return problem(
                    shared,
                    400,
                    "Exactly one of schema and config_id must be provided.",
                    &[("body.schema", "give a schema or a config_id")],
                );
            }
            (Some(text), None) => match serde_json::from_str::<Value>(&text) {
                Ok(value) => {
                    if let Err((place, why)) = check_schema(&value) {
                        return problem(
                            shared,
                            400,
                            format!("The schema is invalid: {why}."),
                            &[(&place, &why)],
                        );
                    }
                    schema = Some(value);
                }
                Err(_) => {
                    return problem(
                        shared,
                        400,
                        "The schema is not valid JSON.",
                        &[("body.schema", "not JSON")],
                    );
                }
            },
            (None, Some(id)) => config_id = Some(id),
        }
    }
    // The documents: inline, or from their uploads.
    let mut documents: Vec<(String, Vec<u8>)> = form.files;
    if !upload_ids.is_empty() {
        let state = lock(&shared.doc_ai);
        for id in &upload_ids {
            let Some(upload) = state.uploads.get(id) else {
                return problem(
                    shared,
                    400,
                    format!("Unknown upload_id {id}."),
                    &[("body.upload_ids", "unknown")],
                );
            };
            if unix_now() > upload.expires && upload.bytes.is_none() {
                return problem(
                    shared,
                    400,
                    format!("The upload {id} has expired."),
                    &[("body.upload_ids", "expired")],
                );
            }
            let Some(bytes) = &upload.bytes else {
                return problem(
                    shared,
                    400,
                    format!("Nothing was uploaded to {id}."),
                    &[("body.upload_ids", "not uploaded")],
                );
            };
            documents.push((id.clone(), bytes.clone()));
        }
    }
    let mut inputs = Vec::new();
    let mut fingerprints = Vec::new();
    let mut rejected = false;
    for (name, bytes) in &documents {
        if bytes.len() as u64 > shared.config.max_file_bytes {
            return problem(
                shared,
                413,
                format!(
                    "{name} is over the {}-byte limit.",
                    shared.config.max_file_bytes
                ),
                &[],
            );
        }
        let pages = match sniff(bytes) {
            Some("pdf") => pages::pdf_pages(bytes),
            Some("zip") => pages::zip_pages(bytes),
            Some(_) => Ok(vec![pages::image_fingerprint(name, bytes)]),
            None => Err(Unreadable("not a PDF, PNG, JPEG or ZIP".into())),
        };
        match pages {
            Ok(p) => {
                inputs.push((name.clone(), u32::try_from(p.len()).unwrap_or(u32::MAX)));
                fingerprints.extend(p);
            }
            Err(e) if shared.config.doc_ai.reject_unreadable => {
                let _ = e;
                rejected = true;
                inputs.push((name.clone(), 0));
            }
            Err(e) => {
                return problem(
                    shared,
                    400,
                    format!("{name} cannot be processed: {}.", e.0),
                    &[("body.file", "unsupported or unreadable")],
                );
            }
        }
    }
    let total: u32 = inputs.iter().map(|(_, p)| p).sum();
    if total > shared.config.doc_ai.max_pages {
        return problem(
            shared,
            400,
            format!(
                "invalid_request_error: the job has {total} pages, over the limit of {}.",
                shared.config.doc_ai.max_pages
            ),
            &[("body.file", "too many pages")],
        );
    }
    let uuid = uuid::Uuid::new_v4();
    let id = format!(
        "{}_{}",
        rfc3339(SystemTime::now())[..10].replace('-', ""),
        uuid.hyphenated()
    );
    // The scenario as the legacy simulator decides it by the file's name: by
    // an inline part's file name, and (an upload has no name) by the words
    // at the start of the file, such as a PDF's title.
    let names: String = documents
        .iter()
        .map(|(n, bytes)| {
            format!(
                "{n} {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(4096)])
            )
        })
        .collect();
    let scenario = shared.scenario_for(&names);
    if scenario == Scenario::Unreadable {
        return problem(
            shared,
            422,
            format!("{}.", jobs::INVALID_PDF),
            &[("body.file", "unreadable")],
        );
    }
    if !shared.spend_credits(total) {
        return problem(shared, 402, "Insufficient credits for this job.", &[]);
    }
    rejected |= scenario == Scenario::Rejected
        || (shared.config.scenario.is_none() && names.to_ascii_lowercase().contains("reject"));
    let mut inner = Job::new(uuid, language.clone(), output_format.clone(), scenario);
    let now = shared.now();
    inner.file_name = documents.first().map(|(n, _)| n.clone());
    inner.upload = Some(Vec::new());
    inner.started = Some(Started {
        at: now,
        at_wall: SystemTime::now(),
        pages: total.max(1),
        fingerprints,
        queue: shared.config.queue_time,
        page_time: shared.config.page_time,
    });
    let run_id = format!("run_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let job = DocAiJob {
        id: id.clone(),
        pipeline: if extract { "extract" } else { "digitise" },
        output_format,
        language,
        documents: inputs,
        schema,
        config_id,
        inner,
        rejected,
    };
    lock(&shared.doc_ai).jobs.insert(id.clone(), job);
    Answer::json(
        201,
        &json!({"job_id": id, "status": "pending", "run_id": run_id}),
    )
}

/// The extraction schema rules, as the API's docs state them; where the
/// first broken one is.
fn check_schema(schema: &Value) -> Result<(), (String, String)> {
    fn props(v: &Value, at: &str, depth: usize) -> Result<(), (String, String)> {
        let Some(p) = v
            .get("properties")
            .and_then(Value::as_object)
            .filter(|p| !p.is_empty())
        else {
            return Err((at.to_owned(), "an object needs non-empty properties".into()));
        };
        for (name, f) in p {
            field(f, &format!("{at}.properties.{name}"), depth, true)?;
        }
        Ok(())
    }
    fn field(f: &Value, at: &str, depth: usize, named: bool) -> Result<(), (String, String)> {
        if depth > 4 {
            return Err((at.to_owned(), "fields nest at most 4 deep".into()));
        }
        let kind = f.get("type").and_then(Value::as_str).unwrap_or_default();
        if !["string", "number", "integer", "boolean", "object", "array"].contains(&kind) {
            return Err((at.to_owned(), "a field needs an allowed type".into()));
        }
        if named
            && f.get("description")
                .and_then(Value::as_str)
                .is_none_or(|d| d.trim().is_empty())
        {
            return Err((
                at.to_owned(),
                "a field needs a non-empty description".into(),
            ));
        }
        match kind {
            "object" => props(f, at, depth + 1),
            "array" => match f.get("items") {
                Some(items) => field(items, &format!("{at}.items"), depth + 1, false),
                None => Err((at.to_owned(), "an array needs items".into())),
            },
            _ => Ok(()),
        }
    }
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(("body.schema".into(), "the root must be an object".into()));
    }
    props(schema, "body.schema", 1)
}

fn results(job: &DocAiJob, now: Instant, query: &str) -> Answer {
    let format = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("format="))
        .unwrap_or(job.output_format.as_str());
    let base = json!({"job_id": job.id, "status": job.status(now), "usage": job.usage(now)});
    let mut body = base;
    if job.pipeline == "extract" {
        let (result, annotations) = job.extraction();
        body["type"] = json!("extract");
        body["result"] = result;
        body["annotations"] = annotations;
        body["version"] = json!(1);
        if let Some(id) = &job.config_id {
            body["config_id"] = json!(id);
        }
    } else {
        body["type"] = json!("digitise");
        body["documents"] = json!(job.documents(now, format));
    }
    Answer::json(200, &body)
}

fn download_url(shared: &Shared, job: &DocAiJob, now: Instant) -> Answer {
    let (name, _) = job.output(now);
    let expires = unix_now() + shared.config.url_ttl.as_secs();
    let url = shared.sign_url("doc-ai/outputs", &job.id, &name, expires);
    Answer::json(
        200,
        &json!({
            "method": "GET",
            "url": url,
            "headers": {"x-ms-version": OUTPUT_VERSION},
            "expires_at": rfc3339(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(expires)),
        }),
    )
}

/// Gives the job named in an API `path` a hostile output.
pub(crate) fn give_output(shared: &Shared, path: &str, output: Vec<u8>) {
    if let Some(id) = job_in(path)
        && let Some(job) = lock(&shared.doc_ai).jobs.get_mut(&id)
    {
        job.inner.output_override = Some(output);
    }
}

impl State {
    /// Every job's id.
    pub(crate) fn job_ids(&self) -> Vec<String> {
        self.jobs.keys().cloned().collect()
    }
}

/// How many `/doc-ai/v1` jobs exist.
pub(crate) fn job_count(shared: &Shared) -> usize {
    lock(&shared.doc_ai).jobs.len()
}
