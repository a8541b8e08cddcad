//! How long to wait: retry backoff, polling cadence, timeouts and limits.
//!
//! Everything here is arithmetic on durations the caller hands in; jitter
//! comes from a seeded generator, so a machine with the same seed and the
//! same inputs makes the same decisions.

use std::time::Duration;

/// Retry backoff: exponential with "equal jitter" and a cap.
///
/// The `n`th consecutive failure of a step waits a random time between half
/// and all of `min(cap, base × 2^(n-1))`, and never less than the server's
/// `Retry-After`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries of one step after consecutive failures, before giving up
    /// (so a step is tried at most `max_retries + 1` times in a row).
    pub max_retries: u32,
    /// The first backoff.
    pub base: Duration,
    /// The longest backoff (a server's `Retry-After` may ask for longer).
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 6 retries, from 500 ms doubling to at most 30 s: about a minute of
    /// trying before giving up on a step.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// `max_retries` retries, backing off from `base` doubling to `cap`.
    #[must_use]
    pub fn new(max_retries: u32, base: Duration, cap: Duration) -> Self {
        RetryPolicy {
            max_retries,
            base,
            cap,
        }
    }

    /// The backoff after the `failures`th consecutive failure (from 1), with
    /// jitter drawn from `rng`.
    pub(crate) fn backoff(&self, failures: u32, rng: &mut Jitter) -> Duration {
        let exp = failures.saturating_sub(1).min(31);
        let full = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let half = full / 2;
        half + rng.up_to(full - half)
    }
}

/// The polling cadence while a job runs.
///
/// The wait before the next status request is a fixed fraction of how long
/// the job has sat in its current state, kept between `min_interval` and
/// `max_interval`: a job that just started is polled every second, one that
/// has been `Running` for ten minutes every ten seconds, so the delay in
/// seeing the end stays a small fraction of the job's length. When page
/// counts move, the machine also predicts when the last page will be done
/// from the pace so far, and polls then if that is sooner.
///
/// ```
/// use std::time::Duration;
/// use sarvam_doc_core::policy::PollPolicy;
/// // What the official SDKs do: every 2 s, whatever happens.
/// let fixed = PollPolicy::fixed(Duration::from_secs(2));
/// assert_eq!(fixed.min_interval, fixed.max_interval);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// The shortest wait between two status requests.
    pub min_interval: Duration,
    /// The longest wait between two status requests.
    pub max_interval: Duration,
    /// The wait as a share of the time spent in the current state, in
    /// percent.
    pub backoff_percent: u32,
}

impl Default for PollPolicy {
    /// 1 s to 10 s, at 10 % of the time in the current state.
    fn default() -> Self {
        PollPolicy {
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            backoff_percent: 10,
        }
    }
}

impl PollPolicy {
    /// Polls between `min_interval` and `max_interval`, at
    /// `backoff_percent` % of the time spent in the current state.
    #[must_use]
    pub fn new(min_interval: Duration, max_interval: Duration, backoff_percent: u32) -> Self {
        PollPolicy {
            min_interval,
            max_interval,
            backoff_percent,
        }
    }

    /// Polls every `interval`, whatever happens.
    #[must_use]
    pub fn fixed(interval: Duration) -> Self {
        PollPolicy {
            min_interval: interval,
            max_interval: interval,
            backoff_percent: 0,
        }
    }

    /// The wait before the next status request, after `quiet` in the current
    /// state, and with the predicted end `eta` from now if there is one.
    pub(crate) fn interval(&self, quiet: Duration, eta: Option<Duration>) -> Duration {
        let by_age = quiet.saturating_mul(self.backoff_percent) / 100;
        let mut wait = by_age.clamp(self.min_interval, self.max_interval.max(self.min_interval));
        if let Some(eta) = eta {
            // Poll just after the predicted end, but not sooner than the floor.
            let at_end = eta + self.min_interval / 4;
            wait = wait.min(at_end.max(self.min_interval));
        }
        wait
    }
}

