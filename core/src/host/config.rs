//! Client configuration as the bindings pass it: [`HostConfig`] (JSON) to a
//! [`ClientConfigBuilder`], then a [`Client`].

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::client::Client;
use crate::config::{Budget, ClientConfigBuilder, Pacing, ProxyConfig, RetryPolicy, Timeouts};
use crate::error::{Error, Result};
use crate::routes::Routes;

/// Client configuration as the bindings pass it (snake_case keys; unknown keys are refused).
/// Durations are in milliseconds. `requests_per_second: 0` disables pacing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Start from the `SAFE_*` environment variables, then apply the other keys.
    #[serde(default)]
    pub from_env: bool,
    /// API root.
    pub base_url: Option<String>,
    /// Static token.
    pub token: Option<String>,
    /// Organisation id.
    pub organization_id: Option<u64>,
    /// Office id.
    pub office_id: Option<u64>,
    /// Send `StaticToken: true`.
    pub static_token: Option<bool>,
    /// Connect timeout (ms).
    pub connect_timeout_ms: Option<u64>,
    /// Per-attempt timeout (ms).
    pub attempt_timeout_ms: Option<u64>,
    /// Whole-call timeout (ms).
    pub call_timeout_ms: Option<u64>,
    /// Attempts per call.
    pub max_attempts: Option<u32>,
    /// Back-off base (ms).
    pub base_delay_ms: Option<u64>,
    /// Largest back-off (ms).
    pub max_delay_ms: Option<u64>,
    /// Longest `Retry-After` slept (ms).
    pub retry_after_cap_ms: Option<u64>,
    /// Pacing rate; 0 disables pacing.
    pub requests_per_second: Option<f64>,
    /// Pacing burst.
    pub burst: Option<u32>,
    /// See [`Pacing::safety_margin`] (a fraction, e.g. 0.02).
    pub pacing_safety_margin: Option<f64>,
    /// Budget per minute.
    pub budget_per_minute: Option<u32>,
    /// Budget per hour.
    pub budget_per_hour: Option<u32>,
    /// Budget per day.
    pub budget_per_day: Option<u32>,
    /// Host language for the user agent.
    pub host_language: Option<String>,
    /// Explicit proxy URL.
    pub proxy: Option<String>,
    /// Hosts that bypass the proxy.
    pub no_proxy: Option<String>,
    /// Read the proxy environment variables.
    pub proxy_from_env: Option<bool>,
    /// Extra CA certificates (PEM file).
    pub ca_file: Option<String>,
    /// Route template overrides by name (see [`Routes`]).
    pub routes: Option<serde_json::Map<String, Value>>,
    /// Response body cap in bytes.
    pub max_body_bytes: Option<usize>,
    /// Search field of the updated-items feed.
    pub updated_items_field: Option<String>,
    /// Allow plain http to a host that is not loopback.
    pub allow_insecure_http: Option<bool>,
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Builds a client from a [`HostConfig`] JSON text.
pub fn client_from_json(config_json: &str) -> Result<Client> {
    let hc: HostConfig = serde_json::from_str(config_json)
        .map_err(|e| Error::InvalidConfig(format!("invalid client options: {e}")))?;
    Client::new(builder_from_host(hc)?.build()?)
}

fn builder_from_host(hc: HostConfig) -> Result<ClientConfigBuilder> {
    let mut b = if hc.from_env {
        ClientConfigBuilder::from_env()?
    } else {
        ClientConfigBuilder::default()
    };
    if let Some(v) = hc.base_url {
        b = b.base_url(v);
    }
    if let Some(v) = hc.token {
        b = b.token(v);
    }
    if let Some(v) = hc.organization_id {
        b = b.organization_id(v);
    }
    if let Some(v) = hc.office_id {
        b = b.office_id(v);
    }
    if let Some(v) = hc.static_token {
        b = b.static_token(v);
    }
    let d = b.current_timeouts();
    b = b.timeouts(Timeouts {
        connect: hc.connect_timeout_ms.map(ms).unwrap_or(d.connect),
        attempt: hc.attempt_timeout_ms.map(ms).unwrap_or(d.attempt),
        call: hc.call_timeout_ms.map(ms).unwrap_or(d.call),
    });
    let r = b.current_retry();
    b = b.retry(RetryPolicy {
        max_attempts: hc.max_attempts.unwrap_or(r.max_attempts),
        base_delay: hc.base_delay_ms.map(ms).unwrap_or(r.base_delay),
        max_delay: hc.max_delay_ms.map(ms).unwrap_or(r.max_delay),
        retry_after_cap: hc.retry_after_cap_ms.map(ms).unwrap_or(r.retry_after_cap),
    });
    let p = b.current_pacing();
    b = b.pacing(Pacing {
        requests_per_second: match hc.requests_per_second {
            None => p.requests_per_second,
            Some(0.0) => None,
            Some(r) => Some(r),
        },
        burst: hc.burst.unwrap_or(p.burst),
        safety_margin: hc.pacing_safety_margin.unwrap_or(p.safety_margin),
        budget: Budget {
            per_minute: hc.budget_per_minute.or(p.budget.per_minute),
            per_hour: hc.budget_per_hour.or(p.budget.per_hour),
            per_day: hc.budget_per_day.or(p.budget.per_day),
        },
    });
    if let Some(v) = hc.host_language {
        b = b.host_language(v);
    }
    b = b.proxy(ProxyConfig {
        url: hc.proxy,
        no_proxy: hc.no_proxy,
        from_env: hc.proxy_from_env.unwrap_or(true),
    });
    if let Some(v) = hc.ca_file {
        b = b.ca_file(v);
    }
    if let Some(overrides) = hc.routes {
        let mut routes = serde_json::to_value(Routes::default()).expect("routes serialise");
        let map = routes.as_object_mut().expect("routes are an object");
        for (k, v) in overrides {
            if !map.contains_key(&k) {
                return Err(Error::InvalidConfig(format!("unknown route `{k}`")));
            }
            map.insert(k, v);
        }
        let routes: Routes = serde_json::from_value(routes)
            .map_err(|e| Error::InvalidConfig(format!("invalid route override: {e}")))?;
        b = b.routes(routes);
    }
    if let Some(v) = hc.max_body_bytes {
        b = b.max_body_bytes(v);
    }
    if let Some(v) = hc.updated_items_field {
        b = b.updated_items_field(v);
    }
    if let Some(v) = hc.allow_insecure_http {
        b = b.allow_insecure_http(v);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_json() {
        let c = client_from_json(
            r#"{"base_url":"http://127.0.0.1:9/api","token":"t0ken-1","organization_id":1,
                "office_id":2,"requests_per_second":0,"routes":{"item_form_data":"forms/{id}"},
                "host_language":"python"}"#,
        )
        .unwrap();
        assert_eq!(c.config().routes.item_form_data, "forms/{id}");
        assert!(c.config().pacing.requests_per_second.is_none());
        assert!(c.config().user_agent().ends_with("(python)"));
        let e = client_from_json(r#"{"tokn":"x"}"#).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidConfig);
        let e = client_from_json(
            r#"{"base_url":"http://127.0.0.1:9/api","token":"t","organization_id":1,"office_id":2,"routes":{"nope":"x"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown route"));
    }
}
