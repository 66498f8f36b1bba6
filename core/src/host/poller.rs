//! [`HostPoller`]: either stream behind one pull interface (`begin`, `next`, `fail`, `end`),
//! with typed records ([`HostRecord`]) and JSON status, plan, reports and events.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;

use super::options::{poller_options_from_json, updated_options_from_json};
use super::to_json;
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};
use crate::poller::CheckpointStore;

/// A poller of either stream with JSON records, for the bindings. A host's sweep is one
/// [`SweepTicket`] from [`HostPoller::begin`]: `next(ticket)` starts the sweep when none runs,
/// acknowledges the previous record and returns the next; `fail` ends the sweep with the last
/// record unacknowledged. A newer `begin` supersedes an older ticket, whose calls are then
/// refused, so two consumers of one poller can never acknowledge each other's records.
pub struct HostPoller {
    kind: HostPollerKind,
    stream: tokio::sync::Mutex<Current>,
    last_report: std::sync::Mutex<Option<Value>>,
    /// The schedule between sweeps ([`HostPoller::wait_scheduled`], [`HostPoller::decide`]).
    driver: tokio::sync::Mutex<crate::poller::Driver>,
    /// Events kept for the host to take ([`HostPoller::queue_events`]).
    events: Arc<std::sync::Mutex<VecDeque<Value>>>,
}

/// The host's sweep now running, if any, and the ticket it belongs to.
#[derive(Default)]
struct Current {
    ticket: u32,
    stream: Option<HostStream>,
}

/// One host sweep of a [`HostPoller`] (see [`HostPoller::begin`]); a plain number so that
/// every binding can hold it.
pub type SweepTicket = u32;

/// How many events [`HostPoller::queue_events`] keeps before it drops the oldest: far more
/// than a sweep emits between two records.
const EVENT_QUEUE_CAP: usize = 10_000;

enum HostPollerKind {
    Items(crate::poller::Poller),
    Updated(crate::poller::UpdatedPoller),
}

enum HostStream {
    Items(crate::poller::SweepStream),
    Updated(crate::poller::UpdatedStream),
}

impl std::fmt::Debug for HostPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPoller")
            .field("status", &self.status())
            .finish()
    }
}

/// One record of a [`HostPoller`], typed. Bindings hand [`HostRecord::json`] to their host;
/// the C ABI also reads [`HostRecord::item`] for its accessors.
#[derive(Debug, Clone)]
pub enum HostRecord {
    /// A record of the sequential new-item poller.
    Items(Box<crate::poller::ItemRecord>),
    /// A record of the updated-items stream.
    Updated(Box<crate::poller::UpdatedRecord>),
}

impl HostRecord {
    /// The record's item.
    pub fn item(&self) -> &crate::models::Item {
        match self {
            HostRecord::Items(r) => &r.item,
            HostRecord::Updated(r) => &r.item,
        }
    }

    /// The record as JSON text, written straight from the typed record.
    pub fn json(&self) -> Result<String> {
        match self {
            HostRecord::Items(r) => serde_json::to_string(r),
            HostRecord::Updated(r) => serde_json::to_string(r),
        }
        .map_err(|e| Error::Consumer(format!("cannot encode the record: {e}")))
    }
}

fn report_json(r: &crate::poller::SweepReport) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

impl HostPoller {
    /// Opens the sequential new-item poller.
    pub fn open_items(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options_json: &str,
    ) -> Result<HostPoller> {
        let opts = poller_options_from_json(options_json)?;
        Ok(HostPoller::new(HostPollerKind::Items(
            crate::poller::Poller::open(client, store, opts)?,
        )))
    }

    /// Opens the updated-items stream.
    pub fn open_updated(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options_json: &str,
    ) -> Result<HostPoller> {
        let opts = updated_options_from_json(options_json)?;
        Ok(HostPoller::new(HostPollerKind::Updated(
            crate::poller::UpdatedPoller::open(client, store, opts)?,
        )))
    }

    fn new(kind: HostPollerKind) -> HostPoller {
        let driver = match &kind {
            HostPollerKind::Items(p) => p.driver(None),
            HostPollerKind::Updated(p) => p.driver(None),
        };
        HostPoller {
            kind,
            stream: tokio::sync::Mutex::new(Current::default()),
            last_report: std::sync::Mutex::new(None),
            driver: tokio::sync::Mutex::new(driver),
            events: Arc::new(std::sync::Mutex::new(VecDeque::new())),
        }
    }

