//! [`StagedRecords`]: what a store-backed [`FleetSink`](super::FleetSink) holds between a
//! record's delivery and its poller's next checkpoint save, which writes it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::runner::FleetRecord;
use super::tenants::TenantSpec;
use crate::poller::poller_key_of;

/// Each tenant's records waiting under its pollers' checkpoint keys (one for new items, one
/// for updated items); the store writes a key's records with that key's next save, in the
/// same transaction.
#[derive(Debug, Default)]
pub struct StagedRecords {
    /// Tenant → (items key, updated key).
    keys: Mutex<HashMap<String, (String, String)>>,
    staged: Mutex<HashMap<String, Vec<FleetRecord>>>,
}

impl StagedRecords {
    /// Nothing staged.
    pub fn new() -> StagedRecords {
        StagedRecords::default()
    }

    /// Records `tenant`'s checkpoint keys (when its pollers open) and returns them (items,
    /// updated).
    pub fn register(&self, tenant: &TenantSpec) -> (String, String) {
        let keys = (
            poller_key_of(&tenant.client, "items"),
            poller_key_of(&tenant.client, "updated"),
        );
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.name.clone(), keys.clone());
        keys
    }

    /// Stages `record` of `tenant` under its stream's key; `Err` (the record stays
    /// unacknowledged) when the tenant was never registered.
    pub fn stage(&self, tenant: &str, record: FleetRecord) -> Result<(), String> {
        let key = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .map(|(items, updated)| match record {
                FleetRecord::Item(_) => items.clone(),
                FleetRecord::Updated(_) => updated.clone(),
            })
            .ok_or_else(|| format!("tenant {tenant} has no store"))?;
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .push(record);
        Ok(())
    }

    /// Takes the records staged under `key` (a poisoned lock still yields every one: none is
    /// dropped silently).
    pub fn take(&self, key: &str) -> Vec<FleetRecord> {
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
            .unwrap_or_default()
    }
}
