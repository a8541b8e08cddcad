//! [`Client::run`] and [`Client::run_all`] of an input longer than a job
//! (over [`RunOptions::page_limit`]): cut, a job a chunk (a few at once),
//! stitched into the input's folder, as a batch does, but with no journal:
//! the cut chunks and their outputs live in a work folder inside the output
//! folder, removed when the run ends, however it ends.

use std::path::Path;
use std::sync::Mutex;

use futures_util::StreamExt;
use sarvam_doc_core::journal::Identity;
use sarvam_doc_core::model::PageCounts;
use sarvam_doc_core::split::ChunkPlan;
use sarvam_doc_core::{Document, Event, Outcome, Run};

use super::Client;
use crate::batch::long::{ChunkState, LongInput, cut_into, extension, stitch_long};
use crate::job::{Provenance, Target, paced};
use crate::staging::Staging;
use crate::transport::AsyncTransport;
use crate::{ChunkReport, Layout, Report, RunError, RunOptions};

/// How many chunks of one input run at once in [`Client::run`].
const CHUNKS_AT_ONCE: usize = 4;

impl<T: AsyncTransport> Client<T> {
    /// The pages of `input` when it is over `options`' page limit and so is
    /// to be cut; `None` when it is sent whole.
    pub(super) async fn pages_over_limit(
        &self,
        input: &Path,
        document: &Document,
        options: &RunOptions,
    ) -> Option<u32> {
        let limit = options.page_limit?;
        if options.layout != Layout::Pages {
            return None;
        }
        let (path, kind) = (input.to_owned(), document.kind());
        // A document whose pages cannot be counted is sent whole, as
        // before: the server is the judge of what it can read.
        let inspection = self
            .transport()
            .blocking(move || crate::preflight::inspect(&path, kind))
            .await;
        inspection.ok().filter(|i| i.pages > limit).map(|i| i.pages)
    }

