//! Narrow traits the functions depend on. Each handler asks only for the ports it uses, so its
//! signature documents what it touches. Implementations: [`crate::adapters::dynamodb`],
//! [`crate::adapters::sns`], [`crate::adapters::s3`] and the in-memory fakes in
//! [`crate::adapters::memory`].

use std::collections::HashMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::domain::{Alert, CheckResult, Target, TargetKind, TargetState};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the item exists, or its `version` moved on.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored item could not be decoded.
    #[error("corrupt item {key}: {message}")]
    Corrupt {
        /// The item's key, `pk/sk`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The write was refused for what it holds (an inline secret without an encryption key);
    /// the message says why and what to do.
    #[error("refused: {0}")]
    Refused(String),
    /// The backend failed (network, throttling after the SDK's retries, permissions).
    #[error("storage backend: {0}")]
    Backend(String),
}

/// Target definitions.
pub trait TargetStore {
    /// Every target of `kind` (or of both kinds), enabled or not, sorted by id.
    fn list_targets(
        &self,
        kind: Option<TargetKind>,
    ) -> impl Future<Output = Result<Vec<Target>, StoreError>> + Send;

    /// Creates a target; [`StoreError::Conflict`] when its id exists. Returns it with version 1.
    fn create_target(
        &self,
        target: &Target,
    ) -> impl Future<Output = Result<Target, StoreError>> + Send;
    /// One target by id.
    fn get_target(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Target>, StoreError>> + Send;
    /// Replaces a target if its stored version is `expected_version`; returns it with the
    /// version bumped.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version moved on or the target is gone.
    fn update_target(
        &self,
        target: &Target,
        expected_version: u64,
    ) -> impl Future<Output = Result<Target, StoreError>> + Send;
    /// Deletes a target's definition and state item; `false` when there was none.
    fn delete_target(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A target's latest state together with its latest check result, as the snapshot keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    /// The state after the latest result, or, while `pending` is not empty, the state the
    /// snapshot or the state item last kept, before those results.
    pub state: TargetState,
    /// The latest result.
    pub result: Option<CheckResult>,
    /// Results recorded after `state` was kept, oldest first: they changed neither status nor
    /// alerts, so the storage kept only them (see the DynamoDB layout). [`Latest::catch_up`]
    /// applies them. Never stored in a snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<CheckResult>,
}

impl Latest {
    /// An entry with nothing pending.
    pub fn new(state: TargetState, result: Option<CheckResult>) -> Self {
        Latest {
            state,
            result,
            pending: Vec::new(),
        }
    }

    /// Applies the pending results to the state ([`crate::domain::state::catch_up`]) with the
    /// target's definition; without one (a deleted target) the state stays as kept. Either
    /// way nothing is pending afterwards.
    pub fn catch_up(&mut self, target: Option<&Target>) {
        if let (Some(t), false) = (target, self.pending.is_empty()) {
            self.state = crate::domain::state::catch_up(&self.state, &self.pending, t);
        }
        self.pending.clear();
    }
}

/// How far back the results kept without a snapshot may reach before the probe rewrites the
/// snapshot, ms. It weighs the history read to catch up on every read of the latest states (at
/// most 10 runs of one-minute targets) against the snapshot's writes (every state every 10
/// minutes instead of every minute).
pub const SNAPSHOT_EVERY_MS: i64 = 10 * 60_000;

/// Applies [`Latest::catch_up`] to every entry, with the definitions of `targets`.
pub fn catch_up_all<'a>(
    latest: &mut HashMap<String, Latest>,
    targets: impl IntoIterator<Item = &'a Target>,
) {
    let by_id: HashMap<&str, &Target> = targets.into_iter().map(|t| (t.id.as_str(), t)).collect();
    for (id, l) in latest.iter_mut() {
        if !l.pending.is_empty() {
            l.catch_up(by_id.get(id.as_str()).copied());
        }
    }
}

/// States, snapshots, history and the alert outbox.
pub trait StateStore {
    /// The latest state and result of every target of `kind` that was ever checked, by id:
    /// one query on the snapshot plus the history recorded since. Entries may carry
    /// [`Latest::pending`] results: apply them with [`catch_up_all`] before using counters.
    fn latest(
        &self,
        kind: TargetKind,
    ) -> impl Future<Output = Result<HashMap<String, Latest>, StoreError>> + Send;

