//! Run records and the per-kind summaries each probe round writes.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StoreError;
use lookout_core::domain::TargetKind;

/// A finished run, as `RUN#<kind>` rows keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique id of the run.
    pub run_id: String,
    /// Which kind it probed.
    pub kind: TargetKind,
    /// Start, epoch ms.
    pub started_at: i64,
    /// Wall time, ms.
    pub duration_ms: u64,
    /// Targets checked.
    pub checked: usize,
    /// Of those, `up` or `slow`.
    pub ok: usize,
    /// Status changes.
    pub changes: usize,
    /// Alerts published to the topic in this run (new ones and retried ones).
    pub alerts_published: usize,
    /// Alerts left `pending` in the outbox for the next run.
    pub alerts_pending: usize,
    /// Due targets not checked because the invocation's deadline came first (see the probe
    /// function's `RunReport::skipped` for their ids).
    #[serde(default)]
    pub skipped: usize,
    /// For a run that fanned out: how many shards it was split into (`None`: one invocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// For a run that fanned out: how many shards reported so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards_done: Option<u32>,
}

/// Run records.
pub trait RunStore {
    /// Stores a run record (with a TTL).
    fn put_run(&self, run: &RunRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Adds one shard's record to the record of its run (`shard_run.run_id` is the run's id,
    /// `shard_run.started_at` its start, `shards` its shard count): counts are added,
    /// `duration_ms` is the longest, `shards_done` counts up. The first shard to report creates
    /// the record. One atomic update per shard, so concurrent workers lose nothing. Returns the
    /// record after the update.
    fn add_shard_run(
        &self,
        shard_run: &RunRecord,
        shards: u32,
    ) -> impl Future<Output = Result<RunRecord, StoreError>> + Send;
    /// The newest run record of `kind`.
    fn last_run(
        &self,
        kind: TargetKind,
    ) -> impl Future<Output = Result<Option<RunRecord>, StoreError>> + Send;
    /// The newest `limit` run records of `kind`, newest first.
    fn runs(
        &self,
        kind: TargetKind,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RunRecord>, StoreError>> + Send;
}

/// What `GET /v1/summary` shows of one kind, written by each probe round so that the summary is
/// one read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindSummary {
    /// The kind.
    pub kind: TargetKind,
    /// When the round that last wrote it ran, epoch ms: what the summary shows is as of then
    /// (the API's `as_of`). A round with no status change and no override that changes nothing
    /// else the summary shows ([`KindSummary::shows_the_same`]: target count, status counts,
    /// each group's eligible set) does not rewrite it, unless the stored one is
    /// [`SUMMARY_REFRESH_MS`] old: so while the prober runs `at` is at most that old, and a
    /// group's active target and order among equals (latency ranks, a priority edit), traffic
    /// and cost may lag by as much. The prober's latest run shows in its kind's lease item
    /// (`GET /v1/leases`), taken every run.
    pub at: i64,
    /// Targets of the kind, enabled or not.
    pub targets: usize,
    /// Targets by status name.
    pub by_status: std::collections::BTreeMap<String, usize>,
    /// The failover choice of every group of the kind.
    pub groups: Vec<lookout_core::domain::failover::GroupChoice>,
    /// Proxy traffic counted, bytes.
    pub traffic_bytes: u64,
    /// Estimated proxy cost.
    pub cost: f64,
    /// The round's run record.
    pub last_run: Option<RunRecord>,
}

/// The longest a round leaves a stored summary unwritten when nothing it shows changed, ms
/// (10 minutes, the snapshot's period [`super::SNAPSHOT_EVERY_MS`]).
pub const SUMMARY_REFRESH_MS: i64 = 10 * 60_000;

/// The per-kind summaries.
pub trait SummaryStore {
    /// Writes the summary of its kind.
    fn put_summary(
        &self,
        summary: &KindSummary,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The summaries of both kinds that exist, in one read.
    fn summaries(&self) -> impl Future<Output = Result<Vec<KindSummary>, StoreError>> + Send;
}

impl KindSummary {
    /// Whether `self` shows what `other` shows but the time: the same kind, target count and
    /// count of each status, and per group the same member count and set of eligible targets.
    /// Left out: `at`, `last_run`, which eligible target is active and in what order the others
    /// follow (latency ranks move every run; `GET /v1/groups/{group}/active` and
    /// `GET /v1/status` choose live), traffic and cost (they grow with every proxy check).
    pub fn shows_the_same(&self, other: &KindSummary) -> bool {
        let choices = |s: &KindSummary| {
            let mut g: Vec<(String, Vec<String>, usize)> = s
                .groups
                .iter()
                .map(|c| {
                    let mut eligible = c.order.clone();
                    eligible.sort_unstable();
                    (c.group.clone(), eligible, c.members)
                })
                .collect();
            g.sort_unstable();
            g
        };
        self.kind == other.kind
            && self.targets == other.targets
            && self.by_status == other.by_status
            && choices(self) == choices(other)
    }

    /// The summary of a kind split into shards, from each shard's summary (all of one kind):
    /// targets, statuses, traffic and cost summed, groups concatenated (sorted by group name),
    /// `at` and `last_run` the newest. `None` when `parts` is empty.
    pub fn merge(parts: impl IntoIterator<Item = KindSummary>) -> Option<KindSummary> {
        let mut parts = parts.into_iter();
        let mut out = parts.next()?;
        for p in parts {
            out.targets += p.targets;
            for (status, n) in p.by_status {
                *out.by_status.entry(status).or_default() += n;
            }
            out.groups.extend(p.groups);
            out.traffic_bytes += p.traffic_bytes;
            out.cost += p.cost;
            out.at = out.at.max(p.at);
            let newer = match (&out.last_run, &p.last_run) {
                (Some(a), Some(b)) => b.started_at > a.started_at,
                (None, Some(_)) => true,
                _ => false,
            };
            if newer {
                out.last_run = p.last_run;
            }
        }
        out.groups.sort_by(|a, b| a.group.cmp(&b.group));
        Some(out)
    }
}
