//! Evidence items and the "blank or no response" of the item-by-number endpoint.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datetime::SafeDateTime;
use super::formdata::FormDataEntry;

/// An evidence item (`GET items/{id}`, `GET items/seqOrgID/{n}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Database id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Legacy SQL id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_id: Option<i64>,
    /// The org-wide sequential number the poller follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential_org_id: Option<i64>,
    /// Counter within the primary case (a string: "1", "2"…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential_case_id: Option<String>,
    /// `{section, nested}` form of the case counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential_case_id_nested: Option<Value>,
    /// Barcode (a GUID string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was recovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_date: Option<SafeDateTime>,
    /// Where it was recovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_location: Option<String>,
    /// Latitude (number or null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_location_latitude: Option<Value>,
    /// Longitude (number or null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_location_longitude: Option<Value>,
    /// True when checked in or out; false when disposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Storage location id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<i64>,
    /// Storage location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Full storage location path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_location: Option<String>,
    /// Previous location id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_location_id: Option<i64>,
    /// Previous location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_location: Option<String>,
    /// Status id (1 Checked In, 2 Checked Out…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_id: Option<i64>,
    /// Status name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Category id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<i64>,
    /// Category name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Custody reason id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody_reason_id: Option<i64>,
    /// Custody reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody_reason: Option<String>,
    /// Who recovered it (id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_by_id: Option<i64>,
    /// Who recovered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_by: Option<String>,
    /// Who submitted it (id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_by_id: Option<i64>,
    /// Who submitted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
    /// Custodian id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodian_id: Option<i64>,
    /// Custodian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodian: Option<String>,
    /// Current office id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_office_id: Option<i64>,
    /// Current office name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_office_name: Option<String>,
    /// The owning case's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_case_id: Option<i64>,
    /// The owning case's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_case_number: Option<String>,
    /// Case officer ids (v100 form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_case_officer_ids: Option<Vec<i64>>,
    /// Case officer names (v100 form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_case_officers: Option<Vec<String>>,
    /// Case officer id (form before v100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_case_officer_id: Option<i64>,
    /// Case officer name (form before v100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_case_officer: Option<String>,
    /// Offense type id of the primary case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_case_offense_type_id: Option<i64>,
    /// Offense type of the primary case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_case_offense_type: Option<String>,
    /// Whether the primary case is restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_primary_case_restricted: Option<bool>,
    /// Make.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    /// Model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Organisation that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating_org_id: Option<i64>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<SafeDateTime>,
    /// When it was last changed (where the server says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_date: Option<SafeDateTime>,
    /// Loaning organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaning_org_id: Option<i64>,
    /// Incoming organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_org_id: Option<i64>,
    /// Case ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<Vec<Value>>,
    /// Inline form data, when the server includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_data: Option<Vec<FormDataEntry>>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Value>>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<Value>>,
    /// Linked people ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people_ids: Option<Vec<i64>>,
    /// Parent item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_item_id: Option<i64>,
    /// Child items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_items: Option<Vec<Value>>,
    /// Fields this SDK does not know, kept and written back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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
    /// An item.
    Item(Box<Item>),
    /// "Blank or no response": no item holds the number (yet).
    Blank,
}

/// Decodes the answer of `GET items/seqOrgID/{n}`. The "no item" form is undocumented, so
/// 204, 404, an empty body, `null`, `[]` and `{}` all mean [`SeqAnswer::Blank`]; an object or a
/// one-element array is the item. Anything else is an error message.
pub fn decode_seq_answer(status: u16, body: &[u8]) -> Result<SeqAnswer, String> {
    if status == 204 || status == 404 || body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(SeqAnswer::Blank);
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let object = match value {
        Value::Null => return Ok(SeqAnswer::Blank),
        Value::Array(mut a) => match a.len() {
            0 => return Ok(SeqAnswer::Blank),
            1 => a.pop().expect("one element"),
            n => return Err(format!("expected one item, the answer holds {n}")),
        },
        other => other,
    };
    match object {
        Value::Object(ref m) if m.is_empty() => Ok(SeqAnswer::Blank),
        Value::Null => Ok(SeqAnswer::Blank),
        Value::Object(_) => serde_json::from_value::<Item>(object)
            .map(|i| SeqAnswer::Item(Box::new(i)))
            .map_err(|e| format!("the item does not match the model: {e}")),
        _ => Err("expected an item object".into()),
    }
}
