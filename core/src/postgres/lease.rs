//! [`Lease`]: one owner per unit, with a fencing epoch and a local deadline.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deadpool_postgres::tokio_postgres::Transaction;
use deadpool_postgres::tokio_postgres::types::Type;
use tokio_util::sync::CancellationToken;

use super::PgStore;
use crate::error::{Error, Result};

/// How a lease is held.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// This process's id in the lease rows (unique per process: a restarted process takes a
    /// new epoch either way).
    pub owner: String,
    /// How long a lease lasts without a renewal (default 30 s); its owner renews it every
    /// third of that.
    pub ttl: Duration,
}

impl LeaseOptions {
    /// Options with a generated owner id (`host-pid-random`) and the default TTL.
    pub fn new() -> LeaseOptions {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        LeaseOptions {
            owner: format!(
                "{host}-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
            ttl: Duration::from_secs(30),
        }
    }

    fn ttl_secs(&self) -> Result<f64> {
        let secs = self.ttl.as_secs_f64();
        if !(1.0..=3600.0).contains(&secs) {
            return Err(Error::InvalidConfig(format!(
                "lease_ttl must be from 1 s to 1 hour, not {secs} s"
            )));
        }
        Ok(secs)
    }
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions::new()
    }
}

/// A unit (a tenant) held by this process, from its claim until it is released or lost.
///
/// Writes fenced by it ([`Lease::check`]) are refused with [`Error::Fenced`] once another
/// process has taken the unit over. [`Lease::is_live`] says whether this process may still
/// act for the unit: false once a renewal found it taken over, or once the local monotonic
/// deadline (the last successful claim or renewal's send time plus the TTL) has passed.
#[derive(Debug)]
pub struct Lease {
    store: PgStore,
    unit: String,
    owner: String,
    epoch: i64,
    ttl: Duration,
    deadline: Mutex<Instant>,
    lost: AtomicBool,
    took_over: bool,
    stop_renewing: CancellationToken,
}

/// Who holds a unit now, for a refused claim's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The owner's id.
    pub owner: String,
    /// When its lease runs out (database clock).
    pub expires_at: DateTime<Utc>,
}

impl PgStore {
    /// Claims `unit` for `options.owner` when it is unowned or its lease has expired (or
    /// this owner holds it: a new epoch either way). `Ok(None)` when another owner holds it
    /// now (or is claiming it at this moment).
    pub async fn claim(&self, unit: &str, options: &LeaseOptions) -> Result<Option<Arc<Lease>>> {
        let ttl = options.ttl_secs()?;
        let task_unit = unit.to_string();
        let owner = options.owner.clone();
        let sent = Instant::now();
        let epoch = self
            .run(move |pg| async move {
                let unit = task_unit;
                let mut client = pg.client().await?;
                let tx = client
                    .transaction()
                    .await
                    .map_err(|e| pg.sql_error("claim a lease", e))?;
                tx.execute_typed(
                    "INSERT INTO safe_tracker_leases (unit) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[(&unit, Type::TEXT)],
                )
                .await
                .map_err(|e| pg.sql_error("claim a lease", e))?;
                let row = tx
                    .query_typed_opt(
                        "SELECT owner, (expires_at IS NOT NULL AND expires_at > now()) \
                         FROM safe_tracker_leases WHERE unit = $1 FOR UPDATE SKIP LOCKED",
                        &[(&unit, Type::TEXT)],
                    )
                    .await
                    .map_err(|e| pg.sql_error("claim a lease", e))?;
                let Some(row) = row else {
                    return Ok(None); // another process is claiming or writing it right now
                };
                let holder: Option<String> = row.get(0);
                let live: bool = row.get(1);
                if live && holder.as_deref() != Some(owner.as_str()) {
                    return Ok(None);
                }
                let taken_over = i64::from(holder.is_some_and(|h| h != owner));
                let row = tx
                    .query_typed_one(
                        "UPDATE safe_tracker_leases SET owner = $2, epoch = epoch + 1, \
                         expires_at = now() + $3 * interval '1 second', acquired_at = now(), \
                         takeovers = takeovers + $4 WHERE unit = $1 RETURNING epoch",
                        &[
                            (&unit, Type::TEXT),
                            (&owner, Type::TEXT),
                            (&ttl, Type::FLOAT8),
                            (&taken_over, Type::INT8),
                        ],
                    )
                    .await
                    .map_err(|e| pg.sql_error("claim a lease", e))?;
                let epoch: i64 = row.get(0);
                tx.commit()
                    .await
                    .map_err(|e| pg.sql_error("claim a lease", e))?;
                Ok(Some((epoch, taken_over == 1)))
            })
            .await?;
        Ok(epoch.map(|(epoch, took_over)| {
            Arc::new(Lease {
                store: self.clone(),
                unit: unit.to_string(),
                owner: options.owner.clone(),
                epoch,
                ttl: options.ttl,
                deadline: Mutex::new(sent + options.ttl),
                lost: AtomicBool::new(false),
                took_over,
                stop_renewing: CancellationToken::new(),
            })
        }))
    }

