//! TLS against the simulator serving HTTPS with a certificate generated at test time: an
//! unknown CA is refused, `ca_file` makes it work, and plain http to a host that is not
//! loopback is refused before any connection.

mod common;

use safe_simulator::{Seed, SimConfig, Simulator, TlsIdentity};
use safe_tracker::{Client, ClientConfig, ErrorCode};

async fn https_simulator() -> (Simulator, TlsIdentity) {
    let id = TlsIdentity::generate();
    let sim = Simulator::start(SimConfig {
        seed: Seed {
            seed: 1,
            orgs: 1,
            items: 3,
        },
        tls: Some(id.clone()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    (sim, id)
}

#[tokio::test]
async fn unknown_ca_is_refused_and_ca_file_is_trusted() {
    let (sim, id) = https_simulator().await;
    assert!(sim.base_url().starts_with("https://localhost:"));
    let refused = common::client(&sim, 1);
    let err = refused.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Transport, "{err}");
    assert_eq!(sim.total_requests(), 0, "no request got through");

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &id.cert_pem).unwrap();
    let trusted = Client::new(common::builder(&sim, 1).ca_file(&ca).build().unwrap()).unwrap();
    let item = trusted.item_by_seq(1).await.unwrap().unwrap();
    assert_eq!(item.sequential_org_id, Some(1));

    // A CA file that is not PEM is a configuration error, not a silent fallback.
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let err = Client::new(common::builder(&sim, 1).ca_file(&bad).build().unwrap()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
}

#[test]
fn plain_http_to_a_remote_host_is_refused_by_default() {
    let base = || {
        ClientConfig::builder()
            .token("t0ken-value")
            .organization_id(1)
            .office_id(1)
    };
    let err = base()
        .base_url("http://safe.example.org/api/")
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    assert!(err.to_string().contains("http://"));
    assert!(
        base()
            .base_url("http://safe.example.org/api/")
            .allow_insecure_http(true)
            .build()
            .is_ok()
    );
}
