//! One request budget for every machine of a client: the rate limit is per
//! key, so the jobs of a batch share it.
//!
//! A [`Budget`] is a token bucket over the requests to the API (storage is
//! not counted: its limits are its own). Each machine asks it before it
//! sends ([`crate::Machine::with_budget`]); the
//! answer is "go" or "wait until". When tokens are short, the most useful
//! request goes first: outputs of ended jobs, then polls of jobs likely to
//! have ended (by the page pace the cadence predicts), then new work, then
//! polls of jobs that cannot have moved; and every request gains urgency as
//! it waits, so none waits forever.
//!
//! With no rate configured it learns one: unlimited until the first 429,
//! then a little under the rate the API took in the last minute (a cut of
//! 10 to 50 % of the rate before), growing back by about one request a minute
//! each minute (multiplicative decrease, additive increase; one cut per
//! ten seconds, since 429s to requests already on their way say nothing
//! new). A
//! `Retry-After` (or a 429 without one) holds every request of the client
//! until it passes.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sarvam_doc_core::budget::{Budget, Rate};
//! use sarvam_doc_core::{Action, Api, ApiKey, Config, Machine, Policy, WaitReason, Watch};
//!
//! let budget = Budget::new(Some(Rate::per_minute(60)));
//! let api = Api::new(Config::new(ApiKey::new("sk_test")?));
//! let job: sarvam_doc_core::JobId = "3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?;
//! let now = Instant::now();
//! let mut a = Watch::new(api.clone(), job.clone(), Policy::default(), now).with_budget(budget.clone());
//! let mut b = Watch::new(api, job, Policy::default(), now).with_budget(budget.clone());
//! assert!(matches!(a.poll(now), Action::Transmit(_)));
//! // The one token is spent: the second watch waits a second for the next.
//! let Action::Wait { until, reason: WaitReason::Budget } = b.poll(now) else { panic!() };
//! assert_eq!(until, now + Duration::from_secs(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A rate: requests a minute, and how many may go at once.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Rate {
    /// Requests a minute.
    pub per_minute: f64,
    /// The most requests sent at once after a quiet spell (at least 1).
    pub burst: u32,
}

impl Rate {
    /// `n` requests a minute, in bursts of at most one.
    #[must_use]
    pub fn per_minute(n: u32) -> Self {
        Rate {
            per_minute: f64::from(n.max(1)),
            burst: 1,
        }
    }

    /// With bursts of at most `burst` requests.
    #[must_use]
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    fn per_second(self) -> f64 {
        self.per_minute / 60.0
    }
}

/// How urgent a request is, when the budget is short. Lower goes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub(crate) enum Priority {
    /// Fetching what an ended job made: it frees the job's place.
    Finish = 0,
    /// A poll of a job that has likely ended by now.
    Likely = 1,
    /// New work: making, uploading, starting a job.
    Work = 2,
    /// A poll of a job that cannot have ended yet.
    Poll = 3,
}

/// How much urgency a request gains by waiting: a poll that has waited
/// three spans goes before new work that has just arrived.
const AGING_SPAN: Duration = Duration::from_secs(20);

/// How long the best waiter may be late for a token before the next one
/// takes it (a waiter that went away without a word).
const GRACE: Duration = Duration::from_secs(2);

/// A learned rate never falls below this, in requests a minute.
const MIN_LEARNED: f64 = 1.0;

/// The share of the last [`CUT_WINDOW`]'s answers that must be 429s before
/// the budget cuts its learned rate.
const MIN_REFUSED_SHARE: f64 = 0.05;

/// The accepted requests a 429 without `Retry-After` needs behind it before
/// the budget reads a rate from them.
const MIN_EVIDENCE: usize = 5;

/// After the learned rate is cut, 429s to requests that were already on
/// their way say nothing new: no second cut within this time.
const CUT_WINDOW: Duration = Duration::from_secs(10);

