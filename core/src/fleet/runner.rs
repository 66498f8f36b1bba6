//! [`Fleet`]: every tenant's pollers on one runtime, each driven by the core's poller
//! [`Driver`](crate::poller::Driver), sharing one connection pool per SAFE host, one
//! process-wide request cap and the per-account sweep floors; one tenant's failure never
//! stops another.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::tenants::TenantSpec;
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};
use crate::pacing::RequestCap;
use crate::poller::{
    AccountErrors, CheckpointStore, Decision, Driver, ItemRecord, Poller, Schedule, SweepReport,
    UpdatedPoller, UpdatedRecord,
};
use crate::transport::HttpPool;

/// Why a record in the sink's hands was not acknowledged when its tenant stopped.
const ABANDONED: &str = "the tenant stopped before the record was taken: it stays unacknowledged";

/// One sweep of a tenant's stream under way.
type SweepFuture<'a> = Pin<Box<dyn Future<Output = Result<SweepReport>> + Send + 'a>>;

/// One record of a tenant, for a [`FleetSink`].
#[derive(Debug, Clone)]
pub enum FleetRecord {
    /// A new item (the sequential poller).
    Item(Box<ItemRecord>),
    /// A changed item (the updated-items stream).
    Updated(Box<UpdatedRecord>),
}

/// A delivery under way ([`FleetSink::deliver`]); `Err(message)` leaves the record
/// unacknowledged.
pub type DeliverFuture = Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send>>;

/// Where a fleet's records and checkpoints go.
pub trait FleetSink: Send + Sync + 'static {
    /// The checkpoint store of `tenant`'s pollers (called when the tenant starts).
    fn store(&self, tenant: &TenantSpec) -> Result<Arc<dyn CheckpointStore>>;
    /// Takes one record of `tenant`. The record is acknowledged when this completes with
    /// `Ok`, and the poller then saves its checkpoint through the tenant's store (a store that
    /// writes the records it took with that save keeps "never lost, never twice").
    fn deliver(&self, tenant: &str, record: FleetRecord) -> DeliverFuture;
    /// `tenant`'s state changed (for a store that keeps a table of them). Default: nothing.
    fn state_changed(&self, _state: &TenantState) {}
}

/// What a tenant is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantPhase {
    /// Opening its pollers.
    Starting,
    /// Sweeping or waiting for its next sweep.
    Running,
    /// Transient failures: its next sweep waits longer.
    BackingOff,
    /// An auth or licence error: retried on the slow schedule.
    Parked,
    /// Its account is disabled: retried only once its entry in the tenants file changes.
    Disabled,
    /// Stopped by an error a person must look at (a checkpoint or consumer error, a panic).
    Failed,
    /// Another process owns it now (its store said so).
    Fenced,
    /// Not running: removed, disabled in the file, or the fleet stopped.
    Stopped,
}

impl TenantPhase {
    /// The name used in the store, metrics and pages.
    pub fn name(self) -> &'static str {
        match self {
            TenantPhase::Starting => "starting",
            TenantPhase::Running => "running",
            TenantPhase::BackingOff => "backing_off",
            TenantPhase::Parked => "parked",
            TenantPhase::Disabled => "disabled",
            TenantPhase::Failed => "failed",
            TenantPhase::Fenced => "fenced",
            TenantPhase::Stopped => "stopped",
        }
    }

    /// Whether the phase ends the tenant's task (until its entry changes or a restart).
    pub fn ends_tenant(self) -> bool {
        matches!(
            self,
            TenantPhase::Disabled | TenantPhase::Failed | TenantPhase::Fenced
        )
    }

    /// Whether an operator should look (listed first).
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            TenantPhase::Parked | TenantPhase::Disabled | TenantPhase::Failed | TenantPhase::Fenced
        )
    }
}

