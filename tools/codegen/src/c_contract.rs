//! The JSON contract of the C ABI (`include/safe_tracker_models.md`): which model each JSON
//! text of `safe_tracker.h` holds, and every field of every model (wire name, JSON type,
//! presence, meaning), from the schema. C callers parse the JSON with the library of their
//! choice; the header keeps typed accessors only for an item's key fields.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::defs::*;

/// Every JSON text the C ABI hands over or takes: (where, direction, what it holds). Markdown;
/// backticked `$defs` names become links. A test checks that every function of the header with
/// a JSON parameter is here, and nothing else.
pub(crate) const C_JSON: &[(&str, &str, &str)] = &[
    ("safe_item_json()", "out", "`Item`"),
    (
        "safe_client_call() / safe_client_call_cancellable()",
        "out",
        "the method's result (see the README's method table)",
    ),
    ("safe_item_form_data()", "out", "array of `FormDataEntry`"),
    ("safe_chain_of_custody()", "out", "array of `CustodyEntry`"),
    ("safe_case_get()", "out", "`Case`"),
    ("safe_case_by_number()", "out", "`Case`"),
    ("safe_case_people()", "out", "array of `Person`"),
    ("safe_person_get()", "out", "`Person`"),
    ("safe_user_get()", "out", "`User`"),
    (
        "safe_people_typeahead()",
        "out",
        "array of `TypeaheadEntry`",
    ),
    ("safe_users_typeahead()", "out", "array of `TypeaheadEntry`"),
    ("safe_lookup()", "out", "array of `LookupEntry`"),
    ("safe_forms()", "out", "array of `Form`"),
    ("safe_case_create()", "in / out", "`Case` / `Case`"),
    ("safe_case_update()", "in / out", "`Case` / `Case`"),
    ("safe_person_create()", "in / out", "`NewPerson` / `Person`"),
    ("safe_person_update()", "in / out", "`Person` / `Person`"),
    ("safe_user_create()", "in / out", "`User` / `User`"),
    ("safe_user_update()", "in / out", "`User` / `User`"),
    ("safe_items_after_seq()", "out", "`SearchPage` (of `Item`)"),
    ("safe_updated_items()", "out", "`SearchPage` (of `Item`)"),
    (
        "safe_record_fn `record_json` / safe_sweep_next() `out_record_json`",
        "in (callback) / out",
        "`ItemRecord` (kind \"items\") or `UpdatedRecord` (kind \"updated\")",
    ),
    (
        "safe_poller_new() `checkpoint_json`",
        "in",
        "the checkpoint store: `{\"kind\":\"memory\"}`, `{\"kind\":\"file\",\"path\":…}`, \
         `{\"kind\":\"sqlite\",\"path\":…}` or `{\"kind\":\"postgres\",\"url\":…,\"unit\":…,\"owner\"?:…,\"lease_ttl\"?:seconds}`",
    ),
    (
        "safe_poller_new() / safe_poller_new_with_callbacks() `options_json`",
        "in",
        "the poller options (README)",
    ),
    (
        "safe_checkpoint_save_fn / safe_state_sink_set() `state_json`",
        "in / out (callbacks)",
        "`PollerState` (store it as opaque text)",
    ),
    (
        "safe_poller_sweep() `out_report_json`",
        "out",
        "`SweepReport`",
    ),
    ("safe_poller_status()", "out", "`PollerStatus`"),
    ("safe_poller_plan()", "out", "`SweepPlan`"),
    ("safe_poller_skip()", "out", "`SkippedNumber`"),
    (
        "safe_poller_last_report()",
        "out",
        "`SweepReport` or `null`",
    ),
    ("safe_poller_take_events()", "out", "array of `PollerEvent`"),
];

/// A `$defs` name as a link to its section.
fn link(name: &str) -> String {
    format!("[`{name}`](#{})", name.to_ascii_lowercase())
}

