//! Tests of [`super::settle`], the hourly pass over open incidents.

use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::domain::{Alert, AlertKind, Severity, TargetKind};

fn down(target: &str, at: i64) -> Alert {
    Alert {
        key: format!("{target}#down#{at}"),
        kind: AlertKind::StatusChange,
        severity: Severity::Critical,
        target_id: target.into(),
        target_name: target.into(),
        target_kind: TargetKind::Server,
        group: "g".into(),
        old_status: Status::Healthy,
        new_status: Status::Down,
        at,
        subject: String::new(),
        text: String::new(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    }
}

fn states(of: &[(&str, Status)]) -> HashMap<String, Status> {
    of.iter().map(|(id, s)| ((*id).to_owned(), *s)).collect()
}

const HOUR: i64 = 3_600_000;
const START: i64 = 1_796_173_200_000; // 2026-12-02T01:00:00Z

#[test]
fn an_auto_incident_whose_targets_are_back_or_gone_is_resolved_and_one_still_down_is_left() {
    let web = apply_alert(&[], &down("web", 1_000)).remove(0);
    let db = apply_alert(&[], &down("db", 2_000)).remove(0);
    let open = [web.clone(), db];
    // web is healthy now, db still down: only web's closes.
    let out = settle(
        &open,
        &states(&[("web", Status::Healthy), ("db", Status::Down)]),
        9_000,
    );
    assert_eq!(out.len(), 1);
    let w = &out[0];
    assert_eq!(w.id, web.id);
    assert_eq!(w.status, IncidentStatus::Resolved);
    assert_eq!(w.resolved_at, Some(9_000));
    assert_eq!(w.version, web.version + 1);
    let u = w.updates.last().unwrap();
    assert_eq!(
        (u.at, u.status, u.body.as_str()),
        (9_000, IncidentStatus::Resolved, "")
    );
    assert_eq!(u.changes[0].id, "web");
    assert_eq!(u.changes[0].status, Status::Healthy);
    assert_eq!(w.targets[0].status, Status::Healthy);
    // A target that no longer exists counts as not bad; blocked counts as bad.
    let out = settle(&open, &states(&[("web", Status::Blocked)]), 9_000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].targets[0].id, "db");
    assert_eq!(
        out[0].updates.last().unwrap().changes[0].status,
        Status::Unknown
    );
    // An incident changed after the states were read is left for the next pass.
    let early = settle(&open, &HashMap::new(), 1_500);
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].id, web.id);
    // Nothing to do: nothing written.
    let out = settle(&out, &HashMap::new(), 10_000);
    assert!(out.is_empty());
}

#[test]
fn operator_incidents_are_never_settled() {
    let d = IncidentDraft::parse(json!({"title": "db slow", "targets": ["db"]})).unwrap();
    let op = Incident::from_draft(d, "inc-1".into(), 100).unwrap();
    assert!(settle(&[op], &HashMap::new(), 10_000).is_empty());
}

#[test]
fn a_maintenance_window_starts_and_completes_by_its_times() {
    let d = IncidentDraft::parse(json!({
        "kind": "maintenance", "title": "db upgrade", "targets": ["db"],
        "starts_at": "2026-12-02T01:00:00Z", "ends_at": "2026-12-02T02:00:00Z"
    }))
    .unwrap();
    let m = Incident::from_draft(d, "inc-m".into(), START - HOUR).unwrap();
    let none = HashMap::new();
    assert!(settle(std::slice::from_ref(&m), &none, START - 1).is_empty());
    let started = settle(std::slice::from_ref(&m), &none, START + 1).remove(0);
    assert_eq!(started.status, IncidentStatus::InProgress);
    assert_eq!(started.resolved_at, None);
    assert_eq!(started.updates.last().unwrap().at, START);
    assert_eq!(started.version, 2);
    assert!(settle(std::slice::from_ref(&started), &none, START + 2).is_empty());
    let done = settle(std::slice::from_ref(&started), &none, START + 2 * HOUR).remove(0);
    assert_eq!(done.status, IncidentStatus::Completed);
    assert_eq!(done.resolved_at, Some(START + HOUR));
    assert_eq!(
        done.updates.last().unwrap().status,
        IncidentStatus::Completed
    );
    assert!(settle(std::slice::from_ref(&done), &none, START + 3 * HOUR).is_empty());
    // A window announced and passed between two passes goes straight to completed.
    let skipped = settle(std::slice::from_ref(&m), &none, START + 5 * HOUR).remove(0);
    assert_eq!(skipped.status, IncidentStatus::Completed);
    assert_eq!(skipped.updates.len(), 2);
}
