//! Building and reading items: attribute values, JSON attributes, and the errors of an item
//! that does not decode.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::keys::{PK, SK};
use lookout_app::ports::StoreError;

/// One item of the table, as the SDK holds it.
pub(super) type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An item of `fields`.
pub(super) fn item_of(fields: Vec<(&str, AttributeValue)>) -> Item {
    fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The key of the item `pk` / `sk`.
pub(super) fn key_of(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    item_of(vec![(PK, s(pk)), (SK, s(sk))])
}

/// A TTL value (epoch seconds) `days` after `from_ms`.
pub(super) fn ttl_after(from_ms: i64, days: u32) -> AttributeValue {
    n(from_ms / 1000 + i64::from(days) * 86_400)
}

/// A value as a JSON string attribute.
pub(super) fn to_json<T: Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(v)
        .map(s)
        .map_err(|e| StoreError::Invalid(format!("encoding: {e}")))
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

/// [`StoreError::Corrupt`] naming the item.
pub(super) fn corrupt(item: &Item, message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: item_key(item),
        message: message.to_string(),
    }
}

/// The value of JSON string attribute `attr`.
///
/// # Errors
/// [`StoreError::Corrupt`] when the attribute is missing or does not decode.
pub(super) fn from_attr<T: DeserializeOwned>(item: &Item, attr: &str) -> Result<T, StoreError> {
    let text = item
        .get(attr)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| corrupt(item, format!("no string attribute {attr}")))?;
    serde_json::from_str(text).map_err(|e| corrupt(item, e))
}