    /// Runs `input` of `pages` pages cut at `options`' page limit, and
    /// stitches its chunks' outputs into `folder`.
    pub(super) async fn run_long(
        &self,
        input: &Path,
        document: Document,
        folder: &str,
        pages: u32,
        options: &RunOptions,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<Report, RunError> {
        let limit = options.page_limit.unwrap_or(pages);
        let refuse = |why: String| {
            RunError::Core(sarvam_doc_core::Error::Input(
                sarvam_doc_core::error::InputError::Pages(why),
            ))
        };
        let plan = ChunkPlan::for_job(pages, limit, document.job())
            .map_err(|e| refuse(format!("{}: {e}", input.display())))?;
        let out_dir = options.out_dir.clone();
        let folder_path = out_dir.join(folder);
        if !options.overwrite && std::fs::symlink_metadata(&folder_path).is_ok() {
            return Err(RunError::Output {
                path: folder_path,
                source: std::io::ErrorKind::AlreadyExists.into(),
                job_id: None,
            });
        }
        // The work folder: the chunks as cut, and their jobs' outputs.
        let ext = extension(document.kind());
        let names: Vec<String> = plan
            .chunks()
            .iter()
            .map(|c| format!("{}.{ext}", c.name(limit)))
            .collect();
        let ranges: Vec<_> = plan.chunks().iter().map(|c| c.first..=c.last).collect();
        let work = {
            let (out_dir, input, kind) = (out_dir.clone(), input.to_owned(), document.kind());
            let names = names.clone();
            self.transport()
                .blocking(move || {
                    std::fs::create_dir_all(&out_dir).map_err(|source| RunError::Output {
                        path: out_dir.clone(),
                        source,
                        job_id: None,
                    })?;
                    let work = Staging::new(&out_dir).map_err(|source| RunError::Output {
                        path: out_dir.clone(),
                        source,
                        job_id: None,
                    })?;
                    let cut = cut_into(&input, work.path(), kind, &ranges, &names)?;
                    Ok::<_, RunError>((work, cut))
                })
                .await?
        };
        let (work, cut) = work;
        let work_name = work
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let chunk_folders: Vec<String> = plan
            .chunks()
            .iter()
            .map(|c| format!("{work_name}/{}", c.name(limit)))
            .collect();
        let chunk_options = RunOptions {
            overwrite: false,
            ..options.clone()
        };
        // Each chunk's events go to the caller, its page counts summed.
        let on_event = Mutex::new(on_event);
        let counts = Mutex::new(
            plan.chunks()
                .iter()
                .map(|c| PageCounts {
                    total: c.pages(),
                    ..PageCounts::default()
                })
                .collect::<Vec<_>>(),
        );
        let job = document.job().clone();
        let (on_event, counts) = (&on_event, &counts);
        let mut results: Vec<(usize, Result<Report, RunError>)> =
            futures_util::stream::iter(cut.into_iter().enumerate())
                .map(|(i, file)| {
                    let (job, chunk_options, folder) =
                        (job.clone(), &chunk_options, chunk_folders[i].clone());
                    let chunk = plan.chunks()[i];
                    async move {
                        let mut each = |e: &Event| {
                            let summed = match e {
                                Event::Pages(p) => {
                                    crate::batch::summed(counts, i, *p).map(Event::Pages)
                                }
                                _ => None,
                            };
                            if let Ok(mut f) = on_event.lock() {
                                (*f)(summed.as_ref().unwrap_or(e));
                            }
                        };
                        let result = async {
                            let document = crate::document(&file.path, job)?;
                            let provenance = Provenance {
                                path: Some(format!("{} ({chunk})", input.display())),
                                size: Some(file.len),
                                sha256: Some(file.sha256.clone()),
                                request: Some(document.job().request_key()),
                            };
                            let run = paced(
                                Run::new(
                                    self.api().clone(),
                                    document,
                                    self.machine_policy(),
                                    self.clock().now(),
                                ),
                                self.budget(),
                            );
                            let target = Target {
                                input: Some(&file.path),
                                folder: &folder,
                                options: chunk_options,
                                replace: false,
                                journal: None,
                                provenance,
                            };
                            self.driver().run_machine(run, target, &mut each).await
                        }
                        .await;
                        (i, result)
                    }
                })
                .buffer_unordered(CHUNKS_AT_ONCE)
                .collect()
                .await;
        results.sort_by_key(|(i, _)| *i);
        let mut chunks = Vec::with_capacity(results.len());
        let mut states = Vec::with_capacity(results.len());
        let mut requests = Vec::new();
        let mut first_error = None;
        for ((_, result), chunk) in results.into_iter().zip(plan.chunks()) {
            let (outcome, error) = match result {
                Ok(report) => {
                    requests.extend(report.requests);
                    (Some(report.outcome), None)
                }
                Err(e) => {
                    let text = e.to_string();
                    first_error.get_or_insert(e);
                    (None, Some(text))
                }
            };
            states.push(ChunkState {
                job_id: outcome
                    .as_ref()
                    .and_then(Outcome::job_id)
                    .map(ToString::to_string),
                outcome: outcome
                    .as_ref()
                    .map_or_else(|| "error".to_owned(), |o| o.kind().to_owned()),
                reason: error
                    .clone()
                    .or_else(|| outcome.as_ref().and_then(Outcome::reason)),
            });
            chunks.push(ChunkReport {
                chunk: *chunk,
                outcome,
                error,
            });
        }
        if chunks.iter().all(|c| c.outcome.is_none())
            && let Some(e) = first_error
        {
            // No chunk ran to an end: nothing to stitch.
            return Err(e);
        }
        let long = LongInput {
            path: input.to_owned(),
            folder: folder.to_owned(),
            identity: Identity::new(
                input.display().to_string(),
                document.len(),
                String::new(),
                document.job().request_key(),
            ),
            plan,
            chunk_folders,
            chunk_files: names.iter().map(|n| format!("{work_name}/{n}")).collect(),
            replace: options.overwrite,
            remove_root: false,
        };
        let api = self.api().config().api_version().name();
        let provenance = serde_json::json!({
            "path": input.display().to_string(),
            "size": document.len(),
            "sha256": null,
        });
        let request = document.job().request_key();
        let (limits, overwrite) = (options.unpack, options.overwrite);
        let stitched = self
            .transport()
            .blocking(move || {
                let stitched = stitch_long(
                    &long,
                    &out_dir,
                    &states,
                    api,
                    &provenance,
                    &request,
                    limits,
                    overwrite,
                );
                drop(work);
                stitched
            })
            .await
            .map_err(|(path, source)| RunError::Output {
                path: folder_path.join(path),
                source,
                job_id: None,
            })?;
        // The worst of the chunks' outcomes: given up, then failed, then
        // partially completed, then completed (the pages are in
        // `missing_pages`, by their numbers in the input).
        let rank = |o: &Outcome| match o {
            Outcome::Completed { .. } => 0,
            Outcome::PartiallyCompleted { .. } => 1,
            Outcome::Failed { .. } => 2,
            _ => 3,
        };
        let outcome = chunks
            .iter()
            .filter_map(|c| c.outcome.clone())
            .max_by_key(rank);
        let Some(outcome) = outcome else {
            // Unreachable: some chunk has an outcome (checked above).
            return Err(RunError::Output {
                path: folder_path,
                source: std::io::Error::other("no chunk ran to an end"),
                job_id: None,
            });
        };
        Ok(Report {
            outcome,
            output: vec![folder_path],
            requests,
            chunks,
            missing_pages: stitched.missing,
        })
    }
}
