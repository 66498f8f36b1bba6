//! PostgreSQL for many processes sharing tenants (cargo feature `postgres`).
//!
//! [`PgStore`] is a pool of connections to one database, on a runtime of its own (one
//! worker thread), so it serves async callers on any runtime and blocking callers on any
//! thread alike. Its schema is versioned through the one migration mechanism of the SQL stores
//! ([`crate::migrations::pending`]), each step applied once under a transaction-scoped
//! `pg_advisory_xact_lock` (safe behind PgBouncer in transaction mode: no session state).
//!
//! [`Lease`]s give one owner per unit (a tenant): a row `(unit, owner, epoch, expires_at)`,
//! claimed when unowned or expired (`FOR UPDATE SKIP LOCKED`), renewed by its owner, every
//! time taken from the database's clock. Each write of the owner checks its epoch in the same
//! transaction ([`PostgresCheckpoint`]): a lease taken over refuses the old owner's writes with
//! [`crate::Error::Fenced`]. A lease also keeps a local monotonic deadline, so its owner can stop
//! calling SAFE once it may have lapsed, even while the database cannot be reached.
//!
//! Workers record a heartbeat (`safe_tracker_workers`); each takes at most its
//! [`fair_share`] of the units, and one leaving on purpose gives up its leases at once
//! ([`PgStore::leave`]).
//!
//! [`SharedFleet`] runs a [`crate::fleet::Fleet`] as one such worker: its records and
//! checkpoints go into the sync tables (those of the SQLite store) through one group commit
//! fenced per tenant ([`PgFleetStore`]), and the tenant set lives in the database.
//!
//! The password comes from the URL, `PGPASSWORD`, or the `PGPASSFILE` file (default
//! `~/.pgpass`), and never appears in a log, an error or `Debug`.

mod checkpoint;
mod connect;
mod fleet_store;
mod import;
mod lease;
mod records;
mod schema;
mod shared_fleet;
mod tenant_set;
mod workers;

pub use checkpoint::PostgresCheckpoint;
pub use connect::{PgOptions, PgStore};
pub use fleet_store::{PgFleetStore, StoredTenantState, WriteCounters};
pub use import::ImportReport;
pub use lease::{Holder, Lease, LeaseOptions};
pub use shared_fleet::{LeaseCounts, MemberReport, SharedFleet, SharedFleetOptions};
pub use tenant_set::TenantSet;
pub use workers::{LeaseRow, Membership, Round, UnitOverview, fair_share};
