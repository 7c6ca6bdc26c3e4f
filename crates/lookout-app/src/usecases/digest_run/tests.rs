use serde_json::json;

use super::*;
use crate::memory::{MemoryPublisher, MemoryStore};
use lookout_core::digest::anomaly::AnomalyKind;
use lookout_core::digest::report::{NoSummariser, GLOBAL};
use lookout_core::digest::rollup::{Latency, DAY_MS};

/// 2026-11-21T14:00Z.
const HOUR: i64 = 1_795_269_600_000;

async fn store_with(ids: &[&str]) -> MemoryStore {
    let store = MemoryStore::default();
    for id in ids {
        let t: Target = serde_json::from_value(
            json!({"id": id, "name": format!("{id} api"), "group": "g", "kind": "server",
                   "url": format!("https://{id}.example/health")}),
        )
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    store
}

/// Seven days of normal hours before `hour`: 60 checks, p95 around `p95` ms, no failures.
async fn baseline(store: &MemoryStore, id: &str, hour: i64, p95: u64) {
    let hours: Vec<Rollup> = (1..=BASELINE_HOURS)
        .map(|h| {
            let wobble = (h % 5) as u64 * p95 / 50;
            Rollup {
                checks: 60,
                latency: Some(Latency {
                    min: p95 / 4,
                    mean: (p95 / 2) as f64,
                    p50: p95 / 2,
                    p95: p95 + wobble,
                    max: p95 * 2,
                }),
                ..Rollup::empty(id, TargetKind::Server, Period::Hour, hour - h * HOUR_MS)
            }
        })
        .collect();
    store.put_rollups(&hours).await.unwrap();
}

/// One probe run a minute through the hour, as the probe function records them: `latency(id,
/// minute)` gives each result's latency, `None` for a failed check.
async fn probe_hour(
    store: &MemoryStore,
    ids: &[&str],
    hour: i64,
    latency: impl Fn(&str, i64) -> Option<u64>,
) {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    for (at, latest) in crate::testing::minute_runs(&ids, TargetKind::Server, hour, latency) {
        store
            .record_run(TargetKind::Server, at, &latest, true)
            .await
            .unwrap();
    }
}

async fn rollups_of(store: &MemoryStore, id: &str) -> Vec<Rollup> {
    store
        .rollups(id, TargetKind::Server, Period::Hour, 0, i64::MAX)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_slow_and_failing_target_is_named_with_figures_and_advice() {
    let store = store_with(&["calm", "slow"]).await;
    baseline(&store, "calm", HOUR, 200).await;
    baseline(&store, "slow", HOUR, 200).await;
    probe_hour(&store, &["calm", "slow"], HOUR, |id, minute| match id {
        "slow" if minute % 8 == 0 => None,
        "slow" => Some(640 + (minute as u64 % 7) * 10),
        _ => Some(100 + (minute as u64 % 7) * 10),
    })
    .await;
    let publisher = MemoryPublisher::default();
    let report = run(
        &store,
        &publisher,
        &NoSummariser,
        HOUR,
        HOUR + HOUR_MS + 60_000,
    )
    .await
    .unwrap();
    assert_eq!(report.targets, 2);
    let slow = store.digests("slow", i64::MAX, 1).await.unwrap().remove(0);
    let kinds: Vec<AnomalyKind> = slow.anomalies.iter().map(|a| a.kind).collect();
    assert!(kinds.contains(&AnomalyKind::Latency), "{slow:#?}");
    assert!(kinds.contains(&AnomalyKind::ErrorRate), "{slow:#?}");
    assert_eq!(slow.checks, 60);
    assert_eq!(slow.failures, 8);
    assert!(
        slow.summary.contains("52 of 60 checks succeeded"),
        "{}",
        slow.summary
    );
    assert!(
        slow.summary.contains("failures mostly timeout"),
        "{}",
        slow.summary
    );
    assert!(!slow.recommendations.is_empty());
    // The calm target has nothing to say: its digest is not stored, nor named globally.
    assert!(store.digests("calm", i64::MAX, 1).await.unwrap().is_empty());
    let global = store.digests(GLOBAL, i64::MAX, 1).await.unwrap().remove(0);
    assert_eq!(global, report.global);
    assert!(global.summary.contains("2 target(s)"), "{}", global.summary);
    assert!(global.summary.contains("slow"), "{}", global.summary);
    assert!(
        global.recommendations.iter().any(|r| r.starts_with("slow")),
        "{global:#?}"
    );
    assert_eq!((global.checks, global.failures), (120, 8));
    // Rollups of the hour, per target and over all.
    let hour = store
        .rollups(
            "slow",
            TargetKind::Server,
            Period::Hour,
            HOUR,
            HOUR + HOUR_MS,
        )
        .await
        .unwrap();
    assert_eq!((hour[0].checks, hour[0].failures), (60, 8));
    let all = store
        .rollups("*", TargetKind::Server, Period::Hour, HOUR, HOUR + HOUR_MS)
        .await
        .unwrap();
    assert_eq!((all[0].checks, all[0].failures), (120, 8));
    // The status page's uptime table.
    let table = store.uptime_table(TargetKind::Server).await.unwrap();
    let slow_up = table.iter().find(|t| t.target_id == "slow").unwrap();
    let day = slow_up.windows.iter().find(|w| w.window == "24h").unwrap();
    // 23 baseline hours of 60 good checks, and the hour judged.
    assert_eq!((day.checks, day.failures), (24 * 60, 8));
    assert!(publisher.sent().is_empty(), "no daily report at 15:00");
}

#[tokio::test]
async fn digesting_an_hour_again_gives_the_same_rollups_and_digests() {
    let store = store_with(&["a", "b"]).await;
    baseline(&store, "a", HOUR, 150).await;
    probe_hour(&store, &["a", "b"], HOUR, |_, m| (m != 30).then_some(100)).await;
    let publisher = MemoryPublisher::default();
    let first = run(&store, &publisher, &NoSummariser, HOUR, HOUR + HOUR_MS)
        .await
        .unwrap();
    let before = rollups_of(&store, "b").await;
    let second = run(&store, &publisher, &NoSummariser, HOUR, HOUR + 2 * HOUR_MS)
        .await
        .unwrap();
    assert_eq!(rollups_of(&store, "b").await, before);
    assert_eq!(first.global.summary, second.global.summary);
    assert_eq!(store.digests(GLOBAL, i64::MAX, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_last_hour_of_a_day_writes_day_rollups_and_one_daily_report() {
    let last = HOUR + 9 * HOUR_MS; // 23:00
    let store = store_with(&["good", "bad"]).await;
    probe_hour(&store, &["good", "bad"], last, |id, m| {
        (id == "good" || m % 2 == 0).then_some(50)
    })
    .await;
    let publisher = MemoryPublisher::default();
    // While 23:00 is still in progress: no day rollup and no report yet.
    let early = run(
        &store,
        &publisher,
        &NoSummariser,
        last,
        last + HOUR_MS - 60_000,
    )
    .await
    .unwrap();
    assert!(early.daily_reports.is_empty());
    assert!(publisher.sent().is_empty());
    let report = run(
        &store,
        &publisher,
        &NoSummariser,
        last,
        last + HOUR_MS + 300_000,
    )
    .await
    .unwrap();
    assert_eq!(report.daily_reports.len(), 1);
    let sent = publisher.sent();
    assert_eq!(sent.len(), 1);
    let text = &sent[0].text;
    assert!(text.contains("Best: good (100.00% up that day)"), "{text}");
    assert!(text.contains("Worst: bad (50.00% up that day)"), "{text}");
    let day = store
        .rollups("bad", TargetKind::Server, Period::Day, 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(day.len(), 1);
    assert_eq!((day[0].checks, day[0].failures), (60, 30));
    assert_eq!(day[0].start, Period::Day.start_of(last));
    // Again: the outbox already holds the report, nothing is sent twice.
    let again = run(&store, &publisher, &NoSummariser, last, last + 2 * HOUR_MS)
        .await
        .unwrap();

    assert!(again.daily_reports.is_empty());
    assert_eq!(publisher.sent().len(), 1);
}

/// The 30-day window of `id` in the uptime table.
async fn table_30d(store: &MemoryStore, id: &str) -> (u64, u64) {
    let table = store.uptime_table(TargetKind::Server).await.unwrap();
    let w = table
        .iter()
        .find(|t| t.target_id == id)
        .unwrap()
        .windows
        .iter()
        .find(|w| w.window == "30d")
        .unwrap()
        .clone();
    (w.checks, w.failures)
}

#[tokio::test]
async fn the_long_windows_are_read_once_and_refreshed_after_a_day_ends() {
    let store = store_with(&["a"]).await;
    let day = |start, failures| Rollup {
        checks: 1440,
        failures,
        ..Rollup::empty("a", TargetKind::Server, Period::Day, start)
    };
    let today = Period::Day.start_of(HOUR);
    store
        .put_rollups(&[day(today - 3 * DAY_MS, 10)])
        .await
        .unwrap();
    let publisher = MemoryPublisher::default();
    probe_hour(&store, &["a"], HOUR, |_, _| Some(100)).await;
    run(&store, &publisher, &NoSummariser, HOUR, HOUR + HOUR_MS)
        .await
        .unwrap();
    // The day rollup counts, with the hour just digested.
    assert_eq!(table_30d(&store, "a").await, (1440 + 60, 10));
    // A day rollup appearing now is not read by the next hour's run: the window is kept.
    store
        .put_rollups(&[day(today - 2 * DAY_MS, 20)])
        .await
        .unwrap();
    let next = HOUR + HOUR_MS;
    run(&store, &publisher, &NoSummariser, next, next + HOUR_MS)
        .await
        .unwrap();
    assert_eq!(table_30d(&store, "a").await, (1440 + 60, 10));
    // After the day's last hour the day rollups are read again, today's own included.
    let last = today + DAY_MS - HOUR_MS;
    probe_hour(&store, &["a"], last, |_, m| (m != 0).then_some(100)).await;
    run(&store, &publisher, &NoSummariser, last, last + HOUR_MS)
        .await
        .unwrap();
    // Two earlier days, and today as a day rollup of its hours: 14:00 (60 checks) and 23:00 (60, 1 failed).
    assert_eq!(table_30d(&store, "a").await, (2 * 1440 + 120, 31));
}

/// The uptime bar of `id` in the uptime table: (day start, checks, failures), oldest first.
async fn bar_of(store: &MemoryStore, id: &str) -> Vec<(i64, u64, u64)> {
    let table = store.uptime_table(TargetKind::Server).await.unwrap();
    table
        .iter()
        .find(|t| t.target_id == id)
        .unwrap()
        .days
        .iter()
        .map(|c| (c.start, c.checks, c.failures))
        .collect()
}

#[tokio::test]
async fn the_uptime_bar_holds_the_last_ninety_days_and_today_so_far() {
    use lookout_core::digest::rollup::BAR_DAYS;
    let store = store_with(&["a"]).await;
    let today = Period::Day.start_of(HOUR);
    let day = |start, checks, failures| Rollup {
        checks,
        failures,
        ..Rollup::empty("a", TargetKind::Server, Period::Day, start)
    };
    let first = today - (BAR_DAYS as i64 - 1) * DAY_MS;
    store
        .put_rollups(&[
            day(first - DAY_MS, 1440, 0),  // 90 days ago: off the bar
            day(first, 1440, 3),           // the bar's first day
            day(today - 5 * DAY_MS, 0, 0), // no checks: left out
            day(today - 2 * DAY_MS, 1440, 144),
        ])
        .await
        .unwrap();
    let publisher = MemoryPublisher::default();
    probe_hour(&store, &["a"], HOUR, |_, m| (m % 10 != 0).then_some(100)).await;
    run(&store, &publisher, &NoSummariser, HOUR, HOUR + HOUR_MS)
        .await
        .unwrap();
    assert_eq!(
        bar_of(&store, "a").await,
        vec![
            (first, 1440, 3),
            (today - 2 * DAY_MS, 1440, 144),
            (today, 60, 6)
        ]
    );
    // The next hour keeps the earlier days (a day rollup appearing now is not read) and adds
    // its hour to today's cell.
    store
        .put_rollups(&[day(today - DAY_MS, 1440, 1440)])
        .await
        .unwrap();
    let next = HOUR + HOUR_MS;
    probe_hour(&store, &["a"], next, |_, _| Some(100)).await;
    run(&store, &publisher, &NoSummariser, next, next + HOUR_MS)
        .await
        .unwrap();
    assert_eq!(
        bar_of(&store, "a").await,
        vec![
            (first, 1440, 3),
            (today - 2 * DAY_MS, 1440, 144),
            (today, 120, 6)
        ]
    );
    // After the day's last hour the day rollups are read again.
    let last = today + DAY_MS - HOUR_MS;
    probe_hour(&store, &["a"], last, |_, _| Some(100)).await;
    run(&store, &publisher, &NoSummariser, last, last + HOUR_MS)
        .await
        .unwrap();
    let bar = bar_of(&store, "a").await;
    assert_eq!(bar.len(), 4, "{bar:?}");
    assert_eq!(bar[2], (today - DAY_MS, 1440, 1440));
    assert_eq!(bar[3], (today, 180, 6));
    // The first hour of the next day: yesterday's cell kept, a new day begins.
    let tomorrow = today + DAY_MS;
    probe_hour(&store, &["a"], tomorrow, |_, _| None).await;
    run(
        &store,
        &publisher,
        &NoSummariser,
        tomorrow,
        tomorrow + HOUR_MS,
    )
    .await
    .unwrap();
    let bar = bar_of(&store, "a").await;
    assert_eq!(bar.len(), 4, "the bar's first day slid off: {bar:?}");
    assert_eq!(bar[2], (today, 180, 6));
    assert_eq!(bar[3], (tomorrow, 60, 60));
}

#[test]
fn the_bar_leaves_out_days_without_checks_and_sorts_them() {
    use super::kind::uptime_bar;
    use lookout_core::digest::rollup::DayCell;
    let today = Period::Day.start_of(HOUR);
    let cell = |start, checks| DayCell {
        start,
        checks,
        failures: 0,
    };
    let earlier = [
        cell(today - DAY_MS, 10),
        cell(today - 3 * DAY_MS, 5),
        cell(today - 2 * DAY_MS, 0),
        cell(today, 99), // an old cell of today: today counts from its hours
    ];
    let hours = [Rollup {
        checks: 7,
        ..Rollup::empty("a", TargetKind::Server, Period::Hour, today + HOUR_MS)
    }];
    assert_eq!(
        uptime_bar(today, &earlier, &hours),
        vec![
            cell(today - 3 * DAY_MS, 5),
            cell(today - DAY_MS, 10),
            cell(today, 7)
        ]
    );
    assert_eq!(uptime_bar(today, &[], &[]), vec![]);
}

/// An auto incident opened by a `down` alert for `id` at `at`.
fn auto_incident(id: &str, at: i64) -> lookout_core::domain::incident::Incident {
    let alert = Alert {
        key: format!("{id}#down#{at}"),
        kind: lookout_core::domain::AlertKind::StatusChange,
        severity: lookout_core::domain::Severity::Critical,
        target_id: id.into(),
        target_name: id.into(),
        target_kind: TargetKind::Server,
        group: "g".into(),
        old_status: lookout_core::domain::Status::Healthy,
        new_status: lookout_core::domain::Status::Down,
        at,
        subject: String::new(),
        text: String::new(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    };
    lookout_core::domain::incident::apply_alert(&[], &alert).remove(0)
}

#[tokio::test]
async fn the_run_resolves_auto_incidents_whose_targets_are_back_or_gone_and_ends_maintenance() {
    use lookout_core::domain::incident::{IncidentDraft, IncidentStatus};
    let store = store_with(&["up", "down"]).await;
    // "up" answers every check, "down" none, and its last state is down.
    probe_hour(&store, &["up", "down"], HOUR, |id, _| {
        (id == "up").then_some(100)
    })
    .await;
    let mut down = lookout_core::domain::TargetState::new("down");
    down.status = lookout_core::domain::Status::Down;
    let mut up = lookout_core::domain::TargetState::new("up");
    up.status = lookout_core::domain::Status::Healthy;
    store
        .record_run(
            TargetKind::Server,
            HOUR + HOUR_MS - 1,
            &[Latest::new(up, None), Latest::new(down, None)],
            true,
        )
        .await
        .unwrap();
    for id in ["up", "down", "gone"] {
        store.put_incident(&auto_incident(id, HOUR)).await.unwrap();
    }
    let d = IncidentDraft::parse(json!({
        "kind": "maintenance", "title": "db upgrade",
        "starts_at": "2026-11-21T14:10:00Z", "ends_at": "2026-11-21T14:20:00Z"
    }))
    .unwrap();
    let m =
        lookout_core::domain::incident::Incident::from_draft(d, "inc-m".into(), HOUR - 1).unwrap();
    store.put_incident(&m).await.unwrap();
    let publisher = MemoryPublisher::default();
    run(&store, &publisher, &NoSummariser, HOUR, HOUR + HOUR_MS)
        .await
        .unwrap();
    let status = |id: String| {
        let store = &store;
        async move { store.incident(&id).await.unwrap().unwrap() }
    };
    let up = status(format!("auto-up-{HOUR}")).await;
    assert_eq!(up.status, IncidentStatus::Resolved);
    assert_eq!(up.resolved_at, Some(HOUR + HOUR_MS));
    assert_eq!(
        up.updates.last().unwrap().changes[0].status,
        lookout_core::domain::Status::Healthy
    );
    let gone = status(format!("auto-gone-{HOUR}")).await;
    assert_eq!(gone.status, IncidentStatus::Resolved);
    let down = status(format!("auto-down-{HOUR}")).await;
    assert_eq!(down.status, IncidentStatus::Investigating);
    assert_eq!(down.version, 1);
    let m = status("inc-m".into()).await;
    assert_eq!(m.status, IncidentStatus::Completed);
    assert_eq!(m.resolved_at, m.ends_at);
    // Each change reached the subscribers once; a second run changes nothing more.
    assert_eq!(publisher.notices().len(), 3);
    run(&store, &publisher, &NoSummariser, HOUR, HOUR + HOUR_MS)
        .await
        .unwrap();
    assert_eq!(publisher.notices().len(), 3);
    assert_eq!(store.open_incidents().await.unwrap().len(), 1);
}
