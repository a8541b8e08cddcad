//! Batches that survive anything: a journal in the output folder, plans
//! made from it, and runs that pick up where the last one stopped.
//!
//! 1. [`Client::plan_batch`] checks every input (the input rule, preflight:
//!    a PDF that parses, a flat ZIP of JPEG/PNG pages, the page count, the
//!    SHA-256), reads the output folder's journal, and decides for each
//!    input what the journal's record calls for ([`Plan`]): a new job, the
//!    job it already has, or nothing. It sends and writes nothing; a dry run
//!    stops here.
//! 2. [`Client::run_batch`] takes the output folder (one run at a time),
//!    reads the journal again under its lock, settles each plan on it, and
//!    carries it out, writing every step to the journal before the request
//!    it announces is sent, and each input's outputs, with a manifest, to a
//!    folder of its own.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sarvam_doc_core::journal::{Identity, Journal, OnDisk, Plan, Record, Rerun, path_key};
use sarvam_doc_core::model::PageCounts;
use sarvam_doc_core::output::FolderPlan;
use sarvam_doc_core::split::{Chunk, ChunkPlan};
use sarvam_doc_core::{Document, Event, JobId, Run, model::Job};

use long::{Prepared, summary_plan};

pub(crate) mod long;

use crate::job::{Provenance, Target, paced};
use crate::journal::JournalFile;
use crate::preflight::{Inspection, inspect};
use crate::transport::AsyncTransport;
use crate::unpack::MANIFEST;
use crate::{Client, Layout, Report, RunError, RunOptions};

/// What a batch asks for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BatchOptions {
    /// Where outputs go, the job to make, and the unpack limits.
    pub run: RunOptions,
    /// Make a new job for every input, whatever the journal says.
    pub force: bool,
    /// Refuse an input over the page limit (`run.page_limit`) instead of
    /// cutting it.
    pub strict_pages: bool,
    /// Make a new job for each input or chunk whose job failed (or was
    /// refused for good) in an earlier run, each paid for; what is done
    /// stays done.
    pub retry_failed: bool,
}

impl BatchOptions {
    /// A batch into `run.out_dir`, cutting inputs over `run`'s page limit.
    #[must_use]
    pub fn new(run: RunOptions) -> Self {
        BatchOptions {
            run,
            force: false,
            strict_pages: false,
            retry_failed: false,
        }
    }

    /// Making new jobs for what failed before, or not.
    #[must_use]
    pub fn with_retry_failed(mut self, retry: bool) -> Self {
        self.retry_failed = retry;
        self
    }

    /// Making new jobs whatever the journal says, or not.
    #[must_use]
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// With this page limit, cutting or (`strict`) refusing inputs above it.
    #[must_use]
    pub fn with_page_limit(mut self, limit: Option<u32>, strict: bool) -> Self {
        self.run.page_limit = limit;
        self.strict_pages = strict;
        self
    }
}

/// One input, checked and planned.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlannedInput {
    /// The input, as given.
    pub path: PathBuf,
    /// Its output folder, inside the output folder.
    pub folder: String,
    /// Its pages.
    pub pages: u32,
    /// What the journal knows it by.
    pub identity: Identity,
    /// What the run will do with it.
    pub plan: Plan,
    /// A warning to show.
    pub warning: Option<String>,
    /// Its chunks, when it is over the page limit and cut: each its own
    /// job. Empty when it is sent whole.
    pub chunks: Vec<PlannedChunk>,
    /// The chunk plan it is cut by, when it is cut.
    pub chunk_plan: Option<ChunkPlan>,
    /// Whether its outputs are in place from an earlier run, as a whole
    /// job or a complete stitch at any page limit, or its stitch at this
    /// one: done, nothing is sent.
    pub stitched: bool,
    document: Document,
}

/// One chunk of a long input, planned.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlannedChunk {
    /// Its pages, numbered as in the input.
    pub chunk: Chunk,
    /// What the journal knows it by: its input's identity under the
    /// chunk's key ([`Chunk::key`]).
    pub identity: Identity,
    /// Where its job's outputs go until they are stitched, inside the
    /// output folder.
    pub folder: String,
    /// What the run will do with it.
    pub plan: Plan,
    /// The limit its key was cut at: the batch's, or an earlier run's whose
    /// job for these very pages is reused ([`Journal::chunk_key`]).
    pub limit: u32,
}

