//! The C# model classes (`bindings-dotnet/src/Generated/Models.g.cs`), from the schema, on the hand-written
//! support of `bindings-dotnet/src/Json.cs` (the JSON tree `JsonValue`/`JsonObject`, the `Wire`
//! readers and writers, `SafeDateTime`, `FormData`, `[WireName]`).
//!
//! Which `$defs` become what ([`def_kind`]):
//! - an object with `properties`: a `public sealed partial class` (PascalCase properties, each
//!   with its `[WireName]`, an `Extra` dictionary for unknown keys, a generated `FromJson`
//!   reader, `Parse(string)` and a `ToJson()` writer; no reflection anywhere in them);
//! - a union of objects (`oneOf`/`anyOf`: `DedupeKey`, `PollerEvent`, `SweepOutcome`): one class
//!   with every variant's properties (a property is non-nullable only when every variant
//!   requires it). A tagged union (a `const` property in every variant: `event`, `outcome`)
//!   has the tag as a `string` property and one `const string` per variant; the reader checks
//!   the fields the variant requires (a tag it does not know is read as far as it knows);
//! - a union of string constants (`Lookup`): a `static class` of `const string`s and `All`.
//!   Properties are never a C# `enum`: a value a newer core adds must not fail a read;
//! - `SafeDateTime` and `FormData` ([`csharp_view::HAND_WRITTEN`]): classes of Json.cs;
//! - anything else (an alias of a plain type): no class; a reference to it takes its type.
//!
//! Types ([`slot`]): integers `long` (ids are int64; a `uint64` above `long.MaxValue` is a
//! decode error), numbers `double`, booleans `bool`, strings `string`, dates (`$ref`
//! `SafeDateTime` or `format: date-time`) `SafeDateTime` (raw text kept, `Value` when it
//! parses), form data `FormData` (raw text kept, `Fields` when it decodes), lists
//! `IReadOnlyList<T>` (read as `List<T>`), maps `IReadOnlyDictionary<string, T>`, fixed-length
//! arrays (`prefixItems`) value tuples, models their class, and a value the schema does not type
//! (`"a number, or a string"`, `items: true`) `JsonValue` (numbers keep their text).
//!
//! Absent and null ([`csharp_view`]): a property the schema does not require is nullable
//! (`long?`, or a reference) and reads as null when the key is absent *or* null, as in the core
//! (`wire_model!`: "null = absent"; the core never writes null for it); `ToJson` leaves it out.
//! A required property must be present (absent is a `FormatException`, unless the schema gives a
//! default, which is then used), may be null only where the schema says so (`long?` then), and
//! is always written, null included: there absent and null stay distinct.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::defs::*;
use crate::python::py_field_order;
use crate::text::*;

/// How `bindings-dotnet/src/Generated/Models.g.cs` writes the schema's models, where C# needs a choice.
pub(crate) mod csharp_view {
    /// `$defs` entries that are a hand-written class of `Json.cs`: (name, class).
    pub const HAND_WRITTEN: &[(&str, &str)] =
        &[("SafeDateTime", "SafeDateTime"), ("FormData", "FormData")];
    /// Names the hand-written C# files declare in namespace `SafeTracker`: a model may not take
    /// one.
    pub const TAKEN: &[&str] = &[
        "CancelHandle",
        "CheckpointLoadCallback",
        "CheckpointSaveCallback",
        "CheckpointStore",
        "ClientConfig",
        "ClientHandle",
        "ErrorClass",
        "ErrorCode",
        "ErrorCodes",
        "ErrorDetails",
        "FileCheckpointStore",
        "FormData",
        "ICheckpointStore",
        "ItemHandle",
        "ItemListHandle",
        "IWireModel",
        "JsonKind",
        "JsonObject",
        "JsonValue",
        "MemoryCheckpointStore",
        "Native",
        "NativeCall",
        "Poller",
        "PollerBase",
        "PollerEventArgs",
        "PollerHandle",
        "PollerOptions",
        "PostgresCheckpointStore",
        "RecordCallback",
        "SafeDateTime",
        "SafeTrackerClient",
        "SafeTrackerClientOptions",
        "SafeTrackerException",
        "SqliteCheckpointStore",
        "Sweep",
        "SweepEnumerator",
        "SweepHandle",
        "UpdatedPoller",
        "UpdatedPollerOptions",
        "Utf8",
        "Wire",
        "WireNameAttribute",
    ];
    /// Member names a generated class keeps for itself (or that its code needs unshadowed).
    pub const RESERVED: &[&str] = &[
        "Equals",
        "Extra",
        "Finalize",
        "FromJson",
        "GetHashCode",
        "GetType",
        "Json",
        "JsonObject",
        "JsonValue",
        "MemberwiseClone",
        "Parse",
        "ToJson",
        "ToString",
        "Wire",
    ];
}

