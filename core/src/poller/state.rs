//! The poller's durable state: what a checkpoint store saves.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Version of the checkpoint format; a store refuses a newer one. Version 2 added the
/// partly delivered number, the stuck number, the skipped list and the duplicate count (a
/// version-1 checkpoint loads with them empty).
pub const STATE_VERSION: u32 = 2;

/// How many operator skips the state keeps (the oldest go first).
pub const MAX_SKIPPED: usize = 100;

/// An open hole: a number that answered blank while a later one held an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Hole {
    /// When it was first seen.
    pub first_seen: DateTime<Utc>,
    /// How many times it was probed again.
    pub probes: u32,
}

/// A number held by several items whose delivery is under way: which of its items were
/// acknowledged, so that a restart redelivers only the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PartialNumber {
    /// The number (the cursor, or an open hole).
    pub seq: u64,
    /// Ids of its items acknowledged so far.
    pub done: Vec<i64>,
    /// How many of its items without an `id` were acknowledged (they are delivered after the
    /// others, in the server's order).
    #[serde(default)]
    pub done_without_id: u32,
}

/// The number the last sweeps failed at, and why. Cleared once the number is delivered or
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StuckNumber {
    /// The number.
    pub seq: u64,
    /// The stable error code of the last failure.
    pub code: u32,
    /// The error's name (e.g. `Decode`).
    pub name: String,
    /// The error message.
    pub message: String,
    /// When a sweep first failed at it.
    pub since: DateTime<Utc>,
    /// How many sweeps in a row failed at it.
    pub sweeps: u32,
}

/// A number an operator stepped over with `skip`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SkippedNumber {
    /// The number.
    pub seq: u64,
    /// The operator's reason.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The failure the poller was stuck with there, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The number was not stuck (it answered blank), so it stays an open hole: re-probed, and
    /// delivered late should an item appear there.
    #[serde(default)]
    pub kept_as_hole: bool,
}

/// How the last sweep ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SweepOutcome {
    /// Reached a blank answer.
    Completed,
    /// Stopped by an error; the cursor stayed at the failed number.
    Failed {
        /// The stable error code.
        code: u32,
        /// The error message.
        message: String,
    },
    /// Cancelled, or the consumer stopped reading.
    Interrupted,
}

impl SweepOutcome {
    /// How a sweep that stopped with `e` ended: `Interrupted` when cancelled, else `Failed`.
    pub fn from_error(e: &crate::Error) -> SweepOutcome {
        if matches!(e, crate::Error::Cancelled) {
            SweepOutcome::Interrupted
        } else {
            SweepOutcome::Failed {
                code: e.code().as_u32(),
                message: e.to_string(),
            }
        }
    }
}

/// The summary of one sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepSummary {
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub finished: DateTime<Utc>,
    /// Records acknowledged.
    pub items: u64,
    /// Requests sent.
    pub requests: u64,
    /// Holes recorded.
    pub holes_recorded: u64,
    /// Holes filled.
    pub holes_filled: u64,
    /// Holes abandoned.
    pub holes_abandoned: u64,
    /// Answers that held several items for one number.
    #[serde(default)]
    pub duplicate_numbers: u64,
    /// The cursor at the start and at the end.
    pub cursor_start: u64,
    /// The cursor at the end.
    pub cursor_end: u64,
    /// How it ended.
    pub outcome: SweepOutcome,
}

/// Everything a poller must remember across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PollerState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The stream: `items` (new items) or `updated` (updated items).
    pub stream: String,
    /// The next sequential org id to request.
    pub cursor: u64,
    /// Open holes by number.
    #[serde(default)]
    pub holes: BTreeMap<u64, Hole>,
    /// When the last sweep started (the 60-second floor is measured from it).
    #[serde(default)]
    pub last_sweep_started: Option<DateTime<Utc>>,
    /// How the last sweep went.
    #[serde(default)]
    pub last_sweep: Option<SweepSummary>,
    /// Requests spent by this poller, over its whole life.
    #[serde(default)]
    pub requests_spent: u64,
    /// Consecutive sweeps that ended with the cursor where it started.
    #[serde(default)]
    pub unmoved_sweeps: u32,
    /// Set when the cursor is stalled at a hole: the first number known beyond it.
    #[serde(default)]
    pub stalled_next: Option<u64>,
    /// Updated-items stream: the modification time acknowledged last.
    #[serde(default)]
    pub watermark: Option<DateTime<Utc>>,
    /// Updated-items stream: (id, modification time) acknowledged inside the overlap window.
    #[serde(default)]
    pub recent: Vec<(i64, String)>,
    /// The number held by several items whose delivery is under way.
    #[serde(default)]
    pub partial: Option<PartialNumber>,
    /// The number the last sweeps failed at.
    #[serde(default)]
    pub stuck: Option<StuckNumber>,
    /// Numbers an operator skipped (at most [`MAX_SKIPPED`], oldest first).
    #[serde(default)]
    pub skipped: Vec<SkippedNumber>,
    /// Answers that held several items for one number, over the poller's life.
    #[serde(default)]
    pub duplicate_numbers: u64,
}

impl PollerState {
    /// A fresh state starting at `start_seq`.
    pub fn new(stream: &str, start_seq: u64) -> PollerState {
        PollerState {
            version: STATE_VERSION,
            stream: stream.to_string(),
            cursor: start_seq.max(1),
            holes: BTreeMap::new(),
            last_sweep_started: None,
            last_sweep: None,
            requests_spent: 0,
            unmoved_sweeps: 0,
            stalled_next: None,
            watermark: None,
            recent: Vec::new(),
            partial: None,
            stuck: None,
            skipped: Vec::new(),
            duplicate_numbers: 0,
        }
    }

    /// Drops the record of a partly delivered number if it is `seq`'s.
    pub fn forget_partial(&mut self, seq: u64) {
        if self.partial.as_ref().is_some_and(|p| p.seq == seq) {
            self.partial = None;
        }
    }

    /// Serialises the state to JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("state serialises")
    }

    /// Parses a state saved by [`PollerState::to_json`], refusing newer formats.
    pub fn from_json(text: &str) -> crate::Result<PollerState> {
        let state: PollerState = serde_json::from_str(text)
            .map_err(|e| crate::Error::Checkpoint(format!("the checkpoint is not valid: {e}")))?;
        if state.version > STATE_VERSION {
            return Err(crate::Error::Checkpoint(format!(
                "the checkpoint has format version {}, newer than this SDK's {STATE_VERSION}",
                state.version
            )));
        }
        Ok(state)
    }
}
