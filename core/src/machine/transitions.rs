//! Every transition of the machines, in one place: [`Engine::advance`] for
//! an answer that says what it should, [`Engine::fail`] for one that does
//! not (through the retry table in `retry`).
//!
//! ```text
//!  phase    legacy                                      /doc-ai/v1
//!  Submit   Create ─► UploadUrl ─► Upload ─► Start      Presign ─► Upload ─► Submit
//!             (a storage 403 on Upload goes back to UploadUrl; on /doc-ai/v1 to Presign)
//!  Watch    Watching::Legacy (resumed: its first status   Watching::DocAi
//!           sends it back to UploadUrl (Accepted) or
//!           Start (Pending), else on as below)
//!  Fetch    Urls ─► Files ×n                            [Results ─►] Url ─► File
//!             (a storage 403 on a file goes back to Urls / Url)
//!  Done     Outcome (sticky: every later poll returns it; answers change nothing)
//!
//!  in Watch, by the class of the job state in each status (JobState::class):
//!    Waiting (Accepted, Pending, unknown) ─ unchanged for stall_limit? ─ yes ─► GaveUp(Stalled)
//!      │ a start was lost and the job still reads Pending after restart_after ─► Start (same job)
//!      └──────────────────────────────────────────────────────────────── no ─► poll again (cadence)
//!    Working (Running) ─ pages unchanged for progress_limit? ─ yes ─► GaveUp(NoProgress)
//!                                                            └ no ─► poll again (cadence)
//!    Ended, with output (Completed, PartiallyCompleted) ─► Fetch (a run, `wait --out`) or Done
//!    Ended, without (Failed, Rejected) ──────────────────► Done(Failed)
//!    not ended, and asked for outputs only if it had (`download`) ─► GaveUp(NotEnded)
//!
//!  any step, on an error, by the retry table (first matching row, see `retry`):
//!    a re-sent start refused (4xx) ─► the job had started: Watch
//!    Results/Url answered 409 ─► Watch (at most max_retries times)
//!    storage answered 403 ─► ask for a fresh URL (a retry: counts against the step's tries)
//!    fatal ─► GaveUp(Refused)
//!    Create, may have taken effect ─► CreateUnconfirmed, retried (an orphan is never started)
//!    Start, may have taken effect ─► StartUnconfirmed ─► Watch (never a blind second start)
//!    Submit, may have taken effect ─► GaveUp(SubmitUnconfirmed), or with retry_unconfirmed
//!                                     SubmitUnconfirmed, retried (may pay twice)
//!    otherwise ─ retries left? ─ no ─► GaveUp(RetriesExhausted)
//!                              └ yes ─► wait max(backoff, Retry-After) ─► the same step
//!      (Retry-After past the deadline or max_retry_after ─► GaveUp(RetryAfterTooLong))
//!  at any time: the deadline passes ─► GaveUp(Deadline)
//! ```

use std::collections::VecDeque;
use std::time::Instant;

use http::uri::Uri;

use super::action::{DownloadedFile, Event, WaitReason};
use super::cadence::{Next, later};
use super::engine::{Engine, FetchWhen, Mode, StartState, State};
use super::outcome::{GiveUpReason, Outcome};
use super::phase::{
    DocAiFetch, DocAiSubmit, Downloads, Fetch, LegacyFetch, LegacySubmit, PendingDownload, Phase,
    Submit, Watching,
};
use super::retry::{Decision, decide};
use crate::doc_ai::{PresignedUpload, RESULTS_FILE};
use crate::{Ending, Endpoint, Error, Job, JobId, StateClass, Status, StorageContainerType};

/// An answer that said what it should, with what the next step needs.
// A reply lives on the stack between `parse` and `advance`, once per answer:
// boxing its larger variants would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Reply {
    /// Legacy: the job was made.
    Created(JobId),
    /// Legacy: where to upload the file.
    UploadUrl {
        job: JobId,
        url: Uri,
        storage: StorageContainerType,
    },
    /// Legacy: the file is in storage.
    LegacyUploaded(JobId),
    /// Legacy: the start was taken, and the job's status then.
    Started { job: JobId, status: Status },
    /// `/doc-ai/v1`: where to upload the file.
    Presigned(Box<PresignedUpload>),
    /// `/doc-ai/v1`: the file is in storage.
    DocAiUploaded { upload_id: String },
    /// `/doc-ai/v1`: the job was made and started.
    Submitted(JobId),
    /// The job's status (`resumed`: the first status of a resumed legacy job).
    Status {
        watching: Watching,
        resumed: bool,
        status: Status,
    },
    /// The outputs to download, and the fetch step that downloads them.
    Outputs {
        job: JobId,
        queue: VecDeque<PendingDownload>,
        step: fn(Downloads) -> Fetch,
    },
    /// `/doc-ai/v1`: an extraction's results, checked and scrubbed: the
    /// document to write.
    Results { job: JobId, document: Vec<u8> },
    /// An output was saved, and what is left.
    Downloaded {
        file: PendingDownload,
        len: u64,
        rest: Option<Phase>,
    },
}

