//! [`DynamoStore`]: every table port over one DynamoDB table.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, IndexStatus,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, PutRequest, ScalarAttributeType,
    Select, TableStatus, TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use futures::{StreamExt as _, TryStreamExt as _};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::convert::{item_to_json, json_to_item};
use super::{packed, CHUNK};
use crate::adapters::sdk_message;
use crate::adapters::sealing::{SealError, Sealer};
use crate::digest::report::{Digest, DIGEST_TTL_DAYS};
use crate::digest::rollup::{Period, Rollup, HOUR_ROLLUP_TTL_DAYS, ROLLUP_TTL_DAYS};
use crate::domain::{Alert, CheckResult, Target, TargetKind, TargetState};
use crate::ports::{
    AlertLog, AlertRecord, HistoryStore, KindSummary, Latest, Lease, LeaseInfo, Outbox,
    RestoreTarget, RunLease, RunRecord, RunStore, ScanPage, StateStore, StoreError, TableScan,
    TableSchema, TargetStore,
};
use crate::ports::{DigestStore, SummaryStore, TargetUptime};
use crate::ports::{IndexSchema, KeyAttribute};

type Item = HashMap<String, AttributeValue>;

// Attribute names, in one place.
/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
const GSI: &str = "gsi1";
const GSI_PK: &str = "gsi1pk";
const GSI_SK: &str = "gsi1sk";
/// TTL attribute (epoch seconds).
pub const TTL: &str = "expires_at";
const VERSION: &str = "version";
/// Index partition of outbox rows still to publish.
const OUTBOX_PENDING: &str = "OUTBOX#pending";
/// Outbox row attribute: the delivery holding the row's claim.
const CLAIMED_BY: &str = "claimed_by";
/// Outbox row attribute: when that claim expires, epoch ms.
const CLAIM_UNTIL: &str = "claim_until";
/// Lease item attributes: holder, end (epoch ms) and the last handled event id.
const LEASE_HOLDER: &str = "holder";
const LEASE_UNTIL: &str = "lease_until";
const LEASE_DONE: &str = "done_event";
/// One hour, ms.
const HOUR_MS: i64 = 3_600_000;

/// The table adapter. Cheap to clone (the SDK client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: crate::adapters::LazyClient<Client>,
    table: String,
    ttl_days: u32,
    sealer: Sealer,
}

fn seal_error(id: &str, e: SealError) -> StoreError {
    match e {
        SealError::NoKey(m) => StoreError::Refused(m),
        SealError::Kms(m) => StoreError::Backend(format!("kms: {m}")),
        SealError::Corrupt(m) => StoreError::Corrupt {
            key: format!("TARGET#{id}/CONFIG"),
            message: m,
        },
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn ms_key(ms: i64) -> String {
    format!("{:013}", ms.max(0))
}

/// A request that could not be built (a missing required field): a bug, never an outage.
fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(sdk_message(&e))
}

/// A failed request: [`StoreError::Unavailable`] when DynamoDB did not answer, else
/// [`StoreError::Backend`].
fn backend<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    crate::adapters::store_error(e)
}

fn to_json<T: Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(v)
        .map(s)
        .map_err(|e| StoreError::Backend(format!("encoding: {e}")))
}

