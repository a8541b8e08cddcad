//! Wire-level helpers: header names, reading answers, `Retry-After`, HTTP
//! dates, URL and host checks.
//!
//! [`crate::Api`] uses all of these; they are public for code that holds no
//! [`crate::Config`] (fuzzers, simulators, your own parsers).

use std::borrow::Cow;
use std::time::Duration;

use http::header::{DATE, HeaderMap, HeaderName};
use http::uri::{Scheme, Uri};
use http::{Response, StatusCode};
use serde::de::DeserializeOwned;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::{
    body_has_escape, bounded, excerpt, has_control, printable, redact, redact_body_escaped,
};
use crate::{ApiError, Error, InputError, Peer, ProtocolError, ProtocolErrorKind};

pub(crate) mod bodies;

use bodies::{DEFAULT_MAX_JSON_BODY, ErrorBody, Problem};

/// The header that carries the API key.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("api-subscription-key");
/// The header with the server's request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// The header Azure's Put Blob needs.
pub const BLOB_TYPE_HEADER: HeaderName = HeaderName::from_static("x-ms-blob-type");

/// The longest request id kept, in bytes.
const MAX_REQUEST_ID: usize = 128;

/// One answer as the core reads it: the body with the key redacted (before
/// anything is cut from it), and who sent it.
pub(crate) struct View<'a> {
    pub(crate) status: StatusCode,
    headers: &'a HeaderMap,
    pub(crate) body: Cow<'a, [u8]>,
    /// `body` as text, when it is valid UTF-8 and was not redacted (then
    /// [`View::json`] need not check it again).
    text: Option<&'a str>,
    key: Option<&'a str>,
    /// Whether a string decoded from the body may hold the key: the key was
    /// in it (and redacted), or the body has an escape that could spell it.
    /// Without either, every decoded string is a piece of a body that does
    /// not hold the key, and [`View::clean_text`] skips its search.
    may_hold_key: bool,
    peer: Peer,
}

/// The request id a server sent in `headers`, as it may be kept or shown:
/// with `key` redacted, printable, at most 128 bytes; `None` when absent or
/// empty.
pub(crate) fn request_id(headers: &HeaderMap, key: Option<&str>) -> Option<String> {
    let id = String::from_utf8_lossy(headers.get(REQUEST_ID_HEADER)?.as_bytes()).into_owned();
    clean_id(id, key)
}

/// A request id as it may be kept or shown (see [`request_id`]).
fn clean_id(mut id: String, key: Option<&str>) -> Option<String> {
    if let Some(key) = key {
        redact(&mut id, key);
    }
    let id = bounded(printable(id.trim()), MAX_REQUEST_ID);
    (!id.is_empty()).then_some(id)
}

impl<'a> View<'a> {
    pub(crate) fn new<B: AsRef<[u8]>>(
        response: &'a Response<B>,
        key: Option<&'a str>,
        peer: Peer,
    ) -> Self {
        let raw = response.body().as_ref();
        let text = std::str::from_utf8(raw).ok();
        let (body, may_hold_key) = match key {
            Some(key) if !key.is_empty() => {
                // A JSON escape or a URL one: a decoder may spell the key.
                let escaped = body_has_escape(raw, text);
                let body = redact_body_escaped(raw, text, key, escaped);
                let may = matches!(body, Cow::Owned(_)) || escaped;
                (body, may)
            }
            _ => (Cow::Borrowed(raw), false),
        };
        View {
            status: response.status(),
            headers: response.headers(),
            text: text.filter(|_| matches!(body, Cow::Borrowed(_))),
            body,
            key,
            may_hold_key,
            peer,
        }
    }

    /// The request id header: redacted, printable, bounded.
    pub(crate) fn request_id(&self) -> Option<String> {
        request_id(self.headers, self.key)
    }

    /// A free-text field the server sent: redacted, printable, bounded.
    /// Returned as is (no copy) when it is all three already.
    pub(crate) fn clean_text(&self, mut text: String, max: usize) -> String {
        if let (Some(key), true) = (self.key, self.may_hold_key) {
            redact(&mut text, key);
        }
        if has_control(&text) {
            text = printable(&text);
        }
        bounded(text, max)
    }

