//! `sarvam-doc mcp` driven as an agent's client drives it: `rmcp`'s client
//! over stdio, spawning the binary, against the simulator.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, JsonObject, ProgressNotificationParam,
    Request, ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, ServiceExt};
use sarvam_doc_sim::{Fault, Route, SimConfig, Simulator, sample};
use serde_json::{Value, json};

mod common;

/// The client's side: it keeps every progress notification.
#[derive(Clone, Default)]
struct Agent {
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Agent {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }
}

/// A server process for `sim`, reading from `root`, writing to `out`; its
/// stderr goes to `log`.
async fn connect(
    sim: &Simulator,
    api: &str,
    root: &Path,
    out: &Path,
    log: &Path,
    agent: Agent,
) -> RunningService<RoleClient, Agent> {
    let log = std::fs::File::create(log).unwrap();
    let command = tokio::process::Command::new(assert_cmd::cargo::cargo_bin!("sarvam-doc"))
        .configure(|cmd| {
            cmd.args(["mcp", "--api", api, "--root"])
                .arg(root)
                .arg("--out")
                .arg(out)
                .env_remove("SARVAM_BASE_URL")
                .env_remove("SARVAM_API")
                .env("SARVAM_API_KEY", sim.api_key())
                .env("SARVAM_BASE_URL", sim.api_url());
        });
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    agent.serve(transport).await.unwrap()
}

fn args(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

async fn call(
    client: &RunningService<RoleClient, Agent>,
    tool: &str,
    arguments: Value,
) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments)))
        .await
        .unwrap()
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn structured(result: &CallToolResult) -> &Value {
    result.structured_content.as_ref().unwrap()
}

fn fast() -> SimConfig {
    common::fast()
}

