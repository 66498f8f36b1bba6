//! The SAFE endpoints under `/api/`: same paths, headers and shapes as safe-api.md, with the
//! validation the real API is documented to apply.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::world::{World, lookup_has};
use crate::{App, BlankStyle, Caller, ItemShape};

/// An error answer `{ "message": … }`.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("The request is invalid: {e}"),
        )
    })
}

fn parse_id(raw: &str) -> Result<i64, Response> {
    raw.parse::<i64>().map_err(|_| {
        error(
            StatusCode::NOT_FOUND,
            "No HTTP resource was found that matches the request URI.",
        )
    })
}

fn not_found(what: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("{what} not found"))
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

// ----- items -----

/// `GET items/seqOrgID/{n}`.
///
/// One visible item at `n`: that item as an object (or `[doc]` with [`ItemShape::Array`]).
/// Several visible items at `n` (a duplicated sequential org id): a JSON array of all of them
/// in descending id order, newest first, whatever the shape option. The real API's order for
/// a duplicated number is unknown; newest-first makes a client prove that it sorts by id
/// rather than trusting the answer's order. No visible item: the configured [`BlankStyle`].
pub async fn item_by_seq(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(n): Path<String>,
) -> Response {
    let Ok(n) = n.parse::<u64>() else {
        return bad("The sequential org id must be a number.");
    };
    let (blank, shape) = {
        let o = app.options.lock().expect("options");
        (o.blank_style, o.item_shape)
    };
    let mut docs: Vec<Value> = {
        let w = app.world.lock().expect("world");
        w.orgs[&c.org_id]
            .items_at(n)
            .into_iter()
            .filter(|r| r.visible)
            .map(|r| r.doc.clone())
            .collect()
    };
    // `items_at` is ascending by id: newest first is the reverse.
    docs.reverse();
    match docs.len() {
        1 => match shape {
            ItemShape::Object => ok(docs.remove(0)),
            ItemShape::Array => ok(Value::Array(docs)),
        },
        2.. => ok(Value::Array(docs)),
        0 => match blank {
            BlankStyle::NotFound => StatusCode::NOT_FOUND.into_response(),
            BlankStyle::NoContent => StatusCode::NO_CONTENT.into_response(),
            BlankStyle::EmptyBody => StatusCode::OK.into_response(),
            BlankStyle::Null => ok(Value::Null),
            BlankStyle::EmptyArray => ok(json!([])),
            BlankStyle::EmptyObject => ok(json!({})),
        },
    }
}

fn with_item<T>(
    app: &App,
    org: u64,
    id: &str,
    f: impl FnOnce(&crate::world::Org, i64) -> T,
) -> Result<T, Response> {
    let id = parse_id(id)?;
    let w = app.world.lock().expect("world");
    let org = &w.orgs[&org];
    match org.item(id) {
        Some(rec) if rec.visible => Ok(f(org, id)),
        _ => Err(not_found("Item")),
    }
}

/// `GET items/{id}`.
pub async fn item(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match with_item(&app, c.org_id, &id, |org, id| {
        org.item(id).map(|r| r.doc.clone()).unwrap_or_default()
    }) {
        Ok(doc) => ok(doc),
        Err(r) => r,
    }
}

/// `GET items/{id}/coc`.
pub async fn chain_of_custody(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match with_item(&app, c.org_id, &id, |org, id| {
        org.custody.get(&id).cloned().unwrap_or_default()
    }) {
        Ok(list) => ok(Value::Array(list)),
        Err(r) => r,
    }
}

/// `GET formdata/{id}` (the "formdata controller", keyed by the item's id).
pub async fn form_data(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match with_item(&app, c.org_id, &id, |org, id| {
        org.form_data.get(&id).cloned().unwrap_or_default()
    }) {
        Ok(list) => ok(Value::Array(list)),
        Err(r) => r,
    }
}

