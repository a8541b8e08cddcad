//! `sarvam-doc mcp`: the engine as tools an AI agent calls over the Model
//! Context Protocol, on stdio.
//!
//! Every tool call runs as `run` runs: checked before anything is sent,
//! through the output folder's journal (so a retried call, or one in a new
//! server process, never pays twice, and a cancelled one is resumed by the
//! next), long documents cut and stitched. What an agent may name is held
//! in: a path must resolve (links followed) inside a `--root`; only a `.pdf`
//! or `.zip` that passes preflight is sent; a result carries only what the
//! tool wrote under `--out`, cut at `--max-text`; the key is never a tool
//! argument and is scrubbed from every result. stdout is the protocol's:
//! nothing else is written to it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use sarvam_doc_core::Event;
use sarvam_doc_core::config::ApiVersion;
use sarvam_doc_core::doc_ai::{Digitise, Extract, ExtractFormat, ExtractSource, Schema, Task};
use sarvam_doc_core::model::{CreateJobRequest, Job, OutputFormat};
use sarvam_doc_driver::{BatchOptions, RunOptions};
use sarvam_doc_hyper::Client;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::args::McpArgs;
use crate::{Exit, Failure};

/// The most bytes of a results file an `extract` result carries.
const MAX_RESULTS: u64 = 4 * 1024 * 1024;

/// The server: a client, where inputs may come from, where outputs go.
struct Server {
    client: Client,
    version: ApiVersion,
    roots: Vec<PathBuf>,
    out: PathBuf,
    page_limit: u32,
    concurrency: usize,
    max_text: usize,
    unpack: sarvam_doc_core::output::UnpackLimits,
    /// One call at a time uses the output folder (its journal takes one
    /// run at a time); the others wait their turn.
    turn: tokio::sync::Mutex<()>,
}

