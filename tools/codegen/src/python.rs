//! The Python model classes (`bindings-python/python/safe_tracker/_models_generated.py`), from
//! the schema.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::defs::*;
use crate::text::*;

/// How `bindings-python/python/safe_tracker/_models_generated.py` writes the schema's models:
/// which are classes, what hand-written base (in `_model_base.py`) each stands on, and what
/// Python says differently from the wire.
pub(crate) mod python_view {
    /// The models written as dataclasses, each with its base: `Model`, or a hand-written
    /// subclass of it that adds what is not a plain field (form-data decoding, the records'
    /// key, `Form.schema_fields()`).
    pub const MODELS: &[(&str, &str)] = &[
        ("Address", "Model"),
        ("Case", "Model"),
        ("CustodyEntry", "Model"),
        ("Form", "_FormSchema"),
        ("FormDataEntry", "_FormDataCodec"),
        ("Item", "Model"),
        ("ItemRecord", "_ItemRecordCodec"),
        ("LookupEntry", "Model"),
        ("NewPerson", "Model"),
        ("Person", "Model"),
        ("SearchPage", "Model"),
        ("TypeaheadEntry", "Model"),
        ("UpdatedRecord", "_UpdatedRecordCodec"),
        ("User", "Model"),
    ];
    /// Schema types that are a hand-written Python class: (`$defs` name, class).
    pub const CLASSES: &[(&str, &str)] =
        &[("SafeDateTime", "SafeDateTime"), ("DedupeKey", "RecordKey")];
    /// Fields that are always a list (empty when the wire has none) rather than `None` when
    /// absent: (model, wire name).
    pub const ALWAYS: &[(&str, &str)] = &[("UpdatedRecord", "warnings")];
}

pub(crate) fn py_model(name: &str) -> bool {
    python_view::MODELS.iter().any(|(n, _)| *n == name)
}

/// `schema` as a Python type (without the `Optional` of an absent or null field).
pub(crate) fn py_type(schema: &Value) -> String {
    let Some(obj) = schema.as_object() else {
        return "Any".into();
    };
    if let Some(name) = ref_name(schema) {
        if let Some((_, class)) = python_view::CLASSES.iter().find(|(n, _)| *n == name) {
            return (*class).to_string();
        }
        return if py_model(name) {
            name.to_string()
        } else {
            "Any".into()
        };
    }
    if let Some(members) = non_null(obj) {
        return match members.as_slice() {
            [one] => py_type(one),
            _ => "Any".into(),
        };
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    match types.as_slice() {
        ["integer"] => "int".into(),
        ["number"] => "float".into(),
        ["string"] => "str".into(),
        ["boolean"] => "bool".into(),
        ["object"] => "Dict[str, Any]".into(),
        ["array"] => format!("List[{}]", obj.get("items").map_or("Any".into(), py_type)),
        _ => "Any".into(),
    }
}

/// The model a field holds (an object or a list of them), by name.
pub(crate) fn py_nested(schema: &Value) -> Option<String> {
    let obj = schema.as_object()?;
    if let Some(name) = ref_name(schema) {
        return py_model(name).then(|| name.to_string());
    }
    if let Some(members) = non_null(obj) {
        return match members.as_slice() {
            [one] => py_nested(one),
            _ => None,
        };
    }
    obj.get("items").and_then(py_nested)
}

/// A description as docstring text: reST literals, no rustdoc link brackets, quotes safe.
pub(crate) fn py_text(text: &str) -> String {
    let text = python_doc(&text.replace("[`", "`").replace("`]", "`"));
    let mut text = text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"");
    if text.ends_with('"') {
        text.pop();
        text.push_str("\\\"");
    }
    text
}

/// A docstring of `text` at `indent`, lines at most `WIDTH`.
pub(crate) fn py_docstring(out: &mut String, indent: &str, text: &str) {
    let lines = wrap(&py_text(text), WIDTH - indent.len() - 6);
    for (i, line) in lines.iter().enumerate() {
        let lead = if i == 0 { "\"\"\"" } else { "" };
        let tail = if i + 1 == lines.len() { "\"\"\"" } else { "" };
        let _ = writeln!(out, "{indent}{lead}{line}{tail}");
    }
}

/// The wire names of a model in the order its Python fields take: the Rust declaration's
/// for a `wire_model!`, else the required fields (in declaration order) and then the rest.
pub(crate) fn py_field_order<'a>(name: &str, obj: &'a Map<String, Value>) -> Vec<&'a str> {
    let props = obj
        .get("properties")
        .and_then(Value::as_object)
        .expect("a Python model has properties");
    let mut order: Vec<&str> = Vec::new();
    if let Some((_, wire)) = safe_tracker::schema::WIRE_MODELS
        .iter()
        .find(|(n, _)| *n == name)
    {
        for w in *wire {
            if let Some((k, _)) = props.get_key_value(*w) {
                order.push(k.as_str());
            }
        }
    }
    for r in required(obj) {
        if !order.contains(&r) {
            order.push(r);
        }
    }
    let mut rest: Vec<&str> = props.keys().map(String::as_str).collect();
    rest.sort_unstable();
    for k in rest {
        if !order.contains(&k) {
            order.push(k);
        }
    }
    order
}

