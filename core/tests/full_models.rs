//! `tests/conformance/full-models.json`: one wire object per model with every field set (and
//! one unknown field), decoded and compared field by field with the core's schema. A field
//! added to a model without a value in the vectors, a field that does not decode into its
//! typed slot, or one that is not written back fails here.

use safe_tracker::models::{
    Address, Case, CustodyEntry, Form, FormDataEntry, Item, LookupEntry, NewPerson, Person,
    SafeDateTime, TypeaheadEntry, User,
};
use safe_tracker::schema::{WIRE_MODELS, schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;

/// The unknown field every vector of a model that keeps unknown fields carries.
const UNKNOWN: &str = "futureField";

/// Every model with a vector: the wire models of `WIRE_MODELS` and the serde models.
const MODELS: &[&str] = &[
    "Item",
    "Case",
    "CustodyEntry",
    "Person",
    "Address",
    "FormDataEntry",
    "User",
    "NewPerson",
    "Form",
    "LookupEntry",
    "TypeaheadEntry",
];

fn vectors() -> Map<String, Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/conformance/full-models.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file"))
        .expect("valid JSON");
    v["models"].as_object().expect("models").clone()
}

fn def<'a>(schema: &'a Value, name: &str) -> &'a Map<String, Value> {
    schema["$defs"][name]
        .as_object()
        .unwrap_or_else(|| panic!("no $defs/{name}"))
}

fn sorted(keys: impl Iterator<Item = String>) -> Vec<String> {
    let mut keys: Vec<String> = keys.collect();
    keys.sort();
    keys
}

/// The `$defs` name a property refers to (`$ref`, or the non-null branch of `anyOf`).
fn reference(prop: &Value) -> Option<&str> {
    prop.get("$ref")
        .or_else(|| {
            prop.get("anyOf")?
                .as_array()?
                .iter()
                .find_map(|b| b.get("$ref"))
        })
        .and_then(Value::as_str)
        .map(|r| r.rsplit('/').next().unwrap())
}

