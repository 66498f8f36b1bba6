//! Cases.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datetime::SafeDateTime;
use super::formdata::FormDataEntry;
use crate::error::{Error, Result};

/// A case (`GET cases/{id}`); also the body of create and update.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    /// Case id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Case number (unique).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    /// Case officer user ids (v100 form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_officer_ids: Option<Vec<i64>>,
    /// Case officer names (v100 form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_officers: Option<Vec<String>>,
    /// Case officer id (form before v100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_officer_id: Option<i64>,
    /// Case officer name (form before v100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_officer: Option<String>,
    /// Offense type id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offense_type_id: Option<i64>,
    /// Offense type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offense_type: Option<String>,
    /// Offense description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offense_description: Option<String>,
    /// Offense location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offense_location: Option<String>,
    /// Offense date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offense_date: Option<SafeDateTime>,
    /// Follow-up date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_date: Option<SafeDateTime>,
    /// Whether the case is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Office id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_id: Option<i64>,
    /// Office name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_name: Option<String>,
    /// Creator's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_id: Option<i64>,
    /// Creator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<SafeDateTime>,
    /// Organisation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    /// Organisation name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    /// Item ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Value>>,
    /// Custom form data (send `[]`, never null, on update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_data: Option<Vec<FormDataEntry>>,
    /// Tags (send `[]` when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Value>>,
    /// When it was closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_date: Option<SafeDateTime>,
    /// Review date (auto-disposition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_date: Option<SafeDateTime>,
    /// Review date notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_date_notes: Option<String>,
    /// Check-in in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in_progress: Option<bool>,
    /// Whether the case is restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_restricted: Option<bool>,
    /// Whether the caller may not see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_forbidden: Option<bool>,
    /// Fields this SDK does not know, kept and written back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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
