//! The one engine behind [`super::Watch`] and [`super::Run`]: what is in
//! flight, the deadline, the budget, and the driver's inputs. What each
//! answer leads to is in `transitions`; the requests and their parsing in
//! `requests`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use http::Response;

use super::action::{Action, Attempt, DownloadedFile, Event, Transmit, WaitReason};
use super::cadence::{Cadence, later};
use super::outcome::{GiveUpReason, Outcome};
use super::phase::{DocAiSubmit, LegacySubmit, Phase, Submit, Watching};
use crate::budget::{Budget, Priority};
use crate::policy::Jitter;
use crate::{
    Api, ApiVersion, Document, Endpoint, Error, Job, JobId, Policy, Status, TransportError,
    TransportErrorKind,
};

/// What a machine is for.
#[derive(Debug)]
pub(super) enum Mode {
    /// Follow a job to its end, and fetch its outputs or not.
    Watch(FetchWhen),
    /// Take a document through the whole job.
    Run(Document),
}

/// Whether a watch fetches the job's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FetchWhen {
    /// No: stop at the terminal state.
    Never,
    /// Yes, once the job ends.
    Ended,
    /// Yes, if the job has ended already; otherwise give up at once.
    AlreadyEnded,
}

/// A live machine's phase, or how it ended.
#[derive(Debug)]
pub(super) enum State {
    Live(Phase),
    Done(Outcome),
}

/// Where a lost start stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StartState {
    /// Not sent yet, or the server confirmed it.
    Settled,
    /// Sent, answer lost, since `at`; `resends` so far.
    Unconfirmed { at: Instant, resends: u32 },
    /// Being sent again.
    Resending { resends: u32 },
}

#[derive(Debug)]
struct InFlight {
    attempt: Attempt,
    expires: Instant,
}

#[derive(Debug)]
pub(crate) struct Engine {
    pub(super) api: Api,
    pub(super) policy: Policy,
    pub(super) rng: Jitter,
    pub(super) mode: Mode,
    pub(super) state: State,
    deadline_at: Option<Instant>,
    next_attempt: u64,
    in_flight: Option<InFlight>,
    pub(super) ready_at: Instant,
    pub(super) ready_reason: WaitReason,
    /// Failed tries of the step in hand.
    pub(super) failures: u32,
    /// Whether the step in hand is a storage transfer asking for a fresh
    /// URL after a 403: the URL's answer is then part of that step, and its
    /// tries go on counting until the transfer itself succeeds.
    pub(super) refreshing: bool,
    /// Whether the request about to make or start a job was announced.
    announced: bool,
    /// The client's request budget and this machine's ticket in it, and
    /// whether the next request has its token.
    budget: Option<(Budget, u64)>,
    granted: bool,
    pub(super) job: Option<JobId>,
    pub(super) start: StartState,
    /// Times outputs were asked for and the API said "not ended yet" (409).
    pub(super) not_yet: u32,
    pub(super) last_status: Option<Box<Status>>,
    pub(super) cadence: Cadence,
    pub(super) outputs: Vec<DownloadedFile>,
    pub(super) events: VecDeque<Event>,
}

impl Engine {
    pub(super) fn watch(
        api: Api,
        job: JobId,
        fetch: FetchWhen,
        policy: Policy,
        now: Instant,
    ) -> Self {
        let phase = Phase::Watch(match api.config().api_version() {
            ApiVersion::DocAi => Watching::DocAi { job: job.clone() },
            _ => Watching::Legacy {
                job: job.clone(),
                resumed: false,
            },
        });
        Engine::new(api, Mode::Watch(fetch), phase, Some(job), policy, now)
    }

    /// A run of `document`: its job says which API's steps it takes.
    pub(super) fn run(api: Api, document: Document, policy: Policy, now: Instant) -> Self {
        let phase = Phase::Submit(match document.job() {
            Job::Legacy(_) => Submit::Legacy(LegacySubmit::Create),
            Job::DocAi(_) => Submit::DocAi(DocAiSubmit::Presign),
        });
        Engine::new(api, Mode::Run(document), phase, None, policy, now).checked()
    }

    /// A run of `document` that goes on with `job`: its first status says
    /// where to.
    pub(super) fn resume(
        api: Api,
        document: Document,
        job: JobId,
        policy: Policy,
        now: Instant,
    ) -> Self {
        let phase = Phase::Watch(match document.job() {
            Job::Legacy(_) => Watching::Legacy {
                job: job.clone(),
                resumed: true,
            },
            Job::DocAi(_) => Watching::DocAi { job: job.clone() },
        });
        Engine::new(api, Mode::Run(document), phase, Some(job), policy, now).checked()
    }

