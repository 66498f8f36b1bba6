//! Reads the shared conformance vectors (`tests/conformance/vectors.json`), which every
//! language's tests read too, and checks the core against each.

use std::time::Duration;

use safe_tracker::models::{
    Case, FormData, FormDataEntry, Item, NewPerson, SafeDateTime, SeqAnswer, TypeaheadEntry, User,
    decode_list, decode_seq_answer,
};
use safe_tracker::{BodyKind, ClientConfig, ErrorCode, build_headers};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/conformance/vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file")).expect("valid JSON")
}

/// Removes `null` members recursively: absent and null are the same to the models.
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Value {
    let model: T = serde_json::from_value(v.clone()).expect("decodes");
    serde_json::to_value(&model).expect("encodes")
}

#[test]
fn headers_are_pinned() {
    let v = vectors();
    let h = &v["headers"];
    let config = ClientConfig::builder()
        .token(h["token"].as_str().unwrap())
        .organization_id(h["organization_id"].as_u64().unwrap())
        .office_id(h["office_id"].as_u64().unwrap())
        .host_language(h["host_language"].as_str().unwrap())
        .build()
        .unwrap();
    for (key, kind) in [
        ("without_body", BodyKind::None),
        ("with_json_body", BodyKind::Json),
    ] {
        let built = build_headers(&config.credentials, kind, &config.user_agent()).unwrap();
        let expected = h[key].as_object().unwrap();
        assert_eq!(built.len(), expected.len(), "exact header set for {key}");
        for (name, value) in expected {
            let value = value
                .as_str()
                .unwrap()
                .replace("{version}", env!("CARGO_PKG_VERSION"));
            assert_eq!(
                built.get(name.as_str()).and_then(|v| v.to_str().ok()),
                Some(value.as_str()),
                "header {name} for {key}"
            );
        }
    }
}

#[test]
fn error_code_table_matches() {
    let v = vectors();
    let table = v["error_codes"].as_array().unwrap();
    assert_eq!(table.len(), ErrorCode::ALL.len());
    for (entry, code) in table.iter().zip(ErrorCode::ALL) {
        assert_eq!(entry["name"].as_str().unwrap(), code.name());
        assert_eq!(entry["code"].as_u64().unwrap() as u32, code.as_u32());
    }
}

#[test]
fn retry_after_cases() {
    let v = vectors();
    let now = httpdate_now(v["retry_after"]["now"].as_str().unwrap());
    for case in v["retry_after"]["cases"].as_array().unwrap() {
        let got = safe_tracker::retry::parse_retry_after(case["value"].as_str().unwrap(), now);
        let want = case["seconds"].as_u64().map(Duration::from_secs);
        assert_eq!(got, want, "Retry-After {:?}", case["value"]);
    }
}

fn httpdate_now(s: &str) -> std::time::SystemTime {
    // Parse through the public API: a date `Retry-After` relative to the epoch.
    let epoch = std::time::UNIX_EPOCH;
    let d = safe_tracker::retry::parse_retry_after(s, epoch).expect("valid HTTP date");
    epoch + d
}

#[test]
fn seq_answers() {
    let v = vectors();
    for case in v["seq_answers"].as_array().unwrap() {
        let status = case["status"].as_u64().unwrap() as u16;
        let body = case["body"].as_str().unwrap().as_bytes();
        let got = decode_seq_answer(status, body);
        if case["error"].as_bool() == Some(true) {
            assert!(got.is_err(), "{case} must be an error");
        } else if case["blank"].as_bool().unwrap() {
            assert_eq!(got.unwrap(), SeqAnswer::Blank, "{case}");
        } else {
            let answer = got.unwrap();
            let several = matches!(answer, SeqAnswer::Several(_));
            let ids: Vec<Value> = answer
                .into_items()
                .iter()
                .map(|i| i.id.map_or(Value::Null, Value::from))
                .collect();
            assert_eq!(Value::Array(ids.clone()), case["ids"], "{case}");
            assert_eq!(several, ids.len() > 1, "{case}");
        }
    }
}

#[test]
fn events_and_record_keys() {
    use safe_tracker::poller::{DedupeKey, PollerEvent};
    let v = vectors();
    for case in v["events"]["cases"].as_array().unwrap() {
        let event: PollerEvent = serde_json::from_value(case.clone()).expect("an event");
        assert_eq!(serde_json::to_value(&event).unwrap(), *case);
    }
    for case in v["record_keys"]["cases"].as_array().unwrap() {
        let item: Item = serde_json::from_value(case["item"].clone()).unwrap();
        let key = DedupeKey::of(
            case["organization_id"].as_u64().unwrap(),
            case["seq"].as_u64().unwrap(),
            &item,
        );
        assert_eq!(serde_json::to_value(key).unwrap(), case["key"], "{case}");
        let back: DedupeKey = serde_json::from_value(case["key"].clone()).unwrap();
        assert_eq!(back, key);
    }
}

