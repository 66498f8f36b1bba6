//! [`GroupCommit`]: saves queued while a commit runs go into the next commit together, each
//! completes only after the commit that holds it, each gets its own result (one fenced
//! poller's save fails alone), and pollers sweeping through one group commit over SQLite
//! deliver everything and leave every checkpoint durable. Causal: the first commit is held on a
//! channel this test controls; nothing is timed.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use safe_tracker::error::{Error, ErrorCode, Result};
use safe_tracker::poller::{
    CheckpointStore, GroupCommit, ItemRecord, MemoryCheckpoint, PollerOptions, PollerState,
    SqliteCheckpoint,
};

/// An in-memory store that records every batch, holds its first commit until released, and
/// refuses saves of the keys in `fenced`.
#[derive(Debug)]
struct Recording {
    memory: MemoryCheckpoint,
    batches: Mutex<Vec<Vec<String>>>,
    hold_first: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
    fenced: Vec<String>,
}

impl Recording {
    fn new(hold: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>, fenced: &[&str]) -> Recording {
        Recording {
            memory: MemoryCheckpoint::new(),
            batches: Mutex::new(Vec::new()),
            hold_first: Mutex::new(hold),
            fenced: fenced.iter().map(|k| k.to_string()).collect(),
        }
    }
}

impl CheckpointStore for Recording {
    fn load(&self, key: &str) -> Result<Option<PollerState>> {
        self.memory.load(key)
    }

    fn save(&self, key: &str, state: &PollerState) -> Result<()> {
        self.memory.save(key, state)
    }

    fn save_batch(&self, batch: &[(&str, &PollerState)]) -> Vec<Result<()>> {
        if let Some((entered, release)) = self.hold_first.lock().unwrap().take() {
            entered.send(()).unwrap();
            release.recv().unwrap();
        }
        self.batches
            .lock()
            .unwrap()
            .push(batch.iter().map(|(k, _)| k.to_string()).collect());
        batch
            .iter()
            .map(|(key, state)| {
                if self.fenced.iter().any(|f| f == key) {
                    Err(Error::Fenced(format!("{key} is owned by another worker")))
                } else {
                    self.memory.save(key, state)
                }
            })
            .collect()
    }
}

fn state(cursor: u64) -> PollerState {
    PollerState::new("items", cursor)
}

#[tokio::test]
async fn saves_queued_during_a_commit_share_the_next_and_complete_after_it() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let inner = Arc::new(Recording::new(Some((entered_tx, release_rx)), &[]));
    let group = Arc::new(GroupCommit::new(inner.clone(), 100).unwrap());

    let first = tokio::spawn(group.clone().save_async("a".into(), state(1)));
    tokio::task::spawn_blocking(move || entered_rx.recv())
        .await
        .unwrap()
        .unwrap();
    // The first commit is held: these three queue behind it.
    let rest: Vec<_> = ["b", "c", "d"]
        .iter()
        .map(|k| tokio::spawn(group.clone().save_async(k.to_string(), state(2))))
        .collect();
    tokio::task::yield_now().await;
    assert!(!first.is_finished(), "completed before its commit");
    assert!(rest.iter().all(|s| !s.is_finished()));
    assert_eq!(inner.load("b").unwrap(), None, "nothing committed yet");

    release_tx.send(()).unwrap();
    first.await.unwrap().unwrap();
    for save in rest {
        save.await.unwrap().unwrap();
    }
    for key in ["a", "b", "c", "d"] {
        assert!(inner.load(key).unwrap().is_some(), "{key} committed");
    }
    assert_eq!(
        *inner.batches.lock().unwrap(),
        vec![
            vec!["a".to_string()],
            vec!["b".into(), "c".into(), "d".into()]
        ],
        "the three queued saves went into one commit"
    );
}

#[tokio::test]
async fn a_fenced_save_fails_alone_and_blocking_saves_queue_too() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let inner = Arc::new(Recording::new(Some((entered_tx, release_rx)), &["fenced"]));
    let group = Arc::new(GroupCommit::new(inner.clone(), 100).unwrap());

    let hold = tokio::spawn(group.clone().save_async("first".into(), state(1)));
    tokio::task::spawn_blocking(move || entered_rx.recv())
        .await
        .unwrap()
        .unwrap();
    let fenced = tokio::spawn(group.clone().save_async("fenced".into(), state(5)));
    let ok = tokio::spawn(group.clone().save_async("ok".into(), state(6)));
    let g = group.clone();
    let blocking = tokio::task::spawn_blocking(move || g.save("blocking", &state(7)));
    // The blocking save joins whichever commit follows; only its result is checked.
    release_tx.send(()).unwrap();
    hold.await.unwrap().unwrap();
    let err = fenced.await.unwrap().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Fenced, "{err}");
    ok.await.unwrap().unwrap();
    blocking.await.unwrap().unwrap();
    assert_eq!(inner.load("fenced").unwrap(), None);
    assert_eq!(inner.load("ok").unwrap().unwrap().cursor, 6);
    assert_eq!(inner.load("blocking").unwrap().unwrap().cursor, 7);
}

#[tokio::test]
async fn pollers_through_one_group_commit_over_sqlite_keep_every_checkpoint() {
    let sim = common::simulator(25).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoints.db");
    let group: Arc<dyn CheckpointStore> =
        Arc::new(GroupCommit::new(Arc::new(SqliteCheckpoint::open(&path).unwrap()), 64).unwrap());
    let options = || PollerOptions {
        unsafe_min_interval: Some(Duration::ZERO),
        ..PollerOptions::default()
    };
    let mut sweeps = Vec::new();
    for org in [1, 2] {
        let poller = safe_tracker::poller::Poller::open_async(
            common::client(&sim, org),
            group.clone(),
            options(),
        )
        .await
        .unwrap();
        sweeps.push(tokio::spawn(async move {
            let report = poller
                .sweep(|_r: ItemRecord| async { Ok::<(), String>(()) })
                .await
                .unwrap();
            poller.close().await;
            report.summary.items
        }));
    }
    for sweep in sweeps {
        assert_eq!(sweep.await.unwrap(), 25);
    }
    drop(group);
    // Reopened from the file alone: both cursors are past the last item.
    let reopened = SqliteCheckpoint::open(&path).unwrap();
    for org in [1, 2] {
        let key = safe_tracker::poller::poller_key(&common::client(&sim, org), "items");
        assert_eq!(
            reopened.load(&key).unwrap().unwrap().cursor,
            26,
            "org {org}"
        );
    }
}
