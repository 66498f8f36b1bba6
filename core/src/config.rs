//! Client configuration: one [`ClientConfig`] holds the endpoint, identity, timeouts, retry
//! policy, pacing, proxy, TLS and route templates. Built with [`ClientConfig::builder`] or
//! [`ClientConfig::from_env`]; every binding maps it one to one.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::auth::{Credentials, SecretToken};
use crate::error::{Error, Result};
use crate::routes::Routes;

/// The production API root (safe-api.md §1).
pub const DEFAULT_BASE_URL: &str = "https://securelb.trackerproducts.com/api/";
/// Default cap on a response body: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The slowest pacing accepted: one request a day. A slower rate is a unit mistake, and its
/// spacing (`1 / rate`) stops being a time the clock can represent (`1e-300` would be about
/// 10^292 years).
pub const MIN_REQUESTS_PER_SECOND: f64 = 1.0 / 86_400.0;
/// The longest duration any setting accepts (timeouts, back-off, `Retry-After` cap, poller
/// intervals, jitter, ages, overlap): ten years. A longer one is a unit mistake, and adding it
/// to a clock reading could overflow.
pub const MAX_SETTING_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);

/// Checks that the duration setting `name` is at most [`MAX_SETTING_DURATION`].
pub(crate) fn check_duration(name: &str, d: Duration) -> Result<()> {
    if d > MAX_SETTING_DURATION {
        return Err(Error::InvalidConfig(format!(
            "{name} must be at most ten years, not {d:?}"
        )));
    }
    Ok(())
}

/// A duration setting given in (fractional) seconds, as the bindings pass poller options:
/// finite, not negative, at most [`MAX_SETTING_DURATION`]. Never panics (unlike
/// `Duration::from_secs_f64`).
pub fn setting_secs(name: &str, secs: f64) -> Result<Duration> {
    let d = Duration::try_from_secs_f64(secs).map_err(|_| {
        Error::InvalidConfig(format!(
            "{name} must be a finite, non-negative number of seconds, not {secs}"
        ))
    })?;
    check_duration(name, d)?;
    Ok(d)
}

/// The spacing of requests paced at `rate` per second widened by `margin`, checked: `rate`
/// finite and at least [`MIN_REQUESTS_PER_SECOND`], `margin` in `[0, 1)`. Never panics.
pub fn pacing_period(rate: f64, margin: f64) -> Result<Duration> {
    // One request a day exactly, give or take the rounding of a rate written in decimal
    // (`1 / 86400` in JavaScript, parsed again from JSON).
    if !(rate.is_finite() && rate * 86_400.0 >= 1.0 - 1e-12) {
        return Err(Error::InvalidConfig(format!(
            "pacing.requests_per_second must be a finite number of at least 1/86400 (one \
             request a day), not {rate}; 0 (or no rate) turns pacing off"
        )));
    }
    if !(0.0..1.0).contains(&margin) {
        return Err(Error::InvalidConfig(format!(
            "pacing.safety_margin must be at least 0 and below 1, not {margin}"
        )));
    }
    let period = Duration::try_from_secs_f64((1.0 + margin) / rate).map_err(|_| {
        Error::InvalidConfig(format!(
            "pacing.requests_per_second {rate} gives no representable spacing"
        ))
    })?;
    Ok(period.max(Duration::from_nanos(1)))
}

/// Timeouts. All are finite by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP + TLS). Default 10 s.
    pub connect: Duration,
    /// One attempt, from sending until the whole body is read. Default 30 s.
    pub attempt: Duration,
    /// One call, all attempts and back-off sleeps included. Default 120 s.
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(30),
            call: Duration::from_secs(120),
        }
    }
}

