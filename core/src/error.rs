//! Errors, and whether retrying can help.
//!
//! Three kinds of thing go wrong, and they are kept apart:
//! - [`InputError`]: the caller asked for something the API cannot take (a
//!   job id that is not a UUID, a `.docx`, an `http://` URL). Nothing was sent.
//! - [`ApiError`]: the server answered with a status outside 2xx.
//! - [`ProtocolError`]: the server answered 2xx but broke the contract (a body
//!   that is not the documented JSON, or one over the size cap).
//!
//! Plus [`TransportError`], which transports report when a request could not
//! be completed at all. Every error says, as data, which [`RetryClass`] it
//! belongs to and whether the request may have taken effect.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::ErrorCode;

/// How many bytes of a body an error keeps, at most.
pub const EXCERPT_LIMIT: usize = 512;

/// Whether, and how, retrying a failed request can help.
///
/// The state machines act on the class, not on status codes: this is the one
/// place where statuses and error codes are mapped to retry behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryClass {
    /// 429 `rate_limit_exceeded_error`: slow down, then retry.
    Throttled,
    /// 5xx, `high_load_error`, or a malformed 2xx body: retry with backoff.
    Server,
    /// The request could not be completed (connect failed, timed out, reset).
    Transport,
    /// Retrying cannot help: 4xx, 429 `insufficient_quota_error`, bad input.
    Fatal,
}

impl RetryClass {
    /// Whether a retry can help at all.
    #[must_use]
    pub fn is_retryable(self) -> bool {
        !matches!(self, RetryClass::Fatal)
    }
}

/// How a transport failed to complete a request, as far as it can tell.
///
/// The difference matters for requests that create things: a request that
/// could not connect surely did not reach the server, but one that timed out
/// may have been processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (refused, DNS failure, TLS handshake):
    /// the request surely did not reach the server.
    Connect,
    /// The request or its response took longer than allowed; it may have
    /// been processed.
    TimedOut,
    /// Anything else (connection reset mid-response, a broken body): the
    /// request may have been processed.
    Other,
}

impl TransportErrorKind {
    fn what(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::TimedOut => "timed out",
            TransportErrorKind::Other => "the connection failed",
        }
    }
}

/// A request a transport could not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportError {
    /// What kind of failure it was.
    pub kind: TransportErrorKind,
    /// The transport's own description, without secrets.
    pub message: String,
}

impl TransportError {
    /// A transport error of `kind` described by `message`.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.kind.what();
        write!(
            f,
            "{what}: {}; check the network and the base URL, then try again",
            self.message
        )
    }
}

/// Who answered: the API itself, or the presigned storage it hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Peer {
    /// The API origin.
    Api,
    /// Presigned storage (uploads and downloads).
    Storage,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Api => "the API",
            Peer::Storage => "storage",
        }
    }
}

