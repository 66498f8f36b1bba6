//! What both streams' pollers do the same way, written once: [`PollerOf`] over a
//! [`StreamKind`] (the sequential new-item stream, [`Items`], or the updated-items stream,
//! [`Updated`]). [`crate::poller::Poller`] and [`crate::poller::UpdatedPoller`] are its two
//! instances; each adds what only its stream has (the items stream's plan and skip).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::OwnedMutexGuard;
use tokio_util::sync::CancellationToken;

use super::options::{ItemRecord, PollerOptions, SweepReport};
use super::updated::{UpdatedOptions, UpdatedRecord, UpdatedStream};
use super::{
    AccountFloors, Core, Driver, PollerEvent, PollerStatus, Schedule, Shared, SweepStream,
};
use crate::error::{Error, Result};

/// A sweep about to start: the poller's state, held until the sweep ends (opaque outside the
/// crate: only the core starts sweeps).
pub struct SweepStart {
    core: OwnedMutexGuard<Core>,
    shared: Arc<Shared>,
}

/// What tells one stream from the other: its options, its records and its running sweep.
pub trait StreamKind: Send + Sync + 'static {
    /// The stream's name in the checkpoint key and its state: `items` or `updated`.
    const NAME: &'static str;
    /// The poller's options.
    type Options: std::fmt::Debug + Send + Sync + 'static;
    /// One delivered record.
    type Record: Send;
    /// A running sweep.
    type Sweep: Send;

    /// Starts a sweep.
    fn start(
        start: SweepStart,
        options: Arc<Self::Options>,
    ) -> impl Future<Output = Result<Self::Sweep>> + Send;

    /// Acknowledges the previous record and returns the next.
    fn next(sweep: &mut Self::Sweep) -> impl Future<Output = Result<Option<Self::Record>>> + Send;

    /// Ends the sweep because the consumer failed on the last record (left unacknowledged).
    fn consumer_failed(
        sweep: &mut Self::Sweep,
        message: String,
    ) -> impl Future<Output = Error> + Send;

    /// The report of a finished sweep.
    fn report(sweep: &Self::Sweep) -> Result<SweepReport>;
}

/// The sequential new-item stream (`GET items/seqOrgID/{n}`).
#[derive(Debug)]
pub enum Items {}

/// The updated-items stream (an item search by modification time).
#[derive(Debug)]
pub enum Updated {}

impl StreamKind for Items {
    const NAME: &'static str = "items";
    type Options = PollerOptions;
    type Record = ItemRecord;
    type Sweep = SweepStream;

    async fn start(start: SweepStart, options: Arc<PollerOptions>) -> Result<SweepStream> {
        SweepStream::start(start.core, start.shared, options).await
    }

    async fn next(sweep: &mut SweepStream) -> Result<Option<ItemRecord>> {
        sweep.next().await
    }

    async fn consumer_failed(sweep: &mut SweepStream, message: String) -> Error {
        sweep.consumer_failed(message).await
    }

    fn report(sweep: &SweepStream) -> Result<SweepReport> {
        sweep.report()
    }
}

impl StreamKind for Updated {
    const NAME: &'static str = "updated";
    type Options = UpdatedOptions;
    type Record = UpdatedRecord;
    type Sweep = UpdatedStream;

    async fn start(start: SweepStart, options: Arc<UpdatedOptions>) -> Result<UpdatedStream> {
        UpdatedStream::start(start.core, start.shared, options).await
    }

    async fn next(sweep: &mut UpdatedStream) -> Result<Option<UpdatedRecord>> {
        sweep.next().await
    }

    async fn consumer_failed(sweep: &mut UpdatedStream, message: String) -> Error {
        sweep.fail(Error::Consumer(message)).await
    }

    fn report(sweep: &UpdatedStream) -> Result<SweepReport> {
        sweep.report()
    }
}

/// A poller of stream `S`. Cheap to clone and share: status and plan never wait for a sweep.
pub struct PollerOf<S: StreamKind> {
    pub(crate) core: Arc<tokio::sync::Mutex<Core>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) options: Arc<S::Options>,
}

impl<S: StreamKind> Clone for PollerOf<S> {
    fn clone(&self) -> Self {
        PollerOf {
            core: self.core.clone(),
            shared: self.shared.clone(),
            options: self.options.clone(),
        }
    }
}

