//! `safe-tracker fleet status --store postgres://…` against a real PostgreSQL server: every
//! unit's owner, epoch, lease and cursor, as JSON and as text, without the URL's password.

use std::process::Command;
use std::time::Duration;

use safe_test_postgres::Cluster;
use safe_tracker::poller::{CheckpointStore, PollerState};
use safe_tracker::postgres::{LeaseOptions, PgOptions, PostgresCheckpoint};

const BIN: &str = env!("CARGO_BIN_EXE_safe-tracker");

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
