//! [`PgStore::import_sqlite`]: a SQLite sync store (of `sync` or `serve`) copied into the
//! PostgreSQL sync tables — items, updated items, the sync log, tenant states and
//! checkpoints — in one transaction, so moving a fleet to PostgreSQL resumes every tenant
//! where it was instead of syncing every agency again from 1.

use std::collections::HashMap;
use std::path::Path;

use deadpool_postgres::tokio_postgres::error::SqlState;
use deadpool_postgres::tokio_postgres::types::{ToSql, Type};

use super::PgStore;
use crate::error::{Error, Result};

/// What a copy moved, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// `items` rows.
    pub items: u64,
    /// `updated_items` rows.
    pub updated_items: u64,
    /// `sync_log` rows.
    pub sync_log: u64,
    /// `fleet_tenants` rows.
    pub fleet_tenants: u64,
    /// Checkpoints (each a poller's cursor and holes).
    pub checkpoints: u64,
}

/// A column's type on the PostgreSQL side (timestamps are ISO-8601 text in SQLite).
#[derive(Clone, Copy)]
enum Col {
    Int8,
    Int4,
    Text,
    Time,
}

/// One table copied: its name and columns, the same on both sides.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Col)],
}

use Col::{Int4, Int8, Text, Time};

const TABLES: &[Table] = &[
    Table {
        name: "items",
        columns: &[
            ("organization_id", Int8),
            ("item_id", Int8),
            ("sequential_org_id", Int8),
            ("description", Text),
            ("primary_case_id", Int8),
            ("primary_case_number", Text),
            ("item_json", Text),
            ("form_data_json", Text),
            ("case_json", Text),
            ("people_json", Text),
            ("custody_json", Text),
            ("late", Int4),
            ("warnings_json", Text),
            ("synced_at", Time),
        ],
    },
    Table {
        name: "updated_items",
        columns: &[
            ("organization_id", Int8),
            ("item_id", Int8),
            ("updated", Text),
            ("item_json", Text),
            ("synced_at", Time),
        ],
    },
    Table {
        name: "sync_log",
        columns: &[
            ("at", Time),
            ("stream", Text),
            ("organization_id", Int8),
            ("key", Text),
            ("note", Text),
            ("event", Text),
            ("sequential_org_id", Int8),
        ],
    },
    Table {
        name: "fleet_tenants",
        columns: &[
            ("name", Text),
            ("organization_id", Int8),
            ("phase", Text),
            ("since", Time),
            ("next_attempt", Time),
            ("last_error_code", Int4),
            ("last_error_name", Text),
            ("last_error_message", Text),
            ("last_error_at", Time),
            ("cursor", Int8),
            ("caught_up_at", Time),
            ("last_sweep", Time),
            ("delivered", Int8),
            ("revision", Text),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "safe_tracker_checkpoints",
        columns: &[
            ("stream_key", Text),
            ("unit", Text),
            ("state", Text),
            ("saved_at", Time),
        ],
    },
];

/// One value read from SQLite.
#[derive(Debug, Clone)]
enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// Rows of one table, in the order read.
struct Batch {
    table: usize,
    rows: Vec<Vec<Value>>,
}

/// The batch that says every table was read (the copy commits only after it).
const DONE: usize = usize::MAX;

/// Rows per `INSERT` statement.
const ROWS_PER_INSERT: usize = 200;

fn sqlite_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::Checkpoint(format!("SQLite {}: cannot read: {e}", path.display()))
}

