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
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        items.as_array().map(Vec::len),
        Some(1),
        "`item --json` prints an array, here of one item: {items}"
    );
    let item = &items[0];
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
    // The error names the request (issue 15: it printed `not found (HTTP 404) on  `).
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    assert_eq!(
        line, "error: not found (HTTP 404) on GET items/seqOrgID/{n}",
        "{err}"
    );
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

// ---- Issue 13: numbers that repeat, move and break ----------------------------------------

/// Runs `safe-tracker sync` (floor lowered, as every sync test does) with `extra` flags.
async fn sync_with(sim: &Simulator, dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sync", "--unsafe-min-interval", "0"];
    args.extend_from_slice(extra);
    run(command(sim, dir, "sim-token-org1", &args)).await
}

/// One integer from the database.
fn scalar(db: &Path, sql: &str) -> i64 {
    rusqlite_open(db).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// One text (or NULL) from the database.
fn text_at(db: &Path, sql: &str) -> Option<String> {
    rusqlite_open(db).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The ids of the items holding number `seq` in the simulator (ascending).
fn sim_ids(sim: &Simulator, seq: u64) -> Vec<i64> {
    sim.app().world.lock().unwrap().orgs[&1].ids_at(seq)
}

fn status_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status is JSON ({e}): {}", text(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_with_two_items_delivers_both_keyed_by_item_id() {
    let sim = simulator(20).await;
    let second = sim
        .app()
        .world
        .lock()
        .unwrap()
        .duplicate_item(1, 7, true)
        .unwrap();
    let ids = sim_ids(&sim, 7);
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&second));
    let dir = tempfile::tempdir().unwrap();

    // `item 7` prints both: a JSON array in ascending id order, or a table of two rows.
    let out = run(command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &["item", "7", "--json"],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let printed_ids: Vec<i64> = printed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(printed_ids, ids);
    let out = run(command(&sim, dir.path(), "sim-token-org1", &["item", "7"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert_eq!(table.lines().count(), 3, "header and one row each: {table}");
    assert!(table.lines().next().unwrap().starts_with("id"));
    for id in &ids {
        assert!(table.contains(&id.to_string()), "{table}");
    }
    assert!(text(&out.stderr).contains("held by 2 items"));

    // Sync: both items of number 7, one row each keyed by item id, and the sweep reaches the
    // blank number.
    let out = sync_with(&sim, dir.path(), &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("1 numbers held by several items"),
        "{}",
        text(&out.stderr)
    );
    let db = dir.path().join("safe-tracker.db");
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 21);
    assert_eq!(scalar(&db, "SELECT count(DISTINCT item_id) FROM items"), 21);
    let conn = rusqlite_open(&db);
    let mut st = conn
        .prepare("SELECT item_id FROM items WHERE sequential_org_id = 7 ORDER BY item_id")
        .unwrap();
    let stored: Vec<i64> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(stored, ids);
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM sync_log WHERE event = 'new'"),
        21
    );
    let out = run(command(&sim, dir.path(), "", &["status"])).await;
    let status = status_json(&out);
    assert_eq!(status["cursor"], 21, "past the end: {status}");
    assert_eq!(status["duplicate_numbers"], 1);
    assert_eq!(status["partial"], serde_json::Value::Null);
    assert_eq!(status["store"]["items"], 21);
    assert_eq!(status["store"]["numbers"], 20);

    // Nothing is delivered twice by the next sync.
    let out = sync_with(&sim, dir.path(), &["--quiet"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 21);
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_log"), 21);

    // JSON lines carry each record's key: both items of number 7, each with its own.
    let jdir = tempfile::tempdir().unwrap();
    let out = sync_with(&sim, jdir.path(), &["--jsonl", "-", "--quiet"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 21);
    let at7: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["sequential_org_id"] == 7)
        .collect();
    assert_eq!(at7.len(), 2);
    for (line, id) in at7.iter().zip(&ids) {
        assert_eq!(
            line["key"],
            serde_json::json!({"organization_id": 1, "item_id": id}),
            "{line}"
        );
        assert_eq!(line["item"]["id"], *id);
    }
    for line in &lines {
        assert_eq!(line["key"]["item_id"], line["item"]["id"], "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_the_two_items_of_one_number_redelivers_only_the_second() {
    let sim = simulator(12).await;
    let second = sim
        .app()
        .world
        .lock()
        .unwrap()
        .duplicate_item(1, 6, true)
        .unwrap();
    let ids = sim_ids(&sim, 6);
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1], second, "the new item has the higher id");
    let first = ids[0];
    // The second item's form data hangs: the sync stops between the two items of number 6.
    sim.add_fault(
        serde_json::from_value(serde_json::json!({
            "kind": "slow_headers", "latency_ms": 600000,
            "path_contains": format!("formdata/{second}")
        }))
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("safe-tracker.db");
    let mut c = command(
        &sim,
        dir.path(),
        "sim-token-org1",
        &[
            "sync",
            "--expand",
            "form_data",
            "--unsafe-min-interval",
            "0",
            "--quiet",
        ],
    );
    c.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let committed = format!("SELECT count(*) FROM sync_log WHERE key = '{first}'");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(db.exists()
        && rusqlite_open(&db)
            .query_row(&committed, [], |r| r.get::<_, i64>(0))
            .unwrap_or(0)
            > 0)
    {
        assert!(
            Instant::now() < deadline,
            "the first item of 6 was committed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The checkpoint records number 6 as partly delivered.
    let state: serde_json::Value = serde_json::from_str(
        &text_at(
            &db,
            "SELECT state FROM safe_tracker_checkpoints WHERE stream_key LIKE '%|items'",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(state["cursor"], 6, "{state}");
    assert_eq!(state["partial"]["seq"], 6, "{state}");
    assert_eq!(state["partial"]["done"], serde_json::json!([first]));
    // While that sync runs, `skip` is refused: the store is locked (exit 6).
    let out = run(command(
        &sim,
        dir.path(),
        "",
        &["skip", "6", "--reason", "test"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("lock"),
        "says why: {}",
        text(&out.stderr)
    );
    child.kill().unwrap(); // SIGKILL, between the two items of number 6
    child.wait().unwrap();
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM items WHERE sequential_org_id = 6"
        ),
        1
    );

    sim.clear_faults();
    let out = sync_with(&sim, dir.path(), &["--expand", "form_data"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 13);
    assert_eq!(scalar(&db, "SELECT count(DISTINCT item_id) FROM items"), 13);
    for id in [first, second] {
        assert_eq!(
            scalar(
                &db,
                &format!(
                    "SELECT count(*) FROM items WHERE item_id = {id} AND sequential_org_id = 6 AND form_data_json IS NOT NULL"
                )
            ),
            1,
            "item {id} stored once, with its form data"
        );
        assert_eq!(
            scalar(
                &db,
                &format!("SELECT count(*) FROM sync_log WHERE key = '{id}'")
            ),
            1,
            "item {id} written once (the first was not redelivered)"
        );
        assert_eq!(
            scalar(
                &db,
                &format!("SELECT count(*) FROM sync_log WHERE key = '{id}' AND event = 'new'")
            ),
            1
        );
    }
    let status = status_json(&run(command(&sim, dir.path(), "", &["status"])).await);
    assert_eq!(status["cursor"], 13);
    assert_eq!(status["partial"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renumbered_item_keeps_one_row_forward_by_the_sweep_and_below_the_cursor_by_updated() {
    let sim = simulator(10).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("safe-tracker.db");
    let out = sync_with(&sim, dir.path(), &["--updated", "--quiet"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 10);

    // Forward, past the end: the next sweep delivers it under 11; its row moves.
    let moved = sim_ids(&sim, 3)[0];
    let from = sim
        .app()
        .world
        .lock()
        .unwrap()
        .renumber_item(1, moved, 11)
        .unwrap();
    assert_eq!(from, 3);
    let out = sync_with(&sim, dir.path(), &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("1 renumbered"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM items"),
        10,
        "no second copy"
    );
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT sequential_org_id FROM items WHERE item_id = {moved}")
        ),
        11
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM items WHERE sequential_org_id = 3"
        ),
        0
    );
    assert_eq!(
        text_at(
            &db,
            &format!("SELECT note FROM sync_log WHERE key = '{moved}' AND event = 'renumbered'")
        )
        .as_deref(),
        Some("old 3 -> new 11")
    );

    // Below the cursor (into the gap left at 3): the sweep cannot see it ...
    let below = sim_ids(&sim, 8)[0];
    sim.app()
        .world
        .lock()
        .unwrap()
        .renumber_item(1, below, 3)
        .unwrap();
    let out = sync_with(&sim, dir.path(), &["--quiet"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let seq_of_below = format!("SELECT sequential_org_id FROM items WHERE item_id = {below}");
    assert_eq!(scalar(&db, &seq_of_below), 8, "invisible to the sweep");
    // ... the updated-items stream lands it in the same row, under its new number.
    let out = sync_with(&sim, dir.path(), &["--updated", "--quiet"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 10);
    assert_eq!(scalar(&db, &seq_of_below), 3);
    assert_eq!(
        text_at(
            &db,
            &format!(
                "SELECT note FROM sync_log WHERE key = '{below}' AND event = 'renumbered' AND stream = 'updated'"
            )
        )
        .as_deref(),
        Some("old 8 -> new 3")
    );
    let item_json = text_at(
        &db,
        &format!("SELECT item_json FROM items WHERE item_id = {below}"),
    )
    .unwrap();
    let item: serde_json::Value = serde_json::from_str(&item_json).unwrap();
    assert_eq!(item["sequentialOrgId"], 3, "the row holds the changed item");
    // Both moves are also in updated_items; the first item moved is not renumbered twice.
    assert_eq!(
        scalar(
            &db,
            &format!(
                "SELECT count(*) FROM sync_log WHERE key = '{moved}' AND event = 'renumbered'"
            )
        ),
        1
    );
    assert!(scalar(&db, "SELECT count(*) FROM updated_items") >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_form_is_stored_with_its_raw_text_and_a_warning() {
    let sim = simulator(6).await;
    let id = sim_ids(&sim, 4)[0];
    // Invalid JSON, with spacing and non-ASCII text that a re-encoding would change.
    let raw = "{\"field2849\": \"caf\u{e9} \u{2014} 10\u{a0}g\",\n  \"field2850\": ";
    sim.app()
        .world
        .lock()
        .unwrap()
        .corrupt_form(1, id, raw)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("safe-tracker.db");
    let out = sync_with(&sim, dir.path(), &["--expand", "form_data"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("warning: item {id} (number 4)")) && err.contains("not valid JSON"),
        "the warning is shown: {err}"
    );
    assert!(err.contains("1 records with warnings"), "{err}");
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 6);
    let forms: serde_json::Value = serde_json::from_str(
        &text_at(
            &db,
            &format!("SELECT form_data_json FROM items WHERE item_id = {id}"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        forms[0]["data"].as_str(),
        Some(raw),
        "byte for byte: {forms}"
    );
    let warnings: Vec<String> = serde_json::from_str(
        &text_at(
            &db,
            &format!("SELECT warnings_json FROM items WHERE item_id = {id}"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("not valid JSON")),
        "{warnings:?}"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM items WHERE warnings_json IS NOT NULL"
        ),
        1
    );
    let logged = text_at(
        &db,
        &format!("SELECT note FROM sync_log WHERE key = '{id}' AND event = 'warning'"),
    )
    .unwrap();
    assert!(logged.contains("raw `data` text is kept"), "{logged}");
    // The item's own formData (when it carries one) keeps the raw text too.
    let item: serde_json::Value = serde_json::from_str(
        &text_at(
            &db,
            &format!("SELECT item_json FROM items WHERE item_id = {id}"),
        )
        .unwrap(),
    )
    .unwrap();
    if let Some(first) = item["formData"].as_array().and_then(|a| a.first()) {
        assert_eq!(first["data"].as_str(), Some(raw));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_steps_over_an_undecodable_item_and_is_recorded() {
    let sim = simulator(12).await;
    sim.add_fault(
        serde_json::from_value(serde_json::json!({
            "kind": "status", "status": 200, "body": "{\"id\":\"not-a-number\"}",
            "path_contains": "seqOrgID/7"
        }))
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("safe-tracker.db");
    let out = sync_with(&sim, dir.path(), &[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("stuck at number 7") && err.contains("safe-tracker skip 7"),
        "{err}"
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 6);
    // A second sweep fails there again.
    let out = sync_with(&sim, dir.path(), &["--quiet"]).await;
    assert_eq!(out.status.code(), Some(4));

    let out = run(command(&sim, dir.path(), "", &["status"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status = status_json(&out);
    assert_eq!(status["stuck"]["seq"], 7, "{status}");
    assert_eq!(status["stuck"]["name"], "Decode");
    assert_eq!(status["stuck"]["sweeps"], 2);
    assert!(
        status["stuck"]["message"]
            .as_str()
            .unwrap()
            .contains("does not match the model")
    );
    assert!(text(&out.stderr).contains("stuck at number 7"));

    // Refused: not the cursor, a hole or the stuck number (usage error), or no reason.
    for (args, needle) in [
        (vec!["skip", "3", "--reason", "x"], "neither the cursor"),
        (vec!["skip", "9", "--reason", "x"], "neither the cursor"),
        (vec!["skip", "7", "--reason", "  "], "reason"),
    ] {
        let out = run(command(&sim, dir.path(), "", &args)).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains(needle), "{}", text(&out.stderr));
    }
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM sync_log WHERE event = 'skipped'"),
        0,
        "a refused skip writes nothing"
    );

    let out = run(command(
        &sim,
        dir.path(),
        "",
        &[
            "skip",
            "7",
            "--reason",
            "item 7 cannot be decoded (ticket 42)",
        ],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("skipped number 7") && said.contains("cursor 7 -> 8"),
        "{said}"
    );
    let note = text_at(
        &db,
        "SELECT note FROM sync_log WHERE event = 'skipped' AND key = 'seq:7' AND sequential_org_id = 7",
    )
    .unwrap();
    assert!(
        note.contains("ticket 42") && note.contains("Decode"),
        "{note}"
    );
    let status = status_json(&run(command(&sim, dir.path(), "", &["status"])).await);
    assert_eq!(status["cursor"], 8);
    assert_eq!(status["stuck"], serde_json::Value::Null);
    assert_eq!(status["skipped"][0]["seq"], 7);
    assert_eq!(
        status["skipped"][0]["reason"],
        "item 7 cannot be decoded (ticket 42)"
    );
    assert!(status["skipped"][0]["error"].is_string());
    assert_eq!(status["store"]["skipped"], 1);
    // 7 is behind the cursor now: skipping it again is refused.
    let out = run(command(
        &sim,
        dir.path(),
        "",
        &["skip", "7", "--reason", "x"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2));

    // The next sync goes on to the blank number (the fault is still there: 7 is not asked).
    let out = sync_with(&sim, dir.path(), &["--quiet"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 11);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM items WHERE sequential_org_id = 7"
        ),
        0
    );
    let status = status_json(&run(command(&sim, dir.path(), "", &["status"])).await);
    assert_eq!(status["cursor"], 13);
}

/// The schema the releases before schema versioning created (cli/src/store.rs then), frozen.
const OLD_SCHEMA: &str = "
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE IF NOT EXISTS items (
    organization_id INTEGER NOT NULL,
    sequential_org_id INTEGER NOT NULL,
    item_id INTEGER,
    description TEXT,
    primary_case_id INTEGER,
    primary_case_number TEXT,
    item_json TEXT NOT NULL,
    form_data_json TEXT,
    case_json TEXT,
    people_json TEXT,
    custody_json TEXT,
    late INTEGER NOT NULL DEFAULT 0,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, sequential_org_id)
);
CREATE TABLE IF NOT EXISTS updated_items (
    organization_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    updated TEXT NOT NULL,
    item_json TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, item_id, updated)
);
CREATE TABLE IF NOT EXISTS sync_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    stream TEXT NOT NULL,
    organization_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    note TEXT
);
CREATE TABLE IF NOT EXISTS safe_tracker_checkpoints (
    stream_key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_database_is_migrated_in_place() {
    let sim = simulator(10).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("safe-tracker.db");
    let docs: Vec<serde_json::Value> = {
        let w = sim.app().world.lock().unwrap();
        (1..=6)
            .map(|s| w.orgs[&1].items_at(s)[0].doc.clone())
            .collect()
    };
    let renumbered = docs[1]["id"].as_i64().unwrap();
    {
        // What the previous release left: numbers 1..=6 stored, cursor 7 (a version-1
        // checkpoint). Under its keying by number the item of number 2, renumbered to 6 later,
        // was stored twice (its row at 6 is the newer).
        let conn = rusqlite_open(&db);
        conn.execute_batch(OLD_SCHEMA).unwrap();
        for seq in 1..=6i64 {
            let mut doc = docs[seq as usize - 1].clone();
            let mut at = format!("2024-05-01T10:00:0{seq}.000Z");
            if seq == 6 {
                doc = docs[1].clone();
                doc["sequentialOrgId"] = serde_json::json!(6);
                at = "2024-05-02T09:00:00.000Z".into();
            }
            conn.execute(
                "INSERT INTO items (organization_id, sequential_org_id, item_id, description,
                    primary_case_id, primary_case_number, item_json, late, synced_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
                rusqlite::params![
                    seq,
                    doc["id"].as_i64(),
                    doc["description"].as_str(),
                    doc["primaryCaseId"].as_i64(),
                    doc["primaryCaseNumber"].as_str(),
                    doc.to_string(),
                    at
                ],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO sync_log (at, stream, organization_id, key, note)
                 VALUES (?1, 'items', 1, ?2, 'new')",
                rusqlite::params![at, seq.to_string()],
            )
            .unwrap();
        }
        let state = serde_json::json!({
            "version": 1, "stream": "items", "cursor": 7, "holes": {},
            "last_sweep_started": "2024-05-02T09:00:00Z", "last_sweep": null,
            "requests_spent": 6, "unmoved_sweeps": 0, "stalled_next": null,
            "watermark": null, "recent": []
        });
        conn.execute(
            "INSERT INTO safe_tracker_checkpoints (stream_key, state, saved_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![
                format!("{}|1|101|items", sim.base_url()),
                state.to_string(),
                "2024-05-02T09:00:00.000Z"
            ],
        )
        .unwrap();
    }

    let out = sync_with(&sim, dir.path(), &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cursor 7 -> 11"),
        "resumed from the old checkpoint: {}",
        text(&out.stderr)
    );
    let versions = "SELECT group_concat(version, ',') FROM (SELECT version FROM safe_tracker_schema_version WHERE component = 'cli_sync_store' ORDER BY version)";
    assert_eq!(text_at(&db, versions).as_deref(), Some("1,2,3"));
    // The old rows, with one row for the item stored twice (the newest, under 6), and 7..=10.
    assert_eq!(scalar(&db, "SELECT count(*) FROM items"), 9);
    assert_eq!(scalar(&db, "SELECT count(DISTINCT item_id) FROM items"), 9);
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT sequential_org_id FROM items WHERE item_id = {renumbered}")
        ),
        6
    );
    assert_eq!(
        text_at(
            &db,
            "SELECT synced_at FROM items WHERE sequential_org_id = 1"
        )
        .as_deref(),
        Some("2024-05-01T10:00:01.000Z"),
        "old rows are kept as they were, not delivered again"
    );
    let note = text_at(
        &db,
        &format!("SELECT note FROM sync_log WHERE event = 'renumbered' AND key = '{renumbered}'"),
    )
    .unwrap();
    assert!(note.starts_with("old 2 -> new 6"), "{note}");
    // The old log rows are kept, with their event and number filled in.
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM sync_log WHERE event = 'new' AND at LIKE '2024-%' AND sequential_org_id = CAST(key AS INTEGER)"
        ),
        6
    );
    // The sync went on from 7 with the new keying: the log key is the item id.
    let seventh = sim_ids(&sim, 7)[0];
    assert_eq!(
        scalar(
            &db,
            &format!(
                "SELECT count(*) FROM sync_log WHERE key = '{seventh}' AND event = 'new' AND sequential_org_id = 7"
            )
        ),
        1
    );
    let unique_index = scalar(
        &db,
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'items_by_item_id'",
    );
    assert_eq!(unique_index, 1);

    // Idempotent: opening again migrates nothing, logs nothing.
    let logged = scalar(&db, "SELECT count(*) FROM sync_log");
    let out = sync_with(&sim, dir.path(), &["--quiet"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM safe_tracker_schema_version"),
        3
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_log"), logged);

    // A database from a newer release is refused, untouched (exit 6, storage).
    rusqlite_open(&db)
        .execute(
            "INSERT INTO safe_tracker_schema_version (component, version, name, applied_at)
             VALUES ('cli_sync_store', 4, 'from the future', '2030-01-01T00:00:00.000Z')",
            [],
        )
        .unwrap();
    for args in [vec!["sync", "--unsafe-min-interval", "0"], vec!["status"]] {
        let out = run(command(&sim, dir.path(), "sim-token-org1", &args)).await;
        assert_eq!(out.status.code(), Some(6), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("version 4") && err.contains("newer than this release knows (3)"),
            "{err}"
        );
    }
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_log"), logged);
}
