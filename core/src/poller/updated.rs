//! The updated-items stream: items changed since a watermark time, read with an overlap window
//! and de-duplicated by (id, modification time), checkpointed like the sequential poller.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::OwnedMutexGuard;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::models::{Item, SafeDateTime};
use crate::poller::options::{DedupeKey, MIN_SWEEP_INTERVAL, PollerEvent, SweepReport};
use crate::poller::state::{SweepOutcome, SweepSummary};
use crate::poller::{
    CheckpointStore, Clock, Core, Shared, StreamKind, SystemClock, Updated, cancellable,
};

/// Options of the updated-items stream.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatedOptions {
    /// Where to start when no checkpoint exists; `None` means "from now on".
    pub since: Option<DateTime<Utc>>,
    /// How far before the watermark each sweep reads again (changes committed late). 5 min.
    pub overlap: Duration,
    /// Items per search page. Default 100.
    pub page_size: u32,
    /// Time between sweep starts for `run_forever`. Default 10 min.
    pub interval: Duration,
    /// Random extra wait added to each interval, up to this. Default 30 s.
    pub jitter: Duration,
    /// Lowers the 60-second floor (tests against a simulator only).
    pub unsafe_min_interval: Option<Duration>,
}

impl Default for UpdatedOptions {
    fn default() -> Self {
        UpdatedOptions {
            since: None,
            overlap: Duration::from_secs(300),
            page_size: 100,
            interval: Duration::from_secs(600),
            jitter: Duration::from_secs(30),
            unsafe_min_interval: None,
        }
    }
}

/// One changed item. Upsert it by [`UpdatedRecord::key`], (organisation, item id): the same
/// row a [`crate::poller::Poller`] record of the item lands in, whatever number it has now (an
/// item renumbered below a poller's cursor reaches the host only through this stream, or a
/// hole re-probe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdatedRecord {
    /// The identity to upsert by: (organisation, item id).
    pub key: DedupeKey,
    /// Organisation id.
    pub organization_id: u64,
    /// The item id (first half of the dedupe key).
    pub item_id: i64,
    /// The modification time as sent (second half of the dedupe key).
    pub updated: String,
    /// The item.
    pub item: Item,
    /// Form data inside the item whose `data` did not decode (kept raw).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl UpdatedRecord {
    /// The identity of this change: (item id, modification time); the stream delivers each
    /// change once within its overlap window.
    pub fn dedupe_key(&self) -> (i64, &str) {
        (self.item_id, &self.updated)
    }
}

/// Follows the updated-items feed.
pub type UpdatedPoller = crate::poller::PollerOf<crate::poller::Updated>;

impl crate::poller::PollerOf<crate::poller::Updated> {
    /// Opens the stream on `store` (stream name `updated`).
    pub fn open(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options: UpdatedOptions,
    ) -> Result<UpdatedPoller> {
        UpdatedPoller::open_with_clock(client, store, options, Arc::new(SystemClock))
    }

