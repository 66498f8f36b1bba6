//! `libsafe_tracker`: the C ABI of the safe-tracker SDK. See `include/safe_tracker.h` for the
//! conventions (statuses, out-parameters written only on success, thread-local last error,
//! opaque handles with NULL-tolerant `_free`, library strings freed with `safe_string_free`,
//! panics caught at every entry point).
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use safe_tracker::host::{self, HostPoller};
use safe_tracker::models::Item;
use safe_tracker::{Client, Error, RequestContext};
use serde_json::{Value, json};

mod pull;
mod status;
pub use pull::*;
pub use status::safe_status;

struct LastError {
    code: safe_status,
    message: CString,
    status: i32,
    retry_after: f64,
    seq: u64,
    ids: Vec<i64>,
    path: Option<CString>,
    field: Option<CString>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// An error of this ABI: a status, a message and the details of the core error.
struct Failure {
    status: safe_status,
    message: String,
    http_status: i32,
    retry_after: f64,
    /// The number of a SAFE_DUPLICATE_NUMBER (0 otherwise).
    seq: u64,
    /// The item ids of a SAFE_DUPLICATE_NUMBER (empty otherwise).
    ids: Vec<i64>,
    /// The templated path of the request that failed (`items/seqOrgID/{n}`), when there was one.
    path: Option<String>,
    /// The field at fault of a SAFE_VALIDATION, when known.
    field: Option<String>,
}

impl Failure {
    fn new(status: safe_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            http_status: 0,
            retry_after: -1.0,
            seq: 0,
            ids: Vec::new(),
            path: None,
            field: None,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let info = host::error_info(&e);
        Failure {
            status: safe_status::from_code(e.code()),
            message: info.message,
            http_status: info.status.map(i32::from).unwrap_or(0),
            retry_after: info.retry_after.unwrap_or(-1.0),
            seq: info.seq.unwrap_or(0),
            ids: info.ids.unwrap_or_default(),
            path: info.path,
            field: info.field,
        }
    }
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(safe_status::SAFE_INVALID_ARGUMENT, message)
}

fn set_last_error(f: Failure) -> safe_status {
    let message = CString::new(f.message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| {
        *l.borrow_mut() = Some(LastError {
            code: f.status,
            message,
            status: f.http_status,
            retry_after: f.retry_after,
            seq: f.seq,
            ids: f.ids,
            path: f.path.and_then(|p| CString::new(p).ok()),
            field: f.field.and_then(|p| CString::new(p).ok()),
        })
    });
    f.status
}

/// Runs `f`, turning failures into the last error and panics into `SAFE_PANIC`.
fn guard(f: impl FnOnce() -> Result<(), Failure>) -> safe_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => safe_status::SAFE_OK,
        Ok(Err(failure)) => set_last_error(failure),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(Failure::new(
                safe_status::SAFE_PANIC,
                format!("internal error (panic): {what}"),
            ))
        }
    }
}

unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(invalid(format!("`{name}` is NULL")));
    }
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(format!("`{name}` is not valid UTF-8")))
}

unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        Ok(None)
    } else {
        unsafe { str_arg(ptr, name) }.map(Some)
    }
}

unsafe fn ref_arg<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    unsafe { ptr.as_ref() }.ok_or_else(|| invalid(format!("`{name}` is NULL")))
}

fn out_check<T>(out: *mut T, name: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(invalid(format!("`{name}` (out-parameter) is NULL")));
    }
    Ok(())
}

fn to_c_string(s: String) -> Result<*mut c_char, Failure> {
    CString::new(s)
        .map(CString::into_raw)
        .map_err(|_| invalid("the answer holds a NUL byte"))
}

/// The library's runtime. Every call blocks its caller, so the work runs on the calling
/// thread (a current-thread runtime): the request, the connection task and the answer never
/// change threads, which keeps a one-at-a-time poller's latency at the server's. Several
/// threads may call at once; one of them drives the shared connections while the others wait.
/// No host code runs inside it (record callbacks run between two `block_on`s, checkpoint saves
/// on its blocking pool), so a host callback that blocks never holds the others up.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the safe-tracker runtime starts")
    })
}

fn block_on<T>(
    fut: impl std::future::Future<Output = safe_tracker::Result<T>>,
) -> Result<T, Failure> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(invalid(
            "safe_tracker was called from inside its checkpoint save callback",
        ));
    }
    runtime().block_on(fut).map_err(Failure::from)
}

/// [`block_on`], given up when `cancel` is triggered first (SAFE_CANCELLED): the call's
/// future is dropped, so a request in flight is abandoned.
fn block_on_cancellable<T>(
    fut: impl std::future::Future<Output = safe_tracker::Result<T>>,
    cancel: Option<&safe_cancel>,
) -> Result<T, Failure> {
    let Some(token) = cancel.map(safe_cancel::token) else {
        return block_on(fut);
    };
    block_on(async move {
        tokio::select! {
            biased;
            _ = token.cancelled() => Err(Error::Cancelled),
            r = fut => r,
        }
    })
}

// ----- strings and errors -----

/// Frees a string returned by this library. Accepts NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_string_free(s: *mut c_char) {
    let _ = catch_unwind(|| {
        if !s.is_null() {
            drop(unsafe { CString::from_raw(s) });
        }
    });
}

/// The status of the last failure on this thread (SAFE_OK when none).
#[unsafe(no_mangle)]
pub extern "C" fn safe_last_error_code() -> safe_status {
    LAST_ERROR.with(|l| {
        l.borrow()
            .as_ref()
            .map(|e| e.code)
            .unwrap_or(safe_status::SAFE_OK)
    })
}

/// The message of the last failure on this thread, or NULL. Borrowed: valid until the next
/// call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn safe_last_error_message() -> *const c_char {
    LAST_ERROR.with(|l| {
        l.borrow()
            .as_ref()
            .map(|e| e.message.as_ptr())
            .unwrap_or(std::ptr::null())
    })
}

