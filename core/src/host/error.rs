//! Error details for a host language ([`ErrorInfo`]) and the one poller decision the bindings
//! ask about; both read the core's [`ErrorCode`] and its [`ErrorCode::class`].

use serde::Serialize;

use crate::error::{Error, ErrorCode};

/// Error details for a host language: code, name, message, status, path, retry-after, field
/// (what each binding builds its exception from).
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct ErrorInfo {
    /// Stable code.
    pub code: u32,
    /// Stable name.
    pub name: &'static str,
    /// Message (never holds the token).
    pub message: String,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// Templated path, when there was a request.
    pub path: Option<String>,
    /// Seconds the server asked us to wait.
    pub retry_after: Option<f64>,
    /// The offending field of a validation error.
    pub field: Option<String>,
    /// The number of a [`Error::DuplicateNumber`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The item ids of a [`Error::DuplicateNumber`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<i64>>,
}

/// The details of `e`.
pub fn error_info(e: &Error) -> ErrorInfo {
    ErrorInfo {
        code: e.code().as_u32(),
        name: e.code().name(),
        message: e.to_string(),
        status: e.status(),
        path: e.path().map(str::to_string),
        retry_after: e.retry_after().map(|d| d.as_secs_f64()),
        field: match e {
            Error::Validation { field, .. } => field.clone(),
            _ => None,
        },
        seq: match e {
            Error::DuplicateNumber { seq, .. } => Some(*seq),
            _ => None,
        },
        ids: match e {
            Error::DuplicateNumber { ids, .. } => Some(ids.clone()),
            _ => None,
        },
    }
}

/// True when `run_forever` keeps going after this error (the next sweep retries): see
/// [`crate::ErrorClass::keeps_poller_running`].
pub fn keeps_running_after(code: ErrorCode) -> bool {
    code.class().keeps_poller_running()
}
