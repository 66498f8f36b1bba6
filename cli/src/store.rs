//! The embedded SQLite store of `sync`: items (with their expansions), updated items, a sync
//! log and the checkpoint. A record handed to the store is only staged; it is written when
//! the poller saves its checkpoint after acknowledging that record, in the same transaction
//! as the checkpoint. A crash therefore leaves each item either fully stored with the
//! checkpoint past it, or absent with the checkpoint before it: never lost, never twice.
//!
//! Identity is the item id: `items` holds one row per (organization_id, item_id), or per
//! (organization_id, sequential_org_id) for an item that came without an id. The number is an
//! indexed column: an item that comes back under another number (renumbered) updates its row
//! and writes a `renumbered` sync-log row; several items of one number are several rows.
//!
//! The schema is versioned with [`safe_tracker::migrations`] (component [`COMPONENT`]):
//! version 1 is the schema of the releases before versioning (so their databases are
//! recognised), version 2 rekeys `items` by item id.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension, params};
use safe_tracker::migrations::{self, Migration};
use safe_tracker::poller::{
    CheckpointStore, DedupeKey, ItemRecord, PollerState, SqliteCheckpoint, UpdatedRecord,
};
use safe_tracker::{Error, Result};

/// The store's component name in the schema-version table.
pub const COMPONENT: &str = "cli_sync_store";

/// Set on every connection (not part of a migration: SQLite refuses to change the journal
/// mode inside a transaction).
const PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";

/// Version 1: the schema exactly as the releases before schema versioning created it. On
/// their databases it changes nothing (every statement is `IF NOT EXISTS`).
const V1: &str = "
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

/// Version 2: `items` keyed by (organization_id, item_id) — (organization_id,
/// sequential_org_id) for items without an id — with the number an indexed column and the
/// record's warnings in `warnings_json`; `sync_log` gains `event` (what happened: new, late,
/// redelivered, renumbered, updated, warning, skipped) and `sequential_org_id`. Rows are
/// copied; when the old keying stored one item under two numbers (it was renumbered), the
/// newest row is kept and the other is logged as `renumbered`.
const V2: &str = "
CREATE TABLE items_v2 (
    organization_id INTEGER NOT NULL,
    item_id INTEGER,
    sequential_org_id INTEGER NOT NULL,
    description TEXT,
    primary_case_id INTEGER,
    primary_case_number TEXT,
    item_json TEXT NOT NULL,
    form_data_json TEXT,
    case_json TEXT,
    people_json TEXT,
    custody_json TEXT,
    late INTEGER NOT NULL DEFAULT 0,
    warnings_json TEXT,
    synced_at TEXT NOT NULL
);
ALTER TABLE sync_log ADD COLUMN event TEXT;
ALTER TABLE sync_log ADD COLUMN sequential_org_id INTEGER;
UPDATE sync_log SET event = note;
UPDATE sync_log SET sequential_org_id = CAST(key AS INTEGER) WHERE stream = 'items';
INSERT INTO sync_log (at, stream, organization_id, key, note, event, sequential_org_id)
SELECT strftime('%Y-%m-%dT%H:%M:%fZ','now'), 'items', organization_id, CAST(item_id AS TEXT),
       'old ' || sequential_org_id || ' -> new ' || kept
         || ' (schema migration 2: the item was stored under both numbers; the newest row is kept)',
       'renumbered', kept
FROM (SELECT organization_id, item_id, sequential_org_id,
             ROW_NUMBER() OVER w AS pos, FIRST_VALUE(sequential_org_id) OVER w AS kept
      FROM items WHERE item_id IS NOT NULL
      WINDOW w AS (PARTITION BY organization_id, item_id
                   ORDER BY synced_at DESC, sequential_org_id DESC)) AS ranked
WHERE pos > 1
ORDER BY organization_id, item_id, sequential_org_id;
INSERT INTO items_v2 (organization_id, item_id, sequential_org_id, description, primary_case_id,
    primary_case_number, item_json, form_data_json, case_json, people_json, custody_json, late,
    warnings_json, synced_at)
