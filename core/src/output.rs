//! The output rules, as pure planners the driver applies: which names may
//! touch the disk, the folder each input's pages go to, and what an output
//! ZIP may hold.
//!
//! Nothing here touches a file. A driver asks [`Unpack::entry`] before it
//! writes an entry, and [`Unpack::wrote`] as the bytes come out of the
//! decompressor, and stops the moment either says no.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{bounded, printable};

/// The longest output file name kept, in bytes.
const MAX_NAME: usize = 200;

/// Makes a server-given output file name safe to create inside an output
/// folder: only its last path component is kept (a name can never climb out
/// with `..` or start at `/`), control characters and characters that
/// Windows refuses become `_`, a leading dot (a hidden file) becomes `_`,
/// Windows device names get a `_` prefix, and the name is cut to 200 bytes
/// keeping its extension. `None` when nothing usable is left.
///
/// ```
/// use sarvam_doc_core::output::safe_output_name;
/// assert_eq!(safe_output_name("doc_output.zip").as_deref(), Some("doc_output.zip"));
/// assert_eq!(safe_output_name("../../etc/passwd").as_deref(), Some("passwd"));
/// assert_eq!(safe_output_name("C:\\Windows\\x.zip").as_deref(), Some("x.zip"));
/// assert_eq!(safe_output_name(".bashrc").as_deref(), Some("_bashrc"));
/// assert_eq!(safe_output_name(".."), None);
/// assert_eq!(safe_output_name("nul.zip").as_deref(), Some("_nul.zip"));
/// ```
#[must_use]
pub fn safe_output_name(name: &str) -> Option<String> {
    safe_name(name)
}

/// Whether a downloaded output (by its safe local name) is an archive to
/// unpack into the pages: a `.zip`, as every legacy output and a
/// `/doc-ai/v1` digitise output is. Anything else (an extraction's
/// `results.json`, its CSV or workbook) is placed beside the pages as it is.
///
/// ```
/// use sarvam_doc_core::output::is_archive;
/// assert!(is_archive("doc_output.ZIP"));
/// assert!(!is_archive("results.json"));
/// ```
#[must_use]
pub fn is_archive(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("zip"))
}

/// One output to download: where it is, and the safe local name it gets.
#[derive(Clone, Debug)]
pub(crate) struct PendingDownload {
    /// The safe local name.
    pub(crate) name: String,
    /// The server's name, printable and bounded, for the record (never a path).
    pub(crate) server_name: String,
    pub(crate) url: http::Uri,
    /// The size storage announced, if any.
    pub(crate) announced: Option<u64>,
    /// Headers the server asked the download to carry (`/doc-ai/v1`).
    pub(crate) headers: BTreeMap<String, String>,
}

/// The legacy API's outputs to fetch, with safe and distinct local names.
pub(crate) fn plan_downloads(
    answer: crate::DownloadFilesResponse,
) -> std::collections::VecDeque<PendingDownload> {
    let mut taken: Vec<String> = Vec::new();
    let mut queue = std::collections::VecDeque::new();
    for (i, (server_name, url)) in answer.download_urls.into_iter().enumerate() {
        let base =
            safe_output_name(&server_name).unwrap_or_else(|| format!("output-{}.zip", i + 1));
        // `distinct_name` asks with the candidate in lower case.
        let name = distinct_name(&base, EntryKind::File, |c| taken.iter().any(|t| t == c));
        taken.push(name.to_lowercase());
        queue.push_back(PendingDownload {
            announced: url.announced_size(),
            name,
            server_name: bounded(printable(&server_name), 255),
            url: url.file_url,
            headers: BTreeMap::new(),
        });
    }
    queue
}

