//! The job state machines: [`Watch`] one job to its end, or [`Run`] one file
//! through the whole job.
//!
//! - [`action`]: what a machine asks of its driver ([`Action`],
//!   [`Transmit`], [`Sink`]) and what it reports ([`Event`]).
//! - [`outcome`]: how it ends ([`Outcome`], [`GiveUpReason`]).
//! - `engine`: the one engine behind both, with every transition, its
//!   diagram, the retry table and the state table.

pub mod action;
mod engine;
pub mod outcome;

use std::time::Instant;

use http::Response;

pub use action::{Action, Attempt, Direction, Event, Output, Sink, Transmit, WaitReason};
use engine::{Engine, Fetch};
pub use outcome::{GiveUpReason, Outcome};

use crate::{Api, Document, Error, JobId, Policy, Status, TransportError};

/// What a driver needs of a machine: [`Watch`] and [`Run`] both are one, so
/// a driver writes its loop once.
pub trait Machine {
    /// What to do next, at `now`: an event to report, a request to send, a
    /// wait, or the end. Sends nothing twice: while a request is in flight
    /// this says to wait for it.
    fn poll(&mut self, now: Instant) -> Action;
    /// The answer to `attempt`. For a [`Sink::File`] request answered 2xx,
    /// the body is empty and `Content-Length` holds the bytes written.
    fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        attempt: Attempt,
        response: Response<B>,
    );
    /// `attempt` could not be completed.
    fn handle_transport_error(&mut self, now: Instant, attempt: Attempt, error: TransportError);
    /// The body of `attempt`'s [`Sink::File`] passed its `max_len`; the
    /// driver stopped at `received` bytes and wrote nothing.
    fn handle_too_large(&mut self, now: Instant, attempt: Attempt, received: u64);
    /// The job's id, once known.
    fn job_id(&self) -> Option<&JobId>;
}

macro_rules! machine {
    ($t:ident) => {
        impl $t {
            /// See [`Machine::poll`].
            pub fn poll(&mut self, now: Instant) -> Action {
                self.0.poll(now)
            }

            /// See [`Machine::handle_response`].
            pub fn handle_response<B: AsRef<[u8]>>(
                &mut self,
                now: Instant,
                attempt: Attempt,
                response: Response<B>,
            ) {
                self.0.handle_response(now, attempt, &response);
            }

            /// See [`Machine::handle_transport_error`].
            pub fn handle_transport_error(
                &mut self,
                now: Instant,
                attempt: Attempt,
                error: TransportError,
            ) {
                self.0.handle_error(now, attempt, Error::Transport(error));
            }

            /// See [`Machine::handle_too_large`].
            pub fn handle_too_large(&mut self, now: Instant, attempt: Attempt, received: u64) {
                self.0.handle_too_large(now, attempt, received);
            }

            /// The job's id, once known.
            #[must_use]
            pub fn job_id(&self) -> Option<&JobId> {
                self.0.job_id()
            }

            /// Asks `budget` (shared by every machine of a client) before
            /// each request to the API; while it says wait, the machine
            /// waits ([`WaitReason::Budget`]), within its deadline.
            #[must_use]
            pub fn with_budget(mut self, budget: crate::Budget) -> Self {
                self.0.set_budget(budget);
                self
            }

            /// The last status seen.
            #[must_use]
            pub fn last_status(&self) -> Option<&Status> {
                self.0.last_status.as_deref()
            }

            /// The outcome, once done.
            #[must_use]
            pub fn outcome(&self) -> Option<&Outcome> {
                self.0.outcome()
            }

            /// Whether the machine has ended.
            #[must_use]
            pub fn is_done(&self) -> bool {
                self.0.outcome().is_some()
            }
        }

        impl Machine for $t {
            fn poll(&mut self, now: Instant) -> Action {
                $t::poll(self, now)
            }
            fn handle_response<B: AsRef<[u8]>>(
                &mut self,
                now: Instant,
                attempt: Attempt,
                response: Response<B>,
            ) {
                $t::handle_response(self, now, attempt, response);
            }
            fn handle_transport_error(
                &mut self,
                now: Instant,
                attempt: Attempt,
                error: TransportError,
            ) {
                $t::handle_transport_error(self, now, attempt, error);
            }
            fn handle_too_large(&mut self, now: Instant, attempt: Attempt, received: u64) {
                $t::handle_too_large(self, now, attempt, received);
            }
            fn job_id(&self) -> Option<&JobId> {
                $t::job_id(self)
            }
        }
    };
}

/// Watches one job until it reaches a terminal state.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sarvam_doc_core::{Action, Api, ApiKey, Config, Event, Outcome, Policy, Watch};
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
        Watch(Engine::watch(api, job_id, Fetch::Never, policy, now))
    }

    /// A watch that, when the job ends with outputs, downloads them too (as
    /// a [`Run`] does): `wait --out`.
    #[must_use]
    pub fn then_download(api: Api, job_id: JobId, policy: Policy, now: Instant) -> Self {
        Watch(Engine::watch(api, job_id, Fetch::WhenEnded, policy, now))
    }

    /// The outputs of a job that has ended; if it has not, it gives up at once
    /// with [`GiveUpReason::NotEnded`]: `download`.
    #[must_use]
    pub fn download(api: Api, job_id: JobId, policy: Policy, now: Instant) -> Self {
        Watch(Engine::watch(api, job_id, Fetch::IfEnded, policy, now))
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
