//! [`Fleet`] against a simulator with several organisations: every item of every tenant
//! exactly once, one tenant's lost licence parks only that tenant, a disabled account waits
//! for its entry to change, `apply` starts, stops and restarts tenants, and the process-wide
//! request cap holds across tenants. Waits are bounded only to fail instead of hanging.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use safe_simulator::{Seed, SimConfig, Simulator, office_for, token_for};
use safe_tracker::error::{ErrorCode, Result};
use safe_tracker::fleet::{
    DeliverFuture, Fleet, FleetOptions, FleetRecord, FleetSink, TenantPhase, TenantSpec,
    TenantsFile, TenantsOptions,
};
use safe_tracker::poller::{CheckpointStore, GroupCommit, MemoryCheckpoint, Schedule};

/// Collects every record by tenant and key; one checkpoint store (a group commit) for all.
#[derive(Default)]
struct Collect {
    store: Mutex<Option<Arc<dyn CheckpointStore>>>,
    seen: Mutex<HashMap<(String, String), u32>>,
    /// A tenant whose store cannot be opened.
    no_store_for: Option<String>,
    /// A tenant whose delivery panics.
    panic_for: Option<String>,
}

impl Collect {
    fn new() -> Arc<Collect> {
        let store: Arc<dyn CheckpointStore> =
            Arc::new(GroupCommit::new(Arc::new(MemoryCheckpoint::new()), 256).unwrap());
        Arc::new(Collect {
            store: Mutex::new(Some(store)),
            ..Collect::default()
        })
    }

    fn counts(&self, tenant: &str) -> Vec<u32> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|(_, n)| *n)
            .collect()
    }
}

impl FleetSink for Collect {
    fn store(&self, tenant: &TenantSpec) -> Result<Arc<dyn CheckpointStore>> {
        if self.no_store_for.as_deref() == Some(tenant.name.as_str()) {
            return Err(safe_tracker::Error::Checkpoint(
                "the store is unreachable".into(),
            ));
        }
        Ok(self.store.lock().unwrap().clone().unwrap())
    }

    fn deliver(&self, tenant: &str, record: FleetRecord) -> DeliverFuture {
        if self.panic_for.as_deref() == Some(tenant) {
            panic!("a bug in the sink, for {tenant} only");
        }
        let key = match record {
            FleetRecord::Item(r) => format!("{:?}", r.key),
            FleetRecord::Updated(r) => format!("updated {:?}", r.key),
        };
        *self
            .seen
            .lock()
            .unwrap()
            .entry((tenant.to_string(), key))
            .or_default() += 1;
        Box::pin(std::future::ready(Ok(())))
    }
}