impl PlannedInput {
    /// The pages that will be sent, new or resumed.
    #[must_use]
    pub fn pages_to_send(&self) -> u64 {
        if self.chunks.is_empty() {
            return if self.plan.sends() {
                u64::from(self.pages)
            } else {
                0
            };
        }
        self.chunks
            .iter()
            .filter(|c| c.plan.sends())
            .map(|c| u64::from(c.chunk.pages()))
            .sum()
    }

    /// The jobs it becomes: one, or one a chunk.
    #[must_use]
    pub fn jobs(&self) -> usize {
        self.chunks.len().max(1)
    }
}

/// What a batch will do, before anything is sent.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchPlan {
    /// The inputs that passed every check, in order.
    pub inputs: Vec<PlannedInput>,
    /// The inputs refused, and why (nothing is sent for a batch with any).
    pub refused: Vec<(PathBuf, String)>,
    /// Creates earlier runs sent whose answer never arrived: jobs that may
    /// exist, were never started, and cost nothing.
    pub possible_orphans: u32,
    out_dir: PathBuf,
}

impl BatchPlan {
    /// The journal's path.
    #[must_use]
    pub fn journal(&self) -> PathBuf {
        self.out_dir
            .join(crate::journal::STATE_DIR)
            .join("journal.jsonl")
    }

    /// All pages of the inputs that will be sent (new or resumed).
    #[must_use]
    pub fn pages_to_send(&self) -> u64 {
        self.inputs.iter().map(PlannedInput::pages_to_send).sum()
    }

    /// The jobs that will be sent, new or resumed (one a chunk of a cut
    /// input).
    #[must_use]
    pub fn jobs_to_send(&self) -> usize {
        self.inputs
            .iter()
            .map(|i| {
                if i.chunks.is_empty() {
                    usize::from(i.plan.sends())
                } else {
                    i.chunks.iter().filter(|c| c.plan.sends()).count()
                }
            })
            .sum()
    }

    /// The pages of every input, sent or not.
    #[must_use]
    pub fn pages(&self) -> u64 {
        self.inputs.iter().map(|i| u64::from(i.pages)).sum()
    }
}

/// What was done with one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Done {
    /// A new job.
    Ran,
    /// An earlier run's job, gone on with.
    Resumed,
    /// Its outputs were in place: nothing sent.
    Skipped,
    /// Its job had failed in an earlier run: nothing sent.
    FailedBefore,
    /// Its `/doc-ai/v1` submit never answered in an earlier run: nothing
    /// sent, since a job may be running already (the client's
    /// [`sarvam_doc_core::Policy::retry_unconfirmed`] submits it again).
    Unconfirmed,
}

/// What became of one input of a batch.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchItem {
    /// The input.
    pub path: PathBuf,
    /// Its output folder, inside the output folder.
    pub folder: String,
    /// Its pages.
    pub pages: u32,
    /// What was done.
    pub done: Done,
    /// The job it ran or has (none if none was ever made).
    pub job_id: Option<JobId>,
    /// How its job ended in an earlier run, when nothing was sent this
    /// time (for a skipped input, as its manifest says).
    pub earlier_state: Option<sarvam_doc_core::model::JobState>,
    /// Why the client stopped on it in an earlier run, as the journal says
    /// (a refusal of its pages, say), when nothing was sent this time.
    pub earlier_reason: Option<String>,
    /// The report of what ran (none for a skipped input, or one cut into
    /// chunks: see `chunks`), or the error.
    pub result: Result<Option<Report>, RunError>,
    /// For an input cut into chunks: what became of each, in order.
    pub chunks: Vec<ChunkItem>,
    /// For an input cut into chunks: the original pages missing from its
    /// stitched outputs (their chunk's job failed, or failed them).
    pub missing_pages: Vec<u32>,
}