/// The schema's non-null JSON type of a property (`None` for "any value").
fn json_type(prop: &Value) -> Option<&str> {
    match prop.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

thread_local! {
    /// `$defs` names met by the checks, and (name, variant index) of the unions' variants.
    static SEEN: RefCell<BTreeSet<(String, Option<usize>)>> = const { RefCell::new(BTreeSet::new()) };
}

fn seen(name: &str, variant: Option<usize>) {
    SEEN.with(|s| s.borrow_mut().insert((name.to_string(), variant)));
}

/// Checks that `value` is non-null and of the type the schema gives `prop` (recursing into
/// list elements, maps, nested models and unions).
fn check_value(schema: &Value, at: &str, prop: &Value, value: &Value) {
    assert!(!value.is_null(), "{at}: null");
    if let Some(name) = reference(prop) {
        seen(name, None);
        let target = def(schema, name);
        match target.get("x-safe-type").and_then(Value::as_str) {
            Some("datetime") => {
                let raw = value.as_str().unwrap_or_else(|| panic!("{at}: not text"));
                assert!(
                    SafeDateTime::parse(raw).utc().is_some(),
                    "{at}: {raw} does not parse"
                );
            }
            Some("form-data") => {
                let raw = value.as_str().unwrap_or_else(|| panic!("{at}: not text"));
                let decoded: Value = serde_json::from_str(raw).expect("form data is JSON");
                assert!(decoded.is_object(), "{at}: a JSON object in a string");
            }
            _ if target.contains_key("properties") => {
                check_props(schema, at, name, target, value, false)
            }
            _ if string_enum(target).is_some() => {
                let values = string_enum(target).unwrap();
                let raw = value.as_str().unwrap_or_else(|| panic!("{at}: not text"));
                assert!(
                    values.contains(&raw),
                    "{at}: {raw} is not one of {values:?}"
                );
                seen(name, None);
            }
            _ => check_union(schema, at, name, value),
        }
        return;
    }
    match json_type(prop) {
        None => {} // any value (the schema says nothing more)
        Some("integer") => assert!(
            value.is_i64() || value.is_u64(),
            "{at}: {value} is not an integer"
        ),
        Some("string") => {
            let text = value
                .as_str()
                .unwrap_or_else(|| panic!("{at}: {value} is not a string"));
            if prop.get("format").and_then(Value::as_str) == Some("date-time") {
                assert!(
                    SafeDateTime::parse(text).utc().is_some(),
                    "{at}: {text} is not a date-time"
                );
            }
        }
        Some("boolean") => assert!(value.is_boolean(), "{at}: {value} is not a boolean"),
        Some("number") => assert!(value.is_number(), "{at}: {value} is not a number"),
        Some("array") => {
            let list = value
                .as_array()
                .unwrap_or_else(|| panic!("{at}: {value} is not a list"));
            assert!(!list.is_empty(), "{at}: an empty list checks nothing");
            if let Some(positions) = prop.get("prefixItems").and_then(Value::as_array) {
                assert_eq!(list.len(), positions.len(), "{at}: a tuple");
                for (i, (element, p)) in list.iter().zip(positions).enumerate() {
                    check_value(schema, &format!("{at}[{i}]"), p, element);
                }
                return;
            }
            for (i, element) in list.iter().enumerate() {
                check_value(schema, &format!("{at}[{i}]"), &prop["items"], element);
            }
        }
        Some("object") => {
            let object = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: {value} is not an object"));
            if let Some(patterns) = prop.get("patternProperties").and_then(Value::as_object) {
                assert!(!object.is_empty(), "{at}: an empty map checks nothing");
                let element = patterns.values().next().expect("one pattern");
                for (k, v) in object {
                    assert!(
                        k.chars().all(|c| c.is_ascii_digit()),
                        "{at}: key {k} is not a number"
                    );
                    check_value(schema, &format!("{at}.{k}"), element, v);
                }
            }
        }
        Some(other) => panic!("{at}: schema type {other} not handled"),
    }
}

/// The constants of a string enum (a `oneOf` of `const` strings), `None` for anything else.
fn string_enum(def: &Map<String, Value>) -> Option<Vec<&str>> {
    def.get("oneOf")?
        .as_array()?
        .iter()
        .map(|v| v.get("const").and_then(Value::as_str))
        .collect()
}

/// Checks `value` against the one variant of the union `$defs/name` it matches (its required
/// keys present, its constants equal), with every property of that variant set.
fn check_union(schema: &Value, at: &str, name: &str, value: &Value) {
    let union = def(schema, name);
    let variants = union
        .get("oneOf")
        .or_else(|| union.get("anyOf"))
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("$defs/{name}: neither an object nor a union"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object"));
    let matches: Vec<usize> = (0..variants.len())
        .filter(|&i| {
            let v = variants[i].as_object().expect("a variant is an object");
            let props = v["properties"].as_object().expect("variant properties");
            required(v).iter().all(|k| object.contains_key(*k))
                && props.iter().all(|(k, p)| match p.get("const") {
                    Some(c) => object.get(k) == Some(c),
                    None => true,
                })
        })
        .collect();
    assert_eq!(matches.len(), 1, "{at}: matches one variant of {name}");
    seen(name, Some(matches[0]));
    let variant = variants[matches[0]].as_object().unwrap();
    check_props(schema, at, name, variant, value, true);
}

fn required(obj: &Map<String, Value>) -> Vec<&str> {
    obj.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Checks an object against `$defs/name`: every value typed as the schema says; with `full`,
/// every property present and only the unknown field besides.
fn check_object(schema: &Value, at: &str, name: &str, value: &Value, full: bool) {
    seen(name, None);
    check_props(schema, at, name, def(schema, name), value, full);
}

/// [`check_object`] against the object schema `obj` (a `$defs` entry or a union's variant).
fn check_props(
    schema: &Value,
    at: &str,
    name: &str,
    obj: &Map<String, Value>,
    value: &Value,
    full: bool,
) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object"));
    let props = obj["properties"].as_object().unwrap();
    let keeps_unknown = obj.get("additionalProperties") == Some(&Value::Bool(true));
    for (key, v) in object {
        match props.get(key) {
            Some(prop) => {
                if prop.get("const").is_none() {
                    check_value(schema, &format!("{at}.{key}"), prop, v)
                }
            }
            None => assert!(
                !full || key == UNKNOWN,
                "{at}.{key}: not in the schema of {name}"
            ),
        }
    }
    if full {
        let known = sorted(object.keys().filter(|k| *k != UNKNOWN).cloned());
        assert_eq!(
            known,
            sorted(props.keys().cloned()),
            "{at}: the vector's keys are the schema's properties"
        );
        assert_eq!(
            object.contains_key(UNKNOWN),
            keeps_unknown,
            "{at}: `{UNKNOWN}` exactly when the model keeps unknown fields"
        );
    }
}

/// Decodes `wire` as `T`, checks `extra` (when the model has one) and gives the encoding.
fn decode<T: DeserializeOwned + Serialize>(
    wire: &Value,
    extra: impl Fn(&T) -> Option<&Map<String, Value>>,
) -> (Value, Option<Vec<String>>) {
    let model: T = serde_json::from_value(wire.clone()).expect("decodes");
    let extra = extra(&model).map(|m| sorted(m.keys().cloned()));
    (serde_json::to_value(&model).expect("encodes"), extra)
}

fn decode_named(name: &str, wire: &Value) -> (Value, Option<Vec<String>>) {
    match name {
        "Item" => decode::<Item>(wire, |m| Some(&m.extra)),
        "Case" => decode::<Case>(wire, |m| Some(&m.extra)),
        "CustodyEntry" => decode::<CustodyEntry>(wire, |m| Some(&m.extra)),
        "Person" => decode::<Person>(wire, |m| Some(&m.extra)),
        "Address" => decode::<Address>(wire, |m| Some(&m.extra)),
        "FormDataEntry" => decode::<FormDataEntry>(wire, |m| {
            assert!(m.data.error().is_none(), "FormDataEntry.data decodes");
            assert!(!m.data.fields().is_empty(), "FormDataEntry.data has fields");
            Some(&m.extra)
        }),
        "User" => decode::<User>(wire, |m| Some(&m.extra)),
        "NewPerson" => decode::<NewPerson>(wire, |m| {
            assert!(m.address.is_some(), "NewPerson.address");
            None
        }),
        "Form" => decode::<Form>(wire, |m| Some(&m.extra)),
        "LookupEntry" => decode::<LookupEntry>(wire, |m| Some(&m.extra)),
        "TypeaheadEntry" => decode::<TypeaheadEntry>(wire, |_| None),
        other => panic!("no model {other}"),
    }
}

#[test]
fn every_model_has_a_full_vector() {
    let vectors = vectors();
    let schema = schema();
    assert_eq!(
        sorted(vectors.keys().cloned()),
        sorted(MODELS.iter().map(|s| s.to_string())),
        "one vector per model"
    );
    for (name, _) in WIRE_MODELS {
        assert!(MODELS.contains(name), "wire model {name} has a vector");
    }
    for name in MODELS {
        assert!(
            def(&schema, name).contains_key("properties"),
            "$defs/{name}"
        );
    }
}

#[test]
fn vectors_set_every_schema_field_with_its_type() {
    let vectors = vectors();
    let schema = schema();
    for (name, wire) in &vectors {
        check_object(&schema, name, name, wire, true);
    }
    // The wire models' field lists (the decoders' match arms) are the schema's too.
    for (name, wire_names) in WIRE_MODELS {
        let keys = sorted(
            vectors[*name]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != UNKNOWN)
                .cloned(),
        );
        assert_eq!(
            keys,
            sorted(wire_names.iter().map(|s| s.to_string())),
            "{name}"
        );
    }
}

#[test]
fn every_field_decodes_into_its_slot_and_is_written_back() {
    let vectors = vectors();
    let schema = schema();
    for (name, wire) in &vectors {
        let (encoded, extra) = decode_named(name, wire);
        if let Some(extra) = extra {
            assert_eq!(
                extra,
                vec![UNKNOWN.to_string()],
                "{name}: only the unknown field lands in `extra`"
            );
        }
        // Every typed field is set: absent fields are not written, so each schema property
        // in the encoding is a `Some` (and the encoding is the vector, field for field).
        let encoded_keys = encoded.as_object().unwrap();
        for prop in def(&schema, name)["properties"].as_object().unwrap().keys() {
            assert!(
                encoded_keys.get(prop).is_some_and(|v| !v.is_null()),
                "{name}.{prop}: decoded to None"
            );
        }
        assert_eq!(&encoded, wire, "{name}: encoding gives the vector back");
    }
}

#[test]
fn typed_fields_are_some() {
    // Spot checks through the typed API (the generic test above covers every field).
    let vectors = vectors();
    let item: Item = serde_json::from_value(vectors["Item"].clone()).unwrap();
    assert!(item.id.is_some() && item.sequential_org_id.is_some());
    assert!(item.recovery_date.as_ref().and_then(|d| d.utc()).is_some());
    assert_eq!(item.form_data.as_ref().map(Vec::len), Some(1));
    assert!(item.form_data.as_ref().unwrap()[0].data.error().is_none());
    let new_person: NewPerson = serde_json::from_value(vectors["NewPerson"].clone()).unwrap();
    assert!(new_person.person.first_name.is_some());
    assert!(new_person.address.and_then(|a| a.line1).is_some());
}

/// The models the core produces and the hosts decode (`core_models` in the vectors file).
const CORE_MODELS: &[&str] = &[
    "ItemRecord",
    "UpdatedRecord",
    "PollerStatus",
    "SweepPlan",
    "SweepReport",
    "PollerState",
    "TenantState",
];

/// `$defs` entries no vector holds, and why.
const NOT_DECODED: &[(&str, &str)] = &[
    (
        "SearchRequest",
        "a request body the host writes, never an answer",
    ),
    ("Expand", "an option the host writes"),
    (
        "ErrorInfo",
        "the error details each binding builds its exceptions from: their error tests read it",
    ),
    ("Lookup", "an argument: the name of a lookup list"),
    ("StaticField", "inside SearchRequest"),
    (
        "SearchPage",
        "an answer of the wire models' shape: its entities are Items",
    ),
];

fn core_vectors() -> Map<String, Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/conformance/full-models.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file"))
        .expect("valid JSON");
    v["core_models"].as_object().expect("core_models").clone()
}

