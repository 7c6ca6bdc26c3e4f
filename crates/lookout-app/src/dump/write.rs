//! Writing a dump: a parallel scan, one gzip'd JSON Lines object per segment sent in parts of
//! [`PART_BYTES`](super::PART_BYTES) with S3 multipart upload, and the manifest last.

use std::collections::BTreeMap;
use std::io::Write as _;

use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

use super::{folder, DumpError, Include, ItemType, Manifest, PartInfo, FORMAT, PART_BYTES};
use crate::ports::{DumpStore, Item, TableScan, UploadedPart};

/// How to dump.
#[derive(Debug, Clone)]
pub struct DumpOptions {
    /// Parallel scan segments, one object each (`DUMP_SEGMENTS`, 1 to 64).
    pub segments: u32,
    /// Item types to keep (`DUMP_INCLUDE`).
    pub include: Include,
    /// Compressed bytes per multipart part ([`PART_BYTES`]; tests lower it, S3 refuses parts
    /// under 5 MiB but the last).
    pub part_bytes: usize,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            segments: 2,
            include: Include::default(),
            part_bytes: PART_BYTES,
        }
    }
}

pub(super) fn b64(digest: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// One object being written: the compressed bytes not yet sent, the hash of the whole object,
/// and the multipart upload once the object outgrows one part.
pub(super) struct ObjectWriter<'a, D> {
    store: &'a D,
    key: String,
    part_bytes: usize,
    gz: GzEncoder<Vec<u8>>,
    whole: Sha256,
    upload: Option<String>,
    parts: Vec<UploadedPart>,
    items: u64,
    bytes: u64,
}

impl<'a, D: DumpStore + Sync> ObjectWriter<'a, D> {
    pub(super) fn new(store: &'a D, key: String, part_bytes: usize) -> Self {
        ObjectWriter {
            store,
            key,
            part_bytes,
            gz: GzEncoder::new(Vec::with_capacity(part_bytes / 4), Compression::fast()),
            whole: Sha256::new(),
            upload: None,
            parts: Vec::new(),
            items: 0,
            bytes: 0,
        }
    }

    pub(super) async fn write(&mut self, item: &Item) -> Result<(), DumpError> {
        serde_json::to_writer(&mut self.gz, item).map_err(std::io::Error::other)?;
        self.gz.write_all(b"\n")?;
        self.items += 1;
        if self.gz.get_ref().len() >= self.part_bytes {
            let chunk = std::mem::take(self.gz.get_mut());
            self.send_part(chunk).await?;
        }
        Ok(())
    }

    async fn send_part(&mut self, chunk: Vec<u8>) -> Result<(), DumpError> {
        self.whole.update(&chunk);
        self.bytes += chunk.len() as u64;
        let upload = match &self.upload {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .store
                    .start_upload(&self.key, "application/gzip")
                    .await?;
                self.upload = Some(id.clone());
                id
            }
        };
        let sha = b64(&Sha256::digest(&chunk));
        let number = self.parts.len() as i32 + 1;
        let part = self
            .store
            .upload_part(&self.key, &upload, number, chunk, &sha)
            .await?;
        self.parts.push(part);
        Ok(())
    }

    /// Sends what is left and completes the object: one `PutObject` when it fits in one part.
    pub(super) async fn finish(mut self) -> Result<PartInfo, DumpError> {
        let gz = std::mem::replace(
            &mut self.gz,
            GzEncoder::new(Vec::new(), Compression::fast()),
        );
        let rest = gz.finish()?;
        match self.upload.clone() {
            None => {
                self.whole.update(&rest);
                self.bytes += rest.len() as u64;
                let digest = self.whole.clone().finalize();
                self.store
                    .put(&self.key, rest, "application/gzip", &b64(&digest))
                    .await?;
            }
            Some(upload) => {
                if !rest.is_empty() {
                    self.send_part(rest).await?;
                }
                self.store
                    .finish_upload(&self.key, &upload, &self.parts)
                    .await?;
                self.upload = None;
            }
        }
        Ok(PartInfo {
            key: self.key.clone(),
            items: self.items,
            bytes: self.bytes,
            sha256: hex::encode(self.whole.clone().finalize()),
        })
    }

    /// Frees the parts of an upload that will not be completed (best effort: S3's lifecycle
    /// rule aborts forgotten uploads after a day).
    pub(super) async fn abort(&mut self) {
        if let Some(upload) = self.upload.take() {
            if let Err(e) = self.store.abort_upload(&self.key, &upload).await {
                tracing::warn!(key = %self.key, error = %e, "aborting a multipart upload failed");
            }
        }
    }
}