#[test]
fn models_round_trip() {
    let v = vectors();
    let models = &v["models"];
    for (name, list) in models.as_object().unwrap() {
        for input in list.as_array().unwrap() {
            let out = match name.as_str() {
                "item" => round_trip::<Item>(input),
                "case" => round_trip::<Case>(input),
                "new_person" => round_trip::<NewPerson>(input),
                "user" => round_trip::<User>(input),
                "form_data_entry" => round_trip::<FormDataEntry>(input),
                "person" => round_trip::<safe_tracker::models::Person>(input),
                "custody_entry" => round_trip::<safe_tracker::models::CustodyEntry>(input),
                "lookup_entry" => round_trip::<safe_tracker::models::LookupEntry>(input),
                "form" => round_trip::<safe_tracker::models::Form>(input),
                "typeahead_entry" => round_trip::<TypeaheadEntry>(input),
                other => panic!("no model for {other}"),
            };
            assert_eq!(strip_nulls(&out), strip_nulls(input), "{name} round trip");
        }
    }
    // Unknown fields land in `extra`.
    let legacy: Item = serde_json::from_value(models["item"][1].clone()).unwrap();
    assert!(legacy.extra.contains_key("someFutureField"));
}

#[test]
fn case_officers_both_forms() {
    let v = vectors();
    for c in v["case_officer_ids"].as_array().unwrap() {
        let input =
            &v["models"][c["model"].as_str().unwrap()][c["index"].as_u64().unwrap() as usize];
        let ids: Vec<i64> = match c["model"].as_str().unwrap() {
            "case" => serde_json::from_value::<Case>(input.clone())
                .unwrap()
                .officer_ids(),
            _ => serde_json::from_value::<Item>(input.clone())
                .unwrap()
                .primary_case_officer_ids_all(),
        };
        let want: Vec<i64> = serde_json::from_value(c["ids"].clone()).unwrap();
        assert_eq!(ids, want);
    }
}

#[test]
fn dates() {
    let v = vectors();
    for d in v["dates"].as_array().unwrap() {
        let parsed = SafeDateTime::parse(d["raw"].as_str().unwrap());
        assert_eq!(parsed.raw(), d["raw"].as_str().unwrap());
        let got = parsed
            .utc()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        assert_eq!(got.as_deref(), d["utc"].as_str(), "{d}");
    }
}

#[test]
fn form_data_decoding() {
    let v = vectors();
    for case in v["form_data"].as_array().unwrap() {
        let raw = case["data"].as_str().unwrap();
        let got = FormData::parse(raw);
        let lenient = FormData::lenient(raw);
        assert_eq!(lenient.raw(), raw, "raw string kept byte for byte");
        if case["error"].as_bool() == Some(true) {
            assert!(got.is_err(), "{raw} must fail");
            assert!(case["fields"].is_null());
            assert!(lenient.decoded().is_none() && lenient.error().is_some());
            // From the wire, the entry decodes with the raw text kept and the reason told.
            let entry: FormDataEntry =
                serde_json::from_value(serde_json::json!({"formId": 1, "data": raw})).unwrap();
            assert_eq!(entry.data.raw(), raw);
            assert!(entry.data.error().is_some());
            assert_eq!(serde_json::to_value(&entry).unwrap()["data"], raw);
        } else {
            let fd = got.unwrap();
            assert_eq!(fd.raw(), raw, "raw string kept");
            assert_eq!(Value::Object(fd.fields().clone()), case["fields"]);
            assert_eq!(lenient, fd);
        }
    }
    // The vendor's example entry, decoded.
    let entry: FormDataEntry =
        serde_json::from_value(v["models"]["form_data_entry"][0].clone()).unwrap();
    assert_eq!(entry.id.as_deref(), Some("5750570d1b5c6008e8e4fcec"));
    assert_eq!(entry.form_name.as_deref(), Some("Drug Form Sys Template"));
    assert_eq!(entry.data.get("field5100"), Some(&Value::Bool(true)));
}

#[test]
fn typeahead_forms() {
    let v = vectors();
    for case in v["typeahead"].as_array().unwrap() {
        let keys: Vec<&str> = case["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let body = serde_json::to_vec(&case["body"]).unwrap();
        let (list, _) = decode_list::<TypeaheadEntry>(&body, &keys).unwrap();
        let ids: Vec<i64> = list.iter().map(|e| e.id).collect();
        let want: Vec<i64> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert_eq!(ids, want);
    }
}

#[test]
fn validation_names_the_field() {
    let v = vectors();
    for case in v["validation"].as_array().unwrap() {
        let body = case["body"].clone();
        let err = match case["model"].as_str().unwrap() {
            "case" => serde_json::from_value::<Case>(body)
                .unwrap()
                .prepare_for_write(),
            "new_person" => serde_json::from_value::<NewPerson>(body)
                .unwrap()
                .prepare_for_write(),
            "user" => serde_json::from_value::<User>(body)
                .unwrap()
                .prepare_for_write(),
            other => panic!("no model {other}"),
        }
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Validation);
        match err {
            safe_tracker::Error::Validation { field, .. } => {
                assert_eq!(field.as_deref(), case["field"].as_str(), "{case}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
