//! [`GroupCommit`]: many pollers' checkpoint saves committed together by one writer, each save
//! completing only after the commit that holds it.

use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::poller::checkpoint::{CheckpointStore, LoadFuture, SaveFuture, SaveMode};
use crate::poller::state::PollerState;

/// A [`CheckpointStore`] in front of another that commits the saves of every poller using it
/// in groups: each save waits in a queue, one writer thread takes everything queued (up to
/// `max_batch`) and commits it with the inner store's [`CheckpointStore::save_batch`] (one
/// transaction for SQLite), and each save completes, with its own result, only after that
/// commit. While one commit runs, the next group gathers, so a thousand pollers cost about
/// one commit per round of saves instead of a thousand. Nothing runs on the async threads.
pub struct GroupCommit {
    inner: Arc<dyn CheckpointStore>,
    queue: Mutex<Option<mpsc::Sender<Pending>>>,
    /// The writer, joined on drop: once a group commit is gone, so is its hold on the store.
    writer: Option<std::thread::JoinHandle<()>>,
}

struct Pending {
    key: String,
    state: PollerState,
    done: Done,
}

/// How a queued save is told it is committed.
enum Done {
    Async(tokio::sync::oneshot::Sender<Result<()>>),
    Blocking(mpsc::SyncSender<Result<()>>),
}

impl Done {
    fn send(self, result: Result<()>) {
        // A caller that stopped waiting (a dropped future) no longer needs the answer.
        let _ = match self {
            Done::Async(tx) => tx.send(result).map_err(drop),
            Done::Blocking(tx) => tx.send(result).map_err(drop),
        };
    }
}

impl fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCommit")
            .field("inner", &self.inner)
            .finish()
    }
}

impl GroupCommit {
    /// Starts the writer thread of a group commit over `inner`; at most `max_batch` saves
    /// (at least 1) go into one commit.
    pub fn new(inner: Arc<dyn CheckpointStore>, max_batch: usize) -> Result<GroupCommit> {
        GroupCommit::observed(inner, max_batch, |_, _| {})
    }

    /// [`GroupCommit::new`] calling `observer(saves, duration)` after each commit (metrics).
    pub fn observed(
        inner: Arc<dyn CheckpointStore>,
        max_batch: usize,
        observer: impl Fn(usize, std::time::Duration) + Send + 'static,
    ) -> Result<GroupCommit> {
        let (tx, rx) = mpsc::channel::<Pending>();
        let writer = inner.clone();
        let max_batch = max_batch.max(1);
        let writer = std::thread::Builder::new()
            .name("safe-tracker-commit".into())
            .spawn(move || write_groups(writer.as_ref(), &rx, max_batch, &observer))
            .map_err(|e| Error::Checkpoint(format!("cannot start the commit thread: {e}")))?;
        Ok(GroupCommit {
            inner,
            queue: Mutex::new(Some(tx)),
            writer: Some(writer),
        })
    }

    fn enqueue(&self, key: String, state: PollerState, done: Done) -> Result<()> {
        let queue = self
            .queue
            .lock()
            .map_err(|_| Error::Checkpoint("the commit queue is poisoned".into()))?;
        queue
            .as_ref()
            .ok_or_else(|| Error::Checkpoint("the commit thread has stopped".into()))?
            .send(Pending { key, state, done })
            .map_err(|_| Error::Checkpoint("the commit thread has stopped".into()))
    }
}

impl Drop for GroupCommit {
    /// Ends the queue, lets the writer commit what it holds, and waits for it.
    fn drop(&mut self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The writer: waits for a first save, takes whatever else is queued, commits, answers each.
/// Ends when every [`GroupCommit`] handle is gone and the queue is drained.
fn write_groups(
    store: &dyn CheckpointStore,
    rx: &mpsc::Receiver<Pending>,
    max_batch: usize,
    observer: &dyn Fn(usize, std::time::Duration),
) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let entries: Vec<(&str, &PollerState)> =
            group.iter().map(|p| (p.key.as_str(), &p.state)).collect();
        let started = std::time::Instant::now();
        let mut results = store.save_batch(&entries);
        observer(group.len(), started.elapsed());
        tracing::debug!(saves = group.len(), "checkpoint group committed");
        results.resize_with(group.len(), || {
            Err(Error::Checkpoint(
                "the store's save_batch returned fewer results than saves".into(),
            ))
        });
        for (pending, result) in group.into_iter().zip(results) {
            pending.done.send(result);
        }
    }
}

impl CheckpointStore for GroupCommit {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        self.inner.load(key)
    }

    /// Queues the save and blocks the calling thread until its group is committed.
    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.enqueue(key.to_string(), state.clone(), Done::Blocking(tx))?;
        rx.recv()
            .map_err(|_| Error::Checkpoint("the commit thread has stopped".into()))?
    }

    /// Passed through: a group is committed by the inner store as one batch already.
    fn save_batch(&self, batch: &[(&str, &PollerState)]) -> Vec<Result<()>> {
        self.inner.save_batch(batch)
    }

    fn save_mode(&self) -> SaveMode {
        SaveMode::Blocking
    }

    /// Queues the save; completes once its group is committed (no thread is held meanwhile).
    fn save_async(self: Arc<Self>, key: String, state: PollerState) -> SaveFuture {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.enqueue(key, state, Done::Async(tx));
        Box::pin(async move {
            queued?;
            rx.await
                .map_err(|_| Error::Checkpoint("the commit thread has stopped".into()))?
        })
    }

    fn load_async(self: Arc<Self>, key: String) -> LoadFuture {
        self.inner.clone().load_async(key)
    }

    fn lock_path(&self, key: &str) -> Option<PathBuf> {
        self.inner.lock_path(key)
    }
}
