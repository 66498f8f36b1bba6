//! The sync tables in PostgreSQL: the tables and column names of the SQLite store of `sync`
//! and `serve` (`items` keyed by (organization_id, item_id), `updated_items`, `sync_log`,
//! `fleet_tenants`), so an RMS reads either store the same way, plus the tenant sets applied
//! to the fleet. Times are `timestamptz` (the SQLite store writes ISO-8601 text); JSON
//! columns are `text` holding the JSON exactly as delivered (cast to `jsonb` to query it).
//!
//! A record is written the way the SQLite store writes it: an item upserted by its key (a
//! new, late, redelivered or renumbered row in `sync_log`, and its warnings), a change stored
//! in `updated_items` and landed in the item's row by item id.

use deadpool_postgres::tokio_postgres::types::{ToSql, Type};
use deadpool_postgres::tokio_postgres::{Error as SqlError, Transaction};

use super::PgStore;
use crate::error::Result;
use crate::fleet::FleetRecord;
use crate::migrations::Migration;
use crate::poller::{DedupeKey, ItemRecord, UpdatedRecord};

/// The component of the version table these steps belong to.
pub(super) const COMPONENT: &str = "postgres_sync";

/// The steps, in order (a released step is never edited: add one).
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "items, updated items, sync log, tenant states and tenant sets",
    sql: "CREATE TABLE items (
            organization_id BIGINT NOT NULL,
            item_id BIGINT,
            sequential_org_id BIGINT NOT NULL,
            description TEXT,
            primary_case_id BIGINT,
            primary_case_number TEXT,
            item_json TEXT NOT NULL,
            form_data_json TEXT,
            case_json TEXT,
            people_json TEXT,
            custody_json TEXT,
            late INTEGER NOT NULL DEFAULT 0,
            warnings_json TEXT,
            synced_at TIMESTAMPTZ NOT NULL
          );
          CREATE UNIQUE INDEX items_by_item_id ON items (organization_id, item_id);
          CREATE UNIQUE INDEX items_without_id_by_number ON items
              (organization_id, sequential_org_id) WHERE item_id IS NULL;
          CREATE INDEX items_by_number ON items (organization_id, sequential_org_id);
          CREATE TABLE updated_items (
            organization_id BIGINT NOT NULL,
            item_id BIGINT NOT NULL,
            updated TEXT NOT NULL,
            item_json TEXT NOT NULL,
            synced_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (organization_id, item_id, updated)
          );
          CREATE TABLE sync_log (
            id BIGSERIAL PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            stream TEXT NOT NULL,
            organization_id BIGINT NOT NULL,
            key TEXT NOT NULL,
            note TEXT,
            event TEXT,
            sequential_org_id BIGINT
          );
          CREATE INDEX sync_log_by_key ON sync_log (organization_id, key);
          CREATE TABLE fleet_tenants (
            name TEXT PRIMARY KEY,
            organization_id BIGINT NOT NULL,
            phase TEXT NOT NULL,
            since TIMESTAMPTZ NOT NULL,
            next_attempt TIMESTAMPTZ,
            last_error_code INTEGER,
            last_error_name TEXT,
            last_error_message TEXT,
            last_error_at TIMESTAMPTZ,
            cursor BIGINT,
            caught_up_at TIMESTAMPTZ,
            last_sweep TIMESTAMPTZ,
            delivered BIGINT NOT NULL DEFAULT 0,
            revision TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            owner TEXT
          );
          CREATE TABLE safe_tracker_tenant_sets (
            id BIGSERIAL PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL,
            applied_by TEXT NOT NULL,
            source TEXT NOT NULL,
            dir TEXT NOT NULL,
            body TEXT NOT NULL,
            digest TEXT NOT NULL
          );",
}];

impl PgStore {
    /// Brings the sync tables up to date (each step once, whichever process comes first).
    pub async fn migrate_sync(&self) -> Result<Vec<u32>> {
        self.run(|pg| async move {
            let mut client = pg.client().await?;
            super::schema::migrate(&mut client, COMPONENT, MIGRATIONS).await
        })
        .await
    }
}

fn json<T: serde::Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref().and_then(|v| serde_json::to_string(v).ok())
}

