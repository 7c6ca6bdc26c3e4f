//! Heartbeat (push) targets in the probe run: never probed; each round of the home location
//! reads the ping records of its due heartbeat targets once ([`HeartbeatStore::ping_records`],
//! only when there are any) and judges each with
//! [`lookout_core::domain::heartbeat::evaluate`]. The result is applied like a probe's (the
//! state machine, SLO counting, storms), without a quorum: pings are not per location, so
//! only the home location (or the only one) judges heartbeats, and a remote location skips
//! them. A never-pinged target gives no result and raises nothing.

use std::collections::HashMap;

use crate::ports::HeartbeatStore;
use lookout_core::domain::heartbeat::{evaluate, PingRecord};
use lookout_core::domain::{CheckResult, Target};

/// The ping records of the due heartbeat targets, read in one call; an empty map without a
/// read when there are none. `None` when the store fails: the heartbeats are skipped this
/// round (logged), never judged down for it.
pub(super) async fn read_pings<S: HeartbeatStore + Sync>(
    store: &S,
    due: &[&Target],
) -> Option<HashMap<String, PingRecord>> {
    if due.is_empty() {
        return Some(HashMap::new());
    }
    let ids: Vec<String> = due.iter().map(|t| t.id.clone()).collect();
    match store.ping_records(&ids).await {
        Ok(records) => Some(records),
        Err(e) => {
            tracing::warn!(
                targets = ids.len(),
                error = %e,
                "ping records not read: heartbeat targets skipped this round"
            );
            None
        }
    }
}

/// The results of the due heartbeat targets at `run_at` (those with something to judge).
pub(super) fn judge<'a>(
    due: &[&'a Target],
    records: &HashMap<String, PingRecord>,
    run_at: i64,
) -> Vec<(&'a Target, CheckResult)> {
    due.iter()
        .filter_map(|t| {
            let check = t.heartbeat()?;
            evaluate(t, check, records.get(&t.id), run_at).map(|r| (*t, r))
        })
        .collect()
}

#[cfg(test)]
#[path = "heartbeat_tests.rs"]
mod tests;