/// A `/doc-ai/v1` output to fetch: named by its URL's last segment when
/// that is a safe name, else `output.zip`; never `results.json`, which the
/// extraction's inline results take.
pub(crate) fn plan_download(
    target: crate::doc_ai::DownloadUrl,
) -> std::collections::VecDeque<PendingDownload> {
    let last = target
        .url
        .path()
        .rsplit('/')
        .next()
        .map(percent_decode)
        .unwrap_or_default();
    let name = safe_output_name(&last)
        .filter(|n| !n.eq_ignore_ascii_case(crate::doc_ai::RESULTS_FILE))
        .unwrap_or_else(|| "output.zip".to_owned());
    std::collections::VecDeque::from([PendingDownload {
        server_name: bounded(printable(&last), 255),
        name,
        url: target.url,
        announced: None,
        headers: target.headers,
    }])
}

/// `%XX` sequences decoded (invalid ones kept as they are), for a name.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn safe_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    safe_component(last)
}

/// One path component made safe (see [`safe_output_name`]).
fn safe_component(part: &str) -> Option<String> {
    let mut clean: String = part
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|' | '/' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Windows drops trailing dots and spaces, which can make two names one.
    let kept = clean.trim_end_matches(['.', ' ']).len();
    clean.truncate(kept);
    let clean = clean.trim_start_matches(' ');
    if clean.is_empty() || clean.chars().all(|c| c == '.') {
        return None;
    }
    let mut out = if let Some(rest) = clean.strip_prefix('.') {
        format!("_{rest}")
    } else {
        clean.to_owned()
    };
    let stem = out
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        out.insert(0, '_');
    }
    Some(shorten(out, MAX_NAME))
}

/// Cuts `name` to `max` bytes, keeping a short extension.
fn shorten(name: String, max: usize) -> String {
    if name.len() <= max {
        return name;
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.len() <= 16)
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let mut cut = max - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &name[..cut])
}

/// `name`, or, when `taken` says it is taken, the first of `name-2`,
/// `name-3`, … that is not: the one way every output name is made distinct.
/// A file (`kind` other than [`EntryKind::Dir`]) keeps its extension last
/// (`out.zip`, `out-2.zip`); a folder is numbered at its end (`v1.2`,
/// `v1.2-2`). `taken` is asked about each candidate in lower case: names are
/// compared without case, as macOS and Windows do, so keep the taken names
/// lower-cased. The stem is cut so that a name of at most 200 bytes stays
/// within 200 bytes.
///
/// Why `-n` before the extension: the number never hides the file's type
/// (`page_001-2.md` is still Markdown) nor its name's start (so names sort
/// together), and `-` means nothing to a shell or to Windows (`~` starts a
/// home path and marks 8.3 short names).
///
/// ```
/// use sarvam_doc_core::output::{EntryKind, distinct_name};
/// let taken = ["out.zip", "out-2.zip", "scan"];
/// assert_eq!(distinct_name("OUT.zip", EntryKind::File, |c| taken.contains(&c)), "OUT-3.zip");
/// assert_eq!(distinct_name("scan", EntryKind::Dir, |c| taken.contains(&c)), "scan-2");
/// assert_eq!(distinct_name("page.md", EntryKind::File, |c| taken.contains(&c)), "page.md");
/// ```
#[must_use]
pub fn distinct_name(name: &str, kind: EntryKind, mut taken: impl FnMut(&str) -> bool) -> String {
    if !taken(&name.to_lowercase()) {
        return name.to_owned();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext))
            if kind != EntryKind::Dir && !stem.is_empty() && !ext.is_empty() && ext.len() <= 16 =>
        {
            (stem, &name[stem.len()..])
        }
        _ => (name, ""),
    };
    let mut n: u64 = 2;
    loop {
        let suffix = format!("-{n}");
        let room = MAX_NAME
            .max(name.len())
            .saturating_sub(suffix.len() + ext.len());
        let mut cut = stem.len().min(room);
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        let candidate = format!("{}{suffix}{ext}", &stem[..cut]);
        if !taken(&candidate.to_lowercase()) {
            return candidate;
        }
        n += 1;
    }
}