/// The last error of a tenant: its stable code and a message that never holds a response
/// body (which may hold evidence data) or the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TenantError {
    /// Stable code.
    pub code: u32,
    /// Stable name of the code.
    pub name: String,
    /// The code's one-line description with the HTTP status and templated path, when there
    /// was a request.
    pub message: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl TenantError {
    fn of(e: &Error) -> TenantError {
        let info = crate::host::error_info(e);
        // The code's own one-line description, then where: never the error's text, which may
        // quote a response body.
        let mut message = e.code().doc().trim_end_matches('.').to_string();
        if let Some(status) = info.status {
            message.push_str(&format!(" (HTTP {status}"));
            if let Some(path) = &info.path {
                message.push_str(&format!(", {path}"));
            }
            message.push(')');
        }
        TenantError {
            code: info.code,
            name: info.name.to_string(),
            message,
            at: Utc::now(),
        }
    }
}

/// One tenant's state, as `fleet status`, metrics and the status page show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TenantState {
    /// The tenant's name.
    pub name: String,
    /// Its organisation.
    pub organization_id: u64,
    /// What it is doing.
    pub phase: TenantPhase,
    /// Since when.
    pub since: DateTime<Utc>,
    /// When a parked or backing-off tenant sweeps again.
    pub next_attempt: Option<DateTime<Utc>>,
    /// The last error, kept until a sweep completes.
    pub last_error: Option<TenantError>,
    /// The next number its sequential poller asks for.
    pub cursor: Option<u64>,
    /// When it last reached a blank answer (caught up); the lag is the time since.
    pub caught_up_at: Option<DateTime<Utc>>,
    /// When its last sweep started.
    pub last_sweep: Option<DateTime<Utc>>,
    /// Records delivered by this process.
    pub delivered: u64,
    /// Requests this process sent for the tenant (every attempt).
    pub requests: u64,
    /// Failed sweeps in this process, by error name.
    pub errors: BTreeMap<String, u64>,
    /// The revision of its entry in the tenants file.
    pub revision: String,
}

impl TenantState {
    /// How long since the tenant was last caught up (its lag), at `now`; never negative.
    pub fn lag(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.caught_up_at
            .map(|t| (now - t).max(chrono::Duration::zero()))
    }

    /// The order operators read tenants in: those that need attention first, then by name.
    pub fn sort_for_operators(states: &mut [TenantState]) {
        states.sort_by(|a, b| {
            (!a.phase.needs_attention(), &a.name).cmp(&(!b.phase.needs_attention(), &b.name))
        });
    }
}

/// How a fleet runs.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// The most requests per second across every tenant (shared in turn: each waiting
    /// request is served in the order it asked, so one backlog cannot starve the others).
    pub max_requests_per_second: f64,
    /// How long a parked tenant (auth or licence error) waits before it tries again.
    pub park_retry: Duration,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            max_requests_per_second: 20.0,
            park_retry: Duration::from_secs(3600),
        }
    }
}

/// What [`Fleet::apply`] changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Tenants started.
    pub started: Vec<String>,
    /// Tenants stopped (removed or disabled).
    pub stopped: Vec<String>,
    /// Tenants restarted with new settings.
    pub restarted: Vec<String>,
}

struct Running {
    revision: String,
    token_check: super::tenants::TokenCheck,
    cancel: CancellationToken,
    done: tokio::task::JoinHandle<()>,
}

struct Inner {
    sink: Arc<dyn FleetSink>,
    options: FleetOptions,
    cap: RequestCap,
    pools: Mutex<HashMap<String, HttpPool>>,
    running: tokio::sync::Mutex<BTreeMap<String, Running>>,
    /// Set by [`Fleet::shutdown`] under the `running` lock: no apply starts a tenant after it.
    shut: std::sync::atomic::AtomicBool,
    states: Mutex<BTreeMap<String, TenantState>>,
}

/// Many tenants' pollers in one process. Cheap to clone.
#[derive(Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("options", &self.inner.options)
            .field("tenants", &self.states().len())
            .finish()
    }
}