    /// Starts a host sweep: ends the one running (its last record unacknowledged, so it is
    /// delivered again) and returns the ticket the calls of the new one carry.
    pub async fn begin(&self) -> SweepTicket {
        let mut current = self.stream.lock().await;
        current.ticket = current.ticket.wrapping_add(1);
        current.stream = None;
        current.ticket
    }

    /// Acknowledges the previous record of the sweep `ticket` and returns the next (starting
    /// the sweep on the first call, which may wait for the floor); `None` when the sweep
    /// reached its end. Refused for a ticket a newer [`HostPoller::begin`] superseded.
    pub async fn next(&self, ticket: SweepTicket) -> Result<Option<HostRecord>> {
        let mut current = self.stream.lock().await;
        if current.ticket != ticket {
            return Err(superseded());
        }
        let guard = &mut current.stream;
        if guard.is_none() {
            *guard = Some(match &self.kind {
                HostPollerKind::Items(p) => HostStream::Items(p.sweep_stream().await?),
                HostPollerKind::Updated(p) => HostStream::Updated(p.sweep_stream().await?),
            });
        }
        let result = match guard.as_mut().expect("stream set above") {
            HostStream::Items(s) => s
                .next()
                .await
                .map(|r| r.map(|r| HostRecord::Items(Box::new(r)))),
            HostStream::Updated(s) => s
                .next()
                .await
                .map(|r| r.map(|r| HostRecord::Updated(Box::new(r)))),
        };
        match result {
            Ok(Some(record)) => Ok(Some(record)),
            Ok(None) => {
                let report = match guard.take() {
                    Some(HostStream::Items(s)) => s.report().ok().map(|r| report_json(&r)),
                    Some(HostStream::Updated(s)) => s.report().ok().map(|r| report_json(&r)),
                    None => None,
                };
                if let Ok(mut l) = self.last_report.lock() {
                    *l = report;
                }
                Ok(None)
            }
            Err(e) => {
                *guard = None;
                Err(e)
            }
        }
    }

    /// Ends the sweep `ticket` because the consumer failed on the last record (it stays
    /// unacknowledged) and returns the consumer error (a superseded ticket ends nothing).
    pub async fn fail(&self, ticket: SweepTicket, message: &str) -> Error {
        let mut current = self.stream.lock().await;
        if current.ticket != ticket {
            return Error::Consumer(message.to_string());
        }
        let error = match current.stream.as_mut() {
            Some(HostStream::Items(s)) => s.consumer_failed(message.to_string()).await,
            Some(HostStream::Updated(s)) => s.fail(Error::Consumer(message.to_string())).await,
            None => Error::Consumer(message.to_string()),
        };
        current.stream = None;
        error
    }

    /// Ends the sweep `ticket` without acknowledging its last record (the consumer stopped);
    /// nothing when a newer sweep superseded it.
    pub async fn end(&self, ticket: SweepTicket) {
        let mut current = self.stream.lock().await;
        if current.ticket == ticket {
            current.stream = None;
        }
    }

    /// Waits until the next sweep of a run-for-ever loop may start (the [`Driver`]'s schedule:
    /// interval plus jitter, longer after failures, never before the floor); `Cancelled` when
    /// cancelled.
    ///
    /// [`Driver`]: crate::poller::Driver
    pub async fn wait_scheduled(&self) -> Result<()> {
        self.driver.lock().await.wait().await
    }

    /// What the outcome of a sweep means for a run-for-ever loop (see
    /// [`crate::poller::Driver::decide`]): `code` is the error the sweep failed with, `None`
    /// when it completed. A loop stops on `stop` (re-raising the sweep's error), returns on
    /// `cancelled`, and otherwise waits with [`HostPoller::wait_scheduled`] and sweeps again.
    pub async fn decide(&self, code: Option<ErrorCode>) -> crate::poller::Decision {
        self.driver.lock().await.decide_code(code)
    }

    /// The report of the last completed sweep.
    pub fn last_report(&self) -> Option<Value> {
        self.last_report.lock().ok().and_then(|r| r.clone())
    }

