#![recursion_limit = "256"]
// Handlers return an early `Response` as the error of small helpers; boxing it buys nothing here.
#![allow(clippy::result_large_err)]
//! # safe-simulator
//!
//! A local SAFE web API server for integration tests: seeded data, bearer-token auth bound to
//! organisations, a licence pool, rate policing and fault injection, with statistics under
//! `/__admin/stats`. Start it in-process with [`Simulator::start`] or as the `safe-simulator`
//! binary, which binds 127.0.0.1 port 0 and prints its API base URL as its first stdout line.

pub mod admin;
pub mod api;
pub mod faults;
pub mod stats;
pub mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower::ServiceExt;

pub use faults::{FaultKind, FaultRule};
pub use world::{Seed, World, office_for, token_for};

/// How the item-by-number endpoint answers a number that holds no item (unknown for the
/// real API, so every plausible form is available).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BlankStyle {
    /// 404 with no body.
    NotFound,
    /// 204.
    NoContent,
    /// 200 with an empty body.
    #[default]
    EmptyBody,
    /// 200 `null`.
    Null,
    /// 200 `[]`.
    EmptyArray,
    /// 200 `{}`.
    EmptyObject,
}

/// Whether an item comes as an object or a one-element array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ItemShape {
    /// `{...}`.
    #[default]
    Object,
    /// `[{...}]`.
    Array,
}

/// Behaviour switches, changeable while running (`POST /__admin/options`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// The "no item" answer.
    pub blank_style: BlankStyle,
    /// The item answer's shape.
    pub item_shape: ItemShape,
    /// Disable a token that makes more than this many requests in a sliding minute.
    pub police_per_minute: Option<usize>,
    /// Status of the "no licenses are available" answer.
    pub licence_status: u16,
    /// Status of a duplicate (case number, e-mail, person).
    pub conflict_status: u16,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            blank_style: BlankStyle::default(),
            item_shape: ItemShape::default(),
            police_per_minute: None,
            licence_status: 403,
            conflict_status: 409,
        }
    }
}

/// The shared state of a running simulator.
#[derive(Debug)]
pub struct App {
    /// The data.
    pub world: Mutex<World>,
    /// Request statistics.
    pub stats: Mutex<stats::Stats>,
    /// Active fault rules.
    pub faults: Mutex<Vec<FaultRule>>,
    /// Behaviour switches.
    pub options: Mutex<Options>,
}

/// Who is calling, set by the auth layer for the handlers.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The token's organisation.
    pub org_id: u64,
    /// The office from the `OfficeId` header.
    pub office_id: u64,
}

/// A server certificate and key (DER) for HTTPS.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
    /// The PKCS#8 private key (DER).
    pub key_der: Vec<u8>,
    /// The certificate as PEM, to hand to clients as their CA file.
    pub cert_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsIdentity(..)")
    }
}

impl TlsIdentity {
    /// A self-signed certificate for `localhost`, generated now (tests make a fresh one).
    pub fn generate() -> TlsIdentity {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("certificate generation");
        TlsIdentity {
            cert_der: ck.cert.der().to_vec(),
            key_der: ck.signing_key.serialize_der(),
            cert_pem: ck.cert.pem(),
        }
    }
}

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seeding.
    pub seed: Seed,
    /// Initial options.
    pub options: Options,
    /// Initial fault rules.
    pub faults: Vec<FaultRule>,
    /// Address to bind (default 127.0.0.1:0).
    pub bind: SocketAddr,
    /// Serve HTTPS with this identity (plain HTTP when `None`).
    pub tls: Option<TlsIdentity>,
    /// After seeding, give this many numbers of every organisation a second item (see
    /// [`World::seed_duplicates`] and [`world::duplicate_numbers`]; 0 by default).
    pub duplicates: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: Seed {
                seed: 1,
                orgs: 2,
                items: 50,
            },
            options: Options::default(),
            faults: Vec::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
            duplicates: 0,
        }
    }
}

/// A running simulator; it stops when dropped.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    https: bool,
    app: Arc<App>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn bearer(h: &HeaderMap) -> Option<String> {
    let v = header(h, "authorization")?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Records, injects faults, then checks token, organisation, office, account and licence.
async fn guard(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let token = bearer(req.headers());
    let per_minute = app
        .stats
        .lock()
        .expect("stats")
        .record(&route, token.as_deref().unwrap_or(""));
    let method = req.method().as_str().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().trim_start_matches("/api/").to_string())
        .unwrap_or_default();
    let rule = {
        let mut rules = app.faults.lock().expect("faults");
        rules
            .iter_mut()
            .find_map(|r| r.take(&method, &path).then(|| r.clone()))
    };
    if let Some(rule) = &rule
        && let Some(resp) = faults::replace(rule)
    {
        return resp;
    }
    let caller = match authorize(&app, req.headers(), token.as_deref(), per_minute) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    req.extensions_mut().insert(caller);
    let resp = next.run(req).await;
    match rule {
        Some(r) => faults::alter(&r, resp).await,
        None => resp,
    }
}

