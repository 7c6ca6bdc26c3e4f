//! The packed encodings of snapshot and history items: a record is a JSON array of its fields'
//! values in a fixed order, without the field names, trailing empty fields left out.
//!
//! The cost rule of the layout (DESIGN.md, Storage) prices writes by the kilobyte, so the
//! bytes of a result decide the bill: a result as a JSON object is about 160 bytes, packed about
//! 40 (`["t00042",3,"up",12,200,120,1,5,10]`). The values are the fields' own serde forms, so
//! enums, options and defaults round-trip through serde as they do in JSON.
//!
//! - History entry: `[target_id, state version, outcome, latency_ms, status_code, bytes,
//!   attempts, connect_ms, ttfb_ms, error, message, cert_days_left]`; `kind` and `at` are the
//!   item's (its partition key and sort key).
//! - Snapshot entry: `[state, result or null]`, each packed in the order of [`STATE_FIELDS`] and
//!   [`RESULT_FIELDS`].
//! - Both are written deflated ([`deflate`]) as binary attributes (`z` for history, `pz` for a
//!   snapshot chunk), about a third of the text's bytes; the text attributes (`r`, `p`) written
//!   before are still read.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use lookout_app::ports::Latest;
use lookout_core::domain::{CheckResult, TargetKind};

/// Field order of a packed [`lookout_core::domain::TargetState`].
pub const STATE_FIELDS: [&str; 26] = [
    "target_id",
    "status",
    "status_since",
    "consecutive_failures",
    "consecutive_successes",
    "last_check",
    "last_success",
    "last_latency_ms",
    "ewma_latency_ms",
    "checks",
    "failures",
    "version",
    "last_error",
    "last_alert_at",
    "day_start",
    "traffic_bytes",
    "cost",
    "day_traffic_bytes",
    "day_cost",
    "prev_day_start",
    "prev_day_traffic_bytes",
    "prev_day_cost",
    "cert_alerted",
    "flap_changes",
    "flap_last",
    "flapping",
];

/// Field order of a packed [`CheckResult`] in a snapshot.
pub const RESULT_FIELDS: [&str; 13] = [
    "target_id",
    "at",
    "outcome",
    "latency_ms",
    "status_code",
    "bytes",
    "attempts",
    "connect_ms",
    "ttfb_ms",
    "error",
    "message",
    "cert_days_left",
    "kind",
];

/// Field order of a history entry after `[target_id, version]`: a result without the fields
/// its item carries (`target_id` first, `kind` and `at` in the keys), which is
/// [`RESULT_FIELDS`] without its first two and its last.
fn history_fields() -> &'static [&'static str] {
    &RESULT_FIELDS[2..RESULT_FIELDS.len() - 1]
}

/// The most bytes [`inflate`] gives back: ten times DynamoDB's 400 KB item limit (a packed
/// chunk deflates to a third or less), so that a corrupt or hostile item cannot blow up.
pub const MAX_INFLATED_BYTES: u64 = 4_000_000;

/// `text` deflated (raw DEFLATE, RFC 1951, through flate2; best compression): how packed
/// history (`z`) and snapshot (`pz`) items are written, since DynamoDB bills writes by the
/// kilobyte and a run's packed results repeat themselves (ids, outcomes, status codes).
pub fn deflate(text: &str) -> Result<Vec<u8>, PackError> {
    use std::io::Write as _;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(text.as_bytes())
        .and_then(|()| e.finish())
        .map_err(|err| PackError(err.to_string()))
}

/// The text [`deflate`] made of `bytes`.
///
/// # Errors
/// [`PackError`] when `bytes` is not raw DEFLATE of UTF-8 text, or inflates past
/// [`MAX_INFLATED_BYTES`].
pub fn inflate(bytes: &[u8]) -> Result<String, PackError> {
    use std::io::Read as _;
    let mut out = String::new();
    let read = flate2::read::DeflateDecoder::new(bytes)
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_string(&mut out)
        .map_err(|e| PackError(format!("not deflated text: {e}")))?;
    if read as u64 > MAX_INFLATED_BYTES {
        return Err(PackError(format!(
            "inflates past {MAX_INFLATED_BYTES} bytes"
        )));
    }
    Ok(out)
}

/// A packing error: a field the order does not know (a new field not added to it), or a
/// record that is not what its order says.
#[derive(Debug, thiserror::Error)]
#[error("packed record: {0}")]
pub struct PackError(pub(super) String);