/// The folder an input's pages go to, from its file name: the stem made safe
/// ([`safe_output_name`]). Input names are checked first
/// ([`crate::check_file_name`]), so there is always a stem; `document` is the
/// fallback.
///
/// ```
/// use sarvam_doc_core::output::folder_name;
/// assert_eq!(folder_name("scan.pdf"), "scan");
/// assert_eq!(folder_name("Report 2026.ZIP"), "Report 2026");
/// assert_eq!(folder_name(".hidden.pdf"), "_hidden");
/// ```
#[must_use]
pub fn folder_name(file_name: &str) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    safe_output_name(stem).unwrap_or_else(|| "document".to_owned())
}

/// Assigns each input of a batch its own output folder: [`folder_name`],
/// made distinct by [`distinct_name`] when two inputs would share one.
///
/// ```
/// use sarvam_doc_core::output::FolderPlan;
/// let mut plan = FolderPlan::default();
/// assert_eq!(plan.assign("a/scan.pdf"), "scan");
/// assert_eq!(plan.assign("b/SCAN.zip"), "SCAN-2");
/// assert_eq!(plan.assign("c/scan.pdf"), "scan-3");
/// ```
#[derive(Clone, Debug, Default)]
pub struct FolderPlan {
    taken: std::collections::BTreeSet<String>,
}

impl FolderPlan {
    /// Marks `folder` as taken (an earlier run's, say).
    pub fn reserve(&mut self, folder: &str) {
        self.taken.insert(folder.to_lowercase());
    }

    /// A distinct folder for the input at `path` (only its file name counts).
    pub fn assign(&mut self, path: &str) -> String {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let folder = distinct_name(&folder_name(name), EntryKind::Dir, |c| {
            self.taken.contains(c)
        });
        self.taken.insert(folder.to_lowercase());
        folder
    }
}

/// What an output ZIP may hold. The defaults are far beyond any real
/// document's output (a few dozen small pages) and far below what fills a
/// disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnpackLimits {
    /// The most entries (files and folders).
    pub max_entries: u32,
    /// The most bytes all entries may expand to.
    pub max_total_bytes: u64,
    /// The most an entry may expand to per byte stored, once it is past
    /// 1 MiB (small entries of repeated text compress well legitimately).
    pub max_ratio: u32,
}

impl Default for UnpackLimits {
    /// 10,000 entries, 1 GiB in all, 1,000:1.
    fn default() -> Self {
        UnpackLimits {
            max_entries: 10_000,
            max_total_bytes: 1024 * 1024 * 1024,
            max_ratio: 1_000,
        }
    }
}

impl UnpackLimits {
    /// With at most `n` entries.
    #[must_use]
    pub fn with_max_entries(mut self, n: u32) -> Self {
        self.max_entries = n;
        self
    }

    /// With at most `bytes` unpacked in all.
    #[must_use]
    pub fn with_max_total_bytes(mut self, bytes: u64) -> Self {
        self.max_total_bytes = bytes;
        self
    }

    /// With at most `ratio`:1 expansion per entry past 1 MiB.
    #[must_use]
    pub fn with_max_ratio(mut self, ratio: u32) -> Self {
        self.max_ratio = ratio;
        self
    }
}

impl UnpackLimits {
    /// Checks the entry count an archive declares ([`end_record`]) before
    /// a reader indexes its entries: a million empty entries must not cost
    /// a million allocations.
    ///
    /// # Errors
    /// [`UnpackError::TooManyEntries`] above [`UnpackLimits::max_entries`].
    pub fn check_declared_entries(&self, count: u64) -> Result<(), UnpackError> {
        if count > u64::from(self.max_entries) {
            Err(UnpackError::TooManyEntries {
                limit: self.max_entries,
            })
        } else {
            Ok(())
        }
    }
}

/// How many bytes at the end of a ZIP hold its end record wherever it is:
/// the record's 22 bytes and a comment of at most 65,535.
pub const END_RECORD_TAIL: u64 = 22 + 65_535;

/// The length of a ZIP64 end record, as far as [`zip64_entries`] reads it.
pub const ZIP64_END_RECORD_LEN: u64 = 56;

