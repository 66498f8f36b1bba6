//! [`HostFleet`], the fleet the bindings run, against a simulator with several organisations:
//! records pulled by host threads and acknowledged arrive once each and move the SQLite
//! checkpoint (a restart delivers nothing again); a record failed by the host, or still out
//! when the fleet stops, stays unacknowledged and comes again; the checkpoint database is the
//! fleet's alone; a reload starts an added tenant. Waits are bounded only to fail instead of
//! hanging.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use safe_simulator::{Seed, SimConfig, Simulator, office_for, token_for};
use safe_tracker::fleet::TenantPhase;
use safe_tracker::host::{HostDelivery, HostFleet, Pulled};
use safe_tracker::poller::SqliteCheckpoint;

/// A simulator on a runtime of its own (the fleet under test must start outside one).
struct Sim {
    sim: Simulator,
    _runtime: tokio::runtime::Runtime,
}

fn simulator(orgs: u64, items: u64) -> Sim {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime
        .block_on(Simulator::start(SimConfig {
            seed: Seed {
                seed: 11,
                orgs,
                items,
            },
            ..SimConfig::default()
        }))
        .unwrap();
    Sim {
        sim,
        _runtime: runtime,
    }
}

fn entry(sim: &Simulator, org: u64) -> String {
    format!(
        "[[tenant]]\nname = \"org{org}\"\nbase_url = \"{}\"\norganization_id = {org}\n\
         office_id = {}\ntoken = \"{}\"\nallow_inline_token = true\nunsafe_min_interval = 0\n\
         interval = 1\njitter = 0\nrequests_per_second = 0\n\n",
        sim.base_url(),
        office_for(org),
        token_for(org)
    )
}

fn write_tenants(dir: &Path, sim: &Simulator, orgs: impl IntoIterator<Item = u64>) {
    let text: String = orgs.into_iter().map(|o| entry(sim, o)).collect();
    std::fs::write(dir.join("tenants.toml"), text).unwrap();
}

fn start(dir: &Path) -> HostFleet {
    let options = serde_json::json!({
        "tenants_file": dir.join("tenants.toml"),
        "checkpoint": {"kind": "sqlite", "path": dir.join("fleet.db")},
        "max_requests_per_second": 10_000.0,
    });
    HostFleet::start(&options.to_string(), "rust-test").unwrap()
}

fn pull(fleet: &HostFleet, wait: Duration) -> Pulled {
    fleet.handle().block_on(fleet.next(wait))
}

/// The record's tenant and item id.
fn key(d: &HostDelivery) -> (String, i64) {
    (d.tenant.clone(), d.record.item().id.expect("an item id"))
}

/// Pulls and acknowledges from two host threads until `want` records came (bounded).
fn take_all(fleet: &HostFleet, want: usize) -> HashMap<(String, i64), u32> {
    let seen = std::sync::Mutex::new(HashMap::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while Instant::now() < deadline {
                    if seen.lock().unwrap().values().sum::<u32>() as usize >= want {
                        return;
                    }
                    if let Pulled::Record(d) = pull(fleet, Duration::from_millis(100)) {
                        *seen.lock().unwrap().entry(key(&d)).or_insert(0) += 1;
                        fleet.ack(d.id).unwrap();
                    }
                }
            });
        }
    });
    seen.into_inner().unwrap()
}

/// Nothing is offered for `for_` (the tenants sweep every second meanwhile).
fn assert_quiet(fleet: &HostFleet, for_: Duration) {
    let deadline = Instant::now() + for_;
    while Instant::now() < deadline {
        if let Pulled::Record(d) = pull(fleet, Duration::from_millis(100)) {
            panic!("delivered again: {:?}", key(&d));
        }
    }
}