/// What a budget has seen, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct BudgetStats {
    /// Requests let through.
    pub granted: u64,
    /// 429 answers seen.
    pub throttled: u64,
    /// Time during which some request was held back by the budget.
    pub held: Duration,
    /// The rate in force: the configured one, or the one learned (`None`
    /// while nothing has been learned).
    pub rate_per_minute: Option<f64>,
}

#[derive(Clone, Copy, Debug)]
struct Waiter {
    priority: Priority,
    since: Instant,
    seen: Instant,
}

#[derive(Debug)]
struct State {
    configured: Option<Rate>,
    learned: Option<f64>,
    tokens: f64,
    refilled: Option<Instant>,
    hold_until: Option<Instant>,
    waiters: BTreeMap<u64, Waiter>,
    next_ticket: u64,
    /// Grant times in the last minute.
    recent: VecDeque<Instant>,
    /// Times of answers the API took (not 429) in the last minute: the
    /// rate it accepts, for learning.
    accepted: VecDeque<Instant>,
    /// When the last 429s came, over the last minute.
    refused: VecDeque<Instant>,
    stats: BudgetStats,
    /// Since when some request has been held back.
    held_since: Option<Instant>,
    /// When the learned rate was last cut.
    cut_at: Option<Instant>,
    /// The learned rate that last met a 429: growth is quick up to just
    /// under it, and a slow probe past it.
    ceiling: Option<f64>,
}

/// The request budget of one client; cheap to clone (clones share it).
///
/// Sans-IO like the rest of the core: every call takes `now`.
#[derive(Clone, Debug)]
pub struct Budget {
    state: Arc<Mutex<State>>,
}

impl Default for Budget {
    /// A budget that learns its rate.
    fn default() -> Self {
        Budget::new(None)
    }
}

