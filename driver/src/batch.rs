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
use sarvam_doc_core::output::FolderPlan;
use sarvam_doc_core::{Document, Event, JobId, Run, model::Job};

use crate::job::{Provenance, Target, paced};
use crate::journal::JournalFile;
use crate::preflight::{Inspection, inspect};
use crate::transport::AsyncTransport;
use crate::unpack::MANIFEST;
use crate::{Client, Report, RunError, RunOptions};

/// What a batch asks for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BatchOptions {
    /// Where outputs go, the job to make, and the unpack limits.
    pub run: RunOptions,
    /// Make a new job for every input, whatever the journal says.
    pub force: bool,
    /// Pages a document may have before it gets a warning (the API's limit;
    /// its sources say 10, or 500). `None`: no check.
    pub page_limit: Option<u32>,
    /// Refuse a document over `page_limit` instead of warning.
    pub strict_pages: bool,
}

impl BatchOptions {
    /// A batch into `run.out_dir`, warning above 10 pages.
    #[must_use]
    pub fn new(run: RunOptions) -> Self {
        BatchOptions {
            run,
            force: false,
            page_limit: Some(10),
            strict_pages: false,
        }
    }

    /// Making new jobs whatever the journal says, or not.
    #[must_use]
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// With this page limit, warning or (`strict`) refusing above it.
    #[must_use]
    pub fn with_page_limit(mut self, limit: Option<u32>, strict: bool) -> Self {
        self.page_limit = limit;
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
    /// A warning to show (over the page limit).
    pub warning: Option<String>,
    document: Document,
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
        self.inputs
            .iter()
            .filter(|i| matches!(i.plan, Plan::New { .. } | Plan::Resume { .. }))
            .map(|i| u64::from(i.pages))
            .sum()
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
    /// The report of what ran (none for a skipped input), or the error.
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
            let on_disk = self.look(&out_dir, &folder).await;
            let plan = journal.plan(&identity, &folder, &on_disk, self.rerun(options));
            let mut warning = None;
            if let Some(limit) = options.page_limit
                && inspection.pages > limit
            {
                let why = format!(
                    "it has {} pages, over the limit of {limit} a job is documented to take",
                    inspection.pages
                );
                if options.strict_pages {
                    refused.push((path, format!("{why} (--strict-pages); split it")));
                    continue;
                }
                warning = Some(format!("{why}; the server may refuse it"));
            }
            let plan = match plan {
                Ok(plan) => plan,
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

    /// Carries out `plan`, at most `concurrency` inputs at once, in this
    /// task; the items come back in the order of the plan. `on_event` gets
    /// each event with the index of its input.
    ///
    /// It first takes the output folder (its journal's lock) and settles each
    /// input's plan on the journal as it is now, so a run that raced this
    /// one since the plan never makes a job twice.
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
        let on_event = &on_event;
        let mut items: Vec<(usize, BatchItem)> =
            futures_util::stream::iter(plan.inputs.into_iter().enumerate())
                .map(|(i, input)| async move {
                    let mut each = |e: &Event| on_event(i, e);
                    (
                        i,
                        self.run_planned(input, records, options, journal, &mut each)
                            .await,
                    )
                })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        items.sort_by_key(|(i, _)| *i);
        Ok(items.into_iter().map(|(_, item)| item).collect())
    }

    /// Settles `input`'s plan on the journal as it is now (`records`) and
    /// the folder as it is now, and carries it out.
    async fn run_planned(
        &self,
        mut input: PlannedInput,
        records: &Journal,
        options: &BatchOptions,
        journal: &JournalFile,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> BatchItem {
        let mut item = BatchItem {
            path: input.path.clone(),
            folder: input.folder.clone(),
            pages: input.pages,
            done: Done::Ran,
            job_id: None,
            earlier_state: None,
            result: Ok(None),
        };
        let out_dir = &options.run.out_dir;
        let on_disk = self.look(out_dir, &input.folder).await;
        match records.plan(
            &input.identity,
            &input.folder,
            &on_disk,
            self.rerun(options),
        ) {
            Ok(plan) => input.plan = plan,
            Err(why) => {
                tracing::warn!(folder = %input.folder, "{why}");
                item.result = Err(RunError::Output {
                    path: out_dir.join(&input.folder),
                    source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, why),
                    job_id: None,
                });
                return item;
            }
        }
        let (machine, replace) = match &input.plan {
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
                return item;
            }
            Plan::Unconfirmed => {
                item.done = Done::Unconfirmed;
                return item;
            }
            Plan::New { replaces } => {
                let replace =
                    options.run.overwrite || replaces.as_deref() == Some(input.folder.as_str());
                let run = paced(
                    Run::new(
                        self.api().clone(),
                        input.document,
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
                        input.document,
                        job.clone(),
                        self.machine_policy(),
                        self.clock().now(),
                    ),
                    self.budget(),
                );
                (run, true)
            }
        };
        let key = input.identity.path.clone();
        let record = Record::Input {
            input: input.identity.clone(),
            folder: input.folder.clone(),
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
            path: Some(input.path.display().to_string()),
            size: Some(input.identity.size),
            sha256: Some(input.identity.sha256.clone()),
            request: Some(input.identity.request.clone()),
        };
        let target = Target {
            input: Some(&input.path),
            folder: &input.folder,
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
                OnDisk {
                    folder_exists: found.is_ok(),
                    manifest_job: folder
                        .then(|| manifest_field(&target.join(MANIFEST), "job_id"))
                        .flatten()
                        .and_then(|job| job.parse().ok()),
                }
            })
            .await
    }
}

/// The string field `name` of the manifest at `path`, if it has one. The
/// output folder may be hostile: only a regular file is read, and at most
/// 1 MiB of it.
fn manifest_field(path: &Path, name: &str) -> Option<String> {
    use std::io::Read;
    if !std::fs::symlink_metadata(path).ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(1024 * 1024)
        .read_to_end(&mut bytes)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some(value.get(name)?.as_str()?.to_owned())
}
