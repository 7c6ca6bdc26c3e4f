use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::domain::{Alert, AlertKind, Change, Severity, TargetKind};

fn alert(kind: AlertKind, target: &str, old: Status, new: Status, at: i64) -> Alert {
    Alert {
        key: format!("{target}#{}#{at}", new.as_str()),
        kind,
        severity: Severity::Critical,
        target_id: target.into(),
        target_name: format!("name of {target}"),
        target_kind: TargetKind::Server,
        group: "g".into(),
        old_status: old,
        new_status: new,
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

fn down(target: &str, at: i64) -> Alert {
    alert(
        AlertKind::StatusChange,
        target,
        Status::Healthy,
        Status::Down,
        at,
    )
}

fn back(target: &str, at: i64) -> Alert {
    alert(
        AlertKind::Recovery,
        target,
        Status::Down,
        Status::Healthy,
        at,
    )
}

fn storm(targets: &[String], to: Status, at: i64) -> Alert {
    let mut a = alert(AlertKind::Storm, "", Status::Unknown, Status::Unknown, at);
    a.key = format!("storm#{at}");
    a.targets = targets.to_vec();
    a.changes = targets
        .iter()
        .map(|t| Change {
            kind: if is_bad(to) {
                AlertKind::StatusChange
            } else {
                AlertKind::Recovery
            },
            target_id: t.clone(),
            target_name: t.clone(),
            group: "g".into(),
            old_status: Status::Healthy,
            new_status: to,
        })
        .collect();
    a
}

/// The incidents after writing `written` over `all` (by id).
fn write(all: &mut BTreeMap<String, Incident>, written: Vec<Incident>) {
    for i in written {
        let stored = all.get(&i.id).map_or(0, |s| s.version);
        assert_eq!(i.version, stored + 1, "{} written over its version", i.id);
        all.insert(i.id.clone(), i);
    }
}

fn open_of(all: &BTreeMap<String, Incident>) -> Vec<Incident> {
    all.values()
        .filter(|i| !i.status.is_closed())
        .cloned()
        .collect()
}

#[test]
fn a_down_alert_opens_one_incident_and_its_recovery_resolves_it() {
    let opened = apply_alert(&[], &down("web", 1_000));
    assert_eq!(opened.len(), 1);
    let i = &opened[0];
    assert_eq!(i.id, "auto-web-1000");
    assert_eq!(
        (i.source, i.kind),
        (IncidentSource::Auto, IncidentKind::Incident)
    );
    assert_eq!(i.status, IncidentStatus::Investigating);
    assert_eq!(i.targets[0].status, Status::Down);
    assert_eq!(i.targets[0].name, "name of web");
    assert_eq!(i.version, 1);
    assert_eq!(i.updates[0].alert_key.as_deref(), Some("web#down#1000"));

    let resolved = apply_alert(&opened, &back("web", 5_000));
    assert_eq!(resolved.len(), 1);
    let r = &resolved[0];
    assert_eq!(r.status, IncidentStatus::Resolved);
    assert_eq!(r.resolved_at, Some(5_000));
    assert_eq!(r.version, 2);
    assert_eq!(r.updates.len(), 2);
    assert_eq!(r.updates[1].changes[0].status, Status::Healthy);
}

#[test]
fn a_second_failure_of_a_named_target_updates_the_open_incident() {
    let opened = apply_alert(&[], &down("web", 1_000));
    let blocked = alert(
        AlertKind::StatusChange,
        "web",
        Status::Down,
        Status::Blocked,
        2_000,
    );
    let again = apply_alert(&opened, &blocked);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, "auto-web-1000");
    assert_eq!(again[0].targets[0].status, Status::Blocked);
    assert_eq!(again[0].status, IncidentStatus::Investigating);
    assert_eq!(again[0].updates.len(), 2);
}

#[test]
fn applying_the_same_alert_twice_changes_nothing() {
    let a = down("web", 1_000);
    let opened = apply_alert(&[], &a);
    assert!(apply_alert(&opened, &a).is_empty());
    let mut all = opened.clone();
    all.push(apply_alert(&[], &down("api", 1_500)).remove(0));
    let r = back("web", 2_000);
    let resolved = apply_alert(&all, &r);
    assert_eq!(resolved.len(), 1);
    assert!(apply_alert(&[resolved[0].clone(), all[1].clone()], &r).is_empty());
}

#[test]
fn a_storm_opens_one_incident_naming_every_target_that_went_bad() {
    let ids: Vec<String> = (0..12).map(|n| format!("t{n:02}")).collect();
    let opened = apply_alert(&[], &storm(&ids, Status::Down, 7_000));
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].id, "auto-t00-7000");
    let named: Vec<&str> = opened[0].targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(named, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(opened[0].more_targets, 0);

    let resolved = apply_alert(&opened, &storm(&ids, Status::Healthy, 9_000));
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].status, IncidentStatus::Resolved);
    assert_eq!(resolved[0].updates[1].changes.len(), 12);
}