async fn simulator(orgs: u64, items: u64) -> Simulator {
    Simulator::start(SimConfig {
        seed: Seed {
            seed: 9,
            orgs,
            items,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// A tenant entry for organisation `org` of `sim` (`extra`: more keys).
fn entry(sim: &Simulator, org: u64, extra: &str) -> String {
    format!(
        "[[tenant]]\nname = \"org{org}\"\nbase_url = \"{}\"\norganization_id = {org}\n\
         office_id = {}\ntoken = \"{}\"\nallow_inline_token = true\nunsafe_min_interval = 0\n\
         interval = 1\njitter = 0\nrequests_per_second = 0\n{extra}\n",
        sim.base_url(),
        office_for(org),
        token_for(org)
    )
}

fn tenants(text: &str) -> Vec<TenantSpec> {
    TenantsFile::parse(text, std::path::Path::new("."), &TenantsOptions::default())
        .unwrap()
        .tenants
}

fn fast() -> FleetOptions {
    FleetOptions {
        max_requests_per_second: 10_000.0,
        ..FleetOptions::default()
    }
}

/// Waits (bounded, to fail rather than hang) until `done` holds for the fleet's states.
async fn until(fleet: &Fleet, what: &str, done: impl Fn(&Fleet) -> bool) {
    for _ in 0..6000 {
        if done(fleet) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {what}: {:#?}", fleet.states());
}

fn caught_up(fleet: &Fleet, name: &str, cursor: u64) -> bool {
    fleet
        .state(name)
        .is_some_and(|s| s.cursor == Some(cursor) && s.caught_up_at.is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_of_every_tenant_exactly_once() {
    let sim = simulator(6, 30).await;
    let sink = Collect::new();
    let fleet = Fleet::new(sink.clone(), fast()).unwrap();
    let text: String = (1..=6).map(|o| entry(&sim, o, "")).collect();
    let applied = fleet.apply(&tenants(&text)).await;
    assert_eq!(applied.started.len(), 6);
    until(&fleet, "caught up", |f| {
        (1..=6).all(|o| caught_up(f, &format!("org{o}"), 31))
    })
    .await;
    fleet.shutdown().await;
    for org in 1..=6 {
        let name = format!("org{org}");
        let counts = sink.counts(&name);
        assert_eq!(counts.len(), 30, "{name}: every item");
        assert!(counts.iter().all(|n| *n == 1), "{name}: each once");
        let state = fleet.state(&name).unwrap();
        assert_eq!(state.phase, TenantPhase::Stopped);
        assert_eq!(state.delivered, 30);
        assert_eq!(state.organization_id, org);
        assert!(state.last_error.is_none());
    }
    // The checkpoints went through the one group commit: every tenant's cursor is saved.
    let store = sink.store.lock().unwrap().clone().unwrap();
    for spec in tenants(&text) {
        let client = safe_tracker::Client::new(spec.client.clone()).unwrap();
        let key = safe_tracker::poller::poller_key(&client, "items");
        assert_eq!(store.load(&key).unwrap().unwrap().cursor, 31, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_without_a_licence_is_parked_while_the_others_finish() {
    let sim = simulator(3, 10).await;
    sim.revoke_licence(2);
    let sink = Collect::new();
    let fleet = Fleet::new(sink.clone(), fast()).unwrap();
    let text: String = (1..=3).map(|o| entry(&sim, o, "")).collect();
    fleet.apply(&tenants(&text)).await;
    until(&fleet, "parked and finished", |f| {
        caught_up(f, "org1", 11)
            && caught_up(f, "org3", 11)
            && f.state("org2")
                .is_some_and(|s| s.phase == TenantPhase::Parked)
    })
    .await;
    let parked = fleet.state("org2").unwrap();
    let error = parked.last_error.clone().unwrap();
    assert_eq!(error.code, ErrorCode::LicenseUnavailable.as_u32());
    assert!(error.message.contains("HTTP 403"), "{}", error.message);
    let retry = parked.next_attempt.unwrap() - chrono::Utc::now();
    assert!(
        retry > chrono::Duration::minutes(55),
        "retried hourly: {retry}"
    );
    assert!(sink.counts("org2").is_empty());
    // Parked first in the list.
    assert_eq!(fleet.states()[0].name, "org2");
    fleet.shutdown().await;
    // Stopping keeps it parked, with its next attempt, for a restart; the others stop.
    let after = fleet.state("org2").unwrap();
    assert_eq!(after.phase, TenantPhase::Parked);
    assert_eq!(after.next_attempt, parked.next_attempt);
    assert_eq!(fleet.state("org1").unwrap().phase, TenantPhase::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_waits_for_its_entry_to_change() {
    let sim = simulator(2, 8).await;
    sim.set_disabled(1, true);
    let sink = Collect::new();
    let fleet = Fleet::new(sink.clone(), fast()).unwrap();
    let text = format!("{}{}", entry(&sim, 1, ""), entry(&sim, 2, ""));
    fleet.apply(&tenants(&text)).await;
    until(&fleet, "disabled", |f| {
        caught_up(f, "org2", 9)
            && f.state("org1")
                .is_some_and(|s| s.phase == TenantPhase::Disabled)
    })
    .await;
    assert_eq!(
        fleet.state("org1").unwrap().last_error.unwrap().code,
        ErrorCode::AccountDisabled.as_u32()
    );
    // The same file changes nothing: a disabled account is not retried on its own.
    assert_eq!(fleet.apply(&tenants(&text)).await, Default::default());
    // The account is enabled again and its entry changed: it restarts and catches up.
    sim.set_disabled(1, false);
    let changed = format!("{}{}", entry(&sim, 1, "read_ahead = 1"), entry(&sim, 2, ""));
    let applied = fleet.apply(&tenants(&changed)).await;
    assert_eq!(applied.restarted, ["org1"]);
    until(&fleet, "org1 caught up", |f| caught_up(f, "org1", 9)).await;
    assert_eq!(sink.counts("org1").len(), 8);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_starts_stops_and_restarts() {
    let sim = simulator(3, 5).await;
    let sink = Collect::new();
    let fleet = Fleet::new(sink.clone(), fast()).unwrap();
    let first = format!("{}{}", entry(&sim, 1, ""), entry(&sim, 2, ""));
    let applied = fleet.apply(&tenants(&first)).await;
    assert_eq!(applied.started, ["org1", "org2"]);
    until(&fleet, "caught up", |f| {
        caught_up(f, "org1", 6) && caught_up(f, "org2", 6)
    })
    .await;
    let second = format!(
        "{}{}{}",
        entry(&sim, 1, "read_ahead = 2"),
        entry(&sim, 2, "enabled = false"),
        entry(&sim, 3, "")
    );
    let applied = fleet.apply(&tenants(&second)).await;
    assert_eq!(applied.started, ["org3"]);
    assert_eq!(applied.stopped, ["org2"]);
    assert_eq!(applied.restarted, ["org1"]);
    assert_eq!(fleet.state("org2").unwrap().phase, TenantPhase::Stopped);
    until(&fleet, "org3 caught up", |f| caught_up(f, "org3", 6)).await;
    // The restarted tenant resumed from its checkpoint: nothing twice.
    assert!(sink.counts("org1").iter().all(|n| *n == 1));
    assert_eq!(sink.counts("org3").len(), 5);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_wide_cap_holds_across_tenants() {
    let sim = simulator(3, 15).await;
    let sink = Collect::new();
    let fleet = Fleet::new(
        sink.clone(),
        FleetOptions {
            max_requests_per_second: 20.0,
            ..FleetOptions::default()
        },
    )
    .unwrap();
    let text: String = (1..=3).map(|o| entry(&sim, o, "")).collect();
    fleet.apply(&tenants(&text)).await;
    until(&fleet, "caught up", |f| {
        (1..=3).all(|o| caught_up(f, &format!("org{o}"), 16))
    })
    .await;
    fleet.shutdown().await;
    assert!(sim.total_requests() >= 48, "{}", sim.total_requests());
    let peak = sim.max_in_window(1000);
    assert!(
        peak <= 21,
        "{peak} requests in one second under a cap of 20 (burst 1)"
    );
    assert!(fleet.request_cap().taken() >= 48);
}

#[test]
fn first_sweep_phases_of_a_hundred_tenants_are_spread_over_the_interval() {
    // The phase is a stable hash of each poller's key over the interval: computed here the
    // way the fleet's schedule does, for 100 tenants on a 10-minute interval.
    let interval = Duration::from_secs(600);
    let mut deciles = [0u32; 10];
    for org in 1..=100u64 {
        let key = format!("https://safe.example/api/|{org}|{}|items", office_for(org));
        let phase = Schedule::phase_of(&key, interval);
        assert_eq!(phase, Schedule::phase_of(&key, interval), "stable");
        assert!(phase < interval);
        deciles[(phase.as_secs() / 60) as usize] += 1;
    }
    assert!(
        deciles.iter().all(|n| (3..=20).contains(n)),
        "every minute of ten gets its share: {deciles:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_error_or_a_panic_stops_only_its_tenant() {
    let sim = simulator(3, 6).await;
    let store: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpoint::new());
    let sink = Arc::new(Collect {
        store: Mutex::new(Some(store)),
        no_store_for: Some("org1".into()),
        panic_for: Some("org2".into()),
        ..Collect::default()
    });
    let fleet = Fleet::new(sink.clone(), fast()).unwrap();
    let text: String = (1..=3).map(|o| entry(&sim, o, "")).collect();
    fleet.apply(&tenants(&text)).await;
    until(&fleet, "contained", |f| {
        caught_up(f, "org3", 7)
            && f.state("org1")
                .is_some_and(|s| s.phase == TenantPhase::Failed)
            && f.state("org2")
                .is_some_and(|s| s.phase == TenantPhase::Failed)
    })
    .await;
    let store_error = fleet.state("org1").unwrap().last_error.unwrap();
    assert_eq!(store_error.code, ErrorCode::Checkpoint.as_u32());
    assert_eq!(
        fleet.state("org2").unwrap().last_error.unwrap().name,
        "panic"
    );
    assert_eq!(sink.counts("org3").len(), 6);
    assert!(
        sink.counts("org2").is_empty(),
        "the panicking delivery was not counted"
    );
    // Both failed tenants are listed first.
    let first: Vec<String> = fleet.states().into_iter().take(2).map(|s| s.name).collect();
    assert_eq!(first, ["org1", "org2"]);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_parked_before_a_restart_keeps_its_next_attempt() {
    let sim = simulator(2, 4).await;
    let sink = Collect::new();
    let fleet = Fleet::new(sink.clone(), fast()).unwrap();
    let specs = tenants(&format!("{}{}", entry(&sim, 1, ""), entry(&sim, 2, "")));
    let until = chrono::Utc::now() + chrono::Duration::minutes(40);
    let parked = safe_tracker::fleet::TenantState {
        name: "org1".into(),
        organization_id: 1,
        phase: TenantPhase::Parked,
        since: chrono::Utc::now() - chrono::Duration::minutes(20),
        next_attempt: Some(until),
        last_error: None,
        cursor: Some(1),
        caught_up_at: None,
        last_sweep: None,
        delivered: 0,
        requests: 0,
        errors: Default::default(),
        revision: specs[0].revision.clone(),
    };
    fleet.restore(vec![parked]);
    fleet.apply(&specs).await;
    // org2 has the same kind of phase (interval 1 s): once it has caught up, org1 would have
    // swept too had its next attempt not been kept.
    until_caught_up(&fleet, "org2", 5).await;
    let state = fleet.state("org1").unwrap();
    assert_eq!(state.phase, TenantPhase::Parked);
    assert_eq!(state.next_attempt, Some(until));
    assert!(sink.counts("org1").is_empty());
    let seen = sim.app().stats.lock().unwrap().first_request_by_token();
    assert!(
        !seen.contains_key(&token_for(1)),
        "no request for the parked tenant"
    );
    fleet.shutdown().await;
}

async fn until_caught_up(fleet: &Fleet, name: &str, cursor: u64) {
    until(fleet, "caught up", |f| caught_up(f, name, cursor)).await;
    // And one more sweep of it, so a second phase has passed.
    let first = fleet.state(name).unwrap().caught_up_at;
    until(fleet, "a second sweep", |f| {
        f.state(name).unwrap().caught_up_at != first
    })
    .await;
}
