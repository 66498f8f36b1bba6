//! [`HostFleet`]: the core's [`Fleet`] for the bindings. It runs on a runtime of its own and
//! hands records to the host through a pull interface ([`HostFleet::next`], then
//! [`HostFleet::ack`] or [`HostFleet::fail`]), so host code never runs on a runtime thread and
//! a record's checkpoint moves only after the host acknowledged it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::HostRecord;
use crate::error::{Error, Result};
use crate::fleet::{
    Applied, DeliverFuture, Fleet, FleetOptions, FleetRecord, FleetSink, TenantSpec, TenantState,
    TenantsFile, TenantsOptions,
};
use crate::poller::{CheckpointStore, GroupCommit, MemoryCheckpoint, SqliteCheckpoint};

/// What a host fleet is started with (JSON, snake_case keys).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostFleetOptions {
    /// The tenants file (TOML, as `serve --tenants`).
    tenants_file: PathBuf,
    /// `{"kind":"sqlite","path":…}` (one database for every tenant, group-committed) or
    /// `{"kind":"memory"}`.
    checkpoint: Value,
    #[serde(default = "default_rate")]
    max_requests_per_second: f64,
    /// Seconds a parked tenant waits before it tries again.
    #[serde(default = "default_park_retry")]
    park_retry: f64,
    #[serde(default)]
    allow_insecure_http: bool,
    /// States a previous run returned from [`HostFleet::states`] (parked tenants keep their
    /// next attempt, disabled ones stay so until their entry changes).
    #[serde(default)]
    states: Vec<TenantState>,
}

fn default_rate() -> f64 {
    FleetOptions::default().max_requests_per_second
}

fn default_park_retry() -> f64 {
    FleetOptions::default().park_retry.as_secs_f64()
}

/// A record handed to the host: answer it with [`HostFleet::ack`] or [`HostFleet::fail`]
/// and its `id`.
#[derive(Debug)]
pub struct HostDelivery {
    /// What the answer names.
    pub id: u64,
    /// The tenant's name.
    pub tenant: String,
    /// The record (shared with the fleet, which keeps it until it is answered, so a record
    /// given back comes again without a copy).
    pub record: Arc<HostRecord>,
}

/// What [`HostFleet::next`] found.
#[derive(Debug)]
pub enum Pulled {
    /// A record to handle.
    Record(HostDelivery),
    /// Nothing within the wait.
    Idle,
    /// The fleet is stopping: no more records.
    Stopped,
}

/// A record a tenant offers, waiting for the host.
struct Offered {
    tenant: String,
    record: Arc<HostRecord>,
    answer: oneshot::Sender<std::result::Result<(), String>>,
}

/// The sink of a host fleet: one checkpoint store for every tenant, records offered to the
/// host one at a time per stream.
struct HostSink {
    store: Arc<dyn CheckpointStore>,
    offers: mpsc::Sender<Offered>,
}

impl FleetSink for HostSink {
    fn store(&self, _tenant: &TenantSpec) -> Result<Arc<dyn CheckpointStore>> {
        Ok(self.store.clone())
    }

    fn deliver(&self, tenant: &str, record: FleetRecord) -> DeliverFuture {
        let (answer, answered) = oneshot::channel();
        let offer = Offered {
            tenant: tenant.to_string(),
            record: Arc::new(match record {
                FleetRecord::Item(r) => HostRecord::Items(r),
                FleetRecord::Updated(r) => HostRecord::Updated(r),
            }),
            answer,
        };
        let offers = self.offers.clone();
        Box::pin(async move {
            offers.send(offer).await.map_err(|_| {
                "the fleet is stopping: the record stays unacknowledged".to_string()
            })?;
            answered.await.map_err(|_| {
                "the host never answered the record (the fleet stopped): it stays unacknowledged"
                    .to_string()
            })?
        })
    }
}

struct Shared {
    fleet: Fleet,
    intake: tokio::sync::Mutex<mpsc::Receiver<Offered>>,
    /// Records out with the host, each kept whole so that one released comes again.
    handed: Mutex<HashMap<u64, Offered>>,
    /// Records the host released (or never received), handed out again before the intake.
    returned: Mutex<std::collections::VecDeque<Offered>>,
    /// Wakes a waiting [`HostFleet::next`] when a record is returned.
    returned_ready: tokio::sync::Notify,
    next_id: AtomicU64,
    stopping: CancellationToken,
    tenants_file: PathBuf,
    tenants_options: TenantsOptions,
}

/// Many tenants' pollers for a host application: [`Fleet`] on a runtime of its own (two
/// worker threads), its tenants from a tenants file, every record pulled by the host.
///
/// Delivery is at least once, in order per tenant and stream: the host takes a record with
/// [`HostFleet::next`] and answers it with [`HostFleet::ack`] (the checkpoint then moves past
/// it) or [`HostFleet::fail`] (it stays unacknowledged and the tenant stops as failed). A
/// tenant stopped while its record is out (a reload that removes it, [`HostFleet::shutdown`])
/// abandons it: the answer is refused and the record comes again.
pub struct HostFleet {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HostFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFleet")
            .field("fleet", &self.shared.fleet)
            .finish()
    }
}

