//! Inputs longer than a job: planned chunk by chunk on the journal, cut
//! before anything is sent, run as jobs of their own, and stitched back
//! into the input's folder once every chunk has ended.
//!
//! Where things are, inside the output folder `OUT`, for an input whose
//! folder is `book`, cut at 10 pages:
//!
//! - `OUT/.sarvam-doc/chunks/book/pages-011-020-limit-10.pdf`: the chunk
//!   as cut (the same bytes every time), uploaded by its job;
//! - `OUT/.sarvam-doc/chunks/book/pages-011-020-limit-10/`: its job's
//!   outputs, published there as any job's are, with its manifest;
//! - `OUT/book/`: the stitch, published in one rename once every chunk has
//!   ended: a page file per original page, the merged document, the
//!   chunks' other files under `chunks/`, and a manifest listing the
//!   chunks. Once every page is in it, the chunks' folder is removed; while
//!   pages are missing it stays, so a rerun stitches again without
//!   fetching what it has.

use std::path::{Path, PathBuf};

use sarvam_doc_core::journal::{Identity, Journal, OnDisk, Plan, Record, Rerun, SplitPlan};
use sarvam_doc_core::model::DocumentKind;
use sarvam_doc_core::split::{CHUNKS_DIR, ChunkPlan, Stitch, ranges_text};
use sarvam_doc_core::time::OffsetDateTime;
use sarvam_doc_core::time::format_description::well_known::Rfc3339;
use serde_json::{Value, json};

use super::{BatchItem, BatchOptions, ChunkItem, Done, PlannedChunk, PlannedInput, Unit};
use crate::journal::JournalFile;
use crate::staging::Staging;
use crate::stitch::{real_dir, stitch_into};
use crate::transport::AsyncTransport;
use crate::unpack::{MANIFEST, publish};
use crate::{Client, RunError};

/// A long input whose chunks ran, for its stitch.
pub(crate) struct LongInput {
    pub(crate) path: PathBuf,
    pub(crate) folder: String,
    pub(crate) identity: Identity,
    pub(crate) plan: ChunkPlan,
    /// Each chunk's folder, inside the output folder, in order; then those
    /// of chunks cut at other limits in earlier runs (removed with them).
    pub(crate) chunk_folders: Vec<String>,
    /// Each chunk's cut file, inside the output folder, in the same order.
    pub(crate) chunk_files: Vec<String>,
    /// Whether its folder may be replaced: the plan found it the input's,
    /// or `--overwrite`.
    pub(crate) replace: bool,
    /// Whether the chunks' root (`.sarvam-doc/chunks`) is removed with its
    /// chunks, when empty: a batch's, which holds the folder's lock.
    pub(crate) remove_root: bool,
}

/// What a long input needs this run.
pub(super) enum Prepared {
    /// Its stitch is in place from an earlier run: nothing, and each
    /// chunk as it was done.
    Done(Vec<ChunkItem>),
    /// Its chunks to run (none, if only the stitch is missing), and what
    /// each chunk is so far.
    Run(Box<LongInput>, Vec<Unit>, Vec<ChunkItem>),
}

/// The plan an input cut into `chunks` shows as a whole: a new job if any
/// chunk needs one, else a resumed one, else the first chunk's word.
pub(super) fn summary_plan(chunks: &[PlannedChunk], folder: &str) -> Plan {
    if let Some(new) = chunks.iter().find(|c| matches!(c.plan, Plan::New { .. })) {
        return new.plan.clone();
    }
    if let Some(resume) = chunks
        .iter()
        .find(|c| matches!(c.plan, Plan::Resume { .. }))
    {
        return resume.plan.clone();
    }
    if let Some(other) = chunks
        .iter()
        .find(|c| matches!(c.plan, Plan::Failed { .. } | Plan::Unconfirmed))
    {
        return other.plan.clone();
    }
    match chunks.first().map(|c| &c.plan) {
        Some(Plan::Skip { job, .. }) => Plan::Skip {
            job: job.clone(),
            folder: folder.to_owned(),
        },
        _ => Plan::New { replaces: None },
    }
}

/// The extension of a chunk's cut file.
pub(crate) fn extension(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Zip => "zip",
        _ => "pdf",
    }
}