/// The templated path of the request behind the last failure on this thread (e.g.
/// `items/seqOrgID/{n}`: never the number or id asked for), or NULL when the failure had no
/// request. Borrowed: valid until the next call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn safe_last_error_path() -> *const c_char {
    LAST_ERROR.with(|l| {
        l.borrow()
            .as_ref()
            .and_then(|e| e.path.as_ref())
            .map(|p| p.as_ptr())
            .unwrap_or(std::ptr::null())
    })
}

/// The field at fault of the last failure on this thread when it was SAFE_VALIDATION (its
/// wire name, e.g. `caseNumber`), or NULL when unknown or another failure. Borrowed: valid
/// until the next call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn safe_last_error_field() -> *const c_char {
    LAST_ERROR.with(|l| {
        l.borrow()
            .as_ref()
            .and_then(|e| e.field.as_ref())
            .map(|p| p.as_ptr())
            .unwrap_or(std::ptr::null())
    })
}

/// The HTTP status of the last failure on this thread (0 when there was no answer).
#[unsafe(no_mangle)]
pub extern "C" fn safe_last_error_http_status() -> i32 {
    LAST_ERROR.with(|l| l.borrow().as_ref().map(|e| e.status).unwrap_or(0))
}

/// Seconds the server asked to wait, for SAFE_RATE_LIMITED (negative when unknown).
#[unsafe(no_mangle)]
pub extern "C" fn safe_last_error_retry_after() -> f64 {
    LAST_ERROR.with(|l| l.borrow().as_ref().map(|e| e.retry_after).unwrap_or(-1.0))
}

/// The sequential org id of the last failure on this thread when it was
/// SAFE_DUPLICATE_NUMBER (0 otherwise).
#[unsafe(no_mangle)]
pub extern "C" fn safe_last_error_seq() -> u64 {
    LAST_ERROR.with(|l| l.borrow().as_ref().map(|e| e.seq).unwrap_or(0))
}

/// The item ids of the last failure on this thread when it was SAFE_DUPLICATE_NUMBER
/// (ascending; an item without an id is not listed). Writes at most `capacity` ids to `out`
/// and returns how many there are in all (0 for any other failure), so
/// `safe_last_error_ids(NULL, 0)` asks for the count.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_last_error_ids(out: *mut i64, capacity: usize) -> usize {
    LAST_ERROR.with(|l| {
        let last = l.borrow();
        let ids: &[i64] = last.as_ref().map(|e| e.ids.as_slice()).unwrap_or(&[]);
        if !out.is_null() {
            for (i, id) in ids.iter().take(capacity).enumerate() {
                unsafe { *out.add(i) = *id };
            }
        }
        ids.len()
    })
}

/// Forgets the last failure on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn safe_clear_last_error() {
    LAST_ERROR.with(|l| *l.borrow_mut() = None);
}

/// The library version, e.g. "0.1.0" (static string).
#[unsafe(no_mangle)]
pub extern "C" fn safe_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

// ----- client -----

/// An opaque SAFE client.
pub struct safe_client {
    client: Client,
}

/// Client settings. Zero or NULL fields keep the core's defaults.
#[repr(C)]
pub struct safe_client_config {
    /// API root (NULL: https://securelb.trackerproducts.com/api/).
    pub base_url: *const c_char,
    /// Static token (required, unless `options_json` has `"from_env":true` and SAFE_TOKEN
    /// gives it).
    pub token: *const c_char,
    /// Organisation id (required; 0 with `"from_env":true`: SAFE_ORGANIZATION_ID's).
    pub organization_id: u64,
    /// Office id (required; 0 with `"from_env":true`: SAFE_OFFICE_ID's).
    pub office_id: u64,
    /// Requests per second: negative keeps the default (2), 0 disables pacing (loopback only).
    pub requests_per_second: f64,
    /// Attempts per call (0: default 4).
    pub max_attempts: u32,
    /// Per-attempt timeout in milliseconds (0: default 30000).
    pub attempt_timeout_ms: u64,
    /// PEM file of extra CA certificates (NULL: none).
    pub ca_file: *const c_char,
    /// Any other setting as a JSON object of the host keys (NULL: none), e.g.
    /// {"routes":{"item_form_data":"formdata/{id}"},"proxy":"http://proxy:3128"};
    /// {"from_env":true} starts from the SAFE_* environment variables (as
    /// safe_client_from_env()) and applies the other fields over them.
    pub options_json: *const c_char,
}

unsafe fn config_json(c: &safe_client_config) -> Result<String, Failure> {
    let mut map = match unsafe { opt_str_arg(c.options_json, "options_json") }? {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => return Err(invalid("`options_json` is not a JSON object")),
        },
        None => serde_json::Map::new(),
    };
    // A wrapper (C#) names its own language for the user agent.
    map.entry("host_language").or_insert(json!("c"));
    if let Some(v) = unsafe { opt_str_arg(c.base_url, "base_url") }? {
        map.insert("base_url".into(), json!(v));
    }
    // With `"from_env":true` in `options_json`, the SAFE_* variables fill what is NULL or 0
    // here; otherwise the token is required.
    let from_env = map.get("from_env").and_then(Value::as_bool) == Some(true);
    match unsafe { opt_str_arg(c.token, "token") }? {
        Some(token) => {
            map.insert("token".into(), json!(token));
        }
        None if from_env => {}
        None => return Err(invalid("`token` is NULL")),
    }
    // 0 is no id: the core then names the missing one (or takes SAFE_*'s with from_env).
    if c.organization_id != 0 {
        map.insert("organization_id".into(), json!(c.organization_id));
    }
    if c.office_id != 0 {
        map.insert("office_id".into(), json!(c.office_id));
    }
    // NaN and infinity give SAFE_INVALID_CONFIG (JSON has neither: they would become `null`,
    // the default, without a word); the core refuses the other rates that are not
    // meaningful, such as 1e-300 (below one request a day).
    if c.requests_per_second.is_nan() || c.requests_per_second.is_infinite() {
        return Err(Failure::from(Error::InvalidConfig(format!(
            "requests_per_second must be a finite number, not {}",
            c.requests_per_second
        ))));
    }
    if c.requests_per_second >= 0.0 {
        map.insert("requests_per_second".into(), json!(c.requests_per_second));
    }
    if c.max_attempts > 0 {
        map.insert("max_attempts".into(), json!(c.max_attempts));
    }
    if c.attempt_timeout_ms > 0 {
        map.insert("attempt_timeout_ms".into(), json!(c.attempt_timeout_ms));
    }
    if let Some(v) = unsafe { opt_str_arg(c.ca_file, "ca_file") }? {
        map.insert("ca_file".into(), json!(v));
    }
    Ok(Value::Object(map).to_string())
}