#[test]
fn pulled_records_arrive_once_each_and_a_restart_delivers_nothing_again() {
    let sim = simulator(3, 15);
    let dir = tempfile::tempdir().unwrap();
    write_tenants(dir.path(), &sim.sim, 1..=3);
    let fleet = start(dir.path());
    // The fleet owns its checkpoint database whole: a poller elsewhere cannot open it.
    let other = SqliteCheckpoint::open(dir.path().join("fleet.db"));
    assert!(
        other
            .unwrap_err()
            .to_string()
            .contains("belongs to a running fleet"),
        "a second store on the fleet's database is refused"
    );
    let seen = take_all(&fleet, 45);
    assert_eq!(seen.len(), 45, "every item of every tenant: {seen:?}");
    assert!(seen.values().all(|n| *n == 1), "each once: {seen:?}");
    for org in 1..=3 {
        let n = seen
            .keys()
            .filter(|(t, _)| *t == format!("org{org}"))
            .count();
        assert_eq!(n, 15, "org{org}");
    }
    assert_quiet(&fleet, Duration::from_millis(2500));
    fleet.handle().block_on(fleet.shutdown());
    drop(fleet);

    let again = start(dir.path());
    assert_quiet(&again, Duration::from_millis(2500));
    let states = again.states();
    assert_eq!(states.len(), 3);
    for s in &states {
        assert_eq!(
            s.cursor,
            Some(16),
            "{}: resumed from the checkpoint",
            s.name
        );
        assert_eq!(s.phase, TenantPhase::Running, "{}", s.name);
    }
}

#[test]
fn a_failed_or_abandoned_record_comes_again_and_only_its_tenant_stops() {
    let sim = simulator(2, 5);
    let dir = tempfile::tempdir().unwrap();
    write_tenants(dir.path(), &sim.sim, 1..=2);
    let fleet = start(dir.path());
    let mut failed = None;
    let mut abandoned = None;
    let mut acked: HashMap<(String, i64), u32> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // org1's first record is failed by the host; org2's third is kept out, never answered.
    while (failed.is_none() || abandoned.is_none()) && Instant::now() < deadline {
        let Pulled::Record(d) = pull(&fleet, Duration::from_millis(100)) else {
            continue;
        };
        let k = key(&d);
        if k.0 == "org1" && failed.is_none() {
            fleet.fail(d.id, "the host's database is down").unwrap();
            failed = Some(k);
        } else if k.0 == "org2" && acked.keys().filter(|(t, _)| t == "org2").count() == 2 {
            abandoned = Some((k, d.id));
        } else {
            *acked.entry(k).or_default() += 1;
            fleet.ack(d.id).unwrap();
        }
    }
    let failed = failed.expect("org1 delivered");
    let (abandoned, abandoned_id) = abandoned.expect("org2 delivered three");
    // The failure stops org1 alone, with the host's reason; org2 is held by its record out.
    let org1 = (0..3000)
        .find_map(|_| {
            let s = fleet.states().into_iter().find(|s| s.name == "org1")?;
            if s.phase == TenantPhase::Failed {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
            None
        })
        .expect("org1 fails");
    let org2 = fleet.states().into_iter().find(|s| s.name == "org2");
    assert_ne!(org2.unwrap().phase, TenantPhase::Failed);
    assert_eq!(
        org1.last_error.unwrap().name,
        safe_tracker::ErrorCode::Consumer.name()
    );
    assert!(
        fleet.ack(abandoned_id + 1_000).is_err(),
        "an unknown id is refused"
    );
    fleet.handle().block_on(fleet.shutdown());
    // Abandoned by the stop: its answer is refused now.
    let refused = fleet.ack(abandoned_id).unwrap_err();
    assert!(refused.to_string().contains("not out"), "{refused}");
    drop(fleet);

    let again = start(dir.path());
    let mut redelivered = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(redelivered.contains(&failed) && redelivered.contains(&abandoned))
        && Instant::now() < deadline
    {
        if let Pulled::Record(d) = pull(&again, Duration::from_millis(100)) {
            redelivered.push(key(&d));
            again.ack(d.id).unwrap();
        }
    }
    // Each tenant starts again at the record it did not acknowledge.
    let first_of = |t: &str| redelivered.iter().find(|k| k.0 == t).cloned();
    assert_eq!(first_of("org1"), Some(failed), "{redelivered:?}");
    assert_eq!(first_of("org2"), Some(abandoned), "{redelivered:?}");
    for k in &redelivered {
        assert!(
            !acked.contains_key(k),
            "acknowledged before, delivered again: {k:?}"
        );
    }
}

#[test]
fn a_reload_starts_an_added_tenant_and_an_invalid_file_changes_nothing() {
    let sim = simulator(2, 3);
    let dir = tempfile::tempdir().unwrap();
    write_tenants(dir.path(), &sim.sim, [1]);
    let fleet = start(dir.path());
    let first = take_all(&fleet, 3);
    assert!(first.keys().all(|(t, _)| t == "org1"), "{first:?}");

    std::fs::write(dir.path().join("tenants.toml"), "[[tenant]]\nname = 3\n").unwrap();
    let refused = fleet.handle().block_on(fleet.reload()).unwrap_err();
    assert!(refused.to_string().contains("tenant #1"), "{refused}");
    assert_eq!(fleet.states().len(), 1);

    write_tenants(dir.path(), &sim.sim, 1..=2);
    let applied = fleet.handle().block_on(fleet.reload()).unwrap();
    assert_eq!(applied.started, vec!["org2".to_string()]);
    let second = take_all(&fleet, 3);
    assert!(second.keys().all(|(t, _)| t == "org2"), "{second:?}");
    assert_eq!(second.len(), 3);

    // A reload racing the shutdown starts nothing once the fleet is shut.
    fleet.handle().block_on(fleet.shutdown());
    let after = fleet.handle().block_on(fleet.reload()).unwrap();
    assert_eq!(
        after,
        Default::default(),
        "nothing restarted after shutdown"
    );
    assert!(
        fleet
            .states()
            .iter()
            .all(|s| s.phase == TenantPhase::Stopped),
        "{:?}",
        fleet.states()
    );
}

#[test]
fn options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tenants.toml"), "").unwrap();
    let bad = |options: serde_json::Value| {
        HostFleet::start(&options.to_string(), "rust-test")
            .unwrap_err()
            .to_string()
    };
    let tenants = dir.path().join("tenants.toml");
    let e = bad(
        serde_json::json!({"tenants_file": tenants, "checkpoint": {"kind": "file", "path": "x"}}),
    );
    assert!(e.contains("a fleet's checkpoint is"), "{e}");
    let e = bad(
        serde_json::json!({"tenants_file": tenants, "checkpoint": {"kind": "memory"}, "park_retry": -1}),
    );
    assert!(e.contains("park_retry"), "{e}");
    let e = bad(
        serde_json::json!({"tenants_file": tenants, "checkpoint": {"kind": "memory"}, "max_requests": 3}),
    );
    assert!(e.contains("unknown field"), "{e}");
    let e = bad(
        serde_json::json!({"tenants_file": dir.path().join("missing.toml"), "checkpoint": {"kind": "memory"}}),
    );
    assert!(e.contains("missing.toml"), "{e}");
}

