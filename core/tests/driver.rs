//! The poller driver against the simulator, on a manual clock: the schedule after a sweep,
//! backoff after transient failures (and its reset), parking or stopping on account errors,
//! the stable first-sweep phase, and the sweep floor shared by the pollers of one SAFE
//! account.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{client, clock, open, simulator};
use safe_simulator::FaultRule;
use safe_tracker::ErrorCode;
use safe_tracker::poller::{
    AccountErrors, AccountFloors, Clock, Decision, ItemRecord, MemoryCheckpoint, PollerOptions,
    Schedule, UpdatedOptions, UpdatedPoller,
};

fn options() -> PollerOptions {
    PollerOptions {
        interval: Duration::from_secs(600),
        jitter: Duration::ZERO,
        ..PollerOptions::default()
    }
}

fn rule(kind: &str) -> FaultRule {
    serde_json::from_value(serde_json::json!({ "kind": kind })).unwrap()
}

fn server_errors(path: &str) -> FaultRule {
    FaultRule {
        status: Some(500),
        path_contains: Some(path.into()),
        ..rule("status")
    }
}

async fn sweep(p: &safe_tracker::poller::Poller) -> safe_tracker::Result<u64> {
    p.sweep(|_r: ItemRecord| async { Ok::<(), String>(()) })
        .await
        .map(|r| r.summary.items)
}

fn secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

#[tokio::test]
async fn the_next_sweep_starts_an_interval_after_the_last_never_before_the_floor() {
    let sim = simulator(5).await;
    let clk = clock();
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        options(),
        &clk,
    );
    let mut driver = p.driver(None);
    let t0 = clk.now();
    assert_eq!(
        driver.next_start(Duration::ZERO),
        t0,
        "no sweep yet: at once"
    );
    driver.wait().await.unwrap();
    let outcome = sweep(&p).await;
    assert_eq!(outcome.as_ref().ok(), Some(&5));
    assert_eq!(driver.decide(&outcome), Decision::Continue);
    let last = p.status().last_sweep_started.unwrap();
    assert_eq!(driver.next_start(Duration::ZERO), last + secs(600));
    assert_eq!(driver.next_start(Duration::from_secs(7)), last + secs(607));

    // An interval below the floor cannot be configured, and the floor holds even when the
    // schedule would allow earlier (a driver given a shorter interval).
    let mut fast = p.driver(Some(Schedule::new(Duration::from_secs(1), Duration::ZERO)));
    assert_eq!(fast.next_start(Duration::ZERO), last + secs(60));
    let before = clk.sleeps().len();
    fast.wait().await.unwrap();
    let slept: Duration = clk.sleeps()[before..].iter().sum();
    assert_eq!(slept, Duration::from_secs(60), "waited out the floor only");
}

#[tokio::test]
async fn transient_failures_back_off_doubling_and_a_completed_sweep_resets() {
    let sim = simulator(5).await;
    let clk = clock();
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        options(),
        &clk,
    );
    let mut schedule = Schedule::new(Duration::from_secs(600), Duration::ZERO);
    schedule.max_backoff = Duration::from_secs(1800);
    let mut driver = p.driver(Some(schedule));
    sim.add_fault(server_errors("seqOrgID"));
    let mut waits = Vec::new();
    for expected_failures in 1..=4u32 {
        driver.wait().await.unwrap();
        let outcome = sweep(&p).await;
        assert_eq!(
            outcome.as_ref().map_err(|e| e.code()),
            Err(ErrorCode::Server)
        );
        let last = p.status().last_sweep_started.unwrap();
        match driver.decide(&outcome) {
            Decision::BackOff { failures, until } => {
                assert_eq!(failures, expected_failures);
                waits.push((until - last).num_seconds());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        waits,
        [600, 1200, 1800, 1800],
        "doubling, capped at max_backoff"
    );
    assert_eq!(driver.failures(), 4);

    sim.clear_faults();
    driver.wait().await.unwrap();
    let outcome = sweep(&p).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(driver.decide(&outcome), Decision::Continue);
    assert_eq!(driver.failures(), 0);
    let last = p.status().last_sweep_started.unwrap();
    assert_eq!(driver.next_start(Duration::ZERO), last + secs(600));
}

#[tokio::test]
async fn account_errors_stop_by_default_and_park_when_asked() {
    let sim = simulator(5).await;
    let clk = clock();
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        options(),
        &clk,
    );
    sim.add_fault(rule("no_licence"));
    let outcome = sweep(&p).await;
    assert_eq!(
        outcome.as_ref().map_err(|e| e.code()),
        Err(ErrorCode::LicenseUnavailable)
    );
    assert_eq!(p.driver(None).decide(&outcome), Decision::Stop);

    let mut schedule = Schedule::new(Duration::from_secs(600), Duration::ZERO);
    schedule.account_errors = AccountErrors::Park {
        retry: Duration::from_secs(3600),
    };
    let mut parked = p.driver(Some(schedule));
    let now = clk.now();
    assert_eq!(
        parked.decide(&outcome),
        Decision::Park {
            until: now + secs(3600)
        }
    );
    assert_eq!(parked.next_start(Duration::ZERO), now + secs(3600));
    assert_eq!(parked.failures(), 0, "a park is not a backoff");

    // Every other class: cancellation ends the loop quietly, storage and the caller's errors
    // stop it, the request budget backs off.
    let mut d = p.driver(None);
    assert_eq!(
        d.decide_code(Some(ErrorCode::Cancelled)),
        Decision::Cancelled
    );
    assert_eq!(d.decide_code(Some(ErrorCode::Checkpoint)), Decision::Stop);
    assert_eq!(d.decide_code(Some(ErrorCode::Consumer)), Decision::Stop);
    assert_eq!(
        d.decide_code(Some(ErrorCode::InvalidConfig)),
        Decision::Stop
    );
    assert_eq!(
        d.decide_code(Some(ErrorCode::DuplicateNumber)),
        Decision::Stop
    );
    assert!(matches!(
        d.decide_code(Some(ErrorCode::BudgetExhausted)),
        Decision::BackOff { failures: 1, .. }
    ));
    assert!(d.decide_code(Some(ErrorCode::Timeout)).keeps_running());
    assert!(!Decision::Stop.keeps_running());
}

