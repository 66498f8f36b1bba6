//! The interface the language bindings share: configuration, endpoint calls, poller options,
//! checkpoint specs and error details, all as JSON, so Python, Node and C map the core in one
//! way and none of them re-implements behaviour.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::Client;
use crate::config::{Budget, ClientConfigBuilder, Pacing, ProxyConfig, RetryPolicy, Timeouts};
use crate::error::{Error, Result};
use crate::models::{Case, Lookup, NewPerson, Person, SafeDateTime, SearchRequest, User};
use crate::poller::{
    CheckpointStore, Expand, FileCheckpoint, MemoryCheckpoint, PollerOptions, SqliteCheckpoint,
    UpdatedOptions,
};
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

fn arg<T: serde::de::DeserializeOwned>(args: &Value, name: &str) -> Result<T> {
    let v = args.get(name).cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| Error::validation(name, format!("invalid argument: {e}")))
}

fn to_json<T: Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Consumer(format!("cannot encode the answer: {e}")))
}

/// Every method [`call`] accepts.
pub const METHODS: [&str; 26] = [
    "item_by_seq",
    "items_by_seq",
    "item",
    "item_form_data",
    "chain_of_custody",
    "search_items",
    "items_after_seq",
    "updated_items",
    "case",
    "case_by_number",
    "case_people",
    "create_case",
    "update_case",
    "person",
    "create_person",
    "update_person",
    "people_typeahead",
    "email_in_use",
    "user",
    "create_user",
    "update_user",
    "users_typeahead",
    "lookup",
    "forms",
    "requests_sent",
    "config",
];

/// Calls endpoint `method` with JSON `args` and returns its answer as JSON.
pub async fn call(client: &Client, method: &str, args: &Value) -> Result<Value> {
    match method {
        "item_by_seq" => to_json(client.item_by_seq(arg(args, "seq")?).await?),
        "items_by_seq" => to_json(client.items_by_seq(arg(args, "seq")?).await?),
        "item" => to_json(client.item(arg(args, "id")?).await?),
        "item_form_data" => to_json(client.item_form_data(arg(args, "id")?).await?),
        "chain_of_custody" => to_json(client.chain_of_custody(arg(args, "id")?).await?),
        "search_items" => {
            let req: SearchRequest = arg(args, "request")?;
            to_json(client.search_items(&req).await?)
        }
        "items_after_seq" => {
            let size = args.get("page_size").and_then(Value::as_u64).unwrap_or(100) as u32;
            to_json(client.items_after_seq(arg(args, "seq")?, size).await?)
        }
        "updated_items" => {
            let since: String = arg(args, "since")?;
            let since = SafeDateTime::parse(since);
            if since.utc().is_none() {
                return Err(Error::validation("since", "not an ISO-8601 date"));
            }
            let page = args.get("page").and_then(Value::as_u64).unwrap_or(1) as u32;
            let size = args.get("page_size").and_then(Value::as_u64).unwrap_or(100) as u32;
            to_json(client.updated_items(&since, page, size).await?)
        }
        "case" => to_json(client.case(arg(args, "id")?).await?),
        "case_by_number" => {
            let n: String = arg(args, "number")?;
            to_json(client.case_by_number(&n).await?)
        }
        "case_people" => to_json(client.case_people(arg(args, "id")?).await?),
        "create_case" => {
            let c: Case = arg(args, "case")?;
            to_json(client.create_case(&c).await?)
        }
        "update_case" => {
            let c: Case = arg(args, "case")?;
            to_json(client.update_case(arg(args, "id")?, &c).await?)
        }
        "person" => to_json(client.person(arg(args, "id")?).await?),
        "create_person" => {
            let p: NewPerson = arg(args, "person")?;
            to_json(client.create_person(&p).await?)
        }
        "update_person" => {
            let p: Person = arg(args, "person")?;
            to_json(client.update_person(arg(args, "id")?, &p).await?)
        }
        "people_typeahead" => {
            let s: String = arg(args, "search")?;
            to_json(client.people_typeahead(&s).await?)
        }
        "email_in_use" => {
            let s: String = arg(args, "email")?;
            to_json(client.email_in_use(&s).await?)
        }
        "user" => to_json(client.user(arg(args, "id")?).await?),
        "create_user" => {
            let u: User = arg(args, "user")?;
            to_json(client.create_user(&u).await?)
        }
        "update_user" => {
            let u: User = arg(args, "user")?;
            to_json(client.update_user(arg(args, "id")?, &u).await?)
        }
        "users_typeahead" => {
            let s: String = arg(args, "search")?;
            to_json(client.users_typeahead(&s).await?)
        }
        "lookup" => {
            let name: String = arg(args, "name")?;
            let which = Lookup::from_name(&name)
                .ok_or_else(|| Error::validation("name", format!("unknown lookup `{name}`")))?;
            to_json(client.lookup(which).await?)
        }
        "forms" => {
            let t: String = args
                .get("form_type")
                .and_then(Value::as_str)
                .unwrap_or("All")
                .to_string();
            to_json(client.forms(&t).await?)
        }
        "requests_sent" => Ok(json!(client.requests_sent())),
        "config" => {
            let c = client.config();
            Ok(json!({
                "base_url": c.base_url.as_str(),
                "organization_id": c.credentials.organization_id,
                "office_id": c.credentials.office_id,
                "user_agent": c.user_agent(),
                "requests_per_second": c.pacing.requests_per_second,
                "max_attempts": c.retry.max_attempts,
            }))
        }
        other => Err(Error::validation(
            "method",
            format!("unknown method `{other}`"),
        )),
    }
}

