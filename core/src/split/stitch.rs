//! Stitching the outputs of a long input's chunks back into one folder: a
//! pure plan of which file goes where, and the merged document.
//!
//! The rules, for an input cut by a [`ChunkPlan`]:
//!
//! - A page file of a chunk (`page_007.md`, `metadata/page_007.json`) is
//!   renamed by its place in the original ([`renumber`]): the 7th page of
//!   pages 11-20 is `page_017.md`. Two files of a chunk that would get the
//!   same name, and every other file of a chunk (the API's `manifest.json`,
//!   a page numbered outside its chunk), are kept under
//!   `chunks/<chunk name>/`, as they came: nothing a job brought is lost.
//! - The merged document (`document.md`, `.html` or `.json`, in the format
//!   of the outputs) holds the chunks in order: a chunk's own document when
//!   its job made one (`/doc-ai/v1` does), else its page files in order.
//!   A chunk that brought nothing, or a page without its file, is a gap:
//!   marked in the document as missing, never claimed as a page.
//! - The missing pages, by their original numbers: those of chunks that
//!   brought nothing, those the chunks' jobs said failed, and those of a
//!   chunk without a document that have no page file.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::{ChunkPlan, page_number, renumber};

/// What one chunk's job left in its folder, for [`ChunkPlan::stitch`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkFiles {
    /// The files in its folder, by their names relative to it (`/` between
    /// folders), as the driver found them.
    pub files: Vec<String>,
    /// Its pages that failed, numbered in the chunk (from 1), as its job's
    /// status said.
    pub failed_pages: Vec<u32>,
}

/// One file to copy from a chunk's folder into the stitched folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StitchCopy {
    /// The chunk's index in the plan.
    pub chunk: usize,
    /// Its name in the chunk's folder.
    pub from: String,
    /// Its name in the stitched folder.
    pub to: String,
}

/// One part of the merged document, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// A file of a chunk's folder, read whole.
    Read {
        /// The chunk's index in the plan.
        chunk: usize,
        /// The file's name in the chunk's folder.
        name: String,
    },
    /// Original pages `first..=last`, missing.
    Gap {
        /// The first missing page.
        first: u32,
        /// The last missing page.
        last: u32,
    },
}

/// Where every file of the chunks goes, and what the merged document holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stitch {
    /// The files to copy, chunk by chunk.
    pub copies: Vec<StitchCopy>,
    /// The merged document's name (`document.md`), when the outputs are in
    /// a format that has one.
    pub document: Option<String>,
    /// The merged document's parts, in order.
    pub parts: Vec<Part>,
    /// The original pages that are missing, in order.
    pub missing: Vec<u32>,
}

/// The formats a merged document is made in.
const FORMATS: [&str; 3] = ["md", "html", "json"];

