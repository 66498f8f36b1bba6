//! The native addon behind the `safe-tracker` npm package (napi-rs).
//!
//! It maps the core's JSON host interface ([`safe_tracker::host`]) to Node: every call is a
//! Promise resolved on the addon's tokio runtime, so the event loop never blocks. A failure
//! rejects with an `Error` whose message is `SAFE_ERROR:` followed by the error details as
//! JSON; `lib/errors.js` turns it into the matching `SafeError` subclass. Calls carry an id
//! that `abort(id)` cancels, which is how `AbortSignal` is wired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use safe_tracker::host::{self, HostPoller};
use safe_tracker::{Client, Error as SafeError};

/// The addon's runtime: one worker thread. A call's future, the connection task it talks to and
/// the timers all run on that thread, so a request costs one hand-off from the event loop and
/// one back, with no wake-ups between workers on the way (measured in `make bench`).
#[napi_derive::module_init]
fn init_runtime() {
    if let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("safe-tracker")
        .enable_all()
        .build()
    {
        create_custom_tokio_runtime(rt);
    }
}

/// The prefix of a rejected call's message; the rest is JSON.
const PREFIX: &str = "SAFE_ERROR:";

fn reject(e: &SafeError) -> napi::Error {
    let info = host::error_info(e);
    let json = serde_json::to_string(&info).unwrap_or_else(|_| "{}".into());
    napi::Error::new(Status::GenericFailure, format!("{PREFIX}{json}"))
}

fn aborts() -> &'static Mutex<HashMap<u32, tokio::task::AbortHandle>> {
    static ABORTS: OnceLock<Mutex<HashMap<u32, tokio::task::AbortHandle>>> = OnceLock::new();
    ABORTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Runs `fut` as a task that `abort(call_id)` can cancel.
async fn abortable<T: Send + 'static>(
    call_id: Option<u32>,
    fut: impl std::future::Future<Output = safe_tracker::Result<T>> + Send + 'static,
) -> Result<T> {
    let handle = tokio::spawn(fut);
    if let Some(id) = call_id
        && let Ok(mut map) = aborts().lock()
    {
        map.insert(id, handle.abort_handle());
    }
    let joined = handle.await;
    if let Some(id) = call_id
        && let Ok(mut map) = aborts().lock()
    {
        map.remove(&id);
    }
    match joined {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(reject(&e)),
        Err(j) if j.is_cancelled() => Err(reject(&SafeError::Cancelled)),
        Err(j) => Err(napi::Error::new(
            Status::GenericFailure,
            format!("safe-tracker task failed: {j}"),
        )),
    }
}

/// Cancels the call started with `call_id` (from an `AbortSignal`).
#[napi]
pub fn abort(call_id: u32) {
    if let Ok(mut map) = aborts().lock()
        && let Some(handle) = map.remove(&call_id)
    {
        handle.abort();
    }
}

/// A SAFE client; every endpoint through `call(method, argsJson)`.
#[napi]
pub struct NativeClient {
    client: Client,
}

#[napi]
impl NativeClient {
    /// Builds a client from the host configuration JSON (snake_case keys).
    #[napi(constructor)]
    pub fn new(config_json: String) -> Result<Self> {
        let client = host::client_from_json(&config_json).map_err(|e| reject(&e))?;
        Ok(NativeClient { client })
    }

    /// Calls `method` with JSON arguments; resolves to the JSON answer.
    #[napi]
    pub async fn call(
        &self,
        method: String,
        args_json: String,
        call_id: Option<u32>,
    ) -> Result<String> {
        let args: serde_json::Value = serde_json::from_str(&args_json).map_err(|e| {
            reject(&SafeError::validation(
                "args",
                format!("arguments are not JSON: {e}"),
            ))
        })?;
        let client = self.client.clone();
        abortable(call_id, async move {
            host::call(&client, &method, &args)
                .await
                .map(|v| v.to_string())
        })
        .await
    }

    /// The checkpoint key a poller of `kind` (`items` or `updated`) would use.
    #[napi]
    pub fn poller_key(&self, kind: String) -> String {
        safe_tracker::poller::poller_key(
            &self.client,
            if kind == "updated" {
                "updated"
            } else {
                "items"
            },
        )
    }

    /// Requests sent so far (every attempt).
    #[napi]
    pub fn requests_sent(&self) -> f64 {
        self.client.requests_sent() as f64
    }
}

/// A poller (`items` or `updated`) with JSON records.
#[napi]
pub struct NativePoller {
    poller: Arc<HostPoller>,
}

