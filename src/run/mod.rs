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

pub mod counts;
pub mod delivery;
mod document;
mod finalize;
pub mod fixes;
mod fonts_dir;
mod inputs;
pub mod ledger;
mod letters;
mod location;
mod merge;
mod plan;
pub mod rejects;
mod render;
pub mod report;
pub mod runlog;
pub mod runstate;
pub mod spool;
pub mod stop;
mod watchdog;

pub use crate::error::BatchError;
pub use document::{
    context, doc_info, layout_record, load_fonts, render_record, render_record_timed, Assets,
    RenderFailure,
};
pub use finalize::sort_rejects;
pub use fonts_dir::{default_fonts_dir, fonts_dir_for_job};
pub use inputs::{check_input, count_rejects, read_and_check, CheckReport};
pub use location::{check_batch_id, ledger_path, run_dir_of};
pub use merge::merge;
pub use plan::file_name;

use crate::check::Reject;
use crate::job::Job;
use crate::run::finalize::{finalize, RenderedBatch};
use crate::run::ledger::Ledger;
use crate::run::location::move_aside;
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
    /// Issue again the requests an earlier batch issued with the same
    /// content (by default they are left out and listed in the report).
    pub reissue: bool,
    /// Replace the ledger location.
    pub ledger: Option<PathBuf>,
    /// Refuse to plan (number, render) a batch whose input has any reject;
    /// the rejects files are written to the run directory instead.
    pub strict: bool,
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
    /// Requests left out as already issued by an earlier batch (same
    /// record id and content; `--reissue` issues them).
    pub skipped: Vec<report::Skipped>,
    /// The main sheet's name (rejects of other sheets are joined rows').
    pub sheet: String,
    /// The batch's counts, as `summary.json` gives them (known once the
    /// batch is finalized).
    pub counts: counts::Counts,
    /// Documents issued now and reused, as `summary.json`'s timing gives them.
    pub this_run: counts::ThisRun,
}

/// Runs a whole batch (or one shard of it): plan, render what is missing,
/// finalize. Re-running a finished batch changes nothing.
pub fn run(job: &Job, opts: &RunOptions, log: &RunLog) -> Result<Outcome, BatchError> {
    let started = std::time::Instant::now();
    let mut stages: BTreeMap<String, u64> = BTreeMap::new();
    let opened = open_run_dir(job, opts, log)?;
    let dir = &opened.dir;
    let input = opts.input.clone().unwrap_or_else(|| job.input.file.clone());
    let threads = opts.threads.unwrap_or_else(rayon::current_num_threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| BatchError::Render(e.to_string()))?;
    let assets = pool.install(|| Assets::load(job, opts.fonts_dir.as_deref()))?;
    stages.insert("load".into(), started.elapsed().as_millis() as u64);
    let mut inputs = input_hashes(job, &input)?;
    inputs.insert("assets".into(), assets.fingerprint(job)?);
    let (existing, replacing) = match resume(opts, dir, &inputs)? {
        Resumption::Finished => {
            log.info(
                "already_finished",
                "このバッチは完了済みです。何も出力しません (batch already finished; nothing to do)",
                serde_json::json!({}),
            );
            return Ok(Outcome::already_finished(&dir.path));
        }
        Resumption::Continue(p) => (p, false),
        Resumption::Replace => (None, true),
    };

    let ledger_path = ledger_path(job, opts.ledger.as_deref(), &opened.out_root);
    let plan = match existing {
        Some(p) => p,
        None => {
            let fresh = NewPlan {
                job,
                batch_id: &opened.batch_id,
                input: &input,
                ledger_path: &ledger_path,
                out_root: &opened.out_root,
                assets: &assets,
                replacing,
                strict: opts.strict,
            };
            fresh.make(inputs, dir, log)?
        }
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
    )
    .inspect_err(|e| void_after_failure(job, opts, &plan, dir, &ledger_path, e, log))?;
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
        skipped: rendered.skipped,
        sheet: rendered.sheet,
        counts: counts::Counts::default(),
        this_run: counts::ThisRun {
            documents_issued: rendered.rendered_now,
            documents_reused: rendered.reused,
        },
    };
    let timing = report::Timing {
        threads,
        total_ms: 0,
        stages_ms: stages,
        this_run: outcome.this_run,
        input_path: String::new(),
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
    let (bytes, counts) = finalize(&batch, timing, log)?;
    entries
        .remove()
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok(Outcome {
        document_bytes: bytes,
        counts,
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
            skipped: Vec::new(),
            sheet: String::new(),
            counts: counts::Counts::default(),
            this_run: counts::ThisRun::default(),
        }
    }
}