/// Error details for a host language: code, name, message, status, path, retry-after, field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorInfo {
    /// Stable code.
    pub code: u32,
    /// Stable name.
    pub name: &'static str,
    /// Message (never holds the token).
    pub message: String,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// Templated path, when there was a request.
    pub path: Option<String>,
    /// Seconds the server asked us to wait.
    pub retry_after: Option<f64>,
    /// The offending field of a validation error.
    pub field: Option<String>,
    /// The number of a [`Error::DuplicateNumber`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The item ids of a [`Error::DuplicateNumber`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<i64>>,
}

/// The details of `e`.
pub fn error_info(e: &Error) -> ErrorInfo {
    ErrorInfo {
        code: e.code().as_u32(),
        name: e.code().name(),
        message: e.to_string(),
        status: e.status(),
        path: e.path().map(str::to_string),
        retry_after: e.retry_after().map(|d| d.as_secs_f64()),
        field: match e {
            Error::Validation { field, .. } => field.clone(),
            _ => None,
        },
        seq: match e {
            Error::DuplicateNumber { seq, .. } => Some(*seq),
            _ => None,
        },
        ids: match e {
            Error::DuplicateNumber { ids, .. } => Some(ids.clone()),
            _ => None,
        },
    }
}

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
    Duration::try_from_secs_f64(v).map_err(|_| {
        Error::InvalidConfig(format!("{name} must be a non-negative number of seconds"))
    })
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

/// A checkpoint store from a spec: `{"kind":"memory"}`, `{"kind":"file","path":…}` or
/// `{"kind":"sqlite","path":…}` (callback stores are built by each binding).
pub fn checkpoint_from_json(spec_json: &str) -> Result<Arc<dyn CheckpointStore>> {
    let v: Value = serde_json::from_str(spec_json)
        .map_err(|e| Error::InvalidConfig(format!("invalid checkpoint spec: {e}")))?;
    let path = || {
        v.get("path")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .ok_or_else(|| Error::InvalidConfig("the checkpoint needs a path".into()))
    };
    match v.get("kind").and_then(Value::as_str) {
        Some("memory") => Ok(Arc::new(MemoryCheckpoint::new())),
        Some("file") => Ok(Arc::new(FileCheckpoint::new(path()?))),
        Some("sqlite") => Ok(Arc::new(SqliteCheckpoint::open(path()?)?)),
        other => Err(Error::InvalidConfig(format!(
            "unknown checkpoint kind {other:?} (memory, file, sqlite or callback)"
        ))),
    }
}

/// A memory store seeded with a state the host loaded itself (`None` for a first run): for
/// hosts whose own store is asynchronous, which save [`HostPoller::state`] after each call.
pub fn seeded_memory_store(
    client: &Client,
    stream: &str,
    state_json: Option<&str>,
) -> Result<Arc<dyn CheckpointStore>> {
    let store = MemoryCheckpoint::new();
    if let Some(text) = state_json.filter(|t| !t.trim().is_empty()) {
        let state = crate::poller::PollerState::from_json(text)?;
        store.save(&crate::poller::poller_key(client, stream), &state)?;
    }
    Ok(Arc::new(store))
}

