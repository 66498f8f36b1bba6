//! The one loop every host runs over a poller: [`Driver::wait`] for the schedule, sweep, then
//! [`Driver::decide`] what the outcome means for the next sweep. Every rule about when the
//! next sweep starts and whether the poller goes on lives here (and in
//! [`ErrorCode::class`](crate::ErrorCode::class)), so the Rust `run_forever`, the bindings'
//! loops and the CLI's `--watch` cannot drift apart.
//!
//! Shared gates come from outside the driver: the once-a-minute sweep floor per SAFE account
//! ([`AccountFloors`]: pollers that share a token share it, whichever stream they read) is
//! taken at the start of every sweep, and a process-wide request cap
//! ([`crate::pacing::RequestCap`]) by every request of the clients configured with it. A
//! driver holds no task and no thread: a thousand of them can wait on one runtime.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::options::SweepReport;
use super::{Shared, stable_hash};
use crate::error::{Error, ErrorClass, ErrorCode, Result};

/// What account errors (a refused token, a disabled account, no licence) do to a driven
/// poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountErrors {
    /// Stop and return the error: a person must look (the single-agency default).
    Stop,
    /// Park: sweep again after `retry` (one agency's lapsed licence must not need a restart
    /// of a service that runs many).
    Park {
        /// How long a parked poller waits before it tries again.
        retry: Duration,
    },
}

/// When a driven poller sweeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Between sweep starts (the poller's `interval`).
    pub interval: Duration,
    /// Up to this much random extra wait is added to each start (the poller's `jitter`).
    pub jitter: Duration,
    /// The first sweep of a driver waits for a stable fraction of this (its phase, from the
    /// poller's key), so pollers started together do not all sweep at once. Default zero:
    /// the first sweep starts as soon as the floor allows.
    pub first_sweep_spread: Duration,
    /// After transient failures in a row the wait doubles (interval, 2×, 4×…) up to this.
    /// Default one hour (never below the interval).
    pub max_backoff: Duration,
    /// What account errors do. Default [`AccountErrors::Stop`].
    pub account_errors: AccountErrors,
}

impl Schedule {
    /// `interval` and `jitter` as the poller's options give them, every other setting at its
    /// default.
    pub fn new(interval: Duration, jitter: Duration) -> Schedule {
        Schedule {
            interval,
            jitter,
            first_sweep_spread: Duration::ZERO,
            max_backoff: Duration::from_secs(3600),
            account_errors: AccountErrors::Stop,
        }
    }
}

impl Schedule {
    /// The stable share of `spread` a poller whose checkpoint key is `key` waits before its
    /// first sweep: the same in every process and build, so a restart keeps the spacing.
    pub fn phase_of(key: &str, spread: Duration) -> Duration {
        let spread = spread.as_millis() as u64;
        if spread == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(stable_hash(key) % spread)
    }
}

/// What to do after a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The sweep completed: the next one starts on the schedule.
    Continue,
    /// A transient failure (network, server, rate limit, a bad answer, the request budget):
    /// the next sweep waits longer with each failure in a row.
    BackOff {
        /// Failed sweeps in a row, this one included.
        failures: u32,
        /// When the next sweep starts (jitter excluded).
        until: DateTime<Utc>,
    },
    /// An account error, with [`AccountErrors::Park`]: the next sweep tries again at `until`.
    Park {
        /// When the next sweep starts.
        until: DateTime<Utc>,
    },
    /// Stop with the sweep's error (configuration, storage, the consumer, an entity error, or
    /// an account error with [`AccountErrors::Stop`]).
    Stop,
    /// Cancelled: stop without an error.
    Cancelled,
    /// The store says another process owns this poller now ([`crate::Error::Fenced`]): stop
    /// polling it (the owner goes on).
    Fenced,
}

