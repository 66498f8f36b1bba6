//! [`PostgresCheckpoint`]: the pollers of one unit (a tenant), their checkpoints fenced by its
//! lease.

use std::sync::Arc;

use deadpool_postgres::tokio_postgres::Transaction;
use deadpool_postgres::tokio_postgres::types::Type;

use super::{Lease, LeaseOptions, PgOptions, PgStore};
use crate::error::{Error, Result};
use crate::pacing::RequestGate;
use crate::poller::{CheckpointStore, LoadFuture, PollerState, SaveFuture, SaveMode};

/// Checkpoints in PostgreSQL (table `safe_tracker_checkpoints`) for the pollers of one unit
/// held by a [`Lease`]: every save checks the lease's epoch in its own transaction and is
/// refused with [`Error::Fenced`] once another process has taken the unit over, so a process
/// that wakes up after losing its lease cannot move a checkpoint the new owner moved on.
#[derive(Debug, Clone)]
pub struct PostgresCheckpoint {
    store: PgStore,
    lease: Arc<Lease>,
}

impl PostgresCheckpoint {
    /// The checkpoints of the unit `lease` holds.
    pub fn new(store: PgStore, lease: Arc<Lease>) -> PostgresCheckpoint {
        PostgresCheckpoint { store, lease }
    }

    /// Connects to `url`, claims `unit` and keeps its lease renewed: the store a vendor's
    /// own service opens for one tenant. [`Error::Fenced`] when another process holds it (the
    /// message names that owner and when its lease runs out).
    pub async fn open(
        url: &str,
        unit: &str,
        lease: LeaseOptions,
        options: PgOptions,
    ) -> Result<PostgresCheckpoint> {
        let store = PgStore::connect(url, options).await?;
        PostgresCheckpoint::claimed(store, unit, lease).await
    }

    /// [`PostgresCheckpoint::open`] for a thread outside any async runtime (the bindings'
    /// constructors).
    pub fn open_blocking(
        url: &str,
        unit: &str,
        lease: LeaseOptions,
        options: PgOptions,
    ) -> Result<PostgresCheckpoint> {
        let store = PgStore::connect_blocking(url, options)?;
        let unit = unit.to_string();
        store.clone().run_blocking(move |_| async move {
            PostgresCheckpoint::claimed(store, &unit, lease).await
        })
    }

    /// Claims `unit` on `store` and keeps the lease renewed; [`Error::Fenced`] naming the
    /// holder when another process has it.
    async fn claimed(
        store: PgStore,
        unit: &str,
        lease: LeaseOptions,
    ) -> Result<PostgresCheckpoint> {
        let Some(held) = store.claim(unit, &lease).await? else {
            let holder = store.holder(unit).await?;
            return Err(Error::Fenced(match holder {
                Some(h) => format!(
                    "unit `{unit}` is held by {} until {} (database clock)",
                    h.owner,
                    h.expires_at.to_rfc3339()
                ),
                None => format!("unit `{unit}` is being claimed by another process"),
            }));
        };
        held.keep_renewed();
        Ok(PostgresCheckpoint::new(store, held))
    }

    /// The lease the saves are fenced by.
    pub fn lease(&self) -> &Arc<Lease> {
        &self.lease
    }

    /// A gate for the unit's clients ([`crate::Client::add_gate`]; a poller opened on this
    /// store adds it to its client): no request goes out once the lease is lost, released or
    /// past its local deadline.
    pub fn gate(&self) -> RequestGate {
        self.lease.gate()
    }

    /// Saves `state` under `key` inside the caller's transaction `tx`, after the lease check
    /// (for hosts that write their item and the checkpoint in one transaction).
    pub async fn save_in(
        &self,
        tx: &Transaction<'_>,
        key: &str,
        state: &PollerState,
    ) -> Result<()> {
        self.lease.check(tx).await?;
        save_row(&self.store, tx, self.lease.unit(), key, &state.to_json()).await
    }

