//! The native addon behind the `safe-tracker` npm package (napi-rs).
//!
//! It maps the core's JSON host interface ([`safe_tracker::host`]) to Node: every call is a
//! Promise resolved on the addon's tokio runtime, so the event loop never blocks. A failure
//! rejects with an `Error` whose message is `SAFE_ERROR:` followed by the error details as
//! JSON; `lib/errors.js` turns it into the matching `SafeError` subclass. Calls carry an id
//! that `abort(id)` cancels, which is how `AbortSignal` is wired: the call's task is spawned
//! and registered under its id before `call` returns, so an abort at any moment before the
//! answer cancels it (even one in the same tick, before the task first runs).
//!
//! **Panic boundary.** A panic must never unwind into Node (that aborts the process): every
//! entry point runs its body through [`guard`] (synchronous), [`guard_async`] (the body of an
//! `async` method) or a spawned task whose panic is read from its `JoinError`, and events reach
//! JavaScript through [`deliver`]. A caught panic rejects (or throws) with the code
//! [`PANIC_CODE`], 91, the C ABI's `SAFE_PANIC`, which `lib/errors.js` raises as `PanicError`
//! (outside the core's table, like `SAFE_PANIC`). `#[napi(catch_unwind)]` on every export is
//! the outer net, for napi's own argument conversion: a panic there arrives as a plain `Error`.
//! The test-only entry points that panic on purpose (`panicProbe*`) exist only in a build
//! with the cargo feature `test-panic` (`npm run build:test`, used by `make node-test`); the
//! shipped addon (`npm run build`) has none.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use futures_util::FutureExt;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use safe_tracker::host::{self, HostPoller};
use safe_tracker::{Client, Error as SafeError};

mod fleet;
pub use fleet::{FleetDelivery, NativeFleet};

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

/// The code of a panic caught at the boundary: the C ABI's `SAFE_PANIC`. The bindings' codes
/// (90-99) are outside the core's table; `lib/errors.js` raises this one as `PanicError`.
pub const PANIC_CODE: u32 = 91;

fn reject(e: &SafeError) -> napi::Error {
    let info = host::error_info(e);
    let json = serde_json::to_string(&info).unwrap_or_else(|_| "{}".into());
    napi::Error::new(Status::GenericFailure, format!("{PREFIX}{json}"))
}

/// What a panic said (its `&str` or `String` payload).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// `SAFE_ERROR:` and the details of a caught panic (code [`PANIC_CODE`]). The payload is
/// dropped here, where a payload whose own `Drop` panics cannot unwind any further.
fn panic_text(payload: Box<dyn Any + Send>) -> String {
    let what = panic_message(&*payload);
    if catch_unwind(AssertUnwindSafe(move || drop(payload))).is_err() {
        // A payload that panicked while dropped: nothing more to free safely.
    }
    let info = serde_json::json!({
        "code": PANIC_CODE,
        "name": "Panic",
        "message": format!("internal error (panic): {what}"),
        "status": null,
        "path": null,
        "retry_after": null,
        "field": null,
    });
    format!("{PREFIX}{info}")
}

fn panic_error(payload: Box<dyn Any + Send>) -> napi::Error {
    napi::Error::new(Status::GenericFailure, panic_text(payload))
}

/// Runs the body of a synchronous entry point; a panic becomes a `PanicError` thrown in JS.
fn guard<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(panic_error(p)))
}

/// Runs the body of an `async` entry point; a panic while it is polled becomes a rejection
/// with `PanicError`.
async fn guard_async<T>(body: impl Future<Output = Result<T>>) -> Result<T> {
    AssertUnwindSafe(body)
        .catch_unwind()
        .await
        .unwrap_or_else(|p| Err(panic_error(p)))
}

/// A listener of poller events (JSON text), called on the event loop.
type EventListener = ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true>;

/// Hands `make()` to `listener` (a callback into JS, queued for the event loop). A panic while
/// making it is handed over instead as `SAFE_ERROR:` and a `PanicError`'s details, which
/// `lib/index.js` reports as a warning; nothing unwinds into the poller that emitted it.
fn deliver(listener: &EventListener, make: impl FnOnce() -> String) {
    let text = catch_unwind(AssertUnwindSafe(make)).unwrap_or_else(panic_text);
    let queued = catch_unwind(AssertUnwindSafe(|| {
        listener.call(text, ThreadsafeFunctionCallMode::NonBlocking)
    }));
    if let Err(p) = queued {
        // Nothing can reach JS from here; do not unwind into the caller.
        let _ = panic_text(p);
    }
}

