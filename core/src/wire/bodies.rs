//! The error bodies both APIs answer with, and the cap on a JSON body: the
//! pieces [`View`](super::View) reads an error with, so the wire depends on no
//! module above it. Re-exported where they belong: [`crate::model`],
//! [`crate::doc_ai`], [`crate::Config`]'s module.

use serde::{Deserialize, Deserializer, Serialize};

/// The default cap on a JSON response body: 4 MiB. A status with 1,000 page
/// errors is about 100 KiB.
pub const DEFAULT_MAX_JSON_BODY: usize = 4 * 1024 * 1024;

/// The body of an error answer (`DocDigitizationErrorMessage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetails,
}

/// The `error` object of an error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetails {
    /// What went wrong.
    pub message: String,
    /// The error's code.
    pub code: crate::ErrorCode,
    /// The request id (`date_UUID4`); empty when the server gave none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub request_id: String,
}

/// An RFC 7807 problem, as `/doc-ai/v1` answers errors
/// (`DocAiErrorModel`); every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` by default).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A short summary of the problem type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI naming this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Item by item, where and what.
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<ProblemItem>,
}

/// One item of a [`Problem`] (`DocAiErrorDetail`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemItem {
    /// Where, such as `body.upload_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// What.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Reads `null` as the field's default, as the spec's defaults intend.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
