//! Time for the poller, injectable so tests can prove schedules without sleeping.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A boxed future returned by [`Clock::sleep`].
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where the poller reads the time and how it waits.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> SleepFuture;
}

/// The real clock: `Utc::now()` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, d: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock for tests: `sleep` returns at once and moves the time forward; every sleep is
/// recorded.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<(DateTime<Utc>, Vec<Duration>)>>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            inner: Arc::new(Mutex::new((start, Vec::new()))),
        }
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut g = self.inner.lock().expect("clock");
        g.0 += chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    }

    /// Every sleep so far.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.inner.lock().expect("clock").1.clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.inner.lock().expect("clock").0
    }
    fn sleep(&self, d: Duration) -> SleepFuture {
        {
            let mut g = self.inner.lock().expect("clock");
            g.0 += chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
            g.1.push(d);
        }
        Box::pin(std::future::ready(()))
    }
}
