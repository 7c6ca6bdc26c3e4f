//! Benchmark (not a test): dump and restore of a table, Lookout side by side with `dynamodump`
//! (PyPI, the common backup script) on the same DynamoDB Local table in the same run. Prints
//! items per second, the ratio, peak memory, and whether each restore gave back the identical
//! item set (count and SHA-256 over the sorted canonical items).
//!
//! Lookout dumps to moto S3 (gzip'd JSON Lines, checksums, a manifest); dynamodump writes plain
//! JSON files to local disk, its default. Both read and write the same DynamoDB Local.
//!
//! Run: `make bench-dump` (or, with the stack up and `local.env` loaded,
//! `cargo run --release -p lookout-tests --example dump_bench [items]`).

#[path = "../it/common/mod.rs"]
mod common;

use std::time::Instant;

use lookout_app::dump::{self, DumpOptions, RestoreOptions};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::s3::S3DumpStore;
use serde_json::json;

fn dynamodump(args: &[&str]) -> f64 {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.local/dynamodump-venv/bin/dynamodump");
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("AWS_ENDPOINT_URL_DYNAMODB");
    let url = url::Url::parse(&endpoint).expect("endpoint URL");
    let host = url.host_str().unwrap_or("127.0.0.1").to_string();
    let port = url.port().unwrap_or(8000).to_string();
    let started = Instant::now();
    let out = std::process::Command::new(&bin)
        .args(args)
        .args([
            "-r",
            "us-east-1",
            "--host",
            &host,
            "--port",
            &port,
            "--accessKey",
            "test",
            "--secretKey",
            "test",
            "--log",
            "WARNING",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "running {}: {e} (make bench-dump installs it)",
                bin.display()
            )
        });
    assert!(
        out.status.success(),
        "dynamodump {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let clock = Instant::now();
    common::fill_table(&ddb, &table, n, 0).await;
    eprintln!(
        "filled {table} with {n} items in {:.1} s",
        clock.elapsed().as_secs_f64()
    );
    let source = DynamoStore::new(ddb.clone(), &table, 30);
    let store = S3DumpStore::new(s3, &bucket);
    let rss_before = common::proc_status_kib("self", "VmHWM:") as f64 / 1024.0;

    // Lookout: dump (4 segments, as DUMP_SEGMENTS in the template) and restore into a new table.
    let now = lookout_core::time::now_ms();
    let clock = Instant::now();
    let manifest = dump::dump(
        &source,
        &store,
        &DumpOptions {
            segments: 4,
            ..Default::default()
        },
        now,
    )
    .await
    .expect("dump");
    let ours_dump = clock.elapsed().as_secs_f64();
    assert_eq!(manifest.item_count as usize, n);
    let ours_table = format!("{table}-lookout");
    let clock = Instant::now();
    let report = dump::restore(
        &store,
        &source,
        &table,
        &lookout_core::time::compact(now),
        &RestoreOptions::new(&ours_table),
    )
    .await
    .expect("restore");
    let ours_restore = clock.elapsed().as_secs_f64();
    let rss_after = common::proc_status_kib("self", "VmHWM:") as f64 / 1024.0;

    // dynamodump: backup to local disk, restore into a new table (on-demand, no prompt).
    let dir = std::env::temp_dir().join(common::unique("dynamodump"));
    let dir_s = dir.to_string_lossy().to_string();
    let theirs_dump = dynamodump(&["-m", "backup", "-s", &table, "--dumpPath", &dir_s]);
    let theirs_table = format!("{table}-dynamodump");
    let theirs_restore = dynamodump(&[
        "-m",
        "restore",
        "-s",
        &table,
        "-d",
        &theirs_table,
        "--dumpPath",
        &dir_s,
        "--billingMode",
        "PAY_PER_REQUEST",
        "--noConfirm",
    ]);
    let _ = std::fs::remove_dir_all(&dir);

    let original = common::table_fingerprint(&ddb, &table).await;
    let ours = common::table_fingerprint(&ddb, &ours_table).await;
    let theirs = common::table_fingerprint(&ddb, &theirs_table).await;
    let rate = |secs: f64| n as f64 / secs;
    println!(
        "\nDump and restore of {n} items, DynamoDB Local, same run ({} MiB compressed, {} parts)\n",
        manifest.bytes / (1024 * 1024),
        manifest.parts.len()
    );
    println!("| step | Lookout items/s | dynamodump items/s | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| dump (backup) | {:.0} ({ours_dump:.1} s) | {:.0} ({theirs_dump:.1} s) | {:.2} |",
        rate(ours_dump),
        rate(theirs_dump),
        theirs_dump / ours_dump
    );
    println!(
        "| restore | {:.0} ({ours_restore:.1} s) | {:.0} ({theirs_restore:.1} s) | {:.2} |",
        rate(ours_restore),
        rate(theirs_restore),
        theirs_restore / ours_restore
    );
    let identical = ours == original && theirs == original;
    let anchor = "dynamodump 1.11.1";
    common::bench_row(
        json!({"part": "dump", "name": format!("dump speed, {n} items"),
        "unit": "items/s", "lookout": rate(ours_dump), "anchor": rate(theirs_dump),
        "anchor_name": anchor, "goal": "≥ 3 × dynamodump",
        "met": rate(ours_dump) >= 3.0 * rate(theirs_dump) && identical}),
    );
    common::bench_row(
        json!({"part": "dump", "name": format!("restore speed, {n} items"),
        "unit": "items/s", "lookout": rate(ours_restore), "anchor": rate(theirs_restore),
        "anchor_name": anchor,
        "note": format!("both restores identical to the source: {identical}")}),
    );
    common::bench_row(
        json!({"part": "dump", "name": "peak RSS after dump and restore",
        "unit": "MiB", "lookout": rss_after}),
    );
    println!("\n| restore check | items | identical to the source |");
    println!("| --- | ---: | --- |");
    println!("| source | {} | - |", original.0);
    println!("| Lookout | {} | {} |", ours.0, ours == original);
    println!("| dynamodump | {} | {} |", theirs.0, theirs == original);
    println!(
        "\nLookout: {} BatchWriteItem requests, {} items retried; peak RSS {rss_before:.0} MiB \
              before the dump, {rss_after:.0} MiB after dump and restore",
        report.requests, report.retried_items
    );
}