SELECT organization_id, item_id, sequential_org_id, description, primary_case_id,
    primary_case_number, item_json, form_data_json, case_json, people_json, custody_json, late,
    NULL, synced_at
FROM (SELECT items.*, ROW_NUMBER() OVER (PARTITION BY organization_id, item_id
                                         ORDER BY synced_at DESC, sequential_org_id DESC) AS pos
      FROM items) AS ranked
WHERE item_id IS NULL OR pos = 1;
DROP TABLE items;
ALTER TABLE items_v2 RENAME TO items;
CREATE UNIQUE INDEX items_by_item_id ON items (organization_id, item_id);
CREATE UNIQUE INDEX items_without_id_by_number ON items (organization_id, sequential_org_id)
    WHERE item_id IS NULL;
CREATE INDEX items_by_number ON items (organization_id, sequential_org_id);
CREATE INDEX sync_log_by_key ON sync_log (organization_id, key);
";

/// Version 3: `fleet_tenants`, the state of each tenant of `serve` (one row per tenant name),
/// read by `fleet status` and by a restarted `serve`.
const V3: &str = "
CREATE TABLE fleet_tenants (
    name TEXT PRIMARY KEY,
    organization_id INTEGER NOT NULL,
    phase TEXT NOT NULL,
    since TEXT NOT NULL,
    next_attempt TEXT,
    last_error_code INTEGER,
    last_error_name TEXT,
    last_error_message TEXT,
    last_error_at TEXT,
    cursor INTEGER,
    caught_up_at TEXT,
    last_sweep TEXT,
    delivered INTEGER NOT NULL DEFAULT 0,
    revision TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
";

/// The store's schema, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "items keyed by number (the schema before versioning)",
        sql: V1,
    },
    Migration {
        version: 2,
        name: "items keyed by item id; sync_log event and number",
        sql: V2,
    },
    Migration {
        version: 3,
        name: "fleet_tenants: the state of each tenant of serve",
        sql: V3,
    },
];

/// A record waiting for its acknowledgement.
pub enum Staged {
    /// A new item.
    Item(Box<ItemRecord>),
    /// A changed item.
    Updated(Box<UpdatedRecord>),
    /// A number an operator stepped over (written with the checkpoint that records it).
    Skipped {
        /// Organisation.
        organization_id: u64,
        /// The number.
        seq: u64,
        /// The operator's reason, and the failure it was stuck with.
        note: String,
    },
}

impl From<safe_tracker::fleet::FleetRecord> for Staged {
    fn from(record: safe_tracker::fleet::FleetRecord) -> Staged {
        match record {
            safe_tracker::fleet::FleetRecord::Item(r) => Staged::Item(r),
            safe_tracker::fleet::FleetRecord::Updated(r) => Staged::Updated(r),
        }
    }
}

/// What the store holds, for `status`.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    /// Schema version of the store.
    pub schema_version: u32,
    /// Item rows.
    pub items: i64,
    /// Distinct numbers among them.
    pub numbers: i64,
    /// Rows whose last delivery carried warnings.
    pub items_with_warnings: i64,
    /// Items without an id (keyed by number).
    pub items_without_id: i64,
    /// `renumbered` log rows.
    pub renumbered: i64,
    /// `skipped` log rows.
    pub skipped: i64,
}

/// The SQLite store of one poller (one per stream; several may share the file).
pub struct SyncStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    staged: Mutex<Vec<Staged>>,
    renumbered: AtomicU64,
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

fn log(
    tx: &rusqlite::Transaction<'_>,
    stream: &str,
    organization_id: u64,
    key: &str,
    event: &str,
    note: &str,
    seq: Option<u64>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO sync_log (at, stream, organization_id, key, note, event, sequential_org_id)
         VALUES (strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            stream,
            organization_id as i64,
            key,
            note,
            event,
            seq.map(|s| s as i64)
        ],
    )?;
    Ok(())
}

