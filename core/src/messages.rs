//! The API's request and response bodies, field for field (published in
//! [`crate::model`], with the values they hold).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::wire::bodies::null_as_default;
pub use crate::wire::bodies::{ErrorBody, ErrorDetails};
use crate::{
    ApiVersion, FileState, InputError, JobState, Language, OutputFormat, StorageContainerType,
};

/// A job's id, as the server gave it.
///
/// The legacy API's ids are UUIDs; `/doc-ai/v1`'s are opaque strings (a date
/// plus a UUID in the SDK's examples, a UUIDv7 in the lifecycle guide). An id
/// is checked when it comes in, from the server or from a user: 1 to 128
/// visible ASCII characters (no space, no control character), not `.` or
/// `..`. So it is safe on a terminal and in a log line; it is
/// percent-encoded when it goes into a URL path ([`JobId::path_segment`]),
/// and made safe before it names a folder.
///
/// ```
/// use sarvam_doc_core::JobId;
/// let id: JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse().unwrap();
/// assert!(id.as_uuid().is_some());
/// let doc_ai: JobId = "20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7".parse().unwrap();
/// assert!(doc_ai.as_uuid().is_none());
/// // Opaque ids are kept as they are, and encoded for a path.
/// let odd: JobId = "a/b?c".parse().unwrap();
/// assert_eq!(odd.path_segment(), "a%2Fb%3Fc");
/// assert!("..".parse::<JobId>().is_err());
/// assert!("a b".parse::<JobId>().is_err());
/// assert!("a\u{1b}[2J".parse::<JobId>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// The longest id taken, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Checks and wraps an id (surrounding white space is trimmed).
    ///
    /// # Errors
    /// [`InputError::JobId`] for an empty or overlong id, one with a space, a
    /// control or a non-ASCII character, or `.`/`..`.
    pub fn new(id: impl Into<String>) -> Result<Self, InputError> {
        let id = id.into();
        let trimmed = id.trim();
        let ok = !trimmed.is_empty()
            && trimmed.len() <= Self::MAX_LEN
            && trimmed != "."
            && trimmed != ".."
            && trimmed.bytes().all(|b| b.is_ascii_graphic());
        if ok && trimmed.len() == id.len() {
            Ok(JobId(id))
        } else if ok {
            Ok(JobId(trimmed.to_owned()))
        } else {
            Err(InputError::JobId(crate::error::bounded(
                crate::error::printable(&id),
                80,
            )))
        }
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a UUID, when it is one (every legacy id is).
    #[must_use]
    pub fn as_uuid(&self) -> Option<Uuid> {
        Uuid::try_parse(&self.0).ok()
    }

    /// Whether this can be the id of a job of `api`: a legacy id is a UUID
    /// (in any of its spellings, such as `3fa85f64-5717-4562-b3fc-2c963f66afa6`);
    /// a `/doc-ai/v1` id is opaque, so any id is one.
    ///
    /// ```
    /// use sarvam_doc_core::{JobId, config::ApiVersion};
    /// let doc_ai: JobId = "20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7".parse().unwrap();
    /// assert!(doc_ai.is_valid_for(ApiVersion::DocAi));
    /// assert!(!doc_ai.is_valid_for(ApiVersion::Legacy));
    /// ```
    #[must_use]
    pub fn is_valid_for(&self, api: ApiVersion) -> bool {
        match api {
            ApiVersion::Legacy => self.as_uuid().is_some(),
            ApiVersion::DocAi => true,
        }
    }

    /// The id as one percent-encoded URL path segment: every byte but the
    /// unreserved `A-Z a-z 0-9 - . _ ~` is encoded, so no id can add a path
    /// segment or start a query.
    #[must_use]
    pub fn path_segment(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(self.0.len());
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
        out
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobId({})", self.0)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for JobId {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobId::new(s)
    }
}

impl From<Uuid> for JobId {
    fn from(id: Uuid) -> Self {
        JobId(id.hyphenated().to_string())
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // One copy of the id: `JobId::new` keeps the string it is given.
        let text = String::deserialize(deserializer)?;
        JobId::new(text).map_err(|e| {
            let shown = match e {
                InputError::JobId(shown) => shown,
                _ => String::new(),
            };
            serde::de::Error::custom(format_args!(
                "{:?} is not a usable job id",
                crate::error::bounded(shown, 64)
            ))
        })
    }
}

