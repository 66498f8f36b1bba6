//! [`Client`]: one typed async method per SAFE endpoint an RMS integration uses.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::ClientConfig;
use crate::error::{Error, RequestContext, Result};
use crate::models::{
    Case, CustodyEntry, Form, FormDataEntry, Item, Lookup, LookupEntry, NewPerson, Person,
    SafeDateTime, SearchPage, SearchRequest, SeqAnswer, TypeaheadEntry, User, decode_list,
    decode_seq_answer,
};
use crate::routes::{Routes, fill};
use crate::transport::{HttpAnswer, HttpRequest, Transport, excerpt};

/// A SAFE API client. Cheap to clone: clones share one connection pool and one pacer.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
}

impl Client {
    /// Builds a client from a validated configuration.
    pub fn new(config: ClientConfig) -> Result<Client> {
        Ok(Client {
            transport: Transport::new(config)?,
        })
    }

    /// Builds a client of `config` that sends through `pool`'s connections (shared with the
    /// pool's other clients); pacing, budgets, headers and counters stay this client's own.
    /// `config`'s own proxy, `ca_file` and connect timeout are not used: the pool's are.
    pub fn with_pool(config: ClientConfig, pool: &crate::transport::HttpPool) -> Result<Client> {
        Ok(Client {
            transport: Transport::with_pool(config, pool)?,
        })
    }

    /// Builds a client from the `SAFE_*` environment variables.
    pub fn from_env() -> Result<Client> {
        Client::new(ClientConfig::from_env()?)
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        self.transport.config()
    }

    /// Asks `gate` before every later attempt of this client and its clones (see
    /// [`crate::RequestGate`]); a poller opened on a store that has one adds it itself.
    pub fn add_gate(&self, gate: crate::RequestGate) {
        self.transport.add_gate(gate);
    }

    /// Requests sent so far by this client and its clones (every attempt).
    pub fn requests_sent(&self) -> u64 {
        self.transport.requests_sent()
    }

    fn routes(&self) -> &Routes {
        &self.config().routes
    }

    async fn send(
        &self,
        method: Method,
        route: &str,
        params: &[(&str, &str)],
        json: Option<Vec<u8>>,
        idempotent: bool,
    ) -> Result<HttpAnswer> {
        let path = fill(route, params)?;
        self.transport
            .execute(HttpRequest {
                method,
                route: route.to_string(),
                path,
                json,
                idempotent,
            })
            .await
    }

    async fn get(&self, route: &str, params: &[(&str, &str)]) -> Result<HttpAnswer> {
        self.send(Method::GET, route, params, None, true).await
    }

    fn decode_error(
        &self,
        method: &str,
        route: &str,
        answer: &HttpAnswer,
        message: String,
    ) -> Error {
        Error::Decode {
            message: self.config().credentials.token.redact(&message),
            context: Box::new(RequestContext {
                method: method.into(),
                path: route.into(),
                status: Some(answer.status),
                excerpt: Some(excerpt(&self.config().credentials.token, &answer.body)),
                attempts: answer.attempts,
            }),
        }
    }

