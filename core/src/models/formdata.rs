//! Custom form data: entries whose `data` is a JSON object serialised into a string
//! (safe-api.md §4.4, §5.5). [`FormData`] decodes it once and keeps the raw string; a `data`
//! that does not decode is kept raw with the reason, never refused or dropped.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The `data` of a form-data entry: the raw string as sent, and its decoded fields. Decoding
/// from the wire is lenient: a `data` that is not a JSON object keeps its raw text byte for
/// byte, has no decoded fields ([`FormData::decoded`] is `None`) and says why
/// ([`FormData::error`]), so one corrupt form cannot stop a poller.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormData {
    raw: String,
    fields: Map<String, Value>,
    error: Option<String>,
}

impl FormData {
    /// Decodes `raw`, which must hold a JSON object (or be empty / `null`, for no fields).
    pub fn parse(raw: impl Into<String>) -> Result<FormData, String> {
        let raw = raw.into();
        let trimmed = raw.trim();
        let fields = if trimmed.is_empty() || trimmed == "null" {
            Map::new()
        } else {
            match serde_json::from_str::<Value>(trimmed) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err("form data `data` is not a JSON object".into()),
                Err(e) => return Err(format!("form data `data` is not valid JSON: {e}")),
            }
        };
        Ok(FormData {
            raw,
            fields,
            error: None,
        })
    }

    /// Decodes `raw` like [`FormData::parse`], but keeps a `raw` that does not decode, with
    /// the reason in [`FormData::error`] (how answers from the server are read).
    pub fn lenient(raw: impl Into<String>) -> FormData {
        let raw = raw.into();
        match FormData::parse(raw.as_str()) {
            Ok(data) => data,
            Err(error) => FormData {
                raw,
                fields: Map::new(),
                error: Some(error),
            },
        }
    }

    /// Builds form data from fields (the raw string is their compact JSON).
    pub fn from_fields(fields: Map<String, Value>) -> FormData {
        let raw = Value::Object(fields.clone()).to_string();
        FormData {
            raw,
            fields,
            error: None,
        }
    }

    /// The decoded fields, or `None` when `data` did not decode.
    pub fn decoded(&self) -> Option<&Map<String, Value>> {
        self.error.is_none().then_some(&self.fields)
    }

    /// Why `data` did not decode, when it did not.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The string exactly as the server sent it.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The decoded fields, keyed by field name (`field2849`…); empty when `data` did not
    /// decode.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// One field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
}

impl Serialize for FormData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for FormData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Option::<String>::deserialize(d)?.unwrap_or_default();
        Ok(FormData::lenient(raw))
    }
}

impl schemars::JsonSchema for FormData {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FormData".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        "safe_tracker::models::FormData".into()
    }

    /// A string; `x-safe-type: form-data` says it holds a JSON object serialised into a
    /// string, decoded when it decodes and always kept raw.
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "x-safe-type": "form-data",
            "description": "A form's values: a JSON object serialised into a string. The raw \
                string is kept byte for byte; the decoded fields are there when it decodes (a \
                `data` that is not a JSON object is kept raw with the reason, never refused)."
        })
    }
}

/// One custom form attached to an entity (the "formdata controller" answer, and the `formData`
/// of cases, items and people).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FormDataEntry {
    /// Entry id (a 24-hex-digit string on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether the entry is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The owning entity's id (a number, or a string when editing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<Value>,
    /// The form definition id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_id: Option<i64>,
    /// The form's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_name: Option<String>,
    /// Which keys of `data` hold dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_fields: Option<Vec<String>>,
    /// The form's values (decoded, raw kept).
    #[serde(default)]
    pub data: FormData,
    /// Organisation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    /// Office id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_id: Option<i64>,
    /// Visibility id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_id: Option<i64>,
    /// Fields this SDK does not know, kept and written back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A form definition from `GET forms?formType=…`; `schema` is a JSON string.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Form {
    /// Form id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Form name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The schema, a JSON string holding `{"fields":[…]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Form {
    /// The decoded schema's `fields`, when the schema is valid JSON.
    pub fn schema_fields(&self) -> Option<Vec<Value>> {
        let v: Value = serde_json::from_str(self.schema.as_deref()?).ok()?;
        v.get("fields")?.as_array().cloned()
    }
}