/// What became of one chunk of a long input.
#[derive(Debug)]
#[non_exhaustive]
pub struct ChunkItem {
    /// Its pages, numbered as in the input.
    pub chunk: Chunk,
    /// What was done.
    pub done: Done,
    /// Its job (none if none was ever made).
    pub job_id: Option<JobId>,
    /// How its job ended in an earlier run, when nothing was sent this time.
    pub earlier_state: Option<sarvam_doc_core::model::JobState>,
    /// Why the client stopped on it in an earlier run, as the journal says
    /// (a refusal of its pages, say), when nothing was sent this time.
    pub earlier_reason: Option<String>,
    /// The report of what ran (none when nothing was sent), or the error.
    pub result: Result<Option<Report>, RunError>,
}

impl<T: AsyncTransport> Client<T> {
    /// Checks every input, reads the output folder's journal and plans each
    /// input. Sends nothing and writes nothing.
    ///
    /// # Errors
    /// The journal exists but cannot be read.
    pub async fn plan_batch(
        &self,
        inputs: Vec<PathBuf>,
        options: &BatchOptions,
    ) -> Result<BatchPlan, RunError> {
        let out_dir = options.run.out_dir.clone();
        let journal = {
            let dir = out_dir.clone();
            self.transport()
                .blocking(move || JournalFile::peek(&dir))
                .await
        }
        .map_err(|source| RunError::Output {
            path: out_dir.clone(),
            source,
            job_id: None,
        })?;
        // Preflight each input off the async threads, a few at once.
        let checked: Vec<(PathBuf, Result<Checked, String>)> = futures_util::stream::iter(inputs)
            .map(|path| {
                let job = self.job_of(&options.run);
                async move {
                    let checked = self
                        .transport()
                        .blocking({
                            let path = path.clone();
                            move || check(&path, job)
                        })
                        .await;
                    (path, checked)
                }
            })
            .buffered(4)
            .collect()
            .await;
        let mut folders = FolderPlan::default();
        for (_, state) in journal.inputs() {
            if let Some(folder) = &state.folder {
                folders.reserve(folder);
            }
        }
        let mut planned = Vec::new();
        let mut refused = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (path, checked) in checked {
            let (document, inspection, key) = match checked {
                Ok(checked) => checked,
                Err(why) => {
                    refused.push((path, why));
                    continue;
                }
            };
            if !seen.insert(key.clone()) {
                refused.push((
                    path,
                    "it is given twice: each file is one job, so give it once".into(),
                ));
                continue;
            }
            let identity = Identity::new(
                key.clone(),
                inspection.size,
                inspection.sha256.clone(),
                document.job().request_key(),
            );
            let known = journal.get(&key).and_then(|s| s.folder.clone());
            let folder = known.unwrap_or_else(|| folders.assign(&key));
            // Done before, as a whole job or a complete stitch at any limit:
            // nothing to send, whatever the page limit is now.
            let on_disk = self.look(&out_dir, &folder).await;
            if !options.force && journal.outputs_in_place(&identity, &on_disk) {
                let job = on_disk
                    .manifest_job
                    .clone()
                    .or_else(|| on_disk.chunk_jobs.iter().flatten().next().cloned());
                if let Some(job) = job {
                    planned.push(PlannedInput {
                        path,
                        plan: Plan::Skip {
                            job,
                            folder: folder.clone(),
                        },
                        folder,
                        pages: inspection.pages,
                        identity,
                        warning: None,
                        chunks: Vec::new(),
                        chunk_plan: None,
                        stitched: true,
                        document,
                    });
                    continue;
                }
            }
            // Jobs in flight keep the cut they were made at (none, or a
            // limit), whatever --page-limit says now: none is left behind.
            let in_flight = journal.cut_in_flight(&identity);
            let limit = match in_flight {
                Some(cut) => cut,
                None => options.run.page_limit,
            };
            let warning = in_flight
                .filter(|cut| *cut != options.run.page_limit)
                .map(|cut| {
                    format!(
                        "its jobs in flight were {}: going on as they were made; --page-limit \
                         applies once they have ended",
                        cut.map_or_else(
                            || "made for it whole".to_owned(),
                            |l| format!("cut at {l} pages")
                        )
                    )
                });
            // Outputs kept as ZIPs are not stitched: such a batch sends whole.
            let over = limit
                .filter(|limit| inspection.pages > *limit && options.run.layout == Layout::Pages);
            if options.strict_pages
                && let Some(limit) = over.filter(|_| in_flight.is_none())
            {
                refused.push((
                    path,
                    format!(
                        "it has {} pages, over the {limit} one job is sent (--page-limit), and \
                         --strict-pages refuses to cut it: drop --strict-pages to send it as jobs \
                         of at most {limit} pages, stitched back",
                        inspection.pages
                    ),
                ));
                continue;
            }
            let cut = match over
                .map(|limit| ChunkPlan::for_job(inspection.pages, limit, document.job()))
                .transpose()
            {
                Ok(cut) => cut,
                Err(why) => {
                    refused.push((path, why.to_string()));
                    continue;
                }
            };
            let rerun = self.rerun(options);
            let planned_input = match &cut {
                None => {
                    let on_disk = self.look(&out_dir, &folder).await;
                    journal
                        .plan(&identity, &folder, &on_disk, rerun)
                        .map(|plan| (plan, Vec::new(), false))
                }
                Some(cut) => self
                    .plan_chunks(&journal, &identity, &folder, cut, &out_dir, rerun)
                    .await
                    .map(|(chunks, split)| {
                        (summary_plan(&chunks, &folder), chunks, split.stitched)
                    }),
            };
            let (plan, chunks, stitched) = match planned_input {
                Ok(planned) => planned,
                Err(why) => {
                    refused.push((path, why.to_string()));
                    continue;
                }
            };
            planned.push(PlannedInput {
                path,
                folder,
                pages: inspection.pages,
                identity,
                plan,
                warning,
                chunks,
                chunk_plan: cut,
                stitched,
                document,
            });
        }
        let possible_orphans = journal.inputs().map(|(_, s)| s.lost_creates).sum();
        Ok(BatchPlan {
            inputs: planned,
            refused,
            possible_orphans,
            out_dir,
        })
    }

