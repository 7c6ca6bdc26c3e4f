//! How many probes run at once, and how long a retry waits.

use std::time::Duration;

/// File descriptors kept for everything but probes (the runtime, the AWS clients, logs).
pub const RESERVED_FDS: u64 = 64;

/// Most probes in flight that `nofile` open files allow: each probe holds one socket, and a
/// closed socket's descriptor may linger briefly, so two per probe after [`RESERVED_FDS`].
/// Lambda's limit of 1024 gives 480.
pub fn max_concurrency_for(nofile: u64) -> usize {
    (nofile.saturating_sub(RESERVED_FDS) / 2).max(1) as usize
}

/// `requested` (`LOOKOUT_PROBE_CONCURRENCY`), lowered to what this process's open-file limit
/// (`RLIMIT_NOFILE`, soft) allows; an unlimited soft limit lowers nothing.
pub fn concurrency_limit(requested: usize) -> usize {
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let allowed = max_concurrency_for(nofile);
    if requested > allowed {
        tracing::warn!(
            requested,
            allowed,
            nofile,
            "probe concurrency lowered to the open-file limit"
        );
    }
    requested.clamp(1, allowed)
}

/// Delay before retry `attempt` (1-based): `backoff_ms × 2^(attempt-1)` (the exponent capped at
/// 6), times a random factor in [0.5, 1] (equal jitter).
pub fn backoff(backoff_ms: u64, attempt: u32) -> Duration {
    let full = backoff_ms.saturating_mul(1 << attempt.saturating_sub(1).min(6)) as f64;
    Duration::from_millis((full * (0.5 + fastrand::f64() * 0.5)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn concurrency_stays_within_the_open_file_limit() {
        assert_eq!(max_concurrency_for(1024), 480);
        assert_eq!(max_concurrency_for(10), 1);
        assert!(concurrency_limit(256) <= 256);
        assert!(concurrency_limit(1_000_000) < 1_000_000);
        assert_eq!(concurrency_limit(0), 1);
    }

    #[test]
    fn backoff_doubles_with_equal_jitter() {
        for attempt in 1..=8u32 {
            let full = 100u64 << (attempt - 1).min(6);
            for _ in 0..50 {
                let d = backoff(100, attempt).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} ms");
            }
        }
        let spread: std::collections::HashSet<_> =
            (0..50).map(|_| backoff(1000, 3).as_millis()).collect();
        assert!(spread.len() > 10, "jitter varies the delay: {spread:?}");
    }
}
