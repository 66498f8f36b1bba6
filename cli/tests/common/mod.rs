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

/// A plain HTTP/1.1 GET on loopback: (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// Checks the OpenMetrics text: every sample belongs to a declared family, values are numbers,
/// and it ends with `# EOF`. Returns the samples by `name{labels}`.
pub fn parse_metrics(text: &str) -> std::collections::HashMap<String, f64> {
    let mut declared = std::collections::HashSet::new();
    let mut samples = std::collections::HashMap::new();
    assert_eq!(text.lines().last(), Some("# EOF"), "{text}");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.insert(rest.split_whitespace().next().unwrap().to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            declared.iter().any(|d| name == d
                || name.strip_prefix(d.as_str()).is_some_and(|s| {
                    ["_total", "_bucket", "_sum", "_count", "_created"].contains(&s)
                })),
            "sample {name} of no declared family"
        );
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        samples.insert(series.to_string(), v);
    }
    samples
}

/// The address `served` serves its metrics on (from its first log lines).
pub async fn metrics_address(served: &Served) -> String {
    let mut addr = String::new();
    until("the metrics address", || {
        let text = served.stderr();
        match text.split("metrics on http://").nth(1) {
            Some(rest) => {
                addr = rest.split('/').next().unwrap().to_string();
                true
            }
            None => false,
        }
    })
    .await;
    addr
}