/// Retry policy: exponential back-off with full jitter, bounded attempts, `Retry-After` honoured
/// up to a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included. Default 4; 1 disables retries.
    pub max_attempts: u32,
    /// Back-off base: attempt k sleeps a random time in `[0, min(max_delay, base * 2^k))`. Default 250 ms.
    pub base_delay: Duration,
    /// Largest back-off sleep. Default 10 s.
    pub max_delay: Duration,
    /// Longest `Retry-After` we sleep for; a longer one returns [`Error::RateLimited`]. Default 60 s.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            retry_after_cap: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// A hard request budget: a request that would exceed one of these is refused with
/// [`Error::BudgetExhausted`] instead of being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Budget {
    /// Most requests in any minute.
    pub per_minute: Option<u32>,
    /// Most requests in any hour.
    pub per_hour: Option<u32>,
    /// Most requests in any day.
    pub per_day: Option<u32>,
}

/// Request pacing: one GCRA limiter per client, counting every attempt (retries included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Sustained requests per second; `None` disables pacing (benchmarks, loopback tests).
    /// Default 2 per second — conservative: the vendor asks for no constant polling, and a sweep
    /// of new items is a short burst between long pauses.
    pub requests_per_second: Option<f64>,
    /// Requests allowed back to back before pacing applies. Default 1.
    pub burst: u32,
    /// How much wider than `1 / requests_per_second` the spacing of requests is, as a fraction
    /// (default 0.02: 2%). At exact spacing, the first and the (rate + 1)th request are one
    /// second apart, so network jitter alone can put rate + 1 requests into a 1-second window
    /// as the server counts it; the margin absorbs up to `margin` seconds of jitter at the cost
    /// of that fraction of throughput. How SAFE counts its windows is not public.
    pub safety_margin: f64,
    /// Optional hard budget.
    pub budget: Budget,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            requests_per_second: Some(2.0),
            burst: 1,
            safety_margin: 0.02,
            budget: Budget::default(),
        }
    }
}

impl Pacing {
    /// No pacing and no budget.
    pub fn unlimited() -> Pacing {
        Pacing {
            requests_per_second: None,
            burst: 1,
            safety_margin: 0.02,
            budget: Budget::default(),
        }
    }

    /// Paces at `rate` requests per second, burst 1.
    pub fn per_second(rate: f64) -> Pacing {
        Pacing {
            requests_per_second: Some(rate),
            ..Pacing::default()
        }
    }
}

/// Proxy settings. By default the usual `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY`
/// environment variables are honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// An explicit proxy URL for every request (overrides the environment).
    pub url: Option<String>,
    /// Hosts that bypass the proxy, comma separated (`NO_PROXY` syntax).
    pub no_proxy: Option<String>,
    /// Whether to read the proxy environment variables. Default true.
    pub from_env: bool,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            url: None,
            no_proxy: None,
            from_env: true,
        }
    }
}

/// Everything a [`crate::Client`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API root, ending in `/` (default [`DEFAULT_BASE_URL`]).
    pub base_url: Url,
    /// Token, organisation and office.
    pub credentials: Credentials,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Pacing and budget.
    pub pacing: Pacing,
    /// The host language named in the user agent (`rust`, `python`, `node`, `c`, `csharp`…).
    pub host_language: String,
    /// Proxy settings.
    pub proxy: ProxyConfig,
    /// Extra CA certificates (PEM) trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Route templates.
    pub routes: Routes,
    /// Largest response body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The search field used for the updated-items feed (unknown [I]; default `UpdatedDate`).
    pub updated_items_field: String,
    /// Whether plain `http://` to a host that is not loopback is allowed. Default false.
    pub allow_insecure_http: bool,
    /// A cap shared with other clients (e.g. every agency of a process), taken by every
    /// attempt on top of [`ClientConfig::pacing`]. Default none.
    pub request_cap: Option<crate::pacing::RequestCap>,
}