impl Fleet {
    /// A fleet writing to `sink`; nothing runs until [`Fleet::apply`].
    pub fn new(sink: Arc<dyn FleetSink>, options: FleetOptions) -> Result<Fleet> {
        let cap = RequestCap::new(options.max_requests_per_second, 1)
            .map_err(|e| Error::InvalidConfig(format!("max_requests_per_second: {e}")))?;
        crate::config::setting_secs("park_retry", options.park_retry.as_secs_f64())?;
        Ok(Fleet {
            inner: Arc::new(Inner {
                sink,
                options,
                cap,
                pools: Mutex::new(HashMap::new()),
                running: tokio::sync::Mutex::new(BTreeMap::new()),
                shut: std::sync::atomic::AtomicBool::new(false),
                states: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// The process-wide request cap every tenant's client shares.
    pub fn request_cap(&self) -> &RequestCap {
        &self.inner.cap
    }

    /// Makes the running set `tenants`' enabled entries: starts the new ones, stops the ones
    /// gone or disabled (after their current record), restarts the ones whose revision
    /// changed. Call it inside the runtime that runs the fleet. After [`Fleet::shutdown`] it
    /// changes nothing.
    pub async fn apply(&self, tenants: &[TenantSpec]) -> Applied {
        let mut applied = Applied::default();
        let wanted: BTreeMap<&str, &TenantSpec> = tenants
            .iter()
            .filter(|t| t.enabled)
            .map(|t| (t.name.as_str(), t))
            .collect();
        let mut running = self.inner.running.lock().await;
        if self.inner.shut.load(std::sync::atomic::Ordering::SeqCst) {
            return applied;
        }
        let gone: Vec<String> = running
            .keys()
            .filter(|name| !wanted.contains_key(name.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(r) = running.remove(&name) {
                stop(r).await;
                self.inner.set_phase(&name, TenantPhase::Stopped, None);
                applied.stopped.push(name);
            }
        }
        for (name, spec) in wanted {
            match running.get(name) {
                // Unchanged: left running, or, if it ended on its own (a disabled account, a
                // failure, fenced), left ended until its entry changes.
                Some(r) if r.revision == spec.revision && r.token_check == spec.token_check => {
                    continue;
                }
                Some(_) => {
                    if let Some(r) = running.remove(name) {
                        stop(r).await;
                    }
                    applied.restarted.push(name.to_string());
                }
                None if self.inner.disabled_at(name, &spec.revision) => continue,
                None => applied.started.push(name.to_string()),
            }
            running.insert(name.to_string(), self.start(spec.clone()));
        }
        applied
    }

    /// Takes the states a store recorded (a restart): shown until each tenant reports again,
    /// and a tenant recorded as [`TenantPhase::Disabled`] stays so until its entry changes.
    /// Call it before the first [`Fleet::apply`].
    pub fn restore(&self, states: Vec<TenantState>) {
        if let Ok(mut all) = self.inner.states.lock() {
            for s in states {
                all.entry(s.name.clone()).or_insert(s);
            }
        }
    }

    /// Stops every tenant (each finishes or abandons its current record, unacknowledged) and
    /// waits for them; the fleet starts no tenant after this.
    pub async fn shutdown(&self) {
        let mut running = self.inner.running.lock().await;
        self.inner
            .shut
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let all = std::mem::take(&mut *running);
        // Every tenant is told at once, then awaited: none polls on while others finish.
        for r in all.values() {
            r.cancel.cancel();
        }
        for (name, r) in all {
            let _ = r.done.await;
            // Parked, disabled, failed and fenced tenants stay recorded as such (with a parked
            // one's next attempt), so a restart neither hammers nor forgets them.
            self.inner.update(&name, |s| {
                if !s.phase.needs_attention() {
                    s.phase = TenantPhase::Stopped;
                    s.since = Utc::now();
                    s.next_attempt = None;
                }
            });
        }
    }

    /// Every tenant's state, those that need attention first, then by name.
    pub fn states(&self) -> Vec<TenantState> {
        let mut all: Vec<TenantState> = self
            .inner
            .states
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        TenantState::sort_for_operators(&mut all);
        all
    }

    /// One tenant's state.
    pub fn state(&self, name: &str) -> Option<TenantState> {
        self.inner
            .states
            .lock()
            .ok()
            .and_then(|s| s.get(name).cloned())
    }

    fn start(&self, spec: TenantSpec) -> Running {
        let cancel = CancellationToken::new();
        let inner = self.inner.clone();
        let revision = spec.revision.clone();
        let token_check = spec.token_check;
        let name = spec.name.clone();
        // Parked before a restart (same entry): it keeps its next attempt.
        let now = Utc::now();
        let parked_until = inner
            .states
            .lock()
            .ok()
            .and_then(|s| s.get(&spec.name).cloned())
            .filter(|s| s.phase == TenantPhase::Parked && s.revision == spec.revision)
            .and_then(|s| s.next_attempt)
            .filter(|t| *t > now);
        inner.update(&spec.name, |s| {
            *s = TenantState {
                name: spec.name.clone(),
                organization_id: spec.organization_id(),
                phase: TenantPhase::Starting,
                since: Utc::now(),
                next_attempt: None,
                last_error: s.last_error.clone(),
                cursor: s.cursor,
                caught_up_at: s.caught_up_at,
                last_sweep: s.last_sweep,
                delivered: s.delivered,
                requests: s.requests,
                errors: s.errors.clone(),
                revision: spec.revision.clone(),
            }
        });
        // Every log line of the tenant's pollers names it (the span's field).
        let span = tracing::info_span!("tenant", tenant = %spec.name);
        let task = tokio::spawn(tracing::Instrument::instrument(
            run_tenant(inner.clone(), spec, cancel.clone(), parked_until),
            span,
        ));
        // A panic in the tenant's task is contained here and reported as its state.
        let done = tokio::spawn(async move {
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(tenant = %name, "the tenant's task panicked; it is stopped");
                inner.update(&name, |s| {
                    s.phase = TenantPhase::Failed;
                    s.since = Utc::now();
                    s.last_error = Some(TenantError {
                        code: ErrorCode::Consumer.as_u32(),
                        name: "panic".into(),
                        message: "internal error (panic) in the tenant's task".into(),
                        at: Utc::now(),
                    });
                });
            }
        });
        Running {
            revision,
            token_check,
            cancel,
            done,
        }
    }
}

async fn stop(r: Running) {
    r.cancel.cancel();
    let _ = r.done.await;
}

impl Inner {
    fn update(&self, name: &str, f: impl FnOnce(&mut TenantState)) {
        let snapshot = {
            let Ok(mut states) = self.states.lock() else {
                return;
            };
            let state = states
                .entry(name.to_string())
                .or_insert_with(|| TenantState {
                    name: name.to_string(),
                    organization_id: 0,
                    phase: TenantPhase::Starting,
                    since: Utc::now(),
                    next_attempt: None,
                    last_error: None,
                    cursor: None,
                    caught_up_at: None,
                    last_sweep: None,
                    delivered: 0,
                    requests: 0,
                    errors: BTreeMap::new(),
                    revision: String::new(),
                });
            // What a store keeps: every change but the per-record count.
            let seen = |s: &TenantState| {
                (
                    s.phase,
                    s.cursor,
                    s.last_error.clone(),
                    s.caught_up_at,
                    s.last_sweep,
                    s.next_attempt,
                )
            };
            let before = seen(state);
            f(state);
            let after = seen(state);
            (before != after).then(|| state.clone())
        };
        if let Some(s) = snapshot {
            self.sink.state_changed(&s);
        }
    }

    /// Whether `name` is known as disabled at `revision` (its account was disabled and its
    /// entry has not changed since).
    fn disabled_at(&self, name: &str, revision: &str) -> bool {
        self.states.lock().is_ok_and(|s| {
            s.get(name)
                .is_some_and(|t| t.phase == TenantPhase::Disabled && t.revision == revision)
        })
    }

    fn set_phase(&self, name: &str, phase: TenantPhase, next: Option<DateTime<Utc>>) {
        self.update(name, |s| {
            if s.phase != phase {
                s.phase = phase;
                s.since = Utc::now();
            }
            s.next_attempt = next;
        });
    }

    /// The connection pool of `spec`'s SAFE host (scheme, host and port; with its CA file
    /// and proxy, which the pool holds).
    fn pool(&self, spec: &TenantSpec) -> Result<HttpPool> {
        let c = &spec.client;
        let key = format!(
            "{}://{}:{}|{:?}|{:?}|{:?}",
            c.base_url.scheme(),
            c.base_url.host_str().unwrap_or(""),
            c.base_url.port_or_known_default().unwrap_or(0),
            c.ca_file,
            c.proxy,
            c.timeouts.connect
        );
        let mut pools = self
            .pools
            .lock()
            .map_err(|_| Error::Checkpoint("the fleet's pools are poisoned".into()))?;
        if let Some(p) = pools.get(&key) {
            return Ok(p.clone());
        }
        let pool = HttpPool::new(c)?;
        pools.insert(key, pool.clone());
        Ok(pool)
    }
}

/// Runs one tenant until cancelled or stopped: opens its pollers, then drives each stream.
async fn run_tenant(
    inner: Arc<Inner>,
    spec: TenantSpec,
    cancel: CancellationToken,
    parked_until: Option<DateTime<Utc>>,
) {
    let name = spec.name.clone();
    let opened = open(&inner, &spec).await;
    let (client, items, updated) = match opened {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(tenant = %name, code = e.code().name(), error = %e, "cannot start the tenant");
            inner.update(&name, |s| {
                s.phase = TenantPhase::Failed;
                s.since = Utc::now();
                s.last_error = Some(TenantError::of(&e));
            });
            return;
        }
    };
    // The fleet's cancellation stops both pollers between requests.
    let stop_items = items.cancellation_token();
    let stop_updated = updated.as_ref().map(|u| u.cancellation_token());
    let forward = {
        let cancel = cancel.clone();
        async move {
            cancel.cancelled().await;
            stop_items.cancel();
            if let Some(u) = stop_updated {
                u.cancel();
            }
        }
    };
    let schedule = |interval: Duration, jitter: Duration| Schedule {
        // A stable phase over the whole interval: tenants started together (or restarted
        // together) spread their first sweeps, and later sweeps keep the spacing.
        first_sweep_spread: interval,
        account_errors: AccountErrors::Park {
            retry: inner.options.park_retry,
        },
        ..Schedule::new(interval, jitter)
    };
    match parked_until {
        Some(until) => inner.set_phase(&name, TenantPhase::Parked, Some(until)),
        None => inner.set_phase(&name, TenantPhase::Running, None),
    }
    let driver_of = |mut d: Driver| {
        if let Some(until) = parked_until {
            d.not_before(until);
        }
        d
    };
    let (inner_ref, name_ref, items_ref, client_ref, cancel_ref) =
        (&*inner, name.as_str(), &items, &client, &cancel);
    let items_loop = drive(
        inner_ref,
        name_ref,
        driver_of(items.driver(Some(schedule(
            items.options().interval,
            items.options().jitter,
        )))),
        "items",
        &cancel,
        move || -> SweepFuture<'_> {
            Box::pin(async move {
                let report = items_ref
                    .sweep(move |r: ItemRecord| {
                        deliver(
                            inner_ref,
                            name_ref,
                            cancel_ref,
                            FleetRecord::Item(Box::new(r)),
                        )
                    })
                    .await;
                let status = items_ref.status();
                inner_ref.update(name_ref, |s| {
                    s.requests = client_ref.requests_sent();
                    s.cursor = Some(status.cursor);
                    s.last_sweep = status.last_sweep_started;
                    if report.is_ok() {
                        s.caught_up_at = Some(Utc::now());
                    }
                });
                report
            })
        },
    );
    let updated_loop = async {
        let Some(u) = &updated else {
            return;
        };
        drive(
            inner_ref,
            name_ref,
            driver_of(u.driver(Some(schedule(u.options().interval, u.options().jitter)))),
            "updated",
            &cancel,
            move || -> SweepFuture<'_> {
                Box::pin(u.sweep(move |r: UpdatedRecord| {
                    deliver(
                        inner_ref,
                        name_ref,
                        cancel_ref,
                        FleetRecord::Updated(Box::new(r)),
                    )
                }))
            },
        )
        .await;
    };
    let loops = async { tokio::join!(items_loop, updated_loop) };
    tokio::pin!(loops);
    tokio::select! {
        _ = &mut loops => {}
        // Cancelled: both loops end at their next request, after the record in hand.
        _ = forward => { loops.await; }
    }
    items.close().await;
    if let Some(u) = &updated {
        u.close().await;
    }
}

/// Hands one record to the sink and counts it once taken. A tenant stopped while its sink
/// still holds the record abandons it (unacknowledged, so it is delivered again later).
async fn deliver(
    inner: &Inner,
    name: &str,
    cancel: &CancellationToken,
    record: FleetRecord,
) -> std::result::Result<(), String> {
    tokio::select! {
        // A sink that takes the record at once (serve's store) always wins.
        biased;
        taken = inner.sink.deliver(name, record) => taken?,
        _ = cancel.cancelled() => return Err(ABANDONED.into()),
    }
    inner.update(name, |s| s.delivered += 1);
    Ok(())
}

async fn open(inner: &Inner, spec: &TenantSpec) -> Result<(Client, Poller, Option<UpdatedPoller>)> {
    let pool = inner.pool(spec)?;
    let mut config = spec.client.clone();
    config.request_cap = Some(inner.cap.clone());
    let client = Client::with_pool(config, &pool)?;
    let store = inner.sink.store(spec)?;
    let items = Poller::open_async(client.clone(), store.clone(), spec.items.clone()).await?;
    let updated = match &spec.updated {
        Some(o) => Some(UpdatedPoller::open_async(client.clone(), store, o.clone()).await?),
        None => None,
    };
    Ok((client, items, updated))
}

/// One stream's loop: the driver's wait, a sweep, the driver's decision, reflected in the
/// tenant's state. Ends when cancelled, stopped, fenced, or (a disabled account) until the
/// tenant's entry changes.
async fn drive<'a>(
    inner: &Inner,
    name: &str,
    mut driver: Driver,
    stream: &str,
    stop_tenant: &CancellationToken,
    mut sweep: impl FnMut() -> SweepFuture<'a>,
) {
    loop {
        match driver.wait().await {
            Ok(()) => {}
            Err(Error::Cancelled) => return,
            Err(e) => {
                tracing::error!(tenant = %name, stream, error = %e, "the schedule failed");
                return;
            }
        }
        let outcome = sweep().await;
        if outcome.is_err() && stop_tenant.is_cancelled() {
            // Stopped mid-sweep (a record abandoned): not a failure of the tenant.
            return;
        }
        let decision = driver.decide(&outcome);
        let error = outcome.as_ref().err().map(TenantError::of);
        let disabled = matches!(
            outcome.as_ref().err().map(Error::code),
            Some(ErrorCode::AccountDisabled)
        );
        let (phase, next, ends) = match decision {
            Decision::Continue => (TenantPhase::Running, None, false),
            Decision::BackOff { until, .. } => (TenantPhase::BackingOff, Some(until), false),
            Decision::Park { .. } if disabled => (TenantPhase::Disabled, None, true),
            Decision::Park { until } => (TenantPhase::Parked, Some(until), false),
            Decision::Stop => (TenantPhase::Failed, None, true),
            Decision::Fenced => (TenantPhase::Fenced, None, true),
            Decision::Cancelled => return,
        };
        if let Err(e) = &outcome {
            tracing::warn!(tenant = %name, stream, code = e.code().name(), error = %e, decision = decision.name(), "sweep failed");
        }
        inner.update(name, |s| {
            // A stream that ended the tenant (failed, disabled, fenced) is not undone by the
            // other stream's next sweep.
            if s.phase.ends_tenant() && !phase.ends_tenant() {
                return;
            }
            if s.phase != phase {
                s.phase = phase;
                s.since = Utc::now();
            }
            s.next_attempt = next;
            match &error {
                Some(e) => {
                    *s.errors.entry(e.name.clone()).or_default() += 1;
                    s.last_error = Some(e.clone());
                }
                None if stream == "items" => s.last_error = None,
                None => {}
            }
        });
        if ends {
            // The tenant's other stream stops too: a tenant is polled whole or not at all.
            stop_tenant.cancel();
            return;
        }
    }
}
