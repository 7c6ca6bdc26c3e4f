//! Alerts about more than one target: a storm of status changes in one run, a group or pool
//! with no eligible target left (and its recovery), and the daily report. Pure functions; the
//! probe function decides when to raise them.

use std::collections::{BTreeMap, HashMap};

use super::alert::{Alert, AlertKind, Change, Severity};
use super::state::{Status, TargetState, DAY_MS};
use super::target::{Target, TargetKind};
use crate::redact::clip;

/// Default of `STORM_THRESHOLD`: more status changes than this in one run of one kind are sent as
/// one grouped alert instead of one alert each.
pub const DEFAULT_STORM_THRESHOLD: usize = 10;

/// Most targets listed line by line in a grouped alert's text (all are in `targets`).
const LISTED: usize = 50;

fn grouped(kind: AlertKind, severity: Severity, key: String, at: i64, what: GroupedText) -> Alert {
    Alert {
        key,
        kind,
        severity,
        target_id: String::new(),
        target_name: what.name,
        target_kind: what.target_kind,
        group: what.group,
        old_status: what.old_status,
        new_status: what.new_status,
        at,
        subject: clip(&what.subject, 99),
        text: crate::redact::redact_text(&what.text),
        targets: what.targets,
        changes: what.changes,
        tags: Vec::new(),
        locations: None,
        slo: None,
    }
}

struct GroupedText {
    name: String,
    target_kind: TargetKind,
    group: String,
    old_status: Status,
    new_status: Status,
    subject: String,
    text: String,
    targets: Vec<String>,
    changes: Vec<Change>,
}

/// One alert for a storm: the status-change and recovery `transitions` of one run of `kind`
/// at `run_at`, and the group alerts of that run (`group_changes`, named in the text instead of sent
/// on their own). Its severity is the highest of theirs; `targets` lists every target id and
/// the text the first 50 transitions. Key: `storm#<kind>#<run_at>`.
pub fn storm_alert(
    kind: TargetKind,
    run_at: i64,
    transitions: &[Alert],
    group_changes: &[Alert],
) -> Alert {
    let severity = transitions
        .iter()
        .chain(group_changes)
        .map(|a| a.severity)
        .max()
        .unwrap_or(Severity::Info);
    let groups: std::collections::BTreeSet<&str> =
        transitions.iter().map(|a| a.group.as_str()).collect();
    let down = transitions
        .iter()
        .filter(|a| a.new_status == Status::Down)
        .count();
    let mut lines: Vec<String> = transitions
        .iter()
        .take(LISTED)
        .map(|a| {
            format!(
                "- {} ({}): {} -> {}",
                a.target_name,
                a.target_id,
                a.old_status.as_str(),
                a.new_status.as_str()
            )
        })
        .collect();
    if transitions.len() > LISTED {
        lines.push(format!("- and {} more", transitions.len() - LISTED));
    }
    for g in group_changes {
        lines.push(format!("- {}: {}", g.kind.as_str(), g.target_name));
    }
    let n = transitions.len();
    let text = format!(
        "{n} {} changed status in one run ({down} now down) across {} group(s): {}. \
         So many at once usually means a shared cause (network, DNS, an upstream, the prober \
         itself).\n{}",
        kind.plural(),
        groups.len(),
        groups.iter().copied().collect::<Vec<_>>().join(", "),
        lines.join("\n")
    );
    grouped(
        AlertKind::Storm,
        severity,
        format!("storm#{}#{run_at}", kind.as_str()),
        run_at,
        GroupedText {
            name: format!("{n} {}", kind.plural()),
            target_kind: kind,
            group: if groups.len() == 1 {
                groups
                    .iter()
                    .next()
                    .map_or_else(String::new, |g| g.to_string())
            } else {
                "*".into()
            },
            old_status: Status::Unknown,
            new_status: if down > 0 {
                Status::Down
            } else {
                Status::Unknown
            },
            subject: format!(
                "[{}] {n} {} changed status ({down} down)",
                severity.as_str().to_uppercase(),
                kind.plural()
            ),
            text,
            targets: transitions.iter().map(|a| a.target_id.clone()).collect(),
            changes: transitions
                .iter()
                .chain(group_changes)
                .map(Change::of)
                .collect(),
        },
    )
}

/// Whether a group is critical: every member's status is known and none is eligible.
fn critical(members: &[&Target], statuses: &HashMap<String, Status>) -> bool {
    let status = |t: &&Target| statuses.get(&t.id).copied().unwrap_or(Status::Unknown);
    !members.is_empty()
        && members.iter().all(|t| status(t) != Status::Unknown)
        && !members.iter().any(|t| status(t).eligible())
}