impl ChunkPlan {
    /// Where the files of each chunk (`outputs`, one per chunk, in order;
    /// `None` for a chunk that brought nothing) go in the stitched folder,
    /// and what the merged document holds. See the module's rules.
    ///
    /// ```
    /// use sarvam_doc_core::split::{ChunkFiles, ChunkPlan, Part};
    /// let plan = ChunkPlan::new(5, 2)?;
    /// let pages = |names: &[&str]| Some(ChunkFiles {
    ///     files: names.iter().map(|n| n.to_string()).collect(),
    ///     failed_pages: vec![],
    /// });
    /// let stitch = plan.stitch(&[pages(&["page_001.md", "page_002.md"]), None, pages(&["page_001.md"])]);
    /// let to: Vec<&str> = stitch.copies.iter().map(|c| c.to.as_str()).collect();
    /// assert_eq!(to, ["page_001.md", "page_002.md", "page_005.md"]);
    /// assert_eq!(stitch.document.as_deref(), Some("document.md"));
    /// assert_eq!(stitch.parts[2], Part::Gap { first: 3, last: 4 });
    /// assert_eq!(stitch.missing, [3, 4]);
    /// # Ok::<(), sarvam_doc_core::error::InputError>(())
    /// ```
    #[must_use]
    pub fn stitch(&self, outputs: &[Option<ChunkFiles>]) -> Stitch {
        let ext = document_ext(outputs);
        let document = ext.map(|e| format!("document.{e}"));
        let mut stitch = Stitch {
            document: document.clone(),
            ..Stitch::default()
        };
        let mut taken: HashSet<String> = HashSet::new();
        for (i, chunk) in self.chunks.iter().enumerate() {
            let Some(Some(files)) = outputs.get(i) else {
                push_gap(&mut stitch.parts, chunk.first, chunk.last);
                stitch.missing.extend(chunk.first..=chunk.last);
                continue;
            };
            stitch
                .missing
                .extend(files.failed_pages.iter().filter_map(|&n| chunk.original(n)));
            // The chunk's page files in the document's format, by original page.
            let mut pages: BTreeMap<u32, &str> = BTreeMap::new();
            let mut sorted: Vec<&String> = files.files.iter().collect();
            sorted.sort();
            // A document of its own is merged, not copied; one made beside
            // its page files (numbered in the chunk) is neither.
            let has_pages = ext.is_some_and(|ext| {
                files.files.iter().any(|f| {
                    matches!(page_number(f), Some(("", _, after)) if after.strip_prefix('.') == Some(ext))
                })
            });
            let own_doc = own_document(&files.files, ext);
            let made_here = document.as_ref();
            for name in sorted {
                // Not copied: the document merged in, and a `document.{ext}`
                // beside page files (made from them).
                let merged = Some(name) == own_doc && !has_pages;
                if merged || (has_pages && Some(name) == made_here) {
                    continue;
                }
                let renamed = renumber(name, chunk, self.pages).filter(|to| !taken.contains(to));
                let to = match renamed {
                    Some(to) => {
                        if let (Some(ext), Some(("", n, after))) = (ext, page_number(name))
                            && after.strip_prefix('.') == Some(ext)
                            && let Some(original) = chunk.original(n)
                        {
                            pages.insert(original, name);
                        }
                        to
                    }
                    None => format!("chunks/{}/{name}", chunk.name(self.limit)),
                };
                taken.insert(to.clone());
                stitch.copies.push(StitchCopy {
                    chunk: i,
                    from: name.clone(),
                    to,
                });
            }
            // Its page files when it has them (a document beside them may
            // be one made from them, numbered in the chunk); else its own
            // document, when its job made one.
            match own_doc.filter(|_| !has_pages) {
                Some(doc) => {
                    stitch.parts.push(Part::Read {
                        chunk: i,
                        name: doc.clone(),
                    });
                    // Its pages that failed are not in it: said after it.
                    let mut failed: Vec<u32> = files
                        .failed_pages
                        .iter()
                        .filter_map(|&n| chunk.original(n))
                        .collect();
                    failed.sort_unstable();
                    failed.dedup();
                    for page in failed {
                        push_gap(&mut stitch.parts, page, page);
                    }
                }
                None if document.is_some() => {
                    for page in chunk.first..=chunk.last {
                        match pages.get(&page) {
                            Some(name) => stitch.parts.push(Part::Read {
                                chunk: i,
                                name: (*name).to_owned(),
                            }),
                            None => {
                                push_gap(&mut stitch.parts, page, page);
                                stitch.missing.push(page);
                            }
                        }
                    }
                }
                None => {}
            }
        }
        stitch.missing.sort_unstable();
        stitch.missing.dedup();
        if stitch.document.is_none() {
            stitch.parts.clear();
        }
        stitch
    }
}

/// A chunk's own document in format `ext`: its `document.{ext}`, else its
/// one top-level file in that format that is neither a page nor a manifest
/// (the APIs' sources do not name the file).
fn own_document<'a>(files: &'a [String], ext: Option<&str>) -> Option<&'a String> {
    let ext = ext?;
    let named = format!("document.{ext}");
    if let Some(found) = files.iter().find(|f| **f == named) {
        return Some(found);
    }
    let mut others = files.iter().filter(|f| is_document_like(f, ext));
    let one = others.next()?;
    others.next().is_none().then_some(one)
}

/// Whether `name` could be a job's whole document in format `ext`: at the
/// top, in that format, neither a page file nor a manifest.
fn is_document_like(name: &str, ext: &str) -> bool {
    !name.contains('/')
        && page_number(name).is_none()
        && !name.ends_with("manifest.json")
        && name
            .rsplit_once('.')
            .is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext))
}

/// The format of the merged document: that of a chunk's own document, else
/// the one most page files are in; `None` when no output is in one.
fn document_ext(outputs: &[Option<ChunkFiles>]) -> Option<&'static str> {
    let files = || outputs.iter().flatten().flat_map(|o| o.files.iter());
    if let Some(ext) = FORMATS
        .into_iter()
        .find(|ext| files().any(|f| *f == format!("document.{ext}")))
    {
        return Some(ext);
    }
    let mut counts = [0usize; FORMATS.len()];
    for name in files() {
        if let Some(("", _, after)) = page_number(name)
            && let Some(i) = FORMATS
                .iter()
                .position(|e| after.strip_prefix('.') == Some(e))
        {
            counts[i] += 1;
        }
    }
    let (i, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|&(i, n)| (*n, std::cmp::Reverse(i)))?;
    if *n > 0 {
        return Some(FORMATS[i]);
    }
    // No page files: a chunk's one document-like file, whatever its name.
    FORMATS.into_iter().find(|ext| {
        outputs
            .iter()
            .flatten()
            .any(|o| own_document(&o.files, Some(ext)).is_some())
    })
}

