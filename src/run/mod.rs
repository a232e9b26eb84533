//! The batch driver: job → run directory with documents, rejects and manifests.
//!
//! Order of work: load everything shared (fonts, images, template) once;
//! then a pipeline in chunks of 512 rows: a reader thread streams
//! the sheet, checks each row ([`check::Checker`]) and plans the good ones
//! (ledger numbers, file names, `plan.jsonl`), a few chunks ahead of
//! rendering (with one thread, reading and rendering take turns on the
//! calling thread instead); each chunk renders in parallel (rayon), each
//! document a pure function of its record and the shared assets, written
//! to a temporary name and renamed, its manifest entry spooled to disk. Last, in one pass over
//! the spool: the journal, rejects, manifests, ledger and summary, so a
//! manifest never lists an incomplete file. Results are kept in record
//! order, so the output is identical whatever the thread count, and memory
//! holds only the chunks in flight, never all records or documents.

pub mod delivery;
mod document;
mod finalize;
mod fonts_dir;
mod inputs;
pub mod ledger;
mod location;
mod merge;
mod plan;
pub mod rejects;
mod render;
pub mod report;
pub mod runlog;
pub mod runstate;
pub mod spool;
mod watchdog;

pub use crate::error::BatchError;
pub use document::{
    context, doc_info, layout_record, render_record, render_record_timed, Assets, RenderFailure,
};
pub use finalize::sort_rejects;
pub use fonts_dir::{default_fonts_dir, fonts_dir_for_job};
pub use inputs::{count_rejects, read_and_check};
pub use location::{check_batch_id, ledger_path, run_dir_of};
pub use merge::merge;
pub use plan::file_name;

use crate::check::Reject;
use crate::job::Job;
use crate::run::finalize::{finalize, RenderedBatch};
use crate::run::location::wipe_run_dir;
use crate::run::plan::{input_hashes, plan_header};
use crate::run::render::{render_batch, BatchToRender};
use crate::run::runlog::RunLog;
use crate::run::runstate::{Plan, RunDir, RunLock};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of one run that are not in the job file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Batch id (default: the job's issue date).
    pub batch_id: Option<String>,
    /// Replace the job's input file (e.g. the same data as CSV).
    pub input: Option<PathBuf>,
    /// Replace the job's output root.
    pub out_dir: Option<PathBuf>,
    /// Rendering threads (default: all cores).
    pub threads: Option<usize>,
    /// Where bundled fonts are when the job names none.
    pub fonts_dir: Option<PathBuf>,
    /// Render only shard `k` (0-based) of `n`.
    pub shard: Option<(u64, u64)>,
    /// Start the batch over when its input changed since it was planned.
    pub restart: bool,
    /// Replace the ledger location.
    pub ledger: Option<PathBuf>,
    /// Benchmark sink: render and hash documents but do not write them.
    pub discard_docs: bool,
    /// Collects time per rendering stage (for the benchmark).
    pub clock: Option<std::sync::Arc<StageClock>>,
}

/// Time spent per rendering stage, summed over all threads (nanoseconds).
#[derive(Debug, Default)]
pub struct StageClock {
    /// tera: record → markup text.
    pub template: std::sync::atomic::AtomicU64,
    /// markup text → Form.
    pub markup: std::sync::atomic::AtomicU64,
    /// Form → pages.
    pub layout: std::sync::atomic::AtomicU64,
    /// pages → PDF bytes.
    pub pdf: std::sync::atomic::AtomicU64,
    /// hashing, writing and journaling the file.
    pub write: std::sync::atomic::AtomicU64,
}