    /// The answer as an error (any status outside 2xx). Never fails.
    pub(crate) fn error(&self) -> ApiError {
        let body = self.body.as_ref();
        let parsed = if body.len() <= DEFAULT_MAX_JSON_BODY {
            serde_json::from_slice::<ErrorBody>(body).ok()
        } else {
            None
        };
        let header_id = self.request_id();
        let (code, message, request_id) = match parsed {
            Some(ErrorBody { error }) => (
                Some(error.code),
                self.clean_text(error.message, 1024),
                clean_id(error.request_id, self.key).or(header_id),
            ),
            None => match self.problem(body) {
                Some(message) => (None, message, header_id),
                None => (None, excerpt(body), header_id),
            },
        };
        ApiError {
            peer: self.peer,
            status: self.status,
            code,
            message,
            request_id,
            retry_after: retry_after(self.headers),
        }
    }

    /// An RFC 7807 problem (`/doc-ai/v1`'s errors) as one message: its
    /// detail (else its title), then each item's place and message. `None`
    /// for a body that is not one.
    fn problem(&self, body: &[u8]) -> Option<String> {
        if body.len() > DEFAULT_MAX_JSON_BODY {
            return None;
        }
        let problem: Problem = serde_json::from_slice(body).ok()?;
        let mut message = problem.detail.or(problem.title)?;
        for item in problem.errors.iter().take(8) {
            let place = item.location.as_deref().unwrap_or("(request)");
            let what = item.message.as_deref().unwrap_or("invalid");
            message.push_str(&format!("; {place}: {what}"));
        }
        Some(self.clean_text(message, 1024))
    }

    /// A 2xx answer that contradicts the request or the protocol.
    pub(crate) fn contract(&self, detail: String) -> Error {
        self.protocol(ProtocolErrorKind::Contract {
            detail: self.clean_text(detail, 512),
        })
    }

    pub(crate) fn protocol(&self, kind: ProtocolErrorKind) -> Error {
        Error::Protocol(ProtocolError {
            peer: self.peer,
            status: self.status,
            kind,
            excerpt: excerpt(&self.body),
            request_id: self.request_id(),
        })
    }

    /// Reads a 2xx JSON body as `T`; anything else is an error.
    pub(crate) fn json<T: DeserializeOwned>(&self, max_body: usize) -> Result<T, Error> {
        if !self.status.is_success() {
            return Err(Error::Api(self.error()));
        }
        let body = self.body.as_ref();
        if body.len() > max_body {
            return Err(self.protocol(ProtocolErrorKind::BodyTooLarge {
                limit: max_body,
                actual: body.len(),
            }));
        }
        let invalid = |e: serde_json::Error| {
            self.protocol(ProtocolErrorKind::InvalidBody {
                detail: self.clean_text(e.to_string(), 200),
            })
        };
        if let (Some(key), true) = (self.key, self.may_hold_key) {
            // An escape (`\u0073k_…`, `%73k_…`) can spell the key only once
            // decoded: decode everything, scrub every string and every name,
            // then read the type from what is left.
            let mut value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
            scrub_value(&mut value, key);
            return T::deserialize(value).map_err(invalid);
        }
        // Without an escape, every string is a piece of the body, which holds
        // no key. One UTF-8 check of the whole body, then a parse that need
        // not check each string again: a third faster than `from_slice` on
        // status bodies.
        let parsed = match self.text.map_or_else(|| std::str::from_utf8(body), Ok) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(body),
        };
        parsed.map_err(invalid)
    }

    /// Checks a presigned URL the server handed out: https, or loopback, or
    /// plain http when allowed. A bad one is the server's broken promise.
    pub(crate) fn presigned(
        &self,
        what: &'static str,
        uri: &Uri,
        allow_insecure: bool,
    ) -> Result<(), Error> {
        check_uri(what, uri, allow_insecure).map_err(|e| match e {
            InputError::Url { reason, .. } => {
                self.contract(format!("the {what} cannot be used: {reason}"))
            }
            other => self.contract(other.to_string()),
        })
    }
}

