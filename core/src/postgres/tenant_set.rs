//! The tenant set of a shared fleet, kept in the database (`safe_tracker_tenant_sets`), so
//! the workers cannot disagree: the last set applied wins, and who applied it, from which
//! file and when is recorded. A set is the tenants file's text and the folder its relative
//! token files are read from on each worker; a file with an inline token is never stored.

use chrono::{DateTime, Utc};
use deadpool_postgres::tokio_postgres::types::Type;

use super::PgStore;
use crate::error::{Error, Result};

/// A fixed key of `pg_advisory_xact_lock` for applying a set ("safeset" in ASCII).
const SET_LOCK: i64 = 0x0073_6166_6573_6574;

/// A tenant set as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSet {
    /// Its number (increasing: the newest set has the highest).
    pub id: i64,
    /// When it was applied (database clock).
    pub applied_at: DateTime<Utc>,
    /// The worker that applied it.
    pub applied_by: String,
    /// The file it was read from, on that worker.
    pub source: String,
    /// The folder relative token files are read from.
    pub dir: String,
    /// The tenants file's text.
    pub body: String,
}

impl PgStore {
    /// Applies a tenants file's text: stored as the newest set unless it equals the newest
    /// one already. Returns the set's id and whether it was new. Refused when the text holds
    /// an inline token (`inline_tokens` names the tenants; the token would be in the database).
    pub async fn apply_tenant_set(
        &self,
        source: &str,
        dir: &str,
        body: &str,
        applied_by: &str,
        inline_tokens: &[String],
    ) -> Result<(i64, bool)> {
        if !inline_tokens.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "the tenants file holds an inline token (tenant {}): a file applied to a shared \
                 PostgreSQL store is copied into the database, so give each token with \
                 `token_file` or `token_env`",
                inline_tokens.join(", ")
            )));
        }
        let digest = format!(
            "{:016x}",
            crate::poller::stable_hash(&format!("{dir}\n{body}"))
        );
        let (source, dir, body, applied_by) = (
            source.to_string(),
            dir.to_string(),
            body.to_string(),
            applied_by.to_string(),
        );
        self.run(move |pg| async move {
            let mut client = pg.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg.sql_error("apply the tenant set", e))?;
            tx.execute_typed(
                "SELECT pg_advisory_xact_lock($1)",
                &[(&SET_LOCK, Type::INT8)],
            )
            .await
            .map_err(|e| pg.sql_error("apply the tenant set", e))?;
            let newest = tx
                .query_typed_opt(
                    "SELECT id, digest FROM safe_tracker_tenant_sets ORDER BY id DESC LIMIT 1",
                    &[],
                )
                .await
                .map_err(|e| pg.sql_error("read the tenant set", e))?;
            if let Some(row) = newest
                && row.get::<_, String>(1) == digest
            {
                return Ok((row.get(0), false));
            }
            let row = tx
                .query_typed_one(
                    "INSERT INTO safe_tracker_tenant_sets \
                        (applied_at, applied_by, source, dir, body, digest) \
                     VALUES (now(), $1, $2, $3, $4, $5) RETURNING id",
                    &[
                        (&applied_by, Type::TEXT),
                        (&source, Type::TEXT),
                        (&dir, Type::TEXT),
                        (&body, Type::TEXT),
                        (&digest, Type::TEXT),
                    ],
                )
                .await
                .map_err(|e| pg.sql_error("store the tenant set", e))?;
            tx.commit()
                .await
                .map_err(|e| pg.sql_error("apply the tenant set", e))?;
            Ok((row.get(0), true))
        })
        .await
    }

    /// The id of the newest set (cheap: workers look every round).
    pub async fn tenant_set_id(&self) -> Result<Option<i64>> {
        self.run(|pg| async move {
            let client = pg.client().await?;
            let row = client
                .query_typed_one("SELECT max(id) FROM safe_tracker_tenant_sets", &[])
                .await
                .map_err(|e| pg.sql_error("read the tenant set", e))?;
            Ok(row.get(0))
        })
        .await
    }

    /// The newest set, if any was applied.
    pub async fn tenant_set(&self) -> Result<Option<TenantSet>> {
        self.run(|pg| async move {
            let client = pg.client().await?;
            let row = client
                .query_typed_opt(
                    "SELECT id, applied_at, applied_by, source, dir, body \
                     FROM safe_tracker_tenant_sets ORDER BY id DESC LIMIT 1",
                    &[],
                )
                .await
                .map_err(|e| pg.sql_error("read the tenant set", e))?;
            Ok(row.map(|r| TenantSet {
                id: r.get(0),
                applied_at: r.get(1),
                applied_by: r.get(2),
                source: r.get(3),
                dir: r.get(4),
                body: r.get(5),
            }))
        })
        .await
    }
}
