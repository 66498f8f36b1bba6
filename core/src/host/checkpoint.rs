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
        other => Err(Error::InvalidConfig(format!(
            "unknown checkpoint kind {other:?} (memory, file, sqlite or callback)"
        ))),
    }
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
