//! Messy numbering against the simulator (safe-api.md §4.5): numbers held by several items,
//! items renumbered after delivery, corrupt form data, and an operator stepping over a number
//! that can never be read. Nothing may wedge the poller, and nothing may be lost.

mod common;

use std::sync::{Arc, Mutex};

use common::{client, clock, next_minute, open, simulator};
use safe_simulator::{FaultRule, Simulator};
use safe_tracker::poller::{
    CheckpointStore, DedupeKey, Expand, FileCheckpoint, ItemRecord, MemoryCheckpoint, Poller,
    PollerEvent, PollerOptions, UpdatedOptions, UpdatedPoller,
};
use safe_tracker::{Error, ErrorCode};

/// One sweep; the delivered records.
async fn sweep(p: &Poller) -> safe_tracker::Result<Vec<ItemRecord>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    p.sweep(move |r: ItemRecord| {
        s.lock().unwrap().push(r);
        async { Ok::<(), String>(()) }
    })
    .await?;
    Ok(Arc::try_unwrap(seen).unwrap().into_inner().unwrap())
}

fn seqs(records: &[ItemRecord]) -> Vec<u64> {
    records.iter().map(|r| r.sequential_org_id).collect()
}

fn duplicate(sim: &Simulator, seq: u64) -> i64 {
    let mut w = sim.app().world.lock().unwrap();
    w.duplicate_item(1, seq, true).expect("duplicated")
}

fn ids_at(sim: &Simulator, seq: u64) -> Vec<i64> {
    sim.app().world.lock().unwrap().orgs[&1].ids_at(seq)
}

fn fault(json: serde_json::Value) -> FaultRule {
    serde_json::from_value(json).expect("a fault rule")
}

#[tokio::test]
async fn a_duplicated_number_delivers_every_item_and_reaches_the_blank() {
    let sim = simulator(10).await;
    duplicate(&sim, 4);
    let ids = ids_at(&sim, 4);
    assert_eq!(ids.len(), 2);
    let c = client(&sim, 1);

    // Direct reads: every item, ascending id; the one-item read refuses to drop one.
    let both = c.items_by_seq(4).await.unwrap();
    assert_eq!(both.iter().map(|i| i.id.unwrap()).collect::<Vec<_>>(), ids);
    assert!(c.items_by_seq(99).await.unwrap().is_empty());
    let err = c.item_by_seq(4).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::DuplicateNumber);
    assert!(err.to_string().contains("items_by_seq"), "{err}");
    assert!(matches!(&err, Error::DuplicateNumber { seq: 4, ids: e, .. } if *e == ids));
    assert_eq!(
        c.item_by_seq(3).await.unwrap().unwrap().sequential_org_id,
        Some(3)
    );

    for read_ahead in [0, 3] {
        let clk = clock();
        let p = open(
            &c,
            Arc::new(MemoryCheckpoint::new()),
            PollerOptions {
                read_ahead,
                ..PollerOptions::default()
            },
            &clk,
        );
        let events = Arc::new(Mutex::new(Vec::new()));
        let e = events.clone();
        p.on_event(move |ev| e.lock().unwrap().push(ev.clone()));
        let records = sweep(&p).await.unwrap();
        assert_eq!(seqs(&records), [1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10]);
        let at4: Vec<&ItemRecord> = records
            .iter()
            .filter(|r| r.sequential_org_id == 4)
            .collect();
        assert_eq!(
            at4.iter().map(|r| r.item.id.unwrap()).collect::<Vec<_>>(),
            ids
        );
        for (r, id) in at4.iter().zip(&ids) {
            assert_eq!(
                r.key,
                DedupeKey::Item {
                    organization_id: 1,
                    item_id: *id
                }
            );
        }
        let status = p.status();
        assert_eq!(status.cursor, 11, "read-ahead {read_ahead}");
        assert_eq!(status.duplicate_numbers, 1);
        assert!(status.partial.is_none());
        assert_eq!(status.last_sweep.unwrap().duplicate_numbers, 1);
        assert!(
            events
                .lock()
                .unwrap()
                .contains(&PollerEvent::DuplicateNumber {
                    seq: 4,
                    ids: ids.clone()
                })
        );
    }
}