    /// Carries out `plan`, at most `concurrency` jobs at once (an input cut
    /// into chunks is one job a chunk), in this task; the items come back in
    /// the order of the plan. `on_event` gets each event with the index of
    /// its input (a cut input's page counts summed over its chunks).
    ///
    /// It first takes the output folder (its journal's lock) and settles each
    /// input's plan on the journal as it is now, so a run that raced this
    /// one since the plan never makes a job twice. A cut input's chunks are
    /// cut (again, to the same bytes) before any job is sent; once they have
    /// all ended, their outputs are stitched into the input's folder.
    ///
    /// # Errors
    /// The output folder cannot be used: not writable, or another run is
    /// using it. Nothing was sent.
    pub async fn run_batch(
        &self,
        plan: BatchPlan,
        options: &BatchOptions,
        concurrency: usize,
        on_event: impl Fn(usize, &Event) + Send + Sync,
    ) -> Result<Vec<BatchItem>, RunError> {
        let out_dir = plan.out_dir.clone();
        let opened = {
            let dir = out_dir.clone();
            self.transport()
                .blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    JournalFile::open(&dir)
                })
                .await
        };
        let (journal, records) = opened.map_err(|source| RunError::Output {
            path: out_dir.clone(),
            source,
            job_id: None,
        })?;
        let (journal, records) = (&journal, &records);
        let mut items = Vec::with_capacity(plan.inputs.len());
        let mut units = Vec::new();
        let mut long = Vec::new();
        for (i, input) in plan.inputs.into_iter().enumerate() {
            let mut item = BatchItem {
                path: input.path.clone(),
                folder: input.folder.clone(),
                pages: input.pages,
                done: Done::Ran,
                job_id: None,
                earlier_state: None,
                earlier_reason: None,
                result: Ok(None),
                chunks: Vec::new(),
                missing_pages: Vec::new(),
            };
            if input.stitched && input.chunk_plan.is_none() {
                // Done before (the journal and the manifest agree): nothing.
                item.done = Done::Skipped;
                // In place only when every page came back.
                item.earlier_state = Some(sarvam_doc_core::model::JobState::Completed);
                if let Plan::Skip { job, .. } = &input.plan {
                    item.job_id = Some(job.clone());
                }
            } else if input.chunk_plan.is_none() {
                units.push(Unit::whole(i, input));
            } else {
                match self.prepare_long(input, records, options, journal).await {
                    Ok(Prepared::Done(chunks)) => {
                        item.done = Done::Skipped;
                        item.job_id = chunks.iter().find_map(|c| c.job_id.clone());
                        item.chunks = chunks;
                        // As the stitch in place says: pages may be missing.
                        let manifest = out_dir.join(&item.folder).join(MANIFEST);
                        item.missing_pages = self
                            .transport()
                            .blocking(move || read_manifest(&manifest))
                            .await
                            .and_then(|m| {
                                serde_json::from_value(m.get("missing_pages")?.clone()).ok()
                            })
                            .unwrap_or_default();
                    }
                    Ok(Prepared::Run(long_input, chunk_units, chunks)) => {
                        item.chunks = chunks;
                        units.extend(chunk_units.into_iter().map(|mut u| {
                            u.index = i;
                            u
                        }));
                        long.push((i, long_input));
                    }
                    Err(e) => item.result = Err(e),
                }
            }
            items.push(item);
        }
        // Each cut input's page counts, a slot a chunk, summed for its events.
        let counts: Vec<Option<std::sync::Mutex<Vec<PageCounts>>>> = (0..items.len())
            .map(|i| {
                long.iter().find(|(j, _)| *j == i).map(|(_, l)| {
                    std::sync::Mutex::new(
                        l.plan
                            .chunks()
                            .iter()
                            .map(|c| PageCounts {
                                total: c.pages(),
                                ..PageCounts::default()
                            })
                            .collect(),
                    )
                })
            })
            .collect();
        let (on_event, counts) = (&on_event, &counts);
        // Each unit's future is made here and boxed as `Send`, so a caller
        // may run the batch on a multi-threaded runtime's task.
        let runs: Vec<futures_util::future::BoxFuture<'_, (Unit, UnitResult)>> = units
            .into_iter()
            .map(|unit| {
                let run: futures_util::future::BoxFuture<'_, (Unit, UnitResult)> =
                    Box::pin(async move {
                        let (i, chunk) = (unit.index, unit.chunk);
                        let slots = counts.get(i).and_then(Option::as_ref);
                        let mut each = |e: &Event| match (e, chunk, slots) {
                            (Event::Pages(p), Some(c), Some(slots)) => {
                                if let Some(sum) = summed(slots, c, *p) {
                                    on_event(i, &Event::Pages(sum));
                                }
                            }
                            _ => on_event(i, e),
                        };
                        let result = self
                            .run_unit(&unit, records, options, journal, &mut each)
                            .await;
                        (unit, result)
                    });
                run
            })
            .collect();
        let ran: Vec<(Unit, UnitResult)> = futures_util::stream::iter(runs)
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (unit, result) in ran {
            let Some(item) = items.get_mut(unit.index) else {
                continue;
            };
            match unit.chunk.and_then(|c| item.chunks.get_mut(c)) {
                Some(chunk) => {
                    chunk.done = result.done;
                    chunk.job_id = result.job_id;
                    chunk.earlier_state = result.earlier_state;
                    chunk.earlier_reason = result.earlier_reason;
                    chunk.result = result.result;
                }
                None => {
                    item.done = result.done;
                    item.job_id = result.job_id;
                    item.earlier_state = result.earlier_state;
                    item.earlier_reason = result.earlier_reason;
                    item.result = result.result;
                }
            }
        }
        for (i, long_input) in long {
            if let Some(item) = items.get_mut(i) {
                self.finish_long(long_input, item, options).await;
            }
        }
        Ok(items)
    }

    /// Settles one unit's plan (a whole input, or a chunk) on the journal as
    /// it is now (`records`) and the folder as it is now, and carries it out.
    async fn run_unit(
        &self,
        unit: &Unit,
        records: &Journal,
        options: &BatchOptions,
        journal: &JournalFile,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> UnitResult {
        let mut item = UnitResult {
            done: Done::Ran,
            job_id: None,
            earlier_state: None,
            earlier_reason: None,
            result: Ok(None),
        };
        let out_dir = &options.run.out_dir;
        let on_disk = self.look(out_dir, &unit.folder).await;
        let plan = match records.plan(&unit.identity, &unit.folder, &on_disk, self.rerun(options)) {
            Ok(plan) => plan,
            Err(why) => {
                tracing::warn!(folder = %unit.folder, "{why}");
                item.result = Err(RunError::Output {
                    path: out_dir.join(&unit.folder),
                    source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, why),
                    job_id: None,
                });
                return item;
            }
        };
        let (machine, replace) = match &plan {
            Plan::Skip { job, folder } => {
                item.done = Done::Skipped;
                item.job_id = Some(job.clone());
                let manifest = out_dir.join(folder).join(MANIFEST);
                item.earlier_state = self
                    .transport()
                    .blocking(move || manifest_field(&manifest, "state"))
                    .await
                    .map(|state| sarvam_doc_core::model::JobState::from(state.as_str()));
                return item;
            }
            Plan::Failed { job, state } => {
                item.done = Done::FailedBefore;
                item.job_id = Some(job.clone());
                item.earlier_state = Some(state.clone());
                item.earlier_reason = records
                    .get(&unit.identity.path)
                    .and_then(|s| s.stopped.clone());
                return item;
            }
            Plan::Unconfirmed => {
                item.done = Done::Unconfirmed;
                return item;
            }
            Plan::New { replaces } => {
                let replace =
                    options.run.overwrite || replaces.as_deref() == Some(unit.folder.as_str());
                let run = paced(
                    Run::new(
                        self.api().clone(),
                        unit.document.clone(),
                        self.machine_policy(),
                        self.clock().now(),
                    ),
                    self.budget(),
                );
                (run, replace)
            }
            Plan::Resume { job, .. } => {
                item.done = Done::Resumed;
                item.job_id = Some(job.clone());
                let run = paced(
                    Run::resume(
                        self.api().clone(),
                        unit.document.clone(),
                        job.clone(),
                        self.machine_policy(),
                        self.clock().now(),
                    ),
                    self.budget(),
                );
                (run, true)
            }
        };
        let key = unit.identity.path.clone();
        let record = Record::Input {
            input: unit.identity.clone(),
            folder: unit.folder.clone(),
        };
        if let Err(source) = self.driver().write(journal, record).await {
            item.result = Err(RunError::Output {
                path: journal.path().to_owned(),
                source,
                job_id: item.job_id.clone(),
            });
            return item;
        }
        let provenance = Provenance {
            path: Some(unit.shown.clone()),
            size: Some(unit.size),
            sha256: Some(unit.sha256.clone()),
            request: Some(unit.identity.request.clone()),
        };
        let target = Target {
            input: Some(&unit.path),
            folder: &unit.folder,
            options: &options.run,
            replace,
            journal: Some((journal, &key)),
            provenance,
        };
        let result = self.driver().run_machine(machine, target, on_event).await;
        item.job_id = match &result {
            Ok(report) => report.outcome.job_id().cloned(),
            Err(RunError::Output { job_id, .. } | RunError::Unpack { job_id, .. }) => {
                job_id.clone()
            }
            Err(_) => None,
        }
        .or(item.job_id);
        item.result = result.map(Some);
        item
    }
}