/// The values of `value`'s fields in `fields` order, trailing nulls left out. Fails on a field
/// `fields` lacks, so that a new field is never dropped silently.
pub(super) fn pack<T: Serialize>(value: &T, fields: &[&str]) -> Result<Vec<Value>, PackError> {
    let Value::Object(mut map) =
        serde_json::to_value(value).map_err(|e| PackError(e.to_string()))?
    else {
        return Err(PackError("not a record".into()));
    };
    let mut out: Vec<Value> = fields
        .iter()
        .map(|f| map.remove(*f).unwrap_or(Value::Null))
        .collect();
    if let Some(extra) = map.keys().next() {
        return Err(PackError(format!(
            "field {extra} has no place in the packed order"
        )));
    }
    while out.last() == Some(&Value::Null) {
        out.pop();
    }
    Ok(out)
}

/// The record whose values `values` holds in `fields` order; nulls and missing values are
/// left out, so that serde applies the field's default.
pub(super) fn unpack<T: DeserializeOwned>(
    values: &[Value],
    fields: &[&str],
    mut map: Map<String, Value>,
) -> Result<T, PackError> {
    if values.len() > fields.len() {
        return Err(PackError(format!(
            "{} values for {} fields",
            values.len(),
            fields.len()
        )));
    }
    for (f, v) in fields.iter().zip(values) {
        if !v.is_null() {
            map.insert((*f).to_string(), v.clone());
        }
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| PackError(e.to_string()))
}

pub(super) fn array(v: &Value) -> Result<&Vec<Value>, PackError> {
    v.as_array()
        .ok_or_else(|| PackError(format!("expected an array, found {v}")))
}

/// A snapshot chunk as one JSON string.
pub fn pack_snapshot(chunk: &[Latest]) -> Result<String, PackError> {
    let entries = chunk
        .iter()
        .map(|l| {
            let state = Value::Array(pack(&l.state, &STATE_FIELDS)?);
            let result = match &l.result {
                Some(r) => Value::Array(pack(r, &RESULT_FIELDS)?),
                None => Value::Null,
            };
            Ok(Value::Array(vec![state, result]))
        })
        .collect::<Result<Vec<_>, PackError>>()?;
    Ok(Value::Array(entries).to_string())
}

/// The entries of a packed snapshot chunk (nothing pending).
pub fn unpack_snapshot(text: &str) -> Result<Vec<Latest>, PackError> {
    let v: Value = serde_json::from_str(text).map_err(|e| PackError(e.to_string()))?;
    array(&v)?
        .iter()
        .map(|entry| {
            let pair = array(entry)?;
            let state = unpack(
                array(pair.first().unwrap_or(&Value::Null))?,
                &STATE_FIELDS,
                Map::new(),
            )?;
            let result = match pair.get(1) {
                None | Some(Value::Null) => None,
                Some(r) => Some(unpack(array(r)?, &RESULT_FIELDS, Map::new())?),
            };
            Ok(Latest::new(state, result))
        })
        .collect()
}

/// One run's results of one shard, each with the target's state version after it, as one JSON
/// string.
pub fn pack_history<'a>(
    results: impl IntoIterator<Item = (&'a CheckResult, u64)>,
) -> Result<String, PackError> {
    let entries = results
        .into_iter()
        .map(|(r, version)| {
            let mut map = match serde_json::to_value(r).map_err(|e| PackError(e.to_string()))? {
                Value::Object(m) => m,
                _ => return Err(PackError("not a record".into())),
            };
            map.remove("kind");
            map.remove("at");
            let id = map.remove("target_id").unwrap_or(Value::Null);
            let rest = pack(&Value::Object(map), history_fields())?;
            let mut out = vec![id, Value::from(version)];
            out.extend(rest);
            Ok(Value::Array(out))
        })
        .collect::<Result<Vec<_>, PackError>>()?;
    Ok(Value::Array(entries).to_string())
}

