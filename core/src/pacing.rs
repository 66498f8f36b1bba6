//! Request pacing (a GCRA limiter shared by every call of one client) and the optional hard
//! request budget. Every attempt, retries included, passes through [`Pacer::acquire`].

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::config::Pacing;
use crate::error::{Error, Result};

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// A check made before every attempt of a client (after its pacing and cap): an error stops
/// the call with that error and sends nothing ([`crate::Client::add_gate`]). A store with a
/// lease gives one that says whether this process still holds the unit, so a process whose
/// lease may have lapsed makes no SAFE request for it (the account's rate rule is at stake,
/// not only data). Cheap to clone.
#[derive(Clone)]
pub struct RequestGate(std::sync::Arc<dyn Fn() -> crate::Result<()> + Send + Sync>);

impl RequestGate {
    /// A gate that asks `check` before each attempt.
    pub fn new(check: impl Fn() -> crate::Result<()> + Send + Sync + 'static) -> RequestGate {
        RequestGate(std::sync::Arc::new(check))
    }

    /// Whether an attempt may go out now.
    pub fn check(&self) -> crate::Result<()> {
        (self.0)()
    }
}

impl std::fmt::Debug for RequestGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestGate")
    }
}

/// A request cap shared by every client given it ([`crate::ClientConfigBuilder::request_cap`]):
/// a process-wide ceiling over many agencies' clients, on top of each client's own pacing.
/// Every attempt of every such client takes a slot (waiting for one when the cap is reached).
/// Cheap to clone: the clones share the cap.
#[derive(Clone)]
pub struct RequestCap {
    limiter: std::sync::Arc<Limiter>,
    /// Waiters take their turn in the order they asked (tokio's mutex is fair), so clients
    /// with a backlog cannot crowd out the others: served in turn, like round-robin.
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    requests_per_second: f64,
    taken: std::sync::Arc<AtomicU64>,
}

impl std::fmt::Debug for RequestCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCap")
            .field("requests_per_second", &self.requests_per_second)
            .field("taken", &self.taken())
            .finish()
    }
}

impl RequestCap {
    /// At most `requests_per_second` (sustained; `burst` back to back) across every client
    /// that shares this cap. A rate that is not meaningful is [`Error::InvalidConfig`].
    pub fn new(requests_per_second: f64, burst: u32) -> Result<RequestCap> {
        let period = crate::config::pacing_period(requests_per_second, 0.0)?;
        let quota = Quota::with_period(period)
            .ok_or_else(|| {
                Error::InvalidConfig("the request cap's period must be above zero".into())
            })?
            .allow_burst(nonzero(burst));
        Ok(RequestCap {
            limiter: std::sync::Arc::new(RateLimiter::direct(quota)),
            turn: std::sync::Arc::new(tokio::sync::Mutex::new(())),
            requests_per_second,
            taken: std::sync::Arc::new(AtomicU64::new(0)),
        })
    }

    /// The sustained rate.
    pub fn requests_per_second(&self) -> f64 {
        self.requests_per_second
    }

    /// Slots taken so far, by every client sharing the cap.
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Waits for a slot, after the requests that asked before this one.
    pub async fn acquire(&self) {
        let _turn = self.turn.lock().await;
        self.limiter.until_ready().await;
        self.taken.fetch_add(1, Ordering::Relaxed);
    }
}