/// A C# type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ty {
    Long,
    Double,
    Bool,
    Str,
    /// `SafeDateTime`.
    Date,
    /// `FormData`.
    Form,
    /// `JsonValue`: whatever the schema does not type.
    Any,
    /// A generated class.
    Model(String),
    List(Box<Slot>),
    Map(Box<Slot>),
    /// A value tuple (a fixed-length array of `prefixItems`).
    Tuple(Vec<Slot>),
}

/// A C# type and whether it may be null.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Slot {
    pub ty: Ty,
    pub null: bool,
}

impl Ty {
    fn is_value(&self) -> bool {
        matches!(self, Ty::Long | Ty::Double | Ty::Bool | Ty::Tuple(_))
    }
}

/// What a `$defs` entry becomes.
pub(crate) enum Kind<'a> {
    Hand(&'static str),
    Class(&'a Map<String, Value>),
    Union(Vec<&'a Map<String, Value>>),
    /// String constants with their docs.
    Enum(Vec<(String, Option<String>)>),
    Alias,
}

pub(crate) fn def_kind<'a>(name: &str, def: &'a Value) -> Kind<'a> {
    if let Some((_, class)) = csharp_view::HAND_WRITTEN.iter().find(|(n, _)| *n == name) {
        return Kind::Hand(class);
    }
    let Some(obj) = def.as_object() else {
        return Kind::Alias;
    };
    match obj.get("x-safe-type").and_then(Value::as_str) {
        Some("datetime") => return Kind::Hand("SafeDateTime"),
        Some("form-data") => return Kind::Hand("FormData"),
        _ => {}
    }
    if obj.get("properties").is_some_and(Value::is_object) {
        return Kind::Class(obj);
    }
    if let Some(values) = enum_values(obj) {
        return Kind::Enum(values);
    }
    if let Some(members) = non_null(obj) {
        let objects: Option<Vec<&Map<String, Value>>> = members
            .iter()
            .map(|m| m.as_object().filter(|o| o.contains_key("properties")))
            .collect();
        if let Some(objects) = objects.filter(|o| !o.is_empty()) {
            return Kind::Union(objects);
        }
    }
    Kind::Alias
}

fn defs() -> &'static Map<String, Value> {
    schema()["$defs"].as_object().expect("$defs")
}

/// The slot of a `$ref` to `$defs/<name>`.
fn ref_slot(name: &str, defs: &Map<String, Value>, depth: usize) -> Slot {
    let def = defs
        .get(name)
        .unwrap_or_else(|| panic!("$ref to {name}, not in $defs"));
    let ty = match def_kind(name, def) {
        Kind::Hand("SafeDateTime") => Ty::Date,
        Kind::Hand(_) => Ty::Form,
        Kind::Class(_) | Kind::Union(_) => Ty::Model(name.to_string()),
        Kind::Enum(_) => Ty::Str,
        Kind::Alias => {
            assert!(depth < 16, "$defs/{name}: aliases refer to each other");
            return slot_at(def, defs, depth + 1);
        }
    };
    Slot { ty, null: false }
}

/// `schema` as a C# type.
pub(crate) fn slot(schema: &Value, defs: &Map<String, Value>) -> Slot {
    slot_at(schema, defs, 0)
}

fn slot_at(schema: &Value, defs: &Map<String, Value>, depth: usize) -> Slot {
    let any = Slot {
        ty: Ty::Any,
        null: true,
    };
    let Some(obj) = schema.as_object() else {
        return any; // `true`: any value
    };
    if let Some(name) = ref_name(schema) {
        return ref_slot(name, defs, depth);
    }
    if let Some(c) = obj.get("const") {
        return match c {
            Value::String(_) => Slot {
                ty: Ty::Str,
                null: false,
            },
            _ => any,
        };
    }
    if obj.contains_key("enum") {
        return match enum_values(obj) {
            Some(_) => Slot {
                ty: Ty::Str,
                null: false,
            },
            None => any,
        };
    }
    if let Some(members) = non_null(obj) {
        let total = ["anyOf", "oneOf"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_array))
            .map_or(0, Vec::len);
        return match members.as_slice() {
            [one] => {
                let mut s = slot_at(one, defs, depth);
                s.null |= total > 1;
                s
            }
            _ => any,
        };
    }
    let Some(types) = schema_types(obj) else {
        return any;
    };
    let null = types.contains(&"null");
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let ty = match types.as_slice() {
        ["integer"] => Ty::Long,
        ["number"] => Ty::Double,
        ["boolean"] => Ty::Bool,
        ["string"] if obj.get("format").and_then(Value::as_str) == Some("date-time") => Ty::Date,
        ["string"] => Ty::Str,
        ["array"] => match obj.get("prefixItems").and_then(Value::as_array) {
            Some(items) => Ty::Tuple(items.iter().map(|s| slot_at(s, defs, depth)).collect()),
            None => Ty::List(Box::new(
                obj.get("items")
                    .map_or(any.clone(), |s| slot_at(s, defs, depth)),
            )),
        },
        ["object"] if obj.contains_key("properties") => return any, // an inline object
        ["object"] => {
            let value = obj
                .get("patternProperties")
                .and_then(Value::as_object)
                .and_then(|p| p.values().next())
                .or_else(|| obj.get("additionalProperties").filter(|v| v.is_object()));
            Ty::Map(Box::new(
                value.map_or(any.clone(), |s| slot_at(s, defs, depth)),
            ))
        }
        _ => return any,
    };
    Slot { ty, null }
}

