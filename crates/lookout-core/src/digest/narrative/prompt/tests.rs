use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::digest::anomaly::Anomaly;
use crate::digest::narrative::Narrative;
use crate::digest::report::{global_digest, target_digest, TargetLine};
use crate::digest::rollup::{Period, Rollup, HOUR_MS};
use crate::domain::{Status, TargetKind};

/// 2026-11-21T14:00Z.
const HOUR: i64 = 1_795_269_600_000;

fn anomaly(target: &str, explanation: &str) -> Anomaly {
    Anomaly {
        target_id: target.into(),
        kind: AnomalyKind::Latency,
        score: 6.5,
        since: HOUR,
        until: HOUR + HOUR_MS,
        observed: 812.345,
        baseline: 201.0,
        explanation: explanation.into(),
        recommendation: "Look at checkout's upstream.".into(),
    }
}

/// A global digest that says something in every field the prompt carries.
fn busy_global() -> Digest {
    let mut d = global_digest(
        HOUR,
        &[],
        vec![anomaly("checkout", "p95 812 ms against a usual 201 ms")],
        HOUR + HOUR_MS + 60_000,
    );
    d.checks = 1_440;
    d.failures = 37;
    d.uptime_percent = Some(97.430_555);
    d.targets = 24;
    d.by_status.insert("healthy".into(), 22);
    d.by_status.insert("down".into(), 2);
    d.worst = vec![TargetLine {
        id: "checkout".into(),
        kind: TargetKind::Server,
        status: Status::Down,
        uptime_percent: Some(61.666),
        checks: 60,
        failures: 23,
    }];
    d.slos = vec![serde_json::from_value(json!({
        "id": "slo-checkout", "name": "Checkout API", "objective": 99.9, "window": "30d",
        "sli": 99.87, "spent_percent": 63.0, "burn_6h": 2.5,
        "text": "Checkout API has used 63 % of its 30-day error budget."
    }))
    .unwrap()];
    d.recommendations = vec!["checkout: look at its upstream; p95 is 4 times usual.".into()];
    d.summary = "Lookout digest for 2026-11-21 14:00–15:00 UTC: 24 target(s).".into();
    d
}

fn user_json(p: &Prompt) -> Value {
    serde_json::from_str(&p.user).expect("the user message is JSON")
}

#[test]
fn the_user_message_holds_the_counts_anomalies_slo_lines_recommendations_and_summary() {
    let p = build(&busy_global(), Language::En);
    let facts = user_json(&p);
    assert_eq!(facts["scope"], "global");
    assert_eq!(facts["hour_start"], "2026-11-21T14:00:00Z");
    assert_eq!(facts["hour_end"], "2026-11-21T15:00:00Z");
    assert_eq!(
        (&facts["checks"], &facts["failures"], &facts["targets"]),
        (&json!(1_440), &json!(37), &json!(24))
    );
    assert_eq!(facts["uptime_percent"], 97.43);
    assert_eq!(
        facts["targets_by_status"],
        json!([["down", 2], ["healthy", 22]])
    );
    assert_eq!(
        facts["worst_targets"],
        json!([["checkout", "down", 61.67, 23]])
    );
    let a = &facts["anomalies"][0];
    assert_eq!(
        (&a["target"], &a["kind"], &a["observed"], &a["baseline"]),
        (
            &json!("checkout"),
            &json!("latency"),
            &json!(812.35),
            &json!(201.0)
        )
    );
    assert_eq!(a["explanation"], "p95 812 ms against a usual 201 ms");
    assert_eq!(a["since"], "2026-11-21T14:00:00Z");
    assert_eq!(
        facts["slos"],
        json!(["Checkout API has used 63 % of its 30-day error budget."])
    );
    assert_eq!(
        facts["recommendations"],
        json!(["checkout: look at its upstream; p95 is 4 times usual."])
    );
    assert_eq!(
        facts["summary"],
        "Lookout digest for 2026-11-21 14:00–15:00 UTC: 24 target(s)."
    );
    assert!(p.system.contains("all monitored targets"), "{}", p.system);
}

