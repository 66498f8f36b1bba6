//! Typed models of the SAFE API, in the wire's camelCase and tolerant of drift: every model
//! keeps unknown fields in `extra` and writes them back; absent and `null` fields are `None`
//! and are not written.

mod case;
mod custody;
mod datetime;
mod formdata;
mod item;
mod lookup;
mod person;
mod search;
mod user;
pub(crate) mod wire;

pub use case::Case;
pub use custody::CustodyEntry;
pub use datetime::SafeDateTime;
pub use formdata::{Form, FormData, FormDataEntry};
pub use item::{Item, SeqAnswer, decode_seq_answer};
pub use lookup::{Lookup, LookupEntry, TypeaheadEntry};
pub use person::{Address, NewPerson, Person};
pub use search::{SearchPage, SearchRequest, StaticField, criteria};
pub use user::User;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes a list that may come bare (`[...]`) or in an envelope object under one of `keys`
/// (e.g. `{ "users": [...], "usersCount": 1 }`). Returns the list and the envelope's other
/// fields.
pub fn decode_list<T: DeserializeOwned>(
    body: &[u8],
    keys: &[&str],
) -> Result<(Vec<T>, serde_json::Map<String, Value>), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let (list, rest) = match value {
        Value::Array(a) => (a, serde_json::Map::new()),
        Value::Null => (Vec::new(), serde_json::Map::new()),
        Value::Object(mut m) => {
            let key = keys
                .iter()
                .find(|k| m.contains_key(**k))
                .ok_or_else(|| format!("expected a list or an object with one of {keys:?}"))?;
            match m.remove(*key) {
                Some(Value::Array(a)) => (a, m),
                Some(Value::Null) => (Vec::new(), m),
                _ => return Err(format!("`{key}` is not a list")),
            }
        }
        _ => return Err("expected a list".into()),
    };
    let items = list
        .into_iter()
        .enumerate()
        .map(|(i, v)| serde_json::from_value(v).map_err(|e| format!("entry {i}: {e}")))
        .collect::<Result<Vec<T>, String>>()?;
    Ok((items, rest))
}
