//! The DynamoDB table: one table, keys `pk`/`sk`, TTL on `expires_at`, sparse index `gsi1` for
//! listing target definitions, pending outbox rows and delivery records by status.
//!
//! | pk | sk | attributes |
//! | --- | --- | --- |
//! | `TARGET#<id>` | `CONFIG` | `def` (target JSON), `version`; `gsi1pk` = `TARGETS#<kind>`, `gsi1sk` = `<bucket, 4 digits>#<id>` (written before shards: `<id>`, rewritten by `set_shard_count`) |
//! | `TARGET#<id>` | `STATE` | `state` (JSON), `status`, `version` |
//! | `SNAP#<kind>` | `<chunk, 4 digits>` | `p` (packed state + result of 100 targets), `at`, `chunks` |
//! | `HIST#<kind>#<hour>#<shard>` | `<run time, 13-digit ms>` | `r` (packed results of the shard's targets checked in the run, each with its state version), `expires_at` |
//! | `RUN#<kind>` | `<start, 13-digit ms>#<run id>` | `run` (JSON), `expires_at` |
//! | `SNAP#<kind>#<index>of<of>`, `HIST#<kind>#<index>of<of>#<hour>#<chunk>` | as above | a shard's own snapshot and history (a view narrowed with `Sharded::for_shard`) |
//! | `OVERRIDE#<kind>`, `SUMMARY#<kind>`, `LEASE#<kind>` | ... | manual overrides, per-kind summaries (`SUMMARY`, a shard's `SUMMARY#<index>of<of>`), run leases (`LEASE`, a shard's `LEASE#<index>of<of>`) |
//! | `LAYOUT#<kind>` | `LAYOUT` | `of`, `prev_of`, `changed_at`: the kind's shard layout (`shards.rs`) |
//! | `LEASE#<kind>` | `LEASE@<location>`, `LEASE#<index>of<of>@<location>` | the run leases of a probe location other than the home one (a view made with `Located::at_location`) |
//! | `VERDICT#<kind>` (a shard's: `VERDICT#<kind>#<index>of<of>`) | `<location>#<chunk, 4 digits>` | one location's verdicts of the targets, packed (`locations.rs`), `at`, `chunks`, `expires_at` |
//! | `LOCATION` | `<location>` | `last_seen` (ms), `silent`: a location's dead man's switch |
//! | `ROLLUP#<id>` (or `ROLLUP#*#<kind>` for all targets of a kind) | `H#<YYYY-MM-DDTHH>` or `D#<YYYY-MM-DD>` | `rollup` (JSON), `expires_at` (hours 35 days, days 400) |
//! | `DIGEST#<target id or global>` | `<hour start, 13-digit ms>` | `digest` (JSON), `expires_at` (90 days) |
//! | `UPTIME#<kind>` | `<chunk, 4 digits>` | `uptime` (JSON array, 500 targets per item) |
//! | `ALERT#<day>` | `<time, 13-digit ms>#<key>` | `alert` (JSON), `status` (`pending`/`published`), `expires_at`; while pending `gsi1pk` = `OUTBOX#pending`, `gsi1sk` = `<time>#<key>` |
//! | `CHANNEL` | `<channel id>` | `def` (channel JSON, secret fields sealed), `version` |
//! | `DELIVERY#<channel id>` | `<alert key>` | `status` (`sending`/`sent`/`failed`), `alert` (JSON), `channel_id`, `alert_key`, `attempts`, `provider_status`, `last_error`, `claim_until` (while sending), `created_at`, `updated_at`, `expires_at`; `gsi1pk` = `DELIVERIES#<status>`, `gsi1sk` = `<updated, 13-digit ms>#<channel id>#<alert key>` |
//! | `AUDIT#<YYYY-MM-DD>` | `<at, 13-digit ms>#<entry id>` | `entry` (the audit entry, JSON, at most 32 KiB), `actor`, `expires_at` (`LOOKOUT_AUDIT_RETENTION_DAYS`, default 400) |
//! | `INCIDENT#<channel id>` | `<incident key>` | `resolved_at` (the `at` of the latest resolve the channel accepted, ms; only raised), `expires_at` |
//!
//! Every key format and attribute name above is built in one place, [`keys`]; each port's
//! implementation is in its own module (`targets`, `state`, `history`, `runs`, `digests`,
//! `alerts`, `outbox`, `lease`, `channels`, `deliveries`, `scan`, `restore`, `shards`), over the shared requests of `store`. SDK
//! errors become [`lookout_app::ports::StoreError`] causes in `crate::error`.
//!
//! Values are JSON strings inside items so that a definition round-trips exactly; keys and the
//! few attributes that conditions and filters use are native. Snapshot and history items hold
//! [`packed`] records (JSON arrays without field names): they are written every few minutes and
//! every minute, so their bytes are most of the bill.
//!
//! **Writes per run** (the cost rule of DESIGN.md): each probe run appends its results to the
//! history, about 40 bytes per target. The snapshot is rewritten only when a run's states could
//! not be replayed from those results (new or deleted targets, overrides, failed commits) or
//! once the results to replay reach back [`lookout_app::ports::SNAPSHOT_EVERY_MS`]; a status change or an alert writes the target's state
//! item (`commit_change`), and the history entry records the state version it led to.
//! **Reading the latest states** is one query on the snapshot, the history since it (its hours'
//! shards), and a batch read of the state items whose version moved on; the results after
//! the state read are returned as pending, for [`lookout_app::ports::catch_up_all`].
//! Items written before the packed encodings (`latest` and `results` JSON attributes) are read
//! too.

mod alerts;
mod audit;
mod channels;
mod convert;
mod deliveries;
mod digests;
mod heartbeats;
mod history;
mod incidents;
mod item;
pub mod keys;
mod lease;
pub mod limits;
mod locations;
mod narratives;
mod outbox;
pub mod packed;
mod restore;
mod runs;
mod scan;
mod shards;
mod slos;
mod state;
mod store;
mod targets;

pub use convert::{av_to_json, item_to_json, json_to_av, json_to_item};
pub use keys::{item_type, PK, SK, TTL};
pub use limits::ClientLimits;
pub use store::DynamoStore;

/// Targets packed into one snapshot or history item.
pub const CHUNK: usize = 100;
