//! Restoring a dump: every object is checked against the manifest before anything is written,
//! the table is created from the manifest when it does not exist, items go in batches (as many
//! as the target takes at once, [`RestoreTarget::batch_limit`]; several batches in flight) and
//! unprocessed items are sent again with the [`crate::retry`] policy until all are written or
//! the restore stops with an error that says how many were not. The item count is verified at
//! the end.

use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::verify::{verify_manifest, Lines};
use super::{read_manifest, DumpError, Manifest, PartInfo};
use crate::ports::{DumpStore, Item, RestoreTarget};
use crate::retry::{retry_policy, until_all_done, Sent};

/// What to do with a table that already holds items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreMode {
    /// Write every item of the dump over whatever is there (items not in the dump stay).
    Upsert,
    /// Refuse unless the table is new or empty (the default: a restore never overwrites by
    /// accident).
    #[default]
    EmptyOnly,
}

/// How to restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The table to write to; created from the manifest when it does not exist.
    pub table: String,
    /// [`RestoreMode`].
    pub mode: RestoreMode,
    /// Batches in flight at once.
    pub concurrency: usize,
    /// Attempts per batch before the restore stops (unprocessed items and backend errors both
    /// count).
    pub max_attempts: u32,
    /// Base of the backoff between attempts, ms: `base × 2^(n-1) × [0.5, 1]` (equal jitter, AWS
    /// Architecture Blog, "Exponential Backoff And Jitter", 2015), at most 5 s.
    pub backoff_ms: u64,
}