impl<T: AsyncTransport> Client<T> {
    /// Plans each chunk of the input `input` (cut as `cut` says, its outputs
    /// stitched into `folder`) on `journal` and what is on disk.
    pub(super) async fn plan_chunks(
        &self,
        journal: &Journal,
        input: &Identity,
        folder: &str,
        cut: &ChunkPlan,
        out_dir: &Path,
        rerun: Rerun,
    ) -> Result<(Vec<PlannedChunk>, SplitPlan), sarvam_doc_core::journal::Refusal> {
        let on_disk = self.look(out_dir, folder).await;
        let mut found: Vec<(Identity, String, OnDisk)> = Vec::with_capacity(cut.chunks().len());
        let mut limits = Vec::with_capacity(cut.chunks().len());
        for chunk in cut.chunks() {
            // Its own key, or an earlier cut's job for the very same pages.
            let (key, limit) = journal.chunk_key(input, *chunk, cut.limit());
            let identity =
                Identity::new(key, input.size, input.sha256.clone(), input.request.clone());
            let chunk_folder = chunk.folder(folder, limit);
            let on_disk = self.look(out_dir, &chunk_folder).await;
            found.push((identity, chunk_folder, on_disk));
            limits.push(limit);
        }
        let split = journal.plan_split(input, folder, &on_disk, &found, rerun)?;
        let chunks = found
            .into_iter()
            .zip(cut.chunks())
            .zip(&split.chunks)
            .zip(limits)
            .map(
                |((((identity, folder, _), chunk), plan), limit)| PlannedChunk {
                    chunk: *chunk,
                    identity,
                    folder,
                    plan: plan.clone(),
                    limit,
                },
            )
            .collect();
        Ok((chunks, split))
    }