/// One model as a dataclass.
pub(crate) fn py_class(out: &mut String, name: &str, base: &str, def: &Value) {
    let obj = def.as_object().expect("a $defs entry is an object");
    let props = obj
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("$defs/{name} has no properties"));
    let _ = write!(out, "\n\n@dataclass(eq=True)\nclass {name}({base}):\n");
    let doc = def
        .get("description")
        .and_then(Value::as_str)
        .map_or_else(|| format!("The `{name}` model."), str::to_string);
    py_docstring(out, "    ", &doc);
    out.push('\n');
    let mut wire = Vec::new();
    let mut nested = Vec::new();
    let mut dates = Vec::new();
    for key in py_field_order(name, obj) {
        let schema = &props[key];
        let attr = snake(key);
        let desc = description(schema);
        wire.push((attr.clone(), key.to_string()));
        if ref_name(schema) == Some("FormData") {
            assert_eq!(
                base, "_FormDataCodec",
                "{name}.{key}: form data need _FormDataCodec"
            );
            let _ = writeln!(
                out,
                "    {attr}: Optional[Dict[str, Any]] = field(default_factory=dict)"
            );
            py_docstring(
                out,
                "    ",
                &format!(
                    "{} Decoded: the fields (empty for an empty or `null` text); `None` when \
                     `raw_{attr}` is not a JSON object (see `{attr}_error`).",
                    desc.as_deref().unwrap_or_default()
                ),
            );
            let _ = writeln!(out, "    raw_{attr}: str = \"\"");
            py_docstring(
                out,
                "    ",
                &format!("`{key}` exactly as the server sent it (a JSON object in a string)."),
            );
            let _ = writeln!(out, "    {attr}_error: Optional[str] = None");
            py_docstring(
                out,
                "    ",
                &format!(
                    "Why `raw_{attr}` did not decode, when it did not (`{attr}` is then `None`)."
                ),
            );
            continue;
        }
        let ty = py_type(schema);
        if ty == "SafeDateTime" {
            dates.push(attr.clone());
        }
        if let Some(n) = py_nested(schema) {
            nested.push((attr.clone(), n));
        }
        if python_view::ALWAYS
            .iter()
            .any(|(m, f)| *m == name && *f == key)
        {
            assert!(
                ty.starts_with("List["),
                "{name}.{key}: only a list is always there"
            );
            let _ = writeln!(out, "    {attr}: {ty} = field(default_factory=list)");
        } else if ty == "Any" {
            let _ = writeln!(out, "    {attr}: Optional[Any] = None");
        } else {
            let _ = writeln!(out, "    {attr}: Optional[{ty}] = None");
        }
        if let Some(d) = desc {
            py_docstring(out, "    ", &d);
        }
    }
    out.push_str("    extra: Dict[str, Any] = field(default_factory=dict)\n");
    py_docstring(
        out,
        "    ",
        "Fields this SDK does not know, kept and written back.",
    );
    out.push_str("\n    _wire: ClassVar[Dict[str, str]] = {\n");
    for (attr, key) in &wire {
        let _ = writeln!(out, "        \"{attr}\": \"{key}\",");
    }
    out.push_str("    }\n");
    if !nested.is_empty() {
        out.push_str("    _nested: ClassVar[Dict[str, str]] = {\n");
        for (attr, n) in &nested {
            let _ = writeln!(out, "        \"{attr}\": \"{n}\",");
        }
        out.push_str("    }\n");
    }
    if !dates.is_empty() {
        out.push_str("    _dates: ClassVar[FrozenSet[str]] = frozenset({\n");
        for attr in &dates {
            let _ = writeln!(out, "        \"{attr}\",");
        }
        out.push_str("    })\n");
    }
}

/// `bindings-python/python/safe_tracker/_models_generated.py`: every model of
/// [`python_view::MODELS`] as a dataclass.
pub(crate) fn python_models() -> String {
    let schema = safe_tracker::schema::schema();
    let defs = schema["$defs"].as_object().expect("$defs");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# generated by `make codegen` (tools/codegen) from the core's schema \
         (schema/safe-tracker.schema.json); do not edit."
    );
    out.push_str(
        "\"\"\"Every model of the core's schema as a dataclass: each field under its snake_case\n\
         name (``_wire`` maps it to the wire's), typed (ids ``int``, dates ``SafeDateTime``, nested\n\
         models), ``None`` when absent; ``extra`` keeps the fields this SDK does not know. The base\n\
         classes (``_model_base.py``) are hand-written: ``from_dict``/``to_dict``, form-data\n\
         decoding, the records' keys.\n\
         \"\"\"\n\
         \n\
         from __future__ import annotations\n\
         \n\
         from dataclasses import dataclass, field\n\
         from typing import Any, ClassVar, Dict, FrozenSet, List, Optional\n\
         \n\
         from ._model_base import (\n    \
         Model,\n    \
         RecordKey,\n    \
         SafeDateTime,\n    \
         _FormDataCodec,\n    \
         _FormSchema,\n    \
         _ItemRecordCodec,\n    \
         _UpdatedRecordCodec,\n\
         )\n\
         \n\
         __all__ = [\n",
    );
    for (name, _) in python_view::MODELS {
        let _ = writeln!(out, "    \"{name}\",");
    }
    out.push_str("]\n");
    for (name, base) in python_view::MODELS {
        let def = defs
            .get(*name)
            .unwrap_or_else(|| panic!("python_view::MODELS names {name}, not in the schema"));
        py_class(&mut out, name, base, def);
    }
    out
}
