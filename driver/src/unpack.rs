//! Unpacking an output ZIP under the core's rules, and publishing the pages
//! in one rename.
//!
//! Everything happens inside the run's staging folder (a temporary folder in
//! the output folder); the only change outside it is the final rename of a
//! finished folder into place. An interrupted unpack stops at the next
//! entry or chunk, and the staging folder goes with it.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sarvam_doc_core::output::{
    END_RECORD_TAIL, EndRecord, EntryKind, Unpack, UnpackError, UnpackLimits, ZIP64_END_RECORD_LEN,
    end_record, zip64_entries,
};

/// The name of the manifest in each output folder.
pub const MANIFEST: &str = "sarvam-doc-manifest.json";

/// How an unpack ended.
#[derive(Debug)]
pub(crate) enum Unpacked {
    /// The pages are in place.
    Published,
    /// The archive was refused; the downloads are in place instead, whole,
    /// in the target folder.
    Refused { raw: PathBuf, error: UnpackError },
    /// A file could not be written.
    Failed { path: PathBuf, error: io::Error },
    /// Interrupted: nothing was published.
    Cancelled,
}

/// Set when the run that asked for an unpack is dropped (Ctrl-C): the
/// unpack stops at its next entry or chunk.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Cancels on drop, unless disarmed.
pub(crate) struct CancelOnDrop(pub(crate) Option<Cancel>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(cancel) = self.0.take() {
            cancel.cancel();
        }
    }
}

enum Stop {
    Refused(UnpackError),
    Io(PathBuf, io::Error),
    Cancelled,
}

/// Unpacks `zips` (in `staging`) into a new folder and renames it to
/// `target`; if the archive is refused, publishes the downloads whole
/// instead. Runs as blocking work.
pub(crate) fn unpack_and_publish(
    zips: &[PathBuf],
    staging: &Path,
    target: &Path,
    overwrite: bool,
    limits: UnpackLimits,
    manifest: &serde_json::Value,
    cancel: &Cancel,
) -> Unpacked {
    let pages = staging.join("pages");
    let unpacked = unpack_all(zips, &pages, limits, cancel).and_then(|()| {
        // Every output folder looks alike: a whole job's pages get the
        // merged document a long input's stitch has.
        let total = manifest["pages"]["total"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok());
        let max_files = usize::try_from(limits.max_entries).unwrap_or(usize::MAX);
        crate::stitch::add_document(&pages, total, limits.max_total_bytes, max_files)
            .map_err(|e| Stop::Io(pages.clone(), e))?;
        write_manifest(&pages, manifest, None).map_err(|e| Stop::Io(pages.clone(), e))
    });
    match unpacked {
        Ok(()) => match publish(&pages, staging, target, overwrite) {
            Ok(()) => Unpacked::Published,
            Err(error) => Unpacked::Failed {
                path: target.to_owned(),
                error,
            },
        },
        Err(Stop::Cancelled) => Unpacked::Cancelled,
        Err(Stop::Io(path, error)) => Unpacked::Failed { path, error },
        Err(Stop::Refused(error)) => {
            // Keep what was paid for: the downloads, whole, where the pages would be.
            let raw_dir = staging.join("raw");
            let kept = fs::create_dir(&raw_dir).and_then(|()| {
                for zip in zips {
                    if let Some(name) = zip.file_name() {
                        // A file already moved into the pages is kept from there.
                        let from = if fs::symlink_metadata(zip).is_ok() {
                            zip.clone()
                        } else {
                            pages.join(name)
                        };
                        fs::rename(from, raw_dir.join(name))?;
                    }
                }
                write_manifest(&raw_dir, manifest, Some(&error.to_string()))?;
                publish(&raw_dir, staging, target, overwrite)
            });
            match kept {
                Ok(()) => {
                    // The download the refusal is about: the first archive
                    // (an extraction's results.json comes first, and is fine).
                    let refused = zips
                        .iter()
                        .find(|z| {
                            z.file_name().is_some_and(|n| {
                                sarvam_doc_core::output::is_archive(&n.to_string_lossy())
                            })
                        })
                        .or(zips.first());
                    let first = refused
                        .and_then(|z| z.file_name())
                        .map_or_else(|| target.to_owned(), |n| target.join(n));
                    Unpacked::Refused { raw: first, error }
                }
                Err(e) => Unpacked::Failed {
                    path: target.to_owned(),
                    error: e,
                },
            }
        }
    }
}