/// The most a download may be when storage announces no size: 1 GiB. A
/// document's output (a ZIP of up to a few dozen pages of text) is a few MB.
pub const DEFAULT_MAX_DOWNLOAD: u64 = 1024 * 1024 * 1024;

/// Everything that bounds a machine: timeouts, retries, cadence, limits.
///
/// Every wait is bounded by default: a deadline for the whole machine, a
/// stall limit for a job that never starts, a no-progress limit for one that
/// runs without moving, a ceiling on what a `Retry-After` may ask.
///
/// ```
/// use std::time::Duration;
/// use sarvam_doc_core::Policy;
/// let policy = Policy::default()
///     .with_deadline(Some(Duration::from_secs(15 * 60)))
///     .with_seed(42);
/// assert_eq!(policy.deadline, Some(Duration::from_secs(900)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// How long one API request may take before it counts as timed out,
    /// and how long an upload or download may go without progress. The
    /// machine enforces it even if the transport does not, and never gives a
    /// request more than the time left before the deadline.
    pub request_timeout: Duration,
    /// The slowest transfer rate tolerated for uploads and downloads, in
    /// bytes per second: a transfer of `n` bytes may take
    /// `request_timeout + n / min_transfer_rate` (`n` is at most
    /// `max_download` for a download, so a huge announced size cannot
    /// stretch the time allowed).
    pub min_transfer_rate: u64,
    /// Retry backoff.
    pub retry: RetryPolicy,
    /// Polling cadence.
    pub poll: PollPolicy,
    /// How long a job may sit unchanged in `Accepted`, `Pending` or an
    /// unknown state before the machine gives up, naming the state. `None`
    /// waits as long as the deadline allows.
    pub stall_limit: Option<Duration>,
    /// How long a job may read `Running` with its page counts unchanged
    /// before the machine gives up. `None` waits as long as the deadline
    /// allows.
    pub progress_limit: Option<Duration>,
    /// How long the whole machine may take, from its creation. `None` for no
    /// limit (the stall and no-progress limits still end a stuck job).
    pub deadline: Option<Duration>,
    /// The longest `Retry-After` the machine honours. A server that asks for
    /// longer (or past the deadline) ends the machine at once, with what it
    /// asked for in the reason.
    pub max_retry_after: Duration,
    /// After a start whose answer never arrived, how long the job may still
    /// read `Pending` before the start is sent again (to the same job: a
    /// second start cannot make a second job).
    pub restart_after: Duration,
    /// The most bytes a download may hold when storage announces no size,
    /// and the most an announced size may be.
    pub max_download: u64,
    /// Whether a `/doc-ai/v1` submit whose answer never came is sent again.
    /// A submit makes and starts a job in one, and the API cannot list jobs,
    /// so a lost answer may mean a job running (and paid for) that the
    /// client will never hear of: by default the machine stops and says so.
    /// Set it to accept paying twice rather than not at all. A rerun's plan
    /// reads it too, for a submit lost in an earlier run
    /// ([`crate::journal::Rerun::retry_unconfirmed`]).
    pub retry_unconfirmed: bool,
    /// The seed of the backoff jitter. Give each machine its own (the
    /// drivers draw one at random) so that many clients do not retry in
    /// step.
    pub seed: u64,
}

impl Default for Policy {
    /// 60 s per request (as the official SDK), transfers at no less than
    /// 256 KiB/s, [`RetryPolicy::default`], [`PollPolicy::default`], a
    /// 10-minute stall limit, a 30-minute no-progress limit, a 1-hour
    /// deadline, `Retry-After` honoured up to 10 minutes, a lost start sent
    /// again after 60 s of `Pending`, downloads of at most 1 GiB, seed 0.
    fn default() -> Self {
        Policy {
            request_timeout: Duration::from_secs(60),
            min_transfer_rate: 256 * 1024,
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
            stall_limit: Some(Duration::from_secs(10 * 60)),
            progress_limit: Some(Duration::from_secs(30 * 60)),
            deadline: Some(Duration::from_secs(60 * 60)),
            max_retry_after: Duration::from_secs(10 * 60),
            restart_after: Duration::from_secs(60),
            max_download: DEFAULT_MAX_DOWNLOAD,
            retry_unconfirmed: false,
            seed: 0,
        }
    }
}

