//! Stopping a batch cleanly on SIGINT or SIGTERM (Ctrl-C, `systemctl stop`,
//! a scheduler's timeout): the documents in hand are finished and
//! journaled, nothing half-written stays behind, and the run exits with the
//! signal's code (130 or 143) so that running it again resumes.
//!
//! The handler only records the signal (an atomic store is all a signal
//! handler may safely do); the rendering side looks at it between chunks.
//! A second signal ends the process at once.
//!
//! Uses nothing of the crate but the error type.

use crate::error::BatchError;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal received, 0 while none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    if RECEIVED.swap(signal, Ordering::SeqCst) != 0 {
        // Asked twice: stop now (`_exit` is async-signal-safe).
        unsafe { libc::_exit(128 + signal) };
    }
}

/// Asks SIGINT and SIGTERM to stop the batch cleanly instead of killing the
/// process mid-write. Called once by the `run` command.
pub fn install() {
    #[cfg(unix)]
    {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only touches an atomic and calls `_exit`.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    }
}

/// The error that stops the batch when a signal came, if one did.
pub fn requested() -> Option<BatchError> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(BatchError::Stopped(signal)),
    }
}