/// Writes the manifest into `dir`, saying why the output was refused if it was.
fn write_manifest(
    dir: &Path,
    manifest: &serde_json::Value,
    refused: Option<&str>,
) -> io::Result<()> {
    let mut manifest = manifest.clone();
    if let (Some(why), Some(obj)) = (refused, manifest.as_object_mut()) {
        obj.insert("refused".into(), serde_json::Value::from(why));
    }
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    let mut file = File::create_new(dir.join(MANIFEST))?;
    file.write_all(&bytes)?;
    file.sync_all()
}

fn unpack_all(
    zips: &[PathBuf],
    pages: &Path,
    limits: UnpackLimits,
    cancel: &Cancel,
) -> Result<(), Stop> {
    fs::create_dir(pages).map_err(|e| Stop::Io(pages.to_owned(), e))?;
    let mut plan = Unpack::new(limits);
    plan.reserve(MANIFEST);
    let named = zips.iter().map(|zip| {
        let name = zip
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let archive = sarvam_doc_core::output::is_archive(&name);
        (zip, name, archive)
    });
    // Every archive first: a refused one leaves every download where it
    // was, to be kept whole; only then are the other files moved in.
    for (zip, _, _) in named.clone().filter(|(_, _, archive)| *archive) {
        unpack_one(zip, pages, &mut plan, limits, cancel)?;
    }
    for (zip, name, _) in named.filter(|(_, _, archive)| !*archive) {
        place_one(zip, &name, pages, &mut plan)?;
    }
    Ok(())
}

/// Moves an output that is not an archive into the pages as it is, under
/// the same naming and size rules as an entry.
fn place_one(file: &Path, name: &str, pages: &Path, plan: &mut Unpack) -> Result<(), Stop> {
    let len = fs::metadata(file)
        .map_err(|e| Stop::Io(file.to_owned(), e))?
        .len();
    let Some(parts) = plan
        .entry(name, EntryKind::File, len, len)
        .map_err(Stop::Refused)?
    else {
        return Ok(());
    };
    plan.wrote(len).map_err(Stop::Refused)?;
    let path = parts.iter().fold(pages.to_owned(), |p, part| p.join(part));
    fs::rename(file, &path).map_err(|e| Stop::Io(path, e))
}

fn unpack_one(
    zip: &Path,
    pages: &Path,
    plan: &mut Unpack,
    limits: UnpackLimits,
    cancel: &Cancel,
) -> Result<(), Stop> {
    let io = |e| Stop::Io(zip.to_owned(), e);
    let mut file = File::open(zip).map_err(io)?;
    // Count the entries from the end record before the reader indexes them
    // all: a million empty entries must not cost a million allocations.
    if let Some(count) = declared_entries(&mut file).map_err(io)? {
        limits
            .check_declared_entries(count)
            .map_err(Stop::Refused)?;
    }
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        Stop::Refused(UnpackError::NotAZip {
            detail: e.to_string(),
        })
    })?;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..archive.len() {
        if cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let mut entry = archive.by_index(i).map_err(|e| {
            Stop::Refused(UnpackError::NotAZip {
                detail: e.to_string(),
            })
        })?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let kind = if entry.is_symlink() {
            EntryKind::Link
        } else if entry.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        let Some(parts) = plan
            .entry(&name, kind, entry.size(), entry.compressed_size())
            .map_err(Stop::Refused)?
        else {
            continue;
        };
        let path = parts.iter().fold(pages.to_owned(), |p, part| p.join(part));
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Stop::Io(parent.to_owned(), e))?;
        }
        let mut out = File::create_new(&path).map_err(|e| Stop::Io(path.clone(), e))?;
        loop {
            if cancel.is_cancelled() {
                return Err(Stop::Cancelled);
            }
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Stop::Refused(UnpackError::NotAZip {
                        detail: format!("entry {name:?}: {e}"),
                    }));
                }
            };
            plan.wrote(n as u64).map_err(Stop::Refused)?;
            out.write_all(&buf[..n])
                .map_err(|e| Stop::Io(path.clone(), e))?;
        }
    }
    Ok(())
}

