//! Tests of `config.rs`.

use super::*;
use std::collections::HashMap;

fn from(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let m: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| m.get(k).cloned())
}

#[test]
fn a_missing_table_is_an_error_naming_the_variable() {
    let e = from(&[]).unwrap_err();
    assert_eq!(e.name, "LOOKOUT_TABLE");
}

#[test]
fn allowed_cidrs_parse_and_a_bad_one_names_the_variable() {
    let s = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_ALLOWED_CIDRS", "10.20.0.0/16, fd12::/48"),
    ])
    .unwrap();
    assert_eq!(s.allowed_cidrs.len(), 2);
    assert!(s
        .probe_options()
        .guard()
        .refusal("10.20.1.1".parse().unwrap())
        .is_none());
    let e = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_ALLOWED_CIDRS", "10.0.0.0/33"),
    ]);
    assert_eq!(e.unwrap_err().name, "LOOKOUT_ALLOWED_CIDRS");
}

#[test]
fn a_bad_number_names_the_variable_and_defaults_apply_otherwise() {
    let e = from(&[("LOOKOUT_TABLE", "t"), ("LOOKOUT_MAX_DUMPS", "many")]).unwrap_err();
    assert_eq!(e.name, "LOOKOUT_MAX_DUMPS");
    let s = from(&[("LOOKOUT_TABLE", "t")]).unwrap();
    assert_eq!(
        (
            s.max_dumps,
            s.retention_days,
            s.probe_concurrency,
            s.history_ttl_days
        ),
        (30, 7, 256, 14)
    );
    assert_eq!(s.dump_include, crate::dump::Include::default());
    let e = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_DUMP_INCLUDE", "state,logs"),
    ])
    .unwrap_err();
    assert_eq!(e.name, "LOOKOUT_DUMP_INCLUDE");
    assert!(
        !s.allow_private_targets,
        "the address guard is on by default"
    );
    let open = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_ALLOW_PRIVATE_TARGETS", "true"),
    ]);
    assert!(open.unwrap().allow_private_targets);
    let e = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_ALLOW_PRIVATE_TARGETS", "yes"),
    ]);
    assert_eq!(e.unwrap_err().name, "LOOKOUT_ALLOW_PRIVATE_TARGETS");
}

#[test]
fn a_secrets_key_must_be_32_bytes_of_base64_and_is_never_shown() {
    let e = from(&[("LOOKOUT_TABLE", "t"), ("LOOKOUT_SECRETS_KEY", "c2hvcnQ=")]).unwrap_err();
    assert_eq!(e.name, "LOOKOUT_SECRETS_KEY");
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let s = from(&[("LOOKOUT_TABLE", "t"), ("LOOKOUT_SECRETS_KEY", key)]).unwrap();
    assert!(s.secrets_key.is_some() && !format!("{s:?}").contains(key));
}

#[test]
fn renamed_settings_are_read_by_their_new_name_and_still_by_their_old_one() {
    let new = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_STORM_THRESHOLD", "3"),
        ("LOOKOUT_RETENTION_DAYS", "9"),
        ("LOOKOUT_MAX_DUMPS", "4"),
        ("LOOKOUT_DUMP_SEGMENTS", "8"),
        ("LOOKOUT_DUMP_INCLUDE", "state"),
        ("LOOKOUT_DUMP_FUNCTION", "lookout-dump"),
    ])
    .unwrap();
    let old = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("STORM_THRESHOLD", "3"),
        ("RETENTION_DAYS", "9"),
        ("MAX_DUMPS", "4"),
        ("DUMP_SEGMENTS", "8"),
        ("DUMP_INCLUDE", "state"),
        ("LOOKOUT_EXPORT_FUNCTION", "lookout-dump"),
    ])
    .unwrap();
    for s in [&new, &old] {
        assert_eq!(
            (
                s.storm_threshold,
                s.retention_days,
                s.max_dumps,
                s.dump_segments
            ),
            (3, 9, 4, 8)
        );
        assert_eq!(
            s.dump_include,
            crate::dump::Include::parse("state").unwrap()
        );
        assert_eq!(s.dump_function.as_deref(), Some("lookout-dump"));
    }
}