/// Reads every table of `path` in batches into `tx` (the checkpoints' unit is the tenant of
/// their organisation in `fleet_tenants`, or `org-<id>` for a store of `sync`).
fn read_sqlite(path: &Path, tx: &tokio::sync::mpsc::Sender<Batch>) -> Result<()> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| sqlite_error(path, e))?;
    let has = |table: &str| -> Result<bool> {
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| sqlite_error(path, e))
    };
    let mut tenant_of: HashMap<i64, String> = HashMap::new();
    if has("fleet_tenants")? {
        let mut stmt = conn
            .prepare("SELECT organization_id, name FROM fleet_tenants")
            .map_err(|e| sqlite_error(path, e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| sqlite_error(path, e))?;
        for row in rows {
            let (org, name) = row.map_err(|e| sqlite_error(path, e))?;
            tenant_of.insert(org, name);
        }
    }
    for (index, table) in TABLES.iter().enumerate() {
        if !has(table.name)? {
            continue;
        }
        let checkpoints = table.name == "safe_tracker_checkpoints";
        let columns: Vec<&str> = table
            .columns
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| !(checkpoints && *c == "unit"))
            .collect();
        let order = if table.name == "sync_log" {
            " ORDER BY id"
        } else {
            ""
        };
        let sql = format!("SELECT {} FROM {}{order}", columns.join(", "), table.name);
        let mut stmt = conn.prepare(&sql).map_err(|e| sqlite_error(path, e))?;
        let mut rows = stmt.query([]).map_err(|e| sqlite_error(path, e))?;
        let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
        while let Some(row) = rows.next().map_err(|e| sqlite_error(path, e))? {
            let mut values = Vec::with_capacity(table.columns.len());
            for i in 0..columns.len() {
                values.push(match row.get_ref(i).map_err(|e| sqlite_error(path, e))? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => Value::Int(n),
                    rusqlite::types::ValueRef::Real(f) => Value::Int(f as i64),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        Value::Text(String::from_utf8_lossy(t).into_owned())
                    }
                });
            }
            if checkpoints {
                // stream_key is `base_url|organisation|office|stream`.
                let org = match &values[0] {
                    Value::Text(key) => key.split('|').nth(1).and_then(|o| o.parse::<i64>().ok()),
                    _ => None,
                };
                let unit = org
                    .map(|o| {
                        tenant_of
                            .get(&o)
                            .cloned()
                            .unwrap_or_else(|| format!("org-{o}"))
                    })
                    .unwrap_or_else(|| "unknown".into());
                values.insert(1, Value::Text(unit));
            }
            batch.push(values);
            if batch.len() == ROWS_PER_INSERT {
                let rows = std::mem::replace(&mut batch, Vec::with_capacity(ROWS_PER_INSERT));
                if tx.blocking_send(Batch { table: index, rows }).is_err() {
                    return Ok(()); // the writer failed; it reports why
                }
            }
        }
        if !batch.is_empty()
            && tx
                .blocking_send(Batch {
                    table: index,
                    rows: batch,
                })
                .is_err()
        {
            return Ok(());
        }
    }
    let _ = tx.blocking_send(Batch {
        table: DONE,
        rows: Vec::new(),
    });
    Ok(())
}

/// Boxed parameters of one multi-row `INSERT`.
fn params_of(
    table: &Table,
    rows: &[Vec<Value>],
) -> Result<Vec<(Box<dyn ToSql + Sync + Send>, Type)>> {
    let mut params: Vec<(Box<dyn ToSql + Sync + Send>, Type)> = Vec::new();
    for row in rows {
        for ((column, col), value) in table.columns.iter().zip(row) {
            let bad = || {
                Error::Checkpoint(format!(
                    "{}.{column}: a value of an unexpected type",
                    table.name
                ))
            };
            params.push(match (col, value) {
                (Int8, Value::Null) => (Box::new(None::<i64>), Type::INT8),
                (Int8, Value::Int(n)) => (Box::new(Some(*n)), Type::INT8),
                (Int4, Value::Null) => (Box::new(None::<i32>), Type::INT4),
                (Int4, Value::Int(n)) => (
                    Box::new(Some(i32::try_from(*n).map_err(|_| bad())?)),
                    Type::INT4,
                ),
                (Text | Time, Value::Null) => (Box::new(None::<String>), Type::TEXT),
                (Text | Time, Value::Text(t)) => (Box::new(Some(t.clone())), Type::TEXT),
                (Text | Time, Value::Int(n)) => (Box::new(Some(n.to_string())), Type::TEXT),
                (Int8 | Int4, Value::Text(_)) => return Err(bad()),
            });
        }
    }
    Ok(params)
}

/// `INSERT INTO table (…) VALUES (…), (…)` for `rows` rows, timestamps cast from text.
fn insert_sql(table: &Table, rows: usize) -> String {
    let names: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let width = table.columns.len();
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let cells: Vec<String> = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, col))| {
                    let n = r * width + i + 1;
                    match col {
                        Time => format!("${n}::text::timestamptz"),
                        _ => format!("${n}"),
                    }
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        names.join(", "),
        tuples.join(", ")
    )
}

