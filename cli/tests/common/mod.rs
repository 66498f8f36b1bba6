//! What the CLI's integration tests share: a simulator, a tenants file, a running `serve`
//! with its standard error, signals, and bounded waits.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use safe_simulator::{Seed, SimConfig, Simulator, office_for, token_for};

pub const BIN: &str = env!("CARGO_BIN_EXE_safe-tracker");

/// A simulator with `orgs` organisations of `items` items each.
pub async fn simulator(orgs: u64, items: u64) -> Simulator {
    Simulator::start(SimConfig {
        seed: Seed {
            seed: 13,
            orgs,
            items,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Writes a tenants file for `orgs` (a token file each, relative to the tenants file).
pub fn tenants_file(sim: &Simulator, dir: &Path, orgs: &[u64]) -> PathBuf {
    let mut text = String::from(
        "[defaults]\ninterval = 1\njitter = 0\nunsafe_min_interval = 0\nrequests_per_second = 0\n",
    );
    text.push_str(&format!("base_url = \"{}\"\n", sim.base_url()));
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    for org in orgs {
        std::fs::write(dir.join(format!("tokens/org{org}")), token_for(*org)).unwrap();
        text.push_str(&format!(
            "\n[[tenant]]\nname = \"agency-{org}\"\norganization_id = {org}\noffice_id = {}\n\
             token_file = \"tokens/org{org}\"\n",
            office_for(*org)
        ));
    }
    let path = dir.join("tenants.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `serve` and what it wrote to standard error so far.
pub struct Served {
    pub child: Child,
    pub stderr: Arc<Mutex<String>>,
    pub reader: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Served {
    /// A test that fails leaves no `serve` behind (a terminated one has exited already).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `safe-tracker serve ARGS` in `dir` (a clean environment, logs at info, a high
/// process-wide request cap), its standard error collected.
pub fn spawn_serve(dir: &Path, args: &[OsString]) -> Served {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SAFE_LOG", "info")
        .arg("serve")
        .args(["--max-requests-per-second", "2000"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    Served {
        child,
        stderr,
        reader: Some(reader),
    }
}

pub fn signal(served: &Served, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &served.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// Waits (bounded) until `done`.
pub async fn until(what: &str, done: impl FnMut() -> bool) {
    until_every(what, Duration::from_millis(25), done).await
}

/// [`until`], looking every `period` (a check that starts a process).
pub async fn until_every(what: &str, period: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "never {what}");
        tokio::time::sleep(period).await;
    }
}

/// Stops `served` with SIGTERM and returns its exit code and standard error.
pub fn terminate(mut served: Served) -> (Option<i32>, String) {
    signal(&served, "TERM");
    let status = served.child.wait().unwrap();
    let reader = served.reader.take();
    if let Some(r) = reader {
        r.join().unwrap();
    }
    (status.code(), served.stderr())
}
