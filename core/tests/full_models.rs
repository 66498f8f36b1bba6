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

fn keeps_unknown(schema: &Value, name: &str) -> bool {
    def(schema, name).get("additionalProperties") == Some(&Value::Bool(true))
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

/// Checks that `value` is non-null and of the type the schema gives `prop` (recursing into
/// list elements and nested models).
fn check_value(schema: &Value, at: &str, prop: &Value, value: &Value) {
    assert!(!value.is_null(), "{at}: null");
    if let Some(name) = reference(prop) {
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
            _ => check_object(schema, at, name, value, false),
        }
        return;
    }
    match json_type(prop) {
        None => {} // any value (the schema says nothing more)
        Some("integer") => assert!(value.is_i64(), "{at}: {value} is not an integer"),
        Some("string") => assert!(value.is_string(), "{at}: {value} is not a string"),
        Some("boolean") => assert!(value.is_boolean(), "{at}: {value} is not a boolean"),
        Some("number") => assert!(value.is_number(), "{at}: {value} is not a number"),
        Some("array") => {
            let list = value
                .as_array()
                .unwrap_or_else(|| panic!("{at}: {value} is not a list"));
            assert!(!list.is_empty(), "{at}: an empty list checks nothing");
            for (i, element) in list.iter().enumerate() {
                check_value(schema, &format!("{at}[{i}]"), &prop["items"], element);
            }
        }
        Some("object") => assert!(value.is_object(), "{at}: {value} is not an object"),
        Some(other) => panic!("{at}: schema type {other} not handled"),
    }
}

/// Checks an object against `$defs/name`: every value typed as the schema says; with `full`,
/// every property present and only the unknown field besides.
fn check_object(schema: &Value, at: &str, name: &str, value: &Value, full: bool) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object"));
    let props = def(schema, name)["properties"].as_object().unwrap();
    for (key, v) in object {
        match props.get(key) {
            Some(prop) => check_value(schema, &format!("{at}.{key}"), prop, v),
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
            keeps_unknown(schema, name),
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
