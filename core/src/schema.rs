//! The one schema of everything that crosses into a host language: every model (wire models,
//! records, events, status, plan, sweep report, checkpoint state) as JSON Schema (draft
//! 2020-12) under `$defs`, and the error-code table under `x-error-codes`.
//!
//! The models derive `schemars::JsonSchema` next to their serde derives, so a field's wire
//! name, type, optionality and doc comment come from the one definition. Two types describe
//! themselves by hand: [`crate::models::SafeDateTime`] (`x-safe-type: datetime`: a string kept
//! raw, with the parsed instant when it parses) and [`crate::models::FormData`]
//! (`x-safe-type: form-data`: a JSON object serialised into a string, kept raw).
//!
//! The schema describes what the SDK writes (schemars' serialisation contract): a field that
//! is skipped when empty is optional, one that is always written is required (and nullable
//! when it may be `null`). `tools/codegen` writes it to `schema/safe-tracker.schema.json` and
//! generates the host languages' models from it.

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::ErrorCode;
use crate::models::{
    Address, Case, CustodyEntry, Form, FormData, FormDataEntry, Item, Lookup, LookupEntry,
    NewPerson, Person, SafeDateTime, SearchPage, SearchRequest, StaticField, TypeaheadEntry, User,
};
use crate::poller::{
    DedupeKey, Expand, Hole, ItemRecord, PartialNumber, PollerEvent, PollerState, PollerStatus,
    SkippedNumber, StuckNumber, SweepOutcome, SweepPlan, SweepReport, SweepSummary, UpdatedRecord,
};

/// Adds `T` (and everything it refers to) to the generator's definitions.
fn add<T: JsonSchema>(generator: &mut SchemaGenerator) {
    // Refer to it from a property so that even an inlined type ends up in `$defs`.
    let _ = generator.subschema_for::<T>();
}

/// The names under `$defs` of the wire models declared with `wire_model!`, with their wire
/// field names (the drift test compares them with the schema's properties).
pub const WIRE_MODELS: &[(&str, &[&str])] = &[
    ("Item", Item::WIRE_NAMES),
    ("Case", Case::WIRE_NAMES),
    ("CustodyEntry", CustodyEntry::WIRE_NAMES),
    ("Person", Person::WIRE_NAMES),
    ("Address", Address::WIRE_NAMES),
];

