//! The state folder of an output folder, `OUT/.sarvam-doc/`: its lock and
//! its journal `journal.jsonl`, one JSON record a line, each written and
//! synced to disk before the step it announces is sent. What the records
//! mean, and what a rerun does about them, is the core's
//! ([`sarvam_doc_core::journal`]).
//!
//! The state folder is input, and hostile: whoever can write in the output
//! folder can put anything there. So it must be a real folder (not a link);
//! its files are opened without following links, without blocking (a FIFO),
//! and used only if they are regular files; every read is bounded
//! ([`MAX_LINE`], [`MAX_JOURNAL`]); a line cut by a crash is trimmed before
//! anything is appended; and any other line that is not a record is an
//! error, never skipped (a forgotten job id would be paid for twice).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sarvam_doc_core::journal::{Journal, Record};
use sarvam_doc_core::time::OffsetDateTime;
use sarvam_doc_core::time::format_description::well_known::Rfc3339;

/// The folder, inside an output folder, that holds its journal and lock.
pub const STATE_DIR: &str = ".sarvam-doc";

/// The journal's file name, inside [`STATE_DIR`].
pub const JOURNAL: &str = "journal.jsonl";

/// The lock's file name, inside [`STATE_DIR`].
pub const LOCK: &str = "lock";

/// The longest line a journal may hold, 64 KiB, newline excluded: a record
/// is a few hundred bytes (paths, a job id, a reason in a line). A longer
/// line is refused when read, and a longer record (a very long reason) is
/// shortened, or refused, before it is written.
pub const MAX_LINE: usize = 64 * 1024;

/// The largest journal that is read, 256 MiB: some hundred thousand inputs'
/// records. A larger one is refused before a byte of it is read.
pub const MAX_JOURNAL: u64 = 256 * 1024 * 1024;

/// The lock of an output folder: while one is held, no other `sarvam-doc`
/// (a run, a download, a wait with `--out`) may use the folder. Dropping it
/// unlocks the folder.
#[derive(Debug)]
pub struct FolderLock {
    state: PathBuf,
    _file: File,
}

impl FolderLock {
    /// Takes the lock of `out_dir` (which must exist), making its state
    /// folder if it has none, then removes the staging folders and part
    /// files that killed runs left behind: under the lock, no live run is
    /// using them.
    ///
    /// # Errors
    /// Another process holds the lock; the state folder is not a real
    /// folder, or the lock file not a regular file (a link, a FIFO, …); or
    /// the folder cannot be written.
    pub fn take(out_dir: &Path) -> io::Result<FolderLock> {
        let state = state_dir(out_dir, true)?.ok_or_else(|| {
            refused(
                &out_dir.join(STATE_DIR),
                "was removed while it was being made",
            )
        })?;
        let path = state.join(LOCK);
        // Read and write: a FIFO then opens at once (and is refused as one)
        // rather than failing for want of a reader.
        let file = open_regular(
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true),
            &path,
        )?;
        if let Err(e) = file.try_lock() {
            return Err(match e {
                fs::TryLockError::WouldBlock => io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    format!(
                        "another sarvam-doc run is using {}: wait for it to end, or choose another output folder",
                        out_dir.display()
                    ),
                ),
                fs::TryLockError::Error(e) => with_path(&path, e),
            });
        }
        crate::staging::sweep(out_dir);
        Ok(FolderLock { state, _file: file })
    }
}

/// The journal of an output folder, held open for writing. While it is
/// open, no other run may use the folder: a second one is refused. Cheap to
/// clone: clones share the file and the lock.
#[derive(Clone, Debug)]
pub struct JournalFile {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    file: Mutex<File>,
    // Held for the journal's life: dropping the last clone unlocks the folder.
    _lock: FolderLock,
}

/// One line as written: when, and the record.
#[derive(serde::Serialize)]
struct Line<'a> {
    at: String,
    #[serde(flatten)]
    record: &'a Record,
}

/// How a journal ends.
#[derive(Debug, PartialEq, Eq)]
enum Tail {
    /// With a newline (or empty): the next record starts a line.
    Ended,
    /// With a whole record but no newline: end it before appending.
    Unended,
    /// With a line cut short (a crash, a full disk): it is dropped; keep
    /// the file up to this offset, the end of its last whole line.
    Cut { keep: u64 },
}

