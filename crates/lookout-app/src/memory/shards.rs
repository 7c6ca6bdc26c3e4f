//! [`Sharded`] and [`ShardLayout`] in memory, with the DynamoDB adapter's rules: a narrowed
//! view lists its shard's definitions and keeps its own snapshot, history, summary, lease and
//! location verdicts; the whole view reads across every shard of the kind's layout.
//!
//! The latest states of a view with no snapshot of its own written since the layout last
//! changed come from the newest entry of each target among its own older snapshot, the
//! previous layout's shards' and the whole one, keeping only the view's targets, so that
//! counters and statuses survive a re-shard (and a re-shard back).

use std::collections::HashMap;

use super::{MemoryStore, Tables};
use crate::ports::{Latest, ShardLayout, Sharded, StoreError};
use lookout_core::domain::shard::BUCKETS;
use lookout_core::domain::{Shard, TargetKind};

/// A kind's shard layout.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// Shards now.
    pub(super) of: u32,
    /// The layout the states come from when a view has no snapshot of its own since the last
    /// change: the count before, or, when that layout never wrote a snapshot, the one before it.
    pub(super) prev_of: u32,
    /// Changes so far; a snapshot written under an older generation is stale.
    pub(super) generation: u64,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            of: 1,
            prev_of: 1,
            generation: 0,
        }
    }
}

impl Sharded for MemoryStore {
    fn for_shard(&self, shard: Shard) -> Self {
        MemoryStore {
            s: self.s.clone(),
            shard,
            location: self.location.clone(),
        }
    }

    fn shard(&self) -> Shard {
        self.shard
    }
}

impl ShardLayout for MemoryStore {
    async fn shard_count(&self, kind: TargetKind) -> Result<u32, StoreError> {
        Ok(self.lock().layout(kind).of)
    }

    async fn set_shard_count(&self, kind: TargetKind, of: u32) -> Result<u32, StoreError> {
        if !(1..=BUCKETS).contains(&of) {
            return Err(StoreError::Invalid(format!(
                "a shard count is from 1 to {BUCKETS}, not {of}"
            )));
        }
        let mut t = self.lock();
        let layout = t.layout(kind);
        if of != layout.of {
            let wrote = Shard::all(layout.of).any(|s| {
                t.snapshots
                    .get(&(kind, s))
                    .is_some_and(|(g, _)| *g == layout.generation)
            });
            t.layouts.insert(
                kind,
                Layout {
                    of,
                    prev_of: if wrote || layout.generation == 0 {
                        layout.of
                    } else {
                        layout.prev_of
                    },
                    generation: layout.generation + 1,
                },
            );
        }
        Ok(layout.of)
    }
}

/// Keeps in `into` the newer entry of each target (by state version, then last check).
pub(super) fn merge_latest(
    into: &mut HashMap<String, Latest>,
    from: impl IntoIterator<Item = Latest>,
) {
    let rank = |l: &Latest| (l.state.version, l.state.last_check);
    for l in from {
        match into.get(&l.state.target_id) {
            Some(have) if rank(have) >= rank(&l) => {}
            _ => {
                into.insert(l.state.target_id.clone(), l);
            }
        }
    }
}

impl Tables {
    /// The layout of `kind` (1 shard when never set).
    pub(super) fn layout(&self, kind: TargetKind) -> Layout {
        self.layouts.get(&kind).copied().unwrap_or_default()
    }

    /// The latest states a view narrowed to `shard` reads: the whole view of a kind split into
    /// more than one shard merges its shards'.
    pub(super) fn latest_of(&self, kind: TargetKind, shard: Shard) -> HashMap<String, Latest> {
        let layout = self.layout(kind);
        let mut out = HashMap::new();
        if shard.is_whole() && layout.of > 1 {
            for s in Shard::all(layout.of) {
                merge_latest(&mut out, self.shard_latest(kind, s, layout).into_values());
            }
        } else {
            out = self.shard_latest(kind, shard, layout);
        }
        out
    }

    /// One view's own snapshot, or, without one written since the layout changed, the newest
    /// entry of each target among its own stale one, the previous layout's and the whole one,
    /// keeping the view's targets.
    fn shard_latest(
        &self,
        kind: TargetKind,
        shard: Shard,
        layout: Layout,
    ) -> HashMap<String, Latest> {
        let own = |s: Shard| self.snapshots.get(&(kind, s)).map(|(g, v)| (*g, v));
        let mut found = HashMap::new();
        match own(shard) {
            Some((g, v)) if g == layout.generation => {
                merge_latest(&mut found, v.iter().cloned());
                return found;
            }
            Some((_, v)) => merge_latest(&mut found, v.iter().cloned()),
            None => {}
        }
        if layout.generation == 0 {
            return found;
        }
        let prev = if shard.of == layout.of {
            layout.prev_of
        } else {
            1
        };
        let mut sources: Vec<Shard> = Shard::all(prev).collect();
        sources.push(Shard::WHOLE);
        for s in sources.into_iter().filter(|s| *s != shard) {
            if let Some((_, v)) = own(s) {
                merge_latest(&mut found, v.iter().cloned());
            }
        }
        if !shard.is_whole() {
            found.retain(|id, _| self.targets.get(id).is_some_and(|t| shard.holds(t)));
        }
        found
    }
}
