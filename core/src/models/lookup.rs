//! Lookup lists (races, genders, states…) and typeahead answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One entry of a lookup list: `{id, name, …}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LookupEntry {
    /// Id.
    pub id: i64,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Other fields (`organizations`, `categoryForms`, `description`…).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which lookup list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// `races`.
    Races,
    /// `genders`.
    Genders,
    /// `addresstypes`.
    AddressTypes,
    /// `states`.
    States,
    /// `personTypes`.
    PersonTypes,
    /// `offensetypes`.
    OffenseTypes,
    /// `categories` (item categories).
    Categories,
}

impl Lookup {
    /// Every lookup list.
    pub const ALL: [Lookup; 7] = [
        Lookup::Races,
        Lookup::Genders,
        Lookup::AddressTypes,
        Lookup::States,
        Lookup::PersonTypes,
        Lookup::OffenseTypes,
        Lookup::Categories,
    ];

    /// The snake_case name (`address_types`…), as the bindings and the CLI spell it.
    pub fn name(self) -> &'static str {
        match self {
            Lookup::Races => "races",
            Lookup::Genders => "genders",
            Lookup::AddressTypes => "address_types",
            Lookup::States => "states",
            Lookup::PersonTypes => "person_types",
            Lookup::OffenseTypes => "offense_types",
            Lookup::Categories => "categories",
        }
    }

    /// Parses a name given by [`Lookup::name`] (also accepting `-` for `_`).
    pub fn from_name(name: &str) -> Option<Lookup> {
        let n = name.trim().to_ascii_lowercase().replace('-', "_");
        Lookup::ALL.into_iter().find(|l| l.name() == n)
    }
}

/// One typeahead hit: `{id, text}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TypeaheadEntry {
    /// Id of the user or person.
    pub id: i64,
    /// Display text, e.g. `" Dana Reyes (d.reyes@example.org)"`.
    #[serde(default)]
    pub text: String,
}
