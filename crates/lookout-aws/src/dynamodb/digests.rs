//! [`DigestStore`] over the table: rollups `ROLLUP#<id>` / `H#<hour>` or `D#<day>`, digests
//! `DIGEST#<scope>` / `<hour start>` (each with its TTL) and the uptime table `UPTIME#<kind>`
//! in chunks.

use super::item::{from_attr, item_of, s, to_json, ttl_after};
use super::keys::{chunk_sk, digest_pk, ms_key, rollup_pk, rollup_sk, uptime_pk, PK, SK, TTL};
use super::DynamoStore;
use crate::store_error;
use lookout_app::ports::{DigestStore, StoreError, TargetUptime};
use lookout_core::digest::report::{Digest, DIGEST_TTL_DAYS};
use lookout_core::digest::rollup::{Period, Rollup, HOUR_ROLLUP_TTL_DAYS, ROLLUP_TTL_DAYS};
use lookout_core::domain::TargetKind;

/// Targets per `UPTIME#<kind>` item. A target with its four windows and a full 90-day bar is
/// at most about 5.5 KB of JSON (64-character id, six-digit counts; measured by
/// `a_full_uptime_chunk_stays_under_150_kb`). DynamoDB Local refused a chunk of 50 (about
/// 277 KB) as over its item size, so 25 (about 140 KB) keep an item well under the 400 KB limit.
const UPTIME_CHUNK: usize = 25;

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
                    (PK, s(digest_pk(&d.scope))),
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
            .expression_attribute_values(":pk", s(digest_pk(scope)))
            .expression_attribute_values(":b", s(ms_key(before_ms)))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(store_error)?;
        page.items
            .unwrap_or_default()
            .iter()
            .map(|i| from_attr(i, "digest"))
            .collect()
    }

    async fn put_uptime(&self, kind: TargetKind, table: &[TargetUptime]) -> Result<(), StoreError> {
        let pk = uptime_pk(kind);
        let items = table
            .chunks(UPTIME_CHUNK)
            .enumerate()
            .map(|(i, chunk)| {
                Ok(item_of(vec![
                    (PK, s(&pk)),
                    (SK, s(chunk_sk(i))),
                    ("uptime", to_json(&chunk)?),
                ]))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.put_all(items).await?;
        self.drop_chunks_from(&pk, table.len().div_ceil(UPTIME_CHUNK))
            .await
    }

    async fn uptime_table(&self, kind: TargetKind) -> Result<Vec<TargetUptime>, StoreError> {
        let items = self.query(None, &uptime_pk(kind), true, None).await?;
        let mut out = Vec::new();
        for item in &items {
            out.extend(from_attr::<Vec<TargetUptime>>(item, "uptime")?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::digest::rollup::{DayCell, Uptime, BAR_DAYS, DAY_MS};

    /// The largest entry the table can hold: a 64-character id, every window and bar day with
    /// six- and seven-digit counts (a check every second all day is 86,400).
    fn widest_entry(i: usize) -> TargetUptime {
        let start = 1_795_219_200_000_i64;
        TargetUptime {
            target_id: format!("{i:0>64}"),
            windows: ["24h", "7d", "30d", "365d"]
                .iter()
                .map(|w| Uptime {
                    window: (*w).to_string(),
                    since: start - 365 * DAY_MS,
                    checks: 31_536_000,
                    failures: 31_535_999,
                    uptime_percent: Some(1.0 / 3.0),
                })
                .collect(),
            days: (0..BAR_DAYS as i64)
                .map(|d| DayCell {
                    start: start - d * DAY_MS,
                    checks: 86_400,
                    failures: 86_399,
                })
                .collect(),
        }
    }

    #[test]
    fn a_full_uptime_chunk_stays_under_150_kb() {
        let chunk: Vec<TargetUptime> = (0..UPTIME_CHUNK).map(widest_entry).collect();
        let item = item_of(vec![
            (PK, s(uptime_pk(TargetKind::Server))),
            (SK, s(chunk_sk(999))),
            ("uptime", to_json(&chunk).unwrap()),
        ]);
        // DynamoDB counts attribute names and values in UTF-8 bytes.
        let bytes: usize = item
            .iter()
            .map(|(k, v)| k.len() + v.as_s().map(String::len).unwrap_or(0))
            .sum();
        assert!(bytes < 150_000, "a full chunk is {bytes} bytes");
        assert!(bytes > 100_000, "the chunk could be larger: {bytes} bytes");
    }
}
