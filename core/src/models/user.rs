//! User accounts.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A user account (`GET users/{id}`); also the body of create and update.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// Linked person id (not the user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<i64>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Organisation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    /// Office id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_id: Option<i64>,
    /// E-mail (unique system-wide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Other phone (lower-case p on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otherphone: Option<String>,
    /// Active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Disable e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_disable: Option<bool>,
    /// Permission groups (send `[]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Value>>,
    /// Person form data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_form_data: Option<Vec<Value>>,
    /// Fields this SDK does not know, kept and written back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl User {
    /// Checks the documented required fields of a create (safe-api.md §5.1); `groups` and
    /// `personFormData` default to `[]`.
    pub fn prepare_for_write(&mut self) -> Result<()> {
        let has = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !has(&self.first_name) {
            return Err(Error::validation("firstName", "a first name is required"));
        }
        if !has(&self.last_name) {
            return Err(Error::validation("lastName", "a last name is required"));
        }
        if !self.email.as_deref().is_some_and(|e| e.contains('@')) {
            return Err(Error::validation(
                "email",
                "a valid e-mail address is required",
            ));
        }
        if self.organization_id.is_none() {
            return Err(Error::validation(
                "organizationId",
                "an organization id is required",
            ));
        }
        if self.office_id.is_none() {
            return Err(Error::validation("officeId", "an office id is required"));
        }
        if self.active.is_none() {
            return Err(Error::validation("active", "`active` is required"));
        }
        self.groups.get_or_insert_with(Vec::new);
        self.person_form_data.get_or_insert_with(Vec::new);
        Ok(())
    }
}
