//! Reading the schema's definitions: references, nullable unions, required fields, docs.

use serde_json::{Map, Value};

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