/// An error answer from the API or from storage: any status outside 2xx.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// Who answered.
    pub peer: Peer,
    /// The HTTP status.
    pub status: StatusCode,
    /// The `error.code` of the body, or `None` when the body was not the
    /// documented error JSON.
    pub code: Option<ErrorCode>,
    /// The `error.message` of the body; when the body was not the documented
    /// JSON, a bounded excerpt of it as text (empty for an empty body).
    pub message: String,
    /// The request id: the body's `error.request_id`, else the `x-request-id`
    /// header. Quote it to Sarvam's support.
    pub request_id: Option<String>,
    /// How long the server asked us to wait before retrying (`Retry-After`,
    /// in seconds or as an HTTP date read against the response's `Date`).
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// The retry class of this answer.
    ///
    /// | answer | class |
    /// |---|---|
    /// | 429 `insufficient_quota_error` | fatal: credits are gone |
    /// | any other 429 | throttled |
    /// | 408, 5xx | server |
    /// | everything else (1xx, 3xx, other 4xx) | fatal |
    #[must_use]
    pub fn retry_class(&self) -> RetryClass {
        match self.status.as_u16() {
            429 if self.code == Some(ErrorCode::InsufficientQuota) => RetryClass::Fatal,
            429 => RetryClass::Throttled,
            408 | 500..=599 => RetryClass::Server,
            _ => RetryClass::Fatal,
        }
    }

    /// Whether the request may have taken effect on the server.
    ///
    /// 429 and 503 are answered before any work is done, and 408 says the
    /// server gave up waiting for the request, so those surely did not; any
    /// other 5xx may have come after the work was done. A 4xx refusal did not.
    #[must_use]
    pub fn may_have_taken_effect(&self) -> bool {
        !matches!(self.status.as_u16(), 400..=499 | 503)
    }

    /// What the user can do about it, in a few words.
    #[must_use]
    pub fn hint(&self) -> &'static str {
        if self.peer == Peer::Storage {
            return match self.status.as_u16() {
                403 => "the presigned URL was refused or has expired",
                404 => "storage no longer has the file",
                500..=599 | 429 => "storage is having trouble; retry later",
                _ => "storage refused the transfer",
            };
        }
        match (&self.code, self.status.as_u16()) {
            (Some(ErrorCode::InvalidApiKey | ErrorCode::Authentication), _) | (_, 401 | 403) => {
                "check the API key (SARVAM_API_KEY)"
            }
            (Some(ErrorCode::InsufficientQuota), _) | (_, 402) => {
                "add credits to the account, then retry"
            }
            (_, 409) => "the job has not ended yet; wait for it, then ask again",
            (_, 413) => "the file is over the size limit; split it into smaller documents",
            (Some(ErrorCode::MaxPageLimitExceeded), _) => "split the document into fewer pages",
            (Some(ErrorCode::NotFound), _) | (_, 404) => "check the job id",
            (_, 429) => "slow down and retry later",
            (_, 500..=599) => "the service is having trouble; retry later",
            (_, 400..=499) => "fix the request; retrying it unchanged will not help",
            _ => "the server answered unexpectedly; retry later or report it",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", self.peer.name(), self.status.as_u16())?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        write!(f, "; {}", self.hint())
    }
}

/// What was wrong with a 2xx answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// The body was larger than the configured cap.
    BodyTooLarge {
        /// The cap, in bytes.
        limit: usize,
        /// The body's size, in bytes.
        actual: usize,
    },
    /// The body was not the documented JSON; `detail` says why.
    InvalidBody {
        /// The parser's explanation, bounded in length.
        detail: String,
    },
    /// The body was valid but contradicts the request or the protocol
    /// (for example, no upload URL for the file asked about).
    Contract {
        /// What was contradicted.
        detail: String,
    },
    /// A download was not the size storage announced for it.
    WrongLength {
        /// The size announced.
        announced: u64,
        /// The bytes received (for a longer body: the bytes received when the
        /// download was stopped, one past the announced size).
        received: u64,
    },
}

/// A 2xx answer that broke the API's contract.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtocolError {
    /// Who answered.
    pub peer: Peer,
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// What was wrong.
    pub kind: ProtocolErrorKind,
    /// A bounded excerpt of the body as text.
    pub excerpt: String,
    /// The `x-request-id` header, when there was one.
    pub request_id: Option<String>,
}

impl ProtocolError {
    /// Which answer broke the contract, and how: the start of its
    /// [`fmt::Display`], without the excerpt, request id and advice.
    fn what(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.peer {
            Peer::Api => "the API's",
            Peer::Storage => "storage's",
        };
        write!(f, "{who} {} answer ", self.status.as_u16())?;
        match &self.kind {
            ProtocolErrorKind::BodyTooLarge { limit, actual } => {
                write!(f, "was {actual} bytes, over the {limit}-byte cap")?;
            }
            ProtocolErrorKind::InvalidBody { detail } => {
                write!(f, "was not the documented JSON ({detail})")?;
            }
            ProtocolErrorKind::Contract { detail } => write!(f, "broke the protocol: {detail}")?,
            ProtocolErrorKind::WrongLength {
                announced,
                received,
            } if received > announced => write!(
                f,
                "ran past the {announced} bytes announced for it, and was stopped at {received}"
            )?,
            ProtocolErrorKind::WrongLength {
                announced,
                received,
            } => write!(f, "was {received} bytes, but {announced} were announced")?,
        }
        Ok(())
    }
}