impl ClientConfig {
    /// Starts a builder with every default.
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder::default()
    }

    /// Reads `SAFE_BASE_URL` (optional), `SAFE_TOKEN`, `SAFE_ORGANIZATION_ID`, `SAFE_OFFICE_ID`,
    /// and optionally `SAFE_CA_FILE` and `SAFE_REQUESTS_PER_SECOND` (`0` disables pacing, for a
    /// local simulator), with every other setting at its default.
    pub fn from_env() -> Result<ClientConfig> {
        ClientConfigBuilder::from_env()?.build()
    }

    /// `safe-tracker/<version> (<host language>)`.
    pub fn user_agent(&self) -> String {
        format!(
            "safe-tracker/{} ({})",
            env!("CARGO_PKG_VERSION"),
            self.host_language
        )
    }
}

/// Builder of [`ClientConfig`]; [`ClientConfigBuilder::build`] validates.
#[derive(Debug, Clone)]
pub struct ClientConfigBuilder {
    base_url: String,
    token: Option<SecretToken>,
    organization_id: Option<u64>,
    office_id: Option<u64>,
    static_token: bool,
    timeouts: Timeouts,
    retry: RetryPolicy,
    pacing: Pacing,
    host_language: String,
    proxy: ProxyConfig,
    ca_file: Option<PathBuf>,
    routes: Routes,
    max_body_bytes: usize,
    updated_items_field: String,
    allow_insecure_http: bool,
    request_cap: Option<crate::pacing::RequestCap>,
}

