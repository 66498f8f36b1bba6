//! The throttled sequential poller: requests item n by its sequential org id, then n+1, …
//! until a blank answer; waits; starts again from that blank number — with durable
//! checkpoints, at-least-once delivery, holes, stall detection, read-ahead and expansions.
//!
//! Two consumer shapes: a stream of records ([`Poller::sweep_stream`], where asking for the
//! next record acknowledges the previous one) and a handler ([`Poller::sweep`],
//! [`Poller::run_forever`]). [`UpdatedPoller`] follows the updated-items feed the same way.

mod checkpoint;
mod clock;
mod driver;
mod group_commit;
mod handle;
mod options;
mod state;
mod sweep;
mod updated;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

pub use checkpoint::{
    CallbackCheckpoint, CheckpointLock, CheckpointStore, FileCheckpoint, LoadFn, LoadFuture,
    MemoryCheckpoint, SaveFn, SaveFuture, SaveMode, SqliteCheckpoint, batch_failed,
};
pub use clock::{Clock, ManualClock, SleepFuture, SystemClock};
pub use driver::{AccountErrors, AccountFloors, Decision, Driver, Schedule};
pub use group_commit::GroupCommit;
pub use handle::{Items, PollerOf, StreamKind, SweepStart, Updated};
pub use options::{
    DedupeKey, Expand, ItemRecord, MIN_SWEEP_INTERVAL, PollerEvent, PollerOptions, PollerStatus,
    SweepPlan, SweepReport,
};
pub use state::{
    Hole, MAX_SKIPPED, PartialNumber, PollerState, STATE_VERSION, SkippedNumber, StuckNumber,
    SweepOutcome, SweepSummary,
};
pub use sweep::SweepStream;
pub use updated::{UpdatedOptions, UpdatedPoller, UpdatedRecord, UpdatedStream};

use crate::client::Client;
use crate::error::{Error, Result};

/// A stable hash of `text` (FNV-1a): the same in every process and build, for file names and
/// the driver's per-poller phase.
pub(crate) fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A listener for poller events.
pub type EventListener = Arc<dyn Fn(&PollerEvent) + Send + Sync>;

/// The identity of a poller: `<base URL>|<organization>|<office>|<stream>`.
pub fn poller_key(client: &Client, stream: &str) -> String {
    poller_key_of(client.config(), stream)
}

/// [`poller_key`] from a client's configuration (before any client is built).
pub fn poller_key_of(c: &crate::config::ClientConfig, stream: &str) -> String {
    format!(
        "{}|{}|{}|{}",
        c.base_url, c.credentials.organization_id, c.credentials.office_id, stream
    )
}

/// What both streams share: the client, the store and its lock, the state, the clock.
pub(crate) struct Core {
    pub client: Client,
    pub store: Arc<dyn CheckpointStore>,
    pub key: String,
    pub state: PollerState,
    /// The one-poller lock; `None` once the poller is closed.
    pub lock: Option<CheckpointLock>,
}

/// Read without waiting for a running sweep.
pub(crate) struct Shared {
    pub key: String,
    pub snapshot: Mutex<PollerState>,
    pub clock: Arc<dyn Clock>,
    pub listener: Mutex<Option<EventListener>>,
    pub cancel: CancellationToken,
    pub floor: Duration,
    pub interval: Duration,
    pub jitter: Duration,
    /// The account this poller's client calls SAFE as, and the registry of its sweep floor.
    pub account: (String, u64),
    pub account_floors: Mutex<Arc<AccountFloors>>,
}

impl Core {
    /// Takes the lock, then loads (or starts) the state with the store's blocking `load`.
    pub fn open(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        stream: &str,
        start_seq: u64,
    ) -> Result<Core> {
        let key = poller_key(&client, stream);
        let lock = CheckpointLock::acquire(store.as_ref(), &key)?;
        let loaded = store.load(&key)?;
        Core::from_loaded(client, store, key, lock, loaded, stream, start_seq)
    }

    /// [`Core::open`] loading through [`CheckpointStore::load_async`], for async hosts (a
    /// database store, many pollers opened on one runtime).
    pub async fn open_async(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        stream: &str,
        start_seq: u64,
    ) -> Result<Core> {
        let key = poller_key(&client, stream);
        let lock = CheckpointLock::acquire(store.as_ref(), &key)?;
        let loaded = store.clone().load_async(key.clone()).await?;
        Core::from_loaded(client, store, key, lock, loaded, stream, start_seq)
    }