/// [`ProtocolError::what`] as a value to format.
struct What<'a>(&'a ProtocolError);

impl fmt::Display for What<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.what(f)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.what(f)?;
        if !self.excerpt.is_empty() {
            write!(f, "; body began {:?}", self.excerpt)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        f.write_str("; retry later, and report it if it persists")
    }
}

/// Something the caller asked for that the API cannot take. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// A job id that is not one (see [`crate::JobId`]).
    JobId(String),
    /// An input file name the API cannot take, and why.
    FileName {
        /// The name (control characters replaced).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An input file that is empty or over the API's 200 MB limit; the size
    /// in bytes.
    FileSize(u64),
    /// A language code that is not of the shape `xx-XX`.
    Language(String),
    /// An output format other than `html`, `md` or `json`.
    OutputFormat(String),
    /// A URL that cannot be used, and why.
    Url {
        /// What the URL was for (`base URL`, `upload URL`, …).
        role: &'static str,
        /// The URL with any query string removed (it may hold a signature).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An API key that is empty or cannot go in a header. The key itself is
    /// never kept.
    ApiKey(&'static str),
    /// A user agent that cannot go in a header.
    UserAgent,
    /// A `/doc-ai/v1` extraction schema the API would refuse: where in the
    /// schema, and why.
    Schema {
        /// Where: `properties.total`, `(root)`, ….
        location: String,
        /// What is wrong there.
        reason: String,
    },
    /// A `/doc-ai/v1` request field the API would refuse (a config id, a
    /// model name), and why.
    Field {
        /// The form field.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The core was used in a way it does not support (a bug in the caller,
    /// never caused by the network).
    Misuse(&'static str),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::JobId(id) => write!(
                f,
                "{id:?} is not a job id: give the id the run printed, such as 3fa85f64-5717-4562-b3fc-2c963f66afa6"
            ),
            InputError::FileName { name, reason } => write!(
                f,
                "{name:?} cannot be uploaded: {reason}; rename the file (a PDF ending .pdf, or a ZIP of JPEG/PNG pages ending .zip)"
            ),
            InputError::FileSize(0) => {
                f.write_str("the input file is empty: give a PDF, or a ZIP of JPEG/PNG pages")
            }
            InputError::FileSize(len) => write!(
                f,
                "the input file is {len} bytes, over the API's 200 MB limit: split it into smaller documents"
            ),
            InputError::Language(code) => write!(
                f,
                "{code:?} is not a language code: use a code such as hi-IN, en-IN or ta-IN"
            ),
            InputError::OutputFormat(format) => write!(
                f,
                "{format:?} is not an output format: use md, html or json"
            ),
            InputError::Url { role, url, reason } => {
                write!(f, "the {role} {url:?} cannot be used: {reason}")
            }
            InputError::ApiKey(reason) => write!(
                f,
                "the API key {reason}: set SARVAM_API_KEY to the key from the Sarvam dashboard"
            ),
            InputError::UserAgent => {
                f.write_str("the user agent cannot go in an HTTP header: use printable ASCII only")
            }
            InputError::Schema { location, reason } => write!(
                f,
                "the extraction schema is not one the API takes, at {location}: {reason}"
            ),
            InputError::Field { name, reason } => write!(f, "the {name} cannot be sent: {reason}"),
            InputError::Misuse(what) => {
                write!(f, "the client was misused: {what}; please report it")
            }
        }
    }
}

/// Any error of the core.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The caller asked for something the API cannot take; nothing was sent.
    Input(InputError),
    /// The API answered with an error status.
    Api(ApiError),
    /// The API answered 2xx but broke its contract.
    Protocol(ProtocolError),
    /// The request could not be completed.
    Transport(TransportError),
}

impl Error {
    /// The retry class of this error.
    ///
    /// ```
    /// use sarvam_doc_core::{Error, InputError, RetryClass};
    /// let e = Error::Input(InputError::FileSize(0));
    /// assert_eq!(e.retry_class(), RetryClass::Fatal);
    /// ```
    #[must_use]
    pub fn retry_class(&self) -> RetryClass {
        match self {
            Error::Input(_) => RetryClass::Fatal,
            Error::Api(e) => e.retry_class(),
            Error::Protocol(_) => RetryClass::Server,
            Error::Transport(_) => RetryClass::Transport,
        }
    }

