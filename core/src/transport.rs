//! The HTTP sender: headers, pacing, retries, per-attempt and whole-call timeouts, a capped
//! streaming body, error classification and a `tracing` span per attempt.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderMap;
use tracing::Instrument;
use url::Url;

use crate::auth::{BodyKind, build_headers};
use crate::config::ClientConfig;
use crate::error::{Error, RequestContext, Result};
use crate::pacing::Pacer;
use crate::pacing::RequestGate;
use crate::retry::{backoff, is_retryable_status, parse_retry_after};

/// Longest body excerpt kept in an error, in characters.
const EXCERPT_CHARS: usize = 300;

/// One request, before it is sent.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// HTTP method.
    pub method: Method,
    /// The route template (for errors and tracing), e.g. `items/seqOrgID/{n}`.
    pub route: String,
    /// The filled path, relative to the base URL.
    pub path: String,
    /// A JSON body, if any.
    pub json: Option<Vec<u8>>,
    /// Whether sending twice is harmless. GET, PUT and searches are; creating POSTs are not,
    /// and are retried only when the connection was never made.
    pub idempotent: bool,
}

/// A successful answer (2xx).
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// The status.
    pub status: u16,
    /// The whole body.
    pub body: Vec<u8>,
    /// Attempts it took.
    pub attempts: u32,
}

/// A pool of HTTP connections (with its proxy, extra CA certificates and connect timeout)
/// that several clients may share ([`crate::Client::with_pool`]): many agencies on one SAFE
/// host then hold a few connections between them instead of a few each. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpPool {
    http: reqwest::Client,
}

impl HttpPool {
    /// The pool `config`'s connection settings describe (its proxy, `ca_file` and connect
    /// timeout; the rest of `config` is each client's own).
    pub fn new(config: &ClientConfig) -> Result<HttpPool> {
        // The fields are public: check the numbers again, whatever built the config.
        config.validate()?;
        install_crypto_provider();
        let mut b = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none());
        if !config.proxy.from_env {
            b = b.no_proxy();
        }
        if let Some(url) = &config.proxy.url {
            let mut p = reqwest::Proxy::all(url.as_str())
                .map_err(|e| Error::InvalidConfig(format!("proxy URL is invalid: {e}")))?;
            if let Some(np) = &config.proxy.no_proxy {
                p = p.no_proxy(reqwest::NoProxy::from_string(np));
            }
            b = b.proxy(p);
        } else if let Some(np) = &config.proxy.no_proxy {
            // Explicit no-proxy list on top of the environment's proxy.
            for var in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
                if let Ok(url) = std::env::var(var)
                    && config.proxy.from_env
                    && let Ok(p) = reqwest::Proxy::all(url.as_str())
                {
                    b = b.proxy(p.no_proxy(reqwest::NoProxy::from_string(np)));
                    break;
                }
            }
        }
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                Error::InvalidConfig(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::InvalidConfig(format!("CA file {} is not PEM: {e}", path.display()))
            })?;
            if certs.is_empty() {
                return Err(Error::InvalidConfig(format!(
                    "CA file {} holds no certificate",
                    path.display()
                )));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let http = b
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpPool { http })
    }
}

/// Sends requests for one client; cheap to clone.
#[derive(Debug, Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    user_agent: String,
    pacer: Pacer,
    /// The headers of a request without and with a JSON body, built once (cloned per
    /// request); `None` when they cannot be built, so each request reports why.
    headers: Option<(HeaderMap, HeaderMap)>,
    /// Asked before every attempt ([`Transport::add_gate`]).
    gates: std::sync::RwLock<Vec<RequestGate>>,
}

/// What one attempt gave.
enum Attempt {
    Done(HttpAnswer),
    Retry {
        error: Error,
        wait: Option<Duration>,
    },
    Fail(Error),
}

