//! `serve` (every agency of a tenants file in one process, into one SQLite store) and
//! `fleet status` (the tenants' states, read from the store without any request).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use safe_tracker::Error;
use safe_tracker::fleet::{Fleet, FleetOptions, TenantState, TenantsFile, TenantsOptions};

use crate::fleet_store::{FleetStore, read_states};
use crate::web;

/// `serve`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The tenants file (TOML: a [defaults] table and one [[tenant]] per agency).
    #[arg(long)]
    pub tenants: PathBuf,
    /// The SQLite file (default safe-tracker.db): the schema of `sync`, every tenant's items
    /// keyed by organisation.
    #[arg(long, default_value = "safe-tracker.db")]
    pub db: PathBuf,
    /// The store as a URL: sqlite:PATH (the same as --db).
    #[arg(long)]
    pub store: Option<String>,
    /// The most requests per second across every tenant.
    #[arg(long, default_value_t = 20.0)]
    pub max_requests_per_second: f64,
    /// Seconds a tenant parked by an auth or licence error waits before it tries again.
    #[arg(long, default_value_t = 3600)]
    pub park_retry: u64,
    /// Allow plain http:// to a host that is not loopback.
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Serve /metrics (Prometheus), /healthz and /status (an HTML page of every tenant) on
    /// this address (default 127.0.0.1:9464 when given without one; port 0 picks a free port,
    /// named on the first line of the log).
    #[arg(long, num_args = 0..=1, default_missing_value = "127.0.0.1:9464")]
    pub metrics: Option<std::net::SocketAddr>,
    /// At most this many tenants' saves in one commit (1: one transaction per save, for the
    /// benchmark's comparison).
    #[arg(long, default_value_t = 512, hide = true)]
    pub max_commit_group: usize,
    /// Also re-read the tenants file whenever it changes (looked at every 2 seconds), as on
    /// SIGHUP.
    #[arg(long)]
    pub watch_config: bool,
}

impl ServeArgs {
    fn db_path(&self) -> Result<PathBuf, Error> {
        match &self.store {
            None => Ok(self.db.clone()),
            Some(url) => match url.strip_prefix("sqlite:") {
                Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
                _ if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                    Err(Error::InvalidConfig(
                        "--store postgres://… is not available in this build yet; use \
                         --store sqlite:PATH or --db PATH"
                            .into(),
                    ))
                }
                _ => Err(Error::InvalidConfig(format!(
                    "--store must be sqlite:PATH, not {url:?}"
                ))),
            },
        }
    }
}

