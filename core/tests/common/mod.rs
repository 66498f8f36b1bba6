//! Helpers shared by the integration tests: a simulator and a client configured for it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use safe_simulator::{Seed, SimConfig, Simulator, office_for, token_for};
use safe_tracker::poller::{CheckpointStore, ManualClock, Poller, PollerOptions};
use safe_tracker::{Client, ClientConfig, ClientConfigBuilder, Pacing, RetryPolicy};

/// Fails the test that writes a simulator token into the tracing output.
struct TokenGuard;

impl std::io::Write for TokenGuard {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if String::from_utf8_lossy(buf).contains("sim-token") {
            panic!(
                "a token reached the tracing output: {}",
                String::from_utf8_lossy(buf)
            );
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every test that starts a simulator runs with tracing at TRACE level, every span and event
/// formatted, and a writer that fails the test if a token shows up.
fn guard_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_writer(|| TokenGuard)
            .try_init();
    });
}

/// Starts a simulator with `items` items in each of two organisations.
pub async fn simulator(items: u64) -> Simulator {
    guard_tracing();
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

/// A manual clock at 2026-01-01 00:00 UTC.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    ))
}

/// Opens a poller on `store` with `clock`.
pub fn open(
    c: &Client,
    store: Arc<dyn CheckpointStore>,
    opts: PollerOptions,
    clock: &Arc<ManualClock>,
) -> Poller {
    Poller::open_with_clock(c.clone(), store, opts, clock.clone()).expect("poller opens")
}

/// Moves `c` past the 60-second floor.
pub fn next_minute(c: &ManualClock) {
    c.advance(Duration::from_secs(61));
}