    /// Settles a long input's plan on the journal as it is now, records it,
    /// and cuts the chunks whose jobs have yet to be sent or resumed.
    pub(super) async fn prepare_long(
        &self,
        input: PlannedInput,
        records: &Journal,
        options: &BatchOptions,
        journal: &JournalFile,
    ) -> Result<Prepared, RunError> {
        let out_dir = options.run.out_dir.clone();
        let Some(cut) = input.chunk_plan.clone() else {
            return Ok(Prepared::Done(Vec::new()));
        };
        let (chunks, split) = self
            .plan_chunks(
                records,
                &input.identity,
                &input.folder,
                &cut,
                &out_dir,
                self.rerun(options),
            )
            .await
            .map_err(|why| RunError::Output {
                path: out_dir.join(&input.folder),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, why),
                job_id: None,
            })?;
        if split.stitched {
            // A run killed after its stitch and before its clean-up left
            // the chunks of a whole input: they go now, as they would have.
            let (files, folders): (Vec<String>, Vec<String>) = chunks
                .iter()
                .map(|c| {
                    (
                        format!("{}.{}", c.folder, extension(input.document.kind())),
                        c.folder.clone(),
                    )
                })
                .unzip();
            let manifest = out_dir.join(&input.folder).join(MANIFEST);
            let dir = out_dir.clone();
            self.transport()
                .blocking(move || {
                    let complete = super::read_manifest(&manifest).is_some_and(|m| {
                        m.get("state").and_then(|s| s.as_str()) == Some("Completed")
                    });
                    let chain_ok = folders
                        .first()
                        .and_then(|f| Path::new(f).parent())
                        .is_some_and(|parent| {
                            chunks_folder_in_place(&dir, parent).is_ok_and(|there| there)
                        });
                    if complete && chain_ok {
                        remove_chunks(&dir, &files, &folders, true);
                    }
                })
                .await;
            let done = chunks
                .iter()
                .map(|c| ChunkItem {
                    chunk: c.chunk,
                    done: Done::Skipped,
                    job_id: match &c.plan {
                        Plan::Skip { job, .. } => Some(job.clone()),
                        _ => None,
                    },
                    earlier_state: None,
                    earlier_reason: None,
                    result: Ok(None),
                })
                .collect();
            return Ok(Prepared::Done(done));
        }
        // The input's folder is reserved in the journal before any chunk's job.
        let record = Record::Input {
            input: input.identity.clone(),
            folder: input.folder.clone(),
        };
        self.driver()
            .write(journal, record)
            .await
            .map_err(|source| RunError::Output {
                path: journal.path().to_owned(),
                source,
                job_id: None,
            })?;
        let ext = extension(input.document.kind());
        let chunk_files: Vec<String> = chunks
            .iter()
            .map(|c| format!("{}.{ext}", c.folder))
            .collect();
        // Chunks of this input cut at other limits in earlier runs: theirs
        // too, to remove once the input is whole.
        let mut chunk_files = chunk_files;
        let mut chunk_folders: Vec<String> = chunks.iter().map(|c| c.folder.clone()).collect();
        for (key, _) in records.inputs() {
            if let Some((of, chunk, limit)) = sarvam_doc_core::split::parse_chunk_key(key)
                && of == input.identity.path
                && limit != cut.limit()
                && !chunk_folders.contains(&chunk.folder(&input.folder, limit))
            {
                let folder = chunk.folder(&input.folder, limit);
                chunk_files.push(format!("{folder}.{ext}"));
                chunk_folders.push(folder);
            }
        }
        let long = LongInput {
            path: input.path.clone(),
            folder: input.folder.clone(),
            identity: input.identity.clone(),
            plan: cut.clone(),
            chunk_folders,
            chunk_files,
            replace: split.replace || options.run.overwrite,
            remove_root: true,
        };
        let items: Vec<ChunkItem> = chunks
            .iter()
            .map(|c| {
                let (done, job_id, earlier_state) = match &c.plan {
                    Plan::Skip { job, .. } => (Done::Skipped, Some(job.clone()), None),
                    Plan::Failed { job, state } => {
                        (Done::FailedBefore, Some(job.clone()), Some(state.clone()))
                    }
                    Plan::Unconfirmed => (Done::Unconfirmed, None, None),
                    Plan::Resume { job, .. } => (Done::Resumed, Some(job.clone()), None),
                    Plan::New { .. } => (Done::Ran, None, None),
                };
                ChunkItem {
                    chunk: c.chunk,
                    done,
                    job_id,
                    earlier_state,
                    earlier_reason: records
                        .get(&c.identity.path)
                        .and_then(|state| state.stopped.clone())
                        .filter(|_| done == Done::FailedBefore),
                    result: Ok(None),
                }
            })
            .collect();
        let needed: Vec<usize> = (0..chunks.len())
            .filter(|&c| chunks[c].plan.sends())
            .collect();
        if needed.is_empty() {
            return Ok(Prepared::Run(Box::new(long), Vec::new(), items));
        }
        // Cut them, off the async threads, then check the input is still
        // the one planned: the chunks are of the bytes the journal names.
        let cut_files = {
            let (input_path, out_dir, folder) =
                (input.path.clone(), out_dir.clone(), input.folder.clone());
            let ranges: Vec<_> = needed
                .iter()
                .map(|&c| chunks[c].chunk.first..=chunks[c].chunk.last)
                .collect();
            let names: Vec<String> = needed
                .iter()
                .map(|&c| format!("{}.{ext}", chunks[c].chunk.name(chunks[c].limit)))
                .collect();
            let (kind, sha256, size) = (
                input.document.kind(),
                input.identity.sha256.clone(),
                input.identity.size,
            );
            self.transport()
                .blocking(move || {
                    cut_chunks(
                        &input_path,
                        &out_dir,
                        &folder,
                        kind,
                        &ranges,
                        &names,
                        &sha256,
                        size,
                    )
                })
                .await?
        };
        let job = input.document.job().clone();
        let mut units = Vec::with_capacity(needed.len());
        for (&c, cut_file) in needed.iter().zip(cut_files) {
            let planned = &chunks[c];
            let document = crate::document(&cut_file.path, job.clone())?;
            units.push(Unit {
                index: 0,
                chunk: Some(c),
                shown: format!("{} ({})", input.path.display(), planned.chunk),
                size: cut_file.len,
                sha256: cut_file.sha256,
                path: cut_file.path,
                folder: planned.folder.clone(),
                identity: planned.identity.clone(),
                document,
            });
        }
        Ok(Prepared::Run(Box::new(long), units, items))
    }

    /// Stitches a long input's chunks into its folder, once they have all
    /// ended, and says in `item` what became of it.
    pub(super) async fn finish_long(
        &self,
        long: Box<LongInput>,
        item: &mut BatchItem,
        options: &BatchOptions,
    ) {
        // Manifests of the chunks, read from their folders (a chunk done in
        // an earlier run has only that).
        let out_dir = options.run.out_dir.clone();
        // Owned, as all a blocking closure takes.
        let api = self.api().config().api_version().name().to_owned();
        let limits = options.run.unpack;
        let overwrite = options.run.overwrite;
        let chunk_states: Vec<ChunkState> = item
            .chunks
            .iter()
            .map(|c| ChunkState {
                job_id: c.job_id.as_ref().map(ToString::to_string),
                outcome: match (&c.result, c.done) {
                    (Err(_), _) => "error".to_owned(),
                    (Ok(Some(report)), _) => report.outcome.kind().to_owned(),
                    (Ok(None), Done::Skipped) => "done_before".to_owned(),
                    (Ok(None), Done::FailedBefore) => "failed_before".to_owned(),
                    (Ok(None), Done::Unconfirmed) => "unconfirmed".to_owned(),
                    (Ok(None), _) => "unknown".to_owned(),
                },
                reason: match (&c.result, c.done) {
                    (Err(e), _) => Some(e.to_string()),
                    (Ok(Some(report)), _) => report.outcome.reason(),
                    (Ok(None), Done::FailedBefore) => Some(format!(
                        "its job failed in an earlier run ({})",
                        c.earlier_state
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    )),
                    (Ok(None), Done::Unconfirmed) => {
                        Some("its submit got no answer in an earlier run".to_owned())
                    }
                    _ => None,
                },
            })
            .collect();
        let provenance = json!({
            "path": long.path.display().to_string(),
            "size": long.identity.size,
            "sha256": long.identity.sha256,
        });
        let request = long.identity.request.clone();
        let folder = long.folder.clone();
        let stitched = self
            .transport()
            .blocking(move || {
                stitch_long(
                    &long,
                    &out_dir,
                    &chunk_states,
                    &api,
                    &provenance,
                    &request,
                    limits,
                    overwrite,
                )
            })
            .await;
        let ran = item.chunks.iter().any(|c| c.done == Done::Ran);
        let resumed = item.chunks.iter().any(|c| c.done == Done::Resumed);
        item.done = if ran {
            Done::Ran
        } else if resumed {
            Done::Resumed
        } else {
            Done::Skipped
        };
        item.job_id = item.chunks.iter().find_map(|c| c.job_id.clone());
        match stitched {
            Ok(stitch) => item.missing_pages = stitch.missing,
            Err((path, source)) => {
                item.result = Err(RunError::Output {
                    path: options.run.out_dir.join(&folder).join(path),
                    source,
                    job_id: None,
                });
            }
        }
    }
}