impl Decision {
    /// True when the poller goes on (after a wait).
    pub fn keeps_running(self) -> bool {
        matches!(
            self,
            Decision::Continue | Decision::BackOff { .. } | Decision::Park { .. }
        )
    }

    /// The stable name hosts see: `continue`, `back_off`, `park`, `stop`, `cancelled`,
    /// `fenced`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Continue => "continue",
            Decision::BackOff { .. } => "back_off",
            Decision::Park { .. } => "park",
            Decision::Stop => "stop",
            Decision::Cancelled => "cancelled",
            Decision::Fenced => "fenced",
        }
    }
}

/// Drives one poller: the schedule, backoff and parking between sweeps.
pub struct Driver {
    shared: Arc<Shared>,
    schedule: Schedule,
    /// The stable share of `first_sweep_spread` this poller waits before its first sweep.
    phase: Duration,
    created: DateTime<Utc>,
    first: bool,
    failures: u32,
    /// Set by a backoff or a park: when the next sweep starts (before jitter and the floor).
    not_before: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("key", &self.shared.key)
            .field("schedule", &self.schedule)
            .field("phase", &self.phase)
            .field("failures", &self.failures)
            .field("not_before", &self.not_before)
            .finish()
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

pub(crate) fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(chrono_duration(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Driver {
    pub(crate) fn new(shared: Arc<Shared>, schedule: Schedule) -> Driver {
        let phase = Schedule::phase_of(&shared.key, schedule.first_sweep_spread);
        let created = shared.clock.now();
        Driver {
            shared,
            schedule,
            phase,
            created,
            first: true,
            failures: 0,
            not_before: None,
        }
    }

    /// The next sweep starts no earlier than `at` (a host that kept a parked poller's next
    /// attempt across a restart); later decisions set their own.
    pub fn not_before(&mut self, at: DateTime<Utc>) {
        self.not_before = Some(at);
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The stable share of [`Schedule::first_sweep_spread`] the first sweep waits.
    pub fn phase(&self) -> Duration {
        self.phase
    }

    /// Failed sweeps in a row (transient failures; zero after a completed sweep or a park).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the next sweep starts with `jitter` added: the interval after the last start
    /// (longer after failures; the park's retry time when parked), the first sweep no sooner
    /// than its phase, and never before the poller's floor.
    pub fn next_start(&self, jitter: Duration) -> DateTime<Utc> {
        let state = self.shared.state();
        let earliest = self
            .shared
            .earliest_start(state.last_sweep_started, self.shared.clock.now());
        let mut start = match self.not_before {
            Some(at) => add(at, jitter),
            None => self
                .shared
                .scheduled_start(&state, self.schedule.interval.saturating_add(jitter)),
        };
        if self.first {
            start = start.max(add(self.created, self.phase));
        }
        start.max(earliest)
    }

    /// Waits until the next sweep may start ([`Driver::next_start`] with random jitter);
    /// `Cancelled` when the poller is cancelled first.
    pub async fn wait(&mut self) -> Result<()> {
        let start = self.next_start(self.shared.random_jitter());
        self.shared.wait_until(start).await?;
        self.first = false;
        Ok(())
    }

    /// What the outcome of a sweep means: go on, back off, park, stop, cancelled or fenced.
    pub fn decide<T>(&mut self, outcome: &Result<T>) -> Decision {
        match outcome {
            Ok(_) => self.decide_code(None),
            Err(e) => {
                let decision = self.decide_code(Some(e.code()));
                match decision {
                    Decision::BackOff { failures, until } => tracing::warn!(
                        poller = %self.shared.key, code = e.code().name(), error = %e, failures,
                        next = %until, "sweep failed; backing off"
                    ),
                    Decision::Park { until } => tracing::warn!(
                        poller = %self.shared.key, code = e.code().name(), error = %e,
                        next = %until, "account error; parked"
                    ),
                    _ => {}
                }
                decision
            }
        }
    }

    /// [`Driver::decide`] from the error code of the outcome (`None` for a completed sweep),
    /// for hosts that hold the error themselves.
    pub fn decide_code(&mut self, code: Option<ErrorCode>) -> Decision {
        let Some(code) = code else {
            self.failures = 0;
            self.not_before = None;
            return Decision::Continue;
        };
        let class = code.class();
        if class == ErrorClass::Interrupted {
            return Decision::Cancelled;
        }
        if class == ErrorClass::Ownership {
            return Decision::Fenced;
        }
        if class.is_fatal_for_account() {
            return match self.schedule.account_errors {
                AccountErrors::Stop => Decision::Stop,
                AccountErrors::Park { retry } => {
                    self.failures = 0;
                    let until = add(self.shared.clock.now(), retry);
                    self.not_before = Some(until);
                    Decision::Park { until }
                }
            };
        }
        if !class.keeps_poller_running() {
            return Decision::Stop;
        }
        self.failures = self.failures.saturating_add(1);
        let doubling = 1u32 << (self.failures - 1).min(20);
        let cap = self.schedule.max_backoff.max(self.schedule.interval);
        let wait = self.schedule.interval.saturating_mul(doubling).min(cap);
        let last = self
            .shared
            .state()
            .last_sweep_started
            .unwrap_or_else(|| self.shared.clock.now());
        let until = add(last, wait);
        self.not_before = Some(until);
        Decision::BackOff {
            failures: self.failures,
            until,
        }
    }

    /// Sweeps for ever with `sweep`: wait, sweep, decide. Returns `Ok` when cancelled and the
    /// sweep's error when the decision is to stop.
    pub async fn run<F>(&mut self, mut sweep: F) -> Result<()>
    where
        F: AsyncFnMut() -> Result<SweepReport>,
    {
        loop {
            match self.wait().await {
                Ok(()) => {}
                Err(Error::Cancelled) => return Ok(()),
                Err(e) => return Err(e),
            }
            let outcome = sweep().await;
            match self.decide(&outcome) {
                Decision::Cancelled => return Ok(()),
                Decision::Stop | Decision::Fenced => return outcome.map(|_| ()),
                _ => {}
            }
        }
    }
}

/// The once-a-minute sweep floor of each SAFE account, shared by every poller of a process
/// that uses the same token on the same server (SAFE counts calls per account, whichever
/// stream or office they read). Accounts are told apart by a hash of the token, never the
/// token itself.
#[derive(Debug, Default)]
pub struct AccountFloors {
    last_start: Mutex<HashMap<(String, u64), DateTime<Utc>>>,
}

impl AccountFloors {
    /// An empty registry (tests; a process normally shares [`AccountFloors::process`]).
    pub fn new() -> Arc<AccountFloors> {
        Arc::new(AccountFloors::default())
    }

    /// The registry every poller of this process uses unless it is given another.
    pub fn process() -> Arc<AccountFloors> {
        static PROCESS: LazyLock<Arc<AccountFloors>> = LazyLock::new(AccountFloors::new);
        PROCESS.clone()
    }

    /// The account of a client: its server and a hash of its token.
    pub(crate) fn account_of(client: &crate::client::Client) -> (String, u64) {
        let c = client.config();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        c.credentials.token.expose().hash(&mut h);
        (c.base_url.to_string(), h.finish())
    }

    /// Takes the account's floor for a sweep starting at `now`: `None` when it may start (the
    /// start is recorded), or how long to wait when another poller of the account started one
    /// less than `floor` ago.
    pub(crate) fn try_start(
        &self,
        account: &(String, u64),
        now: DateTime<Utc>,
        floor: Duration,
    ) -> Option<Duration> {
        let mut starts = self
            .last_start
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(last) = starts.get(account) {
            let ready = add(*last, floor);
            if ready > now && *last <= now {
                return Some((ready - now).to_std().unwrap_or_default());
            }
        }
        starts.insert(account.clone(), now);
        None
    }
}
