//! The PostgreSQL store against a real server (a throw-away cluster per test, Debian's
//! binaries): the schema is migrated once by processes starting together; a lease has one
//! owner, and a lease taken over fences its old owner's writes (and its local deadline says
//! it may no longer act); a released lease moves at once; a poller's checkpoint in PostgreSQL
//! resumes where it stopped; the store's errors and `Debug` never show the password.

#![cfg(feature = "postgres")]

mod common;

use std::time::Duration;

use safe_test_postgres::Cluster;
use safe_tracker::Error;
use safe_tracker::poller::{CheckpointStore, Poller, PollerOptions, PollerState};
use safe_tracker::postgres::{LeaseOptions, PgOptions, PgStore, PostgresCheckpoint};

fn lease(owner: &str, ttl_secs: u64) -> LeaseOptions {
    LeaseOptions {
        owner: owner.to_string(),
        ttl: Duration::from_secs(ttl_secs),
    }
}

async fn store(url: &str) -> PgStore {
    PgStore::connect(url, PgOptions::default()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_migrate_the_schema_once() {
    let pg = Cluster::start();
    let url = pg.create_database("migrate");
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgStore::connect(&url, PgOptions::default()).await })
        })
        .collect();
    for s in starts {
        s.await.unwrap().expect("every start succeeds");
    }
    let client = psql(
        &pg,
        "migrate",
        "SELECT count(*) FROM safe_tracker_schema_version WHERE component = 'postgres_leases'",
    );
    assert_eq!(client.trim(), "1", "version 1 recorded once");
}