/// A run that failed after planning: its unwritten numbers are recorded as
/// void, so the ledger says why they have no document. A signal's stop is
/// not a failure (the run resumes where it stopped).
fn void_after_failure(
    job: &Job,
    opts: &RunOptions,
    plan: &Plan,
    dir: &RunDir,
    ledger_path: &Path,
    failure: &BatchError,
    log: &RunLog,
) {
    if matches!(failure, BatchError::Stopped(_)) || opts.discard_docs {
        return;
    }
    let exit = failure.exit_code();
    match plan::void_unwritten(job, plan, &dir.path, opts.shard, ledger_path, exit) {
        Ok(0) => {}
        Ok(n) => log.info(
            "voided",
            &format!("出力できなかった {n} 件の番号を台帳に欠番として記録しました。再実行すると同じ番号で発行します (the run failed: {n} planned numbers recorded as void in the ledger; running again issues them with the same numbers)"),
            serde_json::json!({"voided": n}),
        ),
        Err(e) => log.error(
            "void_failed",
            &format!("未出力の番号を欠番として記録できませんでした (could not record the unwritten numbers as void): {e}"),
            serde_json::json!({}),
        ),
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

/// A batch about to be planned anew (first run, or `--restart` of one
/// whose input changed).
struct NewPlan<'a> {
    job: &'a Job,
    batch_id: &'a str,
    input: &'a Path,
    ledger_path: &'a Path,
    out_root: &'a Path,
    /// The batch's fonts, whose coverage the check uses.
    assets: &'a Assets,
    /// An earlier execution's outputs are in the run directory
    /// (`--restart`): they are moved aside once the new plan is known to work.
    replacing: bool,
    /// `--strict`: any reject stops the batch before it is numbered.
    strict: bool,
}

impl NewPlan<'_> {
    /// Checks everything that can refuse the new plan before anything is
    /// written or numbered — the issue date, the whole input (readable, its
    /// columns there, within the row limit), the ledger (the batch's series
    /// and fiscal year; a ledger behind the run directories) — then moves
    /// an earlier run aside (`--restart`) and saves the plan's header.
    fn make(
        &self,
        inputs: BTreeMap<String, String>,
        dir: &RunDir,
        log: &RunLog,
    ) -> Result<Plan, BatchError> {
        let plan = plan_header(self.job, self.batch_id, inputs)?;
        // The whole input is read and checked once before any number is
        // given: a structural error or the row limit late in a large input
        // would otherwise stop the batch after numbers were used (and, with
        // --restart, after the earlier run was moved aside).
        if self.strict {
            self.refuse_rejects(dir)?;
        } else {
            count_rejects(self.job, Some(self.input), Some(&self.assets.fonts))?;
        }
        self.check_ledger(&plan)?;
        if self.replacing {
            let aside = move_aside(dir, self.job.output.modes().dir)?;
            log.info(
                "restart",
                &format!(
                    "入力が変わったため、前回の出力を {} に移してバッチをやり直します (restarting the batch; the previous run was moved aside)",
                    aside.display()
                ),
                serde_json::json!({ "moved_to": aside.display().to_string() }),
            );
        }
        plan.save(&dir.path, self.job.output.modes().file)
            .map_err(|e| BatchError::write(&dir.path, e))?;
        Ok(plan)
    }

    /// `--strict`: checks the whole input and, when any row is rejected,
    /// writes the rejects report into the run directory (so the operator
    /// sees why) and refuses the batch before any number is given. With
    /// `--restart` the earlier run's own `rejects.csv` is kept: the report
    /// is `rejects-strict.csv` / `.xlsx` then.
    fn refuse_rejects(&self, dir: &RunDir) -> Result<(), BatchError> {
        let checked = check_input(self.job, Some(self.input), Some(&self.assets.fonts))?;
        if checked.rejects.is_empty() {
            return Ok(());
        }
        let name = if self.replacing {
            "rejects-strict.csv"
        } else {
            "rejects.csv"
        };
        let report = dir.path.join(name);
        rejects::write_rejects_csv(&report, &checked.rejects)?;
        rejects::write_rejects_xlsx(
            &rejects::xlsx_sibling(&report),
            &checked.rejects,
            &checked.originals,
        )?;
        let rows: std::collections::BTreeSet<(&str, &str, u32)> = checked
            .rejects
            .iter()
            .map(|r| (r.file.as_str(), r.sheet.as_str(), r.row))
            .collect();
        Err(BatchError::Strict {
            rejects: checked.rejects.len(),
            rows: rows.len(),
            report,
        })
    }

    /// Refuses a plan the ledger would refuse (the batch's numbers are in
    /// another series or fiscal year) or that would give numbers again (the
    /// ledger is behind what the run directories show was issued).
    fn check_ledger(&self, plan: &Plan) -> Result<(), BatchError> {
        let issue_date = chrono::NaiveDate::parse_from_str(&self.job.batch.issue_date, "%Y-%m-%d")
            .map_err(|e| BatchError::Input(e.to_string()))?;
        ledger::check_location(self.ledger_path).map_err(|e| BatchError::Input(e.to_string()))?;
        if ledger::exists(self.ledger_path) {
            let mut ledger =
                Ledger::open(self.ledger_path).map_err(|e| BatchError::Io(e.to_string()))?;
            let asked = ledger::Allocation {
                job: &self.job.job.name,
                batch: &plan.batch,
                kind: &self.job.job.title,
                series: &plan.series,
                issue_date,
                first_number: self.job.batch.number_start,
                record_ids: &[],
                contents: &[],
                reissue: false,
            };
            if let Some((series, year)) = ledger
                .planned_elsewhere(&asked)
                .map_err(|e| BatchError::Io(e.to_string()))?
            {
                return Err(BatchError::Input(format!(
                    "バッチ {} の番号は番号系列「{series}」{year}年度で発行済みです。発行日の年度や番号系列を変えるときは別のバッチID (--batch-id) で実行してください (the batch's numbers were given in series {series} / fiscal year {year}; use another batch id)",
                    plan.batch
                )));
            }
        }
        ledger::check_not_behind(
            self.ledger_path,
            self.out_root,
            &plan.series,
            plan.fiscal_year,
            self.job.batch.number_start,
        )
        .map_err(|e| BatchError::Input(e.to_string()))
    }
}

