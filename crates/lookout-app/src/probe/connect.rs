//! Connection timing of one check: every connection a check opens through
//! [`transport`](super::transport) (DNS, TCP, proxy handshake, TLS) adds its time here and is cut
//! at `connect_timeout`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What one check's connections are allowed and what they took.
#[derive(Debug, Default)]
pub struct ConnectContext {
    /// Longest a connection may take to open; `None` leaves it to the request's own timeout.
    pub connect_timeout: Option<Duration>,
    /// Time spent opening connections so far, in µs (0 when none was opened).
    pub connect_us: AtomicU64,
    /// Connections opened (or tried) so far.
    pub connects: AtomicU64,
}

impl ConnectContext {
    /// Time spent opening connections, in whole ms (rounded up), or `None` when none was opened.
    pub fn connect_ms(&self) -> Option<u64> {
        (self.connects.load(Ordering::Relaxed) > 0)
            .then(|| self.connect_us.load(Ordering::Relaxed).div_ceil(1000))
    }

    /// Adds one connection's opening time.
    pub fn record(&self, took: Duration) {
        self.connect_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.connects.fetch_add(1, Ordering::Relaxed);
    }
}
