//! Cases.

use serde_json::Value;

use super::wire::wire_model;

use super::datetime::SafeDateTime;
use super::formdata::FormDataEntry;
use crate::error::{Error, Result};

wire_model! {
    /// A case (`GET cases/{id}`); also the body of create and update.
    pub struct Case {
        /// Case id.
        pub id: Option<i64> = "id",
        /// Case number (unique).
        pub case_number: Option<String> = "caseNumber",
        /// Case officer user ids (v100 form).
        pub case_officer_ids: Option<Vec<i64>> = "caseOfficerIds",
        /// Case officer names (v100 form).
        pub case_officers: Option<Vec<String>> = "caseOfficers",
        /// Case officer id (form before v100).
        pub case_officer_id: Option<i64> = "caseOfficerId",
        /// Case officer name (form before v100).
        pub case_officer: Option<String> = "caseOfficer",
        /// Offense type id.
        pub offense_type_id: Option<i64> = "offenseTypeId",
        /// Offense type.
        pub offense_type: Option<String> = "offenseType",
        /// Offense description.
        pub offense_description: Option<String> = "offenseDescription",
        /// Offense location.
        pub offense_location: Option<String> = "offenseLocation",
        /// Offense date.
        pub offense_date: Option<SafeDateTime> = "offenseDate",
        /// Follow-up date.
        pub follow_up_date: Option<SafeDateTime> = "followUpDate",
        /// Whether the case is active.
        pub active: Option<bool> = "active",
        /// Office id.
        pub office_id: Option<i64> = "officeId",
        /// Office name.
        pub office_name: Option<String> = "officeName",
        /// Creator's user id.
        pub creator_id: Option<i64> = "creatorId",
        /// Creator.
        pub creator: Option<String> = "creator",
        /// When it was created.
        pub created_date: Option<SafeDateTime> = "createdDate",
        /// Organisation id.
        pub organization_id: Option<i64> = "organizationId",
        /// Organisation name.
        pub organization_name: Option<String> = "organizationName",
        /// Item ids.
        pub items: Option<Vec<Value>> = "items",
        /// Custom form data (send `[]`, never null, on update).
        pub form_data: Option<Vec<FormDataEntry>> = "formData",
        /// Tags (send `[]` when none).
        pub tags: Option<Vec<Value>> = "tags",
        /// When it was closed.
        pub closed_date: Option<SafeDateTime> = "closedDate",
        /// Review date (auto-disposition).
        pub review_date: Option<SafeDateTime> = "reviewDate",
        /// Review date notes.
        pub review_date_notes: Option<String> = "reviewDateNotes",
        /// Check-in in progress.
        pub check_in_progress: Option<bool> = "checkInProgress",
        /// Whether the case is restricted.
        pub is_restricted: Option<bool> = "isRestricted",
        /// Whether the caller may not see it.
        pub is_forbidden: Option<bool> = "isForbidden",
    }
}

impl Case {
    /// The case officer ids, from the v100 array or the older scalar.
    pub fn officer_ids(&self) -> Vec<i64> {
        match (&self.case_officer_ids, self.case_officer_id) {
            (Some(ids), _) if !ids.is_empty() => ids.clone(),
            (_, Some(id)) => vec![id],
            _ => Vec::new(),
        }
    }

    /// Checks the documented required fields of a create or update (safe-api.md §5.2), and
    /// fills `formData` and `tags` with `[]` when absent, as the vendor asks.
    pub fn prepare_for_write(&mut self) -> Result<()> {
        if self
            .case_number
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(Error::validation("caseNumber", "a case number is required"));
        }
        if self.officer_ids().is_empty() {
            return Err(Error::validation(
                "caseOfficerIds",
                "at least one case officer id is required",
            ));
        }
        if self.offense_type_id.is_none() {
            return Err(Error::validation(
                "offenseTypeId",
                "an offense type id is required",
            ));
        }
        if self.active.is_none() {
            return Err(Error::validation("active", "`active` is required"));
        }
        self.form_data.get_or_insert_with(Vec::new);
        self.tags.get_or_insert_with(Vec::new);
        Ok(())
    }
}