    fn shared(&self) -> &crate::poller::Shared {
        match &self.kind {
            HostPollerKind::Items(p) => p.shared(),
            HostPollerKind::Updated(p) => p.shared(),
        }
    }

    /// The identity of this poller (the checkpoint key).
    pub fn key(&self) -> String {
        match &self.kind {
            HostPollerKind::Items(p) => p.key(),
            HostPollerKind::Updated(p) => p.key(),
        }
    }

    /// The full state as last saved (JSON text), for hosts that persist it themselves.
    pub fn state(&self) -> String {
        self.shared().state().to_json()
    }

    /// Status as JSON.
    pub fn status(&self) -> Value {
        match &self.kind {
            HostPollerKind::Items(p) => to_json(p.status()).unwrap_or(Value::Null),
            HostPollerKind::Updated(p) => to_json(p.status()).unwrap_or(Value::Null),
        }
    }

    /// The plan of the next sweep as JSON (the items stream only; `null` otherwise).
    pub fn plan(&self) -> Value {
        match &self.kind {
            HostPollerKind::Items(p) => to_json(p.plan()).unwrap_or(Value::Null),
            HostPollerKind::Updated(_) => Value::Null,
        }
    }

    /// See [`crate::poller::Poller::skip`] (the items stream only); returns the recorded skip
    /// as JSON. Refused while a sweep is running.
    pub async fn skip(&self, seq: u64, reason: &str) -> Result<Value> {
        if self.stream.lock().await.stream.is_some() {
            return Err(Error::Checkpoint(
                "a sweep is running: skip a number between sweeps".into(),
            ));
        }
        match &self.kind {
            HostPollerKind::Items(p) => to_json(p.skip(seq, reason).await?),
            HostPollerKind::Updated(_) => Err(Error::validation(
                "seq",
                "the updated-items stream has no numbers to skip",
            )),
        }
    }

    /// Ends any sweep (unacknowledged) and releases the one-poller lock now.
    pub async fn close(&self) {
        self.cancel();
        self.stream.lock().await.stream = None;
        match &self.kind {
            HostPollerKind::Items(p) => p.close().await,
            HostPollerKind::Updated(p) => p.close().await,
        }
    }

    /// Cancels (from any thread).
    pub fn cancel(&self) {
        match &self.kind {
            HostPollerKind::Items(p) => p.cancel(),
            HostPollerKind::Updated(p) => p.cancel(),
        }
    }

    /// The token [`HostPoller::cancel`] trips, for hosts that tie a call to the poller's own
    /// cancellation.
    pub fn cancellation_token(&self) -> tokio_util::sync::CancellationToken {
        match &self.kind {
            HostPollerKind::Items(p) => p.cancellation_token(),
            HostPollerKind::Updated(p) => p.cancellation_token(),
        }
    }

    /// Calls `listener` with every event as JSON, on the thread that emits it (a runtime
    /// thread): for listeners that only hand the event on without blocking.
    pub fn on_event(&self, listener: impl Fn(Value) + Send + Sync + 'static) {
        let f = move |e: &crate::poller::PollerEvent| listener(to_json(e).unwrap_or(Value::Null));
        match &self.kind {
            HostPollerKind::Items(p) => p.on_event(f),
            HostPollerKind::Updated(p) => p.on_event(f),
        }
    }

    /// Keeps every event for [`HostPoller::take_events`] instead, so that a host calls its
    /// listener on its own thread, where a listener that blocks stalls nobody else's calls
    /// (the oldest are dropped past 10,000 untaken).
    pub fn queue_events(&self) {
        let queue = self.events.clone();
        self.on_event(move |event| {
            let Ok(mut q) = queue.lock() else { return };
            if q.len() == EVENT_QUEUE_CAP {
                q.pop_front();
                tracing::warn!("the host does not take the poller's events: dropped the oldest");
            }
            q.push_back(event);
        });
    }

    /// The events queued since the last call, oldest first.
    pub fn take_events(&self) -> Vec<Value> {
        self.events
            .lock()
            .map(|mut q| q.drain(..).collect())
            .unwrap_or_default()
    }
}

fn superseded() -> Error {
    Error::Checkpoint(
        "this sweep was superseded: a newer sweep of the same poller started (one consumer \
         at a time)"
            .into(),
    )
}
