//! The simulator against a plain HTTP client: every endpoint, every
//! validation error, every fault kind, job progression, real output ZIPs.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sarvam_doc_sim::{
    Fault, FaultPlan, Origin, RandomFaults, RetryAfter, Route, Scenario, SimConfig, Simulator,
    sample,
};
use serde_json::{Value, json};

struct Client {
    sim: Simulator,
    agent: ureq::Agent,
}

struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&self.body)))
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn fast() -> SimConfig {
    let mut c = SimConfig::default();
    c.queue_time = Duration::from_millis(50);
    c.page_time = Duration::from_millis(50);
    c
}

impl Client {
    fn new(config: SimConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Client {
            sim: Simulator::start(config).unwrap(),
            agent,
        }
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        key: Option<&str>,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, ureq::Error> {
        let mut req = http::Request::builder().method(method).uri(url);
        if let Some(k) = key {
            req = req.header("api-subscription-key", k);
        }
        if body.is_some() && key.is_some() {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = self
            .agent
            .run(req.body(body.unwrap_or_default().to_vec()).unwrap())?;
        let body = resp
            .body_mut()
            .with_config()
            .limit(300 * 1024 * 1024)
            .read_to_vec()?;
        Ok(Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body,
        })
    }

    fn api(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let url = format!("{}/doc-digitization/job/v1{path}", self.sim.api_url());
        self.send(
            method,
            &url,
            Some(self.sim.api_key()),
            bytes.as_deref(),
            &[],
        )
        .unwrap()
    }

    fn create(&self, body: Value) -> String {
        let r = self.api("POST", "", Some(body));
        assert_eq!(r.status, 202, "{:?}", r.json());
        r.json()["job_id"].as_str().unwrap().to_owned()
    }

    fn upload_url(&self, job: &str, name: &str) -> String {
        let r = self.api(
            "POST",
            "/upload-files",
            Some(json!({"job_id": job, "files": [name]})),
        );
        assert_eq!(r.status, 200, "{:?}", r.json());
        r.json()["upload_urls"][name]["file_url"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn put(&self, url: &str, bytes: &[u8]) -> Reply {
        self.send(
            "PUT",
            url,
            None,
            Some(bytes),
            &[
                ("x-ms-blob-type", "BlockBlob"),
                ("content-type", "application/pdf"),
            ],
        )
        .unwrap()
    }

    /// Create, upload and start a job; returns its id.
    fn started(&self, name: &str, bytes: &[u8], format: &str) -> String {
        let job =
            self.create(json!({"job_parameters": {"language": "ta-IN", "output_format": format}}));
        let url = self.upload_url(&job, name);
        assert_eq!(self.put(&url, bytes).status, 201);
        let r = self.api("POST", &format!("/{job}/start"), None);
        assert_eq!(r.status, 202, "{:?}", r.json());
        job
    }

    fn wait_terminal(&self, job: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.api("GET", &format!("/{job}/status"), None).json();
            if ["Completed", "PartiallyCompleted", "Failed"]
                .contains(&s["job_state"].as_str().unwrap())
            {
                return s;
            }
            assert!(Instant::now() < deadline, "job never ended: {s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn outputs(&self, job: &str) -> Vec<(String, String)> {
        let r = self.api("POST", &format!("/{job}/download-files"), None);
        assert_eq!(r.status, 200, "{:?}", r.json());
        let urls = r.json()["download_urls"].as_object().unwrap().clone();
        assert_eq!(urls.len(), 1);
        let (_, entry) = urls.iter().next().unwrap();
        let zip = self
            .send("GET", entry["file_url"].as_str().unwrap(), None, None, &[])
            .unwrap();
        assert_eq!(zip.status, 200);
        assert_eq!(
            zip.body.len() as u64,
            entry["file_metadata"]["fileSize"].as_u64().unwrap()
        );
        let mut archive = zip::ZipArchive::new(Cursor::new(zip.body)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut f = archive.by_index(i).unwrap();
                let mut text = String::new();
                f.read_to_string(&mut text).unwrap();
                (f.name().unwrap().into_owned(), text)
            })
            .collect()
    }
}

#[test]
fn a_pdf_job_goes_from_accepted_to_completed_with_real_outputs() {
    let c = Client::new(fast());
    let job = c.create(json!({"job_parameters": {"language": "hi-IN", "output_format": "md"}}));
    let status = c.api("GET", &format!("/{job}/status"), None);
    assert_eq!(status.status, 200);
    assert_eq!(status.json()["job_state"], "Accepted");

    let url = c.upload_url(&job, "report.pdf");
    assert!(url.starts_with(&c.sim.storage_url()));
    assert_eq!(
        c.api("GET", &format!("/{job}/status"), None).json()["job_state"],
        "Accepted"
    );
    assert_eq!(c.put(&url, &sample::pdf(3, "Report")).status, 201);
    assert_eq!(
        c.api("GET", &format!("/{job}/status"), None).json()["job_state"],
        "Pending"
    );

    let started = c.api("POST", &format!("/{job}/start"), None);
    assert_eq!(started.status, 202);
    assert_eq!(started.json()["job_details"][0]["total_pages"], 3);

    // It runs page by page.
    let mut seen = Vec::new();
    let end = c.wait_terminal_observing(&job, &mut seen);
    assert!(seen.contains(&"Running".to_owned()), "{seen:?}");
    assert_eq!(end["job_state"], "Completed");
    let detail = &end["job_details"][0];
    assert_eq!(detail["state"], "Success");
    assert_eq!(
        (
            detail["pages_processed"].as_u64(),
            detail["pages_succeeded"].as_u64(),
            detail["pages_failed"].as_u64()
        ),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(detail["inputs"][0]["file_name"], "report.pdf");
    assert!(end["created_at"].as_str().unwrap().ends_with('Z'));

    let pages = c.outputs(&job);
    let names: Vec<_> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["page_001.md", "page_002.md", "page_003.md"]);
    assert!(pages[1].1.starts_with("# Page 2\n"));
    assert!(pages[1].1.contains("report.pdf"));
    assert!(!c.sim.storage_saw_api_key());
}

impl Client {
    fn wait_terminal_observing(&self, job: &str, seen: &mut Vec<String>) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.api("GET", &format!("/{job}/status"), None).json();
            let state = s["job_state"].as_str().unwrap().to_owned();
            if seen.last() != Some(&state) {
                seen.push(state.clone());
            }
            if ["Completed", "PartiallyCompleted", "Failed"].contains(&state.as_str()) {
                return s;
            }
            assert!(Instant::now() < deadline, "job never ended: {s}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn zip_jobs_count_images_and_outputs_follow_the_format() {
    let c = Client::new(fast());
    for (format, ext, check) in [
        ("html", "html", "<h1>Page 1</h1>"),
        ("json", "json", "\"page_number\":1"),
    ] {
        let job = c.started("scans.zip", &sample::image_zip(2), format);
        let end = c.wait_terminal(&job);
        assert_eq!(end["job_details"][0]["total_pages"], 2);
        let pages = c.outputs(&job);
        assert_eq!(pages.len(), 2);
        assert!(pages[0].0.ends_with(ext));
        assert!(pages[0].1.contains(check), "{}", pages[0].1);
    }
}

#[test]
fn partial_and_failed_jobs_report_page_errors() {
    let c = Client::new(fast());
    let job = c.started("partial-scan.pdf", &sample::pdf(4, "x"), "md");
    let end = c.wait_terminal(&job);
    assert_eq!(end["job_state"], "PartiallyCompleted");
    let d = &end["job_details"][0];
    assert_eq!(d["state"], "PartialSuccess");
    assert_eq!(
        (d["pages_succeeded"].as_u64(), d["pages_failed"].as_u64()),
        (Some(2), Some(2))
    );
    let failed: Vec<_> = d["page_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["page_number"].as_u64().unwrap())
        .collect();
    assert_eq!(failed, [2, 4]);
    let names: Vec<_> = c.outputs(&job).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["page_001.md", "page_003.md"]);

    let job = c.started("will-fail.pdf", &sample::pdf(2, "x"), "md");
    let end = c.wait_terminal(&job);
    assert_eq!(end["job_state"], "Failed");
    assert!(!end["error_message"].as_str().unwrap().is_empty());
    let r = c.api("POST", &format!("/{job}/download-files"), None);
    assert_eq!(r.status, 400);
}

#[test]
fn a_scenario_in_the_config_overrides_the_file_name() {
    let mut config = fast();
    config.scenario = Some(Scenario::Failed);
    let c = Client::new(config);
    let job = c.started("fine.pdf", &sample::pdf(1, "x"), "md");
    assert_eq!(c.wait_terminal(&job)["job_state"], "Failed");
}

#[test]
fn auth_is_checked_and_every_answer_has_a_request_id() {
    let c = Client::new(fast());
    let url = format!("{}/doc-digitization/job/v1", c.sim.api_url());
    for key in [None, Some("wrong")] {
        let r = c.send("POST", &url, key, Some(b"{}"), &[]).unwrap();
        assert_eq!(r.status, 403);
        assert_eq!(r.code(), "invalid_api_key_error");
        let id = r.headers["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(r.json()["error"]["request_id"], id.as_str());
        assert!(id.len() > 9 && id.as_bytes()[8] == b'_', "{id}");
        assert!(r.headers.contains_key("date"));
    }
    assert_eq!(c.sim.jobs(), 0);
}

#[test]
fn echo_key_id_puts_the_key_in_the_request_id_of_2xx_api_answers_only() {
    let mut config = fast();
    config.api_key = "sk_echo_0123456789".to_owned();
    let c = Client::new(config);
    let id_of = |r: &Reply| r.headers["x-request-id"].to_str().unwrap().to_owned();
    let url = format!("{}/doc-digitization/job/v1", c.sim.api_url());
    c.sim
        .inject(Route::CreateJob, [Fault::EchoKeyInId, Fault::EchoKeyInId]);
    // An error answer keeps its plain id.
    let r = c
        .send("POST", &url, Some("wrong"), Some(b"{}"), &[])
        .unwrap();
    assert_eq!(r.status, 403);
    assert!(!id_of(&r).contains("sk_echo"), "{}", id_of(&r));
    // A 2xx carries the key after its id.
    let r = c
        .send("POST", &url, Some("sk_echo_0123456789"), Some(b"{}"), &[])
        .unwrap();
    assert_eq!(r.status, 202);
    let id = id_of(&r);
    assert!(id.ends_with("-sk_echo_0123456789"), "{id}");
    assert!(id.len() > 9 && id.as_bytes()[8] == b'_', "{id}");
    // Storage never echoes it.
    let job = r.json()["job_id"].as_str().unwrap().to_owned();
    let upload = c.upload_url(&job, "a.pdf");
    c.sim.inject(Route::StoragePut, [Fault::EchoKeyInId]);
    let r = c.put(&upload, &sample::pdf(1, "x"));
    assert_eq!(r.status, 201);
    assert!(
        r.headers
            .get("x-request-id")
            .is_none_or(|v| !v.to_str().unwrap().contains("sk_echo")),
        "{:?}",
        r.headers
    );
}

#[test]
fn create_job_validates_its_parameters() {
    let c = Client::new(fast());
    // An empty body and {} both give a Hindi Markdown job.
    let r = c
        .send(
            "POST",
            &format!("{}/doc-digitization/job/v1", c.sim.api_url()),
            Some("sim-key"),
            None,
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(
        r.json()["job_parameters"],
        json!({"language": "hi-IN", "output_format": "md"})
    );
    assert_eq!(r.json()["storage_container_type"], "Azure");
    for (body, needle) in [
        (json!({"job_parameters": {"language": "xx-IN"}}), "language"),
        (
            json!({"job_parameters": {"output_format": "markdown"}}),
            "output_format",
        ),
        (
            json!({"callback": {"url": "http://example.com/hook"}}),
            "https",
        ),
        (json!([1, 2]), "JSON object"),
    ] {
        let r = c.api("POST", "", Some(body));
        assert_eq!(r.status, 400);
        assert_eq!(r.code(), "invalid_request_error");
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle)
        );
    }
    let r = c.api(
        "POST",
        "",
        Some(json!({"callback": {"url": "https://example.com/hook", "auth_token": "t"}})),
    );
    assert_eq!(r.status, 202);
}

#[test]
fn upload_files_takes_exactly_one_pdf_or_zip() {
    let c = Client::new(fast());
    let job = c.create(json!({}));
    for files in [
        json!([]),
        json!(["a.pdf", "b.pdf"]),
        json!(["a.docx"]),
        json!(["a.png"]),
    ] {
        let r = c.api(
            "POST",
            "/upload-files",
            Some(json!({"job_id": job, "files": files})),
        );
        assert_eq!(r.status, 400, "{files}");
        assert_eq!(r.code(), "invalid_request_error");
    }
    let r = c.api(
        "POST",
        "/upload-files",
        Some(json!({"job_id": "nope", "files": ["a.pdf"]})),
    );
    assert_eq!(r.status, 400);
    let r = c.api(
        "POST",
        "/upload-files",
        Some(json!({"job_id": uuid::Uuid::new_v4(), "files": ["a.pdf"]})),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "not_found_error");
}

#[test]
fn start_checks_upload_parse_pages_size_and_credits() {
    let mut config = fast();
    config.credits = Some(5);
    config.max_file_bytes = 4096;
    let c = Client::new(config);

    let job = c.create(json!({}));
    c.upload_url(&job, "a.pdf");
    let r = c.api("POST", &format!("/{job}/start"), None);
    assert_eq!((r.status, r.code()), (400, "invalid_request_error".into()));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Upload")
    );

    let job = c.create(json!({}));
    let url = c.upload_url(&job, "a.pdf");
    c.put(&url, b"this is not a pdf");
    let r = c.api("POST", &format!("/{job}/start"), None);
    assert_eq!(r.status, 400);

    let job = c.create(json!({}));
    let url = c.upload_url(&job, "big.pdf");
    assert_eq!(c.put(&url, &vec![b'x'; 5000]).status, 413);

    let job = c.create(json!({}));
    let url = c.upload_url(&job, "long.pdf");
    c.put(&url, &sample::pdf(11, "x"));
    let r = c.api("POST", &format!("/{job}/start"), None);
    assert_eq!(
        (r.status, r.code()),
        (422, "max_page_limit_exceeded".into())
    );

    // 5 pages of credit: a 3-page job runs, the next 3-page job does not.
    let job = c.started("a.pdf", &sample::pdf(3, "x"), "md");
    let r = c.api("POST", &format!("/{job}/start"), None);
    assert_eq!(r.status, 400, "a second start is refused");
    let job = c.create(json!({}));
    let url = c.upload_url(&job, "b.pdf");
    c.put(&url, &sample::pdf(3, "x"));
    let r = c.api("POST", &format!("/{job}/start"), None);
    assert_eq!(
        (r.status, r.code()),
        (429, "insufficient_quota_error".into())
    );
}

#[test]
fn paths_methods_and_job_ids_are_checked() {
    let c = Client::new(fast());
    let base = format!("{}/doc-digitization/job/v1", c.sim.api_url());
    let job = c.started("a.pdf", &sample::pdf(1, "x"), "md");
    // download-files is POST only.
    let r = c
        .send(
            "GET",
            &format!("{base}/{job}/download-files"),
            Some("sim-key"),
            None,
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 405);
    let r = c.api("GET", &format!("/{}/status", uuid::Uuid::new_v4()), None);
    assert_eq!((r.status, r.code()), (404, "not_found_error".into()));
    let r = c.api("GET", "/not-a-uuid/status", None);
    assert_eq!(r.status, 400);
    let r = c.api("GET", "/elsewhere", None);
    assert_eq!(r.status, 404);
    // Outputs are not ready before the job ends.
    let mut slow = fast();
    slow.page_time = Duration::from_secs(60);
    let c2 = Client::new(slow);
    let job = c2.started("a.pdf", &sample::pdf(2, "x"), "md");
    let r = c2.api("POST", &format!("/{job}/download-files"), None);
    assert_eq!(r.status, 409);
}

#[test]
fn storage_behaves_like_azure_put_blob() {
    let c = Client::new(fast());
    let job = c.create(json!({}));
    let url = c.upload_url(&job, "a.pdf");
    // No blob type.
    let r = c.send("PUT", &url, None, Some(b"%PDF-"), &[]).unwrap();
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("x-ms-blob-type"));
    // Chunked, without a Content-Length: 411.
    let r = {
        let mut reader: &[u8] = b"%PDF-1.4";
        let resp = c
            .agent
            .put(&url)
            .header("x-ms-blob-type", "BlockBlob")
            .send(ureq::SendBody::from_reader(&mut reader))
            .unwrap();
        resp.status().as_u16()
    };
    assert_eq!(r, 411);
    // A tampered signature: 403.
    let r = c.put(&url.replace("sig=", "sig=0"), b"%PDF-");
    assert_eq!(r.status, 403);
    // The right request: 201, no key needed or wanted.
    assert_eq!(c.put(&url, &sample::pdf(1, "x")).status, 201);
    assert!(!c.sim.storage_saw_api_key());
    // A storage request with the key is noticed.
    c.send(
        "GET",
        &format!("{}/download/x/y", c.sim.storage_url()),
        Some("sim-key"),
        None,
        &[],
    )
    .unwrap();
    assert!(c.sim.storage_saw_api_key());
}

#[test]
fn presigned_urls_expire() {
    let mut config = fast();
    config.url_ttl = Duration::ZERO;
    let c = Client::new(config);
    let job = c.create(json!({}));
    let url = c.upload_url(&job, "a.pdf");
    std::thread::sleep(Duration::from_millis(1100));
    let r = c.put(&url, &sample::pdf(1, "x"));
    assert_eq!(r.status, 403);
    assert!(String::from_utf8_lossy(&r.body).contains("expired"));
}

#[test]
fn status_faults_answer_as_the_docs_say() {
    let c = Client::new(fast());
    let job = c.started("a.pdf", &sample::pdf(1, "x"), "md");
    c.sim.inject(
        Route::Status,
        [
            Fault::RateLimited(RetryAfter::Seconds(3)),
            Fault::RateLimited(RetryAfter::Date(5)),
            Fault::QuotaExhausted,
            Fault::HighLoad,
            Fault::Internal,
            Fault::UnknownState,
            Fault::ExtraFields,
            Fault::InvalidJson,
        ],
    );
    let path = format!("/{job}/status");
    let r = c.api("GET", &path, None);
    assert_eq!(
        (r.status, r.code()),
        (429, "rate_limit_exceeded_error".into())
    );
    assert_eq!(r.headers["retry-after"], "3");
    let r = c.api("GET", &path, None);
    assert_eq!(r.status, 429);
    let at = httpdate::parse_http_date(r.headers["retry-after"].to_str().unwrap()).unwrap();
    let date = httpdate::parse_http_date(r.headers["date"].to_str().unwrap()).unwrap();
    assert_eq!(at.duration_since(date).unwrap(), Duration::from_secs(5));
    let r = c.api("GET", &path, None);
    assert_eq!(
        (r.status, r.code()),
        (429, "insufficient_quota_error".into())
    );
    let r = c.api("GET", &path, None);
    assert_eq!((r.status, r.code()), (503, "high_load_error".into()));
    let r = c.api("GET", &path, None);
    assert_eq!((r.status, r.code()), (500, "internal_server_error".into()));
    let r = c.api("GET", &path, None);
    assert_eq!(r.json()["job_state"], "Reticulating");
    let r = c.api("GET", &path, None);
    assert_eq!(r.json()["sim_flag"], true);
    assert!(r.json()["job_id"].is_string());
    let r = c.api("GET", &path, None);
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    // And then back to normal.
    assert!(c.api("GET", &path, None).json()["job_state"].is_string());
    let faults: Vec<_> = c
        .sim
        .requests()
        .into_iter()
        .filter_map(|r| r.fault)
        .collect();
    assert_eq!(faults.len(), 8);
}

#[test]
fn dropped_truncated_and_delayed_answers() {
    let c = Client::new(fast());
    c.sim.inject(
        Route::CreateJob,
        [
            Fault::DropBefore,
            Fault::DropAfter,
            Fault::Truncated,
            Fault::Delay(Duration::from_millis(300)),
        ],
    );
    let url = format!("{}/doc-digitization/job/v1", c.sim.api_url());
    assert!(
        c.send("POST", &url, Some("sim-key"), Some(b"{}"), &[])
            .is_err()
    );
    assert_eq!(c.sim.jobs(), 0, "dropped before: no effect");
    assert!(
        c.send("POST", &url, Some("sim-key"), Some(b"{}"), &[])
            .is_err()
    );
    assert_eq!(c.sim.jobs(), 1, "dropped after: the job exists");
    assert!(
        c.send("POST", &url, Some("sim-key"), Some(b"{}"), &[])
            .is_err(),
        "truncated body"
    );
    assert_eq!(c.sim.jobs(), 2);
    let t = Instant::now();
    let r = c
        .send("POST", &url, Some("sim-key"), Some(b"{}"), &[])
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, 202);
    let statuses: Vec<_> = c.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [None, None, Some(202), Some(202)]);
}

