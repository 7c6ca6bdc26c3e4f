//! [`RestoreTarget`] over DynamoDB: describing and creating a table from a dump's schema, and
//! writing items back with BatchWriteItem ([`BATCH_WRITE_LIMIT`] a request).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, Select, TableDescription, TimeToLiveSpecification,
    TimeToLiveStatus,
};

use super::convert::{item_to_json, json_to_item};
use super::store::BATCH_WRITE_LIMIT;
use super::DynamoStore;
use crate::{build_error, found, sdk_message, store_error};
use lookout_app::ports::{IndexSchema, Item, KeyAttribute, RestoreTarget, StoreError, TableSchema};

/// How long a new table may take to become active (seconds in AWS, at most a few minutes).
const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(300);

/// Key attributes of the SDK's key schema, with their scalar types from `types`.
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

/// The SDK's key schema of key attributes.
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

/// The keys and indexes of a table description, without its TTL.
fn schema_of(desc: &TableDescription) -> TableSchema {
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
    TableSchema {
        key_schema: key_attributes(desc.key_schema(), &types),
        indexes,
        ttl_attribute: None,
    }
}

/// The attribute definitions (every key attribute of the table and its indexes, once) and the
/// global secondary indexes of `schema`, as CreateTable takes them.
fn table_definition(
    schema: &TableSchema,
) -> Result<(Vec<AttributeDefinition>, Vec<GlobalSecondaryIndex>), StoreError> {
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
    Ok((definitions, indexes))
}

impl DynamoStore {
    /// The TTL attribute of `table` when TTL is on (or being turned on).
    async fn ttl_attribute(&self, table: &str) -> Result<Option<String>, StoreError> {
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(store_error)?;
        Ok(ttl
            .time_to_live_description()
            .filter(|d| {
                matches!(
                    d.time_to_live_status(),
                    Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
                )
            })
            .and_then(|d| d.attribute_name())
            .map(str::to_string))
    }
}

impl RestoreTarget for DynamoStore {
    async fn describe(&self, table: &str) -> Result<Option<TableSchema>, StoreError> {
        let described = self.client.describe_table().table_name(table).send().await;
        let Some(desc) = found(described)?.and_then(|out| out.table) else {
            return Ok(None);
        };
        let mut schema = schema_of(&desc);
        schema.ttl_attribute = self.ttl_attribute(table).await?;
        Ok(Some(schema))
    }

    async fn create(&self, table: &str, schema: &TableSchema) -> Result<(), StoreError> {
        let (definitions, indexes) = table_definition(schema)?;
        self.client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(definitions))
            .set_key_schema(Some(key_schema_of(&schema.key_schema)?))
            .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
            .send()
            .await
            .map_err(store_error)?;
        // CreateTable returns at once; writes need the table active, which it is once the
        // indexes created with it are. The SDK's waiter polls DescribeTable until then.
        self.client
            .wait_until_table_exists()
            .table_name(table)
            .wait(TABLE_ACTIVE_WAIT)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "table {table} was not active {} s after it was created: {}",
                    TABLE_ACTIVE_WAIT.as_secs(),
                    sdk_message(&e)
                ))
            })?;
        let Some(attr) = &schema.ttl_attribute else {
            return Ok(());
        };
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
            .map_err(store_error)?;
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
            .map_err(store_error)?;
        Ok(out.items().is_empty() && out.last_evaluated_key().is_none())
    }

    fn batch_limit(&self) -> usize {
        BATCH_WRITE_LIMIT
    }

    async fn write_batch(&self, table: &str, items: &[Item]) -> Result<Vec<Item>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let items = items
            .iter()
            .map(|v| json_to_item(&v.0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self
            .write_batch_once(table, items)
            .await?
            .iter()
            .map(|i| Item(item_to_json(i)))
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
                total += page.map_err(store_error)?.count().max(0) as u64;
            }
            Ok::<_, StoreError>(total)
        });
        Ok(futures::future::try_join_all(per_segment)
            .await?
            .into_iter()
            .sum())
    }
}
