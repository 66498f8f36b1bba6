//! The search request format (safe-api.md §6) and paged search answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datetime::SafeDateTime;

/// Search criterion ids used by the SDK.
pub mod criteria {
    /// Number: equals.
    pub const EQUALS: i64 = 0;
    /// Date: after.
    pub const DATE_AFTER: i64 = 7;
    /// Number: greater than.
    pub const GREATER_THAN: i64 = 15;
}

/// One static search field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaticField {
    /// Field label, e.g. `ITEM_SEQUENTIAL_ORG_ID`.
    pub name: String,
    /// Field kind: 2 date, 5 multi-select, 7 office, 8 number.
    pub type_id: i64,
    /// The model field, e.g. `SequentialOrgId`.
    pub field_name: String,
    /// Criteria group (4 for numbers in the vendor's example).
    pub search_criterias_type: i64,
    /// The criterion id (see [`criteria`]).
    pub search_criteria: i64,
    /// The value compared with.
    pub model: Value,
    /// Upper bound for "between" criteria.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_date: Option<Value>,
}

/// The body of `POST items/search` (and the other searches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchRequest {
    /// Criteria.
    #[serde(rename = "StaticFields")]
    pub static_fields: Vec<StaticField>,
    /// Offices searched.
    #[serde(rename = "OfficeIds")]
    pub office_ids: Vec<u64>,
    /// Page size.
    #[serde(rename = "PageSize")]
    pub page_size: u32,
    /// Page number, from 1.
    #[serde(rename = "PageNumber")]
    pub page_number: u32,
    /// Sort field.
    #[serde(rename = "orderBy", default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    /// Ascending sort.
    #[serde(
        rename = "orderByAsc",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub order_by_asc: Option<bool>,
}

impl SearchRequest {
    /// Items whose `SequentialOrgId` is greater than `seq`, ascending (the stall probe).
    pub fn seq_greater_than(seq: u64, office_ids: Vec<u64>, page_size: u32) -> SearchRequest {
        SearchRequest {
            static_fields: vec![StaticField {
                name: "ITEM_SEQUENTIAL_ORG_ID".into(),
                type_id: 8,
                field_name: "SequentialOrgId".into(),
                search_criterias_type: 4,
                search_criteria: criteria::GREATER_THAN,
                model: Value::from(seq),
                to_date: None,
            }],
            office_ids,
            page_size,
            page_number: 1,
            order_by: Some("SequentialOrgId".into()),
            order_by_asc: Some(true),
        }
    }

    /// Items whose `field` (a date) is after `since`, oldest change first (the updated-items
    /// feed; the field name is configurable because the real one is not public).
    pub fn updated_since(
        field: &str,
        since: &SafeDateTime,
        office_ids: Vec<u64>,
        page_size: u32,
        page_number: u32,
    ) -> SearchRequest {
        SearchRequest {
            static_fields: vec![StaticField {
                name: "ITEM_UPDATED_DATE".into(),
                type_id: 2,
                field_name: field.into(),
                search_criterias_type: 2,
                search_criteria: criteria::DATE_AFTER,
                model: Value::from(since.raw()),
                to_date: None,
            }],
            office_ids,
            page_size,
            page_number,
            order_by: Some(field.into()),
            order_by_asc: Some(true),
        }
    }
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchPage<T> {
    /// The entities of this page.
    pub entities: Vec<T>,
    /// The total count, when the server gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Other fields of the answer.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
