//! The unpacking of one output ZIP: its limits, why it is refused, and the
//! plan that places each entry safely inside the folder.

use std::collections::BTreeMap;
use std::fmt;

use super::names::{EntryKind, distinct_name, safe_component};
use crate::error::{bounded, printable};

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
    /// Checks the entry count an archive declares ([`end_record`](super::end_record)) before
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

/// An entry's size past which the ratio limit applies.
const RATIO_FLOOR: u64 = 1024 * 1024;

/// The deepest path an entry may have.
const MAX_DEPTH: usize = 16;

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
/// Entry names are made safe component by component ([`safe_output_name`](super::safe_output_name)'s
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
}
