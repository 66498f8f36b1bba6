//! `NativeFleet`: the core's [`HostFleet`] for Python. The fleet runs on a runtime of its own;
//! Python pulls each record (`next`, blocking with the GIL released, or `next_async` completed
//! by callback) and answers it (`ack`, `fail`, `release`), so handler code never runs on a
//! runtime thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use safe_tracker::Error;
use safe_tracker::host::{HostFleet, HostRecord, Pulled};

use crate::hints::Completion;
use crate::{TaskHandle, check_fork, check_not_in_runtime, pid, spawn_with_callback, to_py_err};

/// A record pulled from the fleet: `(id, tenant, kind, record_json)`, `kind` being `items`
/// or `updated`; `None` when nothing came within the wait.
type PulledRecord = Option<(u64, String, &'static str, String)>;

/// Many tenants' pollers from a tenants file, their records pulled by Python.
#[pyclass(frozen, module = "safe_tracker._native")]
pub(crate) struct NativeFleet {
    /// `None` once closed.
    fleet: Mutex<Option<Arc<HostFleet>>>,
    created: u32,
}

/// `p` for Python: a record, `None` when idle, `CancelledError` once the fleet stops. A
/// record that cannot be encoded is given back (it comes again) rather than left out.
fn pulled(fleet: &HostFleet, p: Pulled) -> safe_tracker::Result<PulledRecord> {
    match p {
        Pulled::Record(d) => {
            let kind = match *d.record {
                HostRecord::Items(_) => "items",
                HostRecord::Updated(_) => "updated",
            };
            let json = d.record.json().inspect_err(|_| {
                let _ = fleet.release(d.id);
            })?;
            Ok(Some((d.id, d.tenant, kind, json)))
        }
        Pulled::Idle => Ok(None),
        Pulled::Stopped => Err(Error::Cancelled),
    }
}

fn wait(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        PyRuntimeError::new_err(format!(
            "the wait must be a finite number of seconds >= 0, not {seconds}"
        ))
    })
}

impl NativeFleet {
    fn fleet(&self) -> PyResult<Arc<HostFleet>> {
        check_fork(self.created, "fleet")?;
        self.fleet
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the fleet's lock is poisoned"))?
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("this fleet is closed"))
    }

    /// Runs `fut` on the fleet's runtime (`handle`), blocking with the GIL released. The
    /// future owns its reference to the fleet, so it is dropped without the GIL.
    fn block_on<T: Send + 'static>(
        py: Python<'_>,
        handle: tokio::runtime::Handle,
        fut: impl Future<Output = safe_tracker::Result<T>> + Send + 'static,
    ) -> PyResult<T> {
        check_not_in_runtime()?;
        py.detach(move || handle.block_on(fut))
            .map_err(|e| to_py_err(py, &e))
    }
}

#[pymethods]
impl NativeFleet {
    /// Starts the fleet (options JSON: `tenants_file`, `checkpoint`, `max_requests_per_second`,
    /// `park_retry`, `allow_insecure_http`, `states`): the tenants file is validated as a
    /// whole and every enabled tenant starts. Releases the GIL.
    #[new]
    fn new(py: Python<'_>, options_json: &str) -> PyResult<NativeFleet> {
        check_not_in_runtime()?;
        let options = options_json.to_string();
        let fleet = py
            .detach(move || HostFleet::start(&options, "python"))
            .map_err(|e| to_py_err(py, &e))?;
        Ok(NativeFleet {
            fleet: Mutex::new(Some(Arc::new(fleet))),
            created: pid(),
        })
    }

    /// The next record, waiting up to `wait` seconds: `(id, tenant, kind, record_json)`,
    /// `None` when none came, `CancelledError` once the fleet stops. Releases the GIL.
    fn next(&self, py: Python<'_>, wait: f64) -> PyResult<PulledRecord> {
        let wait = self::wait(wait)?;
        let f = self.fleet()?;
        let handle = f.handle();
        let got = Self::block_on(py, handle, async move {
            let p = f.next(wait).await;
            pulled(&f, p).map(|r| (r, f))
        })?;
        let (record, f) = got;
        // A Ctrl-C during the wait is raised here, before the caller could take the record:
        // give it back first.
        if let Err(interrupted) = py.check_signals() {
            if let Some((id, ..)) = &record {
                let _ = f.release(*id);
            }
            py.detach(move || drop(f));
            return Err(interrupted);
        }
        py.detach(move || drop(f));
        Ok(record)
    }