    async fn save_all(self, batch: Vec<(String, String)>) -> Result<()> {
        let store = self.store.clone();
        store
            .run(move |pg| async move {
                let mut client = pg.client().await?;
                let tx = client
                    .transaction()
                    .await
                    .map_err(|e| pg.sql_error("save a checkpoint", e))?;
                self.lease.check(&tx).await?;
                for (key, json) in &batch {
                    save_row(&pg, &tx, self.lease.unit(), key, json).await?;
                }
                tx.commit()
                    .await
                    .map_err(|e| pg.sql_error("save a checkpoint", e))
            })
            .await
    }

    async fn load_one(self, key: String) -> Result<Option<PollerState>> {
        load_row(&self.store, key).await
    }
}

/// The checkpoint saved under `key`, if any.
pub(super) async fn load_row(store: &PgStore, key: String) -> Result<Option<PollerState>> {
    let text: Option<String> = store
        .run(move |pg| async move {
            let client = pg.client().await?;
            let row = client
                .query_typed_opt(
                    "SELECT state FROM safe_tracker_checkpoints WHERE stream_key = $1",
                    &[(&key, Type::TEXT)],
                )
                .await
                .map_err(|e| pg.sql_error("read a checkpoint", e))?;
            Ok(row.map(|r| r.get(0)))
        })
        .await?;
    text.map(|t| PollerState::from_json(&t)).transpose()
}

/// Saves one checkpoint row in `tx` (the caller has checked the lease).
pub(super) async fn save_row(
    pg: &PgStore,
    tx: &Transaction<'_>,
    unit: &str,
    key: &str,
    json: &str,
) -> Result<()> {
    tx.execute_typed(
        "INSERT INTO safe_tracker_checkpoints (stream_key, unit, state, saved_at) \
         VALUES ($1, $2, $3, now()) ON CONFLICT (stream_key) DO UPDATE \
         SET unit = excluded.unit, state = excluded.state, saved_at = excluded.saved_at",
        &[(&key, Type::TEXT), (&unit, Type::TEXT), (&json, Type::TEXT)],
    )
    .await
    .map_err(|e| pg.sql_error("save a checkpoint", e))?;
    Ok(())
}

impl CheckpointStore for PostgresCheckpoint {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        let this = self.clone();
        let key = key.to_string();
        self.store.clone().run_blocking(move |_| this.load_one(key))
    }

    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        let this = self.clone();
        let batch = vec![(key.to_string(), state.to_json())];
        self.store
            .clone()
            .run_blocking(move |_| this.save_all(batch))
    }

    /// One transaction, one lease check: all the entries are saved, or all fail alike (a
    /// fenced lease fences every key of its unit).
    fn save_batch(&self, batch: &[(&str, &PollerState)]) -> Vec<Result<()>> {
        let this = self.clone();
        let entries: Vec<(String, String)> = batch
            .iter()
            .map(|(k, s)| ((*k).to_string(), s.to_json()))
            .collect();
        match self
            .store
            .clone()
            .run_blocking(move |_| this.save_all(entries))
        {
            Ok(()) => batch.iter().map(|_| Ok(())).collect(),
            // Fenced stays fenced for each entry: their pollers stop, the new owner goes on.
            Err(Error::Fenced(m)) => batch
                .iter()
                .map(|_| Err(Error::Fenced(m.clone())))
                .collect(),
            Err(e) => crate::poller::batch_failed(batch.len(), e),
        }
    }

    fn save_mode(&self) -> SaveMode {
        SaveMode::Blocking
    }

    fn save_async(self: Arc<Self>, key: String, state: PollerState) -> SaveFuture {
        let this = (*self).clone();
        Box::pin(this.save_all(vec![(key, state.to_json())]))
    }

    fn request_gate(&self) -> Option<RequestGate> {
        Some(self.gate())
    }

    fn load_async(self: Arc<Self>, key: String) -> LoadFuture {
        let this = (*self).clone();
        Box::pin(this.load_one(key))
    }
}
