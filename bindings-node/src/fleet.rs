//! `NativeFleet`: the core's [`HostFleet`] for Node. The fleet runs on a runtime of its own;
//! JavaScript pulls each record (`next`, a Promise) and answers it (`ack`, `fail`, `release`),
//! so handler code runs on the event loop and a record's checkpoint moves only once answered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use safe_tracker::Error as SafeError;
use safe_tracker::host::{HostFleet, HostRecord, Pulled};

use crate::{guard, guard_async, reject};

/// A record pulled from the fleet.
#[napi(object)]
pub struct FleetDelivery {
    /// What `ack`, `fail` and `release` name.
    pub id: f64,
    /// The tenant's name.
    pub tenant: String,
    /// `items` or `updated`.
    pub kind: String,
    /// The record (JSON, the core's snake_case keys).
    pub record: String,
}

/// Many tenants' pollers from a tenants file, their records pulled by JavaScript.
#[napi]
pub struct NativeFleet {
    /// `None` once closed.
    fleet: Mutex<Option<Arc<HostFleet>>>,
}

/// A record id from JavaScript (an integer below 2^53).
fn record_id(id: f64) -> Result<u64> {
    if id.is_finite() && id >= 1.0 && id.fract() == 0.0 && id <= 9_007_199_254_740_991.0 {
        Ok(id as u64)
    } else {
        Err(reject(&SafeError::validation(
            "id",
            "a record id is the positive integer `next` returned",
        )))
    }
}

impl Drop for NativeFleet {
    /// A fleet never closed (collected by the garbage collector): stopped on a thread of its
    /// own, so the event loop does not wait for its tenants.
    fn drop(&mut self) {
        if let Some(fleet) = self.fleet.get_mut().ok().and_then(Option::take) {
            let spawned = std::thread::Builder::new()
                .name("safe-tracker-fleet-drop".into())
                .spawn(move || drop(fleet));
            // No thread to be had: the fleet stops here instead (it cannot be lost).
            drop(spawned);
        }
    }
}

impl NativeFleet {
    fn fleet(&self) -> Result<Arc<HostFleet>> {
        self.fleet
            .lock()
            .map_err(|_| reject(&SafeError::Consumer("the fleet's lock is poisoned".into())))?
            .clone()
            .ok_or_else(|| reject(&SafeError::Consumer("this fleet is closed".into())))
    }
}

#[napi]
impl NativeFleet {
    /// Starts the fleet (options JSON: `tenants_file`, `checkpoint`, `max_requests_per_second`,
    /// `park_retry`, `allow_insecure_http`, `states`): the tenants file is validated as a
    /// whole and every enabled tenant starts.
    #[napi(constructor, catch_unwind)]
    pub fn new(options_json: String) -> Result<Self> {
        guard(|| {
            let fleet = HostFleet::start(&options_json, "node").map_err(|e| reject(&e))?;
            Ok(NativeFleet {
                fleet: Mutex::new(Some(Arc::new(fleet))),
            })
        })
    }

    /// The next record, waiting up to `waitMs`; `null` when none came; rejects with
    /// `Cancelled` once the fleet stops.
    #[napi(catch_unwind)]
    pub async fn next(&self, wait_ms: u32) -> Result<Option<FleetDelivery>> {
        let fleet = self.fleet()?;
        guard_async(async move {
            match fleet.next(Duration::from_millis(wait_ms.into())).await {
                Pulled::Record(d) => {
                    let kind = match *d.record {
                        HostRecord::Items(_) => "items",
                        HostRecord::Updated(_) => "updated",
                    };
                    let record = match d.record.json() {
                        Ok(json) => json,
                        Err(e) => {
                            // Not handed over: it comes again rather than stay out.
                            let _ = fleet.release(d.id);
                            return Err(reject(&e));
                        }
                    };
                    Ok(Some(FleetDelivery {
                        id: d.id as f64,
                        tenant: d.tenant,
                        kind: kind.into(),
                        record,
                    }))
                }
                Pulled::Idle => Ok(None),
                Pulled::Stopped => Err(reject(&SafeError::Cancelled)),
            }
        })
        .await
    }

    /// Acknowledges record `id`: its tenant's checkpoint moves past it. Throws
    /// `CheckpointError` when it is not out (answered, released, or abandoned by a tenant that
    /// stopped).
    #[napi(catch_unwind)]
    pub fn ack(&self, id: f64) -> Result<()> {
        guard(|| self.fleet()?.ack(record_id(id)?).map_err(|e| reject(&e)))
    }

    /// Fails record `id`: it stays unacknowledged and its tenant stops as failed.
    #[napi(catch_unwind)]
    pub fn fail(&self, id: f64, message: String) -> Result<()> {
        guard(|| {
            self.fleet()?
                .fail(record_id(id)?, &message)
                .map_err(|e| reject(&e))
        })
    }

    /// Gives record `id` back unanswered: it comes again.
    #[napi(catch_unwind)]
    pub fn release(&self, id: f64) -> Result<()> {
        guard(|| {
            self.fleet()?
                .release(record_id(id)?)
                .map_err(|e| reject(&e))
        })
    }

    /// Re-reads the tenants file; resolves to what changed as JSON (`started`, `stopped`,
    /// `restarted`). An invalid file is refused whole and the running set goes on.
    #[napi(catch_unwind)]
    pub async fn reload(&self) -> Result<String> {
        let fleet = self.fleet()?;
        guard_async(async move {
            let applied = fleet.reload().await.map_err(|e| reject(&e))?;
            serde_json::to_string(&applied).map_err(|e| {
                reject(&SafeError::Consumer(format!(
                    "cannot encode the answer: {e}"
                )))
            })
        })
        .await
    }

    /// Every tenant's state (`TenantState`) as a JSON list, those that need attention first.
    #[napi(catch_unwind)]
    pub fn states(&self) -> Result<String> {
        guard(|| {
            serde_json::to_string(&self.fleet()?.states()).map_err(|e| {
                reject(&SafeError::Consumer(format!(
                    "cannot encode the states: {e}"
                )))
            })
        })
    }

    /// Tells the fleet to stop without waiting: `next` rejects with `Cancelled` from now on.
    #[napi(catch_unwind)]
    pub fn stop(&self) -> Result<()> {
        guard(|| {
            self.fleet()?.stop();
            Ok(())
        })
    }

    /// Stops every tenant (records out are abandoned, unacknowledged, and come again after a
    /// restart), then closes the checkpoint store; nothing when closed already.
    #[napi(catch_unwind)]
    pub async fn close(&self) -> Result<()> {
        let taken = self
            .fleet
            .lock()
            .map_err(|_| reject(&SafeError::Consumer("the fleet's lock is poisoned".into())))?
            .take();
        let Some(fleet) = taken else {
            return Ok(());
        };
        guard_async(async move {
            fleet.shutdown().await;
            // Dropped on a thread outside any runtime, the fleet stops its runtime and closes
            // its store before the promise resolves (on a runtime thread it could not wait).
            let (done, closed) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                drop(fleet);
                let _ = done.send(());
            });
            let _ = closed.await;
            Ok(())
        })
        .await
    }
}
