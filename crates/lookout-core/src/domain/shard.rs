//! Shards: how one kind's targets are split between worker invocations of a probe run.
//!
//! Every target falls in one of [`BUCKETS`] buckets by a stable hash of its group
//! ([`bucket_of`], FNV-1a 64, <http://www.isthe.com/chongo/tech/comp/fnv/>): a group's targets
//! stay together, so that failover and group alerts see the whole group in one worker. A run of
//! `of` shards gives shard `index` the contiguous bucket range [`Shard::buckets`], so a shard's
//! definitions are one range query on the index (bucket first in its sort key) and a change of
//! the shard count moves whole buckets.
//!
//! The count follows the targets: [`shard_count`] of the kind's targets and a per-worker budget
//! ([`DEFAULT_TARGETS_PER_SHARD`] by default, so nothing changes below 10,000 targets).

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::target::Target;

/// Buckets of the hash space; the most shards a kind can have.
pub const BUCKETS: u32 = 1024;

/// Targets one worker takes by default (`LOOKOUT_SHARD_TARGETS`): what one invocation
/// handled before fan-out existed.
pub const DEFAULT_TARGETS_PER_SHARD: usize = 10_000;

/// The bucket of a shard key: FNV-1a 64 of its UTF-8 bytes, modulo [`BUCKETS`]. Stable across
/// versions and machines (it is stored in index keys).
pub fn bucket_of(key: &str) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h = OFFSET;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    (h % u64::from(BUCKETS)) as u32
}

/// The bucket of a target: that of its group.
pub fn target_bucket(target: &Target) -> u32 {
    bucket_of(&target.group)
}

/// Shards needed for `targets` targets at `per_shard` each: at least 1, at most [`BUCKETS`].
pub fn shard_count(targets: usize, per_shard: usize) -> u32 {
    (targets.div_ceil(per_shard.max(1))).clamp(1, BUCKETS as usize) as u32
}

/// Shard `index` of `of` (0 ≤ index < of ≤ [`BUCKETS`]). `Shard::WHOLE` (0 of 1) is every
/// target: a run that does not fan out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: u32,
    /// How many shards the kind is split into.
    pub of: u32,
}

impl Shard {
    /// Every target, one shard.
    pub const WHOLE: Shard = Shard { index: 0, of: 1 };

    /// Shard `index` of `of`, if `index < of` and `1 ≤ of ≤ BUCKETS`.
    pub fn new(index: u32, of: u32) -> Option<Shard> {
        (index < of && (1..=BUCKETS).contains(&of)).then_some(Shard { index, of })
    }

    /// Whether this is the whole kind (one shard).
    pub fn is_whole(self) -> bool {
        self.of == 1
    }

    /// The buckets this shard covers: `[index × BUCKETS / of, (index + 1) × BUCKETS / of)`.
    pub fn buckets(self) -> Range<u32> {
        let of = self.of.max(1);
        (self.index * BUCKETS / of)..((self.index + 1) * BUCKETS / of)
    }

    /// Whether `bucket` falls in this shard.
    pub fn holds_bucket(self, bucket: u32) -> bool {
        self.buckets().contains(&bucket)
    }

    /// Whether `target` falls in this shard.
    pub fn holds(self, target: &Target) -> bool {
        self.holds_bucket(target_bucket(target))
    }

    /// `3of10`: the shard in keys and logs.
    pub fn label(self) -> String {
        format!("{}of{}", self.index, self.of)
    }

    /// Every shard of a split into `of`.
    pub fn all(of: u32) -> impl Iterator<Item = Shard> {
        (0..of.max(1)).map(move |index| Shard {
            index,
            of: of.max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        // Pinned: the value is stored in index keys and must never change.
        assert_eq!(bucket_of(""), (0xcbf2_9ce4_8422_2325u64 % 1024) as u32);
        assert_eq!(bucket_of("api"), bucket_of("api"));
        let mut seen = std::collections::HashSet::new();
        for i in 0..5_000 {
            seen.insert(bucket_of(&format!("group-{i}")));
        }
        assert!(seen.len() > 900, "5,000 groups fill most of 1,024 buckets");
    }

    #[test]
    fn shards_cover_every_bucket_once() {
        for of in [1, 2, 3, 7, 10, 1024] {
            let mut covered = vec![0u32; BUCKETS as usize];
            for s in Shard::all(of) {
                for b in s.buckets() {
                    covered[b as usize] += 1;
                }
            }
            assert!(covered.iter().all(|&c| c == 1), "of {of}");
        }
        assert_eq!(Shard::new(3, 3), None);
        assert_eq!(Shard::new(0, 0), None);
        assert_eq!(Shard::new(2, 3).unwrap().label(), "2of3");
    }

    #[test]
    fn the_count_follows_the_budget() {
        assert_eq!(shard_count(0, 10_000), 1);
        assert_eq!(shard_count(10_000, 10_000), 1);
        assert_eq!(shard_count(10_001, 10_000), 2);
        assert_eq!(shard_count(100_000, 10_000), 10);
        assert_eq!(shard_count(10_000_000, 1), BUCKETS);
    }
}
