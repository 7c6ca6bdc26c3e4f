//! The digest function against DynamoDB Local and moto: rollups and digests written to and read
//! back from the table, the same hour digested twice gives the same items, the daily report
//! reaches the SNS topic once (read from the SQS queue subscribed to it), and the API serves
//! uptime and digests from what the digest wrote.

use crate::common;

use lookout_app::ports::{DigestStore, StateStore, TargetStore};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sns::SnsPublisher;
use lookout_core::digest::anomaly::AnomalyKind;
use lookout_core::digest::report::{NoSummariser, GLOBAL};
use lookout_core::digest::rollup::{Latency, Period, Rollup, DAY_MS, HOUR_MS};
use lookout_core::domain::{Target, TargetKind};
use serde_json::{json, Value};

struct Stack {
    store: DynamoStore,
    publisher: SnsPublisher,
    sqs: aws_sdk_sqs::Client,
    queue: String,
}

async fn stack(ids: &[&str]) -> Stack {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    for id in ids {
        let t: Target = serde_json::from_value(json!({"id": id, "group": "web", "kind": "server",
            "url": format!("https://{id}.example/health")}))
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    Stack {
        store,
        publisher: SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic),
        sqs,
        queue,
    }
}

/// Seven days of ordinary hours before `hour`: 60 checks, p95 near 200 ms, no failures.
async fn baseline(store: &DynamoStore, id: &str, hour: i64) {
    let hours: Vec<Rollup> = (1..=168)
        .map(|h| Rollup {
            checks: 60,
            latency: Some(Latency {
                min: 40,
                mean: 90.0,
                p50: 80,
                p95: 190 + (h % 5) as u64 * 5,
                max: 400,
            }),
            ..Rollup::empty(id, TargetKind::Server, Period::Hour, hour - h * HOUR_MS)
        })
        .collect();
    store.put_rollups(&hours).await.unwrap();
}

async fn record(
    store: &DynamoStore,
    ids: &[&str],
    hour: i64,
    f: impl Fn(&str, i64) -> Option<u64>,
) {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    for (at, latest) in lookout_app::testing::minute_runs(&ids, TargetKind::Server, hour, f) {
        store
            .record_run(TargetKind::Server, at, &latest, true)
            .await
            .unwrap();
    }
}

fn app(store: &DynamoStore) -> std::sync::Arc<api::App<DynamoStore>> {
    std::sync::Arc::new(api::App {
        prober: lookout_app::probe::Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        ..api::App::local(store.clone())
    })
}

