//! One machine run into one output folder: the loop, the journal hooks, the
//! record of every request, the manifest, and publishing. Every way of
//! running a job (a run, a resumed run, a download, a wait) comes here.

use std::path::{Path, PathBuf};

use sarvam_doc_core::Api;
use sarvam_doc_core::journal::Record;
use sarvam_doc_core::time::OffsetDateTime;
use sarvam_doc_core::time::format_description::well_known::Rfc3339;
use sarvam_doc_core::{Action, Event, JobId, Machine, Outcome, api::Endpoint};
use serde_json::json;

use tracing::Instrument;

use crate::clock::Clock;
use crate::exchange::{Exchanged, Files, exchange};
use crate::journal::JournalFile;
use crate::record::RequestRecord;
use crate::staging::Staging;
use crate::transport::AsyncTransport;
use crate::unpack::{Cancel, CancelOnDrop, Unpacked, publish_zips, unpack_and_publish};
use crate::{Layout, Report, RunError, RunOptions};

/// The most request records a report keeps (a day of polls at the slowest
/// cadence is fewer).
const MAX_REQUESTS: usize = 10_000;

/// What the manifest says of the input.
#[derive(Clone, Debug, Default)]
pub(crate) struct Provenance {
    pub(crate) path: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) sha256: Option<String>,
    pub(crate) request: Option<String>,
}

/// Where a job's outputs go, and how.
pub(crate) struct Target<'a> {
    pub(crate) input: Option<&'a Path>,
    pub(crate) folder: &'a str,
    pub(crate) options: &'a RunOptions,
    /// Whether an existing folder may be replaced (asked for, or the
    /// journal's own from an earlier run).
    pub(crate) replace: bool,
    pub(crate) journal: Option<(&'a JournalFile, &'a str)>,
    pub(crate) provenance: Provenance,
}

/// What the drive loop needs of a client: its transport, its API and its
/// clock. Every way of running a job drives through one.
pub(crate) struct Driver<'c, T> {
    pub(crate) transport: &'c T,
    pub(crate) api: &'c Api,
    pub(crate) clock: &'c Clock,
}

