//! `Retry-After` values: parsing never panics and never overflows.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let _ = safe_tracker::retry::parse_retry_after(text, now);
    }
});
