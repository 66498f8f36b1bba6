//! Test controls under `/__admin/`: statistics, faults, options, tokens, licences, and items
//! that arrive, change, hide (late commits), vanish (holes), share a number (duplicates),
//! move to another number (renumbering) or carry broken form data while the simulator runs.
//!
//! Item controls (JSON answers; 404 `{"message"}` for an unknown organisation, number or item):
//!
//! - `POST /__admin/orgs/{org}/items` `{"count"?, "hidden"?}` → `{"seqs": [...]}`.
//! - `DELETE /__admin/orgs/{org}/items/{seq}[?id=ID]` → `{"deleted": seq, "ids": [...]}`:
//!   every item at `seq`, or only item `ID`.
//! - `POST /__admin/orgs/{org}/items/{seq}/hide|show|touch[?id=ID]` → the item's document, or
//!   an array of documents (ascending id) when `seq` holds several items: every item at
//!   `seq`, or only item `ID`.
//! - `POST /__admin/orgs/{org}/items/{seq}/duplicate` `{"hidden"?: bool}` (body optional) →
//!   `{"seq", "id": new id, "ids": [every id at seq, ascending]}`.
//! - `POST /__admin/orgs/{org}/item-ids/{id}/renumber` `{"to": n}` →
//!   `{"id", "from", "to", "ids_at_to": [ascending]}`.
//! - `POST /__admin/orgs/{org}/item-ids/{id}/corrupt-form` `{"data"?: text}` (body optional,
//!   default [`CORRUPT_FORM_DATA`]) → `{"id", "data"}`.

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
use crate::world::Org;
use crate::{App, FaultRule, Options};

/// The default text of `corrupt-form`: truncated, invalid JSON.
pub const CORRUPT_FORM_DATA: &str = "{\"field2849\":";

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
        .route(
            "/__admin/orgs/{org}/item-ids/{id}/renumber",
            post(renumber_item),
        )
        .route(
            "/__admin/orgs/{org}/item-ids/{id}/corrupt-form",
            post(corrupt_form),
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

fn unknown_org() -> Response {
    error(StatusCode::NOT_FOUND, "unknown organization")
}

/// The `?id=` query, if any.
fn query_id(q: &HashMap<String, String>) -> Result<Option<i64>, Response> {
    match q.get("id") {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("id must be an item id, not {v:?}"),
            )
        }),
    }
}

/// The ids an item control at `seq` applies to: every item there, or only `id`.
fn ids_at(o: &Org, seq: u64, id: Option<i64>) -> Result<Vec<i64>, Response> {
    let ids = o.ids_at(seq);
    match id {
        _ if ids.is_empty() => Err(error(
            StatusCode::NOT_FOUND,
            &format!("no item holds number {seq}"),
        )),
        Some(id) if !ids.contains(&id) => Err(error(
            StatusCode::NOT_FOUND,
            &format!("item {id} does not hold number {seq} (held by {ids:?})"),
        )),
        Some(id) => Ok(vec![id]),
        None => Ok(ids),
    }
}

/// One document as itself, several as an array.
fn one_or_many(mut docs: Vec<Value>) -> Value {
    if docs.len() == 1 {
        docs.remove(0)
    } else {
        Value::Array(docs)
    }
}

async fn delete_item(
    State(app): State<Arc<App>>,
    Path((org, seq)): Path<(u64, u64)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let id = match query_id(&q) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut w = app.world.lock().expect("world");
    let Some(o) = w.orgs.get_mut(&org) else {
        return unknown_org();
    };
    let ids = match ids_at(o, seq, id) {
        Ok(ids) => ids,
        Err(r) => return r,
    };
    for id in &ids {
        o.delete_item(*id);
    }
    ok(json!({"deleted": seq, "ids": ids}))
}

async fn item_action(
    State(app): State<Arc<App>>,
    Path((org, seq, action)): Path<(u64, u64, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let id = match query_id(&q) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut w = app.world.lock().expect("world");
    if !w.orgs.contains_key(&org) {
        return unknown_org();
    }
    if action == "duplicate" {
        let v = match body_json(&body) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if seq == 0 {
            return error(StatusCode::BAD_REQUEST, "sequential org ids start at 1");
        }
        let hidden = v.get("hidden").and_then(Value::as_bool).unwrap_or(false);
        let Some(new_id) = w.duplicate_item(org, seq, !hidden) else {
            return unknown_org();
        };
        let ids = w.orgs[&org].ids_at(seq);
        return ok(json!({"seq": seq, "id": new_id, "ids": ids}));
    }
    if !matches!(action.as_str(), "hide" | "show" | "touch") {
        return error(
            StatusCode::NOT_FOUND,
            "action must be hide, show, touch or duplicate",
        );
    }
    let ids = match ids_at(&w.orgs[&org], seq, id) {
        Ok(ids) => ids,
        Err(r) => return r,
    };
    let mut docs = Vec::with_capacity(ids.len());
    for id in ids {
        let doc = if action == "touch" {
            w.touch_item_id(org, id)
        } else {
            w.orgs.get_mut(&org).and_then(|o| o.item_mut(id)).map(|r| {
                r.visible = action == "show";
                r.doc.clone()
            })
        };
        docs.extend(doc);
    }
    ok(one_or_many(docs))
}

fn no_item(id: i64) -> Response {
    error(StatusCode::NOT_FOUND, &format!("no item with id {id}"))
}

async fn renumber_item(
    State(app): State<Arc<App>>,
    Path((org, id)): Path<(u64, i64)>,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(to) = v.get("to").and_then(Value::as_u64).filter(|n| *n > 0) else {
        return error(
            StatusCode::BAD_REQUEST,
            "body must be {\"to\": n} with n a sequential org id (1 or more)",
        );
    };
    let mut w = app.world.lock().expect("world");
    if !w.orgs.contains_key(&org) {
        return unknown_org();
    }
    let Some(from) = w.renumber_item(org, id, to) else {
        return no_item(id);
    };
    let ids = w.orgs[&org].ids_at(to);
    ok(json!({"id": id, "from": from, "to": to, "ids_at_to": ids}))
}

async fn corrupt_form(
    State(app): State<Arc<App>>,
    Path((org, id)): Path<(u64, i64)>,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let data = match v.get("data") {
        None | Some(Value::Null) => CORRUPT_FORM_DATA.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return error(StatusCode::BAD_REQUEST, "data must be a string"),
    };
    let mut w = app.world.lock().expect("world");
    if !w.orgs.contains_key(&org) {
        return unknown_org();
    }
    match w.corrupt_form(org, id, &data) {
        Some(()) => ok(json!({"id": id, "data": data})),
        None => no_item(id),
    }
}
