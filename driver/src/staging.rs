//! The temporary folders and files the driver makes in an output folder,
//! and the sweep that removes those a killed run left behind.
//!
//! Clean only what you made: a staging folder is named [`TEMP_PREFIX`]
//! followed by exactly [`TEMP_RANDOM`] letters and digits, and holds a
//! marker file, [`MARKER`], written when it was made and locked for as long
//! as its run lives; a part file is named the same way, followed by
//! `.part`. The sweep removes a folder only if it has that name, is a real
//! folder (not a link) and holds the marker (a regular file), unlocked; a
//! part file only if it has that name and is a regular file. Anything else,
//! a user's `.sarvam-doc-backup` say, is left alone.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::TEMP_PREFIX;
use crate::journal::open_regular;

/// How many random letters and digits follow [`TEMP_PREFIX`].
pub(crate) const TEMP_RANDOM: usize = 16;

/// The marker file inside every staging folder.
pub(crate) const MARKER: &str = ".sarvam-doc-staging";

/// The suffix of a part file (a download in progress).
const PART: &str = ".part";

/// A staging folder in an output folder: removed, with all it holds, when
/// dropped. Its marker stays locked until then, so no sweep removes it
/// while it is in use.
#[derive(Debug)]
pub(crate) struct Staging {
    // Dropped first: the folder is unlocked only as it is removed.
    _marker: File,
    dir: tempfile::TempDir,
}

impl Staging {
    /// Makes a staging folder in `out_dir`, with its marker, locked.
    pub(crate) fn new(out_dir: &Path) -> io::Result<Staging> {
        let dir = builder().tempdir_in(out_dir)?;
        let mut marker = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.path().join(MARKER))?;
        marker.write_all(b"a sarvam-doc staging folder: removed when its run ends\n")?;
        marker.try_lock().map_err(io::Error::from)?;
        Ok(Staging {
            _marker: marker,
            dir,
        })
    }

    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A builder of the names of temporary folders and files: [`TEMP_PREFIX`]
/// and [`TEMP_RANDOM`] letters and digits.
pub(crate) fn builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).rand_bytes(TEMP_RANDOM);
    builder
}

/// A part file's name: [`builder`]'s, with `.part`.
pub(crate) fn part_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = builder();
    builder.suffix(PART);
    builder
}

/// What a name in an output folder is, by its shape.
#[derive(Debug, PartialEq, Eq)]
enum Made {
    Folder,
    Part,
}

/// Whether `name` is one the driver gives its temporary folders or files.
fn made(name: &OsStr) -> Option<Made> {
    let rest = name.to_str()?.strip_prefix(TEMP_PREFIX)?;
    let random = |s: &str| s.len() == TEMP_RANDOM && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if random(rest) {
        Some(Made::Folder)
    } else if rest.strip_suffix(PART).is_some_and(random) {
        Some(Made::Part)
    } else {
        None
    }
}

/// Removes the staging folders and part files in `out_dir` that runs which
/// were killed left behind, and nothing else: see the module's docs. Never
/// follows a link. Best effort: what cannot be removed stays.
pub(crate) fn sweep(out_dir: &Path) {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(made) = made(&entry.file_name()) else {
            continue;
        };
        // The entry's own type: a link is a link, not what it points to.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        match made {
            Made::Folder if kind.is_dir() => remove_staging(&path),
            Made::Part if kind.is_file() => {
                let _ = fs::remove_file(&path);
            }
            Made::Folder | Made::Part => {}
        }
    }
}