#[test]
fn storage_faults_apply_too() {
    let c = Client::new(fast());
    let job = c.create(json!({}));
    let url = c.upload_url(&job, "a.pdf");
    c.sim
        .inject(Route::StoragePut, [Fault::HighLoad, Fault::DropBefore]);
    assert_eq!(c.put(&url, &sample::pdf(1, "x")).status, 503);
    assert!(
        c.send(
            "PUT",
            &url,
            None,
            Some(&sample::pdf(1, "x")),
            &[("x-ms-blob-type", "BlockBlob")]
        )
        .is_err()
    );
    assert_eq!(c.put(&url, &sample::pdf(1, "x")).status, 201);
}

#[test]
fn random_faults_are_seeded_and_limited_to_their_routes() {
    let run = || {
        let mut config = fast();
        let mut random = RandomFaults::new(50, vec![Fault::HighLoad], 7);
        random.routes = vec![Route::CreateJob];
        config.faults = FaultPlan::default().random(random);
        let c = Client::new(config);
        (0..40)
            .map(|_| c.api("POST", "", Some(json!({}))).status)
            .collect::<Vec<_>>()
    };
    let a = run();
    assert_eq!(a, run());
    let faults = a.iter().filter(|s| **s == 503).count();
    assert!((10..=30).contains(&faults), "{faults}");
}

