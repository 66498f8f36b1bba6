//! [`SharedFleet`]: a [`Fleet`] run as one member of the workers sharing a database's tenants.
//!
//! Every round (a third of the lease TTL) the member reads the newest tenant set, beats its
//! heartbeat, renews its leases, claims free tenants up to its fair share and runs exactly the
//! tenants it holds: a tenant over its share is stopped after its current record and then
//! released, a tenant taken over is stopped at once (its writes are fenced and its client
//! makes no request once the lease may have lapsed), and a tenant that stopped as fenced while
//! this worker still held it (its lease lapsed locally) is released, so it starts again under
//! a new epoch wherever it is claimed next.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{LeaseOptions, Membership, PgFleetStore, PgStore};
use crate::error::Result;
use crate::fleet::{Fleet, FleetOptions, TenantPhase, TenantSpec, TenantsFile, TenantsOptions};

/// How a member runs.
#[derive(Debug, Clone)]
pub struct SharedFleetOptions {
    /// Its owner id and lease TTL.
    pub lease: LeaseOptions,
    /// The fleet's request cap and parking.
    pub fleet: FleetOptions,
    /// How the stored tenant sets are read on this worker.
    pub tenants: TenantsOptions,
    /// At most this many tenants' saves in one commit.
    pub max_commit_group: usize,
}

/// What one [`SharedFleet::round`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberReport {
    /// Tenants claimed (started).
    pub claimed: Vec<String>,
    /// Tenants over the fair share, stopped after their current record and released.
    pub released: Vec<String>,
    /// Tenants another worker took over (stopped at once).
    pub lost: Vec<String>,
    /// Tenants that stopped as fenced while still held, released to start again.
    pub refenced: Vec<String>,
    /// Tenants held when the round ended (surplus ones until their tenants stopped).
    pub held: usize,
    /// The fair share the round worked to.
    pub share: usize,
    /// Live workers, this one included.
    pub workers: usize,
    /// The tenant set the round ran (none before one was applied).
    pub tenant_set: Option<i64>,
}

/// Lease figures for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseCounts {
    /// Leases this worker holds now.
    pub held: usize,
    /// Claims of a tenant whose previous owner's lease had run out.
    pub takeovers: u64,
    /// Tenant saves refused because another worker had taken the tenant over.
    pub fenced_writes: u64,
}

/// One worker of a fleet shared through PostgreSQL.
pub struct SharedFleet {
    fleet: Fleet,
    membership: Arc<Membership>,
    sink: Arc<PgFleetStore>,
    tenants: TenantsOptions,
    /// The stored set running now: its id and specs.
    current: Mutex<Option<(i64, Vec<TenantSpec>)>>,
    takeovers: AtomicU64,
    every: Duration,
    wake: tokio::sync::Notify,
    stop: CancellationToken,
    /// The change of the fleet the last round started (see [`SharedFleet::round`]).
    applying: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for SharedFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFleet")
            .field("owner", &self.membership.owner())
            .field("held", &self.membership.held().len())
            .finish()
    }
}

impl SharedFleet {
    /// Joins the workers of `store` (its sync tables migrated, the recorded tenant states
    /// restored); nothing runs until the first [`SharedFleet::round`]. `on_commit(saves,
    /// duration)` is called after each group commit.
    pub async fn join(
        store: PgStore,
        options: SharedFleetOptions,
        on_commit: impl Fn(usize, Duration) + Send + 'static,
    ) -> Result<SharedFleet> {
        let every = options.lease.ttl / 3;
        let membership = Arc::new(Membership::new(store.clone(), options.lease));
        let sink =
            PgFleetStore::open(membership.clone(), options.max_commit_group, on_commit).await?;
        let fleet = Fleet::new(sink.clone(), options.fleet)?;
        fleet.restore(
            store
                .tenant_states()
                .await?
                .into_iter()
                .map(|s| s.state)
                .collect(),
        );
        Ok(SharedFleet {
            fleet,
            membership,
            sink,
            tenants: options.tenants,
            current: Mutex::new(None),
            takeovers: AtomicU64::new(0),
            every,
            wake: tokio::sync::Notify::new(),
            stop: CancellationToken::new(),
            applying: Mutex::new(None),
        })
    }

    /// The fleet (states, the request cap).
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// This worker's owner id.
    pub fn owner(&self) -> &str {
        self.membership.owner()
    }

    /// The store.
    pub fn store(&self) -> &PgStore {
        self.membership.store()
    }

