//! Preflight: what a document is, checked before anything is paid for.
//!
//! A PDF must parse (a header, a page tree) and its pages are counted with
//! `lopdf`; a ZIP must be flat (files at most one folder deep) and hold only
//! JPEG and PNG pages (by their bytes, not their names), at least one. The
//! server checks the same at start; finding out here costs nothing and
//! sends nothing.

use std::fmt;
use std::io::{Cursor, Read};
use std::path::Path;

use sarvam_doc_core::model::DocumentKind;
use sha2::{Digest, Sha256};

/// What preflight learned of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inspection {
    /// Its pages (a PDF's pages, a ZIP's images).
    pub pages: u32,
    /// Its SHA-256, in hex: what the journal knows it by.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Why a document would be refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PreflightError {
    /// A `.pdf` that is not a PDF that can be read.
    NotPdf(String),
    /// A `.zip` that cannot be read as one.
    NotZip(String),
    /// A ZIP entry nested more than one folder deep.
    Nested(String),
    /// A ZIP entry that is not a JPEG or PNG image.
    NotImage(String),
    /// A ZIP with no images.
    NoPages,
    /// The file could not be read.
    Io(String),
}

impl fmt::Display for PreflightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreflightError::NotPdf(why) => write!(f, "it is not a PDF that can be read ({why})"),
            PreflightError::NotZip(why) => write!(f, "it is not a ZIP that can be read ({why})"),
            PreflightError::Nested(name) => write!(
                f,
                "the ZIP is not flat: {name:?} is more than one folder deep; put the pages at its top"
            ),
            PreflightError::NotImage(name) => write!(
                f,
                "the ZIP holds {name:?}, which is not a JPEG or PNG image; a ZIP may hold only page images"
            ),
            PreflightError::NoPages => f.write_str("the ZIP holds no JPEG or PNG pages"),
            PreflightError::Io(why) => write!(f, "it cannot be read: {why}"),
        }
    }
}

impl std::error::Error for PreflightError {}

/// Reads `path` (a document of `kind`), checks it as the API would, counts
/// its pages and hashes it. Blocking: run it off the async threads.
///
/// # Errors
/// [`PreflightError`] saying what is wrong with it.
pub fn inspect(path: &Path, kind: DocumentKind) -> Result<Inspection, PreflightError> {
    let bytes = std::fs::read(path).map_err(|e| PreflightError::Io(e.to_string()))?;
    let pages = match kind {
        DocumentKind::Zip => zip_pages(&bytes)?,
        _ => pdf_pages(&bytes)?,
    };
    Ok(Inspection {
        pages,
        sha256: hex(&Sha256::digest(&bytes)),
        size: bytes.len() as u64,
    })
}

/// The SHA-256 of the file at `path`, read as a stream, in lowercase hex;
/// at most `size` + 1 bytes are read (a file that grew has another hash).
///
/// # Errors
/// It cannot be read.
pub(crate) fn sha256_of(path: &Path, size: u64) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?.take(size.saturating_add(1));
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The pages of a PDF, by its page tree.
fn pdf_pages(bytes: &[u8]) -> Result<u32, PreflightError> {
    // The header may follow a little junk, but within the first 1 KiB.
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(PreflightError::NotPdf("no %PDF- header".into()));
    }
    // A hostile file must not take the run down with it: nothing of the
    // parser's state crosses the boundary, only the count or the error.
    let counted = std::panic::catch_unwind(|| {
        lopdf::Document::load_mem(bytes).map(|document| document.get_pages().len())
    });
    match counted {
        Ok(Ok(0)) => Err(PreflightError::NotPdf(
            "it has no page tree with pages".into(),
        )),
        Ok(Ok(n)) => u32::try_from(n).map_err(|_| PreflightError::NotPdf("too many pages".into())),
        Ok(Err(e)) => Err(PreflightError::NotPdf(e.to_string())),
        Err(_) => Err(PreflightError::NotPdf("the parser gave up on it".into())),
    }
}

/// The pages of a ZIP of page images: flat, JPEG/PNG only, at least one.
fn zip_pages(bytes: &[u8]) -> Result<u32, PreflightError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| PreflightError::NotZip(e.to_string()))?;
    let mut pages = 0u32;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| PreflightError::NotZip(e.to_string()))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_dir() {
            continue;
        }
        if name.trim_end_matches('/').matches(['/', '\\']).count() > 1 {
            return Err(PreflightError::Nested(name));
        }
        let mut head = [0u8; 8];
        let n = entry.read(&mut head).unwrap_or(0);
        let png = head[..n].starts_with(b"\x89PNG\r\n\x1a\n");
        let jpeg = head[..n].starts_with(&[0xFF, 0xD8, 0xFF]);
        if !(png || jpeg) {
            return Err(PreflightError::NotImage(name));
        }
        pages += 1;
    }
    if pages == 0 {
        return Err(PreflightError::NoPages);
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            z.write_all(data).unwrap_or_else(|e| panic!("{e}"));
        }
        z.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
    }

    #[test]
    fn pdfs_must_parse_and_their_pages_are_counted() {
        assert!(matches!(
            pdf_pages(b"hello, not a pdf"),
            Err(PreflightError::NotPdf(_))
        ));
        assert!(matches!(
            pdf_pages(b"%PDF-1.4\nnothing else"),
            Err(PreflightError::NotPdf(_))
        ));
    }

    #[test]
    fn zips_must_be_flat_and_hold_only_page_images() {
        let png: &[u8] = b"\x89PNG\r\n\x1a\nrest";
        let jpg: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1];
        assert_eq!(zip_pages(&zip_of(&[("1.png", png), ("2.jpg", jpg)])), Ok(2));
        assert_eq!(zip_pages(&zip_of(&[("scans/1.png", png)])), Ok(1));
        assert!(matches!(
            zip_pages(&zip_of(&[("a/b/1.png", png)])),
            Err(PreflightError::Nested(_))
        ));
        assert!(matches!(
            zip_pages(&zip_of(&[("notes.txt", b"hi")])),
            Err(PreflightError::NotImage(_))
        ));
        // Named like an image, but not one.
        assert!(matches!(
            zip_pages(&zip_of(&[("fake.png", b"GIF89a")])),
            Err(PreflightError::NotImage(_))
        ));
        assert_eq!(zip_pages(&zip_of(&[])), Err(PreflightError::NoPages));
        assert!(matches!(
            zip_pages(b"PK not really"),
            Err(PreflightError::NotZip(_))
        ));
    }
}
