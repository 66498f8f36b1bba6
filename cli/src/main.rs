//! `safe-tracker`: check credentials, read SAFE entities, and sync new items into SQLite or
//! JSON lines with the throttled sequential poller.
//!
//! Exit codes: 0 success; 2 configuration or usage; 3 auth, licence or disabled account;
//! 4 transient failure (network, timeout, server, rate limit, bad answer); 5 interrupted;
//! 6 storage or checkpoint; 1 anything else.

mod fleet_store;
mod serve;
mod settings;
mod store;
mod web;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use safe_tracker::models::Lookup;
use safe_tracker::poller::{
    CheckpointStore, DedupeKey, Expand, FileCheckpoint, ItemRecord, Poller, PollerOptions,
    PollerStatus, UpdatedOptions, UpdatedPoller, UpdatedRecord,
};
use safe_tracker::{Client, Error, ErrorCode};
use serde_json::Value;

use settings::Connection;
use store::{Staged, SyncStore};

#[derive(Debug, Parser)]
#[command(
    name = "safe-tracker",
    version,
    about = "Check SAFE credentials, read SAFE entities, and sync new evidence items into SQLite or JSON lines.",
    after_help = "Exit codes: 0 success, 2 configuration, 3 auth/licence/disabled account, 4 transient failure, 5 interrupted, 6 storage/checkpoint, 1 other."
)]
struct Cli {
    #[command(flatten)]
    conn: Connection,
    /// No progress display or log lines (errors still print).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Log lines as text or as JSON objects (one per line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One request that proves the token, licence, organisation and office.
    Check,
    /// Print every item holding this sequential org id (one row each; usually one).
    Item {
        /// The sequential org id.
        seq: u64,
        /// Print a JSON array of the items (always an array, even for one item).
        #[arg(long)]
        json: bool,
    },
    /// Print a case.
    Case {
        /// The case id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print an item's chain of custody.
    Custody {
        /// The item's database id.
        item_id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the people of a case.
    People {
        /// The case id.
        case_id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a lookup list: races, genders, address_types, states, person_types, offense_types, categories.
    Lookups {
        /// The list's name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sync new items (and with --updated, changed items) into SQLite or JSON lines.
    Sync(SyncArgs),
    /// Show the checkpoint (cursor, holes, last sweep, the number a failing sweep is stuck at,
    /// skipped numbers) and what the store holds, without any request.
    Status(StoreArgs),
    /// Step over a number for good (an item that can never be read): only the cursor, an open
    /// hole or the number the poller is stuck at. Recorded in the checkpoint and the sync log.
    Skip {
        /// The sequential org id to step over.
        seq: u64,
        /// Why (kept with the record).
        #[arg(long)]
        reason: String,
        /// On a `serve` store: the tenant whose number it is (its settings come from
        /// --tenants). Refused while `serve` runs on the store.
        #[arg(long, requires = "tenants")]
        tenant: Option<String>,
        /// The tenants file of that tenant.
        #[arg(long)]
        tenants: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show what the next sweep would do and when it may start, without any request.
    Plan(StoreArgs),
    /// Poll every agency of a tenants file in one long-running process, into one SQLite store
    /// (the schema of `sync`), or as one of several workers sharing the agencies through
    /// PostgreSQL (--store postgres://…). SIGHUP re-reads the file; SIGTERM or Ctrl-C stop it
    /// (exit 0).
    Serve(serve::ServeArgs),
    /// The fleet's tenants, read from the store without any request.
    Fleet {
        #[command(subcommand)]
        command: FleetCommand,
    },
    /// Move a store: `store copy --from sqlite:PATH --to postgres://…`.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Start the bundled SAFE simulator with seeded data, to try everything offline.
    Simulate {
        /// Items per organisation.
        #[arg(long, default_value_t = 3000)]
        items: u64,
        /// Organisations.
        #[arg(long, default_value_t = 1)]
        orgs: u64,
        /// Seeded numbers (never 1) that hold two items, as after an admin reused a number.
        #[arg(long, default_value_t = 0)]
        duplicates: u64,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: std::net::SocketAddr,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Every tenant's state, cursor, last sweep, lag and last error (those that need
    /// attention first).
    Status {
        /// The SQLite file `serve` writes.
        #[arg(long, default_value = "safe-tracker.db")]
        db: PathBuf,
        /// A PostgreSQL store (`postgres://…`, or SAFE_STORE_URL): every unit's owner, epoch,
        /// lease expiry, cursor and last sweep, instead of --db.
        #[arg(
            long,
            env = "SAFE_STORE_URL",
            hide_env_values = true,
            conflicts_with = "db"
        )]
        store: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copy a SQLite store (of `sync` or `serve`) into PostgreSQL: items, updated items, the
    /// sync log, tenant states and checkpoints, in one transaction, so the fleet resumes every
    /// tenant where it was. Refused when the target already holds any of those
    /// organisations, and while `serve` runs on the SQLite file.
    Copy {
        /// The SQLite store: sqlite:PATH.
        #[arg(long)]
        from: String,
        /// The PostgreSQL store: postgres://user@host/db (or SAFE_STORE_URL).
        #[arg(long, env = "SAFE_STORE_URL", hide_env_values = true)]
        to: String,
        /// Print what was copied as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct StoreArgs {
    /// The SQLite file (default safe-tracker.db).
    #[arg(long, default_value = "safe-tracker.db")]
    db: PathBuf,
    /// Use the JSON-lines checkpoint file instead of the SQLite store.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
struct SyncArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Write JSON lines to this file (`-` for stdout) instead of SQLite.
    #[arg(long)]
    jsonl: Option<String>,
    /// Keep running on the schedule (every --interval seconds, never twice within 60 s).
    #[arg(long)]
    watch: bool,
    /// Seconds between sweeps with --watch.
    #[arg(long, default_value_t = 600)]
    interval: u64,
    /// Fetch with each item: form_data, case, people, custody (comma separated) or all.
    #[arg(long, default_value = "")]
    expand: String,
    /// Numbers probed past a blank answer before stopping (0 = the vendor's behaviour).
    #[arg(long, default_value_t = 0)]
    gap_tolerance: u32,
    /// First sequential org id when no checkpoint exists.
    #[arg(long, default_value_t = 1)]
    start_seq: u64,
    /// Requests kept in flight ahead of storage.
    #[arg(long, default_value_t = 0)]
    read_ahead: u32,
    /// Also follow the updated-items stream into the same store.
    #[arg(long)]
    updated: bool,
    /// Lowers the 60-second floor between sweeps (seconds). For tests against the simulator
    /// only: SAFE may disable an account polled more than once a minute.
    #[arg(long, hide = true)]
    unsafe_min_interval: Option<u64>,
}

/// The exit status for `e`: from its class (`ErrorClass::exit_code`, the one table in the core).
fn exit_code(e: &Error) -> i32 {
    e.code().class().exit_code()
}

/// A plain-words explanation of a failed `check`, with the fix.
fn explain(e: &Error) -> String {
    match e.code() {
        ErrorCode::Auth => "The token was refused (HTTP 401). Generate a static token for an Org Admin user under Settings > Users > Edit > Generate, and log that user out of the web UI if it is the one you are logged in as.".into(),
        ErrorCode::LicenseUnavailable => "SAFE says no licenses are available. Reserve a licence for the API user under Settings > License Allocation ('Reserved for Individual Users').".into(),
        ErrorCode::AccountDisabled => {
            let msg = e.to_string();
            if msg.to_ascii_lowercase().contains("office") || msg.to_ascii_lowercase().contains("organization") {
                "The organisation or office id does not belong to this token. Check the ids under Settings > Offices.".into()
            } else {
                "The account is disabled or forbidden (HTTP 403). Polling more than once a minute can disable an account: contact Tracker Products support.".into()
            }
        }
        ErrorCode::InvalidConfig => "The configuration is incomplete or invalid.".into(),
        ErrorCode::Transport | ErrorCode::Timeout => "SAFE could not be reached. Check the base URL, the network and any proxy (HTTPS_PROXY, --ca-file).".into(),
        _ => "The request failed.".into(),
    }
}

/// Writes a line to stdout; a closed pipe (`| head`) ends the program quietly.
fn emit(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{args}").and_then(|_| out.flush()).is_err() {
        std::process::exit(0);
    }
}

macro_rules! say {
    ($($t:tt)*) => { emit(format_args!($($t)*)) };
}

fn print_json(v: &Value) {
    say!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A readable table: an object as `key  value` lines, a list of objects as columns.
fn print_table(v: &Value, columns: &[&str]) {
    match v {
        Value::Array(rows) => {
            let widths: Vec<usize> = columns
                .iter()
                .map(|c| {
                    rows.iter()
                        .map(|r| scalar(&r[*c]).len().min(40))
                        .max()
                        .unwrap_or(0)
                        .max(c.len())
                })
                .collect();
            let line = |cells: Vec<String>| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{:<w$}", c.chars().take(40).collect::<String>(), w = *w))
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            say!("{}", line(columns.iter().map(|c| c.to_string()).collect()));
            for r in rows {
                say!("{}", line(columns.iter().map(|c| scalar(&r[*c])).collect()));
            }
        }
        Value::Object(map) => {
            let width = map.keys().map(String::len).max().unwrap_or(0);
            for (k, val) in map {
                if val.is_null() || val.is_array() && val.as_array().is_some_and(Vec::is_empty) {
                    continue;
                }
                say!("{k:<width$}  {}", scalar(val));
            }
        }
        other => say!("{}", scalar(other)),
    }
}

fn show(v: Value, json: bool, columns: &[&str]) {
    if json {
        print_json(&v);
    } else {
        print_table(&v, columns);
    }
}

fn client(cli: &Cli) -> Result<Client, Error> {
    Client::new(cli.conn.client_config(true)?)
}

fn poller_options(args: &SyncArgs) -> Result<PollerOptions, Error> {
    Ok(PollerOptions {
        start_seq: args.start_seq,
        gap_tolerance: args.gap_tolerance,
        read_ahead: args.read_ahead,
        expand: Expand::parse(&args.expand)?,
        interval: Duration::from_secs(args.interval),
        unsafe_min_interval: args.unsafe_min_interval.map(Duration::from_secs),
        ..PollerOptions::default()
    })
}

fn jsonl_checkpoint(store: &StoreArgs, jsonl: &str) -> PathBuf {
    store.checkpoint.clone().unwrap_or_else(|| {
        if jsonl == "-" {
            PathBuf::from("safe-tracker.checkpoint.json")
        } else {
            PathBuf::from(format!("{jsonl}.checkpoint.json"))
        }
    })
}

/// Progress: a live display on a terminal, plain log lines otherwise, nothing with --quiet.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    started: Instant,
    items: u64,
    /// Records that carried warnings.
    warned: u64,
}

/// Warnings printed in full per run; the rest are counted (all are in the sync log).
const WARNINGS_SHOWN: u64 = 20;

impl Progress {
    fn new(quiet: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress {
            bar,
            plain: !quiet && !terminal,
            started: Instant::now(),
            items: 0,
            warned: 0,
        }
    }

    fn item(&mut self, r: &ItemRecord) {
        let seq = r.sequential_org_id;
        self.items += 1;
        if !r.warnings.is_empty() {
            self.warned += 1;
            if self.warned <= WARNINGS_SHOWN {
                let who = match r.key {
                    DedupeKey::Item { item_id, .. } => format!("item {item_id}"),
                    DedupeKey::Number { .. } => "an item without id".to_string(),
                };
                self.line(&format!(
                    "warning: {who} (number {seq}): {}",
                    r.warnings.join("; ")
                ));
            } else if self.warned == WARNINGS_SHOWN + 1 {
                self.line("warning: more records with warnings: counted in the summary, each in the sync log");
            }
        }
        let rate = self.items as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let warned = if self.warned > 0 {
            format!(", {} with warnings", self.warned)
        } else {
            String::new()
        };
        if let Some(b) = &self.bar {
            b.set_message(format!(
                "{} items · seq {seq} · {rate:.0} items/s{warned}",
                self.items
            ));
        } else if self.plain && self.items.is_multiple_of(500) {
            eprintln!(
                "synced {} items, seq {seq}, {rate:.0} items/s{warned}",
                self.items
            );
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(b) => b.println(text),
            None if self.plain => eprintln!("{text}"),
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

async fn sync(cli: &Cli, args: &SyncArgs) -> Result<(), Error> {
    let client = client(cli)?;
    let options = poller_options(args)?;
    let started = Instant::now();
    let mut progress = Progress::new(cli.quiet);
    let mut db_store = None;
    // Not while `serve` runs on this store (it would poll the same agency twice).
    let _serve_lock = match &args.jsonl {
        None => Some(fleet_store::lock_store(&args.store.db)?),
        Some(_) => None,
    };
    let (store, sink): (Arc<dyn CheckpointStore>, Sink) = match &args.jsonl {
        Some(target) => {
            let writer: Box<dyn Write + Send> = if target == "-" {
                Box::new(std::io::stdout())
            } else {
                Box::new(open_jsonl(target)?)
            };
            (
                Arc::new(FileCheckpoint::new(jsonl_checkpoint(&args.store, target))),
                Sink::Lines(writer),
            )
        }
        None => {
            let s = Arc::new(SyncStore::open(&args.store.db)?);
            db_store = Some(s.clone());
            (s.clone(), Sink::Db(s))
        }
    };
    let poller = Poller::open(client.clone(), store, options)?;
    let updated = if args.updated {
        let (ustore, db): (Arc<dyn CheckpointStore>, Option<Arc<SyncStore>>) = match &args.jsonl {
            Some(t) => (
                Arc::new(FileCheckpoint::new(format!(
                    "{}.updated.json",
                    jsonl_checkpoint(&args.store, t).display()
                ))),
                None,
            ),
            None => {
                let s = Arc::new(SyncStore::open(&args.store.db)?);
                (s.clone(), Some(s))
            }
        };
        let u = UpdatedPoller::open(
            client.clone(),
            ustore,
            UpdatedOptions {
                unsafe_min_interval: args.unsafe_min_interval.map(Duration::from_secs),
                interval: Duration::from_secs(args.interval),
                ..UpdatedOptions::default()
            },
        )?;
        Some((u, db))
    } else {
        None
    };
    let cancel = poller.clone();
    let cancel_updated = updated.as_ref().map(|(u, _)| u.clone());
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
            if let Some(u) = cancel_updated {
                u.cancel();
            }
        }
    });
    let sink = std::sync::Mutex::new(sink);
    let renumbered = || {
        db_store.as_ref().map_or(0, |d| d.renumbered())
            + updated
                .as_ref()
                .and_then(|(_, d)| d.as_ref())
                .map_or(0, |d| d.renumbered())
    };
    // With --watch the core's driver keeps the schedule (interval plus jitter, backing off
    // after failures) and decides after each sweep.
    let mut driver = poller.driver(None);
    loop {
        let (renumbered_before, warned_before) = (renumbered(), progress.warned);
        let plan = poller.plan();
        if plan.wait > Duration::ZERO {
            progress.line(&format!(
                "waiting {}s: SAFE asks for at most one sweep a minute",
                plan.wait.as_secs()
            ));
        }
        let report = poller
            .sweep(|r: ItemRecord| {
                progress.item(&r);
                let result = sink
                    .lock()
                    .map_err(|_| "sink poisoned".to_string())
                    .and_then(|mut s| s.item(r));
                async move { result }
            })
            .await;
        let report = match report {
            Ok(r) => r,
            Err(e) if args.watch && driver.decide_code(Some(e.code())).keeps_running() => {
                progress.line(&format!("sweep failed, retrying later: {e}"));
                if let Some(hint) = stuck_hint(&poller) {
                    progress.line(&hint);
                }
                driver.wait().await?;
                continue;
            }
            Err(e) => {
                progress.finish();
                if let Some(hint) = stuck_hint(&poller) {
                    eprintln!("{hint}");
                }
                return Err(e);
            }
        };
        if let Some((u, _)) = &updated {
            let db = updated.as_ref().and_then(|(_, db)| db.clone());
            u.sweep(|r: UpdatedRecord| {
                let result = match &db {
                    Some(store) => {
                        store.stage(Staged::Updated(Box::new(r)));
                        Ok(())
                    }
                    None => sink
                        .lock()
                        .map_err(|_| "sink poisoned".to_string())
                        .and_then(|mut s| s.line(&serde_json::json!({ "updated": r }))),
                };
                async move { result }
            })
            .await?;
        }
        let s = &report.summary;
        let mut extra = String::new();
        if s.holes_recorded > 0 {
            extra.push_str(&format!(", {} holes", s.holes_recorded));
        }
        if s.duplicate_numbers > 0 {
            extra.push_str(&format!(
                ", {} numbers held by several items",
                s.duplicate_numbers
            ));
        }
        let moved = renumbered() - renumbered_before;
        if moved > 0 {
            extra.push_str(&format!(", {moved} renumbered (moved rows, see sync_log)"));
        }
        let warned = progress.warned - warned_before;
        if warned > 0 {
            extra.push_str(&format!(", {warned} records with warnings (see sync_log)"));
        }
        let summary = format!(
            "synced {} items (cursor {} -> {}), {} requests, {:.1?} elapsed{extra}",
            s.items,
            s.cursor_start,
            s.cursor_end,
            client.requests_sent(),
            started.elapsed(),
        );
        if !args.watch {
            progress.finish();
            if !cli.quiet {
                eprintln!("{summary}");
            }
            return Ok(());
        }
        progress.line(&summary);
        driver.decide_code(None);
        driver.wait().await?;
    }
}

/// What to do about a number the poller is stuck at, when it is.
fn stuck_hint(poller: &Poller) -> Option<String> {
    let st = poller.status().stuck?;
    Some(format!(
        "the poller is stuck at number {} ({} sweep{} since {}): {}: {}\n\
         if that number can never be read, step over it: safe-tracker skip {} --reason \"...\"",
        st.seq,
        st.sweeps,
        if st.sweeps == 1 { "" } else { "s" },
        st.since.format("%Y-%m-%d %H:%M:%S UTC"),
        st.name,
        st.message,
        st.seq
    ))
}

/// Opens a JSON-lines file for appending. A line torn by a crash (no final newline) is closed
/// first, so the record delivered again after the crash starts a line of its own.
fn open_jsonl(target: &str) -> Result<std::fs::File, Error> {
    use std::io::{Read, Seek, SeekFrom};
    let err = |e: std::io::Error| Error::Checkpoint(format!("cannot open {target}: {e}"));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(target)
        .map_err(err)?;
    let len = f.metadata().map_err(err)?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1)).map_err(err)?;
        f.read_exact(&mut last).map_err(err)?;
        if last[0] != b'\n' {
            f.write_all(b"\n").map_err(err)?;
        }
    }
    Ok(f)
}

/// Where records go.
enum Sink {
    Db(Arc<SyncStore>),
    Lines(Box<dyn Write + Send>),
}

impl Sink {
    fn item(&mut self, r: ItemRecord) -> Result<(), String> {
        match self {
            Sink::Db(s) => {
                s.stage(Staged::Item(Box::new(r)));
                Ok(())
            }
            Sink::Lines(_) => {
                let v = serde_json::to_value(&r).map_err(|e| e.to_string())?;
                self.line(&v)
            }
        }
    }

    fn line(&mut self, v: &Value) -> Result<(), String> {
        match self {
            Sink::Lines(w) => writeln!(w, "{v}")
                .and_then(|_| w.flush())
                .map_err(|e| e.to_string()),
            Sink::Db(_) => Err("internal: a JSON line was sent to the database sink".into()),
        }
    }
}

/// The items poller on the store `sync` uses (SQLite, or the `--checkpoint` file), without
/// any request; the SQLite store too when that is the one.
fn open_items_poller(
    cli: &Cli,
    args: &StoreArgs,
) -> Result<(Poller, Option<Arc<SyncStore>>), Error> {
    open_items_poller_of(cli.conn.client_config(false)?, args)
}

fn open_items_poller_of(
    config: safe_tracker::ClientConfig,
    args: &StoreArgs,
) -> Result<(Poller, Option<Arc<SyncStore>>), Error> {
    let client = Client::new(config)?;
    let (store, db): (Arc<dyn CheckpointStore>, Option<Arc<SyncStore>>) = match &args.checkpoint {
        Some(p) => (Arc::new(FileCheckpoint::new(p)), None),
        None => {
            let s = Arc::new(SyncStore::open(&args.db)?);
            (s.clone(), Some(s))
        }
    };
    Ok((Poller::open(client, store, PollerOptions::default())?, db))
}

fn status_or_plan(cli: &Cli, args: &StoreArgs, plan: bool) -> Result<(), Error> {
    let (poller, db) = open_items_poller(cli, args)?;
    if plan {
        print_json(&serde_json::to_value(poller.plan()).unwrap_or(Value::Null));
        return Ok(());
    }
    let status = poller.status();
    let mut v = serde_json::to_value(&status).unwrap_or(Value::Null);
    if let (Some(db), Value::Object(map)) = (&db, &mut v) {
        map.insert(
            "store".into(),
            serde_json::to_value(db.summary()?).unwrap_or(Value::Null),
        );
    }
    print_json(&v);
    if !cli.quiet {
        for line in status_lines(&status) {
            eprintln!("{line}");
        }
    }
    Ok(())
}

/// What an operator should notice in a status, in words (stderr; stdout keeps the JSON).
fn status_lines(s: &PollerStatus) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(st) = &s.stuck {
        lines.push(format!(
            "stuck at number {} since {} ({} sweep{} failed there): {}: {}",
            st.seq,
            st.since.format("%Y-%m-%d %H:%M:%S UTC"),
            st.sweeps,
            if st.sweeps == 1 { "" } else { "s" },
            st.name,
            st.message
        ));
        lines.push(format!(
            "  if it can never be read: safe-tracker skip {} --reason \"...\"",
            st.seq
        ));
    }
    if let Some(p) = &s.partial {
        lines.push(format!(
            "number {} is partly delivered (held by several items): ids {:?} done{}",
            p.seq,
            p.done,
            if p.done_without_id > 0 {
                format!(", and {} without id", p.done_without_id)
            } else {
                String::new()
            }
        ));
    }
    if !s.skipped.is_empty() {
        let list: Vec<String> = s
            .skipped
            .iter()
            .map(|k| {
                format!(
                    "{} ({}, {})",
                    k.seq,
                    k.reason,
                    k.at.format("%Y-%m-%d %H:%M")
                )
            })
            .collect();
        lines.push(format!("skipped numbers: {}", list.join(", ")));
    }
    if s.duplicate_numbers > 0 {
        lines.push(format!(
            "numbers held by several items, seen so far: {}",
            s.duplicate_numbers
        ));
    }
    lines
}

/// `skip`: steps over a number, recorded in the checkpoint and (same transaction) the sync log.
async fn skip(
    cli: &Cli,
    args: &StoreArgs,
    seq: u64,
    reason: &str,
    tenant: Option<(&std::path::Path, &str)>,
) -> Result<(), Error> {
    // A tenant of a `serve` store: its settings from the tenants file, and the store's lock
    // (so `serve` cannot run meanwhile).
    let (config, _serve_lock) = match tenant {
        Some((file, name)) => {
            let file = safe_tracker::fleet::TenantsFile::load(file, &Default::default())?;
            let spec = file
                .tenants
                .into_iter()
                .find(|t| t.name == name)
                .ok_or_else(|| {
                    Error::InvalidConfig(format!("no tenant named {name} in the tenants file"))
                })?;
            (spec.client, Some(fleet_store::lock_store(&args.db)?))
        }
        // Not while `serve` runs on this store: its next save would undo the skip.
        None if args.checkpoint.is_none() => (
            cli.conn.client_config(false)?,
            Some(fleet_store::lock_store(&args.db)?),
        ),
        None => (cli.conn.client_config(false)?, None),
    };
    let organization_id = config.credentials.organization_id;
    let (poller, db) = open_items_poller_of(config, args)?;
    let before = poller.status();
    if let Some(db) = &db {
        let stuck = before.stuck.as_ref().filter(|st| st.seq == seq);
        db.stage(Staged::Skipped {
            organization_id,
            seq,
            note: match stuck {
                Some(st) => format!("{} (stuck: {}: {})", reason.trim(), st.name, st.message),
                None => reason.trim().to_string(),
            },
        });
    }
    let skipped = match poller.skip(seq, reason).await {
        Ok(s) => s,
        Err(e) => {
            if let Some(db) = &db {
                db.discard_staged();
            }
            return Err(e);
        }
    };
    let after = poller.status();
    let what = if skipped.kept_as_hole {
        "it was the cursor and answered blank: kept as an open hole, re-probed and delivered late \
         should an item appear"
    } else if before.cursor == seq {
        "it was the cursor"
    } else if before.holes.contains(&seq) {
        "it was an open hole, now closed"
    } else {
        "the poller was stuck at it; the blank numbers before it are holes now"
    };
    say!(
        "skipped number {seq} ({what}): cursor {} -> {}; reason: {}{}",
        before.cursor,
        after.cursor,
        skipped.reason,
        skipped
            .error
            .as_ref()
            .map(|e| format!("; it failed with: {e}"))
            .unwrap_or_default()
    );
    say!(
        "recorded in the checkpoint{}",
        if db.is_some() {
            " and the sync log (event 'skipped')"
        } else {
            ""
        }
    );
    poller.close().await;
    Ok(())
}

async fn run(cli: &Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Check => {
            let c = client(cli)?;
            match c.items_by_seq(1).await {
                Ok(items) => {
                    let cfg = c.config();
                    say!(
                        "OK: token, licence, organisation {} and office {} accepted by {}{}",
                        cfg.credentials.organization_id,
                        cfg.credentials.office_id,
                        cfg.base_url,
                        if items.is_empty() {
                            " (no item 1 yet)"
                        } else {
                            ""
                        }
                    );
                    Ok(())
                }
                Err(e) => {
                    eprintln!("{}", explain(&e));
                    Err(e)
                }
            }
        }
        Command::Item { seq, json } => {
            let client = client(cli)?;
            let items = client.items_by_seq(*seq).await?;
            if items.is_empty() {
                eprintln!("no item has sequential org id {seq} (yet)");
                // The blank answer of the request made: its method and templated path.
                return Err(Error::NotFound {
                    context: Box::new(safe_tracker::RequestContext {
                        method: "GET".into(),
                        path: client.config().routes.item_by_seq.clone(),
                        ..safe_tracker::RequestContext::default()
                    }),
                });
            }
            if items.len() > 1 && !cli.quiet {
                eprintln!(
                    "number {seq} is held by {} items (ascending id)",
                    items.len()
                );
            }
            show(
                serde_json::to_value(items).unwrap_or_default(),
                *json,
                &[
                    "id",
                    "sequentialOrgId",
                    "barcode",
                    "description",
                    "status",
                    "primaryCaseNumber",
                    "location",
                    "updatedDate",
                ],
            );
            Ok(())
        }
        Command::Case { id, json } => {
            let v = client(cli)?.case(*id).await?;
            show(serde_json::to_value(v).unwrap_or_default(), *json, &[]);
            Ok(())
        }
        Command::Custody { item_id, json } => {
            let v = client(cli)?.chain_of_custody(*item_id).await?;
            show(
                serde_json::to_value(v).unwrap_or_default(),
                *json,
                &["date", "action", "fromUser", "toUser", "location"],
            );
            Ok(())
        }
        Command::People { case_id, json } => {
            let v = client(cli)?.case_people(*case_id).await?;
            show(
                serde_json::to_value(v).unwrap_or_default(),
                *json,
                &["id", "lastName", "firstName", "personTypeId", "email"],
            );
            Ok(())
        }
        Command::Lookups { name, json } => {
            let which = Lookup::from_name(name)
                .ok_or_else(|| Error::validation("name", format!("unknown lookup `{name}` (races, genders, address_types, states, person_types, offense_types, categories)")))?;
            let v = client(cli)?.lookup(which).await?;
            show(
                serde_json::to_value(v).unwrap_or_default(),
                *json,
                &["id", "name"],
            );
            Ok(())
        }
        Command::Sync(args) => sync(cli, args).await,
        Command::Status(args) => status_or_plan(cli, args, false),
        Command::Skip {
            seq,
            reason,
            tenant,
            tenants,
            store,
        } => {
            let which = tenant.as_deref().zip(tenants.as_deref());
            skip(cli, store, *seq, reason, which.map(|(n, f)| (f, n))).await
        }
        Command::Plan(args) => status_or_plan(cli, args, true),
        Command::Serve(args) => serve::serve(args, cli.quiet).await,
        Command::Fleet {
            command: FleetCommand::Status { db, store, json },
        } => match store {
            Some(url) => serve::fleet_status_postgres(url, *json).await,
            None => serve::fleet_status(db, *json),
        },
        Command::Store {
            command: StoreCommand::Copy { from, to, json },
        } => serve::store_copy(from, to, *json).await,
        Command::Simulate {
            items,
            orgs,
            duplicates,
            bind,
        } => {
            let sim = safe_simulator::Simulator::start(safe_simulator::SimConfig {
                seed: safe_simulator::Seed {
                    seed: 42,
                    orgs: *orgs,
                    items: *items,
                },
                bind: *bind,
                duplicates: *duplicates,
                ..safe_simulator::SimConfig::default()
            })
            .await
            .map_err(|e| Error::InvalidConfig(format!("cannot start the simulator: {e}")))?;
            say!("{}", sim.base_url());
            let creds = safe_simulator::credentials_json(&sim.app().world.lock().expect("world"));
            say!("{creds}");
            if !cli.quiet {
                eprintln!(
                    "simulator ready: SAFE_BASE_URL={} SAFE_TOKEN={} SAFE_ORGANIZATION_ID=1 SAFE_OFFICE_ID={} (Ctrl-C stops it)",
                    sim.base_url(),
                    safe_simulator::token_for(1),
                    safe_simulator::office_for(1)
                );
            }
            let _ = std::io::stdout().flush();
            let _ = tokio::signal::ctrl_c().await;
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if !cli.quiet && !std::io::stderr().is_terminal() {
        let filter = || {
            tracing_subscriber::EnvFilter::try_from_env("SAFE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
        };
        let builder = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_env_filter(filter());
        let _ = match cli.log_format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().try_init(),
        };
    }
    if let Err(e) = run(&cli).await {
        eprintln!("error: {e}");
        std::process::exit(exit_code(&e));
    }
}