fn aborts() -> &'static Mutex<HashMap<u32, tokio::task::AbortHandle>> {
    static ABORTS: OnceLock<Mutex<HashMap<u32, tokio::task::AbortHandle>>> = OnceLock::new();
    ABORTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The outcome of a spawned task: its answer, `Cancelled` when aborted, `PanicError` when it
/// panicked.
fn joined<T>(
    joined: std::result::Result<safe_tracker::Result<T>, tokio::task::JoinError>,
) -> Result<T> {
    match joined {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(reject(&e)),
        Err(j) if j.is_cancelled() => Err(reject(&SafeError::Cancelled)),
        Err(j) => match j.try_into_panic() {
            Ok(payload) => Err(panic_error(payload)),
            Err(j) => Err(napi::Error::new(
                Status::GenericFailure,
                format!("safe-tracker task failed: {j}"),
            )),
        },
    }
}

/// A call's task, spawned on the addon's runtime and, with an id, registered for `abort(id)`
/// before [`Started::start`] returns: an abort that comes before the task first runs
/// cancels it all the same (it then never runs, and sends no request).
struct Started<T> {
    call_id: Option<u32>,
    handle: tokio::task::JoinHandle<safe_tracker::Result<T>>,
}

impl<T: Send + 'static> Started<T> {
    /// Spawns `fut` now (from the JS thread) and registers it under `call_id`.
    fn start(
        call_id: Option<u32>,
        fut: impl Future<Output = safe_tracker::Result<T>> + Send + 'static,
    ) -> Started<T> {
        let handle = within_runtime_if_available(|| tokio::spawn(fut));
        if let Some(id) = call_id
            && let Ok(mut map) = aborts().lock()
        {
            map.insert(id, handle.abort_handle());
        }
        Started { call_id, handle }
    }

    /// Waits for the task; unregisters its id.
    async fn finish(self) -> Result<T> {
        let result = self.handle.await;
        if let Some(id) = self.call_id
            && let Ok(mut map) = aborts().lock()
        {
            map.remove(&id);
        }
        joined(result)
    }
}

/// Runs `fut` as a task that `abort(call_id)` can cancel (registered once it is spawned).
async fn abortable<T: Send + 'static>(
    call_id: Option<u32>,
    fut: impl Future<Output = safe_tracker::Result<T>> + Send + 'static,
) -> Result<T> {
    Started::start(call_id, fut).finish().await
}

/// Cancels the call started with `call_id` (from an `AbortSignal`), whether or not its task
/// has started to run.
#[napi(catch_unwind)]
pub fn abort(call_id: u32) -> Result<()> {
    guard(|| {
        if let Ok(mut map) = aborts().lock()
            && let Some(handle) = map.remove(&call_id)
        {
            handle.abort();
        }
        Ok(())
    })
}

/// A SAFE client; every endpoint through `call(method, argsJson)`.
#[napi]
pub struct NativeClient {
    client: Client,
}

#[napi]
impl NativeClient {
    /// Builds a client from the host configuration JSON (snake_case keys).
    #[napi(constructor, catch_unwind)]
    pub fn new(config_json: String) -> Result<Self> {
        guard(|| {
            let client = host::client_from_json(&config_json).map_err(|e| reject(&e))?;
            Ok(NativeClient { client })
        })
    }

    /// Calls `method` with JSON arguments; resolves to the JSON answer. The call's task is
    /// spawned and registered under `callId` before this returns (see `abort`).
    #[napi(catch_unwind, ts_return_type = "Promise<string>")]
    pub fn call(
        &self,
        env: &Env,
        method: String,
        args_json: String,
        call_id: Option<u32>,
    ) -> Result<AsyncBlock<String>> {
        guard(|| {
            let args: serde_json::Value = serde_json::from_str(&args_json).map_err(|e| {
                reject(&SafeError::validation(
                    "args",
                    format!("arguments are not JSON: {e}"),
                ))
            })?;
            let client = self.client.clone();
            let task = Started::start(call_id, async move {
                host::call(&client, &method, &args)
                    .await
                    .map(|v| v.to_string())
            });
            let stop = task.handle.abort_handle();
            AsyncBlockBuilder::new(guard_async(task.finish()))
                .build(env)
                .inspect_err(|_| {
                    // No Promise to answer: the call must not run (nor stay registered).
                    stop.abort();
                    if let Some(id) = call_id {
                        let _ = abort(id);
                    }
                })
        })
    }

