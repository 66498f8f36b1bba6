//! # safe-tracker
//!
//! A client SDK for the SAFE evidence-management web API (Tracker Products): the vendor's
//! header set, typed models of the endpoints an RMS integration uses, a paced and retrying
//! transport, and (in [`poller`]) the throttled sequential poller with durable checkpoints.
//!
//! ```no_run
//! # async fn demo() -> safe_tracker::Result<()> {
//! let client = safe_tracker::Client::from_env()?;
//! if let Some(item) = client.item_by_seq(1).await? {
//!     println!("{:?}", item.description);
//! }
//! # Ok(()) }
//! ```

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod fleet;
pub mod host;
pub mod migrations;
pub mod models;
pub mod pacing;
pub mod poller;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod retry;
pub mod routes;
pub mod schema;
pub mod transport;

pub use auth::{BodyKind, Credentials, SecretToken, build_headers};
pub use client::Client;
pub use config::{
    Budget, ClientConfig, ClientConfigBuilder, Pacing, ProxyConfig, RetryPolicy, Timeouts,
};
pub use error::{Error, ErrorClass, ErrorCode, RequestContext, Result};
pub use pacing::{RequestCap, RequestGate};
pub use routes::Routes;
pub use transport::HttpPool;
