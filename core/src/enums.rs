//! The enumerations the server sends, each keeping values it does not know.
//!
//! A server that adds a job state, storage type, error code or output format
//! must never break a client, so every enum here has an `Unknown(String)`
//! variant that holds the value as sent and serialises back to it unchanged.

use std::fmt;

/// The longest unknown name kept from an answer, in bytes.
const MAX_UNKNOWN_NAME: usize = 64;

/// A name read from an answer, as an `Unknown` keeps it: printable (a server
/// cannot move the terminal's cursor through a state it invents) and at most
/// [`MAX_UNKNOWN_NAME`] bytes.
fn wire_name(name: &str) -> String {
    crate::error::bounded(crate::error::printable(name), MAX_UNKNOWN_NAME)
}

/// Declares a string-valued enum with an `Unknown(String)` fallback, with
/// `as_str`, `From<&str>`, `Display` and serde implementations that agree.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the client does not know, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// Every value this version knows, in the order the API reference lists them.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as it goes on the wire.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(other) => other,
                }
            }

            /// Whether this is a value the client does not know.
            #[must_use]
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match $name::from(value.as_str()) {
                    $name::Unknown(_) => $name::Unknown(value),
                    known => known,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a string naming a ", stringify!($name)))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok(match $name::from(v) {
                            $name::Unknown(_) => $name::Unknown(wire_name(v)),
                            known => known,
                        })
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

string_enum! {
    /// The state of a whole job (`DocDigitizationJobState`).
    ///
    /// `Completed`, `PartiallyCompleted` and `Failed` are terminal; every other
    /// value, an unknown one included, is not, and an unknown state is never
    /// taken for success.
    pub enum JobState {
        /// Created; waiting for the input file to be uploaded.
        Accepted = "Accepted",
        /// The file is uploaded; waiting for the job to start.
        Pending = "Pending",
        /// Processing.
        Running = "Running",
        /// Every page succeeded.
        Completed = "Completed",
        /// Some pages succeeded and some failed.
        PartiallyCompleted = "PartiallyCompleted",
        /// Every page failed, or the job hit a job-level error.
        Failed = "Failed",
        /// `/doc-ai/v1` only (`rejected`): refused before processing, on
        /// validation or entitlement.
        Rejected = "Rejected",
    }
}

impl JobState {
    /// What the state means for a client: ended (and how), working, or
    /// waiting on something. The one classification of job states; the
    /// machines, the transports and the CLI all use it.
    ///
    /// ```
    /// use sarvam_doc_core::{model::{Ending, JobState, StateClass}};
    /// assert_eq!(JobState::PartiallyCompleted.class(), StateClass::Ended(Ending::PartiallyCompleted));
    /// assert_eq!(JobState::Running.class(), StateClass::Working);
    /// // An unknown state is never taken for an end, let alone success.
    /// assert_eq!(JobState::from("Archived").class(), StateClass::Waiting);
    /// ```
    #[must_use]
    pub fn class(&self) -> StateClass {
        match self {
            JobState::Completed => StateClass::Ended(Ending::Completed),
            JobState::PartiallyCompleted => StateClass::Ended(Ending::PartiallyCompleted),
            JobState::Failed => StateClass::Ended(Ending::Failed),
            JobState::Rejected => StateClass::Ended(Ending::Rejected),
            JobState::Running => StateClass::Working,
            JobState::Accepted | JobState::Pending | JobState::Unknown(_) => StateClass::Waiting,
        }
    }

    /// Whether the job has ended: `Completed`, `PartiallyCompleted`,
    /// `Failed` (or `/doc-ai/v1`'s `rejected`).
    ///
    /// ```
    /// use sarvam_doc_core::model::JobState;
    /// assert!(JobState::PartiallyCompleted.is_terminal());
    /// assert!(!JobState::Running.is_terminal());
    /// assert!(!JobState::from("Archived").is_terminal());
    /// ```
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(self.class(), StateClass::Ended(_))
    }

    /// Whether the job's outputs can be downloaded: `Completed` or `PartiallyCompleted`.
    #[must_use]
    pub fn has_output(&self) -> bool {
        matches!(self.class(), StateClass::Ended(e) if e.has_output())
    }
}

/// What a job state means for a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateClass {
    /// The job has ended.
    Ended(Ending),
    /// Processing: keep polling.
    Working,
    /// Waiting on something (an upload, a start, a queue) or a state this
    /// client does not know: keep polling, up to the stall limit.
    Waiting,
}

/// How a job ended, by the server's word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ending {
    /// Every page succeeded.
    Completed,
    /// Some pages succeeded, some failed.
    PartiallyCompleted,
    /// Every page failed, or a job-level error.
    Failed,
    /// Refused before processing (`/doc-ai/v1`).
    Rejected,
}

impl Ending {
    /// Whether the job has outputs to fetch.
    #[must_use]
    pub fn has_output(self) -> bool {
        matches!(self, Ending::Completed | Ending::PartiallyCompleted)
    }
}

