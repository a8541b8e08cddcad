//! Documents longer than a job: the chunk plan.
//!
//! Both APIs cap the pages of one job. An input over the cap is cut into
//! contiguous chunks of at most `limit` pages, each run as a job of its own;
//! their outputs are stitched back, each page named by its place in the
//! original. Everything here is a pure decision: the driver cuts the files
//! and moves the outputs.
//!
//! ```
//! use sarvam_doc_core::split::{ChunkPlan, page_file_name, ranges_text};
//! let plan = ChunkPlan::new(25, 10)?;
//! let ranges: Vec<String> = plan.chunks().iter().map(|c| c.to_string()).collect();
//! assert_eq!(ranges, ["pages 1-10", "pages 11-20", "pages 21-25"]);
//! // The 7th page of the second chunk is the 17th of the book.
//! assert_eq!(plan.chunks()[1].original(7), Some(17));
//! assert_eq!(page_file_name(17, 25, "md"), "page_017.md");
//! assert_eq!(ranges_text(&[11, 12, 13, 20, 24, 25]), "11-13, 20, 24-25");
//! # Ok::<(), sarvam_doc_core::error::InputError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InputError;

mod stitch;

pub use stitch::{ChunkFiles, Part, Section, Stitch, StitchCopy, merge_document};

/// The pages a job takes unless told otherwise, on either API: 10.
///
/// The sources conflict: the legacy API refuses more than 10 at start
/// (`422 max_page_limit_exceeded`); for `/doc-ai/v1` the SDK, the dashboard
/// and the changelog say 10, the how-to guides 30 for digitise and 20 for
/// extract. 10 is the one every source allows, so a cut at 10 is never
/// refused; `--page-limit` raises it for an account known to take more.
pub const DEFAULT_PAGE_LIMIT: u32 = 10;

/// The most pages a document may have to be planned at all (a spend and
/// memory guard: 100,000 pages is 10,000 jobs at the default limit).
pub const MAX_DOCUMENT_PAGES: u32 = 100_000;

/// One chunk of a document: its pages `first..=last`, numbered from 1 in
/// the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Chunk {
    /// Its first page, in the original.
    pub first: u32,
    /// Its last page, in the original.
    pub last: u32,
}

impl Chunk {
    /// How many pages it has.
    #[must_use]
    pub fn pages(&self) -> u32 {
        self.last - self.first + 1
    }

    /// The original number of its `n`th page (from 1), if it has one.
    #[must_use]
    pub fn original(&self, n: u32) -> Option<u32> {
        (n >= 1 && n <= self.pages()).then(|| self.first + n - 1)
    }

    /// Whether original page `page` is in it.
    #[must_use]
    pub fn contains(&self, page: u32) -> bool {
        (self.first..=self.last).contains(&page)
    }

    /// What a journal adds to an input's key to name this chunk of it, cut
    /// at `limit`: `#pages=11-20/10`. The limit is part of it, so a rerun
    /// at another limit is other work, never mistaken for this.
    #[must_use]
    pub fn key_suffix(&self, limit: u32) -> String {
        format!("{KEY_MARK}{}-{}/{limit}", self.first, self.last)
    }

    /// Its journal key: the input's key (`input_key`) and [`Chunk::key_suffix`].
    /// No input's own key looks like one: an input is a `.pdf` or `.zip`
    /// file, and a chunk's key ends in digits.
    ///
    /// ```
    /// use sarvam_doc_core::split::{Chunk, parse_chunk_key};
    /// let chunk = Chunk { first: 11, last: 20 };
    /// let key = chunk.key("/in/book.pdf", 10);
    /// assert_eq!(key, "/in/book.pdf#pages=11-20/10");
    /// assert_eq!(parse_chunk_key(&key), Some(("/in/book.pdf", chunk, 10)));
    /// assert_eq!(parse_chunk_key("/in/book.pdf"), None);
    /// ```
    #[must_use]
    pub fn key(&self, input_key: &str, limit: u32) -> String {
        format!("{input_key}{}", self.key_suffix(limit))
    }

    /// Its name among the input's chunks, cut at `limit`:
    /// `pages-011-020-limit-10`. The limit is in it, as in its key, so the
    /// same pages cut at another limit are other work in another place.
    #[must_use]
    pub fn name(&self, limit: u32) -> String {
        format!("pages-{:03}-{:03}-limit-{limit}", self.first, self.last)
    }

    /// The folder, inside the output folder, its job's outputs go to for
    /// the input whose output folder is `input_folder`:
    /// `.sarvam-doc/chunks/book/pages-011-020-limit-10`. Its cut file lies
    /// beside it, the same name with the input's extension.
    #[must_use]
    pub fn folder(&self, input_folder: &str, limit: u32) -> String {
        format!("{CHUNKS_DIR}/{input_folder}/{}", self.name(limit))
    }
}

