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
        let mut name = base.clone();
        let mut n = 2;
        while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            name = with_suffix(&base, n);
            n += 1;
        }
        taken.push(name.clone());
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
/// with `-2`, `-3`, … added when two inputs would share one (compared
/// without case, as macOS and Windows do).
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
        let base = folder_name(name);
        let mut candidate = base.clone();
        let mut n = 2;
        while !self.taken.insert(candidate.to_lowercase()) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        candidate
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
/// never lost: a file and a folder of the same name, two entries of the same
/// name, or names that differ only in case, get `~2`, `~3`, … before the
/// extension.
///
/// ```
/// use sarvam_doc_core::output::{EntryKind, Unpack, UnpackLimits};
/// let mut plan = Unpack::new(UnpackLimits::default());
/// assert_eq!(plan.entry("page_001.md", EntryKind::File, 10, 10)?, Some(vec!["page_001.md".to_owned()]));
/// assert_eq!(plan.entry("../../etc/passwd", EntryKind::File, 10, 10)?, Some(vec!["etc".to_owned(), "passwd".to_owned()]));
/// // A file "a", then "a/b.md": the folder is renamed, nothing is lost.
/// plan.entry("a", EntryKind::File, 1, 1)?;
/// assert_eq!(plan.entry("a/b.md", EntryKind::File, 1, 1)?, Some(vec!["a~2".to_owned(), "b.md".to_owned()]));
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
            let mut candidate = dir.clone();
            let mut n = 2;
            loop {
                let mut path = planned.clone();
                path.push(candidate.clone());
                match self.placed.get(&key(&path)) {
                    Some(Placed::File) => {
                        candidate = with_suffix(dir, n);
                        n += 1;
                    }
                    Some(Placed::Dir) => break,
                    None => {
                        self.placed.insert(key(&path), Placed::Dir);
                        break;
                    }
                }
            }
            planned.push(candidate);
            self.renamed.insert(original_key, planned.clone());
        }
        planned
    }

    /// A file name in `dir` that nothing has taken yet.
    fn unique(&self, dir: &[String], name: &str) -> String {
        let mut candidate = name.to_owned();
        let mut n = 2;
        loop {
            let mut path = dir.to_vec();
            path.push(candidate.clone());
            if !self.placed.contains_key(&key(&path)) {
                return candidate;
            }
            candidate = with_suffix(name, n);
            n += 1;
        }
    }
}

fn key(path: &[String]) -> String {
    path.join("/").to_lowercase()
}

/// `name` with `~n` before its extension: `a.md` → `a~2.md`.
fn with_suffix(name: &str, n: u32) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}~{n}.{ext}"),
        _ => format!("{name}~{n}"),
    }
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
        assert_eq!(place("a"), "a~2");
        assert_eq!(place("A/B.md"), "a/B~2.md");
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
                ("out~2.zip".to_owned(), None)
            ]
        );
    }
}
