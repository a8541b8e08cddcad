//! How often a watch looks at its job, and when it stops looking: the
//! polling cadence, the stall and no-progress limits, the resend of a lost
//! start, and the pace that predicts the job's end.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::action::Event;
use super::outcome::GiveUpReason;
use crate::{JobState, PageCounts, Policy, StateClass};

/// How many times a lost start is sent again, at most.
pub(super) const MAX_START_RESENDS: u32 = 3;

/// What the watch has seen.
#[derive(Debug, Default)]
pub(super) struct Cadence {
    seen: Option<Observed>,
}

#[derive(Debug)]
struct Observed {
    state: JobState,
    /// When the state was first seen.
    since: Instant,
    pages: PageCounts,
    /// When the page counts last changed (or the state was entered).
    moved: Instant,
    /// When the pages were first seen, for the pace.
    pace_origin: Option<(Instant, u32)>,
    /// When the last page should be done, at the pace so far.
    predicted_end: Option<Instant>,
}

/// What a watch of a job that has not ended does next.
#[derive(Debug)]
pub(super) enum Next {
    /// Look again after this long.
    PollIn(Duration),
    /// A limit acted.
    GiveUp(GiveUpReason),
    /// The start's answer was lost and the job still reads `Pending`: send
    /// the start again to the same job.
    ResendStart,
}

/// `now + d`, saturating instead of panicking on absurd durations.
pub(super) fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

impl Cadence {
    /// Takes in a status's state and pages, and reports what changed.
    pub(super) fn see(
        &mut self,
        now: Instant,
        state: &JobState,
        pages: PageCounts,
        events: &mut VecDeque<Event>,
    ) {
        match &mut self.seen {
            Some(seen) if seen.state == *state => {
                if seen.pages != pages {
                    events.push_back(Event::Pages(pages));
                    seen.moved = now;
                    seen.predict(now, pages);
                }
            }
            seen => {
                let from = seen.as_ref().map(|s| s.state.clone());
                events.push_back(Event::StateChanged {
                    from,
                    to: state.clone(),
                });
                if seen.as_ref().is_none_or(|s| s.pages != pages) {
                    events.push_back(Event::Pages(pages));
                }
                let mut fresh = Observed {
                    state: state.clone(),
                    since: now,
                    pages,
                    moved: now,
                    pace_origin: None,
                    predicted_end: None,
                };
                fresh.predict(now, pages);
                *seen = Some(fresh);
            }
        }
    }

    /// Forgets what was seen: the next status counts as the first.
    pub(super) fn forget(&mut self) {
        self.seen = None;
    }

    /// Whether the job has likely ended by `now` (its pages are all done, or
    /// the pace says they should be): its next status is urgent.
    pub(super) fn likely_ended(&self, now: Instant) -> bool {
        self.seen.as_ref().is_some_and(|seen| {
            seen.predicted_end.is_some_and(|end| end <= now)
                || seen.state.class() == StateClass::Working
                    && seen.pages.total > 0
                    && seen.pages.processed >= seen.pages.total
        })
    }

    /// What to do about a job that has not ended, as last seen (`see`):
    /// `lost_start` is when a start's answer was lost, and how many times it
    /// was sent again since.
    pub(super) fn next(
        &self,
        now: Instant,
        policy: &Policy,
        lost_start: Option<(Instant, u32)>,
    ) -> Next {
        let Some(seen) = self.seen.as_ref() else {
            return Next::PollIn(policy.poll.min_interval);
        };
        let in_state = now.saturating_duration_since(seen.since);
        let still = now.saturating_duration_since(seen.moved);
        // The next moment a limit or a rule could act, to look again right then.
        let mut next_rule: Option<Duration> = None;
        match seen.state.class() {
            StateClass::Waiting => {
                if let Some(limit) = policy.stall_limit {
                    if in_state >= limit {
                        return Next::GiveUp(GiveUpReason::Stalled {
                            state: seen.state.clone(),
                            duration: in_state,
                        });
                    }
                    next_rule = Some(limit - in_state);
                }
                if let Some((at, resends)) = lost_start
                    && seen.state == JobState::Pending
                    && resends < MAX_START_RESENDS
                {
                    let waited = now.saturating_duration_since(at);
                    if waited >= policy.restart_after {
                        return Next::ResendStart;
                    }
                    let until = policy.restart_after - waited;
                    next_rule = Some(next_rule.map_or(until, |n| n.min(until)));
                }
            }
            StateClass::Working => {
                if let Some(limit) = policy.progress_limit {
                    if still >= limit {
                        return Next::GiveUp(GiveUpReason::NoProgress {
                            duration: still,
                            pages: seen.pages,
                        });
                    }
                    next_rule = Some(limit - still);
                }
            }
            StateClass::Ended(_) => {}
        }
        let eta = seen
            .predicted_end
            .map(|end| end.saturating_duration_since(now));
        let mut wait = policy.poll.interval(in_state, eta);
        if let Some(until) = next_rule {
            // Look once more right when a rule can act, not a whole interval after.
            wait = wait.min(until).max(Duration::from_millis(1));
        }
        Next::PollIn(wait)
    }
}

impl Observed {
    /// Updates the predicted end from the pace of pages since first seen.
    fn predict(&mut self, now: Instant, pages: PageCounts) {
        self.pages = pages;
        let Some((origin, done_then)) = self.pace_origin else {
            self.pace_origin = Some((now, pages.processed));
            return;
        };
        let done = pages.processed.saturating_sub(done_then);
        let left = pages.total.saturating_sub(pages.processed);
        if done == 0 || left == 0 {
            self.predicted_end = None;
            return;
        }
        let per_page = now.saturating_duration_since(origin) / done;
        self.predicted_end = Some(later(now, per_page.saturating_mul(left)));
    }
}