/// What a chunk's key adds to its input's, before the pages.
const KEY_MARK: &str = "#pages=";

/// Where, inside the output folder, the chunks of long inputs are cut to
/// and their jobs' outputs kept until they are stitched: inside the state
/// folder, which holds only what sarvam-doc made.
pub const CHUNKS_DIR: &str = ".sarvam-doc/chunks";

/// The input's key, the chunk and the limit of a chunk's journal key
/// ([`Chunk::key`]); `None` for any other key.
#[must_use]
pub fn parse_chunk_key(key: &str) -> Option<(&str, Chunk, u32)> {
    let (input, rest) = key.rsplit_once(KEY_MARK)?;
    let (range, limit) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let number = |s: &str| -> Option<u32> {
        // Digits only, no sign, no leading zero: one spelling per number.
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0'))
            .then(|| s.parse().ok())
            .flatten()
    };
    let chunk = Chunk {
        first: number(first)?,
        last: number(last)?,
    };
    let limit = number(limit)?;
    (chunk.first <= chunk.last && chunk.pages() <= limit).then_some((input, chunk, limit))
}

impl fmt::Display for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "page {}", self.first)
        } else {
            write!(f, "pages {}-{}", self.first, self.last)
        }
    }
}

/// How a document of `pages` pages is cut at `limit` pages a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    pages: u32,
    limit: u32,
    chunks: Vec<Chunk>,
}

impl ChunkPlan {
    /// Cuts `pages` pages into contiguous chunks of at most `limit`, in
    /// order: every chunk but the last has `limit` pages. A document at or
    /// under the limit is one chunk, sent whole.
    ///
    /// # Errors
    /// [`InputError::Pages`] when `pages` is 0 or over
    /// [`MAX_DOCUMENT_PAGES`], or `limit` is 0.
    pub fn new(pages: u32, limit: u32) -> Result<Self, InputError> {
        if pages == 0 {
            return Err(InputError::Pages("the document has no pages".into()));
        }
        if pages > MAX_DOCUMENT_PAGES {
            return Err(InputError::Pages(format!(
                "the document has {pages} pages, over the {MAX_DOCUMENT_PAGES} a run takes: split it first"
            )));
        }
        if limit == 0 {
            return Err(InputError::Pages(
                "the page limit must be at least 1".into(),
            ));
        }
        let chunks = (0..pages.div_ceil(limit))
            .map(|i| Chunk {
                first: i * limit + 1,
                last: ((i + 1) * limit).min(pages),
            })
            .collect();
        Ok(ChunkPlan {
            pages,
            limit,
            chunks,
        })
    }

    /// How a document of `pages` pages is cut at `limit` for `job`: as
    /// [`ChunkPlan::new`], but an extraction over the limit is refused, since
    /// its fields cannot be joined across jobs.
    ///
    /// ```
    /// use sarvam_doc_core::doc_ai::{Extract, ExtractSource, Task};
    /// use sarvam_doc_core::model::{CreateJobRequest, Job};
    /// use sarvam_doc_core::split::ChunkPlan;
    /// let digitise = Job::Legacy(CreateJobRequest::default());
    /// assert_eq!(ChunkPlan::for_job(25, 10, &digitise)?.chunks().len(), 3);
    /// let extract = Job::DocAi(Task::Extract(Extract::new(ExtractSource::ConfigId("c".into()))));
    /// assert!(ChunkPlan::for_job(25, 10, &extract).is_err());
    /// assert_eq!(ChunkPlan::for_job(8, 10, &extract)?.chunks().len(), 1);
    /// # Ok::<(), sarvam_doc_core::error::InputError>(())
    /// ```
    ///
    /// # Errors
    /// [`InputError::Pages`]: an extraction over the limit, or as
    /// [`ChunkPlan::new`].
    pub fn for_job(pages: u32, limit: u32, job: &crate::model::Job) -> Result<Self, InputError> {
        if pages > limit && !job.can_split() {
            return Err(InputError::Pages(format!(
                "it has {pages} pages, over the {limit} one job is sent, and an extraction's \
                 fields cannot be joined across jobs: extract from a document of at most {limit} \
                 pages, or raise the page limit (--page-limit) if your account's jobs take more"
            )));
        }
        ChunkPlan::new(pages, limit)
    }

    /// The document's pages.
    #[must_use]
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// The limit it was cut at.
    #[must_use]
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The chunks, in order.
    #[must_use]
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// Whether it is cut at all (more than one chunk).
    #[must_use]
    pub fn is_split(&self) -> bool {
        self.chunks.len() > 1
    }

    /// The chunk holding original page `page`.
    #[must_use]
    pub fn chunk_of(&self, page: u32) -> Option<&Chunk> {
        if page > self.pages {
            return None;
        }
        let i = usize::try_from(page.checked_sub(1)? / self.limit).ok()?;
        self.chunks.get(i)
    }
}