/// The row (rowid, number) holding item `item_id` of `organization_id`, if stored.
fn row_of_item(
    tx: &rusqlite::Transaction<'_>,
    organization_id: u64,
    item_id: i64,
) -> rusqlite::Result<Option<(i64, i64)>> {
    tx.query_row(
        "SELECT rowid, sequential_org_id FROM items WHERE organization_id = ?1 AND item_id = ?2",
        params![organization_id as i64, item_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
}

/// The `sync_log` key of a record: the item id, or `seq:<n>` for an item without one.
fn log_key(key: &DedupeKey) -> String {
    match key {
        DedupeKey::Item { item_id, .. } => item_id.to_string(),
        DedupeKey::Number {
            sequential_org_id, ..
        } => format!("seq:{sequential_org_id}"),
    }
}

impl SyncStore {
    /// Opens (or creates) the database, migrating its schema to the latest version.
    pub fn open(path: &Path) -> Result<SyncStore> {
        let mut conn = Connection::open(path).map_err(|e| {
            Error::Checkpoint(format!("cannot open the database {}: {e}", path.display()))
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db_error)?;
        conn.execute_batch(PRAGMAS).map_err(db_error)?;
        migrations::apply(&mut conn, COMPONENT, MIGRATIONS).map_err(|e| {
            Error::Checkpoint(format!("{}: {}", path.display(), strip_checkpoint(&e)))
        })?;
        Ok(SyncStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            staged: Mutex::new(Vec::new()),
            renumbered: AtomicU64::new(0),
        })
    }

    /// Stages a record; it is written with the next checkpoint save (its acknowledgement).
    pub fn stage(&self, record: Staged) {
        if let Ok(mut s) = self.staged.lock() {
            s.push(record);
        }
    }

    /// Forgets the staged records (an operation that will not save the checkpoint).
    pub fn discard_staged(&self) {
        if let Ok(mut s) = self.staged.lock() {
            s.clear();
        }
    }

    /// Items that came back under another number, written by this store so far.
    pub fn renumbered(&self) -> u64 {
        self.renumbered.load(Ordering::Relaxed)
    }

    /// Counts for `status`.
    pub fn summary(&self) -> Result<Summary> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::Checkpoint("store poisoned".into()))?;
        let count =
            |sql: &str| -> Result<i64> { conn.query_row(sql, [], |r| r.get(0)).map_err(db_error) };
        Ok(Summary {
            schema_version: migrations::current_version(&conn, COMPONENT)?,
            items: count("SELECT count(*) FROM items")?,
            numbers: count(
                "SELECT count(*) FROM (SELECT DISTINCT organization_id, sequential_org_id FROM items) AS n",
            )?,
            items_with_warnings: count(
                "SELECT count(*) FROM items WHERE warnings_json IS NOT NULL",
            )?,
            items_without_id: count("SELECT count(*) FROM items WHERE item_id IS NULL")?,
            renumbered: count("SELECT count(*) FROM sync_log WHERE event = 'renumbered'")?,
            skipped: count("SELECT count(*) FROM sync_log WHERE event = 'skipped'")?,
        })
    }

    /// The connection (for the fleet store, which writes through this store's writers).
    pub(crate) fn connection(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Checkpoint("store poisoned".into()))
    }

    /// Writes one staged record in `tx` (rows, sync log, renumbered count).
    pub(crate) fn write(
        &self,
        tx: &rusqlite::Transaction<'_>,
        staged: &Staged,
    ) -> rusqlite::Result<()> {
        match staged {
            Staged::Item(r) => self.write_item(tx, r),
            Staged::Updated(r) => self.write_updated(tx, r),
            Staged::Skipped {
                organization_id,
                seq,
                note,
            } => log(
                tx,
                "items",
                *organization_id,
                &format!("seq:{seq}"),
                "skipped",
                note,
                Some(*seq),
            ),
        }
    }

    /// Upserts a delivered item by its key; logs new, late, redelivered or renumbered, and
    /// its warnings.
    fn write_item(&self, tx: &rusqlite::Transaction<'_>, r: &ItemRecord) -> rusqlite::Result<()> {
        let org = r.organization_id;
        let seq = r.sequential_org_id;
        let existing: Option<(i64, i64)> = match r.key {
            DedupeKey::Item {
                organization_id,
                item_id,
            } => row_of_item(tx, organization_id, item_id)?,
            DedupeKey::Number {
                organization_id,
                sequential_org_id,
            } => tx
                .query_row(
                    "SELECT rowid, sequential_org_id FROM items
                     WHERE organization_id = ?1 AND item_id IS NULL AND sequential_org_id = ?2",
                    params![organization_id as i64, sequential_org_id as i64],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?,
        };
        let item_id = match r.key {
            DedupeKey::Item { item_id, .. } => Some(item_id),
            DedupeKey::Number { .. } => None,
        };
        let item_json = serde_json::to_string(&r.item).unwrap_or_default();
        let warnings = (!r.warnings.is_empty())
            .then(|| serde_json::to_string(&r.warnings).unwrap_or_default());
        let values = params![
            org as i64,
            item_id,
            seq as i64,
            r.item.description,
            r.item.primary_case_id,
            r.item.primary_case_number,
            item_json,
            json(&r.form_data),
            json(&r.case),
            json(&r.people),
            json(&r.custody),
            r.late,
            warnings,
        ];
        let key = log_key(&r.key);
        match existing {
            None => {
                tx.execute(
                    "INSERT INTO items (organization_id, item_id, sequential_org_id, description,
                        primary_case_id, primary_case_number, item_json, form_data_json, case_json,
                        people_json, custody_json, late, warnings_json, synced_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                        strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                    values,
                )?;
                let event = if r.late { "late" } else { "new" };
                log(tx, "items", org, &key, event, event, Some(seq))?;
            }
            Some((rowid, old)) => {
                tx.execute(
                    "UPDATE items SET organization_id = ?1, item_id = ?2, sequential_org_id = ?3,
                        description = ?4, primary_case_id = ?5, primary_case_number = ?6,
                        item_json = ?7, form_data_json = ?8, case_json = ?9, people_json = ?10,
                        custody_json = ?11, late = ?12, warnings_json = ?13,
                        synced_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                     WHERE rowid = ?14",
                    rusqlite::params_from_iter(
                        values
                            .iter()
                            .copied()
                            .chain([&rowid as &dyn rusqlite::ToSql]),
                    ),
                )?;
                if old == seq as i64 {
                    log(
                        tx,
                        "items",
                        org,
                        &key,
                        "redelivered",
                        "redelivered",
                        Some(seq),
                    )?;
                } else {
                    self.log_renumbered(tx, "items", org, &key, old, seq)?;
                }
            }
        }
        if !r.warnings.is_empty() {
            log(
                tx,
                "items",
                org,
                &key,
                "warning",
                &r.warnings.join("; "),
                Some(seq),
            )?;
        }
        Ok(())
    }

    /// Logs that an item's row moved from number `old` to `new`, and counts it.
    fn log_renumbered(
        &self,
        tx: &rusqlite::Transaction<'_>,
        stream: &str,
        organization_id: u64,
        key: &str,
        old: i64,
        new: u64,
    ) -> rusqlite::Result<()> {
        log(
            tx,
            stream,
            organization_id,
            key,
            "renumbered",
            &format!("old {old} -> new {new}"),
            Some(new),
        )?;
        self.renumbered.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Stores a change in `updated_items` and lands the item in its `items` row (by item id),
    /// taking its current number: how an item renumbered below the cursor reaches the store.
    /// The row's expansions stay as they were; an item not stored yet gets a row without
    /// expansions (the items stream fills them when it delivers the item).
    fn write_updated(
        &self,
        tx: &rusqlite::Transaction<'_>,
        r: &UpdatedRecord,
    ) -> rusqlite::Result<()> {
        let org = r.organization_id;
        let seq = r
            .item
            .sequential_org_id
            .filter(|s| *s > 0)
            .map(|s| s as u64);
        let item_json = serde_json::to_string(&r.item).unwrap_or_default();
        tx.execute(
            "INSERT OR REPLACE INTO updated_items (organization_id, item_id, updated, item_json, synced_at)
             VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            params![org as i64, r.item_id, r.updated, item_json],
        )?;
        log(
            tx,
            "updated",
            org,
            &format!("{}@{}", r.item_id, r.updated),
            "updated",
            "updated",
            seq,
        )?;
        let existing = row_of_item(tx, org, r.item_id)?;
        let key = r.item_id.to_string();
        match (existing, seq) {
            (Some((rowid, old)), _) => {
                tx.execute(
                    "UPDATE items SET item_json = ?1, description = ?2, primary_case_id = ?3,
                        primary_case_number = ?4, sequential_org_id = COALESCE(?5, sequential_org_id),
                        synced_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                     WHERE rowid = ?6",
                    params![
                        item_json,
                        r.item.description,
                        r.item.primary_case_id,
                        r.item.primary_case_number,
                        seq.map(|s| s as i64),
                        rowid
                    ],
                )?;
                if let Some(new) = seq.filter(|s| *s as i64 != old) {
                    self.log_renumbered(tx, "updated", org, &key, old, new)?;
                }
            }
            (None, Some(seq)) => {
                tx.execute(
                    "INSERT INTO items (organization_id, item_id, sequential_org_id, description,
                        primary_case_id, primary_case_number, item_json, late, synced_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                    params![
                        org as i64,
                        r.item_id,
                        seq as i64,
                        r.item.description,
                        r.item.primary_case_id,
                        r.item.primary_case_number,
                        item_json
                    ],
                )?;
                log(
                    tx,
                    "updated",
                    org,
                    &key,
                    "new",
                    "new, from the updated-items stream (no expansions yet)",
                    Some(seq),
                )?;
            }
            // Neither stored nor numbered: it stays in `updated_items` only.
            (None, None) => {}
        }
        Ok(())
    }
}

/// The message of a checkpoint error without its "checkpoint error:" prefix, if any.
fn strip_checkpoint(e: &Error) -> String {
    match e {
        Error::Checkpoint(m) => m.clone(),
        other => other.to_string(),
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
            .optional()
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
        let renumbered_before = self.renumbered();
        // IMMEDIATE: the write lock first, so a read-then-write never fails as "locked".
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_error)?;
        let written = staged.iter().try_for_each(|s| self.write(&tx, s));
        if let Err(e) = written {
            // Rolled back: the count follows what is committed.
            self.renumbered.store(renumbered_before, Ordering::Relaxed);
            return Err(db_error(e));
        }
        SqliteCheckpoint::save_with(&tx, key, state)?;
        tx.commit().map_err(|e| {
            self.renumbered.store(renumbered_before, Ordering::Relaxed);
            db_error(e)
        })
    }

    fn lock_path(&self, key: &str) -> Option<PathBuf> {
        let stream = key.rsplit('|').next().unwrap_or("items");
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{stream}.lock"));
        Some(PathBuf::from(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_database_gets_every_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = SyncStore::open(&dir.path().join("s.db")).unwrap();
        let s = store.summary().unwrap();
        assert_eq!(s.schema_version, 3);
        assert_eq!(s.items, 0);
        drop(store);
        // Opening again applies nothing.
        let store = SyncStore::open(&dir.path().join("s.db")).unwrap();
        let conn = store.conn.lock().unwrap();
        let steps: i64 = conn
            .query_row(
                "SELECT count(*) FROM safe_tracker_schema_version WHERE component = ?1",
                [COMPONENT],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(steps, 3);
    }
}
