//! An answer with a status outside 2xx, and who gave it (the API or storage).

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use super::*;
use crate::ErrorCode;

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
    pub(super) fn name(self) -> &'static str {
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

    /// Whether the API refused a job for its pages: `422
    /// max_page_limit_exceeded` (the legacy API), or a 400 or 422 whose
    /// message speaks of pages over a limit (`/doc-ai/v1` documents no
    /// code for it). Such a job can never run: it is ended, not resumed.
    #[must_use]
    pub fn is_page_limit(&self) -> bool {
        if self.peer != Peer::Api {
            return false;
        }
        if self.code == Some(ErrorCode::MaxPageLimitExceeded) {
            return true;
        }
        let message = self.message.to_ascii_lowercase();
        matches!(self.status.as_u16(), 400 | 422)
            && message.contains("page")
            && (message.contains("limit")
                || message.contains("at most")
                || message.contains("maximum"))
    }

    /// The most pages a job may have, as a page-limit refusal
    /// ([`ApiError::is_page_limit`]) names it: the first number after
    /// "limit", "at most" or "maximum" in its message.
    #[must_use]
    pub fn page_limit(&self) -> Option<u32> {
        if !self.is_page_limit() {
            return None;
        }
        let message = self.message.to_ascii_lowercase();
        ["limit", "at most", "maximum"]
            .iter()
            .filter_map(|word| message.find(word).map(|at| at + word.len()))
            .min()
            .and_then(|from| {
                let rest = &message[from..];
                let start = rest.find(|c: char| c.is_ascii_digit())?;
                let digits: String = rest[start..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            })
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
            (Some(ErrorCode::MaxPageLimitExceeded), _) => {
                "the job has more pages than the API takes; send fewer pages a job"
            }
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
