use lookout_core::digest::rollup::HOUR_MS;
use serde_json::{json, Value};

use super::*;

/// 2026-11-21T14:00Z.
const HOUR: i64 = 1_795_269_600_000;

/// The request of a payload at `now`, read the way the runtime reads it (which must never fail).
fn request(payload: Value, now: i64) -> Result<DigestRequest, String> {
    let Payload(event) = serde_json::from_value::<Payload<DigestEvent>>(payload)
        .expect("every payload reads as an event");
    event.request(now).map_err(|e| e.to_string())
}

#[test]
fn the_event_names_an_hour_or_takes_the_last_one() {
    let now = HOUR + 5 * 60_000;
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
    assert_eq!(request(scheduled, now).unwrap().hour, HOUR - HOUR_MS);
    assert_eq!(request(json!({}), now).unwrap().hour, HOUR - HOUR_MS);
    let asked = json!({"hour": "2026-11-21T12"});
    assert_eq!(request(asked, now).unwrap().hour, HOUR - 2 * HOUR_MS);
    // The hour in progress may be digested so far; the next one has not started.
    let current = json!({"hour": "2026-11-21T14"});
    assert_eq!(request(current, now).unwrap().hour, HOUR);
    for bad in [
        json!({"hour": "2026-11-21T15"}),
        json!({"hour": "2026-13-01T00"}),
        json!({"hour": 5}),
        json!({"hour": null}),
        json!({"hour": "yesterday"}),
    ] {
        let e = request(bad, now).unwrap_err();
        assert!(e.starts_with("hour:"), "{e}");
    }
}

#[test]
fn a_bad_hour_is_a_bad_request_with_the_same_words_as_before() {
    let now = HOUR + 5 * 60_000;
    assert_eq!(
        request(json!({"hour": 5}), now).unwrap_err(),
        "hour: expected text like \"2026-11-21T14\""
    );
    assert_eq!(
        request(json!({"hour": "yesterday"}), now).unwrap_err(),
        "hour: \"yesterday\" is not an hour like \"2026-11-21T14\""
    );
    assert_eq!(
        request(json!({"hour": "2026-11-21T15"}), now).unwrap_err(),
        "hour: 2026-11-21T15 has not started yet"
    );
    let Payload(event) =
        serde_json::from_value::<Payload<DigestEvent>>(json!({"hour": 5})).unwrap();
    let e = diagnostic(event.request(now).unwrap_err());
    assert_eq!(e.error_type, "BadRequest");
}

#[test]
fn a_payload_that_is_no_object_digests_the_last_hour() {
    let now = HOUR + 5 * 60_000;
    for payload in [Value::Null, json!("tick"), json!([])] {
        assert_eq!(request(payload, now).unwrap().hour, HOUR - HOUR_MS);
    }
}
