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

/// One unit as `fleet status` shows it: its lease, and what its new-item checkpoint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitOverview {
    /// The lease row.
    pub lease: LeaseRow,
    /// The next number its sequential poller asks for, when it has saved one.
    pub cursor: Option<u64>,
    /// When its last sweep started.
    pub last_sweep: Option<DateTime<Utc>>,
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

    /// Every unit with a lease row, with its lease and its new-item checkpoint's cursor and
    /// last sweep; no SAFE request.
    pub async fn overview(&self) -> Result<Vec<UnitOverview>> {
        let leases = self.leases().await?;
        let states: Vec<(String, String)> = self
            .run(move |pg| async move {
                let client = pg.client().await?;
                let rows = client
                    .query_typed("SELECT unit, state FROM safe_tracker_checkpoints", &[])
                    .await
                    .map_err(|e| pg.sql_error("read the checkpoints", e))?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            })
            .await?;
        let mut items = std::collections::HashMap::new();
        for (unit, text) in states {
            // A state this release cannot read is shown without a cursor, not an error.
            if let Ok(state) = crate::poller::PollerState::from_json(&text)
                && state.stream == "items"
            {
                items.insert(unit, state);
            }
        }
        Ok(leases
            .into_iter()
            .map(|lease| {
                let state = items.get(&lease.unit);
                UnitOverview {
                    cursor: state.map(|s| s.cursor),
                    last_sweep: state.and_then(|s| s.last_sweep_started),
                    lease,
                }
            })
            .collect())
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

/// What one [`Membership::round`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Units claimed in this round (start polling them).
    pub claimed: Vec<String>,
    /// Units held over this worker's fair share: stop them after their current item, then
    /// [`Membership::release`] each, so a worker that joined gets its share.
    pub surplus: Vec<String>,
    /// Units whose lease another process took over (stop them at once: writes are fenced).
    pub lost: Vec<String>,
    /// The fair share this round worked to.
    pub share: usize,
    /// The live workers counted, this one included.
    pub workers: usize,
}

/// One worker's part in sharing a set of units with the other workers of a database: each
/// [`Membership::round`] beats its heartbeat, renews what it holds, and claims free units up
/// to its fair share (units ÷ live workers, rounded up) or names its surplus.
#[derive(Debug)]
pub struct Membership {
    store: PgStore,
    lease: super::LeaseOptions,
    held: std::sync::Mutex<std::collections::BTreeMap<String, std::sync::Arc<super::Lease>>>,
}

impl Membership {
    /// A worker `lease.owner` of `store`; it holds nothing until its first round.
    pub fn new(store: PgStore, lease: super::LeaseOptions) -> Membership {
        Membership {
            store,
            lease,
            held: Default::default(),
        }
    }

    /// The units held now, with their leases.
    pub fn held(&self) -> Vec<(String, std::sync::Arc<super::Lease>)> {
        self.held
            .lock()
            .map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// The lease of `unit`, while held.
    pub fn lease(&self, unit: &str) -> Option<std::sync::Arc<super::Lease>> {
        self.held.lock().ok().and_then(|h| h.get(unit).cloned())
    }

    /// This worker's id in the lease rows.
    pub fn owner(&self) -> &str {
        &self.lease.owner
    }

    /// The store the worker shares units through.
    pub fn store(&self) -> &PgStore {
        &self.store
    }

    /// One round over the wanted `units` (the tenant set): heartbeat, renewals, then claims
    /// up to the fair share, or the surplus over it (the last units by name, so workers agree
    /// on nothing and still converge).
    pub async fn round(&self, units: &[String]) -> Result<Round> {
        let mut round = Round::default();
        self.store.heartbeat(&self.lease.owner).await?;
        let wanted: std::collections::BTreeSet<&str> = units.iter().map(String::as_str).collect();
        let held = self.held();
        let leases: Vec<_> = held.iter().map(|(_, l)| l.clone()).collect();
        let renewed = self.store.renew_all(&leases).await?;
        for ((unit, lease), renewed) in held.into_iter().zip(renewed) {
            let keep = wanted.contains(unit.as_str()) && renewed;
            if !keep {
                if let Ok(mut held) = self.held.lock() {
                    held.remove(&unit);
                }
                if wanted.contains(unit.as_str()) {
                    round.lost.push(unit);
                } else {
                    lease.release().await?;
                }
            }
        }
        let live = self.store.live_workers(self.lease.ttl).await?;
        round.workers = live.len().max(1);
        round.share = fair_share(wanted.len(), round.workers);
        let held: Vec<String> = self.held().into_iter().map(|(u, _)| u).collect();
        if held.len() > round.share {
            round.surplus = held[round.share..].to_vec();
            return Ok(round);
        }
        let taken: std::collections::BTreeSet<String> = self
            .store
            .leases()
            .await?
            .into_iter()
            .filter(|l| l.live)
            .map(|l| l.unit)
            .collect();
        let mut count = held.len();
        for unit in wanted.iter().filter(|u| !taken.contains(**u)) {
            if count >= round.share {
                break;
            }
            if let Some(lease) = self.store.claim(unit, &self.lease).await? {
                if let Ok(mut held) = self.held.lock() {
                    held.insert((*unit).to_string(), lease);
                }
                round.claimed.push((*unit).to_string());
                count += 1;
            }
        }
        Ok(round)
    }

    /// Gives `unit` up (after its tenant stopped): another worker may claim it at once.
    pub async fn release(&self, unit: &str) -> Result<()> {
        let lease = self.held.lock().ok().and_then(|mut h| h.remove(unit));
        match lease {
            Some(lease) => lease.release().await,
            None => Ok(()),
        }
    }

    /// Leaves the workers, giving up every lease at once (SIGTERM).
    pub async fn leave(&self) -> Result<()> {
        if let Ok(mut held) = self.held.lock() {
            held.clear();
        }
        self.store.leave(&self.lease.owner).await.map(|_| ())
    }
}
