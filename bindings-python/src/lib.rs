//! `safe_tracker._native`: the private native module behind the `safe_tracker` Python package.
//!
//! It maps the core's JSON host interface ([`safe_tracker::host`]) to Python: blocking calls
//! that release the GIL, callback-completed calls for asyncio, errors raised as the classes of
//! `safe_tracker._errors`, tracing events forwarded to `logging`. It owns two tokio runtimes
//! (one per [`Driver`]), each rebuilt in a child after `os.fork()`; clients and pollers made
//! before a fork refuse to run in the child with a clear error.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::{PyBaseException, PyRuntimeError};
use pyo3::prelude::*;
use safe_tracker::host::{self, HostPoller};
use safe_tracker::poller::{CallbackCheckpoint, CheckpointStore};
use safe_tracker::{Client, Error};
use tokio::runtime::Runtime;

mod fleet;
mod hints;
mod logging;

use hints::{CheckpointArg, Completion};

fn pid() -> u32 {
    std::process::id()
}

/// The runtime and the process it was built in.
type RuntimeSlot = Mutex<Option<(u32, Arc<Runtime>)>>;

/// How a client's calls are driven, fixed when the client is made.
///
/// A blocking `Client` runs every call on the calling thread (a current-thread runtime, the
/// GIL released): the request, the connection task and the answer never change threads, which
/// roughly halves the latency of a one-at-a-time poller. An `AsyncClient` runs on worker
/// threads and completes asyncio futures by callback. A client's pooled connections belong to
/// its runtime, so a client never switches between the two.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Driver {
    /// `Client`: calls block the calling thread (GIL released).
    Blocking,
    /// `AsyncClient`: calls run on the worker threads.
    Async,
}

/// Set by the `atexit` hook: no asyncio call starts after it.
static EXITING: AtomicBool = AtomicBool::new(false);

impl Driver {
    fn slot(self) -> &'static RuntimeSlot {
        static BLOCKING: OnceLock<RuntimeSlot> = OnceLock::new();
        static ASYNC: OnceLock<RuntimeSlot> = OnceLock::new();
        match self {
            Driver::Blocking => &BLOCKING,
            Driver::Async => &ASYNC,
        }
        .get_or_init(|| Mutex::new(None))
    }

    /// This driver's runtime in this process (rebuilt after a fork).
    fn runtime(self) -> PyResult<Arc<Runtime>> {
        if self == Driver::Async && EXITING.load(Ordering::SeqCst) {
            return Err(PyRuntimeError::new_err(SHUTTING_DOWN));
        }
        let cell = self.slot();
        let mut guard = cell
            .lock()
            .map_err(|_| PyRuntimeError::new_err("safe_tracker runtime lock poisoned"))?;
        if let Some((p, rt)) = guard.as_ref()
            && *p == pid()
        {
            return Ok(rt.clone());
        }
        let mut builder = match self {
            Driver::Blocking => tokio::runtime::Builder::new_current_thread(),
            Driver::Async => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(2).thread_name("safe-tracker");
                b
            }
        };
        let rt = builder.enable_all().build().map_err(|e| {
            PyRuntimeError::new_err(format!("cannot start the safe_tracker runtime: {e}"))
        })?;
        let rt = Arc::new(rt);
        // A runtime inherited through fork() has no threads: leak it rather than drop it.
        if let Some((_, old)) = guard.replace((pid(), rt.clone())) {
            std::mem::forget(old);
        }
        Ok(rt)
    }

    /// Refuses asyncio calls on a blocking client: nothing would drive its connections.
    fn check_async(self) -> PyResult<()> {
        match self {
            Driver::Async => Ok(()),
            Driver::Blocking => Err(PyRuntimeError::new_err(
                "this is a blocking Client; use AsyncClient (and AsyncPoller) with asyncio",
            )),
        }
    }
}

