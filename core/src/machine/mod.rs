//! The job state machines: [`Watch`] one job to its end, or [`Run`] one file
//! through the whole job. Both are driven through the [`Machine`] trait.
//!
//! - `action`: what a machine asks of its driver ([`Action`], [`Transmit`],
//!   [`Sink`]) and what it reports ([`Event`]).
//! - `outcome`: how it ends ([`Outcome`], [`GiveUpReason`]).
//! - `phase`: where a machine is (submit, watch, fetch; one sum type per API).
//! - `transitions`: every transition, beside its diagram.
//! - `retry`: the retry table, as data.
//! - `cadence`: the polling cadence, the stall and no-progress limits.
//! - `requests`: each phase's request and the parse of its answer.
//! - `engine`: what is in flight, the deadline, the budget, the inputs.

mod action;
mod cadence;
mod engine;
mod outcome;
mod phase;
mod requests;
mod retry;
mod transitions;

use std::time::Instant;

use http::Response;

pub use action::{Action, Attempt, Direction, DownloadedFile, Event, Sink, Transmit, WaitReason};
use engine::{Engine, FetchWhen};
pub use outcome::{GiveUpReason, Outcome};

use crate::{Api, Budget, Document, Error, JobId, Policy, Status, TransportError};

/// How a driver runs a machine ([`Watch`] or [`Run`]): the whole loop is
/// `poll`, then one of the `handle_*` inputs for each [`Action::Transmit`].
///
/// ```text
/// loop {
///     match machine.poll(now) {
///         Action::Event(e)     => report e (a journal first), poll again
///         Action::Transmit(t)  => send t.request within t.timeout (t.idle between chunks), then
///                                 Sink::Memory, or Sink::File not 2xx: handle_response(now, t.attempt, answer)
///                                 Sink::File, 2xx, saved n bytes:      handle_saved(now, t.attempt, n)
///                                 Sink::File, past its max_len at n:   handle_too_large(now, t.attempt, n)
///                                 no answer (connect, timeout, other): handle_transport_error(now, t.attempt, e)
///         Action::Wait { until, .. } => sleep until `until` (or an answer), poll again
///         Action::Done(outcome) => return outcome (every later poll returns it again)
///     }
/// }
/// ```
pub trait Machine {
    /// What to do next, at `now`: an event to report, a request to send, a
    /// wait, or the end. Sends nothing twice: while a request is in flight
    /// this says to wait for it.
    fn poll(&mut self, now: Instant) -> Action;

    /// The answer to `attempt`: for a [`Sink::Memory`] request, any answer;
    /// for a [`Sink::File`] request, an answer outside 2xx (its body read
    /// into memory up to `error_limit`).
    fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        attempt: Attempt,
        response: Response<B>,
    );

    /// The 2xx body of `attempt`, a [`Sink::File`] request, is saved: `len`
    /// bytes, in place.
    fn handle_saved(&mut self, now: Instant, attempt: Attempt, len: u64);

    /// `attempt` could not be completed.
    fn handle_transport_error(&mut self, now: Instant, attempt: Attempt, error: TransportError);

    /// The body of `attempt`'s [`Sink::File`] passed its `max_len`; the
    /// driver stopped at `received` bytes and wrote nothing.
    fn handle_too_large(&mut self, now: Instant, attempt: Attempt, received: u64);

    /// Asks `budget` (shared by every machine of a client) before each
    /// request to the API; while it says wait, the machine waits
    /// ([`WaitReason::Budget`]), within its deadline.
    #[must_use]
    fn with_budget(self, budget: Budget) -> Self
    where
        Self: Sized;

    /// The job's id, once known.
    fn job_id(&self) -> Option<&JobId>;

    /// The last status seen.
    fn last_status(&self) -> Option<&Status>;

    /// The outcome, once done.
    fn outcome(&self) -> Option<&Outcome>;

    /// Whether the machine has ended.
    fn is_done(&self) -> bool {
        self.outcome().is_some()
    }
}