/// Adds missing pages `first..=last`, joined to a gap just before them.
fn push_gap(parts: &mut Vec<Part>, first: u32, last: u32) {
    if let Some(Part::Gap { last: end, .. }) = parts.last_mut()
        && *end + 1 == first
    {
        *end = last;
        return;
    }
    parts.push(Part::Gap { first, last });
}

/// What a gap says, in words.
fn gap_words(first: u32, last: u32) -> String {
    if first == last {
        format!("page {first} is missing: its job did not bring it")
    } else {
        format!("pages {first}-{last} are missing: their job did not bring them")
    }
}

/// One part of a merged document, read: a file's bytes or a gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section<'a> {
    /// A file's bytes.
    Text(&'a [u8]),
    /// Original pages `first..=last`, missing.
    Gap {
        /// The first missing page.
        first: u32,
        /// The last missing page.
        last: u32,
    },
}

/// The merged document in format `ext` (`md`, `html` or `json`) of
/// `sections`, in order:
///
/// - Markdown: the texts, one blank line between two; a gap is an HTML
///   comment, which no renderer shows as a page.
/// - HTML: the inside of each text's `<body>` (the whole text when it has
///   none) in one document; a gap is a comment.
/// - JSON: `{"pages": [...]}`, each text's value in turn (a text that is a
///   document of its own, `{"pages": [...]}`, gives its pages; one that is
///   not JSON, its text as a string); a gap is `{"missing_pages": {"first":
///   11, "last": 20}}`.
///
/// ```
/// use sarvam_doc_core::split::{Section, merge_document};
/// let merged = merge_document("md", &[
///     Section::Text(b"# Page 1\n"),
///     Section::Gap { first: 2, last: 3 },
///     Section::Text(b"# Page 4\n"),
/// ]);
/// let text = String::from_utf8(merged).unwrap();
/// assert!(text.starts_with("# Page 1\n\n<!-- sarvam-doc: pages 2-3 are missing"));
/// assert!(text.ends_with("# Page 4\n"));
/// ```
#[must_use]
pub fn merge_document(ext: &str, sections: &[Section<'_>]) -> Vec<u8> {
    match ext {
        "json" => merge_json(sections),
        "html" => {
            let mut out = b"<!DOCTYPE html>\n<html><body>\n".to_vec();
            for section in sections {
                match section {
                    Section::Text(text) => out.extend_from_slice(body_of(text).trim_ascii()),
                    Section::Gap { first, last } => out.extend_from_slice(
                        format!("<!-- sarvam-doc: {} -->", gap_words(*first, *last)).as_bytes(),
                    ),
                }
                out.push(b'\n');
            }
            out.extend_from_slice(b"</body></html>\n");
            out
        }
        _ => {
            let mut out = Vec::new();
            for section in sections {
                if !out.is_empty() {
                    out.extend_from_slice(b"\n\n");
                }
                match section {
                    Section::Text(text) => out.extend_from_slice(text.trim_ascii()),
                    Section::Gap { first, last } => out.extend_from_slice(
                        format!("<!-- sarvam-doc: {} -->", gap_words(*first, *last)).as_bytes(),
                    ),
                }
            }
            out.push(b'\n');
            out
        }
    }
}

fn merge_json(sections: &[Section<'_>]) -> Vec<u8> {
    let mut pages: Vec<Value> = Vec::new();
    for section in sections {
        match section {
            Section::Text(text) => match serde_json::from_slice::<Value>(text) {
                Ok(Value::Object(mut map))
                    if map.len() == 1 && map.get("pages").is_some_and(Value::is_array) =>
                {
                    if let Some(Value::Array(inner)) = map.remove("pages") {
                        pages.extend(inner);
                    }
                }
                Ok(value) => pages.push(value),
                Err(_) => pages.push(Value::String(String::from_utf8_lossy(text).into_owned())),
            },
            Section::Gap { first, last } => pages.push(serde_json::json!({
                "missing_pages": {"first": first, "last": last},
            })),
        }
    }
    let mut out =
        serde_json::to_vec_pretty(&serde_json::json!({ "pages": pages })).unwrap_or_default();
    out.push(b'\n');
    out
}

/// The inside of an HTML text's `<body>`, or the whole text.
fn body_of(text: &[u8]) -> &[u8] {
    let lower = text.to_ascii_lowercase();
    let find = |needle: &[u8], from: usize| {
        lower
            .get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|at| at + from)
    };
    let Some(open) = find(b"<body", 0) else {
        return text;
    };
    let Some(gt) = find(b">", open) else {
        return text;
    };
    let end = find(b"</body", gt).unwrap_or(text.len());
    &text[gt + 1..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str], failed: &[u32]) -> Option<ChunkFiles> {
        Some(ChunkFiles {
            files: names.iter().map(ToString::to_string).collect(),
            failed_pages: failed.to_vec(),
        })
    }

    #[test]
    fn legacy_chunks_are_renamed_by_original_page_and_merged_in_order() {
        let plan = ChunkPlan::new(25, 10).unwrap();
        let ten: Vec<String> = (1..=10).map(|n| format!("page_{n:03}.md")).collect();
        let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
        let five = &ten[..5];
        let stitch = plan.stitch(&[
            files(&ten, &[]),
            files(&[&ten[..], &["sarvam-doc-manifest.json"]].concat(), &[]),
            files(five, &[]),
        ]);
        let names: Vec<&str> = stitch.copies.iter().map(|c| c.to.as_str()).collect();
        assert!(names.contains(&"page_017.md"));
        assert!(names.contains(&"page_025.md"));
        assert!(names.contains(&"chunks/pages-011-020-limit-10/sarvam-doc-manifest.json"));
        let seventeen = stitch
            .copies
            .iter()
            .find(|c| c.to == "page_017.md")
            .unwrap();
        assert_eq!(
            (seventeen.chunk, seventeen.from.as_str()),
            (1, "page_007.md")
        );
        assert_eq!(stitch.document.as_deref(), Some("document.md"));
        assert_eq!(stitch.parts.len(), 25);
        assert_eq!(
            stitch.parts[16],
            Part::Read {
                chunk: 1,
                name: "page_007.md".into()
            }
        );
        assert!(stitch.missing.is_empty());
    }

    #[test]
    fn a_chunk_that_brought_nothing_is_one_gap_and_its_pages_are_missing() {
        let plan = ChunkPlan::new(25, 10).unwrap();
        let ten: Vec<String> = (1..=10).map(|n| format!("page_{n:03}.md")).collect();
        let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
        let stitch = plan.stitch(&[files(&ten, &[]), None, files(&ten[..5], &[2])]);
        assert_eq!(stitch.missing, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22]);
        assert_eq!(
            stitch.parts[10],
            Part::Gap {
                first: 11,
                last: 20
            }
        );
        assert!(stitch.copies.iter().all(|c| c.chunk != 1));
    }

    #[test]
    fn a_page_that_failed_in_a_chunk_is_missing_by_its_original_number() {
        let plan = ChunkPlan::new(25, 10).unwrap();
        let mut nine: Vec<String> = (1..=10).map(|n| format!("page_{n:03}.md")).collect();
        nine.remove(3);
        let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
        let ten: Vec<String> = (1..=10).map(|n| format!("page_{n:03}.md")).collect();
        let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
        let stitch = plan.stitch(&[files(&ten, &[]), files(&nine, &[4]), files(&ten[..5], &[])]);
        assert_eq!(stitch.missing, [14]);
        assert_eq!(
            stitch.parts[13],
            Part::Gap {
                first: 14,
                last: 14
            }
        );
        assert!(!stitch.copies.iter().any(|c| c.to == "page_014.md"));
    }

    #[test]
    fn doc_ai_chunks_merge_their_own_documents_and_renumber_metadata() {
        let plan = ChunkPlan::new(12, 10).unwrap();
        let first: Vec<String> = ["document.md", "manifest.json"]
            .into_iter()
            .map(str::to_owned)
            .chain((1..=10).map(|n| format!("metadata/page_{n:03}.json")))
            .collect();
        let first: Vec<&str> = first.iter().map(String::as_str).collect();
        let stitch = plan.stitch(&[
            files(&first, &[]),
            files(
                &[
                    "document.md",
                    "metadata/page_001.json",
                    "metadata/page_002.json",
                    "manifest.json",
                ],
                &[],
            ),
        ]);
        let to: Vec<&str> = stitch.copies.iter().map(|c| c.to.as_str()).collect();
        assert!(to.contains(&"metadata/page_012.json"));
        assert!(to.contains(&"chunks/pages-011-012-limit-10/manifest.json"));
        assert!(!to.iter().any(|t| t.ends_with("document.md")));
        assert_eq!(
            stitch.parts,
            [
                Part::Read {
                    chunk: 0,
                    name: "document.md".into()
                },
                Part::Read {
                    chunk: 1,
                    name: "document.md".into()
                },
            ]
        );
    }

    #[test]
    fn a_chunks_one_document_of_another_name_is_merged_and_its_failed_pages_are_marked() {
        let plan = ChunkPlan::new(4, 2).unwrap();
        let stitch = plan.stitch(&[
            files(&["scan_output.md", "manifest.json"], &[2]),
            files(&["scan_output.md", "manifest.json"], &[]),
        ]);
        assert_eq!(stitch.document.as_deref(), Some("document.md"));
        assert_eq!(
            stitch.parts,
            [
                Part::Read {
                    chunk: 0,
                    name: "scan_output.md".into()
                },
                Part::Gap { first: 2, last: 2 },
                Part::Read {
                    chunk: 1,
                    name: "scan_output.md".into()
                },
            ]
        );
        assert_eq!(stitch.missing, [2]);
        // Two such files: neither is taken for the document.
        let stitch = plan.stitch(&[files(&["a.md", "b.md"], &[]), None]);
        assert!(
            stitch.parts.iter().all(|p| matches!(p, Part::Gap { .. })),
            "{:?}",
            stitch.parts
        );
    }

    #[test]
    fn a_chunk_with_page_files_is_merged_from_them_not_from_a_document_beside_them() {
        let plan = ChunkPlan::new(4, 2).unwrap();
        // Chunk 2 lost its page 2 (page 4 of the book); its document.md was
        // made from its page files, and numbers the gap in the chunk.
        let stitch = plan.stitch(&[
            files(&["page_001.md", "page_002.md", "document.md"], &[]),
            files(&["page_001.md", "document.md"], &[2]),
        ]);
        assert_eq!(stitch.parts[3], Part::Gap { first: 4, last: 4 });
        assert!(
            stitch
                .parts
                .iter()
                .all(|p| !matches!(p, Part::Read { name, .. } if name == "document.md")),
            "{:?}",
            stitch.parts
        );
        assert!(
            stitch.copies.iter().all(|c| c.from != "document.md"),
            "{:?}",
            stitch.copies
        );
        assert_eq!(stitch.missing, [4]);
    }

    #[test]
    fn two_files_that_would_share_a_name_are_both_kept() {
        let plan = ChunkPlan::new(4, 2).unwrap();
        let stitch = plan.stitch(&[files(&["page_1.md", "page_001.md"], &[]), None]);
        let to: Vec<&str> = stitch.copies.iter().map(|c| c.to.as_str()).collect();
        assert_eq!(
            to,
            ["page_001.md", "chunks/pages-001-002-limit-2/page_1.md"]
        );
    }

    #[test]
    fn outputs_with_no_document_format_have_no_merged_document() {
        let plan = ChunkPlan::new(4, 2).unwrap();
        let stitch = plan.stitch(&[files(&["result.csv"], &[]), None]);
        assert_eq!(stitch.document, None);
        assert!(stitch.parts.is_empty());
        assert_eq!(stitch.missing, [3, 4]);
    }

    #[test]
    fn merged_documents_in_each_format_keep_order_and_mark_gaps() {
        let html = merge_document(
            "html",
            &[
                Section::Text(b"<html><BODY class=x><h1>1</h1></body></html>"),
                Section::Gap { first: 2, last: 2 },
                Section::Text(b"<p>3</p>"),
            ],
        );
        let html = String::from_utf8(html).unwrap();
        assert!(
            html.contains("<h1>1</h1>\n<!-- sarvam-doc: page 2 is missing"),
            "{html}"
        );
        assert!(html.contains("<p>3</p>\n</body></html>"), "{html}");
        assert_eq!(html.matches("<body>").count(), 1);

        let json = merge_document(
            "json",
            &[
                Section::Text(br#"{"pages":[{"n":1},{"n":2}]}"#),
                Section::Gap { first: 3, last: 4 },
                Section::Text(br#"{"n":5}"#),
                Section::Text(b"not json"),
            ],
        );
        let value: Value = serde_json::from_slice(&json).unwrap();
        let pages = value["pages"].as_array().unwrap();
        assert_eq!(pages.len(), 5);
        assert_eq!(pages[1]["n"], 2);
        assert_eq!(pages[2]["missing_pages"]["last"], 4);
        assert_eq!(pages[3]["n"], 5);
        assert_eq!(pages[4], "not json");
    }
}
