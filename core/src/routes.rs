//! Path templates of every endpoint, relative to the base URL.
//!
//! Several real paths are not public (safe-api.md §4.3, §4.4, §9), so every template is
//! configurable. Placeholders are written `{name}` and are filled with percent-encoded values.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The path template of every endpoint the SDK calls. Defaults follow safe-api.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "snake_case")]
pub struct Routes {
    /// `GET` item by sequential org id [D]. Placeholder `{n}`.
    pub item_by_seq: String,
    /// `GET` item by database id [D]. Placeholder `{id}`.
    pub item: String,
    /// `GET` an item's custom form data [I: ASP.NET naming]. Placeholder `{id}`.
    pub item_form_data: String,
    /// `GET` an item's chain of custody [C]. Placeholder `{id}`.
    pub chain_of_custody: String,
    /// `POST` item search [D].
    pub item_search: String,
    /// `POST` items updated since a time. Unknown path [I]: defaults to the item search with a
    /// date criterion (see [`crate::models::SearchRequest::updated_since`]).
    pub updated_items: String,
    /// `POST` create case [D].
    pub cases: String,
    /// `GET`/`PUT` case by id [D]. Placeholder `{id}`.
    pub case: String,
    /// `GET` case by number [D]. Placeholder `{number}`.
    pub case_by_number: String,
    /// `GET` the people of a case [I]. Placeholder `{id}`.
    pub case_people: String,
    /// `POST` create person [D].
    pub people: String,
    /// `GET`/`PUT` person by id [D]. Placeholder `{id}`.
    pub person: String,
    /// `GET` people typeahead [D]. Placeholder `{search}`.
    pub people_typeahead: String,
    /// `GET` e-mail-in-use check [D] (the trailing slash is required). Placeholder `{email}`.
    pub email_in_use: String,
    /// `POST` create user [D].
    pub users: String,
    /// `GET`/`PUT` user by id [D]. Placeholder `{id}`.
    pub user: String,
    /// `GET` users typeahead [D]. Placeholder `{search}`.
    pub users_typeahead: String,
    /// `GET` races [D].
    pub races: String,
    /// `GET` genders [D].
    pub genders: String,
    /// `GET` address types [D].
    pub address_types: String,
    /// `GET` states [D].
    pub states: String,
    /// `GET` person types [D].
    pub person_types: String,
    /// `GET` offense types [D].
    pub offense_types: String,
    /// `GET` item categories [C].
    pub categories: String,
    /// `GET` form definitions [D]. Placeholder `{form_type}`.
    pub forms: String,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            item_by_seq: "items/seqOrgID/{n}".into(),
            item: "items/{id}".into(),
            item_form_data: "formdata/{id}".into(),
            chain_of_custody: "items/{id}/coc".into(),
            item_search: "items/search".into(),
            updated_items: "items/search".into(),
            cases: "cases".into(),
            case: "cases/{id}".into(),
            case_by_number: "cases/getByNumber?value={number}".into(),
            case_people: "cases/{id}/people".into(),
            people: "people".into(),
            person: "people/{id}".into(),
            people_typeahead: "people/typeahead?search={search}".into(),
            email_in_use: "people/isemailalreadyinuse/{email}/".into(),
            users: "users/".into(),
            user: "users/{id}".into(),
            users_typeahead: "users/typeahead?search={search}&hideOverlay=true".into(),
            races: "races".into(),
            genders: "genders".into(),
            address_types: "addresstypes".into(),
            states: "states".into(),
            person_types: "personTypes".into(),
            offense_types: "offensetypes?belongToOrganization=false".into(),
            categories: "categories".into(),
            forms: "forms?formType={form_type}".into(),
        }
    }
}

/// Characters escaped inside a path segment or a query value.
fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fills `template` with `params`, percent-encoding each value. Every placeholder must be
/// given and every parameter used, or the route configuration is invalid.
pub fn fill(template: &str, params: &[(&str, &str)]) -> Result<String> {
    let mut out = template.to_string();
    for (name, value) in params {
        let key = format!("{{{name}}}");
        if !out.contains(&key) {
            return Err(Error::InvalidConfig(format!(
                "route template `{template}` lacks the placeholder {key}"
            )));
        }
        out = out.replace(&key, &encode_component(value));
    }
    if let Some(start) = out.find('{')
        && out[start..].contains('}')
    {
        return Err(Error::InvalidConfig(format!(
            "route template `{template}` has a placeholder that was not filled"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_encodes() {
        assert_eq!(
            fill("items/seqOrgID/{n}", &[("n", "42")]).unwrap(),
            "items/seqOrgID/42"
        );
        assert_eq!(
            fill(
                "cases/getByNumber?value={number}",
                &[("number", "2024/0415 07&x")]
            )
            .unwrap(),
            "cases/getByNumber?value=2024%2F0415%2007%26x"
        );
        assert_eq!(
            fill(
                "people/isemailalreadyinuse/{email}/",
                &[("email", "a.b@x.org")]
            )
            .unwrap(),
            "people/isemailalreadyinuse/a.b@x.org/"
        );
    }

    #[test]
    fn rejects_missing_placeholders() {
        assert!(fill("items/{id}", &[("n", "1")]).is_err());
        assert!(fill("items/{id}/{other}", &[("id", "1")]).is_err());
    }
}