fn authorize(
    app: &App,
    h: &HeaderMap,
    token: Option<&str>,
    per_minute: usize,
) -> Result<Caller, Response> {
    let denied = || {
        api::error(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        )
    };
    let token = token.ok_or_else(denied)?;
    let police = app.options.lock().expect("options").police_per_minute;
    let licence_status = app.options.lock().expect("options").licence_status;
    let mut w = app.world.lock().expect("world");
    let rec = w.tokens.get(token).cloned().ok_or_else(denied)?;
    let org_header = header(h, "organizationid").and_then(|v| v.parse::<u64>().ok());
    if org_header != Some(rec.org_id) {
        return Err(api::error(
            StatusCode::FORBIDDEN,
            "The OrganizationId header is missing or does not match the token.",
        ));
    }
    let office = header(h, "officeid").and_then(|v| v.parse::<u64>().ok());
    let org = &w.orgs[&rec.org_id];
    let Some(office_id) = office.filter(|o| org.offices.iter().any(|(id, _)| id == o)) else {
        return Err(api::error(
            StatusCode::FORBIDDEN,
            "The OfficeId header is missing or is not an office of the organization.",
        ));
    };
    if rec.disabled {
        return Err(api::error(
            StatusCode::FORBIDDEN,
            "This account has been disabled. Contact Tracker Products support.",
        ));
    }
    if let Some(limit) = police
        && per_minute > limit
    {
        w.tokens.get_mut(token).expect("token").disabled = true;
        return Err(api::error(
            StatusCode::FORBIDDEN,
            "This account has been disabled for calling the API more than allowed. Contact Tracker Products support.",
        ));
    }
    if !rec.reserved_licence && !rec.holds_floating {
        let held = w
            .tokens
            .values()
            .filter(|t| t.org_id == rec.org_id && t.holds_floating)
            .count() as u32;
        if held < w.orgs[&rec.org_id].floating_licences {
            w.tokens.get_mut(token).expect("token").holds_floating = true;
        } else {
            let status = StatusCode::from_u16(licence_status).unwrap_or(StatusCode::FORBIDDEN);
            return Err((status, axum::Json(serde_json::json!({"message": "There are no licenses are available. Please contact your administrator."}))).into_response());
        }
    }
    Ok(Caller {
        org_id: rec.org_id,
        office_id,
    })
}

/// The router: `/api/...` behind the guard, `/__admin/...` without it.
pub fn router(app: Arc<App>) -> Router {
    use axum::routing::MethodRouter;
    let lookup = |name: &'static str| -> MethodRouter<Arc<App>> {
        get(move || async move { api::lookup(name) })
    };
    let api = Router::new()
        .route("/api/items/seqOrgID/{n}", get(api::item_by_seq))
        .route("/api/items/seqOrgId/{n}", get(api::item_by_seq))
        .route("/api/items/seqorgid/{n}", get(api::item_by_seq))
        .route("/api/items/search", post(api::search_items))
        .route("/api/items/{id}", get(api::item))
        .route("/api/items/{id}/coc", get(api::chain_of_custody))
        .route("/api/formdata/{id}", get(api::form_data))
        .route("/api/cases", post(api::create_case))
        .route("/api/cases/getByNumber", get(api::case_by_number))
        .route("/api/cases/{id}", get(api::case).put(api::update_case))
        .route("/api/cases/{id}/people", get(api::case_people))
        .route("/api/people", post(api::create_person))
        .route("/api/people/typeahead", get(api::people_typeahead))
        .route(
            "/api/people/isemailalreadyinuse/{email}/",
            get(api::email_in_use),
        )
        .route("/api/people/{id}", get(api::person).put(api::update_person))
        .route("/api/users/", post(api::create_user))
        .route("/api/users", post(api::create_user))
        .route("/api/users/typeahead", get(api::users_typeahead))
        .route("/api/users/{id}", get(api::user).put(api::update_user))
        .route("/api/races", lookup("races"))
        .route("/api/genders", lookup("genders"))
        .route("/api/addresstypes", lookup("addresstypes"))
        .route("/api/states", lookup("states"))
        .route("/api/personTypes", lookup("personTypes"))
        .route("/api/offensetypes", lookup("offensetypes"))
        .route("/api/categories", lookup("categories"))
        .route("/api/forms", get(api::forms))
        .route_layer(middleware::from_fn_with_state(app.clone(), guard));
    api.merge(admin::router()).with_state(app)
}