    /// [`UpdatedPoller::open`] with an injected clock.
    pub fn open_with_clock(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options: UpdatedOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<UpdatedPoller> {
        check_options(&options)?;
        let core = Core::open(client, store, Updated::NAME, 1)?;
        Ok(UpdatedPoller::assemble(core, options, clock))
    }

    /// [`UpdatedPoller::open`] loading the checkpoint through
    /// [`CheckpointStore::load_async`] (see [`crate::poller::Poller::open_async`]).
    pub async fn open_async(
        client: Client,
        store: Arc<dyn CheckpointStore>,
        options: UpdatedOptions,
    ) -> Result<UpdatedPoller> {
        check_options(&options)?;
        let core = Core::open_async(client, store, Updated::NAME, 1).await?;
        Ok(UpdatedPoller::assemble(
            core,
            options,
            Arc::new(SystemClock),
        ))
    }

    fn assemble(mut core: Core, options: UpdatedOptions, clock: Arc<dyn Clock>) -> UpdatedPoller {
        if core.state.watermark.is_none() {
            core.state.watermark = Some(options.since.unwrap_or_else(|| clock.now()));
        }
        let floor = options.unsafe_min_interval.unwrap_or(MIN_SWEEP_INTERVAL);
        let shared = Shared::new(&core, clock, floor, options.interval, options.jitter);
        crate::poller::PollerOf::from_parts(core, shared, options)
    }
}

fn check_options(options: &UpdatedOptions) -> Result<()> {
    super::options::check_durations(&[
        ("overlap", Some(options.overlap)),
        ("interval", Some(options.interval)),
        ("jitter", Some(options.jitter)),
        ("unsafe_min_interval", options.unsafe_min_interval),
    ])?;
    let floor = options.unsafe_min_interval.unwrap_or(MIN_SWEEP_INTERVAL);
    if options.interval < floor {
        return Err(Error::InvalidConfig(format!(
            "interval {:?} is below the floor of {floor:?} between sweeps",
            options.interval
        )));
    }
    if options.page_size == 0 || options.page_size > 1000 {
        return Err(Error::InvalidConfig("page_size must be 1..=1000".into()));
    }
    Ok(())
}

/// A running updated-items sweep; `next` acknowledges the previous record.
pub struct UpdatedStream {
    core: OwnedMutexGuard<Core>,
    shared: Arc<Shared>,
    options: Arc<UpdatedOptions>,
    since: SafeDateTime,
    page: u32,
    buffer: VecDeque<Item>,
    exhausted: bool,
    pending: Option<(i64, String, Option<DateTime<Utc>>)>,
    started: DateTime<Utc>,
    client_requests_start: u64,
    requests_base: u64,
    items: u64,
    events: Vec<PollerEvent>,
    summary: Option<SweepSummary>,
}

impl std::fmt::Debug for UpdatedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdatedStream")
            .field("page", &self.page)
            .field("items", &self.items)
            .finish()
    }
}

impl UpdatedStream {
    pub(crate) async fn start(
        mut core: OwnedMutexGuard<Core>,
        shared: Arc<Shared>,
        options: Arc<UpdatedOptions>,
    ) -> Result<UpdatedStream> {
        let now = core.begin_sweep(&shared).await?;
        let overlap = chrono::Duration::from_std(options.overlap).unwrap_or_default();
        let watermark = core.state.watermark.unwrap_or(now);
        let since = SafeDateTime::from_utc(watermark - overlap);
        let client_requests_start = core.client.requests_sent();
        let requests_base = core.state.requests_spent;
        let cursor = core.state.cursor;
        let start = PollerEvent::SweepStarted { cursor };
        shared.emit(&start);
        Ok(UpdatedStream {
            core,
            shared,
            options,
            since,
            page: 0,
            buffer: VecDeque::new(),
            exhausted: false,
            pending: None,
            started: now,
            client_requests_start,
            requests_base,
            items: 0,
            events: vec![start],
            summary: None,
        })
    }

    /// Acknowledges the previous record and returns the next changed item, or `None`.
    pub async fn next(&mut self) -> Result<Option<UpdatedRecord>> {
        if self.summary.is_some() {
            return Ok(None);
        }
        if let Err(e) = self.ack().await {
            return Err(self.fail(e).await);
        }
        match self.advance().await {
            Ok(Some(r)) => Ok(Some(r)),
            Ok(None) => {
                self.close(SweepOutcome::Completed).await?;
                Ok(None)
            }
            Err(e) => Err(self.fail(e).await),
        }
    }

    async fn ack(&mut self) -> Result<()> {
        let Some((id, updated, when)) = self.pending.take() else {
            return Ok(());
        };
        let state = &mut self.core.state;
        if let Some(when) = when
            && state.watermark.is_none_or(|w| when > w)
        {
            state.watermark = Some(when);
        }
        state.recent.push((id, updated));
        // Keep only keys inside the overlap window below the watermark.
        if let Some(w) = state.watermark {
            let floor = w - chrono::Duration::from_std(self.options.overlap).unwrap_or_default();
            state.recent.retain(|(_, u)| {
                SafeDateTime::parse(u.clone())
                    .utc()
                    .is_none_or(|t| t >= floor)
            });
        }
        self.items += 1;
        self.core.state.requests_spent = self.requests_base + self.requests();
        let shared = self.shared.clone();
        self.core.save(&shared).await
    }

    fn requests(&self) -> u64 {
        self.core
            .client
            .requests_sent()
            .saturating_sub(self.client_requests_start)
    }

