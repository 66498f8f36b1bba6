//! Chain-of-custody entries (`GET items/{id}/coc`).

use serde_json::Value;

use super::wire::wire_model;

use super::datetime::SafeDateTime;

wire_model! {
    /// One chain-of-custody entry. The real shape is not public: known names are typed, everything else is in `extra`.
    pub struct CustodyEntry {
        /// Entry id.
        pub id: Option<Value> = "id",
        /// Item id.
        pub item_id: Option<i64> = "itemId",
        /// When it happened.
        pub date: Option<SafeDateTime> = "date",
        /// What happened (check in, out, transfer…).
        pub action: Option<String> = "action",
        /// Transaction type, where the server names it so.
        pub transaction_type: Option<String> = "transactionType",
        /// From whom.
        pub from_user: Option<String> = "fromUser",
        /// To whom.
        pub to_user: Option<String> = "toUser",
        /// Location.
        pub location: Option<String> = "location",
        /// Notes.
        pub notes: Option<String> = "notes",
    }
}
