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
//!
//! Each code has an [`ErrorClass`] (`ErrorCode::class()`), and every decision about an error
//! derives from it: [`Error::is_transient`], [`ErrorCode::is_fatal_for_account`], whether a
//! poller keeps running ([`ErrorClass::keeps_poller_running`]) and the CLI's exit status
//! ([`ErrorClass::exit_code`]).
//!
//! Adding a code is one line in the `error_codes!` list below (doc comment, name, number,
//! class), a variant of [`Error`], then `make codegen` (it writes the Python, Node, C and C#
//! tables from [`ErrorCode::ALL`]).

use std::time::Duration;

/// Declares [`ErrorCode`] and its table ([`ErrorCode::ALL`], `name()`, `doc()`, `class()`,
/// `from_u32()`) from one list: one line (its doc comment, name, number and class) per code.
macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])+ $name:ident = $num:literal => $class:ident, )+) => {
        /// Stable numeric error codes, shared by every host language.
        ///
        /// Declared once in `core/src/error.rs`; `make codegen` writes every other language's
        /// table from [`ErrorCode::ALL`] (`tools/codegen`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[repr(u32)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[doc = $doc])+ $name = $num, )+
        }

        impl ErrorCode {
            /// Every code, in table order (used by the conformance tests and `tools/codegen`).
            pub const ALL: [ErrorCode; [$(stringify!($name)),+].len()] = [$(ErrorCode::$name),+];

            /// The stable name of this code (`SAFE_` + this, upper-cased, in C).
            pub fn name(self) -> &'static str {
                match self {
                    $( ErrorCode::$name => stringify!($name), )+
                }
            }

            /// The doc comment of this code, as one line (what every language's table says).
            pub fn doc(self) -> &'static str {
                match self {
                    $( ErrorCode::$name => concat!($($doc),+).trim_ascii(), )+
                }
            }

            /// The class of this code: what a caller, a poller and the CLI do about it.
            pub fn class(self) -> ErrorClass {
                match self {
                    $( ErrorCode::$name => ErrorClass::$class, )+
                }
            }

            /// Looks a code up by its number.
            pub fn from_u32(n: u32) -> Option<ErrorCode> {
                match n {
                    $( $num => Some(ErrorCode::$name), )+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// The configuration is invalid (bad URL, plain http to a remote host, missing token…).
    InvalidConfig = 1 => Caller,
    /// A model failed validation before sending, or the server rejected it as invalid.
    Validation = 2 => Caller,
    /// The connection failed or broke (DNS, refused, reset, TLS).
    Transport = 10 => Transient,
    /// An attempt or the whole call ran past its timeout.
    Timeout = 11 => Transient,
    /// The response body was larger than the configured cap.
    ResponseTooLarge = 12 => Transient,
    /// The response could not be decoded (not JSON, wrong shape, invalid UTF-8).
    Decode = 13 => Transient,
    /// The token is missing, unknown or expired (HTTP 401).
    Auth = 20 => Account,
    /// The account is disabled or the request is forbidden (HTTP 403).
    AccountDisabled = 21 => Account,
    /// The server answered "no licenses are available".
    LicenseUnavailable = 22 => Account,
    /// The server asked us to slow down (HTTP 429) for longer than we may wait.
    RateLimited = 23 => Transient,
    /// The configured request budget would be exceeded.
    BudgetExhausted = 24 => Budget,
    /// The entity does not exist (HTTP 404).
    NotFound = 30 => Entity,
    /// The entity conflicts with an existing one (duplicate case number, e-mail…).
    Conflict = 31 => Entity,
    /// Several items hold the sequential number asked for with a one-item read
    /// (`item_by_seq`): read them all with `items_by_seq`.
    DuplicateNumber = 32 => Entity,
    /// The server failed (5xx or an unexpected status) after the retries allowed.
    Server = 40 => Transient,
    /// The checkpoint store failed, is locked by another poller, or holds bad data.
    Checkpoint = 50 => Storage,
    /// The operation was cancelled by the caller.
    Cancelled = 51 => Interrupted,
    /// The consumer of a poller refused or failed to handle a record.
    Consumer = 52 => Storage,
    /// Another process owns this poller now (its lease moved on): this one stops polling it
    /// and writes nothing more for it; the new owner goes on from the checkpoint.
    Fenced = 53 => Ownership,
    /// The checkpoint store's database could not be reached (down, restarting, the network):
    /// nothing was written; a poller tries again later, as after a transport error.
    StoreUnavailable = 54 => Transient,
}

impl ErrorCode {
    /// The stable number of this code.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// True for errors about the account itself: a poller stops at once and never retries.
    /// Same as `self.class().is_fatal_for_account()`.
    pub fn is_fatal_for_account(self) -> bool {
        self.class().is_fatal_for_account()
    }

    /// True when the failure may be about what was answered for one request (an item that
    /// does not decode, a server error at one number, a consumer refusing a record), rather
    /// than the connection, the account, the budget, cancellation or the checkpoint store:
    /// a poller records such a failure as stuck at that number.
    pub fn is_about_the_answer(self) -> bool {
        !matches!(
            self,
            ErrorCode::Cancelled
                | ErrorCode::Checkpoint
                | ErrorCode::Transport
                | ErrorCode::Timeout
                | ErrorCode::RateLimited
                | ErrorCode::BudgetExhausted
                | ErrorCode::Auth
                | ErrorCode::AccountDisabled
                | ErrorCode::LicenseUnavailable
                | ErrorCode::Fenced
                | ErrorCode::StoreUnavailable
        )
    }
}

/// What an error means for whoever got it; every decision about an error (retry, stop a
/// poller, the CLI's exit status) is made from its class, here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorClass {
    /// The caller's configuration or input is wrong: fix it and call again (CLI exit 2).
    Caller,
    /// The account itself (token, disabled, licence): a poller stops at once (CLI exit 3).
    Account,
    /// The network or the server failed: the same request may succeed later without any
    /// change; a poller's next sweep retries (CLI exit 4).
    Transient,
    /// The configured request budget is spent: not transient (the same request is refused
    /// until the budget's window moves), but a poller's next sweep retries (CLI exit 4).
    Budget,
    /// The caller cancelled (CLI exit 5).
    Interrupted,
    /// The checkpoint store or the consumer of the records failed (CLI exit 6).
    Storage,
    /// About the entity asked for (not found, conflict, a number held by several items): the
    /// request is wrong for the data as it is (CLI exit 1).
    Entity,
    /// Another process owns the poller now: stop quietly, the owner goes on (CLI exit 7).
    Ownership,
}

