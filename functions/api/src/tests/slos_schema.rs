//! A check of a JSON answer against the schema the OpenAPI document declares for it.

use serde_json::Value;

/// Checks `value` against the OpenAPI 3.0 `schema` (the subset the document uses: `$ref`,
/// `type`, `nullable`, `required`, `properties`, `items`, `enum`, `allOf`/`oneOf` of one), naming
/// the path of the first mismatch; an object property the schema does not declare is one too.
pub fn conforms(doc: &Value, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return conforms(doc, &doc["components"]["schemas"][name], value, path);
    }
    if value.is_null() && schema["nullable"] == true {
        return Ok(());
    }
    for key in ["allOf", "oneOf"] {
        if let Some([one]) = schema[key].as_array().map(Vec::as_slice) {
            return conforms(doc, one, value, path);
        }
    }
    if value.is_null() {
        return if schema["nullable"] == true {
            Ok(())
        } else {
            Err(format!("{path}: null"))
        };
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.contains(value) {
            return Err(format!("{path}: {value} not in {values:?}"));
        }
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !ok {
        return Err(format!("{path}: {value} is not {}", schema["type"]));
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            conforms(doc, &schema["items"], item, &format!("{path}[{i}]"))?;
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(name.as_str().unwrap_or("")) {
                return Err(format!("{path}: {name} missing"));
            }
        }
        let props = &schema["properties"];
        for (k, v) in object {
            if props.is_object() && props.get(k).is_none() {
                return Err(format!("{path}.{k}: not declared"));
            }
            conforms(doc, &props[k], v, &format!("{path}.{k}"))?;
        }
    }
    Ok(())
}