/// Parses a JSON answer: a 2xx body as `T`, anything else as an [`ApiError`].
///
/// This is what every `Api::parse_*` method does, without the key redaction;
/// it is public for code that holds no [`crate::Config`] (fuzzers,
/// simulators).
///
/// # Errors
/// [`Error::Api`] for a status outside 2xx; [`Error::Protocol`] for a 2xx
/// body over `max_body` bytes or not the documented JSON.
pub fn parse_json<T: DeserializeOwned, B: AsRef<[u8]>>(
    response: &Response<B>,
    max_body: usize,
) -> Result<T, Error> {
    View::new(response, None, Peer::Api).json(max_body)
}

/// Reads an error answer: the documented JSON body when it is one, else a
/// bounded excerpt of the body as the message. Never fails.
///
/// ```
/// use sarvam_doc_core::wire::parse_error;
/// let response = http::Response::builder()
///     .status(502)
///     .body("<html>Bad Gateway</html>")
///     .unwrap();
/// let error = parse_error(&response);
/// assert_eq!(error.code, None);
/// assert_eq!(error.message, "<html>Bad Gateway</html>");
/// ```
#[must_use]
pub fn parse_error<B: AsRef<[u8]>>(response: &Response<B>) -> ApiError {
    View::new(response, None, Peer::Api).error()
}

/// The longest wait a `Retry-After` can be read as; longer asks are cut to
/// this, so no arithmetic on instants can overflow. (The machines' own
/// ceiling, [`crate::Policy::max_retry_after`], is far lower.)
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(u32::MAX as u64);

