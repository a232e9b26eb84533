//! Printing for every subcommand, through [`outln!`] and [`errln!`]: a
//! closed output (`chohyo ledger … | head`) is a graceful end, never a
//! panic with a backtrace.
//!
//! `println!` panics when its stream is a pipe whose reader has gone
//! (Rust ignores SIGPIPE, so the write fails with `EPIPE`). As ripgrep does,
//! a broken pipe here means the reader has seen enough: the stream is marked
//! closed, later lines to it are dropped, and the command goes on to its
//! own end and exit code (a ledger listing, a verify report: nothing is
//! left half-done). Uses only the standard library.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which stream a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (results).
    Out,
    /// Standard error (messages, progress).
    Err,
}

static OUT_CLOSED: AtomicBool = AtomicBool::new(false);
static ERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes one line to `stream`; nothing when the stream has been closed
/// by its reader. Other write errors are dropped as well: there is no
/// stream left to report them on that would not be the failing one.
pub fn line(stream: Stream, args: std::fmt::Arguments<'_>) {
    let closed = match stream {
        Stream::Out => &OUT_CLOSED,
        Stream::Err => &ERR_CLOSED,
    };
    if closed.load(Ordering::Relaxed) {
        return;
    }
    let written = match stream {
        Stream::Out => writeln!(std::io::stdout().lock(), "{args}"),
        Stream::Err => writeln!(std::io::stderr().lock(), "{args}"),
    };
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            closed.store(true, Ordering::Relaxed);
        }
    }
}

/// `println!` that ends quietly when standard output is closed.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::line($crate::cli::output::Stream::Out, format_args!($($arg)*))
    };
}

/// `eprintln!` that ends quietly when standard error is closed.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::output::line($crate::cli::output::Stream::Err, format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};
