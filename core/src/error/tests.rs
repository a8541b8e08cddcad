//! Tests of the error types: retry classes, what may have taken effect,
//! and what each error says.

use http::StatusCode;

use super::*;
use crate::ErrorCode;

fn api(status: u16, code: Option<ErrorCode>) -> ApiError {
    ApiError {
        peer: Peer::Api,
        status: StatusCode::from_u16(status).unwrap(),
        code,
        message: String::new(),
        request_id: None,
        retry_after: None,
    }
}

#[test]
fn quota_429_is_fatal_but_rate_limit_429_is_throttled() {
    assert_eq!(
        api(429, Some(ErrorCode::InsufficientQuota)).retry_class(),
        RetryClass::Fatal
    );
    assert_eq!(
        api(429, Some(ErrorCode::RateLimitExceeded)).retry_class(),
        RetryClass::Throttled
    );
    assert_eq!(api(429, None).retry_class(), RetryClass::Throttled);
}

#[test]
fn only_429_503_and_refusals_surely_did_not_take_effect() {
    assert!(!api(429, None).may_have_taken_effect());
    assert!(!api(503, Some(ErrorCode::HighLoad)).may_have_taken_effect());
    assert!(!api(400, None).may_have_taken_effect());
    assert!(api(500, None).may_have_taken_effect());
    assert!(api(502, None).may_have_taken_effect());
    let connect = Error::Transport(TransportError::new(TransportErrorKind::Connect, "refused"));
    assert!(!connect.may_have_taken_effect());
    let timeout = Error::Transport(TransportError::new(TransportErrorKind::TimedOut, "60 s"));
    assert!(timeout.may_have_taken_effect());
}

#[test]
fn a_brief_says_what_broke_without_the_excerpt_the_id_or_advice() {
    let e = Error::Protocol(ProtocolError {
        peer: Peer::Storage,
        status: StatusCode::OK,
        kind: ProtocolErrorKind::WrongLength {
            announced: 463,
            received: 464,
        },
        excerpt: "PK".into(),
        request_id: Some("req-1".into()),
    });
    assert_eq!(
        e.brief(),
        "storage's 200 answer ran past the 463 bytes announced for it, and was stopped at 464"
    );
    assert!(
        e.to_string()
            .ends_with("; retry later, and report it if it persists")
    );
    let mut api = api(503, Some(ErrorCode::HighLoad));
    api.message = "busy".into();
    api.request_id = Some("req-2".into());
    assert_eq!(
        Error::Api(api).brief(),
        "the API answered 503 high_load_error: busy"
    );
}

#[test]
fn display_names_the_problem_and_what_to_do() {
    let mut e = api(403, Some(ErrorCode::InvalidApiKey));
    e.message = "Invalid API key".into();
    e.request_id = Some("20261010_abc".into());
    assert_eq!(
        e.to_string(),
        "the API answered 403 invalid_api_key_error: Invalid API key (request id 20261010_abc); check the API key (SARVAM_API_KEY)"
    );
}
