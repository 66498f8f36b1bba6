//! Load against the simulator: 1,000 concurrent calls through one client, pacing holding per
//! client under concurrency, and 200 pollers for different organisations in one process.

mod common;

use std::sync::Arc;

use safe_simulator::{Seed, SimConfig, Simulator};
use safe_tracker::poller::{ItemRecord, MemoryCheckpoint, Poller, PollerOptions};
use safe_tracker::{Client, Pacing};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_through_one_client() {
    let sim = common::simulator(50).await;
    let client = common::client(&sim, 1);
    let tasks: Vec<_> = (0..1000u64)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move { c.item_by_seq(1 + i % 50).await })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let item = t.await.unwrap().unwrap().unwrap();
        assert_eq!(item.sequential_org_id, Some(1 + i as i64 % 50));
    }
    assert_eq!(client.requests_sent(), 1000);
    assert_eq!(sim.total_requests(), 1000);

    // Pacing holds per client however many calls wait: 300 calls at 100/s.
    sim.reset_stats();
    let paced = Client::new(
        common::builder(&sim, 2)
            .pacing(Pacing::per_second(100.0))
            .build()
            .unwrap(),
    )
    .unwrap();
    let tasks: Vec<_> = (0..300u64)
        .map(|i| {
            let c = paced.clone();
            tokio::spawn(async move { c.item_by_seq(1 + i % 50).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let peak = sim.max_in_window(1000);
    assert!(peak <= 101, "{peak} requests in one second at 100/s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_pollers_in_one_process() {
    let sim = Simulator::start(SimConfig {
        seed: Seed {
            seed: 9,
            orgs: 200,
            items: 5,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let before = rss_kib();
    let tasks: Vec<_> = (1..=200u64)
        .map(|org| {
            let client = common::client(&sim, org);
            tokio::spawn(async move {
                let poller = Poller::open(
                    client,
                    Arc::new(MemoryCheckpoint::new()),
                    PollerOptions::default(),
                )
                .unwrap();
                let mut seqs = Vec::new();
                let mut stream = poller.sweep_stream().await.unwrap();
                while let Some(r) = stream.next().await.unwrap() {
                    let r: ItemRecord = r;
                    assert_eq!(r.organization_id, org);
                    seqs.push(r.sequential_org_id);
                }
                seqs
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), vec![1, 2, 3, 4, 5]);
    }
    assert_eq!(sim.total_requests(), 200 * 6);
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 256,
        "RSS grew by {grown_mib} MiB for 200 pollers"
    );
}
