//! [`PgFleetStore`]: the sink of a fleet member on PostgreSQL. A tenant's records are staged
//! under its poller's checkpoint key and written with that poller's next checkpoint save (its
//! acknowledgement), in the same transaction. Saves of many tenants share one transaction (a
//! group commit); the epochs of every tenant in the group are checked first, in that
//! transaction, with a share lock on their lease rows, so a tenant taken over by another
//! process has its write refused ([`Error::Fenced`]) while the others' writes commit, and each
//! tenant's writes sit under a savepoint of their own, so one failed write never undoes another.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use deadpool_postgres::tokio_postgres::types::Type;

use super::checkpoint::{load_row, save_row};
use super::records::write_record;
use super::{Lease, Membership, PgStore};
use crate::error::{Error, Result};
use crate::fleet::{
    DeliverFuture, FleetRecord, FleetSink, StagedRecords, TenantError, TenantPhase, TenantSpec,
    TenantState,
};
use crate::pacing::RequestGate;
use crate::poller::{
    CheckpointStore, GroupCommit, LoadFuture, PollerState, SaveFuture, SaveMode, batch_failed,
};

/// What a member's writes did, for metrics.
#[derive(Debug, Default)]
pub struct WriteCounters {
    /// Tenant saves refused because another process had taken the tenant over.
    pub fenced_writes: AtomicU64,
    /// Items whose row moved to another number.
    pub renumbered: AtomicU64,
}

/// The database under the group commit: for each save, the staged records of its key, then
/// its checkpoint, fenced by the lease its tenant started with.
#[derive(Debug)]
struct FleetDb {
    pg: PgStore,
    staged: StagedRecords,
    /// Checkpoint key → the lease of the tenant whose poller saves under it.
    leases: Mutex<HashMap<String, Arc<Lease>>>,
    counters: Arc<WriteCounters>,
}

impl FleetDb {
    fn lease_of(&self, key: &str) -> Option<Arc<Lease>> {
        self.leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// One transaction for the whole group: `Err` when it failed as a whole (nothing was
    /// written), else one result per entry.
    async fn commit_group(
        pg: PgStore,
        entries: Vec<Entry>,
        counters: Arc<WriteCounters>,
    ) -> Result<Vec<Result<()>>> {
        let mut client = pg.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pg.sql_error("begin a group commit", e))?;
        let units: Vec<String> = entries
            .iter()
            .filter_map(|e| e.lease.as_ref().map(|l| l.unit().to_string()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        // Every epoch of the group at once; the share locks hold until the commit, so a
        // takeover waits for this write and fences the next.
        let holders: HashMap<String, (Option<String>, i64)> = tx
            .query_typed(
                "SELECT unit, owner, epoch FROM safe_tracker_leases WHERE unit = ANY($1) \
                 ORDER BY unit FOR SHARE",
                &[(&units, Type::TEXT_ARRAY)],
            )
            .await
            .map_err(|e| pg.sql_error("check the leases", e))?
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect();
        let mut results = Vec::with_capacity(entries.len());
        for entry in &entries {
            let Some(lease) = &entry.lease else {
                results.push(Err(Error::Fenced(format!(
                    "no lease is held for the checkpoint `{}`: the write is refused",
                    entry.key
                ))));
                continue;
            };
            let holds = holders.get(lease.unit()).is_some_and(|(owner, epoch)| {
                owner.as_deref() == Some(lease.owner()) && *epoch == lease.epoch()
            });
            if !holds {
                counters.fenced_writes.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    tenant = lease.unit(),
                    epoch = lease.epoch(),
                    records = entry.records.len(),
                    "write refused: another process took the tenant over; its unacknowledged \
                     records are left to the new owner"
                );
                results.push(Err(lease.refused()));
                continue;
            }
            tx.batch_execute("SAVEPOINT entry")
                .await
                .map_err(|e| pg.sql_error("open a savepoint", e))?;
            let mut renumbered = 0;
            let mut written = Ok(());
            for record in &entry.records {
                match write_record(&tx, record).await {
                    Ok(moved) => renumbered += u64::from(moved),
                    Err(e) => {
                        written = Err(pg.sql_error("write a record", e));
                        break;
                    }
                }
            }
            if written.is_ok() {
                written = save_row(&pg, &tx, lease.unit(), &entry.key, &entry.state).await;
            }
            match written {
                Ok(()) => {
                    tx.batch_execute("RELEASE SAVEPOINT entry")
                        .await
                        .map_err(|e| pg.sql_error("release a savepoint", e))?;
                    counters.renumbered.fetch_add(renumbered, Ordering::Relaxed);
                    results.push(Ok(()));
                }
                // A broken connection fails the whole group, not this entry alone.
                Err(e @ Error::StoreUnavailable(_)) => return Err(e),
                Err(e) => {
                    tx.batch_execute("ROLLBACK TO SAVEPOINT entry")
                        .await
                        .map_err(|e| pg.sql_error("roll back a savepoint", e))?;
                    results.push(Err(e));
                }
            }
        }
        tx.commit()
            .await
            .map_err(|e| pg.sql_error("commit a group", e))?;
        Ok(results)
    }
}

/// One save of a group, with what it writes.
struct Entry {
    key: String,
    state: String,
    records: Vec<FleetRecord>,
    lease: Option<Arc<Lease>>,
}

impl CheckpointStore for FleetDb {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        let key = key.to_string();
        self.pg
            .run_blocking(move |pg| async move { load_row(&pg, key).await })
    }

    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        self.save_batch(&[(key, state)])
            .pop()
            .unwrap_or_else(|| Err(Error::Checkpoint("no result for the save".into())))
    }

    /// The group in one transaction. When it fails as a whole, every entry gets the error
    /// and its staged records are gone: its poller delivers them again (nothing was written).
    fn save_batch(&self, batch: &[(&str, &PollerState)]) -> Vec<Result<()>> {
        let entries: Vec<Entry> = batch
            .iter()
            .map(|(key, state)| Entry {
                key: (*key).to_string(),
                state: state.to_json(),
                records: self.staged.take(key),
                lease: self.lease_of(key),
            })
            .collect();
        let counters = self.counters.clone();
        match self
            .pg
            .run_blocking(move |pg| FleetDb::commit_group(pg, entries, counters))
        {
            Ok(results) => results,
            Err(e) => {
                tracing::warn!(error = %e, saves = batch.len(), "the group commit failed");
                batch_failed(batch.len(), e)
            }
        }
    }

    fn save_mode(&self) -> SaveMode {
        SaveMode::Blocking
    }

    fn load_async(self: Arc<Self>, key: String) -> LoadFuture {
        Box::pin(async move { load_row(&self.pg, key).await })
    }
}

