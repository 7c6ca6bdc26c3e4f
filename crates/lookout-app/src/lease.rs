//! Short run leases kept alive by a heartbeat.
//!
//! A probe run takes its kind's lease ([`RunLease::acquire_lease`]) for [`LEASE_MS`] only and
//! renews it every [`HEARTBEAT_MS`] while it works ([`hold_lease`]). A run that dies (a crash,
//! a killed process, a Lambda timeout) stops renewing, so its kind is blocked for at most one
//! lease, about one schedule period, instead of until the invocation's deadline. An operator
//! can end a stuck lease at once (`DELETE /v1/leases/{kind}`, [`RunLease::break_lease`]).

use std::future::Future;
use std::time::Duration;

use crate::ports::RunLease;
use lookout_core::domain::TargetKind;

/// How long a lease lasts without a renewal, ms. One probe schedule period (a minute): a
/// crashed run blocks its kind for at most about one tick, and three heartbeats fit in it, so
/// two renewals in a row may fail (throttling, a slow network) before a live run loses it.
pub const LEASE_MS: i64 = 60_000;

/// How often a run renews its lease, ms: a third of [`LEASE_MS`].
pub const HEARTBEAT_MS: u64 = 20_000;

/// The lease's length and the heartbeat's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// Each acquire or renewal holds the lease this long, ms (default [`LEASE_MS`]).
    pub lease_ms: i64,
    /// Renewal period, ms (default [`HEARTBEAT_MS`]); keep it well under `lease_ms`.
    pub every_ms: u64,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            lease_ms: LEASE_MS,
            every_ms: HEARTBEAT_MS,
        }
    }
}

impl LeaseTiming {
    /// The end of a lease taken or renewed at `now_ms`: `now_ms + lease_ms`, but never past
    /// `hard_until_ms` (the invocation's deadline, or the longest the run may take).
    pub fn until(&self, now_ms: i64, hard_until_ms: Option<i64>) -> i64 {
        let until = now_ms + self.lease_ms;
        hard_until_ms.map_or(until, |h| until.min(h))
    }
}

/// What the heartbeat of [`hold_lease`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeartbeatReport {
    /// Successful renewals, over all kinds.
    pub renewals: usize,
    /// Kinds whose lease was found lost (another run took it after it expired, or an operator
    /// released it); they were not renewed again.
    pub lost: Vec<TargetKind>,
    /// Renewals that failed in the store (tried again at the next beat).
    pub errors: usize,
}

