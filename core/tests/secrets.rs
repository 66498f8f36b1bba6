//! The token never appears in tracing output (at TRACE, every span and event of every crate),
//! in `Debug` or `Display` of configs, clients and errors.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::simulator;
use safe_simulator::{FaultKind, FaultRule};
use safe_tracker::{Client, ClientConfig, Pacing};

const TOKEN: &str = "sim-token-org1";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn token_never_leaks() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .init();

    let sim = simulator(3).await;
    let config = common::builder(&sim, 1)
        .pacing(Pacing::unlimited())
        .build()
        .unwrap();
    let client = Client::new(config.clone()).unwrap();
    let mut texts = vec![format!("{config:?}"), format!("{client:?}")];

    // Successes, retries and every kind of failure.
    client.item_by_seq(1).await.unwrap();
    for kind in ["status", "drop", "malformed", "html200", "reset_mid_body"] {
        let rule: FaultRule = serde_json::from_value(serde_json::json!({
            "kind": kind, "status": 503, "count": 1,
            // An error body that echoes the token back, as a careless server might.
            "body": format!("{{\"message\":\"bad token {TOKEN}\"}}")
        }))
        .unwrap();
        sim.add_fault(rule);
        let _ = client.item_by_seq(2).await;
    }
    sim.add_fault(FaultRule {
        kind: FaultKind::Status,
        status: Some(401),
        body: Some(format!("{{\"message\":\"token {TOKEN} rejected\"}}")),
        ..serde_json::from_value(serde_json::json!({"kind": "status"})).unwrap()
    });
    let err = client.item_by_seq(3).await.unwrap_err();
    texts.push(format!("{err:?}"));
    texts.push(err.to_string());
    sim.clear_faults();
    for token in ["bad\ntoken-value", "x"] {
        if let Err(e) = ClientConfig::builder()
            .token(token)
            .organization_id(1)
            .office_id(1)
            .build()
            .and_then(Client::new)
        {
            texts.push(format!("{e:?} {e}"));
        }
    }
    let bad = Client::new(
        common::builder(&sim, 1)
            .token("sim-token-org1-disabled")
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = bad.item_by_seq(1).await.unwrap_err();
    texts.push(format!("{err:?} {err}"));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("safe.request"), "tracing spans were captured");
    assert!(
        logs.contains("items/seqOrgID/{n}"),
        "templated path is logged"
    );
    assert!(!logs.contains(TOKEN), "token found in tracing output");
    assert!(
        !logs.contains("Bearer"),
        "authorization header found in tracing output"
    );
    for t in &texts {
        assert!(!t.contains(TOKEN), "token found in {t}");
    }
}