    fn from_loaded(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        key: String,
        lock: CheckpointLock,
        loaded: Option<PollerState>,
        stream: &str,
        start_seq: u64,
    ) -> Result<Core> {
        let state = match loaded {
            Some(s) if s.stream == stream => s,
            Some(s) => {
                return Err(Error::Checkpoint(format!(
                    "the checkpoint belongs to stream `{}`, not `{stream}`",
                    s.stream
                )));
            }
            None => PollerState::new(stream, start_seq),
        };
        // A store that owns its pollers through a lease gates every request of the client.
        if let Some(gate) = store.request_gate() {
            client.add_gate(gate);
        }
        Ok(Core {
            client,
            store,
            key,
            state,
            lock: Some(lock),
        })
    }

    /// Fails once the poller is closed.
    pub fn check_open(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::Checkpoint("the poller is closed".into()));
        }
        Ok(())
    }

    /// Starts a sweep: waits out the floor after the last start, then stamps and saves the new
    /// start before any request, so a crash cannot break the floor. Returns the start time.
    /// The account's floor ([`AccountFloors`]) is taken too: another poller of the same
    /// account that started a sweep less than a floor ago makes this one wait.
    pub async fn begin_sweep(&mut self, shared: &Shared) -> Result<DateTime<Utc>> {
        self.check_open()?;
        let earliest = shared.earliest_start(self.state.last_sweep_started, shared.clock.now());
        shared.wait_until(earliest).await?;
        loop {
            let floors = shared.account_floors();
            let now = shared.clock.now();
            match floors.try_start(&shared.account, now, shared.floor) {
                None => break,
                Some(wait) => {
                    tracing::info!(
                        poller = %shared.key,
                        wait_ms = wait.as_millis() as u64,
                        "another poller of this SAFE account swept less than a floor ago"
                    );
                    shared.wait_until(driver::add(now, wait)).await?;
                }
            }
        }
        let now = shared.clock.now();
        self.state.last_sweep_started = Some(now);
        self.save(shared).await?;
        Ok(now)
    }

    /// Saves the state and publishes it to the snapshot. When the store refuses, the state
    /// goes back to the snapshot (what the store last took), so no later save can record a
    /// change — an acknowledgement, a skip — the store did not take.
    ///
    /// The save runs where the store says ([`CheckpointStore::save_mode`]): a blocking save
    /// (an fsync, a commit, a host's callback) on the blocking pool, so the runtime's other
    /// requests and pollers go on meanwhile.
    pub async fn save(&mut self, shared: &Shared) -> Result<()> {
        let saved = match self.store.save_mode() {
            checkpoint::SaveMode::Inline => self.store.save(&self.key, &self.state),
            checkpoint::SaveMode::Blocking => {
                self.store
                    .clone()
                    .save_async(self.key.clone(), self.state.clone())
                    .await
            }
        };
        self.saved(shared, saved)
    }

    /// [`Core::save`] on the calling thread, for the one place that cannot wait: a sweep
    /// dropped by its consumer records its end as it goes.
    pub fn save_now(&mut self, shared: &Shared) -> Result<()> {
        let saved = self.store.save(&self.key, &self.state);
        self.saved(shared, saved)
    }

    fn saved(&mut self, shared: &Shared, saved: Result<()>) -> Result<()> {
        if let Err(e) = saved {
            self.state = shared.state();
            return Err(e);
        }
        if let Ok(mut s) = shared.snapshot.lock() {
            *s = self.state.clone();
        }
        Ok(())
    }
}

impl Shared {
    pub fn new(
        core: &Core,
        clock: Arc<dyn Clock>,
        floor: Duration,
        interval: Duration,
        jitter: Duration,
    ) -> Shared {
        Shared {
            key: core.key.clone(),
            snapshot: Mutex::new(core.state.clone()),
            clock,
            listener: Mutex::new(None),
            cancel: CancellationToken::new(),
            floor,
            interval,
            jitter,
            account: AccountFloors::account_of(&core.client),
            account_floors: Mutex::new(AccountFloors::process()),
        }
    }

