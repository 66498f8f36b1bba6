//! Poller and updated-items options as the bindings pass them (JSON, seconds), checked and
//! turned into [`PollerOptions`] and [`UpdatedOptions`].

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::SafeDateTime;
use crate::poller::{Expand, PollerOptions, UpdatedOptions};

/// Poller options as the bindings pass them (seconds; unknown keys refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostPollerOptions {
    /// See [`PollerOptions::start_seq`].
    pub start_seq: Option<u64>,
    /// See [`PollerOptions::gap_tolerance`].
    pub gap_tolerance: Option<u32>,
    /// Seconds; see [`PollerOptions::hole_max_age`].
    pub hole_max_age: Option<f64>,
    /// See [`PollerOptions::read_ahead`].
    pub read_ahead: Option<u32>,
    /// A list (or comma-separated string) of `form_data`, `case`, `people`, `custody`, `all`.
    pub expand: Option<Value>,
    /// Seconds between sweep starts.
    pub interval: Option<f64>,
    /// Seconds of jitter.
    pub jitter: Option<f64>,
    /// Seconds: lowers the 60-second floor (simulator tests only).
    pub unsafe_min_interval: Option<f64>,
    /// See [`PollerOptions::stall_after_sweeps`].
    pub stall_after_sweeps: Option<u32>,
    /// See [`PollerOptions::jump_stalls`].
    pub jump_stalls: Option<bool>,
}

fn secs(name: &str, v: f64) -> Result<Duration> {
    crate::config::setting_secs(name, v)
}

/// Parses an `expand` value: a list of names or a comma-separated string.
pub fn expand_from_json(v: &Value) -> Result<Expand> {
    match v {
        Value::Null => Ok(Expand::default()),
        Value::Bool(true) => Ok(Expand::all()),
        Value::Bool(false) => Ok(Expand::default()),
        Value::String(s) => Expand::parse(s),
        Value::Array(a) => {
            let names: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            if names.len() != a.len() {
                return Err(Error::InvalidConfig("expand must list names".into()));
            }
            Expand::parse(&names.join(","))
        }
        _ => Err(Error::InvalidConfig(
            "expand must be a list of names".into(),
        )),
    }
}

/// Builds [`PollerOptions`] from JSON.
pub fn poller_options_from_json(json_text: &str) -> Result<PollerOptions> {
    let h: HostPollerOptions = serde_json::from_str(json_text)
        .map_err(|e| Error::InvalidConfig(format!("invalid poller options: {e}")))?;
    let d = PollerOptions::default();
    let opts = PollerOptions {
        start_seq: h.start_seq.unwrap_or(d.start_seq),
        gap_tolerance: h.gap_tolerance.unwrap_or(d.gap_tolerance),
        hole_max_age: h
            .hole_max_age
            .map(|v| secs("hole_max_age", v))
            .transpose()?
            .unwrap_or(d.hole_max_age),
        read_ahead: h.read_ahead.unwrap_or(d.read_ahead),
        expand: h
            .expand
            .as_ref()
            .map(expand_from_json)
            .transpose()?
            .unwrap_or(d.expand),
        interval: h
            .interval
            .map(|v| secs("interval", v))
            .transpose()?
            .unwrap_or(d.interval),
        jitter: h
            .jitter
            .map(|v| secs("jitter", v))
            .transpose()?
            .unwrap_or(d.jitter),
        unsafe_min_interval: h
            .unsafe_min_interval
            .map(|v| secs("unsafe_min_interval", v))
            .transpose()?,
        stall_after_sweeps: h.stall_after_sweeps.unwrap_or(d.stall_after_sweeps),
        jump_stalls: h.jump_stalls.unwrap_or(d.jump_stalls),
    };
    opts.validate()?;
    Ok(opts)
}

