//! The pull-style sweep (`safe_sweep_*`: the host asks for each record, and asking for the
//! next acknowledges the one before), and what a host's own run-for-ever loop and event
//! listener need: `safe_poller_wait_scheduled`, `safe_poller_decide`, the queued events and
//! the last report. The C# library's `SweepAsync` and `RunForeverAsync` are built on these.

use std::ffi::c_char;
use std::sync::Arc;

use safe_tracker::Error;
use safe_tracker::host::HostPoller;
use safe_tracker::poller::Decision;
use serde_json::Value;

use super::{
    Failure, block_on, block_on_cancellable, guard, invalid, item_value, opt_str_arg, out_check,
    ref_arg, safe_cancel, safe_item, safe_poller, safe_status, to_c_string, write_json,
};

/// One sweep of a poller, pulled record by record (see safe_sweep_begin()). Used by one
/// thread at a time.
pub struct safe_sweep {
    poller: Arc<HostPoller>,
    ticket: u32,
    /// The item of the record last returned, lent to the host until the next call.
    current: Option<Box<safe_item>>,
    /// The sweep reached its end or failed: nothing is left to end.
    finished: bool,
}

/// Starts a pulled sweep of `poller`; no request is made before the first safe_sweep_next().
/// A sweep of the same poller started later (pulled, or safe_poller_sweep()) supersedes this
/// one, whose calls then fail with SAFE_CHECKPOINT, so two consumers never acknowledge each
/// other's records. Free it with safe_sweep_free().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_sweep_begin(
    poller: *const safe_poller,
    out: *mut *mut safe_sweep,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        out_check(out, "out")?;
        let p = poller.poller.clone();
        let ticket = block_on(async move { Ok(p.begin().await) })?;
        unsafe {
            *out = Box::into_raw(Box::new(safe_sweep {
                poller: poller.poller.clone(),
                ticket,
                current: None,
                finished: false,
            }))
        };
        Ok(())
    })
}

/// Acknowledges the record last returned by `sweep` (its checkpoint is saved first) and
/// returns the next: `*out_record_json` receives the record as JSON (the same text a record
/// callback gets; free it with safe_string_free()) and `*out_item` its item, lent until the
/// next call on this sweep or safe_sweep_free(). Both receive NULL at the sweep's end
/// (safe_poller_last_report() then has its report). Either out-parameter may be NULL when not
/// wanted. When `cancel` (NULL: never) is triggered first, the call fails with SAFE_CANCELLED
/// and the sweep ends; the record last returned may then be unacknowledged, and comes again
/// first in the next sweep. Any failure ends the sweep.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_sweep_next(
    sweep: *mut safe_sweep,
    cancel: *const safe_cancel,
    out_item: *mut *const safe_item,
    out_record_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let sweep = unsafe { sweep.as_mut() }.ok_or_else(|| invalid("`sweep` is NULL"))?;
        let cancel = unsafe { cancel.as_ref() };
        if sweep.finished {
            return Err(invalid("the sweep has ended: begin another"));
        }
        sweep.current = None;
        let (p, ticket) = (sweep.poller.clone(), sweep.ticket);
        let next = block_on_cancellable(async move { p.next(ticket).await }, cancel);
        let record = match next {
            Ok(Some(record)) => record,
            Ok(None) => {
                sweep.finished = true;
                write_record(None, std::ptr::null_mut(), out_item, out_record_json);
                return Ok(());
            }
            Err(f) => {
                sweep.finished = true;
                // A cancelled call dropped the stream's `next` mid-way: end the sweep, so the
                // next one starts again from the saved checkpoint.
                let (p, ticket) = (sweep.poller.clone(), sweep.ticket);
                block_on(async move {
                    p.end(ticket).await;
                    Ok(())
                })?;
                return Err(f);
            }
        };
        let json = record.json().map_err(Failure::from).and_then(to_c_string)?;
        let item = match item_value(record.item().clone()) {
            Ok(item) => Box::new(item),
            Err(f) => {
                unsafe { super::safe_string_free(json) };
                return Err(f);
            }
        };
        let lent: *const safe_item = &*item;
        sweep.current = Some(item);
        write_record(Some(lent), json, out_item, out_record_json);
        Ok(())
    })
}

/// Writes a record (or the end: `None` and NULL) to the out-parameters the caller asked for;
/// the JSON is freed when its out-parameter is NULL.
fn write_record(
    item: Option<*const safe_item>,
    json: *mut c_char,
    out_item: *mut *const safe_item,
    out_record_json: *mut *mut c_char,
) {
    if !out_item.is_null() {
        unsafe { *out_item = item.unwrap_or(std::ptr::null()) };
    }
    if out_record_json.is_null() {
        unsafe { super::safe_string_free(json) };
    } else {
        unsafe { *out_record_json = json };
    }
}