/// The C# declaration of a slot.
pub(crate) fn decl(s: &Slot) -> String {
    let base = match &s.ty {
        Ty::Long => "long".to_string(),
        Ty::Double => "double".to_string(),
        Ty::Bool => "bool".to_string(),
        Ty::Str => "string".to_string(),
        Ty::Date => "SafeDateTime".to_string(),
        Ty::Form => "FormData".to_string(),
        Ty::Any => "JsonValue".to_string(),
        Ty::Model(n) => n.clone(),
        Ty::List(e) => format!("IReadOnlyList<{}>", decl(e)),
        Ty::Map(e) => format!("IReadOnlyDictionary<string, {}>", decl(e)),
        Ty::Tuple(es) => format!("({})", es.iter().map(decl).collect::<Vec<_>>().join(", ")),
    };
    if s.null && s.ty.is_value() {
        format!("{base}?")
    } else {
        base
    }
}

/// A C# expression reading the JSON value `v` (an expression of type `JsonValue`) into `s`;
/// `at` is the C# expression of its path (for errors); `depth` names lambda parameters.
pub(crate) fn read(s: &Slot, v: &str, at: &str, depth: usize) -> String {
    let (x, a) = (format!("x{depth}"), format!("a{depth}"));
    let base = match &s.ty {
        Ty::Long => format!("Wire.Long({v}, {at})"),
        Ty::Double => format!("Wire.Double({v}, {at})"),
        Ty::Bool => format!("Wire.Bool({v}, {at})"),
        Ty::Str => format!("Wire.String({v}, {at})"),
        Ty::Date => format!("Wire.Date({v}, {at})"),
        Ty::Form => format!("Wire.Form({v}, {at})"),
        Ty::Any => return v.to_string(), // a JSON null stays a JsonValue
        Ty::Model(n) => format!("global::SafeTracker.{n}.FromJson({v}, {at})"),
        Ty::List(e) => format!(
            "Wire.List({v}, {at}, ({x}, {a}) => {})",
            read(e, &x, &a, depth + 1)
        ),
        Ty::Map(e) => format!(
            "Wire.Map({v}, {at}, ({x}, {a}) => {})",
            read(e, &x, &a, depth + 1)
        ),
        Ty::Tuple(es) => {
            let items: Vec<String> = es
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    read(
                        e,
                        &format!("{x}[{i}]"),
                        &format!("{a} + \"[{i}]\""),
                        depth + 1,
                    )
                })
                .collect();
            format!(
                "Wire.Tuple({v}, {at}, {}, ({x}, {a}) => ({}))",
                es.len(),
                items.join(", ")
            )
        }
    };
    if !s.null {
        return base;
    }
    let null = if s.ty.is_value() {
        format!("({})null", decl(s))
    } else {
        "null".to_string()
    };
    format!("{v}.IsNull ? {null} : {base}")
}

/// A C# expression writing `e` (an expression of the slot's declared type) as a `JsonValue`.
pub(crate) fn write(s: &Slot, e: &str, depth: usize) -> String {
    let x = format!("x{depth}");
    match &s.ty {
        Ty::List(el) => format!("Wire.WriteList({e}, {x} => {})", write(el, &x, depth + 1)),
        Ty::Map(el) => format!("Wire.WriteMap({e}, {x} => {})", write(el, &x, depth + 1)),
        Ty::Tuple(es) => {
            let value = if s.null {
                format!("{e}.Value")
            } else {
                e.to_string()
            };
            let items: Vec<String> = es
                .iter()
                .enumerate()
                .map(|(i, el)| write(el, &format!("{value}.Item{}", i + 1), depth + 1))
                .collect();
            let tuple = format!("Wire.WriteTuple({})", items.join(", "));
            if s.null {
                format!("({e} == null ? JsonValue.Null : {tuple})")
            } else {
                tuple
            }
        }
        _ => format!("Wire.Write({e})"),
    }
}