impl Default for ClientConfigBuilder {
    fn default() -> Self {
        ClientConfigBuilder {
            base_url: DEFAULT_BASE_URL.into(),
            token: None,
            organization_id: None,
            office_id: None,
            static_token: true,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            pacing: Pacing::default(),
            host_language: "rust".into(),
            proxy: ProxyConfig::default(),
            ca_file: None,
            routes: Routes::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            updated_items_field: "UpdatedDate".into(),
            allow_insecure_http: false,
            request_cap: None,
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_id(name: &str, value: &str) -> Result<u64> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| Error::InvalidConfig(format!("{name} must be a positive whole number")))
}

impl ClientConfigBuilder {
    /// A builder pre-filled from the `SAFE_*` environment variables (see [`ClientConfig::from_env`]).
    pub fn from_env() -> Result<ClientConfigBuilder> {
        let mut b = ClientConfigBuilder::default();
        if let Some(url) = env_var("SAFE_BASE_URL") {
            b.base_url = url;
        }
        if let Some(token) = env_var("SAFE_TOKEN") {
            b.token = Some(SecretToken::new(token));
        }
        if let Some(v) = env_var("SAFE_ORGANIZATION_ID") {
            b.organization_id = Some(parse_id("SAFE_ORGANIZATION_ID", &v)?);
        }
        if let Some(v) = env_var("SAFE_OFFICE_ID") {
            b.office_id = Some(parse_id("SAFE_OFFICE_ID", &v)?);
        }
        if let Some(v) = env_var("SAFE_CA_FILE") {
            b.ca_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env_var("SAFE_REQUESTS_PER_SECOND") {
            let rate: f64 = v.trim().parse().map_err(|_| {
                Error::InvalidConfig("SAFE_REQUESTS_PER_SECOND must be a number".into())
            })?;
            // Only 0 turns pacing off; a negative, NaN or infinite rate fails in `build`.
            b.pacing.requests_per_second = (rate != 0.0).then_some(rate);
        }
        Ok(b)
    }

    /// The timeouts set so far.
    pub fn current_timeouts(&self) -> Timeouts {
        self.timeouts
    }
    /// The retry policy set so far.
    pub fn current_retry(&self) -> RetryPolicy {
        self.retry
    }
    /// The pacing set so far.
    pub fn current_pacing(&self) -> Pacing {
        self.pacing
    }

    /// The API root, e.g. `https://securelb.trackerproducts.com/api/`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }
    /// The static token.
    pub fn token(mut self, token: impl AsRef<str>) -> Self {
        self.token = Some(SecretToken::new(token));
        self
    }
    /// The organisation id.
    pub fn organization_id(mut self, id: u64) -> Self {
        self.organization_id = Some(id);
        self
    }
    /// The office id.
    pub fn office_id(mut self, id: u64) -> Self {
        self.office_id = Some(id);
        self
    }
    /// Whether to send `StaticToken: true` (default true).
    pub fn static_token(mut self, yes: bool) -> Self {
        self.static_token = yes;
        self
    }
    /// Timeouts.
    pub fn timeouts(mut self, t: Timeouts) -> Self {
        self.timeouts = t;
        self
    }
    /// Retry policy.
    pub fn retry(mut self, r: RetryPolicy) -> Self {
        self.retry = r;
        self
    }
    /// Pacing and budget.
    pub fn pacing(mut self, p: Pacing) -> Self {
        self.pacing = p;
        self
    }
    /// The host language named in the user agent.
    pub fn host_language(mut self, lang: impl Into<String>) -> Self {
        self.host_language = lang.into();
        self
    }
    /// Proxy settings.
    pub fn proxy(mut self, p: ProxyConfig) -> Self {
        self.proxy = p;
        self
    }
    /// A PEM file of extra CA certificates.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
    /// Route templates.
    pub fn routes(mut self, r: Routes) -> Self {
        self.routes = r;
        self
    }
    /// Largest response body in bytes.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }
    /// The search field name of the updated-items feed.
    pub fn updated_items_field(mut self, name: impl Into<String>) -> Self {
        self.updated_items_field = name.into();
        self
    }
    /// Allows plain `http://` to a host that is not loopback (not recommended: the token
    /// would travel in clear text).
    pub fn allow_insecure_http(mut self, yes: bool) -> Self {
        self.allow_insecure_http = yes;
        self
    }

    /// Shares `cap` with the other clients given it: every attempt of this client takes a
    /// slot of it too (a process-wide ceiling over many agencies).
    pub fn request_cap(mut self, cap: crate::pacing::RequestCap) -> Self {
        self.request_cap = Some(cap);
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<ClientConfig> {
        let mut raw = self.base_url.trim().to_string();
        if !raw.ends_with('/') {
            raw.push('/');
        }
        let base_url = Url::parse(&raw)
            .map_err(|e| Error::InvalidConfig(format!("base URL is not a valid URL: {e}")))?;
        match base_url.scheme() {
            "https" => {}
            "http" => {
                if !self.allow_insecure_http && !is_loopback(&base_url) {
                    return Err(Error::InvalidConfig(
                        "plain http:// is refused for a host that is not loopback; use https:// \
                         or set allow_insecure_http"
                            .into(),
                    ));
                }
            }
            other => {
                return Err(Error::InvalidConfig(format!(
                    "base URL scheme `{other}` is not http or https"
                )));
            }
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(Error::InvalidConfig(
                "base URL must not carry a query or fragment".into(),
            ));
        }
        let token = self
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::InvalidConfig("a token is required (SAFE_TOKEN)".into()))?;
        let organization_id = self.organization_id.ok_or_else(|| {
            Error::InvalidConfig("an organization id is required (SAFE_ORGANIZATION_ID)".into())
        })?;
        let office_id = self.office_id.ok_or_else(|| {
            Error::InvalidConfig("an office id is required (SAFE_OFFICE_ID)".into())
        })?;
        check_numbers(&self.timeouts, &self.retry, &self.pacing)?;
        if self.max_body_bytes == 0 {
            return Err(Error::InvalidConfig(
                "max_body_bytes must be above zero".into(),
            ));
        }
        if let Some(p) = &self.proxy.url {
            Url::parse(p)
                .map_err(|e| Error::InvalidConfig(format!("proxy URL is invalid: {e}")))?;
        }
        if self.host_language.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidConfig(
                "host language holds control characters".into(),
            ));
        }
        Ok(ClientConfig {
            base_url,
            credentials: Credentials {
                token,
                organization_id,
                office_id,
                static_token: self.static_token,
            },
            timeouts: self.timeouts,
            retry: self.retry,
            pacing: self.pacing,
            host_language: self.host_language,
            proxy: self.proxy,
            ca_file: self.ca_file,
            routes: self.routes,
            max_body_bytes: self.max_body_bytes,
            updated_items_field: self.updated_items_field,
            allow_insecure_http: self.allow_insecure_http,
            request_cap: self.request_cap,
        })
    }
}

