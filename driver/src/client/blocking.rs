//! The blocking face: the same client, run on the calling thread.

use std::path::{Path, PathBuf};

use sarvam_doc_core::{
    Api, Config, Error, Event, JobId, Outcome, Policy,
    budget::{BudgetStats, Rate},
    doc_ai::{DownloadUrl, PresignedUpload, Results, Submitted, Task},
    model::{
        CreateJobRequest, CreateJobResponse, DownloadFilesResponse, JobStatus, Status,
        UploadFilesResponse,
    },
};

use crate::clock::Clock;
use crate::transport::{Blocking, Transport, block_on};
use crate::{Report, RunError, RunOptions};

use super::Client;

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
        let folders = super::concurrent::folders(&inputs);
        let work: Vec<(PathBuf, String)> = inputs.into_iter().zip(folders).collect();
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