impl ErrorClass {
    /// Every class.
    pub const ALL: [ErrorClass; 8] = [
        ErrorClass::Caller,
        ErrorClass::Account,
        ErrorClass::Transient,
        ErrorClass::Budget,
        ErrorClass::Interrupted,
        ErrorClass::Storage,
        ErrorClass::Entity,
        ErrorClass::Ownership,
    ];

    /// What this class means for a caller, in one line (what the host languages' docs say).
    pub fn doc(self) -> &'static str {
        match self {
            ErrorClass::Caller => {
                "The caller's configuration or input is wrong: fix it and call again."
            }
            ErrorClass::Account => {
                "The account itself (token, disabled, licence): a poller stops at once."
            }
            ErrorClass::Transient => {
                "The network or the server failed: the same request may succeed later without any change; a poller's next sweep retries."
            }
            ErrorClass::Budget => {
                "The configured request budget is spent: the same request is refused until the budget's window moves, but a poller's next sweep retries."
            }
            ErrorClass::Interrupted => "The caller cancelled.",
            ErrorClass::Storage => "The checkpoint store or the consumer of the records failed.",
            ErrorClass::Entity => {
                "About the entity asked for (not found, conflict, a number held by several items): the request is wrong for the data as it is."
            }
            ErrorClass::Ownership => {
                "Another process owns the poller now: stop quietly, the owner goes on."
            }
        }
    }

    /// The stable name of this class (snake case, as serialised).
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Caller => "caller",
            ErrorClass::Account => "account",
            ErrorClass::Transient => "transient",
            ErrorClass::Budget => "budget",
            ErrorClass::Interrupted => "interrupted",
            ErrorClass::Storage => "storage",
            ErrorClass::Entity => "entity",
            ErrorClass::Ownership => "ownership",
        }
    }

    /// True when the same request may succeed later without any change.
    pub fn is_transient(self) -> bool {
        self == ErrorClass::Transient
    }

    /// True for errors about the account itself: a poller stops at once and never retries.
    pub fn is_fatal_for_account(self) -> bool {
        self == ErrorClass::Account
    }

    /// True when a poller's `run_forever` keeps going after this error (the next sweep
    /// retries); every other error ends it.
    pub fn keeps_poller_running(self) -> bool {
        matches!(self, ErrorClass::Transient | ErrorClass::Budget)
    }

    /// The exit status of the `safe-tracker` command line for an error of this class.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorClass::Entity => 1,
            ErrorClass::Caller => 2,
            ErrorClass::Account => 3,
            ErrorClass::Transient | ErrorClass::Budget => 4,
            ErrorClass::Interrupted => 5,
            ErrorClass::Storage => 6,
            ErrorClass::Ownership => 7,
        }
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
    #[error(
        "validation failed{}{}: {message}",
        field.as_deref().map(|f| format!(" for `{f}`")).unwrap_or_default(),
        context.as_deref().map(|c| format!(" on {}", request(c))).unwrap_or_default()
    )]
    Validation {
        /// The field at fault, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
        /// Set when the server (not the SDK) rejected the request.
        context: Option<Box<RequestContext>>,
    },
    /// See [`ErrorCode::Transport`].
    #[error("transport error on {}: {message}", request(context))]
    Transport {
        /// What failed.
        message: String,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Timeout`].
    #[error("timed out after {elapsed:?} on {}", request(context))]
    Timeout {
        /// Time spent before giving up.
        elapsed: Duration,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::ResponseTooLarge`].
    #[error(
        "response body of {} exceeds the cap of {limit} bytes",
        request(context)
    )]
    ResponseTooLarge {
        /// The configured cap in bytes.
        limit: usize,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Decode`].
    #[error("could not decode the answer of {}: {message}", request(context))]
    Decode {
        /// What did not parse.
        message: String,
        /// The request, with a body excerpt.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Auth`].
    #[error(
        "authentication failed (HTTP {}) on {}: check the static token",
        status_text(context),
        request(context)
    )]
    Auth {
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::AccountDisabled`].
    #[error(
        "forbidden or account disabled (HTTP {}) on {}: {message}",
        status_text(context),
        request(context)
    )]
    AccountDisabled {
        /// The server's message.
        message: String,
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::LicenseUnavailable`].
    #[error(
        "no SAFE licence is available for the API user (reserve one under Settings > License Allocation) on {}",
        request(context)
    )]
    LicenseUnavailable {
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::RateLimited`].
    #[error("rate limited on {}{}", request(context), retry_after.map(|d| format!(": retry after {d:?}")).unwrap_or_default())]
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
    #[error("not found (HTTP 404) on {}", request(context))]
    NotFound {
        /// The request.
        context: Box<RequestContext>,
    },
    /// See [`ErrorCode::Conflict`].
    #[error("conflict on {}: {message}", request(context))]
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
    #[error("server error (HTTP {status}) on {}", request(context))]
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
    /// See [`ErrorCode::Fenced`].
    #[error("fenced: {0}")]
    Fenced(String),
    /// See [`ErrorCode::StoreUnavailable`].
    #[error("checkpoint store unavailable: {0}")]
    StoreUnavailable(String),
}

/// `GET items/seqOrgID/{n}`: the method and templated path an error names. Every error is
/// built with both (tests check it); should one ever come without them, the message still
/// reads as a sentence rather than `of  :`.
fn request(c: &RequestContext) -> String {
    match (c.method.trim(), c.path.trim()) {
        ("", "") => "an unnamed request".into(),
        (m, "") => m.to_string(),
        ("", p) => p.to_string(),
        (m, p) => format!("{m} {p}"),
    }
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
            Error::Fenced(_) => ErrorCode::Fenced,
            Error::StoreUnavailable(_) => ErrorCode::StoreUnavailable,
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
    /// Same as `self.code().class().is_transient()`.
    pub fn is_transient(&self) -> bool {
        self.code().class().is_transient()
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

    /// The decisions as they were made before `class()` existed, one literal row per code:
    /// (code, `Error::is_transient`, `is_fatal_for_account`, `host::keeps_running_after`,
    /// the CLI's exit status).
    const BEFORE_CLASSES: [(ErrorCode, bool, bool, bool, i32); 18] = [
        (ErrorCode::InvalidConfig, false, false, false, 2),
        (ErrorCode::Validation, false, false, false, 2),
        (ErrorCode::Transport, true, false, true, 4),
        (ErrorCode::Timeout, true, false, true, 4),
        (ErrorCode::ResponseTooLarge, true, false, true, 4),
        (ErrorCode::Decode, true, false, true, 4),
        (ErrorCode::Auth, false, true, false, 3),
        (ErrorCode::AccountDisabled, false, true, false, 3),
        (ErrorCode::LicenseUnavailable, false, true, false, 3),
        (ErrorCode::RateLimited, true, false, true, 4),
        (ErrorCode::BudgetExhausted, false, false, true, 4),
        (ErrorCode::NotFound, false, false, false, 1),
        (ErrorCode::Conflict, false, false, false, 1),
        (ErrorCode::DuplicateNumber, false, false, false, 1),
        (ErrorCode::Server, true, false, true, 4),
        (ErrorCode::Checkpoint, false, false, false, 6),
        (ErrorCode::Cancelled, false, false, false, 5),
        (ErrorCode::Consumer, false, false, false, 6),
    ];

    #[test]
    fn classes_keep_the_decisions_made_before_them() {
        for (code, transient, fatal, keeps_running, exit) in BEFORE_CLASSES {
            let class = code.class();
            assert_eq!(class.is_transient(), transient, "{code:?} transient");
            assert_eq!(
                code.is_fatal_for_account(),
                fatal,
                "{code:?} fatal for the account"
            );
            assert_eq!(
                crate::host::keeps_running_after(code),
                keeps_running,
                "{code:?} keeps a poller running"
            );
            assert_eq!(class.keeps_poller_running(), keeps_running, "{code:?}");
            assert_eq!(class.exit_code(), exit, "{code:?} exit status");
        }
        // Error::is_transient goes through the same class.
        let budget = Error::BudgetExhausted {
            window: "minute",
            limit: 1,
        };
        assert!(!budget.is_transient());
        assert!(Error::Checkpoint("x".into()).code().class() == ErrorClass::Storage);
    }

    /// One error of `code`, with `ctx` wherever the variant carries a request. The match is
    /// exhaustive: a new code cannot be added without a sample here.
    fn sample(code: ErrorCode, ctx: &RequestContext) -> Error {
        let c = || Box::new(ctx.clone());
        match code {
            ErrorCode::InvalidConfig => Error::InvalidConfig("bad".into()),
            ErrorCode::Validation => Error::Validation {
                field: Some("caseNumber".into()),
                message: "required".into(),
                context: Some(c()),
            },
            ErrorCode::Transport => Error::Transport {
                message: "reset".into(),
                context: c(),
            },
            ErrorCode::Timeout => Error::Timeout {
                elapsed: Duration::from_secs(1),
                context: c(),
            },
            ErrorCode::ResponseTooLarge => Error::ResponseTooLarge {
                limit: 10,
                context: c(),
            },
            ErrorCode::Decode => Error::Decode {
                message: "the answer is not JSON".into(),
                context: c(),
            },
            ErrorCode::Auth => Error::Auth { context: c() },
            ErrorCode::AccountDisabled => Error::AccountDisabled {
                message: "disabled".into(),
                context: c(),
            },
            ErrorCode::LicenseUnavailable => Error::LicenseUnavailable { context: c() },
            ErrorCode::RateLimited => Error::RateLimited {
                retry_after: None,
                context: c(),
            },
            ErrorCode::BudgetExhausted => Error::BudgetExhausted {
                window: "minute",
                limit: 1,
            },
            ErrorCode::NotFound => Error::NotFound { context: c() },
            ErrorCode::Conflict => Error::Conflict {
                message: "duplicate".into(),
                context: c(),
            },
            ErrorCode::DuplicateNumber => Error::DuplicateNumber {
                seq: 3,
                count: 2,
                ids: vec![1, 2],
            },
            ErrorCode::Server => Error::Server {
                status: 500,
                context: c(),
            },
            ErrorCode::Checkpoint => Error::Checkpoint("locked".into()),
            ErrorCode::Cancelled => Error::Cancelled,
            ErrorCode::Consumer => Error::Consumer("refused".into()),
            ErrorCode::Fenced => Error::Fenced("the lease moved to another process".into()),
            ErrorCode::StoreUnavailable => {
                Error::StoreUnavailable("the database could not be reached".into())
            }
        }
    }

    /// The empty forms an error with a missing method or path used to print
    /// (`could not decode the answer of  : …`, `not found (HTTP 404) on  `).
    fn assert_reads_well(text: &str) {
        assert!(!text.contains("  "), "double space: {text:?}");
        assert!(!text.contains(" :"), "space before a colon: {text:?}");
        assert!(
            !text.ends_with(' ') && !text.ends_with(" on"),
            "dangling end: {text:?}"
        );
        assert!(!text.contains("of :") && !text.contains("on :"), "{text:?}");
    }

    #[test]
    fn every_error_with_a_request_names_its_method_and_templated_path() {
        let ctx = RequestContext {
            method: "GET".into(),
            path: "items/seqOrgID/{n}".into(),
            status: Some(500),
            excerpt: Some("<html>".into()),
            attempts: 1,
        };
        for code in ErrorCode::ALL {
            let e = sample(code, &ctx);
            assert_eq!(e.code(), code);
            let text = e.to_string();
            assert_reads_well(&text);
            if e.context().is_some() {
                assert!(text.contains("GET items/seqOrgID/{n}"), "{code:?}: {text}");
                assert_eq!(e.path(), Some("items/seqOrgID/{n}"));
            }
        }
        // Should an error ever be built without its request, it still reads as a sentence.
        for ctx in [
            RequestContext::default(),
            RequestContext {
                method: "POST".into(),
                ..RequestContext::default()
            },
            RequestContext {
                path: "cases".into(),
                ..RequestContext::default()
            },
        ] {
            for code in ErrorCode::ALL {
                assert_reads_well(&sample(code, &ctx).to_string());
            }
        }
    }

    #[test]
    fn every_code_has_a_one_line_doc_and_a_class_name() {
        for c in ErrorCode::ALL {
            let doc = c.doc();
            assert!(!doc.is_empty() && !doc.contains('\n'), "{c:?}: {doc:?}");
            assert!(
                !doc.starts_with(' ') && doc.ends_with('.'),
                "{c:?}: {doc:?}"
            );
            assert!(!c.name().is_empty());
        }
        assert_eq!(
            ErrorCode::DuplicateNumber.doc(),
            "Several items hold the sequential number asked for with a one-item read (`item_by_seq`): read them all with `items_by_seq`."
        );
        for class in ErrorClass::ALL {
            let json = serde_json::to_value(class).unwrap();
            assert_eq!(json, serde_json::Value::from(class.name()));
        }
    }
}