/// `text` as a C# string literal (non-ASCII escaped).
pub(crate) fn cs_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// A description as XML doc text: entities escaped, backticks as `<c>` (names kept as they are:
/// in a model's docs they are wire names and options, not C# methods), no rustdoc links.
pub(crate) fn cs_text(text: &str) -> String {
    let escaped = text
        .replace("[`", "`")
        .replace("`]", "`")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    spans(&escaped, |s, _| format!("<c>{s}</c>"))
}

fn summary(out: &mut String, indent: &str, text: &str) {
    line_comment(out, indent, "/// ", &format!("<summary>{text}</summary>"));
}

/// One property of a class.
pub(crate) struct Field {
    pub key: String,
    pub name: String,
    pub slot: Slot,
    /// Required by the class (by every variant of a union).
    pub required: bool,
    pub default: Option<Value>,
    pub doc: Option<String>,
    /// For a union: the tag values of the variants that have it (all of them when empty).
    pub variants: Vec<String>,
}

fn field(key: &str, prop: &Value, required: bool, defs: &Map<String, Value>) -> Field {
    let mut s = slot(prop, defs);
    s.null |= !required;
    Field {
        key: key.to_string(),
        name: camel(key, true),
        slot: s,
        required,
        default: prop.get("default").cloned(),
        doc: prop
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        variants: Vec::new(),
    }
}

/// A union's variant: its tag value (for a tagged union), doc, and the keys it requires
/// (beyond those every variant requires).
pub(crate) struct Variant {
    pub tag: Option<String>,
    pub doc: Option<String>,
    pub requires: Vec<String>,
}

