//! `safe-tracker serve` and `fleet status`, the built binary against a simulator with many
//! organisations: every item of every tenant exactly once (also across a SIGKILL and a
//! restart), SIGTERM exits 0, SIGHUP adds and removes tenants, a revoked licence parks one
//! tenant while the others finish, and no token reaches the output. Waits are bounded only to
//! fail instead of hanging.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{
    BIN, Served, http_get, metrics_address, parse_metrics, signal, simulator, spawn_serve,
    tenants_file, terminate, until,
};
use safe_simulator::{Simulator, office_for, token_for};

fn serve(dir: &Path, tenants: &Path, db: &Path) -> Served {
    serve_with(dir, tenants, db, &[])
}

fn serve_with(dir: &Path, tenants: &Path, db: &Path, extra: &[&str]) -> Served {
    let mut args: Vec<std::ffi::OsString> = vec!["--tenants".into(), tenants.into()];
    args.extend(["--db".into(), db.into()]);
    args.extend(extra.iter().map(|a| a.into()));
    spawn_serve(dir, &args)
}

fn open(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

fn scalar(db: &Path, sql: &str) -> i64 {
    if !db.exists() {
        return 0;
    }
    open(db).query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

fn phase(db: &Path, name: &str) -> Option<String> {
    if !db.exists() {
        return None;
    }
    open(db)
        .query_row(
            "SELECT phase FROM fleet_tenants WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .ok()
}

fn fleet_status(db: &Path) -> serde_json::Value {
    let out = Command::new(BIN)
        .env_clear()
        .args(["fleet", "status", "--json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every organisation holds `items` rows, each logged `new` once, none twice.
fn assert_exactly_once(db: &Path, orgs: &[u64], items: i64) {
    for org in orgs {
        let rows = scalar(
            db,
            &format!("SELECT count(*) FROM items WHERE organization_id = {org}"),
        );
        assert_eq!(rows, items, "organisation {org}: every item");
        let new = scalar(
            db,
            &format!(
                "SELECT count(*) FROM sync_log WHERE organization_id = {org} AND event = 'new'"
            ),
        );
        assert_eq!(new, items, "organisation {org}: each stored once");
    }
    assert_eq!(
        scalar(
            db,
            "SELECT count(*) FROM sync_log WHERE event = 'redelivered'"
        ),
        0,
        "nothing stored twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_tenants_sync_every_item_once_and_sigterm_exits_zero() {
    let orgs: Vec<u64> = (1..=20).collect();
    let sim = simulator(20, 25).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let tenants = tenants_file(&sim, dir.path(), &orgs);
    let child = serve(dir.path(), &tenants, &db);
    until("all stored", || {
        scalar(&db, "SELECT count(*) FROM items") == 500
    })
    .await;
    until("all caught up", || {
        scalar(&db, "SELECT count(*) FROM fleet_tenants WHERE cursor = 26") == 20
    })
    .await;
    let (code, stderr) = terminate(child);
    assert_eq!(
        code,
        Some(0),
        "a service stopped on purpose exits 0: {stderr}"
    );
    assert!(!stderr.contains("sim-token"), "a token reached the output");
    assert_exactly_once(&db, &orgs, 25);
    let status = fleet_status(&db);
    let rows = status.as_array().unwrap();
    assert_eq!(rows.len(), 20);
    for row in rows {
        assert_eq!(row["phase"], "stopped", "{row}");
        assert_eq!(row["cursor"], 26, "{row}");
        assert!(row["lag_seconds"].is_i64(), "{row}");
        assert!(row["last_error"].is_null(), "{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_and_a_restart_lose_and_duplicate_nothing() {
    let orgs: Vec<u64> = (1..=4).collect();
    let sim = simulator(4, 400).await;
    // Every item request waits 5 ms, so the kill lands well before the end however fast the
    // machine (4 tenants in parallel: about half a second for 300 items, two for all 1,600).
    sim.add_fault(
        serde_json::from_value(serde_json::json!({
            "kind": "slow_headers", "latency_ms": 5, "path_contains": "seqOrgID"
        }))
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let tenants = tenants_file(&sim, dir.path(), &orgs);
    let mut first = serve(dir.path(), &tenants, &db);
    until("some stored", || {
        scalar(&db, "SELECT count(*) FROM items") >= 300
    })
    .await;
    first.child.kill().unwrap(); // SIGKILL, in the middle of the tenants' sweeps
    first.child.wait().unwrap();
    let stored = scalar(&db, "SELECT count(*) FROM items");
    assert!(stored < 1600, "killed before the end ({stored})");
    let child = serve(dir.path(), &tenants, &db);
    until("all stored", || {
        scalar(&db, "SELECT count(*) FROM items") == 1600
    })
    .await;
    until("all caught up", || {
        scalar(&db, "SELECT count(*) FROM fleet_tenants WHERE cursor = 401") == 4
    })
    .await;
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert_exactly_once(&db, &orgs, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_and_removes_tenants_and_a_bad_file_is_refused() {
    let sim = simulator(3, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let tenants = tenants_file(&sim, dir.path(), &[1, 2]);
    let child = serve(dir.path(), &tenants, &db);
    until("two caught up", || {
        scalar(&db, "SELECT count(*) FROM fleet_tenants WHERE cursor = 11") == 2
    })
    .await;
    // An invalid file is refused as a whole: the running tenants go on.
    std::fs::write(&tenants, "[[tenant]]\nname = \"broken\"\n").unwrap();
    signal(&child, "HUP");
    until("the bad file refused", || {
        child.stderr().contains("the tenants file was refused")
    })
    .await;
    tenants_file(&sim, dir.path(), &[2, 3]);
    signal(&child, "HUP");
    until("org 3 stored", || {
        scalar(&db, "SELECT count(*) FROM items WHERE organization_id = 3") == 10
    })
    .await;
    until("agency-1 stopped", || {
        phase(&db, "agency-1").as_deref() == Some("stopped")
    })
    .await;
    assert_eq!(phase(&db, "agency-2").as_deref(), Some("running"));
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("the tenants file was refused"), "{stderr}");
    assert!(stderr.contains("agency-3"), "{stderr}");
    assert_exactly_once(&db, &[1, 2, 3], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_licence_parks_one_tenant_while_the_others_finish() {
    let sim = simulator(3, 12).await;
    sim.revoke_licence(2);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let tenants = tenants_file(&sim, dir.path(), &[1, 2, 3]);
    let child = serve(dir.path(), &tenants, &db);
    until("parked", || {
        phase(&db, "agency-2").as_deref() == Some("parked")
    })
    .await;
    until("the others stored", || {
        scalar(&db, "SELECT count(*) FROM items") == 24
    })
    .await;
    let status = fleet_status(&db);
    let first = &status.as_array().unwrap()[0];
    assert_eq!(
        first["name"], "agency-2",
        "the parked tenant is listed first"
    );
    assert_eq!(first["last_error"]["name"], "LicenseUnavailable", "{first}");
    assert!(
        first["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 403"),
        "{first}"
    );
    assert!(first["next_attempt"].is_string(), "{first}");
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("sim-token"));
    assert_exactly_once(&db, &[1, 3], 12);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM items WHERE organization_id = 2"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_healthz_and_the_status_page() {
    let sim = simulator(3, 9).await;
    sim.revoke_licence(3);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let tenants = tenants_file(&sim, dir.path(), &[1, 2, 3]);
    let served = serve_with(dir.path(), &tenants, &db, &["--metrics", "127.0.0.1:0"]);
    let addr = metrics_address(&served).await;
    until("two stored, one parked", || {
        scalar(&db, "SELECT count(*) FROM items") == 18
            && phase(&db, "agency-3").as_deref() == Some("parked")
            && scalar(&db, "SELECT count(*) FROM fleet_tenants WHERE cursor = 10") == 2
    })
    .await;
    let (code, body) = http_get(&addr, "/healthz");
    assert_eq!((code, body.trim()), (200, "ok"));

    let (code, text) = http_get(&addr, "/metrics");
    assert_eq!(code, 200);
    let m = parse_metrics(&text);
    assert_eq!(
        m[r#"safe_tracker_tenant_items_total{tenant="agency-1"}"#],
        9.0
    );
    assert_eq!(
        m[r#"safe_tracker_tenant_items_total{tenant="agency-3"}"#],
        0.0
    );
    assert_eq!(m[r#"safe_tracker_tenant_cursor{tenant="agency-2"}"#], 10.0);
    assert_eq!(
        m[r#"safe_tracker_tenant_state{tenant="agency-3",state="parked"}"#],
        1.0
    );
    assert_eq!(
        m[r#"safe_tracker_tenant_state{tenant="agency-1",state="parked"}"#],
        0.0
    );
    assert_eq!(m[r#"safe_tracker_tenants{state="parked"}"#], 1.0);
    assert!(
        m[r#"safe_tracker_tenant_errors_total{tenant="agency-3",code="LicenseUnavailable"}"#]
            >= 1.0
    );
    assert!(m[r#"safe_tracker_tenant_requests_total{tenant="agency-1"}"#] >= 10.0);
    assert!(m.contains_key(r#"safe_tracker_tenant_lag_seconds{tenant="agency-2"}"#));
    assert!(m["safe_tracker_store_commit_seconds_count"] >= 1.0);
    assert!(!text.contains("sim-token"));

    // The shipped Grafana dashboard asks only for series this endpoint serves.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/grafana-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let served_names: std::collections::HashSet<&str> =
        m.keys().map(|k| k.split('{').next().unwrap()).collect();
    let mut asked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("safe_tracker_") {
                    asked += 1;
                    assert!(
                        served_names.contains(word),
                        "the dashboard asks for {word}, not served"
                    );
                }
            }
        }
    }
    assert!(asked >= 8, "{asked}");

    let (code, page) = http_get(&addr, "/status");
    assert_eq!(code, 200);
    assert!(!page.contains("sim-token"));
    let chrome = chromium();
    let shot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fleet-status.png");
    let out = Command::new(&chrome)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("http://{addr}/status"))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<&str> = dom.split("<tr class=").skip(1).collect();
    assert_eq!(rows.len(), 3, "{dom}");
    assert!(
        rows[0].contains("agency-3") && rows[0].contains("parked"),
        "parked first: {}",
        rows[0]
    );
    assert!(rows[0].contains("LicenseUnavailable"), "{}", rows[0]);
    for name in ["agency-1", "agency-2"] {
        assert!(
            rows.iter()
                .any(|r| r.contains(name) && r.contains("running")),
            "{name}"
        );
    }
    let out = Command::new(&chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,480",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("http://{addr}/status"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "a screenshot was taken"
    );

    // An invalid reload: healthz says so, the tenants go on.
    std::fs::write(&tenants, "[[tenant]]\nname = \"x\"\n").unwrap();
    signal(&served, "HUP");
    until("healthz 503", || http_get(&addr, "/healthz").0 == 503).await;
    let (code, stderr) = terminate(served);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("sim-token"));
}

/// Debian's chromium (installed by `make test` when missing).
fn chromium() -> String {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return name.to_string();
        }
    }
    panic!("chromium is not installed: `make test` installs it (apt-get install chromium)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_works_on_a_tenant_of_a_fleet_store_and_waits_for_serve_to_stop() {
    let sim = simulator(2, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let tenants = tenants_file(&sim, dir.path(), &[1, 2]);
    let skip = || {
        Command::new(BIN)
            .current_dir(dir.path())
            .env_clear()
            .args([
                "skip",
                "7",
                "--reason",
                "reserved by the vendor",
                "--tenant",
                "agency-1",
            ])
            .arg("--tenants")
            .arg(&tenants)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap()
    };
    let served = serve(dir.path(), &tenants, &db);
    until("caught up", || {
        scalar(&db, "SELECT count(*) FROM fleet_tenants WHERE cursor = 7") == 2
    })
    .await;
    let refused = skip();
    assert_eq!(refused.status.code(), Some(6), "refused while serve runs");
    // So is a `sync` of one of its agencies into the same store (it would poll it twice).
    let sync = Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .env("SAFE_BASE_URL", sim.base_url())
        .env("SAFE_TOKEN", token_for(1))
        .env("SAFE_ORGANIZATION_ID", "1")
        .env("SAFE_OFFICE_ID", office_for(1).to_string())
        .args(["sync", "--quiet", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(
        sync.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("another `safe-tracker serve` runs"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let (code, stderr) = terminate(served);
    assert_eq!(code, Some(0), "{stderr}");
    let done = skip();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM sync_log WHERE event = 'skipped' AND organization_id = 1 \
             AND sequential_org_id = 7"
        ),
        1
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM sync_log WHERE event = 'skipped'"),
        1,
        "only that tenant's"
    );
}

/// Each tenant's first request after `serve` starts, by organisation, from the simulator.
async fn first_sweeps(sim: &Simulator, orgs: &[u64]) -> std::collections::HashMap<u64, u64> {
    let mut firsts = std::collections::HashMap::new();
    until("every tenant swept", || {
        let seen = sim.app().stats.lock().unwrap().first_request_by_token();
        firsts = orgs
            .iter()
            .filter_map(|o| seen.get(&token_for(*o)).map(|t| (*o, *t)))
            .collect();
        firsts.len() == orgs.len()
    })
    .await;
    firsts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sweeps_follow_the_stable_phases_before_and_after_a_restart() {
    // 30 tenants on one 6-second interval. Each first sweep waits its phase (a stable hash of
    // its key over the interval): the simulator's record of each tenant's first request must
    // come in the order of the computed phases. After a restart each tenant keeps its own
    // spacing: its next sweep is due at max(restart + phase, its last start + interval), and the
    // first requests come in the order of those due times. Only pairs more than 400 ms apart
    // are compared, so scheduling noise cannot decide.
    let orgs: Vec<u64> = (1..=30).collect();
    let sim = simulator(30, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let tenants = tenants_file(&sim, dir.path(), &orgs);
    let text = std::fs::read_to_string(&tenants)
        .unwrap()
        .replace("interval = 1\n", "interval = 6\n");
    std::fs::write(&tenants, &text).unwrap();
    let interval = chrono::Duration::seconds(6);
    let specs = safe_tracker::fleet::TenantsFile::load(&tenants, &Default::default()).unwrap();
    let phases: std::collections::HashMap<u64, chrono::Duration> = specs
        .tenants
        .iter()
        .map(|t| {
            let key = safe_tracker::poller::poller_key_of(&t.client, "items");
            let phase = safe_tracker::poller::Schedule::phase_of(&key, Duration::from_secs(6));
            (
                t.organization_id(),
                chrono::Duration::from_std(phase).unwrap(),
            )
        })
        .collect();
    let mut buckets = [0u32; 3];
    for p in phases.values() {
        buckets[(p.num_milliseconds() / 2000) as usize] += 1;
    }
    assert!(
        buckets.iter().all(|n| (4..=18).contains(n)),
        "spread: {buckets:?}"
    );
    // `due` and the recorded first requests, both as wall-clock times.
    let check = |due: &std::collections::HashMap<u64, chrono::DateTime<chrono::Utc>>,
                 firsts: &std::collections::HashMap<u64, chrono::DateTime<chrono::Utc>>,
                 run: &str| {
        let mut pairs = 0;
        for a in &orgs {
            for b in &orgs {
                if due[a] + chrono::Duration::milliseconds(400) < due[b] {
                    pairs += 1;
                    assert!(
                        firsts[a] < firsts[b],
                        "{run}: org {a} (due {}) swept after org {b} (due {})",
                        due[a],
                        due[b]
                    );
                }
            }
        }
        assert!(pairs > 150, "{run}: {pairs}");
    };
    let run = |reset: chrono::DateTime<chrono::Utc>,
               firsts: std::collections::HashMap<u64, u64>| {
        firsts
            .into_iter()
            .map(|(o, us)| (o, reset + chrono::Duration::microseconds(us as i64)))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let last_sweeps = || -> std::collections::HashMap<u64, chrono::DateTime<chrono::Utc>> {
        let conn = open(&db);
        let mut stmt = conn
            .prepare("SELECT organization_id, last_sweep FROM fleet_tenants")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| {
                let (org, at) = r.unwrap();
                let at = chrono::DateTime::parse_from_rfc3339(&at)
                    .unwrap()
                    .with_timezone(&chrono::Utc);
                (org as u64, at)
            })
            .collect()
    };

    sim.reset_stats();
    let reset = chrono::Utc::now();
    let served = serve(dir.path(), &tenants, &db);
    let firsts = run(reset, first_sweeps(&sim, &orgs).await);
    let (code, stderr) = terminate(served);
    assert_eq!(code, Some(0), "{stderr}");
    let due: std::collections::HashMap<_, _> =
        orgs.iter().map(|o| (*o, reset + phases[o])).collect();
    check(&due, &firsts, "first run");

    let last = last_sweeps();
    sim.reset_stats();
    let reset = chrono::Utc::now();
    let served = serve(dir.path(), &tenants, &db);
    let again = run(reset, first_sweeps(&sim, &orgs).await);
    let (code, stderr) = terminate(served);
    assert_eq!(code, Some(0), "{stderr}");
    let due: std::collections::HashMap<_, _> = orgs
        .iter()
        .map(|o| (*o, (reset + phases[o]).max(last[o] + interval)))
        .collect();
    check(&due, &again, "after the restart");
    assert_exactly_once(&db, &orgs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_config_picks_up_a_changed_file_without_a_signal() {
    let sim = simulator(2, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let tenants = tenants_file(&sim, dir.path(), &[1]);
    let served = serve_with(dir.path(), &tenants, &db, &["--watch-config"]);
    until("org 1 stored", || {
        scalar(&db, "SELECT count(*) FROM items") == 4
    })
    .await;
    tenants_file(&sim, dir.path(), &[1, 2]);
    until("org 2 stored", || {
        scalar(&db, "SELECT count(*) FROM items WHERE organization_id = 2") == 4
    })
    .await;
    let (code, stderr) = terminate(served);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("started [\"agency-2\"]"), "{stderr}");
    assert_exactly_once(&db, &[1, 2], 4);
}