/// A target's definition item: `TARGET#<id>` / `CONFIG`, listed by kind in `gsi1`.
fn target_item(t: &Target) -> Result<Item, StoreError> {
    Ok([
        (PK, s(format!("TARGET#{}", t.id))),
        (SK, s("CONFIG")),
        (GSI_PK, s(format!("TARGETS#{}", t.kind().as_str()))),
        (GSI_SK, s(&t.id)),
        (VERSION, n(t.version)),
        ("def", to_json(t)?),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

/// An item's `pk/sk`, for errors.
fn item_key(item: &Item) -> String {
    let get = |k| {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    format!("{}/{}", get(PK), get(SK))
}

fn corrupt(item: &Item, message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: item_key(item),
        message: message.to_string(),
    }
}

fn from_attr<T: DeserializeOwned>(item: &Item, attr: &str) -> Result<T, StoreError> {
    let text = item
        .get(attr)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| corrupt(item, format!("no string attribute {attr}")))?;
    serde_json::from_str(text).map_err(|e| corrupt(item, e))
}

/// The entries of a snapshot item: packed (`p`) or, as written before, JSON (`latest`).
fn snapshot_of(item: &Item) -> Result<Vec<Latest>, StoreError> {
    match item.get("p").and_then(|v| v.as_s().ok()) {
        Some(text) => packed::unpack_snapshot(text).map_err(|e| corrupt(item, e)),
        None => from_attr(item, "latest"),
    }
}

/// The results of a history item of `kind`, each with the state version it led to: packed
/// (`r`, the run time in the sort key) or, as written before, JSON (`results`, version 0).
fn history_of(item: &Item, kind: TargetKind) -> Result<Vec<(CheckResult, u64)>, StoreError> {
    match item.get("r").and_then(|v| v.as_s().ok()) {
        Some(text) => {
            let at = item
                .get(SK)
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.parse::<i64>().ok())
                .ok_or_else(|| corrupt(item, "sort key is not a run time"))?;
            packed::unpack_history(text, kind, at).map_err(|e| corrupt(item, e))
        }
        None => Ok(from_attr::<Vec<CheckResult>>(item, "results")?
            .into_iter()
            .map(|r| (r, 0))
            .collect()),
    }
}

impl DynamoStore {
    /// An adapter for `table`; history, run and alert rows expire after `ttl_days`. Definitions
    /// are stored as given ([`Sealer::plain`]) until [`DynamoStore::with_sealer`].
    pub fn new(
        client: impl Into<crate::adapters::LazyClient<Client>>,
        table: impl Into<String>,
        ttl_days: u32,
    ) -> Self {
        DynamoStore {
            client: client.into(),
            table: table.into(),
            ttl_days,
            sealer: Sealer::plain(),
        }
    }

    /// The same adapter sealing the inline secrets of definitions with `sealer` on write and
    /// opening them on read.
    pub fn with_sealer(mut self, sealer: Sealer) -> Self {
        self.sealer = sealer;
        self
    }

    /// The functions' adapter: the table `LOOKOUT_TABLE`, history rows kept
    /// `LOOKOUT_HISTORY_TTL_DAYS`, a client from `aws` (endpoints from `AWS_ENDPOINT_URL_*`),
    /// inline secrets sealed with the key of the settings ([`Sealer::from_settings`]).
    pub fn from_settings(aws: &aws_config::SdkConfig, settings: &crate::config::Settings) -> Self {
        let client = crate::adapters::LazyClient::new(aws, Client::new);
        Self::new(client, &settings.table, settings.history_ttl_days)
            .with_sealer(Sealer::from_settings(aws, settings))
    }

    /// A definition item of `t`, its inline secrets sealed.
    async fn sealed_item(&self, t: &Target) -> Result<Item, StoreError> {
        let sealed = self
            .sealer
            .seal(t)
            .await
            .map_err(|e| seal_error(&t.id, e))?;
        target_item(&sealed)
    }

    /// The definition in `item`, its secrets opened.
    async fn definition(&self, item: &Item) -> Result<Target, StoreError> {
        let t: Target = from_attr(item, "def")?;
        let id = t.id.clone();
        self.sealer.open(t).await.map_err(|e| seal_error(&id, e))
    }

    /// The definition in `item` for a listing: one whose sealed secrets do not open (another
    /// key, a tampered value, KMS not answering) is listed with them masked (`***`) and a
    /// warning naming it, so that one definition cannot blind the probe runs and the status of
    /// every other target; its own checks then fail on the masked credentials.
    async fn listed_definition(&self, item: &Item) -> Result<Target, StoreError> {
        match self.definition(item).await {
            Ok(t) => Ok(t),
            Err(e)
                if matches!(&e, StoreError::Corrupt { .. })
                    || matches!(&e, StoreError::Backend(m) if m.starts_with("kms:")) =>
            {
                let t: Target = from_attr(item, "def")?;
                tracing::warn!(target_id = %t.id, error = %e,
                    "a definition's sealed secrets do not open; listed with them masked");
                let id = t.id.clone();
                Sealer::masked()
                    .open(t)
                    .await
                    .map_err(|e| seal_error(&id, e))
            }
            Err(e) => Err(e),
        }
    }

    /// Like [`DynamoStore::from_settings`], with a client of `limits` (the API's
    /// [`ClientLimits::INTERACTIVE`](super::ClientLimits::INTERACTIVE)).
    pub fn from_settings_with(
        aws: &aws_config::SdkConfig,
        settings: &crate::config::Settings,
        limits: &super::ClientLimits,
    ) -> Self {
        let limits = *limits;
        Self::new(
            crate::adapters::LazyClient::new(aws, move |aws| limits.client(aws)),
            &settings.table,
            settings.history_ttl_days,
        )
        .with_sealer(Sealer::from_settings(aws, settings))
    }

    fn expires_at(&self, from_ms: i64) -> AttributeValue {
        n(from_ms / 1000 + i64::from(self.ttl_days) * 86_400)
    }

    /// Every item of partition `key`, all pages, in sort-key order (or reversed, `limit` items):
    /// of the table (`index` `None`, key `pk`) or of index `gsi1` (key `gsi1pk`).
    async fn query(
        &self,
        index: Option<&str>,
        key: &str,
        forward: bool,
        limit: Option<i32>,
    ) -> Result<Vec<Item>, StoreError> {
        let key_attr = if index.is_some() { GSI_PK } else { PK };
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression("#k = :k")
                .expression_attribute_names("#k", key_attr)
                .expression_attribute_values(":k", s(key))
                .scan_index_forward(forward)
                .set_limit(limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if limit.is_none() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Every item of table partition `pk` with a sort key from `from` to `to` (inclusive), all
    /// pages, in sort-key order.
    async fn query_range(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :a AND :b")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":a", s(from))
                .expression_attribute_values(":b", s(to))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// Every item of index `gsi1` partition `key`, all pages, in index sort-key order.
    async fn query_index(&self, key: &str) -> Result<Vec<Item>, StoreError> {
        self.query(Some(GSI), key, true, None).await
    }

    /// The state item (conditional on `state.version`), its alert rows and, for an override,
    /// the `OVERRIDE#<kind>` row, in one transaction.
    async fn commit_state(
        &self,
        state: &TargetState,
        alerts: &[Alert],
        override_kind: Option<TargetKind>,
    ) -> Result<(), StoreError> {
        let mut next = state.clone();
        next.version = state.version + 1;
        let mut put_state = Put::builder()
            .table_name(&self.table)
            .item(PK, s(format!("TARGET#{}", next.target_id)))
            .item(SK, s("STATE"))
            .item("status", s(next.status.as_str()))
            .item(VERSION, n(next.version))
            .item("state", to_json(&next)?)
            .expression_attribute_names("#v", VERSION);
        put_state = if state.version == 0 {
            put_state.condition_expression("attribute_not_exists(#v)")
        } else {
            put_state
                .condition_expression("#v = :v")
                .expression_attribute_values(":v", n(state.version))
        };
        let put_state = put_state.build().map_err(build_error)?;
        if alerts.is_empty() && override_kind.is_none() {
            // One item: a conditional put costs half a transaction's write units (a storm's
            // state changes, whose alerts are grouped, come this way).
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put_state.item))
                .set_condition_expression(put_state.condition_expression)
                .set_expression_attribute_names(put_state.expression_attribute_names)
                .set_expression_attribute_values(put_state.expression_attribute_values)
                .send()
                .await;
            return match put {
                Ok(_) => Ok(()),
                Err(SdkError::ServiceError(e))
                    if e.err().is_conditional_check_failed_exception() =>
                {
                    Err(StoreError::Conflict(format!(
                        "state of {} changed since version {}",
                        state.target_id, state.version
                    )))
                }
                Err(e) => Err(backend(e)),
            };
        }
        let mut items = vec![TransactWriteItem::builder().put(put_state).build()];
        for a in alerts {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(self.alert_row(a)?))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        if let Some(kind) = override_kind {
            let put = Put::builder()
                .table_name(&self.table)
                .item(PK, s(format!("OVERRIDE#{}", kind.as_str())))
                .item(SK, s(&next.target_id))
                .item(VERSION, n(next.version))
                .item("state", to_json(&next)?)
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_transaction_canceled_exception() => {
                Err(StoreError::Conflict(format!(
                    "state of {} changed since version {}: {}",
                    state.target_id,
                    state.version,
                    sdk_message(e.err())
                )))
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// An alert's outbox row: `ALERT#<day>` / `<at ms>#<key>`, `pending`, in the sparse
    /// `OUTBOX#pending` index until published, with a TTL.
    fn alert_row(&self, a: &Alert) -> Result<Item, StoreError> {
        Ok([
            (PK, s(format!("ALERT#{}", crate::time::day(a.at)))),
            (SK, s(format!("{}#{}", ms_key(a.at), a.key))),
            ("status", s("pending")),
            ("severity", s(a.severity.as_str())),
            ("alert", to_json(a)?),
            (GSI_PK, s(OUTBOX_PENDING)),
            (GSI_SK, s(format!("{}#{}", ms_key(a.at), a.key))),
            (TTL, self.expires_at(a.at)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect())
    }

    /// An UpdateItem of an alert's outbox row (`ALERT#<day>` / `<at>#<key>`).
    fn alert_update(
        &self,
        a: &Alert,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(format!("ALERT#{}", crate::time::day(a.at))))
            .key(SK, s(format!("{}#{}", ms_key(a.at), a.key)))
    }

    /// Writes `items` with BatchWriteItem, 25 per request and 4 requests in flight, sending
    /// unprocessed items again with jittered backoff (50 ms doubling to 5 s, 10 attempts).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when a request fails or items are still unprocessed after the
    /// last attempt; the message says how many.
    async fn put_all(&self, items: Vec<Item>) -> Result<(), StoreError> {
        const ATTEMPTS: u32 = 10;
        let batches: Vec<Vec<Item>> = items.chunks(25).map(<[Item]>::to_vec).collect();
        let sends = batches.into_iter().map(|batch| async move {
            let mut pending: Vec<WriteRequest> = batch
                .into_iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(build_error)
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0..ATTEMPTS {
                if attempt > 0 {
                    let cap = (50u64 << attempt.min(7)).min(5_000);
                    let wait = cap / 2 + fastrand::u64(0..=cap / 2);
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending.clone())
                    .send()
                    .await
                    .map_err(backend)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    return Ok(());
                }
            }
            Err(StoreError::Backend(format!(
                "{} item(s) still unprocessed after {ATTEMPTS} BatchWriteItem attempts",
                pending.len()
            )))
        });
        futures::stream::iter(sends)
            .buffer_unordered(4)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// Deletes the chunk items `<first>`, `<first + 1>` ... (sort keys of 4 digits) of partition
    /// `pk`, left over from a write with more chunks: they follow the last chunk written, so it
    /// deletes upwards until one did not exist (one write when nothing is left).
    /// The results of `kind` recorded from `since_ms` to `until_ms` (epoch ms, at most 7 days
    /// apart) in history shards `0..shards` (at least one), each with the state version it led
    /// to, oldest first.
    async fn history_entries(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        shards: usize,
    ) -> Result<Vec<(CheckResult, u64)>, StoreError> {
        let until_ms = until_ms.min(since_ms + 7 * crate::domain::state::DAY_MS);
        let mut keys = Vec::new();
        for h in since_ms.div_euclid(HOUR_MS)..=until_ms.div_euclid(HOUR_MS) {
            let hour = crate::time::hour(h * HOUR_MS);
            for i in 0..shards.max(1) {
                keys.push(format!("HIST#{}#{hour}#{i:04}", kind.as_str()));
            }
        }
        let (from, to) = (ms_key(since_ms), ms_key(until_ms));
        let reads: Vec<_> = keys
            .into_iter()
            .map(|pk| {
                let (from, to) = (from.clone(), to.clone());
                async move {
                    let items = self.query_range(&pk, &from, &to).await?;
                    items
                        .iter()
                        .map(|item| history_of(item, kind))
                        .collect::<Result<Vec<_>, _>>()
                }
            })
            .collect();
        let mut all: Vec<(CheckResult, u64)> = futures::stream::iter(reads)
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        all.sort_by_key(|(r, _)| r.at);
        Ok(all)
    }

    /// The state items of `ids` that exist (strongly consistent).
    async fn load_states(&self, ids: &[String]) -> Result<Vec<TargetState>, StoreError> {
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| item_of(vec![(PK, s(format!("TARGET#{id}"))), (SK, s("STATE"))]))
            .collect();
        self.batch_get(keys, true)
            .await?
            .iter()
            .map(|item| from_attr(item, "state"))
            .collect()
    }

    /// The items of `keys` that exist, 100 keys per BatchGetItem; unprocessed keys are asked
    /// again with backoff, 10 attempts, and then it fails loudly.
    async fn batch_get(&self, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            let mut keys = chunk.to_vec();
            for attempt in 0..10u32 {
                if keys.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6)))
                        .await;
                }
                let got = self
                    .client
                    .batch_get_item()
                    .request_items(
                        &self.table,
                        aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                            .set_keys(Some(std::mem::take(&mut keys)))
                            .consistent_read(consistent)
                            .build()
                            .map_err(build_error)?,
                    )
                    .send()
                    .await
                    .map_err(backend)?;
                out.extend(
                    got.responses
                        .and_then(|mut r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                keys = got
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
            if !keys.is_empty() {
                return Err(StoreError::Backend(format!(
                    "{} items still unprocessed by BatchGetItem after 10 attempts",
                    keys.len()
                )));
            }
        }
        Ok(out)
    }

    async fn drop_chunks_from(&self, pk: &str, first: usize) -> Result<(), StoreError> {
        for i in first.. {
            let gone = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(PK, s(pk))
                .key(SK, s(format!("{i:04}")))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
                .await
                .map_err(backend)?;
            if gone.attributes.is_none() {
                break;
            }
        }
        Ok(())
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl TargetStore for DynamoStore {
    async fn list_targets(&self, kind: Option<TargetKind>) -> Result<Vec<Target>, StoreError> {
        let kinds: Vec<TargetKind> = kind.map_or(TargetKind::ALL.to_vec(), |k| vec![k]);
        let mut out = Vec::new();
        for k in kinds {
            for item in self.query_index(&format!("TARGETS#{}", k.as_str())).await? {
                out.push(self.listed_definition(&item).await?);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn create_target(&self, target: &Target) -> Result<Target, StoreError> {
        let mut t = target.clone();
        t.version = 1;
        let item = self.sealed_item(&t).await?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match put {
            Ok(_) => Ok(t),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Err(StoreError::Conflict(format!("target {} exists", t.id)))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_target(&self, id: &str) -> Result<Option<Target>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(format!("TARGET#{id}")))
            .key(SK, s("CONFIG"))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        match &got.item {
            Some(item) => Ok(Some(self.definition(item).await?)),
            None => Ok(None),
        }
    }

    async fn update_target(
        &self,
        target: &Target,
        expected_version: u64,
    ) -> Result<Target, StoreError> {
        let mut t = target.clone();
        t.version = expected_version + 1;
        let item = self.sealed_item(&t).await?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(expected_version))
            .send()
            .await;
        match put {
            Ok(_) => Ok(t),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Err(StoreError::Conflict(format!(
                    "target {} is not at version {expected_version}",
                    t.id
                )))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete_target(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(format!("TARGET#{id}")))
            .key(SK, s("CONFIG"))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(backend)?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(format!("TARGET#{id}")))
            .key(SK, s("STATE"))
            .send()
            .await
            .map_err(backend)?;
        Ok(deleted.attributes.is_some_and(|a| !a.is_empty()))
    }
}

impl StateStore for DynamoStore {
    async fn latest(&self, kind: TargetKind) -> Result<HashMap<String, Latest>, StoreError> {
        let items = self
            .query(None, &format!("SNAP#{}", kind.as_str()), true, None)
            .await?;
        // Chunks are written one by one: while a run writes them, a target may sit in an old
        // chunk and a new one. Keep the newest entry of each target, with its chunk's time.
        let rank = |l: &Latest| (l.state.version, l.state.last_check);
        let mut out: HashMap<String, (Latest, i64)> = HashMap::new();
        let mut oldest = i64::MAX;
        for item in &items {
            let at = item
                .get("at")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(0);
            oldest = oldest.min(at);
            for l in snapshot_of(item)? {
                match out.get(&l.state.target_id) {
                    Some((have, _)) if rank(have) >= rank(&l) => {}
                    _ => {
                        out.insert(l.state.target_id.clone(), (l, at));
                    }
                }
            }
        }
        if out.is_empty() {
            return Ok(HashMap::new());
        }
        // The results recorded since: the snapshot's shards, from its oldest chunk's hour (at
        // most a day back: the probe rewrites it every few minutes while it runs).
        let now = crate::time::now_ms();
        let since = oldest.max(now - 25 * HOUR_MS);
        let mut moved = std::collections::BTreeSet::new();
        for (r, version) in self
            .history_entries(kind, since + 1, now, items.len())
            .await?
        {
            let (l, base) = out
                .entry(r.target_id.clone())
                .or_insert_with(|| (Latest::new(TargetState::new(&r.target_id), None), i64::MIN));
            if r.at <= *base {
                continue;
            }
            if version > l.state.version {
                moved.insert(r.target_id.clone());
            }
            l.result = Some(r.clone());
            l.pending.push(r);
        }
        // A status change or an alert since: the state item holds the state it led to.
        let moved: Vec<String> = moved.into_iter().collect();
        for stored in self.load_states(&moved).await? {
            if let Some((l, _)) = out.get_mut(&stored.target_id) {
                let kept_until = stored.last_check.unwrap_or(i64::MIN);
                l.pending.retain(|r| r.at > kept_until);
                l.state = stored;
            }
        }
        Ok(out.into_iter().map(|(id, (l, _))| (id, l)).collect())
    }

    async fn load_state(&self, target_id: &str) -> Result<Option<TargetState>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(format!("TARGET#{target_id}")))
            .key(SK, s("STATE"))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        got.item.as_ref().map(|i| from_attr(i, "state")).transpose()
    }

    async fn commit_change(&self, state: &TargetState, alerts: &[Alert]) -> Result<(), StoreError> {
        self.commit_state(state, alerts, None).await
    }

    async fn commit_override(
        &self,
        kind: TargetKind,
        state: &TargetState,
        alerts: &[Alert],
    ) -> Result<(), StoreError> {
        self.commit_state(state, alerts, Some(kind)).await
    }

    async fn overrides(&self, kind: TargetKind) -> Result<Vec<TargetState>, StoreError> {
        self.query(None, &format!("OVERRIDE#{}", kind.as_str()), true, None)
            .await?
            .iter()
            .map(|item| from_attr::<TargetState>(item, "state"))
            .collect()
    }

    async fn clear_override(
        &self,
        kind: TargetKind,
        target_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(format!("OVERRIDE#{}", kind.as_str())))
            .key(SK, s(target_id))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(version))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Replaced by a newer override meanwhile: the next run takes that one.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn record_run(
        &self,
        kind: TargetKind,
        run_at: i64,
        latest: &[Latest],
        snapshot: bool,
    ) -> Result<(), StoreError> {
        let hour = crate::time::hour(run_at);
        let hour = hour.as_str();
        let writes = latest
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, chunk)| async move {
                if snapshot {
                    let snap = item_of(vec![
                        (PK, s(format!("SNAP#{}", kind.as_str()))),
                        (SK, s(format!("{i:04}"))),
                        ("at", n(run_at)),
                        (
                            "p",
                            s(packed::pack_snapshot(chunk)
                                .map_err(|e| StoreError::Backend(e.to_string()))?),
                        ),
                    ]);
                    self.put(snap).await?;
                }
                let results: Vec<_> = chunk
                    .iter()
                    .filter_map(|l| l.result.as_ref().map(|r| (r, l.state.version)))
                    .filter(|(r, _)| r.at == run_at)
                    .collect();
                if results.is_empty() {
                    return Ok(());
                }
                let hist = item_of(vec![
                    (PK, s(format!("HIST#{}#{hour}#{i:04}", kind.as_str()))),
                    (SK, s(ms_key(run_at))),
                    (
                        "r",
                        s(packed::pack_history(results)
                            .map_err(|e| StoreError::Backend(e.to_string()))?),
                    ),
                    (TTL, self.expires_at(run_at)),
                ]);
                self.put(hist).await
            });
        futures::future::try_join_all(writes).await?;
        if snapshot {
            self.drop_chunks_from(
                &format!("SNAP#{}", kind.as_str()),
                latest.len().div_ceil(CHUNK),
            )
            .await?;
        }
        Ok(())
    }
}

impl RunStore for DynamoStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let item: Item = [
            (PK, s(format!("RUN#{}", run.kind.as_str()))),
            (SK, s(format!("{}#{}", ms_key(run.started_at), run.run_id))),
            ("run", to_json(run)?),
            (TTL, self.expires_at(run.started_at)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        self.put(item).await
    }

    async fn last_run(&self, kind: TargetKind) -> Result<Option<RunRecord>, StoreError> {
        Ok(RunStore::runs(self, kind, 1).await?.into_iter().next())
    }

    async fn runs(&self, kind: TargetKind, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        self.query(None, &format!("RUN#{}", kind.as_str()), false, Some(limit))
            .await?
            .iter()
            .map(|i| from_attr(i, "run"))
            .collect()
    }
}

impl SummaryStore for DynamoStore {
    async fn put_summary(&self, summary: &KindSummary) -> Result<(), StoreError> {
        let item: Item = [
            (PK, s(format!("SUMMARY#{}", summary.kind.as_str()))),
            (SK, s("SUMMARY")),
            ("summary", to_json(summary)?),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        self.put(item).await
    }

    async fn summaries(&self) -> Result<Vec<KindSummary>, StoreError> {
        let keys: Vec<Item> = TargetKind::ALL
            .iter()
            .map(|k| {
                [
                    (PK.to_string(), s(format!("SUMMARY#{}", k.as_str()))),
                    (SK.to_string(), s("SUMMARY")),
                ]
                .into_iter()
                .collect()
            })
            .collect();
        let mut out: Vec<KindSummary> = self
            .batch_get(keys, false)
            .await?
            .iter()
            .map(|i| from_attr(i, "summary"))
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|s| s.kind);
        Ok(out)
    }
}

/// Partition of a target's rollups (`ROLLUP#<id>`), or of all targets of a kind
/// (`ROLLUP#*#<kind>`).
fn rollup_pk(target_id: &str, kind: TargetKind) -> String {
    if target_id == "*" {
        format!("ROLLUP#*#{}", kind.as_str())
    } else {
        format!("ROLLUP#{target_id}")
    }
}

/// Sort key of a rollup: `H#<YYYY-MM-DDTHH>` or `D#<YYYY-MM-DD>`.
fn rollup_sk(period: Period, start: i64) -> String {
    match period {
        Period::Hour => format!("H#{}", crate::time::hour(start)),
        Period::Day => format!("D#{}", crate::time::day(start)),
    }
}

/// Targets per `UPTIME#<kind>` item (about 350 bytes each, well under the 400 KB item limit).
const UPTIME_CHUNK: usize = 500;

fn ttl_after(from_ms: i64, days: u32) -> AttributeValue {
    n(from_ms / 1000 + i64::from(days) * 86_400)
}

fn item_of(fields: Vec<(&str, AttributeValue)>) -> Item {
    fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

impl DigestStore for DynamoStore {
    async fn put_rollups(&self, rollups: &[Rollup]) -> Result<(), StoreError> {
        let items = rollups
            .iter()
            .map(|r| {
                Ok(item_of(vec![
                    (PK, s(rollup_pk(&r.target_id, r.kind))),
                    (SK, s(rollup_sk(r.period, r.start))),
                    ("rollup", to_json(r)?),
                    (
                        TTL,
                        ttl_after(
                            r.start,
                            match r.period {
                                Period::Hour => HOUR_ROLLUP_TTL_DAYS,
                                Period::Day => ROLLUP_TTL_DAYS,
                            },
                        ),
                    ),
                ]))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.put_all(items).await
    }

    async fn rollups(
        &self,
        target_id: &str,
        kind: TargetKind,
        period: Period,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<Rollup>, StoreError> {
        if until_ms <= since_ms {
            return Ok(Vec::new());
        }
        let items = self
            .query_range(
                &rollup_pk(target_id, kind),
                &rollup_sk(period, since_ms),
                &rollup_sk(period, until_ms - 1),
            )
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let r: Rollup = from_attr(item, "rollup")?;
            if r.start >= since_ms && r.start < until_ms {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn put_digests(&self, digests: &[Digest]) -> Result<(), StoreError> {
        let items = digests
            .iter()
            .map(|d| {
                Ok(item_of(vec![
                    (PK, s(format!("DIGEST#{}", d.scope))),
                    (SK, s(ms_key(d.start))),
                    ("digest", to_json(d)?),
                    (TTL, ttl_after(d.start, DIGEST_TTL_DAYS)),
                ]))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.put_all(items).await
    }

    async fn digests(
        &self,
        scope: &str,
        before_ms: i64,
        limit: usize,
    ) -> Result<Vec<Digest>, StoreError> {
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk < :b")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(format!("DIGEST#{scope}")))
            .expression_attribute_values(":b", s(ms_key(before_ms)))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(backend)?;
        page.items
            .unwrap_or_default()
            .iter()
            .map(|i| from_attr(i, "digest"))
            .collect()
    }

    async fn put_uptime(&self, kind: TargetKind, table: &[TargetUptime]) -> Result<(), StoreError> {
        let pk = format!("UPTIME#{}", kind.as_str());
        let items = table
            .chunks(UPTIME_CHUNK)
            .enumerate()
            .map(|(i, chunk)| {
                Ok(item_of(vec![
                    (PK, s(&pk)),
                    (SK, s(format!("{i:04}"))),
                    ("uptime", to_json(&chunk)?),
                ]))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.put_all(items).await?;
        self.drop_chunks_from(&pk, table.len().div_ceil(UPTIME_CHUNK))
            .await
    }

    async fn uptime_table(&self, kind: TargetKind) -> Result<Vec<TargetUptime>, StoreError> {
        let items = self
            .query(None, &format!("UPTIME#{}", kind.as_str()), true, None)
            .await?;
        let mut out = Vec::new();
        for item in &items {
            out.extend(from_attr::<Vec<TargetUptime>>(item, "uptime")?);
        }
        Ok(out)
    }
}

impl HistoryStore for DynamoStore {
    async fn history(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        targets: usize,
    ) -> Result<Vec<CheckResult>, StoreError> {
        Ok(self
            .history_entries(kind, since_ms, until_ms, targets.div_ceil(CHUNK))
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect())
    }
}

impl AlertLog for DynamoStore {
    async fn alerts(&self, since_ms: i64, until_ms: i64) -> Result<Vec<AlertRecord>, StoreError> {
        let mut out = Vec::new();
        let first_day = since_ms.div_euclid(crate::domain::state::DAY_MS);
        let last_day = until_ms.div_euclid(crate::domain::state::DAY_MS);
        for day in first_day..=last_day.min(first_day + 31) {
            let pk = format!(
                "ALERT#{}",
                crate::time::day(day * crate::domain::state::DAY_MS)
            );
            let to = format!("{}~", ms_key(until_ms));
            for item in self.query_range(&pk, &ms_key(since_ms), &to).await? {
                let published = item
                    .get("status")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|v| v == "published");
                out.push(AlertRecord {
                    alert: from_attr(&item, "alert")?,
                    published,
                });
            }
        }
        Ok(out)
    }
}

impl Outbox for DynamoStore {
    async fn pending_alerts(&self, _now_ms: i64) -> Result<Vec<Alert>, StoreError> {
        // Pending rows carry the sparse index key `OUTBOX#pending`; publishing removes it, so
        // this reads only what is still to send, however old.
        self.query_index(OUTBOX_PENDING)
            .await?
            .iter()
            .map(|item| from_attr::<Alert>(item, "alert"))
            .collect()
    }

    async fn claim_alert(
        &self,
        alert: &Alert,
        holder: &str,
        now_ms: i64,
        claim_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .alert_update(alert)
            .update_expression("SET #st = :claimed, #by = :holder, #cu = :until")
            .condition_expression(
                "attribute_exists(#pk) AND (#st = :pending OR (#st = :claimed AND #cu < :now))",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#by", CLAIMED_BY)
            .expression_attribute_names("#cu", CLAIM_UNTIL)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":until", n(claim_until_ms))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn mark_published(&self, alert: &Alert, holder: &str) -> Result<(), StoreError> {
        let marked = self
            .alert_update(alert)
            .update_expression("SET #st = :published REMOVE #gpk, #gsk, #by, #cu")
            .condition_expression("#st = :claimed AND #by = :holder")
            .expression_attribute_names("#gpk", GSI_PK)
            .expression_attribute_names("#gsk", GSI_SK)
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#by", CLAIMED_BY)
            .expression_attribute_names("#cu", CLAIM_UNTIL)
            .expression_attribute_values(":published", s("published"))
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match marked {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Err(StoreError::Conflict(format!(
                    "alert {} is not claimed by {holder}",
                    alert.key
                )))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn release_claim(&self, alert: &Alert, holder: &str) -> Result<(), StoreError> {
        let released = self
            .alert_update(alert)
            .update_expression("SET #st = :pending REMOVE #by, #cu")
            .condition_expression("#st = :claimed AND #by = :holder")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#by", CLAIMED_BY)
            .expression_attribute_names("#cu", CLAIM_UNTIL)
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            // Not ours any more: nothing to give back.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn enqueue(&self, alerts: &[Alert]) -> Result<Vec<Alert>, StoreError> {
        let mut new = Vec::new();
        for a in alerts {
            let written = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(self.alert_row(a)?))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .send()
                .await;
            match written {
                Ok(_) => new.push(a.clone()),
                Err(SdkError::ServiceError(e))
                    if e.err().is_conditional_check_failed_exception() => {}
                Err(e) => return Err(backend(e)),
            }
        }
        Ok(new)
    }
}

fn lease_key(kind: TargetKind) -> AttributeValue {
    s(format!("LEASE#{}", kind.as_str()))
}

/// A lease item's fields.
fn lease_info(kind: TargetKind, item: &Item) -> LeaseInfo {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    LeaseInfo {
        kind,
        holder: text(LEASE_HOLDER),
        until_ms: item
            .get(LEASE_UNTIL)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        done_event: text(LEASE_DONE),
    }
}

impl DynamoStore {
    /// The lease item of `kind` (strongly consistent), empty when there is none.
    async fn lease_item(&self, kind: TargetKind) -> Result<Item, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, lease_key(kind))
            .key(SK, s("LEASE"))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item
            .unwrap_or_default())
    }
}

impl RunLease for DynamoStore {
    async fn acquire_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        event_id: Option<&str>,
    ) -> Result<Lease, StoreError> {
        let taken = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, lease_key(kind))
            .key(SK, s("LEASE"))
            .update_expression("SET #holder = :holder, #until = :until")
            .condition_expression(
                "(attribute_not_exists(#until) OR #until < :now) \
                 AND (attribute_not_exists(#done) OR #done <> :event)",
            )
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_names("#done", LEASE_DONE)
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":now", n(now_ms))
            // No event id: a value no event has, so only the time condition counts.
            .expression_attribute_values(":event", s(event_id.unwrap_or("\u{0}")))
            .send()
            .await;
        match taken {
            Ok(_) => Ok(Lease::Acquired),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let info = lease_info(kind, &self.lease_item(kind).await?);
                if info.until_ms >= now_ms {
                    Ok(Lease::Busy {
                        until_ms: info.until_ms,
                    })
                } else if event_id.is_some() && info.done_event.as_deref() == event_id {
                    Ok(Lease::AlreadyDone)
                } else {
                    Ok(Lease::Busy {
                        until_ms: info.until_ms,
                    })
                }
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn renew_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let renewed = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, lease_key(kind))
            .key(SK, s("LEASE"))
            .update_expression("SET #until = :until")
            // Released leases (until 0) stay released, even if a renewal was in flight.
            .condition_expression("#holder = :holder AND #until > :zero")
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match renewed {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn release_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        event_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, lease_key(kind))
            .key(SK, s("LEASE"))
            .condition_expression("#holder = :holder")
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":zero", n(0));
        update = match event_id {
            Some(ev) => update
                .update_expression("SET #until = :zero, #done = :event")
                .expression_attribute_names("#done", LEASE_DONE)
                .expression_attribute_values(":event", s(ev)),
            None => update.update_expression("SET #until = :zero"),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            // Expired and taken by another run meanwhile: nothing of ours to release.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn break_lease(&self, kind: TargetKind, now_ms: i64) -> Result<bool, StoreError> {
        let broken = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, lease_key(kind))
            .key(SK, s("LEASE"))
            .update_expression("SET #until = :zero REMOVE #holder")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":zero", n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match broken {
            Ok(out) => {
                let old = lease_info(kind, &out.attributes.unwrap_or_default());
                Ok(old.holder.is_some() && old.until_ms >= now_ms)
            }
            // No lease item: nothing was ever held.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn leases(&self) -> Result<Vec<LeaseInfo>, StoreError> {
        let mut out = Vec::new();
        for kind in TargetKind::ALL {
            let item = self.lease_item(kind).await?;
            if !item.is_empty() {
                out.push(lease_info(kind, &item));
            }
        }
        Ok(out)
    }
}

impl TableScan for DynamoStore {
    fn table_name(&self) -> &str {
        &self.table
    }

    async fn schema(&self) -> Result<TableSchema, StoreError> {
        self.describe(&self.table)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("table {} does not exist", self.table)))
    }

    async fn scan_page(
        &self,
        segment: u32,
        segments: u32,
        start: Option<serde_json::Value>,
    ) -> Result<ScanPage, StoreError> {
        let start = start.as_ref().map(json_to_item).transpose()?;
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .segment(segment as i32)
            .total_segments(segments as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(backend)?;
        Ok(ScanPage {
            items: page.items().iter().map(item_to_json).collect(),
            next: page.last_evaluated_key().map(item_to_json),
        })
    }
}

fn key_attributes(
    keys: &[aws_sdk_dynamodb::types::KeySchemaElement],
    types: &HashMap<String, String>,
) -> Vec<KeyAttribute> {
    keys.iter()
        .map(|k| KeyAttribute {
            name: k.attribute_name().to_string(),
            attr_type: types
                .get(k.attribute_name())
                .cloned()
                .unwrap_or_else(|| "S".into()),
            role: k.key_type().as_str().to_string(),
        })
        .collect()
}

fn key_schema_of(keys: &[KeyAttribute]) -> Result<Vec<KeySchemaElement>, StoreError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.name)
                .key_type(KeyType::from(k.role.as_str()))
                .build()
                .map_err(build_error)
        })
        .collect()
}

impl RestoreTarget for DynamoStore {
    async fn describe(&self, table: &str) -> Result<Option<TableSchema>, StoreError> {
        let out = match self.client.describe_table().table_name(table).send().await {
            Ok(out) => out,
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception() => {
                return Ok(None)
            }
            Err(e) => return Err(backend(e)),
        };
        let Some(desc) = out.table else {
            return Ok(None);
        };
        let types: HashMap<String, String> = desc
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_string(),
                    a.attribute_type().as_str().to_string(),
                )
            })
            .collect();
        let indexes = desc
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                let projection = g.projection();
                IndexSchema {
                    name: g.index_name().unwrap_or_default().to_string(),
                    key_schema: key_attributes(g.key_schema(), &types),
                    projection: projection
                        .and_then(|p| p.projection_type())
                        .map_or("ALL", |p| p.as_str())
                        .to_string(),
                    non_key_attributes: projection
                        .map(|p| p.non_key_attributes().to_vec())
                        .unwrap_or_default(),
                }
            })
            .collect();
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(backend)?;
        let ttl_attribute = ttl
            .time_to_live_description()
            .filter(|d| {
                matches!(
                    d.time_to_live_status(),
                    Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
                )
            })
            .and_then(|d| d.attribute_name())
            .map(str::to_string);
        Ok(Some(TableSchema {
            key_schema: key_attributes(desc.key_schema(), &types),
            indexes,
            ttl_attribute,
        }))
    }

    async fn create(&self, table: &str, schema: &TableSchema) -> Result<(), StoreError> {
        let mut defs: Vec<&KeyAttribute> = Vec::new();
        for k in schema
            .key_schema
            .iter()
            .chain(schema.indexes.iter().flat_map(|i| i.key_schema.iter()))
        {
            if !defs.iter().any(|d| d.name == k.name) {
                defs.push(k);
            }
        }
        let definitions = defs
            .iter()
            .map(|k| {
                AttributeDefinition::builder()
                    .attribute_name(&k.name)
                    .attribute_type(ScalarAttributeType::from(k.attr_type.as_str()))
                    .build()
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let indexes = schema
            .indexes
            .iter()
            .map(|i| {
                let projection = Projection::builder()
                    .projection_type(ProjectionType::from(i.projection.as_str()))
                    .set_non_key_attributes(
                        (!i.non_key_attributes.is_empty()).then(|| i.non_key_attributes.clone()),
                    )
                    .build();
                GlobalSecondaryIndex::builder()
                    .index_name(&i.name)
                    .set_key_schema(Some(key_schema_of(&i.key_schema)?))
                    .projection(projection)
                    .build()
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(definitions))
            .set_key_schema(Some(key_schema_of(&schema.key_schema)?))
            .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
            .send()
            .await
            .map_err(backend)?;
        // CreateTable returns at once; writes need the table (and its indexes) active. A new
        // table takes seconds in AWS, at most a few minutes.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        loop {
            let out = self
                .client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(backend)?;
            let desc = out.table;
            let active = desc.as_ref().is_some_and(|d| {
                d.table_status() == Some(&TableStatus::Active)
                    && d.global_secondary_indexes()
                        .iter()
                        .all(|g| g.index_status() == Some(&IndexStatus::Active))
            });
            if active {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(StoreError::Backend(format!(
                    "table {table} was not active 300 s after it was created"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        if let Some(attr) = &schema.ttl_attribute {
            self.client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(build_error)?,
                )
                .send()
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn is_empty(&self, table: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .scan()
            .table_name(table)
            .limit(1)
            .send()
            .await
            .map_err(backend)?;
        Ok(out.items().is_empty() && out.last_evaluated_key().is_none())
    }

    async fn write_batch(
        &self,
        table: &str,
        items: &[serde_json::Value],
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let writes = items
            .iter()
            .map(|v| {
                let put = PutRequest::builder()
                    .set_item(Some(json_to_item(v)?))
                    .build()
                    .map_err(build_error)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let out = self
            .client
            .batch_write_item()
            .request_items(table, writes)
            .send()
            .await
            .map_err(backend)?;
        Ok(out
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default()
            .iter()
            .filter_map(|w| w.put_request().map(|p| item_to_json(p.item())))
            .collect())
    }

    async fn count(&self, table: &str) -> Result<u64, StoreError> {
        const SEGMENTS: i32 = 4;
        let per_segment = (0..SEGMENTS).map(|segment| async move {
            let mut total = 0u64;
            let mut pages = self
                .client
                .scan()
                .table_name(table)
                .select(Select::Count)
                .segment(segment)
                .total_segments(SEGMENTS)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                total += page.map_err(backend)?.count().max(0) as u64;
            }
            Ok::<_, StoreError>(total)
        });
        Ok(futures::future::try_join_all(per_segment)
            .await?
            .into_iter()
            .sum())
    }
}