/// Runs `work` while renewing `holder`'s leases of `kinds`: every `timing.every_ms` each lease
/// is extended to [`LeaseTiming::until`] through a conditional write on the holder
/// ([`RunLease::renew_lease`]). `started_ms` is the wall-clock time (epoch ms) the leases were
/// taken; later times are counted from it on tokio's monotonic clock. Renewing ends when the
/// time reaches `hard_until_ms`, so a run that hangs past its budget loses its lease at that
/// point.
///
/// The heartbeat runs beside `work` in the same task (joined, not spawned: it borrows the
/// store, and it has ended, with no renewal in flight, when this returns, so a release right
/// after cannot be undone by a late renewal). A renewal that finds the lease lost logs a warning
/// and stops renewing that kind; the work goes on (what it writes is conditional or idempotent:
/// versioned states, claimed alerts).
pub async fn hold_lease<S, F>(
    store: &S,
    kinds: &[TargetKind],
    holder: &str,
    started_ms: i64,
    hard_until_ms: Option<i64>,
    timing: &LeaseTiming,
    work: F,
) -> (F::Output, HeartbeatReport)
where
    S: RunLease + Sync,
    F: Future,
{
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let clock = tokio::time::Instant::now();
    let every = Duration::from_millis(timing.every_ms.max(1));
    let beat = async move {
        let mut report = HeartbeatReport::default();
        let mut live: Vec<TargetKind> = kinds.to_vec();
        let mut next = clock + every;
        while !live.is_empty() {
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                () = tokio::time::sleep_until(next) => {}
            }
            next += every;
            let now = started_ms + clock.elapsed().as_millis() as i64;
            if hard_until_ms.is_some_and(|h| now >= h) {
                tracing::warn!(holder, "run lease not renewed past the run's time budget");
                break;
            }
            let until = timing.until(now, hard_until_ms);
            let mut kept = Vec::with_capacity(live.len());
            for kind in live {
                match store.renew_lease(kind, holder, until).await {
                    Ok(true) => {
                        report.renewals += 1;
                        kept.push(kind);
                    }
                    Ok(false) => {
                        tracing::warn!(
                            kind = kind.as_str(),
                            holder,
                            "run lease lost (taken over after it expired, or released by an operator); no longer renewed"
                        );
                        report.lost.push(kind);
                    }
                    Err(e) => {
                        tracing::warn!(kind = kind.as_str(), error = %e, "run lease not renewed; trying again at the next beat");
                        report.errors += 1;
                        kept.push(kind);
                    }
                }
            }
            live = kept;
        }
        report
    };
    let work = async move {
        let out = work.await;
        let _ = stop.send(());
        out
    };
    tokio::join!(work, beat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::ports::Lease;

    const K: TargetKind = TargetKind::Server;

    async fn taken(store: &MemoryStore, holder: &str, now: i64) {
        let until = LeaseTiming::default().until(now, None);
        assert_eq!(
            store
                .acquire_lease(K, holder, now, until, None)
                .await
                .unwrap(),
            Lease::Acquired
        );
    }

    async fn until_of(store: &MemoryStore) -> i64 {
        store.leases().await.unwrap()[0].until_ms
    }

    #[tokio::test(start_paused = true)]
    async fn a_working_run_renews_its_lease_every_twenty_seconds_past_the_first_minute() {
        let store = MemoryStore::default();
        let start = 1_000_000;
        taken(&store, "run-a", start).await;
        assert_eq!(until_of(&store).await, start + LEASE_MS);
        let work = async {
            tokio::time::sleep(Duration::from_secs(150)).await;
            // Long past the first lease's end, another run still finds it held.
            store
                .acquire_lease(K, "run-b", start + 150_000, start + 210_000, None)
                .await
                .unwrap()
        };
        let timing = LeaseTiming::default();
        let (other, report) = hold_lease(&store, &[K], "run-a", start, None, &timing, work).await;
        assert!(matches!(other, Lease::Busy { .. }), "{other:?}");
        assert_eq!(report.renewals, 7, "beats at 20, 40, ... 140 s: {report:?}");
        assert!(report.lost.is_empty());
        assert_eq!(until_of(&store).await, start + 140_000 + LEASE_MS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_that_finds_the_lease_released_stops_and_reports_it_lost() {
        let store = MemoryStore::default();
        let start = 1_000_000;
        taken(&store, "run-a", start).await;
        let work = async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            // An operator releases the stuck lease; the next run takes it.
            assert!(store.break_lease(K, start + 30_000).await.unwrap());
            taken(&store, "run-b", start + 31_000).await;
            tokio::time::sleep(Duration::from_secs(60)).await;
        };
        let timing = LeaseTiming::default();
        let ((), report) = hold_lease(&store, &[K], "run-a", start, None, &timing, work).await;
        assert_eq!(report.renewals, 1, "only the beat at 20 s: {report:?}");
        assert_eq!(report.lost, vec![K]);
        let lease = &store.leases().await.unwrap()[0];
        assert_eq!(
            (lease.holder.as_deref(), lease.until_ms),
            (Some("run-b"), start + 31_000 + LEASE_MS),
            "run-a never extended run-b's lease"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn renewals_never_reach_past_the_runs_budget() {
        let store = MemoryStore::default();
        let start = 1_000_000;
        taken(&store, "run-a", start).await;
        let hard = start + 70_000;
        let work = tokio::time::sleep(Duration::from_secs(200));
        let timing = LeaseTiming::default();
        let ((), report) =
            hold_lease(&store, &[K], "run-a", start, Some(hard), &timing, work).await;
        assert_eq!(
            report.renewals, 3,
            "20, 40 and 60 s, then the budget is over"
        );
        assert_eq!(until_of(&store).await, hard);
    }

    #[tokio::test(start_paused = true)]
    async fn the_heartbeat_ends_with_the_work_so_a_release_right_after_stays_released() {
        let store = MemoryStore::default();
        let start = 1_000_000;
        taken(&store, "run-a", start).await;
        let timing = LeaseTiming::default();
        let work = tokio::time::sleep(Duration::from_secs(25));
        let ((), report) = hold_lease(&store, &[K], "run-a", start, None, &timing, work).await;
        assert_eq!(report.renewals, 1);
        store.release_lease(K, "run-a", None).await.unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(until_of(&store).await, 0);
        assert!(!store
            .renew_lease(K, "run-a", start + 999_999)
            .await
            .unwrap());
    }
}