fn new_client(json_text: &str, out: *mut *mut safe_client) -> Result<(), Failure> {
    let client = host::client_from_json(json_text).map_err(Failure::from)?;
    unsafe { *out = Box::into_raw(Box::new(safe_client { client })) };
    Ok(())
}

/// Creates a client from `config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_client_new(
    config: *const safe_client_config,
    out: *mut *mut safe_client,
) -> safe_status {
    guard(|| {
        let config = unsafe { ref_arg(config, "config") }?;
        out_check(out, "out")?;
        let text = unsafe { config_json(config) }?;
        new_client(&text, out)
    })
}

/// Creates a client from SAFE_BASE_URL, SAFE_TOKEN, SAFE_ORGANIZATION_ID, SAFE_OFFICE_ID,
/// SAFE_CA_FILE and SAFE_REQUESTS_PER_SECOND.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_client_from_env(out: *mut *mut safe_client) -> safe_status {
    guard(|| {
        out_check(out, "out")?;
        new_client(r#"{"from_env":true,"host_language":"c"}"#, out)
    })
}

/// Frees a client. Accepts NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_client_free(client: *mut safe_client) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !client.is_null() {
            drop(unsafe { Box::from_raw(client) });
        }
    }));
}

fn call_json(client: &safe_client, method: &str, args: Value) -> Result<Value, Failure> {
    call_json_cancellable(client, method, args, None)
}

fn call_json_cancellable(
    client: &safe_client,
    method: &str,
    args: Value,
    cancel: Option<&safe_cancel>,
) -> Result<Value, Failure> {
    let c = client.client.clone();
    let method = method.to_string();
    block_on_cancellable(async move { host::call(&c, &method, &args).await }, cancel)
}

fn write_json(v: Value, out: *mut *mut c_char) -> Result<(), Failure> {
    let s = to_c_string(v.to_string())?;
    unsafe { *out = s };
    Ok(())
}

/// Calls any endpoint by name (see the README's method table) with JSON arguments; writes the
/// JSON answer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_client_call(
    client: *const safe_client,
    method: *const c_char,
    args_json: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        let method = unsafe { str_arg(method, "method") }?;
        let args = match unsafe { opt_str_arg(args_json, "args_json") }? {
            Some(t) => serde_json::from_str(t).map_err(|_| invalid("`args_json` is not JSON"))?,
            None => json!({}),
        };
        out_check(out_json, "out_json")?;
        write_json(call_json(client, method, args)?, out_json)
    })
}

/// safe_client_call(), given up when `cancel` (from safe_cancel_new(); NULL: never) is
/// triggered from another thread first: the call then fails with SAFE_CANCELLED and a request
/// in flight is abandoned (a create may still have reached SAFE). A handle already triggered
/// fails the call before any request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_client_call_cancellable(
    client: *const safe_client,
    method: *const c_char,
    args_json: *const c_char,
    cancel: *const safe_cancel,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        let method = unsafe { str_arg(method, "method") }?;
        let args = match unsafe { opt_str_arg(args_json, "args_json") }? {
            Some(t) => serde_json::from_str(t).map_err(|_| invalid("`args_json` is not JSON"))?,
            None => json!({}),
        };
        let cancel = unsafe { cancel.as_ref() };
        out_check(out_json, "out_json")?;
        write_json(
            call_json_cancellable(client, method, args, cancel)?,
            out_json,
        )
    })
}

// ----- items -----

/// An opaque item with accessors for its key fields.
pub struct safe_item {
    json: CString,
    description: Option<CString>,
    primary_case_number: Option<CString>,
    item: Item,
}

/// The request an item answer came from, named in a decode error: `GET` and the client's
/// templated path (never the number or id asked for).
struct ItemRoute(&'static str, String);

impl ItemRoute {
    /// `GET items/seqOrgID/{n}` (item_by_seq and items_by_seq).
    fn by_seq(client: &safe_client) -> ItemRoute {
        ItemRoute("GET", client.client.config().routes.item_by_seq.clone())
    }
    /// `GET items/{id}`.
    fn by_id(client: &safe_client) -> ItemRoute {
        ItemRoute("GET", client.client.config().routes.item.clone())
    }
    /// A decode error of this request's answer.
    fn decode_error(&self, message: String) -> Failure {
        Failure::from(Error::Decode {
            message,
            context: Box::new(RequestContext {
                method: self.0.into(),
                path: self.1.clone(),
                ..RequestContext::default()
            }),
        })
    }
}

fn decode_item(v: Value, route: &ItemRoute) -> Result<safe_item, Failure> {
    let item: Item = serde_json::from_value(v)
        .map_err(|e| route.decode_error(format!("the item does not match the model: {e}")))?;
    item_value(item)
}

fn make_item(v: Value, route: &ItemRoute) -> Result<*mut safe_item, Failure> {
    Ok(Box::into_raw(Box::new(decode_item(v, route)?)))
}

/// A `safe_item` for `item`, its JSON written from the typed item.
fn item_value(item: Item) -> Result<safe_item, Failure> {
    let cs = |s: &Option<String>| {
        s.as_ref()
            .and_then(|s| CString::new(s.replace('\0', " ")).ok())
    };
    let json = serde_json::to_string(&item)
        .map_err(|e| invalid(format!("cannot encode the item: {e}")))?;
    Ok(safe_item {
        json: CString::new(json).map_err(|_| invalid("NUL in item"))?,
        description: cs(&item.description),
        primary_case_number: cs(&item.primary_case_number),
        item,
    })
}

/// A `safe_item` handle for `item`.
fn item_handle(item: Item) -> Result<*mut safe_item, Failure> {
    Ok(Box::into_raw(Box::new(item_value(item)?)))
}

/// The item with sequential org id `seq`. On success `*out` is the item, or NULL for the
/// "blank" answer (no item holds the number yet). A number held by several items (a
/// duplicated sequential org id) fails with SAFE_DUPLICATE_NUMBER, whose message names
/// safe_items_by_seq and the ids (also in safe_last_error_seq() and safe_last_error_ids()):
/// read such a number with safe_items_by_seq(), which never drops one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_by_seq(
    client: *const safe_client,
    seq: u64,
    out: *mut *mut safe_item,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        out_check(out, "out")?;
        let v = call_json(client, "item_by_seq", json!({ "seq": seq }))?;
        let item = if v.is_null() {
            std::ptr::null_mut()
        } else {
            make_item(v, &ItemRoute::by_seq(client))?
        };
        unsafe { *out = item };
        Ok(())
    })
}

