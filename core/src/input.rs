//! The input rule, in one place: which files a job can take, and what a
//! user may type for the rules that have a text form.

use std::path::Path;

use crate::error::{bounded, printable};
use crate::{InputError, OutputFormat};

/// The largest input file the API takes: 200 MB.
pub const MAX_INPUT_BYTES: u64 = 200 * 1024 * 1024;

/// The most pages the legacy job API documents for one job: 10 (one of its
/// sources says 500). A document over it is worth a warning, or a refusal,
/// before anything is paid for.
pub const LEGACY_PAGE_LIMIT: u32 = 10;

/// The longest input file name taken, in bytes (most file systems stop at 255).
const MAX_NAME: usize = 255;

/// What kind of document a file is, by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DocumentKind {
    /// A PDF.
    Pdf,
    /// A ZIP of JPEG/PNG page images.
    Zip,
}

/// Checks an input file name: a bare name (no path), ending `.pdf` or `.zip`
/// in any case, with a stem that can name an output folder (not empty, not
/// only dots), no control characters, at most 255 bytes.
///
/// ```
/// use sarvam_doc_core::{model::{DocumentKind, check_file_name}};
/// assert_eq!(check_file_name("scan.PDF"), Ok(DocumentKind::Pdf));
/// assert_eq!(check_file_name("pages.zip"), Ok(DocumentKind::Zip));
/// assert!(check_file_name("photo.png").is_err());
/// assert!(check_file_name("../x.pdf").is_err());
/// // Stems that name no folder of their own (".." and "."): refused.
/// assert!(check_file_name("...pdf").is_err());
/// assert!(check_file_name("..pdf").is_err());
/// assert!(check_file_name(".pdf").is_err());
/// ```
///
/// # Errors
/// [`InputError::FileName`] saying what is wrong.
pub fn check_file_name(name: &str) -> Result<DocumentKind, InputError> {
    let refuse = |reason: &'static str| InputError::FileName {
        name: bounded(printable(name), 120),
        reason,
    };
    if name.is_empty() {
        return Err(refuse("the name is empty"));
    }
    if name.len() > MAX_NAME {
        return Err(refuse("the name is longer than 255 bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err(refuse("the name holds control characters"));
    }
    if name.contains(['/', '\\']) || Path::new(name).file_name().is_none_or(|f| f != name) {
        return Err(refuse("give a file name without a path"));
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let kind = if ext.eq_ignore_ascii_case("pdf") {
        DocumentKind::Pdf
    } else if ext.eq_ignore_ascii_case("zip") {
        DocumentKind::Zip
    } else {
        return Err(refuse(
            "the API takes only .pdf or .zip files (a ZIP of JPEG/PNG pages)",
        ));
    };
    if stem.trim_matches(['.', ' ']).is_empty() {
        return Err(refuse(
            "its name before the extension is empty or only dots, so it cannot name an output folder",
        ));
    }
    Ok(kind)
}

impl std::str::FromStr for OutputFormat {
    type Err = InputError;

    /// Parses what a user typed; only `html`, `md` and `json` are accepted,
    /// since the API rejects anything else (even `markdown`) with a 400.
    ///
    /// ```
    /// use sarvam_doc_core::model::OutputFormat;
    /// assert_eq!("md".parse::<OutputFormat>().unwrap(), OutputFormat::Md);
    /// assert!("markdown".parse::<OutputFormat>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match OutputFormat::from(s) {
            OutputFormat::Unknown(other) => Err(InputError::OutputFormat(other)),
            known => Ok(known),
        }
    }
}
