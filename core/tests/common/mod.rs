//! Helpers shared by the integration tests: a simulator and a client configured for it.
#![allow(dead_code)]

use std::time::Duration;

use safe_simulator::{Seed, SimConfig, Simulator, office_for, token_for};
use safe_tracker::{Client, ClientConfig, ClientConfigBuilder, Pacing, RetryPolicy};

/// Starts a simulator with `items` items in each of two organisations.
pub async fn simulator(items: u64) -> Simulator {
    Simulator::start(SimConfig {
        seed: Seed {
            seed: 7,
            orgs: 2,
            items,
        },
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// Fast retries, no pacing: tests count requests, they do not wait.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        retry_after_cap: Duration::from_secs(2),
    }
}

/// A builder for organisation `org` of `sim`.
pub fn builder(sim: &Simulator, org: u64) -> ClientConfigBuilder {
    ClientConfig::builder()
        .base_url(sim.base_url())
        .token(token_for(org))
        .organization_id(org)
        .office_id(office_for(org))
        .pacing(Pacing::unlimited())
        .retry(fast_retry())
}

/// A client for organisation `org` of `sim`.
pub fn client(sim: &Simulator, org: u64) -> Client {
    Client::new(builder(sim, org).build().expect("config")).expect("client")
}
