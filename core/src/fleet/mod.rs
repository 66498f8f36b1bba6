//! Many agencies in one process: the tenants file ([`TenantsFile`]) and the runner
//! ([`Fleet`]) that polls every tenant on one runtime with the core's poller driver.

mod runner;
mod staging;
mod tenants;

pub use runner::{
    Applied, DeliverFuture, Fleet, FleetOptions, FleetRecord, FleetSink, TenantError, TenantPhase,
    TenantState,
};
pub use staging::StagedRecords;
pub use tenants::{TenantSpec, TenantsFile, TenantsOptions, TokenCheck};