/// The page counts of all chunks of an input, chunk `chunk`'s now `pages`.
pub(crate) fn summed(
    slots: &std::sync::Mutex<Vec<PageCounts>>,
    chunk: usize,
    pages: PageCounts,
) -> Option<PageCounts> {
    let mut slots = slots.lock().ok()?;
    if let Some(slot) = slots.get_mut(chunk) {
        *slot = pages;
    }
    Some(slots.iter().copied().sum())
}

/// One job's worth of a batch: a whole input, or one chunk of a long one.
struct Unit {
    /// The index of its input in the plan.
    index: usize,
    /// The index of its chunk, for a chunk.
    chunk: Option<usize>,
    /// The file it uploads: the input, or the chunk cut from it.
    path: PathBuf,
    /// The input, as the manifest shows it.
    shown: String,
    /// The size and SHA-256 of the file it uploads (the upload is checked
    /// against the hash).
    size: u64,
    sha256: String,
    folder: String,
    identity: Identity,
    document: Document,
}

impl Unit {
    fn whole(index: usize, input: PlannedInput) -> Unit {
        Unit {
            index,
            chunk: None,
            shown: input.path.display().to_string(),
            size: input.identity.size,
            sha256: input.identity.sha256.clone(),
            path: input.path,
            folder: input.folder,
            identity: input.identity,
            document: input.document,
        }
    }
}

