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
    /// Builds the limiter and budgets of `pacing`.
    pub fn new(pacing: &Pacing) -> Pacer {
        let rate = pacing.requests_per_second.map(|rps| {
            let spacing = (1.0 + pacing.safety_margin.max(0.0)) / rps;
            let period = Duration::from_secs_f64(spacing).max(Duration::from_nanos(1));
            let quota = Quota::with_period(period)
                .expect("period is non-zero")
                .allow_burst(nonzero(pacing.burst));
            RateLimiter::direct(quota)
        });
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
        Pacer {
            rate,
            budgets,
            attempts: AtomicU64::new(0),
        }
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
        });
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
        });
        for _ in 0..3 {
            p.acquire().await.unwrap();
        }
        let err = p.acquire().await.unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::BudgetExhausted);
        assert_eq!(p.attempts(), 3);
    }
}