impl Budget {
    /// A budget of `rate`, or (`None`) one that learns its rate from 429s.
    #[must_use]
    pub fn new(rate: Option<Rate>) -> Self {
        Budget {
            state: Arc::new(Mutex::new(State {
                configured: rate,
                learned: None,
                tokens: rate.map_or(1.0, |r| f64::from(r.burst)),
                refilled: None,
                hold_until: None,
                waiters: BTreeMap::new(),
                next_ticket: 0,
                recent: VecDeque::new(),
                accepted: VecDeque::new(),
                refused: VecDeque::new(),
                stats: BudgetStats {
                    rate_per_minute: rate.map(|r| r.per_minute),
                    ..BudgetStats::default()
                },
                held_since: None,
                cut_at: None,
                ceiling: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements: a panic elsewhere
        // cannot leave it half-changed.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A ticket for one requester (a machine): its place in the queue.
    #[must_use]
    pub(crate) fn ticket(&self) -> u64 {
        let mut s = self.lock();
        s.next_ticket += 1;
        s.next_ticket
    }

    /// Asks to send one request now. `Ok` takes a token; `Err(until)` says
    /// when to ask again (the ticket keeps its place and its age).
    ///
    /// # Errors
    /// The instant to ask again, when no token is free for this ticket.
    pub(crate) fn try_acquire(
        &self,
        now: Instant,
        ticket: u64,
        priority: Priority,
    ) -> Result<(), Instant> {
        let mut s = self.lock();
        let Some(rate) = s.rate() else {
            // Unlimited: nothing to wait for but a hold.
            if let Some(hold) = s.hold_until.filter(|h| now < *h) {
                s.wait(now, ticket, priority);
                return Err(hold);
            }
            s.grant(now, ticket);
            return Ok(());
        };
        s.refill(now, rate);
        s.wait(now, ticket, priority);
        if let Some(hold) = s.hold_until.filter(|h| now < *h) {
            return Err(hold);
        }
        let per_second = rate.per_second();
        // At least a millisecond on: a token due "now" by rounding is not yet.
        let next_token = |tokens: f64| {
            let secs = ((1.0 - tokens).max(0.0) / per_second).clamp(0.001, 86_400.0);
            now + Duration::from_secs_f64(secs)
        };
        if s.tokens < 1.0 {
            return Err(next_token(s.tokens));
        }
        // This ticket's place among those present for the free tokens (a
        // waiter not seen for the grace has gone, or is late: passed over).
        let me = s.score(now, ticket);
        let ahead = s
            .waiters
            .iter()
            .filter(|(t, w)| **t != ticket && w.seen + GRACE >= now)
            .filter(|(t, _)| s.score(now, **t) < me)
            .count();
        if (ahead as f64) < s.tokens.floor() {
            s.grant(now, ticket);
            Ok(())
        } else {
            // The better ones take theirs now; ask again at the next token,
            // or when a late one's grace is out.
            Err(next_token(s.tokens - ahead as f64).min(now + GRACE))
        }
    }

    /// The ticket's requester is gone: it waits no more.
    pub(crate) fn forget(&self, ticket: u64) {
        let mut s = self.lock();
        s.waiters.remove(&ticket);
    }

    /// An answer from the API: `throttled` for a 429, with the wait it
    /// asked for. Learns the rate (when none is configured) and holds every
    /// request until the wait is over.
    pub(crate) fn observe(&self, now: Instant, throttled: bool, retry_after: Option<Duration>) {
        let mut s = self.lock();
        if !throttled {
            window_push(&mut s.accepted, now);
            if s.configured.is_none()
                && let Some(rate) = s.learned
            {
                // Back towards the rate that met a 429 by a tenth (five
                // requests a minute at least) each minute; near it, a fifth
                // of a request a minute. After the first 429 no such rate
                // is known (the client sent without a limit), so it climbs
                // until a second 429 names one.
                let near = s.ceiling.is_some_and(|c| rate >= 0.95 * c);
                let step = if near { 0.2 } else { (0.1 * rate).max(5.0) };
                s.learned = Some(rate + step / rate.max(1.0));
                s.stats.rate_per_minute = s.learned;
            }
            return;
        }
        s.stats.throttled += 1;
        window_push(&mut s.refused, now);
        if s.configured.is_none()
            && s.cut_at
                .is_none_or(|at| now.saturating_duration_since(at) >= CUT_WINDOW)
        {
            s.cut_at = Some(now);
            // What the API allows, a little under: the rate it took lately,
            // or one token per Retry-After (a token bucket's answer), the
            // larger; a cut of a tenth at least and a half at most of the
            // rate in force, so that a quiet spell does not read as a low
            // limit.
            let implied = retry_after
                .filter(|d| !d.is_zero())
                .map_or(0.0, |d| (60.0 / d.as_secs_f64()).min(6000.0));
            // Without a Retry-After and with few requests seen, a 429 says
            // nothing of the rate: the hold below and the machine's backoff
            // handle it, and the next 429 may teach more.
            // A 429 now and then without one (a busy moment, a flaky
            // proxy) says nothing of a rate either: only a share of the last
            // window's answers does, or the rate would sink with every stray
            // 429. A Retry-After is the server naming its pace: always heard.
            let refused = recent(&s.refused, now);
            let share = refused as f64 / (refused + recent(&s.accepted, now)) as f64;
            let evidence =
                implied > 0.0 || (s.accepted.len() >= MIN_EVIDENCE && share >= MIN_REFUSED_SHARE);
            if evidence {
                let estimate = 0.95 * rate_of(&s.accepted, now).max(implied);
                let learned = match s.learned {
                    Some(current) => estimate.clamp(0.5 * current, 0.9 * current),
                    None => estimate,
                }
                .max(MIN_LEARNED);
                // The rate in force when the 429 came; none the first
                // time, when the client had no limit.
                s.ceiling = s.learned.map(|current| current.max(learned));
                s.learned = Some(learned);
                s.stats.rate_per_minute = Some(learned);
            } else {
                // Learn from the next 429 in this window instead.
                s.cut_at = None;
            }
        }
        let rate = s.rate().map_or(60.0, |r| r.per_minute);
        let wait = retry_after.unwrap_or_else(|| Duration::from_secs_f64(60.0 / rate));
        let until = now + wait;
        let hold = s.hold_until.map_or(until, |h| h.max(until));
        s.hold_until = Some(hold);
        // Nothing is banked while refused: one token waits at the hold's
        // end, so the first request after it goes at once.
        s.tokens = 1.0;
        s.refilled = Some(hold);
    }

    /// What the budget has seen, with the time held counted up to `now`.
    #[must_use]
    pub fn stats(&self, now: Instant) -> BudgetStats {
        let s = self.lock();
        let mut stats = s.stats;
        if let Some(since) = s.held_since {
            stats.held += now.saturating_duration_since(since);
        }
        stats
    }
}

impl State {
    /// The rate in force, if any.
    fn rate(&self) -> Option<Rate> {
        self.configured.or_else(|| {
            self.learned.map(|r| Rate {
                per_minute: r,
                // Five seconds' worth, at least one.
                burst: ((r / 12.0).floor() as u32).max(1),
            })
        })
    }

    fn refill(&mut self, now: Instant, rate: Rate) {
        let from = self.refilled.unwrap_or(now);
        if now > from {
            let gained = now.duration_since(from).as_secs_f64() * rate.per_second();
            self.tokens = (self.tokens + gained).min(f64::from(rate.burst));
        }
        if now >= from {
            self.refilled = Some(now);
        }
    }

    /// Notes `ticket` as waiting (keeping its age).
    fn wait(&mut self, now: Instant, ticket: u64, priority: Priority) {
        if self.waiters.is_empty() && self.held_since.is_none() {
            self.held_since = Some(now);
        }
        let waiter = self.waiters.entry(ticket).or_insert(Waiter {
            priority,
            since: now,
            seen: now,
        });
        waiter.priority = priority;
        waiter.seen = now;
    }

    fn grant(&mut self, now: Instant, ticket: u64) {
        if self.rate().is_some() {
            self.tokens -= 1.0;
        }
        self.waiters.remove(&ticket);
        if self.waiters.is_empty()
            && let Some(since) = self.held_since.take()
        {
            self.stats.held += now.saturating_duration_since(since);
        }
        self.stats.granted += 1;
        window_push(&mut self.recent, now);
    }

    /// Lower goes first: the priority's rank, less the time waited.
    fn score(&self, now: Instant, ticket: u64) -> f64 {
        self.waiters.get(&ticket).map_or(f64::MAX, |w| {
            f64::from(w.priority as u8) * AGING_SPAN.as_secs_f64()
                - now.saturating_duration_since(w.since).as_secs_f64()
        })
    }
}

/// Adds `now` to a window of the last minute's times (at most 100,000).
fn window_push(window: &mut VecDeque<Instant>, now: Instant) {
    window.push_back(now);
    while window
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) > Duration::from_secs(60))
        || window.len() > 100_000
    {
        window.pop_front();
    }
}

/// The events of `window` in the last [`CUT_WINDOW`].
fn recent(window: &VecDeque<Instant>, now: Instant) -> usize {
    window
        .iter()
        .rev()
        .take_while(|t| now.saturating_duration_since(**t) <= CUT_WINDOW)
        .count()
}

/// Events a minute in `window`, over the time it spans (at least 10 s, so
/// that a first burst does not read as a high rate).
fn rate_of(window: &VecDeque<Instant>, now: Instant) -> f64 {
    let Some(first) = window.front() else {
        return MIN_LEARNED;
    };
    let span = now
        .saturating_duration_since(*first)
        .as_secs_f64()
        .max(10.0);
    (window.len() as f64 * 60.0 / span).max(MIN_LEARNED)
}

#[cfg(test)]
// Kept outside src/: the tests read the one real clock, which src/ never does.
#[path = "../tests/unit/budget.rs"]
mod tests;