impl Engine {
    /// The one transition function for answers that said what they should.
    pub(super) fn advance(&mut self, now: Instant, reply: Reply) {
        // A fresh URL is not the end of the transfer that asked for it: a
        // storage that refuses every URL ends within the retry bound.
        let transferred = matches!(
            reply,
            Reply::LegacyUploaded(_) | Reply::DocAiUploaded { .. } | Reply::Downloaded { .. }
        );
        if !self.refreshing || transferred {
            self.failures = 0;
            self.refreshing = false;
        }
        self.ready_at = now;
        self.ready_reason = WaitReason::Poll;
        let next = match reply {
            Reply::Created(job) => {
                self.job = Some(job.clone());
                self.events.push_back(Event::JobCreated(job.clone()));
                live(Submit::Legacy(LegacySubmit::UploadUrl(job)))
            }
            Reply::UploadUrl { job, url, storage } => {
                live(Submit::Legacy(LegacySubmit::Upload { job, url, storage }))
            }
            Reply::LegacyUploaded(job) => {
                self.uploaded();
                live(Submit::Legacy(LegacySubmit::Start(job)))
            }
            Reply::Started { job, status } => {
                self.start = StartState::Settled;
                self.events.push_back(Event::Started);
                let watching = Watching::Legacy {
                    job,
                    resumed: false,
                };
                self.observe(now, watching, status)
            }
            Reply::Presigned(upload) => live(Submit::DocAi(DocAiSubmit::Upload(upload))),
            Reply::DocAiUploaded { upload_id } => {
                self.uploaded();
                live(Submit::DocAi(DocAiSubmit::Submit { upload_id }))
            }
            Reply::Submitted(job) => {
                self.job = Some(job.clone());
                self.events.push_back(Event::JobCreated(job.clone()));
                self.events.push_back(Event::Started);
                self.ready_at = later(now, self.policy.poll.min_interval);
                State::Live(Phase::Watch(Watching::DocAi { job }))
            }
            Reply::Status {
                watching,
                resumed: true,
                status,
            } => self.recheck(now, watching, status),
            Reply::Status {
                watching, status, ..
            } => self.observe(now, watching, status),
            Reply::Outputs { job, queue, step } => self.fetch_rest(job, queue, step),
            Reply::Results { job, document } => {
                self.keep_document(RESULTS_FILE, document);
                State::Live(Phase::Fetch(Fetch::DocAi(DocAiFetch::Url(job))))
            }
            Reply::Downloaded { file, len, rest } => {
                self.keep(file.name, file.server_name, len);
                match rest {
                    Some(phase) => State::Live(phase),
                    None => self.finish(),
                }
            }
        };
        self.set(next);
    }

    /// The one transition function for failures: the retry table decides.
    pub(super) fn fail(&mut self, now: Instant, error: Error) {
        let State::Live(phase) = &self.state else {
            return;
        };
        let endpoint = phase.endpoint();
        let resent = matches!(self.start, StartState::Resending { .. });
        match decide(endpoint, resent, &error) {
            Decision::GiveUp => self.give_up(GiveUpReason::Refused(error)),
            Decision::Retry => self.retry(now, endpoint, error, None),
            Decision::Refresh => {
                let fresh = phase.refreshed();
                self.refreshing |= fresh.is_some();
                self.retry(now, endpoint, error, fresh);
            }
            Decision::RetryCreate => {
                self.events.push_back(Event::CreateUnconfirmed {
                    error: error.clone(),
                });
                self.retry(now, endpoint, error, None);
            }
            Decision::Unconfirmed if !self.policy.retry_unconfirmed => {
                self.give_up(GiveUpReason::SubmitUnconfirmed(error));
            }
            Decision::Unconfirmed => {
                self.events.push_back(Event::SubmitUnconfirmed {
                    error: error.clone(),
                });
                self.retry(now, endpoint, error, None);
            }
            Decision::StartConfirmed => {
                self.start = StartState::Settled;
                self.events.push_back(Event::Started);
                self.watch_after_start(now);
            }
            Decision::WatchInstead => {
                let resends = match self.start {
                    StartState::Resending { resends } => resends,
                    _ => 0,
                };
                self.start = StartState::Unconfirmed { at: now, resends };
                self.events.push_back(Event::StartUnconfirmed { error });
                self.failures = 0;
                self.watch_after_start(now);
            }
            Decision::NotYet => self.not_yet(now, error),
        }
    }

