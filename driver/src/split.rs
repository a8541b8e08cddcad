//! Cutting a long document into chunks a job can take (issue 22).
//!
//! Each API caps the pages of one job; a longer input is cut into
//! contiguous chunks, one job each. This module owns the cutting, and only
//! that: which ranges to cut is the core's plan, running and stitching the
//! jobs is the batch's.
//!
//! - [`cut_pdf`]: pages are numbered from 1 in the order of the document's
//!   page tree (what `lopdf` and preflight count). Each chunk is a
//!   standalone PDF holding exactly its pages, in order, and only the
//!   objects those pages use: a new catalog and page tree, the pages (with
//!   what they inherit from the tree — `Resources`, `MediaBox`, `CropBox`,
//!   `Rotate` — written onto them), and what they reach. Nothing of the
//!   document's own catalog comes along (outlines, names, forms, structure
//!   tree, `Info`): they reach every page. A reference from a kept object
//!   to a page outside the chunk, or to a page-tree node, becomes `null` (a
//!   link to page 40 in a chunk of pages 1-10 goes nowhere), so no chunk
//!   pulls in the rest of the book.
//! - [`cut_zip`]: a ZIP of page images. Its pages are its image entries in
//!   the byte order of their names: `/doc-ai/v1` documents a ZIP's pages as
//!   "ordered by filename" (`sarvam-doc-ai-api.md` §8, input types); the
//!   legacy job API documents no order, and the same order is taken for it.
//!   Entries of the same name keep their order in the archive. Each chunk
//!   holds its entries under their own names, in that order, copied as
//!   stored (not recompressed), with the times stored in the source, so the
//!   server orders a chunk's pages as it would have ordered them in the
//!   whole. Directory entries are skipped, as preflight skips them; an
//!   entry more than one folder deep or not a JPEG or PNG image is refused,
//!   as preflight refuses it.
//!
//! Both read their input once per call, however many chunks: a PDF is
//! loaded once and each chunk copies only its own objects from it; a ZIP's
//! entries are copied one by one from the one open archive. Both are
//! deterministic: the same input and range give the same bytes every time
//! (the writers add no timestamps and no random ids), so a rerun can cut a
//! chunk again and find the hash it recorded. Each chunk is written through
//! a temporary file in the chunks' folder (named as the driver's other
//! temporary files, so a killed cut's leftovers are swept), synced, and
//! renamed into place over any earlier cut of it; the folder is synced
//! once all are in place. On an error, the chunks already written stay
//! (each whole, and the same bytes a rerun would write); no temporary file
//! is left.
//!
//! Both block: run them off the async threads.
//!
//! ```no_run
//! use std::path::Path;
//! use sarvam_doc_driver::split::{SplitError, cut_pdf};
//!
//! # fn main() -> Result<(), SplitError> {
//! // A 25-page book in chunks of at most 10 pages.
//! let ranges = [1..=10, 11..=20, 21..=25];
//! let chunks = cut_pdf(Path::new("book.pdf"), &ranges, Path::new("chunks"), |range| {
//!     format!("pages_{:03}-{:03}.pdf", range.start(), range.end())
//! })?;
//! for chunk in &chunks {
//!     println!("{:?}: {} bytes, sha256 {}", chunk.range, chunk.len, chunk.sha256);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::ops::RangeInclusive;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use pdf::Book;

mod pdf;

/// One chunk cut from a document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Chunk {
    /// Its pages, numbered as in the original document (from 1).
    pub range: RangeInclusive<u32>,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub len: u64,
    /// Its SHA-256, in lowercase hex, as written.
    pub sha256: String,
}

/// Why a document could not be cut.
///
/// Each names the file it is about; its `Display` says what is wrong and
/// what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SplitError {
    /// The input could not be opened or read.
    Read {
        /// The input.
        file: PathBuf,
        /// What the system said.
        why: String,
    },
    /// The input is not a PDF, or a ZIP of page images, that can be cut.
    Unreadable {
        /// The input.
        file: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// No ranges were asked for.
    NoRanges {
        /// The input.
        file: PathBuf,
    },
    /// A range is empty or lies outside the document's pages.
    OutOfRange {
        /// The input.
        file: PathBuf,
        /// The range asked for.
        range: RangeInclusive<u32>,
        /// The document's pages.
        pages: u32,
    },
    /// Two ranges share pages.
    Overlap {
        /// The input.
        file: PathBuf,
        /// One range.
        first: RangeInclusive<u32>,
        /// Another, that shares pages with `first`.
        second: RangeInclusive<u32>,
    },
    /// A chunk's name is not a plain file name, names two chunks, or names
    /// the input itself.
    BadName {
        /// The input.
        file: PathBuf,
        /// The name given.
        name: String,
    },
    /// A chunk could not be written.
    Write {
        /// The chunk being written.
        file: PathBuf,
        /// What the system or the writer said.
        why: String,
    },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::Read { file, why } => write!(
                f,
                "cannot read {}: {why}; check that it exists and can be read",
                file.display()
            ),
            SplitError::Unreadable { file, why } => write!(
                f,
                "cannot cut {}: {why}; send it whole (at most the page limit) or repair it",
                file.display()
            ),
            SplitError::NoRanges { file } => write!(
                f,
                "cannot cut {}: no page ranges were given; give at least one",
                file.display()
            ),
            SplitError::OutOfRange { file, range, pages } => write!(
                f,
                "cannot cut {}: pages {}-{} are not within its pages 1-{pages}; \
                 give ranges of its pages, each first page at most its last",
                file.display(),
                range.start(),
                range.end()
            ),
            SplitError::Overlap {
                file,
                first,
                second,
            } => write!(
                f,
                "cannot cut {}: pages {}-{} and {}-{} overlap; give each page to one chunk only",
                file.display(),
                first.start(),
                first.end(),
                second.start(),
                second.end()
            ),
            SplitError::BadName { file, name } => write!(
                f,
                "cannot cut {}: the chunk name {name:?} is not a plain file name, or names two chunks \
                 or the input itself; give each chunk a name of its own, without folders",
                file.display()
            ),
            SplitError::Write { file, why } => write!(
                f,
                "cannot write {}: {why}; check the folder's space and permissions",
                file.display()
            ),
        }
    }
}