/// Backticked `$defs` names of `text` as links.
fn links(text: &str, defs: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 && defs.contains_key(part) {
            out.push_str(&link(part));
        } else if i % 2 == 1 {
            let _ = write!(out, "`{part}`");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// `schema` as a JSON type in words.
fn json_type(schema: &Value) -> String {
    let Some(obj) = schema.as_object() else {
        return "any JSON value".into();
    };
    if let Some(name) = ref_name(schema) {
        return match name {
            "SafeDateTime" => format!("string, a date ({})", link(name)),
            "FormData" => format!("string holding a JSON object ({})", link(name)),
            _ => link(name),
        };
    }
    if let Some(c) = obj.get("const") {
        return format!("`{c}`");
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = e.iter().map(|v| format!("`{v}`")).collect();
        return format!("one of {}", values.join(", "));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(list) = obj.get(key).and_then(Value::as_array) {
            return alternatives(list.iter().map(json_type));
        }
    }
    let Some(types) = schema_types(obj) else {
        return "any JSON value".into();
    };
    alternatives(types.iter().map(|t| match *t {
        "integer" => match obj.get("format").and_then(Value::as_str) {
            Some(f) => format!("integer ({f})"),
            None => "integer".into(),
        },
        "string" if obj.get("format").and_then(Value::as_str) == Some("date-time") => {
            "string, an ISO-8601 date-time".into()
        }
        "array" => match obj.get("prefixItems").and_then(Value::as_array) {
            Some(items) => {
                let items: Vec<String> = items.iter().map(json_type).collect();
                format!("array [{}]", items.join(", "))
            }
            None => format!(
                "array of {}",
                obj.get("items").map_or("any JSON value".into(), json_type)
            ),
        },
        "object" => match obj.get("properties").and_then(Value::as_object) {
            Some(props) => {
                let keys: Vec<String> = props.keys().map(|k| format!("`{k}`")).collect();
                format!("object {{{}}}", keys.join(", "))
            }
            None => {
                let value = obj
                    .get("patternProperties")
                    .and_then(Value::as_object)
                    .and_then(|p| p.values().next())
                    .or_else(|| obj.get("additionalProperties").filter(|v| v.is_object()));
                format!(
                    "object of {}",
                    value.map_or("any JSON value".into(), json_type)
                )
            }
        },
        other => other.into(),
    }))
}

/// The alternatives joined with "or", each once, `null` last.
fn alternatives(members: impl Iterator<Item = String>) -> String {
    let mut list: Vec<String> = Vec::new();
    let mut null = false;
    for m in members {
        if m == "null" {
            null = true;
        } else if !list.contains(&m) {
            list.push(m);
        }
    }
    if null {
        list.push("null".into());
    }
    list.join(" or ")
}

/// A table cell: no line breaks, no unescaped pipes.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The field table of an object schema.
fn fields(out: &mut String, obj: &Map<String, Value>, defs: &Map<String, Value>) {
    let Some(props) = obj.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required = required(obj);
    out.push_str("| key | JSON type | present | meaning |\n|---|---|---|---|\n");
    for (key, schema) in props {
        let present = if required.contains(&key.as_str()) {
            "always"
        } else {
            "may be absent"
        };
        let doc = description(schema).unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{key}` | {} | {present} | {} |",
            cell(&json_type(schema)),
            cell(&links(&doc, defs))
        );
    }
    if obj.get("additionalProperties") == Some(&Value::Bool(true)) {
        out.push_str(
            "\nOther keys may appear (fields this SDK does not know yet): they are kept and \
             written back as they came.\n",
        );
    }
}

/// One `$defs` entry as a section.
fn section(out: &mut String, name: &str, def: &Value, defs: &Map<String, Value>) {
    let _ = writeln!(out, "\n### {name}\n");
    if let Some(d) = description(def) {
        let _ = writeln!(out, "{}\n", links(&d, defs));
    }
    let obj = def.as_object().expect("a $defs entry is an object");
    if obj.contains_key("properties") {
        fields(out, obj, defs);
        return;
    }
    let variants = obj
        .get("oneOf")
        .or_else(|| obj.get("anyOf"))
        .and_then(Value::as_array);
    match variants {
        Some(list) if list.iter().any(|v| v.get("properties").is_some()) => {
            out.push_str("One of these objects:\n");
            for v in list {
                let doc = description(v).unwrap_or_default();
                let _ = writeln!(out, "\n- {}\n", links(&cell(&doc), defs));
                if let Some(o) = v.as_object() {
                    fields(out, o, defs);
                }
            }
        }
        _ => {
            let _ = writeln!(out, "JSON type: {}.", json_type(def));
        }
    }
}

/// `include/safe_tracker_models.md`.
pub(crate) fn c_contract() -> String {
    let schema = crate::defs::schema();
    let defs = schema["$defs"].as_object().expect("$defs");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!-- generated by `make codegen` (tools/codegen) from the core's schema \
         (schema/safe-tracker.schema.json); do not edit. -->\n"
    );
    out.push_str(
        "# The JSON of safe_tracker.h\n\n\
         Models travel through the C ABI as UTF-8 JSON text. This page says which model each \
         JSON text holds and what every field of every model is: the same models, field names \
         and types as the Rust core, Python, Node and C# (one schema, \
         `schema/safe-tracker.schema.json`, describes them all). Ids are JSON integers (64-bit). \
         A field that \"may be absent\" is left out rather than written as null; a type that \
         says \"or null\" may be null. Dates are strings as the server sent them (see \
         [`SafeDateTime`](#safedatetime)); form data `data` is the server's string, byte for \
         byte.\n\n## Which JSON each function holds\n\n\
         | where | direction | JSON |\n|---|---|---|\n",
    );
    for (place, direction, what) in C_JSON {
        let _ = writeln!(out, "| {place} | {direction} | {} |", links(what, defs));
    }
    out.push_str("\n## Models\n");
    let mut names: Vec<&String> = defs.keys().collect();
    names.sort();
    for name in names {
        section(&mut out, name, &defs[name.as_str()], defs);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function (and callback typedef) of the header that takes or gives JSON text.
    fn json_functions(header: &str) -> Vec<String> {
        let mut code = String::new();
        let mut rest = header;
        while let Some(start) = rest.find("/*") {
            code.push_str(&rest[..start]);
            rest = rest[start..]
                .split_once("*/")
                .map_or("", |(_, after)| after);
        }
        code.push_str(rest);
        let mut names = Vec::new();
        for decl in code.split(';') {
            // A function `T name(params)` or a callback `typedef T (*name)(params)`.
            let head_end = decl.find("(*").map_or(decl.find('('), |p| {
                decl[p..]
                    .find(')')
                    .and_then(|c| decl[p + c..].find('(').map(|o| p + c + o))
            });
            let Some(open) = head_end else { continue };
            let Some(name) = decl[..open]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .rfind(|w| w.starts_with("safe_"))
            else {
                continue;
            };
            // JSON parameters are named `*json*`; JSON results are `char **` out-parameters
            // (every one of them is JSON) or a function named `*_json`.
            let params = &decl[open..];
            if params.contains("json") || params.contains("char **") || name.ends_with("_json") {
                names.push(name.to_string());
            }
        }
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn every_json_of_the_header_is_described() {
        let header = std::fs::read_to_string(crate::root().join("include/safe_tracker.h"))
            .expect("include/safe_tracker.h");
        let functions = json_functions(&header);
        assert!(functions.len() > 20, "{functions:?}");
        let mut described: Vec<String> = C_JSON
            .iter()
            .flat_map(|(place, _, _)| place.split([' ', '(']))
            .filter(|w| w.starts_with("safe_"))
            .map(str::to_string)
            .collect();
        described.sort();
        described.dedup();
        let expected = functions;
        assert_eq!(described, expected, "C_JSON names every JSON of the header");
        assert!(described.contains(&"safe_checkpoint_save_fn".to_string()));
    }

    #[test]
    fn every_model_and_field_is_described() {
        let text = c_contract();
        let schema = crate::defs::schema();
        for (name, def) in schema["$defs"].as_object().unwrap() {
            let start = text
                .find(&format!("\n### {name}\n"))
                .unwrap_or_else(|| panic!("no section {name}"));
            let end = text[start + 1..]
                .find("\n### ")
                .map_or(text.len(), |e| start + 1 + e);
            let body = &text[start..end];
            if let Some(props) = def["properties"].as_object() {
                for key in props.keys() {
                    assert!(body.contains(&format!("| `{key}` |")), "{name}.{key}");
                }
            }
        }
        assert!(text.contains(
            "| `recoveryDate` | string, a date ([`SafeDateTime`](#safedatetime)) or null |"
        ));
        assert!(text.contains("| safe_case_get() | out | [`Case`](#case) |"));
    }
}
