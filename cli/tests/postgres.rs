//! `serve --store postgres://…` and `fleet status --store postgres://…` against a real
//! PostgreSQL server and the simulator: several workers (real processes) share 30 tenants,
//! every item stored exactly once while workers join, are killed (SIGKILL), frozen past their
//! lease (SIGSTOP) and stop (SIGTERM), and while the database restarts; a frozen worker that
//! lost its tenants sends SAFE no request once it wakes. Waits are bounded only to fail
//! instead of hanging; the bounds follow from the lease TTL, not from speed.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    Served, http_get, metrics_address, parse_metrics, signal, simulator, spawn_serve, tenants_file,
    terminate, until_every,
};
use safe_simulator::token_for;

use safe_test_postgres::Cluster;
use safe_tracker::poller::{CheckpointStore, PollerState};
use safe_tracker::postgres::{LeaseOptions, PgOptions, PostgresCheckpoint};

use common::BIN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_status_shows_every_unit_of_a_postgres_store() {
    let pg = Cluster::start();
    let url = pg.create_database("status");
    let lease = LeaseOptions {
        owner: "worker-a".into(),
        ttl: Duration::from_secs(30),
    };
    let cp = PostgresCheckpoint::open(&url, "north-pd", lease, PgOptions::default())
        .await
        .unwrap();
    let mut state = PollerState::new("items", 1);
    state.cursor = 7;
    std::sync::Arc::new(cp.clone())
        .save_async("north-pd/items".into(), state)
        .await
        .unwrap();
    // Trust authentication ignores the password; the command must not print it either way.
    let with_password = url.replace("postgres@", "postgres:hunter2-secret@");

    let out = Command::new(BIN)
        .args(["fleet", "status", "--json", "--store", &with_password])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: serde_json::Value = serde_json::from_str(&text).unwrap();
    let row = &rows[0];
    assert_eq!(row["unit"], "north-pd");
    assert_eq!(row["owner"], "worker-a");
    assert_eq!(row["epoch"], cp.lease().epoch());
    assert_eq!(row["held"], true);
    assert_eq!(row["cursor"], 7);
    assert!(row["lease_expires_at"].is_string());

    let out = Command::new(BIN)
        .args(["fleet", "status"])
        .env("SAFE_STORE_URL", &with_password)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
    assert!(
        text.contains("north-pd") && text.contains("worker-a"),
        "{text}"
    );
    assert!(!text.contains("hunter2-secret"), "{text}");
}

/// One `serve` worker of the fleet in `url`, with `--tenants FILE` when given.
fn worker(dir: &Path, url: &str, id: &str, ttl: u32, tenants: Option<&Path>) -> Served {
    worker_with(dir, url, id, ttl, tenants, &[])
}

fn worker_with(
    dir: &Path,
    url: &str,
    id: &str,
    ttl: u32,
    tenants: Option<&Path>,
    extra: &[&str],
) -> Served {
    let mut args: Vec<OsString> = vec![
        "--store".into(),
        url.into(),
        "--worker-id".into(),
        id.into(),
        "--lease-ttl".into(),
        ttl.to_string().into(),
    ];
    if let Some(t) = tenants {
        args.extend(["--tenants".into(), t.into()]);
    }
    args.extend(extra.iter().map(OsString::from));
    spawn_serve(dir, &args)
}

