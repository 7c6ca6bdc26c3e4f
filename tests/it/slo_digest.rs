//! The digest's SLO lines against DynamoDB Local and moto: an SLO and its record written
//! through the DynamoDB adapter (`SLO`/`<id>`, `SLOREC`/`<id>` deflated), the digest run reads
//! them, the global digest stored in the table and served by `GET /v1/digests/latest` carries
//! the SLO's line, and the daily report on the SNS topic (read from the queue) ends with it.

use crate::common;

use lookout_app::ports::{DigestStore, SloStore, StateStore, TargetStore};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sns::SnsPublisher;
use lookout_core::digest::report::{NoSummariser, GLOBAL};
use lookout_core::digest::rollup::{Period, DAY_MS, HOUR_MS};
use lookout_core::domain::slo::{
    Firing, Sli, SliCounts, Slo, SloAlertState, SloRecord, SloSelector, SloSeries, SloWindow,
};
use lookout_core::domain::{Target, TargetKind};
use lookout_core::time::MINUTE_MS;
use serde_json::json;

#[tokio::test]
async fn the_global_digest_and_the_daily_report_say_how_the_budget_fares() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let t: Target = serde_json::from_value(json!({"id": "pay", "group": "checkout",
        "kind": "server", "url": "https://pay.example/health"}))
    .unwrap();
    store.create_target(&t.validate().unwrap()).await.unwrap();
    // Yesterday's last hour (UTC), probed once a minute, all well; digested 5 minutes after.
    let hour = Period::Day.start_of(lookout_core::time::now_ms()) - HOUR_MS;
    let now = hour + HOUR_MS + 5 * MINUTE_MS;
    let ids = vec!["pay".to_string()];
    for (at, latest) in
        lookout_app::testing::minute_runs(&ids, TargetKind::Server, hour, |_, _| Some(40))
    {
        store
            .record_run(TargetKind::Server, at, &latest, true)
            .await
            .unwrap();
    }
    let slo = Slo {
        id: "checkout".into(),
        name: "Checkout API".into(),
        description: None,
        selector: SloSelector::Group("checkout".into()),
        objective: 99.9,
        window: SloWindow::Rolling30d,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    store.put_slo(&slo).await.unwrap();
    // 30 days of one check a minute, the last 30 minutes failed: 30 of 43.2 minutes spent.
    let mut series = SloSeries::default();
    for m in (0..30 * 24 * 60).rev() {
        let bad = u64::from(m < 30);
        let counts = SliCounts {
            good: 1 - bad,
            total: 1,
            excluded: 0,
        };
        series.add_counts(now - m * MINUTE_MS, counts);
    }
    series.prune(now);
    let mut alerts = SloAlertState::default();
    alerts.firing.insert(
        "page".into(),
        Firing {
            since: now - 25 * MINUTE_MS,
            rules: vec!["page_1h".into()],
            burn_long: 500.0,
            burn_short: 1000.0,
            silenced: false,
        },
    );
    let record = SloRecord {
        slo_id: "checkout".into(),
        version: 1,
        series,
        alerts,
        evaluated_at: 0,
    };
    store.commit_slo_record(&record, &[]).await.unwrap();

    let report = Box::pin(digest::run(&store, &publisher, &NoSummariser, hour, now))
        .await
        .unwrap();
    // 13.2 minutes left at a 6-hour burn rate of 83.3: about 2.6 hours, the same day.
    let day = lookout_core::digest::slo::date(
        lookout_core::notify::channel::Language::En,
        now + (13.2 / 43.2 * 30.0 * DAY_MS as f64 / (30.0 / 360.0 / 0.001)) as i64,
        now,
    );
    let line = format!(
        "Checkout API has used 69 % of its 30-day error budget (SLI 99.93 %, objective 99.9 %); \
         at the current rate it runs out on {day}. Alerts firing: page."
    );
    let stored = store.digests(GLOBAL, i64::MAX, 1).await.unwrap().remove(0);
    assert_eq!(stored, report.global);
    assert_eq!(stored.slos.len(), 1);
    assert_eq!(stored.slos[0].text, line);
    assert!(stored.summary.ends_with(&line), "{}", stored.summary);

    let app = std::sync::Arc::new(api::App {
        admin_token: Some("admin".into()),
        ..api::App::local(store.clone())
    });
    let (status, latest) = common::call(&app, "GET", "/v1/digests/latest", "").await;
    assert_eq!(status, 200, "{latest}");
    assert_eq!(latest["slos"][0]["id"], "checkout");
    assert_eq!(latest["slos"][0]["firing"], json!(["page"]));
    assert_eq!(latest["slos"][0]["window"], "30d");

    assert_eq!(report.daily_reports.len(), 1);
    let messages = common::drain(&sqs, &queue).await;
    let texts: Vec<String> = messages
        .iter()
        .map(|m| m.to_string())
        .filter(|t| t.contains("daily report"))
        .collect();
    assert_eq!(texts.len(), 1, "{messages:?}");
    assert!(
        texts[0].contains("Checkout API has used 69 %"),
        "{}",
        texts[0]
    );
}
