//! A transport's failure to complete a request, and how it failed.

use std::fmt;

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
    pub(super) fn what(self) -> &'static str {
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
