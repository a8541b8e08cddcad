//! The journal file of an output folder: `OUT/.sarvam-doc/journal.jsonl`,
//! one JSON record a line, each written and synced to disk before the step
//! it announces is sent. What the records mean, and what a rerun does about
//! them, is the core's ([`sarvam_doc_core::journal`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sarvam_doc_core::journal::{Journal, Record};
use sarvam_doc_core::time::OffsetDateTime;
use sarvam_doc_core::time::format_description::well_known::Rfc3339;

/// The folder, inside an output folder, that holds its journal and lock.
pub const STATE_DIR: &str = ".sarvam-doc";

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
    _lock: File,
}

/// One line as written: when, and the record.
#[derive(serde::Serialize)]
struct Line<'a> {
    at: String,
    #[serde(flatten)]
    record: &'a Record,
}

impl JournalFile {
    /// Opens (or starts) the journal of `out_dir`, locking the folder, and
    /// reads what it holds. Staging folders a killed run left behind are
    /// removed (they hold nothing published).
    ///
    /// # Errors
    /// The folder cannot be written, another run holds it, or the journal
    /// cannot be read.
    pub fn open(out_dir: &Path) -> io::Result<(JournalFile, Journal)> {
        let state = out_dir.join(STATE_DIR);
        fs::create_dir_all(&state)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(state.join("lock"))?;
        if let Err(e) = lock.try_lock() {
            return Err(match e {
                fs::TryLockError::WouldBlock => io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    format!(
                        "another sarvam-doc run is using {}: wait for it to end, or choose another output folder",
                        out_dir.display()
                    ),
                ),
                fs::TryLockError::Error(e) => e,
            });
        }
        sweep(out_dir);
        let path = state.join("journal.jsonl");
        let records = read(&path)?;
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if !existed {
            // The new file's name must survive a crash too.
            File::open(&state)?.sync_all()?;
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
    ///
    /// # Errors
    /// The journal exists but cannot be read.
    pub fn peek(out_dir: &Path) -> io::Result<Journal> {
        let records = read(&out_dir.join(STATE_DIR).join("journal.jsonl"))?;
        Ok(Journal::from_records(&records))
    }

    /// Where the journal is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Appends `record` and syncs it to disk.
    ///
    /// # Errors
    /// The journal cannot be written: the run must stop, since a job id it
    /// could not write down would be lost.
    pub fn append(&self, record: &Record) -> io::Result<()> {
        let at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        let mut line = serde_json::to_vec(&Line { at, record }).map_err(io::Error::other)?;
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

/// The records of the journal at `path` (none if there is none). A last
/// line cut short by a crash is dropped; any other unreadable line is
/// skipped.
fn read(path: &Path) -> io::Result<Vec<Record>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if let Ok(record) = serde_json::from_slice::<Record>(&line) {
            records.push(record);
        }
    }
    Ok(records)
}

/// Removes the staging folders and part files of runs that were killed:
/// under the lock, no run is using them.
fn sweep(out_dir: &Path) {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(crate::TEMP_PREFIX) {
            let path = entry.path();
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sarvam_doc_core::journal::{Identity, OnDisk, Plan, Rerun};

    #[test]
    fn records_survive_a_reopen_and_a_torn_last_line() {
        let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let input = Identity::new("a.pdf", 1, "00", "legacy:hi-IN:md");
        {
            let (journal, _) = JournalFile::open(out.path()).unwrap_or_else(|e| panic!("{e}"));
            journal
                .append(&Record::Input {
                    input: input.clone(),
                    folder: "a".into(),
                })
                .unwrap_or_else(|e| panic!("{e}"));
            journal
                .append(&Record::Creating {
                    path: "a.pdf".into(),
                })
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // A crash in the middle of a line.
        let path = out.path().join(STATE_DIR).join("journal.jsonl");
        let mut f = OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{e}"));
        f.write_all(br#"{"at":"x","event":"created","path":"a.p"#)
            .unwrap_or_else(|e| panic!("{e}"));
        // A staging folder left behind.
        fs::create_dir(out.path().join(".sarvam-doc-abc")).unwrap_or_else(|e| panic!("{e}"));
        let (_journal, recovered) = JournalFile::open(out.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            recovered.plan(&input, "a", &OnDisk::default(), Rerun::default()),
            Ok(Plan::New { replaces: None })
        );
        assert!(!out.path().join(".sarvam-doc-abc").exists());
        assert!(
            out.path().join(STATE_DIR).exists(),
            "the journal's own folder stays"
        );
    }

    #[test]
    fn a_second_run_on_the_same_folder_is_refused() {
        let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _first = JournalFile::open(out.path()).unwrap_or_else(|e| panic!("{e}"));
        let second = JournalFile::open(out.path());
        assert!(matches!(second, Err(ref e) if e.to_string().contains("another sarvam-doc run")));
    }
}