/// Runs `sql` with psql against database `db`; its unaligned output.
fn psql(pg: &Cluster, db: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .arg(pg.url(db))
        .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_taken_over_fences_its_old_owner() {
    let pg = Cluster::start();
    let url = pg.create_database("fence");
    let a = store(&url).await;
    let b = store(&url).await;

    let held = a
        .claim("north-pd", &lease("worker-a", 1))
        .await
        .unwrap()
        .expect("unowned: claimed");
    assert!(held.is_live());
    assert!(
        b.claim("north-pd", &lease("worker-b", 30))
            .await
            .unwrap()
            .is_none(),
        "held: not claimed"
    );
    let a_cp = PostgresCheckpoint::new(a.clone(), held.clone());
    let mut state = PollerState::new("items", 1);
    state.cursor = 5;
    a_cp.save("north-pd/items", &state).unwrap();

    // A pause past the TTL (no renewal): the local deadline passes before anyone takes over.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(
        !held.is_live(),
        "past its deadline, the old owner may not act"
    );
    assert!(matches!(held.ensure_live(), Err(Error::Fenced(_))));

    let taken = b
        .claim("north-pd", &lease("worker-b", 30))
        .await
        .unwrap()
        .expect("expired: taken over");
    assert_eq!(taken.epoch(), held.epoch() + 1);
    let b_cp = PostgresCheckpoint::new(b.clone(), taken.clone());
    assert_eq!(
        b_cp.load("north-pd/items").unwrap().unwrap().cursor,
        5,
        "the new owner resumes"
    );

    // The old owner wakes up and writes: refused, blocking and async alike, and its
    // checkpoint stays as the new owner leaves it.
    state.cursor = 9;
    let refused = a_cp.save("north-pd/items", &state).unwrap_err();
    assert!(matches!(refused, Error::Fenced(_)), "{refused}");
    let refused = std::sync::Arc::new(a_cp.clone())
        .save_async("north-pd/items".into(), state.clone())
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Fenced(_)), "{refused}");
    let batch = a_cp.save_batch(&[("north-pd/items", &state), ("north-pd/updated", &state)]);
    assert!(
        batch.iter().all(|r| matches!(r, Err(Error::Fenced(_)))),
        "{batch:?}"
    );
    assert!(
        !held.renew().await.unwrap(),
        "a renewal finds it taken over"
    );
    assert_eq!(b_cp.load("north-pd/items").unwrap().unwrap().cursor, 5);

    state.cursor = 7;
    b_cp.save("north-pd/items", &state).unwrap();
    assert!(taken.renew().await.unwrap());
    assert_eq!(
        psql(
            &pg,
            "fence",
            "SELECT owner || ' ' || epoch || ' ' || takeovers FROM safe_tracker_leases"
        )
        .trim(),
        format!("worker-b {} 1", taken.epoch())
    );

    // Released: another process claims it at once, without waiting for the TTL.
    taken.release().await.unwrap();
    assert!(!taken.is_live());
    let again = a
        .claim("north-pd", &lease("worker-a", 30))
        .await
        .unwrap()
        .expect("released: claimed at once");
    assert_eq!(again.epoch(), taken.epoch() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_keeps_the_lease_renewed_and_refuses_a_second_owner() {
    let pg = Cluster::start();
    let url = pg.create_database("open");
    let first =
        PostgresCheckpoint::open(&url, "south-so", lease("worker-a", 1), PgOptions::default())
            .await
            .unwrap();
    // Renewed every third of a second: still live, and still held, well past one TTL.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(first.lease().is_live());
    let second =
        PostgresCheckpoint::open(&url, "south-so", lease("worker-b", 1), PgOptions::default())
            .await
            .unwrap_err();
    let text = second.to_string();
    assert!(matches!(second, Error::Fenced(_)), "{text}");
    assert!(text.contains("worker-a"), "names the holder: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poller_resumes_from_its_postgres_checkpoint() {
    let sim = common::simulator(12).await;
    let pg = Cluster::start();
    let url = pg.create_database("poller");
    let client = || common::client(&sim, 1);
    let options = PollerOptions {
        unsafe_min_interval: Some(Duration::ZERO),
        ..PollerOptions::default()
    };
    let cp = PostgresCheckpoint::open(&url, "org1", lease("worker-a", 30), PgOptions::default())
        .await
        .unwrap();
    let poller = Poller::open_async(client(), std::sync::Arc::new(cp.clone()), options.clone())
        .await
        .unwrap();
    let mut seen = Vec::new();
    let report = poller
        .sweep(|r| {
            seen.push(r.sequential_org_id);
            async { Ok::<(), String>(()) }
        })
        .await
        .unwrap();
    assert_eq!(seen.len(), 12, "{report:?}");
    drop(poller);
    cp.lease().release().await.unwrap();

    let cp = PostgresCheckpoint::open(&url, "org1", lease("worker-b", 30), PgOptions::default())
        .await
        .unwrap();
    let poller = Poller::open_async(client(), std::sync::Arc::new(cp), options)
        .await
        .unwrap();
    assert_eq!(poller.status().cursor, 13, "resumed from PostgreSQL");
}

#[tokio::test]
async fn errors_and_debug_never_show_the_password() {
    // Nothing listens on this port: the connection fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://rms:hunter2-secret@127.0.0.1:{port}/safe?sslmode=disable");
    let options = PgOptions {
        connect_timeout: Duration::from_secs(2),
        ..PgOptions::default()
    };
    let e = PgStore::connect(&url, options).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(!text.contains("hunter2-secret"), "{text}");
    assert!(
        text.contains(&format!("rms@127.0.0.1:{port}/safe")),
        "names the database: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_goes_out_once_the_lease_may_have_lapsed() {
    let sim = common::simulator(3).await;
    let pg = Cluster::start();
    let url = pg.create_database("gate");
    let store = store(&url).await;
    let held = store
        .claim("org1", &lease("worker-a", 1))
        .await
        .unwrap()
        .unwrap();
    let cp = PostgresCheckpoint::new(store, held.clone());
    let client = common::client(&sim, 1);
    // The poller adds the lease's gate to its client.
    let poller = Poller::open_async(
        client.clone(),
        std::sync::Arc::new(cp),
        PollerOptions {
            unsafe_min_interval: Some(Duration::ZERO),
            ..PollerOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(client.item_by_seq(1).await.unwrap().is_some(), "live: sent");
    let sent = sim.total_requests();
    // No renewal (as for a process paused past its TTL): the local deadline passes.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let refused = client.item_by_seq(2).await.unwrap_err();
    assert!(matches!(refused, Error::Fenced(_)), "{refused}");
    assert_eq!(sim.total_requests(), sent, "nothing reached SAFE");
    let failed = poller
        .sweep(|_| async { Ok::<(), String>(()) })
        .await
        .unwrap_err();
    assert!(matches!(failed, Error::Fenced(_)), "{failed}");
    assert_eq!(sim.total_requests(), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_no_one_holds_any_more_is_given_up_at_once() {
    let pg = Cluster::start();
    let url = pg.create_database("drop");
    let first =
        PostgresCheckpoint::open(&url, "east-pd", lease("worker-a", 30), PgOptions::default())
            .await
            .unwrap();
    drop(first);
    // Well before its 30-second TTL: the dropped lease was released in the background.
    let store = store(&url).await;
    let mut claimed = None;
    for _ in 0..100 {
        claimed = store
            .claim("east-pd", &lease("worker-b", 30))
            .await
            .unwrap();
        if claimed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let claimed = claimed.expect("free well before the TTL");
    assert_eq!(claimed.epoch(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_heartbeat_share_fairly_and_leave_at_once() {
    let pg = Cluster::start();
    let url = pg.create_database("workers");
    let store = store(&url).await;
    for w in ["worker-a", "worker-b", "worker-c"] {
        store.heartbeat(w).await.unwrap();
    }
    let live = store.live_workers(Duration::from_secs(30)).await.unwrap();
    assert_eq!(live, ["worker-a", "worker-b", "worker-c"]);
    assert_eq!(safe_tracker::postgres::fair_share(30, live.len()), 10);
    // worker-c stops beating: after the window it no longer counts.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    store.heartbeat("worker-a").await.unwrap();
    store.heartbeat("worker-b").await.unwrap();
    assert_eq!(
        store.live_workers(Duration::from_secs(1)).await.unwrap(),
        ["worker-a", "worker-b"]
    );

    let held: Vec<_> = claim_all(&store, "worker-a", &["t1", "t2"]).await;
    assert_eq!(held.len(), 2);
    let leases = store.leases().await.unwrap();
    assert!(
        leases
            .iter()
            .all(|l| l.live && l.owner.as_deref() == Some("worker-a")),
        "{leases:?}"
    );
    // Leaving on purpose gives up every lease at once.
    assert_eq!(store.leave("worker-a").await.unwrap(), 2);
    assert!(store.leases().await.unwrap().iter().all(|l| !l.live));
    assert!(
        store
            .claim("t1", &lease("worker-b", 30))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.live_workers(Duration::from_secs(30)).await.unwrap(),
        ["worker-b", "worker-c"]
    );
}

async fn claim_all(
    store: &PgStore,
    owner: &str,
    units: &[&str],
) -> Vec<std::sync::Arc<safe_tracker::postgres::Lease>> {
    let mut held = Vec::new();
    for unit in units {
        held.push(store.claim(unit, &lease(owner, 30)).await.unwrap().unwrap());
    }
    held
}

/// Behind PgBouncer in transaction mode (two server connections for every client): many
/// stores claiming, renewing, saving and beating at once share server connections, so a
/// statement that outlived its transaction (a named prepared statement, a session setting)
/// would fail on another client's connection. The store uses unnamed statements only and
/// transaction-scoped locks, so all of it works, fencing included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_works_behind_pgbouncer_in_transaction_mode() {
    let pg = Cluster::start();
    pg.create_database("bounced");
    let bouncer = safe_test_postgres::Bouncer::start(&pg, 2);
    let url = bouncer.url("bounced");
    let mut tasks = Vec::new();
    for w in 0..6 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let store = PgStore::connect(&url, PgOptions::default()).await?;
            let owner = format!("worker-{w}");
            let held = store
                .claim(&format!("unit-{w}"), &lease(&owner, 30))
                .await?
                .expect("each its own unit");
            let cp = PostgresCheckpoint::new(store.clone(), held.clone());
            let cp = std::sync::Arc::new(cp);
            for i in 0..20u64 {
                store.heartbeat(&owner).await?;
                assert!(held.renew().await?);
                let mut state = PollerState::new("items", 1);
                state.cursor = i + 2;
                cp.clone()
                    .save_async(format!("unit-{w}/items"), state)
                    .await?;
                assert_eq!(
                    cp.clone()
                        .load_async(format!("unit-{w}/items"))
                        .await?
                        .unwrap()
                        .cursor,
                    i + 2
                );
            }
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await
            .unwrap()
            .expect("no statement failed behind the bouncer");
    }
    // Fencing behind the bouncer: a lapsed lease taken over refuses its old owner's write.
    let a = store(&url).await;
    let b = store(&url).await;
    let old = a.claim("shared", &lease("old", 1)).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let new = b.claim("shared", &lease("new", 30)).await.unwrap().unwrap();
    let refused = PostgresCheckpoint::new(a, old)
        .save("shared/items", &PollerState::new("items", 1))
        .unwrap_err();
    assert!(matches!(refused, Error::Fenced(_)), "{refused}");
    PostgresCheckpoint::new(b, new)
        .save("shared/items", &PollerState::new("items", 1))
        .unwrap();
    assert_eq!(
        store(&url).await.leases().await.unwrap().len(),
        7,
        "six units and the shared one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_is_transient_and_the_store_reconnects() {
    let pg = Cluster::start();
    let url = pg.create_database("restart");
    let store = store(&url).await;
    let held = store
        .claim("west-pd", &lease("worker-a", 30))
        .await
        .unwrap()
        .unwrap();
    let cp = PostgresCheckpoint::new(store.clone(), held.clone());
    cp.save("west-pd/items", &PollerState::new("items", 3))
        .unwrap();

    pg.stop();
    let down = cp
        .save("west-pd/items", &PollerState::new("items", 4))
        .unwrap_err();
    assert!(matches!(down, Error::StoreUnavailable(_)), "{down:?}");
    assert_eq!(down.code().class(), safe_tracker::ErrorClass::Transient);
    assert!(held.renew().await.is_err(), "no renewal while it is down");
    assert!(held.is_live(), "still within its TTL: the owner may go on");

    pg.start_again();
    cp.save("west-pd/items", &PollerState::new("items", 5))
        .unwrap();
    assert!(
        held.renew().await.unwrap(),
        "the same lease, renewed after the restart"
    );
    assert_eq!(cp.load("west-pd/items").unwrap().unwrap().cursor, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_joining_end_up_with_a_fair_share_each() {
    use safe_tracker::postgres::Membership;
    let pg = Cluster::start();
    let url = pg.create_database("balance");
    let units: Vec<String> = (1..=30).map(|i| format!("tenant-{i:02}")).collect();
    let worker = |name: &str| {
        let url = url.clone();
        let name = name.to_string();
        async move { Membership::new(store(&url).await, lease(&name, 30)) }
    };
    let a = worker("worker-a").await;
    let first = a.round(&units).await.unwrap();
    assert_eq!(
        (first.claimed.len(), first.share),
        (30, 30),
        "alone: everything"
    );

    // A second and a third worker join; rounds go on until nothing moves (bounded).
    let b = worker("worker-b").await;
    let c = worker("worker-c").await;
    let members = [&a, &b, &c];
    for _ in 0..6 {
        for m in members {
            let round = m.round(&units).await.unwrap();
            assert!(round.lost.is_empty(), "nothing is taken over: {round:?}");
            for unit in &round.surplus {
                m.release(unit).await.unwrap();
            }
        }
    }
    let counts: Vec<usize> = members.iter().map(|m| m.held().len()).collect();
    assert_eq!(counts, [10, 10, 10], "a third each");
    let mut all: Vec<String> = members
        .iter()
        .flat_map(|m| m.held().into_iter().map(|(u, _)| u))
        .collect();
    all.sort();
    assert_eq!(all, units, "every unit held once");

    // A unit of worker-a's taken over behind its back (its lease forced to lapse): the next
    // round's one batched renewal names it lost, and the others still hold.
    let (victim, _) = a.held().into_iter().next().unwrap();
    psql(
        &pg,
        "balance",
        &format!(
            "UPDATE safe_tracker_leases SET owner = 'intruder', epoch = epoch + 1 WHERE unit = '{victim}'"
        ),
    );
    let round = a.round(&units).await.unwrap();
    assert_eq!(round.lost, std::slice::from_ref(&victim));
    assert_eq!(a.held().len(), 9);
    psql(
        &pg,
        "balance",
        &format!(
            "UPDATE safe_tracker_leases SET owner = NULL, expires_at = NULL WHERE unit = '{victim}'"
        ),
    );

    // worker-c stops on purpose: its units move to the others at the next rounds.
    c.leave().await.unwrap();
    for _ in 0..3 {
        for m in [&a, &b] {
            let round = m.round(&units).await.unwrap();
            for unit in &round.surplus {
                m.release(unit).await.unwrap();
            }
        }
    }
    assert_eq!(a.held().len() + b.held().len(), 30);
    assert_eq!((a.held().len(), b.held().len()), (15, 15));
}