/// What a ZIP's end record says of its entry count ([`end_record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndRecord {
    /// No end record that can be read: the ZIP reader decides (and refuses).
    Missing,
    /// The entry count it declares.
    Entries(u64),
    /// A ZIP64 archive: the count is in its ZIP64 end record,
    /// [`ZIP64_END_RECORD_LEN`] bytes at `at` in the file ([`zip64_entries`]).
    Zip64 {
        /// The ZIP64 end record's offset in the file.
        at: u64,
    },
}

/// Finds a ZIP's end-of-central-directory record in `tail`, the last bytes
/// of a file of `file_len` bytes (at most [`END_RECORD_TAIL`] of them; fewer
/// if the file is shorter), and reads the entry count it declares.
///
/// ```
/// use sarvam_doc_core::output::{EndRecord, end_record};
/// let mut eocd = vec![0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 3, 0, 3, 0];
/// eocd.resize(22, 0);
/// assert_eq!(end_record(&eocd, 22), EndRecord::Entries(3));
/// assert_eq!(end_record(b"not a zip", 9), EndRecord::Missing);
/// ```
#[must_use]
pub fn end_record(tail: &[u8], file_len: u64) -> EndRecord {
    const END: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    let le16 = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
    // The last record that fits whole: a comment may hold the signature too.
    let Some(at) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(&END))
    else {
        return EndRecord::Missing;
    };
    let count = le16(&tail[at + 10..]);
    if count != 0xFFFF {
        return EndRecord::Entries(u64::from(count));
    }
    // ZIP64: a 20-byte locator sits just before the end record and points
    // at the ZIP64 end record.
    let Some(locator) = at.checked_sub(20) else {
        return EndRecord::Missing;
    };
    if !tail[locator..].starts_with(&LOCATOR) {
        return EndRecord::Missing;
    }
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&tail[locator + 8..locator + 16]);
    let record = u64::from_le_bytes(offset);
    if record.saturating_add(ZIP64_END_RECORD_LEN) > file_len {
        return EndRecord::Missing;
    }
    EndRecord::Zip64 { at: record }
}

/// The entry count a ZIP64 end record declares (`record`: its first
/// [`ZIP64_END_RECORD_LEN`] bytes), if it is one.
#[must_use]
pub fn zip64_entries(record: &[u8]) -> Option<u64> {
    let len = usize::try_from(ZIP64_END_RECORD_LEN).ok()?;
    if record.len() < len || !record.starts_with(&[0x50, 0x4b, 0x06, 0x06]) {
        return None;
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&record[32..40]);
    Some(u64::from_le_bytes(count))
}

/// An entry's size past which the ratio limit applies.
const RATIO_FLOOR: u64 = 1024 * 1024;

/// The deepest path an entry may have.
const MAX_DEPTH: usize = 16;

/// What kind of entry a ZIP holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (or anything else that is not a plain file or folder).
    Link,
}

/// Why an output ZIP is refused. Every variant names the limit it hit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnpackError {
    /// More entries than [`UnpackLimits::max_entries`].
    TooManyEntries {
        /// The limit.
        limit: u32,
    },
    /// The entries expand past [`UnpackLimits::max_total_bytes`].
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// An entry expands past [`UnpackLimits::max_ratio`] times its stored size.
    Ratio {
        /// The entry's name.
        name: String,
        /// The limit.
        limit: u32,
    },
    /// An entry is a link, which no output needs.
    Link {
        /// The entry's name.
        name: String,
    },
    /// An entry's path is deeper than 16 folders, or leaves nothing usable.
    BadName {
        /// The entry's name.
        name: String,
    },
    /// The file is not a ZIP archive that can be read.
    NotAZip {
        /// What the reader said.
        detail: String,
    },
}