#[tokio::test]
async fn a_restart_inside_a_duplicated_number_redelivers_only_the_rest() {
    let sim = simulator(8).await;
    duplicate(&sim, 3);
    duplicate(&sim, 3);
    let ids = ids_at(&sim, 3);
    assert_eq!(ids.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");
    let c = client(&sim, 1);
    let clk = clock();
    {
        let p = open(
            &c,
            Arc::new(FileCheckpoint::new(&path)),
            PollerOptions::default(),
            &clk,
        );
        let mut s = p.sweep_stream().await.unwrap();
        for _ in 0..3 {
            s.next().await.unwrap().unwrap();
        }
        assert_eq!(s.next().await.unwrap().unwrap().item.id, Some(ids[1]));
        // The first item of number 3 is acknowledged; the second is handed out, not acked:
        // the process "dies" here.
        drop(s);
        let status = p.status();
        assert_eq!(status.cursor, 3, "the cursor stays on the number");
        let partial = status.partial.expect("partly delivered");
        assert_eq!((partial.seq, partial.done.clone()), (3, vec![ids[0]]));
        p.close().await;
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let state = saved
        .as_object()
        .and_then(|o| o.values().find(|v| v.get("partial").is_some()).cloned())
        .unwrap_or(saved);
    assert_eq!(state["partial"]["done"], serde_json::json!([ids[0]]));

    next_minute(&clk);
    let p = open(
        &c,
        Arc::new(FileCheckpoint::new(&path)),
        PollerOptions::default(),
        &clk,
    );
    let records = sweep(&p).await.unwrap();
    let got: Vec<(u64, i64)> = records
        .iter()
        .map(|r| (r.sequential_org_id, r.item.id.unwrap()))
        .collect();
    assert_eq!(
        got[..2],
        [(3, ids[1]), (3, ids[2])],
        "only the unacknowledged"
    );
    assert_eq!(seqs(&records), [3, 3, 4, 5, 6, 7, 8]);
    assert!(p.status().partial.is_none());
    assert_eq!(p.status().cursor, 9);
}

#[tokio::test]
async fn duplicated_numbers_behind_holes_and_in_filled_holes() {
    let sim = simulator(8).await;
    let c = client(&sim, 1);
    let clk = clock();
    let store: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpoint::new());
    let opts = PollerOptions {
        gap_tolerance: 2,
        ..PollerOptions::default()
    };
    // 4 is not visible yet, 5 holds two items: the probe past the blank 4 finds both.
    sim.app()
        .world
        .lock()
        .unwrap()
        .orgs
        .get_mut(&1)
        .unwrap()
        .items
        .get_mut(&4)
        .unwrap()
        .visible = false;
    duplicate(&sim, 5);
    let ids5 = ids_at(&sim, 5);
    {
        let p = open(&c, store.clone(), opts.clone(), &clk);
        let mut s = p.sweep_stream().await.unwrap();
        for _ in 0..3 {
            s.next().await.unwrap().unwrap();
        }
        let first = s.next().await.unwrap().unwrap();
        assert_eq!((first.sequential_org_id, first.item.id), (5, Some(ids5[0])));
        s.next().await.unwrap().unwrap(); // acknowledges 5's first item; 5's second out
        drop(s);
        let st = p.status();
        assert_eq!(st.cursor, 5);
        assert_eq!(
            st.holes,
            [4],
            "the blank before the probed number is a hole"
        );
        assert_eq!(st.partial.unwrap().done, [ids5[0]]);
        p.close().await;
    }
    // Resume: 4 is re-probed (still blank), 5 delivers only its second item.
    next_minute(&clk);
    let p = open(&c, store.clone(), opts.clone(), &clk);
    let records = sweep(&p).await.unwrap();
    assert_eq!(seqs(&records), [5, 6, 7, 8]);
    assert_eq!(records[0].item.id, Some(ids5[1]));
    // The hole's item appears, with a second one: both are delivered late, then it closes.
    {
        let mut w = sim.app().world.lock().unwrap();
        w.orgs
            .get_mut(&1)
            .unwrap()
            .items
            .get_mut(&4)
            .unwrap()
            .visible = true;
        w.duplicate_item(1, 4, true).unwrap();
    }
    next_minute(&clk);
    let records = sweep(&p).await.unwrap();
    assert_eq!(seqs(&records), [4, 4]);
    assert!(records.iter().all(|r| r.late));
    assert!(p.status().holes.is_empty());
}

#[tokio::test]
async fn renumbered_items_come_back_under_their_new_number_with_the_same_key() {
    let sim = simulator(10).await;
    let c = client(&sim, 1);
    let clk = clock();
    let p = open(
        &c,
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions {
            gap_tolerance: 3,
            ..PollerOptions::default()
        },
        &clk,
    );
    let first = sweep(&p).await.unwrap();
    let key_of = |seq: u64| {
        first
            .iter()
            .find(|r| r.sequential_org_id == seq)
            .unwrap()
            .key
    };
    let item_of = |seq: u64| {
        first
            .iter()
            .find(|r| r.sequential_org_id == seq)
            .unwrap()
            .item
            .id
    };

    // Forward past the end (the clean-up's leftovers): the next sweep meets it as if new.
    let moved = item_of(2).unwrap();
    sim.app().world.lock().unwrap().renumber_item(1, moved, 12);
    next_minute(&clk);
    let second = sweep(&p).await.unwrap();
    assert_eq!(seqs(&second), [12]);
    assert_eq!(second[0].key, key_of(2), "same item, same key");
    assert_eq!(second[0].item.sequential_org_id, Some(12));
    assert_eq!(p.status().holes, [11], "the blank before it is a hole");

    // Forward into a gap the poller is re-probing: the hole delivers it late.
    let moved = item_of(5).unwrap();
    sim.app().world.lock().unwrap().renumber_item(1, moved, 11);
    next_minute(&clk);
    let third = sweep(&p).await.unwrap();
    assert_eq!(seqs(&third), [11]);
    assert!(third[0].late);
    assert_eq!(third[0].key, key_of(5));

    // Below the cursor: only the updated-items stream sees it, with the same key.
    let up = UpdatedPoller::open_with_clock(
        c.clone(),
        Arc::new(MemoryCheckpoint::new()),
        UpdatedOptions {
            since: Some(chrono::Utc::now() - chrono::Duration::seconds(5)),
            ..UpdatedOptions::default()
        },
        clk.clone(),
    )
    .unwrap();
    let moved = item_of(8).unwrap();
    sim.app().world.lock().unwrap().renumber_item(1, moved, 2);
    next_minute(&clk);
    assert!(
        sweep(&p).await.unwrap().is_empty(),
        "the sweep cannot see it"
    );
    let mut s = up.sweep_stream().await.unwrap();
    let mut seen = Vec::new();
    while let Some(r) = s.next().await.unwrap() {
        seen.push(r);
    }
    let r = seen
        .iter()
        .find(|r| r.item_id == moved)
        .expect("the updated stream delivers the moved item");
    assert_eq!(r.key, key_of(8));
    assert_eq!(r.item.sequential_org_id, Some(2));
}

#[tokio::test]
async fn a_corrupt_form_is_delivered_raw_with_a_warning() {
    let sim = simulator(6).await;
    let c = client(&sim, 1);
    let bad = c.item_by_seq(3).await.unwrap().unwrap().id.unwrap();
    let text = "{\"field2849\": \"1\", oops";
    sim.app()
        .world
        .lock()
        .unwrap()
        .corrupt_form(1, bad, text)
        .unwrap();
    let clk = clock();
    let p = open(
        &c,
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions {
            expand: Expand {
                form_data: true,
                ..Expand::default()
            },
            ..PollerOptions::default()
        },
        &clk,
    );
    let records = sweep(&p).await.unwrap();
    assert_eq!(seqs(&records), [1, 2, 3, 4, 5, 6], "not wedged");
    let r = &records[2];
    let forms = r.form_data.as_ref().unwrap();
    assert_eq!(forms[0].data.raw(), text, "raw text byte for byte");
    assert!(forms[0].data.decoded().is_none());
    assert!(
        r.warnings.iter().any(|w| w.contains("not valid JSON")),
        "{:?}",
        r.warnings
    );
    assert_eq!(
        serde_json::to_value(&forms[0]).unwrap()["data"],
        text,
        "written back unchanged"
    );
    assert!(records[1].warnings.is_empty());
}

#[tokio::test]
async fn an_undecodable_item_stops_the_sweep_until_an_operator_skips_it() {
    let sim = simulator(10).await;
    let c = client(&sim, 1);
    sim.add_fault(fault(serde_json::json!({
        "kind": "status", "status": 200, "body": "{\"id\": \"not-a-number\"}",
        "path_contains": "seqOrgID/5"
    })));
    let clk = clock();
    let store: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpoint::new());
    let p = open(&c, store.clone(), PollerOptions::default(), &clk);
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    p.on_event(move |ev| e.lock().unwrap().push(ev.clone()));
    for sweeps in 1..=2 {
        let err = sweep(&p).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Decode);
        let st = p.status();
        assert_eq!(st.cursor, 5);
        let stuck = st.stuck.expect("stuck");
        assert_eq!(
            (stuck.seq, stuck.name.as_str(), stuck.sweeps),
            (5, "Decode", sweeps)
        );
        assert!(
            stuck.message.contains("does not match"),
            "{}",
            stuck.message
        );
        next_minute(&clk);
    }
    // Only the cursor, a hole or the stuck number can be skipped, with a reason.
    let refused = p.skip(7, "wrong number").await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Validation);
    assert!(refused.to_string().contains("cursor (5)"), "{refused}");
    assert_eq!(
        p.skip(5, "  ").await.unwrap_err().code(),
        ErrorCode::Validation
    );
    // Not while a sweep runs.
    {
        let _s = p.sweep_stream().await.unwrap();
        assert_eq!(
            p.skip(5, "x").await.unwrap_err().code(),
            ErrorCode::Checkpoint
        );
    }
    next_minute(&clk);
    let skipped = p.skip(5, "corrupt in SAFE; ticket 4711").await.unwrap();
    assert_eq!(skipped.seq, 5);
    assert!(skipped.error.unwrap().contains("does not match"));
    let st = p.status();
    assert_eq!(st.cursor, 6);
    assert!(st.stuck.is_none());
    assert_eq!(st.skipped.len(), 1);
    assert_eq!(st.skipped[0].reason, "corrupt in SAFE; ticket 4711");
    assert!(events.lock().unwrap().contains(&PollerEvent::Skipped {
        seq: 5,
        reason: "corrupt in SAFE; ticket 4711".into()
    }));
    // The skip is durable: a new poller on the same store sees it and goes on.
    p.close().await;
    let p = open(&c, store, PollerOptions::default(), &clk);
    assert_eq!(p.status().skipped.len(), 1);
    assert_eq!(seqs(&sweep(&p).await.unwrap()), [6, 7, 8, 9, 10]);
}