fn install_crypto_provider() {
    // Errors only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Transport {
    /// Builds the HTTP client of `config` (proxy, extra CA certificates, timeouts).
    pub fn new(config: ClientConfig) -> Result<Transport> {
        let pool = HttpPool::new(&config)?;
        Transport::with_pool(config, &pool)
    }

    /// A transport of `config` sending through `pool`'s connections (its own pacer, headers and
    /// counters).
    pub fn with_pool(config: ClientConfig, pool: &HttpPool) -> Result<Transport> {
        config.validate()?;
        let http = pool.http.clone();
        let user_agent = config.user_agent();
        let pacer = Pacer::new(&config.pacing)?;
        let headers = build_headers(&config.credentials, BodyKind::None, &user_agent)
            .and_then(|plain| {
                build_headers(&config.credentials, BodyKind::Json, &user_agent)
                    .map(|json| (plain, json))
            })
            .ok();
        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                config,
                user_agent,
                pacer,
                headers,
                gates: std::sync::RwLock::new(Vec::new()),
            }),
        })
    }

    /// Asks `gate` before every later attempt of this transport and its clones: an attempt
    /// goes out only when every gate allows it.
    pub fn add_gate(&self, gate: RequestGate) {
        if let Ok(mut gates) = self.inner.gates.write() {
            gates.push(gate);
        }
    }

    fn check_gates(&self) -> Result<()> {
        let gates = self
            .inner
            .gates
            .read()
            .map_err(|_| Error::Fenced("the request gates are poisoned".into()))?;
        gates.iter().try_for_each(RequestGate::check)
    }

    /// The configuration this transport was built from.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Requests sent so far (attempts, retries included).
    pub fn requests_sent(&self) -> u64 {
        self.inner.pacer.attempts()
    }

    /// Sends `req` with pacing and retries, within the whole-call timeout.
    pub async fn execute(&self, req: HttpRequest) -> Result<HttpAnswer> {
        let call_timeout = self.inner.config.timeouts.call;
        let started = Instant::now();
        let ctx = Box::new(RequestContext {
            method: req.method.to_string(),
            path: req.route.clone(),
            ..RequestContext::default()
        });
        match tokio::time::timeout(call_timeout, self.execute_inner(&req, started)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                elapsed: started.elapsed(),
                context: ctx,
            }),
        }
    }

    async fn execute_inner(&self, req: &HttpRequest, started: Instant) -> Result<HttpAnswer> {
        let cfg = &self.inner.config;
        let deadline = started + cfg.timeouts.call;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.inner.pacer.acquire().await?;
            if let Some(cap) = &cfg.request_cap {
                cap.acquire().await;
            }
            self.check_gates()?;
            let span = tracing::debug_span!(
                "safe.request",
                method = %req.method,
                path = %req.route,
                attempt,
                status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            let outcome = self.attempt(req, attempt).instrument(span).await;
            match outcome {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry { error, wait } => {
                    if attempt >= cfg.retry.max_attempts {
                        return Err(error);
                    }
                    let sleep = wait.unwrap_or_else(|| backoff(&cfg.retry, attempt));
                    if Instant::now() + sleep >= deadline {
                        return Err(error);
                    }
                    tracing::debug!(
                        path = %req.route,
                        attempt,
                        sleep_ms = sleep.as_millis() as u64,
                        code = error.code().name(),
                        "retrying"
                    );
                    tokio::time::sleep(sleep).await;
                }
            }
        }
    }

    fn context(
        &self,
        req: &HttpRequest,
        status: Option<u16>,
        attempts: u32,
    ) -> Box<RequestContext> {
        Box::new(RequestContext {
            method: req.method.to_string(),
            path: req.route.clone(),
            status,
            excerpt: None,
            attempts,
        })
    }

    async fn attempt(&self, req: &HttpRequest, attempt: u32) -> Attempt {
        let cfg = &self.inner.config;
        let started = Instant::now();
        let url = match request_url(&cfg.base_url, &req.path) {
            Ok(u) => u,
            Err(e) => {
                return Attempt::Fail(Error::InvalidConfig(format!(
                    "route `{}` does not form a URL: {e}",
                    req.route
                )));
            }
        };
        let kind = if req.json.is_some() {
            BodyKind::Json
        } else {
            BodyKind::None
        };
        let headers = match (&self.inner.headers, kind) {
            (Some((plain, _)), BodyKind::None) => plain.clone(),
            (Some((_, json)), BodyKind::Json) => json.clone(),
            (None, _) => match build_headers(&cfg.credentials, kind, &self.inner.user_agent) {
                Ok(h) => h,
                Err(e) => return Attempt::Fail(e),
            },
        };
        let mut rb = self
            .inner
            .http
            .request(req.method.clone(), url)
            .headers(headers)
            .timeout(cfg.timeouts.attempt);
        if let Some(body) = &req.json {
            rb = rb.body(body.clone());
        }
        let span = tracing::Span::current();
        let result = rb.send().await;
        let mut resp = match result {
            Ok(r) => r,
            Err(e) => {
                span.record("duration_ms", started.elapsed().as_millis() as u64);
                return self.transport_failure(req, attempt, &e, started);
            }
        };
        let status = resp.status().as_u16();
        span.record("status", status);
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = match read_capped(&mut resp, cfg.max_body_bytes).await {
            Ok(b) => b,
            Err(ReadError::TooLarge) => {
                span.record("duration_ms", started.elapsed().as_millis() as u64);
                return Attempt::Fail(Error::ResponseTooLarge {
                    limit: cfg.max_body_bytes,
                    context: self.context(req, Some(status), attempt),
                });
            }
            Err(ReadError::Http(e)) => {
                span.record("duration_ms", started.elapsed().as_millis() as u64);
                return self.transport_failure(req, attempt, &e, started);
            }
        };
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        tracing::debug!(status, bytes = body.len(), "answer");
        self.classify(req, attempt, status, body, retry_after)
    }

    fn transport_failure(
        &self,
        req: &HttpRequest,
        attempt: u32,
        e: &reqwest::Error,
        started: Instant,
    ) -> Attempt {
        let ctx = self.context(req, None, attempt);
        // reqwest's messages carry the URL; strip it (ids are evidence data) and keep the cause.
        let message = redact_url(&self.inner.config, &error_chain(e));
        let error = if e.is_timeout() {
            Error::Timeout {
                elapsed: started.elapsed(),
                context: ctx,
            }
        } else {
            Error::Transport {
                message,
                context: ctx,
            }
        };
        // A refused connection never reached the server: safe to retry for every method.
        if e.is_connect() || req.idempotent {
            Attempt::Retry { error, wait: None }
        } else {
            Attempt::Fail(error)
        }
    }

    fn classify(
        &self,
        req: &HttpRequest,
        attempt: u32,
        status: u16,
        body: Vec<u8>,
        retry_after: Option<Duration>,
    ) -> Attempt {
        let cfg = &self.inner.config;
        let token = &cfg.credentials.token;
        let mut ctx = self.context(req, Some(status), attempt);
        if (200..300).contains(&status) {
            if is_licence_answer(&body, true) {
                ctx.excerpt = Some(excerpt(token, &body));
                return Attempt::Fail(Error::LicenseUnavailable { context: ctx });
            }
            return Attempt::Done(HttpAnswer {
                status,
                body,
                attempts: attempt,
            });
        }
        ctx.excerpt = Some(excerpt(token, &body));
        if is_licence_answer(&body, false) {
            return Attempt::Fail(Error::LicenseUnavailable { context: ctx });
        }
        let message = server_message(&body).map(|m| token.redact(&m));
        match status {
            401 => Attempt::Fail(Error::Auth { context: ctx }),
            403 => Attempt::Fail(Error::AccountDisabled {
                message: message.unwrap_or_else(|| "forbidden".into()),
                context: ctx,
            }),
            404 => Attempt::Fail(Error::NotFound { context: ctx }),
            409 => Attempt::Fail(Error::Conflict {
                message: message.unwrap_or_else(|| "conflict".into()),
                context: ctx,
            }),
            400 | 422 => {
                let msg = message.unwrap_or_else(|| "the server rejected the request".into());
                if looks_like_duplicate(&msg) {
                    Attempt::Fail(Error::Conflict {
                        message: msg,
                        context: ctx,
                    })
                } else {
                    Attempt::Fail(Error::Validation {
                        field: None,
                        message: msg,
                        context: Some(ctx),
                    })
                }
            }
            s if is_retryable_status(s) => {
                let error = if s == 429 {
                    Error::RateLimited {
                        retry_after,
                        context: ctx,
                    }
                } else if s == 408 {
                    Error::Timeout {
                        elapsed: Duration::ZERO,
                        context: ctx,
                    }
                } else {
                    Error::Server {
                        status: s,
                        context: ctx,
                    }
                };
                if let Some(wait) = retry_after
                    && wait > cfg.retry.retry_after_cap
                {
                    // Longer than we may sleep: hand the wait to the caller.
                    let context = Box::new(error.context().cloned().unwrap_or_default());
                    return Attempt::Fail(Error::RateLimited {
                        retry_after: Some(wait),
                        context,
                    });
                }
                if req.idempotent {
                    Attempt::Retry {
                        error,
                        wait: retry_after,
                    }
                } else {
                    Attempt::Fail(error)
                }
            }
            s => Attempt::Fail(Error::Server {
                status: s,
                context: ctx,
            }),
        }
    }
}

