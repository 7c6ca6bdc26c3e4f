//! [`LocationStore`] over the table: each location's verdicts of a kind in packed chunks, and
//! one dead man's switch item per location.
//!
//! | pk | sk | attributes |
//! | --- | --- | --- |
//! | `VERDICT#<kind>` (whole store) or `VERDICT#<kind>#<shard label>` (narrowed) | `<location>#<chunk, 4 digits>` | `v` (packed verdicts, [`VERDICT_FIELDS`]), `at` (the put's time, ms), `chunks` (the location's chunks at that put), `expires_at` |
//! | `LOCATION` | `<location>` | `last_seen` (epoch ms), `silent` (bool) |
//!
//! **Verdicts.** [`LocationStore::put_verdicts`] writes one location's chunks (at most
//! [`VERDICT_CHUNK`] verdicts and about [`CHUNK_BYTES`] bytes each, so an item stays well under
//! DynamoDB's 400 KB) in batches, then deletes that location's chunks past the new count. Each
//! chunk carries the put's time and chunk count, so a reader keeps only the chunks of the
//! location's latest complete-looking put (chunk 0's `at`, indexes below its `chunks`): a put
//! that failed half-way leaves some verdicts missing for a round, never a stale verdict mixed in
//! for ever. [`LocationStore::verdicts`] is one eventually consistent Query of the partition:
//! every location's verdicts at once. A packed verdict is about 50 bytes
//! (`["web",2,1764558000000,1764558060000,120]`): the location is the item's (its sort key).
//!
//! **Heartbeats.** Each is one conditional UpdateItem, so that "was silent" and "marked silent"
//! are each answered `true` to exactly one caller however many race.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde_json::{Map, Value};

use super::item::{corrupt, item_of, key_of, n, s, Item};
use super::keys::{verdict_sk, verdicts_pk, LAST_SEEN, LOCATION_PK, PK, SILENT, SK, TTL};
use super::packed::{array, pack, unpack, PackError};
use super::DynamoStore;
use crate::{conditional, store_error};
use lookout_app::ports::{LocationStore, StoreError};
use lookout_core::domain::location::{newest_per_location, LocationHealth, LocationVerdict};
use lookout_core::domain::{Shard, TargetKind};

/// Field order of a packed [`LocationVerdict`] (its `location` is the item's sort key).
pub const VERDICT_FIELDS: [&str; 8] = [
    "target_id",
    "status",
    "since",
    "at",
    "latency_ms",
    "error",
    "consecutive_failures",
    "consecutive_successes",
];

/// Verdicts per chunk item at most (about 12 KB of packed verdicts without errors).
pub const VERDICT_CHUNK: usize = 250;

/// Bytes of packed verdicts per chunk item at most (errors are long): a quarter below the
/// 400 KB item limit, keys and attributes included.
pub const CHUNK_BYTES: usize = 300_000;

/// Chunks of one location at most: what a 4-digit sort key holds (2.5 million verdicts).
const MAX_CHUNKS: usize = 10_000;

/// Chunk attribute: the packed verdicts (a JSON string).
const VERDICTS_ATTR: &str = "v";
/// Chunk attribute: the time of the put that wrote the chunk, epoch ms.
const AT_ATTR: &str = "at";
/// Chunk attribute: how many chunks that put wrote for the location.
const CHUNKS_ATTR: &str = "chunks";

/// `verdicts` packed into the texts of one location's chunks, in order: each at most
/// [`VERDICT_CHUNK`] verdicts and [`CHUNK_BYTES`] bytes (a single larger verdict alone), and at
/// least one chunk (empty when there are no verdicts, so the put is recorded).
///
/// # Errors
/// [`PackError`] when a verdict does not encode.
pub fn pack_verdict_chunks(verdicts: &[LocationVerdict]) -> Result<Vec<String>, PackError> {
    let mut chunks = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut bytes = 2;
    for v in verdicts {
        let entry = pack_verdict(v)?;
        if !current.is_empty()
            && (current.len() >= VERDICT_CHUNK || bytes + entry.len() + 1 > CHUNK_BYTES)
        {
            chunks.push(format!("[{}]", current.join(",")));
            current.clear();
            bytes = 2;
        }
        bytes += entry.len() + 1;
        current.push(entry);
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(format!("[{}]", current.join(",")));
    }
    Ok(chunks)
}