impl JournalFile {
    /// Opens (or starts) the journal of `out_dir`, locking the folder (see
    /// [`FolderLock::take`]), and reads what it holds. A last line cut short
    /// is trimmed from the file, and a last record without its newline is
    /// ended, before anything is appended.
    ///
    /// # Errors
    /// As [`FolderLock::take`]; or the journal is not a regular file (a
    /// link, a FIFO, a device), is over [`MAX_JOURNAL`] bytes, has a line
    /// over [`MAX_LINE`] bytes or a line before the last that is not a
    /// record, or cannot be read or written.
    pub fn open(out_dir: &Path) -> io::Result<(JournalFile, Journal)> {
        let lock = FolderLock::take(out_dir)?;
        let path = lock.state.join(JOURNAL);
        let existed = fs::symlink_metadata(&path).is_ok();
        let mut file = open_regular(
            OpenOptions::new().read(true).append(true).create(true),
            &path,
        )?;
        let (records, tail) = read(&file, &path)?;
        match tail {
            Tail::Ended => {}
            Tail::Unended => {
                file.write_all(b"\n")
                    .and_then(|()| file.sync_data())
                    .map_err(|e| with_path(&path, e))?;
            }
            Tail::Cut { keep } => {
                file.set_len(keep)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| with_path(&path, e))?;
            }
        }
        if !existed {
            // The new file's name must survive a crash too.
            sync_dir(&lock.state)?;
        }
        let journal = Journal::from_records(&records);
        let inner = Inner {
            path,
            file: Mutex::new(file),
            _lock: lock,
        };
        Ok((
            JournalFile {
                inner: Arc::new(inner),
            },
            journal,
        ))
    }

    /// What the journal of `out_dir` holds, read without taking the folder
    /// or writing anything (none if it has none): for plans and dry runs.
    /// A last line cut short is left out, as [`JournalFile::open`] would
    /// trim it.
    ///
    /// # Errors
    /// As [`JournalFile::open`], but for the lock.
    pub fn peek(out_dir: &Path) -> io::Result<Journal> {
        let Some(state) = state_dir(out_dir, false)? else {
            return Ok(Journal::default());
        };
        let path = state.join(JOURNAL);
        let file = match open_regular(OpenOptions::new().read(true), &path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Journal::default()),
            Err(e) => return Err(e),
        };
        let (records, _) = read(&file, &path)?;
        Ok(Journal::from_records(&records))
    }

    /// Where the journal is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Appends `record` and syncs it to disk. A record whose line would be
    /// over [`MAX_LINE`] has its reason shortened, if it has one.
    ///
    /// # Errors
    /// The journal cannot be written, or the record is over [`MAX_LINE`]
    /// bytes with no reason to shorten: the run must stop, since a job id it
    /// could not write down would be lost.
    pub fn append(&self, record: &Record) -> io::Result<()> {
        let at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        let mut line = encode(&Line { at, record })?;
        line.push(b'\n');
        let mut file = self
            .inner
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(&line)?;
        file.sync_data()
    }
}

/// The line of `line`, without its newline, at most [`MAX_LINE`] bytes: a
/// reason too long for it is cut (at a character) until it fits.
fn encode(line: &Line<'_>) -> io::Result<Vec<u8>> {
    let bytes = serde_json::to_vec(line).map_err(io::Error::other)?;
    if bytes.len() <= MAX_LINE {
        return Ok(bytes);
    }
    let mut value = serde_json::to_value(line).map_err(io::Error::other)?;
    while let Some(serde_json::Value::String(reason)) = value.get_mut("reason") {
        if reason.is_empty() {
            break;
        }
        let mut cut = reason.len() / 2;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push('…');
        let bytes = serde_json::to_vec(&value).map_err(io::Error::other)?;
        if bytes.len() <= MAX_LINE {
            return Ok(bytes);
        }
        if cut == 0 {
            break;
        }
    }
    Err(io::Error::other(format!(
        "a journal record is over {MAX_LINE} bytes (the limit of a line), so it cannot be written down"
    )))
}