/// An opaque list of items (see safe_items_by_seq()); free it with safe_item_list_free().
pub struct safe_item_list {
    items: Vec<safe_item>,
}

/// Every item holding sequential org id `seq`, in ascending item id order (items without an
/// id last). On success `*out` is a list, empty (length 0, not NULL) for the "blank" answer
/// (no item holds the number yet). Read it with safe_item_list_len() and
/// safe_item_list_get(); free it with safe_item_list_free().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_items_by_seq(
    client: *const safe_client,
    seq: u64,
    out: *mut *mut safe_item_list,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        out_check(out, "out")?;
        let v = call_json(client, "items_by_seq", json!({ "seq": seq }))?;
        let route = ItemRoute::by_seq(client);
        let items = items_of(v, &route)?;
        unsafe { *out = Box::into_raw(Box::new(safe_item_list { items })) };
        Ok(())
    })
}

/// The items of an items_by_seq answer (a JSON list of items).
fn items_of(v: Value, route: &ItemRoute) -> Result<Vec<safe_item>, Failure> {
    let Value::Array(values) = v else {
        return Err(route.decode_error("items_by_seq did not answer a list".into()));
    };
    values.into_iter().map(|v| decode_item(v, route)).collect()
}

/// How many items `list` holds (0 when `list` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_list_len(list: *const safe_item_list) -> usize {
    unsafe { list.as_ref() }.map(|l| l.items.len()).unwrap_or(0)
}

/// Item `index` (from 0) of `list`, borrowed from the list: valid until
/// safe_item_list_free(list), usable with every safe_item_* accessor, never passed to
/// safe_item_free(). NULL when `list` is NULL or `index` is out of range.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_list_get(
    list: *const safe_item_list,
    index: usize,
) -> *const safe_item {
    unsafe { list.as_ref() }
        .and_then(|l| l.items.get(index))
        .map(|i| i as *const safe_item)
        .unwrap_or(std::ptr::null())
}

/// Frees a list and every item it holds. Accepts NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_list_free(list: *mut safe_item_list) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !list.is_null() {
            drop(unsafe { Box::from_raw(list) });
        }
    }));
}

/// The item with database id `id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_get(
    client: *const safe_client,
    id: i64,
    out: *mut *mut safe_item,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        out_check(out, "out")?;
        let v = call_json(client, "item", json!({ "id": id }))?;
        let item = make_item(v, &ItemRoute::by_id(client))?;
        unsafe { *out = item };
        Ok(())
    })
}

/// Frees an item. Accepts NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_free(item: *mut safe_item) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !item.is_null() {
            drop(unsafe { Box::from_raw(item) });
        }
    }));
}

/// The item as JSON (borrowed from the item).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_json(item: *const safe_item) -> *const c_char {
    unsafe { item.as_ref() }
        .map(|i| i.json.as_ptr())
        .unwrap_or(std::ptr::null())
}

/// The sequential org id (0 when absent or `item` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_sequential_org_id(item: *const safe_item) -> i64 {
    unsafe { item.as_ref() }
        .and_then(|i| i.item.sequential_org_id)
        .unwrap_or(0)
}

/// The database id (0 when absent or `item` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_id(item: *const safe_item) -> i64 {
    unsafe { item.as_ref() }
        .and_then(|i| i.item.id)
        .unwrap_or(0)
}

/// The primary case id (0 when absent or `item` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_primary_case_id(item: *const safe_item) -> i64 {
    unsafe { item.as_ref() }
        .and_then(|i| i.item.primary_case_id)
        .unwrap_or(0)
}

/// The description (borrowed; NULL when absent).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_description(item: *const safe_item) -> *const c_char {
    unsafe { item.as_ref() }
        .and_then(|i| i.description.as_ref())
        .map(|c| c.as_ptr())
        .unwrap_or(std::ptr::null())
}

/// The primary case number (borrowed; NULL when absent).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_primary_case_number(item: *const safe_item) -> *const c_char {
    unsafe { item.as_ref() }
        .and_then(|i| i.primary_case_number.as_ref())
        .map(|c| c.as_ptr())
        .unwrap_or(std::ptr::null())
}

fn by_id_impl(
    client: *const safe_client,
    id: i64,
    out_json: *mut *mut c_char,
    method: &str,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        out_check(out_json, "out_json")?;
        write_json(call_json(client, method, json!({ "id": id }))?, out_json)
    })
}

fn by_text_impl(
    client: *const safe_client,
    text: *const c_char,
    out_json: *mut *mut c_char,
    method: &str,
    arg: &str,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        let text = unsafe { str_arg(text, arg) }?;
        out_check(out_json, "out_json")?;
        write_json(call_json(client, method, json!({ arg: text }))?, out_json)
    })
}

