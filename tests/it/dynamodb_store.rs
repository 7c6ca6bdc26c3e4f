//! The DynamoDB adapter against DynamoDB Local.

use crate::common;

use lookout_app::ports::{
    Latest, Outbox, RunRecord, RunStore, StateStore, StoreError, TargetStore,
};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::{
    Alert, AlertKind, CheckResult, Outcome, Severity, Status, Target, TargetKind, TargetState,
};
use serde_json::json;

async fn store() -> DynamoStore {
    let aws = common::aws().await;
    let (client, table) = common::fresh_table(&aws).await;
    DynamoStore::new(client, table, 30)
}

fn target(id: &str, kind: &str) -> Target {
    let v = if kind == "proxy" {
        json!({"id":id,"group":"pool","kind":"proxy","proxy_url":"http://u:p@127.0.0.1:1","test_urls":["http://127.0.0.1:2/"]})
    } else {
        json!({"id":id,"group":"api","kind":"server","url":"http://127.0.0.1:1/"})
    };
    serde_json::from_value::<Target>(v)
        .unwrap()
        .validate()
        .unwrap()
}

fn alert(id: &str, at: i64) -> Alert {
    Alert {
        key: format!("{id}#down#{at}"),
        kind: AlertKind::StatusChange,
        severity: Severity::Critical,
        target_id: id.into(),
        target_name: id.into(),
        target_kind: TargetKind::Server,
        group: "api".into(),
        old_status: Status::Healthy,
        new_status: Status::Down,
        at,
        subject: "down".into(),
        text: "down".into(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    }
}

/// What one delivery does to the row: claims it, then marks it published.
async fn claim_and_mark(store: &DynamoStore, a: &Alert) {
    let now = lookout_core::time::now_ms();
    assert!(store
        .claim_alert(a, "marker", now, now + 60_000)
        .await
        .unwrap());
    store.mark_published(a, "marker").await.unwrap();
}

#[tokio::test]
async fn targets_round_trip_by_kind_and_a_second_create_conflicts() {
    let store = store().await;
    let created = store.create_target(&target("s1", "server")).await.unwrap();
    assert_eq!(created.version, 1);
    store.create_target(&target("p1", "proxy")).await.unwrap();
    let err = store
        .create_target(&target("s1", "server"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let servers = store.list_targets(Some(TargetKind::Server)).await.unwrap();
    assert_eq!(servers, vec![created]);
    let all: Vec<String> = store
        .list_targets(None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all, vec!["p1", "s1"]);
}

#[tokio::test]
async fn a_change_without_alerts_is_one_conditional_put_that_conflicts_on_a_stale_version() {
    let store = store().await;
    let mut state = TargetState::new("s1");
    state.status = Status::Healthy;
    store.commit_change(&state, &[]).await.unwrap();
    assert_eq!(store.load_state("s1").await.unwrap().unwrap().version, 1);
    // Version 0 again: the item exists now.
    let err = store.commit_change(&state, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    state.version = 1;
    state.status = Status::Down;
    store.commit_change(&state, &[]).await.unwrap();
    // Version 1 again: the stored one is 2.
    let err = store.commit_change(&state, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let stored = store.load_state("s1").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.status), (2, Status::Down));
    assert!(store.pending_alerts(i64::MAX).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_status_change_writes_state_and_pending_alerts_together_and_a_stale_version_conflicts() {
    let store = store().await;
    let now = lookout_core::time::now_ms();
    let mut state = TargetState::new("s1");
    state.status = Status::Down;
    store
        .commit_change(&state, &[alert("s1", now)])
        .await
        .unwrap();
    // The same version again lost the race: nothing is written, not even the alert.
    let err = store
        .commit_change(&state, &[alert("s1", now + 1)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let pending = store.pending_alerts(now).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, format!("s1#down#{now}"));
    state.version = 1;
    store.commit_change(&state, &[]).await.unwrap();
    claim_and_mark(&store, &pending[0]).await;
    assert!(store.pending_alerts(now).await.unwrap().is_empty());
}

#[tokio::test]
async fn snapshots_of_more_than_one_chunk_round_trip_and_the_newest_run_wins() {
    let store = store().await;
    let latest = |n: usize, at: i64| -> Vec<Latest> {
        (0..n)
            .map(|i| {
                let id = format!("t{i:03}");
                let mut state = TargetState::new(&id);
                state.checks = at as u64;
                let result = CheckResult {
                    target_id: id,
                    kind: TargetKind::Server,
                    at,
                    outcome: Outcome::Up,
                    status_code: Some(200),
                    latency_ms: 5,
                    connect_ms: None,
                    ttfb_ms: None,
                    cert_days_left: None,
                    bytes: 10,
                    attempts: 1,
                    error: None,
                    message: None,
                };
                Latest::new(state, Some(result))
            })
            .collect()
    };
    store
        .record_run(TargetKind::Server, 1_000, &latest(350, 1_000), true)
        .await
        .unwrap();
    assert_eq!(store.latest(TargetKind::Server).await.unwrap().len(), 350);
    // A later run with fewer targets: the two left-over chunks of the old run are deleted.
    store
        .record_run(TargetKind::Server, 2_000, &latest(120, 2_000), true)
        .await
        .unwrap();
    let got = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(got.len(), 120);
    assert!(got.values().all(|l| l.state.checks == 2_000));
    assert!(store.latest(TargetKind::Proxy).await.unwrap().is_empty());
    // The history holds both runs' results, across every chunk, by time.
    use lookout_app::ports::HistoryStore;
    let all = store
        .history(TargetKind::Server, 0, 5_000, 350)
        .await
        .unwrap();
    assert_eq!(all.len(), 350 + 120);
    assert!(all.windows(2).all(|w| w[0].at <= w[1].at));
    let later = store
        .history(TargetKind::Server, 1_500, 5_000, 350)
        .await
        .unwrap();
    assert_eq!(later.len(), 120);
}

#[tokio::test]
async fn the_newest_run_record_is_the_last_run() {
    let store = store().await;
    for (i, at) in [1_000, 3_000, 2_000].into_iter().enumerate() {
        let run = RunRecord {
            run_id: format!("r{i}"),
            kind: TargetKind::Proxy,
            started_at: at,
            duration_ms: 1,
            checked: 1,
            ok: 1,
            changes: 0,
            alerts_published: 0,
            alerts_pending: 0,
            skipped: 0,
            shards: None,
            shards_done: None,
        };
        store.put_run(&run).await.unwrap();
    }
    assert_eq!(
        store
            .last_run(TargetKind::Proxy)
            .await
            .unwrap()
            .unwrap()
            .run_id,
        "r1"
    );
    assert!(store.last_run(TargetKind::Server).await.unwrap().is_none());
}

#[tokio::test]
async fn an_alert_pending_for_days_is_still_offered_for_publishing() {
    let store = store().await;
    let now = lookout_core::time::now_ms();
    let old = now - 3 * 86_400_000;
    let mut state = TargetState::new("s1");
    state.status = Status::Down;
    store
        .commit_change(&state, &[alert("s1", old)])
        .await
        .unwrap();
    let pending = store.pending_alerts(now).await.unwrap();
    assert_eq!(pending.iter().map(|a| a.at).collect::<Vec<_>>(), vec![old]);
    claim_and_mark(&store, &pending[0]).await;
    assert!(store.pending_alerts(now).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_run_lease_admits_one_holder_until_it_expires_or_is_released() {
    use lookout_app::ports::{Lease, RunLease};
    let store = store().await;
    let k = TargetKind::Server;
    assert_eq!(
        store
            .acquire_lease(k, "a", 1_000, 61_000, Some("ev1"))
            .await
            .unwrap(),
        Lease::Acquired
    );
    assert_eq!(
        store
            .acquire_lease(k, "b", 2_000, 62_000, Some("ev2"))
            .await
            .unwrap(),
        Lease::Busy { until_ms: 61_000 }
    );
    assert_eq!(
        store
            .acquire_lease(TargetKind::Proxy, "b", 2_000, 62_000, None)
            .await
            .unwrap(),
        Lease::Acquired,
        "kinds have their own lease"
    );
    // A release by someone else does nothing.
    store.release_lease(k, "b", Some("ev2")).await.unwrap();
    assert!(matches!(
        store
            .acquire_lease(k, "c", 3_000, 63_000, None)
            .await
            .unwrap(),
        Lease::Busy { .. }
    ));
    store.release_lease(k, "a", Some("ev1")).await.unwrap();
    assert_eq!(
        store
            .acquire_lease(k, "d", 4_000, 64_000, Some("ev1"))
            .await
            .unwrap(),
        Lease::AlreadyDone,
        "the same event again"
    );
    // An expired lease is taken over.
    assert_eq!(
        store
            .acquire_lease(k, "e", 5_000, 65_000, Some("ev3"))
            .await
            .unwrap(),
        Lease::Acquired
    );
    assert_eq!(
        store
            .acquire_lease(k, "f", 70_000, 130_000, Some("ev4"))
            .await
            .unwrap(),
        Lease::Acquired
    );
}

#[tokio::test]
async fn enqueued_alerts_are_written_once_and_pending() {
    let store = store().await;
    let a = alert("grp", 5_000);
    assert_eq!(
        store.enqueue(std::slice::from_ref(&a)).await.unwrap().len(),
        1
    );
    assert!(
        store
            .enqueue(std::slice::from_ref(&a))
            .await
            .unwrap()
            .is_empty(),
        "same key and time"
    );
    let pending = store.pending_alerts(0).await.unwrap();
    assert_eq!(pending, vec![a.clone()]);
    claim_and_mark(&store, &a).await;
    assert!(
        store
            .enqueue(std::slice::from_ref(&a))
            .await
            .unwrap()
            .is_empty(),
        "published stays published"
    );
    assert!(store.pending_alerts(0).await.unwrap().is_empty());
    use lookout_app::ports::AlertLog;
    let log = store.alerts(0, 10_000).await.unwrap();
    assert_eq!(
        (log.len(), log[0].published, log[0].alert.key.as_str()),
        (1, true, a.key.as_str())
    );
    assert!(
        store.alerts(6_000, 10_000).await.unwrap().is_empty(),
        "outside the window"
    );
}

#[tokio::test]
async fn target_updates_need_the_stored_version_and_deletes_take_the_state_too() {
    let store = store().await;
    let created = store.create_target(&target("web", "server")).await.unwrap();
    let mut changed = created.clone();
    changed.interval_s = 30;
    let saved = store
        .update_target(&changed, created.version)
        .await
        .unwrap();
    assert_eq!(saved.version, created.version + 1);
    assert!(matches!(
        store.update_target(&changed, created.version).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_target("web").await.unwrap().unwrap().interval_s,
        30
    );
    assert!(store.delete_target("web").await.unwrap());
    assert!(!store.delete_target("web").await.unwrap());
    assert!(store.get_target("web").await.unwrap().is_none());
}

#[tokio::test]
async fn an_alert_claim_admits_one_delivery_until_it_expires_and_only_its_holder_marks_it() {
    use lookout_app::ports::AlertLog;
    let store = store().await;
    let a = alert("s1", 7_000);
    store.enqueue(std::slice::from_ref(&a)).await.unwrap();
    assert!(store
        .claim_alert(&a, "run-a", 10_000, 20_000)
        .await
        .unwrap());
    assert!(
        !store
            .claim_alert(&a, "run-b", 15_000, 25_000)
            .await
            .unwrap(),
        "claimed until 20 s"
    );
    assert_eq!(
        store.pending_alerts(0).await.unwrap(),
        vec![a.clone()],
        "a claimed row is still offered (its claim may expire)"
    );
    let err = store.mark_published(&a, "run-b").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // run-b's release of a claim it does not hold changes nothing.
    store.release_claim(&a, "run-b").await.unwrap();
    assert!(!store
        .claim_alert(&a, "run-c", 16_000, 26_000)
        .await
        .unwrap());
    // The claim expired: another delivery takes it, and the first can no longer mark.
    assert!(store
        .claim_alert(&a, "run-c", 20_001, 30_000)
        .await
        .unwrap());
    let err = store.mark_published(&a, "run-a").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    store.mark_published(&a, "run-c").await.unwrap();
    assert!(store.pending_alerts(0).await.unwrap().is_empty());
    assert!(
        !store
            .claim_alert(&a, "run-d", 99_000, 100_000)
            .await
            .unwrap(),
        "published rows are never claimed again"
    );
    assert!(store.alerts(0, 10_000).await.unwrap()[0].published);
    // No row: nothing to claim.
    assert!(!store
        .claim_alert(&alert("none", 8_000), "run-e", 0, 1)
        .await
        .unwrap());
}

#[tokio::test]
async fn a_released_claim_is_pending_again_for_the_next_delivery() {
    let store = store().await;
    let a = alert("s1", 7_000);
    store.enqueue(std::slice::from_ref(&a)).await.unwrap();
    assert!(store
        .claim_alert(&a, "run-a", 10_000, 200_000)
        .await
        .unwrap());
    store.release_claim(&a, "run-a").await.unwrap();
    assert!(store
        .claim_alert(&a, "run-b", 11_000, 200_000)
        .await
        .unwrap());
    let err = store.mark_published(&a, "run-a").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn a_lease_is_renewed_only_by_its_holder_and_an_operator_break_ends_it_for_everyone() {
    use lookout_app::ports::{Lease, RunLease};
    let store = store().await;
    let k = TargetKind::Server;
    assert!(store.leases().await.unwrap().is_empty());
    assert!(!store.break_lease(k, 0).await.unwrap(), "nothing held");
    assert!(
        store.leases().await.unwrap().is_empty(),
        "and nothing written"
    );
    assert_eq!(
        store
            .acquire_lease(k, "a", 1_000, 61_000, Some("ev1"))
            .await
            .unwrap(),
        Lease::Acquired
    );
    assert!(store.renew_lease(k, "a", 81_000).await.unwrap());
    assert!(!store.renew_lease(k, "b", 99_000).await.unwrap());
    assert_eq!(
        store
            .acquire_lease(k, "b", 70_000, 130_000, None)
            .await
            .unwrap(),
        Lease::Busy { until_ms: 81_000 },
        "renewed past its first end"
    );
    let leases = store.leases().await.unwrap();
    assert_eq!(
        (
            leases.len(),
            leases[0].holder.as_deref(),
            leases[0].until_ms
        ),
        (1, Some("a"), 81_000)
    );
    assert!(store.break_lease(k, 75_000).await.unwrap());
    assert!(
        !store.renew_lease(k, "a", 99_000).await.unwrap(),
        "the holder finds it lost"
    );
    assert_eq!(
        store
            .acquire_lease(k, "b", 76_000, 136_000, None)
            .await
            .unwrap(),
        Lease::Acquired
    );
    // A release by the holder stays a release, even if a renewal comes after it.
    store.release_lease(k, "b", Some("ev2")).await.unwrap();
    assert!(!store.renew_lease(k, "b", 199_000).await.unwrap());
    let lease = &store.leases().await.unwrap()[0];
    assert_eq!(
        (lease.until_ms, lease.done_event.as_deref()),
        (0, Some("ev2"))
    );
    assert!(
        !store.break_lease(k, 80_000).await.unwrap(),
        "released already"
    );
}

/// A run that takes `kind`'s lease now with the short `timing`, as the probe does.
async fn take(
    store: &DynamoStore,
    holder: &str,
    timing: &lookout_app::lease::LeaseTiming,
) -> lookout_app::ports::Lease {
    use lookout_app::ports::RunLease;
    let now = lookout_core::time::now_ms();
    store
        .acquire_lease(
            TargetKind::Server,
            holder,
            now,
            timing.until(now, None),
            None,
        )
        .await
        .unwrap()
}

const SHORT: lookout_app::lease::LeaseTiming = lookout_app::lease::LeaseTiming {
    lease_ms: 1_500,
    every_ms: 400,
};

#[tokio::test]
async fn a_renewing_holder_keeps_its_lease_past_the_first_until() {
    use lookout_app::ports::Lease;
    let store = store().await;
    let started = lookout_core::time::now_ms();
    assert_eq!(take(&store, "a", &SHORT).await, Lease::Acquired);
    let work = async {
        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
        take(&store, "b", &SHORT).await
    };
    let (other, beat) = lookout_app::lease::hold_lease(
        &store,
        &[TargetKind::Server],
        "a",
        started,
        None,
        &SHORT,
        work,
    )
    .await;
    assert!(
        matches!(other, Lease::Busy { until_ms } if until_ms > started + 2_500),
        "1 s past the first lease's end, still held: {other:?}"
    );
    assert!(beat.renewals >= 5 && beat.lost.is_empty(), "{beat:?}");
}

#[tokio::test]
async fn a_lease_whose_holder_stopped_renewing_is_taken_after_one_short_lease() {
    use lookout_app::ports::Lease;
    let store = store().await;
    let started = lookout_core::time::now_ms();
    assert_eq!(take(&store, "crashed", &SHORT).await, Lease::Acquired);
    // The holder works a second, renewing, then dies: no release, no more renewals.
    let ((), _) = lookout_app::lease::hold_lease(
        &store,
        &[TargetKind::Server],
        "crashed",
        started,
        None,
        &SHORT,
        tokio::time::sleep(std::time::Duration::from_millis(1_000)),
    )
    .await;
    let died = std::time::Instant::now();
    let mut taken_after = None;
    for _ in 0..60 {
        if take(&store, "next", &SHORT).await == Lease::Acquired {
            taken_after = Some(died.elapsed());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let after = taken_after.expect("taken within 6 s");
    assert!(
        after >= std::time::Duration::from_millis(500)
            && after <= std::time::Duration::from_millis(2_000),
        "taken once the last renewal's lease ran out (at most 1.5 s after the death): {after:?}"
    );
}

#[tokio::test]
async fn the_admin_route_lists_and_releases_a_held_lease_so_the_next_run_starts() {
    use lookout_app::ports::{Lease, RunLease};
    let aws = common::aws().await;
    let (client, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(client.clone(), table.clone(), 30);
    let app = std::sync::Arc::new(api::App {
        admin_token: Some("admin".into()),
        ..api::App::local(DynamoStore::new(client, table, 30))
    });
    let now = lookout_core::time::now_ms();
    let until = now + lookout_app::lease::LEASE_MS;
    assert_eq!(
        store
            .acquire_lease(TargetKind::Proxy, "stuck-run", now, until, None)
            .await
            .unwrap(),
        Lease::Acquired
    );
    let (status, body) = common::call(&app, "GET", "/v1/leases", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["leases"][0]["kind"], "server");
    assert_eq!(body["leases"][0]["held"], false);
    assert_eq!(body["leases"][1]["kind"], "proxy");
    assert_eq!(body["leases"][1]["holder"], "stuck-run");
    assert_eq!(body["leases"][1]["held"], true);
    assert_eq!(body["leases"][1]["until_ms"], until);
    assert_eq!(
        body["leases"][1]["until"],
        lookout_core::time::rfc3339(until)
    );
    assert!(matches!(
        store
            .acquire_lease(TargetKind::Proxy, "next-run", now + 1, now + 60_001, None)
            .await
            .unwrap(),
        Lease::Busy { .. }
    ));
    let (status, body) = common::call(&app, "DELETE", "/v1/leases/proxy", "").await;
    assert_eq!((status, body), (204, serde_json::Value::Null));
    assert_eq!(
        store
            .acquire_lease(TargetKind::Proxy, "next-run", now + 2, now + 60_002, None)
            .await
            .unwrap(),
        Lease::Acquired
    );
    assert!(
        !store
            .renew_lease(TargetKind::Proxy, "stuck-run", now + 120_000)
            .await
            .unwrap(),
        "the stuck run's heartbeat finds it lost"
    );
    // Nothing held: still 204. An unknown kind: 400 naming the field.
    let (status, _) = common::call(&app, "DELETE", "/v1/leases/server", "").await;
    assert_eq!(status, 204);
    let (status, body) = common::call(&app, "DELETE", "/v1/leases/db", "").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("kind:"),
        "{body}"
    );
}
