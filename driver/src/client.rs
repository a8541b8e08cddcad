//! The client: one-request endpoint calls, watches and runs, for any
//! transport; and its blocking face.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use sarvam_doc_core::http::{Request, Response};
use sarvam_doc_core::output::folder_name;
use sarvam_doc_core::{
    Api, Body, Config, Document, Error, Event, GiveUpReason, JobId, Machine, Outcome, Policy, Run,
    Sink, TransportError, TransportErrorKind, Watch,
    budget::{Budget, BudgetStats, Rate},
    config::ApiVersion,
    doc_ai::{DownloadUrl, PresignedUpload, Results, Submitted, Task},
    model::{
        CreateJobRequest, CreateJobResponse, DownloadFilesResponse, JobStatus, Status,
        UploadFilesResponse,
    },
};

use crate::clock::Clock;
use crate::exchange::{Exchanged, Files, exchange};
use crate::job::paced;
use crate::job::{Provenance, Target};
use crate::transport::{AsyncTransport, Blocking, Transport, block_on};
use crate::{Report, RunError, RunOptions};

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

    /// Creates a job (one request, no retry).
    ///
    /// # Errors
    /// Bad input (nothing sent), or the API's, protocol or transport error.
    pub async fn create_job(&self, job: &CreateJobRequest) -> Result<CreateJobResponse, Error> {
        let r = self.call(self.api.create_job(job)?).await?;
        self.api.parse_create_job(&r)
    }

    /// Asks for the upload URL of `file_name` (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn upload_files(
        &self,
        job: &JobId,
        file_name: &str,
    ) -> Result<UploadFilesResponse, Error> {
        let r = self.call(self.api.upload_files(job, file_name)?).await?;
        self.api.parse_upload_files(&r, job, file_name)
    }

    /// Starts a job (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn start(&self, job: &JobId) -> Result<JobStatus, Error> {
        let r = self.call(self.api.start(job)).await?;
        self.api.parse_start(&r, job)
    }

    /// A job's status, in the terms of the client's API (one request, no
    /// retry); the answer is checked to be about `job`.
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn status(&self, job: &JobId) -> Result<Status, Error> {
        Ok(match self.api.config().api_version() {
            ApiVersion::DocAi => {
                let r = self.call(self.api.doc_ai().status(job)).await?;
                Status::DocAi(self.api.doc_ai().parse_status(&r, job)?)
            }
            _ => {
                let r = self.call(self.api.status(job)).await?;
                Status::Legacy(self.api.parse_status(&r, job)?)
            }
        })
    }

    /// A presigned `/doc-ai/v1` upload URL (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn presign(&self, content_type: Option<&str>) -> Result<PresignedUpload, Error> {
        let r = self.call(self.api.doc_ai().presign(content_type)).await?;
        self.api.doc_ai().parse_presign(&r)
    }

    /// Makes and starts a `/doc-ai/v1` job on uploads (one request, no
    /// retry: a submit whose answer is lost may have made a job).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn submit(&self, task: &Task, upload_ids: &[&str]) -> Result<Submitted, Error> {
        let r = self
            .call(self.api.doc_ai().submit(task, upload_ids)?)
            .await?;
        self.api.doc_ai().parse_submit(&r)
    }

    /// The presigned URL of a `/doc-ai/v1` job's output (one request, no
    /// retry). A job that has not ended is a 409 [`Error::Api`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn download_url(&self, job: &JobId) -> Result<DownloadUrl, Error> {
        let r = self.call(self.api.doc_ai().download_url(job)).await?;
        self.api.doc_ai().parse_download_url(&r)
    }

    /// A `/doc-ai/v1` job's inline results (one request, no retry): its
    /// pages, or its extracted fields. A job that has not ended is a 409
    /// [`Error::Api`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn results(&self, job: &JobId) -> Result<Results, Error> {
        let r = self.call(self.api.doc_ai().results(job, None)).await?;
        self.api.doc_ai().parse_results(&r, job)
    }

    /// The download URLs of a job's outputs (one request, no retry).
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub async fn download_files(&self, job: &JobId) -> Result<DownloadFilesResponse, Error> {
        let r = self.call(self.api.download_files(job)).await?;
        self.api.parse_download_files(&r, job)
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

    /// Runs every file in `inputs` through its own job, at most
    /// `concurrency` at once, in this task; the results come back in the
    /// order of `inputs`. Each input's pages get a folder of their own, even
    /// when two inputs share a name (`scan`, `scan-2`). `on_event` gets each
    /// event with the index of its input.
    pub async fn run_all(
        &self,
        inputs: Vec<PathBuf>,
        options: &RunOptions,
        concurrency: usize,
        on_event: impl Fn(usize, &Event) + Send + Sync,
    ) -> Vec<Result<Report, RunError>> {
        let mut plan = sarvam_doc_core::output::FolderPlan::default();
        let folders: Vec<String> = inputs
            .iter()
            .map(|p| plan.assign(&p.to_string_lossy()))
            .collect();
        let on_event = &on_event;
        let mut results: Vec<(usize, Result<Report, RunError>)> =
            futures_util::stream::iter(inputs.into_iter().zip(folders).enumerate())
                .map(|(i, (input, folder))| async move {
                    let mut each = |e: &Event| on_event(i, e);
                    let result = match self.document(&input, options).await {
                        Ok(document) => {
                            self.run_into(&input, document, &folder, options, &mut each)
                                .await
                        }
                        Err(e) => Err(e),
                    };
                    (i, result)
                })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    /// Watches every job in `jobs`, at most `concurrency` at once, in this
    /// task; the outcomes come back in the order of `jobs`. `on_event` gets
    /// each event with the index of its job.
    pub async fn watch_all(
        &self,
        jobs: Vec<JobId>,
        concurrency: usize,
        on_event: impl Fn(usize, &Event) + Send + Sync,
    ) -> Vec<Outcome> {
        let on_event = &on_event;
        let mut results: Vec<(usize, Outcome)> =
            futures_util::stream::iter(jobs.into_iter().enumerate())
                .map(|(i, job)| async move { (i, self.watch(job, |e| on_event(i, e)).await) })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, o)| o).collect()
    }

    async fn run_into(
        &self,
        input: &Path,
        document: Document,
        folder: &str,
        options: &RunOptions,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<Report, RunError> {
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
        self.run_machine(run, target, on_event).await
    }

    /// Fetches the outputs of `job`, which must have ended, into a folder of
    /// `options.out_dir` named after its input (or the job, when the server
    /// does not say): `sarvam-doc download`. With the same safety as a run:
    /// checked, bounded, unpacked under the limits, published in one rename.
    ///
    /// # Errors
    /// As [`Client::run`]. A job that has not ended gives up at once with
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
    /// the job's input.
    async fn fetch(
        &self,
        make: fn(Api, JobId, Policy, Instant) -> Watch,
        job: JobId,
        options: &RunOptions,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<Report, RunError> {
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
        self.run_machine(watch, target, on_event).await
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

    /// One request with no retries, for the plain endpoint calls.
    async fn call(&self, request: Request<Body>) -> Result<Response<Vec<u8>>, Error> {
        let transmit = sarvam_doc_core::Transmit::one_shot(
            request,
            self.policy.request_timeout,
            Sink::Memory {
                limit: self.api.config().max_json_body(),
            },
        );
        match exchange(
            self.transport.as_ref(),
            &self.api,
            transmit,
            Files::none(),
            &mut |_| {},
        )
        .await
        {
            Exchanged::Answer(r) => Ok(r),
            Exchanged::Transport(e) => Err(Error::Transport(e)),
            Exchanged::Saved(..)
            | Exchanged::TooLarge(_)
            | Exchanged::Input(..)
            | Exchanged::Output(..) => Err(Error::Transport(TransportError::new(
                TransportErrorKind::Other,
                "the answer could not be read",
            ))),
        }
    }
}

/// A blocking client: the same client, run on the calling thread.
///
/// ```no_run
/// # fn demo<T: sarvam_doc_driver::Transport>(transport: T) -> Result<(), Box<dyn std::error::Error>> {
/// use sarvam_doc_core::{ApiKey, Config};
/// use sarvam_doc_driver::{BlockingClient, RunOptions};
/// let client = BlockingClient::with_transport(Config::new(ApiKey::new(std::env::var("SARVAM_API_KEY")?)?), transport);
/// let report = client.run("scan.pdf".as_ref(), &RunOptions::new("out"), |event| eprintln!("{event:?}"))?;
/// println!("{}", report.outcome);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BlockingClient<T> {
    inner: Client<Blocking<T>>,
}

impl<T> Clone for BlockingClient<T> {
    fn clone(&self) -> Self {
        BlockingClient {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Transport + Default> BlockingClient<T> {
    /// A client for `config` over the transport's default setup, with the
    /// default [`Policy`].
    #[must_use]
    pub fn new(config: Config) -> Self {
        BlockingClient::with_transport(config, T::default())
    }
}

impl<T: Transport> BlockingClient<T> {
    /// A client for `config` over `transport`, with the default [`Policy`].
    #[must_use]
    pub fn with_transport(config: Config, transport: T) -> Self {
        BlockingClient {
            inner: Client::with_transport(config, Blocking(transport)),
        }
    }

    /// Uses `policy` for watches and runs.
    #[must_use]
    pub fn with_policy(self, policy: Policy) -> Self {
        BlockingClient {
            inner: self.inner.with_policy(policy),
        }
    }

    /// See [`Client::with_rate`].
    #[must_use]
    pub fn with_rate(self, rate: Option<Rate>) -> Self {
        BlockingClient {
            inner: self.inner.with_rate(rate),
        }
    }

    /// See [`Client::without_budget`].
    #[must_use]
    pub fn without_budget(self) -> Self {
        BlockingClient {
            inner: self.inner.without_budget(),
        }
    }

    /// See [`Client::with_clock`].
    #[must_use]
    pub fn with_clock(self, clock: Clock) -> Self {
        BlockingClient {
            inner: self.inner.with_clock(clock),
        }
    }

    /// See [`Client::budget_stats`].
    #[must_use]
    pub fn budget_stats(&self) -> BudgetStats {
        self.inner.budget_stats()
    }

    /// The same client, seen through the async face (its futures finish on
    /// their first poll).
    #[must_use]
    pub fn as_async(&self) -> &Client<Blocking<T>> {
        &self.inner
    }

    /// The core's request builder and parsers.
    #[must_use]
    pub fn api(&self) -> &Api {
        self.inner.api()
    }

    /// The policy for watches and runs.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        self.inner.policy()
    }

    /// See [`Client::create_job`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn create_job(&self, job: &CreateJobRequest) -> Result<CreateJobResponse, Error> {
        block_on(self.inner.create_job(job))
    }

    /// See [`Client::upload_files`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn upload_files(&self, job: &JobId, file_name: &str) -> Result<UploadFilesResponse, Error> {
        block_on(self.inner.upload_files(job, file_name))
    }

    /// See [`Client::start`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn start(&self, job: &JobId) -> Result<JobStatus, Error> {
        block_on(self.inner.start(job))
    }

    /// See [`Client::status`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn status(&self, job: &JobId) -> Result<Status, Error> {
        block_on(self.inner.status(job))
    }

    /// See [`Client::results`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn results(&self, job: &JobId) -> Result<Results, Error> {
        block_on(self.inner.results(job))
    }

    /// See [`Client::presign`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn presign(&self, content_type: Option<&str>) -> Result<PresignedUpload, Error> {
        block_on(self.inner.presign(content_type))
    }

    /// See [`Client::submit`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn submit(&self, task: &Task, upload_ids: &[&str]) -> Result<Submitted, Error> {
        block_on(self.inner.submit(task, upload_ids))
    }

    /// See [`Client::download_url`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn download_url(&self, job: &JobId) -> Result<DownloadUrl, Error> {
        block_on(self.inner.download_url(job))
    }

    /// See [`Client::download_files`].
    ///
    /// # Errors
    /// As [`Client::create_job`].
    pub fn download_files(&self, job: &JobId) -> Result<DownloadFilesResponse, Error> {
        block_on(self.inner.download_files(job))
    }

    /// See [`Client::watch`].
    pub fn watch(&self, job: JobId, on_event: impl FnMut(&Event) + Send) -> Outcome {
        block_on(self.inner.watch(job, on_event))
    }

    /// See [`Client::run`].
    ///
    /// # Errors
    /// As [`Client::run`].
    pub fn run(
        &self,
        input: &Path,
        options: &RunOptions,
        on_event: impl FnMut(&Event) + Send,
    ) -> Result<Report, RunError> {
        block_on(self.inner.run(input, options, on_event))
    }

    /// See [`Client::run_all`]: here `concurrency` threads of this process
    /// share the inputs.
    pub fn run_all(
        &self,
        inputs: Vec<PathBuf>,
        options: &RunOptions,
        concurrency: usize,
        on_event: impl Fn(usize, &Event) + Send + Sync,
    ) -> Vec<Result<Report, RunError>> {
        let mut plan = sarvam_doc_core::output::FolderPlan::default();
        let work: Vec<(PathBuf, String)> = inputs
            .into_iter()
            .map(|p| {
                let folder = plan.assign(&p.to_string_lossy());
                (p, folder)
            })
            .collect();
        let on_event = &on_event;
        self.in_threads(work, concurrency, |i, (input, folder)| {
            block_on(async {
                let mut each = |e: &Event| on_event(i, e);
                let document = crate::document(input, self.inner.job_of(options))?;
                self.inner
                    .run_into(input, document, folder, options, &mut each)
                    .await
            })
        })
    }

    /// See [`Client::watch_all`]: here `concurrency` threads of this process
    /// share the jobs.
    pub fn watch_all(
        &self,
        jobs: Vec<JobId>,
        concurrency: usize,
        on_event: impl Fn(usize, &Event) + Send + Sync,
    ) -> Vec<Outcome> {
        let on_event = &on_event;
        self.in_threads(jobs, concurrency, |i, job| {
            self.watch(job.clone(), |e| on_event(i, e))
        })
    }

    /// Runs `work` over `items` on `concurrency` scoped threads, keeping order.
    fn in_threads<I: Sync, R: Send>(
        &self,
        items: Vec<I>,
        concurrency: usize,
        work: impl Fn(usize, &I) -> R + Sync,
    ) -> Vec<R> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: std::sync::Mutex<Vec<Option<R>>> =
            std::sync::Mutex::new((0..items.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..concurrency.clamp(1, items.len().max(1)) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let r = work(i, item);
                        if let Ok(mut results) = results.lock() {
                            results[i] = Some(r);
                        }
                    }
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .into_iter()
            .flatten()
            .collect()
    }
}