impl ClientConfig {
    /// Checks the numeric settings (timeouts, retry policy, pacing) as
    /// [`ClientConfigBuilder::build`] does: [`crate::Client::new`] calls it too, since the fields
    /// are public and may have changed after the build.
    pub fn validate(&self) -> Result<()> {
        check_numbers(&self.timeouts, &self.retry, &self.pacing)
    }
}

/// Every numeric setting that becomes a time: each is checked here so that no conversion or
/// clock arithmetic downstream can panic or overflow.
fn check_numbers(timeouts: &Timeouts, retry: &RetryPolicy, pacing: &Pacing) -> Result<()> {
    if retry.max_attempts == 0 {
        return Err(Error::InvalidConfig(
            "retry.max_attempts must be at least 1".into(),
        ));
    }
    for (name, d) in [
        ("timeouts.connect", timeouts.connect),
        ("timeouts.attempt", timeouts.attempt),
        ("timeouts.call", timeouts.call),
    ] {
        if d.is_zero() {
            return Err(Error::InvalidConfig(format!("{name} must be above zero")));
        }
        check_duration(name, d)?;
    }
    for (name, d) in [
        ("retry.base_delay", retry.base_delay),
        ("retry.max_delay", retry.max_delay),
        ("retry.retry_after_cap", retry.retry_after_cap),
    ] {
        check_duration(name, d)?;
    }
    if let Some(rate) = pacing.requests_per_second {
        pacing_period(rate, pacing.safety_margin)?;
    } else if !(0.0..1.0).contains(&pacing.safety_margin) {
        return Err(Error::InvalidConfig(format!(
            "pacing.safety_margin must be at least 0 and below 1, not {}",
            pacing.safety_margin
        )));
    }
    if pacing.burst == 0 {
        return Err(Error::InvalidConfig(
            "pacing.burst must be at least 1".into(),
        ));
    }
    Ok(())
}