    /// `next` for asyncio: `callback(ok, payload)`. Aborting the task before it completes
    /// gives back any record it took (it comes again).
    fn next_async(&self, wait: f64, callback: Completion) -> PyResult<TaskHandle> {
        let wait = self::wait(wait)?;
        let f = self.fleet()?;
        Ok(spawn_with_callback(
            &f.handle(),
            async move {
                let p = f.next(wait).await;
                pulled(&f, p)
            },
            callback,
        ))
    }

    /// Acknowledges record `id`: its tenant's checkpoint moves past it. `CheckpointError`
    /// when it is not out (answered, released, or abandoned by a tenant that stopped).
    fn ack(&self, py: Python<'_>, id: u64) -> PyResult<()> {
        self.fleet()?.ack(id).map_err(|e| to_py_err(py, &e))
    }

    /// Fails record `id`: it stays unacknowledged and its tenant stops as failed.
    fn fail(&self, py: Python<'_>, id: u64, message: &str) -> PyResult<()> {
        self.fleet()?
            .fail(id, message)
            .map_err(|e| to_py_err(py, &e))
    }

    /// Gives record `id` back unanswered: it comes again.
    fn release(&self, py: Python<'_>, id: u64) -> PyResult<()> {
        self.fleet()?.release(id).map_err(|e| to_py_err(py, &e))
    }

    /// Re-reads the tenants file; returns what changed as JSON (`started`, `stopped`,
    /// `restarted`). An invalid file is refused whole. Releases the GIL.
    fn reload(&self, py: Python<'_>) -> PyResult<String> {
        let f = self.fleet()?;
        Self::block_on(py, f.handle(), async move { applied(f.reload().await) })
    }

    /// `reload` for asyncio: `callback(ok, payload)`.
    fn reload_async(&self, callback: Completion) -> PyResult<TaskHandle> {
        let f = self.fleet()?;
        Ok(spawn_with_callback(
            &f.handle(),
            async move { applied(f.reload().await) },
            callback,
        ))
    }

    /// Every tenant's state (`TenantState`) as a JSON list, those that need attention first.
    fn states(&self) -> PyResult<String> {
        let fleet = self.fleet()?;
        serde_json::to_string(&fleet.states())
            .map_err(|e| PyRuntimeError::new_err(format!("cannot encode the states: {e}")))
    }

    /// Tells the fleet to stop, from any thread, without waiting: `next` raises
    /// `CancelledError` from now on.
    fn stop(&self) -> PyResult<()> {
        self.fleet()?.stop();
        Ok(())
    }

    /// Stops every tenant (records out are abandoned, unacknowledged, and come again after a
    /// restart), closes the checkpoint store and frees the fleet; a no-op when closed.
    /// Releases the GIL.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        check_not_in_runtime()?;
        let taken = self
            .fleet
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the fleet's lock is poisoned"))?
            .take();
        let Some(fleet) = taken else {
            return Ok(());
        };
        if self.created != pid() {
            // A fleet inherited through fork() has no threads: leak it.
            std::mem::forget(fleet);
            return Ok(());
        }
        py.detach(move || {
            let handle = fleet.handle();
            handle.block_on(fleet.shutdown());
            // The last reference (unless an asyncio call is still out) closes the store.
            drop(fleet);
        });
        Ok(())
    }

    /// How many tenants (never a token).
    fn __repr__(&self) -> String {
        if self.created != pid() {
            return "NativeFleet(inherited through fork)".into();
        }
        let n = self
            .fleet
            .lock()
            .ok()
            .and_then(|f| f.as_ref().map(|f| f.states().len()));
        match n {
            Some(n) => format!("NativeFleet(tenants={n})"),
            None => "NativeFleet(closed)".into(),
        }
    }
}

impl Drop for NativeFleet {
    /// A fleet never closed: stopped here without the GIL (its runtime's threads may be
    /// waiting for it to log), or leaked in a child after `os.fork()` (it has no threads).
    fn drop(&mut self) {
        let Some(fleet) = self.fleet.get_mut().ok().and_then(Option::take) else {
            return;
        };
        if self.created != pid() {
            std::mem::forget(fleet);
            return;
        }
        // Without an interpreter to attach to, the closure (and the fleet) is dropped as is.
        let _ = Python::try_attach(move |py| py.detach(move || drop(fleet)));
    }
}

fn applied(a: safe_tracker::Result<safe_tracker::fleet::Applied>) -> safe_tracker::Result<String> {
    let a = a?;
    serde_json::to_string(&a).map_err(|e| Error::Consumer(format!("cannot encode the answer: {e}")))
}