/// The checkpoints of one tenant: saved through the member's group commit, and a request
/// gate from the lease the tenant started with.
#[derive(Debug)]
struct TenantCheckpoint {
    group: Arc<GroupCommit>,
    lease: Arc<Lease>,
}

impl CheckpointStore for TenantCheckpoint {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        self.group.load(key)
    }

    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        self.group.save(key, state)
    }

    fn save_batch(&self, batch: &[(&str, &PollerState)]) -> Vec<Result<()>> {
        self.group.save_batch(batch)
    }

    fn save_mode(&self) -> SaveMode {
        SaveMode::Blocking
    }

    fn save_async(self: Arc<Self>, key: String, state: PollerState) -> SaveFuture {
        self.group.clone().save_async(key, state)
    }

    fn load_async(self: Arc<Self>, key: String) -> LoadFuture {
        self.group.clone().load_async(key)
    }

    fn request_gate(&self) -> Option<RequestGate> {
        Some(self.lease.gate())
    }
}

/// The sink of a fleet member: records and checkpoints into PostgreSQL through one group
/// commit, each tenant's writes fenced by its lease in `membership`, tenant states into
/// `fleet_tenants` by a task of their own.
pub struct PgFleetStore {
    db: Arc<FleetDb>,
    group: Arc<GroupCommit>,
    membership: Arc<Membership>,
    states: Mutex<Option<tokio::sync::mpsc::UnboundedSender<TenantState>>>,
    states_done: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

impl std::fmt::Debug for PgFleetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgFleetStore")
            .field("store", &self.db.pg)
            .finish()
    }
}