/// The file name of original page `page` of a document of `pages` pages:
/// `page_017.md`. Three digits at least, more when the document needs them,
/// so the names sort in page order.
#[must_use]
pub fn page_file_name(page: u32, pages: u32, ext: &str) -> String {
    let width = pages.max(page).to_string().len().max(3);
    format!("page_{page:0width$}.{ext}")
}

/// The page number in an output's page file name (`page_3.md`,
/// `page_003.html`, `metadata/page_003.json`), with what comes before and
/// after it, so that the name can be renumbered; `None` for any other name.
#[must_use]
pub fn page_number(name: &str) -> Option<(&str, u32, &str)> {
    let start = name.rfind("page_")? + "page_".len();
    let digits = name[start..].bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let number = name[start..start + digits].parse().ok()?;
    let (before, after) = (&name[..start - "page_".len()], &name[start + digits..]);
    // Only the last path part may name the page: `page_1/x.md` is not one.
    (!after.contains('/') && after.starts_with('.')).then_some((before, number, after))
}

/// `name`, an output file of `chunk`'s job (document of `pages` pages),
/// renamed for its original page: `page_007.md` of pages 11-20 becomes
/// `page_017.md`. `None` when the name is not a page's, or its number is
/// not in the chunk.
#[must_use]
pub fn renumber(name: &str, chunk: &Chunk, pages: u32) -> Option<String> {
    let (before, n, after) = page_number(name)?;
    let original = chunk.original(n)?;
    let ext = after.strip_prefix('.')?;
    Some(format!("{before}{}", page_file_name(original, pages, ext)))
}

/// Pages as short ranges, for a message: `1-3, 7, 9-10`.
#[must_use]
pub fn ranges_text(pages: &[u32]) -> String {
    let mut sorted = pages.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let first = sorted[i];
        let mut last = first;
        while i + 1 < sorted.len() && sorted[i + 1] == last + 1 {
            i += 1;
            last = sorted[i];
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
        i += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_cut_into_contiguous_chunks_of_at_most_the_limit() {
        for (pages, limit) in [(25, 10), (25, 7), (10, 10), (1, 10), (300, 10), (23, 10)] {
            let plan = ChunkPlan::new(pages, limit).unwrap();
            let chunks = plan.chunks();
            assert_eq!(
                chunks.len() as u32,
                pages.div_ceil(limit),
                "{pages}/{limit}"
            );
            assert_eq!(chunks[0].first, 1);
            assert_eq!(chunks.last().unwrap().last, pages);
            for pair in chunks.windows(2) {
                assert_eq!(pair[0].last + 1, pair[1].first);
            }
            assert!(chunks.iter().all(|c| c.pages() >= 1 && c.pages() <= limit));
            assert_eq!(plan.is_split(), pages > limit);
            for page in 1..=pages {
                assert!(plan.chunk_of(page).unwrap().contains(page));
            }
            assert_eq!(plan.chunk_of(pages + 1), None);
            assert_eq!(plan.chunk_of(0), None);
        }
        assert!(ChunkPlan::new(0, 10).is_err());
        assert!(ChunkPlan::new(10, 0).is_err());
        assert!(ChunkPlan::new(MAX_DOCUMENT_PAGES + 1, 10).is_err());
    }

    #[test]
    fn pages_are_renamed_by_their_place_in_the_original() {
        let plan = ChunkPlan::new(25, 10).unwrap();
        let second = plan.chunks()[1];
        assert_eq!(
            renumber("page_007.md", &second, 25).as_deref(),
            Some("page_017.md")
        );
        assert_eq!(
            renumber("page_7.html", &second, 25).as_deref(),
            Some("page_017.html")
        );
        assert_eq!(
            renumber("metadata/page_001.json", &second, 25).as_deref(),
            Some("metadata/page_011.json")
        );
        assert_eq!(
            renumber("page_011.md", &second, 25),
            None,
            "not in the chunk"
        );
        assert_eq!(renumber("document.md", &second, 25), None);
        assert_eq!(renumber("page_1/x.md", &second, 25), None);
        assert_eq!(page_file_name(7, 1200, "md"), "page_0007.md");
    }

    #[test]
    fn page_ranges_read_short() {
        assert_eq!(ranges_text(&[9, 1, 2, 3, 7, 10]), "1-3, 7, 9-10");
        assert_eq!(ranges_text(&[]), "");
    }

    #[test]
    fn a_chunks_journal_key_names_its_pages_and_the_limit() {
        let chunk = Chunk {
            first: 11,
            last: 20,
        };
        assert_eq!(chunk.key_suffix(10), "#pages=11-20/10");
        assert_eq!(chunk.to_string(), "pages 11-20");
        assert_eq!(Chunk { first: 3, last: 3 }.to_string(), "page 3");
    }
}
