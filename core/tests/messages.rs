//! Requests and answers of every endpoint, against the API reference's own
//! examples and against arbitrary input.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::Duration;

use http::{Response, StatusCode};
use sarvam_doc_core::model::{Callback, JobParameters};
use sarvam_doc_core::{
    Api, ApiKey, Body, Config, Error, JobId,
    api::Endpoint,
    error::{InputError, ProtocolErrorKind, RetryClass},
    model::{
        CreateJobRequest, ErrorCode, FileState, JobState, Language, OutputFormat,
        StorageContainerType,
    },
};

const KEY: &str = "sk_live_Zq7-very-secret-key";
const JOB: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

fn api() -> Api {
    Api::new(
        Config::builder(ApiKey::new(KEY).unwrap())
            .base_url("http://127.0.0.1:4010")
            .build()
            .unwrap(),
    )
}

fn job() -> JobId {
    JOB.parse().unwrap()
}

fn uri(s: &str) -> http::Uri {
    s.parse().unwrap()
}

fn response(status: u16, body: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

// The API reference's examples (D-old), verbatim where they are complete.
const CREATE_EXAMPLE: &str = r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","storage_container_type":"Azure","job_parameters":{"language":"hi-IN","output_format":"html"},"job_state":"Accepted"}"#;
const STATUS_EXAMPLE: &str = r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Pending","created_at":"2024-01-15T09:30:00Z","updated_at":"2024-01-15T10:00:00Z","storage_container_type":"Azure","total_files":1,"successful_files_count":0,"failed_files_count":0,"error_message":"","job_details":[{"inputs":[{"file_name":"invoice_january.pdf","file_id":"file-1234abcd"}],"outputs":[{"file_name":"invoice_january_output.json","file_id":"file-5678efgh"}],"state":"Pending","total_pages":12,"pages_processed":0,"pages_succeeded":0,"pages_failed":0,"error_message":"","error_code":null,"page_errors":[]}]}"#;
const UPLOAD_EXAMPLE: &str = r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Accepted","upload_urls":{"invoice_12345.pdf":{"file_url":"https://azureblobstorage.blob.core.windows.net/documents/invoice_12345.pdf?sv=2023-01-01&sr=b&sig=abc","file_metadata":null}},"storage_container_type":"Azure"}"#;
const DOWNLOAD_EXAMPLE: &str = r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed","storage_container_type":"Azure","download_urls":{"invoice_12345.pdf":{"file_url":"https://azureblobstorage.blob.core.windows.net/documents/invoice_12345.pdf?sv=2023-01-01&sr=b&sig=abc","file_metadata":{"contentType":"application/pdf","fileSize":245760,"lastModified":"2024-06-10T12:00:00Z"}}},"error_code":null,"error_message":null}"#;
const ERROR_EXAMPLE: &str = r#"{"error":{"message":"Invalid API key","code":"invalid_api_key_error","request_id":"20261010_6c1e2f4a-0000-4000-8000-000000000000"}}"#;

#[test]
fn create_job_example_parses() {
    let created = api()
        .parse_create_job(&response(202, CREATE_EXAMPLE))
        .unwrap();
    assert_eq!(created.job_id, job());
    assert_eq!(created.storage_container_type, StorageContainerType::Azure);
    assert_eq!(created.job_parameters.language, Language::HINDI);
    assert_eq!(created.job_parameters.output_format, OutputFormat::Html);
    assert_eq!(created.job_state, JobState::Accepted);
}

#[test]
fn create_job_echo_without_parameters_takes_the_api_defaults() {
    let body = format!(
        r#"{{"job_id":"{JOB}","storage_container_type":"Azure","job_parameters":{{}},"job_state":"Accepted"}}"#
    );
    let created = api().parse_create_job(&response(202, &body)).unwrap();
    assert_eq!(created.job_parameters, JobParameters::default());
    assert_eq!(created.job_parameters.language.as_str(), "hi-IN");
    assert_eq!(created.job_parameters.output_format.as_str(), "md");
}

#[test]
fn status_example_parses_with_page_metrics() {
    let status = api()
        .parse_status(&response(200, STATUS_EXAMPLE), &job())
        .unwrap();
    assert_eq!(status.job_id, job());
    assert_eq!(status.job_state, JobState::Pending);
    assert_eq!(status.created_at.unix_timestamp(), 1_705_311_000);
    assert_eq!(status.updated_at.unix_timestamp(), 1_705_312_800);
    assert_eq!(status.total_files, 1);
    let detail = &status.job_details[0];
    assert_eq!(detail.state, FileState::Pending);
    assert_eq!(detail.inputs[0].file_name, "invoice_january.pdf");
    assert_eq!(detail.outputs[0].file_id, "file-5678efgh");
    assert_eq!(detail.total_pages, 12);
    assert_eq!(detail.error_code, None);
    assert_eq!(status.pages().total, 12);
    assert_eq!(status.page_errors().count(), 0);
}

#[test]
fn start_answers_with_a_status() {
    let body = STATUS_EXAMPLE.replace("\"Pending\",\"created_at\"", "\"Accepted\",\"created_at\"");
    let status = api().parse_start(&response(202, &body), &job()).unwrap();
    assert_eq!(status.job_state, JobState::Accepted);
}

#[test]
fn minimal_status_takes_every_default() {
    let body = format!(
        r#"{{"job_id":"{JOB}","job_state":"Running","created_at":"2024-01-15T09:30:00Z","updated_at":"2024-01-15T09:30:00Z","storage_container_type":"Azure"}}"#
    );
    let status = api().parse_status(&response(200, &body), &job()).unwrap();
    assert_eq!(status.total_files, 0);
    assert_eq!(status.successful_files_count, 0);
    assert_eq!(status.error_message, "");
    assert!(status.job_details.is_empty());
}

#[test]
fn upload_files_example_parses_and_names_the_file() {
    let parsed = api()
        .parse_upload_files(&response(200, UPLOAD_EXAMPLE), &job(), "invoice_12345.pdf")
        .unwrap();
    assert_eq!(parsed.upload_urls.len(), 1);
    assert!(
        parsed.upload_urls["invoice_12345.pdf"]
            .file_url
            .to_string()
            .starts_with("https://")
    );
    // An answer without a URL for the file asked about breaks the contract.
    let err = api()
        .parse_upload_files(&response(200, UPLOAD_EXAMPLE), &job(), "other.pdf")
        .unwrap_err();
    match err {
        Error::Protocol(e) => assert!(matches!(e.kind, ProtocolErrorKind::Contract { .. })),
        other => panic!("{other:?}"),
    }
}

#[test]
fn download_files_example_parses_with_metadata() {
    let parsed = api()
        .parse_download_files(&response(200, DOWNLOAD_EXAMPLE), &job())
        .unwrap();
    assert_eq!(parsed.job_state, JobState::Completed);
    let entry = &parsed.download_urls["invoice_12345.pdf"];
    assert_eq!(entry.announced_size(), Some(245_760));
    assert_eq!(parsed.error_code, None);
    assert_eq!(parsed.error_message, None);
}

#[test]
fn error_example_parses_into_an_api_error() {
    let err = api()
        .parse_status(&response(403, ERROR_EXAMPLE), &job())
        .unwrap_err();
    let Error::Api(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.status, StatusCode::FORBIDDEN);
    assert_eq!(e.code, Some(ErrorCode::InvalidApiKey));
    assert_eq!(e.message, "Invalid API key");
    assert_eq!(
        e.request_id.as_deref(),
        Some("20261010_6c1e2f4a-0000-4000-8000-000000000000")
    );
    assert_eq!(err.retry_class(), RetryClass::Fatal);
}

#[test]
fn request_id_falls_back_to_the_header() {
    let body = r#"{"error":{"message":"slow down","code":"rate_limit_exceeded_error"}}"#;
    let r = Response::builder()
        .status(429)
        .header("x-request-id", "hdr-id")
        .header("retry-after", "3")
        .body(body)
        .unwrap();
    let Error::Api(e) = api().parse_status(&r, &job()).unwrap_err() else {
        panic!()
    };
    assert_eq!(e.request_id.as_deref(), Some("hdr-id"));
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    assert_eq!(e.retry_class(), RetryClass::Throttled);
    // An empty request id in the body also falls back to the header.
    let body = r#"{"error":{"message":"m","code":"internal_server_error","request_id":""}}"#;
    let r = Response::builder()
        .status(500)
        .header("x-request-id", "hdr-id")
        .body(body)
        .unwrap();
    assert_eq!(
        api().parse_status(&r, &job()).unwrap_err().request_id(),
        Some("hdr-id")
    );
}

#[test]
fn documented_and_undocumented_error_codes_are_typed() {
    for (status, code, class) in [
        (400, "invalid_request_error", RetryClass::Fatal),
        (403, "invalid_api_key_error", RetryClass::Fatal),
        (404, "not_found_error", RetryClass::Fatal),
        (422, "unprocessable_entity_error", RetryClass::Fatal),
        (422, "max_page_limit_exceeded", RetryClass::Fatal),
        (429, "insufficient_quota_error", RetryClass::Fatal),
        (429, "rate_limit_exceeded_error", RetryClass::Throttled),
        (500, "internal_server_error", RetryClass::Server),
        (503, "high_load_error", RetryClass::Server),
        (503, "brand_new_code", RetryClass::Server),
    ] {
        let body = format!(r#"{{"error":{{"message":"m","code":"{code}"}}}}"#);
        let err = api()
            .parse_status(&response(status, &body), &job())
            .unwrap_err();
        let Error::Api(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.code.as_ref().map(ErrorCode::as_str), Some(code));
        assert_eq!(
            e.code.as_ref().unwrap().is_unknown(),
            code == "brand_new_code"
        );
        assert_eq!(err.retry_class(), class, "{status} {code}");
    }
}

#[test]
fn a_page_limit_refusal_is_known_by_its_code_or_its_words_and_names_the_limit() {
    for (status, code, message, limit) in [
        (
            422,
            "max_page_limit_exceeded",
            "The document has 25 pages, over the limit of 10",
            Some(Some(10)),
        ),
        (422, "max_page_limit_exceeded", "too long", Some(None)),
        (
            400,
            "invalid_request_error",
            "invalid_request_error: the job has 25 pages, over the limit of 5.",
            Some(Some(5)),
        ),
        (
            400,
            "invalid_request_error",
            "a job takes at most 30 pages",
            Some(Some(30)),
        ),
        (
            400,
            "invalid_request_error",
            "the language is not supported",
            None,
        ),
        (
            500,
            "internal_server_error",
            "page limit service down",
            None,
        ),
    ] {
        let body = serde_json::json!({"error": {"message": message, "code": code}}).to_string();
        let err = api()
            .parse_status(&response(status, &body), &job())
            .unwrap_err();
        let Error::Api(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.is_page_limit(), limit.is_some(), "{message}");
        assert_eq!(e.page_limit(), limit.flatten(), "{message}");
    }
}

/// Every status from 100 to 599: 2xx with a valid body succeeds, anything
/// else is one ApiError carrying that status, whatever the body.
#[test]
fn every_status_code_goes_through_the_right_path() {
    let bodies = [ERROR_EXAMPLE, "", "<html>oops</html>", "{\"error\":1}"];
    for status in 100..=599u16 {
        for body in bodies {
            let result = api().parse_status(&response(status, body), &job());
            if (200..300).contains(&status) {
                // None of these bodies is a status.
                assert!(matches!(result, Err(Error::Protocol(_))), "{status}");
            } else {
                let Err(Error::Api(e)) = result else {
                    panic!("{status}: {result:?}")
                };
                assert_eq!(e.status.as_u16(), status);
                let expected = match status {
                    429 => RetryClass::Throttled,
                    408 | 500..=599 => RetryClass::Server,
                    _ => RetryClass::Fatal,
                };
                assert_eq!(e.retry_class(), expected, "{status}");
                if body == ERROR_EXAMPLE {
                    assert_eq!(e.code, Some(ErrorCode::InvalidApiKey));
                } else {
                    assert_eq!(e.code, None);
                    assert_eq!(e.message, body);
                }
            }
        }
        if (200..300).contains(&status) {
            assert!(
                api()
                    .parse_status(&response(status, STATUS_EXAMPLE), &job())
                    .is_ok()
            );
        }
    }
}

#[test]
fn every_job_state_and_an_unknown_one_parse() {
    for state in JobState::KNOWN
        .iter()
        .cloned()
        .chain([JobState::from("Archived")])
    {
        let body = STATUS_EXAMPLE.replacen("\"Pending\"", &format!("\"{state}\""), 1);
        let status = api().parse_status(&response(200, &body), &job()).unwrap();
        assert_eq!(status.job_state, state);
        assert_eq!(
            status.job_state.is_terminal(),
            ["Completed", "PartiallyCompleted", "Failed", "Rejected"].contains(&state.as_str())
        );
    }
}

#[test]
fn unknown_fields_and_values_are_tolerated() {
    let body = STATUS_EXAMPLE
        .replacen("{", r#"{"brand_new_field":{"nested":[1,2,3]},"#, 1)
        .replace("\"Azure\"", "\"Azure_V2\"")
        .replace("\"state\":\"Pending\"", "\"state\":\"Queued\"");
    let status = api().parse_status(&response(200, &body), &job()).unwrap();
    assert_eq!(status.storage_container_type.as_str(), "Azure_V2");
    assert_eq!(status.job_details[0].state.as_str(), "Queued");
}

#[test]
fn bodies_over_the_cap_are_refused_with_their_size() {
    let api = Api::new(
        Config::builder(ApiKey::new(KEY).unwrap())
            .base_url("http://127.0.0.1:1")
            .max_json_body(100)
            .build()
            .unwrap(),
    );
    let err = api
        .parse_status(&response(200, STATUS_EXAMPLE), &job())
        .unwrap_err();
    let Error::Protocol(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        e.kind,
        ProtocolErrorKind::BodyTooLarge {
            limit: 100,
            actual: STATUS_EXAMPLE.len()
        }
    );
    assert!(e.excerpt.len() <= 520);
    assert_eq!(err.retry_class(), RetryClass::Server);
    assert!(err.may_have_taken_effect());
}

#[test]
fn truncated_and_invalid_bodies_are_protocol_errors_with_an_excerpt() {
    let cut = &STATUS_EXAMPLE[..STATUS_EXAMPLE.len() / 2];
    let err = api().parse_status(&response(200, cut), &job()).unwrap_err();
    let Error::Protocol(e) = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(e.kind, ProtocolErrorKind::InvalidBody { .. }));
    assert!(e.excerpt.starts_with("{\"job_id\""));
    let msg = err.to_string();
    assert!(msg.contains("not the documented JSON"), "{msg}");
    assert!(msg.contains("retry later"), "{msg}");
    // A job id that is not a UUID is a protocol error too, not a panic.
    let bad = STATUS_EXAMPLE.replace(JOB, "not-a-uuid");
    assert!(matches!(
        api().parse_status(&response(200, &bad), &job()),
        Err(Error::Protocol(_))
    ));
}

#[test]
fn api_requests_have_the_documented_method_path_headers_and_body() {
    let api = api();
    let create = api
        .create_job(&CreateJobRequest::new(
            Language::BENGALI,
            OutputFormat::Json,
        ))
        .unwrap();
    assert_eq!(create.method(), "POST");
    assert_eq!(
        create.uri(),
        "http://127.0.0.1:4010/doc-digitization/job/v1"
    );
    assert_eq!(create.headers()["api-subscription-key"], KEY);
    assert_eq!(create.headers()["content-type"], "application/json");
    assert_eq!(create.headers()["accept"], "application/json");
    assert!(
        create.headers()["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("sarvam-doc/")
    );
    assert_eq!(create.extensions().get(), Some(&Endpoint::CreateJob));
    assert_eq!(
        create.body(),
        &Body::Bytes(br#"{"job_parameters":{"language":"bn-IN","output_format":"json"}}"#.to_vec())
    );

    let empty = api.create_job(&CreateJobRequest::default()).unwrap();
    assert_eq!(empty.body(), &Body::Bytes(b"{}".to_vec()));

    let upload = api.upload_files(&job(), "scan.pdf").unwrap();
    assert_eq!(upload.method(), "POST");
    assert_eq!(upload.uri().path(), "/doc-digitization/job/v1/upload-files");
    assert_eq!(
        upload.body(),
        &Body::Bytes(format!(r#"{{"job_id":"{JOB}","files":["scan.pdf"]}}"#).into_bytes())
    );

    for (request, method, path, endpoint) in [
        (api.start(&job()), "POST", "start", Endpoint::Start),
        (api.status(&job()), "GET", "status", Endpoint::Status),
        (
            api.download_files(&job()),
            "POST",
            "download-files",
            Endpoint::DownloadFiles,
        ),
    ] {
        assert_eq!(request.method(), method);
        assert_eq!(
            request.uri().path(),
            format!("/doc-digitization/job/v1/{JOB}/{path}")
        );
        assert_eq!(request.body(), &Body::Empty);
        assert!(!request.headers().contains_key("content-type"));
        assert_eq!(request.headers()["api-subscription-key"], KEY);
        assert_eq!(request.extensions().get(), Some(&endpoint));
        assert!(endpoint.is_api());
    }
}

#[test]
fn callbacks_are_sent_and_must_be_https() {
    let api = api();
    let mut req = CreateJobRequest::new(Language::HINDI, OutputFormat::Md);
    req.callback = Some(Callback {
        url: "https://example.com/hook".into(),
        auth_token: "t".into(),
    });
    let built = api.create_job(&req).unwrap();
    let Body::Bytes(bytes) = built.body() else {
        panic!()
    };
    let json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(json["callback"]["url"], "https://example.com/hook");
    assert_eq!(json["callback"]["auth_token"], "t");
    // Even to loopback, the API calls back only over https.
    req.callback.as_mut().unwrap().url = "http://127.0.0.1/hook".into();
    assert!(matches!(api.create_job(&req), Err(InputError::Url { .. })));
}

#[test]
fn bad_input_is_refused_before_anything_is_built() {
    let api = api();
    for bad in [
        "",
        ".pdf",
        "a.docx",
        "a.pdf.exe",
        "dir/a.pdf",
        "..\\a.pdf",
        "a.png",
        "a\n.pdf",
        "..pdf",
        "...pdf",
    ] {
        assert!(
            matches!(
                api.upload_files(&job(), bad),
                Err(InputError::FileName { .. })
            ),
            "{bad:?}"
        );
    }
    let mut req = CreateJobRequest::new(Language::HINDI, OutputFormat::Md);
    req.job_parameters.as_mut().unwrap().output_format = OutputFormat::from("markdown");
    assert_eq!(
        api.create_job(&req).unwrap_err(),
        InputError::OutputFormat("markdown".into())
    );
    assert!(matches!("".parse::<JobId>(), Err(InputError::JobId(_))));
    assert!(matches!("a b".parse::<JobId>(), Err(InputError::JobId(_))));
    assert!(matches!("..".parse::<JobId>(), Err(InputError::JobId(_))));
    // An opaque id that holds a path stays one segment of the path.
    let climbing: JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6/../x".parse().unwrap();
    assert_eq!(
        api.status(&climbing).uri().path(),
        "/doc-digitization/job/v1/3fa85f64-5717-4562-b3fc-2c963f66afa6%2F..%2Fx/status"
    );
}

#[test]
fn storage_upload_is_a_put_with_length_blob_type_and_no_key() {
    let api = api();
    let put = api
        .upload_file(
            &uri("https://acct.blob.core.windows.net/c/scan.pdf?sv=1&sig=x"),
            "scan.pdf",
            1234,
            &StorageContainerType::Azure,
        )
        .unwrap();
    assert_eq!(put.method(), "PUT");
    assert_eq!(put.headers()["content-length"], "1234");
    assert_eq!(put.headers()["content-type"], "application/pdf");
    assert_eq!(put.headers()["x-ms-blob-type"], "BlockBlob");
    assert_eq!(
        put.body(),
        &Body::File {
            file_name: "scan.pdf".into(),
            len: 1234
        }
    );
    assert_eq!(put.body().bytes(), None);
    assert!(!put.headers().contains_key("api-subscription-key"));
    assert!(!Endpoint::StorageUpload.is_api());

    let zip = api
        .upload_file(
            &uri("http://127.0.0.1:9/x"),
            "pages.ZIP",
            1,
            &StorageContainerType::Google,
        )
        .unwrap();
    assert_eq!(zip.headers()["content-type"], "application/zip");
    assert!(!zip.headers().contains_key("x-ms-blob-type"));

    // Even when storage shares the API's origin, it gets no key.
    let same_origin = api
        .upload_file(
            &uri("http://127.0.0.1:4010/upload"),
            "a.pdf",
            1,
            &StorageContainerType::Azure,
        )
        .unwrap();
    assert!(!same_origin.headers().contains_key("api-subscription-key"));

    let get = api
        .download_output(&uri("https://acct.blob.core.windows.net/c/out.zip?sig=y"))
        .unwrap();
    assert_eq!(get.method(), "GET");
    assert!(!get.headers().contains_key("api-subscription-key"));
    assert_eq!(get.extensions().get(), Some(&Endpoint::StorageDownload));

    for bad in [
        "http://evil.example.com/x",
        "ftp://127.0.0.1/x",
        "/relative",
        "https://u:p@h/x",
    ] {
        assert!(
            matches!(api.download_output(&uri(bad)), Err(InputError::Url { .. })),
            "{bad}"
        );
        assert!(matches!(
            api.upload_file(&uri(bad), "a.pdf", 1, &StorageContainerType::Azure),
            Err(InputError::Url { .. })
        ));
    }
}

#[test]
fn storage_answers_outside_2xx_are_errors() {
    let api = api();
    assert!(api.check_storage(&response(201, "")).is_ok());
    let err = api
        .check_storage(&response(
            411,
            "<Error><Code>MissingContentLengthHeader</Code></Error>",
        ))
        .unwrap_err();
    let Error::Api(e) = err else { panic!() };
    assert_eq!(e.status.as_u16(), 411);
    assert!(e.message.contains("MissingContentLengthHeader"));
}

#[test]
fn the_key_never_shows_in_debug_display_or_errors() {
    let api = api();
    let requests = [
        api.create_job(&CreateJobRequest::default()).unwrap(),
        api.status(&job()),
        api.start(&job()),
    ];
    for r in &requests {
        let shown = format!("{r:?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("Sensitive"), "{shown}");
    }
    assert!(!format!("{api:?}").contains(KEY));
    assert!(!format!("{:?}", api.config()).contains(KEY));
    assert!(!api.config().api_key().to_string().contains(KEY));
    // Even a server that echoes the key in an error does not get it into ours.
    let echo = format!(
        r#"{{"error":{{"message":"bad key {KEY}","code":"invalid_api_key_error","request_id":"{KEY}"}}}}"#
    );
    let err = api.parse_status(&response(403, &echo), &job()).unwrap_err();
    assert!(!err.to_string().contains(KEY));
    assert!(!format!("{err:?}").contains(KEY));
    let err = api
        .parse_status(&response(200, &format!("{KEY} not json")), &job())
        .unwrap_err();
    assert!(!err.to_string().contains(KEY));
    assert!(!format!("{err:?}").contains(KEY));
}

#[test]
fn retry_after_forms() {
    use sarvam_doc_core::wire::retry_after;
    let headers = |pairs: &[(&'static str, &str)]| {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    };
    assert_eq!(retry_after(&headers(&[])), None);
    assert_eq!(
        retry_after(&headers(&[("retry-after", "0")])),
        Some(Duration::ZERO)
    );
    assert_eq!(
        retry_after(&headers(&[
            ("retry-after-ms", "1500"),
            ("retry-after", "9")
        ])),
        Some(Duration::from_millis(1500))
    );
    // A date in the past means: now.
    assert_eq!(
        retry_after(&headers(&[
            ("retry-after", "Sun, 29 Nov 2026 09:59:00 GMT"),
            ("date", "Sun, 29 Nov 2026 10:00:00 GMT"),
        ])),
        Some(Duration::ZERO)
    );
    // A date with no Date header to read it against is ignored.
    assert_eq!(
        retry_after(&headers(&[(
            "retry-after",
            "Sun, 29 Nov 2026 09:59:00 GMT"
        )])),
        None
    );
    // Nonsense and huge values never panic; huge ones are capped.
    assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    assert_eq!(
        retry_after(&headers(&[("retry-after", "18446744073709551615")])),
        Some(sarvam_doc_core::wire::MAX_RETRY_AFTER)
    );
    assert_eq!(retry_after(&headers(&[("retry-after", "-5")])), None);
}

mod generated {
    use super::*;
    use proptest::prelude::*;
    use sarvam_doc_core::model::{FileSignedUrl, JobDetail, TaskFileDetails};
    use sarvam_doc_core::{
        model::{DownloadFilesResponse, JobStatus, PageError},
        time::OffsetDateTime,
    };

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9_ .-]{0,12}",
            any::<String>().prop_map(|s| s.chars().take(12).collect()),
        ]
    }

    /// Free text as a server may send it, without the control characters
    /// the parser replaces (they would not round-trip).
    fn printable() -> impl Strategy<Value = String> {
        text().prop_map(|s| s.chars().filter(|c| !c.is_control()).collect())
    }

    fn job_state() -> impl Strategy<Value = JobState> {
        prop_oneof![
            proptest::sample::select(JobState::KNOWN.to_vec()),
            "[A-Za-z]{1,10}".prop_map(JobState::from),
        ]
    }

    fn storage() -> impl Strategy<Value = StorageContainerType> {
        prop_oneof![
            proptest::sample::select(StorageContainerType::KNOWN.to_vec()),
            "[A-Za-z_]{1,10}".prop_map(StorageContainerType::from),
        ]
    }

    fn file_state() -> impl Strategy<Value = FileState> {
        prop_oneof![
            proptest::sample::select(FileState::KNOWN.to_vec()),
            "[A-Za-z]{1,10}".prop_map(FileState::from),
        ]
    }

    fn timestamp() -> impl Strategy<Value = OffsetDateTime> {
        // Years 1970..=9999, offsets in whole minutes: what RFC 3339 can carry.
        (0i64..253_402_300_799, -(23 * 60 + 59)..=(23 * 60 + 59i32)).prop_map(|(secs, mins)| {
            let offset = sarvam_doc_core::time::UtcOffset::from_whole_seconds(mins * 60).unwrap();
            OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .to_offset(offset)
        })
    }

    fn files() -> impl Strategy<Value = Vec<TaskFileDetails>> {
        proptest::collection::vec(
            (text(), text())
                .prop_map(|(file_name, file_id)| TaskFileDetails { file_name, file_id }),
            0..3,
        )
    }

    fn detail() -> impl Strategy<Value = JobDetail> {
        (
            files(),
            files(),
            file_state(),
            any::<[u32; 4]>(),
            printable(),
            proptest::option::of(text()),
            proptest::collection::vec(
                (any::<u32>(), printable(), printable()).prop_map(
                    |(page_number, error_code, error_message)| PageError {
                        page_number,
                        error_code,
                        error_message,
                    },
                ),
                0..4,
            ),
        )
            .prop_map(
                |(inputs, outputs, state, [t, p, s, f], error_message, error_code, page_errors)| {
                    JobDetail {
                        inputs,
                        outputs,
                        state,
                        total_pages: t,
                        pages_processed: p,
                        pages_succeeded: s,
                        pages_failed: f,
                        error_message,
                        error_code,
                        page_errors,
                    }
                },
            )
    }

    fn status() -> impl Strategy<Value = JobStatus> {
        (
            any::<u128>(),
            job_state(),
            timestamp(),
            timestamp(),
            storage(),
            any::<[u32; 3]>(),
            printable(),
            proptest::collection::vec(detail(), 0..3),
        )
            .prop_map(
                |(
                    id,
                    job_state,
                    created_at,
                    updated_at,
                    storage_container_type,
                    [t, s, f],
                    error_message,
                    job_details,
                )| JobStatus {
                    job_id: {
                        let _ = id;
                        job()
                    },
                    job_state,
                    created_at,
                    updated_at,
                    storage_container_type,
                    total_files: t,
                    successful_files_count: s,
                    failed_files_count: f,
                    error_message,
                    job_details,
                },
            )
    }

    fn signed_urls() -> impl Strategy<Value = std::collections::BTreeMap<String, FileSignedUrl>> {
        proptest::collection::btree_map(
            text(),
            (
                "[a-z]{1,8}",
                proptest::option::of(proptest::collection::btree_map(text(), any::<i64>(), 0..3)),
            )
                .prop_map(|(host, meta)| FileSignedUrl {
                    file_url: format!("https://{host}.example/f?sig=x").parse().unwrap(),
                    file_metadata: meta.map(|m| {
                        m.into_iter()
                            .map(|(k, v)| (k, serde_json::Value::from(v)))
                            .collect()
                    }),
                }),
            0..3,
        )
    }

    proptest! {
        #[test]
        fn status_round_trips_through_json(status in status()) {
            let json = serde_json::to_vec(&status).unwrap();
            let back = api().parse_status(&Response::new(json), &job()).unwrap();
            prop_assert_eq!(back, status);
        }

        #[test]
        fn download_files_round_trips_through_json(
            id in any::<u128>(), job_state in job_state(), storage in storage(),
            download_urls in signed_urls(),
            error_code in proptest::option::of(text()), error_message in proptest::option::of(text()),
        ) {
            let _ = id;
            let value = DownloadFilesResponse {
                job_id: job(),
                job_state,
                storage_container_type: storage,
                download_urls,
                error_code,
                error_message,
            };
            let json = serde_json::to_vec(&value).unwrap();
            prop_assert_eq!(api().parse_download_files(&Response::new(json), &job()).unwrap(), value);
        }

        #[test]
        fn create_request_round_trips_through_json(
            lang in proptest::sample::select(Language::DOCUMENTED.to_vec()),
            fmt in proptest::sample::select(OutputFormat::KNOWN.to_vec()),
            with_params in any::<bool>(),
            callback in proptest::option::of((text(), text())),
        ) {
            let request = CreateJobRequest {
                job_parameters: with_params.then_some(JobParameters { language: lang, output_format: fmt }),
                callback: callback.map(|(path, auth_token)| Callback { url: format!("https://h/{path}"), auth_token }),
            };
            let json = serde_json::to_string(&request).unwrap();
            prop_assert_eq!(json.contains("job_parameters"), with_params);
            let back: CreateJobRequest = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, request);
        }

        #[test]
        fn arbitrary_bytes_with_any_status_never_panic_a_parser(
            status in 100u16..=599,
            body in proptest::collection::vec(any::<u8>(), 0..512),
            request_id in proptest::option::of("[ -~]{0,40}"),
            retry_after in proptest::option::of("[ -~]{0,40}"),
        ) {
            let mut builder = Response::builder().status(status);
            if let Some(id) = request_id { builder = builder.header("x-request-id", id); }
            if let Some(ra) = retry_after { builder = builder.header("retry-after", ra); }
            let r = builder.body(body).unwrap();
            let api = api();
            let results = [
                api.parse_status(&r, &job()).err(),
                api.parse_start(&r, &job()).err(),
                api.parse_create_job(&r).err(),
                api.parse_upload_files(&r, &job(), "a.pdf").err(),
                api.parse_download_files(&r, &job()).err(),
                api.check_storage(&r).err(),
            ];
            for e in results.into_iter().flatten() {
                // Errors render, and their class matches the status.
                let _ = e.to_string();
                if !(200..300).contains(&status) {
                    let is_api = matches!(e, Error::Api(_));
                    prop_assert!(is_api);
                }
            }
        }

        #[test]
        fn arbitrary_json_shapes_never_panic(value in arb_json()) {
            let body = serde_json::to_vec(&value).unwrap();
            let _ = api().parse_status(&Response::new(body.clone()), &job());
            let _ = api().parse_download_files(&Response::new(body.clone()), &job());
            let _ = sarvam_doc_core::wire::parse_error(&Response::builder().status(500).body(body).unwrap());
        }

        #[test]
        fn any_string_either_is_a_job_id_or_is_refused(s in "\\PC{0,40}") {
            match s.parse::<JobId>() {
                Ok(id) => {
                    prop_assert_eq!(id.as_str(), s.trim());
                    prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_graphic()));
                    // One segment, whatever the id: nothing that ends or splits it.
                    let segment = id.path_segment();
                    prop_assert!(!segment.contains(['/', '?', '#', ' ']));
                    prop_assert!(segment != "." && segment != "..");
                }
                Err(e) => prop_assert!(matches!(e, InputError::JobId(_))),
            }
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            proptest::sample::select(vec![
                "Completed",
                "Running",
                "Azure",
                "2024-01-15T09:30:00Z",
                JOB,
                "x"
            ])
            .prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            let keys = proptest::sample::select(vec![
                "job_id",
                "job_state",
                "created_at",
                "updated_at",
                "storage_container_type",
                "job_details",
                "state",
                "page_errors",
                "download_urls",
                "error",
                "code",
                "message",
            ]);
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(keys, inner, 0..8).prop_map(|m| {
                    serde_json::Value::Object(
                        m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    )
                }),
            ]
        })
    }
}

#[test]
fn a_legacy_state_or_file_name_that_spells_the_key_or_moves_the_cursor_is_scrubbed() {
    let api = api();
    // An unknown state with a terminal escape, and the key as a JSON escape.
    let status = STATUS_EXAMPLE
        .replace(
            r#""job_state":"Pending""#,
            r#""job_state":"\u001b[2J\u001b]0;t\u0007Archived""#,
        )
        .replace(
            "invoice_january.pdf",
            r"\u0073k_live_Zq7-very-secret-key.pdf",
        );
    let parsed = api.parse_status(&response(200, &status), &job()).unwrap();
    let state = parsed.job_state.to_string();
    assert!(!state.contains(['\u{1b}', '\u{7}']), "{state:?}");
    assert!(state.ends_with("Archived"), "{state:?}");
    let shown = format!("{parsed:?}");
    assert!(!shown.contains(KEY), "{shown}");
    // A download whose name spells the key as a JSON or URL escape: the name
    // never carries it, and a URL that does is refused.
    let download = DOWNLOAD_EXAMPLE
        .replace(
            r#""invoice_12345.pdf":"#,
            r#""\u0073k_live_Zq7-very-secret-key.zip":"#,
        )
        .replace(
            "documents/invoice_12345.pdf",
            "documents/%73k_live_Zq7-very-secret-key.zip",
        );
    match api.parse_download_files(&response(200, &download), &job()) {
        Ok(parsed) => {
            let shown = format!("{parsed:?}");
            assert!(!shown.contains(KEY), "{shown}");
        }
        Err(e) => assert!(!format!("{e} {e:?}").contains(KEY), "{e}"),
    }
}
