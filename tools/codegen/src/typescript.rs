//! The TypeScript models (`bindings-node/lib/models.d.ts`), from the schema.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::defs::*;
use crate::text::*;

/// How `bindings-node/lib/index.js` hands the models to a caller, where that differs from the
/// wire (what the schema says). Each entry names what the JS layer does.
pub(crate) mod node_view {
    /// Models whose form data the JS layer decodes (`withForms`, `decodeFormData`): their
    /// `FormDataEntry` has `data` decoded (an object, or null when it does not decode), the raw
    /// string in `rawData` and the reason in `dataError`.
    pub const DECODED: &[&str] = &[
        "FormDataEntry",
        "Item",
        "Case",
        "ItemRecord",
        "UpdatedRecord",
    ];
    /// Decoded models that also reach a caller undecoded (a search page's items, a person's
    /// form data): also declared as `Wire<Name>`, with form data as the server sent it.
    pub const ALSO_WIRE: &[&str] = &["FormDataEntry", "Item"];
    /// Records the JS layer rebuilds with camelCase keys (`itemRecord`, `updatedRecord`),
    /// with these fields always present.
    pub const CAMEL: &[(&str, &[&str])] = &[
        ("ItemRecord", &["warnings"]),
        ("UpdatedRecord", &["warnings"]),
    ];
    /// Fields whose type the core narrows beyond what the schema can say: (model, field, type).
    /// An updated record always has an item id (the item-id variant of its key).
    pub const NARROWED: &[(&str, &str, &str)] = &[(
        "UpdatedRecord",
        "key",
        "Extract<DedupeKey, { item_id: number }>",
    )];
}

/// The TypeScript name of `$defs/<name>` in a `decoded` or wire context.
pub(crate) fn ts_ref(name: &str, decoded: bool) -> String {
    if !decoded && node_view::ALSO_WIRE.contains(&name) {
        format!("Wire{name}")
    } else {
        name.to_string()
    }
}

/// `schema` as a TypeScript type.
pub(crate) fn ts_type(schema: &Value, decoded: bool) -> String {
    let Some(obj) = schema.as_object() else {
        return "unknown".into();
    };
    if let Some(name) = ref_name(schema) {
        return match name {
            "FormData" => "string".into(),
            _ => ts_ref(name, decoded),
        };
    }
    if let Some(c) = obj.get("const") {
        return ts_literal(c);
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array) {
        return e.iter().map(ts_literal).collect::<Vec<_>>().join(" | ");
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(list) = obj.get(key).and_then(Value::as_array) {
            return union(list.iter().map(|s| ts_type(s, decoded)));
        }
    }
    let Some(types) = schema_types(obj) else {
        return "unknown".into();
    };
    union(types.iter().map(|t| match *t {
        "integer" | "number" => "number".into(),
        "string" => "string".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "array" => {
            if let Some(items) = obj.get("prefixItems").and_then(Value::as_array) {
                let items: Vec<String> = items.iter().map(|s| ts_type(s, decoded)).collect();
                format!("[{}]", items.join(", "))
            } else {
                let item = obj
                    .get("items")
                    .map_or("unknown".into(), |s| ts_type(s, decoded));
                if item.contains(' ') {
                    format!("Array<{item}>")
                } else {
                    format!("{item}[]")
                }
            }
        }
        "object" => ts_object_inline(obj, decoded),
        _ => "unknown".into(),
    }))
}

pub(crate) fn ts_literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// The members joined with ` | `, each once, `null` last.
pub(crate) fn union(members: impl Iterator<Item = String>) -> String {
    let mut out: Vec<String> = Vec::new();
    for m in members {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if let Some(i) = out.iter().position(|m| m == "null") {
        let null = out.remove(i);
        out.push(null);
    }
    out.join(" | ")
}

/// An object type written inline: `{ a: T; b?: U }`, or a `Record` for a map.
pub(crate) fn ts_object_inline(obj: &Map<String, Value>, decoded: bool) -> String {
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let required = required(obj);
        let mut fields: Vec<String> = props
            .iter()
            .map(|(k, s)| {
                let opt = if required.contains(&k.as_str()) {
                    ""
                } else {
                    "?"
                };
                format!("{k}{opt}: {}", ts_type(s, decoded))
            })
            .collect();
        if obj.get("additionalProperties") == Some(&Value::Bool(true)) {
            fields.push("[extra: string]: unknown".into());
        }
        return format!("{{ {} }}", fields.join("; "));
    }
    let value = obj
        .get("patternProperties")
        .and_then(Value::as_object)
        .and_then(|p| p.values().next())
        .or_else(|| obj.get("additionalProperties").filter(|v| v.is_object()));
    format!(
        "Record<string, {}>",
        value.map_or("unknown".into(), |s| ts_type(s, decoded))
    )
}

