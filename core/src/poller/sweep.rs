//! One sweep of the sequential poller, as a stream of records with acknowledgement.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::models::Item;
use crate::poller::options::{ItemRecord, PollerEvent, PollerOptions, SweepReport};
use crate::poller::state::{Hole, SweepOutcome, SweepSummary};
use crate::poller::{Core, Shared, cancellable};

type Fetch = JoinHandle<Result<Option<Item>>>;

/// A record handed out and not yet acknowledged.
#[derive(Debug)]
enum Pending {
    /// From the main run: acknowledging moves the cursor past `seq` and records `holes`.
    Main { seq: u64, holes: Vec<u64> },
    /// A hole filled late: acknowledging closes it.
    Hole { seq: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Holes,
    Main,
    Done,
}

/// A running sweep. [`SweepStream::next`] acknowledges the record it returned before (the
/// checkpoint moves past it) and returns the next one, or `None` at the blank answer. Dropping
/// the stream leaves the last record unacknowledged.
pub struct SweepStream {
    core: OwnedMutexGuard<Core>,
    shared: Arc<Shared>,
    options: Arc<PollerOptions>,
    phase: Phase,
    holes_todo: VecDeque<u64>,
    pipeline: VecDeque<(u64, Fetch)>,
    next_fetch: u64,
    pending: Option<Pending>,
    started: DateTime<Utc>,
    cursor_start: u64,
    requests_base: u64,
    client_requests_start: u64,
    items: u64,
    holes_recorded: u64,
    holes_filled: u64,
    holes_abandoned: u64,
    events: Vec<PollerEvent>,
    summary: Option<SweepSummary>,
}

impl std::fmt::Debug for SweepStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepStream")
            .field("phase", &self.phase)
            .field("cursor", &self.core.state.cursor)
            .field("items", &self.items)
            .finish()
    }
}

impl SweepStream {
    pub(crate) async fn start(
        mut core: OwnedMutexGuard<Core>,
        shared: Arc<Shared>,
        options: Arc<PollerOptions>,
    ) -> Result<SweepStream> {
        let now = core.begin_sweep(&shared).await?;
        let max_age =
            chrono::Duration::from_std(options.hole_max_age).unwrap_or(chrono::Duration::MAX);
        let mut events = vec![PollerEvent::SweepStarted {
            cursor: core.state.cursor,
        }];
        let mut holes_todo = VecDeque::new();
        let mut abandoned = 0;
        let old: Vec<u64> = core
            .state
            .holes
            .iter()
            .filter(|(_, h)| now - h.first_seen > max_age)
            .map(|(s, _)| *s)
            .collect();
        for seq in old {
            core.state.holes.remove(&seq);
            abandoned += 1;
            events.push(PollerEvent::HoleAbandoned { seq });
        }
        if abandoned > 0 {
            core.save(&shared)?;
        }
        holes_todo.extend(core.state.holes.keys().copied());
        for e in &events {
            shared.emit(e);
        }
        let cursor = core.state.cursor;
        let requests_base = core.state.requests_spent;
        let client_requests_start = core.client.requests_sent();
        Ok(SweepStream {
            core,
            shared,
            options,
            phase: Phase::Holes,
            holes_todo,
            pipeline: VecDeque::new(),
            next_fetch: cursor,
            pending: None,
            started: now,
            cursor_start: cursor,
            requests_base,
            client_requests_start,
            items: 0,
            holes_recorded: 0,
            holes_filled: 0,
            holes_abandoned: abandoned,
            events,
            summary: None,
        })
    }

    fn event(&mut self, e: PollerEvent) {
        self.shared.emit(&e);
        self.events.push(e);
    }

    fn requests(&self) -> u64 {
        self.core
            .client
            .requests_sent()
            .saturating_sub(self.client_requests_start)
    }

    fn update_spent(&mut self) {
        self.core.state.requests_spent = self.requests_base + self.requests();
    }

    /// Acknowledges the last record (moves and saves the checkpoint) and returns the next
    /// record, or `None` when the sweep reached a blank answer.
    pub async fn next(&mut self) -> Result<Option<ItemRecord>> {
        if self.summary.is_some() {
            return Ok(None);
        }
        if let Err(e) = self.ack() {
            return Err(self.fail(e).await);
        }
        match self.advance().await {
            Ok(Some(r)) => Ok(Some(r)),
            Ok(None) => {
                self.finish(SweepOutcome::Completed).await?;
                Ok(None)
            }
            Err(e) => Err(self.fail(e).await),
        }
    }