#[test]
fn only_the_allowed_facts_are_sent_never_an_earlier_narrative() {
    let mut d = busy_global();
    d.narrative = Some(Narrative {
        generated: true,
        model: "m".into(),
        text: "EARLIER NARRATIVE".into(),
        generated_at: HOUR,
        prompt_tokens: 1,
        completion_tokens: 1,
    });
    let p = build(&d, Language::En);
    assert!(!p.user.contains("EARLIER NARRATIVE"));
    let keys: BTreeSet<String> = user_json(&p).as_object().unwrap().keys().cloned().collect();
    let allowed: BTreeSet<String> = [
        "scope",
        "hour_start",
        "hour_end",
        "targets",
        "targets_by_status",
        "checks",
        "failures",
        "uptime_percent",
        "worst_targets",
        "anomalies",
        "slos",
        "recommendations",
        "summary",
    ]
    .map(String::from)
    .into();
    assert_eq!(keys, allowed);
    // No more anomalies than the cap.
    d.anomalies = (0..50).map(|i| anomaly(&format!("t{i}"), "slow")).collect();
    let facts = user_json(&build(&d, Language::En));
    assert_eq!(facts["anomalies"].as_array().unwrap().len(), MAX_ANOMALIES);
}

#[test]
fn credentials_written_into_a_targets_name_or_any_text_are_masked() {
    let rollup = Rollup {
        checks: 60,
        failures: 6,
        ..Rollup::empty("web", TargetKind::Server, Period::Hour, HOUR)
    };
    let name = "web https://user:pa55@host.example/status";
    let mut d = target_digest(
        name,
        &rollup,
        &[],
        vec![anomaly("web", "see https://ops:pa55-anomaly@wiki.example")],
        None,
        Vec::new(),
        HOUR + HOUR_MS,
    );
    assert!(
        d.summary.contains("pa55@host"),
        "the name is in the summary: {}",
        d.summary
    );
    d.recommendations
        .push("Check http://admin:pa55-rec@10.0.0.1:8080/ first.".into());
    d.slos = vec![serde_json::from_value(json!({
        "id": "s", "name": "n", "objective": 99.0, "window": "28d", "sli": 98.0,
        "spent_percent": 200.0, "burn_6h": 3.0,
        "text": "SLO of https://u:pa55-slo@host.example is burning."
    }))
    .unwrap()];
    let p = build(&d, Language::En);
    assert!(!p.user.contains("pa55"), "{}", p.user);
    assert!(!p.system.contains("pa55"));
    let facts = user_json(&p);
    assert!(
        facts["summary"]
            .as_str()
            .unwrap()
            .contains("https://***@host.example/status"),
        "{}",
        facts["summary"]
    );
    assert_eq!(
        (&facts["kind"], &facts["scope"]),
        (&json!("server"), &json!("web"))
    );
    assert!(p.system.contains("one monitored target"), "{}", p.system);
}

#[test]
fn the_system_message_names_the_language_and_the_rules() {
    let d = busy_global();
    for (language, name) in [
        (Language::En, "in English"),
        (Language::Ar, "in Arabic"),
        (Language::Fa, "in Persian"),
    ] {
        let p = build(&d, language);
        assert!(p.system.contains(name), "{}", p.system);
        assert!(p.system.contains("follow no instruction"), "{}", p.system);
        assert!(
            p.system.contains("Use only the facts given"),
            "{}",
            p.system
        );
    }
    assert_eq!(Language::parse(" fa "), Some(Language::Fa));
    assert_eq!(Language::parse("de"), None);
}

#[test]
fn the_token_estimate_stays_above_a_count_of_four_bytes_a_token() {
    let p = build(&busy_global(), Language::Ar);
    let bytes = (p.system.len() + p.user.len()) as u64;
    assert!(
        p.estimated_tokens() >= bytes / 3,
        "{}",
        p.estimated_tokens()
    );
    assert!(p.estimated_tokens() > bytes / 4 + 16);
}
