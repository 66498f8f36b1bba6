//! The Python model classes (`bindings-python/python/safe_tracker/_models_generated.py`), from
//! the schema: the wire models as dataclasses, and the poller's JSON shapes (status, plan,
//! skip, report, events) as `TypedDict`s.

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
    /// The poller's JSON shapes, written as `TypedDict`s in this order (what `status()`,
    /// `plan()`, `skip()` and `last_report()` return, and what those hold): a `$defs` object
    /// is one class; a `oneOf` of objects told apart by a constant key is one class per member
    /// (`{name}{Constant}`: `SweepOutcomeFailed`) and a `Union` alias under the name.
    pub const SHAPES: &[&str] = &[
        "SweepOutcome",
        "SweepSummary",
        "StuckNumber",
        "PartialNumber",
        "SkippedNumber",
        "PollerStatus",
        "Duration",
        "SweepPlan",
        "PollerEvent",
        "SweepReport",
        "TenantPhase",
        "TenantError",
        "TenantState",
    ];
    /// A sentence for a shape's docstring (what returns it), after the schema's description
    /// or instead of it when there is none: (`$defs` name, sentence).
    pub const DOCS: &[(&str, &str)] = &[
        ("PollerStatus", "What `status()` returns (a plain `dict`)."),
        (
            "SweepPlan",
            "What `plan()` returns (a plain `dict`; `None` for the updated-items stream).",
        ),
        ("SkippedNumber", "What `skip()` returns (a plain `dict`)."),
        (
            "TenantState",
            "A fleet's `states()` returns a list of them (plain `dict`s).",
        ),
        (
            "SweepReport",
            "What `last_report()` and a sweep with a handler return (a plain `dict`).",
        ),
        (
            "Duration",
            "A Rust `Duration`: whole seconds and nanoseconds.",
        ),
    ];
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
    let types = schema_types(obj).unwrap_or_default();
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
    let schema = crate::defs::schema();
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
         \n\
         The poller's JSON shapes (``status()``, ``plan()``, ``skip()``, ``last_report()``) follow\n\
         as ``TypedDict``s: a key that may be absent is in a ``total=False`` class (the required\n\
         ones in its private base), a union of shapes is a ``Union`` of one class per member.\n\
         \"\"\"\n\
         \n\
         from __future__ import annotations\n\
         \n\
         from dataclasses import dataclass, field\n\
         from typing import Any, ClassVar, Dict, FrozenSet, List, Literal, Optional, TypedDict, Union\n\
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
    for name in shape_names(defs) {
        let _ = writeln!(out, "    \"{name}\",");
    }
    out.push_str("]\n");
    for (name, base) in python_view::MODELS {
        let def = defs
            .get(*name)
            .unwrap_or_else(|| panic!("python_view::MODELS names {name}, not in the schema"));
        py_class(&mut out, name, base, def);
    }
    for name in python_view::SHAPES {
        let def = shape_def(defs, name);
        td_shape(&mut out, name, def);
    }
    out
}

fn shape_def<'a>(defs: &'a Map<String, Value>, name: &str) -> &'a Value {
    defs.get(name)
        .unwrap_or_else(|| panic!("python_view::SHAPES names {name}, not in the schema"))
}

/// The members of a shape that is a `oneOf` of objects, each with its class name and its
/// constant key and value; `None` for a plain object.
pub(crate) fn td_members<'a>(
    name: &str,
    def: &'a Value,
) -> Option<Vec<(String, &'a str, &'a str, &'a Value)>> {
    if def.as_object().and_then(enum_values).is_some() {
        return None;
    }
    let members = def.get("oneOf")?.as_array()?;
    Some(
        members
            .iter()
            .map(|m| {
                let (key, value) = m["properties"]
                    .as_object()
                    .and_then(|p| {
                        p.iter()
                            .find_map(|(k, v)| Some((k.as_str(), v.get("const")?.as_str()?)))
                    })
                    .unwrap_or_else(|| panic!("a member of {name} has no constant key"));
                (format!("{name}{}", camel(value, true)), key, value, m)
            })
            .collect(),
    )
}

/// Every public name the shapes define: each shape, and each member of a union.
pub(crate) fn shape_names(defs: &Map<String, Value>) -> Vec<String> {
    let mut names = Vec::new();
    for name in python_view::SHAPES {
        if let Some(members) = td_members(name, shape_def(defs, name)) {
            names.extend(members.into_iter().map(|(class, ..)| class));
        }
        names.push((*name).to_string());
    }
    names
}

/// True when `schema` admits `null`.
fn nullable(schema: &Value) -> bool {
    let in_type = match schema.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => false,
    };
    let in_union = ["anyOf", "oneOf"].iter().any(|k| {
        schema.get(*k).and_then(Value::as_array).is_some_and(|m| {
            m.iter()
                .any(|s| s.get("type").and_then(Value::as_str) == Some("null"))
        })
    });
    in_type || in_union
}

