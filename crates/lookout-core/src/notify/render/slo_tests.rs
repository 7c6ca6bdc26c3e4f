//! SLO alerts on the channels: incident channels open and close one incident per SLO and
//! alert, routes take them by kind, severity, group and tag, and every language titles them.

use serde_json::Value;

use crate::domain::slo::{
    evaluate, slo_alerts, status, AlertContext, Sli, SliEvent, Slo, SloAlertState, SloSelector,
    SloSeries, SloWindow,
};
use crate::domain::{Alert, AlertKind, Severity, TargetKind};
use crate::notify::channel::{Channel, ChannelConfig, Language, Route};
use crate::notify::render::{render, Endpoints, Outbound, Rendered};
use crate::time::{HOUR_MS, MINUTE_MS};

fn slo() -> Slo {
    Slo {
        id: "checkout".into(),
        name: "Checkout API".into(),
        description: None,
        selector: SloSelector::Group("shop".into()),
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

/// The page and ticket alerts of a one-minute outage after a clean hour, then the page's
/// resolve 30 minutes later.
fn alerts() -> (Vec<Alert>, Alert) {
    let s = slo();
    let mut series = SloSeries::default();
    let t0 = 1_000 * HOUR_MS;
    for m in 0..60 {
        series.add(t0 + m * MINUTE_MS, SliEvent::Good);
    }
    let now = t0 + 60 * MINUTE_MS;
    series.add(now, SliEvent::Bad);
    let mut state = SloAlertState::default();
    let targets = vec!["web".to_string()];
    let mut raise = |series: &SloSeries, at: i64| {
        let v = evaluate(&s, series, at);
        let events = state.step(&v, at, false);
        let st = status(&s, series, at);
        let ctx = AlertContext {
            target_kind: TargetKind::Server,
            targets: &targets,
            verdicts: &v,
            status: &st,
        };
        slo_alerts(&s, &ctx, &events)
    };
    let fired = raise(&series, now);
    for m in 1..=30 {
        series.add(now + m * MINUTE_MS, SliEvent::Good);
    }
    let mut resolved = raise(&series, now + 30 * MINUTE_MS);
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    (fired, resolved.remove(0))
}

fn channel(config: ChannelConfig, route: Route) -> Channel {
    Channel {
        id: "ops".into(),
        name: "Ops".into(),
        config,
        enabled: true,
        language: Language::En,
        route,
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

fn pagerduty() -> ChannelConfig {
    ChannelConfig::Pagerduty {
        routing_key: "R0UTINGKEYR0UTINGKEYR0UTINGKEY32".into(),
    }
}

fn endpoints() -> Endpoints {
    Endpoints {
        telegram: "http://127.0.0.1:9001".into(),
        pagerduty: "http://127.0.0.1:9002/".into(),
        opsgenie: "http://127.0.0.1:9003".into(),
    }
}

fn bodies(r: Rendered) -> Vec<(Outbound, Value)> {
    match r {
        Rendered::Http(v) => v
            .into_iter()
            .map(|o| {
                let b = serde_json::from_slice(&o.body).unwrap();
                (o, b)
            })
            .collect(),
        other => panic!("expected HTTP, got {other:?}"),
    }
}

#[test]
fn pagerduty_opens_one_incident_per_slo_and_alert_and_closes_it_on_the_resolve() {
    let (fired, resolved) = alerts();
    let c = channel(pagerduty(), Route::default());
    let page = bodies(render(&c, &fired[0], &endpoints())).remove(0).1;
    assert_eq!(page["event_action"], "trigger");
    assert_eq!(page["dedup_key"], "lookout/slo/checkout/page");
    assert_eq!(page["payload"]["severity"], "critical");
    assert_eq!(page["payload"]["class"], "slo_burn");
    assert_eq!(page["payload"]["source"], "lookout/slo/checkout/page");
    let details = &page["payload"]["custom_details"];
    assert_eq!(details["slo_id"], "checkout");
    assert_eq!(details["slo_rules"], "page_1h,page_6h");
    assert!(page["payload"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("SLO Checkout API is burning its error budget"));
    let ticket = bodies(render(&c, &fired[1], &endpoints())).remove(0).1;
    assert_eq!(ticket["dedup_key"], "lookout/slo/checkout/ticket");
    assert_eq!(ticket["payload"]["severity"], "warning");
    let close = bodies(render(&c, &resolved, &endpoints())).remove(0).1;
    assert_eq!(close["event_action"], "resolve");
    assert_eq!(close["dedup_key"], "lookout/slo/checkout/page");
    // Opsgenie closes by the same alias.
    let og = channel(
        ChannelConfig::Opsgenie {
            api_key: "eb243592-faa2-4ba2-a551q-1afdf565c889".into(),
        },
        Route::default(),
    );
    let (o, _) = bodies(render(&og, &resolved, &endpoints())).remove(0);
    assert_eq!(
        o.url,
        "http://127.0.0.1:9003/v2/alerts/lookout%2Fslo%2Fcheckout%2Fpage/close?identifierType=alias"
    );
}

#[test]
fn a_route_that_takes_slo_burn_only_takes_the_slo_alerts() {
    let (fired, resolved) = alerts();
    let route = Route {
        kinds: vec![AlertKind::SloBurn],
        ..Route::default()
    };
    let slack = channel(
        ChannelConfig::Slack {
            webhook_url: "https://hooks.slack.com/services/T0/B0/X".into(),
        },
        route.clone(),
    );
    assert!(fired.iter().all(|a| slack.takes(a)));
    assert!(
        !slack.takes(&resolved),
        "a plain channel takes only its kinds"
    );
    let mut status_change = fired[0].clone();
    status_change.kind = AlertKind::StatusChange;
    assert!(!slack.takes(&status_change));
    // The incident channel closes what it opened, whatever its kinds.
    assert!(channel(pagerduty(), route.clone()).takes(&resolved));
    // Severity, group and tag filters apply as to any alert.
    let critical = Route {
        min_severity: Some(Severity::Critical),
        ..route.clone()
    };
    assert!(critical.matches(&fired[0]) && !critical.matches(&fired[1]));
    let shop = Route {
        groups: vec!["shop".into()],
        ..route.clone()
    };
    assert!(shop.matches(&fired[0]));
    let other = Route {
        groups: vec!["billing".into()],
        ..route
    };
    assert!(!other.matches(&fired[0]));
}

#[test]
fn every_channel_renders_slo_alerts_in_every_language() {
    let (fired, resolved) = alerts();
    for lang in [Language::En, Language::Ar, Language::Fa] {
        for a in fired.iter().chain([&resolved]) {
            let mut c = channel(
                ChannelConfig::Telegram {
                    bot_token: "123456:SECRET".into(),
                    chat_id: "-100".into(),
                },
                Route::default(),
            );
            c.language = lang;
            let (_, b) = bodies(render(&c, a, &endpoints())).remove(0);
            assert!(b["text"].as_str().unwrap().contains("Checkout API"), "{b}");
        }
    }
}
