//! The PostgreSQL schemas (the lease and checkpoint tables here; the sync tables in
//! [`super::records`]) and their migration.

use deadpool_postgres::tokio_postgres::Client;
use deadpool_postgres::tokio_postgres::types::Type;

use crate::error::{Error, Result};
use crate::migrations::{CREATE_VERSION_TABLE, Migration, VERSION_TABLE, pending};

/// The component of the version table these steps belong to.
pub(super) const COMPONENT: &str = "postgres_leases";

/// The steps, in order (a released step is never edited: add one).
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "leases, workers and fenced checkpoints",
    sql: "CREATE TABLE IF NOT EXISTS safe_tracker_leases (
            unit TEXT PRIMARY KEY,
            owner TEXT,
            epoch BIGINT NOT NULL DEFAULT 0,
            expires_at TIMESTAMPTZ,
            acquired_at TIMESTAMPTZ,
            takeovers BIGINT NOT NULL DEFAULT 0
          );
          CREATE TABLE IF NOT EXISTS safe_tracker_workers (
            id TEXT PRIMARY KEY,
            started_at TIMESTAMPTZ NOT NULL,
            heartbeat TIMESTAMPTZ NOT NULL
          );
          CREATE TABLE IF NOT EXISTS safe_tracker_checkpoints (
            stream_key TEXT PRIMARY KEY,
            unit TEXT NOT NULL,
            state TEXT NOT NULL,
            saved_at TIMESTAMPTZ NOT NULL
          );",
}];

/// A fixed key of `pg_advisory_xact_lock` for schema changes (any number unlikely to be used
/// by a host's own locks in the same database: "safe" in ASCII, twice).
const SCHEMA_LOCK: i64 = 0x7361_6665_7361_6665;

/// Brings `component`'s schema up to date: one transaction holding the advisory transaction
/// lock reads the version again and applies what is pending, so two processes starting
/// together apply each step once. Returns the versions applied.
pub(super) async fn migrate(
    client: &mut Client,
    component: &str,
    steps: &[Migration],
) -> Result<Vec<u32>> {
    let sql_error = |what: &str, e: &dyn std::fmt::Display| {
        Error::Checkpoint(format!(
            "PostgreSQL schema of `{component}`: cannot {what}: {e}"
        ))
    };
    let db_error = |what: &str, e: deadpool_postgres::tokio_postgres::Error| {
        sql_error(what, &super::connect::describe(&e))
    };
    let tx = client
        .transaction()
        .await
        .map_err(|e| db_error("begin", e))?;
    // "already exists, skipping" notices of the IF NOT EXISTS statements are not news.
    tx.batch_execute("SET LOCAL client_min_messages = warning")
        .await
        .map_err(|e| db_error("begin", e))?;
    tx.execute_typed(
        "SELECT pg_advisory_xact_lock($1)",
        &[(&SCHEMA_LOCK, Type::INT8)],
    )
    .await
    .map_err(|e| db_error("take the schema lock", e))?;
    tx.batch_execute(CREATE_VERSION_TABLE)
        .await
        .map_err(|e| db_error("create the version table", e))?;
    let row = tx
        .query_typed_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {VERSION_TABLE} WHERE component = $1"),
            &[(&component, Type::TEXT)],
        )
        .await
        .map_err(|e| db_error("read the version", e))?;
    let current: i32 = row.get(0);
    let current = u32::try_from(current).map_err(|_| sql_error("read the version", &current))?;
    let mut applied = Vec::new();
    for step in pending(component, current, steps)? {
        tx.batch_execute(step.sql)
            .await
            .map_err(|e| db_error(&format!("apply version {}", step.version), e))?;
        let version = i32::try_from(step.version).expect("a small version");
        tx.execute_typed(
            &format!(
                "INSERT INTO {VERSION_TABLE} (component, version, name, applied_at) \
                 VALUES ($1, $2, $3, to_char(now() AT TIME ZONE 'UTC', \
                 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"
            ),
            &[
                (&component, Type::TEXT),
                (&version, Type::INT4),
                (&step.name, Type::TEXT),
            ],
        )
        .await
        .map_err(|e| db_error(&format!("record version {}", step.version), e))?;
        applied.push(step.version);
    }
    tx.commit().await.map_err(|e| db_error("commit", e))?;
    Ok(applied)
}