/// One value of a query (`psql`, unaligned).
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("/usr/bin/psql")
        .args([url, "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap();
    if !out.status.success() {
        return String::new(); // the server is restarting, or the tables are not there yet
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn count(url: &str, sql: &str) -> i64 {
    psql(url, sql).parse().unwrap_or(-1)
}

/// The units each live owner holds (`fleet status --json`).
fn holders(url: &str) -> BTreeMap<String, Vec<String>> {
    let out = Command::new(BIN)
        .env_clear()
        .args(["fleet", "status", "--json", "--store", url])
        .output()
        .unwrap();
    let mut by_owner: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !out.status.success() {
        return by_owner;
    }
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for row in rows.as_array().unwrap() {
        if row["held"] == true {
            by_owner
                .entry(row["owner"].as_str().unwrap().to_string())
                .or_default()
                .push(row["unit"].as_str().unwrap().to_string());
        }
    }
    by_owner
}

/// How many units each live owner holds.
fn shares(url: &str) -> BTreeMap<String, usize> {
    holders(url)
        .into_iter()
        .map(|(o, u)| (o, u.len()))
        .collect()
}

/// Every organisation of `expected` (org → items) holds exactly that many rows, each logged
/// `new` once; `redelivered` rows are returned (a commit whose answer was lost in a database
/// restart is written again, as the same row).
fn assert_exactly_once(url: &str, expected: &BTreeMap<u64, i64>) -> i64 {
    for (org, n) in expected {
        assert_eq!(
            count(
                url,
                &format!("SELECT count(*) FROM items WHERE organization_id = {org}")
            ),
            *n,
            "organisation {org}: every item"
        );
        assert_eq!(
            count(
                url,
                &format!(
                    "SELECT count(*) FROM sync_log WHERE organization_id = {org} AND event = 'new'"
                )
            ),
            *n,
            "organisation {org}: each item stored once"
        );
    }
    count(
        url,
        "SELECT count(*) FROM sync_log WHERE event = 'redelivered'",
    )
}

/// Waits (bounded) until `done`, looking every 200 ms (each look starts `psql` or the CLI).
async fn until(what: &str, done: impl FnMut() -> bool) {
    until_every(what, Duration::from_millis(200), done).await
}

fn stored(url: &str) -> i64 {
    count(url, "SELECT count(*) FROM items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_thirty_tenants_exactly_once_through_joins_a_restart_and_sigterm() {
    let pg = safe_test_postgres::Cluster::start();
    let url = pg.create_database("share");
    let sim = simulator(30, 20).await;
    let dir = tempfile::tempdir().unwrap();
    let orgs: Vec<u64> = (1..=30).collect();
    let tenants = tenants_file(&sim, dir.path(), &orgs);
    let mut expected: BTreeMap<u64, i64> = orgs.iter().map(|o| (*o, 20)).collect();

    // The first worker applies the tenants file; the others serve the stored set.
    let w1 = worker(dir.path(), &url, "w1", 3, Some(&tenants));
    until("the tenant set is stored", || {
        count(&url, "SELECT count(*) FROM safe_tracker_tenant_sets") == 1
    })
    .await;
    let w2 = worker(dir.path(), &url, "w2", 3, None);
    let w3 = worker(dir.path(), &url, "w3", 3, None);
    until(
        "three workers hold a third each and every item is stored",
        || {
            stored(&url) == 600
                && shares(&url).values().copied().collect::<Vec<_>>() == [10, 10, 10]
        },
    )
    .await;
    assert_eq!(assert_exactly_once(&url, &expected), 0, "nothing twice");
    assert_eq!(
        psql(
            &url,
            "SELECT applied_by || ' ' || source FROM safe_tracker_tenant_sets"
        ),
        format!("w1 {}", tenants.display()),
        "who applied the set, from where"
    );

    // The database restarts while items arrive: nothing lost, no row twice.
    for org in &orgs {
        sim.add_items(*org, 5);
        *expected.get_mut(org).unwrap() += 5;
    }
    pg.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.start_again();
    until("every item after the restart", || stored(&url) == 750).await;
    let redelivered = assert_exactly_once(&url, &expected);
    eprintln!("redelivered after the restart: {redelivered}");

    // A fourth worker joins and gets its share: at most ceil(30/4) = 8 each, all held (so
    // the newcomer has at least 30 - 3 × 8 = 6).
    let w4 = worker(dir.path(), &url, "w4", 3, None);
    until("four workers share the tenants", || {
        let s = shares(&url);
        s.len() == 4
            && s.values().sum::<usize>() == 30
            && s.values().all(|n| *n <= 8)
            && s.get("w4").is_some_and(|n| *n >= 6)
    })
    .await;
    for org in &orgs {
        sim.add_items(*org, 2);
        *expected.get_mut(org).unwrap() += 2;
    }
    until("every item with four workers", || stored(&url) == 810).await;
    assert_eq!(assert_exactly_once(&url, &expected), redelivered);

    // SIGTERM: exit 0 with every lease given up at once, and the others take them.
    let (code, err1) = terminate(w1);
    assert_eq!(code, Some(0), "{err1}");
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM safe_tracker_leases WHERE owner = 'w1'"
        ),
        0,
        "w1's leases were given up when it stopped"
    );
    until("the others hold every tenant", || {
        let s = shares(&url);
        !s.contains_key("w1") && s.values().sum::<usize>() == 30
    })
    .await;
    for org in &orgs {
        sim.add_items(*org, 1);
        *expected.get_mut(org).unwrap() += 1;
    }
    until("every item after w1 left", || stored(&url) == 840).await;
    assert_eq!(assert_exactly_once(&url, &expected), redelivered);

    // The states: every tenant running, caught up, owned by a live worker.
    let out = Command::new(BIN)
        .args(["fleet", "status", "--json", "--store", &url])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for row in rows.as_array().unwrap() {
        assert_eq!(row["phase"], "running", "{row}");
        assert!(row["lag_seconds"].is_number(), "{row}");
        assert_ne!(row["owner"], "w1", "{row}");
    }
    let mut logs = err1;
    for w in [w2, w3, w4] {
        let (code, err) = terminate(w);
        assert_eq!(code, Some(0), "{err}");
        logs.push_str(&err);
    }
    for org in &orgs {
        assert!(!logs.contains(&token_for(*org)), "a token reached the log");
    }
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM safe_tracker_leases WHERE owner IS NOT NULL"
        ),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_tenants_move_and_a_frozen_one_sends_nothing_once_taken_over() {
    let pg = safe_test_postgres::Cluster::start();
    let url = pg.create_database("takeover");
    let sim = simulator(30, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let orgs: Vec<u64> = (1..=30).collect();
    let tenants = tenants_file(&sim, dir.path(), &orgs);
    let mut expected: BTreeMap<u64, i64> = orgs.iter().map(|o| (*o, 10)).collect();
    let ttl = 6;
    let w1 = worker_with(
        dir.path(),
        &url,
        "w1",
        ttl,
        Some(&tenants),
        &["--metrics", "127.0.0.1:0"],
    );
    let metrics = metrics_address(&w1).await;
    until("the tenant set is stored", || {
        count(&url, "SELECT count(*) FROM safe_tracker_tenant_sets") == 1
    })
    .await;
    let mut w2 = worker(dir.path(), &url, "w2", ttl, None);
    let w3 = worker(dir.path(), &url, "w3", ttl, None);
    until("a third each and every item", || {
        stored(&url) == 300 && shares(&url).values().copied().collect::<Vec<_>>() == [10, 10, 10]
    })
    .await;

    // SIGKILL w2: its tenants resume elsewhere once its leases run out (TTL), at the next
    // round of the others (TTL/3), at their next sweep (1 s).
    let of_w2: Vec<u64> = holders(&url)["w2"]
        .iter()
        .map(|u| u.trim_start_matches("agency-").parse().unwrap())
        .collect();
    signal(&w2, "KILL");
    let _ = w2.child.wait();
    let killed = Instant::now();
    for org in &of_w2 {
        sim.add_items(*org, 3);
        *expected.get_mut(org).unwrap() += 3;
    }
    until("w2's new items are stored by the others", || {
        stored(&url) == 330
    })
    .await;
    let moved = killed.elapsed();
    eprintln!("SIGKILL to every new item of w2's tenants stored elsewhere: {moved:?}");
    assert!(
        moved < Duration::from_secs(3 * u64::from(ttl)),
        "the tenants moved only after {moved:?} (TTL {ttl} s)"
    );
    let s = shares(&url);
    assert_eq!(s.values().sum::<usize>(), 30, "{s:?}");
    assert!(!s.contains_key("w2"), "{s:?}");
    assert!(
        count(&url, "SELECT sum(takeovers) FROM safe_tracker_leases") >= of_w2.len() as i64,
        "w2's tenants were taken over"
    );
    assert_eq!(assert_exactly_once(&url, &expected), 0);
    // w1's metrics: the leases it holds, the tenants it took over, its refused writes.
    let (status, body) = http_get(&metrics, "/metrics");
    assert_eq!(status, 200);
    let m = parse_metrics(&body);
    assert_eq!(
        m["safe_tracker_leases_held{}"],
        holders(&url)["w1"].len() as f64,
        "{body}"
    );
    assert!(m["safe_tracker_lease_takeovers_total{}"] >= 1.0, "{body}");
    assert_eq!(m["safe_tracker_fenced_writes_total{}"], 0.0, "{body}");

    // SIGSTOP w3 past its TTL: w1 takes its tenants over.
    let of_w3 = holders(&url)["w3"].clone();
    signal(&w3, "STOP");
    until("w1 holds every tenant", || {
        shares(&url).get("w1") == Some(&30)
    })
    .await;
    // Freeze w1 too, and stop the database, then wake w3: any SAFE request now would be
    // w3's, for tenants it no longer owns, and it cannot ask the database whether it still
    // owns them: its leases' local deadlines, passed while it was frozen, must hold it back.
    signal(&w1, "STOP");
    pg.stop();
    sim.reset_stats();
    signal(&w3, "CONT");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = sim.total_requests();
    pg.start_again();
    signal(&w1, "CONT");
    assert_eq!(
        sent, 0,
        "w3 sent SAFE requests for tenants taken over from it"
    );
    until("w3 says its tenants were taken over", || {
        let err = w3.stderr();
        of_w3
            .iter()
            .all(|u| err.contains(&format!("tenant={u}")) && err.contains("took the tenant over"))
    })
    .await;

    // w3 gets its share back, and every item is stored exactly once.
    until("w1 and w3 share the tenants", || {
        shares(&url).values().copied().collect::<Vec<_>>() == [15, 15]
    })
    .await;
    for org in &orgs {
        sim.add_items(*org, 2);
        *expected.get_mut(org).unwrap() += 2;
    }
    until("every item", || stored(&url) == 390).await;
    assert_eq!(assert_exactly_once(&url, &expected), 0, "nothing twice");
    for w in [w1, w3] {
        let (code, err) = terminate(w);
        assert_eq!(code, Some(0), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_moves_a_sqlite_fleet_to_postgres_without_syncing_again() {
    let pg = safe_test_postgres::Cluster::start();
    let url = pg.create_database("copy");
    let sim = simulator(4, 15).await;
    let dir = tempfile::tempdir().unwrap();
    let orgs: Vec<u64> = (1..=4).collect();
    let tenants = tenants_file(&sim, dir.path(), &orgs);
    let db = dir.path().join("fleet.db");
    let mut args: Vec<OsString> = vec!["--tenants".into(), tenants.clone().into()];
    args.extend(["--db".into(), db.clone().into()]);
    let sqlite = spawn_serve(dir.path(), &args);
    let rows = || {
        rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0)
    };
    until("the SQLite fleet stored every item", || rows() == 60).await;
    // While serve holds the SQLite store, the copy is refused.
    let copy = |extra: &[&str]| {
        Command::new(BIN)
            .env_clear()
            .args(["store", "copy", "--from"])
            .arg(format!("sqlite:{}", db.display()))
            .args([
                "--to",
                &url.replace("postgres@", "postgres:hunter2-secret@"),
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let busy = copy(&[]);
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("another `safe-tracker serve`"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
    let (code, err) = terminate(sqlite);
    assert_eq!(code, Some(0), "{err}");

    let out = copy(&["--json"]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("hunter2-secret"), "{text}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["items"], 60);
    assert_eq!(report["checkpoints"], 4, "{report}");
    assert_eq!(report["fleet_tenants"], 4, "{report}");
    assert_eq!(count(&url, "SELECT count(*) FROM items"), 60);
    assert_eq!(
        count(&url, "SELECT count(*) FROM sync_log WHERE event = 'new'"),
        60
    );
    assert_eq!(
        psql(
            &url,
            "SELECT string_agg(DISTINCT unit, ',' ORDER BY unit) FROM safe_tracker_checkpoints"
        ),
        "agency-1,agency-2,agency-3,agency-4",
        "each checkpoint belongs to its tenant"
    );
    // A second copy would merge two histories: refused, nothing written.
    let again = copy(&[]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(count(&url, "SELECT count(*) FROM items"), 60);

    // A worker on PostgreSQL, through PgBouncer in transaction mode (its group commits,
    // savepoints, lease checks and tenant set with it), resumes every tenant at its copied
    // cursor: nothing again, the new items once.
    let bouncer = safe_test_postgres::Bouncer::start(&pg, 4);
    sim.reset_stats();
    let w = worker(dir.path(), &bouncer.url("copy"), "w1", 3, Some(&tenants));
    for org in &orgs {
        sim.add_items(*org, 2);
    }
    until("the new items on PostgreSQL", || stored(&url) == 68).await;
    let expected: BTreeMap<u64, i64> = orgs.iter().map(|o| (*o, 17)).collect();
    assert_eq!(
        assert_exactly_once(&url, &expected),
        0,
        "nothing delivered again"
    );
    let first_numbers = sim.count_route("/api/items/seqOrgID/{n}");
    assert!(
        first_numbers < 60,
        "the worker read {first_numbers} numbers: it started again from 1"
    );
    let (code, err) = terminate(w);
    assert_eq!(code, Some(0), "{err}");
}
