//! People, their addresses, and the `{person, address}` create body.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::wire_model;

use super::datetime::SafeDateTime;
use super::formdata::FormDataEntry;
use crate::error::{Error, Result};

wire_model! {
    /// A person (`GET people/{id}`, the people of a case); also the `person` of a create body.
    pub struct Person {
        /// Person id (0 when creating).
        pub id: Option<i64> = "id",
        /// GUID.
        pub guid: Option<String> = "guid",
        /// Organisation id.
        pub organization_id: Option<i64> = "organizationId",
        /// Linked user id.
        pub user_id: Option<i64> = "userId",
        /// Business name (instead of first + last name).
        pub business_name: Option<String> = "businessName",
        /// Full name.
        pub name: Option<String> = "name",
        /// First name.
        pub first_name: Option<String> = "firstName",
        /// Middle name.
        pub middle_name: Option<String> = "middleName",
        /// Last name.
        pub last_name: Option<String> = "lastName",
        /// Alias.
        pub alias: Option<String> = "alias",
        /// Driver's licence (British spelling, used for duplicate detection).
        pub driver_licence: Option<String> = "driverLicence",
        /// Mobile phone.
        pub mobile_phone: Option<String> = "mobilePhone",
        /// Other phone.
        pub other_phone: Option<String> = "otherPhone",
        /// E-mail.
        pub email: Option<String> = "email",
        /// Date of birth.
        pub dob: Option<SafeDateTime> = "dob",
        /// Race id (§7).
        pub race_id: Option<i64> = "raceId",
        /// Race.
        pub race: Option<String> = "race",
        /// Gender id (§7).
        pub gender_id: Option<i64> = "genderId",
        /// Gender.
        pub gender: Option<String> = "gender",
        /// Deceased.
        pub deceased: Option<bool> = "deceased",
        /// Juvenile.
        pub juvenile: Option<bool> = "juvenile",
        /// Active.
        pub active: Option<bool> = "active",
        /// Person type id (when added to a case).
        pub person_type_id: Option<i64> = "personTypeId",
        /// Person type (in a case).
        pub person_type: Option<String> = "personType",
        /// Custom form data.
        pub form_data: Option<Vec<FormDataEntry>> = "formData",
        /// Notes.
        pub notes: Option<Vec<Value>> = "notes",
        /// Addresses.
        pub addresses: Option<Vec<Value>> = "addresses",
        /// Display name.
        pub displayed_name: Option<String> = "displayedName",
        /// Default address.
        pub default_address: Option<Value> = "defaultAddress",
        /// Whether the caller may not see it.
        pub is_forbidden: Option<bool> = "isForbidden",
    }
}

wire_model! {
    /// An address, the optional `address` of a person create body.
    pub struct Address {
        /// Placeholder (ignored by the server).
        pub id: Option<i64> = "id",
        /// Placeholder (ignored).
        pub date: Option<SafeDateTime> = "date",
        /// Placeholder (ignored).
        pub entity_id: Option<i64> = "entityId",
        /// Line 1.
        pub line1: Option<String> = "line1",
        /// Line 2.
        pub line2: Option<String> = "line2",
        /// City.
        pub city: Option<String> = "city",
        /// ZIP code.
        pub zip: Option<String> = "zip",
        /// Address type id (required when an address is sent).
        pub address_type_id: Option<i64> = "addressTypeId",
        /// State id (a number, or `""`).
        pub state_id: Option<Value> = "stateId",
        /// Country id (231 = United States).
        pub country_id: Option<i64> = "countryId",
        /// Whether this is the default address.
        pub is_default_address: Option<bool> = "isDefaultAddress",
    }
}

/// The body of `POST people`: `{ "person": {...}, "address": {...} }`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
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