fn model_impl(
    client: *const safe_client,
    id: Option<i64>,
    model_json: *const c_char,
    out_json: *mut *mut c_char,
    method: &str,
    arg: &str,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        let text = unsafe { str_arg(model_json, "model_json") }?;
        let model: Value =
            serde_json::from_str(text).map_err(|_| invalid("`model_json` is not JSON"))?;
        out_check(out_json, "out_json")?;
        let mut args = json!({ arg: model });
        if let Some(id) = id {
            args["id"] = json!(id);
        }
        write_json(call_json(client, method, args)?, out_json)
    })
}

/// The item's custom form data (JSON array; `data` is the raw string).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_item_form_data(
    client: *const safe_client,
    id: i64,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_id_impl(client, id, out_json, "item_form_data")
}

/// The item's chain of custody (JSON array).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_chain_of_custody(
    client: *const safe_client,
    id: i64,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_id_impl(client, id, out_json, "chain_of_custody")
}

/// A case (JSON).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_case_get(
    client: *const safe_client,
    id: i64,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_id_impl(client, id, out_json, "case")
}

/// The people of a case (JSON array).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_case_people(
    client: *const safe_client,
    id: i64,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_id_impl(client, id, out_json, "case_people")
}

/// A person (JSON).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_person_get(
    client: *const safe_client,
    id: i64,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_id_impl(client, id, out_json, "person")
}

/// A user (JSON).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_user_get(
    client: *const safe_client,
    id: i64,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_id_impl(client, id, out_json, "user")
}

/// A case by its number (JSON).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_case_by_number(
    client: *const safe_client,
    number: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_text_impl(client, number, out_json, "case_by_number", "number")
}

/// People matching a text (JSON array of {id, text}).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_people_typeahead(
    client: *const safe_client,
    search: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_text_impl(client, search, out_json, "people_typeahead", "search")
}

/// Users matching a text (JSON array of {id, text}).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_users_typeahead(
    client: *const safe_client,
    search: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_text_impl(client, search, out_json, "users_typeahead", "search")
}

/// A lookup list: races, genders, address_types, states, person_types, offense_types, categories.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_lookup(
    client: *const safe_client,
    name: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_text_impl(client, name, out_json, "lookup", "name")
}

/// Form definitions: All, Cases, Items or People.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_forms(
    client: *const safe_client,
    form_type: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    by_text_impl(client, form_type, out_json, "forms", "form_type")
}

/// Creates a case from JSON (validated first; never retried once it may have reached SAFE).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_case_create(
    client: *const safe_client,
    model_json: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    model_impl(client, None, model_json, out_json, "create_case", "case")
}

/// Creates a person from `{"person":{...},"address":{...}}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_person_create(
    client: *const safe_client,
    model_json: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    model_impl(
        client,
        None,
        model_json,
        out_json,
        "create_person",
        "person",
    )
}

/// Creates a user from JSON.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_user_create(
    client: *const safe_client,
    model_json: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    model_impl(client, None, model_json, out_json, "create_user", "user")
}

/// Replaces a case with the JSON document.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_case_update(
    client: *const safe_client,
    id: i64,
    model_json: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    model_impl(
        client,
        Some(id),
        model_json,
        out_json,
        "update_case",
        "case",
    )
}

/// Replaces a person with the JSON document.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_person_update(
    client: *const safe_client,
    id: i64,
    model_json: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    model_impl(
        client,
        Some(id),
        model_json,
        out_json,
        "update_person",
        "person",
    )
}

/// Replaces a user with the JSON document.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_user_update(
    client: *const safe_client,
    id: i64,
    model_json: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    model_impl(
        client,
        Some(id),
        model_json,
        out_json,
        "update_user",
        "user",
    )
}

/// Items whose sequential org id is greater than `seq` (JSON search page).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_items_after_seq(
    client: *const safe_client,
    seq: u64,
    page_size: u32,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        out_check(out_json, "out_json")?;
        let size = if page_size == 0 { 100 } else { page_size };
        write_json(
            call_json(
                client,
                "items_after_seq",
                json!({ "seq": seq, "page_size": size }),
            )?,
            out_json,
        )
    })
}

/// One page (from 1) of items changed after `since` (ISO-8601), as a JSON search page.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_updated_items(
    client: *const safe_client,
    since: *const c_char,
    page: u32,
    page_size: u32,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        let since = unsafe { str_arg(since, "since") }?;
        out_check(out_json, "out_json")?;
        let args = json!({ "since": since, "page": page.max(1), "page_size": if page_size == 0 { 100 } else { page_size } });
        write_json(call_json(client, "updated_items", args)?, out_json)
    })
}

/// Whether a person already uses `email`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_email_in_use(
    client: *const safe_client,
    email: *const c_char,
    out: *mut bool,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        let email = unsafe { str_arg(email, "email") }?;
        out_check(out, "out")?;
        let v = call_json(client, "email_in_use", json!({ "email": email }))?;
        unsafe { *out = v.as_bool().unwrap_or(false) };
        Ok(())
    })
}

// ----- poller -----

/// An opaque poller (new items, or updated items).
pub struct safe_poller {
    poller: Arc<HostPoller>,
}

/// Cancels from any thread: a poller (safe_poller_cancel_handle()), or the calls it is passed
/// to (safe_cancel_new()).
pub struct safe_cancel {
    target: CancelTarget,
}

enum CancelTarget {
    /// Stops the poller between requests, for good.
    Poller(Arc<HostPoller>),
    /// Gives up the calls this handle is passed to.
    Calls(tokio_util::sync::CancellationToken),
}

impl safe_cancel {
    /// The token a cancellable call waits on (a poller's own for a poller's handle).
    fn token(&self) -> tokio_util::sync::CancellationToken {
        match &self.target {
            CancelTarget::Poller(p) => p.cancellation_token(),
            CancelTarget::Calls(t) => t.clone(),
        }
    }
}

