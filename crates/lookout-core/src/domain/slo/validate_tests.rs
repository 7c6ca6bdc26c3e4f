use serde_json::{json, Value};

use super::*;

const NOW: i64 = 1_764_633_600_000;

fn draft(v: Value) -> Result<Slo, SloError> {
    Slo::from_draft(SloDraft::parse(v)?, NOW)
}

fn good() -> Value {
    json!({"id": "checkout", "name": "Checkout API", "group": "checkout",
           "objective": 99.9, "window": "30d", "sli": {"type": "availability"}})
}

fn with(mut base: Value, field: &str, value: Value) -> Value {
    base[field] = value;
    base
}

fn refused_field(v: Value) -> String {
    match draft(v.clone()) {
        Ok(slo) => panic!("{v} was accepted: {slo:?}"),
        Err(e) => e.field,
    }
}

#[test]
fn a_good_draft_becomes_version_1_with_the_defaults() {
    let slo = draft(good()).unwrap();
    assert_eq!(slo.id, "checkout");
    assert_eq!(slo.selector, SloSelector::Group("checkout".into()));
    assert_eq!((slo.objective, slo.window), (99.9, SloWindow::Rolling30d));
    assert_eq!(slo.sli, Sli::Availability);
    assert!(slo.exclude_maintenance && slo.alerts);
    assert_eq!((slo.version, slo.created_at, slo.updated_at), (1, NOW, NOW));
    let latency = draft(
        json!({"id": "api-fast", "name": "API under 300 ms", "target": "api-1",
        "objective": 99, "window": "calendar_month", "alerts": false,
        "sli": {"type": "latency", "threshold_ms": 300}}),
    )
    .unwrap();
    assert_eq!(latency.sli, Sli::Latency { threshold_ms: 300 });
    assert_eq!(latency.selector, SloSelector::Target("api-1".into()));
    assert!(!latency.alerts);
}

#[test]
fn every_bad_draft_names_its_field() {
    let no_selector = {
        let mut v = good();
        v.as_object_mut().unwrap().remove("group");
        v
    };
    let cases = [
        (with(good(), "objective", json!(0)), "objective"),
        (with(good(), "objective", json!(-1)), "objective"),
        (with(good(), "objective", json!(99.9991)), "objective"),
        (with(good(), "objective", json!(100)), "objective"),
        (with(good(), "objective", json!("99.9")), "objective"),
        (with(good(), "target", json!("web-1")), "group"),
        (with(good(), "tag", json!("prod")), "tag"),
        (no_selector, "target"),
        (with(good(), "group", json!("")), "group"),
        (with(good(), "colour", json!("red")), "colour"),
        (with(good(), "window", json!("7d")), "window"),
        (
            with(good(), "sli", json!({"type": "latency"})),
            "sli.threshold_ms",
        ),
        (
            with(good(), "sli", json!({"type": "latency", "threshold_ms": 0})),
            "sli.threshold_ms",
        ),
        (
            with(
                good(),
                "sli",
                json!({"type": "latency", "threshold_ms": 120_001}),
            ),
            "sli.threshold_ms",
        ),
        (
            with(
                good(),
                "sli",
                json!({"type": "availability", "threshold_ms": 5}),
            ),
            "sli.threshold_ms",
        ),
        (with(good(), "sli", json!({"type": "errors"})), "sli.type"),
        (with(good(), "sli", json!({})), "sli.type"),
        (
            with(good(), "sli", json!({"type": "latency", "p": 1})),
            "sli.p",
        ),
        (with(good(), "id", json!("Checkout")), "id"),
        (with(good(), "id", json!("..")), "id"),
        (with(good(), "id", json!("a".repeat(65))), "id"),
        (with(good(), "name", json!("")), "name"),
        (with(good(), "name", json!("   ")), "name"),
        (with(good(), "name", json!("a".repeat(201))), "name"),
        (with(good(), "name", json!("a\nb")), "name"),
        (
            with(good(), "description", json!("d".repeat(1_001))),
            "description",
        ),
        (with(good(), "alerts", json!("yes")), "alerts"),
        (json!({"name": "x"}), "id"),
    ];
    for (body, field) in cases {
        assert_eq!(refused_field(body.clone()), field, "{body}");
    }
}