impl StageClock {
    fn add(
        counter: &std::sync::atomic::AtomicU64,
        since: std::time::Instant,
    ) -> std::time::Instant {
        counter.fetch_add(
            since.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        std::time::Instant::now()
    }

    /// The stage totals in milliseconds, by name.
    pub fn millis(&self) -> BTreeMap<String, f64> {
        let get = |c: &std::sync::atomic::AtomicU64| {
            c.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6
        };
        [
            ("template", get(&self.template)),
            ("markup", get(&self.markup)),
            ("layout", get(&self.layout)),
            ("pdf", get(&self.pdf)),
            ("write", get(&self.write)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// What a finished run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Data rows read.
    pub rows_read: usize,
    /// Documents of this run directory (all, including reused ones).
    pub documents: usize,
    /// Their bytes in all.
    pub document_bytes: u64,
    /// Rejects (from checking and from layout).
    pub rejects: Vec<Reject>,
    /// Warnings per record id (non-fatal).
    pub warnings: Vec<(String, String)>,
    /// The batch had already finished: nothing was rendered or written.
    pub already_finished: bool,
    /// Documents rendered by this execution.
    pub rendered_now: usize,
}

/// Runs a whole batch (or one shard of it): plan, render what is missing,
/// finalize. Re-running a finished batch changes nothing.
pub fn run(job: &Job, opts: &RunOptions, log: &RunLog) -> Result<Outcome, BatchError> {
    let started = std::time::Instant::now();
    let mut stages: BTreeMap<String, u64> = BTreeMap::new();
    let opened = open_run_dir(job, opts, log)?;
    let dir = &opened.dir;
    let input = opts.input.clone().unwrap_or_else(|| job.input.file.clone());
    let inputs = input_hashes(job, &input)?;
    let existing = match resume(opts, dir, &inputs, log)? {
        Resumption::Finished => return Ok(Outcome::already_finished(&dir.path)),
        Resumption::Plan(p) => p,
    };

    let threads = opts.threads.unwrap_or_else(rayon::current_num_threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| BatchError::Render(e.to_string()))?;
    let assets = pool.install(|| Assets::load(job, opts.fonts_dir.as_deref()))?;
    stages.insert("load".into(), started.elapsed().as_millis() as u64);

    let ledger_path = ledger_path(job, opts.ledger.as_deref(), &opened.out_root);
    let plan = match existing {
        Some(p) => p,
        None => new_plan(job, &opened.batch_id, inputs, dir)?,
    };
    let rendered = render_batch(
        &BatchToRender {
            job,
            opts,
            assets: &assets,
            pool: &pool,
            threads,
            input: &input,
            plan: &plan,
            ledger_path: &ledger_path,
            dir,
        },
        log,
    )?;
    stages.insert("read_check".into(), rendered.read.read_check_ms);
    stages.insert("plan".into(), rendered.read.plan_ms);
    stages.insert("render".into(), rendered.render_ms);

    let outcome = Outcome {
        run_dir: dir.path.clone(),
        rows_read: rendered.read.finished.rows_read,
        documents: rendered.entries.len(),
        document_bytes: 0,
        rejects: rendered.rejects,
        warnings: rendered.warnings,
        already_finished: false,
        rendered_now: rendered.rendered_now,
    };
    let timing = report::Timing {
        threads,
        total_ms: 0,
        stages_ms: stages,
        rendered_now: rendered.rendered_now,
        reused: rendered.reused,
    };
    let entries = rendered.entries;
    let batch = RenderedBatch {
        job,
        plan: &plan,
        dir,
        outcome: &outcome,
        entries: &entries,
        originals: &rendered.originals,
        assets: &assets,
        input: opts.input.as_deref(),
        shard: opts.shard,
        ledger_path: &ledger_path,
        started,
    };
    let bytes = finalize(&batch, timing, log)?;
    entries
        .remove()
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok(Outcome {
        document_bytes: bytes,
        ..outcome
    })
}

impl Outcome {
    /// The outcome of a batch found already finished: nothing done.
    fn already_finished(run_dir: &Path) -> Outcome {
        Outcome {
            run_dir: run_dir.to_owned(),
            rows_read: 0,
            documents: 0,
            document_bytes: 0,
            rejects: Vec::new(),
            warnings: Vec::new(),
            already_finished: true,
            rendered_now: 0,
        }
    }
}

/// A run directory opened for one execution: created, locked (until this
/// is dropped), its log attached and stale temporaries removed.
struct OpenedRunDir {
    batch_id: String,
    /// The output root (`--out` or the job's `output.dir`).
    out_root: PathBuf,
    dir: RunDir,
    _lock: RunLock,
}

/// Checks the batch id and shard, then creates, locks and opens the run
/// directory of the batch (or shard).
fn open_run_dir(job: &Job, opts: &RunOptions, log: &RunLog) -> Result<OpenedRunDir, BatchError> {
    let batch_id = opts
        .batch_id
        .clone()
        .unwrap_or_else(|| job.batch.issue_date.clone());
    check_batch_id(&batch_id)?;
    if let Some((k, n)) = opts.shard {
        if n == 0 || k >= n {
            return Err(BatchError::Input(format!(
                "--shard は K/N (1 ≤ K ≤ N) で指定します (bad shard {}/{n})",
                k + 1
            )));
        }
    }
    let modes = job.output.modes();
    let out_root = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| job.output.dir.clone());
    let dir = RunDir {
        path: run_dir_of(&out_root, job, &batch_id, opts.shard),
    };
    crate::files::create_dir_with(&dir.path, modes.dir)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    let lock = RunLock::acquire(&dir.path).map_err(|e| match e {
        runstate::LockError::Held(holder) => BatchError::Locked(format!(
            "このバッチは別のプロセスが実行中です (batch is locked by another run: {holder}): {}",
            dir.path.display()
        )),
        runstate::LockError::Io(e) => BatchError::write(&dir.path, e),
    })?;
    log.attach(&dir.path.join("run.log"), modes.file)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    for d in [dir.path.clone(), dir.docs()] {
        runstate::remove_stale_temporaries(&d).map_err(|e| BatchError::write(&d, e))?;
    }
    log.info(
        "start",
        "",
        serde_json::json!({"job": job.job.name, "batch": batch_id, "shard": opts.shard.map(|(k, n)| format!("{}/{n}", k + 1))}),
    );
    Ok(OpenedRunDir {
        batch_id,
        out_root,
        dir,
        _lock: lock,
    })
}

/// Makes the plan's header of a batch planned anew and saves it.
fn new_plan(
    job: &Job,
    batch_id: &str,
    inputs: BTreeMap<String, String>,
    dir: &RunDir,
) -> Result<Plan, BatchError> {
    let plan = plan_header(job, batch_id, inputs)?;
    plan.save(&dir.path, job.output.modes().file)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok(plan)
}

/// What an earlier execution left in the run directory.
enum Resumption {
    /// The batch is finished: nothing to do.
    Finished,
    /// The plan to continue (none: plan anew).
    Plan(Option<Plan>),
}

/// Compares the saved plan's inputs with `inputs`: the same → continue it
/// (or nothing to do when finished); changed → refused, unless `--restart`,
/// which clears the run directory. `--restart` always plans anew.
fn resume(
    opts: &RunOptions,
    dir: &RunDir,
    inputs: &BTreeMap<String, String>,
    log: &RunLog,
) -> Result<Resumption, BatchError> {
    let existing = Plan::load(&dir.path).map_err(|e| BatchError::write(&dir.path, e))?;
    if let Some(plan) = &existing {
        if plan.inputs != *inputs {
            if !opts.restart {
                return Err(BatchError::Input(format!(
                    "このバッチの計画後に入力・ジョブ・テンプレートが変わりました。やり直すには --restart を付けてください (input changed since the batch was planned; use --restart): {}",
                    dir.path.display()
                )));
            }
            log.info(
                "restart",
                "入力が変わったためバッチをやり直します (restarting the batch)",
                serde_json::json!({}),
            );
            wipe_run_dir(dir)?;
        } else if dir.is_finished() {
            log.info(
                "already_finished",
                "このバッチは完了済みです。何も出力しません (batch already finished; nothing to do)",
                serde_json::json!({}),
            );
            return Ok(Resumption::Finished);
        }
    }
    Ok(Resumption::Plan(if opts.restart { None } else { existing }))
}
