//! People, their addresses, and the `{person, address}` create body.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datetime::SafeDateTime;
use super::formdata::FormDataEntry;
use crate::error::{Error, Result};

/// A person (`GET people/{id}`, the people of a case); also the `person` of a create body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// Person id (0 when creating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// Organisation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    /// Linked user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// Business name (instead of first + last name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Driver's licence (British spelling, used for duplicate detection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_licence: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Other phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_phone: Option<String>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<SafeDateTime>,
    /// Race id (§7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub race_id: Option<i64>,
    /// Race.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub race: Option<String>,
    /// Gender id (§7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender_id: Option<i64>,
    /// Gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Deceased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased: Option<bool>,
    /// Juvenile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub juvenile: Option<bool>,
    /// Active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Person type id (when added to a case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_type_id: Option<i64>,
    /// Person type (in a case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_type: Option<String>,
    /// Custom form data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_data: Option<Vec<FormDataEntry>>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<Value>>,
    /// Addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<Value>>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub displayed_name: Option<String>,
    /// Default address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_address: Option<Value>,
    /// Whether the caller may not see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_forbidden: Option<bool>,
    /// Fields this SDK does not know, kept and written back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An address, the optional `address` of a person create body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Placeholder (ignored by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Placeholder (ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<SafeDateTime>,
    /// Placeholder (ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<i64>,
    /// Line 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    /// Line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ZIP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Address type id (required when an address is sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type_id: Option<i64>,
    /// State id (a number, or `""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_id: Option<Value>,
    /// Country id (231 = United States).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_id: Option<i64>,
    /// Whether this is the default address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default_address: Option<bool>,
    /// Fields this SDK does not know, kept and written back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `POST people`: `{ "person": {...}, "address": {...} }`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewPerson {
    /// The person.
    pub person: Person,
    /// An optional address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl Person {
    /// Checks the documented required fields (safe-api.md §5.3); `deceased` and `juvenile`
    /// default to false ("false if unknown").
    pub fn prepare_for_write(&mut self) -> Result<()> {
        let has = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        let named = has(&self.first_name) && has(&self.last_name);
        if !named && !has(&self.business_name) {
            return Err(Error::validation(
                "firstName",
                "a first and last name, or a business name, is required",
            ));
        }
        if self.race_id.is_none() {
            return Err(Error::validation("raceId", "a race id is required"));
        }
        if self.gender_id.is_none() {
            return Err(Error::validation("genderId", "a gender id is required"));
        }
        if self.active.is_none() {
            return Err(Error::validation("active", "`active` is required"));
        }
        self.deceased.get_or_insert(false);
        self.juvenile.get_or_insert(false);
        Ok(())
    }
}

impl NewPerson {
    /// Validates a create: `person.id` must be 0 (it is set to 0 when absent) and an address,
    /// when sent, needs an address type.
    pub fn prepare_for_write(&mut self) -> Result<()> {
        match self.person.id {
            None => self.person.id = Some(0),
            Some(0) => {}
            Some(_) => return Err(Error::validation("person.id", "must be 0 when creating")),
        }
        self.person.prepare_for_write()?;
        if let Some(a) = &self.address
            && a.address_type_id.is_none()
        {
            return Err(Error::validation(
                "address.addressTypeId",
                "an address type id is required when an address is sent",
            ));
        }
        Ok(())
    }
}
