//! `/doc-ai/v1`'s request and response bodies, field for field.
//!
//! Names follow the SDKs' schemas (`DocAiJobStatusResponse` becomes
//! [`DocAiStatus`], and so on). Statuses are kept as the server sent them
//! (the sources type them as free strings) and read through
//! [`DocAiStatus::state`]; fields the client does not know are kept in
//! `extra` and written back unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::wire::bodies::null_as_default;
pub use crate::wire::bodies::{Problem, ProblemItem};
use crate::{JobId, JobState, PageCounts};

/// The body of *presign an upload* (`DocAIPresignUploadRequest`): `{}`, or
/// the MIME type the upload will carry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignRequest {
    /// The MIME type of the upload; when set, the upload's `Content-Type`
    /// must equal it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// The answer to *presign an upload* (`DocAiPresignUploadResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedUpload {
    /// The handle to name the upload by in a submit's `upload_ids`.
    pub upload_id: String,
    /// The method to upload with (`PUT` in the docs' example).
    pub method: String,
    /// The presigned storage URL (checked usable when parsed).
    #[serde(with = "crate::messages::uri")]
    pub url: http::Uri,
    /// Headers the upload must carry.
    #[serde(default, deserialize_with = "null_as_default")]
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working (ISO 8601 in the lifecycle guide).
    pub expires_at: String,
}

/// The answer to a submit (`DocAiStartJobResponse`): the job is made and
/// started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The new job's id.
    pub job_id: JobId,
    /// Its status as sent (`pending`, in the sources that say).
    pub status: String,
    /// The job run's id.
    pub run_id: String,
}

/// Page counts of a `/doc-ai/v1` job (`DocAIUsage`); every member optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Pages in the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_total: Option<u32>,
    /// Pages processed so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_processed: Option<u32>,
    /// Pages that succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_succeeded: Option<u32>,
    /// Pages that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_failed: Option<u32>,
}

impl Usage {
    /// The counts, with absent ones as 0.
    #[must_use]
    pub fn pages(&self) -> PageCounts {
        PageCounts {
            total: self.pages_total.unwrap_or(0),
            processed: self.pages_processed.unwrap_or(0),
            succeeded: self.pages_succeeded.unwrap_or(0),
            failed: self.pages_failed.unwrap_or(0),
        }
    }
}

/// A `/doc-ai/v1` job's status (`DocAiJobStatusResponse`).
///
/// ```
/// use sarvam_doc_core::{doc_ai::DocAiStatus, model::JobState};
/// let status: DocAiStatus = serde_json::from_str(r#"{"job_id":"019fb81e-2543-70bd-a737-b5a2d62a3bb7",
///     "status":"partially_completed","pipeline":"digitise","usage":{"pages_total":4},
///     "created_at":"2026-11-30T10:00:02Z","updated_at":"2026-11-30T10:00:09Z","phase":"ocr"}"#)?;
/// assert_eq!(status.state(), JobState::PartiallyCompleted);
/// assert_eq!(status.extra["phase"], "ocr");
/// # Ok::<(), serde_json::Error>(())
/// ```
// `Deserialize` is written out below: a derived one with `#[serde(flatten)]`
// buffers the whole object before reading a field, which made a status
// parse cost 4.4x a skim of its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocAiStatus {
    /// The job.
    pub job_id: JobId,
    /// The status as sent: `pending`, `running`, `completed`,
    /// `partially_completed`, `failed`, `rejected` (or `accepted`, or one
    /// the client does not know).
    pub status: String,
    /// `digitise` or `extract` (or another the client does not know).
    #[serde(default)]
    pub pipeline: String,
    /// Page counts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub usage: Usage,
    /// When the job was made, as sent.
    #[serde(default)]
    pub created_at: String,
    /// When the job last changed, as sent.
    #[serde(default)]
    pub updated_at: String,
    /// Fields the client does not know, kept as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl DocAiStatus {
    /// The status read as a [`JobState`] (see [`state_of`]).
    #[must_use]
    pub fn state(&self) -> JobState {
        state_of(&self.status)
    }

    /// Whether it is an extraction, whose results are fetched as well as
    /// its output file.
    #[must_use]
    pub fn is_extract(&self) -> bool {
        self.pipeline.eq_ignore_ascii_case("extract")
    }
}