impl fmt::Display for UnpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnpackError::TooManyEntries { limit } => {
                write!(f, "it holds more than {limit} entries (the entry limit)")
            }
            UnpackError::TooLarge { limit } => {
                write!(f, "it expands past {limit} bytes (the unpacked size limit)")
            }
            UnpackError::Ratio { name, limit } => write!(
                f,
                "its entry {name:?} expands more than {limit} times its stored size (the ratio limit)"
            ),
            UnpackError::Link { name } => {
                write!(
                    f,
                    "its entry {name:?} is a link, which an output never holds"
                )
            }
            UnpackError::BadName { name } => write!(
                f,
                "its entry {name:?} is nested too deep or has no usable name"
            ),
            UnpackError::NotAZip { detail } => write!(f, "it is not a readable ZIP ({detail})"),
        }
    }
}

impl std::error::Error for UnpackError {}

/// What the planner has placed, by lower-cased path, to find clashes on
/// file systems that ignore case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placed {
    File,
    Dir,
}

/// Plans and polices the unpacking of one output ZIP.
///
/// Entry names are made safe component by component ([`safe_output_name`]'s
/// rule: no `..`, no leading dot, no control characters, at most 200 bytes a
/// component), so no entry can land outside the folder. Clashes are renamed,
/// never lost, by [`distinct_name`]: a file and a folder of the same name,
/// two entries of the same name, or names that differ only in case, get
/// `-2`, `-3`, … (before a file's extension).
///
/// ```
/// use sarvam_doc_core::output::{EntryKind, Unpack, UnpackLimits};
/// let mut plan = Unpack::new(UnpackLimits::default());
/// assert_eq!(plan.entry("page_001.md", EntryKind::File, 10, 10)?, Some(vec!["page_001.md".to_owned()]));
/// assert_eq!(plan.entry("../../etc/passwd", EntryKind::File, 10, 10)?, Some(vec!["etc".to_owned(), "passwd".to_owned()]));
/// // A file "a", then "a/b.md": the folder is renamed, nothing is lost.
/// plan.entry("a", EntryKind::File, 1, 1)?;
/// assert_eq!(plan.entry("a/b.md", EntryKind::File, 1, 1)?, Some(vec!["a-2".to_owned(), "b.md".to_owned()]));
/// # Ok::<(), sarvam_doc_core::output::UnpackError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Unpack {
    limits: UnpackLimits,
    entries: u32,
    total: u64,
    placed: BTreeMap<String, Placed>,
    /// Folders renamed: the planned path of a folder by its original
    /// (lower-cased) path.
    renamed: BTreeMap<String, Vec<String>>,
    /// The entry being written: its name, stored size, bytes so far.
    current: Option<(String, u64, u64)>,
}

impl Unpack {
    /// A planner with `limits`.
    #[must_use]
    pub fn new(limits: UnpackLimits) -> Self {
        Unpack {
            limits,
            entries: 0,
            total: 0,
            placed: BTreeMap::new(),
            renamed: BTreeMap::new(),
            current: None,
        }
    }

    /// Keeps the file name `name`, at the folder's top, for a file of the
    /// caller's own (a manifest): an entry of that name is renamed.
    pub fn reserve(&mut self, name: &str) {
        self.placed.insert(name.to_lowercase(), Placed::File);
    }