    /// The checkpoint key a poller of `kind` (`items` or `updated`) would use.
    #[napi(catch_unwind)]
    pub fn poller_key(&self, kind: String) -> Result<String> {
        guard(|| {
            Ok(safe_tracker::poller::poller_key(
                &self.client,
                if kind == "updated" {
                    "updated"
                } else {
                    "items"
                },
            ))
        })
    }

    /// Requests sent so far (every attempt).
    #[napi(catch_unwind)]
    pub fn requests_sent(&self) -> Result<f64> {
        guard(|| Ok(self.client.requests_sent() as f64))
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
    #[napi(constructor, catch_unwind)]
    pub fn new(
        client: &NativeClient,
        kind: String,
        checkpoint_json: String,
        options_json: String,
    ) -> Result<Self> {
        guard(|| {
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
        })
    }

    /// Starts a sweep (ending the one running, its last record unacknowledged) and resolves to
    /// its ticket, which `next`, `fail` and `end` carry; a newer `begin` supersedes it.
    #[napi(catch_unwind)]
    pub async fn begin(&self) -> Result<u32> {
        let p = self.poller.clone();
        guard_async(async move { Ok(p.begin().await) }).await
    }

    /// Acknowledges the previous record of sweep `ticket` and resolves to the next (JSON) or
    /// `null` at the end.
    #[napi(catch_unwind)]
    pub async fn next(&self, ticket: u32) -> Result<Option<String>> {
        let p = self.poller.clone();
        guard_async(abortable(None, async move {
            p.next(ticket).await?.map(|r| r.json()).transpose()
        }))
        .await
    }

    /// Ends sweep `ticket`: the consumer failed on the last record (left unacknowledged).
    /// Resolves to the consumer error's details as JSON.
    #[napi(catch_unwind)]
    pub async fn fail(&self, ticket: u32, message: String) -> Result<String> {
        let p = self.poller.clone();
        guard_async(async move {
            let e = p.fail(ticket, &message).await;
            Ok(serde_json::to_string(&host::error_info(&e)).unwrap_or_default())
        })
        .await
    }

    /// Ends sweep `ticket` without acknowledging the last record (nothing when superseded).
    #[napi(catch_unwind)]
    pub async fn end(&self, ticket: u32) -> Result<()> {
        let p = self.poller.clone();
        guard_async(async move {
            p.end(ticket).await;
            Ok(())
        })
        .await
    }

    /// What a sweep's outcome means for a run-for-ever loop (`code`: the error it failed with,
    /// absent when it completed): `continue`, `back_off`, `park`, `stop` or `cancelled`.
    #[napi(catch_unwind)]
    pub async fn decide(&self, code: Option<u32>) -> Result<String> {
        let p = self.poller.clone();
        let code = code.and_then(safe_tracker::ErrorCode::from_u32);
        guard_async(async move { Ok(p.decide(code).await.name().to_string()) }).await
    }

    /// Resolves when the schedule allows the next sweep; rejects with `Cancelled` on cancel.
    #[napi(catch_unwind)]
    pub async fn wait_scheduled(&self) -> Result<()> {
        let p = self.poller.clone();
        guard_async(abortable(None, async move { p.wait_scheduled().await })).await
    }

    /// Steps over number `seq` for good (the items stream only; see `HostPoller::skip`):
    /// resolves to the recorded skip as JSON. Refused while a sweep runs (Checkpoint), for a
    /// number that is not the cursor, an open hole or the stuck number (Validation, field
    /// `seq`), or an empty reason (Validation, field `reason`).
    #[napi(catch_unwind)]
    pub async fn skip(&self, seq: f64, reason: String) -> Result<String> {
        let p = self.poller.clone();
        guard_async(async move {
            if !(seq.is_finite()
                && seq >= 0.0
                && seq.fract() == 0.0
                && seq <= 9_007_199_254_740_991.0)
            {
                return Err(reject(&SafeError::validation(
                    "seq",
                    "a sequential org id is a non-negative integer",
                )));
            }
            abortable(None, async move {
                p.skip(seq as u64, &reason).await.map(|v| v.to_string())
            })
            .await
        })
        .await
    }

    /// Calls `listener` with every poller event (JSON text), on the event loop and after the
    /// fact; an event that could not be made is handed over as `SAFE_ERROR:` and a panic's
    /// details instead. The listener does not keep the process alive.
    #[napi(catch_unwind, ts_args_type = "listener: (event: string) => void")]
    pub fn on_event(&self, listener: EventListener) -> Result<()> {
        guard(|| {
            self.poller.on_event(move |event| {
                deliver(&listener, || event.to_string());
            });
            Ok(())
        })
    }

    /// Status (JSON).
    #[napi(catch_unwind)]
    pub fn status(&self) -> Result<String> {
        guard(|| Ok(self.poller.status().to_string()))
    }

    /// Plan of the next sweep (JSON).
    #[napi(catch_unwind)]
    pub fn plan(&self) -> Result<String> {
        guard(|| Ok(self.poller.plan().to_string()))
    }

    /// Report of the last completed sweep (JSON), if any.
    #[napi(catch_unwind)]
    pub fn last_report(&self) -> Result<Option<String>> {
        guard(|| Ok(self.poller.last_report().map(|v| v.to_string())))
    }

    /// The whole state (JSON), for hosts that keep the checkpoint themselves.
    #[napi(catch_unwind)]
    pub fn state(&self) -> Result<String> {
        guard(|| Ok(self.poller.state()))
    }

    /// The checkpoint key of this poller.
    #[napi(catch_unwind)]
    pub fn key(&self) -> Result<String> {
        guard(|| Ok(self.poller.key()))
    }

    /// Ends any sweep and releases the one-poller lock now.
    #[napi(catch_unwind)]
    pub async fn close(&self) -> Result<()> {
        let p = self.poller.clone();
        guard_async(async move {
            p.close().await;
            Ok(())
        })
        .await
    }

    /// Stops between requests.
    #[napi(catch_unwind)]
    pub fn cancel(&self) -> Result<()> {
        guard(|| {
            self.poller.cancel();
            Ok(())
        })
    }
}

/// The stable error-code table: `[[code, name], ...]`.
#[napi(catch_unwind)]
pub fn error_codes() -> Result<Vec<(u32, String)>> {
    guard(|| {
        Ok(safe_tracker::ErrorCode::ALL
            .iter()
            .map(|c| (c.as_u32(), c.name().to_string()))
            .collect())
    })
}

/// Entry points that panic on purpose, to test the panic boundary. They exist only in a build
/// with the cargo feature `test-panic` (`npm run build:test`); the shipped addon has none, so
/// no option or input of a user can reach them.
#[cfg(feature = "test-panic")]
pub mod panic_probe {
    use super::*;

    fn boom(place: &str) -> safe_tracker::Result<()> {
        panic!("panic probe: {place}")
    }

    /// Panics in the body of a synchronous entry point.
    #[napi(catch_unwind)]
    pub fn panic_probe_sync() -> Result<()> {
        guard(|| panic!("panic probe: sync"))
    }

    /// Panics in an `async` entry point: in its body (`"body"`), in the task it spawns
    /// (`"task"`), or in a call's task started like `call`'s (`"call"`).
    #[napi(catch_unwind)]
    pub async fn panic_probe_async(place: String) -> Result<()> {
        guard_async(async move {
            match place.as_str() {
                "task" => abortable(None, async { boom("task") }).await,
                "call" => {
                    Started::start(Some(u32::MAX), async { boom("call") })
                        .finish()
                        .await
                }
                _ => boom("body").map_err(|e| reject(&e)),
            }
        })
        .await
    }

    /// Panics while making an event for `listener`, as the poller's event forwarding would.
    #[napi(catch_unwind, ts_args_type = "listener: (event: string) => void")]
    pub fn panic_probe_event(listener: EventListener) -> Result<()> {
        guard(|| {
            deliver(&listener, || panic!("panic probe: event"));
            Ok(())
        })
    }
}