    /// Whether the request may have taken effect on the server, so that
    /// repeating a request that creates something could create it twice.
    #[must_use]
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            Error::Input(_) => false,
            Error::Api(e) => e.may_have_taken_effect(),
            // The server said 2xx: it did the work, we just could not read the answer.
            Error::Protocol(_) => true,
            Error::Transport(e) => e.kind != TransportErrorKind::Connect,
        }
    }

    /// What went wrong in one short line, without the advice that the
    /// full message ([`fmt::Display`]) ends with: for a progress line or a
    /// summary table, where the client says itself what it does next.
    ///
    /// ```
    /// use sarvam_doc_core::{Error, TransportError, TransportErrorKind};
    /// let e = Error::Transport(TransportError::new(TransportErrorKind::Connect, "refused"));
    /// assert_eq!(e.brief(), "could not connect: refused");
    /// ```
    #[must_use]
    pub fn brief(&self) -> String {
        let line = match self {
            Error::Api(e) => {
                let mut line = format!("{} answered {}", e.peer.name(), e.status.as_u16());
                if let Some(code) = &e.code {
                    line.push_str(&format!(" {code}"));
                }
                if !e.message.is_empty() {
                    line.push_str(&format!(": {}", e.message));
                }
                line
            }
            Error::Transport(e) => format!("{}: {}", e.kind.what(), e.message),
            Error::Input(e) => e.to_string(),
            Error::Protocol(e) => What(e).to_string(),
        };
        bounded(line, BRIEF_MAX)
    }

    /// The server's request id, when it gave one.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Protocol(e) => e.request_id.as_deref(),
            Error::Input(_) | Error::Transport(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(e) => e.fmt(f),
            Error::Api(e) => e.fmt(f),
            Error::Protocol(e) => e.fmt(f),
            Error::Transport(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}
impl std::error::Error for InputError {}
impl std::error::Error for ApiError {}
impl std::error::Error for ProtocolError {}
impl std::error::Error for TransportError {}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e)
    }
}
impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(e)
    }
}
impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}
impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

/// A bounded, single-line, printable excerpt of a body: at most
/// [`EXCERPT_LIMIT`] bytes of text (plus `…` when cut), whatever the bytes.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let cut = body.len().min(EXCERPT_LIMIT);
    let text = String::from_utf8_lossy(&body[..cut]);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // Invalid bytes become U+FFFD, three bytes each: bound the text, not the input.
    let truncated = body.len() > cut || clean.len() > EXCERPT_LIMIT;
    let mut out = bounded(clean, EXCERPT_LIMIT);
    if out.ends_with('…') {
        out.pop();
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if truncated {
        out.push('…');
    }
    out
}

/// `text` with every control character (escape sequences included) made a
/// space, so that what a server sends cannot move a terminal's cursor.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Whether `text` holds a control character.
pub(crate) fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// The forms `key` can take in a body: as is, and as a JSON string holds it.
fn key_forms(key: &str) -> impl Iterator<Item = String> {
    let json = serde_json::to_string(key).unwrap_or_default();
    let escaped = json
        .get(1..json.len().saturating_sub(1))
        .unwrap_or_default()
        .to_owned();
    let slashes = escaped.replace('/', "\\/");
    [key.to_owned(), escaped, slashes].into_iter()
}

/// [`redact_body`], for tests.
#[cfg(test)]
pub(crate) fn redact_bytes<'a>(body: &'a [u8], key: &str) -> std::borrow::Cow<'a, [u8]> {
    redact_body(body, std::str::from_utf8(body).ok(), key)
}