/// The entry count an archive's end record declares (ZIP64 included), if it
/// has one that can be read: the bytes are read here, the record is read by
/// the core ([`end_record`], [`zip64_entries`]).
fn declared_entries(file: &mut File) -> io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    let tail_len = len.min(END_RECORD_TAIL);
    let tail = read_at(file, len - tail_len, tail_len)?;
    let count = match end_record(&tail, len) {
        EndRecord::Entries(count) => Some(count),
        EndRecord::Zip64 { at } => zip64_entries(&read_at(file, at, ZIP64_END_RECORD_LEN)?),
        _ => None,
    };
    file.seek(SeekFrom::Start(0))?;
    Ok(count)
}

/// `len` bytes of `file` from `offset` (`len` is at most 64 KiB and a bit).
fn read_at(file: &mut File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Moves the finished folder `from` (inside `staging`) to `target`, in one
/// rename. An existing target is replaced only with `overwrite`, and then
/// first moved into `staging`, so nothing outside the staging folder is ever
/// deleted. `target` must be a plain child of the folder `staging` is in.
pub(crate) fn publish(
    from: &Path,
    staging: &Path,
    target: &Path,
    overwrite: bool,
) -> io::Result<()> {
    let absolute = |p: Option<&Path>| p.and_then(|p| std::path::absolute(p).ok());
    let plain_child = absolute(target.parent()) == absolute(staging.parent())
        && matches!(target.components().next_back(), Some(Component::Normal(_)));
    if !plain_child {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a folder of its own in the output folder",
                target.display()
            ),
        ));
    }
    if fs::symlink_metadata(target).is_ok() {
        if !overwrite {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        fs::rename(target, staging.join("replaced"))?;
    }
    fs::rename(from, target)
}