/// The pacing state of one client.
pub struct Pacer {
    rate: Option<Limiter>,
    budgets: Vec<(&'static str, u32, Limiter)>,
    attempts: AtomicU64,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("paced", &self.rate.is_some())
            .field("budgets", &self.budgets.len())
            .field("attempts", &self.attempts.load(Ordering::Relaxed))
            .finish()
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("max(1) is non-zero")
}

impl Pacer {
    /// Builds the limiter and budgets of `pacing`; a rate that is not meaningful (NaN,
    /// infinite, negative, below one request a day) is [`Error::InvalidConfig`], never a panic.
    pub fn new(pacing: &Pacing) -> Result<Pacer> {
        let rate = match pacing.requests_per_second {
            None => None,
            Some(rps) => {
                let period = crate::config::pacing_period(rps, pacing.safety_margin)?;
                let quota = Quota::with_period(period)
                    .ok_or_else(|| {
                        Error::InvalidConfig("the pacing period must be above zero".into())
                    })?
                    .allow_burst(nonzero(pacing.burst));
                Some(RateLimiter::direct(quota))
            }
        };
        let mut budgets = Vec::new();
        let b = pacing.budget;
        for (window, limit, quota) in [
            (
                "minute",
                b.per_minute,
                b.per_minute.map(|n| Quota::per_minute(nonzero(n))),
            ),
            (
                "hour",
                b.per_hour,
                b.per_hour.map(|n| Quota::per_hour(nonzero(n))),
            ),
            (
                "day",
                b.per_day,
                b.per_day.map(|n| {
                    Quota::with_period(Duration::from_secs(86_400) / n.max(1))
                        .expect("period is non-zero")
                        .allow_burst(nonzero(n))
                }),
            ),
        ] {
            if let (Some(limit), Some(quota)) = (limit, quota) {
                budgets.push((window, limit, RateLimiter::direct(quota)));
            }
        }
        Ok(Pacer {
            rate,
            budgets,
            attempts: AtomicU64::new(0),
        })
    }

    /// Takes one request slot: refuses with [`Error::BudgetExhausted`] when a budget is spent,
    /// else waits for the rate limiter.
    pub async fn acquire(&self) -> Result<()> {
        for (window, limit, limiter) in &self.budgets {
            if limiter.check().is_err() {
                return Err(Error::BudgetExhausted {
                    window,
                    limit: *limit,
                });
            }
        }
        if let Some(limiter) = &self.rate {
            limiter.until_ready().await;
        }
        self.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Attempts made through this pacer so far (every request sent, retries included).
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Budget;

    #[tokio::test]
    async fn safety_margin_widens_the_spacing() {
        // 100/s is 10 ms apart; a 50% margin makes it 15 ms, so 11 requests take at least
        // 150 ms (a lower bound only: a slow machine can only make it longer).
        let p = Pacer::new(&Pacing {
            safety_margin: 0.5,
            ..Pacing::per_second(100.0)
        })
        .unwrap();
        let started = std::time::Instant::now();
        for _ in 0..11 {
            p.acquire().await.unwrap();
        }
        assert!(started.elapsed() >= Duration::from_millis(149));
    }

    #[tokio::test]
    async fn budget_refuses_past_limit() {
        let p = Pacer::new(&Pacing {
            requests_per_second: None,
            burst: 1,
            safety_margin: 0.02,
            budget: Budget {
                per_minute: Some(3),
                ..Budget::default()
            },
        })
        .unwrap();
        for _ in 0..3 {
            p.acquire().await.unwrap();
        }
        let err = p.acquire().await.unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::BudgetExhausted);
        assert_eq!(p.attempts(), 3);
    }

    /// Rates the builder refuses are refused here too (a `Pacing` may reach the pacer
    /// through a `ClientConfig` changed after its build): an error, never a panic.
    #[test]
    fn a_rate_that_is_no_time_is_an_error_not_a_panic() {
        for rate in [
            1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            1e-6,
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let err = Pacer::new(&Pacing::per_second(rate)).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidConfig, "{rate}");
            assert!(err.to_string().contains("requests_per_second"), "{err}");
        }
        let margin = Pacing {
            safety_margin: f64::NAN,
            ..Pacing::per_second(2.0)
        };
        assert_eq!(
            Pacer::new(&margin).unwrap_err().code(),
            crate::ErrorCode::InvalidConfig
        );
        // The slowest rate accepted, and a huge one (spacing rounds to the 1 ns floor).
        assert!(Pacer::new(&Pacing::per_second(crate::config::MIN_REQUESTS_PER_SECOND)).is_ok());
        assert!(Pacer::new(&Pacing::per_second(1e300)).is_ok());
    }
}