#[test]
fn the_limits_themselves_are_accepted() {
    for (field, value) in [
        ("objective", json!(99.999)),
        ("objective", json!(0.001)),
        ("name", json!("n".repeat(200))),
        ("description", json!("d\n".repeat(500))),
        ("id", json!("a".repeat(64))),
        ("sli", json!({"type": "latency", "threshold_ms": 120_000})),
        ("sli", json!({"type": "latency", "threshold_ms": 1})),
    ] {
        let body = with(good(), field, value);
        assert!(draft(body.clone()).is_ok(), "{body}");
    }
}

fn patched(patch: Value) -> Result<Slo, SloError> {
    let mut slo = draft(with(
        good(),
        "sli",
        json!({"type": "latency", "threshold_ms": 300}),
    ))
    .unwrap();
    slo.apply_patch(SloPatch::parse(patch)?, NOW + 1)?;
    Ok(slo)
}

#[test]
fn a_patch_changes_what_it_names_and_bumps_the_version() {
    let slo = patched(json!({"name": "Checkout", "objective": 99.5, "description": "d"})).unwrap();
    assert_eq!((slo.name.as_str(), slo.objective), ("Checkout", 99.5));
    assert_eq!(slo.description.as_deref(), Some("d"));
    assert_eq!(slo.window, SloWindow::Rolling30d, "unchanged");
    assert_eq!(
        (slo.version, slo.created_at, slo.updated_at),
        (2, NOW, NOW + 1)
    );

    // A selector given replaces the stored one.
    let slo = patched(json!({"tag": "prod"})).unwrap();
    assert_eq!(slo.selector, SloSelector::Tag("prod".into()));
    let slo = patched(json!({"tag": "prod", "group": null})).unwrap();
    assert_eq!(slo.selector, SloSelector::Tag("prod".into()));

    // A threshold alone keeps the latency SLI; a new type replaces it.
    let slo = patched(json!({"sli": {"threshold_ms": 500}})).unwrap();
    assert_eq!(slo.sli, Sli::Latency { threshold_ms: 500 });
    let slo = patched(json!({"sli": {"type": "availability"}})).unwrap();
    assert_eq!(slo.sli, Sli::Availability);

    // `null` removes the description and restores the defaults.
    let slo = patched(json!({"description": null, "alerts": null, "exclude_maintenance": false}))
        .unwrap();
    assert_eq!(slo.description, None);
    assert!(slo.alerts && !slo.exclude_maintenance);
    assert!(patched(json!({"id": "checkout"})).is_ok(), "the same id");
}

#[test]
fn every_bad_patch_names_its_field_and_changes_nothing() {
    let cases = [
        (json!({"objective": 100}), "objective"),
        (json!({"objective": null}), "objective"),
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"window": "1y"}), "window"),
        (json!({"window": null}), "window"),
        (json!({"sli": null}), "sli"),
        (
            json!({"sli": {"type": "availability", "threshold_ms": 5}}),
            "sli.threshold_ms",
        ),
        (json!({"sli": {"threshold_ms": 0}}), "sli.threshold_ms"),
        (json!({"target": "a", "tag": "b"}), "tag"),
        (json!({"group": null}), "group"),
        (json!({"id": "other"}), "id"),
        (json!({"version": 1}), "version"),
        (json!({"status": {}}), "status"),
        (json!({"description": 5}), "description"),
    ];
    for (patch, field) in cases {
        let mut slo = draft(good()).unwrap();
        let before = slo.clone();
        let err = SloPatch::parse(patch.clone())
            .and_then(|p| slo.apply_patch(p, NOW + 1))
            .expect_err(&patch.to_string());
        assert_eq!(err.field, field, "{patch}");
        assert_eq!(slo, before, "{patch}");
    }
    // An availability SLO made a latency one needs its threshold.
    let mut slo = draft(good()).unwrap();
    let err = slo
        .apply_patch(
            SloPatch::parse(json!({"sli": {"type": "latency"}})).unwrap(),
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.field, "sli.threshold_ms");
    // Clearing a selector the SLO does not use changes nothing.
    let slo = patched(json!({"target": null})).unwrap();
    assert_eq!(slo.selector, SloSelector::Group("checkout".into()));
}