/// What became of one unit.
struct UnitResult {
    done: Done,
    job_id: Option<JobId>,
    earlier_state: Option<sarvam_doc_core::model::JobState>,
    earlier_reason: Option<String>,
    result: Result<Option<Report>, RunError>,
}

/// An input that passed: its document, what preflight learned, and the key
/// the journal knows it by (its absolute path, losslessly: [`path_key`]).
type Checked = (Document, Inspection, String);

/// Checks one input: the input rule, then preflight.
fn check(path: &Path, job: Job) -> Result<Checked, String> {
    let document = crate::document(path, job).map_err(|e| match e {
        RunError::Core(e) => e.to_string(),
        other => other.to_string(),
    })?;
    let inspection = inspect(path, document.kind()).map_err(|e| e.to_string())?;
    let key = journal_key(&std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()));
    Ok((document, inspection, key))
}

/// The journal's key for `path`: its bytes, never a lossy display, so two
/// paths that differ only in bytes that are not UTF-8 are two inputs.
fn journal_key(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    // Elsewhere, the platform's own encoding (WTF-8 on Windows), which
    // tells apart every two paths too.
    #[cfg(not(unix))]
    let bytes = path.as_os_str().as_encoded_bytes();
    path_key(bytes)
}

impl<T: AsyncTransport> Client<T> {
    /// What a rerun may do beyond the journal's word: the batch's options,
    /// and the policy's `retry_unconfirmed` (the one the machine reads too).
    fn rerun(&self, options: &BatchOptions) -> Rerun {
        Rerun {
            force: options.force,
            overwrite: options.run.overwrite,
            retry_unconfirmed: self.policy().retry_unconfirmed,
            retry_failed: options.retry_failed,
        }
    }