#[tokio::test]
async fn a_stuck_probe_past_the_cursor_and_a_hole_can_be_skipped() {
    let sim = simulator(10).await;
    let c = client(&sim, 1);
    let clk = clock();
    let p = open(
        &c,
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions {
            gap_tolerance: 2,
            ..PollerOptions::default()
        },
        &clk,
    );
    assert_eq!(sweep(&p).await.unwrap().len(), 10);
    // 11 stays blank, 12 cannot be decoded: the probe fails every sweep.
    sim.add_items(1, 2);
    sim.app()
        .world
        .lock()
        .unwrap()
        .orgs
        .get_mut(&1)
        .unwrap()
        .items
        .get_mut(&11)
        .unwrap()
        .visible = false;
    sim.add_fault(fault(serde_json::json!({
        "kind": "status", "status": 200, "body": "[{\"id\": 1}, 7]", "path_contains": "seqOrgID/12"
    })));
    next_minute(&clk);
    assert_eq!(sweep(&p).await.unwrap_err().code(), ErrorCode::Decode);
    assert_eq!(p.status().stuck.unwrap().seq, 12);
    p.skip(12, "probe target is garbage").await.unwrap();
    let st = p.status();
    assert_eq!((st.cursor, st.holes.clone()), (13, vec![11]));
    // The hole can be given up too.
    p.skip(11, "deleted in SAFE").await.unwrap();
    assert!(p.status().holes.is_empty());
    assert_eq!(p.status().skipped.len(), 2);
}