/// One verdict packed in [`VERDICT_FIELDS`] order, without its location.
fn pack_verdict(v: &LocationVerdict) -> Result<String, PackError> {
    let Value::Object(mut map) = serde_json::to_value(v).map_err(|e| PackError(e.to_string()))?
    else {
        return Err(PackError("not a record".into()));
    };
    map.remove("location");
    Ok(Value::Array(pack(&Value::Object(map), &VERDICT_FIELDS)?).to_string())
}

/// The verdicts of `location` a chunk text holds.
///
/// # Errors
/// [`PackError`] when the text is not an array of packed verdicts.
pub fn unpack_verdict_chunk(text: &str, location: &str) -> Result<Vec<LocationVerdict>, PackError> {
    let v: Value = serde_json::from_str(text).map_err(|e| PackError(e.to_string()))?;
    array(&v)?
        .iter()
        .map(|entry| {
            let mut base = Map::new();
            base.insert("location".into(), Value::from(location));
            unpack(array(entry)?, &VERDICT_FIELDS, base)
        })
        .collect()
}

/// A number attribute as `i64` (0 when missing or not a number).
fn num_attr(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The location and chunk index of a verdict chunk's sort key `<location>#<4 digits>`.
fn split_verdict_sk(sk: &str) -> Option<(&str, usize)> {
    let (location, index) = sk.rsplit_once('#')?;
    Some((location, index.parse().ok()?))
}

impl DynamoStore {
    /// The partitions [`LocationStore::verdicts`] reads for `kind`: this view's own, one.
    ///
    /// A whole store whose kind is split into `n` shards (its layout) reads the `n` shard
    /// partitions; a narrowed one its own.
    pub(super) async fn verdict_partitions(
        &self,
        kind: TargetKind,
    ) -> Result<Vec<String>, StoreError> {
        let layout = self.layout(kind).await?;
        if !self.shard.is_whole() {
            let mut partitions = vec![verdicts_pk(kind, self.shard)];
            // Just re-sharded: the locations' verdicts are still in the earlier layout's
            // partitions until each location's first round of this one writes its own.
            let recent = lookout_core::time::now_ms() - layout.changed_at < RESHARD_FALLBACK_MS;
            if layout.changed_at > 0 && recent && layout.prev_of != layout.of {
                partitions.extend(Shard::all(layout.prev_of).map(|s| verdicts_pk(kind, s)));
            }
            return Ok(partitions);
        }
        let of = layout.of;
        Ok(if of > 1 {
            Shard::all(of).map(|s| verdicts_pk(kind, s)).collect()
        } else {
            vec![verdicts_pk(kind, self.shard)]
        })
    }

    /// Every location's verdicts in `partitions` (each one eventually consistent Query, all
    /// pages), by target id. Per location only the chunks of its latest put count: chunk 0's
    /// `at`, indexes below its `chunks`.
    ///
    /// # Errors
    /// The Query's error, or [`StoreError::Corrupt`] naming a chunk that does not decode.
    pub(super) async fn verdicts_of(
        &self,
        partitions: &[String],
    ) -> Result<HashMap<String, Vec<LocationVerdict>>, StoreError> {
        let mut out: HashMap<String, Vec<LocationVerdict>> = HashMap::new();
        for pk in partitions {
            let items = self.query(None, pk, true, None).await?;
            // Sort-key order: each location's chunk 0 comes before its other chunks.
            let mut latest: Option<(String, i64, usize)> = None;
            for item in &items {
                let sk = item
                    .get(SK)
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| corrupt(item, "no sort key"))?;
                let (location, index) =
                    split_verdict_sk(sk).ok_or_else(|| corrupt(item, "not a verdict chunk key"))?;
                let at = num_attr(item, AT_ATTR);
                if index == 0 {
                    let chunks = usize::try_from(num_attr(item, CHUNKS_ATTR)).unwrap_or(0);
                    latest = Some((location.to_string(), at, chunks));
                }
                let current = latest
                    .as_ref()
                    .is_some_and(|(l, a, c)| l == location && *a == at && index < *c);
                if !current {
                    continue;
                }
                let text = item
                    .get(VERDICTS_ATTR)
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| corrupt(item, "no verdicts attribute"))?;
                for v in unpack_verdict_chunk(text, location).map_err(|e| corrupt(item, e))? {
                    out.entry(v.target_id.clone()).or_default().push(v);
                }
            }
        }
        for list in out.values_mut() {
            newest_per_location(list);
        }
        Ok(out)
    }

    /// Deletes the chunks `first`, `first + 1` ... of `location` in partition `pk`, upwards
    /// until one did not exist (one write when nothing is left), at most up to [`MAX_CHUNKS`].
    async fn drop_verdict_chunks_from(
        &self,
        pk: &str,
        location: &str,
        first: usize,
    ) -> Result<(), StoreError> {
        for i in first..MAX_CHUNKS {
            let gone = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key_of(pk, verdict_sk(location, i))))
                .return_values(ReturnValue::AllOld)
                .send()
                .await
                .map_err(store_error)?;
            if gone.attributes.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// An UpdateItem of the dead man's switch item of `location`.
    fn location_update(&self, location: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(LOCATION_PK, location)))
            .expression_attribute_names("#seen", LAST_SEEN)
            .expression_attribute_names("#silent", SILENT)
    }
}