macro_rules! machine {
    ($t:ident) => {
        impl Machine for $t {
            fn poll(&mut self, now: Instant) -> Action {
                self.0.poll(now)
            }
            fn handle_response<B: AsRef<[u8]>>(
                &mut self,
                now: Instant,
                attempt: Attempt,
                response: Response<B>,
            ) {
                self.0.handle_response(now, attempt, &response);
            }
            fn handle_saved(&mut self, now: Instant, attempt: Attempt, len: u64) {
                self.0.handle_saved(now, attempt, len);
            }
            fn handle_transport_error(
                &mut self,
                now: Instant,
                attempt: Attempt,
                error: TransportError,
            ) {
                self.0.handle_error(now, attempt, Error::Transport(error));
            }
            fn handle_too_large(&mut self, now: Instant, attempt: Attempt, received: u64) {
                self.0.handle_too_large(now, attempt, received);
            }
            fn with_budget(mut self, budget: Budget) -> Self {
                self.0.set_budget(budget);
                self
            }
            fn job_id(&self) -> Option<&JobId> {
                self.0.job_id()
            }
            fn last_status(&self) -> Option<&Status> {
                self.0.last_status.as_deref()
            }
            fn outcome(&self) -> Option<&Outcome> {
                self.0.outcome()
            }
        }
    };
}

/// Watches one job until it reaches a terminal state.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sarvam_doc_core::{Action, Api, ApiKey, Config, Event, Machine, Outcome, Policy, Watch};
///
/// let api = Api::new(Config::new(ApiKey::new("sk_test")?));
/// let job = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
/// let start = Instant::now();
/// let mut watch = Watch::new(api, job, Policy::default(), start);
///
/// let Action::Transmit(transmit) = watch.poll(start) else { panic!() };
/// assert_eq!(transmit.request.uri().path(), "/doc-digitization/job/v1/3fa85f64-5717-4562-b3fc-2c963f66afa6/status");
///
/// // The driver sends it; the server says the job has completed.
/// let body = r#"{"job_id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","job_state":"Completed",
///     "created_at":"2026-11-29T10:00:00Z","updated_at":"2026-11-29T10:00:09Z","storage_container_type":"Azure"}"#;
/// let now = start + Duration::from_millis(80);
/// watch.handle_response(now, transmit.attempt, http::Response::new(body));
/// // Events first, then the end.
/// assert!(matches!(watch.poll(now), Action::Event(Event::StateChanged { .. })));
/// let outcome = loop {
///     match watch.poll(now) {
///         Action::Event(_) => continue,
///         Action::Done(outcome) => break outcome,
///         other => panic!("{other:?}"),
///     }
/// };
/// assert!(matches!(outcome, Outcome::Completed { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Watch(Engine);

impl Watch {
    /// A watch of `job_id`, created at `now` (the deadline counts from here).
    #[must_use]
    pub fn new(api: Api, job_id: JobId, policy: Policy, now: Instant) -> Self {
        Watch(Engine::watch(api, job_id, FetchWhen::Never, policy, now))
    }

    /// A watch that, when the job ends with outputs, downloads them too (as
    /// a [`Run`] does): `wait --out`.
    #[must_use]
    pub fn then_download(api: Api, job_id: JobId, policy: Policy, now: Instant) -> Self {
        Watch(Engine::watch(api, job_id, FetchWhen::Ended, policy, now))
    }

    /// The outputs of a job that has ended; if it has not, it gives up at once
    /// with [`GiveUpReason::NotEnded`]: `download`.
    #[must_use]
    pub fn download(api: Api, job_id: JobId, policy: Policy, now: Instant) -> Self {
        Watch(Engine::watch(
            api,
            job_id,
            FetchWhen::AlreadyEnded,
            policy,
            now,
        ))
    }
}

machine!(Watch);

/// Runs one document through the whole job: create → upload-files → PUT the
/// file → start → watch → download-files → GET each output.
///
/// A create whose answer was lost is sent again (the job it may have made is
/// never started, so it costs nothing); a start whose answer was lost is
/// never sent blindly again: the machine watches the job, and re-sends the
/// start to the same job only if it still reads `Pending` after
/// [`Policy::restart_after`]. At most one job per document is ever started.
#[derive(Debug)]
pub struct Run(Engine);

impl Run {
    /// A run of `document`, created at `now` (the deadline counts from here).
    #[must_use]
    pub fn new(api: Api, document: Document, policy: Policy, now: Instant) -> Self {
        Run(Engine::run(api, document, policy, now))
    }

    /// A run of `document` that goes on with `job`, a job made for it
    /// before (a journal knows its id): it asks the job's status and goes on
    /// from there, uploading if the file never arrived, starting if it did
    /// (a start refused as already started confirms it), watching, or
    /// downloading. It never creates a job.
    #[must_use]
    pub fn resume(api: Api, document: Document, job: JobId, policy: Policy, now: Instant) -> Self {
        Run(Engine::resume(api, document, job, policy, now))
    }

    /// The document being run.
    #[must_use]
    pub fn document(&self) -> Option<&Document> {
        self.0.document()
    }
}

machine!(Run);