/// Updated-items options as the bindings pass them (seconds; `since` in ISO-8601).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostUpdatedOptions {
    /// Start time when no checkpoint exists (ISO-8601).
    pub since: Option<String>,
    /// Seconds of overlap.
    pub overlap: Option<f64>,
    /// Page size.
    pub page_size: Option<u32>,
    /// Seconds between sweep starts.
    pub interval: Option<f64>,
    /// Seconds of jitter.
    pub jitter: Option<f64>,
    /// Seconds: lowers the floor (simulator tests only).
    pub unsafe_min_interval: Option<f64>,
}

/// Builds [`UpdatedOptions`] from JSON.
pub fn updated_options_from_json(json_text: &str) -> Result<UpdatedOptions> {
    let h: HostUpdatedOptions = serde_json::from_str(json_text)
        .map_err(|e| Error::InvalidConfig(format!("invalid updated-items options: {e}")))?;
    let d = UpdatedOptions::default();
    let since = match h.since {
        None => None,
        Some(s) => Some(
            SafeDateTime::parse(s)
                .utc()
                .ok_or_else(|| Error::InvalidConfig("since must be an ISO-8601 date".into()))?,
        ),
    };
    Ok(UpdatedOptions {
        since,
        overlap: h
            .overlap
            .map(|v| secs("overlap", v))
            .transpose()?
            .unwrap_or(d.overlap),
        page_size: h.page_size.unwrap_or(d.page_size),
        interval: h
            .interval
            .map(|v| secs("interval", v))
            .transpose()?
            .unwrap_or(d.interval),
        jitter: h
            .jitter
            .map(|v| secs("jitter", v))
            .transpose()?
            .unwrap_or(d.jitter),
        unsafe_min_interval: h
            .unsafe_min_interval
            .map(|v| secs("unsafe_min_interval", v))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poller_options() {
        let o = poller_options_from_json(
            r#"{"gap_tolerance":3,"expand":["case","custody"],"interval":120}"#,
        )
        .unwrap();
        assert_eq!(o.gap_tolerance, 3);
        assert!(o.expand.case && o.expand.custody && !o.expand.people);
        assert!(poller_options_from_json(r#"{"interval":10}"#).is_err());
        assert!(poller_options_from_json(r#"{"interval":10,"unsafe_min_interval":1}"#).is_ok());
        assert!(poller_options_from_json(r#"{"expand":"bogus"}"#).is_err());
    }

    /// Every seconds value of the poller and updated-items options: negative, past the
    /// largest `Duration`, or past ten years (where clock arithmetic would overflow) is an
    /// invalid configuration naming the option, never a panic. (JSON has no NaN or infinity;
    /// `setting_secs` refuses them for the other callers.)
    #[test]
    fn seconds_that_are_no_duration_are_invalid_config() {
        for name in ["hole_max_age", "interval", "jitter", "unsafe_min_interval"] {
            for v in ["-1", "1e300", "1e15", "400000000"] {
                let json = format!(r#"{{"{name}":{v}}}"#);
                let e = poller_options_from_json(&json).unwrap_err();
                assert_eq!(e.code(), crate::ErrorCode::InvalidConfig, "{json}");
                assert!(e.to_string().contains(name), "{json}: {e}");
            }
        }
        for name in ["overlap", "interval", "jitter", "unsafe_min_interval"] {
            for v in ["-1", "1e300", "1e15"] {
                let json = format!(r#"{{"{name}":{v}}}"#);
                let e = updated_options_from_json(&json).unwrap_err();
                assert_eq!(e.code(), crate::ErrorCode::InvalidConfig, "{json}");
                assert!(e.to_string().contains(name), "{json}: {e}");
            }
        }
        for v in [f64::NAN, f64::INFINITY, -0.5, 1e300] {
            assert!(crate::config::setting_secs("interval", v).is_err(), "{v}");
        }
        assert_eq!(
            crate::config::setting_secs("interval", 1.5).unwrap(),
            Duration::from_millis(1500)
        );
    }
}
