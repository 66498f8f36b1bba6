//! Poller options, the records it delivers, its events, status and plan.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::{Case, CustodyEntry, FormDataEntry, Item, Person};
use crate::poller::state::{PartialNumber, SkippedNumber, StuckNumber, SweepSummary};

/// The hard floor between two sweep starts: the vendor warns that calling more than once a
/// minute may get the account disabled.
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// What to fetch with each item (each is one paced request).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Expand {
    /// The item's custom form data.
    pub form_data: bool,
    /// The item's primary case.
    pub case: bool,
    /// The people of the primary case.
    pub people: bool,
    /// The item's chain of custody.
    pub custody: bool,
}

impl Expand {
    /// Everything.
    pub fn all() -> Expand {
        Expand {
            form_data: true,
            case: true,
            people: true,
            custody: true,
        }
    }

    /// Parses a comma-separated list of `form_data`, `case`, `people`, `custody` (or `all`).
    pub fn parse(list: &str) -> Result<Expand> {
        let mut e = Expand::default();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.replace('-', "_").to_ascii_lowercase().as_str() {
                "form_data" | "formdata" | "forms" => e.form_data = true,
                "case" => e.case = true,
                "people" => e.people = true,
                "custody" | "coc" | "chain_of_custody" => e.custody = true,
                "all" => e = Expand::all(),
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "unknown expansion `{other}` (use form_data, case, people, custody or all)"
                    )));
                }
            }
        }
        Ok(e)
    }
}

/// How the sequential poller behaves. The defaults are the vendor's exact procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct PollerOptions {
    /// The first number to request when no checkpoint exists. Default 1.
    pub start_seq: u64,
    /// How many numbers past a blank answer are probed for a later item (0 = the vendor's
    /// exact behaviour: stop at the first blank).
    pub gap_tolerance: u32,
    /// Holes not filled after this long are abandoned. Default 24 h.
    pub hole_max_age: Duration,
    /// Requests kept in flight ahead of the consumer (0 = one at a time).
    pub read_ahead: u32,
    /// What to fetch with each item.
    pub expand: Expand,
    /// Time between sweep starts for [`crate::poller::Poller::run_forever`]. Default 10 min.
    pub interval: Duration,
    /// Random extra wait added to each interval, up to this. Default 30 s.
    pub jitter: Duration,
    /// Lowers the 60-second floor between sweep starts. Only for tests against a simulator:
    /// the vendor warns that polling more than once a minute may disable the account.
    pub unsafe_min_interval: Option<Duration>,
    /// Sweeps without progress before an item search checks for items beyond the cursor.
    /// Default 3.
    pub stall_after_sweeps: u32,
    /// When stalled at a hole, record it and jump to the next existing item. Default false.
    pub jump_stalls: bool,
}

impl Default for PollerOptions {
    fn default() -> Self {
        PollerOptions {
            start_seq: 1,
            gap_tolerance: 0,
            hole_max_age: Duration::from_secs(24 * 3600),
            read_ahead: 0,
            expand: Expand::default(),
            interval: Duration::from_secs(600),
            jitter: Duration::from_secs(30),
            unsafe_min_interval: None,
            stall_after_sweeps: 3,
            jump_stalls: false,
        }
    }
}