/// A poller of either stream with JSON records, for the bindings: `next` starts a sweep when
/// none runs, acknowledges the previous record and returns the next; `fail` ends the sweep with
/// the last record unacknowledged.
pub struct HostPoller {
    kind: HostPollerKind,
    stream: tokio::sync::Mutex<Option<HostStream>>,
    last_report: std::sync::Mutex<Option<Value>>,
}

enum HostPollerKind {
    Items(crate::poller::Poller),
    Updated(crate::poller::UpdatedPoller),
}

enum HostStream {
    Items(crate::poller::SweepStream),
    Updated(crate::poller::UpdatedStream),
}

impl std::fmt::Debug for HostPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPoller")
            .field("status", &self.status())
            .finish()
    }
}

/// One record of a [`HostPoller`], typed. Bindings hand [`HostRecord::json`] to their host;
/// the C ABI also reads [`HostRecord::item`] for its accessors.
#[derive(Debug, Clone)]
pub enum HostRecord {
    /// A record of the sequential new-item poller.
    Items(Box<crate::poller::ItemRecord>),
    /// A record of the updated-items stream.
    Updated(Box<crate::poller::UpdatedRecord>),
}

impl HostRecord {
    /// The record's item.
    pub fn item(&self) -> &crate::models::Item {
        match self {
            HostRecord::Items(r) => &r.item,
            HostRecord::Updated(r) => &r.item,
        }
    }

    /// The record as JSON text, written straight from the typed record.
    pub fn json(&self) -> Result<String> {
        match self {
            HostRecord::Items(r) => serde_json::to_string(r),
            HostRecord::Updated(r) => serde_json::to_string(r),
        }
        .map_err(|e| Error::Consumer(format!("cannot encode the record: {e}")))
    }
}

fn report_json(r: &crate::poller::SweepReport) -> Value {
    json!({ "summary": r.summary, "events": r.events })
}

impl HostPoller {
    /// Opens the sequential new-item poller.
    pub fn open_items(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options_json: &str,
    ) -> Result<HostPoller> {
        let opts = poller_options_from_json(options_json)?;
        Ok(HostPoller::new(HostPollerKind::Items(
            crate::poller::Poller::open(client, store, opts)?,
        )))
    }

    /// Opens the updated-items stream.
    pub fn open_updated(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options_json: &str,
    ) -> Result<HostPoller> {
        let opts = updated_options_from_json(options_json)?;
        Ok(HostPoller::new(HostPollerKind::Updated(
            crate::poller::UpdatedPoller::open(client, store, opts)?,
        )))
    }

    fn new(kind: HostPollerKind) -> HostPoller {
        HostPoller {
            kind,
            stream: tokio::sync::Mutex::new(None),
            last_report: std::sync::Mutex::new(None),
        }
    }

    /// Acknowledges the previous record and returns the next (starting a sweep when none
    /// runs, which may wait for the floor); `None` when the sweep reached its end.
    pub async fn next(&self) -> Result<Option<HostRecord>> {
        let mut guard = self.stream.lock().await;
        if guard.is_none() {
            *guard = Some(match &self.kind {
                HostPollerKind::Items(p) => HostStream::Items(p.sweep_stream().await?),
                HostPollerKind::Updated(p) => HostStream::Updated(p.sweep_stream().await?),
            });
        }
        let result = match guard.as_mut().expect("stream set above") {
            HostStream::Items(s) => s
                .next()
                .await
                .map(|r| r.map(|r| HostRecord::Items(Box::new(r)))),
            HostStream::Updated(s) => s
                .next()
                .await
                .map(|r| r.map(|r| HostRecord::Updated(Box::new(r)))),
        };
        match result {
            Ok(Some(record)) => Ok(Some(record)),
            Ok(None) => {
                let report = match guard.take() {
                    Some(HostStream::Items(s)) => s.report().ok().map(|r| report_json(&r)),
                    Some(HostStream::Updated(s)) => s.report().ok().map(|r| report_json(&r)),
                    None => None,
                };
                if let Ok(mut l) = self.last_report.lock() {
                    *l = report;
                }
                Ok(None)
            }
            Err(e) => {
                *guard = None;
                Err(e)
            }
        }
    }

