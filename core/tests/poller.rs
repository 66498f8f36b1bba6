//! The sequential poller against the simulator: exactly-once backlogs, resumption after every
//! kind of interruption (SIGKILL of a child process included), holes, stalls, the 60-second
//! floor across restarts, pacing, the one-poller lock, and account errors.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{builder, client, clock, next_minute, open, simulator};
use safe_simulator::{FaultRule, Simulator};
use safe_tracker::poller::{
    CheckpointStore, Expand, FileCheckpoint, ItemRecord, ManualClock, MemoryCheckpoint, Poller,
    PollerEvent, PollerOptions, SqliteCheckpoint, SweepOutcome, UpdatedOptions, UpdatedPoller,
};
use safe_tracker::{Client, ErrorCode, Pacing};

const SEQ: &str = "/api/items/seqOrgID/{n}";

/// Runs one sweep and returns the delivered sequence numbers.
async fn sweep_seqs(p: &Poller) -> safe_tracker::Result<Vec<u64>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    p.sweep(move |r: ItemRecord| {
        s.lock().unwrap().push(r.sequential_org_id);
        async { Ok::<(), String>(()) }
    })
    .await?;
    Ok(Arc::try_unwrap(seen).unwrap().into_inner().unwrap())
}

#[tokio::test]
async fn backlog_of_5000_exactly_once_in_order() {
    let sim = Simulator::start(safe_simulator::SimConfig {
        seed: safe_simulator::Seed {
            seed: 3,
            orgs: 2,
            items: 5_000,
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let clk = clock();
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions::default(),
        &clk,
    );
    let seqs = sweep_seqs(&p).await.unwrap();
    assert_eq!(seqs, (1..=5_000).collect::<Vec<_>>());
    assert_eq!(
        sim.count_route(SEQ),
        5_001,
        "one request per item plus the blank"
    );
    assert_eq!(p.status().cursor, 5_001);
    assert_eq!(p.status().requests_spent, 5_001);

    // Read-ahead 4 on the other organisation: same records, at most 5,001 + 4 requests.
    sim.reset_stats();
    let opts = PollerOptions {
        read_ahead: 4,
        ..PollerOptions::default()
    };
    let p2 = open(
        &client(&sim, 2),
        Arc::new(MemoryCheckpoint::new()),
        opts,
        &clk,
    );
    let seqs = sweep_seqs(&p2).await.unwrap();
    assert_eq!(seqs, (1..=5_000).collect::<Vec<_>>());
    let requests = sim.count_route(SEQ);
    assert!((5_001..=5_005).contains(&requests), "{requests} requests");
}

#[tokio::test]
async fn picks_up_new_items_from_the_blank_number() {
    let sim = simulator(10).await;
    let clk = clock();
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions::default(),
        &clk,
    );
    assert_eq!(sweep_seqs(&p).await.unwrap().len(), 10);
    assert_eq!(p.status().cursor, 11);
    sim.add_items(1, 5);
    sim.reset_stats();
    next_minute(&clk);
    assert_eq!(sweep_seqs(&p).await.unwrap(), vec![11, 12, 13, 14, 15]);
    assert_eq!(sim.count_route(SEQ), 6, "starts at the blank number 11");
    // Nothing new: one request, the blank.
    sim.reset_stats();
    next_minute(&clk);
    assert!(sweep_seqs(&p).await.unwrap().is_empty());
    assert_eq!(sim.count_route(SEQ), 1);
}

#[tokio::test]
async fn stream_acknowledges_on_next_and_not_on_drop() {
    let sim = simulator(10).await;
    let clk = clock();
    let store: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpoint::new());
    let c = client(&sim, 1);
    let p = open(&c, store.clone(), PollerOptions::default(), &clk);
    {
        let mut s = p.sweep_stream().await.unwrap();
        assert_eq!(s.next().await.unwrap().unwrap().sequential_org_id, 1);
        assert_eq!(s.next().await.unwrap().unwrap().sequential_org_id, 2);
        assert_eq!(s.next().await.unwrap().unwrap().sequential_org_id, 3);
        // 3 is handed out but not acknowledged when the consumer stops.
    }
    assert_eq!(p.status().cursor, 3);
    assert_eq!(
        p.status().last_sweep.unwrap().outcome,
        SweepOutcome::Interrupted
    );
    next_minute(&clk);
    assert_eq!(sweep_seqs(&p).await.unwrap(), (3..=10).collect::<Vec<_>>());
}