/// Removes the staging folder `dir` if it holds an unlocked marker.
fn remove_staging(dir: &Path) {
    let Ok(marker) = open_regular(OpenOptions::new().read(true), &dir.join(MARKER)) else {
        return;
    };
    if marker.try_lock().is_ok() {
        // remove_dir_all follows no link inside the folder either.
        let _ = fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_the_drivers_own_names_are_taken_for_its_temporary_files() {
        let random = "a".repeat(TEMP_RANDOM);
        assert_eq!(
            made(OsStr::new(&format!("{TEMP_PREFIX}{random}"))),
            Some(Made::Folder)
        );
        assert_eq!(
            made(OsStr::new(&format!("{TEMP_PREFIX}{random}.part"))),
            Some(Made::Part)
        );
        for name in [
            ".sarvam-doc",
            ".sarvam-doc-backup",
            ".sarvam-doc-notes.txt",
            ".sarvam-doc-abcdef",
            &format!("{TEMP_PREFIX}{random}x"),
            &format!("{TEMP_PREFIX}{}", "a".repeat(TEMP_RANDOM - 1)),
            &format!("{TEMP_PREFIX}{}-", "a".repeat(TEMP_RANDOM - 1)),
            &format!("{TEMP_PREFIX}{random}.txt"),
        ] {
            assert_eq!(made(OsStr::new(name)), None, "{name}");
        }
    }

    #[test]
    fn the_sweep_removes_only_marked_staging_folders_and_part_files() {
        let out = tempdir();
        let outside = tempdir();
        let dir = out.path();
        // The user's own.
        fs::create_dir(dir.join(".sarvam-doc-backup")).unwrap_or_else(|e| panic!("{e}"));
        fs::write(dir.join(".sarvam-doc-backup/journal.jsonl"), b"x")
            .unwrap_or_else(|e| panic!("{e}"));
        fs::write(dir.join(".sarvam-doc-notes.txt"), b"notes").unwrap_or_else(|e| panic!("{e}"));
        // Our name, but no marker.
        let unmarked = dir.join(format!("{TEMP_PREFIX}{}", "u".repeat(TEMP_RANDOM)));
        fs::create_dir(&unmarked).unwrap_or_else(|e| panic!("{e}"));
        // Our name, a link to a folder outside with a marker in it.
        fs::write(outside.path().join(MARKER), b"").unwrap_or_else(|e| panic!("{e}"));
        fs::write(outside.path().join("keep"), b"keep").unwrap_or_else(|e| panic!("{e}"));
        let link = dir.join(format!("{TEMP_PREFIX}{}", "l".repeat(TEMP_RANDOM)));
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path(), &link).unwrap_or_else(|e| panic!("{e}"));
        // Ours, left by a killed run: a staging folder and a part file.
        let left = Staging::new(dir).unwrap_or_else(|e| panic!("{e}"));
        let left_path = left.path().to_owned();
        fs::write(left_path.join("doc.zip"), b"zip").unwrap_or_else(|e| panic!("{e}"));
        std::mem::forget(left);
        let part = part_builder()
            .tempfile_in(dir)
            .unwrap_or_else(|e| panic!("{e}"));
        let (_, part_path) = part.keep().unwrap_or_else(|e| panic!("{e}"));

        // The forgotten marker's handle still holds its lock in this
        // process; a killed run's would not. Release it the way death does.
        release(&left_path);
        sweep(dir);

        assert!(!left_path.exists(), "the killed run's staging folder");
        assert!(!part_path.exists(), "the killed run's part file");
        assert!(dir.join(".sarvam-doc-backup/journal.jsonl").exists());
        assert!(dir.join(".sarvam-doc-notes.txt").exists());
        assert!(unmarked.exists(), "a folder without the marker stays");
        #[cfg(unix)]
        {
            assert!(fs::symlink_metadata(&link).is_ok(), "the link stays");
            assert!(outside.path().join("keep").exists());
            assert!(outside.path().join(MARKER).exists());
        }
    }

    /// Replaces the marker in `dir` by an unlocked copy, as a killed
    /// process's marker is.
    fn release(dir: &Path) {
        let marker = dir.join(MARKER);
        fs::remove_file(&marker).unwrap_or_else(|e| panic!("{e}"));
        fs::write(&marker, b"").unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_staging_folder_its_run_still_holds_is_left_alone() {
        let out = tempdir();
        let live = Staging::new(out.path()).unwrap_or_else(|e| panic!("{e}"));
        sweep(out.path());
        assert!(live.path().join(MARKER).exists());
        let path = live.path().to_owned();
        drop(live);
        assert!(!path.exists(), "removed when its run ends");
    }
}