/// `schema` as the type of a `TypedDict` key, without the `Optional` of `null`: another
/// shape by name, a constant as a `Literal`.
pub(crate) fn td_type(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        assert!(
            python_view::SHAPES.contains(&name),
            "a shape refers to {name}: add it to python_view::SHAPES"
        );
        return name.to_string();
    }
    if let Some(value) = schema.get("const").and_then(Value::as_str) {
        return format!("Literal[\"{value}\"]");
    }
    if let Some(members) = schema.as_object().and_then(non_null) {
        return match members.as_slice() {
            [one] => td_type(one),
            _ => panic!("a union in a shape that is not `X or null`: {schema}"),
        };
    }
    let types = schema
        .as_object()
        .and_then(schema_types)
        .unwrap_or_default();
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    match types.as_slice() {
        ["integer"] => "int".into(),
        ["number"] => "float".into(),
        ["string"] => "str".into(),
        ["boolean"] => "bool".into(),
        ["array"] => format!(
            "List[{}]",
            schema.get("items").map_or("Any".into(), td_type)
        ),
        ["object"] => format!(
            "Dict[str, {}]",
            schema
                .get("additionalProperties")
                .filter(|v| v.is_object())
                .map_or("Any".into(), td_type)
        ),
        _ => "Any".into(),
    }
}

/// One key of a `TypedDict`: `null` is `Optional`, except for a key that may be absent (the
/// core leaves out such a field when it has no value rather than write `null`).
fn td_key(out: &mut String, key: &str, schema: &Value, may_be_absent: bool) {
    assert!(
        key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && !PYTHON_KEYWORDS.contains(&key),
        "{key} cannot be a key of a class-syntax TypedDict"
    );
    let ty = td_type(schema);
    if nullable(schema) && !may_be_absent {
        let _ = writeln!(out, "    {key}: Optional[{ty}]");
    } else {
        let _ = writeln!(out, "    {key}: {ty}");
    }
    if let Some(d) = description(schema) {
        py_docstring(out, "    ", &d);
    }
}

/// The keywords that cannot name a key in the class syntax.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// One object shape as a `TypedDict`: the keys the schema requires in a class of their own
/// (the private base `_{name}Required` when some keys may be absent, those then in a
/// `total=False` class).
pub(crate) fn td_class(out: &mut String, name: &str, doc: &str, def: &Value) {
    let obj = def.as_object().expect("a shape is an object");
    let props = obj
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("the shape {name} has no properties"));
    let required = required(obj);
    let mut optional: Vec<&str> = props
        .keys()
        .map(String::as_str)
        .filter(|k| !required.contains(k))
        .collect();
    optional.sort_unstable();
    let head = |out: &mut String, class: &str, bases: &str, doc: &str| {
        let _ = write!(out, "\n\nclass {class}({bases}):\n");
        py_docstring(out, "    ", doc);
        out.push('\n');
    };
    let mut bases = "TypedDict".to_string();
    if !optional.is_empty() && !required.is_empty() {
        let base = format!("_{name}Required");
        head(
            out,
            &base,
            "TypedDict",
            &format!("The keys of `{name}` that are always there."),
        );
        for key in &required {
            td_key(out, key, &props[*key], false);
        }
        bases = base;
    }
    if !optional.is_empty() {
        bases.push_str(", total=False");
    }
    head(out, name, &bases, doc);
    if optional.is_empty() {
        for key in &required {
            td_key(out, key, &props[*key], false);
        }
    }
    for key in &optional {
        td_key(out, key, &props[*key], true);
    }
}