/// The keys of an object schema in the order their properties take (required first, in
/// declaration order, then the rest by name).
fn key_order(obj: &Map<String, Value>) -> Vec<&str> {
    let mut order: Vec<&str> = required(obj);
    let mut rest: Vec<&str> = obj["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    rest.sort_unstable();
    for k in rest {
        if !order.contains(&k) {
            order.push(k);
        }
    }
    order
}

/// The tag of a union: the key every variant has as a `const` string (distinct values).
fn union_tag(variants: &[&Map<String, Value>]) -> Option<String> {
    let first = variants.first()?;
    let props = first["properties"].as_object()?;
    props.keys().find_map(|key| {
        let values: Option<Vec<&str>> = variants
            .iter()
            .map(|v| v["properties"].get(key)?.get("const")?.as_str())
            .collect();
        let values = values?;
        let mut distinct = values.clone();
        distinct.sort_unstable();
        distinct.dedup();
        (distinct.len() == values.len()).then(|| key.clone())
    })
}

/// A union's merged fields and its variants.
fn union_fields(
    name: &str,
    members: &[&Map<String, Value>],
    defs: &Map<String, Value>,
) -> (Vec<Field>, Option<String>, Vec<Variant>) {
    let tag = union_tag(members);
    let all_required: Vec<&str> = required(members[0])
        .into_iter()
        .filter(|k| members.iter().all(|m| required(m).contains(k)))
        .collect();
    let mut fields: Vec<Field> = Vec::new();
    let mut variants = Vec::new();
    for m in members {
        let props = m["properties"]
            .as_object()
            .expect("a variant has properties");
        let tag_value = tag
            .as_ref()
            .and_then(|t| props[t.as_str()]["const"].as_str())
            .map(str::to_string);
        for key in key_order(m) {
            let mut f = field(key, &props[key], all_required.contains(&key), defs);
            if let Some(t) = &tag_value {
                f.variants.push(t.clone());
            }
            match fields.iter_mut().find(|g| g.key == key) {
                Some(g) => {
                    let (mut a, mut b) = (g.slot.clone(), f.slot.clone());
                    a.null = false;
                    b.null = false;
                    assert_eq!(
                        a, b,
                        "$defs/{name}.{key}: the variants give it different types"
                    );
                    g.slot.null |= f.slot.null;
                    g.variants.extend(f.variants);
                    if g.doc.is_none() {
                        g.doc = f.doc;
                    }
                }
                None => fields.push(f),
            }
        }
        variants.push(Variant {
            tag: tag_value,
            doc: m
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            requires: required(m)
                .into_iter()
                .filter(|k| !all_required.contains(k))
                .map(str::to_string)
                .collect(),
        });
    }
    for f in &mut fields {
        if f.variants.len() == members.len() {
            f.variants.clear(); // in every variant
        }
    }
    (fields, tag, variants)
}

fn check_names(name: &str, fields: &[Field], consts: &[String]) {
    let mut seen: Vec<&str> = Vec::new();
    for n in fields
        .iter()
        .map(|f| f.name.as_str())
        .chain(consts.iter().map(String::as_str))
    {
        assert!(
            !csharp_view::RESERVED.contains(&n) && n != name && !seen.contains(&n),
            "$defs/{name}: the C# member name {n} is taken (see csharp_view::RESERVED)"
        );
        seen.push(n);
    }
}

/// One model (an object or a union of objects) as a class.
fn cs_class(out: &mut String, name: &str, def: &Value, kind: &Kind, defs: &Map<String, Value>) {
    assert!(
        !csharp_view::TAKEN.contains(&name),
        "$defs/{name}: the C# name is taken by a hand-written class (csharp_view::TAKEN)"
    );
    let (fields, tag, variants) = match kind {
        Kind::Class(obj) => {
            let props = obj["properties"].as_object().expect("properties");
            let req = required(obj);
            let fields: Vec<Field> = py_field_order(name, obj)
                .into_iter()
                .map(|k| field(k, &props[k], req.contains(&k), defs))
                .collect();
            (fields, None, Vec::new())
        }
        Kind::Union(members) => union_fields(name, members, defs),
        _ => unreachable!("cs_class is for classes and unions"),
    };
    let consts: Vec<String> = variants
        .iter()
        .filter_map(|v| v.tag.as_deref().map(|t| camel(t, true)))
        .collect();
    check_names(name, &fields, &consts);
    let union = matches!(kind, Kind::Union(_));

    out.push('\n');
    let doc = def
        .get("description")
        .and_then(Value::as_str)
        .map_or_else(|| format!("The <c>{name}</c> model."), cs_text);
    summary(out, "    ", &doc);
    if union && tag.is_none() {
        let list: Vec<String> = variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "({}) with {}: {}",
                    i + 1,
                    v.requires
                        .iter()
                        .map(|r| format!("<c>{r}</c>"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    v.doc
                        .as_deref()
                        .map_or(String::new(), cs_text)
                        .trim_end_matches('.')
                )
            })
            .collect();
        line_comment(
            out,
            "    ",
            "/// ",
            &format!(
                "<remarks>One of {} shapes, read into one class: {}.</remarks>",
                variants.len(),
                list.join("; ")
            ),
        );
    }
    let _ = writeln!(
        out,
        "    public sealed partial class {name} : IWireModel\n    {{"
    );
    if let Some(tag) = &tag {
        for (v, c) in variants.iter().zip(&consts) {
            let t = v.tag.as_deref().unwrap_or_default();
            let doc = v.doc.as_deref().map_or(String::new(), cs_text);
            summary(
                out,
                "        ",
                &format!(
                    "The <c>{t}</c> variant (<see cref=\"{}\"/>): {doc}",
                    camel(tag, true)
                ),
            );
            let _ = writeln!(out, "        public const string {c} = {};", cs_str(t));
        }
        out.push('\n');
    }
    for f in &fields {
        let mut doc = f.doc.as_deref().map_or(String::new(), cs_text);
        if !f.variants.is_empty() {
            let list: Vec<String> = f.variants.iter().map(|t| format!("<c>{t}</c>")).collect();
            doc = format!("{doc} (Of {}.)", list.join(", "));
        }
        if tag.as_deref() == Some(f.key.as_str()) {
            doc = "Which variant this is: one of the constants above (a value this SDK does not \
                   know is kept as it came)."
                .to_string();
        }
        if doc.is_empty() {
            doc = format!("<c>{}</c>.", f.key);
        }
        summary(out, "        ", doc.trim());
        let _ = writeln!(out, "        [WireName({})]", cs_str(&f.key));
        let _ = writeln!(
            out,
            "        public {} {} {{ get; set; }}",
            decl(&f.slot),
            f.name
        );
    }
    out.push_str(
        "        /// <summary>Keys this SDK does not know, as they came (raw JSON values, in \
         order); written back\n        \
         /// by <see cref=\"ToJson\"/>.</summary>\n        \
         public IDictionary<string, JsonValue> Extra { get; } = new JsonObject();\n\n",
    );
    let _ = writeln!(
        out,
        "        /// <summary>Decodes JSON text (a <see cref=\"FormatException\"/> names what \
         is wrong).</summary>\n        \
         public static {name} Parse(string json)\n        {{\n            \
         return FromJson(JsonValue.Parse(json));\n        }}\n"
    );
    cs_reader(out, name, &fields, tag.as_deref(), &variants, union);
    cs_writer(out, &fields, union);
    out.push_str("    }\n");
}