/// The refusal of a copy into a store that holds some of the same data.
fn already_holds(pg: &PgStore) -> Error {
    Error::InvalidConfig(format!(
        "{} already holds items or checkpoints of the same organisations: nothing was copied \
         (copy into a store not yet used for them)",
        pg.target()
    ))
}

impl PgStore {
    /// Copies the SQLite sync store at `path` into this database's sync tables in one
    /// transaction. Refused, with nothing written, when this database already holds a
    /// checkpoint or an item of the same organisations (copy into a store not yet used for
    /// them); the caller keeps `serve` off the SQLite file meanwhile.
    pub async fn import_sqlite(&self, path: &Path) -> Result<ImportReport> {
        self.migrate_sync().await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
        let source = path.to_path_buf();
        let reader = std::thread::Builder::new()
            .name("safe-tracker-import".into())
            .spawn(move || read_sqlite(&source, &tx))
            .map_err(|e| Error::Checkpoint(format!("cannot start the reader: {e}")))?;
        let written = self
            .run(move |pg| async move {
                let mut client = pg.client().await?;
                let t = client
                    .transaction()
                    .await
                    .map_err(|e| pg.sql_error("begin the copy", e))?;
                let mut report = ImportReport::default();
                let mut orgs_seen: Vec<i64> = Vec::new();
                let mut keys_seen: Vec<String> = Vec::new();
                let mut complete = false;
                while let Some(batch) = rx.recv().await {
                    if batch.table == DONE {
                        complete = true;
                        break;
                    }
                    let table = &TABLES[batch.table];
                    for row in &batch.rows {
                        match (table.name, row.first()) {
                            ("items", _) | ("fleet_tenants", _) => {
                                let at = if table.name == "items" { 0 } else { 1 };
                                if let Some(Value::Int(o)) = row.get(at) {
                                    orgs_seen.push(*o);
                                }
                            }
                            ("safe_tracker_checkpoints", Some(Value::Text(k))) => {
                                keys_seen.push(k.clone());
                            }
                            _ => {}
                        }
                    }
                    let params = params_of(table, &batch.rows)?;
                    let refs: Vec<(&(dyn ToSql + Sync), Type)> = params
                        .iter()
                        .map(|(v, t)| (v.as_ref() as &(dyn ToSql + Sync), t.clone()))
                        .collect();
                    let n = t
                        .execute_typed(&insert_sql(table, batch.rows.len()), &refs)
                        .await
                        .map_err(|e| {
                            if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                                already_holds(&pg)
                            } else {
                                pg.sql_error(&format!("copy into {}", table.name), e)
                            }
                        })?;
                    match table.name {
                        "items" => report.items += n,
                        "updated_items" => report.updated_items += n,
                        "sync_log" => report.sync_log += n,
                        "fleet_tenants" => report.fleet_tenants += n,
                        _ => report.checkpoints += n,
                    }
                }
                if !complete {
                    // The reader failed (it says why): nothing is committed.
                    return Err(Error::Checkpoint(
                        "the SQLite store could not be read".into(),
                    ));
                }
                // What was there before this copy: anything of the same organisations or
                // checkpoints (the copy's own rows are counted out).
                orgs_seen.sort_unstable();
                orgs_seen.dedup();
                let before_items = t
                    .query_typed_one(
                        "SELECT count(*) FROM items WHERE organization_id = ANY($1)",
                        &[(&orgs_seen, Type::INT8_ARRAY)],
                    )
                    .await
                    .map_err(|e| pg.sql_error("check the target", e))?
                    .get::<_, i64>(0) as u64
                    - report.items;
                let before_keys = t
                    .query_typed_one(
                        "SELECT count(*) FROM safe_tracker_checkpoints WHERE stream_key = ANY($1)",
                        &[(&keys_seen, Type::TEXT_ARRAY)],
                    )
                    .await
                    .map_err(|e| pg.sql_error("check the target", e))?
                    .get::<_, i64>(0) as u64;
                if before_items > 0 || before_keys > report.checkpoints {
                    return Err(already_holds(&pg));
                }
                t.commit()
                    .await
                    .map_err(|e| pg.sql_error("commit the copy", e))?;
                Ok(report)
            })
            .await;
        let read = reader
            .join()
            .map_err(|_| Error::Checkpoint("the SQLite reader panicked".into()))?;
        match (written, read) {
            (_, Err(e)) | (Err(e), Ok(())) => Err(e),
            (Ok(report), Ok(())) => Ok(report),
        }
    }
}
