//! The C ABI's string inputs: arbitrary bytes (NUL-terminated, any encoding) as the client
//! configuration, method names, JSON arguments and checkpoint specs give a status, never a
//! crash, and out-parameters are written only on success.
#![no_main]
use std::ffi::{CString, c_char};
use std::ptr;

use libfuzzer_sys::fuzz_target;
use safe_tracker::*;

fn cstr(bytes: &[u8]) -> CString {
    CString::new(bytes.iter().copied().filter(|b| *b != 0).collect::<Vec<u8>>()).expect("no NUL")
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.splitn(4, |b| *b == b'|').collect();
    let get = |i: usize| cstr(parts.get(i).copied().unwrap_or(b""));
    let (a, b, c, d) = (get(0), get(1), get(2), get(3));
    unsafe {
        // The configuration from fuzzed strings.
        let config = safe_client_config {
            base_url: a.as_ptr(),
            token: b.as_ptr(),
            organization_id: 1,
            office_id: 1,
            requests_per_second: 0.0,
            max_attempts: 1,
            attempt_timeout_ms: 50,
            ca_file: ptr::null(),
            options_json: c.as_ptr(),
        };
        let mut client: *mut safe_client = ptr::null_mut();
        let st = safe_client_new(&config, &mut client);
        assert!(st == safe_status::SAFE_OK || client.is_null());
        safe_client_free(client);

        // Calls on a client that can never reach a server (port 9 on loopback refuses).
        let base = CString::new("http://127.0.0.1:9/api/").unwrap();
        let token = CString::new("fuzz-token").unwrap();
        let options = CString::new(r#"{"connect_timeout_ms":50,"call_timeout_ms":200}"#).unwrap();
        let config = safe_client_config { base_url: base.as_ptr(), token: token.as_ptr(), options_json: options.as_ptr(), ..config };
        let mut client: *mut safe_client = ptr::null_mut();
        assert_eq!(safe_client_new(&config, &mut client), safe_status::SAFE_OK);
        let mut out: *mut c_char = ptr::null_mut();
        if safe_client_call(client, a.as_ptr(), d.as_ptr(), &mut out) == safe_status::SAFE_OK {
            safe_string_free(out);
        } else {
            assert!(out.is_null());
        }
        let mut poller: *mut safe_poller = ptr::null_mut();
        if safe_poller_new(client, b.as_ptr(), c.as_ptr(), d.as_ptr(), &mut poller) == safe_status::SAFE_OK {
            safe_poller_free(poller);
        } else {
            assert!(poller.is_null());
        }
        let _ = safe_last_error_message();
        safe_client_free(client);
    }
});