/// The generated `FromJson`.
fn cs_reader(
    out: &mut String,
    name: &str,
    fields: &[Field],
    tag: Option<&str>,
    variants: &[Variant],
    union: bool,
) {
    let checked = |f: &Field| f.required || variants.iter().any(|v| v.requires.contains(&f.key));
    let seen: Vec<(usize, &Field)> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| checked(f))
        .collect();
    let flag = |key: &str| {
        seen.iter()
            .find(|(_, f)| f.key == key)
            .map(|(i, _)| format!("seen{i}"))
            .expect("a checked field")
    };
    let _ = writeln!(
        out,
        "        /// <summary>Reads <paramref name=\"json\"/> (generated; <paramref \
         name=\"at\"/> is its path, for errors).</summary>\n        \
         internal static {name} FromJson(JsonValue json, string at = {})\n        {{\n            \
         var m = new {name}();",
        cs_str(name)
    );
    if !seen.is_empty() {
        let flags: Vec<String> = seen
            .iter()
            .map(|(i, _)| format!("seen{i} = false"))
            .collect();
        let _ = writeln!(out, "            bool {};", flags.join(", "));
    }
    out.push_str(
        "            foreach (var p in Wire.Object(json, at))\n            {\n                \
         JsonValue v = p.Value;\n                \
         switch (p.Key)\n                {\n",
    );
    for (i, f) in fields.iter().enumerate() {
        let at = format!("at + {}", cs_str(&format!(".{}", f.key)));
        let expr = if !f.required && matches!(f.slot.ty, Ty::Any) {
            "v.IsNull ? null : v".to_string()
        } else {
            read(&f.slot, "v", &at, 0)
        };
        let _ = writeln!(out, "                    case {}:", cs_str(&f.key));
        if checked(f) {
            let set = if union && !f.required {
                "!v.IsNull"
            } else {
                "true"
            };
            let _ = writeln!(out, "                        seen{i} = {set};");
        }
        let _ = writeln!(
            out,
            "                        m.{} = {expr};\n                        break;",
            f.name
        );
    }
    out.push_str(
        "                    default:\n                        \
         m.Extra[p.Key] = v;\n                        \
         break;\n                \
         }\n            }\n",
    );
    for f in fields.iter().filter(|f| f.required) {
        let flag = flag(&f.key);
        match &f.default {
            None => {
                let _ = writeln!(
                    out,
                    "            if (!{flag}) throw Wire.Missing(at, {});",
                    cs_str(&f.key)
                );
            }
            Some(d) => {
                let at = format!("at + {}", cs_str(&format!(".{}", f.key)));
                let _ = writeln!(
                    out,
                    "            if (!{flag})\n            {{\n                \
                     JsonValue d = JsonValue.Parse({}); // the schema's default\n                \
                     m.{} = {};\n            }}",
                    cs_str(&d.to_string()),
                    f.name,
                    read(&f.slot, "d", &at, 0)
                );
            }
        }
    }
    let name_of = |key: &str| &fields.iter().find(|f| f.key == key).expect("a field").name;
    match tag {
        Some(tag) if variants.iter().any(|v| !v.requires.is_empty()) => {
            let _ = writeln!(
                out,
                "            switch (m.{})\n            {{",
                name_of(tag)
            );
            for v in variants.iter().filter(|v| !v.requires.is_empty()) {
                let _ = writeln!(
                    out,
                    "                case {}:",
                    cs_str(v.tag.as_deref().unwrap_or_default())
                );
                for r in &v.requires {
                    let _ = writeln!(
                        out,
                        "                    if (!{}) throw Wire.Missing(at, {});",
                        flag(r),
                        cs_str(r)
                    );
                }
                out.push_str("                    break;\n");
            }
            out.push_str(
                "                default:\n                    \
                 break; // a variant this SDK does not know: read as far as it knows\n            \
                 }\n",
            );
        }
        None if union && variants.iter().all(|v| !v.requires.is_empty()) => {
            let any: Vec<String> = variants
                .iter()
                .map(|v| {
                    let all: Vec<String> = v.requires.iter().map(|r| flag(r)).collect();
                    format!("({})", all.join(" && "))
                })
                .collect();
            let shapes: Vec<String> = variants.iter().map(|v| v.requires.join("+")).collect();
            let _ = writeln!(
                out,
                "            if (!({})) throw Wire.NoVariant(at, {});",
                any.join(" || "),
                cs_str(&shapes.join(", "))
            );
        }
        _ => {}
    }
    out.push_str("            return m;\n        }\n\n");
}

