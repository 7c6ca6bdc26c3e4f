//! The alerts of a location's dead man's switch: `location_silent` when a probe location has not
//! reported for longer than the grace period, `location_back` when it reports again.
//!
//! They are about a location, not a target: `target_id` is empty, `target_name` is
//! `location <name>` and `group` is the location's name (notification routes select on it as on a
//! group). The keys are stable for one event, so that however many runs compute the same alert
//! it is published once: `location#<name>#silent#<last_seen ms>` (one silence per last report)
//! and `location#<name>#back#<ms>` (the report that brought it back).

use super::LocationHealth;
use crate::domain::alert::{Alert, AlertKind, Severity};
use crate::domain::state::Status;
use crate::domain::target::TargetKind;

/// An alert about the location `name`, for the probe run of `kind`.
fn location_alert(
    (kind, severity): (AlertKind, Severity),
    key: String,
    name: &str,
    target_kind: TargetKind,
    (old_status, new_status): (Status, Status),
    at: i64,
    (what, text): (&str, String),
) -> Alert {
    let name = crate::redact::clip(name, super::MAX_LOCATION_LEN);
    Alert {
        key,
        kind,
        severity,
        target_id: String::new(),
        target_name: format!("location {name}"),
        target_kind,
        group: name.to_string(),
        old_status,
        new_status,
        at,
        subject: format!(
            "[{}] probe location {name} {what}",
            severity.as_str().to_uppercase()
        ),
        text,
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    }
}

/// The critical alert that the location `h` has not reported for longer than `grace_ms` at
/// `now_ms` (epoch ms). Key `location#<name>#silent#<last_seen>`; statuses `healthy` (or
/// `unknown` for a location that never reported) → `down`. Text: "Probe location eu-west-1 has
/// not reported since 2025-01-01T00:00:00Z (grace 180 s); it is left out of every quorum until it
/// reports."
pub fn silent_alert(h: &LocationHealth, now_ms: i64, grace_ms: i64, kind: TargetKind) -> Alert {
    let name = &h.location;
    let grace_s = grace_ms / 1000;
    let since = if h.last_seen > 0 {
        format!(
            "has not reported since {}",
            crate::time::rfc3339(h.last_seen)
        )
    } else {
        "has never reported".to_string()
    };
    let text = format!(
        "Probe location {name} {since} (grace {grace_s} s); it is left out of every quorum until it reports."
    );
    let old = if h.last_seen > 0 {
        Status::Healthy
    } else {
        Status::Unknown
    };
    location_alert(
        (AlertKind::LocationSilent, Severity::Critical),
        format!("location#{name}#silent#{}", h.last_seen),
        name,
        kind,
        (old, Status::Down),
        now_ms,
        ("is not reporting", text),
    )
}

/// The informational alert that the location `name`, silent since `silent_since_ms` (its last
/// report before the silence, epoch ms; 0 when it had never reported), reports again at `now_ms`.
/// Key `location#<name>#back#<now_ms>`; statuses `down` → `healthy`.
pub fn back_alert(name: &str, silent_since_ms: i64, now_ms: i64, kind: TargetKind) -> Alert {
    let text = if silent_since_ms > 0 {
        let minutes = (now_ms - silent_since_ms).max(0) / crate::time::MINUTE_MS;
        format!(
            "Probe location {name} reports again, after {minutes} min without a report (the last at {}); it takes part in the quorum again.",
            crate::time::rfc3339(silent_since_ms)
        )
    } else {
        format!("Probe location {name} reports for the first time; it takes part in the quorum.")
    };
    location_alert(
        (AlertKind::LocationBack, Severity::Info),
        format!("location#{name}#back#{now_ms}"),
        name,
        kind,
        (Status::Down, Status::Healthy),
        now_ms,
        ("reports again", text),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z

    #[test]
    fn a_silent_location_pages_with_its_last_report_and_the_grace() {
        let h = LocationHealth {
            location: "eu-west-1".into(),
            last_seen: T0,
            silent: false,
        };
        let a = silent_alert(&h, T0 + 200_000, 180_000, TargetKind::Server);
        assert_eq!(a.kind, AlertKind::LocationSilent);
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.key, format!("location#eu-west-1#silent#{T0}"));
        assert_eq!(
            a.text,
            "Probe location eu-west-1 has not reported since 2025-01-01T00:00:00Z (grace 180 s); \
             it is left out of every quorum until it reports."
        );
        assert_eq!(
            (
                a.target_id.as_str(),
                a.target_name.as_str(),
                a.group.as_str()
            ),
            ("", "location eu-west-1", "eu-west-1")
        );
        assert_eq!(
            (a.old_status, a.new_status),
            (Status::Healthy, Status::Down)
        );
        assert_eq!(a.at, T0 + 200_000);
        assert!(a.locations.is_none() && a.subject.len() <= 100);
        assert_eq!(
            a.subject,
            "[CRITICAL] probe location eu-west-1 is not reporting"
        );
        // The same silence computed again (another run, later) has the same key.
        assert_eq!(
            silent_alert(&h, T0 + 400_000, 180_000, TargetKind::Proxy).key,
            a.key
        );
    }

    #[test]
    fn a_location_that_never_reported_is_silent_from_unknown() {
        let h = LocationHealth {
            location: "ap-south-1".into(),
            last_seen: 0,
            silent: false,
        };
        let a = silent_alert(&h, T0, 300_000, TargetKind::Server);
        assert_eq!(a.key, "location#ap-south-1#silent#0");
        assert_eq!(a.old_status, Status::Unknown);
        assert!(
            a.text.contains("has never reported (grace 300 s)"),
            "{}",
            a.text
        );
    }

    #[test]
    fn a_location_back_is_info_keyed_by_the_report_that_brought_it_back() {
        let a = back_alert("us-east-1", T0, T0 + 10 * 60_000, TargetKind::Server);
        assert_eq!(a.kind, AlertKind::LocationBack);
        assert_eq!(a.severity, Severity::Info);
        assert_eq!(a.key, format!("location#us-east-1#back#{}", T0 + 600_000));
        assert_eq!(
            (a.old_status, a.new_status),
            (Status::Down, Status::Healthy)
        );
        assert!(
            a.text
                .starts_with("Probe location us-east-1 reports again, after 10 min"),
            "{}",
            a.text
        );
        assert_eq!(a.group, "us-east-1");
        assert!(back_alert("x", 0, T0, TargetKind::Proxy)
            .text
            .contains("for the first time"));
    }
}
