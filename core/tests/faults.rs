//! The fault matrix of `tests/conformance/vectors.json` (shared with Python and Node): each
//! fault on the request for item 5 of a sweep gives the expected typed error or a successful
//! retry, takes exactly the requests the retry policy allows, and never moves the checkpoint
//! past an undelivered item.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use safe_simulator::FaultRule;
use safe_tracker::poller::{ItemRecord, ManualClock, MemoryCheckpoint, Poller, PollerOptions};
use safe_tracker::{Client, RetryPolicy, Timeouts};
use serde_json::Value;

const SEQ: &str = "/api/items/seqOrgID/{n}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_through_the_poller() {
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/conformance/vectors.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let matrix = &vectors["fault_matrix"];
    let cfg = &matrix["client"];
    let ms = |k: &str| Duration::from_millis(cfg[k].as_u64().unwrap());
    let sim = common::simulator(8).await;
    let client = Client::new(
        common::builder(&sim, 1)
            .retry(RetryPolicy {
                max_attempts: cfg["max_attempts"].as_u64().unwrap() as u32,
                base_delay: ms("base_delay_ms"),
                max_delay: ms("max_delay_ms"),
                retry_after_cap: ms("retry_after_cap_ms"),
            })
            .timeouts(Timeouts {
                attempt: ms("attempt_timeout_ms"),
                ..Timeouts::default()
            })
            .max_body_bytes(cfg["max_body_bytes"].as_u64().unwrap() as usize)
            .build()
            .unwrap(),
    )
    .unwrap();
    for case in matrix["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut rule = case["rule"].clone();
        rule["path_contains"] = Value::from("seqOrgID/5");
        let rule: FaultRule = serde_json::from_value(rule).unwrap();
        sim.clear_faults();
        sim.add_fault(rule);
        sim.reset_stats();
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let poller = Poller::open_with_clock(
            client.clone(),
            Arc::new(MemoryCheckpoint::new()),
            PollerOptions::default(),
            clock.clone(),
        )
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let result = poller
            .sweep(move |r: ItemRecord| {
                s.lock().unwrap().push(r.sequential_org_id);
                async { Ok::<(), String>(()) }
            })
            .await;
        let requests_for_5 = sim.count_route(SEQ) - 4 - if result.is_ok() { 4 } else { 0 };
        assert_eq!(
            requests_for_5 as u64,
            case["requests"].as_u64().unwrap(),
            "{name}: requests"
        );
        match case["expect"].as_str().unwrap() {
            "ok" => {
                assert!(result.is_ok(), "{name}: {result:?}");
                assert_eq!(
                    *seen.lock().unwrap(),
                    (1..=8).collect::<Vec<u64>>(),
                    "{name}"
                );
                assert_eq!(poller.status().cursor, 9);
            }
            expected => {
                let err = result.unwrap_err();
                assert_eq!(err.code().name(), expected, "{name}: {err}");
                assert_eq!(
                    *seen.lock().unwrap(),
                    vec![1, 2, 3, 4],
                    "{name}: nothing past the fault"
                );
                assert_eq!(
                    poller.status().cursor,
                    5,
                    "{name}: checkpoint stays at the failed number"
                );
                // The fault clears: the next sweep delivers the rest.
                sim.clear_faults();
                clock.advance(Duration::from_secs(61));
                seen.lock().unwrap().clear();
                let s = seen.clone();
                poller
                    .sweep(move |r: ItemRecord| {
                        s.lock().unwrap().push(r.sequential_org_id);
                        async { Ok::<(), String>(()) }
                    })
                    .await
                    .unwrap();
                assert_eq!(*seen.lock().unwrap(), vec![5, 6, 7, 8], "{name}: resumed");
            }
        }
    }
}