fn check_fork(created: u32, what: &str) -> PyResult<()> {
    if created != pid() {
        return Err(PyRuntimeError::new_err(format!(
            "this {what} was created before os.fork(); create a new one in the child process"
        )));
    }
    Ok(())
}

fn check_not_in_runtime() -> PyResult<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PyRuntimeError::new_err(
            "a blocking safe_tracker call was made from inside a safe_tracker callback; \
             use the async API there",
        ));
    }
    Ok(())
}

/// The Python exception for `e`, built by `safe_tracker._error_codes._from_native`.
fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let info = host::error_info(e);
    let built = py.import("safe_tracker._error_codes").and_then(|m| {
        m.getattr("_from_native")?.call1((
            info.code,
            info.message.clone(),
            info.status,
            info.path.clone(),
            info.retry_after,
            info.field.clone(),
            info.seq,
            info.ids.clone(),
        ))
    });
    match built {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

fn run_blocking<T: Send + 'static>(
    py: Python<'_>,
    driver: Driver,
    fut: impl std::future::Future<Output = safe_tracker::Result<T>> + Send + 'static,
) -> PyResult<T> {
    check_not_in_runtime()?;
    let rt = driver.runtime()?;
    let result = py.detach(move || rt.block_on(fut));
    result.map_err(|e| to_py_err(py, &e))
}

/// Runs `fut` on the runtime and calls `callback(ok, payload)` with the result: a string (or
/// `None`) on success, the exception object on failure.
fn run_callback(
    driver: Driver,
    fut: impl std::future::Future<Output = safe_tracker::Result<Option<String>>> + Send + 'static,
    callback: Completion,
) -> PyResult<TaskHandle> {
    driver.check_async()?;
    let rt = driver.runtime()?;
    Ok(spawn_with_callback(rt.handle(), fut, callback))
}

/// Spawns `fut` on `handle` and calls `callback(ok, payload)` with its result: the value on
/// success, the exception object on failure (with the GIL, if Python is still there).
fn spawn_with_callback<T>(
    handle: &tokio::runtime::Handle,
    fut: impl std::future::Future<Output = safe_tracker::Result<T>> + Send + 'static,
    callback: Completion,
) -> TaskHandle
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    let callback = callback.0;
    let task = handle.spawn(async move {
        let result = fut.await;
        // try_attach: at interpreter shutdown there is no one left to tell.
        Python::try_attach(|py| {
            let call = match result {
                Ok(v) => callback.call1(py, (true, v)),
                Err(e) => {
                    let exc = to_py_err(py, &e).into_value(py);
                    callback.call1(py, (false, exc))
                }
            };
            if let Err(err) = call {
                err.print(py);
            }
        });
    });
    TaskHandle {
        abort: task.abort_handle(),
    }
}

/// A running asynchronous call; `abort()` cancels it (asyncio task cancellation).
#[pyclass(frozen, module = "safe_tracker._native")]
struct TaskHandle {
    abort: tokio::task::AbortHandle,
}

#[pymethods]
impl TaskHandle {
    /// Cancels the call: its callback is not called unless it already was.
    fn abort(&self) {
        self.abort.abort();
    }
}

/// A SAFE client: every endpoint through `call(method, args_json)`.
#[pyclass(frozen, module = "safe_tracker._native")]
struct NativeClient {
    client: Client,
    driver: Driver,
    created: u32,
}

#[pymethods]
impl NativeClient {
    /// `blocking`: a `Client` (calls on the calling thread) rather than an `AsyncClient`.
    #[new]
    #[pyo3(signature = (config_json, blocking))]
    fn new(py: Python<'_>, config_json: &str, blocking: bool) -> PyResult<NativeClient> {
        let client = host::client_from_json(config_json).map_err(|e| to_py_err(py, &e))?;
        Ok(NativeClient {
            client,
            driver: if blocking {
                Driver::Blocking
            } else {
                Driver::Async
            },
            created: pid(),
        })
    }

