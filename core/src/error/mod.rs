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
//!
//! - `transport`, `api`, `protocol`, `input`: each kind of error, with its
//!   `Display`.
//! - `text`: excerpts, printable and bounded text, the key redacted.
//! - here: [`Error`], any of them, and its [`RetryClass`].

mod api;
mod input;
mod protocol;
#[cfg(test)]
mod tests;
mod text;
mod transport;

use std::fmt;

pub use api::{ApiError, Peer};
pub use input::InputError;
use protocol::What;
pub use protocol::{ProtocolError, ProtocolErrorKind};
pub(crate) use text::{
    BRIEF_MAX, body_has_escape, bounded, excerpt, has_control, printable, redact, redact_body,
    redact_body_escaped,
};
pub use transport::{TransportError, TransportErrorKind};

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
    /// use sarvam_doc_core::{Error, error::{InputError, RetryClass}};
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
