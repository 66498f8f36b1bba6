//! Evidence items and the "blank or no response" of the item-by-number endpoint.

use serde_json::Value;

use super::wire::wire_model;

use super::datetime::SafeDateTime;
use super::formdata::FormDataEntry;

wire_model! {
    /// An evidence item (`GET items/{id}`, `GET items/seqOrgID/{n}`).
    pub struct Item {
        /// Database id.
        pub id: Option<i64> = "id",
        /// Legacy SQL id.
        pub sql_id: Option<i64> = "sqlId",
        /// The org-wide sequential number the poller follows.
        pub sequential_org_id: Option<i64> = "sequentialOrgId",
        /// Counter within the primary case (a string: "1", "2"…).
        pub sequential_case_id: Option<String> = "sequentialCaseId",
        /// `{section, nested}` form of the case counter.
        pub sequential_case_id_nested: Option<Value> = "sequentialCaseIdNested",
        /// Barcode (a GUID string).
        pub barcode: Option<String> = "barcode",
        /// Description.
        pub description: Option<String> = "description",
        /// When it was recovered.
        pub recovery_date: Option<SafeDateTime> = "recoveryDate",
        /// Where it was recovered.
        pub recovery_location: Option<String> = "recoveryLocation",
        /// Latitude (number or null).
        pub recovery_location_latitude: Option<Value> = "recoveryLocationLatitude",
        /// Longitude (number or null).
        pub recovery_location_longitude: Option<Value> = "recoveryLocationLongitude",
        /// True when checked in or out; false when disposed.
        pub active: Option<bool> = "active",
        /// Storage location id.
        pub location_id: Option<i64> = "locationId",
        /// Storage location.
        pub location: Option<String> = "location",
        /// Full storage location path.
        pub full_location: Option<String> = "fullLocation",
        /// Previous location id.
        pub last_location_id: Option<i64> = "lastLocationId",
        /// Previous location.
        pub last_location: Option<String> = "lastLocation",
        /// Status id (1 Checked In, 2 Checked Out…).
        pub status_id: Option<i64> = "statusId",
        /// Status name.
        pub status: Option<String> = "status",
        /// Category id.
        pub category_id: Option<i64> = "categoryId",
        /// Category name.
        pub category: Option<String> = "category",
        /// Custody reason id.
        pub custody_reason_id: Option<i64> = "custodyReasonId",
        /// Custody reason.
        pub custody_reason: Option<String> = "custodyReason",
        /// Who recovered it (id).
        pub recovered_by_id: Option<i64> = "recoveredById",
        /// Who recovered it.
        pub recovered_by: Option<String> = "recoveredBy",
        /// Who submitted it (id).
        pub submitted_by_id: Option<i64> = "submittedById",
        /// Who submitted it.
        pub submitted_by: Option<String> = "submittedBy",
        /// Custodian id.
        pub custodian_id: Option<i64> = "custodianId",
        /// Custodian.
        pub custodian: Option<String> = "custodian",
        /// Current office id.
        pub current_office_id: Option<i64> = "currentOfficeId",
        /// Current office name.
        pub current_office_name: Option<String> = "currentOfficeName",
        /// The owning case's id.
        pub primary_case_id: Option<i64> = "primaryCaseId",
        /// The owning case's number.
        pub primary_case_number: Option<String> = "primaryCaseNumber",
        /// Case officer ids (v100 form).
        pub primary_case_officer_ids: Option<Vec<i64>> = "primaryCaseOfficerIds",
        /// Case officer names (v100 form).
        pub primary_case_officers: Option<Vec<String>> = "primaryCaseOfficers",
        /// Case officer id (form before v100).
        pub primary_case_officer_id: Option<i64> = "primaryCaseOfficerId",
        /// Case officer name (form before v100).
        pub primary_case_officer: Option<String> = "primaryCaseOfficer",
        /// Offense type id of the primary case.
        pub primary_case_offense_type_id: Option<i64> = "primaryCaseOffenseTypeId",
        /// Offense type of the primary case.
        pub primary_case_offense_type: Option<String> = "primaryCaseOffenseType",
        /// Whether the primary case is restricted.
        pub is_primary_case_restricted: Option<bool> = "isPrimaryCaseRestricted",
        /// Make.
        pub make: Option<String> = "make",
        /// Model.
        pub model: Option<String> = "model",
        /// Serial number.
        pub serial_number: Option<String> = "serialNumber",
        /// Organisation that created it.
        pub creating_org_id: Option<i64> = "creatingOrgId",
        /// When it was created.
        pub date_created: Option<SafeDateTime> = "dateCreated",
        /// When it was last changed (where the server says).
        pub updated_date: Option<SafeDateTime> = "updatedDate",
        /// Loaning organisation.
        pub loaning_org_id: Option<i64> = "loaningOrgId",
        /// Incoming organisation.
        pub incoming_org_id: Option<i64> = "incomingOrgId",
        /// Case ids.
        pub cases: Option<Vec<Value>> = "cases",
        /// Inline form data, when the server includes it.
        pub form_data: Option<Vec<FormDataEntry>> = "formData",
        /// Tags.
        pub tags: Option<Vec<Value>> = "tags",
        /// Notes.
        pub notes: Option<Vec<Value>> = "notes",
        /// Linked people ids.
        pub people_ids: Option<Vec<i64>> = "peopleIds",
        /// Parent item id.
        pub parent_item_id: Option<i64> = "parentItemId",
        /// Child items.
        pub child_items: Option<Vec<Value>> = "childItems",
    }
}

