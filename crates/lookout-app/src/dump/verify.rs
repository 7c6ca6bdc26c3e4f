//! Checking a dump against its manifest without restoring it: every part's presence, size,
//! SHA-256, item count and lines, each object streamed. A restore runs the same checks first.

use std::io::Write as _;

use flate2::write::GzDecoder;
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{read_manifest, DumpError, Manifest, PartInfo};
use crate::ports::{DumpStore, ObjectStream};

/// An object read as a stream of decompressed lines, hashing its compressed bytes on the way.
pub(super) struct Lines {
    chunks: ObjectStream,
    gz: Option<GzDecoder<Vec<u8>>>,
    hash: Sha256,
    size: u64,
}

impl Lines {
    pub(super) async fn open<D: DumpStore + Sync>(store: &D, key: &str) -> Result<Self, DumpError> {
        Ok(Lines {
            chunks: store.open(key).await?,
            gz: Some(GzDecoder::new(Vec::new())),
            hash: Sha256::new(),
            size: 0,
        })
    }

    /// Reads the next chunk and hands each complete, non-empty line to `line`; `false` once
    /// the object is done.
    pub(super) async fn next<F>(&mut self, mut line: F) -> Result<bool, DumpError>
    where
        F: FnMut(&[u8]) -> Result<(), DumpError>,
    {
        let Some(mut gz) = self.gz.take() else {
            return Ok(false);
        };
        match self.chunks.try_next().await? {
            Some(chunk) => {
                self.hash.update(&chunk);
                self.size += chunk.len() as u64;
                gz.write_all(&chunk)?;
                split_lines(gz.get_mut(), false, &mut line)?;
                self.gz = Some(gz);
                Ok(true)
            }
            None => {
                split_lines(&mut gz.finish()?, true, &mut line)?;
                Ok(false)
            }
        }
    }

    /// SHA-256 (hex) and size of the compressed bytes read.
    pub(super) fn digest(self) -> (String, u64) {
        (hex::encode(self.hash.finalize()), self.size)
    }
}

/// Hands each complete line of `buf` to `line` (and the unterminated rest when `last`), then
/// drops what was handed over.
fn split_lines<F>(buf: &mut Vec<u8>, last: bool, line: &mut F) -> Result<(), DumpError>
where
    F: FnMut(&[u8]) -> Result<(), DumpError>,
{
    let mut start = 0;
    loop {
        let end = match buf[start..].iter().position(|&b| b == b'\n') {
            Some(end) => start + end,
            None if last && start < buf.len() => buf.len(),
            None => break,
        };
        if end > start {
            line(&buf[start..end])?;
        }
        start = (end + 1).min(buf.len());
    }
    buf.drain(..start);
    Ok(())
}

/// One part of a dump as [`verify`] found it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartCheck {
    /// Object key.
    pub key: String,
    /// Whether it matches its manifest entry.
    pub ok: bool,
    /// Items (lines) read; `null` when the object is missing or cannot be decompressed.
    pub items: Option<u64>,
    /// Compressed bytes read; `null` when the object is missing.
    pub bytes: Option<u64>,
    /// SHA-256 of the compressed bytes, hex; `null` when the object is missing.
    pub sha256: Option<String>,
    /// What does not match, starting with the key; absent when `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What [`verify`] found: `ok` when the manifest's totals add up and every part matches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    /// The dump's id.
    pub dump: String,
    /// Whether the dump can be restored as it is.
    pub ok: bool,
    /// Items the manifest says the dump holds.
    pub item_count: u64,
    /// Compressed bytes the manifest says the parts hold.
    pub bytes: u64,
    /// Every part, in the manifest's order.
    pub parts: Vec<PartCheck>,
    /// Every problem found, parts' and totals', in words; empty when `ok`.
    pub problems: Vec<String>,
}

