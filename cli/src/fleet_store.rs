//! The SQLite store of `serve`: the schema of `sync` (items keyed by organisation, the sync
//! log, checkpoints) written for every tenant through one group commit, plus `fleet_tenants`.
//!
//! A tenant's records are staged under its poller's checkpoint key; they are written with that
//! poller's next checkpoint save (its acknowledgement), in the same transaction. The group
//! commit puts the saves of many tenants into one transaction, each under a savepoint of its
//! own, so one tenant's failed write never undoes another's, and each save completes only after
//! the commit: never lost, never twice, whatever the number of tenants. No file or lock per
//! tenant: one database, one writer thread, one lock for the whole store.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use safe_tracker::fleet::{
    DeliverFuture, FleetRecord, FleetSink, StagedRecords, TenantError, TenantPhase, TenantSpec,
    TenantState,
};
use safe_tracker::poller::{
    CheckpointStore, GroupCommit, PollerState, SqliteCheckpoint, batch_failed,
};
use safe_tracker::{Error, Result};

use crate::store::{Staged, SyncStore};

/// The database under the group commit: saves write the staged records of their key, then
/// the checkpoint, under a savepoint each.
pub struct FleetDb {
    db: SyncStore,
    staged: StagedRecords,
    /// Tests: this many commits fail as a whole.
    #[cfg(test)]
    fail_commits: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for FleetDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetDb").field("db", &self.db).finish()
    }
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::Checkpoint(format!("SQLite: {e}"))
}

impl FleetDb {
    fn take_staged(&self, key: &str) -> Vec<Staged> {
        self.staged
            .take(key)
            .into_iter()
            .map(Staged::from)
            .collect()
    }

    /// One entry under its savepoint: the records staged for `key`, then its checkpoint.
    fn write_entry(
        &self,
        tx: &rusqlite::Transaction<'_>,
        key: &str,
        state: &PollerState,
        staged: &[Staged],
    ) -> Result<()> {
        tx.execute_batch("SAVEPOINT entry").map_err(db_error)?;
        let written = staged
            .iter()
            .try_for_each(|s| self.db.write(tx, s))
            .map_err(db_error)
            .and_then(|()| SqliteCheckpoint::save_with(tx, key, state));
        match written {
            Ok(()) => tx.execute_batch("RELEASE entry").map_err(db_error),
            Err(e) => {
                let _ = tx.execute_batch("ROLLBACK TO entry; RELEASE entry");
                Err(e)
            }
        }
    }
}

impl CheckpointStore for FleetDb {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        self.db.load(key)
    }

    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        self.save_batch(&[(key, state)])
            .pop()
            .unwrap_or_else(|| Err(Error::Checkpoint("nothing saved".into())))
    }

    /// One transaction for the group, each entry under its savepoint. A failure of the
    /// transaction as a whole (BEGIN or COMMIT: a lock held past the busy timeout, an I/O
    /// error) is retried a few times before every entry is failed with it, since it says
    /// nothing about the tenants themselves.
    fn save_batch(&self, batch: &[(&str, &PollerState)]) -> Vec<Result<()>> {
        let staged: Vec<Vec<Staged>> = batch.iter().map(|(k, _)| self.take_staged(k)).collect();
        let mut waits = WHOLE_RETRIES.iter();
        let failure = loop {
            match self.commit_group(batch, &staged) {
                Ok(results) => return results,
                Err(e) => match waits.next() {
                    Some(wait) => {
                        tracing::warn!(error = %e, saves = batch.len(), "the group commit failed; retrying");
                        std::thread::sleep(*wait);
                    }
                    None => break e,
                },
            }
        };
        batch_failed(batch.len(), failure)
    }
}

/// The waits before each retry of a group commit that failed as a whole.
const WHOLE_RETRIES: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(50),
    std::time::Duration::from_millis(200),
    std::time::Duration::from_millis(1000),
];

impl FleetDb {
    /// One attempt: `Err` when the transaction failed as a whole, else one result per entry.
    fn commit_group(
        &self,
        batch: &[(&str, &PollerState)],
        staged: &[Vec<Staged>],
    ) -> Result<Vec<Result<()>>> {
        #[cfg(test)]
        if self
            .fail_commits
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok()
        {
            return Err(Error::Checkpoint("injected: disk I/O error".into()));
        }
        let mut conn = self.db.connection()?;
        // IMMEDIATE: take the write lock first (waiting for it), so a read-then-write cannot
        // fail with "database is locked" when another connection committed meanwhile.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_error)?;
        let mut results = Vec::with_capacity(batch.len());
        for ((key, state), records) in batch.iter().zip(staged) {
            results.push(self.write_entry(&tx, key, state, records));
            if tx.is_autocommit() {
                // SQLite rolled the whole transaction back (disk full, I/O error): the group
                // failed, not this entry.
                return Err(Error::Checkpoint(
                    "SQLite rolled the group's transaction back".into(),
                ));
            }
        }
        tx.commit().map_err(db_error)?;
        Ok(results)
    }
}

