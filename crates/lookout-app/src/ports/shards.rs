//! Fan-out: a probe run split into shard tasks that worker invocations take from a queue
//! (see [`lookout_core::domain::shard`]).

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StoreError;
use lookout_core::domain::{Shard, TargetKind};

/// A store that can be narrowed to one shard of the targets.
///
/// The narrowed view lists only the shard's definitions ([`super::TargetStore::list_targets`]),
/// and keeps its own snapshot, history, summary, run lease and location verdicts, so that a
/// worker reads and writes its shard only. State items, overrides (read whole, each worker
/// takes its own), the outbox, alerts and definitions by id are shared. The whole view
/// ([`Shard::WHOLE`], what `for_shard` is never called on) reads across every shard of the
/// kind's current [`ShardLayout`].
pub trait Sharded: Sized {
    /// A view of the same table narrowed to `shard`. [`Shard::WHOLE`] gives the store as
    /// before fan-out.
    fn for_shard(&self, shard: Shard) -> Self;
    /// The shard this view is narrowed to ([`Shard::WHOLE`] when it is not).
    fn shard(&self) -> Shard;
}

/// How many shards each kind is split into now.
pub trait ShardLayout {
    /// The shard count of `kind` (1 when never set).
    fn shard_count(&self, kind: TargetKind)
        -> impl Future<Output = Result<u32, StoreError>> + Send;
    /// Sets the shard count of `kind`; returns the count before.
    fn set_shard_count(
        &self,
        kind: TargetKind,
        of: u32,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
}

/// One shard of one scheduled run, as a queue message: the worker probes that shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTask {
    /// The kind.
    pub kind: TargetKind,
    /// Which shard of how many.
    pub shard: Shard,
    /// The scheduled event's id plus the shard label: a second delivery after the shard's run
    /// finished is not run again (the shard's lease records it).
    pub event_id: Option<String>,
    /// Probe every enabled target of the shard, due or not.
    #[serde(default)]
    pub force: bool,
    /// The repeat window, seconds (see `ProbeRequest::window_s`).
    #[serde(default)]
    pub window_s: u32,
    /// The run the shard belongs to: the dispatcher's run id, so the workers add their counts
    /// to one run record.
    pub run_id: String,
    /// When the dispatcher issued it, epoch ms.
    pub issued_at: i64,
}

/// Hands shard tasks to workers (an SQS queue the probe function consumes).
pub trait ShardQueue {
    /// Sends `tasks` (in batches of at most 10).
    ///
    /// # Errors
    /// [`StoreError`] when a task could not be sent; the tasks before it were.
    fn send_tasks(
        &self,
        tasks: &[ShardTask],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