/// The schema document: every model under `$defs`, the error table under `x-error-codes`
/// (`code`, `name`, `doc`, `class`, ascending by code) and the error classes under
/// `x-error-classes`. Deterministic: the same build gives the same value.
pub fn schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    add::<SafeDateTime>(&mut generator);
    add::<FormData>(&mut generator);
    add::<FormDataEntry>(&mut generator);
    add::<Form>(&mut generator);
    add::<Item>(&mut generator);
    add::<Case>(&mut generator);
    add::<CustodyEntry>(&mut generator);
    add::<Person>(&mut generator);
    add::<Address>(&mut generator);
    add::<NewPerson>(&mut generator);
    add::<User>(&mut generator);
    add::<Lookup>(&mut generator);
    add::<LookupEntry>(&mut generator);
    add::<TypeaheadEntry>(&mut generator);
    add::<StaticField>(&mut generator);
    add::<SearchRequest>(&mut generator);
    add::<SearchPage<Item>>(&mut generator);
    add::<Expand>(&mut generator);
    add::<DedupeKey>(&mut generator);
    add::<ItemRecord>(&mut generator);
    add::<UpdatedRecord>(&mut generator);
    add::<PollerEvent>(&mut generator);
    add::<PollerStatus>(&mut generator);
    add::<crate::fleet::TenantState>(&mut generator);
    add::<SweepPlan>(&mut generator);
    add::<SweepSummary>(&mut generator);
    add::<SweepOutcome>(&mut generator);
    add::<SweepReport>(&mut generator);
    add::<Hole>(&mut generator);
    add::<PartialNumber>(&mut generator);
    add::<StuckNumber>(&mut generator);
    add::<SkippedNumber>(&mut generator);
    add::<PollerState>(&mut generator);
    add::<crate::host::ErrorInfo>(&mut generator);
    let defs = generator.take_definitions(true);

    let mut codes = ErrorCode::ALL.to_vec();
    codes.sort_by_key(|c| c.as_u32());
    let codes: Vec<Value> = codes
        .iter()
        .map(|c| {
            json!({
                "code": c.as_u32(),
                "name": c.name(),
                "doc": c.doc(),
                "class": c.class().name(),
            })
        })
        .collect();
    let classes: Vec<Value> = crate::ErrorClass::ALL
        .iter()
        .map(|c| Value::String(c.name().to_owned()))
        .collect();

    let mut doc = Map::new();
    doc.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    doc.insert("title".into(), "safe-tracker".into());
    doc.insert(
        "description".into(),
        "Every model of the safe-tracker SDK and its error-code table, generated from the Rust \
         definitions (`make codegen`)."
            .into(),
    );
    doc.insert("x-error-codes".into(), Value::Array(codes));
    doc.insert("x-error-classes".into(), Value::Array(classes));
    doc.insert("$defs".into(), Value::Object(defs));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def<'a>(schema: &'a Value, name: &str) -> &'a Map<String, Value> {
        schema["$defs"][name]
            .as_object()
            .unwrap_or_else(|| panic!("no $defs/{name}"))
    }

    fn properties(schema: &Value, name: &str) -> Vec<String> {
        let mut names: Vec<String> = def(schema, name)["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("$defs/{name} has no properties"))
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_wire_model_field_is_in_the_schema() {
        let schema = schema();
        for (name, wire) in WIRE_MODELS {
            let mut expected: Vec<String> = wire.iter().map(|s| s.to_string()).collect();
            expected.sort();
            assert_eq!(properties(&schema, name), expected, "$defs/{name}");
            // Unknown fields are kept: the schema says so.
            assert_eq!(
                def(&schema, name).get("additionalProperties"),
                Some(&Value::Bool(true)),
                "$defs/{name}"
            );
            // Every field is optional (absent and null mean the same).
            assert!(def(&schema, name).get("required").is_none(), "$defs/{name}");
        }
    }

    #[test]
    fn serde_field_names_reach_the_schema() {
        // A serde model's schema follows its serialisation, field for field.
        let schema = schema();
        let status = PollerStatus {
            stream: "items".into(),
            cursor: 1,
            holes: vec![],
            last_sweep_started: None,
            last_sweep: None,
            next_allowed_sweep: None,
            requests_spent: 0,
            stalled_next: None,
            watermark: None,
            stuck: None,
            partial: None,
            skipped: vec![],
            duplicate_numbers: 0,
        };
        let value = serde_json::to_value(&status).unwrap();
        let mut written: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        written.sort();
        assert_eq!(properties(&schema, "PollerStatus"), written);
        let mut required: Vec<String> = def(&schema, "PollerStatus")["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        required.sort();
        assert_eq!(required, written, "every always-written field is required");
    }

    #[test]
    fn dates_and_form_data_are_marked() {
        let schema = schema();
        assert_eq!(def(&schema, "SafeDateTime")["x-safe-type"], "datetime");
        assert_eq!(def(&schema, "SafeDateTime")["format"], "date-time");
        assert_eq!(def(&schema, "FormData")["x-safe-type"], "form-data");
        let codes = schema["x-error-codes"].as_array().unwrap();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        for c in ErrorCode::ALL {
            assert!(
                codes.iter().any(|v| v["code"] == c.as_u32()
                    && v["name"] == c.name()
                    && v["class"] == c.class().name()),
                "{c:?}"
            );
        }
    }

    #[test]
    fn deterministic() {
        assert_eq!(
            serde_json::to_string(&schema()).unwrap(),
            serde_json::to_string(&schema()).unwrap()
        );
    }
}