/// The results of a packed history item of `kind` recorded at `at` (epoch ms), each with the
/// target's state version after it.
pub fn unpack_history(
    text: &str,
    kind: TargetKind,
    at: i64,
) -> Result<Vec<(CheckResult, u64)>, PackError> {
    let v: Value = serde_json::from_str(text).map_err(|e| PackError(e.to_string()))?;
    array(&v)?
        .iter()
        .map(|entry| {
            let values = array(entry)?;
            let (Some(id), Some(version)) = (values.first(), values.get(1).and_then(Value::as_u64))
            else {
                return Err(PackError(format!(
                    "history entry without id and version: {entry}"
                )));
            };
            let mut base = Map::new();
            base.insert("target_id".into(), id.clone());
            base.insert(
                "kind".into(),
                serde_json::to_value(kind).map_err(|e| PackError(e.to_string()))?,
            );
            base.insert("at".into(), Value::from(at));
            let result = unpack(&values[2..], history_fields(), base)?;
            Ok((result, version))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::domain::result::{ErrorKind, Outcome};
    use lookout_core::domain::state::Status;
    use lookout_core::domain::TargetState;

    fn full_result() -> CheckResult {
        CheckResult {
            target_id: "t00042".into(),
            kind: TargetKind::Proxy,
            at: 1_763_795_000_123,
            outcome: Outcome::Failed,
            status_code: Some(503),
            latency_ms: 1_234,
            connect_ms: Some(12),
            ttfb_ms: Some(800),
            cert_days_left: Some(-3),
            bytes: 4_096,
            attempts: 3,
            error: Some(ErrorKind::Status),
            message: Some("HTTP 503, \"quoted\" [x]".into()),
        }
    }

    fn full_state() -> TargetState {
        let mut s = TargetState::new("t00042");
        s.status = Status::Down;
        s.status_since = 1_763_700_000_000;
        s.consecutive_failures = 4;
        s.consecutive_successes = 0;
        s.last_check = Some(1_763_795_000_123);
        s.last_success = Some(1_763_794_000_000);
        s.last_latency_ms = Some(17);
        s.ewma_latency_ms = Some(12.299_999_999_999_999);
        s.last_error = Some("refused".into());
        s.checks = 123_456;
        s.failures = 78;
        s.traffic_bytes = 9_000_000_000;
        s.cost = 31.5;
        s.version = 12;
        s.last_alert_at = Some(1_763_700_000_000);
        s.day_start = 1_763_769_600_000;
        s.day_traffic_bytes = 5;
        s.day_cost = 0.25;
        s.prev_day_start = 1_763_683_200_000;
        s.prev_day_traffic_bytes = 6;
        s.prev_day_cost = 0.5;
        s.cert_alerted = Some(1_764_000_000_000);
        s.flap_changes = 0b1010_1010_1010_1010_1010;
        s.flap_last = Some(Status::Down);
        s.flapping = true;
        s
    }

    #[test]
    fn deflated_text_inflates_back_and_garbage_or_a_bomb_is_refused() {
        let chunk: Vec<Latest> = (0..100)
            .map(|i| {
                let mut r = full_result();
                r.target_id = format!("t{i:05}");
                r.outcome = Outcome::Up;
                r.message = None;
                r.error = None;
                Latest::new(full_state(), Some(r))
            })
            .collect();
        let text = pack_snapshot(&chunk).unwrap();
        let z = deflate(&text).unwrap();
        assert_eq!(inflate(&z).unwrap(), text);
        assert!(z.len() * 3 < text.len(), "{} of {}", z.len(), text.len());
        assert!(inflate(b"not deflate at all").is_err());
        let bomb = deflate(&" ".repeat(MAX_INFLATED_BYTES as usize + 10)).unwrap();
        assert!(inflate(&bomb).is_err());
    }

    #[test]
    fn a_snapshot_round_trips_every_field_and_an_empty_state() {
        let chunk = vec![
            Latest::new(full_state(), Some(full_result())),
            Latest::new(TargetState::new("fresh"), None),
        ];
        let text = pack_snapshot(&chunk).unwrap();
        assert_eq!(unpack_snapshot(&text).unwrap(), chunk);
        // Trailing empty fields are left out (a new state's `cert_alerted`, the missing result).
        assert!(text.ends_with(r#"0.0],null]]"#), "{text}");
    }

    #[test]
    fn a_history_entry_round_trips_and_is_a_quarter_of_the_json_object() {
        let mut up = full_result();
        up.outcome = Outcome::Up;
        up.error = None;
        up.message = None;
        up.cert_days_left = None;
        up.status_code = Some(200);
        up.latency_ms = 12;
        let entries = [(&up, 3), (&full_result(), 12)];
        let text = pack_history(entries).unwrap();
        let back = unpack_history(&text, TargetKind::Proxy, 1_763_795_000_123).unwrap();
        assert_eq!(back, vec![(up.clone(), 3), (full_result(), 12)]);
        let packed = pack_history([(&up, 3)]).unwrap().len();
        let json = serde_json::to_string(&up).unwrap().len();
        assert!(packed * 3 < json, "packed {packed} bytes, JSON {json}");
    }

    #[test]
    fn a_field_missing_from_the_order_is_an_error_not_a_loss() {
        #[derive(Serialize)]
        struct Wider {
            target_id: &'static str,
            surprise: u8,
        }
        let e = pack(
            &Wider {
                target_id: "a",
                surprise: 1,
            },
            &STATE_FIELDS,
        )
        .unwrap_err();
        assert!(e.to_string().contains("surprise"), "{e}");
    }

    #[test]
    fn malformed_items_are_errors() {
        for bad in ["{}", "[1]", "[[1,2]]", r#"[["a"]]"#, "not json"] {
            assert!(unpack_history(bad, TargetKind::Server, 0).is_err(), "{bad}");
        }
        for bad in ["{}", "[1]", "[[1]]", r#"[[["a","nope"]]]"#] {
            assert!(unpack_snapshot(bad).is_err(), "{bad}");
        }
    }
}