/// How long after a re-shard a narrowed view also reads the earlier layout's verdict
/// partitions, ms: every location runs a round of the new layout well within it.
const RESHARD_FALLBACK_MS: i64 = 15 * 60_000;

impl LocationStore for DynamoStore {
    async fn verdicts(
        &self,
        kind: TargetKind,
    ) -> Result<HashMap<String, Vec<LocationVerdict>>, StoreError> {
        self.verdicts_of(&self.verdict_partitions(kind).await?)
            .await
    }

    async fn put_verdicts(
        &self,
        kind: TargetKind,
        location: &str,
        verdicts: &[LocationVerdict],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let texts = pack_verdict_chunks(verdicts)
            .map_err(|e| StoreError::Invalid(format!("verdicts of {location}: {e}")))?;
        if texts.len() > MAX_CHUNKS {
            return Err(StoreError::Invalid(format!(
                "verdicts of {location}: {} chunks, at most {MAX_CHUNKS}",
                texts.len()
            )));
        }
        let pk = verdicts_pk(kind, self.shard);
        let count = texts.len();
        let items = texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                item_of(vec![
                    (PK, s(&pk)),
                    (SK, s(verdict_sk(location, i))),
                    (VERDICTS_ATTR, s(text)),
                    (AT_ATTR, n(at_ms)),
                    (CHUNKS_ATTR, n(count)),
                    (TTL, self.expires_at(at_ms)),
                ])
            })
            .collect();
        self.put_all(items).await?;
        self.drop_verdict_chunks_from(&pk, location, count).await
    }

    async fn heartbeat(&self, location: &str, at_ms: i64) -> Result<bool, StoreError> {
        let sent = self
            .location_update(location)
            .update_expression("SET #seen = :at, #silent = :no")
            .condition_expression("attribute_not_exists(#seen) OR #seen < :at")
            .expression_attribute_values(":at", n(at_ms))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        // The condition fails on a heartbeat no later than the stored one: it changes nothing,
        // and the caller that moved the time forward has answered already.
        Ok(conditional(sent)?
            .and_then(|out| out.attributes)
            .and_then(|old| old.get(SILENT).and_then(|v| v.as_bool().ok()).copied())
            .unwrap_or(false))
    }

    async fn location_health(&self) -> Result<Vec<LocationHealth>, StoreError> {
        let items = self.query(None, LOCATION_PK, true, None).await?;
        items
            .iter()
            .map(|item| {
                let location = item
                    .get(SK)
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| corrupt(item, "no sort key"))?;
                Ok(LocationHealth {
                    location: location.clone(),
                    last_seen: num_attr(item, LAST_SEEN),
                    silent: item
                        .get(SILENT)
                        .and_then(|v| v.as_bool().ok())
                        .copied()
                        .unwrap_or(false),
                })
            })
            .collect()
    }

    async fn mark_silent(&self, location: &str, last_seen: i64) -> Result<bool, StoreError> {
        let not_silent = "(attribute_not_exists(#silent) OR #silent = :no)";
        let update = self
            .location_update(location)
            .expression_attribute_values(":seen", n(last_seen))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false));
        let update = if last_seen == 0 {
            // Never seen: created marked, `last_seen` 0.
            update
                .update_expression("SET #silent = :yes, #seen = if_not_exists(#seen, :seen)")
                .condition_expression(format!(
                    "attribute_not_exists(#seen) OR (#seen = :seen AND {not_silent})"
                ))
        } else {
            update
                .update_expression("SET #silent = :yes")
                .condition_expression(format!("#seen = :seen AND {not_silent}"))
        };
        Ok(conditional(update.send().await)?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::domain::state::Status;

    fn verdict(i: usize, error: Option<String>) -> LocationVerdict {
        LocationVerdict {
            target_id: format!("t{i:05}"),
            location: "eu-west-1".into(),
            status: if error.is_some() {
                Status::Down
            } else {
                Status::Healthy
            },
            since: 1_764_558_000_000,
            at: 1_764_558_060_000 + i as i64,
            latency_ms: Some(120),
            error,
            consecutive_failures: 3,
            consecutive_successes: 0,
        }
    }

    #[test]
    fn verdicts_round_trip_through_chunks_of_bounded_size() {
        let many: Vec<_> = (0..1_001).map(|i| verdict(i, None)).collect();
        let chunks = pack_verdict_chunks(&many).unwrap();
        assert_eq!(chunks.len(), 1_001usize.div_ceil(VERDICT_CHUNK));
        let back: Vec<_> = chunks
            .iter()
            .flat_map(|c| unpack_verdict_chunk(c, "eu-west-1").unwrap())
            .collect();
        assert_eq!(back, many);
        // About 60 bytes a verdict: the location and field names are left out.
        assert!(chunks[0].len() < VERDICT_CHUNK * 70, "{}", chunks[0].len());

        let long = "x".repeat(50_000);
        let errors: Vec<_> = (0..20).map(|i| verdict(i, Some(long.clone()))).collect();
        let chunks = pack_verdict_chunks(&errors).unwrap();
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_BYTES), "bounded");
        assert!(chunks.len() >= 4, "{} chunks", chunks.len());
        let back: Vec<_> = chunks
            .iter()
            .flat_map(|c| unpack_verdict_chunk(c, "eu-west-1").unwrap())
            .collect();
        assert_eq!(back, errors);
    }

    #[test]
    fn no_verdicts_is_one_empty_chunk_and_bad_chunks_are_errors() {
        assert_eq!(pack_verdict_chunks(&[]).unwrap(), vec!["[]".to_string()]);
        for bad in ["{}", "[1]", r#"[["t","nope"]]"#, "not json"] {
            assert!(unpack_verdict_chunk(bad, "l").is_err(), "{bad}");
        }
        assert_eq!(split_verdict_sk("us-east-1#0012"), Some(("us-east-1", 12)));
        assert_eq!(split_verdict_sk("us-east-1"), None);
    }

    #[test]
    fn keys_keep_their_stored_shapes() {
        use lookout_core::domain::Shard;
        assert_eq!(
            verdicts_pk(TargetKind::Server, Shard::WHOLE),
            "VERDICT#server"
        );
        assert_eq!(
            verdicts_pk(TargetKind::Proxy, Shard::new(2, 3).unwrap()),
            "VERDICT#proxy#2of3"
        );
        assert_eq!(verdict_sk("eu-west-1", 3), "eu-west-1#0003");
        assert_eq!(LOCATION_PK, "LOCATION");
    }
}