#[tokio::test]
async fn an_hour_is_rolled_up_judged_stored_and_served() {
    let s = stack(&["calm", "slow"]).await;
    let now = lookout_core::time::now_ms();
    let hour = Period::Hour.start_of(now) - HOUR_MS;
    baseline(&s.store, "calm", hour).await;
    baseline(&s.store, "slow", hour).await;
    // "slow": p95 about 3.2 times its usual 200 ms since the start of the hour, and 7 of 60
    // checks (11.7 %) timed out.
    record(&s.store, &["calm", "slow"], hour, |id, m| match id {
        "slow" if m % 9 == 4 => None,
        "slow" => Some(600 + (m as u64 % 5) * 10),
        _ => Some(150 + (m as u64 % 5) * 10),
    })
    .await;
    let report = Box::pin(digest::run(
        &s.store,
        &s.publisher,
        &NoSummariser,
        hour,
        now,
    ))
    .await
    .unwrap();
    assert_eq!(
        (report.targets, report.global.checks, report.global.failures),
        (2, 120, 7)
    );

    // Read back from DynamoDB Local.
    let slow = s.store.digests("slow", i64::MAX, 5).await.unwrap();
    assert_eq!(slow.len(), 1);
    let kinds: Vec<AnomalyKind> = slow[0].anomalies.iter().map(|a| a.kind).collect();
    assert!(kinds.contains(&AnomalyKind::Latency), "{:#?}", slow[0]);
    assert!(kinds.contains(&AnomalyKind::ErrorRate), "{:#?}", slow[0]);
    let latency = slow[0]
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::Latency)
        .unwrap();
    assert!(
        latency.observed >= 600.0 && latency.baseline < 250.0,
        "{latency:#?}"
    );
    assert_eq!((latency.since, latency.until), (hour, hour + HOUR_MS));
    assert!(
        slow[0].summary.contains("53 of 60 checks succeeded"),
        "{}",
        slow[0].summary
    );
    // A quiet target's digest is not stored.
    assert!(s
        .store
        .digests("calm", i64::MAX, 5)
        .await
        .unwrap()
        .is_empty());
    let rollup = s
        .store
        .rollups(
            "slow",
            TargetKind::Server,
            Period::Hour,
            hour,
            hour + HOUR_MS,
        )
        .await
        .unwrap();
    assert_eq!(rollup.len(), 1);
    assert_eq!(
        (rollup[0].checks, rollup[0].failures, rollup[0].flips),
        (60, 7, 14)
    );
    let l = rollup[0].latency.unwrap();
    assert_eq!((l.min, l.max), (600, 640));

    // The same hour again: identical rollups, one digest per scope and hour.
    let all_rollups = s
        .store
        .rollups(
            "slow",
            TargetKind::Server,
            Period::Hour,
            hour - 200 * HOUR_MS,
            hour + HOUR_MS,
        )
        .await
        .unwrap();
    Box::pin(digest::run(
        &s.store,
        &s.publisher,
        &NoSummariser,
        hour,
        now + 60_000,
    ))
    .await
    .unwrap();
    let again = s
        .store
        .rollups(
            "slow",
            TargetKind::Server,
            Period::Hour,
            hour - 200 * HOUR_MS,
            hour + HOUR_MS,
        )
        .await
        .unwrap();
    assert_eq!(again, all_rollups);
    assert_eq!(
        s.store.digests(GLOBAL, i64::MAX, 10).await.unwrap().len(),
        1
    );

    // The API, over the same table.
    let old_day = Rollup {
        checks: 1440,
        failures: 144,
        ..Rollup::empty(
            "slow",
            TargetKind::Server,
            Period::Day,
            Period::Day.start_of(hour) - 100 * DAY_MS,
        )
    };
    s.store.put_rollups(&[old_day]).await.unwrap();
    let app = app(&s.store);
    let (status, up) = common::call(&app, "GET", "/v1/targets/slow/uptime", "").await;
    assert_eq!(status, 200, "{up}");
    let window = |name: &str| {
        up["windows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["window"] == name)
            .unwrap()
            .clone()
    };
    // Whole hours up to the end of the current one, which has no rollup until it is digested:
    // 23 hours in the last 24 (the judged one and 22 of the baseline), 167 in the last 7 days.
    assert_eq!(window("24h")["checks"], 23 * 60);
    assert_eq!(window("24h")["failures"], 7);
    assert_eq!(window("7d")["checks"], 167 * 60);
    let pct = window("7d")["uptime_percent"].as_f64().unwrap();
    assert!(
        (pct - (10020.0 - 7.0) * 100.0 / 10020.0).abs() < 1e-9,
        "{pct}"
    );
    // Longer windows add the day rollups (one seeded 100 days back) to the hours of the last
    // 7 days the route reads.
    assert_eq!(window("30d")["checks"], 168 * 60);
    assert_eq!(window("365d")["checks"], 168 * 60 + 1440);
    assert_eq!(window("365d")["failures"], 7 + 144);
    let (status, latest) = common::call(&app, "GET", "/v1/digests/latest?target=slow", "").await;
    assert_eq!(status, 200);
    assert_eq!(latest["scope"], "slow");
    assert!(
        !latest["recommendations"].as_array().unwrap().is_empty(),
        "{latest}"
    );
    let (status, list) = common::call(&app, "GET", "/v1/digests?limit=5", "").await;
    assert_eq!(status, 200);
    assert_eq!(list["digests"][0]["scope"], GLOBAL);
    let (_, summary) = common::call(&app, "GET", "/v1/summary", "").await;
    assert_eq!(summary["digest"]["scope"], GLOBAL, "{summary}");
    assert!(summary["digest"]["summary"]
        .as_str()
        .unwrap()
        .contains("slow"));
    let (status, err) = common::call(&app, "GET", "/v1/digests/latest?target=no-such", "").await;
    assert_eq!(status, 404, "{err}");
    let (status, err) = common::call(&app, "GET", "/v1/digests?target=../x", "").await;
    assert_eq!(status, 400, "{err}");
    let (status, _) = common::call(&app, "GET", "/v1/targets/no-such/uptime", "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn after_a_days_last_hour_the_daily_report_reaches_the_topic_once() {
    let s = stack(&["good", "bad"]).await;
    let now = lookout_core::time::now_ms();
    let last = Period::Day.start_of(now) - HOUR_MS; // 23:00 yesterday
    record(&s.store, &["good", "bad"], last, |id, m| {
        (id == "good" || m % 4 != 0).then_some(80)
    })
    .await;
    let first = Box::pin(digest::run(
        &s.store,
        &s.publisher,
        &NoSummariser,
        last,
        now,
    ))
    .await
    .unwrap();
    assert_eq!(first.daily_reports.len(), 1);
    Box::pin(digest::run(
        &s.store,
        &s.publisher,
        &NoSummariser,
        last,
        now + 1_000,
    ))
    .await
    .unwrap();
    let got = common::drain(&s.sqs, &s.queue).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let body: Value = serde_json::from_str(got[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["kind"], "daily_report");
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("Best: good (100.00% up that day)"), "{text}");
    assert!(text.contains("Worst: bad (75.00% up that day)"), "{text}");
    assert!(text.contains("No open incidents"), "{text}");
    let day = s
        .store
        .rollups(
            "bad",
            TargetKind::Server,
            Period::Day,
            last - DAY_MS,
            last + HOUR_MS,
        )
        .await
        .unwrap();
    assert_eq!(day.len(), 1);
    assert_eq!(
        (day[0].start, day[0].checks, day[0].failures),
        (Period::Day.start_of(last), 60, 15)
    );
}

/// The uptime table with a full 90-day bar for 120 targets (three chunks, the largest with
/// six- and seven-digit counts and 64-character ids) goes to DynamoDB Local and comes back
/// the same; a smaller table then drops the chunks it no longer needs.
#[tokio::test]
async fn a_full_uptime_bar_table_round_trips_in_chunks() {
    use lookout_app::ports::TargetUptime;
    use lookout_core::digest::rollup::{DayCell, Uptime, BAR_DAYS};
    let s = stack(&[]).await;
    let today = 1_795_219_200_000_i64;
    let entry = |i: usize| TargetUptime {
        target_id: format!("{i:0>64}"),
        windows: ["24h", "7d", "30d", "365d"]
            .iter()
            .map(|w| Uptime {
                window: (*w).to_string(),
                since: today - 365 * DAY_MS,
                checks: 31_536_000,
                failures: i as u64,
                uptime_percent: Some(99.999_996_829_2),
            })
            .collect(),
        days: (0..BAR_DAYS as i64)
            .rev()
            .map(|d| DayCell {
                start: today - d * DAY_MS,
                checks: 86_400,
                failures: (d as u64 * 997 + i as u64) % 86_400,
            })
            .collect(),
    };
    let table: Vec<TargetUptime> = (0..120).map(entry).collect();
    // The store writes 25 a chunk: about 140 KB of JSON each.
    let chunk = serde_json::to_string(&table[..25]).unwrap().len();
    assert!(chunk < 150_000, "{chunk} bytes");
    s.store
        .put_uptime(TargetKind::Server, &table)
        .await
        .unwrap();
    let back = s.store.uptime_table(TargetKind::Server).await.unwrap();
    assert_eq!(back.len(), 120);
    assert_eq!(back, table);
    assert_eq!(back[119].days.len(), BAR_DAYS);
    let small: Vec<TargetUptime> = table[..10].to_vec();
    s.store
        .put_uptime(TargetKind::Server, &small)
        .await
        .unwrap();
    assert_eq!(
        s.store.uptime_table(TargetKind::Server).await.unwrap(),
        small
    );
}
