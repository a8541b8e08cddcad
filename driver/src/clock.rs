//! The clock the machines read: real time, or real time run faster for a
//! simulation (the simulator at the same scale), so that an hour of batch is
//! measured in a minute with every rule unchanged.

use std::time::{Duration, Instant};

/// Real time, or real time × `scale`.
///
/// ```
/// use std::time::Duration;
/// use sarvam_doc_driver::Clock;
/// let clock = Clock::scaled(60.0);
/// // A minute of the machines' time is a second of real time.
/// assert_eq!(clock.real_duration(Duration::from_secs(60)), Duration::from_secs(1));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
    scale: f64,
}

impl Default for Clock {
    /// Real time.
    fn default() -> Self {
        Clock::scaled(1.0)
    }
}

impl Clock {
    /// Real time × `scale` (at least 1: time never runs slower than real).
    #[must_use]
    pub fn scaled(scale: f64) -> Self {
        Clock {
            origin: Instant::now(),
            scale: if scale.is_finite() {
                scale.max(1.0)
            } else {
                1.0
            },
        }
    }

    /// How much faster than real time it runs.
    #[must_use]
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Now, on this clock.
    #[must_use]
    pub fn now(&self) -> Instant {
        let real = Instant::now();
        if self.scale == 1.0 {
            return real;
        }
        self.origin
            + real
                .saturating_duration_since(self.origin)
                .mul_f64(self.scale)
    }

    /// The real instant at which this clock reads `at`.
    #[must_use]
    pub fn real_instant(&self, at: Instant) -> Instant {
        if self.scale == 1.0 {
            return at;
        }
        self.origin
            + at.saturating_duration_since(self.origin)
                .div_f64(self.scale)
    }

    /// The real length of `d` on this clock.
    #[must_use]
    pub fn real_duration(&self, d: Duration) -> Duration {
        if self.scale == 1.0 {
            d
        } else {
            d.div_f64(self.scale)
        }
    }
}