/// The records of the open journal `file` (at `path`), and how it ends.
/// Reads at most [`MAX_JOURNAL`] bytes, a line at most [`MAX_LINE`].
fn read(file: &File, path: &Path) -> io::Result<(Vec<Record>, Tail)> {
    let too_big = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the journal {} is over {MAX_JOURNAL} bytes: move it aside (this folder's earlier jobs are then forgotten) or choose another output folder",
                path.display()
            ),
        )
    };
    if file.metadata().map_err(|e| with_path(path, e))?.len() > MAX_JOURNAL {
        return Err(too_big());
    }
    let mut reader = BufReader::new(file.take(MAX_JOURNAL + 1));
    let mut records = Vec::new();
    let mut line = Vec::new();
    let mut offset: u64 = 0;
    let mut number: usize = 0;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| with_path(path, e))?;
        if n == 0 {
            return Ok((records, Tail::Ended));
        }
        number += 1;
        if offset + n as u64 > MAX_JOURNAL {
            return Err(too_big());
        }
        let Some(text) = line.strip_suffix(b"\n") else {
            if n > MAX_LINE {
                return Err(bad_line(path, number, format!("is over {MAX_LINE} bytes")));
            }
            // The end of the file, without a newline: a record whose
            // newline was not written, or a line cut short.
            return Ok(match serde_json::from_slice::<Record>(&line) {
                Ok(record) => {
                    records.push(record);
                    (records, Tail::Unended)
                }
                Err(_) => (records, Tail::Cut { keep: offset }),
            });
        };
        offset += n as u64;
        if text.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(text) {
            Ok(record) => records.push(record),
            Err(e) => {
                return Err(bad_line(
                    path,
                    number,
                    format!("is not a journal record (column {})", e.column()),
                ));
            }
        }
    }
}

/// The error for line `number` of the journal at `path`.
fn bad_line(path: &Path, number: usize, what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "line {number} of the journal {} {what}: remove or fix it (a job id it holds would otherwise be forgotten, and its input paid for again)",
            path.display()
        ),
    )
}

/// The state folder of `out_dir`, made if `create` and missing: it must be
/// a real folder, not a link (to anywhere) nor anything else. `None` if it
/// does not exist and `create` is false.
fn state_dir(out_dir: &Path, create: bool) -> io::Result<Option<PathBuf>> {
    let state = out_dir.join(STATE_DIR);
    match fs::symlink_metadata(&state) {
        Ok(meta) if meta.is_dir() => Ok(Some(state)),
        Ok(meta) if meta.file_type().is_symlink() => Err(refused(
            &state,
            "is a symbolic link, which sarvam-doc does not follow",
        )),
        Ok(_) => Err(refused(&state, "is not a folder")),
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
            // create_dir makes the last component itself: it never follows
            // a link there (a dangling one is "exists").
            match fs::create_dir(&state) {
                Ok(()) => sync_dir(out_dir)?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return state_dir(out_dir, false);
                }
                Err(e) => return Err(with_path(&state, e)),
            }
            Ok(Some(state))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(with_path(&state, e)),
    }
}

/// Opens the file at `path` as `options` say, but never through a link
/// (the last component) and never blocking on a FIFO, and only if it is a
/// regular file. A missing file stays a [`io::ErrorKind::NotFound`].
pub(crate) fn open_regular(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NOFOLLOW | libc::O_NONBLOCK);
    let is_link = || fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    #[cfg(not(unix))]
    if is_link() {
        return Err(refused(
            path,
            "is a symbolic link, which sarvam-doc does not follow",
        ));
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(_) if is_link() => {
            return Err(refused(
                path,
                "is a symbolic link, which sarvam-doc does not follow",
            ));
        }
        Err(e) => return Err(with_path(path, e)),
    };
    let meta = file.metadata().map_err(|e| with_path(path, e))?;
    if !meta.is_file() {
        return Err(refused(
            path,
            "is not a regular file (a FIFO, a device or a folder)",
        ));
    }
    // A hard link is a file outside the folder too: appending (or trimming a
    // cut last line) would change it wherever else it is.
    #[cfg(unix)]
    if std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} has other hard links (it is also a file elsewhere, which writing it would \
                 change): make it a file of its own (`cp` it to a new name and move that over \
                 it), remove it, or choose another output folder",
                path.display()
            ),
        ));
    }
    Ok(file)
}

/// The error for a state file or folder at `path` that sarvam-doc will not
/// use, saying what it is.
fn refused(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} {what}: remove it (sarvam-doc keeps its journal and lock there), or choose another output folder",
            path.display()
        ),
    )
}

/// `e`, naming `path`, of the same kind.
fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Syncs the folder `dir`, so that a name just made in it survives a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(dir, e))
}

#[cfg(test)]
mod tests;