/// Serves the tools on stdio until the client closes it.
pub(crate) async fn serve(args: McpArgs) -> Result<Exit, Failure> {
    let version = args.global.api_version();
    let client = crate::setup::client_for(&args.global, version)?;
    let client = args.limits.client(&client);
    let roots = if args.roots.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.roots.clone()
    };
    let roots = roots
        .iter()
        .map(|root| {
            std::fs::canonicalize(root).map_err(|e| {
                Failure::usage(format!(
                    "--root {}: {e}: give a folder that exists",
                    root.display()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(file) = roots.iter().find(|r| !r.is_dir()) {
        return Err(Failure::usage(format!(
            "--root {} is not a folder: give the folders the tools may read from",
            file.display()
        )));
    }
    std::fs::create_dir_all(&args.out)
        .and_then(|()| tempfile::tempfile_in(&args.out).map(drop))
        .map_err(|e| {
            Failure::usage(format!(
                "cannot write to the output folder {}: {e}",
                args.out.display()
            ))
        })?;
    let out = std::fs::canonicalize(&args.out)
        .map_err(|e| Failure::usage(format!("--out {}: {e}", args.out.display())))?;
    let server = Server {
        client,
        version,
        roots,
        out,
        page_limit: args.page_limit,
        concurrency: usize::from(args.concurrency),
        max_text: args.max_text,
        unpack: args.limits.unpack(),
        turn: tokio::sync::Mutex::new(()),
    };
    err!(
        "sarvam-doc mcp: serving digitise, extract and job_status on stdio; inputs from {}; outputs in {}",
        server
            .roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        server.out.display()
    );
    let service = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Failure::error(format!("the MCP session could not start: {e}")))?;
    service
        .waiting()
        .await
        .map_err(|e| Failure::error(format!("the MCP session ended badly: {e}")))?;
    Ok(Exit::Completed)
}

/// `digitise`'s arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DigitiseArgs {
    path: String,
    language: Option<String>,
    format: Option<String>,
}

/// `extract`'s arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractArgs {
    path: String,
    schema: Option<serde_json::Map<String, Value>>,
    config_id: Option<String>,
}

/// `job_status`'s arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusArgs {
    job_id: String,
}

/// The tools, with their descriptions and argument schemas.
fn tools(version: ApiVersion) -> Vec<Tool> {
    let object = |value: Value| -> JsonObject {
        match value {
            Value::Object(map) => map,
            _ => JsonObject::new(),
        }
    };
    let languages = "a BCP-47 code of one of the 23 languages: hi-IN (the default), bn-IN, ta-IN, te-IN, kn-IN, ml-IN, mr-IN, gu-IN, pa-IN, od-IN, en-IN, …";
    let mut tools = vec![
        Tool::new(
            "digitise",
            "Turns a PDF, or a ZIP of page images, in an Indian language into text (Markdown, HTML \
             or JSON) and returns it. The whole job: upload, wait, download; a document longer \
             than one job's page limit is cut into jobs and stitched back, page by page. Calling \
             it again for the same unchanged file returns the outputs already made, without a \
             new job or a new charge; a call that was cancelled or cut off goes on with its job. \
             The path must lie inside a folder the server was given (--root). The result's text \
             is the document (its first part, and the path of the whole file, when long); its \
             structured content has outcome, job_ids, pages (total, ok, failed), missing_pages, \
             output_dir, document and reason.",
            object(json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "The .pdf or .zip file, absolute or relative to the first --root."},
                    "language": {"type": "string", "description": format!("The document's language: {languages}")},
                    "format": {"type": "string", "enum": ["md", "html", "json"], "description": "The output format (default md)."},
                },
                "required": ["path"],
                "additionalProperties": false,
            })),
        ),
        Tool::new(
            "job_status",
            "The state and page counts of a job this server (or sarvam-doc) started, by its id, \
             read once from the API.",
            object(json!({
                "type": "object",
                "properties": {"job_id": {"type": "string", "description": "The job's id, as a digitise result gave it."}},
                "required": ["job_id"],
                "additionalProperties": false,
            })),
        ),
    ];
    if version == ApiVersion::DocAi {
        tools.insert(
            1,
            Tool::new(
                "extract",
                "Extracts fields from a PDF or a ZIP of page images (at most one job's pages) by \
                 a JSON schema, or by a configuration saved in Sarvam's dashboard, and returns \
                 them as structured content. As digitise: never paid for twice; the path must \
                 lie inside a --root.",
                object(json!({
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "The .pdf or .zip file, absolute or relative to the first --root."},
                        "schema": {"type": "object", "description": "A JSON schema: \"type\": \"object\" at the root, each field with a \"type\" and a \"description\", at most 4 levels deep."},
                        "config_id": {"type": "string", "description": "The id of a saved extraction configuration, instead of a schema."},
                    },
                    "required": ["path"],
                    "additionalProperties": false,
                })),
            ),
        );
    }
    tools
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("sarvam-doc", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Sarvam AI Document Intelligence: digitise turns PDFs and ZIPs of page images in 23 \
             Indian languages into text; extract (with --api doc-ai) pulls fields by a schema; \
             job_status reads a job. Calls are never paid for twice."
                .to_owned(),
        );
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult {
            tools: tools(self.version),
            ..ListToolsResult::default()
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        let result = match request.name.as_ref() {
            "digitise" => match serde_json::from_value::<DigitiseArgs>(arguments) {
                Ok(args) => self.digitise(args, &context).await,
                Err(e) => refused(format!("digitise's arguments: {e}")),
            },
            "extract" if self.version == ApiVersion::DocAi => {
                match serde_json::from_value::<ExtractArgs>(arguments) {
                    Ok(args) => self.extract(args, &context).await,
                    Err(e) => refused(format!("extract's arguments: {e}")),
                }
            }
            "extract" => {
                refused("extract needs /doc-ai/v1: start the server with --api doc-ai".to_owned())
            }
            "job_status" => match serde_json::from_value::<StatusArgs>(arguments) {
                Ok(args) => self.job_status(args).await,
                Err(e) => refused(format!("job_status's arguments: {e}")),
            },
            other => {
                return Err(ErrorData::invalid_params(
                    format!(
                        "no tool named {:?}: digitise, extract, job_status",
                        bounded(other, 64)
                    ),
                    None,
                ));
            }
        };
        Ok(self.scrubbed(result).into())
    }
}

/// A failed call: one clear reason, as the text and as structured content.
fn refused(reason: String) -> CallToolResult {
    let mut result =
        CallToolResult::structured_error(json!({"outcome": "error", "reason": reason}));
    result.content = vec![ContentBlock::text(reason)];
    result
}