    /// Plans the next entry, `name` as the archive gives it, of `kind`, with
    /// the sizes its header declares (`size` expanded, `stored` compressed).
    /// Returns the path (components, each safe) to write a file to, or
    /// `None` for a folder (created as files need it).
    ///
    /// # Errors
    /// [`UnpackError`] when the archive must be refused.
    pub fn entry(
        &mut self,
        name: &str,
        kind: EntryKind,
        size: u64,
        stored: u64,
    ) -> Result<Option<Vec<String>>, UnpackError> {
        self.current = None;
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(UnpackError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        let shown = || bounded(printable(name), 120);
        if kind == EntryKind::Link {
            return Err(UnpackError::Link { name: shown() });
        }
        // What the header declares is checked now; what comes out, as it does.
        if self.total.saturating_add(size) > self.limits.max_total_bytes {
            return Err(UnpackError::TooLarge {
                limit: self.limits.max_total_bytes,
            });
        }
        self.check_ratio(name, size, stored)?;
        let parts: Vec<String> = name
            .split(['/', '\\'])
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .filter_map(safe_component)
            .collect();
        if parts.is_empty() {
            return if kind == EntryKind::Dir {
                Ok(None)
            } else {
                Err(UnpackError::BadName { name: shown() })
            };
        }
        if parts.len() > MAX_DEPTH {
            return Err(UnpackError::BadName { name: shown() });
        }
        let (dirs, last) = parts.split_at(parts.len() - 1);
        let mut planned = self.place_dirs(dirs);
        if kind == EntryKind::Dir {
            planned.extend(self.place_dirs(last));
            return Ok(None);
        }
        let file = self.unique(&planned, &last[0]);
        planned.push(file);
        self.placed.insert(key(&planned), Placed::File);
        self.current = Some((shown(), stored, 0));
        Ok(Some(planned))
    }

    /// Counts `n` more bytes written of the current entry.
    ///
    /// # Errors
    /// [`UnpackError::TooLarge`] or [`UnpackError::Ratio`] the moment the
    /// bytes pass a limit, whatever the header declared.
    pub fn wrote(&mut self, n: u64) -> Result<(), UnpackError> {
        self.total = self.total.saturating_add(n);
        if self.total > self.limits.max_total_bytes {
            return Err(UnpackError::TooLarge {
                limit: self.limits.max_total_bytes,
            });
        }
        if let Some((name, stored, written)) = &mut self.current {
            *written = written.saturating_add(n);
            let (name, stored, written) = (name.clone(), *stored, *written);
            self.check_ratio(&name, written, stored)?;
        }
        Ok(())
    }

    /// Entries planned so far.
    #[must_use]
    pub fn entries(&self) -> u32 {
        self.entries
    }

    /// Bytes written so far.
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    fn check_ratio(&self, name: &str, size: u64, stored: u64) -> Result<(), UnpackError> {
        let allowed = stored
            .saturating_mul(u64::from(self.limits.max_ratio))
            .max(RATIO_FLOOR);
        if size > allowed {
            Err(UnpackError::Ratio {
                name: bounded(printable(name), 120),
                limit: self.limits.max_ratio,
            })
        } else {
            Ok(())
        }
    }

    /// Places the folders `dirs` (safe components), renaming any that clash
    /// with a file; returns their planned path.
    fn place_dirs(&mut self, dirs: &[String]) -> Vec<String> {
        let mut planned: Vec<String> = Vec::new();
        let mut original: Vec<String> = Vec::new();
        for dir in dirs {
            original.push(dir.clone());
            let original_key = key(&original);
            if let Some(path) = self.renamed.get(&original_key) {
                planned.clone_from(path);
                continue;
            }
            let path_of = |name: &str| {
                let mut path = planned.clone();
                path.push(name.to_owned());
                key(&path)
            };
            // A folder of that name is reused; only a file is in the way.
            let candidate = distinct_name(dir, EntryKind::Dir, |c| {
                self.placed.get(&path_of(c)) == Some(&Placed::File)
            });
            self.placed
                .entry(path_of(&candidate))
                .or_insert(Placed::Dir);
            planned.push(candidate);
            self.renamed.insert(original_key, planned.clone());
        }
        planned
    }

    /// A file name in `dir` that nothing has taken yet.
    fn unique(&self, dir: &[String], name: &str) -> String {
        distinct_name(name, EntryKind::File, |c| {
            let mut path = dir.to_vec();
            path.push(c.to_owned());
            self.placed.contains_key(&key(&path))
        })
    }
}

fn key(path: &[String]) -> String {
    path.join("/").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_name_escapes_the_output_folder(name in "\\PC{0,300}|[./\\\\a]{0,12}") {
            if let Some(safe) = safe_output_name(&name) {
                prop_assert!(!safe.is_empty() && safe.len() <= MAX_NAME);
                prop_assert!(!safe.contains(['/', '\\', '\0']));
                prop_assert!(safe != "." && safe != "..");
                prop_assert!(!safe.starts_with('.'));
                prop_assert!(!safe.chars().any(char::is_control));
                let joined = std::path::Path::new("out").join(&safe);
                prop_assert_eq!(joined.parent(), Some(std::path::Path::new("out")));
            }
        }

        #[test]
        fn planned_entries_stay_inside_and_never_collide(
            names in proptest::collection::vec("[a-cA-C./\\\\\u{1b}]{0,12}", 0..40)
        ) {
            let mut plan = Unpack::new(UnpackLimits::default());
            let mut files = std::collections::BTreeSet::new();
            for name in names {
                if let Ok(Some(path)) = plan.entry(&name, EntryKind::File, 1, 1) {
                    prop_assert!(!path.is_empty() && path.len() <= MAX_DEPTH);
                    for part in &path {
                        prop_assert!(!part.is_empty() && part != "." && part != "..");
                        prop_assert!(!part.contains(['/', '\\']));
                        prop_assert!(!part.starts_with('.'));
                        prop_assert!(!part.chars().any(char::is_control));
                    }
                    // No two files share a path, and no file is a folder of another.
                    let k = key(&path);
                    prop_assert!(files.insert(k.clone()), "{} twice", k);
                    let as_dir = format!("{}/", k);
                    for other in &files {
                        let other_dir = format!("{}/", other);
                        prop_assert!(!other.starts_with(&as_dir));
                        prop_assert!(!k.starts_with(&other_dir));
                    }
                }
            }
        }
    }