struct Setup {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    out: std::path::PathBuf,
    log: std::path::PathBuf,
    outside: std::path::PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    Setup {
        out: dir.path().join("out"),
        log: dir.path().join("server.log"),
        root,
        outside,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn digitise_returns_the_text_and_the_same_call_again_even_after_a_restart_makes_no_new_job() {
    let sim = Simulator::start(fast()).unwrap();
    let s = setup();
    let bytes = sample::pdf(3, "Gazette");
    std::fs::write(s.root.join("gazette.pdf"), &bytes).unwrap();
    let client = connect(&sim, "legacy", &s.root, &s.out, &s.log, Agent::default()).await;
    let tools: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(
        tools,
        ["digitise", "job_status"],
        "extract needs --api doc-ai"
    );

    let result = call(&client, "digitise", json!({"path": "gazette.pdf"})).await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let said = text(&result);
    for n in 1..=3 {
        assert!(said.contains(&format!("Gazette Page {n} of 3")), "{said}");
    }
    let summary = structured(&result);
    assert_eq!(summary["outcome"], "completed", "{summary}");
    assert_eq!(summary["pages"]["ok"], 3);
    assert_eq!(summary["job_ids"].as_array().unwrap().len(), 1);
    let folder = summary["output_dir"].as_str().unwrap();
    sample::check_outputs(&bytes, Path::new(folder), &[]).unwrap();
    assert_eq!(sim.started_jobs(), 1);

    // The same call again: the outputs already there, no new job.
    let again = call(
        &client,
        "digitise",
        json!({"path": s.root.join("gazette.pdf")}),
    )
    .await;
    assert_eq!(structured(&again)["job_ids"], summary["job_ids"]);
    assert_eq!(structured(&again)["done"], "skipped");
    assert_eq!(sim.started_jobs(), 1);
    client.cancel().await.unwrap();

    // A new server process on the same --out: still one job.
    let client = connect(&sim, "legacy", &s.root, &s.out, &s.log, Agent::default()).await;
    let third = call(&client, "digitise", json!({"path": "gazette.pdf"})).await;
    assert_eq!(structured(&third)["job_ids"], summary["job_ids"]);
    assert!(text(&third).contains("Gazette Page 2 of 3"));
    assert_eq!(sim.started_jobs(), 1);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_outside_the_root_or_through_a_link_out_of_it_is_refused_with_nothing_sent() {
    let sim = Simulator::start(fast()).unwrap();
    let s = setup();
    let secret = s.outside.join("secret.pdf");
    std::fs::write(&secret, sample::pdf(1, "secret")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, s.root.join("link.pdf")).unwrap();
    std::fs::write(s.root.join("notes.txt"), b"not a document").unwrap();
    let client = connect(&sim, "legacy", &s.root, &s.out, &s.log, Agent::default()).await;
    let mut paths = vec![
        json!(secret),
        json!("../outside/secret.pdf"),
        json!("/etc/passwd"),
        json!("missing.pdf"),
        json!("notes.txt"),
    ];
    if cfg!(unix) {
        paths.push(json!("link.pdf"));
    }
    for path in paths {
        let result = call(&client, "digitise", json!({"path": path})).await;
        assert_eq!(result.is_error, Some(true), "{path}: {result:?}");
        let reason = text(&result);
        assert!(!reason.is_empty(), "{path}");
        assert!(
            !reason.contains("secret Page"),
            "{path}: contents leaked: {reason}"
        );
    }
    let result = call(
        &client,
        "digitise",
        json!({"path": "../outside/secret.pdf"}),
    )
    .await;
    assert!(
        text(&result).contains("outside the folders this server may read"),
        "{}",
        text(&result)
    );
    // Arguments it does not know are refused too, and the key is no argument.
    let result = call(
        &client,
        "digitise",
        json!({"path": "x.pdf", "api_key": "k"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    assert!(sim.requests().is_empty(), "something was sent");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_document_is_cut_and_stitched_and_progress_reaches_the_agent() {
    let mut config = SimConfig::default();
    config.queue_time = Duration::from_millis(100);
    config.page_time = Duration::from_millis(120);
    let sim = Simulator::start(config).unwrap();
    let s = setup();
    let bytes = sample::pdf(25, "Book");
    std::fs::write(s.root.join("book.pdf"), &bytes).unwrap();
    let agent = Agent::default();
    let client = connect(&sim, "legacy", &s.root, &s.out, &s.log, agent.clone()).await;
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(
                CallToolRequestParams::new("digitise")
                    .with_arguments(args(json!({"path": "book.pdf"}))),
            )),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    let response = handle.await_response().await.unwrap();
    let ServerResult::CallToolResult(result) = response else {
        panic!("{response:?}")
    };
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let summary = structured(&result);
    assert_eq!(summary["job_ids"].as_array().unwrap().len(), 3, "{summary}");
    sample::check_outputs(
        &bytes,
        Path::new(summary["output_dir"].as_str().unwrap()),
        &[],
    )
    .unwrap();
    let progress = agent.progress.lock().unwrap().clone();
    assert!(!progress.is_empty(), "no progress arrived");
    assert!(
        progress.iter().all(|p| p.total == Some(25.0)),
        "{progress:?}"
    );
    assert!(progress.iter().any(|p| p.progress > 0.0), "{progress:?}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_call_leaves_its_job_and_the_next_call_resumes_it_without_a_second() {
    let mut config = SimConfig::default();
    config.queue_time = Duration::from_millis(300);
    config.page_time = Duration::from_millis(300);
    let sim = Simulator::start(config).unwrap();
    let s = setup();
    let bytes = sample::pdf(4, "Slow");
    std::fs::write(s.root.join("slow.pdf"), &bytes).unwrap();
    let client = connect(&sim, "legacy", &s.root, &s.out, &s.log, Agent::default()).await;
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(
                CallToolRequestParams::new("digitise")
                    .with_arguments(args(json!({"path": "slow.pdf"}))),
            )),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    for _ in 0..200 {
        if sim.started_jobs() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sim.started_jobs(), 1, "the job never started");
    handle
        .cancel(Some("the agent moved on".into()))
        .await
        .unwrap();
    let result = call(&client, "digitise", json!({"path": "slow.pdf"})).await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert_eq!(structured(&result)["done"], "resumed", "{result:?}");
    assert_eq!(sim.started_jobs(), 1, "a second job was started");
    assert_eq!(sim.jobs(), 1, "a second job was made");
    sample::check_outputs(
        &bytes,
        Path::new(structured(&result)["output_dir"].as_str().unwrap()),
        &[],
    )
    .unwrap();
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_job_is_an_error_result_and_the_server_goes_on_to_a_good_one() {
    let sim = Simulator::start(fast()).unwrap();
    let s = setup();
    std::fs::write(s.root.join("will-fail.pdf"), sample::pdf(2, "x")).unwrap();
    std::fs::write(s.root.join("good.pdf"), sample::pdf(2, "good")).unwrap();
    let client = connect(&sim, "legacy", &s.root, &s.out, &s.log, Agent::default()).await;
    let failed = call(&client, "digitise", json!({"path": "will-fail.pdf"})).await;
    assert_eq!(failed.is_error, Some(true), "{failed:?}");
    assert!(!text(&failed).is_empty());
    assert_eq!(structured(&failed)["outcome"], "error");
    let good = call(&client, "digitise", json!({"path": "good.pdf"})).await;
    assert_ne!(good.is_error, Some(true), "{good:?}");
    assert!(text(&good).contains("good Page 1 of 2"));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_echoed_by_the_server_is_in_no_result_and_no_log() {
    let sim = Simulator::start(fast()).unwrap();
    sim.inject(
        Route::Start,
        [
            Fault::EchoKey,
            Fault::EchoKey,
            Fault::EchoKey,
            Fault::EchoKey,
            Fault::EchoKey,
            Fault::EchoKey,
        ],
    );
    let s = setup();
    std::fs::write(s.root.join("scan.pdf"), sample::pdf(1, "x")).unwrap();
    let client = connect(&sim, "legacy", &s.root, &s.out, &s.log, Agent::default()).await;
    let result = call(&client, "digitise", json!({"path": "scan.pdf"})).await;
    let whole = serde_json::to_string(&result).unwrap();
    assert!(!whole.contains(sim.api_key()), "{whole}");
    let status = call(&client, "job_status", json!({"job_id": "not-a-job"})).await;
    assert_eq!(status.is_error, Some(true));
    client.cancel().await.unwrap();
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(!log.contains(sim.api_key()), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn extract_returns_the_fields_and_job_status_reads_a_job() {
    let sim = Simulator::start(fast()).unwrap();
    let s = setup();
    std::fs::write(s.root.join("invoice.pdf"), sample::pdf(1, "Invoice")).unwrap();
    std::fs::write(s.root.join("long.pdf"), sample::pdf(12, "Long")).unwrap();
    let client = connect(&sim, "doc-ai", &s.root, &s.out, &s.log, Agent::default()).await;
    let schema = json!({"type": "object", "properties": {
        "invoice_no": {"type": "string", "description": "Invoice number"},
        "total": {"type": "number", "description": "Grand total"}}});
    let result = call(
        &client,
        "extract",
        json!({"path": "invoice.pdf", "schema": schema}),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let fields = &structured(&result)["fields"];
    assert!(fields.get("total").is_some(), "{fields}");
    let job = structured(&result)["job_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let status = call(&client, "job_status", json!({"job_id": job})).await;
    assert_ne!(status.is_error, Some(true), "{status:?}");
    assert_eq!(structured(&status)["ended"], true);
    // Over one job's pages, extraction is refused before anything is sent.
    let before = sim.requests().len();
    let long = call(
        &client,
        "extract",
        json!({"path": "long.pdf", "config_id": "cfg_1"}),
    )
    .await;
    assert_eq!(long.is_error, Some(true));
    assert!(
        text(&long).contains("cannot be joined across jobs"),
        "{}",
        text(&long)
    );
    assert_eq!(sim.requests().len(), before);
    client.cancel().await.unwrap();
}