/// Group alerts of one run: `group_critical` for each group (or pool) of `targets` that became
/// critical between `before` and `after` (every enabled member known, none `healthy` or
/// `degraded`), `group_recovered` for each that stopped being critical. Groups whose members
/// are all in maintenance at `run_at`, and groups of one target, are left out. Key: `group#<kind>#<group>#<critical|
/// recovered>#<run_at>`.
pub fn group_alerts(
    kind: TargetKind,
    run_at: i64,
    targets: &[Target],
    before: &HashMap<String, Status>,
    after: &HashMap<String, Status>,
) -> Vec<Alert> {
    let mut groups: BTreeMap<&str, Vec<&Target>> = BTreeMap::new();
    for t in targets.iter().filter(|t| t.enabled && t.kind() == kind) {
        groups.entry(t.group.as_str()).or_default().push(t);
    }
    let mut alerts = Vec::new();
    for (group, members) in groups {
        // A group of one: the target's own alert says it all.
        if members.len() < 2 || members.iter().all(|t| t.maintenance_at(run_at).is_some()) {
            continue;
        }
        let (was, is) = (critical(&members, before), critical(&members, after));
        if was == is {
            continue;
        }
        let what = if kind == TargetKind::Proxy {
            "pool"
        } else {
            "group"
        };
        let list = members
            .iter()
            .map(|t| {
                let s = after.get(&t.id).copied().unwrap_or(Status::Unknown);
                format!("{} {}", t.id, s.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ");
        let (alert_kind, severity, word, text) = if is {
            (
                AlertKind::GroupCritical,
                Severity::Critical,
                "critical",
                format!(
                    "No {} of {what} {group} is usable: {list}. Failover has nothing left to \
                     pick.",
                    kind.as_str()
                ),
            )
        } else {
            (
                AlertKind::GroupRecovered,
                Severity::Info,
                "recovered",
                format!(
                    "{what} {group} has a usable {} again: {list}.",
                    kind.as_str()
                ),
            )
        };
        alerts.push(grouped(
            alert_kind,
            severity,
            format!("group#{}#{group}#{word}#{run_at}", kind.as_str()),
            run_at,
            GroupedText {
                name: format!("{what} {group}"),
                target_kind: kind,
                group: group.to_string(),
                old_status: if is { Status::Healthy } else { Status::Down },
                new_status: if is { Status::Down } else { Status::Healthy },
                subject: format!(
                    "[{}] {what} {} is {word}",
                    severity.as_str().to_uppercase(),
                    clip(group, 60)
                ),
                text,
                targets: members.iter().map(|t| t.id.clone()).collect(),
                changes: Vec::new(),
            },
        ));
    }
    alerts
}

/// One target in the daily report: its definition, its latest state, and its uptime over the
/// day in percent (from the day's rollup; `None` when it had no checks that day).
pub type DayEntry<'a> = (&'a Target, &'a TargetState, Option<f64>);

/// The daily report of `kind` for the UTC day starting at `day_start`: targets by status, proxy
/// traffic and estimated cost of that day (probes and reported usage, from
/// [`TargetState::traffic_of_day`]), the best and worst target by that day's uptime, and the
/// open incidents (targets `down` or `blocked`, with since when). Key `report#<kind>#<day>`,
/// `at` = `day_start + 1 day`, so that computing it again gives the same outbox row.
pub fn daily_report(kind: TargetKind, day_start: i64, states: &[DayEntry<'_>]) -> Alert {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, s, _) in states {
        *counts.entry(s.status.as_str()).or_default() += 1;
    }
    let (mut traffic, mut cost) = (0u64, 0.0);
    for (_, s, _) in states {
        let (b, c) = s.traffic_of_day(day_start);
        traffic = traffic.saturating_add(b);
        cost += c;
    }
    let mut ranked: Vec<(&Target, f64)> = states
        .iter()
        .filter_map(|(t, _, up)| Some((*t, (*up)?)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
    let open: Vec<String> = states
        .iter()
        .filter(|(_, s, _)| matches!(s.status, Status::Down | Status::Blocked))
        .map(|(t, s, _)| {
            format!(
                "{} {} since {}",
                t.id,
                s.status.as_str(),
                crate::time::rfc3339(s.status_since)
            )
        })
        .collect();
    let day = crate::time::day(day_start);
    let by_status = counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "Lookout daily report for {day}, {}: {} target(s), {by_status}.",
        kind.plural(),
        states.len()
    );
    if kind == TargetKind::Proxy {
        text.push_str(&format!(
            " Proxy traffic {:.3} GB, estimated cost {cost:.2}.",
            traffic as f64 / 1e9
        ));
    }
    if let (Some(best), Some(worst)) = (ranked.first(), ranked.last()) {
        text.push_str(&format!(
            " Best: {} ({:.2}% up that day). Worst: {} ({:.2}% up that day).",
            best.0.id, best.1, worst.0.id, worst.1
        ));
    }
    text.push_str(&if open.is_empty() {
        " No open incidents.".to_string()
    } else {
        format!(" Open incidents: {}.", open.join(", "))
    });
    let severity = if open.is_empty() {
        Severity::Info
    } else {
        Severity::Warning
    };
    grouped(
        AlertKind::DailyReport,
        severity,
        format!("report#{}#{day}", kind.as_str()),
        day_start + DAY_MS,
        GroupedText {
            name: format!("daily report {day}"),
            target_kind: kind,
            group: "*".into(),
            old_status: Status::Unknown,
            new_status: Status::Unknown,
            subject: format!("[INFO] Lookout {} on {day}: {by_status}", kind.plural()),
            text,
            targets: open,
            changes: Vec::new(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::AlertKind;
    use serde_json::json;

    fn target(id: &str, group: &str) -> Target {
        serde_json::from_value::<Target>(json!({"id": id, "group": group, "kind": "server",
            "url": "http://h/"}))
        .unwrap()
    }

    fn statuses(pairs: &[(&str, Status)]) -> HashMap<String, Status> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn a_group_is_critical_when_no_member_is_eligible_and_recovers_when_one_is() {
        let ts = vec![target("a", "api"), target("b", "api"), target("c", "web")];
        let up = statuses(&[
            ("a", Status::Healthy),
            ("b", Status::Down),
            ("c", Status::Healthy),
        ]);
        let down = statuses(&[
            ("a", Status::Down),
            ("b", Status::Down),
            ("c", Status::Healthy),
        ]);
        let alerts = group_alerts(TargetKind::Server, 7, &ts, &up, &down);
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            (alerts[0].kind, alerts[0].severity),
            (AlertKind::GroupCritical, Severity::Critical)
        );
        assert_eq!(alerts[0].key, "group#server#api#critical#7");
        assert_eq!(alerts[0].targets, vec!["a", "b"]);
        assert!(
            group_alerts(TargetKind::Server, 8, &ts, &down, &down).is_empty(),
            "once"
        );
        let back = group_alerts(TargetKind::Server, 9, &ts, &down, &up);
        assert_eq!(back[0].kind, AlertKind::GroupRecovered);
        // A group never checked is not critical.
        assert!(group_alerts(TargetKind::Server, 1, &ts, &HashMap::new(), &up).is_empty());
    }

    #[test]
    fn a_storm_alert_lists_every_target_once_with_the_highest_severity() {
        let t = target("x", "g");
        let mut transitions = Vec::new();
        for i in 0..60 {
            let mut s = TargetState::new(&format!("t{i}"));
            s.status = if i % 2 == 0 {
                Status::Down
            } else {
                Status::Degraded
            };
            let r = crate::domain::CheckResult {
                target_id: format!("t{i}"),
                kind: TargetKind::Server,
                at: 5,
                outcome: crate::domain::Outcome::Failed,
                status_code: None,
                latency_ms: 1,
                connect_ms: None,
                ttfb_ms: None,
                cert_days_left: None,
                bytes: 0,
                attempts: 1,
                error: None,
                message: None,
            };
            let mut t = t.clone();
            t.id = format!("t{i}");
            let (_, a) = crate::domain::next_state(
                &TargetState {
                    status: Status::Healthy,
                    ..TargetState::new(&t.id)
                },
                &r,
                &crate::domain::Target {
                    failure_threshold: 1,
                    ..t
                },
            );
            transitions.extend(a);
        }
        let storm = storm_alert(TargetKind::Server, 5, &transitions, &[]);
        assert_eq!(storm.kind, AlertKind::Storm);
        assert_eq!(storm.severity, Severity::Critical);
        assert_eq!(storm.targets.len(), 60);
        assert!(
            storm.subject.len() < 100 && storm.text.contains("and 10 more"),
            "{}",
            storm.text
        );
        assert_eq!(storm.key, "storm#server#5");
    }

    #[test]
    fn the_daily_report_counts_statuses_traffic_cost_and_names_best_and_worst() {
        let p = |id: &str| {
            serde_json::from_value::<Target>(json!({"id": id, "group": "pool", "kind": "proxy",
                "proxy_url": "http://h:1", "test_urls": ["http://x/"]}))
            .unwrap()
        };
        let (a, b) = (p("cheap"), p("flaky"));
        let mut sa = TargetState::new("cheap");
        sa.status = Status::Healthy;
        sa.checks = 100;
        // The probe already rolled over to the next day: the report takes the day before.
        sa.prev_day_start = DAY_MS;
        sa.prev_day_traffic_bytes = 2_000_000_000;
        sa.prev_day_cost = 1.5;
        sa.day_start = 2 * DAY_MS;
        sa.day_traffic_bytes = 7;
        let mut sb = TargetState::new("flaky");
        sb.status = Status::Down;
        sb.status_since = DAY_MS + 3_600_000;
        sb.checks = 100;
        sb.failures = 40;
        sb.day_start = DAY_MS;
        sb.day_traffic_bytes = 500_000_000;
        sb.day_cost = 0.25;
        // Lifetime uptime (100 % and 60 %) is not what ranks them: the day's uptime is.
        let report = daily_report(
            TargetKind::Proxy,
            DAY_MS,
            &[(&a, &sa, Some(99.5)), (&b, &sb, Some(60.0))],
        );
        assert_eq!(report.kind, AlertKind::DailyReport);
        assert_eq!(report.key, "report#proxy#1970-01-02");
        for want in [
            "1 down, 1 healthy",
            "2.500 GB",
            "cost 1.75",
            "Best: cheap (99.50% up that day)",
            "Worst: flaky (60.00% up that day)",
            "Open incidents: flaky down since 1970-01-02T01:00:00Z",
        ] {
            assert!(report.text.contains(want), "{want}: {}", report.text);
        }
    }
}