/// Ends `sweep` because the host could not handle the record last returned: it stays
/// unacknowledged and comes again first in the next sweep. `reason` (NULL: none given) goes
/// into the error's message. Returns the sweep's error: SAFE_CONSUMER, or the checkpoint's
/// error when saving the sweep's end failed (with the thread's last error set).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_sweep_fail(
    sweep: *mut safe_sweep,
    reason: *const c_char,
) -> safe_status {
    guard(|| {
        let sweep = unsafe { sweep.as_mut() }.ok_or_else(|| invalid("`sweep` is NULL"))?;
        let reason = unsafe { opt_str_arg(reason, "reason") }?
            .unwrap_or("the host failed to handle the record")
            .to_string();
        sweep.current = None;
        if sweep.finished {
            return Err(Failure::from(Error::Consumer(reason)));
        }
        sweep.finished = true;
        let (p, ticket) = (sweep.poller.clone(), sweep.ticket);
        let error = block_on(async move { Ok(p.fail(ticket, &reason).await) })?;
        Err(Failure::from(error))
    })
}

/// Frees a sweep; one that did not reach its end ends with its last record unacknowledged
/// (it comes again first in the next sweep). Accepts NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_sweep_free(sweep: *mut safe_sweep) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if sweep.is_null() {
            return;
        }
        let sweep = unsafe { Box::from_raw(sweep) };
        if !sweep.finished && tokio::runtime::Handle::try_current().is_err() {
            let (p, ticket) = (sweep.poller.clone(), sweep.ticket);
            let _ = block_on(async move {
                p.end(ticket).await;
                Ok(())
            });
        }
    }));
}

/// Waits until the poller's schedule lets the next sweep of a run-for-ever loop start (the
/// interval plus jitter after the last start, longer after failures, never before the
/// floor). Fails with SAFE_CANCELLED when the poller or `cancel` (NULL: none) is cancelled.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_wait_scheduled(
    poller: *const safe_poller,
    cancel: *const safe_cancel,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        let cancel = unsafe { cancel.as_ref() };
        let p = poller.poller.clone();
        block_on_cancellable(async move { p.wait_scheduled().await }, cancel)
    })
}

/// The core's rule after a sweep of a run-for-ever loop: `outcome` is the status the sweep
/// ended with (SAFE_OK when it completed). `*out_again` is true when the loop waits with
/// safe_poller_wait_scheduled() and sweeps again (completed, a transient failure, a parked
/// account error), false when it ends: normally when `outcome` is SAFE_OK or SAFE_CANCELLED,
/// otherwise with the sweep's error (configuration, storage, the consumer, another owner, an
/// account error that stops). A status that is not a core code (90+) always ends it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_decide(
    poller: *const safe_poller,
    outcome: safe_status,
    out_again: *mut bool,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        out_check(out_again, "out_again")?;
        let code = match outcome {
            safe_status::SAFE_OK => None,
            other => match safe_tracker::ErrorCode::from_u32(other as u32) {
                Some(code) => Some(code),
                None => {
                    unsafe { *out_again = false };
                    return Ok(());
                }
            },
        };
        let p = poller.poller.clone();
        let decision = block_on(async move { Ok(p.decide(code).await) })?;
        let again = !matches!(
            decision,
            Decision::Stop | Decision::Cancelled | Decision::Fenced
        );
        unsafe { *out_again = again };
        Ok(())
    })
}

/// From now on the poller keeps its events (`{"event":…}` objects, the ones a sweep report
/// lists) for safe_poller_take_events(), up to 10,000 untaken (the oldest are dropped), so a
/// host hands them to its listeners on its own thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_queue_events(poller: *const safe_poller) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        poller.poller.queue_events();
        Ok(())
    })
}

/// Writes the events kept since the last call as a JSON array, oldest first (`[]` when none,
/// or before safe_poller_queue_events()).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_take_events(
    poller: *const safe_poller,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        out_check(out_json, "out_json")?;
        write_json(Value::Array(poller.poller.take_events()), out_json)
    })
}

/// Writes the report of the poller's last completed sweep as JSON (`null` before the first).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn safe_poller_last_report(
    poller: *const safe_poller,
    out_json: *mut *mut c_char,
) -> safe_status {
    guard(|| {
        let poller = unsafe { ref_arg(poller, "poller") }?;
        out_check(out_json, "out_json")?;
        write_json(poller.poller.last_report().unwrap_or(Value::Null), out_json)
    })
}