    /// Ends the running sweep because the consumer failed on the last record (it stays
    /// unacknowledged) and returns the consumer error.
    pub async fn fail(&self, message: &str) -> Error {
        let mut guard = self.stream.lock().await;
        let error = match guard.as_mut() {
            Some(HostStream::Items(s)) => s.consumer_failed(message.to_string()).await,
            Some(HostStream::Updated(s)) => s.fail(Error::Consumer(message.to_string())),
            None => Error::Consumer(message.to_string()),
        };
        *guard = None;
        error
    }

    /// Ends the running sweep without acknowledging the last record (the consumer stopped).
    pub async fn abandon(&self) {
        self.stream.lock().await.take();
    }

    /// Waits until `run_forever` would start the next sweep; `Cancelled` when cancelled.
    pub async fn wait_scheduled(&self) -> Result<()> {
        self.shared().wait_next_sweep().await
    }

    /// The report of the last completed sweep.
    pub fn last_report(&self) -> Option<Value> {
        self.last_report.lock().ok().and_then(|r| r.clone())
    }

    fn shared(&self) -> &crate::poller::Shared {
        match &self.kind {
            HostPollerKind::Items(p) => p.shared(),
            HostPollerKind::Updated(p) => p.shared(),
        }
    }

    /// The identity of this poller (the checkpoint key).
    pub fn key(&self) -> String {
        match &self.kind {
            HostPollerKind::Items(p) => p.key(),
            HostPollerKind::Updated(p) => p.key(),
        }
    }

    /// The full state as last saved (JSON text), for hosts that persist it themselves.
    pub fn state(&self) -> String {
        self.shared().state().to_json()
    }

    /// Status as JSON.
    pub fn status(&self) -> Value {
        match &self.kind {
            HostPollerKind::Items(p) => to_json(p.status()).unwrap_or(Value::Null),
            HostPollerKind::Updated(p) => to_json(p.status()).unwrap_or(Value::Null),
        }
    }

    /// The plan of the next sweep as JSON (the items stream only; `null` otherwise).
    pub fn plan(&self) -> Value {
        match &self.kind {
            HostPollerKind::Items(p) => to_json(p.plan()).unwrap_or(Value::Null),
            HostPollerKind::Updated(_) => Value::Null,
        }
    }

    /// See [`crate::poller::Poller::skip`] (the items stream only); returns the recorded skip
    /// as JSON. Refused while a sweep is running.
    pub async fn skip(&self, seq: u64, reason: &str) -> Result<Value> {
        if self.stream.lock().await.is_some() {
            return Err(Error::Checkpoint(
                "a sweep is running: skip a number between sweeps".into(),
            ));
        }
        match &self.kind {
            HostPollerKind::Items(p) => to_json(p.skip(seq, reason).await?),
            HostPollerKind::Updated(_) => Err(Error::validation(
                "seq",
                "the updated-items stream has no numbers to skip",
            )),
        }
    }

    /// Ends any sweep (unacknowledged) and releases the one-poller lock now.
    pub async fn close(&self) {
        self.cancel();
        self.stream.lock().await.take();
        match &self.kind {
            HostPollerKind::Items(p) => p.close().await,
            HostPollerKind::Updated(p) => p.close().await,
        }
    }

    /// Cancels (from any thread).
    pub fn cancel(&self) {
        match &self.kind {
            HostPollerKind::Items(p) => p.cancel(),
            HostPollerKind::Updated(p) => p.cancel(),
        }
    }

    /// Calls `listener` with every event as JSON.
    pub fn on_event(&self, listener: impl Fn(Value) + Send + Sync + 'static) {
        let f = move |e: &crate::poller::PollerEvent| listener(to_json(e).unwrap_or(Value::Null));
        match &self.kind {
            HostPollerKind::Items(p) => p.on_event(f),
            HostPollerKind::Updated(p) => p.on_event(f),
        }
    }
}

/// True when `run_forever` keeps going after this error (the next sweep retries): see
/// [`crate::error::ErrorClass::keeps_poller_running`].
pub fn keeps_running_after(code: crate::ErrorCode) -> bool {
    code.class().keeps_poller_running()
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
}
