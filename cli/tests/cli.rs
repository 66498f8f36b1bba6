//! The built `safe-tracker` binary against the simulator: sync into SQLite (with SIGKILLs in
//! the middle), JSON lines, reads, `check` against each failure, status/plan without requests.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use safe_simulator::{Seed, SimConfig, Simulator};

const BIN: &str = env!("CARGO_BIN_EXE_safe-tracker");

async fn simulator(items: u64) -> Simulator {
    Simulator::start(SimConfig {
        seed: Seed {
            seed: 5,
            orgs: 2,
            items,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn command(sim: &Simulator, dir: &Path, token: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SAFE_BASE_URL", sim.base_url())
        .env("SAFE_TOKEN", token)
        .env("SAFE_ORGANIZATION_ID", "1")
        .env("SAFE_OFFICE_ID", "101")
        .env("SAFE_REQUESTS_PER_SECOND", "0");
    c
}

async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn rows(db: &Path) -> (i64, i64) {
    let conn = rusqlite_open(db);
    conn.query_row(
        "SELECT count(*), count(DISTINCT sequential_org_id) FROM items",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or((0, 0))
}

fn rusqlite_open(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

/// Kill points: a few in `make test`, 20 over a 3,000-item sweep in `make soak` (SAFE_SOAK=1).
fn kill_plan(items: i64) -> Vec<i64> {
    let kills = if std::env::var("SAFE_SOAK").is_ok() {
        20
    } else {
        4
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as i64;
    let step = items * 8 / 10 / kills;
    (1..=kills)
        .map(|k| k * step - (seed + k * 7919) % (step / 2).max(1))
        .collect()
}

fn soak_items() -> i64 {
    if std::env::var("SAFE_SOAK").is_ok() {
        3000
    } else {
        1500
    }
}

/// 5% of item requests answer 503 at first: the client retries them.
fn flaky(sim: &Simulator) {
    sim.add_fault(
        serde_json::from_value(serde_json::json!({"kind": "status", "status": 503, "rate": 0.05, "path_contains": "seqOrgID"})).unwrap(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_survives_sigkill_with_every_item_exactly_once() {
    let n = soak_items();
    let sim = simulator(n as u64).await;
    flaky(&sim);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("safe-tracker.db");
    for target in kill_plan(n) {
        let mut c = command(
            &sim,
            dir.path(),
            "sim-token-org1",
            &[
                "sync",
                "--expand",
                "case",
                "--unsafe-min-interval",
                "0",
                "--quiet",
            ],
        );
        c.env("SAFE_REQUESTS_PER_SECOND", "600")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while db.exists() && rows(&db).0 < target && Instant::now() < deadline
            || !db.exists() && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let (count, distinct) = rows(&db);
        assert_eq!(count, distinct, "no duplicate after a kill");
        assert!(count < n, "killed before the end ({count})");
    }
    let out = run(command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &["sync", "--expand", "case", "--unsafe-min-interval", "0"],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("synced"),
        "summary printed: {}",
        text(&out.stderr)
    );
    assert_eq!(rows(&db), (n, n), "every item exactly once");
    let conn = rusqlite_open(&db);
    let with_case: i64 = conn
        .query_row(
            "SELECT count(*) FROM items WHERE case_json IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(with_case, n);
    let (min, max): (i64, i64) = conn
        .query_row(
            "SELECT min(sequential_org_id), max(sequential_org_id) FROM items",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((min, max), (1, n));
    let logged: i64 = conn
        .query_row(
            "SELECT count(DISTINCT key) FROM sync_log WHERE stream = 'items'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, n);

    sim.clear_faults();
    // New items arrive: the next sync starts from the blank number.
    sim.add_items(1, 10);
    let out = run(command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &["sync", "--unsafe-min-interval", "0", "--quiet"],
    ))
    .await;
    assert!(out.status.success());
    assert_eq!(rows(&db), (n + 10, n + 10));

    // status and plan read the checkpoint without any request.
    sim.reset_stats();
    let out = run(command(&sim, dir.path(), "", &["status"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["cursor"], n + 11);
    let out = run(command(&sim, dir.path(), "", &["plan"])).await;
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["start_seq"], n + 11);
    assert_eq!(sim.total_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_updated_items_too() {
    let sim = simulator(20).await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &["sync", "--updated", "--quiet"],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    sim.app().world.lock().unwrap().touch_item(1, 4);
    let out = run(command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &["sync", "--updated", "--quiet", "--unsafe-min-interval", "0"],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let conn = rusqlite_open(&dir.path().join("safe-tracker.db"));
    let n: i64 = conn
        .query_row("SELECT count(*) FROM updated_items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_to_stdout_and_token_hygiene() {
    let sim = simulator(25).await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = command(
        &sim,
        dir.path(),
        "",
        &["--token", "sim-token-org1", "sync", "--jsonl", "-"],
    );
    c.env_remove("SAFE_TOKEN");
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 25);
    assert_eq!(lines[24]["sequential_org_id"], 25);
    assert!(text(&out.stderr).contains("warning: --token"));
    assert!(!text(&out.stdout).contains("sim-token-org1"));
    assert!(!text(&out.stderr).contains("sim-token-org1"));
    assert!(dir.path().join("safe-tracker.checkpoint.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_explains_each_failure() {
    let sim = simulator(3).await;
    let dir = tempfile::tempdir().unwrap();
    let ok = run(command(&sim, dir.path(), "sim-token-org1", &["check"])).await;
    assert_eq!(ok.status.code(), Some(0));
    assert!(text(&ok.stdout).starts_with("OK"));
    for (token, office, needle) in [
        ("bad-token-value", "101", "Generate a static token"),
        ("sim-token-org1-nolicence", "101", "License Allocation"),
        ("sim-token-org1-disabled", "101", "disabled"),
        ("sim-token-org1", "201", "office"),
    ] {
        let mut c = command(&sim, dir.path(), token, &["check"]);
        c.env("SAFE_OFFICE_ID", office);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(3), "{token}");
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{token}: {err}");
        assert!(
            !err.contains(token) || token == "sim-token-org1",
            "token echoed: {err}"
        );
    }
    let mut c = command(&sim, dir.path(), "sim-token-org1", &["check"]);
    c.env_remove("SAFE_ORGANIZATION_ID");
    assert_eq!(run(c).await.status.code(), Some(2), "configuration error");
    let mut c = command(&sim, dir.path(), "sim-token-org1", &["check"]);
    c.env("SAFE_BASE_URL", "http://127.0.0.1:1/api/");
    assert_eq!(run(c).await.status.code(), Some(4), "transient failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_print_json_and_tables() {
    let sim = simulator(3).await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &["item", "2", "--json"],
    ))
    .await;
    let item: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(item["sequentialOrgId"], 2);
    let (id, case_id) = (item["id"].to_string(), item["primaryCaseId"].to_string());
    for args in [
        vec!["case", case_id.as_str(), "--json"],
        vec!["custody", id.as_str(), "--json"],
        vec!["people", case_id.as_str(), "--json"],
    ] {
        let out = run(command(&sim, dir.path(), "sim-token-org1", &args)).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
    }
    let out = run(command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &["lookups", "races"],
    ))
    .await;
    let table = text(&out.stdout);
    assert!(table.starts_with("id") && table.contains("Middle Eastern"));
    let out = run(command(&sim, dir.path(), "sim-token-org1", &["item", "99"])).await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toml_config_token_file_and_watch_interrupted() {
    let sim = simulator(15).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "sim-token-org1\n").unwrap();
    std::fs::write(
        dir.path().join("safe.toml"),
        format!(
            "base_url = \"{}\"\norganization_id = 1\noffice_id = 101\ntoken_file = \"{}\"\nrequests_per_second = 0\n",
            sim.base_url(),
            dir.path().join("token").display()
        ),
    )
    .unwrap();
    let mut c = Command::new(BIN);
    c.current_dir(dir.path())
        .env_clear()
        .args([
            "--config",
            "safe.toml",
            "sync",
            "--watch",
            "--interval",
            "60",
            "--unsafe-min-interval",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let db = dir.path().join("safe-tracker.db");
    let deadline = Instant::now() + Duration::from_secs(30);
    while (!db.exists() || rows(&db).0 < 15) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        rows(&db),
        (15, 15),
        "synced through the TOML settings and the token file"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "interrupted: {}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("sim-token-org1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_with_file_checkpoint_is_at_least_once_without_gaps_after_sigkills() {
    let n = soak_items();
    let sim = simulator(n as u64).await;
    flaky(&sim);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("items.jsonl");
    let seqs = |p: &Path| -> Vec<i64> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["sequential_org_id"].as_i64())
            .collect()
    };
    let mut kills = 0usize;
    for target in kill_plan(n) {
        let mut c = command(
            &sim,
            dir.path(),
            "sim-token-org1",
            &[
                "sync",
                "--jsonl",
                "items.jsonl",
                "--unsafe-min-interval",
                "0",
                "--quiet",
            ],
        );
        c.env("SAFE_REQUESTS_PER_SECOND", "600")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while (seqs(&out).len() as i64) < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
    }
    let done = run(command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &[
            "sync",
            "--jsonl",
            "items.jsonl",
            "--unsafe-min-interval",
            "0",
            "--quiet",
        ],
    ))
    .await;
    assert!(done.status.success(), "{}", text(&done.stderr));
    let all = seqs(&out);
    let distinct: std::collections::BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(distinct.len() as i64, n, "no gap");
    assert_eq!(distinct.iter().next_back().copied(), Some(n));
    assert!(
        all.len() - distinct.len() <= kills,
        "at most one duplicate per kill"
    );
}