/// What the stitch's manifest says of a chunk, besides its folder's.
pub(crate) struct ChunkState {
    pub(crate) job_id: Option<String>,
    pub(crate) outcome: String,
    pub(crate) reason: Option<String>,
}

/// Whether the chunks' folder `parent` (inside `out_dir`) is there:
/// `false` when some folder on the way is missing, `true` when every one is
/// a real folder.
///
/// # Errors
/// A folder on the way is a link or a file: never followed out of `out_dir`.
fn chunks_folder_in_place(out_dir: &Path, parent: &Path) -> std::io::Result<bool> {
    let mut path = out_dir.to_owned();
    for part in parent.components() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Ok(meta) if meta.is_dir() => {}
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{} is not a folder sarvam-doc made (a link or a file is in its place): \
                         nothing was stitched; remove it and run again",
                        path.display()
                    ),
                ));
            }
        }
    }
    Ok(true)
}

/// Removes the chunks of an input that is whole (their cut `files` and
/// their `folders`, inside `out_dir`), by name: only what this client made.
/// Then their parent folder, and with `root` the chunks' root, each only
/// if empty.
fn remove_chunks(out_dir: &Path, files: &[String], folders: &[String], root: bool) {
    for (file, folder) in files.iter().zip(folders) {
        let _ = std::fs::remove_file(out_dir.join(file));
        let dir = out_dir.join(folder);
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    if let Some(parent) = folders.first().and_then(|f| Path::new(f).parent()) {
        crate::staging::sweep(&out_dir.join(parent));
        // Each only if empty: what else is there is not this input's.
        let _ = std::fs::remove_dir(out_dir.join(parent));
        if root {
            let _ = std::fs::remove_dir(out_dir.join(CHUNKS_DIR));
        }
    }
}

/// One chunk, cut.
pub(crate) struct CutFile {
    pub(crate) path: PathBuf,
    pub(crate) len: u64,
    pub(crate) sha256: String,
}

/// Cuts `ranges` of the input into the chunks' folder of `folder`, named
/// `names`, and checks the input is still the one planned (`sha256`,
/// `size`). Blocking.
#[allow(clippy::too_many_arguments)]
fn cut_chunks(
    input: &Path,
    out_dir: &Path,
    folder: &str,
    kind: DocumentKind,
    ranges: &[std::ops::RangeInclusive<u32>],
    names: &[String],
    sha256: &str,
    size: u64,
) -> Result<Vec<CutFile>, RunError> {
    let output = |path: PathBuf, source: std::io::Error| RunError::Output {
        path,
        source,
        job_id: None,
    };
    let chunks_dir = out_dir.join(CHUNKS_DIR);
    real_dir(&chunks_dir).map_err(|e| output(chunks_dir.clone(), e))?;
    let dir = chunks_dir.join(folder);
    real_dir(&dir).map_err(|e| output(dir.clone(), e))?;
    // A killed run's leftovers in it (only folders it marked and no live
    // process holds, and its cut's temporary files).
    crate::staging::sweep(&dir);
    let cut = cut_into(input, &dir, kind, ranges, names)?;
    let now = crate::preflight::sha256_of(input, size).map_err(|source| RunError::Input {
        path: input.to_owned(),
        source,
    })?;
    if now != sha256 {
        return Err(RunError::Input {
            path: input.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "it changed since it was checked (its SHA-256 is not the one planned): nothing \
                 was sent for it; run again to plan it as it is now",
            ),
        });
    }
    Ok(cut)
}