impl PgFleetStore {
    /// The sink of `membership`'s worker, its sync tables migrated; at most `max_group` saves
    /// in one transaction; `on_commit(saves, duration)` after each group commit.
    pub async fn open(
        membership: Arc<Membership>,
        max_group: usize,
        on_commit: impl Fn(usize, std::time::Duration) + Send + 'static,
    ) -> Result<Arc<PgFleetStore>> {
        let pg = membership.store().clone();
        pg.migrate_sync().await?;
        let db = Arc::new(FleetDb {
            pg: pg.clone(),
            staged: StagedRecords::new(),
            leases: Mutex::new(HashMap::new()),
            counters: Arc::new(WriteCounters::default()),
        });
        let group = Arc::new(GroupCommit::observed(db.clone(), max_group, on_commit)?);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let owner = membership.owner().to_string();
        let writer = pg.clone();
        pg.spawn(async move {
            write_states(writer, owner, rx).await;
            let _ = done_tx.send(());
        });
        Ok(Arc::new(PgFleetStore {
            db,
            group,
            membership,
            states: Mutex::new(Some(tx)),
            states_done: Mutex::new(Some(done_rx)),
        }))
    }

    /// What the writes did so far.
    pub fn counters(&self) -> &WriteCounters {
        &self.db.counters
    }

    /// Writes every state reported so far and stops the state writer (at shutdown).
    pub async fn flush_states(&self) {
        if let Ok(mut tx) = self.states.lock() {
            tx.take();
        }
        let done = self.states_done.lock().ok().and_then(|mut d| d.take());
        if let Some(done) = done {
            let _ = done.await;
        }
    }
}

impl FleetSink for PgFleetStore {
    fn store(&self, tenant: &TenantSpec) -> Result<Arc<dyn CheckpointStore>> {
        let lease = self.membership.lease(&tenant.name).ok_or_else(|| {
            Error::Fenced(format!(
                "tenant `{}` is not held by this worker (its lease moved)",
                tenant.name
            ))
        })?;
        let (items, updated) = self.db.staged.register(tenant);
        {
            let mut leases = self.db.leases.lock().unwrap_or_else(|p| p.into_inner());
            leases.insert(items, lease.clone());
            leases.insert(updated, lease.clone());
        }
        Ok(Arc::new(TenantCheckpoint {
            group: self.group.clone(),
            lease,
        }))
    }

    fn deliver(&self, tenant: &str, record: FleetRecord) -> DeliverFuture {
        Box::pin(std::future::ready(self.db.staged.stage(tenant, record)))
    }

    fn state_changed(&self, state: &TenantState) {
        if let Ok(tx) = self.states.lock()
            && let Some(tx) = tx.as_ref()
        {
            let _ = tx.send(state.clone());
        }
    }
}

/// The state writer: takes every state queued, keeps the newest of each tenant, writes them
/// in one transaction; a state never overwrites the row of a tenant another worker holds now.
async fn write_states(
    pg: PgStore,
    owner: String,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<TenantState>,
) {
    while let Some(first) = rx.recv().await {
        let mut newest: HashMap<String, TenantState> = HashMap::new();
        newest.insert(first.name.clone(), first);
        while let Ok(next) = rx.try_recv() {
            newest.insert(next.name.clone(), next);
        }
        if let Err(e) = upsert_states(&pg, &owner, newest.values()).await {
            tracing::error!(error = %e, "cannot write the tenants' states");
        }
    }
}