    fn ack(&mut self) -> Result<()> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let now = self.shared.clock.now();
        let mut events = Vec::new();
        match pending {
            Pending::Main { seq, holes } => {
                for h in holes {
                    self.core.state.holes.insert(
                        h,
                        Hole {
                            first_seen: now,
                            probes: 0,
                        },
                    );
                    self.holes_recorded += 1;
                    events.push(PollerEvent::HoleRecorded { seq: h });
                }
                self.core.state.cursor = self.core.state.cursor.max(seq + 1);
                self.core.state.stalled_next = None;
            }
            Pending::Hole { seq } => {
                self.core.state.holes.remove(&seq);
                self.holes_filled += 1;
                events.push(PollerEvent::HoleFilled { seq });
            }
        }
        self.items += 1;
        self.update_spent();
        let shared = self.shared.clone();
        self.core.save(&shared)?;
        for e in events {
            self.event(e);
        }
        Ok(())
    }

    async fn fetch(&self, seq: u64) -> Result<Option<Item>> {
        cancellable(&self.shared.cancel, self.core.client.item_by_seq(seq)).await
    }

    /// Keeps `read_ahead + 1` requests in flight from `next_fetch` on.
    fn fill_pipeline(&mut self) {
        let depth = self.options.read_ahead as usize + 1;
        while self.pipeline.len() < depth {
            let seq = self.next_fetch;
            self.next_fetch += 1;
            let client = self.core.client.clone();
            self.pipeline.push_back((
                seq,
                tokio::spawn(async move { client.item_by_seq(seq).await }),
            ));
        }
    }

    fn drain_pipeline(&mut self) {
        for (_, handle) in self.pipeline.drain(..) {
            handle.abort();
        }
    }

    async fn next_main(&mut self) -> Result<(u64, Option<Item>)> {
        if self.shared.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if self.options.read_ahead == 0 {
            let seq = self.next_fetch;
            self.next_fetch += 1;
            return Ok((seq, self.fetch(seq).await?));
        }
        self.fill_pipeline();
        let (seq, handle) = self.pipeline.pop_front().expect("pipeline filled");
        let joined = cancellable(&self.shared.cancel, async {
            handle
                .await
                .map_err(|e| Error::Consumer(format!("read-ahead task failed: {e}")))
        })
        .await?;
        Ok((seq, joined?))
    }

    async fn advance(&mut self) -> Result<Option<ItemRecord>> {
        loop {
            if self.shared.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            match self.phase {
                Phase::Holes => {
                    let Some(seq) = self.holes_todo.pop_front() else {
                        self.phase = Phase::Main;
                        continue;
                    };
                    match self.fetch(seq).await? {
                        Some(item) => {
                            let record = self.record(seq, item, true).await?;
                            self.pending = Some(Pending::Hole { seq });
                            return Ok(Some(record));
                        }
                        None => {
                            if let Some(h) = self.core.state.holes.get_mut(&seq) {
                                h.probes += 1;
                            }
                            self.event(PollerEvent::HoleProbed { seq });
                        }
                    }
                }
                Phase::Main => {
                    let (seq, answer) = self.next_main().await?;
                    if let Some(item) = answer {
                        let record = self.record(seq, item, false).await?;
                        self.pending = Some(Pending::Main {
                            seq,
                            holes: Vec::new(),
                        });
                        return Ok(Some(record));
                    }
                    // Blank at `seq`: answers past it are discarded (already counted).
                    self.drain_pipeline();
                    for step in 1..=u64::from(self.options.gap_tolerance) {
                        let probe = seq + step;
                        if let Some(item) = self.fetch(probe).await? {
                            let record = self.record(probe, item, false).await?;
                            self.pending = Some(Pending::Main {
                                seq: probe,
                                holes: (seq..probe).collect(),
                            });
                            self.next_fetch = probe + 1;
                            return Ok(Some(record));
                        }
                    }
                    self.phase = Phase::Done;
                    return Ok(None);
                }
                Phase::Done => return Ok(None),
            }
        }
    }

    /// The item with the expansions asked for. A missing case or form (404) is a warning, not
    /// a failure, so a restricted case cannot stall the poller.
    async fn record(&self, seq: u64, item: Item, late: bool) -> Result<ItemRecord> {
        let c = &self.core.client;
        let cancel = &self.shared.cancel;
        let e = self.options.expand;
        let mut warnings = Vec::new();
        fn found<T>(r: Result<T>, what: &str, warnings: &mut Vec<String>) -> Result<Option<T>> {
            match r {
                Ok(v) => Ok(Some(v)),
                Err(Error::NotFound { .. }) => {
                    warnings.push(format!("{what} not found"));
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        }
        let id = item.id;
        let case_id = item.primary_case_id.filter(|id| *id > 0);
        let form_data = match (e.form_data, id) {
            (true, Some(id)) => found(
                cancellable(cancel, c.item_form_data(id)).await,
                "form data",
                &mut warnings,
            )?,
            _ => None,
        };
        let case = match (e.case, case_id) {
            (true, Some(cid)) => found(
                cancellable(cancel, c.case(cid)).await,
                "case",
                &mut warnings,
            )?,
            _ => None,
        };
        let people = match (e.people, case_id) {
            (true, Some(cid)) => found(
                cancellable(cancel, c.case_people(cid)).await,
                "case people",
                &mut warnings,
            )?,
            _ => None,
        };
        let custody = match (e.custody, id) {
            (true, Some(id)) => found(
                cancellable(cancel, c.chain_of_custody(id)).await,
                "chain of custody",
                &mut warnings,
            )?,
            _ => None,
        };
        Ok(ItemRecord {
            organization_id: c.config().credentials.organization_id,
            sequential_org_id: seq,
            item,
            form_data,
            case,
            people,
            custody,
            late,
            warnings,
        })
    }

    /// Ends the sweep: stall detection when the cursor did not move, summary, save.
    async fn finish(&mut self, outcome: SweepOutcome) -> Result<()> {
        self.drain_pipeline();
        if outcome == SweepOutcome::Completed {
            self.detect_stall().await?;
        }
        self.close(outcome)
    }

    async fn detect_stall(&mut self) -> Result<()> {
        let cursor = self.core.state.cursor;
        if cursor != self.cursor_start || self.items > 0 {
            self.core.state.unmoved_sweeps = 0;
            return Ok(());
        }
        self.core.state.unmoved_sweeps += 1;
        if !self
            .core
            .state
            .unmoved_sweeps
            .is_multiple_of(self.options.stall_after_sweeps)
        {
            return Ok(());
        }
        // One search: is anything beyond the cursor?
        let page = cancellable(
            &self.shared.cancel,
            self.core.client.items_after_seq(cursor, 1),
        )
        .await?;
        let next_known = page
            .entities
            .iter()
            .filter_map(|i| i.sequential_org_id)
            .filter_map(|s| u64::try_from(s).ok())
            .filter(|s| *s > cursor)
            .min();
        match next_known {
            None => self.core.state.stalled_next = None,
            Some(next) => {
                let jumped = self.options.jump_stalls;
                self.core.state.stalled_next = Some(next);
                if jumped {
                    let now = self.shared.clock.now();
                    for h in cursor..next {
                        self.core.state.holes.insert(
                            h,
                            Hole {
                                first_seen: now,
                                probes: 0,
                            },
                        );
                        self.holes_recorded += 1;
                    }
                    self.core.state.cursor = next;
                    self.core.state.stalled_next = None;
                    self.core.state.unmoved_sweeps = 0;
                }
                self.event(PollerEvent::Stalled {
                    at: cursor,
                    next_known: next,
                    jumped,
                });
            }
        }
        Ok(())
    }

    fn close(&mut self, outcome: SweepOutcome) -> Result<()> {
        if self.summary.is_some() {
            return Ok(());
        }
        self.update_spent();
        let summary = SweepSummary {
            started: self.started,
            finished: self.shared.clock.now(),
            items: self.items,
            requests: self.requests(),
            holes_recorded: self.holes_recorded,
            holes_filled: self.holes_filled,
            holes_abandoned: self.holes_abandoned,
            cursor_start: self.cursor_start,
            cursor_end: self.core.state.cursor,
            outcome,
        };
        self.core.state.last_sweep = Some(summary.clone());
        self.summary = Some(summary.clone());
        let shared = self.shared.clone();
        let saved = self.core.save(&shared);
        self.event(PollerEvent::SweepFinished { summary });
        saved
    }

    async fn fail(&mut self, e: Error) -> Error {
        self.pending = None;
        self.drain_pipeline();
        let outcome = SweepOutcome::from_error(&e);
        if let Err(save_error) = self.close(outcome) {
            tracing::error!(error = %save_error, "could not save the checkpoint after a failed sweep");
        }
        e
    }

    /// Ends the sweep because the consumer failed on the last record (not acknowledged).
    pub async fn consumer_failed(&mut self, message: String) -> Error {
        self.fail(Error::Consumer(message)).await
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

    /// The cursor (next number to request) as acknowledged so far.
    pub fn cursor(&self) -> u64 {
        self.core.state.cursor
    }
}

impl Drop for SweepStream {
    fn drop(&mut self) {
        self.drain_pipeline();
        if self.summary.is_none() {
            // The consumer stopped reading: the last record stays unacknowledged.
            self.pending = None;
            if let Err(e) = self.close(SweepOutcome::Interrupted) {
                tracing::error!(error = %e, "could not save the checkpoint of an interrupted sweep");
            }
        }
    }
}