impl Item {
    /// The case officer ids, from the v100 array or the older scalar.
    pub fn primary_case_officer_ids_all(&self) -> Vec<i64> {
        match (&self.primary_case_officer_ids, self.primary_case_officer_id) {
            (Some(ids), _) if !ids.is_empty() => ids.clone(),
            (_, Some(id)) => vec![id],
            _ => Vec::new(),
        }
    }
}

/// What the item-by-number endpoint answered.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqAnswer {
    /// One item (the usual answer).
    Item(Box<Item>),
    /// Several items hold the number (an admin reused or duplicated it, safe-api.md §4.5), in
    /// ascending `id` order; items without an `id` follow in the order the server sent them.
    Several(Vec<Item>),
    /// "Blank or no response": no item holds the number (yet).
    Blank,
}

impl SeqAnswer {
    /// Every item of the answer, in delivery order (ascending `id`); empty for a blank.
    pub fn into_items(self) -> Vec<Item> {
        match self {
            SeqAnswer::Item(item) => vec![*item],
            SeqAnswer::Several(items) => items,
            SeqAnswer::Blank => Vec::new(),
        }
    }
}

/// Decodes the answer of `GET items/seqOrgID/{n}`. The "no item" form is undocumented, so
/// 204, 404, an empty body, `null`, `[]` and `{}` all mean [`SeqAnswer::Blank`]; an object is
/// the item. An array holds the items of the number: `null` and `{}` elements stand for "no
/// item" and are dropped, an element repeating an `id` already seen is dropped (it is the same
/// item), and what is left is one item, several, or a blank. Any other shape is an error
/// message.
///
/// An object (the usual answer) is decoded in one pass straight into [`Item`]; the rarer forms
/// go through a generic JSON value first.
pub fn decode_seq_answer(status: u16, body: &[u8]) -> Result<SeqAnswer, String> {
    let mut rest = body.iter().skip_while(|b| b.is_ascii_whitespace());
    let first = rest.next();
    if status == 204 || status == 404 || first.is_none() {
        return Ok(SeqAnswer::Blank);
    }
    if first == Some(&b'{') {
        if rest.find(|b| !b.is_ascii_whitespace()) == Some(&b'}') {
            // `{}` (the closing brace may only be followed by whitespace, checked below).
            return decode_value(body);
        }
        return serde_json::from_slice::<Item>(body)
            .map(|item| SeqAnswer::Item(Box::new(item)))
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => {
                    format!("the item does not match the model: {e}")
                }
                _ => format!("the answer is not JSON: {e}"),
            });
    }
    decode_value(body)
}

