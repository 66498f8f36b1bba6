//! [`SafeDateTime`]: a timestamp as SAFE writes it, parsed when it can be and always written
//! back exactly as it came.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A SAFE timestamp. Both documented forms parse: ISO-8601 (`2020-02-13T05:00:00.000Z`) and
/// `2017-11-29 13:25:00.000` (read as UTC, as are ISO forms without a zone). An unparseable
/// value is kept as text (`utc()` is then `None`) rather than failing the whole record.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SafeDateTime {
    raw: String,
    utc: Option<DateTime<Utc>>,
}

impl SafeDateTime {
    /// Parses `raw` (never fails; see the type's documentation).
    pub fn parse(raw: impl Into<String>) -> SafeDateTime {
        let raw = raw.into();
        let utc = parse_utc(&raw);
        SafeDateTime { raw, utc }
    }

    /// A timestamp from a UTC time, written in ISO-8601 with milliseconds and `Z`.
    pub fn from_utc(t: DateTime<Utc>) -> SafeDateTime {
        SafeDateTime {
            raw: t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            utc: Some(t),
        }
    }

    /// The text as it came from the wire.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The instant in UTC, when the text parsed.
    pub fn utc(&self) -> Option<DateTime<Utc>> {
        self.utc
    }
}

fn parse_utc(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

impl fmt::Debug for SafeDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.raw)
    }
}

impl fmt::Display for SafeDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for SafeDateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for SafeDateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SafeDateTime::parse(String::deserialize(d)?))
    }
}

impl schemars::JsonSchema for SafeDateTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SafeDateTime".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        "safe_tracker::models::SafeDateTime".into()
    }

    /// A string in `date-time` format; `x-safe-type: datetime` says that the raw text is kept
    /// (written back as it came) and the parsed instant is there when it parses.
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "x-safe-type": "datetime",
            "description": "A SAFE timestamp: ISO-8601 (`2020-02-13T05:00:00.000Z`) or \
                `2017-11-29 13:25:00.000` (UTC when no zone is given). The raw text is kept and \
                written back exactly as it came; the parsed value is there when it parses (an \
                unparseable value is kept as text, never refused)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_documented_forms_parse() {
        let a = SafeDateTime::parse("2020-02-13T05:00:00.000Z");
        let b = SafeDateTime::parse("2017-11-29 13:25:00.000");
        assert_eq!(a.utc().unwrap().to_rfc3339(), "2020-02-13T05:00:00+00:00");
        assert_eq!(b.utc().unwrap().to_rfc3339(), "2017-11-29T13:25:00+00:00");
        assert_eq!(b.raw(), "2017-11-29 13:25:00.000");
        let c = SafeDateTime::parse("yesterday");
        assert!(c.utc().is_none());
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"yesterday\"");
    }
}
