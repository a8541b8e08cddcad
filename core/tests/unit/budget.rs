//! The request budget, over arbitrary batches and limits: never more than
//! the rate allows over any window, and no requester waits forever.
#![allow(clippy::unwrap_used)] // A test that unwraps fails loudly, which is what it is for.

use std::time::{Duration, Instant};

use super::{Budget, Priority, Rate};
use proptest::prelude::*;

/// The origin of simulated time: the one real clock read.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn priority(n: u8) -> Priority {
    match n % 4 {
        0 => Priority::Finish,
        1 => Priority::Likely,
        2 => Priority::Work,
        _ => Priority::Poll,
    }
}

/// One requester: when it first asks, how urgent it is, how late it is to
/// come back each time it is told to wait (ms), and how many requests it makes.
#[derive(Clone, Debug)]
struct Requester {
    arrives_ms: u64,
    priority: u8,
    lateness_ms: u64,
    requests: u8,
}

fn requester() -> impl Strategy<Value = Requester> {
    (0u64..120_000, any::<u8>(), 0u64..50, 1u8..6).prop_map(
        |(arrives_ms, priority, lateness_ms, requests)| Requester {
            arrives_ms,
            priority,
            lateness_ms,
            requests,
        },
    )
}

/// Runs the requesters against `budget` in simulated time: the grant times,
/// and each request's wait from its first ask to its grant.
fn simulate(
    budget: &Budget,
    requesters: &[Requester],
    start: Instant,
) -> (Vec<Instant>, Vec<Duration>) {
    // (next ask, requester, ticket, first ask of the current request, left)
    let mut pending: Vec<(Instant, usize, u64, Instant, u8)> = requesters
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let at = start + Duration::from_millis(r.arrives_ms);
            (at, i, budget.ticket(), at, r.requests)
        })
        .collect();
    let (mut grants, mut waits) = (Vec::new(), Vec::new());
    let mut steps = 0;
    while !pending.is_empty() {
        steps += 1;
        assert!(steps < 1_000_000, "the simulation did not end");
        // The earliest asker goes next.
        let (idx, _) = pending
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| (p.0, p.1))
            .unwrap();
        let (at, i, ticket, first, left) = pending[idx];
        let r = &requesters[i];
        match budget.try_acquire(at, ticket, priority(r.priority)) {
            Ok(()) => {
                grants.push(at);
                waits.push(at.duration_since(first));
                if left > 1 {
                    // Its next request, a moment later.
                    let next = at + Duration::from_millis(100);
                    pending[idx] = (next, i, ticket, next, left - 1);
                } else {
                    pending.swap_remove(idx);
                }
            }
            Err(until) => {
                assert!(until > at, "told to wait until now or before");
                pending[idx].0 = until + Duration::from_millis(r.lateness_ms);
            }
        }
    }
    (grants, waits)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_rate_is_never_exceeded_and_nobody_waits_forever(
        per_minute in 1u32..600,
        burst in 1u32..10,
        requesters in proptest::collection::vec(requester(), 1..40),
    ) {
        let start = origin();
        let rate = Rate::per_minute(per_minute).with_burst(burst);
        let budget = Budget::new(Some(rate));
        let (mut grants, waits) = simulate(&budget, &requesters, start);
        let total: usize = requesters.iter().map(|r| usize::from(r.requests)).sum();
        prop_assert_eq!(grants.len(), total, "every request was granted");
        grants.sort();
        // Over any window of length w, at most burst + w × rate grants.
        let per_sec = f64::from(per_minute) / 60.0;
        for (i, first) in grants.iter().enumerate() {
            for (j, last) in grants.iter().enumerate().skip(i) {
                let w = last.duration_since(*first).as_secs_f64();
                let allowed = f64::from(burst) + w * per_sec + 1e-6;
                prop_assert!(
                    (j - i + 1) as f64 <= allowed,
                    "{} grants in {w:.3} s, allowed {allowed:.3}", j - i + 1
                );
            }
        }
        // No starvation: a request waits at most for every other request
        // to go first, plus the aging of the lowest priority, plus lateness.
        let interval = 60.0 / f64::from(per_minute);
        let bound = Duration::from_secs_f64(total as f64 * interval + 3.0 * 20.0 + 10.0);
        for wait in waits {
            prop_assert!(wait <= bound, "waited {wait:?}, bound {bound:?}");
        }
    }

    #[test]
    fn a_retry_after_holds_every_request_of_the_client(
        hold_s in 1u64..120,
        requesters in proptest::collection::vec(requester(), 1..20),
    ) {
        let start = origin();
        let budget = Budget::new(Some(Rate::per_minute(600).with_burst(5)));
        budget.observe(start, true, Some(Duration::from_secs(hold_s)));
        let (grants, _) = simulate(&budget, &requesters, start);
        let held_until = start + Duration::from_secs(hold_s);
        for g in grants {
            prop_assert!(g >= held_until, "a grant during the hold");
        }
    }
}

