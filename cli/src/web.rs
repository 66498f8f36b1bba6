//! What `serve --metrics ADDR` serves: `/metrics` (Prometheus text, from the fleet's states at
//! each scrape), `/healthz`, and `/status` (a plain server-rendered page of every tenant).
//! Nothing here holds a token or a response body: tenant states carry error codes, names and
//! templated paths only.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::TypedMetric;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use safe_tracker::Error;
use safe_tracker::fleet::{Fleet, TenantPhase, TenantState};
use safe_tracker::postgres::LeaseCounts;

/// Every phase, for the one-hot state gauges.
const PHASES: [TenantPhase; 8] = [
    TenantPhase::Starting,
    TenantPhase::Running,
    TenantPhase::BackingOff,
    TenantPhase::Parked,
    TenantPhase::Disabled,
    TenantPhase::Failed,
    TenantPhase::Fenced,
    TenantPhase::Stopped,
];

/// What the pages read.
pub struct Web {
    fleet: Fleet,
    registry: Registry,
    /// Whether the tenants file last read was valid (healthz).
    pub file_valid: AtomicBool,
    /// Why it was not, for healthz.
    pub file_problem: Mutex<Option<String>>,
}

/// The commit-latency histogram the store's group commit observes.
pub fn commit_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    ])
}

#[derive(Debug)]
struct FleetCollector {
    fleet: Fleet,
}

/// Seconds since the tenant last reached a blank answer.
fn lag(s: &TenantState) -> Option<f64> {
    s.lag(Utc::now())
        .map(|l| l.num_milliseconds() as f64 / 1000.0)
}

/// Labels of one series.
type Labels = Vec<(String, String)>;

/// One metric family: its descriptor (also when it has no series yet), then one series per
/// row.
fn family<M: EncodeMetric + TypedMetric>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: Vec<(Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut descriptor = encoder.encode_descriptor(name, help, None, M::TYPE)?;
    for (labels, metric) in &rows {
        metric.encode(descriptor.encode_family(labels)?)?;
    }
    Ok(())
}

fn counters(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: Vec<(Labels, u64)>,
) -> Result<(), std::fmt::Error> {
    let rows = rows
        .into_iter()
        .map(|(l, v)| (l, ConstCounter::new(v)))
        .collect();
    family(encoder, name, help, rows)
}

fn gauges(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: Vec<(Labels, f64)>,
) -> Result<(), std::fmt::Error> {
    let rows = rows
        .into_iter()
        .map(|(l, v)| (l, ConstGauge::new(v)))
        .collect();
    family(encoder, name, help, rows)
}

fn tenant(s: &TenantState) -> Labels {
    vec![("tenant".to_string(), s.name.clone())]
}

impl Collector for FleetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let states = self.fleet.states();
        counters(
            &mut encoder,
            "safe_tracker_tenant_items",
            "Records delivered for the tenant by this process.",
            states.iter().map(|s| (tenant(s), s.delivered)).collect(),
        )?;
        counters(
            &mut encoder,
            "safe_tracker_tenant_requests",
            "Requests sent for the tenant by this process (every attempt).",
            states.iter().map(|s| (tenant(s), s.requests)).collect(),
        )?;
        counters(
            &mut encoder,
            "safe_tracker_tenant_errors",
            "Failed sweeps of the tenant, by error code name.",
            states
                .iter()
                .flat_map(|s| {
                    s.errors.iter().map(|(code, n)| {
                        let mut l = tenant(s);
                        l.push(("code".into(), code.clone()));
                        (l, *n)
                    })
                })
                .collect(),
        )?;
        gauges(
            &mut encoder,
            "safe_tracker_tenant_cursor",
            "The next number the tenant's sequential poller asks for.",
            states
                .iter()
                .filter_map(|s| s.cursor.map(|c| (tenant(s), c as f64)))
                .collect(),
        )?;
        gauges(
            &mut encoder,
            "safe_tracker_tenant_lag_seconds",
            "Seconds since the tenant last reached a blank answer (was caught up).",
            states
                .iter()
                .filter_map(|s| lag(s).map(|l| (tenant(s), l)))
                .collect(),
        )?;
        gauges(
            &mut encoder,
            "safe_tracker_tenant_state",
            "1 for the tenant's current state, 0 for the others.",
            states
                .iter()
                .flat_map(|s| {
                    PHASES.iter().map(move |p| {
                        let mut l = tenant(s);
                        l.push(("state".into(), p.name().into()));
                        (l, if *p == s.phase { 1.0 } else { 0.0 })
                    })
                })
                .collect(),
        )?;
        gauges(
            &mut encoder,
            "safe_tracker_tenants",
            "Tenants of this process by state.",
            PHASES
                .iter()
                .map(|p| {
                    let n = states.iter().filter(|s| s.phase == *p).count();
                    (vec![("state".to_string(), p.name().to_string())], n as f64)
                })
                .collect(),
        )?;
        Ok(())
    }
}

/// A shared fleet's lease figures, read at each scrape.
pub type LeaseSource = Box<dyn Fn() -> LeaseCounts + Send + Sync>;

struct LeaseCollector {
    counts: LeaseSource,
}

