//! A 2xx answer that broke the contract.

use std::fmt;

use http::StatusCode;

use super::*;

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
pub(super) struct What<'a>(pub(super) &'a ProtocolError);

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