/// Called for each record: `item` (borrowed for the call) and the whole record as JSON
/// (`{"key","organization_id","sequential_org_id","item","form_data",...,"warnings"}`).
/// Return 0 to acknowledge it and continue; any other value stops the sweep with
/// SAFE_CONSUMER and leaves the record unacknowledged.
///
/// Delivery is at least once: store records by upserting on their key, never by inserting.
/// The key is the record's `"key"`: `{"organization_id":O,"item_id":I}` for an item with an
/// id (I is safe_item_id(item)), or `{"organization_id":O,"sequential_org_id":N}` with a
/// warning on the record for an item without one (then safe_item_id(item) is 0). A
/// sequential org id is not an identity: several records may share one (a number held by
/// several items arrives as one record per item, in ascending id order) and an item may
/// come back later under another number (renumbered), which must update the row stored for
/// its key. An item renumbered below the cursor reaches the host only through the "updated"
/// stream (whose records carry the same item `"key"`) or a hole re-probe.
pub type safe_record_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        item: *const safe_item,
        record_json: *const c_char,
    ) -> i32,
>;

/// Loads the saved checkpoint for `key`: hand the saved text to safe_state_sink_set(sink, …)
/// (which copies it: free your buffer with your own allocator afterwards), or do not call it
/// when there is none, and return 0; non-zero fails with SAFE_CHECKPOINT. `sink` is valid only
/// during the call.
pub type safe_checkpoint_load_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        sink: *mut safe_state_sink,
    ) -> i32,
>;

/// Where a checkpoint load callback hands back the saved state (see safe_state_sink_set()).
/// Lent to the callback for the length of the call, never owned by the host.
pub struct safe_state_sink {
    state: Option<String>,
}

/// Copies `state_json` (the text a save callback was given) into `sink` as the loaded state;
/// the caller keeps, and frees, its own buffer. A second call replaces the first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_state_sink_set(
    sink: *mut safe_state_sink,
    state_json: *const c_char,
) -> safe_status {
    guard(|| {
        let sink = unsafe { sink.as_mut() }.ok_or_else(|| invalid("`sink` is NULL"))?;
        let state = unsafe { str_arg(state_json, "state_json") }?;
        sink.state = Some(state.to_string());
        Ok(())
    })
}

/// Saves `state_json` for `key`; return 0 on success, non-zero fails with SAFE_CHECKPOINT.
pub type safe_checkpoint_save_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        state_json: *const c_char,
    ) -> i32,
>;

struct UserData(*mut c_void);
// SAFETY: the header tells the caller that `save` runs on a library thread, one call at a time
// per poller, while the thread that called safe_poller_sweep waits for it: user_data is used
// by one thread at a time.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

fn open_poller(
    client: &safe_client,
    kind: &str,
    store: Arc<dyn safe_tracker::poller::CheckpointStore>,
    options_json: Option<&str>,
    out: *mut *mut safe_poller,
) -> Result<(), Failure> {
    let options = options_json.unwrap_or("{}");
    let c = client.client.clone();
    let poller = match kind {
        "items" => HostPoller::open_items(c, store, options),
        "updated" => HostPoller::open_updated(c, store, options),
        _ => return Err(invalid("`kind` must be \"items\" or \"updated\"")),
    }
    .map_err(Failure::from)?;
    unsafe {
        *out = Box::into_raw(Box::new(safe_poller {
            poller: Arc::new(poller),
        }))
    };
    Ok(())
}

/// Opens a poller. `kind` is "items" (new items by sequence number) or "updated".
/// `checkpoint_json` is {"kind":"memory"}, {"kind":"file","path":"..."},
/// {"kind":"sqlite","path":"..."} or {"kind":"postgres","url":"...","unit":"...",
/// "owner"?:"...","lease_ttl"?:seconds} (a fenced lease on the unit: SAFE_FENCED while another
/// process holds it); `options_json` holds the poller options (seconds), e.g.
/// {"gap_tolerance":3,"expand":["form_data","case"]}, or NULL for the defaults.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_new(
    client: *const safe_client,
    kind: *const c_char,
    checkpoint_json: *const c_char,
    options_json: *const c_char,
    out: *mut *mut safe_poller,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        let kind = unsafe { str_arg(kind, "kind") }?;
        let spec = unsafe { str_arg(checkpoint_json, "checkpoint_json") }?;
        let options = unsafe { opt_str_arg(options_json, "options_json") }?;
        out_check(out, "out")?;
        let store = host::checkpoint_from_json(spec).map_err(Failure::from)?;
        open_poller(client, kind, store, options, out)
    })
}

/// Opens a poller whose checkpoint lives in the host application (its own database), through
/// `load` and `save` called with `user_data`. `load` runs on the calling thread, here. `save`
/// runs on a library thread (so a slow save cannot stall the client's other calls), one call
/// at a time per poller, while the thread that called safe_poller_sweep() or
/// safe_poller_run_forever() waits for it; the one save of a sweep abandoned by freeing its
/// poller runs on the freeing thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_new_with_callbacks(
    client: *const safe_client,
    kind: *const c_char,
    load: safe_checkpoint_load_fn,
    save: safe_checkpoint_save_fn,
    user_data: *mut c_void,
    options_json: *const c_char,
    out: *mut *mut safe_poller,
) -> safe_status {
    guard(|| {
        let client = unsafe { ref_arg(client, "client") }?;
        let kind = unsafe { str_arg(kind, "kind") }?;
        let options = unsafe { opt_str_arg(options_json, "options_json") }?;
        let load = load.ok_or_else(|| invalid("`load` is NULL"))?;
        let save = save.ok_or_else(|| invalid("`save` is NULL"))?;
        out_check(out, "out")?;
        let ud = Arc::new(UserData(user_data));
        let ud2 = ud.clone();
        let store = safe_tracker::poller::CallbackCheckpoint::new(
            move |key| {
                let key = CString::new(key).map_err(|_| "NUL in key".to_string())?;
                let mut sink = safe_state_sink { state: None };
                match unsafe { load(ud.0, key.as_ptr(), &mut sink) } {
                    0 => Ok(sink.state),
                    rc => Err(format!("load callback returned {rc}")),
                }
            },
            move |key, state| {
                let key = CString::new(key).map_err(|_| "NUL in key".to_string())?;
                let state = CString::new(state).map_err(|_| "NUL in state".to_string())?;
                match unsafe { save(ud2.0, key.as_ptr(), state.as_ptr()) } {
                    0 => Ok(()),
                    rc => Err(format!("save callback returned {rc}")),
                }
            },
        );
        open_poller(client, kind, Arc::new(store), options, out)
    })
}