impl std::fmt::Debug for LeaseCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LeaseCollector")
    }
}

impl Collector for LeaseCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let c = (self.counts)();
        gauges(
            &mut encoder,
            "safe_tracker_leases_held",
            "Tenant leases this worker holds now (a fleet shared through PostgreSQL).",
            vec![(Vec::new(), c.held as f64)],
        )?;
        counters(
            &mut encoder,
            "safe_tracker_lease_takeovers",
            "Tenants this worker claimed after their previous owner's lease ran out.",
            vec![(Vec::new(), c.takeovers)],
        )?;
        counters(
            &mut encoder,
            "safe_tracker_fenced_writes",
            "Tenant writes refused because another worker had taken the tenant over.",
            vec![(Vec::new(), c.fenced_writes)],
        )?;
        Ok(())
    }
}

impl Web {
    /// The pages of `fleet`, with the store's commit histogram and, for a shared fleet, its
    /// lease figures.
    pub fn new(fleet: Fleet, commits: Histogram, leases: Option<LeaseSource>) -> Arc<Web> {
        let mut registry = Registry::default();
        if let Some(counts) = leases {
            registry.register_collector(Box::new(LeaseCollector { counts }));
        }
        registry.register(
            "safe_tracker_store_commit_seconds",
            "Time of each group commit of the store (items and checkpoints of many tenants).",
            commits,
        );
        registry.register_collector(Box::new(FleetCollector {
            fleet: fleet.clone(),
        }));
        Arc::new(Web {
            fleet,
            registry,
            file_valid: AtomicBool::new(true),
            file_problem: Mutex::new(None),
        })
    }

    /// Records whether the tenants file just read was valid.
    pub fn file_read(&self, problem: Option<String>) {
        self.file_valid.store(problem.is_none(), Ordering::SeqCst);
        if let Ok(mut p) = self.file_problem.lock() {
            *p = problem;
        }
    }
}

/// Binds `addr` (port 0 picks one) and serves the pages until the process ends; returns the
/// address bound.
pub async fn start(web: Arc<Web>, addr: SocketAddr) -> Result<SocketAddr, Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::InvalidConfig(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::InvalidConfig(format!("cannot listen on {addr}: {e}")))?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/status", get(status))
        .with_state(web);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics server stopped");
        }
    });
    Ok(bound)
}

async fn metrics(State(web): State<Arc<Web>>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &web.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the metrics",
        )
            .into_response(),
    }
}

async fn healthz(State(web): State<Arc<Web>>) -> Response {
    if web.file_valid.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        let why = web
            .file_problem
            .lock()
            .ok()
            .and_then(|p| p.clone())
            .unwrap_or_default();
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the tenants file is not valid (the running tenants go on): {why}\n"),
        )
            .into_response()
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How long ago `t` was ("12 s"), or a dash.
fn since(t: Option<chrono::DateTime<Utc>>) -> String {
    match t {
        None => "–".into(),
        Some(t) => match (Utc::now() - t).num_seconds().max(0) {
            s if s < 120 => format!("{s} s"),
            s if s < 7200 => format!("{} min", s / 60),
            s => format!("{} h", s / 3600),
        },
    }
}

fn ago(t: Option<chrono::DateTime<Utc>>) -> String {
    match t {
        None => "–".into(),
        t => format!("{} ago", since(t)),
    }
}

async fn status(State(web): State<Arc<Web>>) -> Html<String> {
    Html(render_status(&web.fleet.states()))
}

/// The status page: every tenant, those that need attention first.
pub fn render_status(states: &[TenantState]) -> String {
    let attention = states.iter().filter(|s| s.phase.needs_attention()).count();
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>safe-tracker fleet</title><style>\
         body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111}\
         table{border-collapse:collapse;width:100%}\
         th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;font-size:.9rem}\
         th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\
         tr.attention td{background:#fff3f0}.state{font-weight:600}\
         </style></head><body>\n",
    );
    let _ = writeln!(
        html,
        "<h1>safe-tracker fleet</h1>\n<p id=\"summary\">{} tenants, {} need attention. \
         Reload the page to refresh.</p>",
        states.len(),
        attention
    );
    html.push_str(
        "<table id=\"tenants\"><thead><tr><th>Tenant</th><th>Organisation</th><th>State</th>\
         <th>Since</th><th>Next attempt</th><th>Cursor</th><th>Lag</th><th>Last sweep</th>\
         <th>Last error</th>\
         </tr></thead><tbody>\n",
    );
    for s in states {
        let error = s
            .last_error
            .as_ref()
            .map(|e| format!("{} ({}): {}", e.name, e.code, e.message))
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<tr class=\"{}\" data-tenant=\"{}\"><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"state\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            if s.phase.needs_attention() {
                "attention"
            } else {
                "ok"
            },
            escape(&s.name),
            escape(&s.name),
            s.organization_id,
            s.phase.name(),
            ago(Some(s.since)),
            s.next_attempt
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "–".into()),
            s.cursor
                .map(|c| c.to_string())
                .unwrap_or_else(|| "–".into()),
            since(s.caught_up_at),
            ago(s.last_sweep),
            escape(&error)
        );
    }
    html.push_str("</tbody></table>\n</body></html>\n");
    html
}
