//! The embedded SQLite store of `sync`: items (with their expansions), updated items, a sync
//! log and the checkpoint. A record handed to the store is only staged; it is written when
//! the poller saves its checkpoint after acknowledging that record, in the same transaction
//! as the checkpoint. A crash therefore leaves each item either fully stored with the
//! checkpoint past it, or absent with the checkpoint before it: never lost, never twice.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, params};
use safe_tracker::poller::{
    CheckpointStore, ItemRecord, PollerState, SqliteCheckpoint, UpdatedRecord,
};
use safe_tracker::{Error, Result};

const SCHEMA: &str = "
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE IF NOT EXISTS items (
    organization_id INTEGER NOT NULL,
    sequential_org_id INTEGER NOT NULL,
    item_id INTEGER,
    description TEXT,
    primary_case_id INTEGER,
    primary_case_number TEXT,
    item_json TEXT NOT NULL,
    form_data_json TEXT,
    case_json TEXT,
    people_json TEXT,
    custody_json TEXT,
    late INTEGER NOT NULL DEFAULT 0,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, sequential_org_id)
);
CREATE TABLE IF NOT EXISTS updated_items (
    organization_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    updated TEXT NOT NULL,
    item_json TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, item_id, updated)
);
CREATE TABLE IF NOT EXISTS sync_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    stream TEXT NOT NULL,
    organization_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    note TEXT
);
CREATE TABLE IF NOT EXISTS safe_tracker_checkpoints (
    stream_key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
";

/// A record waiting for its acknowledgement.
pub enum Staged {
    /// A new item.
    Item(Box<ItemRecord>),
    /// A changed item.
    Updated(Box<UpdatedRecord>),
}

/// The SQLite store of one poller (one per stream; several may share the file).
pub struct SyncStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    staged: Mutex<Vec<Staged>>,
}

impl std::fmt::Debug for SyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncStore")
            .field("path", &self.path)
            .finish()
    }
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::Checkpoint(format!("SQLite: {e}"))
}

fn json<T: serde::Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref().and_then(|v| serde_json::to_string(v).ok())
}

impl SyncStore {
    /// Opens (or creates) the database.
    pub fn open(path: &Path) -> Result<SyncStore> {
        let conn = Connection::open(path).map_err(db_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db_error)?;
        conn.execute_batch(SCHEMA).map_err(db_error)?;
        Ok(SyncStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            staged: Mutex::new(Vec::new()),
        })
    }

    /// Stages a record; it is written with the next checkpoint save (its acknowledgement).
    pub fn stage(&self, record: Staged) {
        if let Ok(mut s) = self.staged.lock() {
            s.push(record);
        }
    }

    fn write(tx: &rusqlite::Transaction<'_>, staged: &Staged) -> rusqlite::Result<()> {
        match staged {
            Staged::Item(r) => {
                let item_json = serde_json::to_string(&r.item).unwrap_or_default();
                tx.execute(
                    "INSERT INTO items (organization_id, sequential_org_id, item_id, description,
                        primary_case_id, primary_case_number, item_json, form_data_json, case_json,
                        people_json, custody_json, late, synced_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, strftime('%Y-%m-%dT%H:%M:%fZ','now'))
                     ON CONFLICT(organization_id, sequential_org_id) DO UPDATE SET
                        item_id = excluded.item_id, description = excluded.description,
                        item_json = excluded.item_json, form_data_json = excluded.form_data_json,
                        case_json = excluded.case_json, people_json = excluded.people_json,
                        custody_json = excluded.custody_json, late = excluded.late,
                        synced_at = excluded.synced_at",
                    params![
                        r.organization_id as i64,
                        r.sequential_org_id as i64,
                        r.item.id,
                        r.item.description,
                        r.item.primary_case_id,
                        r.item.primary_case_number,
                        item_json,
                        json(&r.form_data),
                        json(&r.case),
                        json(&r.people),
                        json(&r.custody),
                        r.late,
                    ],
                )?;
                tx.execute(
                    "INSERT INTO sync_log (at, stream, organization_id, key, note)
                     VALUES (strftime('%Y-%m-%dT%H:%M:%fZ','now'), 'items', ?1, ?2, ?3)",
                    params![
                        r.organization_id as i64,
                        r.sequential_org_id.to_string(),
                        if r.late { "late" } else { "new" }
                    ],
                )?;
            }
            Staged::Updated(r) => {
                tx.execute(
                    "INSERT OR REPLACE INTO updated_items (organization_id, item_id, updated, item_json, synced_at)
                     VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                    params![
                        r.organization_id as i64,
                        r.item_id,
                        r.updated,
                        serde_json::to_string(&r.item).unwrap_or_default()
                    ],
                )?;
                tx.execute(
                    "INSERT INTO sync_log (at, stream, organization_id, key, note)
                     VALUES (strftime('%Y-%m-%dT%H:%M:%fZ','now'), 'updated', ?1, ?2, 'updated')",
                    params![
                        r.organization_id as i64,
                        format!("{}@{}", r.item_id, r.updated)
                    ],
                )?;
            }
        }
        Ok(())
    }
}

impl CheckpointStore for SyncStore {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::Checkpoint("store poisoned".into()))?;
        let text: Option<String> = conn
            .query_row(
                "SELECT state FROM safe_tracker_checkpoints WHERE stream_key = ?1",
                [key],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(db_error)?;
        text.map(|t| PollerState::from_json(&t)).transpose()
    }

    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| Error::Checkpoint("store poisoned".into()))?;
        let staged: Vec<Staged> = self
            .staged
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        let tx = conn.transaction().map_err(db_error)?;
        for s in &staged {
            SyncStore::write(&tx, s).map_err(db_error)?;
        }
        SqliteCheckpoint::save_with(&tx, key, state)?;
        tx.commit().map_err(db_error)
    }

    fn lock_path(&self, key: &str) -> Option<PathBuf> {
        let stream = key.rsplit('|').next().unwrap_or("items");
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{stream}.lock"));
        Some(PathBuf::from(p))
    }
}