    async fn advance(&mut self) -> Result<Option<UpdatedRecord>> {
        loop {
            if self.shared.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if let Some(item) = self.buffer.pop_front() {
                let Some(id) = item.id else { continue };
                let (updated, when) =
                    match item.updated_date.as_ref().or(item.date_created.as_ref()) {
                        Some(d) => (d.raw().to_string(), d.utc()),
                        None => (String::new(), None),
                    };
                if self
                    .core
                    .state
                    .recent
                    .iter()
                    .any(|(i, u)| *i == id && *u == updated)
                {
                    continue;
                }
                self.pending = Some((id, updated.clone(), when));
                let organization_id = self.core.client.config().credentials.organization_id;
                let mut warnings = Vec::new();
                crate::poller::sweep::form_data_warnings(
                    "the item's formData",
                    item.form_data.as_ref(),
                    &mut warnings,
                );
                return Ok(Some(UpdatedRecord {
                    key: DedupeKey::Item {
                        organization_id,
                        item_id: id,
                    },
                    organization_id,
                    item_id: id,
                    updated,
                    item,
                    warnings,
                }));
            }
            if self.exhausted {
                return Ok(None);
            }
            self.page += 1;
            let page = cancellable(
                &self.shared.cancel,
                self.core
                    .client
                    .updated_items(&self.since, self.page, self.options.page_size),
            )
            .await?;
            if (page.entities.len() as u32) < self.options.page_size {
                self.exhausted = true;
            }
            self.buffer.extend(page.entities);
        }
    }

    /// Writes the sweep's summary into the state (once); `None` when it was written before.
    fn summarize(&mut self, outcome: SweepOutcome) -> Option<SweepSummary> {
        if self.summary.is_some() {
            return None;
        }
        self.core.state.requests_spent = self.requests_base + self.requests();
        let summary = SweepSummary {
            started: self.started,
            finished: self.shared.clock.now(),
            items: self.items,
            requests: self.requests(),
            holes_recorded: 0,
            holes_filled: 0,
            holes_abandoned: 0,
            duplicate_numbers: 0,
            cursor_start: self.core.state.cursor,
            cursor_end: self.core.state.cursor,
            outcome,
        };
        self.core.state.last_sweep = Some(summary.clone());
        self.summary = Some(summary.clone());
        Some(summary)
    }

    fn finished(&mut self, summary: SweepSummary) {
        let e = PollerEvent::SweepFinished { summary };
        self.shared.emit(&e);
        self.events.push(e);
    }

    /// Ends the sweep: summary, save, then the `SweepFinished` event.
    async fn close(&mut self, outcome: SweepOutcome) -> Result<()> {
        let Some(summary) = self.summarize(outcome) else {
            return Ok(());
        };
        let shared = self.shared.clone();
        let saved = self.core.save(&shared).await;
        self.finished(summary);
        saved
    }

    /// [`UpdatedStream::close`] on the calling thread (the stream is being dropped).
    fn close_now(&mut self, outcome: SweepOutcome) -> Result<()> {
        let Some(summary) = self.summarize(outcome) else {
            return Ok(());
        };
        let shared = self.shared.clone();
        let saved = self.core.save_now(&shared);
        self.finished(summary);
        saved
    }

    /// Ends the sweep with `e` (the last record stays unacknowledged) and returns it.
    pub async fn fail(&mut self, e: Error) -> Error {
        self.pending = None;
        let outcome = SweepOutcome::from_error(&e);
        if let Err(s) = self.close(outcome).await {
            tracing::error!(error = %s, "could not save the updated-items checkpoint");
        }
        e
    }

    /// The report of a finished sweep.
    pub fn report(&self) -> Result<SweepReport> {
        match &self.summary {
            Some(summary) => Ok(SweepReport {
                summary: summary.clone(),
                events: self.events.clone(),
            }),
            None => Err(Error::Consumer("the sweep has not finished".into())),
        }
    }
}

impl Drop for UpdatedStream {
    fn drop(&mut self) {
        if self.summary.is_none() {
            self.pending = None;
            if let Err(e) = self.close_now(SweepOutcome::Interrupted) {
                tracing::error!(error = %e, "could not save the updated-items checkpoint");
            }
        }
    }
}