impl Simulator {
    /// Seeds a world and serves it on `config.bind` (127.0.0.1 port 0 by default).
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        let mut world = World::seed(&config.seed);
        world.seed_duplicates(config.duplicates);
        let app = Arc::new(App {
            world: Mutex::new(world),
            stats: Mutex::new(stats::Stats::default()),
            faults: Mutex::new(config.faults),
            options: Mutex::new(config.options),
        });
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let router = router(app.clone());
        let acceptor = match &config.tls {
            None => None,
            Some(id) => {
                let key = rustls::pki_types::PrivateKeyDer::Pkcs8(id.key_der.clone().into());
                let cert = rustls::pki_types::CertificateDer::from(id.cert_der.clone());
                let tls = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
                .map_err(std::io::Error::other)?;
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls)))
            }
        };
        let https = acceptor.is_some();
        let task = tokio::spawn(serve(listener, router, acceptor));
        Ok(Simulator {
            addr,
            https,
            app,
            task,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL: `http://127.0.0.1:<port>/api/`, or `https://localhost:<port>/api/`
    /// when serving HTTPS (the certificate names `localhost`).
    pub fn base_url(&self) -> String {
        if self.https {
            format!("https://localhost:{}/api/", self.addr.port())
        } else {
            format!("http://{}/api/", self.addr)
        }
    }

    /// The shared state, for tests that change the world directly.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Adds `count` new items to organisation `org`; returns their numbers.
    pub fn add_items(&self, org: u64, count: u64) -> Vec<u64> {
        self.app
            .world
            .lock()
            .expect("world")
            .add_items(org, count, true)
    }

    /// Takes organisation `org`'s licences away: its token holds none and none float, so
    /// every call answers "no licenses are available".
    pub fn revoke_licence(&self, org: u64) {
        let mut w = self.app.world.lock().expect("world");
        if let Some(rec) = w.tokens.get_mut(&world::token_for(org)) {
            rec.reserved_licence = false;
            rec.holds_floating = false;
        }
        if let Some(o) = w.orgs.get_mut(&org) {
            o.floating_licences = 0;
        }
    }

    /// Disables (or enables again) the account of organisation `org`'s token.
    pub fn set_disabled(&self, org: u64, disabled: bool) {
        let mut w = self.app.world.lock().expect("world");
        if let Some(rec) = w.tokens.get_mut(&world::token_for(org)) {
            rec.disabled = disabled;
        }
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        self.app.faults.lock().expect("faults").push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.app.faults.lock().expect("faults").clear();
    }

    /// Changes the options.
    pub fn set_options(&self, f: impl FnOnce(&mut Options)) {
        f(&mut self.app.options.lock().expect("options"));
    }

    /// Requests seen on `route` (e.g. `/api/items/seqOrgID/{n}`).
    pub fn count_route(&self, route: &str) -> usize {
        self.app.stats.lock().expect("stats").count_route(route)
    }

    /// Requests seen on every API route.
    pub fn total_requests(&self) -> usize {
        self.app.stats.lock().expect("stats").total()
    }

    /// The most requests seen within any window of `window_ms`.
    pub fn max_in_window(&self, window_ms: u64) -> usize {
        self.app
            .stats
            .lock()
            .expect("stats")
            .max_in_window(window_ms * 1000)
    }

    /// Forgets the statistics.
    pub fn reset_stats(&self) {
        self.app.stats.lock().expect("stats").reset();
    }
}

/// The seeded credentials: per organisation its id, offices and tokens.
pub fn credentials_json(w: &World) -> serde_json::Value {
    let orgs: Vec<serde_json::Value> = w
        .orgs
        .values()
        .map(|o| {
            serde_json::json!({
                "organization_id": o.id,
                "office_id": o.offices[0].0,
                "office_ids": o.offices.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                "token": token_for(o.id),
                "token_no_licence": format!("{}-nolicence", token_for(o.id)),
                "token_disabled": format!("{}-disabled", token_for(o.id)),
                "items": o.item_count(),
                "next_seq": o.next_seq,
            })
        })
        .collect();
    serde_json::json!({ "organizations": orgs })
}

/// The accept loop. Hand-rolled over hyper (rather than `axum::serve`) so that a `drop` fault
/// can close a connection without writing any answer.
async fn serve(listener: TcpListener, router: Router, tls: Option<tokio_rustls::TlsAcceptor>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let resp = router
                            .oneshot(req.map(axum::body::Body::new))
                            .await
                            .unwrap_or_else(|never| match never {});
                        if resp.extensions().get::<faults::DropConnection>().is_some() {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionAborted,
                                "injected drop",
                            ));
                        }
                        Ok::<_, std::io::Error>(resp)
                    }
                });
            let builder = hyper::server::conn::http1::Builder::new();
            match tls {
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Some(acceptor) => {
                    // A client that refuses the certificate ends the handshake: nothing to serve.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            }
        });
    }
}