/// Writes one record in `tx`; `Ok(true)` when it moved an item's row to another number.
pub(super) async fn write_record(
    tx: &Transaction<'_>,
    record: &FleetRecord,
) -> std::result::Result<bool, SqlError> {
    match record {
        FleetRecord::Item(r) => write_item(tx, r).await,
        FleetRecord::Updated(r) => write_updated(tx, r).await,
    }
}

async fn log(
    tx: &Transaction<'_>,
    stream: &str,
    organization_id: i64,
    key: &str,
    event: &str,
    note: &str,
    seq: Option<i64>,
) -> std::result::Result<(), SqlError> {
    tx.execute_typed(
        "INSERT INTO sync_log (at, stream, organization_id, key, note, event, sequential_org_id) \
         VALUES (now(), $1, $2, $3, $4, $5, $6)",
        &[
            (&stream, Type::TEXT),
            (&organization_id, Type::INT8),
            (&key, Type::TEXT),
            (&note, Type::TEXT),
            (&event, Type::TEXT),
            (&seq, Type::INT8),
        ],
    )
    .await
    .map(drop)
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

/// Upserts a delivered item by its key; logs new, late, redelivered or renumbered, and its
/// warnings.
async fn write_item(tx: &Transaction<'_>, r: &ItemRecord) -> std::result::Result<bool, SqlError> {
    let org = r.organization_id as i64;
    let seq = r.sequential_org_id as i64;
    let item_id = match r.key {
        DedupeKey::Item { item_id, .. } => Some(item_id),
        DedupeKey::Number { .. } => None,
    };
    // The row of the item's key: by item id, or by number for an item without one.
    let existing: Option<i64> = match item_id {
        Some(id) => tx
            .query_typed_opt(
                "SELECT sequential_org_id FROM items \
                 WHERE organization_id = $1 AND item_id = $2 FOR UPDATE",
                &[(&org, Type::INT8), (&id, Type::INT8)],
            )
            .await?
            .map(|row| row.get(0)),
        None => tx
            .query_typed_opt(
                "SELECT sequential_org_id FROM items \
                 WHERE organization_id = $1 AND item_id IS NULL AND sequential_org_id = $2 \
                 FOR UPDATE",
                &[(&org, Type::INT8), (&seq, Type::INT8)],
            )
            .await?
            .map(|row| row.get(0)),
    };
    let item_json = serde_json::to_string(&r.item).unwrap_or_default();
    let warnings =
        (!r.warnings.is_empty()).then(|| serde_json::to_string(&r.warnings).unwrap_or_default());
    let late = i32::from(r.late);
    let (form, case, people, custody) = (
        json(&r.form_data),
        json(&r.case),
        json(&r.people),
        json(&r.custody),
    );
    let values: [(&(dyn ToSql + Sync), Type); 13] = [
        (&org, Type::INT8),
        (&item_id, Type::INT8),
        (&seq, Type::INT8),
        (&r.item.description, Type::TEXT),
        (&r.item.primary_case_id, Type::INT8),
        (&r.item.primary_case_number, Type::TEXT),
        (&item_json, Type::TEXT),
        (&form, Type::TEXT),
        (&case, Type::TEXT),
        (&people, Type::TEXT),
        (&custody, Type::TEXT),
        (&late, Type::INT4),
        (&warnings, Type::TEXT),
    ];
    let key = log_key(&r.key);
    let mut renumbered = false;
    match existing {
        None => {
            tx.execute_typed(
                "INSERT INTO items (organization_id, item_id, sequential_org_id, description, \
                    primary_case_id, primary_case_number, item_json, form_data_json, case_json, \
                    people_json, custody_json, late, warnings_json, synced_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now())",
                &values,
            )
            .await?;
            let event = if r.late { "late" } else { "new" };
            log(tx, "items", org, &key, event, event, Some(seq)).await?;
        }
        Some(old) => {
            // The row is found by the same key again ($2 is the item id, or NULL and then the
            // row is the one without an id at number $14).
            let old_param = old;
            let mut params: Vec<(&(dyn ToSql + Sync), Type)> = values.to_vec();
            params.push((&old_param, Type::INT8));
            tx.execute_typed(
                "UPDATE items SET sequential_org_id = $3, description = $4, \
                    primary_case_id = $5, primary_case_number = $6, item_json = $7, \
                    form_data_json = $8, case_json = $9, people_json = $10, custody_json = $11, \
                    late = $12, warnings_json = $13, synced_at = now() \
                 WHERE organization_id = $1 AND ((item_id = $2) \
                    OR ($2::int8 IS NULL AND item_id IS NULL AND sequential_org_id = $14))",
                &params,
            )
            .await?;
            if old == seq {
                log(
                    tx,
                    "items",
                    org,
                    &key,
                    "redelivered",
                    "redelivered",
                    Some(seq),
                )
                .await?;
            } else {
                log_renumbered(tx, "items", org, &key, old, seq).await?;
                renumbered = true;
            }
        }
    }
    if !r.warnings.is_empty() {
        let note = r.warnings.join("; ");
        log(tx, "items", org, &key, "warning", &note, Some(seq)).await?;
    }
    Ok(renumbered)
}

async fn log_renumbered(
    tx: &Transaction<'_>,
    stream: &str,
    org: i64,
    key: &str,
    old: i64,
    new: i64,
) -> std::result::Result<(), SqlError> {
    let note = format!("old {old} -> new {new}");
    log(tx, stream, org, key, "renumbered", &note, Some(new)).await
}

/// Stores a change in `updated_items` and lands the item in its `items` row (by item id),
/// taking its current number; an item not stored yet gets a row without expansions.
async fn write_updated(
    tx: &Transaction<'_>,
    r: &UpdatedRecord,
) -> std::result::Result<bool, SqlError> {
    let org = r.organization_id as i64;
    let seq: Option<i64> = r.item.sequential_org_id.filter(|s| *s > 0);
    let item_json = serde_json::to_string(&r.item).unwrap_or_default();
    tx.execute_typed(
        "INSERT INTO updated_items (organization_id, item_id, updated, item_json, synced_at) \
         VALUES ($1, $2, $3, $4, now()) ON CONFLICT (organization_id, item_id, updated) \
         DO UPDATE SET item_json = excluded.item_json, synced_at = excluded.synced_at",
        &[
            (&org, Type::INT8),
            (&r.item_id, Type::INT8),
            (&r.updated, Type::TEXT),
            (&item_json, Type::TEXT),
        ],
    )
    .await?;
    let change = format!("{}@{}", r.item_id, r.updated);
    log(tx, "updated", org, &change, "updated", "updated", seq).await?;
    let existing: Option<i64> = tx
        .query_typed_opt(
            "SELECT sequential_org_id FROM items \
             WHERE organization_id = $1 AND item_id = $2 FOR UPDATE",
            &[(&org, Type::INT8), (&r.item_id, Type::INT8)],
        )
        .await?
        .map(|row| row.get(0));
    let key = r.item_id.to_string();
    match (existing, seq) {
        (Some(old), _) => {
            tx.execute_typed(
                "UPDATE items SET item_json = $3, description = $4, primary_case_id = $5, \
                    primary_case_number = $6, \
                    sequential_org_id = COALESCE($7, sequential_org_id), synced_at = now() \
                 WHERE organization_id = $1 AND item_id = $2",
                &[
                    (&org, Type::INT8),
                    (&r.item_id, Type::INT8),
                    (&item_json, Type::TEXT),
                    (&r.item.description, Type::TEXT),
                    (&r.item.primary_case_id, Type::INT8),
                    (&r.item.primary_case_number, Type::TEXT),
                    (&seq, Type::INT8),
                ],
            )
            .await?;
            if let Some(new) = seq.filter(|s| *s != old) {
                log_renumbered(tx, "updated", org, &key, old, new).await?;
                return Ok(true);
            }
        }
        (None, Some(seq)) => {
            tx.execute_typed(
                "INSERT INTO items (organization_id, item_id, sequential_org_id, description, \
                    primary_case_id, primary_case_number, item_json, late, synced_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, now())",
                &[
                    (&org, Type::INT8),
                    (&r.item_id, Type::INT8),
                    (&seq, Type::INT8),
                    (&r.item.description, Type::TEXT),
                    (&r.item.primary_case_id, Type::INT8),
                    (&r.item.primary_case_number, Type::TEXT),
                    (&item_json, Type::TEXT),
                ],
            )
            .await?;
            let note = "new, from the updated-items stream (no expansions yet)";
            log(tx, "updated", org, &key, "new", note, Some(seq)).await?;
        }
        // Neither stored nor numbered: it stays in `updated_items` only.
        (None, None) => {}
    }
    Ok(false)
}