    /// Renews many leases in one statement (a worker holding thousands of units renews them
    /// all at once): for each, in order, whether it still held (see [`Lease::renew`]).
    pub async fn renew_all(&self, leases: &[Arc<Lease>]) -> Result<Vec<bool>> {
        let leases: Vec<&Lease> = leases.iter().map(Arc::as_ref).collect();
        self.renew_leases(&leases).await
    }

    async fn renew_leases(&self, leases: &[&Lease]) -> Result<Vec<bool>> {
        let sent = Instant::now();
        let open: Vec<&&Lease> = leases
            .iter()
            .filter(|l| !l.lost.load(Ordering::SeqCst))
            .collect();
        let units: Vec<String> = open.iter().map(|l| l.unit.clone()).collect();
        let owners: Vec<String> = open.iter().map(|l| l.owner.clone()).collect();
        let epochs: Vec<i64> = open.iter().map(|l| l.epoch).collect();
        let ttls: Vec<f64> = open.iter().map(|l| l.ttl.as_secs_f64()).collect();
        let renewed: std::collections::HashSet<String> = if units.is_empty() {
            Default::default()
        } else {
            self.run(move |pg| async move {
                let client = pg.client().await?;
                let rows = client
                    .query_typed(
                        "UPDATE safe_tracker_leases AS l \
                         SET expires_at = now() + h.ttl * interval '1 second' \
                         FROM unnest($1::text[], $2::text[], $3::int8[], $4::float8[]) \
                           AS h(unit, owner, epoch, ttl) \
                         WHERE l.unit = h.unit AND l.owner = h.owner AND l.epoch = h.epoch \
                         RETURNING l.unit",
                        &[
                            (&units, Type::TEXT_ARRAY),
                            (&owners, Type::TEXT_ARRAY),
                            (&epochs, Type::INT8_ARRAY),
                            (&ttls, Type::FLOAT8_ARRAY),
                        ],
                    )
                    .await
                    .map_err(|e| pg.sql_error("renew the leases", e))?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            })
            .await?
        };
        Ok(leases
            .iter()
            .map(|l| {
                let held = !l.lost.load(Ordering::SeqCst) && renewed.contains(&l.unit);
                l.renewed(held, sent);
                held
            })
            .collect())
    }

    /// Who holds `unit` now (a live lease), if anyone.
    pub async fn holder(&self, unit: &str) -> Result<Option<Holder>> {
        let unit = unit.to_string();
        self.run(move |pg| async move {
            let client = pg.client().await?;
            let row = client
                .query_typed_opt(
                    "SELECT owner, expires_at FROM safe_tracker_leases \
                     WHERE unit = $1 AND owner IS NOT NULL AND expires_at > now()",
                    &[(&unit, Type::TEXT)],
                )
                .await
                .map_err(|e| pg.sql_error("read a lease", e))?;
            Ok(row.map(|r| Holder {
                owner: r.get(0),
                expires_at: r.get(1),
            }))
        })
        .await
    }
}

impl Lease {
    /// The unit.
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// The epoch this claim took (each claim of the unit takes the next one).
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// The owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether this claim took the unit from another owner whose lease had run out (a
    /// takeover), not from a free or released row.
    pub fn took_over(&self) -> bool {
        self.took_over
    }

    /// True while this process may act for the unit: no renewal found it taken over, and the
    /// local deadline has not passed.
    pub fn is_live(&self) -> bool {
        !self.lost.load(Ordering::SeqCst)
            && self
                .deadline
                .lock()
                .map(|d| Instant::now() < *d)
                .unwrap_or(false)
    }