/// Checks one object against its manifest entry: size, SHA-256, item count, and that every
/// line is a JSON object. A missing object or one that cannot be decompressed is a failed
/// check too; only a failure to read the bucket is an error.
async fn verify_part<D: DumpStore + Sync>(
    store: &D,
    part: &PartInfo,
    present: bool,
) -> Result<PartCheck, DumpError> {
    let mut check = PartCheck {
        key: part.key.clone(),
        ok: false,
        items: None,
        bytes: None,
        sha256: None,
        error: None,
    };
    if !present {
        check.error = Some(format!("{}: missing from the bucket", part.key));
        return Ok(check);
    }
    let mut items = 0u64;
    let mut bad_line = None;
    let read: Result<(String, u64), DumpError> = async {
        let mut lines = Lines::open(store, &part.key).await?;
        while lines
            .next(|line| {
                items += 1;
                if bad_line.is_none()
                    && !serde_json::from_slice::<serde_json::Value>(line)
                        .is_ok_and(|v| v.is_object())
                {
                    bad_line = Some(items);
                }
                Ok(())
            })
            .await?
        {}
        Ok(lines.digest())
    }
    .await;
    let (sha, size) = match read {
        Ok(read) => read,
        Err(DumpError::Io(e)) => {
            check.error = Some(format!("{}: cannot be decompressed: {e}", part.key));
            return Ok(check);
        }
        Err(other) => return Err(other),
    };
    check.error = if size != part.bytes || sha != part.sha256 {
        Some(format!(
            "{}: {size} bytes with SHA-256 {sha}, the manifest says {} bytes with {}",
            part.key, part.bytes, part.sha256
        ))
    } else if items != part.items {
        Some(format!(
            "{}: {items} items, the manifest says {}",
            part.key, part.items
        ))
    } else {
        bad_line.map(|n| format!("{}: item {n} is not a JSON object", part.key))
    };
    check.ok = check.error.is_none();
    (check.items, check.bytes, check.sha256) = (Some(items), Some(size), Some(sha));
    Ok(check)
}

/// Checks dump `id` of `table` without restoring it: the manifest's totals, and every part's
/// presence, byte count, SHA-256, item count and lines (4 parts read at once, each streamed).
/// A restore runs the same checks before it writes anything.
///
/// # Errors
/// [`DumpError::NotFound`] when no complete dump has this id, [`DumpError::Corrupt`] when its
/// manifest cannot be read, [`DumpError::Store`] when the bucket cannot be read.
pub async fn verify<D: DumpStore + Sync>(
    store: &D,
    table: &str,
    id: &str,
) -> Result<VerifyReport, DumpError> {
    let manifest: Manifest = read_manifest(store, table, id).await?;
    verify_manifest(store, table, id, &manifest).await
}

pub(super) async fn verify_manifest<D: DumpStore + Sync>(
    store: &D,
    table: &str,
    id: &str,
    manifest: &Manifest,
) -> Result<VerifyReport, DumpError> {
    let mut problems = Vec::new();
    let listed: u64 = manifest.parts.iter().map(|p| p.items).sum();
    if listed != manifest.item_count {
        problems.push(format!(
            "the parts hold {listed} items, the manifest's total is {}",
            manifest.item_count
        ));
    }
    let keys: std::collections::HashSet<String> = store
        .list(&super::folder(table, id))
        .await?
        .into_iter()
        .collect();
    // Owned parts: a stream of futures borrowing from the manifest trips the compiler's
    // higher-ranked lifetime inference once the future is spawned by lambda_http.
    let checks: Vec<_> = manifest
        .parts
        .iter()
        .cloned()
        .map(|part| {
            let present = keys.contains(&part.key);
            async move { verify_part(store, &part, present).await }
        })
        .collect();
    let parts: Vec<PartCheck> = futures::stream::iter(checks)
        .buffered(4)
        .try_collect()
        .await?;
    problems.extend(parts.iter().filter_map(|p| p.error.clone()));
    Ok(VerifyReport {
        dump: id.to_string(),
        ok: problems.is_empty(),
        item_count: manifest.item_count,
        bytes: manifest.bytes,
        parts,
        problems,
    })
}