    /// An end record declaring `count` entries (0xFFFF: see ZIP64).
    fn eocd(count: u16) -> Vec<u8> {
        let mut record = vec![0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0];
        record.extend_from_slice(&count.to_le_bytes());
        record.extend_from_slice(&count.to_le_bytes());
        record.resize(22, 0);
        record
    }

    #[test]
    fn the_end_record_declares_the_entry_count() {
        let mut file = b"entries".to_vec();
        file.extend(eocd(7));
        assert_eq!(end_record(&file, file.len() as u64), EndRecord::Entries(7));
        // A comment after it is skipped; a record cut short is not one.
        file.extend_from_slice(b"a comment");
        assert_eq!(end_record(&file, file.len() as u64), EndRecord::Entries(7));
        assert_eq!(end_record(&eocd(7)[..21], 21), EndRecord::Missing);
        assert_eq!(
            UnpackLimits::default()
                .with_max_entries(6)
                .check_declared_entries(7),
            Err(UnpackError::TooManyEntries { limit: 6 })
        );
        assert!(UnpackLimits::default().check_declared_entries(7).is_ok());
    }

    #[test]
    fn a_zip64_end_record_is_found_through_its_locator() {
        let mut zip64 = vec![0x50, 0x4b, 0x06, 0x06];
        zip64.resize(32, 0);
        zip64.extend_from_slice(&5_000_000u64.to_le_bytes());
        zip64.resize(56, 0);
        let mut file = zip64.clone();
        let mut locator = vec![0x50, 0x4b, 0x06, 0x07, 0, 0, 0, 0];
        locator.extend_from_slice(&0u64.to_le_bytes());
        locator.resize(20, 0);
        file.extend(locator);
        file.extend(eocd(0xFFFF));
        let len = file.len() as u64;
        assert_eq!(end_record(&file, len), EndRecord::Zip64 { at: 0 });
        assert_eq!(zip64_entries(&zip64), Some(5_000_000));
        assert_eq!(zip64_entries(&zip64[..55]), None);
        assert_eq!(zip64_entries(&eocd(1)), None, "not a ZIP64 record");
        // A locator that points past the end is not followed.
        assert_eq!(end_record(&file[56..], 40), EndRecord::Missing);
    }