/// `body` with every occurrence of `key` replaced by `<redacted>`: done
/// before anything is cut from a body, so no part of a key survives a cut.
/// Borrows (and costs one scan) when the key is not there. `text` is the
/// body when it is valid UTF-8: then the scan is the standard library's
/// vectorised substring search, not a walk from one candidate byte to the
/// next.
pub(crate) fn redact_body<'a>(
    body: &'a [u8],
    text: Option<&str>,
    key: &str,
) -> std::borrow::Cow<'a, [u8]> {
    // A key holding `"`, `\` or `/` can also stand escaped in a JSON string.
    let escapable = key.contains(['"', '\\', '/']);
    let present = match text {
        Some(text) => text.contains(key) || (escapable && text.contains('\\')),
        None => contains(body, key.as_bytes()) || (escapable && contains(body, b"\\")),
    };
    if key.is_empty() || !present {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = body.to_vec();
    for form in key_forms(key) {
        if form.is_empty() {
            continue;
        }
        out = replace_bytes(&out, form.as_bytes(), b"<redacted>");
    }
    std::borrow::Cow::Owned(out)
}

/// `text` with `key` replaced by `<redacted>`.
pub(crate) fn redact(text: &mut String, key: &str) {
    if !key.is_empty() && text.contains(key) {
        *text = text.replace(key, "<redacted>");
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return false;
    };
    let last = hay.len().saturating_sub(needle.len());
    let mut i = 0;
    while i <= last && i < hay.len() {
        match hay[i..=last].iter().position(|&b| b == first) {
            None => return false,
            Some(at) => {
                let start = i + at;
                if hay[start + 1..].starts_with(rest) {
                    return true;
                }
                i = start + 1;
            }
        }
    }
    false
}

fn replace_bytes(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// The longest [`Error::brief`], in bytes.
pub(crate) const BRIEF_MAX: usize = 160;

/// Shortens an explanation to at most `max` bytes, on a character boundary.
pub(crate) fn bounded(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn excerpts_are_bounded_printable_and_single_line() {
        let body = "line one\nline two\r\n\u{7}".repeat(100);
        let e = excerpt(body.as_bytes());
        assert!(e.len() <= EXCERPT_LIMIT + '…'.len_utf8());
        assert!(!e.chars().any(char::is_control));
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"short\n"), "short");
        // Invalid UTF-8 is replaced, not refused.
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a");
        // A multi-byte character cut at the limit does not panic.
        let wide = "ह".repeat(400);
        assert!(excerpt(wide.as_bytes()).len() <= EXCERPT_LIMIT + '…'.len_utf8());
    }

    /// Found by the `parse_error` fuzz target: 512 invalid bytes became 512
    /// replacement characters of three bytes each.
    #[test]
    fn excerpts_of_invalid_utf8_stay_within_the_limit() {
        let e = excerpt(&[0xff; 600]);
        assert!(
            e.len() <= EXCERPT_LIMIT + '…'.len_utf8(),
            "{} bytes",
            e.len()
        );
        assert!(e.ends_with('…'));
        let error = crate::wire::parse_error(
            &http::Response::builder()
                .status(500)
                .body(vec![0xc3u8; 2000])
                .unwrap(),
        );
        assert!(error.message.len() <= EXCERPT_LIMIT + '…'.len_utf8());
    }

    #[test]
    fn a_key_is_redacted_in_every_form_a_body_can_hold_it() {
        let key = "sk_a/b\\\"c";
        let raw = format!("x {key} y");
        assert_eq!(
            redact_bytes(raw.as_bytes(), key).as_ref(),
            b"x <redacted> y".as_slice()
        );
        let json = serde_json::to_string(&serde_json::json!({ "m": key })).unwrap();
        assert!(!String::from_utf8_lossy(&redact_bytes(json.as_bytes(), key)).contains("sk_a"));
        let slashed = json.replace('/', "\\/");
        assert!(!String::from_utf8_lossy(&redact_bytes(slashed.as_bytes(), key)).contains("sk_a"));
        assert!(matches!(
            redact_bytes(b"nothing here", "sk"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn printable_removes_terminal_escapes() {
        assert_eq!(printable("a\u{1b}[2Jb\r\n"), "a [2Jb  ");
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
    fn bounded_cuts_on_a_char_boundary() {
        assert_eq!(bounded("हिन्दी".to_owned(), 4), "ह…");
        assert_eq!(bounded("abc".to_owned(), 4), "abc");
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
}