/// Decodes `value` as `T` and encodes it again.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Value {
    let model: T = serde_json::from_value(value.clone()).expect("decodes");
    serde_json::to_value(&model).expect("encodes")
}

#[test]
fn core_models_set_every_field_and_round_trip() {
    let schema = schema();
    let vectors = core_vectors();
    assert_eq!(
        sorted(vectors.keys().cloned()),
        sorted(CORE_MODELS.iter().map(|s| s.to_string())),
        "one list per core model"
    );
    for (name, list) in &vectors {
        let list = list.as_array().expect("a list of vectors");
        assert!(!list.is_empty(), "{name}");
        for (i, value) in list.iter().enumerate() {
            let at = format!("{name}[{i}]");
            check_object(&schema, &at, name, value, true);
            let encoded = match name.as_str() {
                "ItemRecord" => round_trip::<safe_tracker::poller::ItemRecord>(value),
                "UpdatedRecord" => round_trip::<safe_tracker::poller::UpdatedRecord>(value),
                "PollerStatus" => round_trip::<safe_tracker::poller::PollerStatus>(value),
                "SweepPlan" => round_trip::<safe_tracker::poller::SweepPlan>(value),
                "SweepReport" => round_trip::<safe_tracker::poller::SweepReport>(value),
                "PollerState" => round_trip::<safe_tracker::poller::PollerState>(value),
                "TenantState" => round_trip::<safe_tracker::fleet::TenantState>(value),
                other => panic!("no core model {other}"),
            };
            assert_eq!(&encoded, value, "{at}: decodes and encodes back exactly");
        }
    }
}

#[test]
fn every_model_and_union_variant_is_in_the_vectors() {
    let schema = schema();
    for (name, wire) in &vectors() {
        check_object(&schema, name, name, wire, true);
    }
    for (name, list) in &core_vectors() {
        for value in list.as_array().unwrap() {
            check_object(&schema, name, name, value, true);
        }
    }
    let seen = SEEN.with(|s| s.borrow().clone());
    for (name, def) in schema["$defs"].as_object().unwrap() {
        if NOT_DECODED.iter().any(|(n, _)| n == name) {
            assert!(
                !seen.contains(&(name.clone(), None)),
                "{name} is reached now"
            );
            continue;
        }
        assert!(
            seen.contains(&(name.clone(), None)),
            "no vector reaches {name}"
        );
        let variants = def
            .get("oneOf")
            .or_else(|| def.get("anyOf"))
            .and_then(Value::as_array);
        if let Some(variants) = variants.filter(|v| v.iter().all(|v| v.get("properties").is_some()))
        {
            for i in 0..variants.len() {
                assert!(
                    seen.contains(&(name.clone(), Some(i))),
                    "no vector holds variant {i} of {name}"
                );
            }
        }
    }
}