#[test]
fn a_new_name_wins_over_an_old_one_and_errors_name_the_new_one() {
    let s = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_MAX_DUMPS", "4"),
        ("MAX_DUMPS", "40"),
    ])
    .unwrap();
    assert_eq!(s.max_dumps, 4);
    let e = from(&[("LOOKOUT_TABLE", "t"), ("MAX_DUMPS", "many")]).unwrap_err();
    assert_eq!(e.name, "LOOKOUT_MAX_DUMPS");
    let e = from(&[("LOOKOUT_TABLE", "t"), ("DUMP_INCLUDE", "logs")]).unwrap_err();
    assert_eq!(e.name, "LOOKOUT_DUMP_INCLUDE");
}

#[test]
fn notification_settings_default_to_the_providers_and_a_bad_url_names_the_variable() {
    let s = from(&[("LOOKOUT_TABLE", "t")]).unwrap();
    assert_eq!(
        s.notify_endpoints(),
        lookout_core::notify::Endpoints::default()
    );
    assert_eq!(
        (
            s.notify_attempts,
            s.notify_max_wait_s,
            s.notify_timeout_ms,
            s.delivery_ttl_days,
            s.ses_from.as_deref()
        ),
        (4, 30, 10_000, 30, None)
    );
    let s = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_TELEGRAM_API_URL", "http://127.0.0.1:9000/"),
        ("LOOKOUT_NOTIFY_ATTEMPTS", "2"),
        ("LOOKOUT_SES_FROM", "lookout@example.com"),
    ])
    .unwrap();
    assert_eq!(s.notify_endpoints().telegram, "http://127.0.0.1:9000");
    assert_eq!(s.notify_attempts, 2);
    assert_eq!(s.ses_from.as_deref(), Some("lookout@example.com"));
    for (name, bad) in [
        ("LOOKOUT_PAGERDUTY_EVENTS_URL", "events.pagerduty.com"),
        ("LOOKOUT_OPSGENIE_API_URL", "ftp://x"),
        ("LOOKOUT_NOTIFY_TIMEOUT_MS", "10s"),
    ] {
        let e = from(&[("LOOKOUT_TABLE", "t"), (name, bad)]).unwrap_err();
        assert_eq!(e.name, name);
    }
}

#[test]
fn an_old_name_is_warned_about_once_per_process() {
    assert!(warn_old_name("LOOKOUT_ONCE_TEST", "ONCE_TEST"));
    assert!(!warn_old_name("LOOKOUT_ONCE_TEST", "ONCE_TEST"));
}

#[test]
fn probe_resolve_parses_into_the_probe_options_and_a_bad_entry_names_the_variable() {
    let s = from(&[
        ("LOOKOUT_TABLE", "t"),
        (
            "LOOKOUT_PROBE_RESOLVE",
            "api.example.com=127.0.0.2, b.example=[::1]",
        ),
    ])
    .unwrap();
    let o = s.probe_options();
    assert_eq!(
        o.resolve.get("api.example.com"),
        vec!["127.0.0.2".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(o.probe_guard().pins, o.resolve);
    assert!(from(&[("LOOKOUT_TABLE", "t")])
        .unwrap()
        .probe_resolve
        .is_empty());
    for bad in ["api.example.com", "api.example.com=nowhere", "a b=1.2.3.4"] {
        let e = from(&[("LOOKOUT_TABLE", "t"), ("LOOKOUT_PROBE_RESOLVE", bad)]).unwrap_err();
        assert_eq!(e.name, "LOOKOUT_PROBE_RESOLVE", "{bad}");
        assert!(e.to_string().contains("host=ip"), "{e}");
    }
}

#[test]
fn the_audit_retention_defaults_to_400_days_and_a_bad_one_names_the_variable() {
    let s = from(&[("LOOKOUT_TABLE", "t")]).unwrap();
    assert_eq!(s.audit_retention_days, 400);
    let s = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_AUDIT_RETENTION_DAYS", "90"),
    ])
    .unwrap();
    assert_eq!(s.audit_retention_days, 90);
    let e = from(&[
        ("LOOKOUT_TABLE", "t"),
        ("LOOKOUT_AUDIT_RETENTION_DAYS", "a year"),
    ]);
    assert_eq!(e.unwrap_err().name, "LOOKOUT_AUDIT_RETENTION_DAYS");
}
