//! The client: one-request endpoint calls, watches and runs, for any
//! transport; and its blocking face.
//!
//! - here: [`Client`], its settings, and following one job (watch, run,
//!   download).
//! - `endpoints`: the one-request endpoint calls, no retry.
//! - `concurrent`: many inputs or jobs at once (`run_all`, `watch_all`).
//! - `blocking`: [`BlockingClient`], the same client on the calling thread.

mod blocking;
mod concurrent;
mod endpoints;
mod long;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sarvam_doc_core::output::folder_name;
use sarvam_doc_core::{
    Api, Config, Document, Error, Event, GiveUpReason, JobId, Machine, Outcome, Policy, Run,
    TransportError, TransportErrorKind, Watch,
    budget::{Budget, BudgetStats, Rate},
};

use crate::clock::Clock;
use crate::exchange::Files;
use crate::job::paced;
use crate::job::{Driver, Provenance, Target};
use crate::transport::AsyncTransport;
use crate::{Report, RunError, RunOptions};

pub use blocking::BlockingClient;

/// A client of the job API over transport `T`. Cheap to clone: clones
/// share the transport (and its connection pool).
///
/// Every method that follows a job runs the core's machines and holds no
/// rule of its own; the one-request methods ([`Client::status`], …) send one
/// request and parse its answer, with no retry.
#[derive(Debug)]
pub struct Client<T> {
    transport: Arc<T>,
    api: Api,
    policy: Policy,
    /// `None`: every machine on its own (see [`Client::without_budget`]).
    budget: Option<Budget>,
    clock: Clock,
}

impl<T> Clone for Client<T> {
    /// A clone shares the transport and the request budget.
    fn clone(&self) -> Self {
        Client {
            transport: self.transport.clone(),
            api: self.api.clone(),
            policy: self.policy.clone(),
            budget: self.budget.clone(),
            clock: self.clock,
        }
    }
}

impl<T: AsyncTransport + Default> Client<T> {
    /// A client for `config` over the transport's default setup, with the
    /// default [`Policy`].
    #[must_use]
    pub fn new(config: Config) -> Self {
        Client::with_transport(config, T::default())
    }
}

impl<T: AsyncTransport> Client<T> {
    /// A client for `config` over `transport`, with the default [`Policy`].
    #[must_use]
    pub fn with_transport(config: Config, transport: T) -> Self {
        Client {
            transport: Arc::new(transport),
            api: Api::new(config),
            policy: Policy::default(),
            budget: Some(Budget::default()),
            clock: Clock::default(),
        }
    }

    /// Uses `policy` for watches and runs. Each machine still gets its own
    /// random jitter seed, so that many clients do not retry in step.
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Paces every request of this client (and its clones) to `rate`;
    /// `None`: learn the rate from 429s (the default). The budget is shared:
    /// a client made for a batch paces the whole batch.
    #[must_use]
    pub fn with_rate(mut self, rate: Option<Rate>) -> Self {
        self.budget = Some(Budget::new(rate));
        self
    }

    /// Runs the machines on `clock` (for simulations: the simulator at the
    /// same scale).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The request budget: its rate, 429s seen, and how long requests were
    /// held back.
    #[must_use]
    pub fn budget_stats(&self) -> BudgetStats {
        self.budget
            .as_ref()
            .map(|b| b.stats(self.clock.now()))
            .unwrap_or_default()
    }

    /// The clock the machines read.
    #[must_use]
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Every machine on its own: no shared budget, each job pacing and
    /// retrying for itself, as the official SDKs do. For comparisons; a
    /// batch under a rate limit is slower this way.
    #[must_use]
    pub fn without_budget(mut self) -> Self {
        self.budget = None;
        self
    }

    /// The request budget every machine of this client asks, if shared.
    pub(crate) fn budget(&self) -> Option<Budget> {
        self.budget.clone()
    }