fn number_matches(value: i64, criterion: i64, model: i64, to: Option<i64>) -> bool {
    match criterion {
        0 => value == model,
        1 => value != model,
        14 => value < model,
        15 => value > model,
        16 => value <= model,
        17 => value >= model,
        8 => value >= model && to.is_none_or(|t| value <= t),
        _ => true,
    }
}

/// `POST items/search`: supports `SequentialOrgId` number criteria and a date field after a time.
pub async fn search_items(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Response {
    let req = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    for key in ["StaticFields", "OfficeIds", "PageSize", "PageNumber"] {
        if req.get(key).is_none() {
            return bad(&format!("{key} is required."));
        }
    }
    let page_size = req["PageSize"].as_u64().unwrap_or(25).clamp(1, 1000) as usize;
    let page = req["PageNumber"].as_u64().unwrap_or(1).max(1) as usize;
    let fields = req["StaticFields"].as_array().cloned().unwrap_or_default();
    let w = app.world.lock().expect("world");
    let org = &w.orgs[&c.org_id];
    let mut hits: Vec<&Value> = org
        .all_items()
        .filter(|r| r.visible)
        .map(|r| &r.doc)
        .filter(|doc| {
            fields.iter().all(|f| {
                let field = f["fieldName"].as_str().unwrap_or("");
                let criterion = f["searchCriteria"].as_i64().unwrap_or(0);
                if field.eq_ignore_ascii_case("SequentialOrgId") {
                    let model = f["model"]
                        .as_i64()
                        .or_else(|| f["model"].as_str().and_then(|s| s.parse().ok()));
                    let Some(model) = model else { return false };
                    let value = doc["sequentialOrgId"].as_i64().unwrap_or(0);
                    number_matches(value, criterion, model, f["toDate"].as_i64())
                } else if f["typeId"].as_i64() == Some(2) {
                    let key = lower_first(field);
                    let value = doc.get(&key).and_then(Value::as_str).unwrap_or("");
                    let model = f["model"].as_str().unwrap_or("");
                    match criterion {
                        7 => value > model,
                        6 => value < model,
                        _ => true,
                    }
                } else {
                    true
                }
            })
        })
        .collect();
    if let Some(order) = req.get("orderBy").and_then(Value::as_str) {
        let key = lower_first(order);
        let asc = req
            .get("orderByAsc")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        hits.sort_by(|a, b| {
            let o = match (&a[&key], &b[&key]) {
                (Value::Number(x), Value::Number(y)) => x
                    .as_f64()
                    .partial_cmp(&y.as_f64())
                    .unwrap_or(std::cmp::Ordering::Equal),
                (x, y) => x.as_str().unwrap_or("").cmp(y.as_str().unwrap_or("")),
            }
            .then_with(|| {
                a["sequentialOrgId"]
                    .as_i64()
                    .cmp(&b["sequentialOrgId"].as_i64())
            })
            .then_with(|| a["id"].as_i64().cmp(&b["id"].as_i64()));
            if asc { o } else { o.reverse() }
        });
    }
    let count = hits.len();
    let entities: Vec<Value> = hits
        .into_iter()
        .skip((page - 1) * page_size)
        .take(page_size)
        .cloned()
        .collect();
    ok(json!({ "entities": entities, "count": count }))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

// ----- cases -----

fn validate_case(w: &World, org_id: u64, case: &Value) -> Result<(), Response> {
    if text(case, "caseNumber").is_none() {
        return Err(bad("CaseNumber is required."));
    }
    let officers: Vec<i64> = match (case.get("caseOfficerIds"), case.get("caseOfficerId")) {
        (Some(Value::Array(a)), _) if !a.is_empty() => a.iter().filter_map(Value::as_i64).collect(),
        (_, Some(v)) if v.as_i64().is_some() => vec![v.as_i64().unwrap_or_default()],
        _ => return Err(bad("CaseOfficerIds is required.")),
    };
    let org = &w.orgs[&org_id];
    if let Some(bad_id) = officers.iter().find(|id| !org.users.contains_key(id)) {
        return Err(bad(&format!("Case officer {bad_id} does not exist.")));
    }
    match case.get("offenseTypeId").and_then(Value::as_i64) {
        Some(id) if lookup_has("offensetypes", id) => {}
        Some(id) => return Err(bad(&format!("Offense type {id} does not exist."))),
        None => return Err(bad("OffenseTypeId is required.")),
    }
    if !case.get("active").is_some_and(Value::is_boolean) {
        return Err(bad("Active is required."));
    }
    match case.get("formData") {
        Some(Value::Array(_)) => {}
        Some(Value::Null) => return Err(bad("FormData must not be null; send [].")),
        _ => return Err(bad("FormData is required.")),
    }
    if !case.get("tags").is_some_and(Value::is_array) {
        return Err(bad("Tags is required."));
    }
    Ok(())
}

fn conflict(app: &App, message: &str) -> Response {
    let status = app.options.lock().expect("options").conflict_status;
    error(
        StatusCode::from_u16(status).unwrap_or(StatusCode::CONFLICT),
        message,
    )
}

fn finish_case(org: &crate::world::Org, mut case: Value) -> Value {
    let officers: Vec<i64> = case["caseOfficerIds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .or_else(|| case["caseOfficerId"].as_i64().map(|i| vec![i]))
        .unwrap_or_default();
    let names: Vec<String> = officers
        .iter()
        .map(|id| {
            format!(
                "{} {}",
                org.users[id]["firstName"].as_str().unwrap_or(""),
                org.users[id]["lastName"].as_str().unwrap_or("")
            )
        })
        .collect();
    if let Some(m) = case.as_object_mut() {
        m.remove("caseOfficerId");
        m.insert("caseOfficerIds".into(), json!(officers));
        m.insert("caseOfficers".into(), json!(names));
        m.insert("organizationId".into(), json!(org.id));
        m.insert("organizationName".into(), json!(org.name));
    }
    case
}

/// `POST cases`.
pub async fn create_case(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Response {
    let case = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut w = app.world.lock().expect("world");
    if let Err(r) = validate_case(&w, c.org_id, &case) {
        return r;
    }
    let number = text(&case, "caseNumber").unwrap_or_default();
    if w.orgs[&c.org_id]
        .cases
        .values()
        .any(|x| x["caseNumber"].as_str() == Some(number.as_str()))
    {
        return conflict(
            &app,
            "Case number already exists. Case numbers must be unique.",
        );
    }
    let id = w.new_id() + 9_000_000;
    let org = w.orgs.get_mut(&c.org_id).expect("org");
    let mut doc = finish_case(org, case);
    doc["id"] = json!(id);
    doc["officeId"] = json!(c.office_id);
    doc["createdDate"] = json!(World::now_stamp());
    doc["items"] = json!([]);
    org.cases.insert(id, doc.clone());
    ok(doc)
}

/// `GET cases/{id}`.
pub async fn case(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let w = app.world.lock().expect("world");
    match w.orgs[&c.org_id].cases.get(&id) {
        Some(doc) => ok(doc.clone()),
        None => not_found("Case"),
    }
}

/// `PUT cases/{id}` with the whole case.
pub async fn update_case(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let case = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut w = app.world.lock().expect("world");
    if !w.orgs[&c.org_id].cases.contains_key(&id) {
        return not_found("Case");
    }
    if let Err(r) = validate_case(&w, c.org_id, &case) {
        return r;
    }
    let number = text(&case, "caseNumber").unwrap_or_default();
    if w.orgs[&c.org_id]
        .cases
        .iter()
        .any(|(k, x)| *k != id && x["caseNumber"].as_str() == Some(number.as_str()))
    {
        return conflict(
            &app,
            "Case number already exists. Case numbers must be unique.",
        );
    }
    let org = w.orgs.get_mut(&c.org_id).expect("org");
    let mut doc = finish_case(org, case);
    doc["id"] = json!(id);
    org.cases.insert(id, doc.clone());
    ok(doc)
}

/// `GET cases/getByNumber?value=…`.
pub async fn case_by_number(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(number) = q.get("value") else {
        return bad("value is required.");
    };
    let w = app.world.lock().expect("world");
    match w.orgs[&c.org_id]
        .cases
        .values()
        .find(|x| x["caseNumber"].as_str() == Some(number.as_str()))
    {
        Some(doc) => ok(doc.clone()),
        None => not_found("Case"),
    }
}

/// `GET cases/{id}/people`.
pub async fn case_people(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let w = app.world.lock().expect("world");
    let org = &w.orgs[&c.org_id];
    if !org.cases.contains_key(&id) {
        return not_found("Case");
    }
    let people: Vec<Value> = org
        .case_people
        .get(&id)
        .map(|l| {
            l.iter()
                .filter_map(|(pid, type_id)| {
                    let mut p = org.people.get(pid)?.clone();
                    p["personTypeId"] = json!(type_id);
                    p["personType"] = json!(match type_id {
                        1 => "Suspect",
                        2 => "Victim",
                        _ => "Witness",
                    });
                    Some(p)
                })
                .collect()
        })
        .unwrap_or_default();
    ok(Value::Array(people))
}

// ----- people -----

fn validate_person(p: &Value) -> Result<(), Response> {
    let named = text(p, "firstName").is_some() && text(p, "lastName").is_some();
    if !named && text(p, "businessName").is_none() {
        return Err(bad(
            "FirstName and LastName, or BusinessName, are required.",
        ));
    }
    match p.get("raceId").and_then(Value::as_i64) {
        Some(id) if lookup_has("races", id) => {}
        Some(id) => return Err(bad(&format!("Race {id} does not exist."))),
        None => return Err(bad("RaceId is required.")),
    }
    match p.get("genderId").and_then(Value::as_i64) {
        Some(id) if lookup_has("genders", id) => {}
        Some(id) => return Err(bad(&format!("Gender {id} does not exist."))),
        None => return Err(bad("GenderId is required.")),
    }
    for key in ["active", "deceased", "juvenile"] {
        if !p.get(key).is_some_and(Value::is_boolean) {
            return Err(bad(&format!("{key} is required.")));
        }
    }
    if let Some(t) = p.get("personTypeId").and_then(Value::as_i64)
        && !lookup_has("personTypes", t)
    {
        return Err(bad(&format!("Person type {t} does not exist.")));
    }
    Ok(())
}

/// `POST people` with `{person, address}`.
pub async fn create_person(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Response {
    let req = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(person) = req.get("person").filter(|p| p.is_object()) else {
        return bad("person is required.");
    };
    if person.get("id").and_then(Value::as_i64) != Some(0) {
        return bad("person.id must be 0.");
    }
    if let Err(r) = validate_person(person) {
        return r;
    }
    if let Some(addr) = req.get("address").filter(|a| a.is_object()) {
        match addr.get("addressTypeId").and_then(Value::as_i64) {
            Some(id) if lookup_has("addresstypes", id) => {}
            _ => return bad("address.addressTypeId is required and must exist."),
        }
    }
    let mut w = app.world.lock().expect("world");
    let lc = |v: &Value, k: &str| text(v, k).map(|s| s.to_lowercase());
    let duplicates: Vec<i64> = w.orgs[&c.org_id]
        .people
        .values()
        .filter(|q| {
            (lc(person, "driverLicence").is_some()
                && lc(person, "driverLicence") == lc(q, "driverLicence"))
                || (lc(person, "businessName").is_some()
                    && lc(person, "businessName") == lc(q, "businessName"))
                || (lc(person, "firstName").is_some()
                    && lc(person, "firstName") == lc(q, "firstName")
                    && lc(person, "lastName") == lc(q, "lastName"))
        })
        .filter_map(|q| q["id"].as_i64())
        .collect();
    if !duplicates.is_empty() {
        let status = app.options.lock().expect("options").conflict_status;
        return (
            StatusCode::from_u16(status).unwrap_or(StatusCode::CONFLICT),
            axum::Json(
                json!({ "message": "Likely duplicate person found.", "duplicates": duplicates }),
            ),
        )
            .into_response();
    }
    let id = w.new_id() + 800_000;
    let mut doc = person.clone();
    doc["id"] = json!(id);
    doc["guid"] = json!(format!("20000000-0000-4000-8000-{id:012}"));
    doc["organizationId"] = json!(c.org_id);
    doc["createDateTime"] = json!(World::now_stamp());
    if let Some(addr) = req.get("address").filter(|a| a.is_object()) {
        doc["defaultAddress"] = addr.clone();
    }
    w.orgs
        .get_mut(&c.org_id)
        .expect("org")
        .people
        .insert(id, doc.clone());
    ok(doc)
}

/// `GET people/{id}`.
pub async fn person(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let w = app.world.lock().expect("world");
    match w.orgs[&c.org_id].people.get(&id) {
        Some(doc) => ok(doc.clone()),
        None => not_found("Person"),
    }
}

/// `PUT people/{id}` with the whole person.
pub async fn update_person(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let person = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = validate_person(&person) {
        return r;
    }
    let mut w = app.world.lock().expect("world");
    let org = w.orgs.get_mut(&c.org_id).expect("org");
    if !org.people.contains_key(&id) {
        return not_found("Person");
    }
    let mut doc = person;
    doc["id"] = json!(id);
    org.people.insert(id, doc.clone());
    ok(doc)
}

/// `GET people/typeahead?search=…` (at most 10).
pub async fn people_typeahead(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let needle = q
        .get("search")
        .map(|s| s.to_lowercase())
        .unwrap_or_default();
    let w = app.world.lock().expect("world");
    let hits: Vec<Value> = w.orgs[&c.org_id]
        .people
        .values()
        .filter(|p| {
            [
                "firstName",
                "lastName",
                "middleName",
                "alias",
                "businessName",
                "email",
            ]
            .iter()
            .any(|k| text(p, k).is_some_and(|v| v.to_lowercase().contains(&needle)))
        })
        .map(|p| {
            json!({ "id": p["id"], "text": format!("{}, {} ({})",
                p["lastName"].as_str().unwrap_or(""), p["firstName"].as_str().unwrap_or(""),
                p["email"].as_str().unwrap_or("N/A")) })
        })
        .collect();
    let exceeded = hits.len() > 10;
    ok(
        json!({ "people": hits.into_iter().take(10).collect::<Vec<_>>(), "peopleCountLimitExceeded": exceeded }),
    )
}

/// `GET people/isemailalreadyinuse/{email}/`.
pub async fn email_in_use(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(email): Path<String>,
) -> Response {
    let email = email.to_lowercase();
    let w = app.world.lock().expect("world");
    let used = w.orgs[&c.org_id]
        .people
        .values()
        .any(|p| text(p, "email").is_some_and(|e| e.to_lowercase() == email));
    ok(json!(used))
}

// ----- users -----

fn validate_user(u: &Value, org_id: u64) -> Result<(), Response> {
    for key in ["firstName", "lastName", "email"] {
        if text(u, key).is_none() {
            return Err(bad(&format!("{key} is required.")));
        }
    }
    if u.get("organizationId").and_then(Value::as_u64) != Some(org_id) {
        return Err(bad(
            "organizationId is required and must be the caller's organization.",
        ));
    }
    if u.get("officeId").and_then(Value::as_u64).is_none() {
        return Err(bad("officeId is required."));
    }
    if !u.get("active").is_some_and(Value::is_boolean) {
        return Err(bad("active is required."));
    }
    if !u.get("groups").is_some_and(Value::is_array) {
        return Err(bad("groups is required."));
    }
    Ok(())
}

/// `POST users/`.
pub async fn create_user(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Response {
    let user = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = validate_user(&user, c.org_id) {
        return r;
    }
    let email = text(&user, "email").unwrap_or_default().to_lowercase();
    let mut w = app.world.lock().expect("world");
    // E-mail must be unique system-wide (every organisation).
    let taken = w
        .orgs
        .values()
        .flat_map(|o| o.users.values())
        .any(|u| text(u, "email").is_some_and(|e| e.to_lowercase() == email));
    if taken {
        return conflict(&app, "Email address is already in use.");
    }
    let id = w.new_id();
    let mut doc = user;
    doc["id"] = json!(id);
    doc["guid"] = json!(format!("30000000-0000-4000-8000-{id:012}"));
    doc["personId"] = json!(id + 500_000);
    w.orgs
        .get_mut(&c.org_id)
        .expect("org")
        .users
        .insert(id, doc.clone());
    ok(doc)
}

/// `GET users/{id}`.
pub async fn user(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let w = app.world.lock().expect("world");
    match w.orgs[&c.org_id].users.get(&id) {
        Some(doc) => ok(doc.clone()),
        None => not_found("User"),
    }
}

/// `PUT users/{id}` with the whole user.
pub async fn update_user(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let user = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = validate_user(&user, c.org_id) {
        return r;
    }
    let email = text(&user, "email").unwrap_or_default().to_lowercase();
    let mut w = app.world.lock().expect("world");
    if !w.orgs[&c.org_id].users.contains_key(&id) {
        return not_found("User");
    }
    let taken = w
        .orgs
        .values()
        .flat_map(|o| o.users.iter())
        .any(|(k, u)| *k != id && text(u, "email").is_some_and(|e| e.to_lowercase() == email));
    if taken {
        return conflict(&app, "Email address is already in use.");
    }
    let mut doc = user;
    doc["id"] = json!(id);
    w.orgs
        .get_mut(&c.org_id)
        .expect("org")
        .users
        .insert(id, doc.clone());
    ok(doc)
}

/// `GET users/typeahead?search=…`.
pub async fn users_typeahead(
    State(app): State<Arc<App>>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let needle = q
        .get("search")
        .map(|s| s.to_lowercase())
        .unwrap_or_default();
    let w = app.world.lock().expect("world");
    let hits: Vec<Value> = w.orgs[&c.org_id]
        .users
        .values()
        .filter(|u| {
            ["firstName", "middleName", "lastName", "email"]
                .iter()
                .any(|k| text(u, k).is_some_and(|v| v.to_lowercase().contains(&needle)))
        })
        .map(|u| {
            json!({ "id": u["id"], "text": format!(" {} {} ({})",
                u["firstName"].as_str().unwrap_or(""), u["lastName"].as_str().unwrap_or(""), u["email"].as_str().unwrap_or("")) })
        })
        .collect();
    let count = hits.len();
    ok(json!({ "users": hits, "usersCount": count }))
}

// ----- lookups -----

/// A lookup list (`races`, `genders`, …).
pub fn lookup(name: &'static str) -> Response {
    ok(crate::world::lookups()
        .get(name)
        .cloned()
        .unwrap_or(json!([])))
}

/// `GET forms?formType=…`.
pub async fn forms(Query(q): Query<HashMap<String, String>>) -> Response {
    let kind = q.get("formType").map(String::as_str).unwrap_or("All");
    let all = crate::world::lookups()["forms"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let list: Vec<Value> = all
        .into_iter()
        .filter(|f| kind == "All" || f["formType"].as_str() == Some(kind))
        .collect();
    ok(Value::Array(list))
}
