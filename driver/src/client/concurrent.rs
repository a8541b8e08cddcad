//! Many inputs or jobs at once, at most `concurrency` at a time, in this
//! task; results in the order they were given.

use std::path::PathBuf;

use futures_util::StreamExt;
use sarvam_doc_core::{Event, JobId, Outcome};

use crate::transport::AsyncTransport;
use crate::{Report, RunError, RunOptions};

use super::Client;

impl<T: AsyncTransport> Client<T> {
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
        let folders = folders(&inputs);
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
}

/// Each input's folder, distinct even when two inputs share a name (`scan`,
/// `scan-2`).
pub(super) fn folders(inputs: &[PathBuf]) -> Vec<String> {
    let mut plan = sarvam_doc_core::output::FolderPlan::default();
    inputs
        .iter()
        .map(|p| plan.assign(&p.to_string_lossy()))
        .collect()
}
