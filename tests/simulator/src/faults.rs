//! Fault injection: rules matched against each API request, set by flags or under
//! `/__admin/faults`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `status` (with `retry_after` and `body` when given).
    Status,
    /// Close the connection without any answer.
    Drop,
    /// Send the headers and half the real body, then reset the connection.
    ResetMidBody,
    /// A complete answer whose JSON is cut in half.
    Truncate,
    /// Status 200 with malformed JSON.
    Malformed,
    /// Status 200 with an HTML error page.
    Html200,
    /// Status 200 with a body of `size` bytes (default 20 MiB), streamed without a length.
    Oversize,
    /// Status 200 with JSON holding invalid UTF-8.
    InvalidUtf8,
    /// Wait `latency_ms` before answering normally.
    SlowHeaders,
    /// Send half the real body, wait `latency_ms`, then the rest.
    SlowBody,
    /// Answer "no licenses are available" (status `status`, default 403).
    NoLicence,
}

/// One fault rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    /// What to do.
    pub kind: FaultKind,
    /// Match requests whose path (after `/api/`) contains this text; all when absent.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Match this HTTP method only.
    #[serde(default)]
    pub method: Option<String>,
    /// Apply to this many matching requests, then retire; unlimited when absent.
    #[serde(default)]
    pub count: Option<u32>,
    /// Apply to this share of matching requests (0..=1, deterministic); all when absent.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Status for `status` and `no_licence`.
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` value to send.
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Delay for the slow kinds, in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Body for `status`.
    #[serde(default)]
    pub body: Option<String>,
    /// Size for `oversize`.
    #[serde(default)]
    pub size: Option<usize>,
    /// Matching requests seen (for `rate`).
    #[serde(default, skip_deserializing)]
    pub seen: u64,
}

impl FaultRule {
    /// True when this rule applies to `method` `path`; updates its counters.
    pub fn take(&mut self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        if let Some(p) = &self.path_contains
            && !path.contains(p.as_str())
        {
            return false;
        }
        if self.count == Some(0) {
            return false;
        }
        self.seen += 1;
        if let Some(rate) = self.rate {
            // Deterministic spread: fire when the running share falls behind `rate`.
            let fired_before = ((self.seen - 1) as f64 * rate).floor();
            let fired_now = (self.seen as f64 * rate).floor();
            if fired_now <= fired_before {
                return false;
            }
        }
        if let Some(c) = self.count.as_mut() {
            *c -= 1;
        }
        true
    }
}

/// The marker a response carries when the connection must be dropped without an answer.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// A response that closes the connection without any answer.
pub fn drop_response() -> Response {
    let mut r = Response::new(Body::empty());
    r.extensions_mut().insert(DropConnection);
    r
}

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// The answer of a fault that replaces the real one, or `None` when the real answer (`real`)
/// must be produced first and then altered (see [`alter`]).
pub fn replace(rule: &FaultRule) -> Option<Response> {
    match rule.kind {
        FaultKind::Status => {
            let status = StatusCode::from_u16(rule.status.unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = rule.body.clone().unwrap_or_else(|| {
                format!("{{\"message\":\"injected fault {}\"}}", status.as_u16())
            });
            let mut r = json_response(status, body);
            if let Some(ra) = &rule.retry_after
                && let Ok(v) = HeaderValue::from_str(ra)
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Some(r)
        }
        FaultKind::Drop => Some(drop_response()),
        FaultKind::Malformed => Some(json_response(
            StatusCode::OK,
            "{\"id\": 12, \"description\": \"unterminated",
        )),
        FaultKind::Html200 => {
            let mut r = Response::new(Body::from(
                "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' Application.</h1></body></html>",
            ));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            Some(r)
        }
        FaultKind::Oversize => {
            let size = rule.size.unwrap_or(20 * 1024 * 1024);
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = size.div_ceil(chunk.len());
            let stream = futures_util::stream::iter(
                (0..chunks).map(move |_| Ok::<Bytes, std::io::Error>(chunk.clone())),
            );
            Some(json_response(StatusCode::OK, Body::from_stream(stream)))
        }
        FaultKind::InvalidUtf8 => {
            let mut body = b"{\"id\": 12, \"sequentialOrgId\": 1, \"description\": \"bad ".to_vec();
            body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
            body.extend_from_slice(b"\"}");
            Some(json_response(StatusCode::OK, body))
        }
        FaultKind::NoLicence => Some(json_response(
            StatusCode::from_u16(rule.status.unwrap_or(403)).unwrap_or(StatusCode::FORBIDDEN),
            "{\"message\":\"There are no licenses are available. Please contact your administrator.\"}",
        )),
        FaultKind::ResetMidBody
        | FaultKind::Truncate
        | FaultKind::SlowHeaders
        | FaultKind::SlowBody => None,
    }
}

/// Alters the real answer for the faults that need it.
pub async fn alter(rule: &FaultRule, real: Response) -> Response {
    let latency = Duration::from_millis(rule.latency_ms.unwrap_or(2_000));
    let (parts, body) = real.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.len() / 2;
    match rule.kind {
        FaultKind::SlowHeaders => {
            tokio::time::sleep(latency).await;
            Response::from_parts(parts, Body::from(bytes))
        }
        FaultKind::Truncate => {
            let mut parts = parts;
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes.slice(..half)))
        }
        FaultKind::SlowBody => {
            let first = bytes.slice(..half);
            let rest = bytes.slice(half..);
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let first = first.clone();
                let rest = rest.clone();
                async move {
                    match step {
                        0 => Some((Ok::<Bytes, std::io::Error>(first), 1)),
                        1 => {
                            tokio::time::sleep(latency).await;
                            Some((Ok(rest), 2))
                        }
                        _ => None,
                    }
                }
            });
            let mut parts = parts;
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from_stream(stream))
        }
        FaultKind::ResetMidBody => {
            let first = bytes.slice(..half);
            let total = bytes.len();
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let first = first.clone();
                async move {
                    match step {
                        0 => Some((Ok::<Bytes, std::io::Error>(first), 1)),
                        1 => Some((
                            Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionReset,
                                "injected reset",
                            )),
                            2,
                        )),
                        _ => None,
                    }
                }
            });
            let mut parts = parts;
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(total.max(1)));
            Response::from_parts(parts, Body::from_stream(stream))
        }
        _ => Response::from_parts(parts, Body::from(bytes)),
    }
    .into_response()
}