/// One shape of [`python_view::SHAPES`]: a `TypedDict`, or one per member and their `Union`.
pub(crate) fn td_shape(out: &mut String, name: &str, def: &Value) {
    let more = python_view::DOCS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d);
    let doc = match (def.get("description").and_then(Value::as_str), more) {
        (Some(d), more) => with(d.to_string(), more),
        (None, Some(more)) => more.to_string(),
        (None, None) => format!("The `{name}` shape."),
    };
    if let Some(values) = def.as_object().and_then(enum_values) {
        let _ = write!(out, "\n\n{name} = Literal[\n");
        for (value, _) in &values {
            let _ = writeln!(out, "    \"{value}\",");
        }
        out.push_str("]\n");
        py_docstring(out, "", &doc);
        return;
    }
    let Some(members) = td_members(name, def) else {
        td_class(out, name, &doc, def);
        return;
    };
    for (class, key, value, member) in &members {
        let member_doc = member
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let member_doc = format!("{member_doc} One of `{name}`: `{key}` is `\"{value}\"`.");
        td_class(out, class, member_doc.trim_start(), member);
    }
    let _ = write!(out, "\n\n{name} = Union[\n");
    for (class, ..) in &members {
        let _ = writeln!(out, "    {class},");
    }
    out.push_str("]\n");
    py_docstring(
        out,
        "",
        &format!("{doc} Tell the members apart by their constant key."),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys a generated `TypedDict` declares, with their types, and whether each is
    /// required (in the class itself when it is total, in its `_{name}Required` base).
    fn declared(py: &str, name: &str) -> Vec<(String, String, bool)> {
        let start = py
            .find(&format!("\nclass {name}("))
            .unwrap_or_else(|| panic!("no class {name}"));
        let head = &py[start + 1..start + 1 + py[start + 1..].find('\n').unwrap()];
        let body = &py[start + 1..];
        let body = &body[..body.find("\n\n\n").unwrap_or(body.len())];
        let total = !head.contains("total=False");
        let mut keys: Vec<(String, String, bool)> = body
            .lines()
            .skip(1)
            .filter_map(|l| {
                let l = l.strip_prefix("    ")?;
                let (k, t) = l.split_once(": ")?;
                (!k.starts_with('"') && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .then(|| (k.to_string(), t.to_string(), total))
            })
            .collect();
        let base = format!("_{name}Required");
        if head.contains(&format!("({base}, total=False)")) {
            keys.extend(declared(py, &base));
        } else {
            assert!(
                head == format!("class {name}(TypedDict):")
                    || head == format!("class {name}(TypedDict, total=False):"),
                "{head}"
            );
        }
        keys
    }

    #[test]
    fn every_shape_declares_exactly_the_schema_keys() {
        let schema = crate::defs::schema();
        let defs = schema["$defs"].as_object().unwrap();
        let py = python_models();
        let mut checked = 0;
        for name in python_view::SHAPES {
            let def = &defs[*name];
            if let Some(values) = def.as_object().and_then(enum_values) {
                let alias = format!("\n\n{name} = Literal[\n");
                let at = py
                    .find(&alias)
                    .unwrap_or_else(|| panic!("{name}: no Literal alias"));
                let body = &py[at + alias.len()..];
                let body = &body[..body.find(']').unwrap()];
                let got: Vec<&str> = body
                    .lines()
                    .map(|l| l.trim().trim_end_matches(','))
                    .collect();
                let want: Vec<String> = values.iter().map(|(v, _)| format!("\"{v}\"")).collect();
                assert_eq!(got, want, "{name}: values");
                continue;
            }
            let classes: Vec<(String, &Value)> = match td_members(name, def) {
                Some(members) => {
                    let alias = format!("\n\n{name} = Union[\n");
                    assert!(py.contains(&alias), "{name}: no Union alias");
                    members.into_iter().map(|(c, _, _, m)| (c, m)).collect()
                }
                None => vec![((*name).to_string(), def)],
            };
            for (class, def) in classes {
                let obj = def.as_object().unwrap();
                let props = obj["properties"].as_object().unwrap();
                let required = required(obj);
                let mut keys = declared(&py, &class);
                keys.sort();
                let mut want: Vec<&str> = props.keys().map(String::as_str).collect();
                want.sort_unstable();
                let got: Vec<&str> = keys.iter().map(|(k, ..)| k.as_str()).collect();
                assert_eq!(got, want, "{class}: keys");
                for (key, ty, req) in &keys {
                    assert_eq!(
                        *req,
                        required.contains(&key.as_str()),
                        "{class}.{key}: required"
                    );
                    let optional = ty.starts_with("Optional[");
                    assert_eq!(
                        optional,
                        *req && nullable(&props[key]),
                        "{class}.{key}: {ty} (null only where the key is always written)"
                    );
                }
                checked += 1;
            }
        }
        assert!(
            checked > python_view::SHAPES.len(),
            "the unions' members were checked"
        );
        // Every shape and member is exported.
        for name in shape_names(defs) {
            assert!(
                py.contains(&format!("    \"{name}\",\n")),
                "__all__ lacks {name}"
            );
        }
    }

    #[test]
    fn shape_types() {
        let py = python_models();
        for line in [
            "    last_sweep: Optional[SweepSummary]\n",
            "    skipped: List[SkippedNumber]\n",
            "    stalled_next: Optional[int]\n",
            "    outcome: SweepOutcome\n",
            "    outcome: Literal[\"failed\"]\n",
            "    events: List[PollerEvent]\n",
            "    wait: Duration\n",
            "\nclass SkippedNumber(_SkippedNumberRequired, total=False):\n",
            // Absent rather than null: the key that may be missing is never `None`.
            "    error: str\n",
        ] {
            assert!(py.contains(line), "{line}");
        }
        // A `Union` alias is evaluated at import (annotations are not): its members come first.
        let at = |text: &str| py.find(text).unwrap_or_else(|| panic!("{text}"));
        assert!(at("\nclass SweepOutcomeInterrupted(") < at("\nSweepOutcome = Union["));
        assert!(at("\nclass PollerEventSweepFinished(") < at("\nPollerEvent = Union["));
        assert_eq!(
            td_type(&serde_json::json!({"const": "x", "type": "string"})),
            "Literal[\"x\"]"
        );
        assert_eq!(
            td_type(&serde_json::json!({"type": ["array", "null"], "items": {"type": "integer"}})),
            "List[int]"
        );
    }

    #[test]
    #[should_panic(expected = "add it to python_view::SHAPES")]
    fn a_shape_referring_to_an_unknown_definition_is_refused() {
        td_type(&serde_json::json!({"$ref": "#/$defs/Item"}));
    }
}
