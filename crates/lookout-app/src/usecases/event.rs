//! Pieces of the functions' typed events.
//!
//! Lambda's runtime fails an invocation itself when its payload does not deserialize into the
//! event type, with a serde message and no word from the function. The events' fields are
//! therefore [`Field`]s: a value of the wrong type is kept, and the use case turns it into its
//! own error, with the text the function has always given.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One field of an event: absent, a value of type `T`, or a value that is not a `T` (kept, to
/// be named in the error).
///
/// Use it with `#[serde(default)]`. A JSON `null` is a value: for `Field<Option<T>>` it reads as
/// `Valid(None)`, for `Field<T>` as `Invalid(Value::Null)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    /// The event has no such field.
    #[default]
    Absent,
    /// The field's value, read as a `T`.
    Valid(T),
    /// The field's value, which is not a `T`.
    Invalid(Value),
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match T::deserialize(&value) {
            Ok(v) => Field::Valid(v),
            Err(_) => Field::Invalid(value),
        })
    }
}

/// An event payload: the fields `T` of a JSON object (fields `T` does not name are ignored), or
/// `T::default()`, no field set, for any other JSON value (a test invoke may send `null`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload<T>(pub T);

impl<'de, T: serde::de::DeserializeOwned + Default> Deserialize<'de> for Payload<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            object @ Value::Object(_) => T::deserialize(object)
                .map(Payload)
                .map_err(serde::de::Error::custom),
            _ => Ok(Payload(T::default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Fields {
        #[serde(default)]
        n: Field<Option<u32>>,
        #[serde(default)]
        text: Field<String>,
    }

    fn read(v: Value) -> Fields {
        serde_json::from_value::<Payload<Fields>>(v).unwrap().0
    }

    #[test]
    fn a_field_of_the_wrong_type_is_kept_not_refused() {
        let f = read(json!({"n": "five", "text": 5, "other": [1]}));
        assert_eq!(f.n, Field::Invalid(json!("five")));
        assert_eq!(f.text, Field::Invalid(json!(5)));
        let f = read(json!({"n": 5}));
        assert_eq!((f.n, f.text), (Field::Valid(Some(5)), Field::Absent));
    }

    #[test]
    fn null_is_a_value_and_a_payload_that_is_no_object_sets_no_field() {
        let f = read(json!({"n": null, "text": null}));
        assert_eq!(f.n, Field::Valid(None));
        assert_eq!(f.text, Field::Invalid(Value::Null));
        assert_eq!(read(Value::Null), Fields::default());
        assert_eq!(read(json!("probe")), Fields::default());
        assert_eq!(
            read(json!([5, "x"])),
            Fields::default(),
            "not read by position"
        );
    }
}