#[test]
fn a_released_record_or_one_taken_by_a_dropped_call_comes_again() {
    let sim = simulator(1, 4);
    let dir = tempfile::tempdir().unwrap();
    write_tenants(dir.path(), &sim.sim, [1]);
    let fleet = start(dir.path());
    let first = loop {
        if let Pulled::Record(d) = pull(&fleet, Duration::from_secs(30)) {
            break d;
        }
    };
    fleet.release(first.id).unwrap();
    assert!(
        fleet.ack(first.id).is_err(),
        "a released id is no longer out"
    );
    let again = match pull(&fleet, Duration::from_secs(30)) {
        Pulled::Record(d) => d,
        other => panic!("the released record comes again: {other:?}"),
    };
    assert_eq!(key(&again), key(&first));
    assert_ne!(again.id, first.id, "under a new id");
    fleet.ack(again.id).unwrap();

    // A call dropped after it took the next record (polled once, so it starts waiting, then
    // left for 2 s, well past the record's arrival, and dropped unread) never hands it over:
    // it comes again, so the three items left still arrive, each once. Lost, the tenant would
    // wait for its answer for ever.
    fleet.handle().block_on(async {
        let mut call = Box::pin(fleet.next(Duration::from_secs(30)));
        let first_poll =
            std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx))).await;
        if let std::task::Poll::Ready(Pulled::Record(d)) = first_poll {
            // Handed over at once after all: give it back like a host would.
            fleet.release(d.id).unwrap();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(call);
    });
    let seen = take_all(&fleet, 3);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    assert!(!seen.contains_key(&key(&first)), "{seen:?}");
}