/// What an earlier execution left in the run directory.
enum Resumption {
    /// The batch is finished: nothing to do.
    Finished,
    /// The plan to continue (none: plan anew).
    Continue(Option<Plan>),
    /// The input changed and `--restart` was given: plan anew and move the
    /// earlier run aside once the new plan is known to work.
    Replace,
}

/// Compares the saved plan's inputs with `inputs`: the same → continue it
/// (or nothing to do when finished); changed → refused, unless `--restart`.
/// `--restart` always plans anew.
fn resume(
    opts: &RunOptions,
    dir: &RunDir,
    inputs: &BTreeMap<String, String>,
) -> Result<Resumption, BatchError> {
    let existing =
        Plan::load(&dir.path).map_err(|e| BatchError::read(&dir.path.join("plan.json"), e))?;
    let Some(plan) = existing else {
        return Ok(Resumption::Continue(None));
    };
    if plan.inputs != *inputs {
        if !opts.restart {
            return Err(BatchError::Input(format!(
                "このバッチの計画後に入力・ジョブ・テンプレートが変わりました。やり直すには --restart を付けてください。\
                 --restart は新しい入力を読んで確認・計画できてから、今の出力を {name}.replaced-<日時>/ に移して作り直します（削除はしません） \
                 (input changed since the batch was planned; --restart reads, checks and plans the new input, then moves the current outputs aside to {name}.replaced-<time>/ and makes the batch anew; nothing is deleted): {dir}",
                name = dir.path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
                dir = dir.path.display()
            )));
        }
        return Ok(Resumption::Replace);
    }
    if dir.is_finished() {
        return Ok(Resumption::Finished);
    }
    Ok(Resumption::Continue(if opts.restart {
        None
    } else {
        Some(plan)
    }))
}
