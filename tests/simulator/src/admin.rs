//! Test controls under `/__admin/`: statistics, faults, options, tokens, licences, and items
//! that arrive, change, hide (late commits) or vanish (holes) while the simulator runs.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use crate::api::error;
use crate::{App, FaultRule, Options};

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn body_json(body: &Bytes) -> Result<Value, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")))
}

/// The admin router.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/__admin/stats", get(stats))
        .route("/__admin/stats/reset", post(reset_stats))
        .route(
            "/__admin/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/__admin/options", get(get_options).post(set_options))
        .route("/__admin/credentials", get(credentials))
        .route("/__admin/tokens/{token}", post(set_token))
        .route("/__admin/orgs/{org}/licences", post(set_licences))
        .route("/__admin/orgs/{org}/items", post(add_items))
        .route("/__admin/orgs/{org}/items/{seq}", delete(delete_item))
        .route(
            "/__admin/orgs/{org}/items/{seq}/{action}",
            post(item_action),
        )
}

async fn stats(State(app): State<Arc<App>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let window = q
        .get("window_ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000u64)
        .max(1);
    ok(app.stats.lock().expect("stats").to_json(window))
}

async fn reset_stats(State(app): State<Arc<App>>) -> Response {
    app.stats.lock().expect("stats").reset();
    ok(json!({"ok": true}))
}

async fn list_faults(State(app): State<Arc<App>>) -> Response {
    ok(json!(*app.faults.lock().expect("faults")))
}

async fn add_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let rules: Result<Vec<FaultRule>, _> = match v {
        Value::Array(_) => serde_json::from_value(v),
        other => serde_json::from_value(other).map(|r| vec![r]),
    };
    match rules {
        Ok(rules) => {
            let n = rules.len();
            app.faults.lock().expect("faults").extend(rules);
            ok(json!({"added": n}))
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad fault rule: {e}")),
    }
}

async fn clear_faults(State(app): State<Arc<App>>) -> Response {
    app.faults.lock().expect("faults").clear();
    ok(json!({"ok": true}))
}

async fn get_options(State(app): State<Arc<App>>) -> Response {
    ok(json!(*app.options.lock().expect("options")))
}

async fn set_options(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut current = json!(*app.options.lock().expect("options"));
    if let (Some(cur), Some(new)) = (current.as_object_mut(), v.as_object()) {
        for (k, val) in new {
            cur.insert(k.clone(), val.clone());
        }
    }
    match serde_json::from_value::<Options>(current) {
        Ok(o) => {
            *app.options.lock().expect("options") = o.clone();
            ok(json!(o))
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad options: {e}")),
    }
}

async fn credentials(State(app): State<Arc<App>>) -> Response {
    let w = app.world.lock().expect("world");
    ok(crate::credentials_json(&w))
}

async fn set_token(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut w = app.world.lock().expect("world");
    let Some(rec) = w.tokens.get_mut(&token) else {
        return error(StatusCode::NOT_FOUND, "unknown token");
    };
    if let Some(d) = v.get("disabled").and_then(Value::as_bool) {
        rec.disabled = d;
    }
    if let Some(r) = v.get("reserved_licence").and_then(Value::as_bool) {
        rec.reserved_licence = r;
        rec.holds_floating = false;
    }
    ok(json!({"disabled": rec.disabled, "reserved_licence": rec.reserved_licence}))
}

async fn set_licences(State(app): State<Arc<App>>, Path(org): Path<u64>, body: Bytes) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut w = app.world.lock().expect("world");
    let Some(o) = w.orgs.get_mut(&org) else {
        return error(StatusCode::NOT_FOUND, "unknown organization");
    };
    o.floating_licences = v.get("floating").and_then(Value::as_u64).unwrap_or(0) as u32;
    ok(json!({"floating": o.floating_licences}))
}

async fn add_items(State(app): State<Arc<App>>, Path(org): Path<u64>, body: Bytes) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let count = v.get("count").and_then(Value::as_u64).unwrap_or(1);
    let hidden = v.get("hidden").and_then(Value::as_bool).unwrap_or(false);
    let mut w = app.world.lock().expect("world");
    if !w.orgs.contains_key(&org) {
        return error(StatusCode::NOT_FOUND, "unknown organization");
    }
    let seqs = w.add_items(org, count, !hidden);
    ok(json!({"seqs": seqs}))
}

async fn delete_item(State(app): State<Arc<App>>, Path((org, seq)): Path<(u64, u64)>) -> Response {
    let mut w = app.world.lock().expect("world");
    match w.orgs.get_mut(&org).and_then(|o| o.items.remove(&seq)) {
        Some(_) => ok(json!({"deleted": seq})),
        None => error(StatusCode::NOT_FOUND, "no such item"),
    }
}

async fn item_action(
    State(app): State<Arc<App>>,
    Path((org, seq, action)): Path<(u64, u64, String)>,
) -> Response {
    let mut w = app.world.lock().expect("world");
    let result = match action.as_str() {
        "hide" | "show" => w
            .orgs
            .get_mut(&org)
            .and_then(|o| o.items.get_mut(&seq))
            .map(|r| {
                r.visible = action == "show";
                r.doc.clone()
            }),
        "touch" => w.touch_item(org, seq),
        _ => return error(StatusCode::NOT_FOUND, "action must be hide, show or touch"),
    };
    match result {
        Some(doc) => ok(doc),
        None => error(StatusCode::NOT_FOUND, "no such item"),
    }
}
