//! Conversion between `AttributeValue` and DynamoDB attribute-value JSON
//! (`{"S":"x"}`, `{"N":"1"}`, `{"M":{...}}` ...), the format of dumps: types survive the trip.
//! Binary values are base64 text, as in the DynamoDB JSON wire format.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Map, Value};

use lookout_app::ports::StoreError;

/// One attribute value as attribute-value JSON.
pub fn av_to_json(av: &AttributeValue) -> Value {
    use base64::Engine as _;
    let b64 =
        |b: &Blob| Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()));
    match av {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(v) => json!({ "L": v.iter().map(av_to_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_to_json(m) }),
        _ => json!({ "NULL": true }),
    }
}

/// A whole item as a JSON object of attribute-value JSON.
pub fn item_to_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), av_to_json(v)))
            .collect::<Map<_, _>>(),
    )
}

/// Attribute-value JSON back to an `AttributeValue`.
///
/// # Errors
/// [`StoreError::Corrupt`] when the JSON is not attribute-value JSON.
pub fn json_to_av(v: &Value) -> Result<AttributeValue, StoreError> {
    use base64::Engine as _;
    let bad = |m: &str| StoreError::Corrupt {
        key: "dump".into(),
        message: m.into(),
    };
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| bad("expected one type tag"))?;
    let (tag, inner) = obj.iter().next().ok_or_else(|| bad("empty"))?;
    let text = |x: &Value| {
        x.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad("expected a string"))
    };
    let list = |x: &Value| x.as_array().cloned().ok_or_else(|| bad("expected a list"));
    let blob = |x: &Value| -> Result<Blob, StoreError> {
        let s = text(x)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Blob::new)
            .map_err(|_| bad("bad base64"))
    };
    Ok(match tag.as_str() {
        "S" => AttributeValue::S(text(inner)?),
        "N" => AttributeValue::N(text(inner)?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or_else(|| bad("expected a bool"))?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(blob(inner)?),
        "SS" => AttributeValue::Ss(list(inner)?.iter().map(text).collect::<Result<_, _>>()?),
        "NS" => AttributeValue::Ns(list(inner)?.iter().map(text).collect::<Result<_, _>>()?),
        "BS" => AttributeValue::Bs(list(inner)?.iter().map(blob).collect::<Result<_, _>>()?),
        "L" => AttributeValue::L(
            list(inner)?
                .iter()
                .map(json_to_av)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(json_to_item(inner)?),
        other => return Err(bad(&format!("unknown type tag {other}"))),
    })
}

/// A JSON object of attribute-value JSON back to an item.
///
/// # Errors
/// [`StoreError::Corrupt`] when it is not one.
pub fn json_to_item(v: &Value) -> Result<HashMap<String, AttributeValue>, StoreError> {
    v.as_object()
        .ok_or_else(|| StoreError::Corrupt {
            key: "dump".into(),
            message: "expected an object".into(),
        })?
        .iter()
        .map(|(k, v)| Ok((k.clone(), json_to_av(v)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_type_survives_the_round_trip() {
        let item: HashMap<String, AttributeValue> = [
            ("s", AttributeValue::S("x".into())),
            ("n", AttributeValue::N("1.5".into())),
            ("b", AttributeValue::B(Blob::new(vec![0, 255]))),
            ("ok", AttributeValue::Bool(true)),
            ("nil", AttributeValue::Null(true)),
            ("ss", AttributeValue::Ss(vec!["a".into(), "b".into()])),
            ("l", AttributeValue::L(vec![AttributeValue::N("2".into())])),
            (
                "m",
                AttributeValue::M([("k".to_string(), AttributeValue::S("v".into()))].into()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let json = item_to_json(&item);
        assert_eq!(json["n"], json!({"N": "1.5"}));
        assert_eq!(json_to_item(&json).unwrap(), item);
    }

    #[test]
    fn json_that_is_not_attribute_value_json_is_refused() {
        assert!(json_to_av(&json!({"X": 1})).is_err());
        assert!(json_to_av(&json!("plain")).is_err());
    }
}
