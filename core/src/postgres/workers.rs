//! The workers sharing a database's units: heartbeats, the live set, each one's fair share,
//! and the lease table as operators see it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use deadpool_postgres::tokio_postgres::types::Type;

use super::PgStore;
use crate::error::Result;

/// One row of the lease table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    /// The unit (a tenant).
    pub unit: String,
    /// Who holds it (`None` when given up).
    pub owner: Option<String>,
    /// The epoch of the last claim.
    pub epoch: i64,
    /// When the lease runs out (database clock).
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it is held now (owner set, not expired).
    pub live: bool,
    /// How many times another owner took it over from a lapsed one.
    pub takeovers: i64,
}

/// How many of `units` one of `workers` live workers may hold: `units / workers`, rounded
/// up (all of them when there is no other worker).
pub fn fair_share(units: usize, workers: usize) -> usize {
    units.div_ceil(workers.max(1))
}

impl PgStore {
    /// Records `owner` as alive now (database clock), joining the workers if it is new.
    pub async fn heartbeat(&self, owner: &str) -> Result<()> {
        let owner = owner.to_string();
        self.run(move |pg| async move {
            let client = pg.client().await?;
            client
                .execute_typed(
                    "INSERT INTO safe_tracker_workers (id, started_at, heartbeat) \
                     VALUES ($1, now(), now()) \
                     ON CONFLICT (id) DO UPDATE SET heartbeat = now()",
                    &[(&owner, Type::TEXT)],
                )
                .await
                .map_err(|e| pg.sql_error("record a heartbeat", e))?;
            Ok(())
        })
        .await
    }

    /// Removes `owner` from the workers and gives up every lease it holds (a worker stopping
    /// on purpose: its units move to the others at once).
    pub async fn leave(&self, owner: &str) -> Result<u64> {
        let owner = owner.to_string();
        self.run(move |pg| async move {
            let mut client = pg.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg.sql_error("leave", e))?;
            let released = tx
                .execute_typed(
                    "UPDATE safe_tracker_leases SET owner = NULL, expires_at = NULL \
                     WHERE owner = $1",
                    &[(&owner, Type::TEXT)],
                )
                .await
                .map_err(|e| pg.sql_error("leave", e))?;
            tx.execute_typed(
                "DELETE FROM safe_tracker_workers WHERE id = $1",
                &[(&owner, Type::TEXT)],
            )
            .await
            .map_err(|e| pg.sql_error("leave", e))?;
            tx.commit().await.map_err(|e| pg.sql_error("leave", e))?;
            Ok(released)
        })
        .await
    }

    /// The workers whose last heartbeat is within `within` of the database's now, by id.
    pub async fn live_workers(&self, within: Duration) -> Result<Vec<String>> {
        let secs = within.as_secs_f64();
        self.run(move |pg| async move {
            let client = pg.client().await?;
            let rows = client
                .query_typed(
                    "SELECT id FROM safe_tracker_workers \
                     WHERE heartbeat > now() - $1 * interval '1 second' ORDER BY id",
                    &[(&secs, Type::FLOAT8)],
                )
                .await
                .map_err(|e| pg.sql_error("list the workers", e))?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
        .await
    }

    /// Every lease row, by unit.
    pub async fn leases(&self) -> Result<Vec<LeaseRow>> {
        self.run(move |pg| async move {
            let client = pg.client().await?;
            let rows = client
                .query_typed(
                    "SELECT unit, owner, epoch, expires_at, \
                     (owner IS NOT NULL AND expires_at > now()), takeovers \
                     FROM safe_tracker_leases ORDER BY unit",
                    &[],
                )
                .await
                .map_err(|e| pg.sql_error("list the leases", e))?;
            Ok(rows
                .iter()
                .map(|r| LeaseRow {
                    unit: r.get(0),
                    owner: r.get(1),
                    epoch: r.get(2),
                    expires_at: r.get(3),
                    live: r.get(4),
                    takeovers: r.get(5),
                })
                .collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::fair_share;

    #[test]
    fn a_fair_share_rounds_up_and_a_lone_worker_takes_everything() {
        assert_eq!(fair_share(30, 3), 10);
        assert_eq!(fair_share(31, 3), 11);
        assert_eq!(fair_share(2, 3), 1);
        assert_eq!(fair_share(30, 1), 30);
        assert_eq!(fair_share(30, 0), 30);
        assert_eq!(fair_share(0, 4), 0);
    }
}