#[test]
fn a_storm_larger_than_the_limit_is_cut_and_the_rest_counted() {
    let ids: Vec<String> = (0..MAX_AFFECTED + 7).map(|n| format!("t{n}")).collect();
    let opened = apply_alert(&[], &storm(&ids, Status::Down, 1));
    assert_eq!(opened[0].targets.len(), MAX_AFFECTED);
    assert_eq!(opened[0].more_targets, 7);
}

#[test]
fn a_storm_updates_the_incident_naming_a_target_and_opens_one_for_the_others() {
    let first = apply_alert(&[], &down("t0", 1_000));
    let ids: Vec<String> = ["t0", "t1", "t2"].map(String::from).to_vec();
    let out = apply_alert(&first, &storm(&ids, Status::Blocked, 2_000));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].id, "auto-t0-1000");
    assert_eq!(out[0].targets[0].status, Status::Blocked);
    assert_eq!(out[1].id, "auto-t1-2000");
    assert_eq!(out[1].targets.len(), 2);
}

#[test]
fn other_kinds_and_operator_incidents_are_left_alone() {
    let opened = apply_alert(&[], &down("web", 1_000));
    for kind in [
        AlertKind::Reminder,
        AlertKind::CertExpiring,
        AlertKind::Traffic,
        AlertKind::DailyReport,
        AlertKind::LocationSilent,
        AlertKind::LocationBack,
        AlertKind::GroupCritical,
        AlertKind::GroupRecovered,
    ] {
        let a = alert(kind, "web", Status::Healthy, Status::Down, 3_000);
        assert!(apply_alert(&opened, &a).is_empty(), "{kind:?}");
    }
    let draft = IncidentDraft::parse(json!({"title": "db", "targets": ["web"]})).unwrap();
    let operator = Incident::from_draft(draft, "inc-1".into(), 500).unwrap();
    let out = apply_alert(std::slice::from_ref(&operator), &back("web", 4_000));
    assert!(out.is_empty());
    // A down alert opens an auto one beside the operator's.
    let out = apply_alert(std::slice::from_ref(&operator), &down("web", 4_000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].source, IncidentSource::Auto);
}

#[test]
fn an_incident_stays_open_while_one_of_its_targets_is_bad() {
    let ids: Vec<String> = ["a", "b"].map(String::from).to_vec();
    let opened = apply_alert(&[], &storm(&ids, Status::Down, 1));
    let one = apply_alert(&opened, &back("a", 2));
    assert_eq!(one[0].status, IncidentStatus::Investigating);
    assert_eq!(one[0].resolved_at, None);
    let two = apply_alert(&one, &back("b", 3));
    assert_eq!(two[0].status, IncidentStatus::Resolved);
}

