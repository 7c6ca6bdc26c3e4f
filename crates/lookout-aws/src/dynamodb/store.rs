//! [`DynamoStore`]: the table adapter, its constructors and the requests every port shares
//! (queries, batch reads and writes, chunk clean-up). Each port's `impl` is in its own module.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::{StreamExt as _, TryStreamExt as _};

use super::item::{key_of, s, Item};
use super::keys::{chunk_sk, GSI, GSI_PK, PK};
use crate::sealing::Sealer;
use crate::{build_error, store_error};
use lookout_app::ports::StoreError;
use lookout_app::retry::{retry_policy, until_all_done};
use lookout_core::domain::{Shard, TargetKind};

/// Items per BatchWriteItem request, DynamoDB's limit.
pub(super) const BATCH_WRITE_LIMIT: usize = 25;
/// Keys per BatchGetItem request, DynamoDB's limit.
const BATCH_GET_LIMIT: usize = 100;
/// Attempts of a batch request whose items come back unprocessed (throttled).
const BATCH_ATTEMPTS: u32 = 10;

/// The table adapter. Cheap to clone (the SDK client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(super) client: crate::LazyClient<Client>,
    pub(super) table: String,
    ttl_days: u32,
    /// Days audit entries are kept (`LOOKOUT_AUDIT_RETENTION_DAYS`).
    pub(super) audit_days: u32,
    pub(super) sealer: Sealer,
    /// The shard this view is narrowed to ([`Shard::WHOLE`] unless made by
    /// [`lookout_app::ports::Sharded::for_shard`]).
    pub(super) shard: Shard,
    /// Kinds whose latest states this view read from another layout's snapshots (see
    /// `shards.rs`): its next `record_run` of the kind writes its own snapshot.
    pub(super) fell_back: Arc<Mutex<HashSet<TargetKind>>>,
    /// The probe location whose run leases this view takes (`None`: the plain ones; see
    /// [`lookout_app::ports::Located`]).
    pub(super) location: Option<String>,
}

impl lookout_app::ports::Located for DynamoStore {
    fn at_location(&self, location: &str) -> Self {
        DynamoStore {
            location: Some(location.to_string()),
            ..self.clone()
        }
    }
}

impl lookout_app::ports::Sharded for DynamoStore {
    fn for_shard(&self, shard: Shard) -> Self {
        DynamoStore {
            shard,
            fell_back: Arc::default(),
            ..self.clone()
        }
    }

    fn shard(&self) -> Shard {
        self.shard
    }
}

impl DynamoStore {
    /// An adapter for `table`; history, run and alert rows expire after `ttl_days`. Definitions
    /// are stored as given ([`Sealer::plain`]) until [`DynamoStore::with_sealer`].
    pub fn new(
        client: impl Into<crate::LazyClient<Client>>,
        table: impl Into<String>,
        ttl_days: u32,
    ) -> Self {
        DynamoStore {
            client: client.into(),
            table: table.into(),
            ttl_days,
            audit_days: lookout_app::config::DEFAULT_AUDIT_RETENTION_DAYS,
            sealer: Sealer::plain(),
            shard: Shard::WHOLE,
            location: None,
            fell_back: Arc::default(),
        }
    }

    /// The same adapter sealing the inline secrets of definitions with `sealer` on write and
    /// opening them on read.
    pub fn with_sealer(mut self, sealer: Sealer) -> Self {
        self.sealer = sealer;
        self
    }

    /// The same adapter keeping audit entries `days` days (TTL `expires_at`).
    pub fn with_audit_retention(mut self, days: u32) -> Self {
        self.audit_days = days;
        self
    }

    /// The functions' adapter: the table `LOOKOUT_TABLE`, history rows kept
    /// `LOOKOUT_HISTORY_TTL_DAYS`, a client from `aws` (endpoints from `AWS_ENDPOINT_URL_*`) in
    /// the region `LOOKOUT_TABLE_REGION` when set ([`crate::table_config`]), inline secrets
    /// sealed with the key of the settings ([`Sealer::from_settings`], the function's region).
    pub fn from_settings(
        aws: &aws_config::SdkConfig,
        settings: &lookout_app::config::Settings,
    ) -> Self {
        let client = crate::LazyClient::new(&crate::table_config(aws, settings), Client::new);
        Self::new(client, &settings.table, settings.history_ttl_days)
            .with_sealer(Sealer::from_settings(aws, settings))
            .with_audit_retention(settings.audit_retention_days)
    }