    /// The stored state item of a target (strongly consistent), `None` before its first change.
    fn load_state(
        &self,
        target_id: &str,
    ) -> impl Future<Output = Result<Option<TargetState>, StoreError>> + Send;

    /// Writes a status change: the new state item (conditional on `state.version`, which becomes
    /// `version + 1`) and its alerts as `pending` outbox rows, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version moved on; nothing is written then.
    fn commit_change(
        &self,
        state: &TargetState,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes an operator's override like [`StateStore::commit_change`] (same condition, same
    /// transaction) plus an override row under `OVERRIDE#<kind>`, which the next probe run takes
    /// into its snapshot (the snapshot, not the state item, is what runs and the status read).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version moved on; nothing is written then.
    fn commit_override(
        &self,
        kind: TargetKind,
        state: &TargetState,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The override rows of `kind` not yet taken into a snapshot (states as written, version
    /// already bumped).
    fn overrides(
        &self,
        kind: TargetKind,
    ) -> impl Future<Output = Result<Vec<TargetState>, StoreError>> + Send;
    /// Deletes the override row of `target_id` if it still holds `version` (a newer override
    /// stays for the next run).
    fn clear_override(
        &self,
        kind: TargetKind,
        target_id: &str,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Appends the run's results (those of `latest` checked at `run_at`) to the history, with
    /// a TTL and each target's state `version`, and, when `snapshot` is true, overwrites the
    /// snapshot of `kind` with `latest`, which must then hold every target of the kind that the
    /// snapshot keeps.
    ///
    /// Without a snapshot, [`StateStore::latest`] answers the last snapshot (or, for a target
    /// whose version moved on, its state item) with the results recorded since as
    /// [`Latest::pending`]. The caller writes a snapshot whenever those results could not be
    /// replayed to the live state (see [`crate::domain::state::catch_up`]) and often enough to
    /// keep them few. A store may always keep everything (the memory store does).
    fn record_run(
        &self,
        kind: TargetKind,
        run_at: i64,
        latest: &[Latest],
        snapshot: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

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
}

/// Run records.
pub trait RunStore {
    /// Stores a run record (with a TTL).
    fn put_run(&self, run: &RunRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
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
    pub groups: Vec<crate::domain::failover::GroupChoice>,
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

/// Check results kept by `record_run` (with a TTL).
pub trait HistoryStore {
    /// The results of `kind` checked from `since_ms` to `until_ms` (epoch ms, at most 7 days
    /// apart), oldest first. `targets` is how many targets the kind has: the history of an hour
    /// is kept in chunks of 100 of them.
    fn history(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        targets: usize,
    ) -> impl Future<Output = Result<Vec<CheckResult>, StoreError>> + Send;
}

/// A target's uptime windows as the digest last computed them, for the status page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetUptime {
    /// The target's id.
    pub target_id: String,
    /// 24 hours, 7, 30 and 365 days.
    pub windows: Vec<crate::digest::rollup::Uptime>,
}

/// Rollups, digests and the uptime table the digest function writes.
pub trait DigestStore {
    /// Writes rollups, overwriting those of the same target, period and start (so computing an
    /// hour again is idempotent). Hours are kept [`crate::digest::rollup::HOUR_ROLLUP_TTL_DAYS`]
    /// days, days [`crate::digest::rollup::ROLLUP_TTL_DAYS`].
    fn put_rollups(
        &self,
        rollups: &[crate::digest::rollup::Rollup],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The rollups of `period` of one target (`*` with `kind`: all targets of the kind
    /// together) that start from `since_ms` to before `until_ms`, oldest first.
    fn rollups(
        &self,
        target_id: &str,
        kind: TargetKind,
        period: crate::digest::rollup::Period,
        since_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<Vec<crate::digest::rollup::Rollup>, StoreError>> + Send;
    /// Writes digests, overwriting those of the same scope and start. Kept
    /// [`crate::digest::report::DIGEST_TTL_DAYS`] days.
    fn put_digests(
        &self,
        digests: &[crate::digest::report::Digest],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The newest `limit` digests of `scope` (a target id or `global`) that start before
    /// `before_ms`, newest first.
    fn digests(
        &self,
        scope: &str,
        before_ms: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<crate::digest::report::Digest>, StoreError>> + Send;
    /// Replaces the uptime table of `kind`.
    fn put_uptime(
        &self,
        kind: TargetKind,
        table: &[TargetUptime],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The uptime table of `kind` (empty before the first digest).
    fn uptime_table(
        &self,
        kind: TargetKind,
    ) -> impl Future<Output = Result<Vec<TargetUptime>, StoreError>> + Send;
}

/// An alert as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// The alert.
    pub alert: Alert,
    /// Whether it was published to the topic.
    pub published: bool,
}

/// The alert history.
pub trait AlertLog {
    /// Alerts raised from `since_ms` to `until_ms` (epoch ms, at most 31 days apart), oldest
    /// first.
    fn alerts(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<Vec<AlertRecord>, StoreError>> + Send;
}

/// The alert outbox: alerts written with their state change, published afterwards.
pub trait Outbox {
    /// Every alert still `pending`, however old, oldest first (`now_ms` is for stores that
    /// window by time).
    fn pending_alerts(
        &self,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
    /// Marks an alert `published`.
    fn mark_published(&self, alert: &Alert) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes alerts that belong to no single state change (group critical, storm, daily
    /// report) as `pending` rows. An alert whose row exists (same `at` and key) is left alone, so
    /// computing it again never sends it twice. Returns the alerts that were new.
    fn enqueue(
        &self,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
}

/// The answer to a lease request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The caller holds the lease now.
    Acquired,
    /// Another run holds it until this time (epoch ms).
    Busy {
        /// When the other run's lease expires, epoch ms.
        until_ms: i64,
    },
    /// The event was already handled by a run that finished (a duplicate delivery).
    AlreadyDone,
}

/// The run lease: one run per kind at a time, and each scheduled event handled once.
pub trait RunLease {
    /// Takes the lease of `kind` for `holder` until `until_ms` (a conditional write), unless
    /// another holder's lease is still running at `now_ms`, or `event_id` is the event the last
    /// finished run handled.
    fn acquire_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        event_id: Option<&str>,
    ) -> impl Future<Output = Result<Lease, StoreError>> + Send;
    /// Ends `holder`'s lease (if it still holds it) and records `event_id` as handled.
    fn release_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        event_id: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A failed publish.
#[derive(Debug, thiserror::Error)]
#[error("publishing alert {key}: {message}")]
pub struct PublishError {
    /// The alert's deduplication key.
    pub key: String,
    /// What went wrong.
    pub message: String,
}

/// Sends alerts to subscribers.
pub trait AlertPublisher {
    /// Publishes one alert: JSON body, a subject line and filterable attributes.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// One page of a parallel table scan: items in DynamoDB attribute-value JSON
/// (`{"pk":{"S":"..."}}`), and where to go on.
#[derive(Debug, Clone, Default)]
pub struct ScanPage {
    /// The items.
    pub items: Vec<serde_json::Value>,
    /// Start key of the next page, `None` at the end of the segment.
    pub next: Option<serde_json::Value>,
}

/// Reads the whole table for dumps.
pub trait TableScan {
    /// The table's name.
    fn table_name(&self) -> &str;
    /// The table's key schema, secondary indexes and TTL attribute, as a dump's manifest records
    /// them so that a restore can create the table again.
    fn schema(&self) -> impl Future<Output = Result<TableSchema, StoreError>> + Send;
    /// One page of segment `segment` of `segments`, from `start` (the previous page's `next`).
    fn scan_page(
        &self,
        segment: u32,
        segments: u32,
        start: Option<serde_json::Value>,
    ) -> impl Future<Output = Result<ScanPage, StoreError>> + Send;
}

/// Writes a dump back into a table (the same one or another).
pub trait RestoreTarget {
    /// The schema of `table`, `None` when it does not exist.
    fn describe(
        &self,
        table: &str,
    ) -> impl Future<Output = Result<Option<TableSchema>, StoreError>> + Send;
    /// Creates `table` with `schema` (on-demand capacity), waits until it is active and turns on
    /// its TTL.
    fn create(
        &self,
        table: &str,
        schema: &TableSchema,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether `table` holds no item.
    fn is_empty(&self, table: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Puts up to 25 items (DynamoDB attribute-value JSON) in one batch; returns the items the
    /// backend left unprocessed (throttled), which the caller must send again.
    fn write_batch(
        &self,
        table: &str,
        items: &[serde_json::Value],
    ) -> impl Future<Output = Result<Vec<serde_json::Value>, StoreError>> + Send;
    /// Items in `table`, counted by a full scan.
    fn count(&self, table: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// One key attribute of a table or index: `{"name":"pk","type":"S","role":"HASH"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    /// Attribute name.
    pub name: String,
    /// Scalar type: `S`, `N` or `B`.
    #[serde(rename = "type")]
    pub attr_type: String,
    /// `HASH` (partition key) or `RANGE` (sort key).
    pub role: String,
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSchema {
    /// Index name.
    pub name: String,
    /// Its key attributes.
    pub key_schema: Vec<KeyAttribute>,
    /// Projection type: `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    /// Attributes projected with `INCLUDE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_key_attributes: Vec<String>,
}

/// What it takes to create a table again: keys, global secondary indexes and TTL attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Partition and sort key.
    pub key_schema: Vec<KeyAttribute>,
    /// Global secondary indexes.
    #[serde(default)]
    pub indexes: Vec<IndexSchema>,
    /// TTL attribute (epoch seconds), when TTL is on.
    #[serde(default)]
    pub ttl_attribute: Option<String>,
}

/// One part of a multipart upload, as [`DumpStore::finish_upload`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    /// Part number, from 1.
    pub number: i32,
    /// The entity tag the store returned.
    pub etag: String,
    /// SHA-256 of the part, base64, as sent.
    pub sha256_b64: String,
}

/// The body of an object, in chunks as they arrive.
pub type ObjectStream = futures::stream::BoxStream<'static, Result<Vec<u8>, StoreError>>;

/// Object storage for dumps.
pub trait DumpStore {
    /// Writes an object; `sha256_b64` is sent as the S3 checksum so S3 verifies the upload.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        sha256_b64: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A whole small object (a manifest), `None` when there is no such key.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// An object's body as a stream of chunks, so that a large object never sits in memory.
    fn open(&self, key: &str) -> impl Future<Output = Result<ObjectStream, StoreError>> + Send;
    /// Starts a multipart upload (SHA-256 checksums); returns its upload id.
    fn start_upload(
        &self,
        key: &str,
        content_type: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Uploads part `number` (from 1; every part but the last at least 5 MiB, S3's minimum).
    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
        sha256_b64: &str,
    ) -> impl Future<Output = Result<UploadedPart, StoreError>> + Send;
    /// Completes the upload: the object appears only now.
    fn finish_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Abandons the upload and frees its parts.
    fn abort_upload(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Keys under `prefix`, all pages.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Deletes the keys.
    fn delete(&self, keys: &[String]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Publishes an alert and marks it published in the outbox. Returns whether it was published:
/// a failed publish leaves the row `pending` for the probe's next run to send again, and a
/// publish whose mark failed is sent again too (delivery is at least once).
pub async fn deliver<S: Outbox, P: AlertPublisher>(
    store: &S,
    publisher: &P,
    alert: &Alert,
) -> bool {
    match publisher.publish(alert).await {
        Ok(()) => match store.mark_published(alert).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(key = %alert.key, error = %e, "alert published but not marked");
                true
            }
        },
        Err(e) => {
            tracing::warn!(key = %alert.key, error = %e, "alert left pending for the next run");
            false
        }
    }
}