    /// A run whose document was made for the other API than the
    /// configuration's is the caller's mistake: it ends at once, sending
    /// nothing.
    fn checked(mut self) -> Self {
        let asked = self.document().map(|d| d.job().api_version());
        if asked.is_some_and(|v| v != self.api.config().api_version()) {
            self.give_up(GiveUpReason::Refused(Error::Input(
                crate::InputError::Misuse(
                    "the document's job is for the other API than the configuration's",
                ),
            )));
        }
        self
    }

    fn new(
        api: Api,
        mode: Mode,
        phase: Phase,
        job: Option<JobId>,
        policy: Policy,
        now: Instant,
    ) -> Self {
        Engine {
            rng: Jitter::new(policy.seed),
            deadline_at: policy.deadline.map(|d| later(now, d)),
            api,
            policy,
            mode,
            state: State::Live(phase),
            next_attempt: 0,
            in_flight: None,
            ready_at: now,
            ready_reason: WaitReason::Poll,
            failures: 0,
            refreshing: false,
            announced: false,
            budget: None,
            granted: false,
            job,
            start: StartState::Settled,
            not_yet: 0,
            last_status: None,
            cadence: Cadence::default(),
            outputs: Vec::new(),
            events: VecDeque::new(),
        }
    }

    pub(super) fn job_id(&self) -> Option<&JobId> {
        self.job.as_ref()
    }

    /// Asks `budget` before every request to the API.
    pub(super) fn set_budget(&mut self, budget: Budget) {
        let ticket = budget.ticket();
        self.budget = Some((budget, ticket));
    }

    pub(super) fn document(&self) -> Option<&Document> {
        match &self.mode {
            Mode::Run(doc) => Some(doc),
            Mode::Watch(_) => None,
        }
    }

    pub(super) fn outcome(&self) -> Option<&Outcome> {
        match &self.state {
            State::Done(outcome) => Some(outcome),
            State::Live(_) => None,
        }
    }

    /// How urgent the next request is, for the budget.
    fn priority(&self, now: Instant, phase: &Phase) -> Priority {
        match (phase.endpoint(), phase) {
            (_, Phase::Watch(Watching::Legacy { resumed: true, .. })) => Priority::Work,
            (Endpoint::Status, _) if self.cadence.likely_ended(now) => Priority::Likely,
            (Endpoint::Status, _) => Priority::Poll,
            (
                Endpoint::DownloadFiles
                | Endpoint::DownloadUrl
                | Endpoint::Results
                | Endpoint::StorageDownload,
                _,
            ) => Priority::Finish,
            _ => Priority::Work,
        }
    }

    pub(super) fn poll(&mut self, now: Instant) -> Action {
        if let Some(event) = self.events.pop_front() {
            return Action::Event(event);
        }
        let phase = match &self.state {
            State::Done(outcome) => return Action::Done(outcome.clone()),
            State::Live(phase) => phase,
        };
        if let Some(deadline) = self.deadline_at
            && now >= deadline
        {
            self.give_up(GiveUpReason::Deadline(
                self.policy.deadline.unwrap_or_default(),
            ));
            return self.poll(now);
        }
        if let Some(flight) = &self.in_flight {
            if now < flight.expires {
                return Action::Wait {
                    until: self.cut_to_deadline(flight.expires),
                    reason: WaitReason::Response,
                };
            }
            // The driver never answered in time: count it as a timeout.
            let attempt = flight.attempt;
            let timeout = TransportError::new(
                TransportErrorKind::TimedOut,
                "no answer within the request timeout",
            );
            self.handle_error(now, attempt, Error::Transport(timeout));
            return self.poll(now);
        }
        if now < self.ready_at {
            return Action::Wait {
                until: self.cut_to_deadline(self.ready_at),
                reason: self.ready_reason,
            };
        }
        let endpoint = phase.endpoint();
        // A request to the API waits for the client's budget (before it is
        // announced: an announced request is one about to go).
        if endpoint.is_api()
            && !self.granted
            && let Some((budget, ticket)) = &self.budget
        {
            match budget.try_acquire(now, *ticket, self.priority(now, phase)) {
                Ok(()) => self.granted = true,
                Err(until) => {
                    let until = until.max(later(now, Duration::from_millis(1)));
                    return Action::Wait {
                        until: self.cut_to_deadline(until),
                        reason: WaitReason::Budget,
                    };
                }
            }
        }
        // A request that makes or starts a job is announced first, so a
        // journal has it on disk before it can take effect.
        if matches!(
            endpoint,
            Endpoint::CreateJob | Endpoint::Start | Endpoint::Submit
        ) && !self.announced
        {
            self.announced = true;
            return Action::Event(Event::Sending { endpoint });
        }
        match self.build(phase) {
            Ok((request, step_timeout, sink)) => {
                let left = self
                    .deadline_at
                    .map_or(step_timeout, |d| d.saturating_duration_since(now));
                let timeout = step_timeout.min(left);
                self.next_attempt += 1;
                self.announced = false;
                self.granted = false;
                let attempt = Attempt(self.next_attempt);
                self.in_flight = Some(InFlight {
                    attempt,
                    expires: later(now, timeout),
                });
                Action::Transmit(Transmit {
                    attempt,
                    retry: self.failures,
                    request,
                    timeout,
                    idle: self.policy.request_timeout.min(timeout),
                    sink,
                })
            }
            Err(reason) => {
                self.give_up(*reason);
                self.poll(now)
            }
        }
    }