/// Frees a poller, releasing its lock at once (even while a safe_cancel handle of it lives:
/// the same checkpoint may be opened again right away). Accepts NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_free(poller: *mut safe_poller) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !poller.is_null() {
            let poller = unsafe { Box::from_raw(poller) };
            // A cancel handle shares the poller: close it rather than wait for the last one.
            if tokio::runtime::Handle::try_current().is_err() {
                runtime().block_on(poller.poller.close());
            }
            drop(poller);
        }
    }));
}

/// Runs one sweep on the calling thread, calling `callback` for each record in order, on this
/// thread and outside the library's runtime (see the conventions above).
/// On success `*out_report_json` (when not NULL) receives the sweep report.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_sweep(
    poller: *const safe_poller,
    callback: safe_record_fn,
    user_data: *mut c_void,
    out_report_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        let callback = callback.ok_or_else(|| invalid("`callback` is NULL"))?;
        sweep(&poller.poller, callback, user_data)?;
        if !out_report_json.is_null() {
            let report = poller.poller.last_report().unwrap_or(Value::Null);
            write_json(report, out_report_json)?;
        }
        Ok(())
    })
}

/// One sweep: each record is fetched inside the runtime and handed to `callback` outside it,
/// so a callback that blocks holds up only its own thread (other threads drive the shared
/// connections meanwhile) and may itself call the library. A sweep of the same poller started
/// meanwhile (from the callback or another thread) supersedes this one, which then fails with
/// SAFE_CHECKPOINT rather than acknowledge the other's records.
fn sweep(
    poller: &Arc<HostPoller>,
    callback: unsafe extern "C" fn(*mut c_void, *const safe_item, *const c_char) -> i32,
    user_data: *mut c_void,
) -> Result<(), Failure> {
    let p = poller.clone();
    let ticket = block_on(async move { Ok(p.begin().await) })?;
    loop {
        let p = poller.clone();
        let Some(record) = block_on(async move { p.next(ticket).await })? else {
            return Ok(());
        };
        let delivered = deliver(&record, callback, user_data);
        if let Err(message) = delivered {
            let p = poller.clone();
            let error = block_on(async move { Ok(p.fail(ticket, &message).await) })?;
            return Err(Failure::from(error));
        }
    }
}

/// Calls the record callback (on the calling thread, outside the runtime).
fn deliver(
    record: &host::HostRecord,
    callback: unsafe extern "C" fn(*mut c_void, *const safe_item, *const c_char) -> i32,
    user_data: *mut c_void,
) -> Result<(), String> {
    let json = record
        .json()
        .map_err(|e| e.to_string())
        .and_then(|j| CString::new(j).map_err(|_| "NUL in record".to_string()))?;
    let item = item_handle(record.item().clone()).map_err(|f| f.message)?;
    let rc = unsafe { callback(user_data, item, json.as_ptr()) };
    unsafe { safe_item_free(item) };
    match rc {
        0 => Ok(()),
        rc => Err(format!("record callback returned {rc}")),
    }
}

/// Sweeps on the schedule until cancelled (returns SAFE_OK then). Account, checkpoint and
/// consumer errors are returned; transient ones wait for the next sweep.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_run_forever(
    poller: *const safe_poller,
    callback: safe_record_fn,
    user_data: *mut c_void,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        let callback = callback.ok_or_else(|| invalid("`callback` is NULL"))?;
        loop {
            let p = poller.poller.clone();
            match block_on(async move { p.wait_scheduled().await }) {
                Ok(()) => {}
                Err(f) if f.status == safe_status::SAFE_CANCELLED => return Ok(()),
                Err(f) => return Err(f),
            }
            // Every rule after a sweep is the core's (its poller driver). A status that is not
            // a core code (a panic, an invalid argument) stops the loop.
            let outcome = sweep(&poller.poller, callback, user_data);
            let code = match &outcome {
                Ok(()) => None,
                Err(f) => match safe_tracker::ErrorCode::from_u32(f.status as u32) {
                    Some(code) => Some(code),
                    None => return outcome,
                },
            };
            let p = poller.poller.clone();
            match block_on(async move { Ok(p.decide(code).await) })? {
                safe_tracker::poller::Decision::Cancelled => return Ok(()),
                safe_tracker::poller::Decision::Stop | safe_tracker::poller::Decision::Fenced => {
                    return outcome;
                }
                _ => {}
            }
        }
    })
}

/// Writes the poller's status as JSON: `stream`, `cursor`, `holes`, `last_sweep`,
/// `next_allowed_sweep`, `requests_spent`, … and `stuck` (null, or
/// `{"seq","code","name","message","since","sweeps"}`: the number the last sweeps failed at
/// and why; step over it with safe_poller_skip() when it will never succeed), `partial` (null,
/// or `{"seq","done":[ids],"done_without_id"}`: a number held by several items whose delivery
/// is under way), `skipped` (the numbers stepped over, `{"seq","reason","at","error"?}`, the
/// last 100) and `duplicate_numbers` (how many numbers held several items, over the
/// poller's life).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_status(
    poller: *const safe_poller,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        out_check(out_json, "out_json")?;
        write_json(poller.poller.status(), out_json)
    })
}

/// Writes the plan of the next sweep as JSON, without any request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_plan(
    poller: *const safe_poller,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        out_check(out_json, "out_json")?;
        write_json(poller.poller.plan(), out_json)
    })
}