#[napi]
impl NativePoller {
    /// `checkpointJson` is `{"kind":"memory"|"file"|"sqlite", "path"?}`, or
    /// `{"kind":"host","state":<saved state JSON or null>}` for a store the host keeps itself
    /// (it saves `state()` after every call).
    #[napi(constructor)]
    pub fn new(
        client: &NativeClient,
        kind: String,
        checkpoint_json: String,
        options_json: String,
    ) -> Result<Self> {
        let spec: serde_json::Value = serde_json::from_str(&checkpoint_json).map_err(|e| {
            reject(&SafeError::InvalidConfig(format!(
                "invalid checkpoint spec: {e}"
            )))
        })?;
        let stream = if kind == "updated" {
            "updated"
        } else {
            "items"
        };
        let store = if spec.get("kind").and_then(|k| k.as_str()) == Some("host") {
            let state = spec.get("state").and_then(|s| s.as_str());
            host::seeded_memory_store(&client.client, stream, state)
        } else {
            host::checkpoint_from_json(&checkpoint_json)
        }
        .map_err(|e| reject(&e))?;
        let c = client.client.clone();
        let poller = match kind.as_str() {
            "items" => HostPoller::open_items(c, store, &options_json),
            "updated" => HostPoller::open_updated(c, store, &options_json),
            other => Err(SafeError::InvalidConfig(format!(
                "unknown poller kind `{other}`"
            ))),
        }
        .map_err(|e| reject(&e))?;
        Ok(NativePoller {
            poller: Arc::new(poller),
        })
    }

    /// Acknowledges the previous record and resolves to the next (JSON) or `null` at the end.
    #[napi]
    pub async fn next(&self) -> Result<Option<String>> {
        let p = self.poller.clone();
        abortable(None, async move {
            p.next().await?.map(|r| r.json()).transpose()
        })
        .await
    }

    /// Ends the sweep: the consumer failed on the last record (left unacknowledged).
    /// Resolves to the consumer error's details as JSON.
    #[napi]
    pub async fn fail(&self, message: String) -> Result<String> {
        let p = self.poller.clone();
        let e = p.fail(&message).await;
        Ok(serde_json::to_string(&host::error_info(&e)).unwrap_or_default())
    }

    /// Ends the sweep without acknowledging the last record.
    #[napi]
    pub async fn abandon(&self) -> Result<()> {
        self.poller.abandon().await;
        Ok(())
    }

    /// Resolves when the schedule allows the next sweep; rejects with `Cancelled` on cancel.
    #[napi]
    pub async fn wait_scheduled(&self) -> Result<()> {
        let p = self.poller.clone();
        abortable(None, async move { p.wait_scheduled().await }).await
    }

    /// Steps over number `seq` for good (the items stream only; see `HostPoller::skip`):
    /// resolves to the recorded skip as JSON. Refused while a sweep runs (Checkpoint), for a
    /// number that is not the cursor, an open hole or the stuck number (Validation, field
    /// `seq`), or an empty reason (Validation, field `reason`).
    #[napi]
    pub async fn skip(&self, seq: f64, reason: String) -> Result<String> {
        if !(seq.is_finite() && seq >= 0.0 && seq.fract() == 0.0 && seq <= 9_007_199_254_740_991.0)
        {
            return Err(reject(&SafeError::validation(
                "seq",
                "a sequential org id is a non-negative integer",
            )));
        }
        let p = self.poller.clone();
        abortable(None, async move {
            p.skip(seq as u64, &reason).await.map(|v| v.to_string())
        })
        .await
    }

    /// Calls `listener` with every poller event (JSON text), on the event loop and after the
    /// fact. The listener does not keep the process alive.
    #[napi(ts_args_type = "listener: (event: string) => void")]
    pub fn on_event(
        &self,
        listener: ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true>,
    ) {
        self.poller.on_event(move |event| {
            listener.call(event.to_string(), ThreadsafeFunctionCallMode::NonBlocking);
        });
    }

    /// Status (JSON).
    #[napi]
    pub fn status(&self) -> String {
        self.poller.status().to_string()
    }

    /// Plan of the next sweep (JSON).
    #[napi]
    pub fn plan(&self) -> String {
        self.poller.plan().to_string()
    }

    /// Report of the last completed sweep (JSON), if any.
    #[napi]
    pub fn last_report(&self) -> Option<String> {
        self.poller.last_report().map(|v| v.to_string())
    }

    /// The whole state (JSON), for hosts that keep the checkpoint themselves.
    #[napi]
    pub fn state(&self) -> String {
        self.poller.state()
    }

    /// The checkpoint key of this poller.
    #[napi]
    pub fn key(&self) -> String {
        self.poller.key()
    }

    /// Ends any sweep and releases the one-poller lock now.
    #[napi]
    pub async fn close(&self) -> Result<()> {
        self.poller.close().await;
        Ok(())
    }

    /// Stops between requests.
    #[napi]
    pub fn cancel(&self) {
        self.poller.cancel();
    }
}

/// The stable error-code table: `[[code, name], ...]`.
#[napi]
pub fn error_codes() -> Vec<(u32, String)> {
    safe_tracker::ErrorCode::ALL
        .iter()
        .map(|c| (c.as_u32(), c.name().to_string()))
        .collect()
}

/// True when `runForever` keeps going after an error with this code.
#[napi]
pub fn keeps_running_after(code: u32) -> bool {
    safe_tracker::ErrorCode::from_u32(code).is_some_and(host::keeps_running_after)
}
