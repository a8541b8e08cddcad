//! Something the caller asked for that the API cannot take.

use std::fmt;

/// Something the caller asked for that the API cannot take. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// A job id that is not one (see [`crate::JobId`]).
    JobId(String),
    /// An input file name the API cannot take, and why.
    FileName {
        /// The name (control characters replaced).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An input file that is empty or over the API's 200 MB limit; the size
    /// in bytes.
    FileSize(u64),
    /// A language code that is not of the shape `xx-XX`.
    Language(String),
    /// An output format other than `html`, `md` or `json`.
    OutputFormat(String),
    /// A URL that cannot be used, and why.
    Url {
        /// What the URL was for (`base URL`, `upload URL`, …).
        role: &'static str,
        /// The URL with any query string removed (it may hold a signature).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An API key that is empty or cannot go in a header. The key itself is
    /// never kept.
    ApiKey(&'static str),
    /// A user agent that cannot go in a header.
    UserAgent,
    /// A `/doc-ai/v1` extraction schema the API would refuse: where in the
    /// schema, and why.
    Schema {
        /// Where: `properties.total`, `(root)`, ….
        location: String,
        /// What is wrong there.
        reason: String,
    },
    /// A `/doc-ai/v1` request field the API would refuse (a config id, a
    /// model name), and why.
    Field {
        /// The form field.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A document's pages cannot be planned (none, too many, or a page
    /// limit of 0), and why.
    Pages(String),
    /// The core was used in a way it does not support (a bug in the caller,
    /// never caused by the network).
    Misuse(&'static str),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::JobId(id) => write!(
                f,
                "{id:?} is not a job id: give the id the run printed, such as 3fa85f64-5717-4562-b3fc-2c963f66afa6"
            ),
            InputError::FileName { name, reason } => write!(
                f,
                "{name:?} cannot be uploaded: {reason}; rename the file (a PDF ending .pdf, or a ZIP of JPEG/PNG pages ending .zip)"
            ),
            InputError::Pages(why) => f.write_str(why),
            InputError::FileSize(0) => {
                f.write_str("the input file is empty: give a PDF, or a ZIP of JPEG/PNG pages")
            }
            InputError::FileSize(len) => write!(
                f,
                "the input file is {len} bytes, over the API's 200 MB limit: split it into smaller documents"
            ),
            InputError::Language(code) => write!(
                f,
                "{code:?} is not a language code: use a code such as hi-IN, en-IN or ta-IN"
            ),
            InputError::OutputFormat(format) => write!(
                f,
                "{format:?} is not an output format: use md, html or json"
            ),
            InputError::Url { role, url, reason } => {
                write!(f, "the {role} {url:?} cannot be used: {reason}")
            }
            InputError::ApiKey(reason) => write!(
                f,
                "the API key {reason}: set SARVAM_API_KEY to the key from the Sarvam dashboard"
            ),
            InputError::UserAgent => {
                f.write_str("the user agent cannot go in an HTTP header: use printable ASCII only")
            }
            InputError::Schema { location, reason } => write!(
                f,
                "the extraction schema is not one the API takes, at {location}: {reason}"
            ),
            InputError::Field { name, reason } => write!(f, "the {name} cannot be sent: {reason}"),
            InputError::Misuse(what) => {
                write!(f, "the client was misused: {what}; please report it")
            }
        }
    }
}
