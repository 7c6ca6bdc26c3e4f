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
    /// The backend could not be reached: no connection, or no answer within the client's
    /// timeouts. Worth retrying shortly; the API answers it 503.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
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
///
/// A row is `pending`, then `claimed` by one delivery (until its claim expires), then
/// `published`; see [`deliver`] for how the three make one publish per alert.
pub trait Outbox {
    /// Every alert not yet `published`, however old, oldest first: `pending` rows and `claimed`
    /// ones (whose delivery may still be under way, or whose claim expired). `now_ms` is for
    /// stores that window by time.
    fn pending_alerts(
        &self,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
    /// Claims an alert's row for one delivery by `holder` until `claim_until_ms` (epoch ms), in
    /// one conditional write: the row must be `pending`, or `claimed` with a claim that expired
    /// before `now_ms`. Returns `false` (and writes nothing) when the row is published, another
    /// holder's claim still runs, or there is no such row.
    fn claim_alert(
        &self,
        alert: &Alert,
        holder: &str,
        now_ms: i64,
        claim_until_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks an alert `published`, conditional on `holder` still holding its claim.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `holder` does not hold the claim (it expired and another
    /// delivery took it, or the row is published or gone); [`StoreError::Backend`] when the
    /// write failed.
    fn mark_published(
        &self,
        alert: &Alert,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Gives `holder`'s claim back: the row is `pending` again, for the next run. Does nothing
    /// when `holder` no longer holds the claim.
    fn release_claim(
        &self,
        alert: &Alert,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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

/// The run lease of one kind as stored, for `GET /v1/leases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// The kind.
    pub kind: TargetKind,
    /// The run holding (or last holding) the lease; `None` when none ever did or an operator
    /// released it.
    pub holder: Option<String>,
    /// When the lease ends, epoch ms; 0 when released. The lease is held while this is not
    /// before now.
    pub until_ms: i64,
    /// The event id the last finished run handled.
    pub done_event: Option<String>,
}

/// The run lease: one run per kind at a time, and each scheduled event handled once. A run
/// takes it for a short time ([`crate::lease::LEASE_MS`]) and renews it while it works
/// ([`crate::lease::hold_lease`]).
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
    /// Extends `holder`'s lease of `kind` to `until_ms` (a conditional write on the holder).
    /// Returns `false`, writing nothing, when `holder` no longer holds it: another run took it
    /// after it expired, the holder released it, or an operator did.
    fn renew_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        until_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Ends `holder`'s lease (if it still holds it) and records `event_id` as handled.
    fn release_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        event_id: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Ends the lease of `kind` whoever holds it (an operator's release of a stuck lease): the
    /// holder is removed, so its renewals fail from now on; the handled event is kept. Returns
    /// whether a lease was running at `now_ms`.
    fn break_lease(
        &self,
        kind: TargetKind,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The stored lease of each kind that has one, in [`TargetKind::ALL`] order.
    fn leases(&self) -> impl Future<Output = Result<Vec<LeaseInfo>, StoreError>> + Send;
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

/// How long a delivery's claim of an outbox row holds, ms: while it holds, no other run
/// publishes the alert. Longer than a publish may take ([`DeliveryOptions::publish_timeout_ms`])
/// plus the mark's retries, so a claim never expires under a delivery still at work; short
/// enough that an alert whose delivery crashed between publish and mark goes out again within
/// about two probe schedule periods (one minute each).
pub const OUTBOX_CLAIM_MS: i64 = 120_000;

/// How [`deliver_with`] claims, publishes and marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// How long the claim holds, ms (default [`OUTBOX_CLAIM_MS`]).
    pub claim_ms: i64,
    /// The publish is given up after this long, ms (default 30,000): the claim is released and a
    /// later run publishes. Well under `claim_ms`, so the claim outlasts the publish.
    pub publish_timeout_ms: u64,
    /// Attempts of the mark after a successful publish (default 4).
    pub mark_attempts: u32,
    /// Base of the backoff between mark attempts, ms: `base × 2^(n-1)` with equal jitter
    /// ([`crate::probe::backoff`]); default 100, so 4 attempts wait about 0.35 to 0.7 s in all.
    pub mark_backoff_ms: u64,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            claim_ms: OUTBOX_CLAIM_MS,
            publish_timeout_ms: 30_000,
            mark_attempts: 4,
            mark_backoff_ms: 100,
        }
    }
}

/// What [`deliver`] did with one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Published to the topic and marked `published`.
    Published,
    /// Published, but the mark failed after every attempt: the claim expires after
    /// [`DeliveryOptions::claim_ms`] and a later run publishes the alert again.
    PublishedUnmarked,
    /// Not published: another delivery holds the claim, or the row is published already.
    Claimed,
    /// Not published: the claim or the publish failed; the row stays (or is put back)
    /// `pending` for a later run.
    Failed,
}

impl Delivery {
    /// Whether this delivery sent the alert to the topic.
    pub fn published(self) -> bool {
        matches!(self, Delivery::Published | Delivery::PublishedUnmarked)
    }
}

/// Delivers one outbox alert with the default [`DeliveryOptions`]: see [`deliver_with`].
pub async fn deliver<S: Outbox, P: AlertPublisher>(
    store: &S,
    publisher: &P,
    alert: &Alert,
) -> Delivery {
    deliver_with(store, publisher, alert, &DeliveryOptions::default()).await
}

/// Delivers one outbox alert: claims its row ([`Outbox::claim_alert`], a conditional write, for
/// a holder id of this call), publishes it only if the claim was won, then marks it `published`
/// on the condition that the claim is still this call's, retrying the mark with backoff. A
/// failed publish gives the claim back, so the next run sends it; a concurrent run (another
/// kind's probe, the digest, a duplicate invocation) finds the row claimed and leaves it alone.
///
/// What stays at least once, and why: SNS standard topics have no idempotent publish (no
/// deduplication id; FIFO topics have one but reach only SQS), so nothing can make "publish"
/// and "mark" one step. An alert is published a second time when
/// - the process dies (a Lambda timeout or crash) after SNS accepted the publish and before the
///   mark, or the mark fails all its attempts: the claim expires after `claim_ms` and a later
///   run publishes again;
/// - the publish's answer is lost (a timeout, a reset connection) although SNS accepted it: it
///   counts as failed, the claim is given back and the next run publishes again;
/// - SNS itself delivers a message twice to a subscriber, which standard topics may do.
///
/// Every message carries the alert's key in the `alert_key` message attribute, so subscribers
/// that must act once drop repeats by it.
pub async fn deliver_with<S: Outbox, P: AlertPublisher>(
    store: &S,
    publisher: &P,
    alert: &Alert,
    options: &DeliveryOptions,
) -> Delivery {
    let holder = uuid::Uuid::new_v4().to_string();
    let now = crate::time::now_ms();
    match store
        .claim_alert(alert, &holder, now, now + options.claim_ms)
        .await
    {
        // A claim whose answer came so late that the publish could outlive it is given back
        // unused: another delivery may take the row once it expires, and two must never
        // publish at once.
        Ok(true)
            if crate::time::now_ms() + options.publish_timeout_ms as i64
                >= now + options.claim_ms =>
        {
            tracing::warn!(key = %alert.key, "the claim answered too late to publish within it; given back");
            let _ = store.release_claim(alert, &holder).await;
            return Delivery::Failed;
        }
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(key = %alert.key, "alert claimed by another delivery or published; left alone");
            return Delivery::Claimed;
        }
        Err(e) => {
            tracing::warn!(key = %alert.key, error = %e, "alert not claimed; left pending for the next run");
            return Delivery::Failed;
        }
    }
    let timeout = std::time::Duration::from_millis(options.publish_timeout_ms);
    let published = match tokio::time::timeout(timeout, publisher.publish(alert)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} ms",
            options.publish_timeout_ms
        )),
    };
    if let Err(e) = published {
        tracing::warn!(key = %alert.key, error = %e, "alert left pending for the next run");
        if let Err(e) = store.release_claim(alert, &holder).await {
            tracing::warn!(key = %alert.key, error = %e, "claim not released; it expires on its own");
        }
        return Delivery::Failed;
    }
    for attempt in 1..=options.mark_attempts.max(1) {
        match store.mark_published(alert, &holder).await {
            Ok(()) => return Delivery::Published,
            Err(StoreError::Conflict(m)) => {
                // The claim is no longer ours (it expired and another delivery took it): a
                // retry cannot succeed, and that delivery marks the row.
                tracing::warn!(key = %alert.key, error = %m, "alert published but its claim was lost");
                return Delivery::PublishedUnmarked;
            }
            Err(e) if attempt < options.mark_attempts => {
                tracing::info!(key = %alert.key, attempt, error = %e, "marking the alert published failed; retrying");
                tokio::time::sleep(crate::probe::backoff(options.mark_backoff_ms, attempt)).await;
            }
            Err(e) => {
                tracing::warn!(key = %alert.key, error = %e, attempts = attempt,
                    "alert published but not marked; it is published again once its claim expires");
            }
        }
    }
    Delivery::PublishedUnmarked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::{MemoryPublisher, MemoryStore};
    use crate::domain::{AlertKind, Severity, Status};

    fn alert() -> Alert {
        Alert {
            key: "web#down#1000".into(),
            kind: AlertKind::StatusChange,
            severity: Severity::Critical,
            target_id: "web".into(),
            target_name: "web".into(),
            target_kind: TargetKind::Server,
            group: "g".into(),
            old_status: Status::Healthy,
            new_status: Status::Down,
            at: 1_000,
            subject: "web is down".into(),
            text: "down".into(),
            targets: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_claimed_alert_is_left_to_its_delivery_and_a_published_one_is_never_sent_again() {
        let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
        let a = alert();
        store.enqueue(std::slice::from_ref(&a)).await.unwrap();
        let now = crate::time::now_ms();
        assert!(store
            .claim_alert(&a, "other-run", now, now + 60_000)
            .await
            .unwrap());
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Claimed);
        assert!(publisher.sent().is_empty());
        store.release_claim(&a, "other-run").await.unwrap();
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Published);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Claimed);
        assert_eq!(publisher.sent().len(), 1);
        assert!(store.pending_alerts(0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_claim_too_short_for_the_publish_is_given_back_unused() {
        // As a claim whose answer came late: what is left of it is shorter than a publish may
        // take, so publishing could overlap another delivery's.
        let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
        let a = alert();
        store.enqueue(std::slice::from_ref(&a)).await.unwrap();
        let late = DeliveryOptions {
            claim_ms: 1_000,
            publish_timeout_ms: 5_000,
            ..DeliveryOptions::default()
        };
        assert_eq!(
            deliver_with(&store, &publisher, &a, &late).await,
            Delivery::Failed
        );
        assert!(publisher.sent().is_empty());
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Published);
    }

    #[tokio::test]
    async fn a_failed_publish_leaves_the_alert_pending_and_unclaimed() {
        let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
        let a = alert();
        store.enqueue(std::slice::from_ref(&a)).await.unwrap();
        publisher.set_failing(true);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Failed);
        assert_eq!(store.pending_alerts(0).await.unwrap().len(), 1);
        publisher.set_failing(false);
        assert_eq!(deliver(&store, &publisher, &a).await, Delivery::Published);
    }
}