    /// Like [`DynamoStore::from_settings`], with a client of `limits` (the API's
    /// [`ClientLimits::INTERACTIVE`](super::ClientLimits::INTERACTIVE)).
    pub fn from_settings_with(
        aws: &aws_config::SdkConfig,
        settings: &lookout_app::config::Settings,
        limits: &super::ClientLimits,
    ) -> Self {
        let limits = *limits;
        Self::new(
            crate::LazyClient::new(&crate::table_config(aws, settings), move |aws| {
                limits.client(aws)
            }),
            &settings.table,
            settings.history_ttl_days,
        )
        .with_sealer(Sealer::from_settings(aws, settings))
        .with_audit_retention(settings.audit_retention_days)
    }

    /// The TTL of a history, run or alert row written at `from_ms`.
    pub(super) fn expires_at(&self, from_ms: i64) -> AttributeValue {
        super::item::ttl_after(from_ms, self.ttl_days)
    }

    /// Every item of partition `key`, all pages, in sort-key order (or reversed, `limit` items):
    /// of the table (`index` `None`, key `pk`) or of index `gsi1` (key `gsi1pk`).
    pub(super) async fn query(
        &self,
        index: Option<&str>,
        key: &str,
        forward: bool,
        limit: Option<i32>,
    ) -> Result<Vec<Item>, StoreError> {
        let key_attr = if index.is_some() { GSI_PK } else { PK };
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_string))
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", key_attr)
            .expression_attribute_values(":k", s(key))
            .scan_index_forward(forward)
            .set_limit(limit);
        if limit.is_some() {
            let page = request.send().await.map_err(store_error)?;
            return Ok(page.items.unwrap_or_default());
        }
        request
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(store_error)
    }

    /// Every item of table partition `pk` with a sort key from `from` to `to` (inclusive), all
    /// pages, in sort-key order.
    pub(super) async fn query_range(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<Item>, StoreError> {
        self.range(None, pk, from, to).await
    }

    /// Every item of index `gsi1` partition `key`, all pages, in index sort-key order.
    pub(super) async fn query_index(&self, key: &str) -> Result<Vec<Item>, StoreError> {
        self.query(Some(GSI), key, true, None).await
    }

    /// Every item of index `gsi1` partition `key` with an index sort key from `from` to `to`
    /// (inclusive), all pages, in index sort-key order.
    pub(super) async fn query_index_range(
        &self,
        key: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<Item>, StoreError> {
        self.range(Some(GSI), key, from, to).await
    }

    /// The items of partition `key` of the table (`index` `None`: keys `pk`/`sk`) or of index
    /// `gsi1` (keys `gsi1pk`/`gsi1sk`) with a sort key from `from` to `to`, all pages.
    async fn range(
        &self,
        index: Option<&str>,
        key: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let (key_attr, sort_attr) = match index {
            Some(_) => (GSI_PK, super::keys::GSI_SK),
            None => (PK, super::keys::SK),
        };
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_string))
            .key_condition_expression("#k = :k AND #s BETWEEN :a AND :b")
            .expression_attribute_names("#k", key_attr)
            .expression_attribute_names("#s", sort_attr)
            .expression_attribute_values(":k", s(key))
            .expression_attribute_values(":a", s(from))
            .expression_attribute_values(":b", s(to))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(store_error)
    }

    /// Whether this view's latest states of `kind` came from other snapshots (and takes the
    /// mark off).
    pub(super) fn take_fell_back(&self, kind: TargetKind) -> bool {
        self.fell_back
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&kind)
    }

    /// Marks that this view's latest states of `kind` came from other snapshots.
    pub(super) fn mark_fell_back(&self, kind: TargetKind) {
        self.fell_back
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(kind);
    }

    /// One BatchWriteItem of at most [`BATCH_WRITE_LIMIT`] puts into `table`; returns the items
    /// DynamoDB left unprocessed.
    pub(super) async fn write_batch_once(
        &self,
        table: &str,
        items: Vec<Item>,
    ) -> Result<Vec<Item>, StoreError> {
        let writes = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .batch_write_item()
            .request_items(table, writes)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|w| w.put_request.map(|p| p.item))
            .collect())
    }

    /// Writes `items` with BatchWriteItem, 25 per request and 4 requests in flight, sending
    /// unprocessed items again with the [`lookout_app::retry`] policy (50 ms doubling to 5 s, 10
    /// attempts). A failed request is not sent again: the SDK has retried it already.
    ///
    /// # Errors
    /// The request's error, or [`StoreError::Throttled`] when items are still unprocessed
    /// after the last attempt; the message says how many.
    pub(super) async fn put_all(&self, items: Vec<Item>) -> Result<(), StoreError> {
        // Owned batches: futures borrowing the items trip the compiler's higher-ranked
        // lifetime inference once the caller's future must be `Send`.
        let batches: Vec<Vec<Item>> = items
            .chunks(BATCH_WRITE_LIMIT)
            .map(<[Item]>::to_vec)
            .collect();
        let sends = batches.into_iter().map(|batch| async move {
            until_all_done(batch_policy(), batch, no_retry, |items| {
                self.write_batch_once(&self.table, items)
            })
            .await
            .map_err(|left| left.into_store_error("BatchWriteItem"))
        });
        futures::stream::iter(sends)
            .buffer_unordered(4)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    /// The items of `keys` that exist, 100 keys per BatchGetItem; unprocessed keys are asked
    /// again with the [`lookout_app::retry`] policy, 10 attempts, and then it fails loudly. A failed
    /// request is not sent again (the SDK has retried it), so the API's 503 stays prompt.
    pub(super) async fn batch_get(
        &self,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let found = Mutex::new(Vec::new());
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            let found = &found;
            let read = |keys: Vec<Item>| async move {
                let got = self
                    .client
                    .batch_get_item()
                    .request_items(
                        &self.table,
                        KeysAndAttributes::builder()
                            .set_keys(Some(keys))
                            .consistent_read(consistent)
                            .build()
                            .map_err(build_error)?,
                    )
                    .send()
                    .await
                    .map_err(store_error)?;
                let items = got.responses.and_then(|mut r| r.remove(&self.table));
                found
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(items.unwrap_or_default());
                Ok::<_, StoreError>(
                    got.unprocessed_keys
                        .and_then(|mut u| u.remove(&self.table))
                        .map(|k| k.keys)
                        .unwrap_or_default(),
                )
            };
            until_all_done(batch_policy(), chunk.to_vec(), no_retry, read)
                .await
                .map_err(|left| left.into_store_error("BatchGetItem"))?;
        }
        Ok(found
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Deletes the chunk items `<first>`, `<first + 1>` ... ([`chunk_sk`]) of partition `pk`,
    /// left over from a write with more chunks: they follow the last chunk written, so it
    /// deletes upwards until one did not exist (one write when nothing is left).
    pub(super) async fn drop_chunks_from(&self, pk: &str, first: usize) -> Result<(), StoreError> {
        for i in first.. {
            let gone = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key_of(pk, chunk_sk(i))))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
                .await
                .map_err(store_error)?;
            if gone.attributes.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Deletes item `pk`/`sk`; answers whether there was one.
    pub(super) async fn delete_existing(&self, pk: &str, sk: &str) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(super::item::key_of(pk, sk)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(store_error)?;
        Ok(deleted.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// One item by its key, read strongly consistent (a read a write may depend on).
    pub(super) async fn get_consistent(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<Item>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(super::item::key_of(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(got.item)
    }

    /// Puts one item, unconditionally.
    pub(super) async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

/// A failed batch request is returned as it is: the SDK's own retries are done by then.
fn no_retry(_: &StoreError) -> bool {
    false
}

/// The retries of a batch request's unprocessed items: 50 ms doubling to 5 s, 10 attempts.
fn batch_policy() -> backon::ExponentialBuilder {
    retry_policy(
        Duration::from_millis(50),
        Duration::from_secs(5),
        BATCH_ATTEMPTS,
    )
}
