//! The SLO step of the probe run on a memory store, a manual clock stepping minutes and a
//! loopback server switched between 200 and 500.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::clock::ManualClock;
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{SloStore, TargetStore};
use crate::probe::{ProbeOptions, Prober};
use crate::testing::{Reply, TestServer};
use crate::usecases::probe_run::{run, LocationSetup, ProbeRequest, RunConfig, RunReport};
use lookout_core::domain::slo::{Sli, SloSelector, SloWindow};
use lookout_core::domain::AlertKind;

/// 2030-01-01T00:00:00Z.
const T0: i64 = 1_893_456_000_000;
const MINUTE: i64 = 60_000;

fn slo(id: &str, selector: SloSelector) -> Slo {
    Slo {
        id: id.into(),
        name: format!("SLO {id}"),
        description: None,
        selector,
        objective: 99.9,
        window: SloWindow::Rolling30d,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: T0,
        updated_at: T0,
    }
}

struct Stack {
    store: MemoryStore,
    publisher: MemoryPublisher,
    prober: Prober,
    clock: ManualClock,
    config: RunConfig,
    failing: Arc<AtomicBool>,
    _server: TestServer,
}

/// A loopback server (200, or 500 while `failing`), `targets` (`{url}` in a string is the
/// server's address) and `slos` on a memory store, with a manual clock at [`T0`].
async fn stack(targets: Value, slos: Vec<Slo>) -> Stack {
    let failing = Arc::new(AtomicBool::new(false));
    let f = failing.clone();
    let server = TestServer::start(move |_| {
        if f.load(Ordering::SeqCst) {
            Reply::text(500, "down")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let store = MemoryStore::default();
    let text = targets.to_string().replace("{url}", &server.url);
    for t in serde_json::from_str::<Vec<Value>>(&text).unwrap() {
        let t = Target::from_json(t).unwrap();
        store.create_target(&t).await.unwrap();
    }
    for s in &slos {
        store.put_slo(s).await.unwrap();
    }
    let clock = ManualClock::at(T0);
    Stack {
        store,
        publisher: MemoryPublisher::default(),
        prober: Prober::with_options(ProbeOptions::allow_private()).unwrap(),
        config: RunConfig {
            clock: Arc::new(clock.clone()),
            ..RunConfig::new(4)
        },
        clock,
        failing,
        _server: server,
    }
}

impl Stack {
    /// One scheduled invocation of `kinds`, then the clock a minute on.
    async fn minute(&self, kinds: &[TargetKind]) -> RunReport {
        let request = ProbeRequest {
            force: false,
            ..ProbeRequest::forced(kinds)
        };
        let report = run(
            &self.store,
            &self.publisher,
            &self.prober,
            &request,
            &self.config,
        )
        .await
        .unwrap();
        self.clock.advance(MINUTE);
        report
    }

    /// The SLO alerts published so far: (kind, `page`/`ticket`).
    fn slo_sent(&self) -> Vec<(AlertKind, String)> {
        self.publisher
            .sent()
            .iter()
            .filter(|a| a.kind.is_slo())
            .map(|a| (a.kind, a.slo.as_ref().unwrap().alert.clone()))
            .collect()
    }

    async fn record(&self, id: &str) -> SloRecord {
        self.store.slo_record(id).await.unwrap().unwrap()
    }
}

fn server(id: &str, extra: Value) -> Value {
    let mut t = json!({"id": id, "group": "shop", "kind": "server",
        "url": format!("{{url}}/{id}"), "interval_s": 60});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

#[tokio::test]
async fn a_failing_target_pages_within_the_short_window_once_and_resolves_after_recovery() {
    let s = stack(
        json!([server("api", json!({}))]),
        vec![slo("checkout", SloSelector::Group("shop".into()))],
    )
    .await;
    let server_kind = [TargetKind::Server];
    for _ in 0..60 {
        s.minute(&server_kind).await;
    }
    assert!(s.slo_sent().is_empty());
    s.failing.store(true, Ordering::SeqCst);
    let mut paged_after = None;
    for round in 1..=5 {
        let report = s.minute(&server_kind).await;
        if report.alerts.iter().any(|a| a.kind == AlertKind::SloBurn) {
            paged_after = Some(round);
            break;
        }
    }
    // 1 bad check and 59 good ones in the last hour burn 16.7x: page_1h at the first failure.
    assert_eq!(
        paged_after,
        Some(1),
        "the page comes within the 5-minute short window"
    );
    assert_eq!(
        s.slo_sent(),
        vec![
            (AlertKind::SloBurn, "page".to_string()),
            (AlertKind::SloBurn, "ticket".to_string())
        ]
    );
    for _ in 0..9 {
        s.minute(&server_kind).await;
    }
    assert_eq!(
        s.slo_sent().len(),
        2,
        "no second page while it keeps failing"
    );
    s.failing.store(false, Ordering::SeqCst);
    let mut resolved_after = None;
    for round in 1..=31 {
        let report = s.minute(&server_kind).await;
        if report
            .alerts
            .iter()
            .any(|a| a.kind == AlertKind::SloBurnResolved)
        {
            resolved_after = Some(round);
            break;
        }
    }
    // The page fired for page_1h and page_6h: it stops when page_6h's 30-minute short window
    // holds no failure any more.
    assert_eq!(resolved_after, Some(30));
    assert_eq!(
        s.slo_sent()[2..],
        [(AlertKind::SloBurnResolved, "page".to_string())]
    );
    let record = s.record("checkout").await;
    let total = record.series.since(T0, T0 + 200 * MINUTE);
    assert_eq!(
        (total.total, total.good),
        (100, 90),
        "every check counted once"
    );
    assert_eq!(record.version, 100, "one write per round");
    assert!(record.alerts.firing.contains_key("ticket"));
    assert!(!record.alerts.firing.contains_key("page"));
}

#[tokio::test]
async fn a_tag_slo_over_both_kinds_counts_each_check_once_in_one_record() {
    let s = stack(
        json!([
            server("s1", json!({"tags": ["shop"]})),
            {"id": "p1", "group": "pool", "kind": "proxy", "proxy_url": "{url}",
             "test_urls": ["{url}/p"], "tags": ["shop"]},
            server("other", json!({})),
        ]),
        vec![slo("shop", SloSelector::Tag("shop".into()))],
    )
    .await;
    for _ in 0..3 {
        s.minute(&[TargetKind::Server, TargetKind::Proxy]).await;
    }
    assert_eq!(
        s.store.slo_record_reads(),
        3,
        "read once per invocation, then kept with its version"
    );
    // The proxy kind on its own, as another invocation would.
    s.minute(&[TargetKind::Proxy]).await;
    let record = s.record("shop").await;
    let c = record.series.since(T0, T0 + 10 * MINUTE);
    assert_eq!(c.total, 7, "3 server and 4 proxy checks: {c:?}");
    assert_eq!(record.version, 7, "each round of each kind writes it once");
}

#[tokio::test]
async fn conflicting_writers_reread_and_count_exactly() {
    let store = MemoryStore::default();
    let s = slo("shop", SloSelector::Tag("shop".into()));
    store.put_slo(&s).await.unwrap();
    let t = Target::from_json(json!({"id": "s1", "group": "g", "kind": "server",
        "url": "https://s1.example/", "tags": ["shop"]}))
    .unwrap();
    let mut a = SloRun::load(&store, false, [&t].into_iter()).await;
    let mut b = SloRun::load(&store, false, [&t].into_iter()).await;
    let good = |at| SloCount {
        slo: 0,
        at,
        event: SliEvent::Good,
    };
    let bad = |at| SloCount {
        slo: 0,
        at,
        event: SliEvent::Bad,
    };
    assert!(a
        .commit_round(&store, TargetKind::Server, T0, &[good(T0)])
        .await
        .is_empty());
    // b (another shard, another kind's invocation) reads version 1 and writes 2, paging.
    let paged = b
        .commit_round(&store, TargetKind::Proxy, T0, &[bad(T0)])
        .await;
    assert_eq!(paged.len(), 2, "{paged:?}");
    // a still holds version 1: its write conflicts, it reads 2 and writes 3, raising nothing
    // new (the alerts fire already).
    let again = a
        .commit_round(
            &store,
            TargetKind::Server,
            T0 + MINUTE,
            &[good(T0 + MINUTE)],
        )
        .await;
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(a.errors, 0);
    let r = store.slo_record("shop").await.unwrap().unwrap();
    assert_eq!(r.version, 3);
    let c = r.series.since(T0, T0 + MINUTE);
    assert_eq!((c.total, c.good), (3, 2));
    assert_eq!(store.outbox().len(), 2, "each alert once");
}

#[tokio::test]
async fn a_store_error_keeps_the_events_for_the_next_round_and_the_status_work_goes_on() {
    let s = stack(
        json!([server("api", json!({"failure_threshold": 1}))]),
        vec![slo("checkout", SloSelector::Target("api".into()))],
    )
    .await;
    s.store.set_failing_slo_records(true);
    s.failing.store(true, Ordering::SeqCst);
    let report = s.minute(&[TargetKind::Server]).await;
    assert!(report.slo_errors >= 1);
    assert!(
        report
            .alerts
            .iter()
            .any(|a| a.kind == AlertKind::StatusChange),
        "the target's own alert went out: {:?}",
        report.alerts
    );
    // Within one invocation: the events wait in memory for the next round.
    let t = s.store.list_targets(None).await.unwrap();
    let mut run = SloRun::load(&s.store, false, t.iter()).await;
    let one = |at| SloCount {
        slo: 0,
        at,
        event: SliEvent::Good,
    };
    run.commit_round(&s.store, TargetKind::Server, T0, &[one(T0)])
        .await;
    assert_eq!(run.errors, 1);
    s.store.set_failing_slo_records(false);
    run.commit_round(
        &s.store,
        TargetKind::Server,
        T0 + MINUTE,
        &[one(T0 + MINUTE)],
    )
    .await;
    let r = s.record("checkout").await;
    assert_eq!(r.series.since(T0, T0 + MINUTE).total, 2);
}

#[tokio::test]
async fn maintenance_over_every_target_silences_the_alerts_and_their_resolve() {
    let mut quiet = slo("checkout", SloSelector::Group("shop".into()));
    quiet.exclude_maintenance = false;
    let s = stack(
        json!([server(
            "api",
            json!({"maintenance": [
            {"start": "2029-12-31T00:00:00Z", "end": "2030-01-02T00:00:00Z"}]})
        )]),
        vec![quiet],
    )
    .await;
    s.failing.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        s.minute(&[TargetKind::Server]).await;
    }
    let record = s.record("checkout").await;
    assert!(record.alerts.firing["page"].silenced, "{:?}", record.alerts);
    s.failing.store(false, Ordering::SeqCst);
    for _ in 0..31 {
        s.minute(&[TargetKind::Server]).await;
    }
    assert!(!s
        .record("checkout")
        .await
        .alerts
        .firing
        .contains_key("page"));
    assert!(s.slo_sent().is_empty(), "{:?}", s.slo_sent());
    assert!(s.store.outbox().iter().all(|(a, _)| !a.kind.is_slo()));
}

#[tokio::test]
async fn an_slo_with_alerts_off_records_its_firing_but_sends_nothing() {
    let mut off = slo("checkout", SloSelector::Group("shop".into()));
    off.alerts = false;
    let s = stack(json!([server("api", json!({}))]), vec![off]).await;
    s.failing.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        s.minute(&[TargetKind::Server]).await;
    }
    let record = s.record("checkout").await;
    assert!(record.alerts.firing["page"].silenced);
    assert!(record.alerts.firing["ticket"].silenced);
    assert!(s.slo_sent().is_empty());
}

#[tokio::test]
async fn a_remote_locations_round_counts_nothing() {
    let s = stack(
        json!([server("api", json!({}))]),
        vec![slo("checkout", SloSelector::Group("shop".into()))],
    )
    .await;
    s.store.set_failing_slo_records(true);
    let mut config = s.config.clone();
    config.locations = Some(LocationSetup {
        name: "us-east-1".into(),
        home: "eu-west-1".into(),
        all: vec!["eu-west-1".into(), "us-east-1".into()],
        grace_ms: 180_000,
    });
    let request = ProbeRequest::forced(&[TargetKind::Server]);
    let report = run(&s.store, &s.publisher, &s.prober, &request, &config)
        .await
        .unwrap();
    assert_eq!(report.runs[0].checked, 1);
    assert_eq!(report.slo_errors, 0, "no record read or written");
    s.store.set_failing_slo_records(false);
    assert!(s.store.slo_record("checkout").await.unwrap().is_none());
}

#[tokio::test]
async fn a_round_without_slos_or_without_events_reads_no_record() {
    let s = stack(
        json!([server("api", json!({}))]),
        vec![slo("elsewhere", SloSelector::Group("nobody".into()))],
    )
    .await;
    // Any record read or write would fail and be counted.
    s.store.set_failing_slo_records(true);
    let report = s.minute(&[TargetKind::Server]).await;
    assert_eq!(report.runs[0].checked, 1);
    assert_eq!(
        report.slo_errors, 0,
        "an SLO without events reads no record"
    );
    s.store.delete_slo("elsewhere").await.unwrap();
    let report = s.minute(&[TargetKind::Server]).await;
    assert_eq!((report.runs[0].checked, report.slo_errors), (1, 0));
    assert_eq!(s.store.slo_record_reads(), 0);
}

#[tokio::test]
async fn the_home_location_counts_the_targets_it_decides_from_the_others_verdicts() {
    let s = stack(
        json!([server("api", json!({"locations": ["us-east-1"]}))]),
        vec![slo("checkout", SloSelector::Group("shop".into()))],
    )
    .await;
    let at = |name: &str| {
        let mut config = s.config.clone();
        config.locations = Some(LocationSetup {
            name: name.into(),
            home: "eu-west-1".into(),
            all: vec!["eu-west-1".into(), "us-east-1".into()],
            grace_ms: 180_000,
        });
        config
    };
    let request = ProbeRequest::forced(&[TargetKind::Server]);
    let remote = run(
        &s.store,
        &s.publisher,
        &s.prober,
        &request,
        &at("us-east-1"),
    )
    .await
    .unwrap();
    assert_eq!(remote.runs[0].checked, 1);
    assert!(s.store.slo_record("checkout").await.unwrap().is_none());
    let home = run(
        &s.store,
        &s.publisher,
        &s.prober,
        &request,
        &at("eu-west-1"),
    )
    .await
    .unwrap();
    assert_eq!(home.runs[0].checked, 0, "home does not probe it");
    let record = s.record("checkout").await;
    let c = record.series.since(T0, T0 + MINUTE);
    assert_eq!(
        (c.total, c.good),
        (1, 1),
        "decided from us-east-1's verdict: {c:?}"
    );
}