    /// The registry of account floors this poller takes its sweeps from.
    pub fn account_floors(&self) -> Arc<AccountFloors> {
        self.account_floors
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// A driver over this poller with the poller's interval and jitter.
    pub fn driver(self: &Arc<Self>, schedule: Option<Schedule>) -> Driver {
        let schedule = schedule.unwrap_or_else(|| Schedule::new(self.interval, self.jitter));
        Driver::new(self.clone(), schedule)
    }

    pub fn state(&self) -> PollerState {
        self.snapshot
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn emit(&self, event: &PollerEvent) {
        tracing::info!(event = ?event, "poller event");
        let listener = self.listener.lock().ok().and_then(|l| l.clone());
        if let Some(l) = listener {
            l(event);
        }
    }

    /// The earliest start the floor allows after `last`.
    pub fn earliest_start(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
        match last {
            None => now,
            Some(last) => {
                let floor = chrono::Duration::from_std(self.floor).unwrap_or(chrono::Duration::MAX);
                // A clock that went backwards never lengthens the wait past one floor.
                let elapsed = (now - last).max(chrono::Duration::zero());
                now.checked_add_signed((floor - elapsed).max(chrono::Duration::zero()))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    /// Waits until `until` on the poller's clock, or fails with `Cancelled`.
    pub async fn wait_until(&self, until: DateTime<Utc>) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let now = self.clock.now();
        if until > now {
            let d = (until - now).to_std().unwrap_or_default();
            tracing::info!(
                wait_ms = d.as_millis() as u64,
                "waiting before the next sweep"
            );
            tokio::select! {
                _ = self.clock.sleep(d) => {}
                _ = self.cancel.cancelled() => return Err(Error::Cancelled),
            }
        }
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    /// When the next sweep starts on a schedule: `after` (the interval, plus any jitter) after
    /// the last start, never before the floor; at once (or at the floor) when there was none.
    pub fn scheduled_start(&self, state: &PollerState, after: Duration) -> DateTime<Utc> {
        let now = self.clock.now();
        let earliest = self.earliest_start(state.last_sweep_started, now);
        match state.last_sweep_started {
            None => earliest,
            Some(last) => driver::add(last, after).max(earliest),
        }
    }

    pub fn random_jitter(&self) -> Duration {
        if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_millis(rand::random_range(0..=self.jitter.as_millis() as u64))
        }
    }

    pub fn status(&self) -> PollerStatus {
        let s = self.state();
        PollerStatus {
            stream: s.stream.clone(),
            cursor: s.cursor,
            holes: s.holes.keys().copied().collect(),
            last_sweep_started: s.last_sweep_started,
            last_sweep: s.last_sweep.clone(),
            next_allowed_sweep: s
                .last_sweep_started
                .map(|_| self.earliest_start(s.last_sweep_started, self.clock.now())),
            requests_spent: s.requests_spent,
            stalled_next: s.stalled_next,
            watermark: s.watermark,
            stuck: s.stuck.clone(),
            partial: s.partial.clone(),
            skipped: s.skipped.clone(),
            duplicate_numbers: s.duplicate_numbers,
        }
    }
}

/// Runs `fut` unless the poller is cancelled first.
pub(crate) async fn cancellable<T>(
    cancel: &CancellationToken,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        r = fut => r,
        _ = cancel.cancelled() => Err(Error::Cancelled),
    }
}

/// The sequential new-item poller. Cheap to share: status and plan never wait for a sweep.
pub type Poller = PollerOf<Items>;

impl PollerOf<Items> {
    /// Opens a poller on `store`: takes the one-poller lock and loads the checkpoint.
    pub fn open(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options: PollerOptions,
    ) -> Result<Poller> {
        Poller::open_with_clock(client, store, options, Arc::new(SystemClock))
    }

    /// [`Poller::open`] with an injected clock (tests).
    pub fn open_with_clock(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options: PollerOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Poller> {
        options.validate()?;
        let core = Core::open(client, store, Items::NAME, options.start_seq)?;
        Ok(Poller::assemble(core, options, clock))
    }

    /// [`Poller::open`] loading the checkpoint through [`CheckpointStore::load_async`]: for
    /// an async host opening many pollers on one runtime (nothing blocks its threads).
    pub async fn open_async(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options: PollerOptions,
    ) -> Result<Poller> {
        options.validate()?;
        let core = Core::open_async(client, store, Items::NAME, options.start_seq).await?;
        Ok(Poller::assemble(core, options, Arc::new(SystemClock)))
    }

    fn assemble(core: Core, options: PollerOptions, clock: Arc<dyn Clock>) -> Poller {
        let shared = Shared::new(
            &core,
            clock,
            options.floor(),
            options.interval,
            options.jitter,
        );
        PollerOf::from_parts(core, shared, options)
    }

    /// What the next sweep would do and when it may start, without a request.
    pub fn plan(&self) -> SweepPlan {
        let s = self.shared.state();
        let now = self.shared.clock.now();
        let earliest = self.shared.earliest_start(s.last_sweep_started, now);
        let max_age =
            chrono::Duration::from_std(self.options.hole_max_age).unwrap_or(chrono::Duration::MAX);
        let (mut abandon, mut probe) = (Vec::new(), Vec::new());
        for (seq, hole) in &s.holes {
            if now - hole.first_seen > max_age {
                abandon.push(*seq);
            } else {
                probe.push(*seq);
            }
        }
        let e = self.options.expand;
        SweepPlan {
            earliest_start: earliest,
            scheduled_start: self.shared.scheduled_start(&s, self.shared.interval),
            wait: (earliest - now).to_std().unwrap_or_default(),
            start_seq: s.cursor,
            holes_to_probe: probe,
            holes_to_abandon: abandon,
            gap_tolerance: self.options.gap_tolerance,
            read_ahead: self.options.read_ahead,
            requests_per_item: 1
                + u32::from(e.form_data)
                + u32::from(e.case)
                + u32::from(e.people)
                + u32::from(e.custody),
            stall_check_due: s.unmoved_sweeps + 1 >= self.options.stall_after_sweeps,
        }
    }

    /// Steps over number `seq`, recording `reason` in the checkpoint's bounded `skipped` list
    /// and emitting [`PollerEvent::Skipped`]. Allowed for:
    /// - the number the poller is stuck at (an item that can never be decoded, say), at the
    ///   cursor or beyond it: it is given up, and the numbers between the cursor and it, which
    ///   answered blank, become holes;
    /// - the cursor when nothing is stuck there (a number that stays blank): the cursor moves
    ///   past it and the number is kept as a hole, re-probed and delivered late should an item
    ///   appear, so a skip cannot lose an item that was never seen;
    /// - an open hole: it is given up.
    ///
    /// Refused while a sweep runs, and for any other number.
    pub async fn skip(&self, seq: u64, reason: &str) -> Result<SkippedNumber> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::validation("reason", "say why the number is skipped"));
        }
        let mut core = self.core.try_lock().map_err(|_| {
            Error::Checkpoint("a sweep is running: skip a number between sweeps".into())
        })?;
        core.check_open()?;
        let now = self.shared.clock.now();
        let state = &mut core.state;
        let stuck = state.stuck.clone().filter(|st| st.seq == seq);
        let new_hole = Hole {
            first_seen: now,
            probes: 0,
        };
        let mut kept_as_hole = false;
        if stuck.is_some() && seq >= state.cursor {
            for h in state.cursor..seq {
                state.holes.entry(h).or_insert(new_hole.clone());
            }
            state.cursor = seq + 1;
        } else if seq == state.cursor {
            state.holes.insert(seq, new_hole);
            state.cursor = seq + 1;
            kept_as_hole = true;
        } else if state.holes.remove(&seq).is_none() {
            let holes: Vec<u64> = state.holes.keys().copied().collect();
            return Err(Error::validation(
                "seq",
                format!(
                    "{seq} is neither the cursor ({}) nor an open hole ({holes:?}) nor the \
                     number the poller is stuck at: only those can be skipped",
                    state.cursor
                ),
            ));
        }
        if !kept_as_hole {
            state.forget_partial(seq);
        }
        if stuck.is_some() {
            state.stuck = None;
        }
        let skipped = SkippedNumber {
            seq,
            reason: reason.to_string(),
            at: now,
            error: stuck.map(|st| st.message),
            kept_as_hole,
        };
        state.skipped.push(skipped.clone());
        let excess = state.skipped.len().saturating_sub(MAX_SKIPPED);
        state.skipped.drain(..excess);
        core.save(&self.shared).await?;
        self.shared.emit(&PollerEvent::Skipped {
            seq,
            reason: skipped.reason.clone(),
        });
        Ok(skipped)
    }
}