    /// The core's request builder and parsers.
    #[must_use]
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The policy for watches and runs.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The transport.
    #[must_use]
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The drive loop over this client's transport, API and clock.
    pub(crate) fn driver(&self) -> Driver<'_, T> {
        Driver {
            transport: self.transport(),
            api: &self.api,
            clock: &self.clock,
        }
    }

    /// Follows `job` to its end, reporting events to `on_event`.
    pub async fn watch(&self, job: JobId, mut on_event: impl FnMut(&Event) + Send) -> Outcome {
        let mut watch = paced(
            Watch::new(
                self.api.clone(),
                job,
                self.machine_policy(),
                self.clock.now(),
            ),
            self.budget(),
        );
        // A bare watch writes no manifest, so it keeps no request records.
        match self
            .driver()
            .drive(&mut watch, Files::none(), &mut on_event, None, None)
            .await
        {
            Ok(outcome) => outcome,
            // A watch reads and writes no file; were it ever to fail locally, it gives up saying why.
            Err(e) => Outcome::GaveUp {
                job_id: watch.job_id().cloned(),
                reason: GiveUpReason::Refused(Error::Transport(TransportError::new(
                    TransportErrorKind::Other,
                    e.to_string(),
                ))),
                last_status: watch.last_status().cloned().map(Box::new),
            },
        }
    }

    /// Takes `input` (a `.pdf`, or a `.zip` of JPEG/PNG pages) through the
    /// whole job, leaving its outputs in `options.out_dir` as
    /// `options.layout` says, reporting events to `on_event`.
    ///
    /// Nothing is sent before the input is checked and the output folder is
    /// known to be free (or `options.overwrite`). Downloads land in a
    /// temporary folder inside the output folder; the pages are published in
    /// one rename once all are written, so a reader never sees half of them.
    ///
    /// An input over `options.page_limit` pages (10 by default) is cut into
    /// chunks of at most that many, each its own job (a few at once), and
    /// their outputs stitched into the one folder: a page file per original
    /// page, a merged document, a manifest of the chunks; the report's
    /// `chunks` and `missing_pages` say how each ended. (A batch,
    /// [`Client::run_batch`], does the same with a journal, so a rerun
    /// resumes it chunk by chunk.)
    ///
    /// # Errors
    /// [`RunError::Core`] with an input error for a file the API refuses;
    /// [`RunError::Input`] if it cannot be read; [`RunError::Output`] if an
    /// output cannot be written; [`RunError::Unpack`] if the output was
    /// refused (it is kept whole). What the server says (completed, failed,
    /// gave up) is the [`Report`]'s outcome.
    pub async fn run(
        &self,
        input: &Path,
        options: &RunOptions,
        mut on_event: impl FnMut(&Event) + Send,
    ) -> Result<Report, RunError> {
        let document = self.document(input, options).await?;
        let folder = folder_name(document.file_name());
        self.run_into(input, document, &folder, options, &mut on_event)
            .await
    }
    async fn run_into(
        &self,
        input: &Path,
        document: Document,
        folder: &str,
        options: &RunOptions,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<Report, RunError> {
        if let Some(pages) = self.pages_over_limit(input, &document, options).await {
            return self
                .run_long(input, document, folder, pages, options, on_event)
                .await;
        }
        let provenance = Provenance {
            path: Some(input.display().to_string()),
            size: Some(document.len()),
            sha256: None,
            request: Some(document.job().request_key()),
        };
        let run = paced(
            Run::new(
                self.api.clone(),
                document,
                self.machine_policy(),
                self.clock.now(),
            ),
            self.budget(),
        );
        let target = Target {
            input: Some(input),
            folder,
            options,
            replace: options.overwrite,
            journal: None,
            provenance,
        };
        self.driver().run_machine(run, target, on_event).await
    }

    /// Fetches the outputs of `job`, which must have ended, into a folder of
    /// `options.out_dir` named after its input (or the job, when the server
    /// does not say): `sarvam-doc download`. With the same safety as a run:
    /// checked, bounded, unpacked under the limits, published in one rename.
    ///
    /// # Errors
    /// As [`Client::run`]; [`RunError::Output`] when another run holds the
    /// output folder. A job that has not ended gives up at once with
    /// [`sarvam_doc_core::GiveUpReason::NotEnded`] in the report.
    pub async fn download(
        &self,
        job: JobId,
        options: &RunOptions,
        mut on_event: impl FnMut(&Event) + Send,
    ) -> Result<Report, RunError> {
        self.fetch(Watch::download, job, options, &mut on_event)
            .await
    }

    /// Follows `job` to its end, then fetches its outputs as
    /// [`Client::download`] does: `sarvam-doc wait --out`.
    ///
    /// # Errors
    /// As [`Client::run`].
    pub async fn wait_and_download(
        &self,
        job: JobId,
        options: &RunOptions,
        mut on_event: impl FnMut(&Event) + Send,
    ) -> Result<Report, RunError> {
        self.fetch(Watch::then_download, job, options, &mut on_event)
            .await
    }

    /// Runs the watch `make` builds for `job` into the folder named after
    /// the job's input, holding the output folder's lock as a batch run
    /// does: a run into that folder meanwhile is refused (it would sweep
    /// this fetch's staging folder), and so is this fetch while one runs.
    async fn fetch(
        &self,
        make: fn(Api, JobId, Policy, Instant) -> Watch,
        job: JobId,
        options: &RunOptions,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<Report, RunError> {
        let out_dir = options.out_dir.clone();
        let _lock = self
            .transport()
            .blocking(move || {
                std::fs::create_dir_all(&out_dir)?;
                crate::journal::FolderLock::take(&out_dir)
            })
            .await
            .map_err(|source| RunError::Output {
                path: options.out_dir.clone(),
                source,
                job_id: None,
            })?;
        let folder = self.folder_of(&job).await;
        let watch = paced(
            make(
                self.api.clone(),
                job,
                self.machine_policy(),
                self.clock.now(),
            ),
            self.budget(),
        );
        let target = Target {
            input: None,
            folder: &folder,
            options,
            replace: options.overwrite,
            journal: None,
            provenance: Provenance::default(),
        };
        self.driver().run_machine(watch, target, on_event).await
    }

    /// The folder a job's outputs go to: its input's stem, when the server
    /// names the input, else the job id (checked safe for a path).
    async fn folder_of(&self, job: &JobId) -> String {
        let named = self.status(job).await.ok().and_then(|status| {
            status
                .as_legacy()?
                .job_details
                .iter()
                .flat_map(|d| d.inputs.iter())
                .next()
                .map(|i| folder_name(&i.file_name))
        });
        // An opaque `/doc-ai/v1` id is made safe before it names a folder.
        named.unwrap_or_else(|| {
            sarvam_doc_core::output::safe_output_name(job.as_str())
                .unwrap_or_else(|| "job".to_owned())
        })
    }

    /// The document for `input` ([`crate::document`]), checked off the
    /// async threads.
    async fn document(&self, input: &Path, options: &RunOptions) -> Result<Document, RunError> {
        let (input, job) = (input.to_owned(), self.job_of(options));
        self.transport()
            .blocking(move || crate::document(&input, job))
            .await
    }

    /// Each machine gets its own jitter seed.
    pub(crate) fn machine_policy(&self) -> Policy {
        self.policy.clone().with_seed(fastrand::u64(..))
    }

    /// The job `options` asks for, or this client's API's default.
    pub(crate) fn job_of(&self, options: &RunOptions) -> sarvam_doc_core::model::Job {
        options.job_for(self.api.config().api_version())
    }
}