proptest! {
    #[test]
    fn after_any_sequence_a_bad_target_is_named_bad_by_exactly_one_open_incident_and_a_good_one_by_none(
        steps in proptest::collection::vec(
            (0usize..4, any::<bool>(), any::<bool>(), proptest::collection::vec(0usize..4, 0..4)),
            1..40,
        )
    ) {
        let names = ["a", "b", "c", "d"];
        let mut all: BTreeMap<String, Incident> = BTreeMap::new();
        // The status each target's last alert gave it (none: never alerted).
        let mut last: BTreeMap<&str, bool> = BTreeMap::new();
        for (n, (t, bad, twice, stormed)) in steps.into_iter().enumerate() {
            let at = 1_000 * (n as i64 + 1);
            // A step is a single target's alert, or (when it names targets) a storm of them.
            let a = if stormed.is_empty() {
                last.insert(names[t], bad);
                if bad { down(names[t], at) } else { back(names[t], at) }
            } else {
                let mut ids: Vec<String> = stormed.iter().map(|&i| names[i].to_owned()).collect();
                ids.sort();
                ids.dedup();
                for id in &ids {
                    let name = names.iter().find(|n| **n == id.as_str()).copied().unwrap_or("");
                    last.insert(name, bad);
                }
                storm(&ids, if bad { Status::Down } else { Status::Healthy }, at)
            };
            let written = apply_alert(&open_of(&all), &a);
            write(&mut all, written);
            if twice {
                prop_assert!(apply_alert(&open_of(&all), &a).is_empty());
            }
            let open = open_of(&all);
            for name in names {
                let naming: Vec<&AffectedTarget> = open
                    .iter()
                    .filter(|i| i.source == IncidentSource::Auto)
                    .flat_map(|i| i.targets.iter().filter(|x| x.id == name))
                    .collect();
                match last.get(name) {
                    Some(true) => {
                        prop_assert_eq!(naming.len(), 1, "{} in {} open incidents", name, naming.len());
                        prop_assert!(is_bad(naming[0].status), "{} named {:?}", name, naming[0]);
                    }
                    _ => prop_assert!(
                        naming.iter().all(|x| !is_bad(x.status)),
                        "{} named bad after a good alert: {:?}", name, naming
                    ),
                }
            }
            for i in all.values() {
                let all_back = i.targets.iter().all(|x| !is_bad(x.status));
                prop_assert_eq!(all_back, i.status == IncidentStatus::Resolved, "{:?}", i);
                prop_assert_eq!(i.resolved_at.is_some(), i.status.is_closed());
            }
        }
    }
}

#[test]
fn an_auto_incident_of_500_flapping_targets_stays_small() {
    let ids: Vec<String> = (0..MAX_AFFECTED)
        .map(|n| format!("service-{n:03}.eu-west-1.example.com"))
        .collect();
    let mut all: BTreeMap<String, Incident> = BTreeMap::new();
    write(&mut all, apply_alert(&[], &storm(&ids, Status::Down, 1)));
    // The first target stays down, so the incident stays open while the others flap.
    let rest = &ids[1..];
    for n in 0..200_i64 {
        for (k, to) in [(0, Status::Healthy), (1, Status::Down)] {
            let a = storm(rest, to, 10 + 2 * n + k);
            let written = apply_alert(&open_of(&all), &a);
            write(&mut all, written);
        }
    }
    assert_eq!(all.len(), 1);
    let i = all.values().next().unwrap();
    assert!(!i.status.is_closed());
    assert!(i.updates.len() <= MAX_AUTO_UPDATES, "{}", i.updates.len());
    assert!(!i.updates.is_empty());
    assert_eq!(i.updates.len() + i.dropped_updates as usize, 401);
    assert_eq!(i.updates.last().unwrap().at, 10 + 2 * 199 + 1);
    let bytes = serde_json::to_vec(i).unwrap().len();
    assert!(bytes < 300_000, "{bytes} bytes of JSON");
}