enum ReadError {
    TooLarge,
    Http(reqwest::Error),
}

async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>, ReadError> {
    if let Some(len) = resp.content_length()
        && len > cap as u64
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0).min(64 * 1024) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Http)? {
        if body.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "<url>");
    }
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

fn redact_url(cfg: &ClientConfig, message: &str) -> String {
    cfg.credentials.token.redact(message)
}

/// A short, lossy UTF-8 excerpt of a body with the token removed.
pub(crate) fn excerpt(token: &crate::auth::SecretToken, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_CHARS * 4)]);
    let cut: String = text.chars().take(EXCERPT_CHARS).collect();
    token.redact(&cut)
}

/// The message of an error body: a JSON string, or an object's `message`, `Message`, `error`,
/// `error_description` or `title`; else the text itself when it is short and not HTML.
fn server_message(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::String(s)) => Some(s),
        Ok(serde_json::Value::Object(map)) => [
            "message",
            "Message",
            "error_description",
            "error",
            "title",
            "ExceptionMessage",
        ]
        .iter()
        .find_map(|k| map.get(*k).and_then(|v| v.as_str()).map(str::to_string)),
        _ => {
            let text = std::str::from_utf8(body).ok()?.trim();
            (!text.is_empty() && text.len() < 500 && !text.starts_with('<')).then(|| text.into())
        }
    }
}