impl<S: StreamKind> std::fmt::Debug for PollerOf<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("stream", &S::NAME)
            .field("status", &self.status())
            .field("options", &self.options)
            .finish()
    }
}

impl<S: StreamKind> PollerOf<S> {
    /// Builds the poller of an opened core.
    pub(crate) fn from_parts(core: Core, shared: Shared, options: S::Options) -> PollerOf<S> {
        PollerOf {
            core: Arc::new(tokio::sync::Mutex::new(core)),
            shared: Arc::new(shared),
            options: Arc::new(options),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The checkpoint key of this poller.
    pub fn key(&self) -> String {
        self.shared.key.clone()
    }

    /// The options.
    pub fn options(&self) -> &S::Options {
        &self.options
    }

    /// Calls `listener` for every event.
    pub fn on_event(&self, listener: impl Fn(&PollerEvent) + Send + Sync + 'static) {
        if let Ok(mut l) = self.shared.listener.lock() {
            *l = Some(Arc::new(listener));
        }
    }

    /// Stops the poller between requests; the checkpoint stays at the last acknowledged item.
    /// Usable from any thread.
    pub fn cancel(&self) {
        self.shared.cancel.cancel();
    }

    /// The token [`PollerOf::cancel`] trips, for hosts that tie it to their own cancellation.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.shared.cancel.clone()
    }

    /// Cursor (or watermark), holes, last sweep, next allowed sweep and requests spent,
    /// without a request.
    pub fn status(&self) -> PollerStatus {
        self.shared.status()
    }

    /// Cancels any sweep and releases the one-poller lock now (rather than when the last clone
    /// is dropped), so another poller may open the same checkpoint.
    pub async fn close(&self) {
        self.cancel();
        self.core.lock().await.lock = None;
    }

    /// Starts a sweep (waiting for the floor when needed) and returns its records as a
    /// stream: its `next` acknowledges the previous record and returns the next.
    pub async fn sweep_stream(&self) -> Result<S::Sweep> {
        let start = SweepStart {
            core: self.core.clone().lock_owned().await,
            shared: self.shared.clone(),
        };
        S::start(start, self.options.clone()).await
    }

    /// One sweep, handing each record to `handler`; a record is acknowledged when the handler
    /// returns `Ok`. A handler error stops the sweep with [`Error::Consumer`], the checkpoint at
    /// the last acknowledged record.
    pub async fn sweep<F, Fut, E>(&self, mut handler: F) -> Result<SweepReport>
    where
        F: FnMut(S::Record) -> Fut,
        Fut: Future<Output = std::result::Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut sweep = self.sweep_stream().await?;
        while let Some(record) = S::next(&mut sweep).await? {
            if let Err(e) = handler(record).await {
                return Err(S::consumer_failed(&mut sweep, e.to_string()).await);
            }
        }
        S::report(&sweep)
    }

    /// Sweeps for ever on the schedule (`interval` plus jitter between starts, never below the
    /// floor), through [`PollerOf::driver`]: transient failures back off (the wait doubles
    /// with each failure in a row, up to an hour); account errors (auth, disabled, licence),
    /// checkpoint and consumer errors stop it and are returned. Returns `Ok` when cancelled.
    pub async fn run_forever<F, Fut, E>(&self, mut handler: F) -> Result<()>
    where
        F: FnMut(S::Record) -> Fut,
        Fut: Future<Output = std::result::Result<(), E>>,
        E: std::fmt::Display,
    {
        self.driver(None)
            .run(async || self.sweep(&mut handler).await)
            .await
    }

    /// A [`Driver`] of this poller: `schedule` (default: the options' interval and jitter,
    /// account errors stop) decides when each sweep starts and what its outcome means.
    pub fn driver(&self, schedule: Option<Schedule>) -> Driver {
        self.shared.driver(schedule)
    }

    /// Takes this poller's sweeps from `floors` instead of the process's registry of account
    /// floors ([`AccountFloors::process`]).
    pub fn set_account_floors(&self, floors: Arc<AccountFloors>) {
        if let Ok(mut f) = self.shared.account_floors.lock() {
            *f = floors;
        }
    }
}