/// What a job does: its language and output format (`DocDigitizationJobParameters`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobParameters {
    /// The document's language; the API's default is Hindi.
    #[serde(default, deserialize_with = "null_as_default")]
    pub language: Language,
    /// The output format; the API's default is Markdown.
    #[serde(default, deserialize_with = "null_as_default")]
    pub output_format: OutputFormat,
}

/// A webhook the API calls when the job ends (`DocDigitizationWebhookCallback`).
///
/// Only in the OpenAPI spec; the official SDKs do not send it, and no payload
/// is documented. The token is redacted from `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// Where to call; must be `https`.
    pub url: String,
    /// Sent back in the `X-SARVAM-JOB-CALLBACK-TOKEN` header.
    #[serde(default, deserialize_with = "null_as_default")]
    pub auth_token: String,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("url", &self.url)
            .field("auth_token", &"<redacted>")
            .finish()
    }
}

/// The body of *create job* (`DocDigitizationCreateJobRequest`).
///
/// Every field is optional; an empty request makes a Hindi job with Markdown
/// output, and serialises as `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateJobRequest {
    /// Language and output format; left out of the JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_parameters: Option<JobParameters>,
    /// A completion webhook; left out of the JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
}

impl CreateJobRequest {
    /// A request for a job in `language` with `output_format`.
    ///
    /// ```
    /// use sarvam_doc_core::{model::{CreateJobRequest, Language, OutputFormat}};
    /// let req = CreateJobRequest::new(Language::TAMIL, OutputFormat::Html);
    /// assert_eq!(
    ///     serde_json::to_string(&req).unwrap(),
    ///     r#"{"job_parameters":{"language":"ta-IN","output_format":"html"}}"#
    /// );
    /// ```
    #[must_use]
    pub fn new(language: Language, output_format: OutputFormat) -> Self {
        CreateJobRequest {
            job_parameters: Some(JobParameters {
                language,
                output_format,
            }),
            callback: None,
        }
    }
}

/// The answer to *create job* (`DocDigitizationCreateJobResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateJobResponse {
    /// The new job's id.
    pub job_id: JobId,
    /// Where the job's files are stored.
    pub storage_container_type: StorageContainerType,
    /// The job's parameters, as the server took them.
    #[serde(default, deserialize_with = "null_as_default")]
    pub job_parameters: JobParameters,
    /// The job's state; `Accepted` after creation.
    pub job_state: JobState,
}

/// The body of *upload-files* (`DocDigitizationUploadFilesRequest`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadFilesRequest {
    /// The job to upload to.
    pub job_id: JobId,
    /// The file names; the API takes exactly one, ending `.pdf` or `.zip`.
    pub files: Vec<String>,
}

impl UploadFilesRequest {
    /// A request for the upload URL of one file.
    #[must_use]
    pub fn new(job_id: JobId, file_name: impl Into<String>) -> Self {
        UploadFilesRequest {
            job_id,
            files: vec![file_name.into()],
        }
    }
}

/// A presigned storage URL and its metadata (`FileSignedURLDetails`).
///
/// The URL carries a signature; it is never sent the API key. It is parsed
/// when the answer is: a body whose URL is not a URL fails as a whole, and
/// [`crate::Api`] also checks the scheme (https, or loopback) before anything
/// uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSignedUrl {
    /// The presigned URL.
    #[serde(with = "uri")]
    pub file_url: http::Uri,
    /// Free-form metadata (for downloads: content type, size, last modified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl FileSignedUrl {
    /// The `fileSize` the metadata announces, if any.
    #[must_use]
    pub fn announced_size(&self) -> Option<u64> {
        self.file_metadata.as_ref()?.get("fileSize")?.as_u64()
    }
}