    /// Stores `file` (read from `text`) as the newest tenant set, applied by this worker;
    /// every worker runs it from its next round. Returns the set's id and whether it changed.
    pub async fn apply_file(&self, file: &TenantsFile, text: &str) -> Result<(i64, bool)> {
        let dir = file
            .path
            .parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    ".".as_ref()
                } else {
                    d
                }
            })
            .unwrap_or(".".as_ref());
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        self.store()
            .apply_tenant_set(
                &file.path.display().to_string(),
                &dir.display().to_string(),
                text,
                self.owner(),
                &file.inline_tokens,
            )
            .await
    }

    /// Runs the next round of [`SharedFleet::run`] now (a tenant set was just applied).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Lease figures now.
    pub fn counts(&self) -> LeaseCounts {
        LeaseCounts {
            held: self.membership.held().len(),
            takeovers: self.takeovers.load(Ordering::Relaxed),
            fenced_writes: self.sink.counters().fenced_writes.load(Ordering::Relaxed),
        }
    }

    /// The specs of the newest stored set (parsed again only when it changed; a set this
    /// worker cannot read, say a token file missing here, leaves the running one in place).
    async fn tenant_specs(&self) -> Result<(Option<i64>, Vec<TenantSpec>)> {
        let newest = self.store().tenant_set_id().await?;
        let current = self
            .current
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(id, specs)| (*id, specs.clone())));
        if newest.is_none() || newest == current.as_ref().map(|(id, _)| *id) {
            return Ok(current
                .map(|(id, s)| (Some(id), s))
                .unwrap_or((None, Vec::new())));
        }
        let Some(set) = self.store().tenant_set().await? else {
            return Ok((None, Vec::new()));
        };
        match TenantsFile::parse(&set.body, set.dir.as_ref(), &self.tenants) {
            Ok(file) => {
                tracing::info!(set = set.id, applied_by = %set.applied_by, source = %set.source, tenants = file.tenants.len(), "running the newest tenant set");
                if let Ok(mut c) = self.current.lock() {
                    *c = Some((set.id, file.tenants.clone()));
                }
                Ok((Some(set.id), file.tenants))
            }
            Err(e) => {
                tracing::error!(set = set.id, applied_by = %set.applied_by, error = %e, "this worker cannot run the newest tenant set; the running set goes on");
                Ok(current
                    .map(|(id, s)| (Some(id), s))
                    .unwrap_or((None, Vec::new())))
            }
        }
    }

    /// One round: the tenant set, the membership round, then the fleet made to run exactly
    /// the tenants held (surplus and re-fenced tenants stopped, then released), in the
    /// background. Call it inside the runtime that runs the fleet.
    pub async fn round(&self) -> Result<MemberReport> {
        let (set, specs) = self.tenant_specs().await?;
        let names: Vec<String> = specs
            .iter()
            .filter(|s| s.enabled)
            .map(|s| s.name.clone())
            .collect();
        let round = self.membership.round(&names).await?;
        for unit in &round.claimed {
            if self.membership.lease(unit).is_some_and(|l| l.took_over()) {
                self.takeovers.fetch_add(1, Ordering::Relaxed);
            }
        }
        for unit in &round.lost {
            tracing::warn!(tenant = %unit, "another worker took the tenant over; it stops now");
        }
        let claimed: BTreeSet<&str> = round.claimed.iter().map(String::as_str).collect();
        let surplus: BTreeSet<&str> = round.surplus.iter().map(String::as_str).collect();
        let held: Vec<String> = self.membership.held().into_iter().map(|(u, _)| u).collect();
        let refenced: Vec<String> = held
            .iter()
            .filter(|u| !claimed.contains(u.as_str()))
            .filter(|u| {
                self.fleet
                    .state(u)
                    .is_some_and(|s| s.phase == TenantPhase::Fenced)
            })
            .cloned()
            .collect();
        let run: BTreeSet<&str> = held
            .iter()
            .map(String::as_str)
            .filter(|u| !surplus.contains(u) && !refenced.iter().any(|r| r == u))
            .collect();
        let wanted: Vec<TenantSpec> = specs
            .into_iter()
            .filter(|s| run.contains(s.name.as_str()))
            .collect();
        // The fleet is changed (and surplus leases released once their tenants stopped) by a
        // task of its own, so a tenant slow to stop (a SAFE request in flight) never delays
        // the next round's renewals; a round while it runs only renews and claims, and the
        // next free round applies what changed.
        let busy = self
            .applying
            .lock()
            .map(|a| a.as_ref().is_some_and(|h| !h.is_finished()))
            .unwrap_or(false);
        if busy {
            tracing::debug!(
                "the last change of the fleet is still under way; this round only renews"
            );
        } else {
            let (fleet, membership) = (self.fleet.clone(), self.membership.clone());
            let releases: Vec<String> = round.surplus.iter().chain(&refenced).cloned().collect();
            let task = tokio::spawn(async move {
                fleet.apply(&wanted).await;
                for unit in releases {
                    if let Err(e) = membership.release(&unit).await {
                        tracing::warn!(tenant = %unit, error = %e, "cannot release the lease; it runs out after its TTL");
                    }
                }
            });
            if let Ok(mut a) = self.applying.lock() {
                *a = Some(task);
            }
        }
        if !round.claimed.is_empty() || !round.surplus.is_empty() || !refenced.is_empty() {
            tracing::info!(claimed = ?round.claimed, released = ?round.surplus, refenced = ?refenced, share = round.share, workers = round.workers, "fleet membership changed");
        }
        Ok(MemberReport {
            claimed: round.claimed,
            released: round.surplus,
            lost: round.lost,
            refenced,
            held: self.membership.held().len(),
            share: round.share,
            workers: round.workers,
            tenant_set: set,
        })
    }

    /// Runs rounds every third of the lease TTL until [`SharedFleet::stop`] (a failed round
    /// is logged and tried again at the next tick: the leases' local deadlines keep the
    /// tenants from polling once they may have lapsed).
    pub async fn run(&self) {
        loop {
            if self.stop.is_cancelled() {
                return;
            }
            if let Err(e) = self.round().await {
                tracing::warn!(code = e.code().name(), error = %e, "the fleet round failed; trying again");
            }
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = tokio::time::sleep(self.every) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Ends [`SharedFleet::run`] after its current round.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Stops every tenant (each finishes or abandons its current record), writes their
    /// states, then leaves the workers, giving up every lease at once (SIGTERM: a rolling
    /// restart moves the tenants immediately).
    pub async fn leave(&self) -> Result<()> {
        let applying = self.applying.lock().ok().and_then(|mut a| a.take());
        if let Some(task) = applying {
            let _ = task.await;
        }
        self.fleet.shutdown().await;
        self.sink.flush_states().await;
        self.membership.leave().await
    }
}