#[test]
fn the_log_records_method_path_headers_and_origin() {
    let c = Client::new(fast());
    let job = c.started("a.pdf", &sample::pdf(1, "x"), "md");
    let log = c.sim.requests();
    let routes: Vec<_> = log.iter().map(|r| r.route).collect();
    assert_eq!(
        routes,
        [
            Some(Route::CreateJob),
            Some(Route::UploadFiles),
            Some(Route::StoragePut),
            Some(Route::Start)
        ]
    );
    assert_eq!(log[3].path, format!("/doc-digitization/job/v1/{job}/start"));
    assert_eq!(log[3].method, http::Method::POST);
    assert_eq!(log[0].headers["api-subscription-key"], "sim-key");
    assert_eq!(log[2].origin, Origin::Storage);
    assert!(!log[2].path.contains("sig="), "the log keeps no signatures");
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(c.sim.count(Route::Start), 1);
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let c = Client::new(fast());
    let mut stream = TcpStream::connect(c.sim.api_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = "POST /doc-digitization/job/v1 HTTP/1.1\r\nhost: x\r\napi-subscription-key: sim-key\r\ncontent-length: 2\r\n\r\n{}";
    let mut all = String::new();
    for _ in 0..3 {
        stream.write_all(request.as_bytes()).unwrap();
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap();
        all.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert_eq!(all.matches("HTTP/1.1 202 Accepted").count(), 3, "{all}");
    assert_eq!(c.sim.jobs(), 3);
}

#[test]
fn the_simulator_listens_on_loopback_only() {
    let mut config = SimConfig::default();
    config.api_addr = "0.0.0.0:0".parse().unwrap();
    let err = Simulator::start(config).unwrap_err();
    assert!(err.to_string().contains("loopback"));
}

#[test]
fn many_concurrent_connections_are_served() {
    let c = Client::new(fast());
    let addr = c.sim.api_addr();
    let job = c.create(json!({}));
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let job = job.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let req = format!("GET /doc-digitization/job/v1/{job}/status HTTP/1.1\r\nhost: x\r\napi-subscription-key: sim-key\r\n\r\n");
                let mut ok = 0;
                for _ in 0..20 {
                    s.write_all(req.as_bytes()).unwrap();
                    let mut buf = [0u8; 8192];
                    let n = s.read(&mut buf).unwrap();
                    ok += usize::from(buf[..n].starts_with(b"HTTP/1.1 200"));
                }
                ok
            })
        })
        .collect();
    let ok: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(ok, 64 * 20);
}

#[test]
fn two_thousand_connections_open_at_once_are_all_answered() {
    let c = Client::new(fast());
    let job = c.create(json!({}));
    let req = format!(
        "GET /doc-digitization/job/v1/{job}/status HTTP/1.1\r\nhost: x\r\napi-subscription-key: sim-key\r\n\r\n"
    );
    // Open every connection and send on each before reading any answer.
    let mut streams: Vec<TcpStream> = (0..2000)
        .map(|_| TcpStream::connect(c.sim.api_addr()).unwrap())
        .collect();
    for s in &mut streams {
        s.write_all(req.as_bytes()).unwrap();
    }
    let mut ok = 0;
    for s in &mut streams {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        ok += usize::from(buf[..n].starts_with(b"HTTP/1.1 200"));
    }
    assert_eq!(ok, 2000);
}