#[tokio::test]
async fn the_first_sweep_waits_for_a_stable_phase() {
    let sim = simulator(1).await;
    let clk = clock();
    let mut schedule = Schedule::new(Duration::from_secs(600), Duration::ZERO);
    schedule.first_sweep_spread = Duration::from_secs(600);
    let mut phases = Vec::new();
    for org in 1..=5 {
        let p = open(
            &client(&sim, org),
            Arc::new(MemoryCheckpoint::new()),
            options(),
            &clk,
        );
        let a = p.driver(Some(schedule.clone()));
        let b = p.driver(Some(schedule.clone()));
        assert_eq!(a.phase(), b.phase(), "the same poller, the same phase");
        assert!(a.phase() < Duration::from_secs(600));
        phases.push(a.phase());
        p.close().await;
    }
    phases.sort();
    phases.dedup();
    assert!(phases.len() >= 4, "pollers are spread: {phases:?}");

    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        options(),
        &clk,
    );
    let mut d = p.driver(Some(schedule));
    let t0 = clk.now();
    let phase = d.phase();
    assert_eq!(
        d.next_start(Duration::ZERO),
        t0 + chrono::Duration::from_std(phase).unwrap()
    );
    d.wait().await.unwrap();
    assert_eq!(clk.now(), t0 + chrono::Duration::from_std(phase).unwrap());
    // Only the first sweep: afterwards the schedule alone (no sweep yet: at once).
    assert_eq!(d.next_start(Duration::ZERO), clk.now());
}

#[tokio::test]
async fn pollers_of_one_account_share_its_sweep_floor() {
    let sim = simulator(3).await;
    let clk = clock();
    let floors = AccountFloors::new();
    let c1 = client(&sim, 1);
    let items = open(&c1, Arc::new(MemoryCheckpoint::new()), options(), &clk);
    items.set_account_floors(floors.clone());
    let updated = UpdatedPoller::open_with_clock(
        c1.clone(),
        Arc::new(MemoryCheckpoint::new()),
        UpdatedOptions::default(),
        clk.clone(),
    )
    .unwrap();
    updated.set_account_floors(floors.clone());
    let other = open(
        &client(&sim, 2),
        Arc::new(MemoryCheckpoint::new()),
        options(),
        &clk,
    );
    other.set_account_floors(floors.clone());

    sweep(&items).await.unwrap();
    let t1 = items.status().last_sweep_started.unwrap();
    // Another organisation's token is another account: no wait.
    let before = clk.sleeps().len();
    sweep(&other).await.unwrap();
    assert_eq!(clk.sleeps().len(), before, "another account does not wait");
    // The updated stream of the same token waits out the account's floor, though its own
    // checkpoint has never swept.
    updated
        .sweep(|_r| async { Ok::<(), String>(()) })
        .await
        .unwrap();
    let started = updated.status().last_sweep_started.unwrap();
    assert_eq!(started, t1 + secs(60), "one sweep a minute per account");

    // Without the shared registry the two streams would not know of each other.
    items.close().await;
    let clk2 = clock();
    let alone = open(&c1, Arc::new(MemoryCheckpoint::new()), options(), &clk2);
    alone.set_account_floors(AccountFloors::new());
    sweep(&alone).await.unwrap();
    assert!(clk2.sleeps().is_empty());
}