/// True for `localhost`, 127.0.0.0/8 and ::1.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ClientConfigBuilder {
        ClientConfig::builder()
            .token("tok-123456")
            .organization_id(1)
            .office_id(2)
    }

    #[test]
    fn defaults() {
        let c = base().build().unwrap();
        assert_eq!(c.base_url.as_str(), DEFAULT_BASE_URL);
        assert_eq!(c.max_body_bytes, 16 * 1024 * 1024);
        assert!(c.user_agent().starts_with("safe-tracker/"));
        assert!(c.user_agent().ends_with("(rust)"));
        assert!(!format!("{c:?}").contains("tok-123456"));
    }

    #[test]
    fn http_only_for_loopback_or_opt_in() {
        assert!(base().base_url("http://127.0.0.1:8080/api").build().is_ok());
        assert!(base().base_url("http://localhost/api/").build().is_ok());
        assert!(base().base_url("http://[::1]:9/api/").build().is_ok());
        let err = base()
            .base_url("http://example.org/api/")
            .build()
            .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidConfig);
        assert!(
            base()
                .base_url("http://example.org/api/")
                .allow_insecure_http(true)
                .build()
                .is_ok()
        );
        assert!(base().base_url("ftp://example.org/").build().is_err());
    }

    /// Rates that are no spacing of requests (issue 15: `1e-300` passed validation, then
    /// `Duration::from_secs_f64(1e300)` panicked building the client) are an invalid
    /// configuration, from the builder, from the host JSON of every binding, and from a
    /// `ClientConfig` changed after its build.
    #[test]
    fn a_rate_that_is_not_meaningful_is_invalid_config() {
        for rate in [
            1e-300,
            5e-324,
            f64::MIN_POSITIVE,
            MIN_REQUESTS_PER_SECOND / 2.0,
            0.0,
            -0.0,
            -2.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let e = base().pacing(Pacing::per_second(rate)).build().unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidConfig, "{rate}");
            assert!(e.to_string().contains("requests_per_second"), "{rate}: {e}");
        }
        let ok = base()
            .pacing(Pacing::per_second(MIN_REQUESTS_PER_SECOND))
            .build()
            .unwrap();
        let mut changed = ok.clone();
        changed.pacing.requests_per_second = Some(1e-300);
        let e = crate::Client::new(changed).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidConfig);
        assert!(crate::Client::new(ok).is_ok());
        // What every binding passes: the host JSON (Node, Python, C and C# all build through it).
        for rate in ["1e-300", "5e-324", "-1", "1e-9"] {
            let json = format!(
                r#"{{"base_url":"http://127.0.0.1:9/api","token":"t0ken-1","organization_id":1,"office_id":2,"requests_per_second":{rate}}}"#
            );
            let e = crate::host::client_from_json(&json).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidConfig, "{rate}");
            assert!(e.to_string().contains("requests_per_second"), "{rate}: {e}");
        }
        for margin in [f64::NAN, -0.1, 1.0, f64::INFINITY] {
            let p = Pacing {
                safety_margin: margin,
                ..Pacing::default()
            };
            let e = base().pacing(p).build().unwrap_err();
            assert!(e.to_string().contains("safety_margin"), "{margin}: {e}");
        }
    }

    /// Every duration setting (timeouts, back-off, Retry-After cap) past ten years is an
    /// invalid configuration naming it: `started + timeouts.call` would overflow the clock.
    #[test]
    fn durations_past_ten_years_are_invalid_config() {
        let t = Timeouts::default();
        let r = RetryPolicy::default();
        let cases: [(&str, Timeouts, RetryPolicy); 6] = [
            (
                "timeouts.connect",
                Timeouts {
                    connect: Duration::MAX,
                    ..t
                },
                r,
            ),
            (
                "timeouts.attempt",
                Timeouts {
                    attempt: Duration::MAX,
                    ..t
                },
                r,
            ),
            (
                "timeouts.call",
                Timeouts {
                    call: Duration::MAX,
                    ..t
                },
                r,
            ),
            (
                "retry.base_delay",
                t,
                RetryPolicy {
                    base_delay: Duration::MAX,
                    ..r
                },
            ),
            (
                "retry.max_delay",
                t,
                RetryPolicy {
                    max_delay: Duration::MAX,
                    ..r
                },
            ),
            (
                "retry.retry_after_cap",
                t,
                RetryPolicy {
                    retry_after_cap: MAX_SETTING_DURATION + Duration::from_secs(1),
                    ..r
                },
            ),
        ];
        for (name, timeouts, retry) in cases {
            let e = base().timeouts(timeouts).retry(retry).build().unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidConfig, "{name}");
            assert!(e.to_string().contains(name), "{name}: {e}");
        }
        let longest = Timeouts {
            call: MAX_SETTING_DURATION,
            ..t
        };
        assert!(base().timeouts(longest).build().is_ok());
        // The host JSON's milliseconds: u64::MAX ms is 584 million years.
        let e = crate::host::client_from_json(
            r#"{"base_url":"http://127.0.0.1:9/api","token":"t0ken-1","organization_id":1,"office_id":2,"call_timeout_ms":18446744073709551615}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("timeouts.call"), "{e}");
    }

    #[test]
    fn missing_fields_are_named() {
        let e = ClientConfig::builder()
            .organization_id(1)
            .office_id(1)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("token"));
        let e = ClientConfig::builder()
            .token("t")
            .office_id(1)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("organization"));
    }
}