/// The generated `ToJson`.
fn cs_writer(out: &mut String, fields: &[Field], union: bool) {
    out.push_str(
        "        /// <summary>This model as JSON: its properties (those not required left out \
         when null), then\n        \
         /// <see cref=\"Extra\"/>.</summary>\n        \
         public JsonValue ToJson()\n        {\n            \
         var o = new JsonObject();\n",
    );
    for f in fields {
        let add = format!("o.Add({}, {});", cs_str(&f.key), write(&f.slot, &f.name, 0));
        if f.required && !(union && f.slot.null) {
            let _ = writeln!(out, "            {add}");
        } else {
            let _ = writeln!(out, "            if ({} != null) {add}", f.name);
        }
    }
    out.push_str("            return Wire.Finish(o, Extra);\n        }\n");
}

/// A union of string constants as a static class.
fn cs_enum(out: &mut String, name: &str, def: &Value, values: &[(String, Option<String>)]) {
    assert!(
        !csharp_view::TAKEN.contains(&name),
        "$defs/{name}: the C# name is taken by a hand-written class (csharp_view::TAKEN)"
    );
    out.push('\n');
    let doc = def
        .get("description")
        .and_then(Value::as_str)
        .map_or_else(|| format!("The values of <c>{name}</c>."), cs_text);
    summary(
        out,
        "    ",
        &format!("{doc} (Strings on the wire: a value a newer core adds still reads.)"),
    );
    let _ = writeln!(out, "    public static partial class {name}\n    {{");
    let mut names = Vec::new();
    for (value, doc) in values {
        let c = camel(value, true);
        assert!(!names.contains(&c) && c != "All", "$defs/{name}: {c} twice");
        summary(
            out,
            "        ",
            &doc.as_deref()
                .map_or_else(|| format!("<c>{value}</c>."), cs_text),
        );
        let _ = writeln!(out, "        public const string {c} = {};", cs_str(value));
        names.push(c);
    }
    let _ = writeln!(
        out,
        "        /// <summary>Every value, in the schema's order.</summary>\n        \
         public static readonly IReadOnlyList<string> All = new[] {{ {} }};\n    }}",
        names.join(", ")
    );
}