/// The answer to *upload-files* (`DocDigitizationUploadFilesResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadFilesResponse {
    /// The job.
    pub job_id: JobId,
    /// The job's state.
    pub job_state: JobState,
    /// Presigned upload URLs by file name.
    pub upload_urls: BTreeMap<String, FileSignedUrl>,
    /// Where the files are stored.
    pub storage_container_type: StorageContainerType,
}

/// A file of a job (`TaskFileDetails`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFileDetails {
    /// The file's name.
    pub file_name: String,
    /// The file's id.
    pub file_id: String,
}

/// An error on one page (`DocDigitizationPageError`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageError {
    /// The page, counting from 1.
    pub page_number: u32,
    /// A code naming the error.
    pub error_code: String,
    /// What went wrong.
    pub error_message: String,
}

/// Processing details of one input file (`DocDigitizationJobDetail`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDetail {
    /// The input files.
    #[serde(default, deserialize_with = "null_as_default")]
    pub inputs: Vec<TaskFileDetails>,
    /// The output files.
    #[serde(default, deserialize_with = "null_as_default")]
    pub outputs: Vec<TaskFileDetails>,
    /// The file's processing state.
    pub state: FileState,
    /// Pages in the file.
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_pages: u32,
    /// Pages processed so far.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pages_processed: u32,
    /// Pages that succeeded.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pages_succeeded: u32,
    /// Pages that failed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pages_failed: u32,
    /// A file-level error, empty if none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error_message: String,
    /// A standardised error code, if any.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Errors of single pages.
    #[serde(default, deserialize_with = "null_as_default")]
    pub page_errors: Vec<PageError>,
}

/// A job's status (`DocDigitizationJobStatusResponse`), the answer to
/// *status* and to *start*.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    /// The job.
    pub job_id: JobId,
    /// The job's state.
    pub job_state: JobState,
    /// When the job was created.
    #[serde(with = "timestamp")]
    pub created_at: OffsetDateTime,
    /// When the job last changed.
    #[serde(with = "timestamp")]
    pub updated_at: OffsetDateTime,
    /// Where the job's files are stored.
    pub storage_container_type: StorageContainerType,
    /// Input files in the job ("always 1").
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_files: u32,
    /// Files processed successfully.
    #[serde(default, deserialize_with = "null_as_default")]
    pub successful_files_count: u32,
    /// Files that failed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub failed_files_count: u32,
    /// A job-level error, empty if none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error_message: String,
    /// Per-file details with page counts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub job_details: Vec<JobDetail>,
}

/// Page counts summed over a job's files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageCounts {
    /// Pages in the job.
    pub total: u32,
    /// Pages processed so far.
    pub processed: u32,
    /// Pages that succeeded.
    pub succeeded: u32,
    /// Pages that failed.
    pub failed: u32,
}

impl std::iter::Sum for PageCounts {
    /// The counts of several jobs together (the chunks of one input).
    fn sum<I: Iterator<Item = PageCounts>>(counts: I) -> Self {
        counts.fold(PageCounts::default(), |a, p| PageCounts {
            total: a.total.saturating_add(p.total),
            processed: a.processed.saturating_add(p.processed),
            succeeded: a.succeeded.saturating_add(p.succeeded),
            failed: a.failed.saturating_add(p.failed),
        })
    }
}

impl JobStatus {
    /// Page counts summed over the job's files.
    #[must_use]
    pub fn pages(&self) -> PageCounts {
        self.job_details
            .iter()
            .fold(PageCounts::default(), |acc, d| PageCounts {
                total: acc.total.saturating_add(d.total_pages),
                processed: acc.processed.saturating_add(d.pages_processed),
                succeeded: acc.succeeded.saturating_add(d.pages_succeeded),
                failed: acc.failed.saturating_add(d.pages_failed),
            })
    }

    /// Every page error of every file.
    pub fn page_errors(&self) -> impl Iterator<Item = &PageError> {
        self.job_details.iter().flat_map(|d| d.page_errors.iter())
    }
}