    pub(super) fn cut_to_deadline(&self, at: Instant) -> Instant {
        self.deadline_at.map_or(at, |d| at.min(d))
    }

    /// The time left before the deadline, if there is one.
    pub(super) fn time_left(&self, now: Instant) -> Option<Duration> {
        self.deadline_at.map(|d| d.saturating_duration_since(now))
    }

    /// Whether `attempt` is the request in flight of a live machine (and
    /// takes it); stale answers, and any after the end, are dropped.
    fn land(&mut self, attempt: Attempt) -> bool {
        let live = matches!(self.state, State::Live(_));
        match &self.in_flight {
            Some(flight) if live && flight.attempt == attempt => {
                self.in_flight = None;
                true
            }
            _ => false,
        }
    }

    pub(super) fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        attempt: Attempt,
        r: &Response<B>,
    ) {
        if !self.land(attempt) {
            return;
        }
        let State::Live(phase) = &self.state else {
            return;
        };
        if let Some((budget, _)) = &self.budget
            && phase.endpoint().is_api()
        {
            let throttled = r.status() == http::StatusCode::TOO_MANY_REQUESTS;
            budget.observe(now, throttled, crate::wire::retry_after(r.headers()));
        }
        match self.parse(phase, r) {
            Ok(reply) => self.advance(now, reply),
            Err(error) => self.fail(now, error),
        }
    }

    pub(super) fn handle_saved(&mut self, now: Instant, attempt: Attempt, len: u64) {
        if !self.land(attempt) {
            return;
        }
        let State::Live(phase) = &self.state else {
            return;
        };
        match self.saved(phase, len) {
            Ok(reply) => self.advance(now, reply),
            Err(error) => self.fail(now, error),
        }
    }

    pub(super) fn handle_error(&mut self, now: Instant, attempt: Attempt, error: Error) {
        if self.land(attempt) {
            self.fail(now, error);
        }
    }

    /// The driver stopped a download that passed its `max_len`.
    pub(super) fn handle_too_large(&mut self, now: Instant, attempt: Attempt, received: u64) {
        if !self.land(attempt) {
            return;
        }
        let State::Live(phase) = &self.state else {
            return;
        };
        match self.too_large(phase, received) {
            Ok(error) => self.fail(now, error),
            Err(reason) => self.give_up(*reason),
        }
    }

    /// Ends the machine, giving up for `reason`.
    pub(super) fn give_up(&mut self, reason: GiveUpReason) {
        self.in_flight = None;
        self.state = State::Done(self.gave_up(reason));
        self.leave_budget();
    }

    /// Gives this machine's place in the budget's queue up.
    pub(super) fn leave_budget(&self) {
        if let Some((budget, ticket)) = &self.budget {
            budget.forget(*ticket);
        }
    }

    pub(super) fn gave_up(&self, reason: GiveUpReason) -> Outcome {
        Outcome::GaveUp {
            job_id: self.job.clone(),
            reason,
            last_status: self.last_status.clone(),
        }
    }
}

impl Drop for Engine {
    /// A machine dropped while it waits for the budget gives its place up.
    fn drop(&mut self) {
        self.leave_budget();
    }
}