async fn upsert_states<'a>(
    pg: &PgStore,
    owner: &str,
    states: impl Iterator<Item = &'a TenantState>,
) -> Result<()> {
    let mut client = pg.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| pg.sql_error("write tenant states", e))?;
    for s in states {
        let e = s.last_error.as_ref();
        let org = s.organization_id as i64;
        let code = e.map(|e| e.code as i32);
        let (name, message, at) = (
            e.map(|e| e.name.clone()),
            e.map(|e| e.message.clone()),
            e.map(|e| e.at),
        );
        let cursor = s.cursor.map(|c| c as i64);
        let delivered = s.delivered as i64;
        tx.execute_typed(
            "INSERT INTO fleet_tenants (name, organization_id, phase, since, next_attempt, \
                last_error_code, last_error_name, last_error_message, last_error_at, cursor, \
                caught_up_at, last_sweep, delivered, revision, updated_at, owner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now(), $15) \
             ON CONFLICT (name) DO UPDATE SET organization_id = excluded.organization_id, \
                phase = excluded.phase, since = excluded.since, \
                next_attempt = excluded.next_attempt, last_error_code = excluded.last_error_code, \
                last_error_name = excluded.last_error_name, \
                last_error_message = excluded.last_error_message, \
                last_error_at = excluded.last_error_at, \
                cursor = COALESCE(excluded.cursor, fleet_tenants.cursor), \
                caught_up_at = COALESCE(excluded.caught_up_at, fleet_tenants.caught_up_at), \
                last_sweep = COALESCE(excluded.last_sweep, fleet_tenants.last_sweep), \
                delivered = excluded.delivered, revision = excluded.revision, \
                updated_at = excluded.updated_at, owner = excluded.owner \
             WHERE NOT EXISTS (SELECT 1 FROM safe_tracker_leases l WHERE l.unit = excluded.name \
                AND l.owner IS NOT NULL AND l.owner <> excluded.owner AND l.expires_at > now())",
            &[
                (&s.name, Type::TEXT),
                (&org, Type::INT8),
                (&s.phase.name(), Type::TEXT),
                (&s.since, Type::TIMESTAMPTZ),
                (&s.next_attempt, Type::TIMESTAMPTZ),
                (&code, Type::INT4),
                (&name, Type::TEXT),
                (&message, Type::TEXT),
                (&at, Type::TIMESTAMPTZ),
                (&cursor, Type::INT8),
                (&s.caught_up_at, Type::TIMESTAMPTZ),
                (&s.last_sweep, Type::TIMESTAMPTZ),
                (&delivered, Type::INT8),
                (&s.revision, Type::TEXT),
                (&owner, Type::TEXT),
            ],
        )
        .await
        .map_err(|e| pg.sql_error("write a tenant state", e))?;
    }
    tx.commit()
        .await
        .map_err(|e| pg.sql_error("write tenant states", e))
}

/// A tenant's state as the store last recorded it, with the worker that wrote it.
#[derive(Debug, Clone)]
pub struct StoredTenantState {
    /// The state.
    pub state: TenantState,
    /// The worker that wrote it last.
    pub owner: Option<String>,
}

impl PgStore {
    /// Every tenant's state as recorded in `fleet_tenants` (empty before any member ran).
    pub async fn tenant_states(&self) -> Result<Vec<StoredTenantState>> {
        self.run(|pg| async move {
            let client = pg.client().await?;
            let exists = client
                .query_typed_one("SELECT to_regclass('fleet_tenants') IS NOT NULL", &[])
                .await
                .map_err(|e| pg.sql_error("read tenant states", e))?;
            if !exists.get::<_, bool>(0) {
                return Ok(Vec::new());
            }
            let rows = client
                .query_typed(
                    "SELECT name, organization_id, phase, since, next_attempt, last_error_code, \
                        last_error_name, last_error_message, last_error_at, cursor, \
                        caught_up_at, last_sweep, delivered, revision, owner \
                     FROM fleet_tenants ORDER BY name",
                    &[],
                )
                .await
                .map_err(|e| pg.sql_error("read tenant states", e))?;
            rows.iter()
                .map(|r| {
                    let name: String = r.get(0);
                    let phase: String = r.get(2);
                    let phase: TenantPhase =
                        serde_json::from_value(serde_json::Value::String(phase.clone())).map_err(
                            |_| Error::Checkpoint(format!("tenant {name}: unknown phase {phase}")),
                        )?;
                    let code: Option<i32> = r.get(5);
                    let at: Option<DateTime<Utc>> = r.get(8);
                    Ok(StoredTenantState {
                        state: TenantState {
                            organization_id: r.get::<_, i64>(1) as u64,
                            phase,
                            since: r.get(3),
                            next_attempt: r.get(4),
                            last_error: code.map(|code| TenantError {
                                code: code as u32,
                                name: r.get::<_, Option<String>>(6).unwrap_or_default(),
                                message: r.get::<_, Option<String>>(7).unwrap_or_default(),
                                at: at.unwrap_or_else(Utc::now),
                            }),
                            cursor: r.get::<_, Option<i64>>(9).map(|c| c as u64),
                            caught_up_at: r.get(10),
                            last_sweep: r.get(11),
                            delivered: r.get::<_, i64>(12) as u64,
                            requests: 0,
                            errors: Default::default(),
                            revision: r.get(13),
                            name,
                        },
                        owner: r.get(14),
                    })
                })
                .collect()
        })
        .await
    }
}
