//! One measured run, in a fresh child process so that generating the input
//! does not count and each run's peak RSS is its own: a whole batch
//! (`run`, as `chohyo run` does it: start-up, reading, checking, planning,
//! rendering, writing or only hashing, finalize with the mail outputs) or
//! `check` alone (reading and checking, and the rejects files when the rows
//! are made to be rejected). The parent sends a [`Request`] as JSON and
//! reads a [`Measurement`] back; both ends check that every requested
//! document was rendered and every generated row was accepted (or, for a
//! rejects run, rejected), else the run is an error, not a figure.
//!
//! Uses `run` (the batch, the check), `mail` (`verify` of the outputs),
//! `job`, `check`, `bench::synth`,
//! `bench::kind` and `bench::rusage`.

use crate::bench::kind::JobKind;
use crate::bench::rusage::{monotonic_ns, usage};
use crate::bench::synth::{self, Rows};
use crate::bench::BenchError;
use crate::job::Job;
use crate::run::runlog::{RunLog, Verbosity};
use crate::run::{self, RunOptions, StageClock};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a run's documents go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sink {
    /// Every PDF written and synced, as `chohyo run` does.
    Disk,
    /// Rendered and hashed only (the pipeline's CPU without the disk).
    Null,
}

/// The input file format of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `.xlsx`.
    Xlsx,
    /// UTF-8 `.csv`.
    Csv,
}

impl Format {
    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }
}

/// A figure the child can be told to withhold: how the benchmark's own
/// tests show that a missing measurement is reported and fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Figure {
    /// CPU time.
    Cpu,
    /// Peak RSS.
    PeakRss,
    /// Start-up.
    Startup,
    /// Bytes of the print files.
    PrintFile,
    /// Time to write the rejects files.
    RejectsWrite,
}

/// What to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Task {
    /// A whole batch of `kind`.
    Run {
        /// The job kind.
        kind: JobKind,
        /// Rendering threads.
        threads: usize,
        /// Where the documents go.
        sink: Sink,
    },
    /// `check` alone on a `kind` input.
    Check {
        /// The job kind whose input is checked.
        kind: JobKind,
        /// The input's format.
        format: Format,
        /// Valid rows, or rows made to be rejected (then the rejects
        /// files are written and timed).
        rows: RowsKind,
    },
}

/// [`Rows`] as sent to the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowsKind {
    /// Every row accepted.
    Valid,
    /// Every row rejected.
    Rejected,
}

impl From<RowsKind> for Rows {
    fn from(r: RowsKind) -> Rows {
        match r {
            RowsKind::Valid => Rows::Valid,
            RowsKind::Rejected => Rows::Rejected,
        }
    }
}

/// One run to measure, sent from the parent to the child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// What to measure.
    pub task: Task,
    /// Rows in the input (= documents of a batch).
    pub n: usize,
    /// The bench folder (absolute).
    pub dir: PathBuf,
    /// The parent's monotonic clock just before it started the child.
    pub spawned_at_ns: Option<u64>,
    /// Figures to report as not measured (tests only).
    pub withhold: Vec<Figure>,
}

/// The print files of a mail batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrintFigures {
    /// Files.
    pub files: usize,
    /// Their bytes in all.
    pub bytes: u64,
    /// Their pages in all (cover sheets and blank backs included).
    pub pages: u64,
}

impl PrintFigures {
    /// Bytes per page.
    pub fn bytes_per_page(&self) -> f64 {
        self.bytes as f64 / self.pages.max(1) as f64
    }
}