    /// Calls `method` with JSON arguments; returns the JSON answer. Releases the GIL.
    fn call(&self, py: Python<'_>, method: String, args_json: &str) -> PyResult<String> {
        check_fork(self.created, "client")?;
        let args = parse_args(py, args_json)?;
        let client = self.client.clone();
        let value = run_blocking(py, self.driver, async move {
            host::call(&client, &method, &args).await
        })?;
        Ok(value.to_string())
    }

    /// Starts `method` on the runtime; `callback(ok, payload)` receives the answer.
    fn call_async(
        &self,
        py: Python<'_>,
        method: String,
        args_json: &str,
        callback: Completion,
    ) -> PyResult<TaskHandle> {
        check_fork(self.created, "client")?;
        let args = parse_args(py, args_json)?;
        let client = self.client.clone();
        run_callback(
            self.driver,
            async move {
                host::call(&client, &method, &args)
                    .await
                    .map(|v| Some(v.to_string()))
            },
            callback,
        )
    }

    /// Requests sent so far (every attempt).
    fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    /// The base URL and the ids (never the token).
    fn __repr__(&self) -> String {
        let c = self.client.config();
        format!(
            "NativeClient(base_url={:?}, organization_id={}, office_id={})",
            c.base_url.as_str(),
            c.credentials.organization_id,
            c.credentials.office_id
        )
    }
}

fn parse_args(py: Python<'_>, args_json: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(args_json).map_err(|e| {
        to_py_err(
            py,
            &Error::validation("args", format!("arguments are not valid JSON: {e}")),
        )
    })
}

/// The message of a checkpoint callback that could not run because Python is exiting.
const SHUTTING_DOWN: &str = "the Python interpreter is shutting down";