/// The general path of [`decode_seq_answer`], for arrays, `null`, `{}` and the wrong shapes.
fn decode_value(body: &[u8]) -> Result<SeqAnswer, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let elements = match value {
        Value::Array(a) => a,
        Value::Null => return Ok(SeqAnswer::Blank),
        Value::Object(ref m) if m.is_empty() => return Ok(SeqAnswer::Blank),
        object @ Value::Object(_) => vec![object],
        _ => return Err("expected an item object".into()),
    };
    // Named in an error, so that stepping over a number that cannot be read says which items
    // it held.
    let held = |i: usize| {
        let ids: Vec<String> = elements
            .iter()
            .filter_map(|e| e.get("id"))
            .map(Value::to_string)
            .collect();
        format!(
            "element {i} of {} holding ids [{}]",
            elements.len(),
            ids.join(", ")
        )
    };
    let mut items: Vec<Item> = Vec::with_capacity(elements.len());
    for (i, element) in elements.iter().enumerate() {
        match element {
            Value::Null => {}
            Value::Object(m) if m.is_empty() => {}
            Value::Object(_) => {
                let item = serde_json::from_value::<Item>(element.clone())
                    .map_err(|e| format!("the item does not match the model ({}): {e}", held(i)))?;
                if item.id.is_none() || !items.iter().any(|seen| seen.id == item.id) {
                    items.push(item);
                }
            }
            _ => return Err(format!("expected an item object ({})", held(i))),
        }
    }
    // Ascending id; items without an id keep the server's order after the others.
    items.sort_by_key(|item| (item.id.is_none(), item.id));
    Ok(match items.len() {
        0 => SeqAnswer::Blank,
        1 => SeqAnswer::Item(Box::new(items.pop().expect("one item"))),
        _ => SeqAnswer::Several(items),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_typed_field_is_decoded_into_its_slot() {
        let object: serde_json::Map<String, Value> = Item::WIRE_NAMES
            .iter()
            .map(|name| ((*name).to_owned(), Value::Null))
            .chain([("brandNew".to_owned(), Value::from(7))])
            .collect();
        let item: Item = serde_json::from_value(Value::Object(object)).expect("decodes");
        assert_eq!(item.extra.len(), 1, "only the unknown name lands in extra");
        assert_eq!(item.extra["brandNew"], 7);
    }

    #[test]
    fn one_pass_and_generic_paths_agree() {
        let body = br#"{"id":5,"sequentialOrgId":9,"description":"a \"quoted\" text","newThing":{"a":[1,2]},"cases":[1],"recoveryDate":"2024-01-02T03:04:05Z"}"#;
        let fast = decode_seq_answer(200, body).expect("decodes");
        let mut wrapped = b"[".to_vec();
        wrapped.extend_from_slice(body);
        wrapped.push(b']');
        let slow = decode_seq_answer(200, &wrapped).expect("decodes");
        assert_eq!(fast, slow);
        let SeqAnswer::Item(item) = fast else {
            panic!("an item")
        };
        assert_eq!(item.description.as_deref(), Some("a \"quoted\" text"));
        assert_eq!(item.extra["newThing"]["a"][1], 2);
        assert_eq!(
            decode_seq_answer(200, b" { } ").expect("blank"),
            SeqAnswer::Blank
        );
        assert!(decode_seq_answer(200, b"{} x").is_err());
        let several = decode_seq_answer(200, br#"[{"id":9},null,{},{"id":4},{"id":9},{"x":1}]"#)
            .expect("several")
            .into_items();
        let ids: Vec<Option<i64>> = several.iter().map(|i| i.id).collect();
        assert_eq!(
            ids,
            [Some(4), Some(9), None],
            "sorted, nulls and the repeat dropped"
        );
        assert_eq!(
            decode_seq_answer(200, b"[null, {}]").expect("blank"),
            SeqAnswer::Blank
        );
        let bad = decode_seq_answer(200, br#"[{"id":1}, 7, {"id":"x"}]"#).unwrap_err();
        assert!(
            bad.contains("element 1 of 3 holding ids [1, \"x\"]"),
            "{bad}"
        );
        assert!(
            decode_seq_answer(200, br#"{"id":"x"}"#)
                .expect_err("a string id")
                .contains("does not match")
        );
        assert!(
            decode_seq_answer(200, br#"{"id":1"#)
                .expect_err("truncated")
                .contains("not JSON")
        );
    }
}
