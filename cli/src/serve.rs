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
    /// The tenants file (TOML: a [defaults] table and one [[tenant]] per agency). With a
    /// PostgreSQL store it is applied to the database at start and on SIGHUP (every worker
    /// runs the last set applied); a worker started without it serves the stored set.
    #[arg(long)]
    pub tenants: Option<PathBuf>,
    /// The SQLite file (default safe-tracker.db): the schema of `sync`, every tenant's items
    /// keyed by organisation.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The store as a URL: sqlite:PATH (the same as --db), or postgres://user@host/db to run
    /// as one of several workers sharing the tenants through fenced leases (the password from
    /// the URL, PGPASSWORD or PGPASSFILE). Default: SAFE_STORE_URL when set.
    #[arg(long)]
    pub store: Option<String>,
    /// Seconds a PostgreSQL lease lasts without a renewal (renewed every third of it): how
    /// long a dead worker's tenants wait before another worker takes them over.
    #[arg(long, default_value_t = 30.0)]
    pub lease_ttl: f64,
    /// This worker's id in the lease rows (default host-pid-random; unique per process).
    #[arg(long)]
    pub worker_id: Option<String>,
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

/// Where `serve` keeps its data.
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl ServeArgs {
    fn target(&self) -> Result<Target, Error> {
        let url = match (&self.store, &self.db) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidConfig(
                    "give --store or --db, not both".into(),
                ));
            }
            (Some(url), None) => Some(url.clone()),
            (None, Some(db)) => return Ok(Target::Sqlite(db.clone())),
            (None, None) => std::env::var("SAFE_STORE_URL")
                .ok()
                .filter(|u| !u.is_empty()),
        };
        let Some(url) = url else {
            return Ok(Target::Sqlite(PathBuf::from("safe-tracker.db")));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url));
        }
        match url.strip_prefix("sqlite:") {
            Some(path) if !path.is_empty() => Ok(Target::Sqlite(PathBuf::from(path))),
            _ => Err(Error::InvalidConfig(
                "--store must be sqlite:PATH or postgres://… (its text is not repeated here: it \
                 may hold a password)"
                    .into(),
            )),
        }
    }

    fn tenants_options(&self) -> TenantsOptions {
        TenantsOptions {
            allow_insecure_http: self.allow_insecure_http,
            host_language: Some("cli-serve".into()),
        }
    }

    fn fleet_options(&self) -> FleetOptions {
        FleetOptions {
            max_requests_per_second: self.max_requests_per_second,
            park_retry: Duration::from_secs(self.park_retry),
        }
    }
}