/// Delivered sequence numbers across several runs: every item present, duplicates bounded.
fn check_delivery(all: &[u64], n: u64, max_duplicates: usize) {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for s in all {
        *counts.entry(*s).or_default() += 1;
    }
    for seq in 1..=n {
        assert!(counts.contains_key(&seq), "item {seq} lost");
    }
    assert_eq!(counts.len() as u64, n, "only real items delivered");
    let dups: usize = counts.values().map(|c| c - 1).sum();
    assert!(
        dups <= max_duplicates,
        "{dups} duplicates, at most {max_duplicates} allowed"
    );
}

#[tokio::test]
async fn resumes_after_cancellation_consumer_error_and_5xx() {
    let sim = simulator(120).await;
    let clk = clock();
    let store: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpoint::new());
    let c = client(&sim, 1);
    let mut delivered = Vec::new();

    // 1. Cancellation from inside the handler at item 30.
    {
        let p = open(&c, store.clone(), PollerOptions::default(), &clk);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, p2) = (seen.clone(), p.clone());
        let err = p
            .sweep(move |r: ItemRecord| {
                s.lock().unwrap().push(r.sequential_org_id);
                if r.sequential_org_id == 30 {
                    p2.cancel();
                }
                async { Ok::<(), String>(()) }
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Cancelled);
        assert_eq!(p.status().cursor, 31, "the handled record was acknowledged");
        delivered.extend(seen.lock().unwrap().iter().copied());
    }
    // 2. Consumer error at item 50: not acknowledged.
    next_minute(&clk);
    {
        let p = open(&c, store.clone(), PollerOptions::default(), &clk);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let err = p
            .sweep(move |r: ItemRecord| {
                let seq = r.sequential_org_id;
                s.lock().unwrap().push(seq);
                async move {
                    if seq == 50 {
                        Err("database full".to_string())
                    } else {
                        Ok(())
                    }
                }
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Consumer);
        assert_eq!(p.status().cursor, 50);
        delivered.extend(seen.lock().unwrap().iter().copied());
    }
    // 3. A persistent 500 at item 80: the sweep ends without moving past it.
    next_minute(&clk);
    sim.add_fault(FaultRule {
        path_contains: Some("seqOrgID/80".into()),
        status: Some(500),
        ..serde_json::from_value(serde_json::json!({"kind": "status"})).unwrap()
    });
    {
        let p = open(&c, store.clone(), PollerOptions::default(), &clk);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let err = p
            .sweep(move |r: ItemRecord| {
                s.lock().unwrap().push(r.sequential_org_id);
                async { Ok::<(), String>(()) }
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Server);
        assert_eq!(p.status().cursor, 80);
        assert!(matches!(
            p.status().last_sweep.unwrap().outcome,
            SweepOutcome::Failed { code: 40, .. }
        ));
        delivered.extend(seen.lock().unwrap().iter().copied());
    }
    sim.clear_faults();
    next_minute(&clk);
    let p = open(&c, store, PollerOptions::default(), &clk);
    delivered.extend(sweep_seqs(&p).await.unwrap());
    check_delivery(&delivered, 120, 1);
}

/// The body of the SIGKILL test's child process (does nothing unless the parent set the
/// environment variable).
#[tokio::test]
async fn child_process_sweep() {
    let Ok(spec) = std::env::var("SAFE_POLLER_CHILD") else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let (base, checkpoint, out) = (parts[0], parts[1], parts[2]);
    let c = Client::new(
        safe_tracker::ClientConfig::builder()
            .base_url(base)
            .token(safe_simulator::token_for(1))
            .organization_id(1)
            .office_id(safe_simulator::office_for(1))
            .pacing(Pacing::per_second(400.0))
            .build()
            .unwrap(),
    )
    .unwrap();
    let opts = PollerOptions {
        unsafe_min_interval: Some(Duration::ZERO),
        interval: Duration::from_secs(1),
        ..PollerOptions::default()
    };
    let p = Poller::open(c, Arc::new(FileCheckpoint::new(checkpoint)), opts).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(out)
        .unwrap();
    p.sweep(move |r: ItemRecord| {
        writeln!(file, "{}", r.sequential_org_id).unwrap();
        file.flush().unwrap();
        async { Ok::<(), String>(()) }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_sigkill_of_a_child_process() {
    if std::env::var("SAFE_POLLER_CHILD").is_ok() {
        return;
    }
    const N: u64 = 1_500;
    let sim = simulator(N).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint.json");
    let out = dir.path().join("delivered.txt");
    let spec = format!(
        "{}|{}|{}",
        sim.base_url(),
        checkpoint.display(),
        out.display()
    );
    let lines = |p: &std::path::Path| -> Vec<u64> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "child_process_sweep",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SAFE_POLLER_CHILD", &spec)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut kills = 0;
    for target in [200usize, 600, 1_000] {
        let mut child = spawn();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while lines(&out).len() < target && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    let status = spawn().wait().unwrap();
    assert!(status.success(), "final child completes the sweep");
    check_delivery(&lines(&out), N, kills);
}

#[tokio::test]
async fn stall_is_reported_at_a_hole_with_no_tolerance() {
    let sim = simulator(20).await;
    let clk = clock();
    sim.app()
        .world
        .lock()
        .unwrap()
        .orgs
        .get_mut(&1)
        .unwrap()
        .items
        .get_mut(&10)
        .unwrap()
        .visible = false;
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions::default(),
        &clk,
    );
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    p.on_event(move |ev| e.lock().unwrap().push(ev.clone()));
    assert_eq!(sweep_seqs(&p).await.unwrap(), (1..=9).collect::<Vec<_>>());
    for _ in 0..2 {
        next_minute(&clk);
        assert!(sweep_seqs(&p).await.unwrap().is_empty());
    }
    // Third sweep without progress: one search finds items beyond the cursor.
    sim.reset_stats();
    next_minute(&clk);
    assert!(sweep_seqs(&p).await.unwrap().is_empty());
    assert_eq!(sim.count_route("/api/items/search"), 1);
    assert_eq!(p.status().stalled_next, Some(11));
    assert_eq!(p.status().cursor, 10, "no jump unless configured");
    assert!(events.lock().unwrap().contains(&PollerEvent::Stalled {
        at: 10,
        next_known: 11,
        jumped: false
    }));
    // The late item commits: delivery resumes in order.
    sim.app()
        .world
        .lock()
        .unwrap()
        .orgs
        .get_mut(&1)
        .unwrap()
        .items
        .get_mut(&10)
        .unwrap()
        .visible = true;
    next_minute(&clk);
    assert_eq!(sweep_seqs(&p).await.unwrap(), (10..=20).collect::<Vec<_>>());
    assert_eq!(p.status().stalled_next, None);
}

#[tokio::test]
async fn jump_stalls_when_configured() {
    let sim = simulator(12).await;
    let clk = clock();
    sim.app()
        .world
        .lock()
        .unwrap()
        .orgs
        .get_mut(&1)
        .unwrap()
        .items
        .remove(&5);
    let opts = PollerOptions {
        stall_after_sweeps: 1,
        jump_stalls: true,
        ..PollerOptions::default()
    };
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        opts,
        &clk,
    );
    assert_eq!(sweep_seqs(&p).await.unwrap(), vec![1, 2, 3, 4]);
    next_minute(&clk);
    assert!(sweep_seqs(&p).await.unwrap().is_empty());
    assert_eq!(p.status().cursor, 6);
    assert_eq!(p.status().holes, vec![5]);
    next_minute(&clk);
    assert_eq!(sweep_seqs(&p).await.unwrap(), (6..=12).collect::<Vec<_>>());
}

#[tokio::test]
async fn holes_recorded_filled_late_and_abandoned_with_tolerance() {
    let sim = simulator(20).await;
    let clk = clock();
    {
        let mut w = sim.app().world.lock().unwrap();
        let org = w.orgs.get_mut(&1).unwrap();
        org.items.get_mut(&10).unwrap().visible = false; // commits late
        org.items.remove(&15); // deleted for good
        org.items.remove(&16);
    }
    let opts = PollerOptions {
        gap_tolerance: 3,
        ..PollerOptions::default()
    };
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        opts.clone(),
        &clk,
    );
    let mut expected: Vec<u64> = (1..=20).filter(|s| ![10, 15, 16].contains(s)).collect();
    assert_eq!(sweep_seqs(&p).await.unwrap(), expected);
    assert_eq!(p.status().holes, vec![10, 15, 16]);
    assert_eq!(p.status().cursor, 21);

    // Item 10 appears: delivered late on the next sweep; the others are probed again.
    sim.app()
        .world
        .lock()
        .unwrap()
        .orgs
        .get_mut(&1)
        .unwrap()
        .items
        .get_mut(&10)
        .unwrap()
        .visible = true;
    next_minute(&clk);
    let late = Arc::new(Mutex::new(Vec::new()));
    let l = late.clone();
    let report = p
        .sweep(move |r: ItemRecord| {
            l.lock().unwrap().push((r.sequential_org_id, r.late));
            async { Ok::<(), String>(()) }
        })
        .await
        .unwrap();
    assert_eq!(*late.lock().unwrap(), vec![(10, true)]);
    assert_eq!(report.summary.holes_filled, 1);
    assert!(report.events.contains(&PollerEvent::HoleProbed { seq: 15 }));
    assert_eq!(p.status().holes, vec![15, 16]);

    // After hole_max_age the others are abandoned without a request.
    clk.advance(Duration::from_secs(25 * 3600));
    sim.reset_stats();
    let report = p
        .sweep(|_r: ItemRecord| async { Ok::<(), String>(()) })
        .await
        .unwrap();
    assert_eq!(report.summary.holes_abandoned, 2);
    assert!(
        report
            .events
            .contains(&PollerEvent::HoleAbandoned { seq: 15 })
    );
    assert!(p.status().holes.is_empty());
    assert_eq!(
        sim.count_route(SEQ),
        1 + 3,
        "only the blank at 21 and its 3 probes"
    );

    // A gap wider than the tolerance stops the sweep, as the vendor's procedure does.
    sim.add_items(1, 6); // 21..26
    {
        let mut w = sim.app().world.lock().unwrap();
        for s in 21..=24 {
            w.orgs.get_mut(&1).unwrap().items.remove(&s);
        }
    }
    next_minute(&clk);
    expected.clear();
    assert_eq!(sweep_seqs(&p).await.unwrap(), expected);
    assert_eq!(p.status().cursor, 21);
}

#[tokio::test]
async fn floor_holds_across_a_restart() {
    let sim = simulator(3).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp.json");
    let clk = clock();
    let c = client(&sim, 1);
    {
        let p = open(
            &c,
            Arc::new(FileCheckpoint::new(&path)),
            PollerOptions::default(),
            &clk,
        );
        sweep_seqs(&p).await.unwrap();
    }
    clk.advance(Duration::from_secs(20));
    let p = open(
        &c,
        Arc::new(FileCheckpoint::new(&path)),
        PollerOptions::default(),
        &clk,
    );
    assert_eq!(p.plan().wait, Duration::from_secs(40));
    assert!(p.status().next_allowed_sweep.is_some());
    let before = clk.sleeps().len();
    sweep_seqs(&p).await.unwrap();
    assert_eq!(
        clk.sleeps()[before..],
        [Duration::from_secs(40)],
        "waited out the floor"
    );

    // Below the floor only through the unsafe option, and intervals below it are refused.
    let err = Poller::open(
        c.clone(),
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions {
            interval: Duration::from_secs(30),
            ..PollerOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
}

#[tokio::test]
async fn run_forever_follows_the_schedule() {
    let sim = simulator(2).await;
    let clk = clock();
    let opts = PollerOptions {
        interval: Duration::from_secs(300),
        jitter: Duration::ZERO,
        ..PollerOptions::default()
    };
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        opts,
        &clk,
    );
    let finished = Arc::new(Mutex::new(0));
    let (f, p2) = (finished.clone(), p.clone());
    p.on_event(move |e| {
        if matches!(e, PollerEvent::SweepFinished { .. }) {
            let mut n = f.lock().unwrap();
            *n += 1;
            if *n == 3 {
                p2.cancel();
            }
        }
    });
    p.run_forever(|_r: ItemRecord| async { Ok::<(), String>(()) })
        .await
        .unwrap();
    assert_eq!(*finished.lock().unwrap(), 3);
    assert_eq!(
        clk.sleeps(),
        vec![Duration::from_secs(300), Duration::from_secs(300)]
    );
}

#[tokio::test]
async fn pacing_holds_during_a_sweep() {
    let sim = simulator(45).await;
    let clk = clock();
    let c = Client::new(
        builder(&sim, 1)
            .pacing(Pacing::per_second(20.0))
            .build()
            .unwrap(),
    )
    .unwrap();
    let p = open(
        &c,
        Arc::new(MemoryCheckpoint::new()),
        PollerOptions {
            read_ahead: 3,
            ..PollerOptions::default()
        },
        &clk,
    );
    assert_eq!(sweep_seqs(&p).await.unwrap().len(), 45);
    let peak = sim.max_in_window(1000);
    assert!(peak <= 21, "{peak} requests in one second at 20/s");
}

#[tokio::test]
async fn second_poller_on_the_same_checkpoint_is_refused() {
    let sim = simulator(2).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sim, 1);
    let store: Arc<dyn CheckpointStore> =
        Arc::new(SqliteCheckpoint::open(dir.path().join("cp.db")).unwrap());
    let first = Poller::open(c.clone(), store.clone(), PollerOptions::default()).unwrap();
    let err = Poller::open(c.clone(), store.clone(), PollerOptions::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Checkpoint);
    assert!(err.to_string().contains("already runs"));
    // Another organisation is another poller.
    Poller::open(client(&sim, 2), store.clone(), PollerOptions::default()).unwrap();
    drop(first);
    Poller::open(c, store, PollerOptions::default()).unwrap();
}

#[tokio::test]
async fn account_errors_stop_after_one_request() {
    let sim = simulator(5).await;
    let clk = clock();
    for (token, code) in [
        ("nope", ErrorCode::Auth),
        ("sim-token-org1-disabled", ErrorCode::AccountDisabled),
        ("sim-token-org1-nolicence", ErrorCode::LicenseUnavailable),
    ] {
        sim.reset_stats();
        let c = Client::new(builder(&sim, 1).token(token).build().unwrap()).unwrap();
        let p = open(
            &c,
            Arc::new(MemoryCheckpoint::new()),
            PollerOptions::default(),
            &clk,
        );
        let err = p
            .run_forever(|_r: ItemRecord| async { Ok::<(), String>(()) })
            .await
            .unwrap_err();
        assert_eq!(err.code(), code);
        assert_eq!(sim.count_route(SEQ), 1, "{token}: one request, no retries");
        assert_eq!(p.status().cursor, 1);
        drop(p);
        next_minute(&clk);
    }
}

#[tokio::test]
async fn expansions_come_with_each_record() {
    let sim = simulator(3).await;
    let clk = clock();
    let opts = PollerOptions {
        expand: Expand::all(),
        ..PollerOptions::default()
    };
    let p = open(
        &client(&sim, 1),
        Arc::new(MemoryCheckpoint::new()),
        opts,
        &clk,
    );
    assert_eq!(p.plan().requests_per_item, 5);
    let records = Arc::new(Mutex::new(Vec::new()));
    let r2 = records.clone();
    p.sweep(move |r: ItemRecord| {
        r2.lock().unwrap().push(r);
        async { Ok::<(), String>(()) }
    })
    .await
    .unwrap();
    let records = records.lock().unwrap();
    assert_eq!(records.len(), 3);
    for r in records.iter() {
        assert_eq!(
            r.dedupe_key(),
            safe_tracker::poller::DedupeKey::Item {
                organization_id: 1,
                item_id: r.item.id.unwrap()
            }
        );
        assert_eq!(r.item.sequential_org_id, Some(r.sequential_org_id as i64));
        assert!(!r.form_data.as_ref().unwrap().is_empty());
        assert_eq!(r.case.as_ref().unwrap().id, r.item.primary_case_id);
        assert_eq!(r.people.as_ref().unwrap().len(), 2);
        assert!(!r.custody.as_ref().unwrap().is_empty());
        assert!(r.warnings.is_empty());
    }
    assert_eq!(sim.total_requests(), 3 * 5 + 1);
}

#[tokio::test]
async fn updated_items_stream_dedupes_and_checkpoints() {
    let sim = simulator(10).await;
    let clk = Arc::new(ManualClock::new(chrono::Utc::now()));
    let store: Arc<dyn CheckpointStore> = Arc::new(MemoryCheckpoint::new());
    let c = client(&sim, 1);
    let opts = UpdatedOptions {
        since: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
        ..UpdatedOptions::default()
    };
    let collect = |p: UpdatedPoller| async move {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        p.sweep(move |r| {
            s.lock().unwrap().push(r.item.sequential_org_id.unwrap());
            async { Ok::<(), String>(()) }
        })
        .await
        .unwrap();
        Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
    };
    {
        let p = UpdatedPoller::open_with_clock(c.clone(), store.clone(), opts.clone(), clk.clone())
            .unwrap();
        assert!(collect(p).await.is_empty());
    }
    sim.app().world.lock().unwrap().touch_item(1, 3);
    sim.app().world.lock().unwrap().touch_item(1, 7);
    clk.advance(Duration::from_secs(61));
    {
        let p = UpdatedPoller::open_with_clock(c.clone(), store.clone(), opts.clone(), clk.clone())
            .unwrap();
        assert_eq!(collect(p.clone()).await, vec![3, 7]);
        assert!(p.status().watermark.is_some());
    }
    // The overlap window reads them again; the dedupe key drops them.
    clk.advance(Duration::from_secs(61));
    let p = UpdatedPoller::open_with_clock(c.clone(), store.clone(), opts.clone(), clk.clone())
        .unwrap();
    assert!(collect(p.clone()).await.is_empty());
    drop(p);
    // A second change of the same item is a new record.
    std::thread::sleep(Duration::from_millis(5));
    sim.app().world.lock().unwrap().touch_item(1, 3);
    clk.advance(Duration::from_secs(61));
    let p = UpdatedPoller::open_with_clock(c, store, opts, clk.clone()).unwrap();
    assert_eq!(collect(p).await, vec![3]);
}
