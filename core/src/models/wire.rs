//! One definition per drift-tolerant model: [`wire_model!`] declares the struct (every known
//! field optional, unknown fields kept in `extra`) and its decoder.
//!
//! The decoder reads each field straight from the JSON map into its typed slot and only the
//! unknown names into `extra`. serde's derive with `#[serde(flatten)]` would first buffer the
//! whole object as generic content and decode it a second time; for the item-by-number answer,
//! read once per evidence item, that buffering was over half of the client's own CPU.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, Visitor};

/// A map key, borrowed from the input where the JSON text allows it.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Declares a model: `pub struct Name { /// doc \n pub field: Option<T> = "wireName", ... }`.
/// Generates the struct (`Debug, Clone, PartialEq, Default, Serialize`, absent fields not
/// written, `extra` flattened back) and a single-pass `Deserialize` (null = absent; a repeated
/// name keeps the last value, as JSON parsers commonly do).
macro_rules! wire_model {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[doc = $doc:literal])* pub $field:ident : $ty:ty = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, schemars::JsonSchema)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $wire, skip_serializing_if = "Option::is_none")]
                pub $field: $ty,
            )*
            /// Fields this SDK does not know, kept and written back.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// The wire names of the typed fields, in declaration order.
            pub const WIRE_NAMES: &'static [&'static str] = &[$($wire),*];
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct ModelVisitor;
                impl<'de> serde::de::Visitor<'de> for ModelVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some($crate::models::wire::Key(key)) = map.next_key()? {
                            match key.as_ref() {
                                $( $wire => out.$field = map.next_value()?, )*
                                _ => {
                                    let value: serde_json::Value = map.next_value()?;
                                    out.extra.insert(key.into_owned(), value);
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(ModelVisitor)
            }
        }
    };
}

pub(crate) use wire_model;