/// The measurement of one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeasurement {
    /// The job kind.
    pub kind: JobKind,
    /// Documents requested (rows of the input).
    pub n: usize,
    /// Rendering threads.
    pub threads: usize,
    /// Where the documents went.
    pub sink: Sink,
    /// Documents rendered in this run (checked to be `n`).
    pub documents: usize,
    /// Wall time of the batch, seconds.
    pub wall_s: f64,
    /// CPU time of the batch (all threads), seconds.
    pub cpu_s: Option<f64>,
    /// Peak RSS of the child process, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Bytes of the documents rendered.
    pub document_bytes: u64,
    /// From the parent starting the child to the first document written
    /// (disk: journaled, that is on disk under its name; null sink: rendered
    /// and hashed), milliseconds.
    pub startup_ms: Option<f64>,
    /// The print files (mail batches only).
    pub print: Option<PrintFigures>,
    /// Wall time per batch stage, milliseconds (from `summary.json`).
    pub batch_stages_ms: BTreeMap<String, u64>,
    /// CPU time per rendering stage, summed over threads, milliseconds.
    pub render_stages_cpu_ms: BTreeMap<String, f64>,
    /// Documents whose hash `chohyo verify` recomputed and found right, in
    /// the run directory and its packages (disk sink; after the timing).
    pub verified_documents: Option<usize>,
    /// The run directory.
    pub run_dir: PathBuf,
}

impl RunMeasurement {
    /// Documents per second of wall time.
    pub fn docs_per_s(&self) -> f64 {
        self.documents as f64 / self.wall_s.max(1e-9)
    }

    /// CPU milliseconds per document.
    pub fn cpu_ms_per_doc(&self) -> Option<f64> {
        self.cpu_s.map(|c| c * 1e3 / self.documents.max(1) as f64)
    }

    /// Bytes per document.
    pub fn bytes_per_doc(&self) -> f64 {
        self.document_bytes as f64 / self.documents.max(1) as f64
    }
}

/// The measurement of `check` alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckMeasurement {
    /// The job kind whose input was checked.
    pub kind: JobKind,
    /// The input's format.
    pub format: Format,
    /// Valid or rejected rows.
    pub rows: RowsKind,
    /// Rows requested.
    pub n: usize,
    /// Rows read (checked to be `n`).
    pub rows_read: usize,
    /// Rows rejected (checked to be 0 or `n`).
    pub rejected_rows: usize,
    /// Wall time of reading and checking, seconds.
    pub check_s: f64,
    /// Wall time of writing `rejects.csv` and `rejects.xlsx`, seconds
    /// (rejected rows only).
    pub rejects_write_s: Option<f64>,
    /// CPU time, seconds.
    pub cpu_s: Option<f64>,
    /// Peak RSS, KiB.
    pub peak_rss_kib: Option<u64>,
}

impl CheckMeasurement {
    /// Rows checked per second.
    pub fn rows_per_s(&self) -> f64 {
        self.rows_read as f64 / self.check_s.max(1e-9)
    }
}

/// A measurement of either kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "measured", rename_all = "lowercase")]
pub enum Measurement {
    /// A batch.
    Run(RunMeasurement),
    /// `check` alone.
    Check(CheckMeasurement),
}

/// The job kind of a task.
fn task_kind(task: &Task) -> JobKind {
    match task {
        Task::Run { kind, .. } | Task::Check { kind, .. } => *kind,
    }
}

/// The job kind, rows and format of a request's input.
fn input_spec(req: &Request) -> (JobKind, RowsKind, Format) {
    match req.task {
        Task::Run { kind, .. } => (kind, RowsKind::Valid, Format::Xlsx),
        Task::Check {
            kind, format, rows, ..
        } => (kind, rows, format),
    }
}

/// Where the synthetic input of a request is cached
/// (`<dir>/inputs/<kind>-<valid|rejected>-<N>.<xlsx|csv>`).
pub fn input_path(req: &Request) -> PathBuf {
    let (kind, rows, format) = input_spec(req);
    // The seal-less certificate reads the certificate's input.
    let stem = match kind {
        JobKind::ZaishokuNoseal => JobKind::Zaishoku,
        k => k,
    };
    let rows_name = match rows {
        RowsKind::Valid => "valid",
        RowsKind::Rejected => "rejected",
    };
    req.dir
        .join("inputs")
        .join(format!("{stem}-{rows_name}-{}.{}", req.n, format.ext()))
}