    /// Waits (backoff, at least `Retry-After`) and sends the step again, or
    /// `then` in its place; gives up when the tries or the wait run out.
    fn retry(&mut self, now: Instant, endpoint: Endpoint, error: Error, then: Option<Phase>) {
        self.failures += 1;
        if self.failures > self.policy.retry.max_retries {
            let attempts = self.failures;
            return self.give_up(GiveUpReason::RetriesExhausted {
                attempts,
                last: error,
            });
        }
        let mut wait = self.policy.retry.backoff(self.failures, &mut self.rng);
        if let Error::Api(api) = &error
            && let Some(asked) = api.retry_after
        {
            let cap = self.policy.max_retry_after;
            let allowed = self.time_left(now).map_or(cap, |left| left.min(cap));
            if asked > allowed {
                return self.give_up(GiveUpReason::RetryAfterTooLong {
                    asked,
                    allowed,
                    error,
                });
            }
            wait = wait.max(asked);
        }
        // A backoff past the deadline waits for the deadline, which ends the machine.
        self.ready_at = self.cut_to_deadline(later(now, wait));
        self.ready_reason = WaitReason::Backoff;
        self.events.push_back(Event::Retrying {
            endpoint,
            retry: self.failures,
            after: wait,
            error,
        });
        if let Some(phase) = then {
            self.state = State::Live(phase);
        }
    }

    /// Outputs asked for, and the API said the job has not ended: the
    /// status said otherwise a moment ago. Look at the job again rather than
    /// ask blindly; a server that keeps saying both is given up on.
    fn not_yet(&mut self, now: Instant, error: Error) {
        let job = match &self.state {
            State::Live(Phase::Fetch(Fetch::DocAi(
                DocAiFetch::Results(job) | DocAiFetch::Url(job),
            ))) => job.clone(),
            _ => return self.retry(now, Endpoint::Status, error, None),
        };
        self.not_yet += 1;
        if self.not_yet > self.policy.retry.max_retries {
            let attempts = self.not_yet;
            return self.give_up(GiveUpReason::RetriesExhausted {
                attempts,
                last: error,
            });
        }
        self.cadence.forget();
        self.state = State::Live(Phase::Watch(Watching::DocAi { job }));
        let wait = self.policy.retry.backoff(self.not_yet, &mut self.rng);
        self.ready_at = self.cut_to_deadline(later(now, wait));
        self.ready_reason = WaitReason::Poll;
    }

    /// After a start (taken, or lost): watch the job, a short poll from now.
    fn watch_after_start(&mut self, now: Instant) {
        let State::Live(Phase::Submit(Submit::Legacy(LegacySubmit::Start(job)))) = &self.state
        else {
            return;
        };
        let job = job.clone();
        self.state = State::Live(Phase::Watch(Watching::Legacy {
            job,
            resumed: false,
        }));
        self.ready_at = later(now, self.policy.poll.min_interval);
        self.ready_reason = WaitReason::Poll;
    }

    /// Where a resumed legacy job goes on from, by its state now: upload if
    /// the file never arrived, start if it did (a start of a started job is
    /// refused as such, which confirms it), else watch it as it is.
    fn recheck(&mut self, now: Instant, watching: Watching, status: Status) -> State {
        let job = match &watching {
            Watching::Legacy { job, .. } => job.clone(),
            Watching::DocAi { .. } => return self.observe(now, watching, status),
        };
        match status.state() {
            crate::JobState::Accepted => {
                self.last_status = Some(Box::new(status));
                live(Submit::Legacy(LegacySubmit::UploadUrl(job)))
            }
            crate::JobState::Pending => {
                self.last_status = Some(Box::new(status));
                self.start = StartState::Resending { resends: 0 };
                live(Submit::Legacy(LegacySubmit::Start(job)))
            }
            _ => self.observe(now, watching, status),
        }
    }