/// Steps over number `seq` for good (the "items" poller only), with the operator's `reason`
/// (required, not blank), recorded in the checkpoint's `skipped` list (see
/// safe_poller_status()). Allowed for the cursor, an open hole, or the number the
/// poller is stuck at (see `stuck` in safe_poller_status()); any other number, a blank
/// reason or an "updated" poller fails with SAFE_VALIDATION, and a call while a sweep of this
/// poller runs (from another thread) with SAFE_CHECKPOINT. On success `*out_json` (when not
/// NULL) receives the record `{"seq","reason","at","error"?}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_skip(
    poller: *const safe_poller,
    seq: u64,
    reason: *const c_char,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        let reason = unsafe { str_arg(reason, "reason") }?.to_string();
        let p = poller.poller.clone();
        let skipped = block_on(async move { p.skip(seq, &reason).await })?;
        if !out_json.is_null() {
            write_json(skipped, out_json)?;
        }
        Ok(())
    })
}

/// A handle that cancels `poller` from any thread; free it with safe_cancel_free().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_cancel_handle(
    poller: *const safe_poller,
    out: *mut *mut safe_cancel,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        out_check(out, "out")?;
        unsafe {
            *out = Box::into_raw(Box::new(safe_cancel {
                target: CancelTarget::Poller(poller.poller.clone()),
            }))
        };
        Ok(())
    })
}

/// A handle that cancels the calls it is passed to (safe_client_call_cancellable(),
/// safe_sweep_next(), safe_poller_wait_scheduled()) when safe_cancel_trigger() is called from
/// any thread; it stays triggered, so use one per operation. Free it with safe_cancel_free()
/// once no call uses it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_cancel_new(out: *mut *mut safe_cancel) -> safe_status {
    guard(|| {
        out_check(out, "out")?;
        unsafe {
            *out = Box::into_raw(Box::new(safe_cancel {
                target: CancelTarget::Calls(tokio_util::sync::CancellationToken::new()),
            }))
        };
        Ok(())
    })
}

/// A poller's handle stops the poller between requests, for good (its checkpoint stays at the
/// last acknowledged record); a handle from safe_cancel_new() gives up the calls it is passed
/// to, now and later.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_cancel_trigger(cancel: *const safe_cancel) -> safe_status {
    guard(|| {
        let cancel = unsafe { ref_arg(cancel, "cancel") }?;
        match &cancel.target {
            CancelTarget::Poller(p) => p.cancel(),
            CancelTarget::Calls(t) => t.cancel(),
        }
        Ok(())
    })
}

/// Frees a cancellation handle. Accepts NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_cancel_free(cancel: *mut safe_cancel) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !cancel.is_null() {
            drop(unsafe { Box::from_raw(cancel) });
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_message() -> String {
        unsafe { CStr::from_ptr(safe_last_error_message()) }
            .to_str()
            .unwrap()
            .to_string()
    }

    /// The decode errors of this layer (an answer of the core that is not an item, or not a
    /// list) name the request: `GET` and the templated path, never the empty `of  :`.
    #[test]
    fn a_decode_error_here_names_the_method_and_templated_path() {
        let client = safe_client {
            client: host::client_from_json(
                r#"{"base_url":"http://127.0.0.1:9/api","token":"t0ken-1","organization_id":1,"office_id":2,"requests_per_second":0}"#,
            )
            .unwrap(),
        };
        let cases: [(ItemRoute, Value, &str); 3] = [
            (
                ItemRoute::by_seq(&client),
                json!({ "id": "five" }),
                "GET items/seqOrgID/{n}",
            ),
            (ItemRoute::by_id(&client), json!([1, 2]), "GET items/{id}"),
            (
                ItemRoute::by_seq(&client),
                json!({ "id": 5 }),
                "GET items/seqOrgID/{n}",
            ),
        ];
        for (i, (route, v, named)) in cases.into_iter().enumerate() {
            let failure = if i == 2 {
                items_of(v, &route).map(drop).unwrap_err()
            } else {
                decode_item(v, &route).map(drop).unwrap_err()
            };
            assert_eq!(failure.status, safe_status::SAFE_DECODE);
            set_last_error(failure);
            let message = last_message();
            assert!(
                message.starts_with(&format!("could not decode the answer of {named}: ")),
                "{message}"
            );
            assert!(!message.contains("  "), "{message}");
        }
        safe_clear_last_error();
    }

    #[test]
    fn every_core_code_has_its_own_status() {
        for code in safe_tracker::ErrorCode::ALL {
            let status = safe_status::from_code(code);
            assert_eq!(status as u32, code.as_u32(), "{code:?}");
            assert_ne!(status, safe_status::SAFE_PANIC, "{code:?}");
        }
        assert_eq!(
            safe_status::from_code(safe_tracker::ErrorCode::DuplicateNumber),
            safe_status::SAFE_DUPLICATE_NUMBER
        );
    }

    #[test]
    fn a_duplicate_number_keeps_its_details() {
        let status = set_last_error(Failure::from(Error::DuplicateNumber {
            seq: 20,
            count: 2,
            ids: vec![5, 6],
        }));
        assert_eq!(status, safe_status::SAFE_DUPLICATE_NUMBER);
        assert_eq!(safe_last_error_code(), safe_status::SAFE_DUPLICATE_NUMBER);
        assert_eq!(safe_last_error_seq(), 20);
        assert_eq!(unsafe { safe_last_error_ids(std::ptr::null_mut(), 0) }, 2);
        let mut ids = [0i64; 1];
        assert_eq!(unsafe { safe_last_error_ids(ids.as_mut_ptr(), 1) }, 2);
        assert_eq!(ids, [5]);
        let message = unsafe { CStr::from_ptr(safe_last_error_message()) };
        let message = message.to_str().unwrap();
        assert!(
            message.contains("items_by_seq") && message.contains("[5, 6]"),
            "{message}"
        );
        safe_clear_last_error();
        assert_eq!(safe_last_error_seq(), 0);
        assert_eq!(unsafe { safe_last_error_ids(std::ptr::null_mut(), 0) }, 0);
    }
}