/// A checkpoint store calling Python `load(key) -> str | None` and `save(key, json)`.
fn callback_store(load: Py<PyAny>, save: Py<PyAny>) -> Arc<dyn CheckpointStore> {
    Arc::new(CallbackCheckpoint::new(
        move |key| {
            Python::try_attach(|py| {
                let v = load.call1(py, (key,)).map_err(|e| e.to_string())?;
                v.extract::<Option<String>>(py).map_err(|e| e.to_string())
            })
            .unwrap_or_else(|| Err(SHUTTING_DOWN.into()))
        },
        move |key, json| {
            Python::try_attach(|py| {
                save.call1(py, (key, json))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|| Err(SHUTTING_DOWN.into()))
        },
    ))
}

/// A poller (`items` or `updated`) with JSON records.
#[pyclass(frozen, module = "safe_tracker._native")]
struct NativePoller {
    poller: Arc<HostPoller>,
    driver: Driver,
    created: u32,
}

#[pymethods]
impl NativePoller {
    /// `checkpoint` is a JSON spec (`memory`, `file`, `sqlite`) or a `(load, save)` pair.
    #[new]
    fn new(
        py: Python<'_>,
        client: &NativeClient,
        kind: &str,
        checkpoint: CheckpointArg,
        options_json: &str,
    ) -> PyResult<NativePoller> {
        check_fork(client.created, "client")?;
        let store = match checkpoint {
            // A database store connects (and claims its lease) here: without the GIL.
            CheckpointArg::Spec(spec) => py
                .detach(move || host::checkpoint_from_json(&spec))
                .map_err(|e| to_py_err(py, &e))?,
            CheckpointArg::Callbacks(load, save) => callback_store(load.0, save.0),
        };
        let c = client.client.clone();
        let poller = match kind {
            "items" => HostPoller::open_items(c, store, options_json),
            "updated" => HostPoller::open_updated(c, store, options_json),
            other => {
                return Err(PyRuntimeError::new_err(format!(
                    "unknown poller kind {other}"
                )));
            }
        }
        .map_err(|e| to_py_err(py, &e))?;
        Ok(NativePoller {
            poller: Arc::new(poller),
            driver: client.driver,
            created: pid(),
        })
    }

    /// Starts a sweep (ending the one running, its last record unacknowledged) and returns its
    /// ticket, which `next`, `fail` and `end` carry; a newer `begin` supersedes it.
    fn begin(&self, py: Python<'_>) -> PyResult<u32> {
        check_fork(self.created, "poller")?;
        let p = self.poller.clone();
        run_blocking(py, self.driver, async move { Ok(p.begin().await) })
    }

    /// Acknowledges the previous record of sweep `ticket` and returns the next one as JSON,
    /// or `None` at the end of the sweep. Releases the GIL.
    fn next(&self, py: Python<'_>, ticket: u32) -> PyResult<Option<String>> {
        check_fork(self.created, "poller")?;
        let p = self.poller.clone();
        run_blocking(py, self.driver, async move {
            p.next(ticket).await?.map(|r| r.json()).transpose()
        })
    }

    /// `next` for asyncio: `callback(ok, payload)`.
    fn next_async(&self, ticket: u32, callback: Completion) -> PyResult<TaskHandle> {
        check_fork(self.created, "poller")?;
        let p = self.poller.clone();
        run_callback(
            self.driver,
            async move { p.next(ticket).await?.map(|r| r.json()).transpose() },
            callback,
        )
    }

    /// Ends sweep `ticket`: the consumer failed on the last record. Returns the `SafeError` to
    /// chain.
    fn fail(&self, py: Python<'_>, ticket: u32, message: String) -> PyResult<Py<PyBaseException>> {
        check_fork(self.created, "poller")?;
        let p = self.poller.clone();
        check_not_in_runtime()?;
        let rt = self.driver.runtime()?;
        let e = py.detach(move || rt.block_on(async move { p.fail(ticket, &message).await }));
        Ok(to_py_err(py, &e).into_value(py))
    }

    /// Ends sweep `ticket` without acknowledging the last record (nothing when superseded).
    fn end(&self, py: Python<'_>, ticket: u32) -> PyResult<()> {
        let p = self.poller.clone();
        run_blocking(py, self.driver, async move {
            p.end(ticket).await;
            Ok(())
        })
    }

    /// Waits until the schedule allows the next sweep. Releases the GIL.
    fn wait_scheduled(&self, py: Python<'_>) -> PyResult<()> {
        check_fork(self.created, "poller")?;
        let p = self.poller.clone();
        run_blocking(py, self.driver, async move { p.wait_scheduled().await })
    }

    /// `wait_scheduled` for asyncio.
    fn wait_scheduled_async(&self, callback: Completion) -> PyResult<TaskHandle> {
        let p = self.poller.clone();
        run_callback(
            self.driver,
            async move {
                p.wait_scheduled().await?;
                Ok(None)
            },
            callback,
        )
    }

    /// What a sweep's outcome means for a run-for-ever loop (`code`: the error it failed with,
    /// `None` when it completed): `continue`, `back_off`, `park`, `stop` or `cancelled`.
    #[pyo3(signature = (code=None))]
    fn decide(&self, py: Python<'_>, code: Option<u32>) -> PyResult<String> {
        let p = self.poller.clone();
        let code = code.and_then(safe_tracker::ErrorCode::from_u32);
        run_blocking(py, self.driver, async move {
            Ok(p.decide(code).await.name().to_string())
        })
    }

    /// Steps over number `seq` for good (the items stream only; refused while a sweep runs);
    /// returns the recorded skip as JSON. Releases the GIL.
    fn skip(&self, py: Python<'_>, seq: u64, reason: String) -> PyResult<String> {
        check_fork(self.created, "poller")?;
        let p = self.poller.clone();
        run_blocking(py, self.driver, async move {
            p.skip(seq, &reason).await.map(|v| v.to_string())
        })
    }

    /// `skip` for asyncio: `callback(ok, payload)`.
    fn skip_async(&self, seq: u64, reason: String, callback: Completion) -> PyResult<TaskHandle> {
        check_fork(self.created, "poller")?;
        let p = self.poller.clone();
        run_callback(
            self.driver,
            async move { p.skip(seq, &reason).await.map(|v| Some(v.to_string())) },
            callback,
        )
    }

    /// The status (`PollerStatus`) as JSON; no request.
    fn status(&self) -> String {
        self.poller.status().to_string()
    }

    /// The plan of the next sweep (`SweepPlan`) as JSON, `null` for the updated-items stream;
    /// no request.
    fn plan(&self) -> String {
        self.poller.plan().to_string()
    }

    /// The report (`SweepReport`: summary and events) of the last completed sweep as JSON.
    fn last_report(&self) -> Option<String> {
        self.poller.last_report().map(|v| v.to_string())
    }

    /// Ends any sweep and releases the one-poller lock now.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let p = self.poller.clone();
        run_blocking(py, self.driver, async move {
            p.close().await;
            Ok(())
        })
    }

    /// Stops between requests (any thread).
    fn cancel(&self) {
        self.poller.cancel();
    }

    /// Keeps every event for `take_events`: the Python side calls its listener on its own
    /// thread (or event loop), never on a runtime thread, so a listener that blocks stalls no
    /// other call.
    fn queue_events(&self) {
        self.poller.queue_events();
    }

    /// The events (JSON) queued since the last call, oldest first.
    fn take_events(&self) -> Vec<String> {
        self.poller
            .take_events()
            .into_iter()
            .map(|v| v.to_string())
            .collect()
    }
}

