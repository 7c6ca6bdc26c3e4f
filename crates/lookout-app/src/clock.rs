//! The clock port: where the use cases read the time (epoch milliseconds, UTC), so that tests
//! can set it instead of waiting for it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch (UTC), now.
    fn now_ms(&self) -> i64;
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(now_ms = {})", self.now_ms())
    }
}

/// The system's clock ([`lookout_core::time::now_ms`]): what the functions use.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        lookout_core::time::now_ms()
    }
}

impl SystemClock {
    /// The system clock behind the shared handle the use cases take.
    pub fn shared() -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }
}

/// A clock that stands still until it is set or advanced (for tests). Clones share one time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `now_ms` (epoch ms).
    pub fn at(now_ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(now_ms)))
    }

    /// Sets the time to `now_ms` (epoch ms).
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time on by `ms` milliseconds.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_shows_only_the_time_it_is_given() {
        let clock = ManualClock::at(1_000);
        let shared = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        shared.advance(500);
        assert_eq!(clock.now_ms(), 1_500);
        clock.set(42);
        assert_eq!(shared.now_ms(), 42);
    }

    #[test]
    fn the_system_clock_follows_the_system_time() {
        let before = lookout_core::time::now_ms();
        let now = SystemClock.now_ms();
        assert!(now >= before && now - before < 60_000);
    }
}