/// A member of a [`DocAiStatus`] object: a known field, or one kept in `extra`.
enum StatusField {
    JobId,
    Status,
    Pipeline,
    Usage,
    CreatedAt,
    UpdatedAt,
    Other(String),
}

impl<'de> Deserialize<'de> for StatusField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = StatusField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StatusField, E> {
                Ok(StatusField::known(v).unwrap_or_else(|| StatusField::Other(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<StatusField, E> {
                Ok(StatusField::known(&v).unwrap_or(StatusField::Other(v)))
            }
        }
        deserializer.deserialize_identifier(Visitor)
    }
}

impl StatusField {
    fn known(name: &str) -> Option<StatusField> {
        Some(match name {
            "job_id" => StatusField::JobId,
            "status" => StatusField::Status,
            "pipeline" => StatusField::Pipeline,
            "usage" => StatusField::Usage,
            "created_at" => StatusField::CreatedAt,
            "updated_at" => StatusField::UpdatedAt,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for DocAiStatus {
    /// As `#[derive(Deserialize)]` with `extra` flattened would read it
    /// (`job_id` and `status` required; `pipeline`, `created_at` and
    /// `updated_at` empty when absent; `usage` empty when absent or null;
    /// a field twice is an error), in one pass.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = DocAiStatus;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a /doc-ai/v1 job status object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DocAiStatus, A::Error> {
                use serde::de::Error;
                fn once<T, E: Error>(
                    slot: &mut Option<T>,
                    name: &'static str,
                    value: T,
                ) -> Result<(), E> {
                    if slot.replace(value).is_some() {
                        return Err(E::duplicate_field(name));
                    }
                    Ok(())
                }
                let (mut job_id, mut status, mut pipeline) = (None, None, None);
                let (mut usage, mut created_at, mut updated_at) = (None, None, None);
                let mut extra = BTreeMap::new();
                while let Some(field) = map.next_key::<StatusField>()? {
                    match field {
                        StatusField::JobId => once(&mut job_id, "job_id", map.next_value()?)?,
                        StatusField::Status => once(&mut status, "status", map.next_value()?)?,
                        StatusField::Pipeline => {
                            once(&mut pipeline, "pipeline", map.next_value()?)?;
                        }
                        StatusField::Usage => {
                            let value: Option<Usage> = map.next_value()?;
                            once(&mut usage, "usage", value.unwrap_or_default())?;
                        }
                        StatusField::CreatedAt => {
                            once(&mut created_at, "created_at", map.next_value()?)?;
                        }
                        StatusField::UpdatedAt => {
                            once(&mut updated_at, "updated_at", map.next_value()?)?;
                        }
                        StatusField::Other(name) => {
                            let value: Value = map.next_value()?;
                            extra.insert(name, value);
                        }
                    }
                }
                Ok(DocAiStatus {
                    job_id: job_id.ok_or_else(|| A::Error::missing_field("job_id"))?,
                    status: status.ok_or_else(|| A::Error::missing_field("status"))?,
                    pipeline: pipeline.unwrap_or_default(),
                    usage: usage.unwrap_or_default(),
                    created_at: created_at.unwrap_or_default(),
                    updated_at: updated_at.unwrap_or_default(),
                    extra,
                })
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Reads a `/doc-ai/v1` status (`partially_completed`, in any case) as the
/// [`JobState`] both APIs share; one the client does not know is kept as
/// [`JobState::Unknown`], which is never taken for an end.
///
/// ```
/// use sarvam_doc_core::{doc_ai::state_of, model::JobState};
/// assert_eq!(state_of("partially_completed"), JobState::PartiallyCompleted);
/// assert_eq!(state_of("REJECTED"), JobState::Rejected);
/// assert_eq!(state_of("archived"), JobState::Unknown("archived".into()));
/// ```
#[must_use]
pub fn state_of(status: &str) -> JobState {
    let known = [
        ("pending", JobState::Pending),
        ("running", JobState::Running),
        ("completed", JobState::Completed),
        ("partially_completed", JobState::PartiallyCompleted),
        ("failed", JobState::Failed),
        ("rejected", JobState::Rejected),
        ("accepted", JobState::Accepted),
    ];
    let trimmed = status.trim();
    known
        .into_iter()
        .find(|(name, _)| trimmed.eq_ignore_ascii_case(name))
        .map_or_else(|| JobState::Unknown(status.to_owned()), |(_, state)| state)
}

/// The answer to *results* (`DocAiGetResultsResponse`): a union on `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Results {
    /// A digitise (or parse) job's pages, document by document.
    Digitise(DigitiseResults),
    /// An extract job's fields.
    Extract(ExtractResults),
}

impl Results {
    /// The job the results are of.
    #[must_use]
    pub fn job_id(&self) -> &JobId {
        match self {
            Results::Digitise(r) => &r.job_id,
            Results::Extract(r) => &r.job_id,
        }
    }
}

/// Results of a digitise job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigitiseResults {
    /// The job.
    pub job_id: JobId,
    /// Its terminal status, as sent.
    pub status: String,
    /// Page counts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub usage: Usage,
    /// One entry per input document, in order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub documents: Vec<ResultDocument>,
    /// Fields the client does not know, kept as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One document of [`DigitiseResults`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultDocument {
    /// Its file name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Its pages.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pages: Vec<ResultPage>,
}

/// One page of a [`ResultDocument`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultPage {
    /// Its number (from 1, in every example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
    /// Its text in the asked format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// Results of an extract job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtractResults {
    /// The job.
    pub job_id: JobId,
    /// Its terminal status, as sent.
    pub status: String,
    /// Page counts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub usage: Usage,
    /// The fields, shaped as the schema or config asked.
    pub result: Value,
    /// The same shape, each leaf a `{confidence, sources}` object.
    #[serde(default)]
    pub annotations: Value,
    /// The version of the schema or config used.
    #[serde(default)]
    pub version: i64,
    /// Fields the client does not know, kept as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The answer to *download URL* (`DocAiDownloadUrlResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadUrl {
    /// The method to fetch with (`GET`).
    pub method: String,
    /// The presigned URL (checked usable when parsed).
    #[serde(with = "crate::messages::uri")]
    pub url: http::Uri,
    /// Headers the download must carry.
    #[serde(default, deserialize_with = "null_as_default")]
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working, as sent.
    #[serde(default)]
    pub expires_at: String,
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_keeps_unknown_fields_and_defaults_absent_or_null_ones() {
        let status: DocAiStatus = serde_json::from_str(
            r#"{"phase":{"n":[1,null]},"job_id":"job-1","status":"running","usage":null,"x":"y"}"#,
        )
        .unwrap();
        assert_eq!(status.job_id.as_str(), "job-1");
        assert_eq!(status.status, "running");
        assert_eq!(status.pipeline, "");
        assert_eq!(status.usage, Usage::default());
        assert_eq!(status.created_at, "");
        assert_eq!(status.extra.len(), 2);
        assert_eq!(status.extra["phase"]["n"][0], 1);
        assert_eq!(status.extra["x"], "y");
        // What it writes, it reads back the same.
        let again: DocAiStatus =
            serde_json::from_value(serde_json::to_value(&status).unwrap()).unwrap();
        assert_eq!(again, status);
    }

    #[test]
    fn a_status_without_its_id_or_state_or_with_a_field_twice_is_refused() {
        for body in [
            r#"{"status":"running"}"#,
            r#"{"job_id":"job-1"}"#,
            r#"{"job_id":"job-1","status":"running","status":"completed"}"#,
            r#"{"job_id":"job-1","status":"running","pipeline":null}"#,
            r#"["job-1","running"]"#,
        ] {
            assert!(serde_json::from_str::<DocAiStatus>(body).is_err(), "{body}");
        }
    }
}
