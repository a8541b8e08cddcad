//! The driver's half of stitching (the plan is the core's,
//! [`sarvam_doc_core::split`]): listing what each chunk's job left in its
//! folder, copying it under its new name into a new folder, and writing the
//! merged document. Everything here reads folders sarvam-doc made inside
//! the output folder, which is hostile too: no link is followed, only
//! regular files are read, every read and every listing is bounded.
//! Blocking: run it off the async threads.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sarvam_doc_core::split::{ChunkFiles, ChunkPlan, Part, Section, Stitch, merge_document};

use crate::journal::open_regular;
use crate::unpack::MANIFEST;

/// The deepest a listing goes into an output folder.
const MAX_DEPTH: usize = 8;

/// The files under `dir`, by their names relative to it (`/` between
/// folders), sorted: regular files only, in real folders only (a link is
/// skipped, never followed), at most `max` of them.
///
/// # Errors
/// `dir` cannot be read, or holds more than `max` files.
pub(crate) fn list_files(dir: &Path, max: usize) -> io::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut folders = vec![(dir.to_owned(), String::new(), 0usize)];
    while let Some((path, prefix, depth)) = folders.pop() {
        for entry in fs::read_dir(&path)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let kind = entry.file_type()?;
            let relative = format!("{prefix}{name}");
            if kind.is_dir() && depth < MAX_DEPTH {
                folders.push((entry.path(), format!("{relative}/"), depth + 1));
            } else if kind.is_file() {
                if found.len() == max {
                    return Err(io::Error::other(format!(
                        "{} holds more than {max} files, the most an output may have",
                        dir.display()
                    )));
                }
                found.push(relative);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The bytes of the regular file at `path`, at most `max` of them.
///
/// # Errors
/// It is not a regular file, cannot be read, or is larger than `max`.
pub(crate) fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(OpenOptions::new().read(true), path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::other(format!(
            "{} is over {max} bytes, the most an output may have (--max-unpacked raises it)",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Copies the regular file `from` to the new file `to` (making its folders),
/// at most `max` bytes; returns how many it copied.
fn copy_bounded(from: &Path, to: &Path, max: u64) -> io::Result<u64> {
    let file = open_regular(OpenOptions::new().read(true), from)?;
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut out = File::create_new(to)?;
    let copied = io::copy(&mut file.take(max + 1), &mut out)?;
    if copied > max {
        return Err(io::Error::other(format!(
            "{} is over {max} bytes, the most an output may have (--max-unpacked raises it)",
            from.display()
        )));
    }
    out.sync_all()?;
    Ok(copied)
}

/// Writes `bytes` to the new file `path`, synced.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut out = File::create_new(path)?;
    out.write_all(bytes)?;
    out.sync_all()
}

/// Syncs the folder `dir`, so the names in it are on disk.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The merged document of `stitch`, its parts read from `folder_of` each
/// chunk (at most `max` bytes a file), written as a new file into `into`.
fn write_document(
    stitch: &Stitch,
    folder_of: impl Fn(usize) -> Option<PathBuf>,
    into: &Path,
    max: u64,
) -> io::Result<()> {
    let Some(name) = &stitch.document else {
        return Ok(());
    };
    let ext = name.rsplit_once('.').map_or("md", |(_, ext)| ext);
    let mut texts: Vec<Vec<u8>> = Vec::new();
    let mut left = max;
    for part in &stitch.parts {
        if let Part::Read { chunk, name } = part {
            let folder = folder_of(*chunk).ok_or_else(|| {
                io::Error::other(
                    "a chunk's outputs went missing while they were stitched: run again",
                )
            })?;
            // One budget for the whole document, as for a job's outputs.
            let text = read_bounded(&folder.join(name), left)?;
            left -= text.len() as u64;
            texts.push(text);
        }
    }
    let mut read = texts.iter();
    let sections: Vec<Section<'_>> = stitch
        .parts
        .iter()
        .filter_map(|part| match part {
            Part::Read { .. } => read.next().map(|t| Section::Text(t)),
            Part::Gap { first, last } => Some(Section::Gap {
                first: *first,
                last: *last,
            }),
        })
        .collect();
    write_synced(&into.join(name), &merge_document(ext, &sections))
}

/// Adds the merged document to `dir`, the unpacked outputs of one job over
/// a whole document of `pages` pages (from its status; else as many as its
/// page files say), unless the job made one. A job whose outputs are in no
/// document format (an extraction's) gets none.
///
/// # Errors
/// A file cannot be listed, read or written.
pub(crate) fn add_document(
    dir: &Path,
    pages: Option<u32>,
    max: u64,
    max_files: usize,
) -> io::Result<()> {
    let files: Vec<String> = list_files(dir, max_files)?
        .into_iter()
        .filter(|f| f != MANIFEST)
        .collect();
    let numbered = files
        .iter()
        .filter_map(|f| sarvam_doc_core::split::page_number(f))
        .filter(|(before, _, _)| before.is_empty())
        .map(|(_, n, _)| n)
        .max();
    let Some(pages) = pages.filter(|p| *p > 0).or(numbered) else {
        return Ok(());
    };
    let pages = pages.max(numbered.unwrap_or(0));
    let Ok(plan) = ChunkPlan::new(pages, pages) else {
        return Ok(());
    };
    let stitch = plan.stitch(&[Some(ChunkFiles {
        files: files.clone(),
        failed_pages: Vec::new(),
    })]);
    match &stitch.document {
        Some(name) if !files.contains(name) => {
            write_document(&stitch, |_| Some(dir.to_owned()), dir, max)
        }
        _ => Ok(()),
    }
}

/// Builds, in the new folder `into`, the stitched outputs of `plan`'s
/// chunks: each chunk's folder and failed pages (numbered in the chunk), or
/// `None` for a chunk that brought nothing. Returns the stitch it made.
///
/// # Errors
/// A chunk's folder cannot be listed, a file cannot be read or written, or
/// one is over `max` bytes.
pub(crate) fn stitch_into(
    plan: &ChunkPlan,
    chunks: &[Option<(PathBuf, Vec<u32>)>],
    into: &Path,
    max: u64,
    max_files: usize,
) -> io::Result<Stitch> {
    let mut outputs = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        outputs.push(match chunk {
            Some((folder, failed)) => Some(ChunkFiles {
                files: list_files(folder, max_files)?,
                failed_pages: failed.clone(),
            }),
            None => None,
        });
    }
    let stitch = plan.stitch(&outputs);
    let folder_of = |i: usize| chunks.get(i)?.as_ref().map(|(f, _)| f.clone());
    fs::create_dir_all(into)?;
    // One budget for all the stitched folder holds, as for a job's outputs.
    let mut left = max;
    for copy in &stitch.copies {
        let from = folder_of(copy.chunk).ok_or_else(|| {
            io::Error::other("a chunk's outputs went missing while they were stitched: run again")
        })?;
        left -= copy_bounded(&from.join(&copy.from), &into.join(&copy.to), left)?;
    }
    write_document(&stitch, folder_of, into, max)?;
    Ok(stitch)
}

/// Makes the folder `path` if it is not there, and checks it is a real
/// folder (not a link to one), as every folder sarvam-doc makes inside the
/// state folder must be.
///
/// # Errors
/// It cannot be made, or something else is in its place.
pub(crate) fn real_dir(path: &Path) -> io::Result<()> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(path)?;
            if meta.is_dir() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} is not a folder sarvam-doc made (a link or a file is in its place): \
                         remove it and run again",
                        path.display()
                    ),
                ))
            }
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot make {}: {e}", path.display()),
        )),
    }
}