#[test]
fn without_a_rate_it_learns_one_from_429s_and_grows_back() {
    let start = origin();
    let budget = Budget::default();
    let ticket = budget.ticket();
    // Unlimited at first: 120 requests in a minute go at once, and are taken.
    for i in 0..120u64 {
        let at = start + Duration::from_millis(i * 500);
        assert!(budget.try_acquire(at, ticket, Priority::Work).is_ok());
        budget.observe(at, false, None);
    }
    // A 429: the rate becomes a little under what the API took, and every
    // request holds.
    let t = start + Duration::from_secs(60);
    budget.observe(t, true, Some(Duration::from_secs(5)));
    let learned = budget.stats(t).rate_per_minute.unwrap();
    assert!((105.0..=120.0).contains(&learned), "{learned}");
    assert_eq!(
        budget.try_acquire(t, ticket, Priority::Work),
        Err(t + Duration::from_secs(5))
    );
    // Successes raise it again: by about a tenth a minute, for no rate
    // that met a 429 is known yet (the client had none).
    for _ in 0..100 {
        budget.observe(t, false, None);
    }
    let grown = budget.stats(t).rate_per_minute.unwrap();
    assert!(
        grown > learned + 5.0 && grown < learned * 1.2,
        "{learned} → {grown}"
    );
    // A second 429 names the rate that meets one: the cut is from there,
    // and growth near it is slow.
    let t2 = t + Duration::from_secs(20);
    budget.observe(t2, true, Some(Duration::from_secs(1)));
    let cut = budget.stats(t2).rate_per_minute.unwrap();
    assert!(cut < grown, "{grown} → {cut}");
    // Up to just under the rate that met it, quickly; past that, slowly.
    for _ in 0..1000 {
        budget.observe(t2, false, None);
    }
    let near = budget.stats(t2).rate_per_minute.unwrap();
    assert!(
        near > 0.95 * grown && near < grown + 2.0,
        "{cut} → {near} (ceiling {grown})"
    );
    assert_eq!(budget.stats(t2).throttled, 2);
}

#[test]
fn a_first_429_without_retry_after_holds_a_moment_and_learns_nothing() {
    let start = origin();
    let budget = Budget::default();
    let ticket = budget.ticket();
    assert!(budget.try_acquire(start, ticket, Priority::Work).is_ok());
    // Nothing seen before it, no Retry-After: no evidence of a rate.
    budget.observe(start, true, None);
    assert_eq!(budget.stats(start).rate_per_minute, None);
    let after = budget
        .try_acquire(start, ticket, Priority::Work)
        .unwrap_err();
    assert!(after <= start + Duration::from_secs(1), "{after:?}");
    // At the hold's end the next request goes at once, not a token later.
    assert!(budget.try_acquire(after, ticket, Priority::Work).is_ok());
    // With requests behind it, the next 429 does teach a rate.
    for i in 1..=10u64 {
        let at = after + Duration::from_millis(i * 100);
        assert!(budget.try_acquire(at, ticket, Priority::Work).is_ok());
        budget.observe(at, false, None);
    }
    let t = after + Duration::from_secs(2);
    budget.observe(t, true, None);
    assert!(budget.stats(t).rate_per_minute.is_some());
}

#[test]
fn a_stray_429_among_many_answers_does_not_cut_the_rate() {
    let start = origin();
    let budget = Budget::default();
    let ticket = budget.ticket();
    for i in 0..100u64 {
        let at = start + Duration::from_millis(i * 100);
        assert!(budget.try_acquire(at, ticket, Priority::Work).is_ok());
        budget.observe(at, false, None);
    }
    // One in a hundred, with no Retry-After: a flaky moment, not a limit.
    let t = start + Duration::from_secs(10);
    budget.observe(t, true, None);
    assert_eq!(budget.stats(t).rate_per_minute, None);
    // Ten in the next second are a pattern: the rate is cut.
    for i in 1..=10u64 {
        budget.observe(t + Duration::from_millis(i * 100), true, None);
    }
    let cut = budget.stats(t + Duration::from_secs(1)).rate_per_minute;
    assert!(cut.is_some_and(|r| r < 600.0), "{cut:?}");
}

#[test]
fn the_most_useful_request_goes_first_when_tokens_are_short() {
    let start = origin();
    let budget = Budget::new(Some(Rate::per_minute(60)));
    let (poll, work, finish) = (budget.ticket(), budget.ticket(), budget.ticket());
    // The one token goes; the three others queue for the next.
    let first = budget.ticket();
    assert!(budget.try_acquire(start, first, Priority::Work).is_ok());
    let mut next = start;
    for (t, p) in [
        (poll, Priority::Poll),
        (work, Priority::Work),
        (finish, Priority::Finish),
    ] {
        next = budget.try_acquire(start, t, p).unwrap_err();
    }
    // At the next token, all three ask: the finish goes first, then work, then the poll.
    let order: Vec<u64> = (0..3)
        .map(|k| {
            let at = next + Duration::from_secs(k);
            [poll, work, finish]
                .into_iter()
                .find(|t| {
                    let p = if *t == poll {
                        Priority::Poll
                    } else if *t == work {
                        Priority::Work
                    } else {
                        Priority::Finish
                    };
                    // Everyone asks; only one is let through.
                    budget.try_acquire(at, *t, p).is_ok()
                })
                .unwrap()
        })
        .collect();
    assert_eq!(order, [finish, work, poll]);
}