#[tokio::test]
async fn an_item_without_an_id_is_delivered_under_its_number_with_a_warning() {
    let sim = simulator(4).await;
    sim.add_fault(fault(serde_json::json!({
        "kind": "status", "status": 200,
        "body": "{\"sequentialOrgId\": 3, \"description\": \"no id\"}",
        "path_contains": "seqOrgID/3"
    })));
    let clk = clock();
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions::default(),
        &clk,
    );
    let records = sweep(&p).await.unwrap();
    assert_eq!(seqs(&records), [1, 2, 3, 4], "never refused");
    let r = &records[2];
    assert_eq!(
        r.key,
        DedupeKey::Number {
            organization_id: 1,
            sequential_org_id: 3
        }
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("no `id`")),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.key.to_string(), "1/seq/3");
    assert_eq!(
        records[1].key.to_string(),
        format!("1/item/{}", records[1].item.id.unwrap())
    );
}

#[tokio::test]
async fn the_updated_stream_warns_of_corrupt_inline_form_data() {
    let sim = simulator(3).await;
    let c = client(&sim, 1);
    let id = c.item_by_seq(2).await.unwrap().unwrap().id.unwrap();
    {
        let mut w = sim.app().world.lock().unwrap();
        let org = w.orgs.get_mut(&1).unwrap();
        org.item_mut(id).unwrap().doc["formData"] =
            serde_json::json!([{"id": "ab", "formId": 7, "data": "{\"field1\": tru"}]);
        w.touch_item_id(1, id).unwrap();
    }
    let clk = clock();
    let up = UpdatedPoller::open_with_clock(
        c,
        Arc::new(MemoryCheckpoint::new()),
        UpdatedOptions {
            since: Some(chrono::Utc::now() - chrono::Duration::seconds(30)),
            ..UpdatedOptions::default()
        },
        clk,
    )
    .unwrap();
    let mut s = up.sweep_stream().await.unwrap();
    let mut found = None;
    while let Some(r) = s.next().await.unwrap() {
        if r.item_id == id {
            found = Some(r);
        }
    }
    let r = found.expect("the touched item");
    let forms = r.item.form_data.as_ref().unwrap();
    assert_eq!(forms[0].data.raw(), "{\"field1\": tru");
    assert!(
        r.warnings.iter().any(|w| w.contains("form 7 (entry ab)")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test]
async fn skipping_a_blank_cursor_keeps_it_as_a_hole_so_a_late_item_still_arrives() {
    let sim = simulator(4).await;
    let c = client(&sim, 1);
    let clk = clock();
    let p = open(
        &c,
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions::default(),
        &clk,
    );
    assert_eq!(sweep(&p).await.unwrap().len(), 4);
    let skipped = p.skip(5, "an admin deleted 5").await.unwrap();
    assert!(skipped.kept_as_hole && skipped.error.is_none());
    assert_eq!((p.status().cursor, p.status().holes), (6, vec![5]));
    // 5 and 6 are filed after all: both arrive, 5 late.
    sim.add_items(1, 2);
    next_minute(&clk);
    let records = sweep(&p).await.unwrap();
    assert_eq!(seqs(&records), [5, 6]);
    assert!(records[0].late && !records[1].late);
    assert!(p.status().holes.is_empty());
}

#[tokio::test]
async fn a_partly_delivered_number_survives_holes_filling_on_resume() {
    let sim = simulator(8).await;
    let c = client(&sim, 1);
    let clk = clock();
    let store: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpoint::new());
    let opts = PollerOptions {
        gap_tolerance: 1,
        ..PollerOptions::default()
    };
    let show = |seq: u64, visible: bool| {
        let mut w = sim.app().world.lock().unwrap();
        for id in w.orgs[&1].ids_at(seq) {
            w.orgs.get_mut(&1).unwrap().item_mut(id).unwrap().visible = visible;
        }
    };
    show(2, false);
    show(5, false);
    duplicate(&sim, 6);
    let ids6 = ids_at(&sim, 6);
    {
        // 1, (2 blank) 3, 4, (5 blank) 6: 6's first item acknowledged, its second not.
        let p = open(&c, store.clone(), opts.clone(), &clk);
        let mut s = p.sweep_stream().await.unwrap();
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(s.next().await.unwrap().unwrap().sequential_org_id);
        }
        assert_eq!(got, [1, 3, 4, 6]);
        assert_eq!(s.next().await.unwrap().unwrap().item.id, Some(ids6[1]));
        drop(s);
        let st = p.status();
        assert_eq!((st.cursor, st.holes.clone()), (6, vec![2, 5]));
        assert_eq!(st.partial.unwrap().done, [ids6[0]]);
        p.close().await;
    }
    // Hole 2 fills with one item, hole 5 with two. On resume, 2 is delivered without touching
    // 6's record; 5 waits while 6 is partly delivered; 6 gives only its unacknowledged item.
    show(2, true);
    show(5, true);
    duplicate(&sim, 5);
    next_minute(&clk);
    let p = open(&c, store.clone(), opts.clone(), &clk);
    let records = sweep(&p).await.unwrap();
    let got: Vec<(u64, Option<i64>)> = records
        .iter()
        .map(|r| (r.sequential_org_id, r.item.id))
        .collect();
    assert_eq!(seqs(&records), [2, 6, 7, 8], "{got:?}");
    assert_eq!(
        got[1],
        (6, Some(ids6[1])),
        "only the unacknowledged item of 6"
    );
    assert_eq!(p.status().holes, [5]);
    assert!(p.status().partial.is_none());
    // The next sweep delivers both items of 5, late, and closes the hole.
    next_minute(&clk);
    let records = sweep(&p).await.unwrap();
    assert_eq!(seqs(&records), [5, 5]);
    assert!(records.iter().all(|r| r.late));
    assert!(p.status().holes.is_empty());
}