    /// What is on disk at `folder` (inside `out_dir`), for the journal's
    /// plan: looked up off the async threads.
    async fn look(&self, out_dir: &Path, folder: &str) -> OnDisk {
        let target = out_dir.join(folder);
        self.transport()
            .blocking(move || {
                // Not followed: a link, even a dangling one, is there.
                let found = std::fs::symlink_metadata(&target);
                // Only a folder of its own holds outputs: not a link to one.
                let folder = found.as_ref().is_ok_and(std::fs::Metadata::is_dir);
                let manifest = folder
                    .then(|| read_manifest(&target.join(MANIFEST)))
                    .flatten();
                let job = |v: &serde_json::Value| v.as_str()?.parse::<JobId>().ok();
                OnDisk {
                    folder_exists: found.is_ok(),
                    manifest_job: manifest.as_ref().and_then(|m| job(m.get("job_id")?)),
                    chunk_jobs: manifest
                        .as_ref()
                        .and_then(|m| m.get("chunks")?.as_array().cloned())
                        .unwrap_or_default()
                        .iter()
                        .map(|c| c.get("job_id").and_then(job))
                        .collect(),
                    complete: manifest.as_ref().is_some_and(|m| {
                        m.get("state").and_then(|s| s.as_str()) == Some("Completed")
                    }),
                }
            })
            .await
    }
}

/// The string field `name` of the manifest at `path`, if it has one.
fn manifest_field(path: &Path, name: &str) -> Option<String> {
    Some(read_manifest(path)?.get(name)?.as_str()?.to_owned())
}

/// The most of a manifest read: a stitch of the most pages a document may
/// have lists every chunk and missing page.
const MAX_MANIFEST: u64 = 64 * 1024 * 1024;

/// The manifest at `path`, if it is one that can be read. The output folder
/// may be hostile: only a regular file is read (never through a link), and
/// at most [`MAX_MANIFEST`] of it.
fn read_manifest(path: &Path) -> Option<serde_json::Value> {
    let bytes = crate::stitch::read_bounded(path, MAX_MANIFEST).ok()?;
    serde_json::from_slice(&bytes).ok()
}