/// The answer to *download-files* (`DocDigitizationDownloadFilesResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadFilesResponse {
    /// The job.
    pub job_id: JobId,
    /// The job's state.
    pub job_state: JobState,
    /// Where the files are stored.
    pub storage_container_type: StorageContainerType,
    /// Presigned download URLs by output file name (a ZIP each).
    pub download_urls: BTreeMap<String, FileSignedUrl>,
    /// An error code, if any.
    #[serde(default)]
    pub error_code: Option<String>,
    /// An error message, if any.
    #[serde(default)]
    pub error_message: Option<String>,
}

/// URLs as `http::Uri`, checked to be absolute when read.
pub(crate) mod uri {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(u: &http::Uri, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(u)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<http::Uri, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let parsed: Option<http::Uri> = text.parse().ok();
        match parsed {
            Some(u) if u.scheme().is_some() && u.authority().is_some() => Ok(u),
            _ => Err(serde::de::Error::custom(
                "a presigned URL is not an absolute URL",
            )),
        }
    }
}

/// ISO 8601 timestamps: RFC 3339 on the way out; on the way in RFC 3339, or a
/// date-time without an offset, taken as UTC (servers written in Python often
/// send those).
pub(crate) mod timestamp {
    use serde::{Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{OffsetDateTime, PrimitiveDateTime};

    pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        // A visitor, so that a date read straight from the body is parsed
        // where it lies, with no copy.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = OffsetDateTime;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an ISO 8601 date-time")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<OffsetDateTime, E> {
                parse(text).ok_or_else(|| {
                    E::custom(format_args!(
                        "{:?} is not an ISO 8601 date-time",
                        crate::error::bounded(text.to_owned(), 64)
                    ))
                })
            }
        }
        d.deserialize_str(Visitor)
    }

    /// Parses an RFC 3339 date-time, or one without an offset as UTC.
    pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
        if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
            return Some(t);
        }
        let naive = format_description!(
            version = 2,
            "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        PrimitiveDateTime::parse(text, naive)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_job_id_is_a_uuid_and_a_doc_ai_id_is_any_id() {
        for uuid in [
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
            "3fa85f6457174562b3fc2c963f66afa6",
        ] {
            let id = JobId::new(uuid).unwrap();
            assert!(id.is_valid_for(ApiVersion::Legacy), "{uuid}");
            assert!(id.is_valid_for(ApiVersion::DocAi), "{uuid}");
        }
        for opaque in [
            "20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7",
            "not-a-job",
            "3fa85f64-5717-4562-b3fc-2c963f66afa",
            "3fa85f64-5717-4562-b3fc-2c963f66afa6x",
            "a/b?c",
        ] {
            let id = JobId::new(opaque).unwrap();
            assert!(!id.is_valid_for(ApiVersion::Legacy), "{opaque}");
            assert!(id.is_valid_for(ApiVersion::DocAi), "{opaque}");
        }
    }

    #[test]
    fn timestamps_with_and_without_offsets_are_read() {
        let z = timestamp::parse("2024-01-15T09:30:00Z").unwrap();
        assert_eq!(z.unix_timestamp(), 1_705_311_000);
        let naive = timestamp::parse("2024-01-15T09:30:00.123456").unwrap();
        assert_eq!(naive.unix_timestamp(), 1_705_311_000);
        let offset = timestamp::parse("2024-01-15T15:00:00+05:30").unwrap();
        assert_eq!(offset.unix_timestamp(), 1_705_311_000);
        assert!(timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn an_empty_create_request_is_an_empty_object() {
        assert_eq!(
            serde_json::to_string(&CreateJobRequest::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn callback_token_is_redacted_from_debug() {
        let cb = Callback {
            url: "https://example.com/hook".into(),
            auth_token: "tok-very-secret".into(),
        };
        assert!(!format!("{cb:?}").contains("tok-very-secret"));
    }

    #[test]
    fn nulls_take_the_spec_defaults() {
        let json = r#"{"inputs":null,"outputs":[],"state":"Running","total_pages":null,
            "error_message":null,"error_code":null,"page_errors":null}"#;
        let d: JobDetail = serde_json::from_str(json).unwrap();
        assert_eq!(d.total_pages, 0);
        assert!(d.inputs.is_empty() && d.page_errors.is_empty());
        assert_eq!(d.error_message, "");
    }
}
