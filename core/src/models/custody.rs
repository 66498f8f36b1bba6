//! Chain-of-custody entries (`GET items/{id}/coc`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datetime::SafeDateTime;

/// One chain-of-custody entry. The real shape is not public: known names are typed, everything else is in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustodyEntry {
    /// Entry id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<i64>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<SafeDateTime>,
    /// What happened (check in, out, transfer…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Transaction type, where the server names it so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
    /// From whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_user: Option<String>,
    /// To whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_user: Option<String>,
    /// Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Fields this SDK does not know, kept and written back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