/// How long the server asks us to wait: `retry-after-ms`, else `Retry-After`
/// as seconds or as an HTTP date, else `X-RateLimit-Reset` as epoch seconds;
/// a date or an epoch is read against the response's own `Date` header (the
/// core reads no clock, and the server's clock is the one that matters), and
/// ignored when there is none. Capped at [`MAX_RETRY_AFTER`].
///
/// ```
/// use std::time::Duration;
/// use http::HeaderMap;
/// use sarvam_doc_core::wire::retry_after;
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "7".parse().unwrap());
/// assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
/// headers.insert("retry-after", "Sun, 29 Nov 2026 10:00:30 GMT".parse().unwrap());
/// headers.insert("date", "Sun, 29 Nov 2026 10:00:00 GMT".parse().unwrap());
/// assert_eq!(retry_after(&headers), Some(Duration::from_secs(30)));
///
/// let mut reset = HeaderMap::new();
/// reset.insert("x-ratelimit-reset", "1795946405".parse().unwrap()); // 10:00:05
/// reset.insert("date", "Sun, 29 Nov 2026 10:00:00 GMT".parse().unwrap());
/// assert_eq!(retry_after(&reset), Some(Duration::from_secs(5)));
/// ```
#[must_use]
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let server_now = || parse_http_date(headers.get(DATE)?.to_str().ok()?);
    let wait = if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<u64>().ok()) {
        Duration::from_millis(ms)
    } else if let (None, Some(reset)) = (
        text("retry-after"),
        text("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok()),
    ) {
        // Epoch seconds, read against the server's own clock.
        let now = server_now()?.unix_timestamp();
        Duration::from_secs(u64::try_from(reset.saturating_sub(now)).unwrap_or(0))
    } else {
        let value = text("retry-after")?;
        if let Ok(secs) = value.parse::<u64>() {
            Duration::from_secs(secs.min(MAX_RETRY_AFTER.as_secs()))
        } else {
            let at = parse_http_date(value)?;
            let now = server_now()?;
            let delta = at - now;
            if delta.is_negative() {
                Duration::ZERO
            } else {
                delta.try_into().unwrap_or(MAX_RETRY_AFTER)
            }
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Parses an HTTP date (RFC 9110): IMF-fixdate, RFC 850 or asctime.
///
/// ```
/// use sarvam_doc_core::wire::parse_http_date;
/// let a = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// let b = parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").unwrap();
/// let c = parse_http_date("Sun Nov  6 08:49:37 1994").unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a, c);
/// assert_eq!(a.unix_timestamp(), 784111777);
/// ```
#[must_use]
pub fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    use time::macros::format_description;
    let text = text.trim();
    let imf = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let asctime = format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    if let Ok(t) = PrimitiveDateTime::parse(text, imf) {
        return Some(t.assume_utc());
    }
    if let Ok(t) = PrimitiveDateTime::parse(text, asctime) {
        return Some(t.assume_utc());
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". Two-digit years 70-99 are
    // 19xx and 00-69 are 20xx, which RFC 9110's 50-year rule gives until 2069.
    let (_, rest) = text.split_once(", ")?;
    let (date, rest) = rest.split_once(' ')?;
    let time_part = rest.strip_suffix(" GMT")?;
    let mut parts = date.split('-');
    let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || yy.len() != 2 {
        return None;
    }
    let yy: i32 = yy.parse().ok()?;
    let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
    let rebuilt = format!("{day} {month} {year} {time_part}");
    let fmt = format_description!("[day] [month repr:short] [year] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(&rebuilt, fmt)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Whether `host` (as in a URL, IPv6 in brackets) is a loopback host.
///
/// ```
/// use sarvam_doc_core::wire::is_loopback_host;
/// assert!(is_loopback_host("127.0.0.1"));
/// assert!(is_loopback_host("127.5.6.7"));
/// assert!(is_loopback_host("[::1]"));
/// assert!(is_loopback_host("LocalHost"));
/// assert!(!is_loopback_host("10.0.0.1"));
/// assert!(!is_loopback_host("localhost.example.com"));
/// ```
#[must_use]
pub fn is_loopback_host(host: &str) -> bool {
    use core::net::{Ipv4Addr, Ipv6Addr};
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || bare.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Parses `url` and checks it with [`check_uri`].
pub(crate) fn check_url(
    role: &'static str,
    url: &str,
    allow_insecure_http: bool,
) -> Result<Uri, InputError> {
    let shown = || url.split(['?', '#']).next().unwrap_or_default().to_owned();
    let uri: Uri = url.parse().map_err(|_| InputError::Url {
        role,
        url: shown(),
        reason: "it is not a valid absolute URL".to_owned(),
    })?;
    check_uri(role, &uri, allow_insecure_http)?;
    Ok(uri)
}

/// Checks a URL's scheme and host: `https`, or `http` only to loopback or
/// with `allow_insecure_http`; a host; no user name or password. The error
/// never repeats the query string (it may hold a signature).
pub(crate) fn check_uri(
    role: &'static str,
    uri: &Uri,
    allow_insecure_http: bool,
) -> Result<(), InputError> {
    let bad = |reason: &str| InputError::Url {
        role,
        url: format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.host()).unwrap_or_default(),
            uri.path()
        ),
        reason: reason.to_owned(),
    };
    let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
        return Err(bad(
            "it is not an absolute URL (it needs https:// and a host)",
        ));
    };
    if authority.as_str().contains('@') {
        return Err(bad("it must not carry a user name or password"));
    }
    if authority.host().is_empty() {
        return Err(bad("it has no host"));
    }
    if *scheme == Scheme::HTTPS {
        return Ok(());
    }
    if *scheme != Scheme::HTTP {
        return Err(bad("only https URLs can be used"));
    }
    if is_loopback_host(authority.host()) || allow_insecure_http {
        Ok(())
    } else {
        Err(bad(
            "plain http is allowed only to loopback (127.0.0.1, ::1, localhost); use https",
        ))
    }
}

/// Scrubs `key` from every string and every object name in `value`: as it
/// stands once JSON-decoded, and as a URL decoder would read it.
pub(crate) fn scrub_value(value: &mut serde_json::Value, key: &str) {
    use serde_json::Value;
    match value {
        Value::String(s) => redact(s, key),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value(v, key)),
        Value::Object(map) => {
            let named = map.keys().any(|k| holds_key(k, key));
            if named {
                let old = std::mem::take(map);
                for (mut name, v) in old {
                    redact(&mut name, key);
                    map.insert(name, v);
                }
            }
            map.values_mut().for_each(|v| scrub_value(v, key));
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Whether `text` holds `key` in some spelling.
fn holds_key(text: &str, key: &str) -> bool {
    let mut scrubbed = text.to_owned();
    redact(&mut scrubbed, key);
    scrubbed != text
}

/// `%XX` sequences decoded (invalid ones kept as they are; bytes that are
/// not UTF-8 become U+FFFD).
pub(crate) fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_of_invalid_utf8_stays_within_the_excerpt_limit() {
        let error = parse_error(
            &http::Response::builder()
                .status(500)
                .body(vec![0xc3u8; 2000])
                .unwrap(),
        );
        assert!(error.message.len() <= crate::error::EXCERPT_LIMIT + '…'.len_utf8());
    }

    #[test]
    fn url_errors_do_not_repeat_the_query_string() {
        let e = check_url("upload URL", "http://example.com/f?sig=SECRET", false).unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[test]
    fn a_key_echoed_anywhere_in_an_error_is_redacted_before_the_cut() {
        let key = "sk_live_0123456789abcdefghijklmnopq";
        // The key straddles the 512-byte excerpt cut.
        let mut body = "x".repeat(500);
        body.push_str(key);
        let response = Response::builder()
            .status(502)
            .header("x-request-id", format!("id-{key}"))
            .body(body)
            .unwrap();
        let error = View::new(&response, Some(key), Peer::Api).error();
        let shown = error.to_string();
        assert!(!shown.contains("sk_live"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert_eq!(error.request_id.as_deref(), Some("id-<redacted>"));
    }

    #[test]
    fn a_key_is_redacted_from_parsed_strings_in_every_spelling_and_searched_only_when_it_can_be_there()
     {
        let key = "sk_live_0123456789";
        let api = crate::Api::new(
            crate::Config::builder(crate::ApiKey::new(key).unwrap())
                .base_url("http://127.0.0.1:4010")
                .build()
                .unwrap(),
        );
        let job: crate::JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse().unwrap();
        let status = |message: &str| {
            let body = format!(
                r#"{{"job_id":"{job}","job_state":"Failed","created_at":"2024-01-15T09:30:00Z","updated_at":"2024-01-15T10:00:00Z","storage_container_type":"Azure","error_message":"{message}"}}"#
            );
            let response = Response::new(body.into_bytes());
            let view = View::new(&response, Some(key), Peer::Api);
            let may_hold_key = view.may_hold_key;
            let parsed = api.parse_status(&response, &job).unwrap();
            (parsed.error_message, may_hold_key)
        };
        // As sent, escaped letter by letter, escaped in part.
        for message in [
            format!("bad key {key}"),
            key.chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect(),
            "bad key \\u0073k_live_0123456789".to_owned(),
        ] {
            let (text, may_hold_key) = status(&message);
            assert!(!text.contains("0123456789"), "{message}: {text}");
            assert!(text.contains("<redacted>"), "{message}: {text}");
            assert!(may_hold_key, "{message}");
        }
        // No key and no escape: nothing to search for in each string.
        let (text, may_hold_key) = status("the scan is too faint");
        assert_eq!(text, "the scan is too faint");
        assert!(!may_hold_key);
    }

    #[test]
    fn messages_lose_their_terminal_escapes() {
        let response = Response::builder()
            .status(400)
            .body(r#"{"error":{"message":"bad\u001b[2J\r\nthing","code":"invalid_request_error"}}"#)
            .unwrap();
        let error = View::new(&response, Some("k1"), Peer::Api).error();
        assert!(
            !error.message.chars().any(char::is_control),
            "{:?}",
            error.message
        );
    }
}