impl<T: AsyncTransport> Driver<'_, T> {
    /// Runs `machine` to its end with its outputs going to `target`.
    pub(crate) async fn run_machine<M: Machine + Send>(
        &self,
        mut machine: M,
        target: Target<'_>,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<Report, RunError> {
        let out_dir = &target.options.out_dir;
        let folder = out_dir.join(target.folder);
        let out_err = |path: PathBuf, source| RunError::Output {
            path,
            source,
            job_id: None,
        };
        // The folder checks and the staging folder, off the async threads.
        let refuse_existing = target.options.layout == Layout::Pages && !target.replace;
        let staged = {
            let (out_dir, folder) = (out_dir.clone(), folder.clone());
            // Beside the folder, so it is published in one rename: in the
            // output folder, or in a chunks' folder the batch made.
            let parent = folder
                .parent()
                .map_or_else(|| out_dir.clone(), Path::to_path_buf);
            self.transport
                .blocking(move || {
                    std::fs::create_dir_all(&out_dir).map_err(|e| (out_dir.clone(), e))?;
                    if refuse_existing && std::fs::symlink_metadata(&folder).is_ok() {
                        return Err((folder, std::io::ErrorKind::AlreadyExists.into()));
                    }
                    Staging::new(&parent).map_err(|e| (parent, e))
                })
                .await
        };
        let staging = staged.map_err(|(path, e)| out_err(path, e))?;
        let files = Files {
            input: target.input,
            sha256: target.provenance.sha256.as_deref(),
            out_dir: staging.path(),
            overwrite: false,
        };
        let mut requests = Vec::new();
        let drove = self
            .drive(
                &mut machine,
                files,
                on_event,
                target.journal,
                Some(&mut requests),
            )
            .await;
        let outcome = match drove {
            Ok(outcome) => outcome,
            Err(e) => {
                // Removing the staging folder is file work too.
                self.transport.blocking(move || drop(staging)).await;
                self.stopped(&target, machine.job_id(), &e.to_string())
                    .await;
                return Err(e);
            }
        };
        let job_id = outcome.job_id().cloned();
        // The outputs the machine read and checked itself are written here.
        let documents: Vec<(PathBuf, Vec<u8>)> = outcome
            .outputs()
            .iter()
            .filter_map(|o| Some((staging.path().join(&o.name), o.document()?.to_vec())))
            .collect();
        if !documents.is_empty() {
            let written = self
                .transport
                .blocking(move || {
                    for (path, bytes) in documents {
                        write_document(&path, &bytes).map_err(|e| (path, e))?;
                    }
                    Ok::<_, (PathBuf, std::io::Error)>(())
                })
                .await;
            if let Err((path, source)) = written {
                self.transport.blocking(move || drop(staging)).await;
                let e = RunError::Output {
                    path,
                    source,
                    job_id: job_id.clone(),
                };
                self.stopped(&target, job_id.as_ref(), &e.to_string()).await;
                return Err(e);
            }
        }
        let zips: Vec<PathBuf> = outcome
            .outputs()
            .iter()
            .map(|o| staging.path().join(&o.name))
            .collect();
        if zips.is_empty() {
            self.transport.blocking(move || drop(staging)).await;
            if let Outcome::GaveUp { reason, .. } = &outcome {
                if reason.ends_job(job_id.is_some()) {
                    self.refused(&target, job_id.as_ref(), &reason.to_string())
                        .await;
                } else {
                    self.stopped(&target, job_id.as_ref(), &reason.to_string())
                        .await;
                }
            }
            return Ok(Report {
                outcome,
                output: Vec::new(),
                requests,
                chunks: Vec::new(),
                missing_pages: Vec::new(),
            });
        }
        let published = match target.options.layout {
            Layout::Zips => {
                let (out, overwrite) = (out_dir.clone(), target.options.overwrite);
                self.transport
                    .blocking(move || {
                        let placed = publish_zips(&zips, &out, overwrite);
                        drop(staging);
                        placed
                    })
                    .await
                    .map_err(|(path, source)| RunError::Output {
                        path,
                        source,
                        job_id: job_id.clone(),
                    })
            }
            Layout::Pages => {
                let manifest = manifest(&outcome, &target.provenance, &requests);
                let cancel = Cancel::default();
                let mut guard = CancelOnDrop(Some(cancel.clone()));
                let (to, replace, limits) = (folder.clone(), target.replace, target.options.unpack);
                let unpacked = self
                    .transport
                    .blocking(move || {
                        // The staging folder is owned here, so it is removed
                        // when this ends, however it ends.
                        unpack_and_publish(
                            &zips,
                            staging.path(),
                            &to,
                            replace,
                            limits,
                            &manifest,
                            &cancel,
                        )
                    })
                    .await;
                guard.0 = None;
                match unpacked {
                    Unpacked::Published => Ok(vec![folder.clone()]),
                    Unpacked::Refused { raw, error } => Err(RunError::Unpack {
                        job_id: job_id.clone(),
                        raw,
                        error,
                        status: outcome.status().cloned().map(Box::new),
                    }),
                    Unpacked::Failed { path, error } => Err(RunError::Output {
                        path,
                        source: error,
                        job_id: job_id.clone(),
                    }),
                    Unpacked::Cancelled => Err(RunError::Output {
                        path: folder.clone(),
                        source: std::io::ErrorKind::Interrupted.into(),
                        job_id: job_id.clone(),
                    }),
                }
            }
        };
        match published {
            Ok(output) => {
                self.published(&target, job_id.as_ref()).await?;
                Ok(Report {
                    outcome,
                    output,
                    requests,
                    chunks: Vec::new(),
                    missing_pages: Vec::new(),
                })
            }
            Err(e @ RunError::Unpack { .. }) => {
                // The refused download is kept in place: published, as it is.
                self.published(&target, job_id.as_ref()).await?;
                Err(e)
            }
            Err(e) => {
                self.stopped(&target, job_id.as_ref(), &e.to_string()).await;
                Err(e)
            }
        }
    }

    /// The loop every machine runs in: the same for watches and runs, for
    /// every transport. With a journal, each event that a rerun needs is on
    /// disk before the next request goes out.
    ///
    /// It runs in a `sarvam_doc.job` span (the input file, the job id once
    /// known) around the span of each request, and logs each step at info.
    pub(crate) async fn drive<M: Machine + Send>(
        &self,
        machine: &mut M,
        files: Files<'_>,
        on_event: &mut (dyn FnMut(&Event) + Send),
        journal: Option<(&JournalFile, &str)>,
        requests: Option<&mut Vec<RequestRecord>>,
    ) -> Result<Outcome, RunError> {
        let span = tracing::info_span!(
            "sarvam_doc.job",
            input = files.input.map(|p| p.display().to_string()),
            job_id = machine.job_id().map(tracing::field::display),
        );
        // Boxed: the span-wrapped future stays one pointer in a watch.
        Box::pin(
            self.drive_steps(machine, files, on_event, journal, requests)
                .instrument(span),
        )
        .await
    }

    async fn drive_steps<M: Machine + Send>(
        &self,
        machine: &mut M,
        files: Files<'_>,
        on_event: &mut (dyn FnMut(&Event) + Send),
        journal: Option<(&JournalFile, &str)>,
        mut requests: Option<&mut Vec<RequestRecord>>,
    ) -> Result<Outcome, RunError> {
        loop {
            match machine.poll(self.clock.now()) {
                Action::Event(event) => {
                    if let Some((file, path)) = journal
                        && let Some(record) = record_of(&event, path, machine.job_id())
                    {
                        // Boxed, as a request is: only a run with a journal pays.
                        Box::pin(self.write(file, record)).await.map_err(|source| {
                            RunError::Output {
                                path: file.path().to_owned(),
                                source,
                                job_id: machine.job_id().cloned(),
                            }
                        })?;
                    }
                    log_step(&event);
                    on_event(&event);
                }
                Action::Transmit(mut transmit) => {
                    let (attempt, endpoint) = (transmit.attempt, transmit.endpoint());
                    // The machine's times are on its clock; the transport's are real.
                    transmit.timeout = self.clock.real_duration(transmit.timeout);
                    transmit.idle = self.clock.real_duration(transmit.idle);
                    // Boxed: a request's state takes heap only while it is in
                    // flight, so thousands of waiting watches stay small.
                    let exchanged = Box::pin(exchange(
                        self.transport,
                        self.api,
                        transmit,
                        files,
                        &mut *on_event,
                    ))
                    .await;
                    if let Some(requests) = requests.as_deref_mut()
                        && requests.len() < MAX_REQUESTS
                    {
                        requests.push(record(self.api, endpoint, attempt.get(), &exchanged));
                    }
                    match exchanged {
                        Exchanged::Answer(r) => {
                            machine.handle_response(self.clock.now(), attempt, r)
                        }
                        Exchanged::Saved(_, len) => {
                            machine.handle_saved(self.clock.now(), attempt, len)
                        }
                        Exchanged::Transport(e) => {
                            machine.handle_transport_error(self.clock.now(), attempt, e);
                        }
                        Exchanged::TooLarge(n) => {
                            machine.handle_too_large(self.clock.now(), attempt, n)
                        }
                        Exchanged::Input(path, source) => {
                            return Err(RunError::Input { path, source });
                        }
                        Exchanged::Output(path, source) => {
                            return Err(RunError::Output {
                                path,
                                source,
                                job_id: machine.job_id().cloned(),
                            });
                        }
                    }
                }
                Action::Wait { until, .. } => {
                    self.transport
                        .sleep_until(self.clock.real_instant(until))
                        .await;
                }
                Action::Done(outcome) => {
                    match &outcome {
                        Outcome::GaveUp { reason, .. } => {
                            tracing::warn!(reason = %reason, "gave up");
                        }
                        ended => tracing::info!(outcome = ended.kind(), "ended"),
                    }
                    return Ok(outcome);
                }
            }
        }
    }

    /// Writes a journal record and syncs it, off the async threads.
    pub(crate) async fn write(&self, file: &JournalFile, record: Record) -> std::io::Result<()> {
        let file = file.clone();
        self.transport.blocking(move || file.append(&record)).await
    }

    async fn published(&self, target: &Target<'_>, job: Option<&JobId>) -> Result<(), RunError> {
        if let (Some((file, path)), Some(job)) = (target.journal, job) {
            let record = Record::Published {
                path: path.to_owned(),
                job_id: job.clone(),
                folder: target.folder.to_owned(),
            };
            self.write(file, record)
                .await
                .map_err(|source| RunError::Output {
                    path: file.path().to_owned(),
                    source,
                    job_id: Some(job.clone()),
                })?;
        }
        Ok(())
    }

    async fn refused(&self, target: &Target<'_>, job: Option<&JobId>, reason: &str) {
        if let Some((file, path)) = target.journal {
            let record = Record::Refused {
                path: path.to_owned(),
                job_id: job.cloned(),
                reason: reason.chars().take(500).collect(),
            };
            // Best effort, as a stop is: without it a rerun tries again.
            let _ = self.write(file, record).await;
        }
    }

    async fn stopped(&self, target: &Target<'_>, job: Option<&JobId>, reason: &str) {
        if let Some((file, path)) = target.journal {
            let record = Record::Stopped {
                path: path.to_owned(),
                job_id: job.cloned(),
                reason: reason.chars().take(500).collect(),
            };
            // Best effort: the run is stopping anyway, and says why.
            let _ = self.write(file, record).await;
        }
    }
}

