//! Checkpoint saves never stall the runtime: while a store's save is blocked (on a channel
//! this test holds), an unrelated call on the same client and the same current-thread runtime
//! completes. Causal, not timed: the save is released only after the other call returned.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use safe_tracker::models::Lookup;
use safe_tracker::poller::{CallbackCheckpoint, ItemRecord, Poller, PollerOptions};

#[test]
fn an_unrelated_call_completes_while_a_save_is_blocked() {
    // The simulator runs on a runtime of its own, so only the client's runtime is at stake.
    let sim_rt = tokio::runtime::Runtime::new().unwrap();
    let sim = sim_rt.block_on(common::simulator(3));
    let client = common::client(&sim, 1);

    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let first = AtomicBool::new(true);
    let store = CallbackCheckpoint::new(
        |_key| Ok(None),
        move |_key, _state| {
            if first.swap(false, Ordering::SeqCst) {
                entered_tx.send(()).ok();
                release_rx.lock().unwrap().recv().ok();
            }
            Ok(())
        },
    );
    let poller = Poller::open(
        client.clone(),
        Arc::new(store),
        PollerOptions {
            unsafe_min_interval: Some(Duration::ZERO),
            ..PollerOptions::default()
        },
    )
    .unwrap();

    let (done_tx, done_rx) = mpsc::channel::<String>();
    let worker = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let p = poller.clone();
            let sweep = tokio::spawn(async move {
                p.sweep(|_r: ItemRecord| async { Ok::<(), String>(()) })
                    .await
            });
            // The sweep's first save (its start) is now blocked inside the store.
            tokio::task::spawn_blocking(move || entered_rx.recv())
                .await
                .unwrap()
                .unwrap();
            let genders = client.lookup(Lookup::Genders).await;
            assert!(genders.is_ok(), "{genders:?}");
            assert!(!sweep.is_finished(), "the save is still blocked");
            done_tx.send("the other call completed".into()).ok();
            release_tx.send(()).ok();
            let report = sweep.await.unwrap().unwrap();
            assert_eq!(report.summary.items, 3);
        });
    });
    // A deadlock guard, not a time limit on speed: with the save on the runtime's thread the
    // other call never runs, and this fails instead of hanging.
    let done = done_rx.recv_timeout(Duration::from_secs(120));
    assert_eq!(
        done.as_deref(),
        Ok("the other call completed"),
        "the runtime stalled while a checkpoint save was blocked"
    );
    worker.join().unwrap();
}