#[test]
fn trimming_keeps_the_newest_fifty_and_counts_the_rest() {
    let mut i = apply_alert(&[], &down("web", 1)).remove(0);
    for n in 0..70 {
        i = apply_alert(std::slice::from_ref(&i), &down("web", 10 + n)).remove(0);
    }
    assert_eq!(i.updates.len(), MAX_AUTO_UPDATES);
    assert_eq!(i.dropped_updates, 21);
    assert_eq!(i.updates[0].at, 10 + 20);
}

#[test]
fn a_draft_is_refused_naming_the_field() {
    let cases = [
        (json!({}), "title"),
        (json!({"title": "  "}), "title"),
        (json!({"title": "x".repeat(MAX_TITLE_CHARS + 1)}), "title"),
        (json!({"title": "x", "status": "scheduled"}), "status"),
        (json!({"title": "x", "status": "gone"}), "status"),
        (json!({"title": "x", "targets": ["a", "a"]}), "targets[1]"),
        (json!({"title": "x", "targets": [""]}), "targets[0]"),
        (json!({"title": "x", "targets": "a"}), "targets"),
        (
            json!({"title": "x", "body": "b".repeat(MAX_BODY_CHARS + 1)}),
            "body",
        ),
        (
            json!({"title": "x", "starts_at": "2026-12-02T01:00:00Z"}),
            "starts_at",
        ),
        (json!({"title": "x", "kind": "maintenance"}), "starts_at"),
        (
            json!({"title": "x", "kind": "maintenance", "starts_at": "2026-12-02T01:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "kind": "maintenance", "starts_at": "2026-12-02T01:00:00Z",
                   "ends_at": "2026-12-02T00:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "kind": "maintenance", "starts_at": "tomorrow",
                   "ends_at": "2026-12-02T00:00:00Z"}),
            "starts_at",
        ),
        (json!({"title": "x", "colour": "red"}), "colour"),
        (
            json!({"title": "x", "postmortem": "p".repeat(MAX_POSTMORTEM_CHARS + 1)}),
            "postmortem",
        ),
    ];
    for (body, field) in cases {
        let err = IncidentDraft::parse(body.clone())
            .and_then(|d| Incident::from_draft(d, "inc-x".into(), 1))
            .expect_err(&body.to_string());
        assert_eq!(err.field, field, "{body}: {err}");
    }
}

#[test]
fn a_maintenance_draft_keeps_its_window_and_a_resolved_draft_is_closed() {
    let d = IncidentDraft::parse(json!({
        "kind": "maintenance", "title": "db upgrade", "targets": ["db"],
        "starts_at": "2026-12-02T01:00:00Z", "ends_at": "2026-12-02T03:00:00+01:00"
    }))
    .unwrap();
    let m = Incident::from_draft(d, "inc-m".into(), 7).unwrap();
    assert_eq!(m.status, IncidentStatus::Scheduled);
    assert_eq!(m.starts_at, Some(1_796_173_200_000));
    assert_eq!(m.ends_at, Some(1_796_173_200_000 + 3_600_000)); // 03:00+01:00 is 02:00Z
    let d =
        IncidentDraft::parse(json!({"title": "t", "status": "resolved", "body": "over"})).unwrap();
    let r = Incident::from_draft(d, "inc-r".into(), 9).unwrap();
    assert_eq!(r.resolved_at, Some(9));
    assert_eq!(r.updates[0].body, "over");
}

fn operator() -> Incident {
    let d = IncidentDraft::parse(json!({"title": "db slow", "targets": ["db"], "body": "looking"}))
        .unwrap();
    Incident::from_draft(d, "inc-1".into(), 100).unwrap()
}

