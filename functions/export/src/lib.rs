//! The export function: dumps the table to S3 and applies retention.
//!
//! Layout: `dumps/<table>/<YYYYMMDDTHHMMSSZ>/part-NNNNN.jsonl.gz` (gzip'd JSON Lines, one item per
//! line in DynamoDB attribute-value JSON so types survive) and `manifest.json`, written last: a
//! dump without a manifest is incomplete. Segments of a parallel scan are read concurrently; a
//! part is cut when its compressed size passes [`PART_BYTES`].
//!
//! Retention keeps dumps younger than `RETENTION_DAYS` and at most `MAX_DUMPS` of them (newest
//! first); the dump just written is always kept.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;
use lookout::ports::{DumpStore, StoreError, TableScan};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Compressed size at which a part is closed and uploaded (8 MiB).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the table or writing the bucket failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Compressing failed (out of memory, in practice).
    #[error("compressing a part: {0}")]
    Compress(#[from] std::io::Error),
}

impl From<ExportError> for lambda_runtime::Diagnostic {
    fn from(e: ExportError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "ExportError".into(),
            error_message: e.to_string(),
        }
    }
}

/// One part of a dump, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartInfo {
    /// Object key.
    pub key: String,
    /// Items in the part.
    pub items: u64,
    /// Compressed size, bytes.
    pub bytes: u64,
    /// SHA-256 of the compressed object, hex.
    pub sha256: String,
}

/// `manifest.json` of a dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format name and version: `lookout-dump/1`.
    pub format: String,
    /// The table dumped.
    pub table: String,
    /// Key attributes: `[{"name":"pk","type":"S","role":"HASH"},{"name":"sk","type":"S","role":"RANGE"}]`.
    pub key_schema: Vec<BTreeMap<String, String>>,
    /// TTL attribute, epoch seconds.
    pub ttl_attribute: String,
    /// Scan segments used.
    pub segments: u32,
    /// Start and end, RFC 3339.
    pub started_at: String,
    /// End, RFC 3339.
    pub finished_at: String,
    /// Items in all parts.
    pub item_count: u64,
    /// Compressed bytes in all parts.
    pub bytes: u64,
    /// The parts, by key.
    pub parts: Vec<PartInfo>,
}

/// What one invocation did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// Folder of the new dump: `dumps/<table>/<stamp>/`.
    pub dump: String,
    /// Its manifest.
    pub manifest: Manifest,
    /// Folders of the dumps deleted by retention.
    pub deleted: Vec<String>,
}

/// Folder of all dumps of `table`.
pub fn dumps_prefix(table: &str) -> String {
    format!("dumps/{table}/")
}

async fn upload_part<D: DumpStore>(
    dumps: &D,
    key: String,
    gz: GzEncoder<Vec<u8>>,
    items: u64,
) -> Result<PartInfo, ExportError> {
    let body = gz.finish()?;
    let digest = Sha256::digest(&body);
    let info = PartInfo {
        key,
        items,
        bytes: body.len() as u64,
        sha256: hex::encode(digest),
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    dumps.put(&info.key, body, "application/gzip", &b64).await?;
    Ok(info)
}

/// Dumps one scan segment into parts numbered `segment * 1000 + n`.
async fn dump_segment<T: TableScan, D: DumpStore>(
    table: &T,
    dumps: &D,
    folder: &str,
    segment: u32,
    segments: u32,
) -> Result<Vec<PartInfo>, ExportError> {
    let mut parts = Vec::new();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut items = 0u64;
    let mut start = None;
    loop {
        let page = table.scan_page(segment, segments, start.take()).await?;
        for item in &page.items {
            serde_json::to_writer(&mut gz, item).map_err(std::io::Error::other)?;
            gz.write_all(b"\n")?;
            items += 1;
        }
        if gz.get_ref().len() >= PART_BYTES {
            let key = format!(
                "{folder}part-{:05}.jsonl.gz",
                segment * 1000 + parts.len() as u32
            );
            let full =
                std::mem::replace(&mut gz, GzEncoder::new(Vec::new(), Compression::default()));
            parts.push(upload_part(dumps, key, full, items).await?);
            items = 0;
        }
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    if items > 0 || parts.is_empty() {
        let key = format!(
            "{folder}part-{:05}.jsonl.gz",
            segment * 1000 + parts.len() as u32
        );
        parts.push(upload_part(dumps, key, gz, items).await?);
    }
    Ok(parts)
}

/// Dumps the whole table and writes the manifest last.
///
/// # Errors
/// [`ExportError`] when a scan page or an upload fails; no manifest is written then, so the
/// partial dump is recognisably incomplete.
pub async fn export<T, D>(
    table: &T,
    dumps: &D,
    segments: u32,
    now_ms: i64,
) -> Result<(String, Manifest), ExportError>
where
    T: TableScan + Sync,
    D: DumpStore + Sync,
{
    let segments = segments.max(1);
    let folder = format!(
        "{}{}/",
        dumps_prefix(table.table_name()),
        lookout::time::compact(now_ms)
    );
    let per_segment = (0..segments).map(|s| dump_segment(table, dumps, &folder, s, segments));
    let mut parts: Vec<PartInfo> = futures::future::try_join_all(per_segment)
        .await?
        .into_iter()
        .flatten()
        .collect();
    parts.sort_by(|a, b| a.key.cmp(&b.key));
    let role = |name: &str, role: &str| {
        BTreeMap::from([
            ("name".to_string(), name.to_string()),
            ("type".into(), "S".into()),
            ("role".into(), role.into()),
        ])
    };
    let manifest = Manifest {
        format: "lookout-dump/1".into(),
        table: table.table_name().to_string(),
        key_schema: vec![
            role(lookout::adapters::dynamodb::PK, "HASH"),
            role(lookout::adapters::dynamodb::SK, "RANGE"),
        ],
        ttl_attribute: lookout::adapters::dynamodb::TTL.into(),
        segments,
        started_at: lookout::time::rfc3339(now_ms),
        finished_at: lookout::time::rfc3339(lookout::time::now_ms()),
        item_count: parts.iter().map(|p| p.items).sum(),
        bytes: parts.iter().map(|p| p.bytes).sum(),
        parts,
    };
    let body = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body));
    dumps
        .put(
            &format!("{folder}manifest.json"),
            body,
            "application/json",
            &b64,
        )
        .await?;
    Ok((folder, manifest))
}

