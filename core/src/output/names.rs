//! The name rules: a server-given name made safe to create, the one
//! clash-renaming scheme ([`distinct_name`]), and the folder each input's
//! pages go to.

/// The longest output file name kept, in bytes.
pub(super) const MAX_NAME: usize = 200;

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

fn safe_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    safe_component(last)
}

/// One path component made safe (see [`safe_output_name`]).
pub(super) fn safe_component(part: &str) -> Option<String> {
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
        let candidate = numbered(stem, ext, name.len(), n);
        if !taken(&candidate.to_lowercase()) {
            return candidate;
        }
        n += 1;
    }
}

/// `stem-n` followed by `ext`, the stem cut (at a character's boundary) so
/// that the whole stays within the longer of 200 bytes and `len`, the
/// length of the name it stands for.
fn numbered(stem: &str, ext: &str, len: usize, n: u64) -> String {
    let suffix = format!("-{n}");
    let room = MAX_NAME.max(len).saturating_sub(suffix.len() + ext.len());
    let mut cut = stem.len().min(room);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}{ext}", &stem[..cut])
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
        let folder = distinct_name(&folder_name(file_name(path)), EntryKind::Dir, |c| {
            self.taken.contains(c)
        });
        self.taken.insert(folder.to_lowercase());
        folder
    }

    /// Whether `folder` is one that [`FolderPlan::assign`] could have given
    /// the input at `path`, whatever was taken: its [`folder_name`], or that
    /// name numbered (`scan-2`, cut as [`distinct_name`] cuts it). Such a
    /// name is one safe component, never hidden (so never the state folder
    /// `.sarvam-doc`), never `..`, never absolute. A folder read back from a
    /// journal is used only if it passes: the journal lives in the output
    /// folder, which may be hostile.
    ///
    /// ```
    /// use sarvam_doc_core::output::FolderPlan;
    /// assert!(FolderPlan::could_assign("/in/scan.pdf", "scan"));
    /// assert!(FolderPlan::could_assign("/in/scan.pdf", "scan-12"));
    /// assert!(!FolderPlan::could_assign("/in/scan.pdf", "scan-1"));
    /// assert!(!FolderPlan::could_assign("/in/scan.pdf", "other"));
    /// assert!(!FolderPlan::could_assign("/in/.sarvam-doc.pdf", ".sarvam-doc"));
    /// assert!(!FolderPlan::could_assign("/in/scan.pdf", "../scan"));
    /// ```
    ///
    /// For a chunk of a long input (a [`crate::split::Chunk::key`]), it is
    /// the chunk's folder ([`crate::split::Chunk::folder`]) under a folder
    /// that could be its input's.
    ///
    /// ```
    /// use sarvam_doc_core::output::FolderPlan;
    /// let chunk = "/in/book.pdf#pages=11-20/10";
    /// assert!(FolderPlan::could_assign(chunk, ".sarvam-doc/chunks/book/pages-011-020-limit-10"));
    /// assert!(FolderPlan::could_assign(chunk, ".sarvam-doc/chunks/book-2/pages-011-020-limit-10"));
    /// assert!(!FolderPlan::could_assign(chunk, ".sarvam-doc/chunks/book/pages-001-010-limit-10"));
    /// assert!(!FolderPlan::could_assign(chunk, ".sarvam-doc/chunks/../pages-011-020-limit-10"));
    /// assert!(!FolderPlan::could_assign(chunk, "book"));
    /// ```
    #[must_use]
    pub fn could_assign(path: &str, folder: &str) -> bool {
        if let Some((input, chunk, limit)) = crate::split::parse_chunk_key(path) {
            return folder
                .strip_prefix(crate::split::CHUNKS_DIR)
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(|rest| rest.strip_suffix(chunk.name(limit).as_str()))
                .and_then(|rest| rest.strip_suffix('/'))
                .is_some_and(|parent| Self::could_assign(input, parent));
        }
        let base = folder_name(file_name(path));
        if folder == base {
            return true;
        }
        let Some((_, digits)) = folder.rsplit_once('-') else {
            return false;
        };
        let n = match digits.parse::<u64>() {
            Ok(n) if n >= 2 && digits.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return false,
        };
        // Uncut (as folders were numbered before names were cut), or cut.
        folder == format!("{base}-{n}") || folder == numbered(&base, "", base.len(), n)
    }
}

/// The last component of `path`, as [`FolderPlan`] reads it.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

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
    }

    proptest! {
        #[test]
        fn every_folder_a_plan_assigns_is_one_it_could_assign(
            names in proptest::collection::vec("\\PC{1,220}|[a.]{1,4}\\.pdf", 1..6),
            taken in proptest::collection::vec("\\PC{0,12}(-[0-9]{1,2})?", 0..6),
        ) {
            let mut plan = FolderPlan::default();
            for t in &taken {
                plan.reserve(t);
            }
            for name in &names {
                let path = format!("/in/{name}");
                let folder = plan.assign(&path);
                prop_assert!(FolderPlan::could_assign(&path, &folder), "{path} {folder}");
            }
        }

        #[test]
        fn no_folder_it_could_assign_leaves_the_output_folder_or_hides(
            name in "\\PC{0,40}",
            folder in "\\PC{0,40}|\\.[a-z-]{0,12}|\\.\\.?(/[a-z]{0,3})?",
        ) {
            let made = folder_name(file_name(&name));
            let mut passed = 0;
            for folder in [folder, format!("{made}-3"), made] {
                if FolderPlan::could_assign(&name, &folder) {
                    passed += 1;
                    prop_assert!(!folder.is_empty() && !folder.starts_with('.'));
                    prop_assert!(!folder.contains(['/', '\\', '\0']));
                    let joined = std::path::Path::new("out").join(&folder);
                    prop_assert_eq!(joined.parent(), Some(std::path::Path::new("out")));
                }
            }
            prop_assert!(passed >= 2);
        }
    }

    #[test]
    fn a_folder_not_made_for_the_input_is_not_one_it_could_assign() {
        for (path, folder) in [
            ("/in/a.pdf", ".sarvam-doc"),
            ("/in/.sarvam-doc.pdf", ".sarvam-doc"),
            ("/in/a.pdf", ".."),
            ("/in/a.pdf", "../a"),
            ("/in/a.pdf", "/tmp/a"),
            ("/in/a.pdf", "b"),
            ("/in/a.pdf", "a-1"),
            ("/in/a.pdf", "a-02"),
            ("/in/a.pdf", "a-+2"),
            ("/in/a.pdf", "a-"),
            ("/in/a.pdf", "a/b"),
            ("/in/a.pdf", "A"),
        ] {
            assert!(!FolderPlan::could_assign(path, folder), "{path} {folder}");
        }
        assert!(FolderPlan::could_assign(
            "/in/.sarvam-doc.pdf",
            "_sarvam-doc"
        ));
        assert!(FolderPlan::could_assign("/in/a-2.pdf", "a-2-2"));
        // A long stem is cut to make room for its number.
        let long = format!("/in/{}.pdf", "x".repeat(250));
        let mut plan = FolderPlan::default();
        let first = plan.assign(&long);
        let second = plan.assign(&long);
        assert!(
            second.len() <= MAX_NAME && second.ends_with("-2"),
            "{second}"
        );
        assert!(FolderPlan::could_assign(&long, &first));
        assert!(FolderPlan::could_assign(&long, &second));
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
}