/// Moves each download from `staging` into `out_dir`, never over an existing
/// file unless `overwrite`.
pub(crate) fn publish_zips(
    zips: &[PathBuf],
    out_dir: &Path,
    overwrite: bool,
) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
    let mut placed = Vec::new();
    for zip in zips {
        let Some(name) = zip.file_name() else {
            continue;
        };
        let target = out_dir.join(name);
        if !overwrite && fs::symlink_metadata(&target).is_ok() {
            return Err((target, io::ErrorKind::AlreadyExists.into()));
        }
        fs::rename(zip, &target).map_err(|e| (target.clone(), e))?;
        placed.push(target);
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, data) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            z.write_all(data).unwrap_or_else(|e| panic!("{e}"));
        }
        z.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
    }

    fn setup(bytes: &[u8]) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
        let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let staging = out.path().join(".sarvam-doc-test");
        fs::create_dir(&staging).unwrap_or_else(|e| panic!("{e}"));
        let zip = staging.join("doc_output.zip");
        fs::write(&zip, bytes).unwrap_or_else(|e| panic!("{e}"));
        let target = out.path().join("doc");
        (out, staging, zip, target)
    }

    #[test]
    fn pages_are_published_whole_and_names_stay_inside() {
        let bytes = zip_of(&[
            ("page_001.md", b"one"),
            ("../../escape.md", b"two"),
            ("a", b"x"),
            ("a/b.md", b"y"),
        ]);
        let (out, staging, zip, target) = setup(&bytes);
        let done = unpack_and_publish(
            &[zip],
            &staging,
            &target,
            false,
            UnpackLimits::default(),
            &serde_json::json!({}),
            &Cancel::default(),
        );
        assert!(matches!(done, Unpacked::Published), "{done:?}");
        assert_eq!(
            fs::read(target.join("page_001.md")).unwrap_or_default(),
            b"one"
        );
        assert_eq!(
            fs::read(target.join("escape.md")).unwrap_or_default(),
            b"two"
        );
        assert_eq!(fs::read(target.join("a")).unwrap_or_default(), b"x");
        assert_eq!(
            fs::read(target.join("a-2").join("b.md")).unwrap_or_default(),
            b"y"
        );
        assert!(!out.path().join("escape.md").exists());
    }

    #[test]
    fn a_refused_archive_is_kept_whole_and_nothing_else_is_published() {
        let bytes = zip_of(&[("1.md", b"1"), ("2.md", b"2"), ("3.md", b"3")]);
        let (_out, staging, zip, target) = setup(&bytes);
        let limits = UnpackLimits::default().with_max_entries(2);
        let done = unpack_and_publish(
            &[zip],
            &staging,
            &target,
            false,
            limits,
            &serde_json::json!({}),
            &Cancel::default(),
        );
        let Unpacked::Refused { raw, error } = done else {
            panic!("{done:?}")
        };
        assert_eq!(error, UnpackError::TooManyEntries { limit: 2 });
        assert_eq!(fs::read(&raw).unwrap_or_default(), bytes);
        let mut names: Vec<_> = fs::read_dir(&target)
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        names.sort();
        // The raw download, and a manifest that says why it was not unpacked.
        assert_eq!(names, ["doc_output.zip", MANIFEST]);
        let manifest = fs::read_to_string(target.join(MANIFEST)).unwrap_or_default();
        assert!(manifest.contains("\"refused\""), "{manifest}");
    }

    #[test]
    fn not_a_zip_is_kept_as_downloaded() {
        let (_out, staging, zip, target) = setup(b"<html>not a zip</html>");
        let done = unpack_and_publish(
            &[zip],
            &staging,
            &target,
            false,
            UnpackLimits::default(),
            &serde_json::json!({}),
            &Cancel::default(),
        );
        assert!(
            matches!(
                done,
                Unpacked::Refused {
                    error: UnpackError::NotAZip { .. },
                    ..
                }
            ),
            "{done:?}"
        );
        assert_eq!(
            fs::read(target.join("doc_output.zip")).unwrap_or_default(),
            b"<html>not a zip</html>"
        );
    }

    #[test]
    fn an_existing_folder_is_replaced_only_when_asked_and_only_by_a_move() {
        let bytes = zip_of(&[("p.md", b"new")]);
        let (out, staging, zip, target) = setup(&bytes);
        fs::create_dir(&target).unwrap_or_else(|e| panic!("{e}"));
        fs::write(target.join("old.md"), b"old").unwrap_or_else(|e| panic!("{e}"));
        let done = unpack_and_publish(
            std::slice::from_ref(&zip),
            &staging,
            &target,
            false,
            UnpackLimits::default(),
            &serde_json::json!({}),
            &Cancel::default(),
        );
        assert!(
            matches!(done, Unpacked::Failed { ref error, .. } if error.kind() == io::ErrorKind::AlreadyExists),
            "{done:?}"
        );
        assert!(target.join("old.md").exists());
        fs::remove_dir_all(staging.join("pages")).unwrap_or_else(|e| panic!("{e}"));
        let done = unpack_and_publish(
            &[zip],
            &staging,
            &target,
            true,
            UnpackLimits::default(),
            &serde_json::json!({}),
            &Cancel::default(),
        );
        assert!(matches!(done, Unpacked::Published), "{done:?}");
        assert!(!target.join("old.md").exists());
        assert!(
            staging.join("replaced").join("old.md").exists(),
            "moved into staging, not deleted outside it"
        );
        // A target that is not a plain child of the output folder is refused.
        let outside = out.path().join("..").join("x");
        assert!(publish(&staging, &staging, &outside, true).is_err());
    }

    #[test]
    fn a_cancelled_unpack_publishes_nothing() {
        let bytes = zip_of(&[("p.md", b"x")]);
        let (_out, staging, zip, target) = setup(&bytes);
        let cancel = Cancel::default();
        cancel.cancel();
        let done = unpack_and_publish(
            &[zip],
            &staging,
            &target,
            false,
            UnpackLimits::default(),
            &serde_json::json!({}),
            &cancel,
        );
        assert!(matches!(done, Unpacked::Cancelled));
        assert!(!target.exists());
    }

    #[test]
    fn the_end_record_gives_the_entry_count_before_indexing() {
        let bytes = zip_of(&[("a", b"1"), ("b", b"2")]);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("z.zip");
        fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let mut file = File::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(declared_entries(&mut file).unwrap_or_default(), Some(2));
        fs::write(&path, b"no end record").unwrap_or_else(|e| panic!("{e}"));
        let mut file = File::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(declared_entries(&mut file).unwrap_or_default(), None);
    }
}
