//! What makes an input the same input on a rerun.

use serde::{Deserialize, Serialize};

/// What makes an input the same input on a rerun: where it is, its size and
/// content hash, and what was asked of it (API, language, format).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The input's path, as given.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, in hex.
    pub sha256: String,
    /// What was asked of it, such as `legacy:hi-IN:md`.
    pub request: String,
}

impl Identity {
    /// An input's identity.
    #[must_use]
    pub fn new(
        path: impl Into<String>,
        size: u64,
        sha256: impl Into<String>,
        request: impl Into<String>,
    ) -> Self {
        Identity {
            path: path.into(),
            size,
            sha256: sha256.into(),
            request: request.into(),
        }
    }

    /// Whether `other` is the same document asked for the same thing.
    #[must_use]
    pub fn same_work(&self, other: &Identity) -> bool {
        self.size == other.size && self.sha256 == other.sha256 && self.request == other.request
    }
}
