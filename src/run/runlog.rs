//! Run logging: human lines on stderr, JSON lines in the run directory's
//! `run.log`, and a progress display.
//!
//! Nothing personal goes into a log: events carry counts, row numbers, record
//! ids (request numbers) and codes — never names, addresses, birth dates or
//! postal codes. Reject reasons are not logged (they may quote a value); they
//! are in the rejects files only.

use serde_json::{json, Value};
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How much goes to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Summary lines and progress.
    #[default]
    Normal,
    /// Also a line per document.
    Verbose,
}

/// The log of one run.
pub struct RunLog {
    file: Mutex<Option<File>>,
    verbosity: Verbosity,
    start: Instant,
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(now.as_secs() as i64, now.subsec_nanos())
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl RunLog {
    /// A log that writes only to stderr (before the run directory exists).
    pub fn stderr_only(verbosity: Verbosity) -> RunLog {
        RunLog {
            file: Mutex::new(None),
            verbosity,
            start: Instant::now(),
        }
    }

    /// Starts appending JSON lines to `path` as well.
    pub fn attach(&self, path: &Path, mode: u32) -> std::io::Result<()> {
        let f = crate::files::open_for_write(path, crate::files::WriteMode::Append, mode)?;
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
        Ok(())
    }

    /// The verbosity.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Logs an event: `human` goes to stderr at `level`, the event with its
    /// fields to `run.log`.
    pub fn event(&self, level: Verbosity, event: &str, human: &str, fields: Value) {
        if level <= self.verbosity && !human.is_empty() {
            // A closed stderr (a log pipe that went away) must not stop the
            // batch: the line is dropped, run.log still has the event.
            let _ = writeln!(std::io::stderr(), "chohyo: {human}");
        }
        let mut obj = json!({
            "ts": timestamp(),
            "elapsed_ms": self.start.elapsed().as_millis() as u64,
            "level": match level { Verbosity::Quiet => "error", Verbosity::Normal => "info", Verbosity::Verbose => "debug" },
            "event": event,
        });
        if let (Some(map), Value::Object(extra)) = (obj.as_object_mut(), fields) {
            map.extend(extra);
        }
        if let Some(f) = self.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let _ = writeln!(f, "{obj}");
        }
    }

    /// Logs at normal level.
    pub fn info(&self, event: &str, human: &str, fields: Value) {
        self.event(Verbosity::Normal, event, human, fields);
    }

    /// Logs an error (always shown).
    pub fn error(&self, event: &str, human: &str, fields: Value) {
        self.event(Verbosity::Quiet, event, human, fields);
    }
}

/// Progress of rendering: a bar on a terminal, plain lines every few seconds
/// elsewhere (cron, systemd and JP1 capture stderr), nothing when quiet.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: Option<Mutex<(Instant, u64)>>,
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl Progress {
    /// A progress display for `total` documents (more can be announced
    /// with [`Progress::add_total`] as the input is read).
    pub fn new(total: u64, verbosity: Verbosity) -> Progress {
        let quiet = verbosity == Verbosity::Quiet;
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} 件 ({per_sec}, 残り {eta})",
            ) {
                b.set_style(style);
            }
            b
        });
        let plain = (!quiet && !tty).then(|| Mutex::new((Instant::now(), 0)));
        Progress {
            bar,
            plain,
            total: std::sync::atomic::AtomicU64::new(total),
            done: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// One more document done.
    pub fn inc(&self) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.inc(1);
        }
        if let Some(p) = &self.plain {
            let mut g = p.lock().unwrap_or_else(|e| e.into_inner());
            if g.0.elapsed() >= Duration::from_secs(5) && n != g.1 {
                let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
                let _ = writeln!(std::io::stderr(), "chohyo: 進捗 (progress) {n}/{total} 件");
                *g = (Instant::now(), n);
            }
        }
    }

    /// `n` more documents to do (read from the input).
    pub fn add_total(&self, n: u64) {
        self.total
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc_length(n);
        }
    }

    /// Ends the display.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