string_enum! {
    /// The processing state of one input file (`DocDigitizationJobDetailState`).
    pub enum FileState {
        /// Waiting to be processed.
        Pending = "Pending",
        /// Being processed.
        Running = "Running",
        /// Every page succeeded.
        Success = "Success",
        /// Some pages succeeded and some failed.
        PartialSuccess = "PartialSuccess",
        /// Processing failed.
        Failed = "Failed",
    }
}

string_enum! {
    /// Where the job's files are stored (`StorageContainerType`).
    pub enum StorageContainerType {
        /// Azure Blob Storage; uploads need `x-ms-blob-type: BlockBlob`.
        Azure = "Azure",
        /// Local storage.
        Local = "Local",
        /// Google Cloud Storage.
        Google = "Google",
        /// Azure Blob Storage (older layout); uploads need `x-ms-blob-type: BlockBlob`.
        AzureV1 = "Azure_V1",
    }
}

impl StorageContainerType {
    /// Whether uploads to this storage are Azure Put Blob requests, which need
    /// the `x-ms-blob-type: BlockBlob` header.
    #[must_use]
    pub fn is_azure(&self) -> bool {
        matches!(
            self,
            StorageContainerType::Azure | StorageContainerType::AzureV1
        )
    }
}

string_enum! {
    /// The format of a job's output (`DocDigitizationOutputFormat`); always delivered zipped.
    pub enum OutputFormat {
        /// HTML.
        Html = "html",
        /// Markdown, the API's default.
        Md = "md",
        /// JSON.
        Json = "json",
    }
}

impl Default for OutputFormat {
    /// `md`, the API's default when the job does not name one.
    fn default() -> Self {
        OutputFormat::Md
    }
}

string_enum! {
    /// The `code` of an API error body.
    ///
    /// The first six are the API's `DocDigitizationErrorCode`; the rest are
    /// codes Sarvam documents for other endpoints or in its general error
    /// guide, which this API is known or likely to send as well.
    pub enum ErrorCode {
        /// 400 (also 413/422): the request is malformed. Do not retry.
        InvalidRequest = "invalid_request_error",
        /// 500: the server failed. Retry with backoff.
        InternalServer = "internal_server_error",
        /// 429: the account has no credits left. Do not retry.
        InsufficientQuota = "insufficient_quota_error",
        /// 403: the API key is missing or wrong. Do not retry.
        InvalidApiKey = "invalid_api_key_error",
        /// 429: too many requests. Retry after a delay.
        RateLimitExceeded = "rate_limit_exceeded_error",
        /// 503: the service is overloaded. Retry after a delay.
        HighLoad = "high_load_error",
        /// 404: no such job.
        NotFound = "not_found_error",
        /// 422: the request is well-formed but cannot be processed.
        UnprocessableEntity = "unprocessable_entity_error",
        /// 422: the document has more pages than the API allows.
        MaxPageLimitExceeded = "max_page_limit_exceeded",
        /// Authentication failed.
        Authentication = "authentication_error",
        /// An upstream model call failed.
        ModelCall = "model_call_error",
        /// A gateway timed out.
        GatewayTimeout = "gateway_timeout_error",
        /// The billing service is unavailable.
        BillingServiceUnavailable = "billing_service_unavailable_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_value_round_trips_through_its_wire_name() {
        for state in JobState::KNOWN {
            assert_eq!(&JobState::from(state.as_str()), state);
            let json = serde_json::to_string(state).unwrap();
            assert_eq!(&serde_json::from_str::<JobState>(&json).unwrap(), state);
        }
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::from(code.as_str()), code);
        }
        for kind in StorageContainerType::KNOWN {
            assert_eq!(&StorageContainerType::from(kind.as_str()), kind);
        }
        for state in FileState::KNOWN {
            assert_eq!(&FileState::from(state.as_str()), state);
        }
    }

    #[test]
    fn unknown_values_are_kept_and_sent_back_unchanged() {
        let state: JobState = serde_json::from_str("\"Archived\"").unwrap();
        assert_eq!(state, JobState::Unknown("Archived".into()));
        assert!(state.is_unknown());
        assert!(!state.is_terminal());
        assert!(!state.has_output());
        assert_eq!(serde_json::to_string(&state).unwrap(), "\"Archived\"");
        // Matching is exact: the wire names are case-sensitive.
        assert!(JobState::from("completed").is_unknown());
    }

    #[test]
    fn only_the_documented_end_states_are_terminal() {
        let terminal: Vec<_> = JobState::KNOWN
            .iter()
            .filter(|s| s.is_terminal())
            .map(JobState::as_str)
            .collect();
        assert_eq!(
            terminal,
            ["Completed", "PartiallyCompleted", "Failed", "Rejected"]
        );
    }

    #[test]
    fn azure_storage_kinds_are_recognised() {
        assert!(StorageContainerType::from("Azure_V1").is_azure());
        assert!(StorageContainerType::Azure.is_azure());
        assert!(!StorageContainerType::Google.is_azure());
        assert!(!StorageContainerType::from("S3").is_azure());
    }
}