/// Dumps one scan segment into object `part-<segment>.jsonl.gz`; returns it with its counts
/// per item type.
async fn dump_segment<T, D>(
    table: &T,
    store: &D,
    folder: &str,
    segment: u32,
    options: &DumpOptions,
) -> Result<(PartInfo, BTreeMap<ItemType, u64>), DumpError>
where
    T: TableScan + Sync,
    D: DumpStore + Sync,
{
    let key = format!("{folder}part-{segment:05}.jsonl.gz");
    let mut out = ObjectWriter::new(store, key, options.part_bytes.max(1));
    let mut counts = BTreeMap::new();
    let result: Result<(), DumpError> = async {
        let mut start = None;
        loop {
            let page = table
                .scan_page(segment, options.segments, start.take())
                .await?;
            for item in &page.items {
                let kind = table.item_type(item);
                if options.include.contains(kind) {
                    out.write(item).await?;
                    *counts.entry(kind).or_insert(0) += 1;
                }
            }
            match page.next {
                Some(next) => start = Some(next),
                None => return Ok(()),
            }
        }
    }
    .await;
    match result {
        Ok(()) => Ok((out.finish().await?, counts)),
        Err(e) => {
            out.abort().await;
            Err(e)
        }
    }
}

/// Dumps `table` into `dumps/<table>/<id>/`, the id being `now_ms` as `YYYYMMDDTHHMMSSZ`, and
/// writes the manifest last.
///
/// # Errors
/// [`DumpError`] when the schema, a scan page or an upload fails. No manifest is written then,
/// so the partial dump is recognisably incomplete (and open multipart uploads are aborted).
pub async fn dump<T, D>(
    table: &T,
    store: &D,
    options: &DumpOptions,
    now_ms: i64,
) -> Result<Manifest, DumpError>
where
    T: TableScan + Sync,
    D: DumpStore + Sync,
{
    let options = DumpOptions {
        segments: options.segments.clamp(1, 64),
        ..options.clone()
    };
    let schema = table.schema().await?;
    let id = lookout_core::time::compact(now_ms);
    let folder = folder(table.table_name(), &id);
    if !store.list(&folder).await?.is_empty() {
        return Err(DumpError::Refused(format!(
            "a dump {id} of {} exists already; dumps are at most one a second",
            table.table_name()
        )));
    }
    let per_segment =
        (0..options.segments).map(|s| dump_segment(table, store, &folder, s, &options));
    let done = futures::future::try_join_all(per_segment).await?;
    let mut item_counts: BTreeMap<ItemType, u64> = BTreeMap::new();
    let mut parts = Vec::new();
    for (part, counts) in done {
        parts.push(part);
        for (kind, n) in counts {
            *item_counts.entry(kind).or_insert(0) += n;
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        table: table.table_name().to_string(),
        key_schema: schema.key_schema,
        indexes: schema.indexes,
        ttl_attribute: schema.ttl_attribute,
        include: options.include.types(),
        segments: options.segments,
        started_at: lookout_core::time::rfc3339(now_ms),
        finished_at: lookout_core::time::rfc3339(lookout_core::time::now_ms()),
        item_count: parts.iter().map(|p| p.items).sum(),
        item_counts,
        bytes: parts.iter().map(|p| p.bytes).sum(),
        parts,
    };
    let body = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    let sha = b64(&Sha256::digest(&body));
    store
        .put(
            &format!("{folder}manifest.json"),
            body,
            "application/json",
            &sha,
        )
        .await?;
    Ok(manifest)
}
