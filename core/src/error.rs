//! The one error type of the SDK and its table of stable numeric codes.
//!
//! Every binding (C, Python, Node, C#) maps from [`ErrorCode`]; a code never changes meaning
//! and is never reused. Codes are grouped in ranges:
//!
//! | range | group |
//! |---|---|
//! | 1–9 | caller and configuration errors |
//! | 10–19 | transport and decoding |
//! | 20–29 | the account: auth, licence, rate |
//! | 30–39 | the request's entity |
//! | 40–49 | the server |
//! | 50–59 | the poller and its checkpoint |
//! | 90–99 | reserved for the bindings (panic, invalid argument) |

use std::time::Duration;

/// Stable numeric error codes, shared by every host language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u32)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The configuration is invalid (bad URL, plain http to a remote host, missing token…).
    InvalidConfig = 1,
    /// A model failed validation before sending, or the server rejected it as invalid.
    Validation = 2,
    /// The connection failed or broke (DNS, refused, reset, TLS).
    Transport = 10,
    /// An attempt or the whole call ran past its timeout.
    Timeout = 11,
    /// The response body was larger than the configured cap.
    ResponseTooLarge = 12,
    /// The response could not be decoded (not JSON, wrong shape, invalid UTF-8).
    Decode = 13,
    /// The token is missing, unknown or expired (HTTP 401).
    Auth = 20,
    /// The account is disabled or the request is forbidden (HTTP 403).
    AccountDisabled = 21,
    /// The server answered "no licenses are available".
    LicenseUnavailable = 22,
    /// The server asked us to slow down (HTTP 429) for longer than we may wait.
    RateLimited = 23,
    /// The configured request budget would be exceeded.
    BudgetExhausted = 24,
    /// The entity does not exist (HTTP 404).
    NotFound = 30,
    /// The entity conflicts with an existing one (duplicate case number, e-mail…).
    Conflict = 31,
    /// Several items hold the sequential number asked for with a one-item read
    /// (`item_by_seq`): read them all with `items_by_seq`.
    DuplicateNumber = 32,
    /// The server failed (5xx or an unexpected status) after the retries allowed.
    Server = 40,
    /// The checkpoint store failed, is locked by another poller, or holds bad data.
    Checkpoint = 50,
    /// The operation was cancelled by the caller.
    Cancelled = 51,
    /// The consumer of a poller refused or failed to handle a record.
    Consumer = 52,
}

impl ErrorCode {
    /// Every code, in table order (used by the conformance tests and the bindings' generators).
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::InvalidConfig,
        ErrorCode::Validation,
        ErrorCode::Transport,
        ErrorCode::Timeout,
        ErrorCode::ResponseTooLarge,
        ErrorCode::Decode,
        ErrorCode::Auth,
        ErrorCode::AccountDisabled,
        ErrorCode::LicenseUnavailable,
        ErrorCode::RateLimited,
        ErrorCode::BudgetExhausted,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::DuplicateNumber,
        ErrorCode::Server,
        ErrorCode::Checkpoint,
        ErrorCode::Cancelled,
        ErrorCode::Consumer,
    ];

    /// The stable number of this code.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// The stable name of this code (`SAFE_` + this, upper-cased, in C).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "InvalidConfig",
            ErrorCode::Validation => "Validation",
            ErrorCode::Transport => "Transport",
            ErrorCode::Timeout => "Timeout",
            ErrorCode::ResponseTooLarge => "ResponseTooLarge",
            ErrorCode::Decode => "Decode",
            ErrorCode::Auth => "Auth",
            ErrorCode::AccountDisabled => "AccountDisabled",
            ErrorCode::LicenseUnavailable => "LicenseUnavailable",
            ErrorCode::RateLimited => "RateLimited",
            ErrorCode::BudgetExhausted => "BudgetExhausted",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::Conflict => "Conflict",
            ErrorCode::DuplicateNumber => "DuplicateNumber",
            ErrorCode::Server => "Server",
            ErrorCode::Checkpoint => "Checkpoint",
            ErrorCode::Cancelled => "Cancelled",
            ErrorCode::Consumer => "Consumer",
        }
    }

    /// Looks a code up by its number.
    pub fn from_u32(n: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_u32() == n)
    }

    /// True for errors about the account itself: a poller stops at once and never retries.
    pub fn is_fatal_for_account(self) -> bool {
        matches!(
            self,
            ErrorCode::Auth | ErrorCode::AccountDisabled | ErrorCode::LicenseUnavailable
        )
    }
}

/// Where an HTTP error happened: method, templated path (never the concrete URL with ids) and status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// The route template, e.g. `items/seqOrgID/{n}`.
    pub path: String,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// A short excerpt of the response body with secrets removed.
    pub excerpt: Option<String>,
    /// How many attempts were made.
    pub attempts: u32,
}