/// The bytes of the regular file at `path` (not a link), at most `max`.
fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    if !std::fs::symlink_metadata(path)?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `text`, at most `max` characters.
fn bounded(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl Server {
    /// `result` with the key scrubbed from every string in it, in every
    /// spelling the core knows.
    fn scrubbed(&self, result: CallToolResult) -> CallToolResult {
        let key = self.client.api().config().api_key();
        let text = serde_json::to_string(&result).unwrap_or_default();
        let clean = key.redact(&text);
        if clean == text {
            return result;
        }
        serde_json::from_str(&clean)
            .unwrap_or_else(|_| refused("the result held the key; it was withheld".to_owned()))
    }

    /// The input `path` names, if it may be read: resolved (links followed)
    /// inside a root, a regular file.
    fn resolve(&self, path: &str) -> Result<PathBuf, String> {
        if path.is_empty() || path.len() > 4096 || path.contains('\0') {
            return Err("give the path of a .pdf or .zip file inside a --root".to_owned());
        }
        let given = Path::new(path);
        let joined = if given.is_absolute() {
            given.to_owned()
        } else {
            self.roots[0].join(given)
        };
        let shown = bounded(path, 200);
        let real = std::fs::canonicalize(&joined).map_err(|e| {
            format!(
                "{shown}: {e} (paths are relative to {})",
                self.roots[0].display()
            )
        })?;
        if !self.roots.iter().any(|root| real.starts_with(root)) {
            return Err(format!(
                "{shown} is outside the folders this server may read (--root {}): nothing was read or sent",
                self.roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", --root ")
            ));
        }
        if real.starts_with(&self.out) {
            return Err(format!(
                "{shown} is inside the output folder {}: give an input, not an output",
                self.out.display()
            ));
        }
        if !std::fs::metadata(&real).is_ok_and(|m| m.is_file()) {
            return Err(format!("{shown} is not a file: give a .pdf or .zip file"));
        }
        Ok(real)
    }

    async fn digitise(
        &self,
        args: DigitiseArgs,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        let path = match self.resolve(&args.path) {
            Ok(path) => path,
            Err(why) => return refused(why),
        };
        let language = match crate::setup::language(args.language.as_deref().unwrap_or("hi-IN")) {
            Ok(language) => language,
            Err(e) => return refused(e.message),
        };
        let format = match args
            .format
            .as_deref()
            .unwrap_or("md")
            .parse::<OutputFormat>()
        {
            Ok(format) => format,
            Err(e) => return refused(e.to_string()),
        };
        let job = match self.version {
            ApiVersion::DocAi => Job::DocAi(Task::Digitise(Digitise {
                language: Some(language),
                output_format: Some(format),
                ..Digitise::default()
            })),
            _ => Job::Legacy(CreateJobRequest::new(language, format)),
        };
        self.run(path, job, context).await
    }

    async fn extract(
        &self,
        args: ExtractArgs,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        let path = match self.resolve(&args.path) {
            Ok(path) => path,
            Err(why) => return refused(why),
        };
        let source =
            match (args.schema, args.config_id) {
                (Some(schema), None) => match Schema::parse(&Value::Object(schema).to_string()) {
                    Ok(schema) => ExtractSource::Schema(schema),
                    Err(e) => return refused(format!("the schema: {e}")),
                },
                (None, Some(id)) => ExtractSource::ConfigId(id),
                _ => return refused(
                    "give the fields to extract: schema (a JSON object) or config_id, one of them"
                        .to_owned(),
                ),
            };
        let mut extract = Extract::new(source);
        extract.output_format = Some(ExtractFormat::Json);
        let task = Task::Extract(extract);
        if let Err(e) = task.form(&["check"]) {
            return refused(e.to_string());
        }
        self.run(path, Job::DocAi(task), context).await
    }

    /// Runs one input through the batch, as `run` does, reporting pages as
    /// progress and stopping (the job left in the journal) on a cancel.
    async fn run(
        &self,
        path: PathBuf,
        job: Job,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        let extraction = matches!(job, Job::DocAi(Task::Extract(_)));
        let options = BatchOptions::new(
            RunOptions::new(&self.out)
                .with_job(job)
                .with_unpack_limits(self.unpack)
                .with_page_limit(Some(self.page_limit)),
        );
        let turn = tokio::select! {
            turn = self.turn.lock() => turn,
            () = context.ct.cancelled() => return refused("cancelled while waiting for another call to end; nothing was sent".to_owned()),
        };
        let plan = match self.client.plan_batch(vec![path.clone()], &options).await {
            Ok(plan) => plan,
            Err(e) => return refused(e.to_string()),
        };
        if let Some((_, why)) = plan.refused.first() {
            return refused(format!("{}: {why}; nothing was sent", path.display()));
        }
        // Progress, when the caller asked for it: pages processed of all.
        let token = context.meta.get_progress_token();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(u32, u32)>();
        let forward = token.map(|token| {
            let peer = context.peer.clone();
            tokio::spawn(async move {
                let mut last = None;
                while let Some((processed, total)) = receiver.recv().await {
                    if last == Some((processed, total)) {
                        continue;
                    }
                    last = Some((processed, total));
                    let note = ProgressNotificationParam::new(token.clone(), f64::from(processed))
                        .with_total(f64::from(total))
                        .with_message(format!("{processed} of {total} pages processed"));
                    let _ = peer.notify_progress(note).await;
                }
            })
        });
        let started = Instant::now();
        let batch = self
            .client
            .run_batch(plan, &options, self.concurrency, move |_, event| {
                if let Event::Pages(p) = event {
                    let _ = sender.send((p.processed, p.total));
                }
            });
        let items = tokio::select! {
            items = batch => items,
            () = context.ct.cancelled() => {
                drop(turn);
                return refused(format!(
                    "cancelled: the job is in the journal in {}; call again with the same path to go on with it, without paying twice",
                    self.out.display()
                ));
            }
        };
        drop(turn);
        if let Some(forward) = forward {
            // The sender went with the batch: the forwarder ends on its own.
            let _ = forward.await;
        }
        let mut items = match items {
            Ok(items) => items,
            Err(e) => return refused(e.to_string()),
        };
        let Some(item) = items.pop() else {
            return refused("nothing was run".to_owned());
        };
        let folder = self.out.join(&item.folder);
        let file = crate::run::file_result(item, started.elapsed().as_secs_f64(), &self.out);
        self.result(&file, &folder, extraction)
    }

    /// The result of one input: its text (the merged document, or the
    /// extracted fields) and its structured summary.
    fn result(
        &self,
        file: &crate::report::FileResult,
        folder: &Path,
        extraction: bool,
    ) -> CallToolResult {
        let failed = !matches!(file.exit, Exit::Completed | Exit::PartiallyCompleted);
        let missing = u32::try_from(file.missing.len()).unwrap_or(u32::MAX);
        let pages = file
            .outcome
            .as_ref()
            .and_then(sarvam_doc_core::Outcome::status)
            .map(sarvam_doc_core::model::Status::pages);
        let (ok, failed_pages) = match (&pages, file.chunks.is_empty()) {
            (Some(p), true) => (p.succeeded, p.failed),
            _ => (file.pages.saturating_sub(missing), missing),
        };
        let job_ids: Vec<Value> = if file.chunks.is_empty() {
            file.job_id.iter().map(|j| json!(j.to_string())).collect()
        } else {
            file.chunks.iter().map(|c| c["job_id"].clone()).collect()
        };
        let document = ["md", "html", "json"]
            .iter()
            .map(|ext| folder.join(format!("document.{ext}")))
            .find(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()));
        let mut summary = json!({
            "outcome": if failed { "error".to_owned() } else { file.label.split(" (").next().unwrap_or("").replace(' ', "_") },
            "done": crate::report::done_name(file.done),
            "exit_code": file.exit as u8,
            "job_ids": job_ids,
            "pages": {"total": file.pages, "ok": ok, "failed": failed_pages},
            "missing_pages": file.missing,
            "output_dir": folder.display().to_string(),
            "document": document.as_ref().map(|p| p.display().to_string()),
            "reason": file.error.clone().or_else(|| file.reason.clone()),
        });
        if failed {
            let reason = file
                .error
                .clone()
                .or_else(|| file.reason.clone())
                .unwrap_or_else(|| file.label.clone());
            let mut result = CallToolResult::structured_error(summary);
            result.content = vec![ContentBlock::text(reason)];
            return result;
        }
        let text = if extraction {
            match read_bounded(&folder.join("results.json"), MAX_RESULTS) {
                Ok(bytes) => {
                    let results: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    summary["fields"] = results.get("result").cloned().unwrap_or(results);
                    serde_json::to_string_pretty(&summary["fields"]).unwrap_or_default()
                }
                Err(e) => format!("the results could not be read: {e}"),
            }
        } else {
            match &document {
                Some(path) => self.document_text(path),
                None => "the job returned no document".to_owned(),
            }
        };
        let mut result = CallToolResult::structured(summary);
        result.content = vec![ContentBlock::text(text)];
        result
    }

    /// The merged document's text, its first `max_text` bytes and where the
    /// rest is when it is longer.
    fn document_text(&self, path: &Path) -> String {
        let max = self.max_text as u64;
        match read_bounded(path, max.saturating_add(1)) {
            Ok(bytes) if bytes.len() as u64 > max => {
                let mut cut = self.max_text;
                let text = String::from_utf8_lossy(&bytes);
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                format!(
                    "{}\n\n[… the document goes on: it is cut here at {} bytes; the whole document is {}]",
                    &text[..cut],
                    self.max_text,
                    path.display()
                )
            }
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => format!("the document {} could not be read: {e}", path.display()),
        }
    }

    async fn job_status(&self, args: StatusArgs) -> CallToolResult {
        let job = match crate::setup::job_id(&args.job_id, self.version) {
            Ok(job) => job,
            Err(e) => return refused(e.message),
        };
        match self.client.status(&job).await {
            Ok(status) => {
                let pages = status.pages();
                let summary = json!({
                    "job_id": job.to_string(),
                    "state": status.state().to_string(),
                    "pages": {"total": pages.total, "processed": pages.processed, "ok": pages.succeeded, "failed": pages.failed},
                    "ended": status.state().is_terminal(),
                });
                let text = format!(
                    "job {job}: {}, {} of {} pages processed ({} failed)",
                    status.state(),
                    pages.processed,
                    pages.total,
                    pages.failed
                );
                let mut result = CallToolResult::structured(summary);
                result.content = vec![ContentBlock::text(text)];
                result
            }
            Err(e) => refused(e.to_string()),
        }
    }
}