/// The synthetic input of a request, generated (not timed) unless it is
/// already in the bench folder's cache.
pub fn prepare_input(req: &Request) -> Result<PathBuf, BenchError> {
    let (kind, rows, _) = input_spec(req);
    let path = input_path(req);
    if path.is_file() {
        return Ok(path);
    }
    let inputs = req.dir.join("inputs");
    crate::files::create_private_dir(&inputs).map_err(|e| BenchError::io(&inputs, e))?;
    let job = Job::load(&kind.write_job(&req.dir, &path, &req.dir.join("out"))?)
        .map_err(|e| BenchError::Sample(kind.name(), e.to_string()))?;
    let fonts = run::load_fonts(&job, None)?;
    let addresses = synth::addresses(Some(&fonts))?;
    synth::write_input(&path, &job, kind, rows.into(), req.n, &addresses)?;
    Ok(path)
}

/// Measures `req` in this process (the child's side).
pub fn measure(req: &Request, input: &Path) -> Result<Measurement, BenchError> {
    let mut m = match req.task {
        Task::Run {
            kind,
            threads,
            sink,
        } => Measurement::Run(measure_run(req, kind, threads, sink, input)?),
        Task::Check { kind, format, rows } => {
            Measurement::Check(measure_check(req, kind, format, rows, input)?)
        }
    };
    withhold(&mut m, &req.withhold);
    Ok(m)
}

fn withhold(m: &mut Measurement, figures: &[Figure]) {
    for f in figures {
        match (f, &mut *m) {
            (Figure::Cpu, Measurement::Run(r)) => r.cpu_s = None,
            (Figure::Cpu, Measurement::Check(c)) => c.cpu_s = None,
            (Figure::PeakRss, Measurement::Run(r)) => r.peak_rss_kib = None,
            (Figure::PeakRss, Measurement::Check(c)) => c.peak_rss_kib = None,
            (Figure::Startup, Measurement::Run(r)) => r.startup_ms = None,
            (Figure::PrintFile, Measurement::Run(r)) => r.print = None,
            (Figure::RejectsWrite, Measurement::Check(c)) => c.rejects_write_s = None,
            _ => {}
        }
    }
}

/// Notes when the first document is done: for the disk sink when the
/// journal (written after a document is on disk under its name) is no
/// longer empty, for the null sink when the first document was hashed.
struct FirstDocument {
    at_ns: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FirstDocument {
    fn watch(journal: Option<PathBuf>, clock: Arc<StageClock>) -> FirstDocument {
        let at_ns = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (at, stop) = (at_ns.clone(), done.clone());
        let thread = std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let seen = match &journal {
                    Some(j) => std::fs::metadata(j).is_ok_and(|m| m.len() > 0),
                    None => clock.write.load(Ordering::Relaxed) > 0,
                };
                if seen {
                    at.store(monotonic_ns().unwrap_or(0), Ordering::Relaxed);
                    return;
                }
                // Fine enough for a start-up of tens of milliseconds, and
                // too rare to cost CPU worth counting.
                std::thread::sleep(Duration::from_micros(500));
            }
        });
        FirstDocument {
            at_ns,
            done,
            thread: Some(thread),
        }
    }

    /// The monotonic time of the first document, if one was seen.
    fn finish(mut self) -> Option<u64> {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        Some(self.at_ns.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }
}

/// The parts of `summary.json` the benchmark reads.
#[derive(Deserialize)]
struct Summary {
    timing: Timing,
    #[serde(default)]
    delivery: Option<Delivery>,
}

#[derive(Deserialize)]
struct Timing {
    stages_ms: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    print: Vec<PrintEntry>,
}

#[derive(Deserialize)]
struct PrintEntry {
    bytes: u64,
    stats: PrintStats,
}

#[derive(Deserialize)]
struct PrintStats {
    total_pages: u64,
}

fn read_summary(run_dir: &Path) -> Result<Summary, BenchError> {
    let path = run_dir.join("summary.json");
    let bytes = std::fs::read(&path).map_err(|e| BenchError::io(&path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| BenchError::Incomplete(format!("{}: {e}", path.display())))
}

/// The bench folder's output root of a run, emptied.
fn fresh_out(req: &Request, name: &str) -> Result<PathBuf, BenchError> {
    let out = req.dir.join(format!("out-{name}"));
    match std::fs::remove_dir_all(&out) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(BenchError::io(&out, e)),
    }
    Ok(out)
}