/// Every error the SDK returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`ErrorCode::InvalidConfig`].
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// See [`ErrorCode::Validation`]. `field` names the offending field when known.
    #[error("validation failed{}: {message}", field.as_deref().map(|f| format!(" for `{f}`")).unwrap_or_default())]
    Validation {
        /// The field at fault, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
        /// Set when the server (not the SDK) rejected the request.
        context: Option<Box<RequestContext>>,
    },
    /// See [`ErrorCode::Transport`].
    #[error("transport error on {} {}: {message}", context.method, context.path)]
    Transport {
        /// What failed.
        message: String,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Timeout`].
    #[error("timed out after {elapsed:?} on {} {}", context.method, context.path)]
    Timeout {
        /// Time spent before giving up.
        elapsed: Duration,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::ResponseTooLarge`].
    #[error("response body of {} {} exceeds the cap of {limit} bytes", context.method, context.path)]
    ResponseTooLarge {
        /// The configured cap in bytes.
        limit: usize,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Decode`].
    #[error("could not decode the answer of {} {}: {message}", context.method, context.path)]
    Decode {
        /// What did not parse.
        message: String,
        /// The request, with a body excerpt.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Auth`].
    #[error("authentication failed (HTTP {}) on {} {}: check the static token", status_text(context), context.method, context.path)]
    Auth {
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::AccountDisabled`].
    #[error("forbidden or account disabled (HTTP {}) on {} {}: {message}", status_text(context), context.method, context.path)]
    AccountDisabled {
        /// The server's message.
        message: String,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::LicenseUnavailable`].
    #[error("no SAFE licence is available for the API user (reserve one under Settings > License Allocation) on {} {}", context.method, context.path)]
    LicenseUnavailable {
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::RateLimited`].
    #[error("rate limited on {} {}{}", context.method, context.path, retry_after.map(|d| format!(": retry after {d:?}")).unwrap_or_default())]
    RateLimited {
        /// How long the server asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::BudgetExhausted`].
    #[error("request budget exhausted: at most {limit} requests per {window}")]
    BudgetExhausted {
        /// The budget's window: `minute`, `hour` or `day`.
        window: &'static str,
        /// The budget's size.
        limit: u32,
    },
    /// See [`ErrorCode::NotFound`].
    #[error("not found (HTTP 404) on {} {}", context.method, context.path)]
    NotFound {
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Conflict`].
    #[error("conflict on {} {}: {message}", context.method, context.path)]
    Conflict {
        /// The server's message.
        message: String,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::DuplicateNumber`]: `ids` are the items holding `seq` (ascending; an
    /// item without an id is not listed).
    #[error(
        "sequential org id {seq} is held by {count} items (ids {ids:?}): use items_by_seq to read them all"
    )]
    DuplicateNumber {
        /// The number.
        seq: u64,
        /// How many items hold it.
        count: usize,
        /// Their ids.
        ids: Vec<i64>,
    },
    /// See [`ErrorCode::Server`].
    #[error("server error (HTTP {status}) on {} {}", context.method, context.path)]
    Server {
        /// The HTTP status.
        status: u16,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Checkpoint`].
    #[error("checkpoint error: {0}")]
    Checkpoint(String),
    /// See [`ErrorCode::Cancelled`].
    #[error("cancelled")]
    Cancelled,
    /// See [`ErrorCode::Consumer`].
    #[error("consumer failed: {0}")]
    Consumer(String),
}

fn status_text(c: &RequestContext) -> String {
    c.status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "-".into())
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidConfig(_) => ErrorCode::InvalidConfig,
            Error::Validation { .. } => ErrorCode::Validation,
            Error::Transport { .. } => ErrorCode::Transport,
            Error::Timeout { .. } => ErrorCode::Timeout,
            Error::ResponseTooLarge { .. } => ErrorCode::ResponseTooLarge,
            Error::Decode { .. } => ErrorCode::Decode,
            Error::Auth { .. } => ErrorCode::Auth,
            Error::AccountDisabled { .. } => ErrorCode::AccountDisabled,
            Error::LicenseUnavailable { .. } => ErrorCode::LicenseUnavailable,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::BudgetExhausted { .. } => ErrorCode::BudgetExhausted,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Conflict { .. } => ErrorCode::Conflict,
            Error::DuplicateNumber { .. } => ErrorCode::DuplicateNumber,
            Error::Server { .. } => ErrorCode::Server,
            Error::Checkpoint(_) => ErrorCode::Checkpoint,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::Consumer(_) => ErrorCode::Consumer,
        }
    }

    /// The request this error came from, when it came from one.
    pub fn context(&self) -> Option<&RequestContext> {
        match self {
            Error::Validation { context, .. } => context.as_deref(),
            Error::Transport { context, .. }
            | Error::Timeout { context, .. }
            | Error::ResponseTooLarge { context, .. }
            | Error::Decode { context, .. }
            | Error::Auth { context }
            | Error::AccountDisabled { context, .. }
            | Error::LicenseUnavailable { context }
            | Error::RateLimited { context, .. }
            | Error::NotFound { context }
            | Error::Conflict { context, .. }
            | Error::Server { context, .. } => Some(&**context),
            _ => None,
        }
    }

    /// The HTTP status, when an answer came.
    pub fn status(&self) -> Option<u16> {
        self.context().and_then(|c| c.status)
    }

    /// The templated path of the request, when there was one.
    pub fn path(&self) -> Option<&str> {
        self.context().map(|c| c.path.as_str())
    }

    /// How long the server asked us to wait, for [`Error::RateLimited`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A caller-side validation error for `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Validation {
            field: Some(field.into()),
            message: message.into(),
            context: None,
        }
    }

    /// True when the same request may succeed later without any change (transient).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::Transport
                | ErrorCode::Timeout
                | ErrorCode::Server
                | ErrorCode::RateLimited
                | ErrorCode::Decode
                | ErrorCode::ResponseTooLarge
        )
    }
}

/// The SDK's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_u32()), "duplicate code {c:?}");
            assert_eq!(ErrorCode::from_u32(c.as_u32()), Some(c));
        }
        assert_eq!(ErrorCode::from_u32(9999), None);
    }
}
