//! Reading the schema's definitions: references, nullable unions, required fields, docs.

use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The core's schema, built once per run and read by every generator.
pub(crate) fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(safe_tracker::schema::schema)
}

/// The JSON types an object schema's `type` names (one, or a list such as `["string", "null"]`);
/// `None` when it names none.
pub(crate) fn schema_types(obj: &Map<String, Value>) -> Option<Vec<&str>> {
    match obj.get("type") {
        Some(Value::String(t)) => Some(vec![t.as_str()]),
        Some(Value::Array(a)) => Some(a.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

pub(crate) fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .map(|r| r.trim_start_matches("#/$defs/"))
}

/// The members of an `anyOf`/`oneOf` that are not `null`.
pub(crate) fn non_null(obj: &Map<String, Value>) -> Option<Vec<&Value>> {
    ["anyOf", "oneOf"].iter().find_map(|k| {
        obj.get(*k).and_then(Value::as_array).map(|list| {
            list.iter()
                .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                .collect()
        })
    })
}

pub(crate) fn required(obj: &Map<String, Value>) -> Vec<&str> {
    obj.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A schema description as plain doc text: rustdoc's link brackets dropped (`[`Name`]` is
/// `` `Name` ``), `*/` broken so it cannot end a block comment.
pub(crate) fn description(schema: &Value) -> Option<String> {
    schema.get("description").and_then(Value::as_str).map(|d| {
        d.replace("[`", "`")
            .replace("`]", "`")
            .replace("*/", "*\\/")
    })
}

/// The string constants of an enum schema (`enum`, or `oneOf` of `const` strings).
pub(crate) fn enum_values(obj: &Map<String, Value>) -> Option<Vec<(String, Option<String>)>> {
    if let Some(list) = obj.get("enum").and_then(Value::as_array) {
        return list
            .iter()
            .map(|v| v.as_str().map(|s| (s.to_string(), None)))
            .collect();
    }
    let list = obj
        .get("oneOf")
        .or_else(|| obj.get("anyOf"))
        .and_then(Value::as_array)?;
    list.iter()
        .map(|m| {
            let c = m.get("const").and_then(Value::as_str)?;
            let doc = m.get("description").and_then(Value::as_str);
            Some((c.to_string(), doc.map(str::to_string)))
        })
        .collect()
}