fn measure_run(
    req: &Request,
    kind: JobKind,
    threads: usize,
    sink: Sink,
    input: &Path,
) -> Result<RunMeasurement, BenchError> {
    let n = req.n;
    let sink_name = if sink == Sink::Disk { "disk" } else { "null" };
    let out = fresh_out(req, &format!("{kind}-{n}-{sink_name}"))?;
    if sink == Sink::Disk {
        // Write the previous run's deletion out now rather than during this
        // run's syncs (docs/performance.md, "Disk sink").
        // SAFETY: sync takes no arguments and cannot fail.
        unsafe { libc::sync() };
    }
    let job_path = kind.write_job(&req.dir, input, &out)?;
    let job = Job::load(&job_path).map_err(|e| BenchError::Sample(kind.name(), e.to_string()))?;
    let run_dir = run::run_dir_of(&out, &job, "bench", None);
    let clock = Arc::new(StageClock::default());
    let opts = RunOptions {
        batch_id: Some("bench".into()),
        out_dir: Some(out),
        threads: Some(threads),
        discard_docs: sink == Sink::Null,
        clock: Some(clock.clone()),
        ..RunOptions::default()
    };
    let journal = (sink == Sink::Disk).then(|| run_dir.join("journal.jsonl"));
    let before = usage();
    let first = FirstDocument::watch(journal, clock.clone());
    let started = Instant::now();
    let outcome = run::run(&job, &opts, &RunLog::stderr_only(Verbosity::Quiet));
    let wall_s = started.elapsed().as_secs_f64();
    let first_ns = first.finish();
    let after = usage();
    let outcome = outcome?;
    if !outcome.rejects.is_empty() || outcome.rendered_now != n {
        return Err(BenchError::Incomplete(format!(
            "{kind}: {n} 件のうち {} 件を作成、不備 {} 件 (rendered {} of {n} documents, {} rejects)",
            outcome.rendered_now,
            outcome.rejects.len(),
            outcome.rendered_now,
            outcome.rejects.len()
        )));
    }
    let summary = read_summary(&outcome.run_dir)?;
    let print = summary
        .delivery
        .filter(|d| !d.print.is_empty())
        .map(|d| PrintFigures {
            files: d.print.len(),
            bytes: d.print.iter().map(|p| p.bytes).sum(),
            pages: d.print.iter().map(|p| p.stats.total_pages).sum(),
        });
    let startup_ms = match (req.spawned_at_ns, first_ns) {
        (Some(s), Some(f)) if f >= s => Some((f - s) as f64 / 1e6),
        _ => None,
    };
    let verified_documents = match sink {
        Sink::Disk => Some(verify_outputs(&outcome.run_dir)?),
        Sink::Null => None,
    };
    Ok(RunMeasurement {
        verified_documents,
        kind,
        n,
        threads,
        sink,
        documents: outcome.rendered_now,
        wall_s,
        cpu_s: before.zip(after).map(|(b, a)| a.cpu_s - b.cpu_s),
        peak_rss_kib: after.map(|a| a.max_rss_kib),
        document_bytes: outcome.document_bytes,
        startup_ms,
        print,
        batch_stages_ms: summary.timing.stages_ms,
        render_stages_cpu_ms: clock.millis(),
        run_dir: outcome.run_dir,
    })
}

/// Verifies every hash of the run directory, its packages included, as
/// `chohyo verify <run dir>` does; a mismatch makes the run an error.
/// Returns the documents found right (a document in a package counts again).
fn verify_outputs(run_dir: &Path) -> Result<usize, BenchError> {
    let opts = crate::mail::package::VerifyOptions::default();
    let report = crate::mail::package::verify_path(run_dir, &opts)?;
    if !report.ok() {
        return Err(BenchError::Incomplete(format!(
            "{}: verify で {} 件の問題 (verify found {} problems)",
            run_dir.display(),
            report.findings.len(),
            report.findings.len()
        )));
    }
    Ok(report.documents_ok + report.package_copies_ok)
}

