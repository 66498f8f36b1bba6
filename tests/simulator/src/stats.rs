//! Request statistics: requests per route and token, and the highest request count seen in
//! any sliding window, so tests can prove pacing.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use serde_json::{Value, json};

/// Every API request seen, in arrival order.
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    /// Arrival times in microseconds since start, with route and token.
    log: Vec<(u64, String, String)>,
    /// Recent arrivals per token (microseconds), for rate policing.
    recent: HashMap<String, VecDeque<u64>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            log: Vec::new(),
            recent: HashMap::new(),
        }
    }
}

impl Stats {
    /// Records one request; returns how many requests this token made in the last minute.
    pub fn record(&mut self, route: &str, token: &str) -> usize {
        let t = self.started.elapsed().as_micros() as u64;
        self.log.push((t, route.to_string(), token.to_string()));
        let q = self.recent.entry(token.to_string()).or_default();
        q.push_back(t);
        while q.front().is_some_and(|&f| f + 60_000_000 <= t) {
            q.pop_front();
        }
        q.len()
    }

    /// When each token made its first request (microseconds since the start or the last
    /// reset).
    pub fn first_request_by_token(&self) -> HashMap<String, u64> {
        let mut first = HashMap::new();
        for (t, _, token) in &self.log {
            first.entry(token.clone()).or_insert(*t);
        }
        first
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        *self = Stats::default();
    }

    /// Requests seen.
    pub fn total(&self) -> usize {
        self.log.len()
    }

    /// Requests seen on `route` (a template such as `/api/items/seqOrgID/{n}`).
    pub fn count_route(&self, route: &str) -> usize {
        self.log.iter().filter(|(_, r, _)| r == route).count()
    }

    /// The most requests that arrived within any window of `window_us` microseconds.
    pub fn max_in_window(&self, window_us: u64) -> usize {
        let mut best = 0;
        let mut start = 0;
        for end in 0..self.log.len() {
            while self.log[end].0 - self.log[start].0 >= window_us {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    /// The statistics as JSON (tokens are shown redacted to their last four characters).
    pub fn to_json(&self, window_ms: u64) -> Value {
        let mut per_route: BTreeMap<&str, usize> = BTreeMap::new();
        let mut per_token: BTreeMap<String, usize> = BTreeMap::new();
        for (_, route, token) in &self.log {
            *per_route.entry(route).or_default() += 1;
            let tail: String = token
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            *per_token.entry(format!("…{tail}")).or_default() += 1;
        }
        let first = self.log.first().map(|l| l.0).unwrap_or(0);
        let last = self.log.last().map(|l| l.0).unwrap_or(0);
        json!({
            "total": self.total(),
            "per_route": per_route,
            "per_token": per_token,
            "window_ms": window_ms,
            "max_in_window": self.max_in_window(window_ms * 1000),
            "span_ms": (last - first) / 1000,
        })
    }
}