/// The sink of `serve`: records staged in [`FleetDb`], checkpoints through one
/// [`GroupCommit`], tenant states written by a thread of their own.
pub struct FleetStore {
    db: Arc<FleetDb>,
    group: Arc<GroupCommit>,
    states: Mutex<Option<mpsc::Sender<TenantState>>>,
    state_writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    _lock: File,
}

impl FleetStore {
    /// Opens (or creates) the database at `path`, migrated to the latest schema, and takes the
    /// one lock that keeps a second `serve` off it.
    /// At most `max_group` saves go into one transaction; `on_commit(saves, duration)` is
    /// called after each group commit (metrics).
    pub fn open(
        path: &Path,
        max_group: usize,
        on_commit: impl Fn(usize, std::time::Duration) + Send + 'static,
    ) -> Result<Arc<FleetStore>> {
        let lock = lock_store(path)?;
        let db = Arc::new(FleetDb {
            db: SyncStore::open(path)?,
            staged: StagedRecords::new(),
            #[cfg(test)]
            fail_commits: Default::default(),
        });
        let group = Arc::new(GroupCommit::observed(db.clone(), max_group, on_commit)?);
        let (tx, rx) = mpsc::channel::<TenantState>();
        let writer_path = path.to_path_buf();
        let writer = std::thread::Builder::new()
            .name("safe-tracker-states".into())
            .spawn(move || write_states(&writer_path, &rx))
            .map_err(|e| Error::Checkpoint(format!("cannot start the state writer: {e}")))?;
        Ok(Arc::new(FleetStore {
            db,
            group,
            states: Mutex::new(Some(tx)),
            state_writer: Mutex::new(Some(writer)),
            _lock: lock,
        }))
    }

    /// Writes every state reported so far and stops the state writer (at shutdown; states
    /// reported later are not written).
    pub fn flush_states(&self) {
        if let Ok(mut tx) = self.states.lock() {
            tx.take();
        }
        let writer = self.state_writer.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = writer {
            let _ = w.join();
        }
    }
}

/// The OS lock of `<db>.serve.lock`: one `serve` per store (and no `skip --tenant` while it
/// runs).
pub fn lock_store(path: &Path) -> Result<File> {
    let mut p = path.as_os_str().to_owned();
    p.push(".serve.lock");
    let lock_path = PathBuf::from(p);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            Error::Checkpoint(format!("cannot open the lock {}: {e}", lock_path.display()))
        })?;
    file.try_lock().map_err(|_| {
        Error::Checkpoint(format!(
            "another `safe-tracker serve` runs on {} (it holds {})",
            path.display(),
            lock_path.display()
        ))
    })?;
    Ok(file)
}

impl FleetSink for FleetStore {
    fn store(&self, tenant: &TenantSpec) -> Result<Arc<dyn CheckpointStore>> {
        self.db.staged.register(tenant);
        Ok(self.group.clone())
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
/// in one transaction. Ends when the store is dropped.
fn write_states(path: &Path, rx: &mpsc::Receiver<TenantState>) {
    let conn = match rusqlite::Connection::open(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the store for tenant states");
            return;
        }
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(30));
    let _ = conn.execute_batch("PRAGMA synchronous=FULL;");
    let mut conn = conn;
    while let Ok(first) = rx.recv() {
        let mut newest: HashMap<String, TenantState> = HashMap::new();
        newest.insert(first.name.clone(), first);
        while let Ok(next) = rx.try_recv() {
            newest.insert(next.name.clone(), next);
        }
        let written = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for s in newest.values() {
                upsert_state(&tx, s)?;
            }
            tx.commit()
        })();
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot write the tenants' states");
        }
    }
}

fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn upsert_state(tx: &rusqlite::Transaction<'_>, s: &TenantState) -> rusqlite::Result<()> {
    let e = s.last_error.as_ref();
    tx.execute(
        "INSERT INTO fleet_tenants (name, organization_id, phase, since, next_attempt,
            last_error_code, last_error_name, last_error_message, last_error_at, cursor,
            caught_up_at, last_sweep, delivered, revision, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
            strftime('%Y-%m-%dT%H:%M:%fZ','now'))
         ON CONFLICT(name) DO UPDATE SET organization_id = excluded.organization_id,
            phase = excluded.phase, since = excluded.since, next_attempt = excluded.next_attempt,
            last_error_code = excluded.last_error_code, last_error_name = excluded.last_error_name,
            last_error_message = excluded.last_error_message, last_error_at = excluded.last_error_at,
            cursor = COALESCE(excluded.cursor, fleet_tenants.cursor),
            caught_up_at = COALESCE(excluded.caught_up_at, fleet_tenants.caught_up_at),
            last_sweep = COALESCE(excluded.last_sweep, fleet_tenants.last_sweep),
            delivered = excluded.delivered,
            revision = excluded.revision, updated_at = excluded.updated_at",
        params![
            s.name,
            s.organization_id as i64,
            s.phase.name(),
            time(Some(s.since)),
            time(s.next_attempt),
            e.map(|e| e.code as i64),
            e.map(|e| e.name.clone()),
            e.map(|e| e.message.clone()),
            e.map(|e| time(Some(e.at))),
            s.cursor.map(|c| c as i64),
            time(s.caught_up_at),
            time(s.last_sweep),
            s.delivered as i64,
            s.revision,
        ],
    )?;
    Ok(())
}

/// Every tenant's state as the store last recorded it, for `fleet status` and a restart.
pub fn read_states(path: &Path) -> Result<Vec<TenantState>> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| Error::Checkpoint(format!("cannot open {}: {e}", path.display())))?;
    let exists: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'fleet_tenants'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_error)?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare(
            "SELECT name, organization_id, phase, since, next_attempt, last_error_code,
                    last_error_name, last_error_message, last_error_at, cursor, caught_up_at,
                    last_sweep, delivered, revision
             FROM fleet_tenants ORDER BY name",
        )
        .map_err(db_error)?;
    let parse = |t: Option<String>| {
        t.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<i64>>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, i64>(12)?,
                r.get::<_, String>(13)?,
            ))
        })
        .map_err(db_error)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, org, phase, since, next, code, ename, emsg, eat, cursor, caught, last, n, rev) =
            row.map_err(db_error)?;
        let phase: TenantPhase =
            serde_json::from_value(serde_json::Value::String(phase.clone()))
                .map_err(|_| Error::Checkpoint(format!("tenant {name}: unknown phase {phase}")))?;
        out.push(TenantState {
            name,
            organization_id: org as u64,
            phase,
            since: parse(Some(since)).unwrap_or_else(Utc::now),
            next_attempt: parse(next),
            last_error: code.map(|code| TenantError {
                code: code as u32,
                name: ename.unwrap_or_default(),
                message: emsg.unwrap_or_default(),
                at: parse(eat).unwrap_or_else(Utc::now),
            }),
            cursor: cursor.map(|c| c as u64),
            caught_up_at: parse(caught),
            last_sweep: parse(last),
            delivered: n as u64,
            requests: 0,
            errors: Default::default(),
            revision: rev,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(dir: &Path, fail: u32) -> FleetDb {
        FleetDb {
            db: SyncStore::open(&dir.join("fleet.db")).unwrap(),
            staged: StagedRecords::new(),
            fail_commits: std::sync::atomic::AtomicU32::new(fail),
        }
    }

    #[test]
    fn a_group_that_failed_as_a_whole_is_retried_then_failed_for_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (PollerState::new("items", 7), PollerState::new("items", 9));
        // Two failed attempts, then the third commits both.
        let store = db(dir.path(), 2);
        let results = store.save_batch(&[("a", &a), ("b", &b)]);
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        assert_eq!(store.load("a").unwrap().unwrap().cursor, 7);
        assert_eq!(store.load("b").unwrap().unwrap().cursor, 9);
        drop(store);
        // Failing on every attempt: each entry gets the error, nothing is written.
        let dir = tempfile::tempdir().unwrap();
        let store = db(dir.path(), 10);
        let results = store.save_batch(&[("a", &a), ("b", &b)]);
        assert_eq!(results.len(), 2);
        for r in &results {
            let e = r.as_ref().unwrap_err();
            assert_eq!(e.code(), safe_tracker::ErrorCode::Checkpoint);
            assert!(e.to_string().contains("injected"), "{e}");
        }
        assert_eq!(store.load("a").unwrap(), None);
        assert_eq!(
            store.fail_commits.load(std::sync::atomic::Ordering::SeqCst),
            10 - (1 + WHOLE_RETRIES.len() as u32),
            "one attempt and every retry"
        );
    }
}