fn load(args: &ServeArgs) -> Result<TenantsFile, Error> {
    let file = TenantsFile::load(
        &args.tenants,
        &TenantsOptions {
            allow_insecure_http: args.allow_insecure_http,
            host_language: Some("cli-serve".into()),
        },
    )?;
    for w in &file.warnings {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    Ok(file)
}

/// Runs the fleet until SIGTERM or Ctrl-C (exit 0); SIGHUP re-reads the tenants file (an
/// invalid file is refused as a whole and the running set goes on).
pub async fn serve(args: &ServeArgs, quiet: bool) -> Result<(), Error> {
    let file = load(args)?;
    let db = args.db_path()?;
    let commits = web::commit_histogram();
    let observed = commits.clone();
    let store = FleetStore::open(&db, args.max_commit_group, move |_, took| {
        observed.observe(took.as_secs_f64())
    })?;
    let fleet = Fleet::new(
        store.clone(),
        FleetOptions {
            max_requests_per_second: args.max_requests_per_second,
            park_retry: Duration::from_secs(args.park_retry),
        },
    )?;
    fleet.restore(read_states(&db)?);
    let pages = match args.metrics {
        Some(addr) => {
            let pages = web::Web::new(fleet.clone(), commits);
            let bound = web::start(pages.clone(), addr).await?;
            if !bound.ip().is_loopback() {
                tracing::warn!(%bound, "the metrics and status pages are reachable from other hosts");
            }
            tracing::info!(%bound, "metrics on http://{bound}/metrics, status on http://{bound}/status");
            eprintln!("metrics on http://{bound}/metrics, status on http://{bound}/status");
            Some(pages)
        }
        None => None,
    };
    let applied = fleet.apply(&file.tenants).await;
    if !quiet {
        eprintln!(
            "serving {} tenants of {} into {} (at most {} requests/s in all); SIGHUP reloads, \
             SIGTERM stops",
            applied.started.len(),
            args.tenants.display(),
            db.display(),
            args.max_requests_per_second
        );
    }
    tracing::info!(started = applied.started.len(), "fleet started");
    let mut hangup = unix_signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut terminate = unix_signal(tokio::signal::unix::SignalKind::terminate())?;
    // --watch-config: the file's modification time and size, looked at every 2 seconds.
    let stamp = || {
        std::fs::metadata(&args.tenants)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let mut seen = stamp();
    let mut watch = tokio::time::interval(Duration::from_secs(2));
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                seen = stamp();
                reload(args, &fleet, pages.as_deref(), quiet).await;
            }
            _ = watch.tick(), if args.watch_config => {
                let now = stamp();
                if now != seen {
                    seen = now;
                    reload(args, &fleet, pages.as_deref(), quiet).await;
                }
            }
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    if !quiet {
        eprintln!("stopping: each tenant finishes or abandons its current item");
    }
    fleet.shutdown().await;
    drop(fleet);
    // The last states reach the store before the process ends.
    store.flush_states();
    Ok(())
}

/// Re-reads the tenants file and applies it; an invalid file is refused as a whole and the
/// running tenants go on.
async fn reload(args: &ServeArgs, fleet: &Fleet, pages: Option<&web::Web>, quiet: bool) {
    match load(args) {
        Ok(file) => {
            if let Some(p) = pages {
                p.file_read(None);
            }
            let a = fleet.apply(&file.tenants).await;
            tracing::info!(started = ?a.started, stopped = ?a.stopped, restarted = ?a.restarted, "tenants file reloaded");
            if !quiet {
                eprintln!(
                    "reloaded {}: started {:?}, stopped {:?}, restarted {:?}",
                    args.tenants.display(),
                    a.started,
                    a.stopped,
                    a.restarted
                );
            }
        }
        Err(e) => {
            if let Some(p) = pages {
                p.file_read(Some(e.to_string()));
            }
            tracing::error!(error = %e, "the tenants file was refused; the running tenants go on");
            eprintln!("error: the tenants file was refused, the running tenants go on: {e}");
        }
    }
}

fn unix_signal(
    kind: tokio::signal::unix::SignalKind,
) -> Result<tokio::signal::unix::Signal, Error> {
    tokio::signal::unix::signal(kind)
        .map_err(|e| Error::InvalidConfig(format!("cannot listen for signals: {e}")))
}

/// `fleet status`: every tenant's state from the store, without any request.
pub fn fleet_status(db: &Path, json: bool) -> Result<(), Error> {
    if !db.exists() {
        return Err(Error::InvalidConfig(format!(
            "no store at {} (run `safe-tracker serve` first)",
            db.display()
        )));
    }
    let mut states = read_states(db)?;
    TenantState::sort_for_operators(&mut states);
    if json {
        let rows: Vec<serde_json::Value> = states.iter().map(status_json).collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!(
        "{:<24} {:>8} {:<12} {:>8} {:<24} {:>10}  LAST ERROR",
        "TENANT", "ORG", "STATE", "CURSOR", "LAST SWEEP", "LAG"
    );
    for s in &states {
        println!(
            "{:<24} {:>8} {:<12} {:>8} {:<24} {:>10}  {}",
            s.name,
            s.organization_id,
            s.phase.name(),
            s.cursor
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            s.last_sweep
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "-".into()),
            lag(s).map(human).unwrap_or_else(|| "-".into()),
            s.last_error
                .as_ref()
                .map(|e| format!("{} ({}): {}", e.name, e.code, e.message))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// `fleet status --store postgres://…`: every unit's lease (owner, epoch, expiry, whether
/// it is held now, takeovers) with its cursor and last sweep; no SAFE request. The URL's
/// password is never printed.
pub async fn fleet_status_postgres(url: &str, json: bool) -> Result<(), Error> {
    use safe_tracker::postgres::{PgOptions, PgStore};
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(Error::InvalidConfig(
            "--store must be a postgres:// URL (a SQLite store is --db)".into(),
        ));
    }
    let store = PgStore::connect(url, PgOptions::default()).await?;
    let units = store.overview().await?;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    if json {
        let rows: Vec<serde_json::Value> = units
            .iter()
            .map(|u| {
                serde_json::json!({
                    "unit": u.lease.unit,
                    "owner": u.lease.owner,
                    "epoch": u.lease.epoch,
                    "lease_expires_at": time(u.lease.expires_at),
                    "held": u.lease.live,
                    "takeovers": u.lease.takeovers,
                    "cursor": u.cursor,
                    "last_sweep": time(u.last_sweep),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!("store {}", store.target());
    println!(
        "{:<24} {:<32} {:>6} {:<20} {:>9} {:>8}  LAST SWEEP",
        "UNIT", "OWNER", "EPOCH", "LEASE UNTIL", "TAKEOVERS", "CURSOR"
    );
    let short = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into())
    };
    for u in &units {
        let owner = match (&u.lease.owner, u.lease.live) {
            (Some(o), true) => o.clone(),
            (Some(o), false) => format!("({o}, lapsed)"),
            (None, _) => "-".into(),
        };
        println!(
            "{:<24} {:<32} {:>6} {:<20} {:>9} {:>8}  {}",
            u.lease.unit,
            owner,
            u.lease.epoch,
            short(u.lease.expires_at),
            u.lease.takeovers,
            u.cursor
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            short(u.last_sweep)
        );
    }
    Ok(())
}

/// Seconds since the tenant was last caught up.
fn lag(s: &TenantState) -> Option<i64> {
    s.lag(Utc::now()).map(|l| l.num_seconds())
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

fn status_json(s: &TenantState) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("lag_seconds".into(), lag(s).into());
    }
    v
}
