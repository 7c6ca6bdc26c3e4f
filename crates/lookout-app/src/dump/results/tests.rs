//! The results export over the memory store and an in-memory object store.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::Mutex;

use base64::Engine as _;
use flate2::read::GzDecoder;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::*;
use crate::memory::MemoryStore;
use crate::ports::{ObjectStream, StateStore, UploadedPart};

/// Object storage in memory: objects by key, open multipart uploads by id. Checks each
/// checksum as S3 does.
#[derive(Default)]
struct MemoryObjects {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    uploads: Mutex<BTreeMap<String, Vec<Vec<u8>>>>,
    parts_sent: Mutex<usize>,
}

fn check(body: &[u8], sha256_b64: &str) -> Result<(), StoreError> {
    let sum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
    if sum == sha256_b64 {
        Ok(())
    } else {
        Err(StoreError::Invalid("checksum does not match".into()))
    }
}

impl DumpStore for MemoryObjects {
    async fn put(&self, key: &str, body: Vec<u8>, _: &str, sha: &str) -> Result<(), StoreError> {
        check(&body, sha)?;
        self.objects.lock().unwrap().insert(key.into(), body);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn open(&self, key: &str) -> Result<ObjectStream, StoreError> {
        let body = self.objects.lock().unwrap().get(key).cloned();
        let body = body.ok_or_else(|| StoreError::NotFound(key.into()))?;
        Ok(Box::pin(futures::stream::iter([Ok(body)])))
    }
    async fn start_upload(&self, key: &str, _: &str) -> Result<String, StoreError> {
        let id = format!("{key}#{}", self.uploads.lock().unwrap().len());
        self.uploads.lock().unwrap().insert(id.clone(), Vec::new());
        Ok(id)
    }
    async fn upload_part(
        &self,
        _: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
        sha: &str,
    ) -> Result<UploadedPart, StoreError> {
        check(&body, sha)?;
        let mut uploads = self.uploads.lock().unwrap();
        let parts = uploads
            .get_mut(upload_id)
            .ok_or_else(|| StoreError::NotFound(upload_id.into()))?;
        assert_eq!(parts.len() as i32 + 1, number, "parts in order");
        parts.push(body);
        *self.parts_sent.lock().unwrap() += 1;
        Ok(UploadedPart {
            number,
            etag: format!("e{number}"),
            sha256_b64: sha.into(),
        })
    }
    async fn finish_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StoreError> {
        let sent = self.uploads.lock().unwrap().remove(upload_id);
        let sent = sent.ok_or_else(|| StoreError::NotFound(upload_id.into()))?;
        assert_eq!(sent.len(), parts.len());
        self.objects
            .lock()
            .unwrap()
            .insert(key.into(), sent.concat());
        Ok(())
    }
    async fn abort_upload(&self, _: &str, upload_id: &str) -> Result<(), StoreError> {
        self.uploads.lock().unwrap().remove(upload_id);
        Ok(())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let objects = self.objects.lock().unwrap();
        Ok(objects
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut objects = self.objects.lock().unwrap();
        for k in keys {
            objects.remove(k);
        }
        Ok(())
    }
}

/// 2026-11-30T00:00:00Z.
const DAY: i64 = 1_795_996_800_000;

fn gunzip(body: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    GzDecoder::new(body).read_to_string(&mut text).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// Three server targets and one proxy target with a minute's runs through `hours` (hour starts,
/// epoch ms); the proxy's results fail with a message naming a proxy URL with a password.
async fn seeded(hours: &[i64]) -> MemoryStore {
    seeded_with(hours, &["web-b", "web-a", "web-c"]).await
}

/// [`seeded`] with these server targets.
async fn seeded_with(hours: &[i64], servers: &[&str]) -> MemoryStore {
    let store = MemoryStore::default();
    let servers: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
    let proxies = vec!["px".to_string()];
    for hour in hours {
        for (kind, ids) in [
            (TargetKind::Server, &servers),
            (TargetKind::Proxy, &proxies),
        ] {
            let runs = crate::testing::minute_runs(ids, kind, *hour, |id, m| {
                (id != "px" || m % 2 == 0).then_some(
                    50 + ((m * 7_919 + id.len() as i64 * 104_729 + hour / 1_000) % 997) as u64,
                )
            });
            for (at, mut latest) in runs {
                for l in &mut latest {
                    if let Some(r) = l.result.as_mut().filter(|r| r.target_id == "px") {
                        r.message =
                            Some("connect via http://bob:hunter2@proxy.example:3128 failed".into());
                    }
                }
                store.record_run(kind, at, &latest, true).await.unwrap();
            }
        }
    }
    store
}

#[tokio::test]
async fn a_day_is_exported_ordered_counted_hashed_and_redacted() {
    let store = seeded(&[DAY + 3 * HOUR_MS, DAY + 4 * HOUR_MS, DAY + DAY_MS]).await;
    let objects = MemoryObjects::default();
    let m = export_results(&store, &objects, "2026-11-30", DAY + DAY_MS + 5, PART_BYTES)
        .await
        .unwrap();
    assert_eq!(m.format, RESULTS_FORMAT);
    assert_eq!(
        (m.day.as_str(), m.key.as_str()),
        ("2026-11-30", "results/2026-11-30.jsonl.gz")
    );
    assert_eq!(
        m.count,
        2 * 60 * 4,
        "two hours of 4 targets; the next day left out"
    );
    let body = objects.get(&m.key).await.unwrap().unwrap();
    assert_eq!(body.len() as u64, m.bytes);
    assert_eq!(hex::encode(Sha256::digest(&body)), m.sha256);
    let lines = gunzip(&body);
    assert_eq!(lines.len() as u64, m.count);
    let keys: Vec<(i64, String)> = lines
        .iter()
        .map(|l| {
            (
                l["at"].as_i64().unwrap(),
                l["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by time then target");
    assert_eq!(keys[0], (DAY + 3 * HOUR_MS + 1_000, "px".to_string()));
    assert_eq!(keys[1].1, "web-a");
    for l in &lines {
        assert_eq!(l["target"], l["target_id"]);
        assert!(l["kind"] == "server" || l["kind"] == "proxy", "{l}");
        assert!(l["outcome"].is_string() && l["latency_ms"].is_u64(), "{l}");
    }
    let text = String::from_utf8(body.clone()).unwrap_or_default();
    assert!(!text.contains("hunter2"));
    let failed: Vec<&Value> = lines.iter().filter(|l| l["outcome"] == "failed").collect();
    assert_eq!(
        failed.len(),
        60,
        "every other minute of the proxy, two hours"
    );
    let message = failed[0]["message"].as_str().unwrap();
    assert!(
        message.contains("proxy.example") && !message.contains("hunter2"),
        "{message}"
    );

    let manifest: ResultsManifest = serde_json::from_slice(
        &objects
            .get(&manifest_key("2026-11-30"))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest, m);
}

#[tokio::test]
async fn an_export_is_not_replaced_by_an_empty_one_once_the_history_expired() {
    let store = seeded(&[DAY + 3 * HOUR_MS]).await;
    let objects = MemoryObjects::default();
    let first = export_day(&store, &objects, "2026-11-30", DAY + DAY_MS)
        .await
        .unwrap();
    assert!(first.count > 0);
    let body = objects.get(&first.key).await.unwrap().unwrap();
    // The same table later, the day's history gone (same targets, no results).
    let expired = seeded(&[]).await;
    for kind in [TargetKind::Server, TargetKind::Proxy] {
        if let Some(s) = store
            .summaries()
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.kind == kind)
        {
            expired.put_summary(&s).await.unwrap();
        }
    }
    let refused = export_day(&expired, &objects, "2026-11-30", DAY + 30 * DAY_MS).await;
    assert!(
        matches!(&refused, Err(DumpError::Refused(m)) if m.contains("kept")),
        "{refused:?}"
    );
    assert_eq!(objects.get(&first.key).await.unwrap().unwrap(), body);
    let manifest: ResultsManifest = serde_json::from_slice(
        &objects
            .get("results/2026-11-30.manifest.json")
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest, first);
    // A day never exported is still exported empty.
    let empty = export_day(&expired, &objects, "2026-11-29", DAY + 30 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(empty.count, 0);
}

#[tokio::test]
async fn a_rerun_writes_the_same_bytes_and_parts_hold_the_same_lines() {
    let hours: Vec<i64> = (0..24).map(|h| DAY + h * HOUR_MS).collect();
    let ids: Vec<String> = (0..12).map(|i| format!("web-{i:02}")).collect();
    let store = seeded_with(&hours, &ids.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let objects = MemoryObjects::default();
    let first = export_day(&store, &objects, "2026-11-30", DAY + DAY_MS)
        .await
        .unwrap();
    let before = objects.get(&first.key).await.unwrap().unwrap();
    let again = export_day(&store, &objects, "2026-11-30", DAY + DAY_MS + 60_000)
        .await
        .unwrap();
    assert_eq!(objects.get(&again.key).await.unwrap().unwrap(), before);
    assert_eq!(
        (again.sha256, again.count),
        (first.sha256.clone(), first.count)
    );
    assert_eq!(
        *objects.parts_sent.lock().unwrap(),
        0,
        "one put when it fits a part"
    );

    // Tiny parts: the object goes up in multipart parts and holds the same lines.
    let parts = MemoryObjects::default();
    let m = export_results(&store, &parts, "2026-11-30", DAY + DAY_MS, 512)
        .await
        .unwrap();
    assert!(
        *parts.parts_sent.lock().unwrap() > 1,
        "{} bytes in {} parts",
        m.bytes,
        parts.parts_sent.lock().unwrap()
    );
    let body = parts.get(&m.key).await.unwrap().unwrap();
    assert_eq!(hex::encode(Sha256::digest(&body)), m.sha256);
    assert_eq!(gunzip(&body), gunzip(&before));
    assert_eq!(m.count, first.count);
}

#[tokio::test]
async fn an_empty_day_is_an_empty_export_and_bad_days_are_refused() {
    let store = seeded(&[DAY + HOUR_MS]).await;
    let objects = MemoryObjects::default();
    let m = export_day(&store, &objects, "2026-11-29", DAY)
        .await
        .unwrap();
    assert_eq!(m.count, 0);
    let body = objects
        .get("results/2026-11-29.jsonl.gz")
        .await
        .unwrap()
        .unwrap();
    assert!(gunzip(&body).is_empty());
    assert_eq!(body.len() as u64, m.bytes);
    for bad in [
        "",
        "2026-11-31",
        "2026-13-01",
        "26-11-30",
        "2026/11/30",
        "../../x",
        "2026-11-30x",
    ] {
        let e = export_day(&store, &objects, bad, DAY).await.unwrap_err();
        assert!(
            matches!(&e, DumpError::Refused(m) if m.contains("YYYY-MM-DD")),
            "{bad}: {e}"
        );
    }
    assert_eq!(default_day(DAY + 5 * HOUR_MS), "2026-11-29");
    assert_eq!(parse_day("2026-11-30").unwrap(), DAY);
}

/// History whose results keep their own times, read by their run's time, as the table does
/// (the memory store records only results timed at their run).
struct RunHistory(Vec<(i64, CheckResult)>);

impl HistoryStore for RunHistory {
    async fn history(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        _: usize,
    ) -> Result<Vec<CheckResult>, StoreError> {
        Ok(self
            .0
            .iter()
            .filter(|(run, r)| r.kind == kind && (since_ms..=until_ms).contains(run))
            .map(|(_, r)| r.clone())
            .collect())
    }
}

#[tokio::test]
async fn the_walk_holds_back_a_result_later_than_its_hour() {
    let ids = ["late".to_string(), "early".to_string()];
    let t = DAY + HOUR_MS;
    let result = |id: &str, at: i64| {
        let runs =
            crate::testing::minute_runs(&[id.to_string()], TargetKind::Server, DAY, |_, _| Some(5));
        CheckResult {
            at,
            ..runs[0].1[0].result.clone().unwrap()
        }
    };
    // A run recorded at 00:59:59 whose results started at 01:00:02, and one at 01:00:01.
    let history = RunHistory(
        ids.iter()
            .flat_map(|id| {
                [
                    (t - 1_000, result(id, t + 2_000)),
                    (t + 1_000, result(id, t + 1_000)),
                ]
            })
            .collect(),
    );
    let mut walk = ResultWalk::new(vec![(TargetKind::Server, 2)], DAY, DAY + 2 * HOUR_MS - 1);
    let mut hours = Vec::new();
    while let Some(hour) = walk.next(&history).await.unwrap() {
        hours.push(
            hour.iter()
                .map(|r| (r.at, r.target_id.clone()))
                .collect::<Vec<_>>(),
        );
    }
    let at = |ms: i64, id: &str| (t + ms, id.to_string());
    assert_eq!(
        hours,
        vec![
            vec![],
            vec![
                at(1_000, "early"),
                at(1_000, "late"),
                at(2_000, "early"),
                at(2_000, "late")
            ]
        ]
    );
}