    /// Decodes one entity: an object, a one-element array, or a bare id number (`{"id": n}`).
    fn entity<T: DeserializeOwned>(
        &self,
        method: &str,
        route: &str,
        answer: &HttpAnswer,
    ) -> Result<T> {
        let value: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            self.decode_error(
                method,
                route,
                answer,
                format!("the answer is not JSON: {e}"),
            )
        })?;
        let value = match value {
            Value::Array(mut a) if a.len() == 1 => a.pop().expect("one element"),
            Value::Number(n) => serde_json::json!({ "id": n }),
            v => v,
        };
        if !value.is_object() {
            return Err(self.decode_error(method, route, answer, "expected an object".into()));
        }
        serde_json::from_value(value).map_err(|e| {
            self.decode_error(
                method,
                route,
                answer,
                format!("does not match the model: {e}"),
            )
        })
    }

    fn list<T: DeserializeOwned>(
        &self,
        route: &str,
        answer: &HttpAnswer,
        keys: &[&str],
    ) -> Result<Vec<T>> {
        decode_list(&answer.body, keys)
            .map(|(v, _)| v)
            .map_err(|m| self.decode_error("GET", route, answer, m))
    }

    fn json_body<T: Serialize>(value: &T) -> Result<Vec<u8>> {
        serde_json::to_vec(value).map_err(|e| Error::Validation {
            field: None,
            message: format!("cannot encode the body: {e}"),
            context: None,
        })
    }

    // ----- items -----

    /// `GET items/seqOrgID/{n}`: the item with sequential org id `n`, or `None` for the
    /// "blank or no response" answer (204, 404, empty, `null`, `[]`, `{}`). A number held by
    /// several items (safe-api.md §4.5) is [`Error::DuplicateNumber`], never one of them
    /// dropped: read such numbers with [`Client::items_by_seq`].
    pub async fn item_by_seq(&self, n: u64) -> Result<Option<Item>> {
        match self.seq_answer(n).await? {
            SeqAnswer::Item(item) => Ok(Some(*item)),
            SeqAnswer::Blank => Ok(None),
            SeqAnswer::Several(items) => Err(Error::DuplicateNumber {
                seq: n,
                count: items.len(),
                ids: items.iter().filter_map(|i| i.id).collect(),
            }),
        }
    }

    /// `GET items/seqOrgID/{n}`: every item holding sequential org id `n`, in ascending `id`
    /// order (items without an `id` last); empty for the "blank or no response" answer.
    pub async fn items_by_seq(&self, n: u64) -> Result<Vec<Item>> {
        Ok(self.seq_answer(n).await?.into_items())
    }

    /// The decoded answer of `GET items/seqOrgID/{n}`.
    pub async fn seq_answer(&self, n: u64) -> Result<SeqAnswer> {
        let route = self.routes().item_by_seq.clone();
        let answer = match self.get(&route, &[("n", &n.to_string())]).await {
            Ok(a) => a,
            Err(Error::NotFound { .. }) => return Ok(SeqAnswer::Blank),
            Err(e) => return Err(e),
        };
        decode_seq_answer(answer.status, &answer.body)
            .map_err(|m| self.decode_error("GET", &route, &answer, m))
    }

    /// `GET items/{id}`.
    pub async fn item(&self, id: i64) -> Result<Item> {
        let route = self.routes().item.clone();
        let answer = self.get(&route, &[("id", &id.to_string())]).await?;
        self.entity("GET", &route, &answer)
    }

    /// The item's custom form data (the "formdata controller", keyed by the item's `id`).
    pub async fn item_form_data(&self, item_id: i64) -> Result<Vec<FormDataEntry>> {
        let route = self.routes().item_form_data.clone();
        let answer = self.get(&route, &[("id", &item_id.to_string())]).await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        self.list(&route, &answer, &["data", "formData", "entities"])
    }

    /// The item's chain of custody.
    pub async fn chain_of_custody(&self, item_id: i64) -> Result<Vec<CustodyEntry>> {
        let route = self.routes().chain_of_custody.clone();
        let answer = self.get(&route, &[("id", &item_id.to_string())]).await?;
        self.list(&route, &answer, &["data", "entities", "coc", "items"])
    }

    /// `POST items/search`: one page of items matching `request`.
    pub async fn search_items(&self, request: &SearchRequest) -> Result<SearchPage<Item>> {
        let route = self.routes().item_search.clone();
        self.search(&route, request).await
    }

    async fn search(&self, route: &str, request: &SearchRequest) -> Result<SearchPage<Item>> {
        let body = Self::json_body(request)?;
        let answer = self
            .send(Method::POST, route, &[], Some(body), true)
            .await?;
        let (entities, mut rest) =
            decode_list::<Item>(&answer.body, &["entities", "items", "data"])
                .map_err(|m| self.decode_error("POST", route, &answer, m))?;
        let count = rest
            .remove("count")
            .or_else(|| rest.remove("totalCount"))
            .and_then(|v| v.as_u64());
        Ok(SearchPage {
            entities,
            count,
            extra: rest,
        })
    }

    /// Items whose sequential org id is greater than `seq`, ascending (one search request).
    pub async fn items_after_seq(&self, seq: u64, page_size: u32) -> Result<SearchPage<Item>> {
        let office = self.config().credentials.office_id;
        self.search_items(&SearchRequest::seq_greater_than(
            seq,
            vec![office],
            page_size,
        ))
        .await
    }

    /// One page (from 1) of items changed after `since`, oldest change first.
    pub async fn updated_items(
        &self,
        since: &SafeDateTime,
        page_number: u32,
        page_size: u32,
    ) -> Result<SearchPage<Item>> {
        let cfg = self.config();
        let request = SearchRequest::updated_since(
            &cfg.updated_items_field,
            since,
            vec![cfg.credentials.office_id],
            page_size,
            page_number,
        );
        let route = cfg.routes.updated_items.clone();
        self.search(&route, &request).await
    }

    // ----- cases -----

    /// `GET cases/{id}`.
    pub async fn case(&self, id: i64) -> Result<Case> {
        let route = self.routes().case.clone();
        let answer = self.get(&route, &[("id", &id.to_string())]).await?;
        self.entity("GET", &route, &answer)
    }

    /// `GET cases/getByNumber?value={number}`.
    pub async fn case_by_number(&self, number: &str) -> Result<Case> {
        if number.trim().is_empty() {
            return Err(Error::validation("caseNumber", "a case number is required"));
        }
        let route = self.routes().case_by_number.clone();
        let answer = self.get(&route, &[("number", number)]).await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) || answer.body == b"null" {
            return Err(Error::NotFound {
                context: Box::new(RequestContext {
                    method: "GET".into(),
                    path: route,
                    status: Some(answer.status),
                    excerpt: None,
                    attempts: answer.attempts,
                }),
            });
        }
        self.entity("GET", &route, &answer)
    }

    /// The people of a case.
    pub async fn case_people(&self, case_id: i64) -> Result<Vec<Person>> {
        let route = self.routes().case_people.clone();
        let answer = self.get(&route, &[("id", &case_id.to_string())]).await?;
        self.list(&route, &answer, &["people", "entities", "data"])
    }

    /// `POST cases`: validates the required fields first (no request when one is missing).
    /// Never retried once the request may have reached the server.
    pub async fn create_case(&self, case: &Case) -> Result<Case> {
        let mut case = case.clone();
        case.prepare_for_write()?;
        let route = self.routes().cases.clone();
        let answer = self
            .send(
                Method::POST,
                &route,
                &[],
                Some(Self::json_body(&case)?),
                false,
            )
            .await?;
        self.entity("POST", &route, &answer)
    }

    /// `PUT cases/{id}` with the whole case (`formData: null` is sent as `[]`).
    pub async fn update_case(&self, id: i64, case: &Case) -> Result<Case> {
        let mut case = case.clone();
        case.prepare_for_write()?;
        case.id.get_or_insert(id);
        let route = self.routes().case.clone();
        let answer = self
            .send(
                Method::PUT,
                &route,
                &[("id", &id.to_string())],
                Some(Self::json_body(&case)?),
                true,
            )
            .await?;
        self.entity_or_echo("PUT", &route, &answer, case)
    }

    /// An update answer may be empty: then the sent model is the result.
    fn entity_or_echo<T: DeserializeOwned>(
        &self,
        method: &str,
        route: &str,
        answer: &HttpAnswer,
        sent: T,
    ) -> Result<T> {
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(sent);
        }
        self.entity(method, route, answer)
    }

    // ----- people -----

    /// `GET people/{id}`.
    pub async fn person(&self, id: i64) -> Result<Person> {
        let route = self.routes().person.clone();
        let answer = self.get(&route, &[("id", &id.to_string())]).await?;
        self.entity("GET", &route, &answer)
    }

    /// `POST people` with the `{person, address}` body; validates first. Never retried once
    /// the request may have reached the server.
    pub async fn create_person(&self, new_person: &NewPerson) -> Result<Person> {
        let mut body = new_person.clone();
        body.prepare_for_write()?;
        let route = self.routes().people.clone();
        let answer = self
            .send(
                Method::POST,
                &route,
                &[],
                Some(Self::json_body(&body)?),
                false,
            )
            .await?;
        self.entity("POST", &route, &answer)
    }

    /// `PUT people/{id}` with the whole person.
    pub async fn update_person(&self, id: i64, person: &Person) -> Result<Person> {
        let mut person = person.clone();
        person.prepare_for_write()?;
        person.id.get_or_insert(id);
        let route = self.routes().person.clone();
        let answer = self
            .send(
                Method::PUT,
                &route,
                &[("id", &id.to_string())],
                Some(Self::json_body(&person)?),
                true,
            )
            .await?;
        self.entity_or_echo("PUT", &route, &answer, person)
    }

    /// `GET people/typeahead?search=…` (at most 10 hits).
    pub async fn people_typeahead(&self, search: &str) -> Result<Vec<TypeaheadEntry>> {
        let route = self.routes().people_typeahead.clone();
        let answer = self.get(&route, &[("search", search)]).await?;
        self.list(&route, &answer, &["people"])
    }

    /// `GET people/isemailalreadyinuse/{email}/`: true when a person already uses `email`.
    pub async fn email_in_use(&self, email: &str) -> Result<bool> {
        if email.trim().is_empty() {
            return Err(Error::validation("email", "an e-mail address is required"));
        }
        let route = self.routes().email_in_use.clone();
        let answer = self.get(&route, &[("email", email.trim())]).await?;
        let value: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            self.decode_error(
                "GET",
                &route,
                &answer,
                format!("the answer is not JSON: {e}"),
            )
        })?;
        let found = match &value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse::<bool>().ok(),
            Value::Object(m) => m.values().find_map(Value::as_bool),
            _ => None,
        };
        found.ok_or_else(|| self.decode_error("GET", &route, &answer, "expected a boolean".into()))
    }

    // ----- users -----

    /// `GET users/{id}` (the user-record id, not the person id).
    pub async fn user(&self, id: i64) -> Result<User> {
        let route = self.routes().user.clone();
        let answer = self.get(&route, &[("id", &id.to_string())]).await?;
        self.entity("GET", &route, &answer)
    }

    /// `POST users/`; validates first. Never retried once the request may have reached the
    /// server.
    pub async fn create_user(&self, user: &User) -> Result<User> {
        let mut user = user.clone();
        user.prepare_for_write()?;
        let route = self.routes().users.clone();
        let answer = self
            .send(
                Method::POST,
                &route,
                &[],
                Some(Self::json_body(&user)?),
                false,
            )
            .await?;
        self.entity("POST", &route, &answer)
    }

    /// `PUT users/{id}` with the whole user.
    pub async fn update_user(&self, id: i64, user: &User) -> Result<User> {
        let mut user = user.clone();
        user.prepare_for_write()?;
        user.id.get_or_insert(id);
        let route = self.routes().user.clone();
        let answer = self
            .send(
                Method::PUT,
                &route,
                &[("id", &id.to_string())],
                Some(Self::json_body(&user)?),
                true,
            )
            .await?;
        self.entity_or_echo("PUT", &route, &answer, user)
    }

    /// `GET users/typeahead?search=…`; accepts the `{users, usersCount}` and bare-array forms.
    pub async fn users_typeahead(&self, search: &str) -> Result<Vec<TypeaheadEntry>> {
        let route = self.routes().users_typeahead.clone();
        let answer = self.get(&route, &[("search", search)]).await?;
        self.list(&route, &answer, &["users"])
    }

    // ----- lookups -----

    /// One lookup list.
    pub async fn lookup(&self, which: Lookup) -> Result<Vec<LookupEntry>> {
        let r = self.routes();
        let route = match which {
            Lookup::Races => r.races.clone(),
            Lookup::Genders => r.genders.clone(),
            Lookup::AddressTypes => r.address_types.clone(),
            Lookup::States => r.states.clone(),
            Lookup::PersonTypes => r.person_types.clone(),
            Lookup::OffenseTypes => r.offense_types.clone(),
            Lookup::Categories => r.categories.clone(),
        };
        let answer = self.get(&route, &[]).await?;
        self.list(&route, &answer, &["entities", "data"])
    }

    /// `GET forms?formType=…` (`All`, `Cases`, `Items` or `People`).
    pub async fn forms(&self, form_type: &str) -> Result<Vec<Form>> {
        if !["All", "Cases", "Items", "People"].contains(&form_type) {
            return Err(Error::validation(
                "formType",
                "must be one of All, Cases, Items, People",
            ));
        }
        let route = self.routes().forms.clone();
        let answer = self.get(&route, &[("form_type", form_type)]).await?;
        self.list(&route, &answer, &["forms", "entities", "data"])
    }
}