impl std::error::Error for SplitError {}

/// Cuts the PDF `input` into one standalone PDF per range of `ranges`, each
/// written into `dir` under the name `name` gives its range, and returns
/// them in the order of `ranges`.
///
/// Pages are numbered from 1 in the order of the page tree. Blocking.
///
/// # Errors
/// [`SplitError`]: the input cannot be read or parsed (or is encrypted
/// with a password); the ranges are empty, out of its pages or overlap; a
/// name is not a plain file name; a chunk cannot be written.
pub fn cut_pdf(
    input: &Path,
    ranges: &[RangeInclusive<u32>],
    dir: &Path,
    name: impl Fn(&RangeInclusive<u32>) -> String,
) -> Result<Vec<Chunk>, SplitError> {
    let names = names(input, ranges, dir, &name)?;
    let book = Book::load(input)?;
    check_ranges(input, ranges, book.pages.len())?;
    let mut chunks = Vec::with_capacity(ranges.len());
    for (range, name) in ranges.iter().zip(names) {
        let path = dir.join(name);
        let mut chunk = book.chunk(range).map_err(|why| SplitError::Unreadable {
            file: input.to_owned(),
            why,
        })?;
        let (len, sha256) = write_chunk(dir, &path, |out| {
            let mut out = BufWriter::with_capacity(256 * 1024, out);
            chunk.save_to(&mut out)?;
            out.flush()
        })?;
        drop(chunk);
        chunks.push(Chunk {
            range: range.clone(),
            path,
            len,
            sha256,
        });
    }
    sync_dir(dir)?;
    Ok(chunks)
}

/// Cuts the ZIP of page images `input` into one ZIP per range of `ranges`,
/// each written into `dir` under the name `name` gives its range, and
/// returns them in the order of `ranges`.
///
/// Pages are the image entries in the byte order of their names (see the
/// module docs). Entries are copied as stored, not recompressed. Blocking.
///
/// # Errors
/// [`SplitError`]: the input cannot be read, is not a ZIP, or is one the
/// API would refuse (nested, or holding something other than JPEG and PNG
/// images); the ranges are empty, out of its pages or overlap; a name is
/// not a plain file name; a chunk cannot be written.
pub fn cut_zip(
    input: &Path,
    ranges: &[RangeInclusive<u32>],
    dir: &Path,
    name: impl Fn(&RangeInclusive<u32>) -> String,
) -> Result<Vec<Chunk>, SplitError> {
    let names = names(input, ranges, dir, &name)?;
    let unreadable = |why: String| SplitError::Unreadable {
        file: input.to_owned(),
        why,
    };
    let file = File::open(input).map_err(|e| SplitError::Read {
        file: input.to_owned(),
        why: e.to_string(),
    })?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| unreadable(format!("it is not a ZIP that can be read ({e})")))?;
    let pages = zip_pages(&mut archive).map_err(unreadable)?;
    check_ranges(input, ranges, pages.len())?;
    let mut chunks = Vec::with_capacity(ranges.len());
    for (range, name) in ranges.iter().zip(names) {
        let path = dir.join(name);
        let (len, sha256) = write_chunk(dir, &path, |out| {
            let mut writer = zip::ZipWriter::new(BufWriter::with_capacity(256 * 1024, out));
            for page in range.clone() {
                // Checked against the page count above.
                let index = pages[page as usize - 1];
                let entry = archive.by_index_raw(index).map_err(io::Error::other)?;
                writer.raw_copy_file(entry).map_err(io::Error::other)?;
            }
            writer
                .finish()
                .map_err(io::Error::other)?
                .into_inner()
                .map_err(io::IntoInnerError::into_error)?;
            Ok(())
        })?;
        chunks.push(Chunk {
            range: range.clone(),
            path,
            len,
            sha256,
        });
    }
    sync_dir(dir)?;
    Ok(chunks)
}