/// `jsdoc` indented by two spaces.
pub(crate) fn member_doc(out: &mut String, text: &str) {
    let lines = wrap(text, WIDTH - 8);
    for (i, line) in lines.iter().enumerate() {
        let lead = if i == 0 { "  /** " } else { "   * " };
        let tail = if i + 1 == lines.len() { " */" } else { "" };
        let _ = writeln!(out, "{lead}{line}{tail}");
    }
}

/// One `$defs` entry as a TypeScript declaration named `ts_name`.
pub(crate) fn ts_def(out: &mut String, name: &str, ts_name: &str, def: &Value, decoded: bool) {
    out.push('\n');
    if let Some(d) = description(def) {
        jsdoc(out, &d);
    }
    let obj = def.as_object().expect("a $defs entry is an object");
    if def.get("x-safe-type").and_then(Value::as_str) == Some("datetime") {
        let _ = writeln!(out, "export type {ts_name} = string;");
        return;
    }
    let Some(props) = obj.get("properties").and_then(Value::as_object) else {
        // Unions (tagged or untagged enums), string enums, maps.
        let variants = obj
            .get("oneOf")
            .or_else(|| obj.get("anyOf"))
            .and_then(Value::as_array);
        match variants {
            Some(list) => {
                let _ = writeln!(out, "export type {ts_name} =");
                let mut seen = Vec::new();
                for v in list {
                    let t = ts_type(v, decoded);
                    if seen.contains(&t) {
                        continue;
                    }
                    if let Some(d) = description(v) {
                        let _ = writeln!(out, "  /** {} */", wrap(&d, usize::MAX).join(" "));
                    }
                    let _ = writeln!(out, "  | {t}");
                    seen.push(t);
                }
                let last = out.pop();
                debug_assert_eq!(last, Some('\n'));
                out.push_str(";\n");
            }
            None => {
                let _ = writeln!(out, "export type {ts_name} = {};", ts_type(def, decoded));
            }
        }
        return;
    };
    let camel_view = node_view::CAMEL.iter().find(|(n, _)| *n == name);
    let mut required = required(obj);
    if let Some((_, always)) = camel_view {
        required.extend_from_slice(always);
    }
    let _ = writeln!(out, "export interface {ts_name} {{");
    for (key, schema) in props {
        let field = match camel_view {
            Some(_) => camel(key, false),
            None => key.clone(),
        };
        let opt = if required.contains(&key.as_str()) {
            ""
        } else {
            "?"
        };
        let form_data = ref_name(schema) == Some("FormData");
        if let Some(d) = description(schema) {
            member_doc(out, &d);
        }
        if form_data && decoded {
            member_doc(
                out,
                "Decoded fields; null when the server's `data` is not a JSON object (see \
                 `dataError`).",
            );
            let _ = writeln!(out, "  {field}: Record<string, unknown> | null;");
            member_doc(
                out,
                "`data` as the server sent it (JSON in a string), byte for byte, decoded or not.",
            );
            let _ = writeln!(out, "  rawData: string;");
            member_doc(
                out,
                "Why `data` did not decode, when it did not (the entry is kept, never refused).",
            );
            let _ = writeln!(out, "  dataError?: string;");
            continue;
        }
        if form_data {
            member_doc(
                out,
                "A JSON object serialised into a string, as the server sent it.",
            );
        }
        let mut ty = ts_type(schema, decoded);
        if !opt.is_empty() {
            // The schema is the serialisation contract: a field is optional only when it is
            // skipped when empty (`skip_serializing_if`), so an absent `Option` is never
            // written as null.
            ty = ty
                .strip_suffix(" | null")
                .map_or(ty.clone(), str::to_string);
        }
        if let Some((_, _, narrowed)) = node_view::NARROWED
            .iter()
            .find(|(m, f, _)| *m == name && f == key)
        {
            ty = narrowed.to_string();
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time") {
            member_doc(out, "An ISO-8601 date-time string.");
        }
        if form_data {
            ty = "string".into();
        }
        let _ = writeln!(out, "  {field}{opt}: {ty};");
    }
    if obj.get("additionalProperties") == Some(&Value::Bool(true)) {
        member_doc(out, "Fields this SDK does not know, kept and written back.");
        out.push_str("  [extra: string]: unknown;\n");
    }
    out.push_str("}\n");
}

