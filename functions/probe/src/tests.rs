use lookout_core::domain::TargetKind;
use serde_json::{json, Value};

use super::*;
use crate::event::{SqsAttributes, SqsEvent, SqsMessage};
use lookout_app::usecases::event::Payload;

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

#[test]
fn an_sqs_event_reads_as_tasks_and_anything_else_as_a_scheduled_event() {
    let task = json!({"kind": "server", "shard": {"index": 1, "of": 3}, "event_id": "e#server#1of3",
        "force": false, "window_s": 55, "run_id": "r1", "issued_at": 1});
    let sqs = json!({"Records": [{"messageId": "m1", "body": task.to_string(),
        "attributes": {"ApproximateReceiveCount": "2"}, "eventSource": "aws:sqs"}]});
    match serde_json::from_value::<ProbeInput>(sqs).unwrap() {
        ProbeInput::Tasks(e) => {
            assert_eq!(e.records[0].receive_count(), 2);
            let t = task_of(&e.records[0].body).unwrap();
            assert_eq!((t.shard.index, t.shard.of, t.run_id.as_str()), (1, 3, "r1"));
        }
        other => panic!("{other:?}"),
    }
    for payload in [
        fixture("probe-server.json"),
        json!(null),
        json!({"kind": "dns"}),
    ] {
        assert!(matches!(
            serde_json::from_value::<ProbeInput>(payload).unwrap(),
            ProbeInput::Scheduled(_)
        ));
    }
}

#[test]
fn a_body_that_is_no_task_is_refused_without_quoting_it() {
    for body in ["not json SECRET", r#"{"kind": "SECRET"}"#, "[]", ""] {
        let e = task_of(body).unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "{e}");
    }
    let answer = SqsBatchResponse {
        batch_item_failures: vec![BatchItemFailure {
            item_identifier: "m-1".into(),
        }],
    };
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
    );
}

#[test]
fn a_task_that_names_no_shard_is_refused() {
    let task = |index: u32, of: u32| {
        json!({"kind": "server", "shard": {"index": index, "of": of}, "event_id": null,
               "run_id": "r", "issued_at": 0})
        .to_string()
    };
    assert!(task_of(&task(1, 3)).is_ok());
    for (index, of) in [(3, 3), (0, 0), (0, 1025), (u32::MAX, u32::MAX)] {
        let e = task_of(&task(index, of)).unwrap_err().to_string();
        assert!(e.contains("names no shard"), "{index} of {of}: {e}");
    }
}

#[tokio::test]
async fn a_stale_task_received_before_goes_back_to_the_queue_and_a_first_one_is_done() {
    use lookout_app::memory::{MemoryPublisher, MemoryStore};
    let store = MemoryStore::default();
    let publisher = MemoryPublisher::default();
    let prober = Prober::with_options(lookout_app::probe::ProbeOptions::allow_private()).unwrap();
    let config = RunConfig::new(2);
    let stale = json!({"kind": "server", "shard": {"index": 0, "of": 2}, "event_id": null,
        "run_id": "r", "issued_at": config.clock.now_ms() - 10 * 60_000})
    .to_string();
    let record = |id: &str, receives: u32| SqsMessage {
        message_id: id.into(),
        body: stale.clone(),
        attributes: SqsAttributes {
            approximate_receive_count: Some(receives.to_string()),
        },
    };
    let event = SqsEvent {
        records: vec![record("first", 1), record("again", 2)],
    };
    let answer = handle_tasks(&store, &publisher, &prober, &config, event, None).await;
    assert_eq!(answer.failed_ids(), vec!["again".to_string()]);
}

/// The template's one schedule: both kinds in one invocation, with the tick's id (what
/// `ProbeRule`'s `InputTemplate` makes of an EventBridge scheduled event).
#[test]
fn one_event_names_both_kinds_and_the_single_kind_events_still_work() {
    let both = parse_event(&json!({
        "kinds": ["server", "proxy"],
        "id": "5e1f2b4c-9a7d-4c1e-8f00-0d6c1b2a3e4f",
        "time": "2026-12-02T04:00:00Z"
    }))
    .unwrap();
    assert_eq!(
        both,
        ProbeRequest {
            kinds: vec![TargetKind::Server, TargetKind::Proxy],
            force: false,
            window_s: DEFAULT_WINDOW_S,
            deadline_ms: None,
            event_id: Some("5e1f2b4c-9a7d-4c1e-8f00-0d6c1b2a3e4f".into()),
        }
    );
    assert_eq!(
        parse_event(&json!({"kinds": ["proxy"]})).unwrap().kinds,
        vec![TargetKind::Proxy]
    );
    assert_eq!(
        parse_event(&json!({"kinds": null, "kind": "server"}))
            .unwrap()
            .kinds,
        vec![TargetKind::Server]
    );
    assert_eq!(
        invalid(json!({"kinds": ["server", "dns"]})),
        "kinds must be a list of \"server\" and \"proxy\", got [\"server\",\"dns\"]"
    );
    assert_eq!(
        invalid(json!({"kinds": "server"})),
        "kinds must be a list of \"server\" and \"proxy\", got \"server\""
    );
    assert_eq!(
        invalid(json!({"kinds": []})),
        "kinds must name at least one kind"
    );
    assert_eq!(
        invalid(json!({"kinds": ["server", "server"]})),
        "kinds names server twice"
    );
    assert_eq!(
        invalid(json!({"kinds": ["server"], "kind": "proxy"})),
        "kind and kinds: give one of them"
    );
}
