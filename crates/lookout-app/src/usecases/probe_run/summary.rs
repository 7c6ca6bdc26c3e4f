//! The summary of a kind after a round, for `GET /v1/summary`.

use std::collections::{BTreeMap, HashMap};

use crate::ports::{KindSummary, Latest, RunRecord};
use lookout_core::domain::{Status, Target, TargetKind, TargetState};

/// The summary of `kind` after the round recorded in `record`: targets by status, failover
/// groups, traffic and cost.
pub(super) fn kind_summary(
    kind: TargetKind,
    targets: &[Target],
    latest: &HashMap<String, Latest>,
    record: &RunRecord,
) -> KindSummary {
    let states: HashMap<String, TargetState> = targets
        .iter()
        .map(|t| {
            let s = latest
                .get(&t.id)
                .map_or_else(|| TargetState::new(&t.id), |l| l.state.clone());
            (t.id.clone(), s)
        })
        .collect();
    let mut by_status: BTreeMap<String, usize> = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    for s in states.values() {
        *by_status.entry(s.status.as_str().to_string()).or_default() += 1;
    }
    KindSummary {
        kind,
        at: record.started_at,
        targets: targets.len(),
        by_status,
        groups: lookout_core::domain::failover::choose_all(targets, &states),
        traffic_bytes: states.values().map(|s| s.traffic_bytes).sum(),
        cost: states.values().map(|s| s.cost).sum(),
        last_run: Some(record.clone()),
    }
}
