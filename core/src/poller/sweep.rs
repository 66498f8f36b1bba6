//! One sweep of the sequential poller, as a stream of records with acknowledgement.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::models::Item;
use crate::poller::options::{DedupeKey, ItemRecord, PollerEvent, PollerOptions, SweepReport};
use crate::poller::state::{Hole, PartialNumber, StuckNumber, SweepOutcome, SweepSummary};
use crate::poller::{Core, Shared, cancellable};

type Fetch = JoinHandle<Result<Vec<Item>>>;

/// Where a number's items come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The main run: the number's last item moves the cursor past it.
    Main,
    /// An open hole filled late: its last item closes the hole.
    Hole,
}

/// The items of one number still to hand out (several when the number is duplicated).
#[derive(Debug)]
struct Batch {
    seq: u64,
    source: Source,
    items: VecDeque<Item>,
    /// Holes to record with the first acknowledgement (numbers blank before a probed item).
    holes: Vec<u64>,
    /// Several of its items have no id, so their keys (organisation, number) collide.
    keys_collide: bool,
}

/// A record handed out and not yet acknowledged.
#[derive(Debug)]
struct Pending {
    seq: u64,
    source: Source,
    /// Holes recorded when it is acknowledged.
    holes: Vec<u64>,
    item_id: Option<i64>,
    /// The last item of its number: acknowledging it completes the number.
    last: bool,
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
    batch: Option<Batch>,
    pending: Option<Pending>,
    /// The number being fetched or expanded (where a failure is recorded as stuck).
    at: Option<u64>,
    started: DateTime<Utc>,
    cursor_start: u64,
    requests_base: u64,
    client_requests_start: u64,
    items: u64,
    holes_recorded: u64,
    holes_filled: u64,
    holes_abandoned: u64,
    duplicate_numbers: u64,
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
            core.state.forget_partial(seq);
            abandoned += 1;
            events.push(PollerEvent::HoleAbandoned { seq });
        }
        if abandoned > 0 {
            core.save(&shared).await?;
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
            batch: None,
            pending: None,
            at: None,
            started: now,
            cursor_start: cursor,
            requests_base,
            client_requests_start,
            items: 0,
            holes_recorded: 0,
            holes_filled: 0,
            holes_abandoned: abandoned,
            duplicate_numbers: 0,
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
        if let Err(e) = self.ack().await {
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

    async fn ack(&mut self) -> Result<()> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        self.items += 1;
        self.settle(p.seq, p.source, p.holes, Some((p.item_id, p.last)))
            .await
    }

    /// Moves the state for number `seq`: records `holes`; `delivered` is the item just
    /// acknowledged and whether it was the number's last, `None` when every item of the
    /// number had been acknowledged before (a restart between them). Saves, then emits.
    async fn settle(
        &mut self,
        seq: u64,
        source: Source,
        holes: Vec<u64>,
        delivered: Option<(Option<i64>, bool)>,
    ) -> Result<()> {
        let now = self.shared.clock.now();
        let mut events = Vec::new();
        // The sweep's counters go back with the state when the save fails (see `Core::save`).
        let counted = (self.holes_recorded, self.holes_filled);
        let state = &mut self.core.state;
        for h in holes {
            state.holes.insert(
                h,
                Hole {
                    first_seen: now,
                    probes: 0,
                },
            );
            self.holes_recorded += 1;
            events.push(PollerEvent::HoleRecorded { seq: h });
        }
        let complete = delivered.is_none_or(|(_, last)| last);
        let this_partial = state.partial.as_ref().is_some_and(|p| p.seq == seq);
        if complete {
            state.forget_partial(seq);
        } else if let Some((item_id, _)) = delivered {
            if !this_partial {
                if let Some(other) = &state.partial {
                    // Not reached: a second number is never started while one is partly
                    // delivered (see `take_answer`); were it, its items would come again.
                    tracing::error!(
                        seq = other.seq,
                        "replacing the record of a partly delivered number"
                    );
                }
                state.partial = Some(PartialNumber {
                    seq,
                    done: Vec::new(),
                    done_without_id: 0,
                });
            }
            let partial = state.partial.as_mut().expect("set above");
            match item_id {
                Some(id) => partial.done.push(id),
                None => partial.done_without_id += 1,
            }
        }
        match source {
            Source::Main => {
                let next = if complete { seq + 1 } else { seq };
                state.cursor = state.cursor.max(next);
                state.stalled_next = None;
            }
            Source::Hole if complete => {
                state.holes.remove(&seq);
                self.holes_filled += 1;
                events.push(PollerEvent::HoleFilled { seq });
            }
            Source::Hole => {}
        }
        let cursor = state.cursor;
        let passed = |st_seq: u64| {
            source == Source::Main && st_seq < cursor && !state.holes.contains_key(&st_seq)
        };
        if state
            .stuck
            .as_ref()
            .is_some_and(|st| (st.seq == seq && complete) || passed(st.seq))
        {
            state.stuck = None;
        }
        self.update_spent();
        let shared = self.shared.clone();
        if let Err(e) = self.core.save(&shared).await {
            (self.holes_recorded, self.holes_filled) = counted;
            return Err(e);
        }
        for e in events {
            self.event(e);
        }
        Ok(())
    }

    /// The items of `seq`'s answer not acknowledged before (a restart inside a duplicated
    /// number redelivers only the rest); notes a duplicated number.
    fn fresh(&mut self, seq: u64, items: Vec<Item>) -> VecDeque<Item> {
        if items.len() > 1 {
            self.duplicate_numbers += 1;
            self.core.state.duplicate_numbers += 1;
            let ids = items.iter().filter_map(|i| i.id).collect();
            self.event(PollerEvent::DuplicateNumber { seq, ids });
        }
        let Some(partial) = self.core.state.partial.as_ref().filter(|p| p.seq == seq) else {
            return items.into();
        };
        let mut without_id_done = partial.done_without_id;
        items
            .into_iter()
            .filter(|item| match item.id {
                Some(id) => !partial.done.contains(&id),
                None if without_id_done > 0 => {
                    without_id_done -= 1;
                    false
                }
                None => true,
            })
            .collect()
    }

    async fn fetch(&mut self, seq: u64) -> Result<Vec<Item>> {
        self.at = Some(seq);
        cancellable(&self.shared.cancel, self.core.client.items_by_seq(seq)).await
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
                tokio::spawn(async move { client.items_by_seq(seq).await }),
            ));
        }
    }

    fn drain_pipeline(&mut self) {
        for (_, handle) in self.pipeline.drain(..) {
            handle.abort();
        }
    }

    async fn next_main(&mut self) -> Result<(u64, Vec<Item>)> {
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
        self.at = Some(seq);
        let joined = cancellable(&self.shared.cancel, async {
            handle
                .await
                .map_err(|e| Error::Consumer(format!("read-ahead task failed: {e}")))
        })
        .await?;
        Ok((seq, joined?))
    }

    /// Hands out the next item of the current batch, if any.
    async fn next_of_batch(&mut self) -> Result<Option<ItemRecord>> {
        let Some(batch) = self.batch.as_mut() else {
            return Ok(None);
        };
        let Some(item) = batch.items.pop_front() else {
            self.batch = None;
            return Ok(None);
        };
        let (seq, source, last) = (batch.seq, batch.source, batch.items.is_empty());
        let keys_collide = batch.keys_collide;
        let holes = std::mem::take(&mut batch.holes);
        if last {
            self.batch = None;
        }
        let item_id = item.id;
        let mut record = self.record(seq, item, source == Source::Hole).await?;
        if keys_collide && item_id.is_none() {
            record.warnings.push(format!(
                "several items without an `id` hold number {seq}: they share the key \
                 (organization, number), so an upsert keeps only one of them"
            ));
        }
        self.pending = Some(Pending {
            seq,
            source,
            holes,
            item_id,
            last,
        });
        Ok(Some(record))
    }

    /// Queues the answer of `seq` (not blank): its items not delivered before, or, when all
    /// were (a restart between them), completes the number at once.
    async fn take_answer(
        &mut self,
        seq: u64,
        source: Source,
        items: Vec<Item>,
        holes: Vec<u64>,
    ) -> Result<()> {
        let keys_collide = items.iter().filter(|i| i.id.is_none()).count() > 1;
        let items = self.fresh(seq, items);
        if items.is_empty() {
            return self.settle(seq, source, holes, None).await;
        }
        self.batch = Some(Batch {
            seq,
            source,
            items,
            holes,
            keys_collide,
        });
        Ok(())
    }

    async fn advance(&mut self) -> Result<Option<ItemRecord>> {
        loop {
            if self.shared.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            if let Some(record) = self.next_of_batch().await? {
                return Ok(Some(record));
            }
            match self.phase {
                Phase::Holes => {
                    let Some(seq) = self.holes_todo.pop_front() else {
                        self.phase = Phase::Main;
                        continue;
                    };
                    let items = self.fetch(seq).await?;
                    if items.is_empty() {
                        // A partly delivered number that now answers blank (its other items
                        // moved or went) forgets its acknowledged ids: should they come back,
                        // they are delivered again (at least once).
                        self.core.state.forget_partial(seq);
                        if let Some(h) = self.core.state.holes.get_mut(&seq) {
                            h.probes += 1;
                        }
                        self.event(PollerEvent::HoleProbed { seq });
                    } else if items.len() > 1
                        && self
                            .core
                            .state
                            .partial
                            .as_ref()
                            .is_some_and(|p| p.seq != seq)
                    {
                        // One number is delivered partly at a time: this hole waits for a
                        // later sweep, once the other number is complete.
                        tracing::info!(
                            seq,
                            "a hole holding several items waits until the partly delivered number is complete"
                        );
                    } else {
                        self.take_answer(seq, Source::Hole, items, Vec::new())
                            .await?;
                    }
                }
                Phase::Main => {
                    let (seq, items) = self.next_main().await?;
                    if !items.is_empty() {
                        self.take_answer(seq, Source::Main, items, Vec::new())
                            .await?;
                        continue;
                    }
                    // Blank at `seq`: answers past it are discarded (already counted).
                    self.drain_pipeline();
                    self.core.state.forget_partial(seq);
                    let mut found = false;
                    for step in 1..=u64::from(self.options.gap_tolerance) {
                        let probe = seq + step;
                        let items = self.fetch(probe).await?;
                        if !items.is_empty() {
                            self.next_fetch = probe + 1;
                            self.take_answer(probe, Source::Main, items, (seq..probe).collect())
                                .await?;
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        self.phase = Phase::Done;
                        return Ok(None);
                    }
                }
                Phase::Done => return Ok(None),
            }
        }
    }

    /// The item with the expansions asked for. A missing case or form (404) is a warning, not
    /// a failure, so a restricted case cannot stall the poller.
    async fn record(&mut self, seq: u64, item: Item, late: bool) -> Result<ItemRecord> {
        self.at = Some(seq);
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
        let organization_id = c.config().credentials.organization_id;
        if id.is_none() {
            warnings.push(format!(
                "the item has no `id`: its key is (organization {organization_id}, number {seq})"
            ));
        }
        let record = ItemRecord {
            key: DedupeKey::of(organization_id, seq, &item),
            organization_id,
            sequential_org_id: seq,
            item,
            form_data,
            case,
            people,
            custody,
            late,
            warnings,
        };
        Ok(with_form_data_warnings(record))
    }

    /// Ends the sweep: stall detection when the cursor did not move, summary, save.
    async fn finish(&mut self, outcome: SweepOutcome) -> Result<()> {
        self.drain_pipeline();
        if outcome == SweepOutcome::Completed {
            // Reaching the blank means no number is stuck; a failing stall search is not
            // about a number.
            self.core.state.stuck = None;
            self.at = None;
            self.detect_stall().await?;
        }
        self.close(outcome).await
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

    /// Writes the sweep's summary into the state (once); `None` when it was written before.
    fn summarize(&mut self, outcome: SweepOutcome) -> Option<SweepSummary> {
        if self.summary.is_some() {
            return None;
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
            duplicate_numbers: self.duplicate_numbers,
            cursor_start: self.cursor_start,
            cursor_end: self.core.state.cursor,
            outcome,
        };
        self.core.state.last_sweep = Some(summary.clone());
        self.summary = Some(summary.clone());
        Some(summary)
    }

    /// Ends the sweep: summary, save, then the `SweepFinished` event.
    async fn close(&mut self, outcome: SweepOutcome) -> Result<()> {
        let Some(summary) = self.summarize(outcome) else {
            return Ok(());
        };
        let shared = self.shared.clone();
        let saved = self.core.save(&shared).await;
        self.event(PollerEvent::SweepFinished { summary });
        saved
    }

    /// [`SweepStream::close`] on the calling thread (the stream is being dropped).
    fn close_now(&mut self, outcome: SweepOutcome) -> Result<()> {
        let Some(summary) = self.summarize(outcome) else {
            return Ok(());
        };
        let shared = self.shared.clone();
        let saved = self.core.save_now(&shared);
        self.event(PollerEvent::SweepFinished { summary });
        saved
    }

    async fn fail(&mut self, e: Error) -> Error {
        self.pending = None;
        self.batch = None;
        self.drain_pipeline();
        self.note_stuck(&e);
        let outcome = SweepOutcome::from_error(&e);
        if let Err(save_error) = self.close(outcome).await {
            tracing::error!(error = %save_error, "could not save the checkpoint after a failed sweep");
        }
        e
    }

    /// Records the number this failure happened at, when the failure is about what was
    /// answered there ([`crate::ErrorCode::is_about_the_answer`]).
    fn note_stuck(&mut self, e: &Error) {
        let Some(seq) = self.at else { return };
        if !e.code().is_about_the_answer() {
            return;
        }
        let (since, sweeps) = match &self.core.state.stuck {
            Some(st) if st.seq == seq => (st.since, st.sweeps + 1),
            _ => (self.shared.clock.now(), 1),
        };
        if sweeps >= 3 {
            tracing::warn!(
                seq,
                sweeps,
                code = e.code().name(),
                "the poller is stuck at this number; if it can never be read, an operator can \
                 step over it with skip(seq, reason)"
            );
        }
        self.core.state.stuck = Some(StuckNumber {
            seq,
            code: e.code().as_u32(),
            name: e.code().name().to_string(),
            message: e.to_string(),
            since,
            sweeps,
        });
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

/// Adds a warning for every form-data entry (the expansion's, and those inside the item, the
/// case and the people) whose `data` did not decode; the raw text stays in the entry.
fn with_form_data_warnings(mut record: ItemRecord) -> ItemRecord {
    let mut found = Vec::new();
    form_data_warnings("form data", record.form_data.as_ref(), &mut found);
    form_data_warnings(
        "the item's formData",
        record.item.form_data.as_ref(),
        &mut found,
    );
    if let Some(case) = &record.case {
        form_data_warnings("the case's formData", case.form_data.as_ref(), &mut found);
    }
    for person in record.people.iter().flatten() {
        form_data_warnings("a person's formData", person.form_data.as_ref(), &mut found);
    }
    record.warnings.extend(found);
    record
}

/// Pushes a warning for each entry of `entries` whose `data` did not decode.
pub(crate) fn form_data_warnings(
    place: &str,
    entries: Option<&Vec<crate::models::FormDataEntry>>,
    out: &mut Vec<String>,
) {
    for entry in entries.into_iter().flatten() {
        if let Some(error) = entry.data.error() {
            out.push(format!(
                "{place}: form {} (entry {}): {error}; the raw `data` text is kept",
                entry.form_id.map_or("?".to_string(), |f| f.to_string()),
                entry.id.as_deref().unwrap_or("?"),
            ));
        }
    }
}

impl Drop for SweepStream {
    fn drop(&mut self) {
        self.drain_pipeline();
        if self.summary.is_none() {
            // The consumer stopped reading: the last record stays unacknowledged.
            self.pending = None;
            if let Err(e) = self.close_now(SweepOutcome::Interrupted) {
                tracing::error!(error = %e, "could not save the checkpoint of an interrupted sweep");
            }
        }
    }
}
