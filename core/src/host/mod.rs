//! The interface the language bindings share: configuration, endpoint calls, poller options,
//! checkpoint specs and error details, all as JSON, so Python, Node and C map the core in one
//! way and none of them re-implements behaviour.
//!
//! One concept per file: [`HostConfig`] (client configuration), [`Request`] (the endpoint
//! calls, typed, and [`call`]), the poller options, the checkpoint specs, [`HostPoller`], [`HostFleet`] and
//! [`ErrorInfo`]. The dependency runs one way: this module uses [`crate::poller`], never the
//! reverse.

mod checkpoint;
mod config;
mod error;
mod fleet;
mod options;
mod poller;
mod request;

pub use checkpoint::{checkpoint_from_json, seeded_memory_store};
pub use config::{HostConfig, client_from_json};
pub use error::{ErrorInfo, error_info, keeps_running_after};
pub use fleet::{HostDelivery, HostFleet, Pulled};
pub use options::{
    HostPollerOptions, HostUpdatedOptions, expand_from_json, poller_options_from_json,
    updated_options_from_json,
};
pub use poller::{HostPoller, HostRecord};
pub use request::{METHODS, Request, args, call};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// `v` as JSON (an answer or a record that cannot be encoded is a consumer error).
fn to_json<T: Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Consumer(format!("cannot encode the answer: {e}")))
}
