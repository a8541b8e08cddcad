//! What a `/doc-ai/v1` job is asked to do ([`Task`]): digitise, parse or
//! extract, with its options checked, as the fields of a submit's form.

use super::{Form, Schema};
use crate::{InputError, Language, OutputFormat};

/// What the document is: printed, handwritten, or both (`content_type`;
/// not a MIME type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// Printed text (the API's default).
    Printed,
    /// Handwriting.
    Handwritten,
    /// Both.
    Mixed,
}

impl ContentType {
    /// The value as sent.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Printed => "printed",
            ContentType::Handwritten => "handwritten",
            ContentType::Mixed => "mixed",
        }
    }
}

/// The format of an extract job's output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtractFormat {
    /// JSON (the default in the sources that say).
    Json,
    /// CSV.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl ExtractFormat {
    /// The value as sent.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ExtractFormat::Json => "json",
            ExtractFormat::Csv => "csv",
            ExtractFormat::Xlsx => "xlsx",
        }
    }
}

/// A digitise (or parse) job's fields. Every one is optional: the server's
/// defaults apply (and the sources disagree on them: `en-IN`, `hi-IN` or
/// "Indic" for the language, `html` for the format).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digitise {
    /// The document's language.
    pub language: Option<Language>,
    /// The output format: `html`, `md` or `json`.
    pub output_format: Option<OutputFormat>,
    /// Printed, handwritten or mixed.
    pub content_type: Option<ContentType>,
    /// The model, by a name the API takes (none is documented).
    pub model: Option<String>,
    /// Whether pages are turned upright first (sent as `"true"`/`"false"`).
    pub auto_orient: Option<bool>,
}

/// Where an extract job's fields are defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtractSource {
    /// A schema given with the job.
    Schema(Schema),
    /// A saved configuration, made in the Doc Agents dashboard.
    ConfigId(String),
}

/// An extract job's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extract {
    /// The schema or saved configuration.
    pub source: ExtractSource,
    /// The document's language.
    pub language: Option<Language>,
    /// The output file's format.
    pub output_format: Option<ExtractFormat>,
    /// Whether the document is also classified (sent as `"true"`/`"false"`).
    pub classification: Option<bool>,
    /// The model, by a name the API takes (none is documented).
    pub model: Option<String>,
}

impl Extract {
    /// An extraction by `source`, with the server's defaults for the rest.
    #[must_use]
    pub fn new(source: ExtractSource) -> Self {
        Extract {
            source,
            language: None,
            output_format: None,
            classification: None,
            model: None,
        }
    }
}

/// What a `/doc-ai/v1` job does with its document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Task {
    /// `POST /doc-ai/v1/job/digitise`: the document's text, page by page.
    Digitise(Digitise),
    /// `POST /doc-ai/v1/job/parse`: the newest docs' name for digitise,
    /// with the same fields.
    Parse(Digitise),
    /// `POST /doc-ai/v1/job/extract`: fields, by a schema or a saved config.
    Extract(Extract),
}

impl Task {
    /// The operation's name and path segment: `digitise`, `parse` or `extract`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Task::Digitise(_) => "digitise",
            Task::Parse(_) => "parse",
            Task::Extract(_) => "extract",
        }
    }

    /// Whether the job's inline results are fetched as well as its output
    /// file (an extraction's results are its answer; a digitise job's pages
    /// are all in its output).
    #[must_use]
    pub fn fetches_results(&self) -> bool {
        matches!(self, Task::Extract(_))
    }

    /// What the task asks, as one line for a journal: the same line means
    /// the same work. A schema is named by a hash of its text.
    #[must_use]
    pub fn request_key(&self) -> String {
        let opt = |s: Option<&str>| s.unwrap_or("-").to_owned();
        match self {
            Task::Digitise(d) | Task::Parse(d) => format!(
                "doc-ai:{}:{}:{}:{}:{}:{}",
                self.name(),
                opt(d.language.as_ref().map(Language::as_str)),
                opt(d.output_format.as_ref().map(OutputFormat::as_str)),
                opt(d.content_type.map(ContentType::as_str)),
                opt(d.model.as_deref()),
                opt(d.auto_orient.map(|b| if b { "true" } else { "false" })),
            ),
            Task::Extract(e) => format!(
                "doc-ai:extract:{}:{}:{}:{}:{}",
                match &e.source {
                    ExtractSource::Schema(s) => format!("schema-{:016x}", fnv(s.as_str())),
                    ExtractSource::ConfigId(id) => format!("config-{id}"),
                },
                opt(e.language.as_ref().map(Language::as_str)),
                opt(e.output_format.map(ExtractFormat::as_str)),
                opt(e.classification.map(|b| if b { "true" } else { "false" })),
                opt(e.model.as_deref()),
            ),
        }
    }

    /// The submit's form, naming the uploads by `upload_ids`, in the order
    /// the TypeScript SDK sends its fields.
    ///
    /// # Errors
    /// [`InputError::OutputFormat`] for a digitise format other than
    /// `html`, `md` or `json`; [`InputError::Field`] for no upload id, or a
    /// config id or model name that is empty, overlong or not printable.
    pub fn form(&self, upload_ids: &[&str]) -> Result<Form, InputError> {
        let ids: Vec<&str> = upload_ids.iter().map(|s| s.trim()).collect();
        if ids.is_empty() || ids.iter().any(|id| id.is_empty() || id.contains(',')) {
            return Err(InputError::Field {
                name: "upload_ids",
                reason: "give one or more upload ids, none empty or holding a comma".into(),
            });
        }
        let mut form = Form::new();
        form.text("upload_ids", ids.join(","));
        let flag = |b: bool| if b { "true" } else { "false" };
        match self {
            Task::Digitise(d) | Task::Parse(d) => {
                if let Some(language) = &d.language {
                    form.text("language", language.as_str());
                }
                if let Some(format) = &d.output_format {
                    if format.is_unknown() {
                        return Err(InputError::OutputFormat(format.as_str().to_owned()));
                    }
                    form.text("output_format", format.as_str());
                }
                if let Some(kind) = d.content_type {
                    form.text("content_type", kind.as_str());
                }
                if let Some(model) = &d.model {
                    form.text("model", checked("model", model)?);
                }
                if let Some(orient) = d.auto_orient {
                    form.text("auto_orient", flag(orient));
                }
            }
            Task::Extract(e) => {
                match &e.source {
                    ExtractSource::Schema(schema) => form.text("schema", schema.as_str()),
                    ExtractSource::ConfigId(id) => {
                        form.text("config_id", checked("config id", id)?)
                    }
                };
                if let Some(language) = &e.language {
                    form.text("language", language.as_str());
                }
                if let Some(format) = e.output_format {
                    form.text("output_format", format.as_str());
                }
                if let Some(classify) = e.classification {
                    form.text("classification", flag(classify));
                }
                if let Some(model) = &e.model {
                    form.text("model", checked("model", model)?);
                }
            }
        }
        Ok(form)
    }
}

/// A free-text field's value: trimmed, 1 to 128 printable characters.
fn checked<'a>(name: &'static str, value: &'a str) -> Result<&'a str, InputError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
        return Err(InputError::Field {
            name,
            reason: "give 1 to 128 printable characters".into(),
        });
    }
    Ok(value)
}

/// FNV-1a: a stable hash for naming a schema in a journal line.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