/// Deletes complete dumps of `table` older than `retention_days` or beyond the newest
/// `max_dumps` (the newest complete dump is always kept), and incomplete ones (no manifest)
/// older than a day. Returns the deleted folders.
///
/// # Errors
/// [`ExportError::Store`] when listing or deleting fails.
pub async fn apply_retention<D: DumpStore>(
    dumps: &D,
    table: &str,
    now_ms: i64,
    retention_days: u32,
    max_dumps: usize,
) -> Result<Vec<String>, ExportError> {
    let prefix = dumps_prefix(table);
    let mut by_folder: BTreeMap<String, (i64, Vec<String>)> = BTreeMap::new();
    for key in dumps.list(&prefix).await? {
        let Some(stamp) = key[prefix.len()..].split('/').next() else {
            continue;
        };
        let Some(at) = lookout::time::parse_compact(stamp) else {
            continue;
        };
        by_folder
            .entry(format!("{prefix}{stamp}/"))
            .or_insert((at, Vec::new()))
            .1
            .push(key);
    }
    let complete = |keys: &[String]| keys.iter().any(|k| k.ends_with("/manifest.json"));
    // Complete dumps (with a manifest), newest first, are what the limits count. A folder with no
    // manifest is a failed export: kept one day (it may still be being written), then deleted.
    let mut folders: Vec<(String, (i64, Vec<String>))> = by_folder.into_iter().collect();
    folders.sort_by_key(|(_, (at, _))| std::cmp::Reverse(*at));
    let cutoff = now_ms - i64::from(retention_days) * 86_400_000;
    let mut deleted = Vec::new();
    let mut kept = 0;
    for (folder, (at, keys)) in folders {
        let drop = if complete(&keys) {
            kept += 1;
            kept > 1 && (kept > max_dumps || at < cutoff)
        } else {
            at < now_ms - 86_400_000
        };
        if drop {
            dumps.delete(&keys).await?;
            deleted.push(folder);
        }
    }
    Ok(deleted)
}

/// The production wiring: the table and the bucket, built once per cold start.
pub struct Deps {
    /// Table adapter.
    pub table: lookout::adapters::dynamodb::DynamoStore,
    /// Bucket adapter.
    pub dumps: lookout::adapters::s3::S3DumpStore,
    /// Settings (segments, retention).
    pub settings: lookout::config::Settings,
}

impl Deps {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout::config::Settings::from_env()?;
        let aws = aws_config::load_from_env().await;
        let s3 = lookout::adapters::s3::client(&aws);
        Ok(Deps {
            table: lookout::adapters::dynamodb::DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&aws),
                &settings.table,
                settings.history_ttl_days,
            ),
            dumps: lookout::adapters::s3::S3DumpStore::new(s3, settings.require_bucket()?),
            settings,
        })
    }

    /// Exports, then applies retention.
    ///
    /// # Errors
    /// See [`export`] and [`apply_retention`].
    pub async fn handle(&self) -> Result<ExportReport, ExportError> {
        let now = lookout::time::now_ms();
        let (dump, manifest) =
            export(&self.table, &self.dumps, self.settings.dump_segments, now).await?;
        tracing::info!(%dump, items = manifest.item_count, bytes = manifest.bytes, "dump written");
        let deleted = apply_retention(
            &self.dumps,
            &self.settings.table,
            now,
            self.settings.retention_days,
            self.settings.max_dumps,
        )
        .await?;
        Ok(ExportReport {
            dump,
            manifest,
            deleted,
        })
    }
}