/// A store whose saves fail while `failing` is set.
#[derive(Debug)]
struct FlakyStore {
    inner: MemoryCheckpoint,
    failing: std::sync::atomic::AtomicBool,
}

impl CheckpointStore for FlakyStore {
    fn load(&self, key: &str) -> safe_tracker::Result<Option<safe_tracker::poller::PollerState>> {
        self.inner.load(key)
    }
    fn save(
        &self,
        key: &str,
        state: &safe_tracker::poller::PollerState,
    ) -> safe_tracker::Result<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Checkpoint("disk full".into()));
        }
        self.inner.save(key, state)
    }
}

#[tokio::test]
async fn a_failed_save_never_moves_the_checkpoint_past_the_item() {
    let sim = simulator(5).await;
    duplicate(&sim, 3);
    let ids3 = ids_at(&sim, 3);
    let c = client(&sim, 1);
    let clk = clock();
    let store = Arc::new(FlakyStore {
        inner: MemoryCheckpoint::new(),
        failing: false.into(),
    });
    let p = open(&c, store.clone(), PollerOptions::default(), &clk);
    let mut s = p.sweep_stream().await.unwrap();
    for _ in 0..3 {
        s.next().await.unwrap().unwrap();
    }
    // The acknowledgement of 3's first item cannot be saved.
    store
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(s.next().await.unwrap_err().code(), ErrorCode::Checkpoint);
    drop(s);
    store
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let st = p.status();
    assert_eq!(st.cursor, 3, "not past the unsaved acknowledgement");
    assert!(st.partial.is_none());
    next_minute(&clk);
    let records = sweep(&p).await.unwrap();
    assert_eq!(seqs(&records), [3, 3, 4, 5]);
    assert_eq!(
        records[0].item.id,
        Some(ids3[0]),
        "the unsaved item comes again"
    );
}