impl HostFleet {
    /// Reads the options (JSON), the tenants file (validated as a whole) and opens the
    /// checkpoint store; starts every enabled tenant. `host_language` is reported in the
    /// `User-Agent` of every tenant.
    pub fn start(options_json: &str, host_language: &str) -> Result<HostFleet> {
        let options: HostFleetOptions = serde_json::from_str(options_json)
            .map_err(|e| Error::InvalidConfig(format!("invalid fleet options: {e}")))?;
        let park_retry = crate::config::setting_secs("park_retry", options.park_retry)?;
        let tenants_options = TenantsOptions {
            allow_insecure_http: options.allow_insecure_http,
            host_language: Some(host_language.to_string()),
        };
        let tenants = TenantsFile::load(&options.tenants_file, &tenants_options)?;
        for w in &tenants.warnings {
            tracing::warn!("{w}");
        }
        let store = fleet_store(&options.checkpoint)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("safe-tracker-fleet")
            .enable_all()
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot start the fleet's runtime: {e}")))?;
        // Room for one record per stream of a few thousand tenants before a tenant waits.
        let (offers, intake) = mpsc::channel(4096);
        let fleet = Fleet::new(
            Arc::new(HostSink { store, offers }),
            FleetOptions {
                max_requests_per_second: options.max_requests_per_second,
                park_retry,
            },
        )?;
        fleet.restore(options.states);
        let shared = Arc::new(Shared {
            fleet,
            intake: tokio::sync::Mutex::new(intake),
            handed: Mutex::new(HashMap::new()),
            returned: Mutex::new(std::collections::VecDeque::new()),
            returned_ready: tokio::sync::Notify::new(),
            next_id: AtomicU64::new(1),
            stopping: CancellationToken::new(),
            tenants_file: options.tenants_file,
            tenants_options,
        });
        let fleet = shared.fleet.clone();
        let applied = runtime.handle().clone();
        let host = HostFleet {
            runtime: Some(runtime),
            shared,
        };
        host.run_on(
            applied,
            async move { Ok(fleet.apply(&tenants.tenants).await) },
        )?;
        Ok(host)
    }

    /// The runtime the fleet runs on, for a binding's blocking calls
    /// (`handle().block_on(…)` from a thread outside any runtime).
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .handle()
            .clone()
    }

    /// Blocks on `fut` run by the fleet's runtime (start's first apply).
    fn run_on<T: Send + 'static>(
        &self,
        handle: tokio::runtime::Handle,
        fut: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::InvalidConfig(
                "start the fleet outside an async runtime's thread (it runs its own)".into(),
            ));
        }
        handle.block_on(fut)
    }

    /// The next record any tenant offers, waiting up to `wait`; [`Pulled::Stopped`] once the
    /// fleet is stopping. Safe to call from several threads (each gets different records).
    /// Runs on any runtime, or from `handle().block_on`. Cancel-safe: a record this call took
    /// but could not hand over (the call was dropped) comes again.
    pub async fn next(&self, wait: Duration) -> Pulled {
        let shared = self.shared.clone();
        let pulled = self.handle().spawn(async move {
            let deadline = tokio::time::Instant::now() + wait;
            let mut intake = tokio::select! {
                i = shared.intake.lock() => i,
                _ = tokio::time::sleep_until(deadline) => return (Pulled::Idle, Unclaimed(None)),
            };
            loop {
                if shared.stopping.is_cancelled() {
                    return (Pulled::Stopped, Unclaimed(None));
                }
                let returned = shared.returned.lock().ok().and_then(|mut r| r.pop_front());
                let offer = match returned {
                    Some(offer) => Some(offer),
                    None => tokio::select! {
                        biased;
                        _ = shared.stopping.cancelled() => return (Pulled::Stopped, Unclaimed(None)),
                        _ = shared.returned_ready.notified() => continue,
                        o = intake.recv() => o,
                        _ = tokio::time::sleep_until(deadline) => return (Pulled::Idle, Unclaimed(None)),
                    },
                };
                let Some(offer) = offer else {
                    return (Pulled::Stopped, Unclaimed(None));
                };
                // A tenant that stopped meanwhile no longer waits for this one.
                if offer.answer.is_closed() {
                    continue;
                }
                let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                let delivery = HostDelivery {
                    id,
                    tenant: offer.tenant.clone(),
                    record: offer.record.clone(),
                };
                if let Ok(mut handed) = shared.handed.lock() {
                    handed.insert(id, offer);
                }
                return (
                    Pulled::Record(delivery),
                    Unclaimed(Some((shared.clone(), id))),
                );
            }
        });
        match pulled.await {
            Ok((pulled, mut unclaimed)) => {
                unclaimed.0 = None;
                pulled
            }
            Err(_) => Pulled::Stopped,
        }
    }

    /// Acknowledges record `id`: its tenant's checkpoint moves past it. Refused (a
    /// [`Error::Checkpoint`]) when the record is not out: answered already, or abandoned
    /// because its tenant stopped (it will be delivered again).
    pub fn ack(&self, id: u64) -> Result<()> {
        self.answer(id, Ok(()))
    }

    /// Fails record `id` with the host's `message`: it stays unacknowledged and its tenant
    /// stops as failed (its state says why) until its entry changes or the fleet restarts.
    pub fn fail(&self, id: u64, message: &str) -> Result<()> {
        self.answer(id, Err(message.to_string()))
    }

    /// Gives record `id` back unanswered: it is handed out again (first) by a later
    /// [`HostFleet::next`], and its tenant keeps waiting. For a host that took a record it
    /// cannot handle now (its task was cancelled); refused like [`HostFleet::ack`] when the
    /// record is not out.
    pub fn release(&self, id: u64) -> Result<()> {
        match self.shared.release(id) {
            true => Ok(()),
            false => Err(not_out(id)),
        }
    }

    fn answer(&self, id: u64, answer: std::result::Result<(), String>) -> Result<()> {
        let offer = self
            .shared
            .handed
            .lock()
            .map_err(|_| Error::Checkpoint("the fleet's records are poisoned".into()))?
            .remove(&id);
        offer
            .ok_or_else(|| not_out(id))?
            .answer
            .send(answer)
            .map_err(|_| not_out(id))
    }

    /// Re-reads the tenants file: added tenants start, removed ones stop (after their
    /// current record), changed ones restart. An invalid file is refused whole and the
    /// running set goes on.
    pub async fn reload(&self) -> Result<Applied> {
        let shared = self.shared.clone();
        self.handle()
            .spawn(async move {
                let tenants = TenantsFile::load(&shared.tenants_file, &shared.tenants_options)?;
                for w in &tenants.warnings {
                    tracing::warn!("{w}");
                }
                Ok(shared.fleet.apply(&tenants.tenants).await)
            })
            .await
            .map_err(|e| Error::Consumer(format!("the reload failed: {e}")))?
    }

    /// Every tenant's state, those that need attention first.
    pub fn states(&self) -> Vec<TenantState> {
        self.shared.fleet.states()
    }

    /// Tells the fleet to stop (from any thread, without waiting): [`HostFleet::next`]
    /// answers [`Pulled::Stopped`] from now on.
    pub fn stop(&self) {
        self.shared.stopping.cancel();
    }

    /// Stops every tenant (records out are abandoned, unacknowledged) and waits for them;
    /// the checkpoint store closes when the fleet is dropped.
    pub async fn shutdown(&self) {
        self.stop();
        let shared = self.shared.clone();
        let _ = self
            .handle()
            .spawn(async move {
                shared.fleet.shutdown().await;
                // Whatever is still out can no longer be answered.
                if let Ok(mut handed) = shared.handed.lock() {
                    handed.clear();
                }
                if let Ok(mut returned) = shared.returned.lock() {
                    returned.clear();
                }
            })
            .await;
    }
}

