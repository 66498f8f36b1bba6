//! Retry decisions: which answers are retried, back-off with full jitter, and `Retry-After`
//! parsing (seconds or HTTP-date).

use std::time::{Duration, SystemTime};

use crate::config::RetryPolicy;

/// HTTP statuses that are retried (for idempotent requests).
pub const RETRYABLE_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// True when `status` is worth another attempt.
pub fn is_retryable_status(status: u16) -> bool {
    RETRYABLE_STATUSES.contains(&status)
}

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now`. A date in the past means zero.
/// Anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        // Over-long digit strings saturate instead of failing: "wait a very long time".
        return Some(Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The back-off before attempt `attempt + 1` (attempt counts from 1): a uniformly random time
/// in `[0, min(max_delay, base_delay * 2^(attempt-1))]` ("full jitter").
pub fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let ceiling = policy
        .base_delay
        .saturating_mul(1u32 << exp)
        .min(policy.max_delay);
    if ceiling.is_zero() {
        return Duration::ZERO;
    }
    let nanos = rand::random_range(0..=ceiling.as_nanos().min(u64::MAX as u128) as u64);
    Duration::from_nanos(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        for attempt in 1..40 {
            let d = backoff(&p, attempt);
            assert!(d <= p.max_delay);
            let cap = p.base_delay.saturating_mul(1 << (attempt - 1).min(30));
            assert!(d <= cap);
        }
    }
}
