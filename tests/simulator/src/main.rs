//! `safe-simulator`: serves a seeded SAFE API on loopback and prints its base URL as the first
//! line of stdout, then one JSON line with the seeded credentials.

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use safe_simulator::{BlankStyle, FaultRule, ItemShape, Options, Seed, SimConfig, Simulator};

/// A local SAFE web API for integration tests.
#[derive(Debug, Parser)]
#[command(name = "safe-simulator", version)]
struct Args {
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Organisations (ids 1..=N; token `sim-token-org<N>`, office `<N>01`).
    #[arg(long, default_value_t = 2)]
    orgs: u64,
    /// Items seeded per organisation.
    #[arg(long, default_value_t = 50)]
    items: u64,
    /// Give K numbers of every organisation a second item (duplicated sequential org ids),
    /// evenly spread over 2..=items.
    #[arg(long, value_name = "K", default_value_t = 0)]
    duplicates: u64,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// The "no item" answer of the item-by-number endpoint.
    #[arg(long, value_enum, default_value_t = BlankStyle::EmptyBody)]
    blank_style: BlankStyle,
    /// Item answers as an object or a one-element array.
    #[arg(long, value_enum, default_value_t = ItemShape::Object)]
    item_shape: ItemShape,
    /// Disable a token making more than N requests in a sliding minute.
    #[arg(long)]
    police_per_minute: Option<usize>,
    /// Status of the "no licenses are available" answer.
    #[arg(long, default_value_t = 403)]
    licence_status: u16,
    /// Serve HTTPS with a certificate generated now for `localhost`, written (PEM) to this path
    /// for clients to trust.
    #[arg(long)]
    tls_cert_out: Option<std::path::PathBuf>,
    /// A fault rule as JSON (repeatable), e.g. '{"kind":"status","status":503,"count":2}'.
    #[arg(long = "fault")]
    faults: Vec<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut faults = Vec::new();
    for f in &args.faults {
        match serde_json::from_str::<FaultRule>(f) {
            Ok(r) => faults.push(r),
            Err(e) => {
                eprintln!("safe-simulator: bad --fault {f:?}: {e}");
                std::process::exit(2);
            }
        }
    }
    let config = SimConfig {
        seed: Seed {
            seed: args.seed,
            orgs: args.orgs,
            items: args.items,
        },
        options: Options {
            blank_style: args.blank_style,
            item_shape: args.item_shape,
            police_per_minute: args.police_per_minute,
            licence_status: args.licence_status,
            ..Options::default()
        },
        faults,
        bind: args.bind,
        tls: None,
        duplicates: args.duplicates,
    };
    let mut config = config;
    if let Some(path) = &args.tls_cert_out {
        let id = safe_simulator::TlsIdentity::generate();
        if let Err(e) = std::fs::write(path, &id.cert_pem) {
            eprintln!("safe-simulator: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
        config.tls = Some(id);
    }
    let sim = match Simulator::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("safe-simulator: cannot bind {}: {e}", args.bind);
            std::process::exit(1);
        }
    };
    let creds = {
        let w = sim.app().world.lock().expect("world");
        safe_simulator::credentials_json(&w)
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", sim.base_url());
    let _ = writeln!(out, "{creds}");
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
}