    /// Takes in a status of the job `watching` follows; returns what next.
    fn observe(&mut self, now: Instant, watching: Watching, status: Status) -> State {
        let state = status.state();
        self.cadence
            .see(now, &state, status.pages(), &mut self.events);
        self.last_status = Some(Box::new(status));
        let fetch = match self.mode {
            Mode::Run(_) => FetchWhen::Ended,
            Mode::Watch(fetch) => fetch,
        };
        if let StateClass::Ended(ending) = state.class() {
            return if ending.has_output() && fetch != FetchWhen::Never {
                State::Live(Phase::Fetch(self.first_fetch(watching)))
            } else {
                self.finish()
            };
        }
        if fetch == FetchWhen::AlreadyEnded {
            return State::Done(self.gave_up(GiveUpReason::NotEnded { state }));
        }
        let lost_start = match self.start {
            StartState::Unconfirmed { at, resends } => Some((at, resends)),
            _ => None,
        };
        match self.cadence.next(now, &self.policy, lost_start) {
            Next::PollIn(wait) => {
                self.ready_at = later(now, wait);
                self.ready_reason = WaitReason::Poll;
                State::Live(Phase::Watch(watching))
            }
            Next::GiveUp(reason) => State::Done(self.gave_up(reason)),
            Next::ResendStart => match watching {
                Watching::Legacy { job, .. } => {
                    if let StartState::Unconfirmed { resends, .. } = self.start {
                        self.start = StartState::Resending {
                            resends: resends + 1,
                        };
                    }
                    self.events.push_back(Event::StartResent);
                    live(Submit::Legacy(LegacySubmit::Start(job)))
                }
                // A submit started its job: nothing to send again.
                watching @ Watching::DocAi { .. } => State::Live(Phase::Watch(watching)),
            },
        }
    }

    /// The first step that fetches an ended job's outputs.
    fn first_fetch(&self, watching: Watching) -> Fetch {
        match watching {
            Watching::Legacy { job, .. } => Fetch::Legacy(LegacyFetch::Urls(job)),
            Watching::DocAi { job } => {
                let extract = match &self.mode {
                    Mode::Run(doc) => {
                        matches!(doc.job(), Job::DocAi(task) if task.fetches_results())
                    }
                    // A watch knows the task from the status.
                    Mode::Watch(_) => self
                        .last_status
                        .as_deref()
                        .and_then(Status::as_doc_ai)
                        .is_some_and(crate::doc_ai::DocAiStatus::is_extract),
                };
                let saved = self.outputs.iter().any(|o| o.name == RESULTS_FILE);
                Fetch::DocAi(if extract && !saved {
                    DocAiFetch::Results(job)
                } else {
                    DocAiFetch::Url(job)
                })
            }
        }
    }

    /// Downloads the outputs of `queue` not fetched yet (a refreshed list
    /// holds those fetched too), or ends when there are none.
    fn fetch_rest(
        &mut self,
        job: JobId,
        mut queue: VecDeque<PendingDownload>,
        step: fn(Downloads) -> Fetch,
    ) -> State {
        queue.retain(|p| !self.outputs.iter().any(|o| o.name == p.name));
        match Downloads::of(job, queue) {
            Some(downloads) => State::Live(Phase::Fetch(step(downloads))),
            None => self.finish(),
        }
    }

    /// The input reached storage.
    fn uploaded(&mut self) {
        if let Some(doc) = self.document() {
            let event = Event::Uploaded {
                file_name: doc.file_name().to_owned(),
                len: doc.len(),
            };
            self.events.push_back(event);
        }
    }

    /// An output is in place.
    fn keep(&mut self, name: String, server_name: String, len: u64) {
        let file = DownloadedFile {
            name,
            server_name,
            len,
            document: None,
        };
        self.events.push_back(Event::Downloaded(file.clone()));
        self.outputs.push(file);
    }

    /// An output read and checked here, for the driver to write.
    fn keep_document(&mut self, name: &str, document: Vec<u8>) {
        let file = DownloadedFile {
            name: name.to_owned(),
            server_name: name.to_owned(),
            len: document.len() as u64,
            document: Some(document.into()),
        };
        self.events.push_back(Event::Downloaded(file.clone()));
        self.outputs.push(file);
    }

    /// The end of a job that ended, by how it ended, with what was
    /// downloaded.
    fn finish(&mut self) -> State {
        let Some(status) = self.last_status.as_deref().cloned() else {
            return State::Done(self.gave_up(GiveUpReason::NotEnded {
                state: crate::JobState::Accepted,
            }));
        };
        let outputs = std::mem::take(&mut self.outputs);
        State::Done(match status.state().class() {
            StateClass::Ended(Ending::Completed) => Outcome::Completed { status, outputs },
            StateClass::Ended(Ending::PartiallyCompleted) => {
                Outcome::PartiallyCompleted { status, outputs }
            }
            StateClass::Ended(Ending::Failed | Ending::Rejected) => Outcome::Failed { status },
            // Fetching starts only once the job has ended.
            StateClass::Waiting | StateClass::Working => {
                let state = status.state();
                self.gave_up(GiveUpReason::NotEnded { state })
            }
        })
    }

    /// Moves to `next`; an ended machine gives its budget place up.
    fn set(&mut self, next: State) {
        match next {
            State::Done(outcome) => {
                self.state = State::Done(outcome);
                self.leave_budget();
            }
            live => self.state = live,
        }
    }
}

fn live(submit: Submit) -> State {
    State::Live(Phase::Submit(submit))
}