    /// [`Error::Fenced`] unless [`Lease::is_live`].
    pub fn ensure_live(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(self.fenced("another process took it over"));
        }
        if !self.is_live() {
            return Err(self.fenced(
                "its lease may have lapsed (no renewal within its TTL): no request is made for it",
            ));
        }
        Ok(())
    }

    /// A gate for the unit's clients ([`crate::Client::add_gate`]): no request goes out once
    /// the lease is lost, released, dropped or past its local deadline.
    pub fn gate(self: &Arc<Self>) -> crate::pacing::RequestGate {
        let lease = Arc::downgrade(self);
        crate::pacing::RequestGate::new(move || match lease.upgrade() {
            Some(lease) => lease.ensure_live(),
            None => Err(Error::Fenced("the unit's lease was dropped".into())),
        })
    }

    /// Marks the lease lost (a write found its epoch gone) and returns the refusal.
    pub(super) fn refused(&self) -> Error {
        self.lost.store(true, Ordering::SeqCst);
        self.fenced("another process took it over: the write is refused")
    }

    fn fenced(&self, why: &str) -> Error {
        Error::Fenced(format!(
            "unit `{}` (epoch {}): {why}",
            self.unit, self.epoch
        ))
    }

    /// Checks, inside the write's transaction `tx`, that this epoch still holds the unit (a
    /// share lock on its row until the transaction ends, so a takeover waits for this write
    /// and fences the next). [`Error::Fenced`] when another process has taken it over.
    pub async fn check(&self, tx: &Transaction<'_>) -> Result<()> {
        let row = tx
            .query_typed_opt(
                "SELECT 1 FROM safe_tracker_leases WHERE unit = $1 AND owner = $2 AND epoch = $3 \
                 FOR SHARE",
                &[
                    (&self.unit, Type::TEXT),
                    (&self.owner, Type::TEXT),
                    (&self.epoch, Type::INT8),
                ],
            )
            .await
            .map_err(|e| self.store.sql_error("check a lease", e))?;
        match row {
            Some(_) => Ok(()),
            None => Err(self.refused()),
        }
    }

    /// Renews the lease: `Ok(true)` when it still held (the local deadline moves to this
    /// call's send time plus the TTL), `Ok(false)` when another process has taken it over
    /// (the lease is lost for good).
    pub async fn renew(&self) -> Result<bool> {
        let renewed = self.store.renew_leases(&[self]).await?;
        Ok(renewed.first().copied().unwrap_or(false))
    }

    /// Records a renewal's outcome: the deadline moves to `sent` plus the TTL, or the lease
    /// is lost for good.
    fn renewed(&self, held: bool, sent: Instant) {
        if held {
            if let Ok(mut d) = self.deadline.lock() {
                *d = (*d).max(sent + self.ttl);
            }
        } else {
            self.lost.store(true, Ordering::SeqCst);
        }
    }

    /// Renews the lease every third of its TTL on the store's runtime until it is lost or
    /// released (a failed renewal is retried at the next tick; the local deadline passes
    /// meanwhile if the database stays out of reach).
    pub fn keep_renewed(self: &Arc<Self>) {
        let lease = Arc::downgrade(self);
        let stop = self.stop_renewing.clone();
        let every = self.ttl / 3;
        self.store.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                let Some(lease) = lease.upgrade() else { return };
                match lease.renew().await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(unit = %lease.unit, epoch = lease.epoch, "lease taken over by another process");
                        return;
                    }
                    Err(e) => tracing::warn!(unit = %lease.unit, "cannot renew the lease: {e}"),
                }
            }
        });
    }

    /// Gives the unit up now (another process may claim it at once); stops the renewals.
    pub async fn release(&self) -> Result<()> {
        self.stop_renewing.cancel();
        self.lost.store(true, Ordering::SeqCst);
        let held = self.row_key();
        self.store.run(move |pg| give_up(pg, held)).await
    }

    /// `(unit, owner, epoch)`: what the release statement matches.
    fn row_key(&self) -> (String, String, i64) {
        (self.unit.clone(), self.owner.clone(), self.epoch)
    }
}

/// Clears the lease row `held` names, if it is still that epoch's (a unit taken over since
/// is left to its new owner).
async fn give_up(pg: PgStore, (unit, owner, epoch): (String, String, i64)) -> Result<()> {
    let client = pg.client().await?;
    client
        .execute_typed(
            "UPDATE safe_tracker_leases SET owner = NULL, expires_at = NULL \
             WHERE unit = $1 AND owner = $2 AND epoch = $3",
            &[
                (&unit, Type::TEXT),
                (&owner, Type::TEXT),
                (&epoch, Type::INT8),
            ],
        )
        .await
        .map_err(|e| pg.sql_error("release a lease", e))?;
    Ok(())
}

impl Drop for Lease {
    /// A lease no one holds any more is given up at once (in the background, best effort: if
    /// the database cannot be reached, it runs out after its TTL instead).
    fn drop(&mut self) {
        self.stop_renewing.cancel();
        if self.lost.swap(true, Ordering::SeqCst) {
            return; // released, or taken over: nothing to give up
        }
        let (store, held) = (self.store.clone(), self.row_key());
        self.store.spawn(async move {
            let _ = give_up(store, held).await;
        });
    }
}
