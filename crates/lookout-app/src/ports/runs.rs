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
    /// When the round that wrote it ran, epoch ms.
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