impl RestoreOptions {
    /// Defaults for `table`: empty-only, 8 batches in flight, 10 attempts, 50 ms backoff base.
    pub fn new(table: impl Into<String>) -> Self {
        RestoreOptions {
            table: table.into(),
            mode: RestoreMode::default(),
            concurrency: 8,
            max_attempts: 10,
            backoff_ms: 50,
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreReport {
    /// The dump's id.
    pub dump: String,
    /// The table written to.
    pub table: String,
    /// Whether the table was created from the manifest.
    pub created: bool,
    /// Items written (the manifest's count).
    pub items_written: u64,
    /// BatchWriteItem requests sent, retries included.
    pub requests: u64,
    /// Items sent again because the backend left them unprocessed or failed.
    pub retried_items: u64,
    /// Items in the table afterwards (a full count).
    pub table_items: u64,
    /// Wall time, ms.
    pub elapsed_ms: u64,
}

fn corrupt(manifest_id: &str, message: String) -> DumpError {
    DumpError::Corrupt {
        dump: manifest_id.to_string(),
        message,
    }
}

/// Writes one batch, sending unprocessed items again (and the batch again after an error)
/// with the [`crate::retry`] policy: `backoff_ms` doubling, at most 5 s, `max_attempts`.
async fn write_batch<R: RestoreTarget + Sync>(
    target: &R,
    options: &RestoreOptions,
    items: Vec<Item>,
) -> Result<Sent, DumpError> {
    let policy = retry_policy(
        Duration::from_millis(options.backoff_ms),
        Duration::from_secs(5),
        options.max_attempts.max(1),
    );
    let retry_any = |_: &crate::ports::StoreError| true;
    until_all_done(policy, items, retry_any, |items| async move {
        target.write_batch(&options.table, &items).await
    })
    .await
    .map_err(|left| DumpError::Incomplete {
        table: options.table.clone(),
        not_written: left.items.len(),
        attempts: left.attempts,
        last_error: left.last_error,
    })
}

/// Adds one batch's counts to the restore's.
fn add(tally: &mut Sent, done: Sent) {
    tally.requests += done.requests;
    tally.retried += done.retried;
}

/// Streams one object into the table, `concurrency` batches in flight.
async fn write_part<D, R>(
    store: &D,
    target: &R,
    options: &RestoreOptions,
    part: &PartInfo,
    tally: &mut Sent,
) -> Result<(), DumpError>
where
    D: DumpStore + Sync,
    R: RestoreTarget + Sync,
{
    // Lines are parsed as they arrive; full batches queue here until a slot is free.
    let limit = target.batch_limit().max(1);
    let mut ready: Vec<Vec<Item>> = Vec::new();
    let mut batch = Vec::with_capacity(limit);
    let mut lines = Lines::open(store, &part.key).await?;
    let mut in_flight = FuturesUnordered::new();
    loop {
        let more = lines
            .next(|line| {
                batch.push(serde_json::from_slice(line).map_err(std::io::Error::other)?);
                if batch.len() == limit {
                    ready.push(std::mem::replace(&mut batch, Vec::with_capacity(limit)));
                }
                Ok(())
            })
            .await?;
        if !more && !batch.is_empty() {
            ready.push(std::mem::take(&mut batch));
        }
        for items in ready.drain(..) {
            if in_flight.len() >= options.concurrency.max(1) {
                if let Some(done) = in_flight.next().await {
                    add(tally, done?);
                }
            }
            in_flight.push(write_batch(target, options, items));
        }
        if !more {
            break;
        }
    }
    while let Some(done) = in_flight.next().await {
        add(tally, done?);
    }
    Ok(())
}

/// Restores dump `id` of `source_table` into `options.table`.
///
/// # Errors
/// - [`DumpError::NotFound`]: no complete dump has this id.
/// - [`DumpError::Corrupt`]: a part does not match the manifest; nothing was written.
/// - [`DumpError::Refused`]: `empty-only` and the table holds items, or the table's keys are
///   not the dump's.
/// - [`DumpError::Incomplete`]: a batch could not be written after every attempt; the items
///   written so far stay (upsert again once the cause is gone).
/// - [`DumpError::Store`]: reading the bucket or creating the table failed.
pub async fn restore<D, R>(
    store: &D,
    target: &R,
    source_table: &str,
    id: &str,
    options: &RestoreOptions,
) -> Result<RestoreReport, DumpError>
where
    D: DumpStore + Sync,
    R: RestoreTarget + Sync,
{
    let started = std::time::Instant::now();
    check_table_name(&options.table)?;
    let manifest: Manifest = read_manifest(store, source_table, id).await?;
    let checked = verify_manifest(store, source_table, id, &manifest).await?;
    if let Some(problem) = checked.problems.into_iter().next() {
        return Err(corrupt(id, problem));
    }

    let created = match target.describe(&options.table).await? {
        None => {
            target.create(&options.table, &manifest.schema()).await?;
            true
        }
        Some(existing) => {
            let names = |keys: &[crate::ports::KeyAttribute]| {
                keys.iter()
                    .map(|k| format!("{}:{}", k.role, k.name))
                    .collect::<Vec<_>>()
            };
            if names(&existing.key_schema) != names(&manifest.key_schema) {
                return Err(DumpError::Refused(format!(
                    "table {} has keys {:?}, the dump has {:?}",
                    options.table,
                    names(&existing.key_schema),
                    names(&manifest.key_schema)
                )));
            }
            if options.mode == RestoreMode::EmptyOnly && !target.is_empty(&options.table).await? {
                return Err(DumpError::Refused(format!(
                    "table {} is not empty; restore with mode upsert to write over it, or into a new table",
                    options.table
                )));
            }
            false
        }
    };

    let mut tally = Sent::default();
    for part in &manifest.parts {
        write_part(store, target, options, part, &mut tally).await?;
    }
    let table_items = target.count(&options.table).await?;
    let fresh = created || options.mode == RestoreMode::EmptyOnly;
    if table_items < manifest.item_count || (fresh && table_items != manifest.item_count) {
        return Err(DumpError::Incomplete {
            table: options.table.clone(),
            not_written: manifest.item_count.saturating_sub(table_items) as usize,
            attempts: 1,
            last_error: format!(
                "the table holds {table_items} items after the restore, the dump {}",
                manifest.item_count
            ),
        });
    }
    Ok(RestoreReport {
        dump: id.to_string(),
        table: options.table.clone(),
        created,
        items_written: manifest.item_count,
        requests: tally.requests,
        retried_items: tally.retried,
        table_items,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// DynamoDB's table name rule: 3 to 255 of `[A-Za-z0-9_.-]`.
///
/// # Errors
/// [`DumpError::Refused`] naming the rule.
pub fn check_table_name(name: &str) -> Result<(), DumpError> {
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(DumpError::Refused(format!(
            "table name {:?} must be 3 to 255 characters of A-Z, a-z, 0-9, _, . and -",
            name.chars().take(60).collect::<String>()
        )))
    }
}
