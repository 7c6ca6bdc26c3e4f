//! Check results as JSON Lines: the walk over a window of history an hour at a time (what the
//! API's `?format=jsonl` streams) and the daily export of a day's results to object storage.
//!
//! Layout of an export: `results/<day>.jsonl.gz` (gzip'd JSON Lines, one result a line, ordered
//! by time then target id; each line a [`ResultLine`]) and `results/<day>.manifest.json` (a
//! [`ResultsManifest`], format [`RESULTS_FORMAT`]), written after the object. The day is a UTC
//! day, `YYYY-MM-DD`; its results are those of the probe runs recorded from 00:00:00.000 to
//! 23:59:59.999 UTC. A rerun for the same day overwrites both objects with the same results
//! (the gzip stream is deterministic: no file name, modification time 0), so it is idempotent; a
//! day without results gives an empty object (a gzip stream of no line) and a count of 0.
//!
//! Memory stays bounded: one hour of history (every target of every kind) and one part of
//! compressed bytes at a time; the object goes up with multipart upload when it outgrows a part
//! ([`super::PART_BYTES`]), as the dumps do.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::write::ObjectWriter;
use super::{DumpError, PART_BYTES};
use crate::ports::{DumpStore, HistoryStore, Item, StoreError, SummaryStore};
use lookout_core::domain::{CheckResult, TargetKind};
use lookout_core::time::{DAY_MS, HOUR_MS};

#[cfg(test)]
mod tests;

/// Format name written in every results manifest.
pub const RESULTS_FORMAT: &str = "lookout-results/1";

/// One line of the JSON Lines answer and export: every field of the result as the JSON answer
/// of `GET /v1/results` gives it (`target_id`, `kind`, `at` in epoch ms, `outcome`,
/// `latency_ms`, ...) plus `target` (the target's id again, the name other tools expect). The
/// `message` is passed through [`lookout_core::redact::redact_text`] once more, so a URL with
/// credentials never reaches a line even if a result was stored unredacted.
#[derive(Debug, Clone, Serialize)]
pub struct ResultLine<'a> {
    /// The target's id.
    pub target: &'a str,
    /// The result, its message redacted.
    #[serde(flatten)]
    pub result: Cow<'a, CheckResult>,
}

impl<'a> ResultLine<'a> {
    /// The line of `result`.
    pub fn new(result: &'a CheckResult) -> Self {
        let redacted = result
            .message
            .as_deref()
            .map(lookout_core::redact::redact_text)
            .filter(|m| Some(m.as_str()) != result.message.as_deref());
        ResultLine {
            target: &result.target_id,
            result: match redacted {
                Some(message) => Cow::Owned(CheckResult {
                    message: Some(message),
                    ..result.clone()
                }),
                None => Cow::Borrowed(result),
            },
        }
    }
}

/// The order of the JSON answer and of every JSON Lines output: by time, then target id.
fn order(a: &CheckResult, b: &CheckResult) -> std::cmp::Ordering {
    (a.at, &a.target_id).cmp(&(b.at, &b.target_id))
}

/// Walks the results of some kinds from `since_ms` to `until_ms` (epoch ms, inclusive) one
/// hour of history at a time, in the order of the JSON answer (time, then target id), so that
/// at most an hour of results is in memory. The store reads history by run time; a result
/// whose own time falls after the hour read is held back and merged into the next hour, so
/// the order holds across hours.
#[derive(Debug, Clone)]
pub struct ResultWalk {
    /// The kinds to read, each with its number of targets ([`HistoryStore::history`] reads
    /// chunks of 100 of them).
    kinds: Vec<(TargetKind, usize)>,
    /// Start of the next hour to read, epoch ms.
    next_ms: i64,
    /// End of the window, epoch ms, inclusive.
    until_ms: i64,
    /// Results read but later than the hour they were read with.
    carry: Vec<CheckResult>,
}