/// Each range's chunk name, checked: a plain file name, one per chunk, and
/// not the input's own (a chunk must never replace what it is cut from).
fn names(
    input: &Path,
    ranges: &[RangeInclusive<u32>],
    dir: &Path,
    name: &impl Fn(&RangeInclusive<u32>) -> String,
) -> Result<Vec<String>, SplitError> {
    if ranges.is_empty() {
        return Err(SplitError::NoRanges {
            file: input.to_owned(),
        });
    }
    let source = input.canonicalize().ok();
    let mut seen = HashSet::new();
    ranges
        .iter()
        .map(|range| {
            let chunk = name(range);
            let mut parts = Path::new(&chunk).components();
            let plain = matches!(
                (parts.next(), parts.next()),
                (Some(Component::Normal(part)), None) if part == chunk.as_str()
            ) && !chunk.contains(['/', '\\', '\0']);
            let is_input =
                plain && source.is_some() && dir.join(&chunk).canonicalize().ok() == source;
            if plain && !is_input && seen.insert(chunk.clone()) {
                Ok(chunk)
            } else {
                Err(SplitError::BadName {
                    file: input.to_owned(),
                    name: chunk,
                })
            }
        })
        .collect()
}

/// Refuses an empty list, a range out of `1..=pages` (or empty), and
/// ranges that share pages.
fn check_ranges(
    input: &Path,
    ranges: &[RangeInclusive<u32>],
    pages: usize,
) -> Result<(), SplitError> {
    if ranges.is_empty() {
        return Err(SplitError::NoRanges {
            file: input.to_owned(),
        });
    }
    let count = u32::try_from(pages).unwrap_or(u32::MAX);
    if let Some(range) = ranges
        .iter()
        .find(|r| *r.start() < 1 || r.start() > r.end() || *r.end() > count)
    {
        return Err(SplitError::OutOfRange {
            file: input.to_owned(),
            range: range.clone(),
            pages: count,
        });
    }
    let mut sorted: Vec<&RangeInclusive<u32>> = ranges.iter().collect();
    sorted.sort_by_key(|r| (*r.start(), *r.end()));
    if let Some(pair) = sorted.windows(2).find(|w| w[1].start() <= w[0].end()) {
        return Err(SplitError::Overlap {
            file: input.to_owned(),
            first: pair[0].clone(),
            second: pair[1].clone(),
        });
    }
    Ok(())
}

/// Writes a chunk through a temporary file in `dir`: `fill` writes it,
/// then it is synced, hashed as it lies on disk, and renamed to `path`.
fn write_chunk(
    dir: &Path,
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(u64, String), SplitError> {
    let failed = |e: io::Error| SplitError::Write {
        file: path.to_owned(),
        why: e.to_string(),
    };
    let mut tmp = crate::exchange::part_file(dir).map_err(failed)?;
    fill(tmp.as_file_mut()).map_err(failed)?;
    let file = tmp.as_file_mut();
    file.sync_all().map_err(failed)?;
    file.rewind().map_err(failed)?;
    let (len, sha256) = hash(file).map_err(failed)?;
    crate::exchange::persist(tmp, path, true).map_err(failed)?;
    Ok((len, sha256))
}

/// The length and SHA-256 (hex) of what `from` holds.
fn hash(from: &mut impl Read) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((len, sha256))
}

/// Makes the renames into `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), SplitError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| SplitError::Write {
                file: dir.to_owned(),
                why: e.to_string(),
            })?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The archive indices of a ZIP's page images, in page order: by the bytes
/// of their names, then by their place in the archive. Refuses what
/// preflight refuses, in its words.
fn zip_pages<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Result<Vec<usize>, String> {
    let mut pages: Vec<(Vec<u8>, usize)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("it is not a ZIP that can be read ({e})"))?;
        if entry.is_dir() {
            continue;
        }
        let raw = entry.name_raw().to_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        if name.trim_end_matches('/').matches(['/', '\\']).count() > 1 {
            return Err(format!(
                "the ZIP is not flat: {name:?} is more than one folder deep"
            ));
        }
        let mut head = [0u8; 8];
        let n = read_head(&mut entry, &mut head);
        let png = head[..n].starts_with(b"\x89PNG\r\n\x1a\n");
        let jpeg = head[..n].starts_with(&[0xFF, 0xD8, 0xFF]);
        if !(png || jpeg) {
            return Err(format!(
                "the ZIP holds {name:?}, which is not a JPEG or PNG image"
            ));
        }
        pages.push((raw, i));
    }
    if pages.is_empty() {
        return Err("the ZIP holds no JPEG or PNG pages".into());
    }
    pages.sort();
    Ok(pages.into_iter().map(|(_, i)| i).collect())
}

/// Reads up to `head.len()` bytes (fewer only at the end or on an error).
fn read_head(from: &mut impl Read, head: &mut [u8]) -> usize {
    let mut n = 0;
    while n < head.len() {
        match from.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}