fn measure_check(
    req: &Request,
    kind: JobKind,
    format: Format,
    rows: RowsKind,
    input: &Path,
) -> Result<CheckMeasurement, BenchError> {
    let n = req.n;
    let out = fresh_out(req, &format!("check-{kind}-{n}-{}", format.ext()))?;
    crate::files::create_private_dir(&out).map_err(|e| BenchError::io(&out, e))?;
    let job_path = kind.write_job(&req.dir, input, &out)?;
    let job = Job::load(&job_path).map_err(|e| BenchError::Sample(kind.name(), e.to_string()))?;
    let before = usage();
    let started = Instant::now();
    // As `chohyo check` does: the fonts find values no document could print.
    let fonts = run::load_fonts(&job, None)?;
    let report = run::check_input(&job, None, Some(&fonts))?;
    let check_s = started.elapsed().as_secs_f64();
    let rejects_write_s = if rows == RowsKind::Rejected {
        let t = Instant::now();
        let csv = out.join("rejects.csv");
        run::rejects::write_rejects_csv(&csv, &report.rejects)?;
        let xlsx = run::rejects::xlsx_sibling(&csv);
        run::rejects::write_rejects_xlsx(&xlsx, &report.rejects, &report.originals)?;
        Some(t.elapsed().as_secs_f64())
    } else {
        None
    };
    let after = usage();
    let rejected_rows = report
        .rejects
        .iter()
        .map(|r| r.row)
        .collect::<BTreeSet<u32>>()
        .len();
    let expected = if rows == RowsKind::Valid { 0 } else { n };
    if report.rows_read != n || rejected_rows != expected {
        return Err(BenchError::Incomplete(format!(
            "{kind}: {n} 行のうち {} 行を読み、不備 {rejected_rows} 行（期待 {expected} 行） (read {} of {n} rows, {rejected_rows} rejected, {expected} expected)",
            report.rows_read, report.rows_read
        )));
    }
    Ok(CheckMeasurement {
        kind,
        format,
        rows,
        n,
        rows_read: report.rows_read,
        rejected_rows,
        check_s,
        rejects_write_s,
        cpu_s: before.zip(after).map(|(b, a)| a.cpu_s - b.cpu_s),
        peak_rss_kib: after.map(|a| a.max_rss_kib),
    })
}

/// Runs `exe bench <flag> <req as JSON>` and returns its standard output.
fn child(exe: &Path, flag: &str, req: &Request) -> Result<std::process::Output, BenchError> {
    let text = serde_json::to_string(req).map_err(|e| BenchError::Incomplete(e.to_string()))?;
    let out = std::process::Command::new(exe)
        .stderr(std::process::Stdio::inherit())
        .arg("bench")
        .arg(flag)
        .arg(text)
        .output()
        .map_err(|e| BenchError::io(exe, e))?;
    if !out.status.success() {
        return Err(BenchError::Child(out.status.code()));
    }
    Ok(out)
}

/// Generates the input of `req` in a child process of its own
/// (`exe bench --generate <request>`), unless it is cached. Not in the
/// parent: Linux keeps a process's peak RSS across `exec`, so a child
/// started by a parent that had held a large generated workbook would
/// report the parent's peak as its own.
pub fn generate_in_child(exe: &Path, req: &Request) -> Result<(), BenchError> {
    child(exe, "--generate", req).map(drop)
}

/// Runs `req` in a fresh child process (`exe bench --measure <request>`)
/// and returns its measurement, checked again here: a run that does not
/// cover every requested document or row is an error.
pub fn in_child(exe: &Path, req: &Request) -> Result<Measurement, BenchError> {
    let mut req = req.clone();
    req.spawned_at_ns = monotonic_ns();
    let out = child(exe, "--measure", &req)?;
    let m: Measurement = serde_json::from_slice(&out.stdout)
        .map_err(|e| BenchError::Incomplete(format!("bench child: {e}")))?;
    let (n, counted, kind) = match &m {
        Measurement::Run(r) => (r.n, r.documents, r.kind),
        Measurement::Check(c) => (c.n, c.rows_read, c.kind),
    };
    if n != req.n || counted != req.n || kind != task_kind(&req.task) {
        return Err(BenchError::Incomplete(format!(
            "{kind}: {counted} of {} requested",
            req.n
        )));
    }
    Ok(m)
}