#[test]
fn a_patch_adds_timeline_entries_and_resolving_sets_resolved_at() {
    let mut i = operator();
    let p = IncidentPatch::parse(json!({"status": "identified"})).unwrap();
    i.apply_patch(p, 200).unwrap();
    assert_eq!(i.status, IncidentStatus::Identified);
    assert_eq!(i.updates.len(), 2);
    assert_eq!(i.updates[1].body, "");
    assert_eq!(i.version, 2);

    let p = IncidentPatch::parse(json!({"update": {"status": "resolved", "body": "fixed"},
        "postmortem": "disk", "title": "db was slow", "targets": ["db", "web"]}))
    .unwrap();
    i.apply_patch(p, 300).unwrap();
    assert_eq!(i.status, IncidentStatus::Resolved);
    assert_eq!(i.resolved_at, Some(300));
    assert_eq!(i.updates[2].body, "fixed");
    assert_eq!(i.postmortem.as_deref(), Some("disk"));
    assert_eq!(i.title, "db was slow");
    assert_eq!(i.targets.len(), 2);

    let p = IncidentPatch::parse(json!({"postmortem": null, "status": "monitoring"})).unwrap();
    i.apply_patch(p, 400).unwrap();
    assert_eq!(i.postmortem, None);
    assert_eq!(i.resolved_at, None);
    assert_eq!(i.version, 4);

    // A body-only entry keeps the status.
    let p = IncidentPatch::parse(json!({"update": {"body": "still watching"}})).unwrap();
    i.apply_patch(p, 500).unwrap();
    assert_eq!(
        i.updates.last().map(|u| u.status),
        Some(IncidentStatus::Monitoring)
    );
}

#[test]
fn a_bad_patch_is_refused_naming_the_field_and_changes_nothing() {
    let cases = [
        (json!({"status": "in_progress"}), "status"),
        (
            json!({"update": {"status": "completed", "body": "x"}}),
            "update.status",
        ),
        (
            json!({"update": {"body": "x".repeat(MAX_BODY_CHARS + 1)}}),
            "update.body",
        ),
        (json!({"update": {"text": "x"}}), "update.text"),
        (
            json!({"status": "identified", "update": {"status": "monitoring"}}),
            "update.status",
        ),
        (json!({"title": ""}), "title"),
        (json!({"targets": ["a", "a"]}), "targets[1]"),
        (json!({"starts_at": "2026-12-02T01:00:00Z"}), "starts_at"),
        (json!({"severity": 1}), "severity"),
        (json!({"title": 5}), "title"),
    ];
    for (body, field) in cases {
        let mut i = operator();
        let before = i.clone();
        let err = IncidentPatch::parse(body.clone())
            .and_then(|p| i.apply_patch(p, 999))
            .expect_err(&body.to_string());
        assert_eq!(err.field, field, "{body}: {err}");
        assert_eq!(i, before);
    }
}

#[test]
fn an_alert_applied_again_after_some_of_its_writes_writes_only_the_rest() {
    let first = apply_alert(&[], &down("t0", 1_000));
    let ids: Vec<String> = ["t0", "t1"].map(String::from).to_vec();
    let s = storm(&ids, Status::Down, 2_000);
    let out = apply_alert(&first, &s);
    assert_eq!(out.len(), 2);
    // Only the update of the open incident was written; the new one's write was lost.
    let again = apply_alert(std::slice::from_ref(&out[0]), &s);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, "auto-t1-2000");
    assert_eq!(again[0].version, 1);
    assert!(apply_alert(&out, &s).is_empty());
}

#[test]
fn a_subscriber_address_must_be_plausible() {
    assert_eq!(
        subscriber_email(" a@example.com ").unwrap(),
        "a@example.com"
    );
    for bad in [
        "",
        "a",
        "a@b",
        "@example.com",
        "a@.com",
        "a b@example.com",
        "<a>@x.io",
        "a@x\u{7}.io",
    ] {
        assert_eq!(subscriber_email(bad).unwrap_err().field, "email", "{bad:?}");
    }
    assert!(subscriber_email(&format!("{}@example.com", "a".repeat(65))).is_err());
}