/// `bindings-node/lib/models.d.ts`: every model of the schema as the JS layer hands it over.
pub(crate) fn node_models() -> String {
    let schema = crate::defs::schema();
    let defs = schema["$defs"].as_object().expect("$defs");
    let mut names: Vec<&String> = defs.keys().collect();
    names.sort();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// generated by `make codegen` (tools/codegen) from the core's schema \
         (schema/safe-tracker.schema.json); do not edit."
    );
    out.push_str(
        "// Every model as lib/index.js hands it over (re-exported by index.d.ts): the wire's\n\
         // field names and types; ids are numbers; a field that may be absent is optional, one\n\
         // that may be null says `| null`. Dates are strings as sent (`SafeDateTime`). Form data\n\
         // of items and cases come decoded (`data`, `rawData`, `dataError`); `Wire*` types are\n\
         // the undecoded forms (search pages, people).\n",
    );
    for name in names {
        if name == "FormData" {
            continue;
        }
        let def = &defs[name.as_str()];
        let decoded = node_view::DECODED.contains(&name.as_str());
        ts_def(&mut out, name, name, def, decoded);
        if decoded && node_view::ALSO_WIRE.contains(&name.as_str()) {
            ts_def(&mut out, name, &format!("Wire{name}"), def, false);
        }
    }
    out
}

/// How a record field reaches the caller: the JS expression for wire value `v`.
fn record_field(schema: &Value, v: &str) -> String {
    let decoded_ref = |s: &Value| {
        ref_name(s)
            .or_else(|| {
                s.get("anyOf")
                    .and_then(Value::as_array)
                    .and_then(|l| l.iter().find_map(ref_name))
            })
            .map(str::to_string)
    };
    if let Some(name) = decoded_ref(schema)
        && node_view::DECODED.contains(&name.as_str())
    {
        return format!("withForms({v})");
    }
    if let Some(items) = schema.get("items")
        && ref_name(items) == Some("FormDataEntry")
    {
        return format!("{v}.map(decodeFormData)");
    }
    v.to_string()
}

/// `bindings-node/lib/records.js`: the poller records of [`node_view::CAMEL`] rebuilt with
/// camelCase keys, every field of the schema (form data decoded as [`node_view::DECODED`]
/// says), so a field added to a record in Rust reaches JS with `make codegen` alone.
pub(crate) fn node_records() -> String {
    let schema = crate::defs::schema();
    let defs = schema["$defs"].as_object().expect("$defs");
    let mut out = String::new();
    out.push_str(
        "'use strict';\n// generated by `make codegen` (tools/codegen) from the core's schema \
         (schema/safe-tracker.schema.json); do not edit.\n\
         // The poller records as lib/index.js hands them over: the core's record with camelCase\n\
         // keys, every field; form data decoded (lib/forms.js). Upsert by `key`.\n\n\
         const { decodeFormData, withForms } = require('./forms.js');\n",
    );
    let mut names = Vec::new();
    for (name, always) in node_view::CAMEL {
        let def = &defs[*name];
        let obj = def.as_object().expect("a record is an object");
        let props = obj["properties"].as_object().expect("record properties");
        let required = required(obj);
        let function = camel(&snake(name), false);
        names.push(function.clone());
        out.push('\n');
        jsdoc(
            &mut out,
            &format!(
                "`{name}` (wire, snake_case keys) as the caller gets it (camelCase keys). {}",
                description(def).unwrap_or_default()
            ),
        );
        let _ = writeln!(out, "function {function}(r) {{\n  return {{");
        let mut keys: Vec<&String> = props.keys().collect();
        keys.sort_by_key(|k| (!required.contains(&k.as_str()), k.as_str()));
        for key in keys {
            let v = format!("r.{key}");
            let expr = if always.contains(&key.as_str()) {
                let with_default = format!("({v} ?? [])");
                let expr = record_field(&props[key], &with_default);
                if expr == with_default {
                    format!("{v} ?? []")
                } else {
                    expr
                }
            } else if required.contains(&key.as_str()) {
                record_field(&props[key], &v)
            } else {
                let inner = record_field(&props[key], &v);
                if inner == v {
                    v.clone()
                } else {
                    format!("{v} == null ? undefined : {inner}")
                }
            };
            let _ = writeln!(out, "    {}: {expr},", camel(key, false));
        }
        out.push_str("  };\n}\n");
    }
    let _ = writeln!(out, "\nmodule.exports = {{ {} }};", names.join(", "));
    out
}