impl Drop for HostFleet {
    /// Stops the runtime (its tenants abandon any record out) and closes the checkpoint
    /// store before returning, so a new fleet may open it at once; on a runtime's thread,
    /// where blocking is not allowed, the runtime stops in the background instead.
    fn drop(&mut self) {
        self.stop();
        if let Some(rt) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(10));
            }
        }
    }
}

/// The refusal of an answer for a record that is not out.
fn not_out(id: u64) -> Error {
    Error::Checkpoint(format!(
        "record {id} is not out: answered already, or abandoned when its tenant stopped (it \
         will be delivered again)"
    ))
}

impl Shared {
    /// Moves record `id` from the host's hands back to the front of the queue; false when it
    /// is not out.
    fn release(&self, id: u64) -> bool {
        let Some(offer) = self.handed.lock().ok().and_then(|mut h| h.remove(&id)) else {
            return false;
        };
        if let Ok(mut returned) = self.returned.lock() {
            returned.push_back(offer);
        }
        self.returned_ready.notify_one();
        true
    }
}

/// A record [`HostFleet::next`] handed out whose caller may be gone: released on drop
/// unless the caller received it.
struct Unclaimed(Option<(Arc<Shared>, u64)>);

impl Drop for Unclaimed {
    fn drop(&mut self) {
        if let Some((shared, id)) = self.0.take() {
            shared.release(id);
        }
    }
}

/// The checkpoint store of a host fleet from its spec.
fn fleet_store(spec: &Value) -> Result<Arc<dyn CheckpointStore>> {
    let kind = spec.get("kind").and_then(Value::as_str);
    match kind {
        Some("memory") => Ok(Arc::new(MemoryCheckpoint::new())),
        Some("sqlite") => {
            let path = spec
                .get("path")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| Error::InvalidConfig("the checkpoint needs a path".into()))?;
            let db = Arc::new(SqliteCheckpoint::open_whole(path)?);
            Ok(Arc::new(GroupCommit::new(db, 512)?))
        }
        other => Err(Error::InvalidConfig(format!(
            "a fleet's checkpoint is {{\"kind\": \"sqlite\", \"path\": …}} or \
             {{\"kind\": \"memory\"}}, not {other:?}"
        ))),
    }
}