impl Policy {
    /// With `timeout` per API request.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// With this slowest tolerated transfer rate, in bytes per second.
    #[must_use]
    pub fn with_min_transfer_rate(mut self, bytes_per_second: u64) -> Self {
        self.min_transfer_rate = bytes_per_second;
        self
    }

    /// With `retry` backoff.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// With `poll` cadence.
    #[must_use]
    pub fn with_poll(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// With this stall limit (`None`: none).
    #[must_use]
    pub fn with_stall_limit(mut self, limit: Option<Duration>) -> Self {
        self.stall_limit = limit;
        self
    }

    /// With this no-progress limit for `Running` (`None`: none).
    #[must_use]
    pub fn with_progress_limit(mut self, limit: Option<Duration>) -> Self {
        self.progress_limit = limit;
        self
    }

    /// With this deadline for the whole machine (`None`: none).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// With this ceiling on `Retry-After`.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// With this wait before a lost start is sent again.
    #[must_use]
    pub fn with_restart_after(mut self, wait: Duration) -> Self {
        self.restart_after = wait;
        self
    }

    /// With this cap on downloads, in bytes.
    #[must_use]
    pub fn with_max_download(mut self, bytes: u64) -> Self {
        self.max_download = bytes;
        self
    }

    /// Whether an unconfirmed `/doc-ai/v1` submit is sent again (see
    /// [`Policy::retry_unconfirmed`]).
    #[must_use]
    pub fn with_retry_unconfirmed(mut self, retry: bool) -> Self {
        self.retry_unconfirmed = retry;
        self
    }

    /// With this jitter seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The time allowed for a transfer of `len` bytes.
    pub(crate) fn transfer_timeout(&self, len: u64) -> Duration {
        let rate = self.min_transfer_rate.max(1);
        self.request_timeout
            .saturating_add(Duration::from_secs(len.div_ceil(rate)))
    }
}

/// A small seeded generator (SplitMix64) for backoff jitter. Not for secrets.
#[derive(Clone, Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        Jitter(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A duration from zero up to `max`, inclusive, at nanosecond resolution.
    pub(crate) fn up_to(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next() % nanos.saturating_add(1).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_stays_within_half_and_full() {
        let policy = RetryPolicy::default();
        let mut rng = Jitter::new(7);
        for n in 1..=40 {
            let full = (Duration::from_millis(500) * 2u32.pow((n - 1).min(20))).min(policy.cap);
            for _ in 0..50 {
                let d = policy.backoff(n, &mut rng);
                assert!(d >= full / 2 && d <= full, "n={n} d={d:?} full={full:?}");
            }
        }
    }

    #[test]
    fn jitter_is_seeded() {
        let draw = |seed| {
            let mut j = Jitter::new(seed);
            (0..8)
                .map(|_| j.up_to(Duration::from_secs(1)))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn polling_grows_with_quiet_time_between_the_bounds() {
        let p = PollPolicy::default();
        let s = Duration::from_secs;
        assert_eq!(p.interval(s(0), None), s(1));
        assert_eq!(p.interval(s(30), None), s(3));
        assert_eq!(p.interval(s(3600), None), s(10));
        // A predicted end sooner than the cadence pulls the next poll in.
        assert_eq!(
            p.interval(s(3600), Some(s(4))),
            s(4) + Duration::from_millis(250)
        );
        // ... but never under the floor.
        assert_eq!(p.interval(s(3600), Some(Duration::ZERO)), s(1));
        let fixed = PollPolicy::fixed(s(2));
        assert_eq!(fixed.interval(s(0), None), s(2));
        assert_eq!(fixed.interval(s(1000), Some(s(1))), s(2));
    }

    #[test]
    fn transfers_get_time_in_proportion_to_their_size() {
        let p = Policy::default();
        assert_eq!(p.transfer_timeout(0), s(60));
        assert_eq!(p.transfer_timeout(256 * 1024 * 100), s(160));
        fn s(n: u64) -> Duration {
            Duration::from_secs(n)
        }
    }
}