/// Writes an output the machine read itself into the staging folder: a
/// new file, synced.
fn write_document(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create_new(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The journal record an event means, if it means one.
fn record_of(event: &Event, path: &str, job: Option<&JobId>) -> Option<Record> {
    let path = path.to_owned();
    let job_id = job.cloned();
    Some(match event {
        Event::Sending {
            endpoint: Endpoint::CreateJob,
        } => Record::Creating { path },
        Event::Sending { .. } => Record::Starting { path, job_id },
        Event::CreateUnconfirmed { .. } => Record::CreateLost { path },
        Event::JobCreated(id) => Record::Created {
            path,
            job_id: id.clone(),
        },
        Event::Uploaded { .. } => Record::Uploaded {
            path,
            job_id: job_id?,
        },
        Event::Started => Record::Started {
            path,
            job_id: job_id?,
        },
        Event::StateChanged { to, .. } if to.is_terminal() => Record::Ended {
            path,
            job_id: job_id?,
            state: to.clone(),
        },
        _ => return None,
    })
}

/// `machine`, asking `budget` before each request, if there is one.
pub(crate) fn paced<M: Machine>(machine: M, budget: Option<sarvam_doc_core::budget::Budget>) -> M {
    match budget {
        Some(budget) => machine.with_budget(budget),
        None => machine,
    }
}

/// What the manifest keeps of one exchange.
fn record(
    api: &Api,
    endpoint: Option<Endpoint>,
    attempt: u64,
    exchanged: &Exchanged,
) -> RequestRecord {
    let at = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let endpoint = endpoint.map_or("other", Endpoint::name);
    match exchanged {
        Exchanged::Answer(r) | Exchanged::Saved(r, _) => RequestRecord {
            endpoint,
            attempt,
            status: Some(r.status().as_u16()),
            request_id: api.request_id(r.headers()),
            error: None,
            at,
        },
        other => RequestRecord {
            endpoint,
            attempt,
            status: None,
            request_id: None,
            error: Some(match other {
                Exchanged::Transport(e) => e.to_string(),
                Exchanged::TooLarge(n) => format!("stopped at {n} bytes, over its bound"),
                _ => "a local file could not be used".to_owned(),
            }),
            at,
        },
    }
}

/// The manifest of an output: provenance a pipeline can read. Unpacking
/// adds `refused` when it keeps the download instead of the pages.
pub(crate) fn manifest(
    outcome: &Outcome,
    provenance: &Provenance,
    requests: &[RequestRecord],
) -> serde_json::Value {
    let status = outcome.status();
    let value = json!({
        "job_id": outcome.job_id().map(ToString::to_string),
        "api": status.map(|s| match s {
            sarvam_doc_core::model::Status::DocAi(_) => "doc-ai",
            _ => "legacy",
        }),
        "state": status.map(|s| s.state().to_string()),
        "input": {
            "path": provenance.path,
            "size": provenance.size,
            "sha256": provenance.sha256,
        },
        "request": provenance.request,
        "pages": status.map(sarvam_doc_core::model::Status::pages),
        "page_errors": status.map(|s| s.page_errors().collect::<Vec<_>>()),
        "created_at": status.map(|s| match s {
            sarvam_doc_core::model::Status::Legacy(s) => s.created_at.format(&Rfc3339).unwrap_or_default(),
            sarvam_doc_core::model::Status::DocAi(s) => s.created_at.clone(),
            _ => String::new(),
        }),
        "updated_at": status.map(|s| match s {
            sarvam_doc_core::model::Status::Legacy(s) => s.updated_at.format(&Rfc3339).unwrap_or_default(),
            sarvam_doc_core::model::Status::DocAi(s) => s.updated_at.clone(),
            _ => String::new(),
        }),
        "outputs": outcome.outputs().iter().map(|o| json!({"name": o.name, "server_name": o.server_name, "bytes": o.len})).collect::<Vec<_>>(),
        "requests": requests,
        "refused": null,
        "written_at": OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        "client": concat!("sarvam-doc/", env!("CARGO_PKG_VERSION")),
    });
    value
}

/// Logs a step of a job, in the job's span (and records the job id on it
/// once the job exists). Retries are warnings: a pipeline alerts on them.
fn log_step(event: &Event) {
    match event {
        Event::JobCreated(id) => {
            tracing::Span::current().record("job_id", tracing::field::display(id));
            tracing::info!("job created");
        }
        Event::Uploaded { file_name, len } => {
            tracing::info!(file_name = %file_name, bytes = len, "uploaded");
        }
        Event::Started => tracing::info!("started"),
        Event::StateChanged { to, .. } => tracing::info!(state = %to, "state changed"),
        Event::Pages(p) => tracing::debug!(
            total = p.total,
            processed = p.processed,
            failed = p.failed,
            "pages"
        ),
        Event::Retrying {
            endpoint,
            retry,
            after,
            error,
        } => tracing::warn!(
            endpoint = endpoint.name(),
            retry,
            after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
            request_id = error.request_id(),
            error = %error.brief(),
            "request failed; trying again"
        ),
        Event::CreateUnconfirmed { error }
        | Event::StartUnconfirmed { error }
        | Event::SubmitUnconfirmed { error } => tracing::warn!(
            request_id = error.request_id(),
            error = %error.brief(),
            "no answer; it may have gone through"
        ),
        Event::Downloaded(o) => tracing::info!(file_name = %o.name, bytes = o.len, "downloaded"),
        _ => {}
    }
}