impl ResultWalk {
    /// A walk over `kinds` (each with its target count) from `since_ms` to `until_ms`.
    pub fn new(kinds: Vec<(TargetKind, usize)>, since_ms: i64, until_ms: i64) -> Self {
        ResultWalk {
            kinds,
            next_ms: since_ms,
            until_ms,
            carry: Vec::new(),
        }
    }

    /// The next hour's results, ordered (possibly none), or `None` when the window is done.
    ///
    /// # Errors
    /// The store's [`StoreError`]; the walk can be asked again (it reads the same hour).
    pub async fn next<H: HistoryStore + Sync>(
        &mut self,
        store: &H,
    ) -> Result<Option<Vec<CheckResult>>, StoreError> {
        if self.next_ms > self.until_ms {
            return Ok((!self.carry.is_empty()).then(|| std::mem::take(&mut self.carry)));
        }
        let from = self.next_ms;
        let to = ((from.div_euclid(HOUR_MS) + 1) * HOUR_MS - 1).min(self.until_ms);
        let mut batch = Vec::new();
        for (kind, targets) in &self.kinds {
            batch.extend(store.history(*kind, from, to, *targets).await?);
        }
        batch.append(&mut self.carry);
        batch.sort_by(order);
        self.next_ms = to + 1;
        if self.next_ms <= self.until_ms {
            let keep = batch.partition_point(|r| r.at <= to);
            self.carry = batch.split_off(keep);
        }
        Ok(Some(batch))
    }
}

/// Every kind with its number of targets from the summaries the probe rounds write (one read,
/// and no definition to unseal): what a [`ResultWalk`] over a day needs. A kind without a
/// summary counts 1 (its first history chunk is read). The count is today's: a kind that had
/// more than 100 targets more on the day exported than now may miss its last chunks.
///
/// # Errors
/// The store's [`StoreError`].
pub async fn kinds_of<S: SummaryStore + Sync>(
    store: &S,
) -> Result<Vec<(TargetKind, usize)>, StoreError> {
    let summaries = store.summaries().await?;
    Ok(TargetKind::ALL
        .iter()
        .map(|k| {
            let n = summaries
                .iter()
                .filter(|s| s.kind == *k)
                .map(|s| s.targets)
                .max();
            (*k, n.unwrap_or(1).max(1))
        })
        .collect())
}

/// `results/<day>.manifest.json` of a day's export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultsManifest {
    /// Format name and version: [`RESULTS_FORMAT`].
    pub format: String,
    /// The UTC day exported, `YYYY-MM-DD`.
    pub day: String,
    /// Key of the results object, `results/<day>.jsonl.gz`.
    pub key: String,
    /// Results (lines) in the object.
    pub count: u64,
    /// Size of the gzip'd object, bytes.
    pub bytes: u64,
    /// SHA-256 of the gzip'd object, hex.
    pub sha256: String,
    /// When the export was written, RFC 3339.
    pub created_at: String,
}

/// Key of the results object of `day`.
pub fn results_key(day: &str) -> String {
    format!("results/{day}.jsonl.gz")
}

/// Key of the manifest of `day`.
pub fn manifest_key(day: &str) -> String {
    format!("results/{day}.manifest.json")
}

/// The day an export defaults to: yesterday (UTC) of `now_ms`, `YYYY-MM-DD`.
pub fn default_day(now_ms: i64) -> String {
    lookout_core::time::day(now_ms - DAY_MS)
}

/// The start (epoch ms, UTC midnight) of `day`, `YYYY-MM-DD`.
///
/// # Errors
/// [`DumpError::Refused`] naming `day` and the expected shape.
pub fn parse_day(day: &str) -> Result<i64, DumpError> {
    let refused = || {
        DumpError::Refused(format!(
            "day {:?} is not a date of the form YYYY-MM-DD",
            day.chars().take(40).collect::<String>()
        ))
    };
    let b = day.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(refused());
    }
    let start = lookout_core::time::parse_compact(&format!("{}T000000Z", day.replace('-', "")))
        .ok_or_else(refused)?;
    if lookout_core::time::day(start) != day {
        return Err(refused());
    }
    Ok(start)
}

