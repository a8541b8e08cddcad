//! One request as the manifest keeps it.

/// One request as the manifest keeps it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RequestRecord {
    /// The endpoint, as [`sarvam_doc_core::api::Endpoint::name`] spells it.
    pub endpoint: &'static str,
    /// The attempt, within its machine.
    pub attempt: u64,
    /// The answer's status; none when no answer came.
    pub status: Option<u16>,
    /// The server's request id, when it gave one (the key redacted).
    pub request_id: Option<String>,
    /// How the exchange failed, when it did.
    pub error: Option<String>,
    /// When it ended (RFC 3339).
    pub at: String,
}