/// The `atexit` hook: stops the asyncio runtime's worker threads (waiting up to a second for
/// running calls) before the interpreter finalizes, so no worker thread touches Python while
/// it is being torn down.
#[pyfunction]
fn shutdown_workers(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    let taken = Driver::Async
        .slot()
        .lock()
        .ok()
        .and_then(|mut guard| guard.take());
    match taken {
        // A runtime inherited through fork() has no threads: leak it, as `runtime` does.
        Some((created, rt)) if created != pid() => std::mem::forget(rt),
        Some((_, rt)) => {
            if let Ok(rt) = Arc::try_unwrap(rt) {
                py.detach(move || rt.shutdown_timeout(std::time::Duration::from_secs(1)));
            }
        }
        None => {}
    }
}

/// The stable error code table: `[(code, name), ...]`.
#[pyfunction]
fn error_codes() -> Vec<(u32, &'static str)> {
    safe_tracker::ErrorCode::ALL
        .iter()
        .map(|c| (c.as_u32(), c.name()))
        .collect()
}

/// The core's schema (every model and the error table) as JSON: what this build's core says,
/// which the tests compare with the generated models and `schema/safe-tracker.schema.json`.
#[pyfunction]
fn schema_json() -> String {
    safe_tracker::schema::schema().to_string()
}

/// Sets the lowest `logging` level forwarded from the core (Python's numbers).
#[pyfunction]
fn set_log_level(level: i32) {
    LOG_LEVEL.store(level, Ordering::Relaxed);
}

pub(crate) static LOG_LEVEL: AtomicI32 = AtomicI32::new(30);

/// The private native module behind the `safe_tracker` package: JSON in, JSON out (the package
/// wraps it in typed classes).
//
// An inline module, so that pyo3's introspection (the crate's `inspect` feature) sees all of it:
// `make codegen` writes `safe_tracker/_native.pyi` from that (tools/codegen, `native-stub`).
#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::fleet::NativeFleet;
    #[pymodule_export]
    use super::{
        NativeClient, NativePoller, TaskHandle, error_codes, schema_json, set_log_level,
        shutdown_workers,
    };

    /// The version of the native module (the crate's).
    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    /// Installs the `logging` bridge and registers `shutdown_workers` with `atexit` (it does
    /// not touch the module, so the generated stub stays complete).
    #[pymodule_init]
    fn init(py: Python<'_>) -> PyResult<()> {
        super::logging::install();
        py.import("atexit")?
            .call_method1("register", (wrap_pyfunction!(shutdown_workers, py)?,))?;
        Ok(())
    }
}