/// `bindings-dotnet/src/Generated/Models.g.cs`: every model of the schema (see the module doc).
pub(crate) fn csharp_models() -> String {
    let defs = defs();
    let mut names: Vec<&String> = defs.keys().collect();
    names.sort();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// generated by `make codegen` (tools/codegen) from the core's schema \
         (schema/safe-tracker.schema.json); do not edit."
    );
    out.push_str(
        "// Every model of the schema as a class: PascalCase properties, each with its wire name\n\
         // ([WireName]); ids and integers `long`, dates SafeDateTime (raw text kept, parsed when it\n\
         // parses), form data FormData (raw kept, decoded when it decodes), lists IReadOnlyList,\n\
         // maps IReadOnlyDictionary, untyped values JsonValue; unknown keys in Extra. A property the\n\
         // schema does not require is nullable and reads as null when absent or null (as in the\n\
         // core); a required one must be present (or takes the schema's default). Readers\n\
         // (FromJson, Parse) and writers (ToJson) are generated; Json.cs holds the JSON tree,\n\
         // the Wire helpers, SafeDateTime, FormData and WireNameAttribute. Unions of objects are one\n\
         // class with every variant's properties; unions of strings are classes of constants.\n\
         using System;\n\
         using System.Collections.Generic;\n\
         \n\
         namespace SafeTracker\n\
         {",
    );
    for name in names {
        let def = &defs[name.as_str()];
        match def_kind(name, def) {
            Kind::Hand(_) | Kind::Alias => {}
            Kind::Enum(values) => cs_enum(&mut out, name, def, &values),
            kind => cs_class(&mut out, name, def, &kind, defs),
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of `class` in `cs` (from its declaration to its closing brace).
    fn class<'a>(cs: &'a str, name: &str) -> &'a str {
        let start = cs
            .find(&format!(
                "public sealed partial class {name} : IWireModel\n"
            ))
            .unwrap_or_else(|| panic!("no class {name}"));
        let end = cs[start..].find("\n    }\n").expect("the class ends");
        &cs[start..start + end]
    }

    #[test]
    fn every_model_is_a_class_with_every_wire_name() {
        let cs = csharp_models();
        let defs = defs();
        for (name, def) in defs {
            let keys: Vec<&String> = match def_kind(name, def) {
                Kind::Class(obj) => obj["properties"].as_object().unwrap().keys().collect(),
                Kind::Union(members) => members
                    .iter()
                    .flat_map(|m| m["properties"].as_object().unwrap().keys())
                    .collect(),
                Kind::Enum(values) => {
                    let body = &cs[cs.find(&format!("static partial class {name}\n")).unwrap()..];
                    for (v, _) in values {
                        assert!(body.contains(&format!(" = \"{v}\";")), "{name}.{v}");
                    }
                    continue;
                }
                Kind::Hand(_) | Kind::Alias => continue,
            };
            let body = class(&cs, name);
            for key in keys {
                assert!(
                    body.contains(&format!("[WireName(\"{key}\")]\n")),
                    "{name}.{key}"
                );
                assert!(body.contains(&format!("case \"{key}\":\n")), "{name}.{key}");
            }
            assert!(body.contains(&format!("internal static {name} FromJson(JsonValue json")));
        }
        // The wire models and the poller's models: nothing is left out but the hand-written.
        for name in [
            "Item",
            "Case",
            "ItemRecord",
            "PollerStatus",
            "DedupeKey",
            "PollerEvent",
        ] {
            class(&cs, name);
        }
        assert!(!cs.contains("class SafeDateTime") && !cs.contains("class FormData "));
    }

    #[test]
    fn types_follow_the_schema() {
        let cs = csharp_models();
        let item = class(&cs, "Item");
        for line in [
            "        [WireName(\"sequentialOrgId\")]\n        public long? SequentialOrgId { get; set; }",
            "        public SafeDateTime RecoveryDate { get; set; }",
            "        public IReadOnlyList<FormDataEntry> FormData { get; set; }",
            "        public IReadOnlyList<long> PeopleIds { get; set; }",
            "        public IReadOnlyList<JsonValue> Cases { get; set; }",
            "        public JsonValue RecoveryLocationLatitude { get; set; }",
            "                        m.Id = v.IsNull ? (long?)null : Wire.Long(v, at + \".id\");",
            "                        m.RecoveryLocationLatitude = v.IsNull ? null : v;",
            "            if (SequentialOrgId != null) o.Add(\"sequentialOrgId\", Wire.Write(SequentialOrgId));",
        ] {
            assert!(item.contains(line), "Item: {line}");
        }
        let lookup_entry = class(&cs, "LookupEntry");
        assert!(lookup_entry.contains("        public long Id { get; set; }"));
        assert!(lookup_entry.contains("if (!seen0) throw Wire.Missing(at, \"id\");"));
        assert!(lookup_entry.contains("            o.Add(\"id\", Wire.Write(Id));"));
        let status = class(&cs, "PollerStatus");
        assert!(status.contains("        public SweepSummary LastSweep { get; set; }"));
        assert!(status.contains("        public SafeDateTime Watermark { get; set; }"));
        assert!(
            status.contains("        public IReadOnlyList<SkippedNumber> Skipped { get; set; }")
        );
        assert!(status.contains("            o.Add(\"stalled_next\", Wire.Write(StalledNext));"));
        let state = class(&cs, "PollerState");
        assert!(
            state.contains("        public IReadOnlyDictionary<string, Hole> Holes { get; set; }")
        );
        assert!(
            state.contains("        public IReadOnlyList<(long, string)> Recent { get; set; }")
        );
        assert!(state.contains("JsonValue d = JsonValue.Parse(\"{}\"); // the schema's default"));
        let event = class(&cs, "PollerEvent");
        assert!(event.contains("        public const string SweepStarted = \"sweep_started\";"));
        assert!(event.contains("        public string Event { get; set; }"));
        assert!(event.contains("        public long? Seq { get; set; }"));
        assert!(event.contains("                case \"duplicate_number\":\n"));
        let key = class(&cs, "DedupeKey");
        assert!(key.contains("        public long OrganizationId { get; set; }"));
        assert!(key.contains("        public long? ItemId { get; set; }"));
        assert!(key.contains("throw Wire.NoVariant(at, \"item_id, sequential_org_id\");"));
        let record = class(&cs, "ItemRecord");
        assert!(record.contains("m.Item = global::SafeTracker.Item.FromJson(v, at + \".item\");"));
        assert!(cs.contains("    public static partial class Lookup\n"));
        assert!(cs.contains("        public const string AddressTypes = \"address_types\";"));
    }

    #[test]
    fn spellings() {
        assert_eq!(cs_str("a\"b\\c\n…"), "\"a\\\"b\\\\c\\n\\u2026\"");
        assert_eq!(
            cs_text("see [`Poller`] & `hole_max_age` <x>"),
            "see <c>Poller</c> &amp; <c>hole_max_age</c> &lt;x&gt;"
        );
        let list = Slot {
            ty: Ty::List(Box::new(Slot {
                ty: Ty::Long,
                null: true,
            })),
            null: true,
        };
        assert_eq!(decl(&list), "IReadOnlyList<long?>");
        assert_eq!(
            read(&list, "v", "at", 0),
            "v.IsNull ? null : Wire.List(v, at, (x0, a0) => x0.IsNull ? (long?)null : Wire.Long(x0, a0))"
        );
        assert_eq!(
            write(&list, "L", 0),
            "Wire.WriteList(L, x0 => Wire.Write(x0))"
        );
    }
}
