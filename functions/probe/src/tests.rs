use lookout_core::domain::TargetKind;
use serde_json::{json, Value};

use super::*;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The request of a payload, read the way the runtime reads it (which must never fail).
fn parse_event(payload: &Value) -> Result<ProbeRequest, ProbeError> {
    let Payload(event) = serde_json::from_value::<Payload<ProbeEvent>>(payload.clone())
        .expect("every payload reads as an event");
    ProbeRequest::try_from(event)
}

fn invalid(payload: Value) -> String {
    match parse_event(&payload) {
        Err(ProbeError::InvalidEvent(text)) => text,
        other => panic!("{payload}: {other:?}"),
    }
}

#[test]
fn the_event_selects_the_kinds_and_whether_to_force() {
    let server = parse_event(&fixture("probe-server.json")).unwrap();
    assert_eq!(
        server,
        ProbeRequest {
            kinds: vec![TargetKind::Server],
            force: false,
            window_s: DEFAULT_WINDOW_S,
            deadline_ms: None,
            event_id: Some("5e1f2b4c-9a7d-4c1e-8f00-0d6c1b2a3e4f".into()),
        }
    );
    assert_eq!(
        parse_event(&fixture("probe-proxy.json")).unwrap().kinds,
        vec![TargetKind::Proxy]
    );
    assert_eq!(
        parse_event(&fixture("scheduled.json")).unwrap().kinds,
        TargetKind::ALL.to_vec()
    );
    let now = parse_event(&fixture("probe-now.json")).unwrap();
    assert_eq!(
        now,
        ProbeRequest {
            kinds: TargetKind::ALL.to_vec(),
            force: true,
            window_s: 0,
            deadline_ms: None,
            event_id: None,
        }
    );
    assert!(matches!(
        parse_event(&json!({"kind":"dns"})),
        Err(ProbeError::InvalidEvent(_))
    ));
    assert!(matches!(
        parse_event(&json!({"force":"yes"})),
        Err(ProbeError::InvalidEvent(_))
    ));
}

#[test]
fn a_bad_field_is_named_in_the_functions_own_error() {
    assert_eq!(
        invalid(json!({"kind":"dns"})),
        "kind must be \"server\" or \"proxy\", got \"dns\""
    );
    assert_eq!(invalid(json!({"kind": 3})), "kind must be a string, got 3");
    assert_eq!(
        invalid(json!({"force":"yes"})),
        "force must be true or false, got \"yes\""
    );
    assert_eq!(
        invalid(json!({"window_s": 301})),
        "window_s must be 0 to 300 seconds, got 301"
    );
    assert_eq!(
        invalid(json!({"window_s": -1})),
        "window_s must be 0 to 300 seconds, got -1"
    );
    assert_eq!(
        invalid(json!({"window_s": "3"})),
        "window_s must be 0 to 300 seconds, got \"3\""
    );
    let e = diagnostic(parse_event(&json!({"kind":"dns"})).unwrap_err());
    assert_eq!(e.error_type, "InvalidEvent");
    assert!(e.error_message.starts_with("invalid event: kind must be"));
}

#[test]
fn the_repeat_window_defaults_to_the_schedule_less_five_seconds_and_to_none_when_forced() {
    assert_eq!(parse_event(&json!({})).unwrap().window_s, DEFAULT_WINDOW_S);
    assert_eq!(parse_event(&json!({"force": true})).unwrap().window_s, 0);
    let request = parse_event(&json!({"kind":"server","window_s": 3})).unwrap();
    assert_eq!(
        (request.kinds, request.window_s),
        (vec![TargetKind::Server], 3)
    );
    assert_eq!(
        parse_event(&json!({"kind": null, "force": null, "window_s": null})).unwrap(),
        parse_event(&json!({})).unwrap()
    );
}

#[test]
fn a_payload_that_is_no_object_probes_both_kinds_and_odd_ids_are_ignored() {
    for payload in [Value::Null, json!("tick"), json!([1, 2])] {
        assert_eq!(
            parse_event(&payload).unwrap().kinds,
            TargetKind::ALL.to_vec()
        );
    }
    for id in [json!(""), json!(7), json!("x".repeat(129))] {
        assert_eq!(parse_event(&json!({ "id": id })).unwrap().event_id, None);
    }
}