    #[test]
    fn distinct_names_number_before_the_extension_without_case() {
        let taken = ["out.zip", "out-2.zip", "v1.2", ".md"];
        let is_taken = |c: &str| taken.contains(&c);
        assert_eq!(
            distinct_name("Out.ZIP", EntryKind::File, is_taken),
            "Out-3.ZIP"
        );
        assert_eq!(distinct_name("v1.2", EntryKind::Dir, is_taken), "v1.2-2");
        assert_eq!(distinct_name(".md", EntryKind::File, is_taken), ".md-2");
        assert_eq!(
            distinct_name("free.zip", EntryKind::File, is_taken),
            "free.zip"
        );
        // A name at the length limit stays within it, extension kept.
        // Cut at a character's boundary (3-byte characters).
        let long = format!("{}.md", "अ".repeat(67));
        assert_eq!(long.len(), 204);
        let longest = format!("{}.md", "x".repeat(197));
        let again = distinct_name(&longest, EntryKind::File, |c| c == longest);
        assert!(
            again.len() <= MAX_NAME && again.ends_with("-2.md"),
            "{again}"
        );
        let cut = distinct_name(&long, EntryKind::File, |c| c == long);
        assert!(cut.len() <= long.len() && cut.ends_with("-2.md"), "{cut}");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.md", "x".repeat(300));
        let safe = safe_output_name(&long).unwrap();
        assert!(safe.len() <= MAX_NAME && safe.ends_with(".md"), "{safe}");
    }

    #[test]
    fn limits_refuse_bombs_by_count_size_and_ratio() {
        let limits = UnpackLimits::default()
            .with_max_entries(3)
            .with_max_total_bytes(10 * 1024 * 1024);
        let mut plan = Unpack::new(limits);
        for i in 0..3 {
            plan.entry(&format!("{i}.md"), EntryKind::File, 1, 1)
                .unwrap();
        }
        assert_eq!(
            plan.entry("3.md", EntryKind::File, 1, 1),
            Err(UnpackError::TooManyEntries { limit: 3 })
        );
        // Declared sizes that lie are caught as the bytes come out.
        let mut plan = Unpack::new(limits);
        plan.entry("big", EntryKind::File, 1, 10_000).unwrap();
        assert!(plan.wrote(5 * 1024 * 1024).is_ok());
        assert_eq!(
            plan.wrote(6 * 1024 * 1024),
            Err(UnpackError::TooLarge {
                limit: 10 * 1024 * 1024
            })
        );
        let mut plan = Unpack::new(UnpackLimits::default());
        plan.entry("bomb", EntryKind::File, 1, 1_000).unwrap();
        assert!(plan.wrote(1_000_000).is_ok(), "under the 1 MiB floor");
        assert!(matches!(
            plan.wrote(1_000_001),
            Err(UnpackError::Ratio { .. })
        ));
        assert!(matches!(
            Unpack::new(UnpackLimits::default()).entry("l", EntryKind::Link, 1, 1),
            Err(UnpackError::Link { .. })
        ));
    }

    #[test]
    fn clashes_are_renamed_not_lost() {
        let mut plan = Unpack::new(UnpackLimits::default());
        let mut place = |n: &str| {
            plan.entry(n, EntryKind::File, 1, 1)
                .unwrap()
                .unwrap()
                .join("/")
        };
        assert_eq!(place("a/b.md"), "a/b.md");
        assert_eq!(place("a"), "a-2");
        assert_eq!(place("A/B.md"), "a/B-2.md");
        assert_eq!(place("a/c.md"), "a/c.md");
        assert_eq!(place(".x/\u{1b}y.md"), "_x/_y.md");
    }

    #[test]
    fn download_names_are_safe_and_distinct() {
        let answer: crate::DownloadFilesResponse = serde_json::from_str(
            r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed",
            "storage_container_type":"Azure","download_urls":{
              "a/out.zip":{"file_url":"https://s/1"},"b/out.zip":{"file_url":"https://s/2"},
              "..":{"file_url":"https://s/3","file_metadata":{"fileSize":5}}}}"#,
        )
        .unwrap();
        let names: Vec<_> = plan_downloads(answer)
            .into_iter()
            .map(|p| (p.name, p.announced))
            .collect();
        assert_eq!(
            names,
            [
                ("output-1.zip".to_owned(), Some(5)),
                ("out.zip".to_owned(), None),
                ("out-2.zip".to_owned(), None)
            ]
        );
    }
}
