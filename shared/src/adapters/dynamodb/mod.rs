//! The DynamoDB table: one table, keys `pk`/`sk`, TTL on `expires_at`, sparse index `gsi1` for
//! listing target definitions.
//!
//! | pk | sk | attributes |
//! | --- | --- | --- |
//! | `TARGET#<id>` | `CONFIG` | `def` (target JSON), `version`; `gsi1pk` = `TARGETS#<kind>`, `gsi1sk` = id |
//! | `TARGET#<id>` | `STATE` | `state` (JSON), `status`, `version` |
//! | `SNAP#<kind>` | `<chunk, 4 digits>` | `latest` (JSON array of state + result), `at` |
//! | `HIST#<kind>#<hour>#<shard>` | `<run time, 13-digit ms>` | `results` (JSON array), `expires_at` |
//! | `RUN#<kind>` | `<start, 13-digit ms>#<run id>` | `run` (JSON), `expires_at` |
//! | `OVERRIDE#<kind>`, `SUMMARY#<kind>`, `LEASE#<kind>` | ... | manual overrides, per-kind summaries, run leases |
//! | `ROLLUP#<id>` (or `ROLLUP#*#<kind>` for all targets of a kind) | `H#<YYYY-MM-DDTHH>` or `D#<YYYY-MM-DD>` | `rollup` (JSON), `expires_at` (400 days) |
//! | `DIGEST#<target id or global>` | `<hour start, 13-digit ms>` | `digest` (JSON), `expires_at` (90 days) |
//! | `UPTIME#<kind>` | `<chunk, 4 digits>` | `uptime` (JSON array, 500 targets per item) |
//! | `ALERT#<day>` | `<time, 13-digit ms>#<key>` | `alert` (JSON), `status` (`pending`/`published`), `expires_at`; while pending `gsi1pk` = `OUTBOX#pending`, `gsi1sk` = `<time>#<key>` |
//!
//! Values are JSON strings inside items so that a definition round-trips exactly; keys and the
//! few attributes that conditions and filters use are native.

mod convert;
mod store;

pub use convert::{av_to_json, item_to_json, json_to_av, json_to_item};
pub use store::DynamoStore;
pub use store::{PK, SK, TTL};

/// Targets packed into one snapshot or history item.
pub const CHUNK: usize = 100;

/// The kind of item a partition key names, for `DUMP_INCLUDE`: definitions (`TARGET#…/CONFIG`),
/// state (`TARGET#…/STATE`, snapshots, summaries, overrides, leases), history (`HIST#`, `RUN#`),
/// rollups (`ROLLUP#`, `DIGEST#`, `UPTIME#`) and alerts (`ALERT#`). Keys of no known shape count as state,
/// so that nothing is left out of a full dump.
pub fn item_type(item: &serde_json::Value) -> crate::dump::ItemType {
    use crate::dump::ItemType;
    let key = |name: &str| {
        item.get(name)
            .and_then(|v| v.get("S"))
            .and_then(|v| v.as_str())
    };
    let pk = key(PK).unwrap_or_default();
    let prefix = pk.split('#').next().unwrap_or_default();
    match prefix {
        "TARGET" if key(SK) == Some("CONFIG") => ItemType::Definitions,
        "HIST" | "RUN" => ItemType::History,
        "ROLLUP" | "DIGEST" | "UPTIME" => ItemType::Rollups,
        "ALERT" => ItemType::Alerts,
        _ => ItemType::State,
    }
}
