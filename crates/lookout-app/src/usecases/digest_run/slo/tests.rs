//! The digest run with SLOs in a memory store: a line for the SLO whose budget burns, none
//! for the one within budget or without a record, the same line in the daily report of the
//! kind it selects.

use serde_json::json;

use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{DigestStore, SloStore, StateStore, TargetStore};
use crate::usecases::digest_run::run;
use lookout_core::digest::report::{NoSummariser, GLOBAL};
use lookout_core::digest::rollup::HOUR_MS;
use lookout_core::domain::slo::{
    Firing, Sli, SliCounts, Slo, SloAlertState, SloRecord, SloSelector, SloSeries, SloWindow,
};
use lookout_core::domain::{Target, TargetKind};
use lookout_core::time::MINUTE_MS;

/// 2026-11-21T23:00Z: the last hour of a day.
const LAST_HOUR: i64 = 1_795_269_600_000 + 9 * HOUR_MS;
/// Five minutes after it ended.
const NOW: i64 = LAST_HOUR + HOUR_MS + 5 * MINUTE_MS;

fn slo(id: &str, name: &str, group: &str) -> Slo {
    Slo {
        id: id.into(),
        name: name.into(),
        description: None,
        selector: SloSelector::Group(group.into()),
        objective: 99.9,
        window: SloWindow::Rolling30d,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

/// 30 days of one check a minute up to `NOW`, the minutes `failing` (counted back from `NOW`,
/// 0 the current one) failed.
fn series(failing: std::ops::Range<i64>) -> SloSeries {
    let mut series = SloSeries::default();
    for m in (0..30 * 24 * 60).rev() {
        let bad = u64::from(failing.contains(&m));
        series.add_counts(
            NOW - m * MINUTE_MS,
            SliCounts {
                good: 1 - bad,
                total: 1,
                excluded: 0,
            },
        );
    }
    series.prune(NOW);
    series
}

async fn store() -> MemoryStore {
    let store = MemoryStore::default();
    for (id, group) in [("pay", "checkout"), ("blog", "web")] {
        let t: Target = serde_json::from_value(json!({"id": id, "group": group,
            "kind": "server", "url": format!("https://{id}.example/health")}))
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    // The day's last hour probed once a minute, all well: the targets have states.
    let ids = vec!["pay".to_string(), "blog".to_string()];
    for (at, latest) in
        crate::testing::minute_runs(&ids, TargetKind::Server, LAST_HOUR, |_, _| Some(50))
    {
        store
            .record_run(TargetKind::Server, at, &latest, true)
            .await
            .unwrap();
    }
    for s in [
        slo("checkout", "Checkout API", "checkout"),
        slo("blog", "Blog", "web"),
        slo("fresh", "Fresh", "checkout"),
    ] {
        store.put_slo(&s).await.unwrap();
    }
    let mut alerts = SloAlertState::default();
    alerts.firing.insert(
        "page".into(),
        Firing {
            since: NOW - 25 * MINUTE_MS,
            rules: vec!["page_1h".into()],
            burn_long: 500.0,
            burn_short: 1000.0,
            silenced: false,
        },
    );
    let burning = SloRecord {
        slo_id: "checkout".into(),
        version: 1,
        series: series(0..30),
        alerts,
        evaluated_at: 0,
    };
    let calm = SloRecord {
        slo_id: "blog".into(),
        version: 1,
        series: series(7 * 60..7 * 60 + 5),
        alerts: SloAlertState::default(),
        evaluated_at: 0,
    };
    for r in [burning, calm] {
        store.commit_slo_record(&r, &[]).await.unwrap();
    }
    store
}

/// 30 of 43.2 minutes spent; 13.2 left at a 6-hour burn rate of 83.3: 2.6 hours.
const LINE: &str = "Checkout API has used 69 % of its 30-day error budget (SLI 99.93 %, \
                    objective 99.9 %); at the current rate it runs out on 22 November. Alerts \
                    firing: page.";

#[tokio::test]
async fn the_global_digest_and_the_daily_report_carry_the_burning_slos_line_only() {
    let store = store().await;
    let publisher = MemoryPublisher::default();
    let report = run(&store, &publisher, &NoSummariser, LAST_HOUR, NOW)
        .await
        .unwrap();
    let global = store.digests(GLOBAL, i64::MAX, 1).await.unwrap().remove(0);
    assert_eq!(global, report.global);
    // The blog's 5 minutes, 7 hours ago, are 11 % of its budget and it burns none now:
    // within budget, no line; "fresh" has no record.
    let ids: Vec<&str> = global.slos.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, vec!["checkout"]);
    assert_eq!(global.slos[0].text, LINE);
    assert_eq!(global.slos[0].firing, vec!["page"]);
    assert!(
        global.summary.ends_with(&format!(" {LINE}")),
        "{}",
        global.summary
    );
    assert!(!global.summary.contains("Blog"), "{}", global.summary);
    // The day's report of the servers names it too.
    assert_eq!(report.daily_reports.len(), 1);
    let sent = publisher.sent();
    assert!(
        sent[0].text.ends_with(&format!(" {LINE}")),
        "{}",
        sent[0].text
    );
}

#[tokio::test]
async fn without_slos_the_digest_has_no_slo_lines() {
    let store = MemoryStore::default();
    let publisher = MemoryPublisher::default();
    let report = run(&store, &publisher, &NoSummariser, LAST_HOUR, NOW)
        .await
        .unwrap();
    assert!(report.global.slos.is_empty());
    let text = serde_json::to_value(&report.global).unwrap();
    assert!(text.get("slos").is_none(), "{text}");
}

/// A page alert whose SLO's checks stopped being counted (its targets disabled) is resolved by
/// the digest once its rules no longer fire, once, and published; one still burning is not.
#[tokio::test]
async fn the_digest_resolves_an_alert_no_probe_round_steps_any_more() {
    use crate::ports::Outbox as _;
    let store = store().await;
    let mut blog = store.slo_record("blog").await.unwrap().unwrap();
    blog.version += 1;
    // The blog failed for 10 minutes 7 hours ago and paged then; nothing counted since.
    blog.alerts.firing.insert(
        "page".into(),
        Firing {
            since: NOW - 7 * HOUR_MS,
            rules: vec!["page_1h".into()],
            burn_long: 100.0,
            burn_short: 1000.0,
            silenced: false,
        },
    );
    store.commit_slo_record(&blog, &[]).await.unwrap();
    let publisher = MemoryPublisher::default();
    run(&store, &publisher, &NoSummariser, LAST_HOUR, NOW)
        .await
        .unwrap();
    let after = store.slo_record("blog").await.unwrap().unwrap();
    assert!(after.alerts.firing.is_empty(), "{:?}", after.alerts);
    assert_eq!(after.evaluated_at, NOW);
    let resolves: Vec<String> = publisher
        .sent()
        .into_iter()
        .filter(|a| a.kind == lookout_core::domain::AlertKind::SloBurnResolved)
        .map(|a| a.key)
        .collect();
    assert_eq!(
        resolves,
        vec![format!("slo#blog#page#{}#resolved", NOW - 7 * HOUR_MS)]
    );
    // The checkout's page still fires (its last 30 minutes failed): left alone.
    let checkout = store.slo_record("checkout").await.unwrap().unwrap();
    assert!(checkout.alerts.firing.contains_key("page"));
    // A second run resolves nothing more.
    run(&store, &publisher, &NoSummariser, LAST_HOUR, NOW)
        .await
        .unwrap();
    assert!(store.pending_alerts(NOW).await.unwrap().is_empty());
    let again = publisher
        .sent()
        .into_iter()
        .filter(|a| a.kind == lookout_core::domain::AlertKind::SloBurnResolved)
        .count();
    assert_eq!(again, 1);
}