impl PollerOptions {
    /// The floor between sweep starts in force.
    pub fn floor(&self) -> Duration {
        self.unsafe_min_interval.unwrap_or(MIN_SWEEP_INTERVAL)
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<()> {
        check_durations(&[
            ("hole_max_age", Some(self.hole_max_age)),
            ("interval", Some(self.interval)),
            ("jitter", Some(self.jitter)),
            ("unsafe_min_interval", self.unsafe_min_interval),
        ])?;
        if self.interval < self.floor() {
            return Err(Error::InvalidConfig(format!(
                "interval {:?} is below the floor of {:?} between sweeps (the vendor warns that \
                 more than one call a minute may disable the account)",
                self.interval,
                self.floor()
            )));
        }
        if self.read_ahead > 64 {
            return Err(Error::InvalidConfig("read_ahead must be at most 64".into()));
        }
        if self.gap_tolerance > 1000 {
            return Err(Error::InvalidConfig(
                "gap_tolerance must be at most 1000".into(),
            ));
        }
        if self.stall_after_sweeps == 0 {
            return Err(Error::InvalidConfig(
                "stall_after_sweeps must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Checks each duration option against [`crate::config::MAX_SETTING_DURATION`] (ten years):
/// a longer one would overflow the poller's clock arithmetic.
pub(crate) fn check_durations(options: &[(&str, Option<Duration>)]) -> Result<()> {
    for (name, d) in options {
        if let Some(d) = d {
            crate::config::check_duration(name, *d)?;
        }
    }
    Ok(())
}

/// The identity of a delivered item: hosts upsert by it. The item `id` is the identity, not
/// its sequential number: a number can be held by several items and an item can be renumbered
/// (safe-api.md §4.5). An item without an `id` (not seen so far) falls back to its number.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(untagged)]
pub enum DedupeKey {
    /// (organisation, item id): every item that has an id.
    Item {
        /// Organisation id.
        organization_id: u64,
        /// Item id.
        item_id: i64,
    },
    /// (organisation, sequential number): an item that came without an `id`.
    Number {
        /// Organisation id.
        organization_id: u64,
        /// Sequential org id.
        sequential_org_id: u64,
    },
}

impl DedupeKey {
    /// The key of `item`, delivered under number `seq` of `organization_id`.
    pub fn of(organization_id: u64, seq: u64, item: &Item) -> DedupeKey {
        match item.id {
            Some(item_id) => DedupeKey::Item {
                organization_id,
                item_id,
            },
            None => DedupeKey::Number {
                organization_id,
                sequential_org_id: seq,
            },
        }
    }
}

impl std::fmt::Display for DedupeKey {
    /// `<org>/item/<id>` or `<org>/seq/<number>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DedupeKey::Item {
                organization_id,
                item_id,
            } => write!(f, "{organization_id}/item/{item_id}"),
            DedupeKey::Number {
                organization_id,
                sequential_org_id,
            } => write!(f, "{organization_id}/seq/{sequential_org_id}"),
        }
    }
}

/// One delivered item with what was asked for. Delivery is at least once: upsert by
/// [`ItemRecord::key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ItemRecord {
    /// The identity to upsert by: (organisation, item id), or (organisation, number) for an
    /// item without an id.
    pub key: DedupeKey,
    /// Organisation id.
    pub organization_id: u64,
    /// The sequential org id it was delivered under (several items may share one; an item
    /// may come back later under another).
    pub sequential_org_id: u64,
    /// The item.
    pub item: Item,
    /// Its form data, when expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_data: Option<Vec<FormDataEntry>>,
    /// Its primary case, when expanded (and it has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<Case>,
    /// The people of its primary case, when expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<Vec<Person>>,
    /// Its chain of custody, when expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<Vec<CustodyEntry>>,
    /// True when it filled a hole (it became visible after later numbers).
    pub late: bool,
    /// What was not as it should be: expansions not found (e.g. a restricted case), form data
    /// whose `data` did not decode (kept raw), an item without an id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ItemRecord {
    /// The dedupe key (see [`DedupeKey`]).
    pub fn dedupe_key(&self) -> DedupeKey {
        self.key
    }
}

/// Something a sweep noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum PollerEvent {
    /// A sweep started at `cursor`.
    SweepStarted {
        /// The cursor.
        cursor: u64,
    },
    /// `seq` answered blank while a later number held an item.
    HoleRecorded {
        /// The number.
        seq: u64,
    },
    /// A hole was probed again and is still blank.
    HoleProbed {
        /// The number.
        seq: u64,
    },
    /// A hole's item appeared and was delivered (marked late).
    HoleFilled {
        /// The number.
        seq: u64,
    },
    /// A hole was given up after `hole_max_age`.
    HoleAbandoned {
        /// The number.
        seq: u64,
    },
    /// One number is held by several items; each is delivered as its own record.
    DuplicateNumber {
        /// The number.
        seq: u64,
        /// The ids of its items (ascending).
        ids: Vec<i64>,
    },
    /// An operator stepped over a number (`skip`).
    Skipped {
        /// The number.
        seq: u64,
        /// The operator's reason.
        reason: String,
    },
    /// The cursor has not moved for several sweeps and items exist beyond it.
    Stalled {
        /// The cursor.
        at: u64,
        /// The first number known beyond it.
        next_known: u64,
        /// Whether the poller jumped over the hole.
        jumped: bool,
    },
    /// A sweep ended.
    SweepFinished {
        /// Its summary.
        summary: SweepSummary,
    },
}

/// The report of one sweep (hosts read it as JSON after each sweep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepReport {
    /// The summary saved in the checkpoint.
    pub summary: SweepSummary,
    /// What happened along the way.
    pub events: Vec<PollerEvent>,
}

/// The poller's status, read from its state without any request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PollerStatus {
    /// The stream.
    pub stream: String,
    /// The next number to request.
    pub cursor: u64,
    /// Open holes.
    pub holes: Vec<u64>,
    /// When the last sweep started.
    pub last_sweep_started: Option<DateTime<Utc>>,
    /// How the last sweep went.
    pub last_sweep: Option<SweepSummary>,
    /// The earliest time the next sweep may start (the floor).
    pub next_allowed_sweep: Option<DateTime<Utc>>,
    /// Requests spent over the poller's life.
    pub requests_spent: u64,
    /// When stalled at a hole: the first number known beyond the cursor.
    pub stalled_next: Option<u64>,
    /// Updated-items stream: the watermark.
    pub watermark: Option<DateTime<Utc>>,
    /// The number the last sweeps failed at, and why (e.g. an item that cannot be decoded):
    /// step over it with `skip` when it will never succeed.
    pub stuck: Option<StuckNumber>,
    /// The number held by several items whose delivery is under way.
    pub partial: Option<PartialNumber>,
    /// Numbers skipped by an operator (the latest [`crate::poller::MAX_SKIPPED`]).
    pub skipped: Vec<SkippedNumber>,
    /// Answers that held several items for one number, over the poller's life.
    pub duplicate_numbers: u64,
}

/// What the next sweep would do and when it may start, computed without any request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepPlan {
    /// The earliest start allowed by the floor.
    pub earliest_start: DateTime<Utc>,
    /// When `run_forever` would start it (interval after the last start, jitter excluded).
    pub scheduled_start: DateTime<Utc>,
    /// How long from now until the earliest start.
    pub wait: Duration,
    /// The first number it would request.
    pub start_seq: u64,
    /// Holes it would probe again.
    pub holes_to_probe: Vec<u64>,
    /// Holes it would abandon for age.
    pub holes_to_abandon: Vec<u64>,
    /// Numbers probed past a blank answer.
    pub gap_tolerance: u32,
    /// Requests kept in flight.
    pub read_ahead: u32,
    /// Requests per item (1 plus expansions).
    pub requests_per_item: u32,
    /// Whether a stall check (one item search) would run if the cursor does not move.
    pub stall_check_due: bool,
}