/// Exports the results of `day` (UTC, `YYYY-MM-DD`) from `source` to `store`:
/// `results/<day>.jsonl.gz`, then `results/<day>.manifest.json` (see the module's doc). `now_ms`
/// is the manifest's `created_at`; `part_bytes` the compressed bytes per multipart part
/// ([`PART_BYTES`] but in tests).
///
/// # Errors
/// [`DumpError::Refused`] for a day that is not `YYYY-MM-DD`; [`DumpError::Store`] when reading
/// the history or writing an object fails. An open multipart upload is aborted then, and no
/// manifest is written: a previous export of the day stays whole, or the object was replaced
/// and the old manifest no longer matches it, until the rerun.
pub async fn export_results<S, D>(
    source: &S,
    store: &D,
    day: &str,
    now_ms: i64,
    part_bytes: usize,
) -> Result<ResultsManifest, DumpError>
where
    S: SummaryStore + HistoryStore + Sync,
    D: DumpStore + Sync,
{
    let start = parse_day(day)?;
    let kinds = kinds_of(source).await?;
    keep_an_export_the_history_no_longer_has(source, store, day, start, &kinds).await?;
    let key = results_key(day);
    let mut out = ObjectWriter::new(store, key.clone(), part_bytes.max(1));
    let written: Result<(), DumpError> = async {
        let mut walk = ResultWalk::new(kinds, start, start + DAY_MS - 1);
        while let Some(hour) = walk.next(source).await? {
            for r in &hour {
                let line =
                    serde_json::to_value(ResultLine::new(r)).map_err(std::io::Error::other)?;
                out.write(&Item(line)).await?;
            }
        }
        Ok(())
    }
    .await;
    let part = match written {
        Ok(()) => out.finish().await?,
        Err(e) => {
            out.abort().await;
            return Err(e);
        }
    };
    let manifest = ResultsManifest {
        format: RESULTS_FORMAT.into(),
        day: day.to_string(),
        key,
        count: part.items,
        bytes: part.bytes,
        sha256: part.sha256,
        created_at: lookout_core::time::rfc3339(now_ms),
    };
    let body = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    let sha = super::write::b64(&Sha256::digest(&body));
    store
        .put(&manifest_key(day), body, "application/json", &sha)
        .await?;
    tracing::info!(%day, count = manifest.count, bytes = manifest.bytes, "results exported");
    Ok(manifest)
}

/// Refuses to replace an export of `day` that holds results when the history holds none of that
/// day any more (its TTL, `LOOKOUT_HISTORY_TTL_DAYS`, ran out): exporting again would overwrite
/// the only copy with an empty one. One hour's read at most when the history still has them.
async fn keep_an_export_the_history_no_longer_has<S, D>(
    source: &S,
    store: &D,
    day: &str,
    start: i64,
    kinds: &[(TargetKind, usize)],
) -> Result<(), DumpError>
where
    S: HistoryStore + Sync,
    D: DumpStore + Sync,
{
    let Some(old) = store.get(&manifest_key(day)).await? else {
        return Ok(());
    };
    let Ok(old) = serde_json::from_slice::<ResultsManifest>(&old) else {
        return Ok(());
    };
    if old.count == 0 {
        return Ok(());
    }
    let mut walk = ResultWalk::new(kinds.to_vec(), start, start + DAY_MS - 1);
    while let Some(hour) = walk.next(source).await? {
        if !hour.is_empty() {
            return Ok(());
        }
    }
    Err(DumpError::Refused(format!(
        "day {day}: the history holds no results of it any more (expired); the export made at \
         {} with {} results is kept",
        old.created_at, old.count
    )))
}

/// [`export_results`] with parts of [`PART_BYTES`].
///
/// # Errors
/// See [`export_results`].
pub async fn export_day<S, D>(
    source: &S,
    store: &D,
    day: &str,
    now_ms: i64,
) -> Result<ResultsManifest, DumpError>
where
    S: SummaryStore + HistoryStore + Sync,
    D: DumpStore + Sync,
{
    export_results(source, store, day, now_ms, PART_BYTES).await
}
