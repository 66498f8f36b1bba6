//! Sweeps every seeded item of a bundled simulator with the sequential poller (n, n+1, … until
//! a blank answer, checkpointed in a JSON file), and prints a summary. `make demo` runs it.

use std::time::Instant;

use safe_simulator::{Seed, SimConfig, Simulator, office_for, token_for};
use std::sync::{Arc, Mutex};

use safe_tracker::poller::{FileCheckpoint, ItemRecord, Poller, PollerOptions};
use safe_tracker::{Client, ClientConfig, Pacing};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let items: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let sim = Simulator::start(SimConfig {
        seed: Seed {
            seed: 42,
            orgs: 1,
            items,
        },
        ..SimConfig::default()
    })
    .await?;
    println!("simulator on {} with {items} items", sim.base_url());
    // Loopback simulator: pacing off. Against the real SAFE keep the default pacing.
    let client = Client::new(
        ClientConfig::builder()
            .base_url(sim.base_url())
            .token(token_for(1))
            .organization_id(1)
            .office_id(office_for(1))
            .pacing(Pacing::unlimited())
            .build()?,
    )?;
    let dir = std::env::temp_dir().join(format!("safe-tracker-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let checkpoint = dir.join("checkpoint.json");
    let poller = Poller::open(
        client.clone(),
        Arc::new(FileCheckpoint::new(&checkpoint)),
        PollerOptions::default(),
    )?;
    let started = Instant::now();
    let sample = Arc::new(Mutex::new(None));
    let keep = sample.clone();
    let report = poller
        .sweep(move |record: ItemRecord| {
            if record.sequential_org_id == items / 2 {
                *keep.lock().expect("sample") = Some(record);
            }
            async { Ok::<(), String>(()) }
        })
        .await?;
    let elapsed = started.elapsed();
    let s = &report.summary;
    println!(
        "swept {} items in order (cursor {} -> {}), {} requests in {:.2?} ({:.0} items/s)",
        s.items,
        s.cursor_start,
        s.cursor_end,
        s.requests,
        elapsed,
        s.items as f64 / elapsed.as_secs_f64()
    );
    println!("checkpoint: {}", checkpoint.display());
    if let Some(record) = sample.lock().expect("sample").take() {
        println!(
            "sample record: {}",
            serde_json::to_string_pretty(&record.item)?
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