#[tokio::test]
async fn run_forever_backs_off_through_the_driver() {
    let sim = simulator(2).await;
    let clk = clock();
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        options(),
        &clk,
    );
    // Two failed sweeps, then the items: run_forever waits 600 s, then 1,200 s, then sweeps.
    sim.add_fault(FaultRule {
        count: Some(2 * 3), // three attempts per failed sweep
        ..server_errors("seqOrgID")
    });
    let cancel = p.clone();
    let result = p
        .run_forever(move |r: ItemRecord| {
            if r.sequential_org_id == 2 {
                cancel.cancel();
            }
            async { Ok::<(), String>(()) }
        })
        .await;
    assert!(result.is_ok(), "{result:?}");
    let long: Vec<u64> = clk
        .sleeps()
        .iter()
        .filter(|d| d.as_secs() >= 60)
        .map(|d| d.as_secs())
        .collect();
    assert_eq!(long, [600, 1200], "backoff between the failed sweeps");
}

/// A store that another process took over after `allowed` saves: every later save is fenced.
#[derive(Debug)]
struct TakenOver {
    inner: MemoryCheckpoint,
    allowed: u32,
    saves: std::sync::atomic::AtomicU32,
}

impl safe_tracker::poller::CheckpointStore for TakenOver {
    fn load(&self, key: &str) -> safe_tracker::Result<Option<safe_tracker::poller::PollerState>> {
        self.inner.load(key)
    }
    fn save(
        &self,
        key: &str,
        state: &safe_tracker::poller::PollerState,
    ) -> safe_tracker::Result<()> {
        let n = self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n >= self.allowed {
            return Err(safe_tracker::Error::Fenced(
                "the lease of this poller moved to another process".into(),
            ));
        }
        self.inner.save(key, state)
    }
}

#[tokio::test]
async fn a_fenced_save_stops_the_loop_without_moving_the_checkpoint() {
    let sim = simulator(5).await;
    let clk = clock();
    let store = Arc::new(TakenOver {
        inner: MemoryCheckpoint::new(),
        allowed: 2, // the sweep's start, then the first item
        saves: Default::default(),
    });
    let p = open(&client(&sim, 1), store.clone(), options(), &clk);
    let mut delivered = Vec::new();
    let result = p
        .run_forever(|r: ItemRecord| {
            delivered.push(r.sequential_org_id);
            async { Ok::<(), String>(()) }
        })
        .await;
    let err = result.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Fenced);
    assert_eq!(
        p.driver(None).decide_code(Some(err.code())),
        Decision::Fenced
    );
    assert!(!Decision::Fenced.keeps_running());
    // Item 2 was handed over but its acknowledgement was refused: the store holds item 1's.
    assert_eq!(delivered, [1, 2]);
    let key = p.key();
    let saved = safe_tracker::poller::CheckpointStore::load(&store.inner, &key)
        .unwrap()
        .unwrap();
    assert_eq!(saved.cursor, 2, "nothing past the last save the store took");
    assert_eq!(p.status().cursor, 2);
}

#[tokio::test]
async fn clients_given_one_request_cap_share_it() {
    use safe_tracker::models::Lookup;
    let sim = simulator(1).await;
    // A burst of two, then one request a day: the cap is spent after two requests.
    let cap =
        safe_tracker::RequestCap::new(safe_tracker::config::MIN_REQUESTS_PER_SECOND, 2).unwrap();
    let with_cap = |org| {
        safe_tracker::Client::new(
            common::builder(&sim, org)
                .request_cap(cap.clone())
                .build()
                .unwrap(),
        )
        .unwrap()
    };
    let (a, b) = (with_cap(1), with_cap(2));
    a.lookup(Lookup::Genders).await.unwrap();
    b.lookup(Lookup::Genders).await.unwrap();
    assert_eq!(cap.taken(), 2, "both clients drew from the one cap");
    // Spent: a third request, from either client, waits for a slot (a day away). However long
    // it is given, it cannot reach the server.
    let a2 = a.clone();
    let third = tokio::spawn(async move { a2.lookup(Lookup::Races).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!third.is_finished());
    assert_eq!(sim.count_route("/api/races"), 0);
    third.abort();
    // A client outside the cap is not held back by it.
    client(&sim, 1).lookup(Lookup::Races).await.unwrap();
    assert_eq!(sim.count_route("/api/races"), 1);
    assert_eq!(cap.taken(), 2);
}