/// Cuts `ranges` of the input (a document of `kind`) into `dir`, named
/// `names`. Blocking.
pub(crate) fn cut_into(
    input: &Path,
    dir: &Path,
    kind: DocumentKind,
    ranges: &[std::ops::RangeInclusive<u32>],
    names: &[String],
) -> Result<Vec<CutFile>, RunError> {
    let name = |range: &std::ops::RangeInclusive<u32>| {
        ranges
            .iter()
            .position(|r| r == range)
            .and_then(|i| names.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let cut = match kind {
        DocumentKind::Zip => crate::split::cut_zip(input, ranges, dir, name),
        _ => crate::split::cut_pdf(input, ranges, dir, name),
    }
    .map_err(|e| RunError::Input {
        path: input.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    })?;
    Ok(cut
        .into_iter()
        .map(|c| CutFile {
            path: c.path,
            len: c.len,
            sha256: c.sha256,
        })
        .collect())
}

/// Stitches `long`'s chunks into its folder (blocking): the files, the
/// merged document and the manifest, built in a staging folder and
/// published in one rename. Removes the chunks' folder once no page is
/// missing. On an error, the path (inside the input's folder, or the
/// folder itself) and what went wrong.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stitch_long(
    long: &LongInput,
    out_dir: &Path,
    states: &[ChunkState],
    api: &str,
    provenance: &Value,
    request: &str,
    limits: sarvam_doc_core::output::UnpackLimits,
    overwrite: bool,
) -> Result<Stitch, (PathBuf, std::io::Error)> {
    let max = limits.max_total_bytes;
    let max_files = usize::try_from(limits.max_entries).unwrap_or(usize::MAX);
    // The chunks' folders are read, copied from and at last removed: every
    // folder on the way to them must be a real one, never a link out.
    if let Some(parent) = long
        .chunk_folders
        .first()
        .and_then(|f| Path::new(f).parent())
    {
        chunks_folder_in_place(out_dir, parent).map_err(|e| (PathBuf::new(), e))?;
    }
    // A chunk brought outputs when its folder is a real folder holding a
    // manifest of its job.
    let mut found = Vec::with_capacity(long.chunk_folders.len());
    let mut manifests = Vec::with_capacity(long.chunk_folders.len());
    for folder in long.chunk_folders.iter().take(long.plan.chunks().len()) {
        let dir = out_dir.join(folder);
        let manifest = std::fs::symlink_metadata(&dir)
            .is_ok_and(|m| m.is_dir())
            .then(|| super::read_manifest(&dir.join(MANIFEST)))
            .flatten();
        let failed: Vec<u32> = manifest
            .as_ref()
            .and_then(|m| m.get("page_errors")?.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| u32::try_from(e.get("page_number")?.as_u64()?).ok())
            .collect();
        found.push(manifest.is_some().then(|| (dir.clone(), failed)));
        manifests.push(manifest);
    }
    let staging = Staging::new(out_dir).map_err(|e| (PathBuf::new(), e))?;
    let pages = staging.path().join("pages");
    let stitch =
        stitch_into(&long.plan, &found, &pages, max, max_files).map_err(|e| (PathBuf::new(), e))?;
    let chunks: Vec<Value> = long
        .plan
        .chunks()
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let manifest = manifests.get(i).and_then(Option::as_ref);
            let state = states.get(i);
            let failed: Vec<u32> = stitch
                .missing
                .iter()
                .copied()
                .filter(|p| chunk.contains(*p))
                .collect();
            let request_ids: Vec<Value> = manifest
                .and_then(|m| m.get("requests")?.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r.get("request_id").filter(|v| !v.is_null()).cloned())
                .collect();
            json!({
                "pages": format!("{}-{}", chunk.first, chunk.last),
                "first": chunk.first,
                "last": chunk.last,
                "job_id": manifest
                    .and_then(|m| m.get("job_id")?.as_str().map(str::to_owned))
                    .or_else(|| state.and_then(|s| s.job_id.clone())),
                "outcome": state.map(|s| s.outcome.clone()),
                "state": manifest.and_then(|m| m.get("state").cloned()),
                "missing_pages": failed,
                "reason": state.and_then(|s| s.reason.clone()),
                "request_ids": request_ids,
            })
        })
        .collect();
    let total = long.plan.pages();
    let missing = u32::try_from(stitch.missing.len()).unwrap_or(u32::MAX);
    let state = if missing == 0 {
        "Completed"
    } else if missing < total {
        "PartiallyCompleted"
    } else {
        "Failed"
    };
    let manifest = json!({
        "job_id": null,
        "jobs": chunks.iter().map(|c| c["job_id"].clone()).collect::<Vec<_>>(),
        "api": api,
        "state": state,
        "input": provenance,
        "request": request,
        "page_limit": long.plan.limit(),
        "pages": {"total": total, "succeeded": total - missing, "failed": missing},
        "missing_pages": stitch.missing,
        "missing": ranges_text(&stitch.missing),
        "document": stitch.document,
        "chunks": chunks,
        "written_at": OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        "client": concat!("sarvam-doc/", env!("CARGO_PKG_VERSION")),
    });
    let written = serde_json::to_vec_pretty(&manifest)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::stitch::write_synced(&pages.join(MANIFEST), &bytes));
    written.map_err(|e| (PathBuf::from(MANIFEST), e))?;
    crate::stitch::sync_dir(&pages).map_err(|e| (PathBuf::new(), e))?;
    let target = out_dir.join(&long.folder);
    // The folder is this input's to replace (its plan said so) or asked for.
    publish(&pages, staging.path(), &target, long.replace || overwrite)
        .map_err(|e| (PathBuf::new(), e))?;
    drop(staging);
    // On disk for good before the chunks it came from are removed.
    crate::stitch::sync_dir(out_dir).map_err(|e| (PathBuf::new(), e))?;
    if stitch.missing.is_empty() {
        remove_chunks(
            out_dir,
            &long.chunk_files,
            &long.chunk_folders,
            long.remove_root,
        );
    }
    Ok(stitch)
}
