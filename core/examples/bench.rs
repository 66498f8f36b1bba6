//! Workloads of `make bench` for the Rust core, against an external simulator. Prints one JSON
//! line: `{"items": n, "seconds": s, ...}`.
//!
//! `bench sweep BASE_URL ITEMS READ_AHEAD [expand]` — sequential poller over ITEMS items, on a
//! current-thread runtime (what a one-at-a-time poller wants: no hand-offs between threads).
//! `bench sweep-mt ...` — the same on tokio's default multi-thread runtime, for comparison.
//! `bench pacing BASE_URL REQUESTS RATE` — paced calls; the simulator's stats give the peak.
//! `bench tenants BASE_URL ORGS` — one poller per organisation, all at once (multi-thread
//! runtime).
//! `bench long BASE_URL ITEMS` — a long sweep, with RSS before the first request, after the
//! first item, at the middle and at the end.

use std::sync::Arc;
use std::time::Instant;

use safe_tracker::poller::{Expand, ItemRecord, MemoryCheckpoint, Poller, PollerOptions};
use safe_tracker::{Client, ClientConfig, Pacing};

fn client(base: &str, org: u64, pacing: Pacing) -> Client {
    Client::new(
        ClientConfig::builder()
            .base_url(base)
            .token(format!("sim-token-org{org}"))
            .organization_id(org)
            .office_id(org * 100 + 1)
            .pacing(pacing)
            .build()
            .expect("config"),
    )
    .expect("client")
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn sweep(
    c: Client,
    read_ahead: u32,
    expand: Expand,
    sample_rss: Option<u64>,
) -> (u64, Vec<u64>) {
    let options = PollerOptions {
        read_ahead,
        expand,
        ..PollerOptions::default()
    };
    let poller = Poller::open(c, Arc::new(MemoryCheckpoint::new()), options).expect("poller");
    let mut stream = poller.sweep_stream().await.expect("sweep");
    let mut n = 0u64;
    let mut rss = vec![rss_kib()];
    while let Some(r) = stream.next().await.expect("record") {
        let _: ItemRecord = r;
        n += 1;
        // Samples: before the first request, once the first item is in (connection and
        // buffers set up: the start of the sweep proper), at the middle, at the end.
        if sample_rss.is_some_and(|half| n == 1 || n == half) {
            rss.push(rss_kib());
        }
    }
    rss.push(rss_kib());
    (n, rss)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_else(|| "sweep".into());
    let runtime = if matches!(mode.as_str(), "sweep-mt" | "tenants") {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    .expect("runtime");
    runtime.block_on(run(&args, mode.as_str()));
}

async fn run(args: &[String], mode: &str) {
    let base = args.get(2).cloned().unwrap_or_default();
    let started = Instant::now();
    match mode {
        "sweep" | "sweep-mt" => {
            let read_ahead: u32 = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(0);
            let expand = if args.get(5).is_some_and(|e| e == "expand") {
                Expand::all()
            } else {
                Expand::default()
            };
            let (n, _) = sweep(
                client(&base, 1, Pacing::unlimited()),
                read_ahead,
                expand,
                None,
            )
            .await;
            println!(
                "{{\"items\": {n}, \"seconds\": {}}}",
                started.elapsed().as_secs_f64()
            );
        }
        "pacing" => {
            let requests: u64 = args[3].parse().expect("requests");
            let rate: f64 = args[4].parse().expect("rate");
            let c = client(&base, 1, Pacing::per_second(rate));
            for i in 0..requests {
                c.item_by_seq(1 + i % 100).await.expect("call");
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{{\"items\": {requests}, \"seconds\": {secs}, \"achieved_rate\": {}}}",
                requests as f64 / secs
            );
        }
        "tenants" => {
            let orgs: u64 = args[3].parse().expect("orgs");
            let tasks: Vec<_> = (1..=orgs)
                .map(|org| {
                    let c = client(&base, org, Pacing::unlimited());
                    tokio::spawn(async move { sweep(c, 0, Expand::default(), None).await.0 })
                })
                .collect();
            let mut n = 0;
            for t in tasks {
                n += t.await.expect("task");
            }
            println!(
                "{{\"items\": {n}, \"seconds\": {}}}",
                started.elapsed().as_secs_f64()
            );
        }
        "long" => {
            let items: u64 = args[3].parse().expect("items");
            let (n, rss) = sweep(
                client(&base, 1, Pacing::unlimited()),
                1,
                Expand::default(),
                Some(items / 2),
            )
            .await;
            println!(
                "{{\"items\": {n}, \"seconds\": {}, \"rss_kib\": [{}]}}",
                started.elapsed().as_secs_f64(),
                rss.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
