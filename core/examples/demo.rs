//! Reads every seeded item of a bundled simulator in order, the vendor's way (n, n+1, … until a
//! blank answer), and prints a summary. `make demo` runs it.

use std::time::Instant;

use safe_simulator::{Seed, SimConfig, Simulator, office_for, token_for};
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
    let started = Instant::now();
    let mut n = 1;
    let mut sample = None;
    while let Some(item) = client.item_by_seq(n).await? {
        if n == items / 2 {
            sample = Some(item);
        }
        n += 1;
    }
    let elapsed = started.elapsed();
    println!(
        "read {} items in order; blank answer at {n}; {} requests in {:.2?} ({:.0} items/s)",
        n - 1,
        client.requests_sent(),
        elapsed,
        (n - 1) as f64 / elapsed.as_secs_f64()
    );
    if let Some(item) = sample {
        println!("sample item: {}", serde_json::to_string_pretty(&item)?);
    }
    Ok(())
}
