use super::super::{evaluate, status, Sli, SliEvent, SloAlertState, SloSeries};
use super::*;
use crate::domain::incident::{apply_alert, concerns_incidents};

fn slo(selector: SloSelector) -> Slo {
    Slo {
        id: "checkout".into(),
        name: "Checkout API".into(),
        description: None,
        selector,
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

const T0: i64 = 1_000 * HOUR_MS;

/// A clean hour, then `bad` minutes of failures: the series and the time of the last one.
fn outage(bad: i64) -> (SloSeries, i64) {
    let mut series = SloSeries::default();
    for m in 0..60 {
        series.add(T0 + m * MINUTE_MS, SliEvent::Good);
    }
    for m in 0..bad {
        series.add(T0 + (60 + m) * MINUTE_MS, SliEvent::Bad);
    }
    (series, T0 + (60 + bad - 1) * MINUTE_MS)
}

/// The alerts of `slo` at `now` over `series`, stepping `state`.
fn raise(
    s: &Slo,
    state: &mut SloAlertState,
    series: &SloSeries,
    now: i64,
    silenced: bool,
) -> Vec<Alert> {
    let verdicts = evaluate(s, series, now);
    let events = state.step(&verdicts, now, silenced);
    let st = status(s, series, now);
    let targets: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
    let ctx = AlertContext {
        target_kind: TargetKind::Server,
        targets: &targets,
        verdicts: &verdicts,
        status: &st,
    };
    slo_alerts(s, &ctx, &events)
}

#[test]
fn a_fast_burn_pages_critical_and_tickets_warning_with_the_slos_figures() {
    let s = slo(SloSelector::Group("checkout".into()));
    let (series, now) = outage(1);
    let mut state = SloAlertState::default();
    let alerts = raise(&s, &mut state, &series, now, false);
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let page = &alerts[0];
    assert_eq!(page.kind, AlertKind::SloBurn);
    assert_eq!(page.key, format!("slo#checkout#page#{now}"));
    assert_eq!(page.severity, Severity::Critical);
    assert_eq!(
        (page.old_status, page.new_status),
        (Status::Healthy, Status::Down)
    );
    assert_eq!(
        (page.target_id.as_str(), page.target_name.as_str()),
        ("", "Checkout API")
    );
    assert_eq!(page.group, "checkout");
    assert!(page.tags.is_empty());
    assert_eq!(page.targets.len(), MAX_LISTED_TARGETS);
    let info = page.slo.as_ref().unwrap();
    assert_eq!(info.alert, "page");
    assert_eq!(info.rules, vec!["page_1h", "page_6h"]);
    // The last hour holds 59 good checks and the bad one: an error ratio of 1/60 over a budget
    // of 0.001; the window (hour buckets) all 61.
    assert!((info.burn_long - 1000.0 / 60.0).abs() < 1e-6, "{info:?}");
    // The budget's spent share as the status gives it (the window covered for about an hour).
    let spent = crate::domain::slo::status(&s, &series, now)
        .budget
        .spent_share;
    assert!(spent > 0.0 && (info.budget_spent_share - spent).abs() < 1e-9);
    assert!(
        page.subject.starts_with(
            "[CRITICAL] SLO Checkout API: error budget burning 16.7x (page_1h: 2 % of the 30-day budget in 1 h)"
        ),
        "{}",
        page.subject
    );
    assert!(page.subject.chars().count() <= 99);
    assert!(page.text.contains("A fast burn"), "{}", page.text);
    assert!(page.text.contains("Page the on-call"));
    let ticket = &alerts[1];
    assert_eq!(ticket.key, format!("slo#checkout#ticket#{now}"));
    assert_eq!(ticket.severity, Severity::Warning);
    assert_eq!(ticket.new_status, Status::Degraded);
    assert_eq!(ticket.slo.as_ref().unwrap().rules, vec!["ticket_3d"]);
    assert!(ticket.text.contains("A slow burn"), "{}", ticket.text);
    // Firing on: nothing new.
    assert!(raise(&s, &mut state, &series, now + MINUTE_MS, false).is_empty());
}

#[test]
fn a_page_resolves_once_its_short_windows_are_clean() {
    let s = slo(SloSelector::Tag("shop".into()));
    let (mut series, now) = outage(1);
    let mut state = SloAlertState::default();
    let fired = raise(&s, &mut state, &series, now, false);
    assert_eq!(fired[0].tags, vec!["shop"]);
    assert_eq!(fired[0].group, "");
    let since = fired[0].at;
    let mut resolved = Vec::new();
    let mut minutes = 0;
    // Good checks minute after minute: page_1h's 5-minute window and page_6h's 30-minute
    // window clean up; the ticket's 6-hour short window takes longer.
    for m in 1..=40 {
        let at = now + m * MINUTE_MS;
        series.add(at, SliEvent::Good);
        let out = raise(&s, &mut state, &series, at, false);
        if !out.is_empty() {
            minutes = m;
            resolved = out;
            break;
        }
    }
    assert_eq!(resolved.len(), 1, "{resolved:#?}");
    assert_eq!(minutes, 30, "page_6h's short window is 30 minutes");
    let r = &resolved[0];
    assert_eq!(r.kind, AlertKind::SloBurnResolved);
    assert_eq!(r.key, format!("slo#checkout#page#{since}#resolved"));
    assert_eq!(r.severity, Severity::Info);
    assert_eq!(
        (r.old_status, r.new_status),
        (Status::Down, Status::Healthy)
    );
    assert_eq!(r.slo.as_ref().unwrap().rules, vec!["page_1h", "page_6h"]);
    assert!(state.firing.contains_key("ticket"));
}

#[test]
fn a_silenced_alert_raises_nothing_when_it_fires_nor_when_it_stops() {
    let s = slo(SloSelector::Target("api".into()));
    let (mut series, now) = outage(1);
    let mut state = SloAlertState::default();
    assert!(raise(&s, &mut state, &series, now, true).is_empty());
    assert!(state.firing["page"].silenced);
    for m in 1..=30 {
        series.add(now + m * MINUTE_MS, SliEvent::Good);
        assert!(raise(&s, &mut state, &series, now + m * MINUTE_MS, false).is_empty());
    }
    assert!(
        !state.firing.contains_key("page"),
        "it stopped all the same"
    );
}

#[test]
fn silenced_means_alerts_off_or_every_target_in_maintenance() {
    let in_window = Target::from_json(serde_json::json!({"id": "a", "group": "g",
        "kind": "server", "url": "https://a.example/",
        "maintenance": [{"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}]}))
    .unwrap();
    let outside = Target::from_json(serde_json::json!({"id": "b", "group": "g",
        "kind": "server", "url": "https://b.example/"}))
    .unwrap();
    let at = "2026-01-01T12:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond();
    let mut s = slo(SloSelector::Group("g".into()));
    assert!(silenced(&s, &[&in_window], at));
    assert!(!silenced(&s, &[&in_window, &outside], at));
    assert!(!silenced(&s, &[&in_window], at + 2 * DAY_MS));
    assert!(!silenced(&s, &[], at));
    s.alerts = false;
    assert!(silenced(&s, &[&outside], at));
}

#[test]
fn slo_alerts_carry_their_slo_in_json_and_old_alerts_still_parse() {
    let s = slo(SloSelector::Group("checkout".into()));
    let (series, now) = outage(1);
    let a = raise(&s, &mut SloAlertState::default(), &series, now, false).remove(0);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["kind"], "slo_burn");
    assert_eq!(json["slo"]["alert"], "page");
    assert_eq!(json["slo"]["window"], "30d");
    let back: Alert = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, a);
    let mut old = json;
    old.as_object_mut().unwrap().remove("slo");
    old["kind"] = "status_change".into();
    let parsed: Alert = serde_json::from_value(old).unwrap();
    assert!(parsed.slo.is_none());
}

#[test]
fn slo_alerts_open_no_status_page_incident() {
    let s = slo(SloSelector::Group("checkout".into()));
    let (series, now) = outage(1);
    for a in raise(&s, &mut SloAlertState::default(), &series, now, false) {
        assert!(!concerns_incidents(&a));
        assert!(apply_alert(&[], &a).is_empty());
    }
}