/// Reads and validates the tenants file, with the text validated.
fn load(args: &ServeArgs) -> Result<(TenantsFile, String), Error> {
    let path = args.tenants.as_ref().ok_or_else(|| {
        Error::InvalidConfig("--tenants FILE is needed with a SQLite store".into())
    })?;
    let (file, text) = TenantsFile::load_with_text(path, &args.tenants_options())?;
    for w in &file.warnings {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    Ok((file, text))
}

/// Runs the fleet until SIGTERM or Ctrl-C (exit 0); SIGHUP re-reads the tenants file (an
/// invalid file is refused as a whole and the running set goes on).
pub async fn serve(args: &ServeArgs, quiet: bool) -> Result<(), Error> {
    let db = match args.target()? {
        Target::Sqlite(db) => db,
        Target::Postgres(url) => return serve_shared(args, &url, quiet).await,
    };
    let (file, _) = load(args)?;
    let commits = web::commit_histogram();
    let observed = commits.clone();
    let store = FleetStore::open(&db, args.max_commit_group, move |_, took| {
        observed.observe(took.as_secs_f64())
    })?;
    let fleet = Fleet::new(store.clone(), args.fleet_options())?;
    fleet.restore(read_states(&db)?);
    let pages = start_pages(args, &fleet, commits, None).await?;
    let applied = fleet.apply(&file.tenants).await;
    if !quiet {
        eprintln!(
            "serving {} tenants of {} into {} (at most {} requests/s in all); SIGHUP reloads, \
             SIGTERM stops",
            applied.started.len(),
            file.path.display(),
            db.display(),
            args.max_requests_per_second
        );
    }
    tracing::info!(started = applied.started.len(), "fleet started");
    until_stopped(args, async || {
        reload(args, &fleet, pages.as_deref(), quiet).await
    })
    .await?;
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
        Ok((file, _)) => {
            if let Some(p) = pages {
                p.file_read(None);
            }
            let a = fleet.apply(&file.tenants).await;
            tracing::info!(started = ?a.started, stopped = ?a.stopped, restarted = ?a.restarted, "tenants file reloaded");
            if !quiet {
                eprintln!(
                    "reloaded {}: started {:?}, stopped {:?}, restarted {:?}",
                    file.path.display(),
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

/// Serves the metrics and status pages of `fleet` when --metrics is given.
async fn start_pages(
    args: &ServeArgs,
    fleet: &Fleet,
    commits: prometheus_client::metrics::histogram::Histogram,
    leases: Option<web::LeaseSource>,
) -> Result<Option<std::sync::Arc<web::Web>>, Error> {
    let Some(addr) = args.metrics else {
        return Ok(None);
    };
    let pages = web::Web::new(fleet.clone(), commits, leases);
    let bound = web::start(pages.clone(), addr).await?;
    if !bound.ip().is_loopback() {
        tracing::warn!(%bound, "the metrics and status pages are reachable from other hosts");
    }
    tracing::info!(%bound, "metrics on http://{bound}/metrics, status on http://{bound}/status");
    eprintln!("metrics on http://{bound}/metrics, status on http://{bound}/status");
    Ok(Some(pages))
}

/// Returns on SIGTERM or Ctrl-C; calls `reload` on SIGHUP and, with --watch-config, when the
/// tenants file changes (its modification time and size, looked at every 2 seconds). Without
/// --tenants there is nothing to reload and SIGHUP is ignored.
async fn until_stopped(args: &ServeArgs, mut reload: impl AsyncFnMut()) -> Result<(), Error> {
    let mut hangup = unix_signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut terminate = unix_signal(tokio::signal::unix::SignalKind::terminate())?;
    let has_file = args.tenants.is_some();
    let mut seen = file_stamp(args);
    let mut watch = tokio::time::interval(Duration::from_secs(2));
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = hangup.recv(), if has_file => {
                seen = file_stamp(args);
                reload().await;
            }
            _ = watch.tick(), if args.watch_config && has_file => {
                let now = file_stamp(args);
                if now != seen {
                    seen = now;
                    reload().await;
                }
            }
            _ = terminate.recv() => return Ok(()),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// The tenants file's modification time and size (for --watch-config).
fn file_stamp(args: &ServeArgs) -> Option<(Option<std::time::SystemTime>, u64)> {
    let path = args.tenants.as_ref()?;
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().ok(), m.len()))
}

/// `serve --store postgres://…`: one worker of the fleet sharing the database's tenants. Runs
/// until SIGTERM or Ctrl-C, then stops its tenants and gives up every lease at once (exit 0);
/// SIGHUP applies the tenants file again.
async fn serve_shared(args: &ServeArgs, url: &str, quiet: bool) -> Result<(), Error> {
    use safe_tracker::postgres::{
        LeaseOptions, PgOptions, PgStore, SharedFleet, SharedFleetOptions,
    };
    if !(1.0..=3600.0).contains(&args.lease_ttl) {
        return Err(Error::InvalidConfig(format!(
            "--lease-ttl must be from 1 to 3600 seconds, not {}",
            args.lease_ttl
        )));
    }
    let mut lease = LeaseOptions::new();
    if let Some(id) = &args.worker_id {
        if id.is_empty() || id.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidConfig(
                "--worker-id must be a non-empty name without control characters".into(),
            ));
        }
        lease.owner = id.clone();
    }
    lease.ttl = Duration::from_secs_f64(args.lease_ttl);
    let store = PgStore::connect(url, PgOptions::default()).await?;
    let commits = web::commit_histogram();
    let observed = commits.clone();
    let shared = std::sync::Arc::new(
        SharedFleet::join(
            store.clone(),
            SharedFleetOptions {
                lease,
                fleet: args.fleet_options(),
                tenants: args.tenants_options(),
                max_commit_group: args.max_commit_group,
            },
            move |_, took| observed.observe(took.as_secs_f64()),
        )
        .await?,
    );
    if args.tenants.is_some() {
        apply_shared(args, &shared, None, quiet).await?;
    } else if store.tenant_set_id().await?.is_none() {
        tracing::warn!("no tenant set is stored yet: this worker waits for one");
        eprintln!(
            "warning: no tenant set is stored in {} yet; `serve --tenants FILE` on any worker \
             applies one",
            store.target()
        );
    }
    let counts = shared.clone();
    let leases: web::LeaseSource = Box::new(move || counts.counts());
    let pages = start_pages(args, shared.fleet(), commits, Some(leases)).await?;
    if !quiet {
        eprintln!(
            "worker {} joined the fleet of {} (lease TTL {} s; at most {} requests/s here); \
             SIGHUP re-applies the tenants file, SIGTERM stops and hands the tenants over",
            shared.owner(),
            store.target(),
            args.lease_ttl,
            args.max_requests_per_second
        );
    }
    let rounds = {
        let shared = shared.clone();
        tokio::spawn(async move { shared.run().await })
    };
    until_stopped(args, async || {
        let _ = apply_shared(args, &shared, pages.as_deref(), quiet).await;
    })
    .await?;
    if !quiet {
        eprintln!(
            "stopping: each tenant finishes or abandons its current item, then every lease is given up"
        );
    }
    shared.stop();
    let _ = rounds.await;
    if let Err(e) = shared.leave().await {
        tracing::warn!(error = %e, "cannot give the leases up; they run out after their TTL");
        eprintln!("warning: cannot give the leases up ({e}); they run out after their TTL");
    }
    Ok(())
}

/// Applies the tenants file to the shared store (every worker runs it from its next round).
/// An invalid file is refused as a whole and the stored set stays.
async fn apply_shared(
    args: &ServeArgs,
    shared: &safe_tracker::postgres::SharedFleet,
    pages: Option<&web::Web>,
    quiet: bool,
) -> Result<(), Error> {
    let applied = match load(args) {
        Ok((file, text)) => shared.apply_file(&file, &text).await.map(|a| (file, a)),
        Err(e) => Err(e),
    };
    match applied {
        Ok((file, (id, changed))) => {
            if let Some(p) = pages {
                p.file_read(None);
            }
            tracing::info!(
                set = id,
                changed,
                tenants = file.tenants.len(),
                "tenants file applied"
            );
            if !quiet {
                eprintln!(
                    "applied {} as tenant set {id}{} ({} tenants)",
                    file.path.display(),
                    if changed { "" } else { " (unchanged)" },
                    file.tenants.len()
                );
            }
            shared.wake();
            Ok(())
        }
        Err(e) => {
            if let Some(p) = pages {
                p.file_read(Some(e.to_string()));
            }
            tracing::error!(error = %e, "the tenants file was refused; the stored set goes on");
            eprintln!("error: the tenants file was refused, the stored set goes on: {e}");
            Err(e)
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

/// `fleet status --store postgres://…`: every tenant's lease (owner, epoch, expiry, whether
/// it is held now, takeovers) with its state, cursor, last sweep and lag; no SAFE request.
/// The URL's password is never printed.
pub async fn fleet_status_postgres(url: &str, json: bool) -> Result<(), Error> {
    use safe_tracker::postgres::{PgOptions, PgStore};
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(Error::InvalidConfig(
            "--store must be a postgres:// URL (a SQLite store is --db)".into(),
        ));
    }
    let store = PgStore::connect(url, PgOptions::default()).await?;
    let units = store.overview().await?;
    let states: std::collections::HashMap<String, TenantState> = store
        .tenant_states()
        .await?
        .into_iter()
        .map(|s| (s.state.name.clone(), s.state))
        .collect();
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    if json {
        let rows: Vec<serde_json::Value> = units
            .iter()
            .map(|u| {
                let state = states.get(&u.lease.unit);
                serde_json::json!({
                    "unit": u.lease.unit,
                    "owner": u.lease.owner,
                    "epoch": u.lease.epoch,
                    "lease_expires_at": time(u.lease.expires_at),
                    "held": u.lease.live,
                    "takeovers": u.lease.takeovers,
                    "cursor": u.cursor,
                    "last_sweep": time(u.last_sweep),
                    "phase": state.map(|s| s.phase.name()),
                    "caught_up_at": time(state.and_then(|s| s.caught_up_at)),
                    "lag_seconds": state.and_then(lag),
                    "last_error": state.and_then(|s| s.last_error.clone()),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!("store {}", store.target());
    println!(
        "{:<24} {:<32} {:>6} {:<20} {:>9} {:<12} {:>8} {:>6}  LAST SWEEP",
        "TENANT", "OWNER", "EPOCH", "LEASE UNTIL", "TAKEOVERS", "STATE", "CURSOR", "LAG"
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
        let state = states.get(&u.lease.unit);
        println!(
            "{:<24} {:<32} {:>6} {:<20} {:>9} {:<12} {:>8} {:>6}  {}",
            u.lease.unit,
            owner,
            u.lease.epoch,
            short(u.lease.expires_at),
            u.lease.takeovers,
            state.map(|s| s.phase.name()).unwrap_or("-"),
            u.cursor
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            state.and_then(lag).map(human).unwrap_or_else(|| "-".into()),
            short(u.last_sweep)
        );
    }
    Ok(())
}

/// `store copy --from sqlite:PATH --to postgres://…`: the SQLite store (migrated to its latest
/// schema first) copied into PostgreSQL in one transaction, under the lock that keeps `serve`
/// off the SQLite file.
pub async fn store_copy(from: &str, to: &str, json: bool) -> Result<(), Error> {
    use safe_tracker::postgres::{PgOptions, PgStore};
    let path = match from.strip_prefix("sqlite:") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            return Err(Error::InvalidConfig(
                "--from must be sqlite:PATH (the SQLite store of sync or serve)".into(),
            ));
        }
    };
    if !to.starts_with("postgres://") && !to.starts_with("postgresql://") {
        return Err(Error::InvalidConfig(
            "--to must be a postgres:// URL (its text is not repeated here: it may hold a \
             password)"
                .into(),
        ));
    }
    if !path.exists() {
        return Err(Error::InvalidConfig(format!(
            "no store at {}",
            path.display()
        )));
    }
    let _lock = crate::fleet_store::lock_store(&path)?;
    drop(crate::store::SyncStore::open(&path)?);
    let store = PgStore::connect(to, PgOptions::default()).await?;
    let report = store.import_sqlite(&path).await?;
    if json {
        println!("{}", serde_json::to_value(&report).unwrap_or_default());
    } else {
        println!(
            "copied {} into {}: {} items, {} updated items, {} sync-log rows, {} tenant states, \
             {} checkpoints",
            path.display(),
            store.target(),
            report.items,
            report.updated_items,
            report.sync_log,
            report.fleet_tenants,
            report.checkpoints
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