fn mentions_no_licence(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("no licenses are available")
        || t.contains("no licences are available")
        || t.contains("no license is available")
        || t.contains("no licence is available")
}

/// Recognises the "no licenses are available" answer. On a successful status only a bare
/// message (a JSON string, an error object, or plain text) counts, so an item whose
/// description happens to hold the words is not mistaken for it.
fn is_licence_answer(body: &[u8], success_status: bool) -> bool {
    // Cheap pre-check: every recognised wording holds "licen" (any case); most answers are
    // items and never get parsed twice.
    if body.len() > 64 * 1024 || !mentions_licen(body) {
        return false;
    }
    if success_status {
        server_message(body).is_some_and(|m| mentions_no_licence(&m))
    } else {
        mentions_no_licence(&String::from_utf8_lossy(body))
    }
}

/// Whether `body` holds "licen" in any case; memchr finds the candidate first letters.
fn mentions_licen(body: &[u8]) -> bool {
    memchr::memchr2_iter(b'l', b'L', body).any(|i| {
        body.get(i..i + 5)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"licen"))
    })
}

/// `base` joined with the relative route path `path`. Routes are plain relative paths under a
/// base ending in `/`, so the usual case appends to the base's path without re-parsing the
/// scheme and host; anything unusual goes through [`Url::join`].
fn request_url(base: &Url, path: &str) -> std::result::Result<Url, url::ParseError> {
    let plain = base.path().ends_with('/')
        && base.query().is_none()
        && base.fragment().is_none()
        && !path.is_empty()
        && !path.starts_with('/')
        && !path.contains(['?', '#', '\\', '%', ':'])
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..");
    if !plain {
        return base.join(path);
    }
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path()));
    Ok(url)
}

fn looks_like_duplicate(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("duplicate") || m.contains("already exists") || m.contains("already in use")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licence_detection_ignores_item_text() {
        assert!(is_licence_answer(br#""No licenses are available""#, true));
        assert!(is_licence_answer(
            br#"{"message":"There are no licenses are available."}"#,
            true
        ));
        assert!(!is_licence_answer(
            br#"{"id":1,"description":"note: no licenses are available"}"#,
            true
        ));
        assert!(is_licence_answer(
            b"<html>no licenses are available</html>",
            false
        ));
        assert!(is_licence_answer(b"NO LICENCES ARE AVAILABLE", false));
        assert!(is_licence_answer(b"no licEnses are available", false));
        assert!(!is_licence_answer(b"no permits are available; lic", false));
    }

    #[test]
    fn request_url_matches_join() {
        for base in [
            "https://safe.example.com/api/",
            "http://127.0.0.1:8080/api/",
            "https://h/",
            "https://h/api",
            "https://h/api/?x=1",
        ] {
            let base = Url::parse(base).expect("base");
            for path in [
                "items/seqOrgID/5",
                "items/5/coc",
                "cases/12/people",
                "search?x=1",
                "/abs/path",
                "a/../b",
                "./c",
                "with space/é",
                "x:y",
                "pct%20x",
                "",
            ] {
                assert_eq!(
                    request_url(&base, path).map(String::from),
                    base.join(path).map(String::from),
                    "{base} + {path}"
                );
            }
        }
    }

    #[test]
    fn excerpt_removes_token() {
        let t = crate::auth::SecretToken::new("secret-token-xyz");
        let e = excerpt(&t, b"bad token secret-token-xyz here");
        assert!(!e.contains("secret-token-xyz"));
    }
}
