//! Checkpoint stores from the bindings' JSON specs.

use std::sync::Arc;

use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::poller::{CheckpointStore, FileCheckpoint, MemoryCheckpoint, SqliteCheckpoint};

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
        Some("postgres") => postgres_store(&v),
        other => Err(Error::InvalidConfig(format!(
            "unknown checkpoint kind {other:?} (memory, file, sqlite, postgres or callback)"
        ))),
    }
}

/// `{"kind":"postgres","url":…,"unit":…,"owner"?:…,"lease_ttl"?:seconds}`: connects, claims
/// the unit ([`Error::Fenced`] when another process holds it) and keeps its lease renewed.
#[cfg(feature = "postgres")]
fn postgres_store(v: &Value) -> Result<Arc<dyn CheckpointStore>> {
    use crate::postgres::{LeaseOptions, PgOptions, PostgresCheckpoint};
    let text = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::InvalidConfig(format!("a postgres checkpoint needs `{key}`")))
    };
    // One owner id per process unless the spec names one.
    static PROCESS_OWNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut lease = LeaseOptions::new();
    lease.owner = match v.get("owner").and_then(Value::as_str) {
        Some(owner) => owner.to_string(),
        None => PROCESS_OWNER
            .get_or_init(|| LeaseOptions::new().owner)
            .clone(),
    };
    if let Some(ttl) = v.get("lease_ttl").filter(|t| !t.is_null()) {
        lease.ttl = ttl
            .as_f64()
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| Error::InvalidConfig("lease_ttl must be a number of seconds".into()))?;
    }
    // One store per unit and owner in a process: the pollers of a unit (new and updated
    // items) share its lease, which is given up once the last of them is gone.
    type Key = (String, String, String);
    type Open = std::collections::HashMap<Key, std::sync::Weak<PostgresCheckpoint>>;
    static OPEN: std::sync::OnceLock<std::sync::Mutex<Open>> = std::sync::OnceLock::new();
    let key: Key = (
        text("url")?.to_string(),
        text("unit")?.to_string(),
        lease.owner.clone(),
    );
    let open = OPEN.get_or_init(Default::default);
    let mut open = open
        .lock()
        .map_err(|_| Error::Checkpoint("the PostgreSQL stores' registry is poisoned".into()))?;
    open.retain(|_, store| store.strong_count() > 0);
    if let Some(store) = open.get(&key).and_then(|w| w.upgrade())
        && store.lease().is_live()
    {
        return Ok(store);
    }
    let store = Arc::new(PostgresCheckpoint::open_blocking(
        &key.0,
        &key.1,
        lease,
        PgOptions::default(),
    )?);
    open.insert(key, Arc::downgrade(&store));
    Ok(store)
}

#[cfg(not(feature = "postgres"))]
fn postgres_store(_: &Value) -> Result<Arc<dyn CheckpointStore>> {
    Err(Error::InvalidConfig(
        "this build of safe-tracker has no PostgreSQL store (cargo feature `postgres`)".into(),
    ))
}

/// A memory store seeded with a state the host loaded itself (`None` for a first run): for
/// hosts whose own store is asynchronous, which save [`HostPoller::state`](super::HostPoller::state) after each call.
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
