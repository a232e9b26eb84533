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
pub mod ledger;
pub mod rejects;
pub mod report;
pub mod runlog;
pub mod runstate;
pub mod spool;

use crate::check::{self, Record, Reject};
pub use crate::error::BatchError;
use crate::files::{sanitize_file_name, sha256_hex, AtomicFile};
use crate::input::{self, SheetSelector};
use crate::job::Job;
use crate::mail::manifest::{ManifestEntry, ManifestWriter};
use crate::pdf::{self, DocInfo};
use crate::render::fonts::FontSet;
use crate::render::form;
use crate::render::image::ImageSet;
use crate::render::layout::{self, LayoutError};
use crate::render::template::Template;
use crate::run::ledger::Ledger;
use crate::run::rejects::write_rejects_csv;
use crate::run::report::Summary;
use crate::run::runlog::{Progress, RunLog};
use crate::run::runstate::{Journal, JournalEntry, Plan, PlannedDoc, RunDir, RunLock};
use crate::run::spool::{Entries, EntrySpool, PlanError, PlanFile};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
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

/// Everything shared read-only by the rendering threads.
pub struct Assets {
    /// Fonts.
    pub fonts: FontSet,
    /// Images.
    pub images: ImageSet,
    /// The fonts' cores: the template's constant glyphs, compressed once
    /// for every document's font streams (see [`pdf::FontCores`]).
    pub cores: pdf::FontCores,
    /// The compiled template.
    pub template: Template,
}

impl Assets {
    /// Loads fonts, images and the template of a job.
    pub fn load(job: &Job, fonts_dir: Option<&Path>) -> Result<Assets, BatchError> {
        let slots = if job.fonts.is_empty() {
            let dir = fonts_dir
                .map(Path::to_owned)
                .unwrap_or_else(default_fonts_dir);
            FontSet::default_slots(&dir)
        } else {
            let mut slots = FontSet::default_slots(
                &fonts_dir
                    .map(Path::to_owned)
                    .unwrap_or_else(default_fonts_dir),
            );
            slots.extend(job.fonts.clone());
            slots
        };
        let fonts = FontSet::load(&slots).map_err(|e| BatchError::Input(e.to_string()))?;
        let mut images = ImageSet::default();
        if let Some(dir) = &job.template.assets {
            images = ImageSet::load_dir(dir).map_err(|e| BatchError::Input(e.message))?;
        }
        let template =
            Template::load(&job.template.file).map_err(|e| BatchError::Input(e.to_string()))?;
        let mut assets = Assets {
            fonts,
            images,
            cores: pdf::FontCores::default(),
            template,
        };
        assets.cores = pdf::FontCores::build(&assets.fonts, core_glyphs(job, &assets));
        Ok(assets)
    }
}

/// The glyphs, per font, of the job's template laid out for a blank
/// record: its constant text, which (nearly) every document of the batch
/// prints, as the fonts' [`pdf::FontCore`]s. The blank record has empty
/// text fields, the issue date in date fields (so date filters work) and
/// empty joined lists; it depends on the job alone, never on the input,
/// threads, shards or resumption. A template that cannot lay it out gets
/// no core (documents are then written as without one).
fn core_glyphs(job: &Job, assets: &Assets) -> BTreeMap<crate::render::page::FontId, Vec<u16>> {
    let mut fields = BTreeMap::new();
    for f in &job.fields {
        let v = match f.kind {
            crate::job::FieldType::Date => job.batch.issue_date.clone(),
            _ => String::new(),
        };
        fields.insert(f.name.clone(), serde_json::Value::String(v));
    }
    for j in &job.input.join {
        fields.insert(j.field.clone(), serde_json::Value::Array(Vec::new()));
    }
    let blank = Record {
        id: String::new(),
        row: 0,
        fields,
    };
    let mut out: BTreeMap<crate::render::page::FontId, Vec<u16>> = BTreeMap::new();
    let Ok(laid) = layout_record(job, assets, &blank, 0, None) else {
        return out;
    };
    for page in &laid.pages {
        for op in &page.ops {
            if let crate::render::page::Op::Text(run) = op {
                out.entry(run.font)
                    .or_default()
                    .extend(run.glyphs.iter().map(|g| g.gid));
            }
        }
    }
    out
}

/// The bundled `fonts/` folder: next to the executable's crate when run from
/// a checkout, else `./fonts`.
pub fn default_fonts_dir() -> PathBuf {
    let from_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
    if from_crate.is_dir() {
        from_crate
    } else {
        PathBuf::from("fonts")
    }
}

/// The sheet the job reads (a sheet option names a workbook tab; delimited
/// text has none and ignores it).
fn input_selector(job: &Job) -> Option<SheetSelector> {
    match (&job.input.sheet, job.input.sheet_index) {
        (Some(name), _) => Some(SheetSelector::Name(name.clone())),
        (None, Some(i)) => Some(SheetSelector::Index(i)),
        (None, None) => None,
    }
}

/// Where the job's header row is: given, or searched by the mapped columns.
fn input_header(job: &Job) -> input::HeaderRow {
    match job.input.header_row {
        Some(n) => input::HeaderRow::At(n),
        None => input::HeaderRow::Find(job.fields.iter().map(|f| f.column.clone()).collect()),
    }
}

/// Reads and checks the job's whole input at once (the `check` command,
/// merging shards, delivery). A batch streams instead.
pub fn read_and_check(job: &Job, input: Option<&Path>) -> Result<check::Checked, BatchError> {
    let path = input.unwrap_or(&job.input.file);
    let sheet = input::read_sheet_with(path, input_selector(job).as_ref(), &input_header(job))
        .map_err(|e| BatchError::Input(e.to_string()))?;
    check::check_sheet(&sheet, job)
        .map_err(|e| BatchError::Input(format!("{}: {}", path.display(), e.message)))
}

/// Reads and checks the job's input row by row, keeping nothing but the
/// count of problems: `(rows read, rejects)`. For `run --strict`, which
/// renders only an input without any problem (and so also finds a
/// structural error late in a large input before anything is written).
pub fn count_rejects(job: &Job, input: Option<&Path>) -> Result<(usize, usize), BatchError> {
    let path = input.unwrap_or(&job.input.file);
    let mut rejects = 0;
    let checker = stream_checked(job, path, &mut |_, _| {}, &mut |o| {
        if let Err(rs) = o.result {
            rejects += rs.len();
        }
        Ok(true)
    })?;
    let fin = checker.finish();
    Ok((fin.rows_read, rejects + fin.rejects.len()))
}

/// Streams the job's input sheet at `path` through a [`check::Checker`]:
/// `on_head` once, when the checker is made from the sheet's head (also for
/// a sheet without data rows, whose mapping is still checked); `on_row` with
/// each row's outcome, returning `false` to stop. Returns the checker, for
/// [`check::Checker::finish`].
fn stream_checked(
    job: &Job,
    path: &Path,
    on_head: &mut dyn FnMut(&input::SheetHead, &check::Checker),
    on_row: &mut dyn FnMut(check::RowOutcome) -> Result<bool, BatchError>,
) -> Result<check::Checker, BatchError> {
    let mapping =
        |e: check::MappingError| BatchError::Input(format!("{}: {}", path.display(), e.message));
    let mut checker: Option<check::Checker> = None;
    let mut failed: Option<BatchError> = None;
    let head = input::stream_sheet(
        path,
        input_selector(job).as_ref(),
        &input_header(job),
        &mut |head, row| {
            let c = match &mut checker {
                Some(c) => c,
                None => match check::Checker::new(job, head) {
                    Ok(c) => {
                        on_head(head, &c);
                        checker.insert(c)
                    }
                    Err(e) => {
                        failed = Some(mapping(e));
                        return false;
                    }
                },
            };
            match on_row(c.check(&row)) {
                Ok(go_on) => go_on,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        },
    )
    .map_err(|e| BatchError::Input(e.to_string()))?;
    if let Some(e) = failed {
        return Err(e);
    }
    match checker {
        Some(c) => Ok(c),
        None => {
            let c = check::Checker::new(job, &head).map_err(mapping)?;
            on_head(&head, &c);
            Ok(c)
        }
    }
}

/// The template context of one record: its fields, `values` and `doc`
/// (`number`, `record_id`, `doc_id` — the document id of
/// [`crate::mail::docid::doc_id`], empty when the record id cannot make one —
/// `issue_date`, `kind`).
pub fn context(job: &Job, record: &Record, number: u64) -> serde_json::Value {
    let mut fields = serde_json::Map::new();
    for (k, v) in &record.fields {
        fields.insert(k.clone(), v.clone());
    }
    let values = serde_json::to_value(&job.values).unwrap_or(serde_json::Value::Null);
    fields.insert("values".into(), values);
    fields.insert(
        "doc".into(),
        serde_json::json!({
            "number": number,
            "record_id": record.id,
            // A record id that cannot make a document id leaves it empty.
            "doc_id": crate::mail::docid::doc_id(&record.id).unwrap_or_default(),
            "issue_date": job.batch.issue_date,
            "kind": job.job.title,
        }),
    );
    serde_json::Value::Object(fields)
}

/// Renders one record to PDF bytes and its page count.
pub fn render_record(
    job: &Job,
    assets: &Assets,
    record: &Record,
    number: u64,
) -> Result<(Vec<u8>, usize, Vec<String>), RenderFailure> {
    render_record_timed(job, assets, record, number, None)
}

/// [`render_record`], adding the time of each stage to `clock`.
pub fn render_record_timed(
    job: &Job,
    assets: &Assets,
    record: &Record,
    number: u64,
    clock: Option<&StageClock>,
) -> Result<(Vec<u8>, usize, Vec<String>), RenderFailure> {
    let laid = layout_record(job, assets, record, number, clock)?;
    let t = std::time::Instant::now();
    let bytes = pdf::write_pdf_with(
        &laid.pages,
        &assets.fonts,
        &assets.cores,
        &assets.images,
        &doc_info(job),
        &pdf::PdfOptions::default(),
    )
    .map_err(|e| RenderFailure::Template(format!("PDF: {}", e.message)))?;
    if let Some(c) = clock {
        StageClock::add(&c.pdf, t);
    }
    Ok((bytes, laid.pages.len(), laid.warnings))
}

/// The PDF document information of a job's documents (title and the issue
/// date as creation date, so output does not depend on the clock).
pub fn doc_info(job: &Job) -> DocInfo {
    DocInfo {
        title: job.job.title.clone(),
        created: format!("{}000000", job.batch.issue_date.replace('-', "")),
    }
}

/// Template → markup → layout of one record: its pages, not yet written.
pub fn layout_record(
    job: &Job,
    assets: &Assets,
    record: &Record,
    number: u64,
    clock: Option<&StageClock>,
) -> Result<layout::Laid, RenderFailure> {
    let mut t = std::time::Instant::now();
    let mut tick = |c: fn(&StageClock) -> &std::sync::atomic::AtomicU64| {
        if let Some(clock) = clock {
            t = StageClock::add(c(clock), t);
        }
    };
    let markup = assets
        .template
        .render(&context(job, record, number))
        .map_err(|e| RenderFailure::Template(e.to_string()))?;
    tick(|c| &c.template);
    let form = form::parse(&markup).map_err(|e| {
        RenderFailure::Template(format!(
            "{}: 出力されたマークアップ (rendered markup) {e}",
            assets.template.path.display()
        ))
    })?;
    tick(|c| &c.markup);
    let laid = layout::layout(&form, &assets.fonts, &assets.images).map_err(|e| {
        if e.is_data_error() {
            RenderFailure::Data(e)
        } else {
            RenderFailure::Template(format!("{}: {e}", assets.template.path.display()))
        }
    })?;
    tick(|c| &c.layout);
    Ok(laid)
}

/// Why one record did not render.
#[derive(Debug)]
pub enum RenderFailure {
    /// The record's data cannot be laid out (a reject).
    Data(LayoutError),
    /// The template is broken (fails the batch).
    Template(String),
}

/// Makes a file name from a pattern and a record: placeholders replaced,
/// characters unsafe on Linux or Windows shares replaced by `_`.
pub fn file_name(pattern: &str, record: &Record, number: u64) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let key = &after[..end];
        let value = match key {
            "id" => record.id.clone(),
            "no" => number.to_string(),
            k => record.text(k),
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    sanitize_file_name(&out)
}

/// SHA-256 of a file, hex.
fn file_sha256(path: &Path) -> Result<String, BatchError> {
    let err = |e: std::io::Error| {
        BatchError::Input(format!(
            "読み込めません (cannot read) {}: {e}",
            path.display()
        ))
    };
    // Streamed: a manifest of 100,000 documents is tens of megabytes.
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(err)?;
    let mut out = String::with_capacity(64);
    for b in hasher.finalize() {
        let _ = write!(out, "{b:02x}");
    }
    Ok(out)
}

/// Hashes of everything a plan depends on, by role.
fn input_hashes(job: &Job, input: &Path) -> Result<BTreeMap<String, String>, BatchError> {
    let mut m = BTreeMap::new();
    m.insert("job".to_string(), file_sha256(&job.path)?);
    m.insert("template".to_string(), file_sha256(&job.template.file)?);
    m.insert("input".to_string(), file_sha256(input)?);
    // The issue date may come from the command line rather than the job file.
    m.insert("issue_date".to_string(), job.batch.issue_date.clone());
    Ok(m)
}

/// The run directory of a batch (or of one shard of it).
pub fn run_dir_of(
    out_root: &Path,
    job: &Job,
    batch_id: &str,
    shard: Option<(u64, u64)>,
) -> PathBuf {
    let name = match shard {
        Some((k, n)) => format!("{batch_id}.shard-{}-of-{n}", k + 1),
        None => batch_id.to_string(),
    };
    out_root.join(&job.job.name).join(name)
}

/// Validates a batch id: ASCII letters, digits, `-` and `_`.
pub fn check_batch_id(batch_id: &str) -> Result<(), BatchError> {
    if batch_id.is_empty()
        || batch_id.len() > 64
        || !batch_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(BatchError::Input(format!(
            "バッチIDは64文字以内の英数字・-・_ で書きます (batch id must be ASCII letters, digits, - or _): {batch_id}"
        )));
    }
    Ok(())
}

/// The plan's header: what the batch is made from and its number series.
/// Its documents are planned while reading ([`Planner`]).
fn plan_header(
    job: &Job,
    batch_id: &str,
    inputs: BTreeMap<String, String>,
) -> Result<Plan, BatchError> {
    let issue_date = chrono::NaiveDate::parse_from_str(&job.batch.issue_date, "%Y-%m-%d")
        .map_err(|e| BatchError::Input(e.to_string()))?;
    let series = job
        .batch
        .series
        .clone()
        .unwrap_or_else(|| job.job.name.clone());
    Ok(Plan {
        job: job.job.name.clone(),
        batch: batch_id.to_string(),
        inputs,
        series,
        fiscal_year: ledger::fiscal_year(issue_date),
    })
}

/// Removes a run directory's state and outputs for `--restart`.
fn wipe_run_dir(dir: &RunDir) -> Result<(), BatchError> {
    for f in [
        "plan.json",
        crate::run::spool::PLAN_FILE,
        "journal.jsonl",
        "manifest.csv",
        "manifest.json",
        "rejects.csv",
        "rejects.xlsx",
        "summary.json",
        "report.html",
    ] {
        let p = dir.path.join(f);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| BatchError::write(&p, e))?;
        }
    }
    let docs = dir.docs();
    if docs.exists() {
        std::fs::remove_dir_all(&docs).map_err(|e| BatchError::write(&docs, e))?;
    }
    Ok(())
}

/// Runs a whole batch (or one shard of it): plan, render what is missing,
/// finalize. Re-running a finished batch changes nothing.
pub fn run(job: &Job, opts: &RunOptions, log: &RunLog) -> Result<Outcome, BatchError> {
    let started = std::time::Instant::now();
    let mut stages: BTreeMap<String, u64> = BTreeMap::new();
    let mut lap = std::time::Instant::now();
    let mut stage = |name: &str, lap: &mut std::time::Instant| {
        stages.insert(name.to_string(), lap.elapsed().as_millis() as u64);
        *lap = std::time::Instant::now();
    };
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
    let _lock = RunLock::acquire(&dir.path).map_err(|e| match e {
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

    let input = opts.input.clone().unwrap_or_else(|| job.input.file.clone());
    let inputs = input_hashes(job, &input)?;
    let existing = Plan::load(&dir.path).map_err(|e| BatchError::write(&dir.path, e))?;
    if let Some(plan) = &existing {
        if plan.inputs != inputs {
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
            wipe_run_dir(&dir)?;
        } else if dir.is_finished() {
            log.info(
                "already_finished",
                "このバッチは完了済みです。何も出力しません (batch already finished; nothing to do)",
                serde_json::json!({}),
            );
            return Ok(Outcome {
                run_dir: dir.path.clone(),
                rows_read: 0,
                documents: 0,
                document_bytes: 0,
                rejects: Vec::new(),
                warnings: Vec::new(),
                already_finished: true,
                rendered_now: 0,
            });
        }
    }
    let existing = if opts.restart { None } else { existing };

    let threads = opts.threads.unwrap_or_else(rayon::current_num_threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| BatchError::Render(e.to_string()))?;
    let assets = pool.install(|| Assets::load(job, opts.fonts_dir.as_deref()))?;
    stage("load", &mut lap);

    let ledger_path = ledger_path(job, opts, &out_root);
    let plan = match existing {
        Some(p) => p,
        None => {
            let plan = plan_header(job, &batch_id, inputs)?;
            plan.save(&dir.path, modes.file)
                .map_err(|e| BatchError::write(&dir.path, e))?;
            plan
        }
    };

    let docs_dir = dir.docs();
    crate::files::create_dir_with(&docs_dir, modes.dir)
        .map_err(|e| BatchError::write(&docs_dir, e))?;
    let journal = Journal::read(&dir.path).map_err(|e| BatchError::write(&dir.path, e))?;
    let writer = runstate::DocWriter::new(
        &docs_dir,
        modes.file,
        Journal::open(&dir.path, modes.file).map_err(|e| BatchError::write(&dir.path, e))?,
        128,
    );
    let mut spool =
        EntrySpool::create(&dir.path, modes.file).map_err(|e| BatchError::write(&dir.path, e))?;
    let progress = Progress::new(0, log.verbosity());
    let source_file = input
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();

    // Reading, checking and planning run on their own thread, a few chunks
    // ahead of rendering: memory holds only the chunks in flight. With one
    // thread they take turns with rendering on the calling thread instead,
    // so `--threads 1` keeps the batch on one core.
    let mut collector = Collector {
        job,
        opts,
        assets: &assets,
        pool: &pool,
        writer: &writer,
        journal: &journal,
        docs_dir: &docs_dir,
        progress: &progress,
        log,
        spool: &mut spool,
        run_dir: &dir.path,
        source_file,
        sheet_name: String::new(),
        rejects: Vec::new(),
        originals: check::Originals::default(),
        warnings: Vec::new(),
        rendered_now: 0,
        reused: 0,
        failed: None,
    };
    let render_started = std::time::Instant::now();
    let read_result = if threads == 1 {
        read_check_plan(job, &input, &plan, &ledger_path, &dir.path, &mut |feed| {
            collector.take(feed)
        })
    } else {
        std::thread::scope(|s| -> Result<ReadStats, BatchError> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Feed>(2);
            let reader = s.spawn(|| {
                read_check_plan(
                    job,
                    &input,
                    &plan,
                    &ledger_path,
                    &dir.path,
                    &mut move |feed| tx.send(feed).is_ok(),
                )
            });
            for feed in rx.iter() {
                if !collector.take(feed) {
                    break;
                }
            }
            // Dropping the receiver stops the reader at its next chunk.
            drop(rx);
            reader
                .join()
                .unwrap_or_else(|_| Err(BatchError::Render("reader thread panicked".into())))
        })
    };
    let Collector {
        sheet_name,
        mut rejects,
        mut originals,
        warnings,
        rendered_now,
        reused,
        failed,
        ..
    } = collector;
    // A rendering error is the one to report (the reader then only says
    // that rendering stopped).
    let read_result = match failed {
        Some(e) => Err(e),
        None => read_result,
    };
    progress.finish();
    writer
        .finish()
        .map_err(|e| BatchError::write(&docs_dir, e))?;
    let read = read_result?;
    stages.insert("read_check".into(), read.read_check_ms);
    stages.insert("plan".into(), read.plan_ms);
    stages.insert("render".into(), render_started.elapsed().as_millis() as u64);
    lap = std::time::Instant::now();
    rejects.extend(read.finished.rejects);
    originals.rows.extend(read.finished.originals.rows);
    if originals.columns.is_empty() {
        originals.columns = read.finished.originals.columns;
    }
    sort_rejects(&mut rejects, &sheet_name);
    if reused > 0 {
        log.info(
            "resume",
            &format!("前回の続きから再開しました: {reused} 件は出力済みでした (resumed)"),
            serde_json::json!({"reused": reused, "rendered": rendered_now}),
        );
    }
    let entries = spool
        .finish()
        .map_err(|e| BatchError::write(&dir.path, e))?;

    let outcome = Outcome {
        run_dir: dir.path.clone(),
        rows_read: read.finished.rows_read,
        documents: entries.len(),
        document_bytes: 0,
        rejects,
        warnings,
        already_finished: false,
        rendered_now,
    };
    let timing = report::Timing {
        threads,
        total_ms: 0,
        stages_ms: stages,
        rendered_now,
        reused,
    };
    let _ = lap;
    let bytes = finalize(
        job,
        &plan,
        &dir,
        (&outcome, &entries),
        &originals,
        (&assets, opts.input.as_deref()),
        opts.shard,
        timing,
        started,
        log,
        &ledger_path,
    )?;
    entries
        .remove()
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok(Outcome {
        document_bytes: bytes,
        ..outcome
    })
}

/// Takes the reader's feed on the rendering side: renders each chunk and
/// collects what the finalize stage needs, in plan order (spooled manifest
/// entries, rejects with their rows' texts, warnings, counts).
struct Collector<'a> {
    job: &'a Job,
    opts: &'a RunOptions,
    assets: &'a Assets,
    pool: &'a rayon::ThreadPool,
    writer: &'a runstate::DocWriter,
    journal: &'a BTreeMap<String, JournalEntry>,
    docs_dir: &'a Path,
    progress: &'a Progress,
    log: &'a RunLog,
    spool: &'a mut EntrySpool,
    run_dir: &'a Path,
    source_file: String,
    sheet_name: String,
    rejects: Vec<Reject>,
    originals: check::Originals,
    warnings: Vec<(String, String)>,
    rendered_now: usize,
    reused: usize,
    /// The first rendering or spooling error; nothing is taken after it.
    failed: Option<BatchError>,
}

impl Collector<'_> {
    /// Takes one feed; false once rendering failed (the reader then stops).
    fn take(&mut self, feed: Feed) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let chunk = match feed {
            Feed::Head { sheet, columns } => {
                self.sheet_name = sheet;
                self.originals.columns = columns;
                return true;
            }
            Feed::Chunk(c) => c,
        };
        self.progress.add_total(chunk.docs.len() as u64);
        for (number, texts, rs) in chunk.rejected {
            self.keep_texts(number, texts);
            self.rejects.extend(rs);
        }
        let step = render_chunk(
            self.job,
            self.opts,
            self.assets,
            self.pool,
            self.writer,
            self.journal,
            self.docs_dir,
            self.progress,
            chunk.docs,
            (&self.source_file, &self.sheet_name),
        );
        let step = match step {
            Ok(s) => s,
            Err(e) => {
                self.failed = Some(e);
                return false;
            }
        };
        self.rendered_now += step.rendered;
        self.reused += step.reused;
        for slot in step.slots {
            match slot {
                Slot::Document(entry, w) => {
                    if let Err(e) = self.spool.push(&entry, &w) {
                        self.failed = Some(BatchError::write(self.run_dir, e));
                        return false;
                    }
                    for msg in w {
                        self.warnings.push((entry.record_id.clone(), msg));
                    }
                }
                Slot::Rejected(reject, texts) => {
                    self.log.info(
                        "reject",
                        "",
                        serde_json::json!({"row": reject.row, "code": reject.code}),
                    );
                    self.keep_texts(reject.row, texts);
                    self.rejects.push(reject);
                }
                Slot::OtherShard => {}
            }
        }
        true
    }

    /// Keeps a rejected row's texts for the rejects report.
    fn keep_texts(&mut self, row: u32, texts: Vec<String>) {
        let key = (self.source_file.clone(), self.sheet_name.clone(), row);
        self.originals.rows.insert(key, texts);
    }
}

/// Rows per chunk handed from the reader to rendering.
const CHUNK_ROWS: usize = 512;

/// What the reader thread sends to rendering.
enum Feed {
    /// The sheet's name and the rejects report's columns (first).
    Head { sheet: String, columns: Vec<String> },
    /// Checked and planned rows.
    Chunk(Chunk),
}

/// A chunk of checked rows: the rejected ones with their texts and
/// problems, the good ones with their texts and plan.
#[derive(Default)]
struct Chunk {
    rejected: Vec<(u32, Vec<String>, Vec<Reject>)>,
    docs: Vec<(Record, Vec<String>, PlannedDoc)>,
}

/// What the reader thread reports at the end.
struct ReadStats {
    finished: check::Finished,
    read_check_ms: u64,
    plan_ms: u64,
}

/// The reader: streams the input sheet through the [`check::Checker`],
/// plans the good rows (numbers from the ledger, file names, `plan.jsonl`)
/// and delivers them in chunks of [`CHUNK_ROWS`] (to the rendering thread
/// through a channel, or straight to rendering with one thread); `deliver`
/// says false once rendering has stopped.
fn read_check_plan(
    job: &Job,
    input: &Path,
    plan: &Plan,
    ledger_path: &Path,
    run_dir: &Path,
    deliver: &mut dyn FnMut(Feed) -> bool,
) -> Result<ReadStats, BatchError> {
    let mut planner = Planner::new(job, plan, ledger_path, run_dir)?;
    let mut chunk = Chunk::default();
    let mut rows = 0;
    let mut plan_ns = 0u128;
    let t0 = std::time::Instant::now();
    // Time spent waiting for rendering to take a chunk (or rendering it,
    // with one thread) is not the reader's.
    let wait_ns = std::cell::Cell::new(0u128);
    // Both callbacks below deliver, one at a time.
    let deliver = std::cell::RefCell::new(deliver);
    let send =
        |chunk: Chunk, planner: &mut Planner, plan_ns: &mut u128| -> Result<bool, BatchError> {
            let t = std::time::Instant::now();
            let chunk = planner.plan(chunk)?;
            *plan_ns += t.elapsed().as_nanos();
            let t = std::time::Instant::now();
            let sent = (deliver.borrow_mut())(Feed::Chunk(chunk));
            wait_ns.set(wait_ns.get() + t.elapsed().as_nanos());
            Ok(sent)
        };
    // The planner is shared by the two callbacks, one at a time.
    let planner_cell = std::cell::RefCell::new(&mut planner);
    let checker = stream_checked(
        job,
        input,
        &mut |head, c| {
            planner_cell.borrow_mut().reserve(head.rows_hint);
            (deliver.borrow_mut())(Feed::Head {
                sheet: head.sheet.clone(),
                columns: c.columns().to_vec(),
            });
        },
        &mut |o| {
            rows += 1;
            match o.result {
                Ok(record) => chunk.docs.push((record, o.texts, PlannedDoc::default())),
                Err(rs) => chunk.rejected.push((o.number, o.texts, rs)),
            }
            if rows % CHUNK_ROWS == 0 {
                return send(
                    std::mem::take(&mut chunk),
                    &mut planner_cell.borrow_mut(),
                    &mut plan_ns,
                );
            }
            Ok(true)
        },
    )?;
    if !send(chunk, &mut planner, &mut plan_ns)? {
        // Rendering stopped; its error is the one to report.
        return Err(BatchError::Render("rendering stopped".into()));
    }
    let t = std::time::Instant::now();
    planner.finish()?;
    plan_ns += t.elapsed().as_nanos();
    let finished = checker.finish();
    let total = (t0.elapsed().as_nanos().saturating_sub(wait_ns.get()) / 1_000_000) as u64;
    let plan_ms = (plan_ns / 1_000_000) as u64;
    Ok(ReadStats {
        finished,
        read_check_ms: total.saturating_sub(plan_ms),
        plan_ms,
    })
}

/// Plans documents chunk by chunk: numbers from the ledger, file names
/// (a collision gets the first free suffix), shard keys; each planned
/// document goes to `plan.jsonl` (or is checked against it on resume).
struct Planner<'a> {
    job: &'a Job,
    plan: &'a Plan,
    ledger: Ledger,
    issue_date: chrono::NaiveDate,
    file: PlanFile,
    /// Names taken so far, compared case-insensitively (Windows shares
    /// are), as 128-bit hashes: a few bytes per document however long the
    /// names are.
    taken: std::collections::HashSet<u64>,
}

impl<'a> Planner<'a> {
    fn new(
        job: &'a Job,
        plan: &'a Plan,
        ledger_path: &Path,
        run_dir: &Path,
    ) -> Result<Planner<'a>, BatchError> {
        let issue_date = chrono::NaiveDate::parse_from_str(&job.batch.issue_date, "%Y-%m-%d")
            .map_err(|e| BatchError::Input(e.to_string()))?;
        Ok(Planner {
            job,
            plan,
            ledger: Ledger::open(ledger_path).map_err(|e| BatchError::Io(e.to_string()))?,
            issue_date,
            file: PlanFile::open(run_dir, job.output.modes().file)
                .map_err(|e| BatchError::write(run_dir, e))?,
            taken: std::collections::HashSet::new(),
        })
    }

    /// Sizes the table of names for about `rows` documents.
    fn reserve(&mut self, rows: Option<usize>) {
        if let Some(n) = rows {
            self.taken.reserve(n.min(crate::input::limits::MAX_ROWS));
        }
    }

    /// Fills in the plan of the chunk's documents.
    fn plan(&mut self, mut chunk: Chunk) -> Result<Chunk, BatchError> {
        let ids: Vec<String> = chunk.docs.iter().map(|(r, _, _)| r.id.clone()).collect();
        let numbers = self
            .ledger
            .allocate(&ledger::Allocation {
                job: &self.job.job.name,
                batch: &self.plan.batch,
                kind: &self.job.job.title,
                series: &self.plan.series,
                issue_date: self.issue_date,
                first_number: self.job.batch.number_start,
                record_ids: &ids,
            })
            .map_err(|e| BatchError::Io(e.to_string()))?;
        for ((r, _, pd), number) in chunk.docs.iter_mut().zip(numbers) {
            let base = file_name(&self.job.job.file_name, r, number);
            let (stem, ext) = match base.rfind('.') {
                Some(p) if p > 0 => (base[..p].to_string(), base[p..].to_string()),
                _ => (base.clone(), String::new()),
            };
            let mut name = base.clone();
            let mut n = 1;
            // A collision gets the first free suffix -2, -3, …: never a
            // name that another record has or will be given.
            while !self.taken.insert(name_key(&name)) {
                n += 1;
                name = sanitize_file_name(&format!("{stem}-{n}{ext}"));
            }
            *pd = PlannedDoc {
                number,
                record_id: r.id.clone(),
                file: name,
                row: r.row,
                shard_key: runstate::shard_key(&r.id),
            };
            self.file.push(pd).map_err(plan_error)?;
        }
        Ok(chunk)
    }

    fn finish(self) -> Result<(), BatchError> {
        self.file.finish().map_err(plan_error)
    }
}

/// A file name's collision key: its lower-case form, hashed to 64 bits (a
/// false collision only gives a name a suffix it did not need).
fn name_key(name: &str) -> u64 {
    let d = Sha256::digest(name.to_lowercase().as_bytes());
    u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

fn plan_error(e: PlanError) -> BatchError {
    match e {
        PlanError::Io(e) => BatchError::Io(format!("plan.jsonl: {e}")),
        PlanError::Differs(line) => BatchError::Input(format!(
            "前回の計画と異なります (plan.jsonl の {line} 行目)。台帳か入力が変わった可能性があります。--restart でやり直してください (the plan differs from the earlier execution's at line {line}; use --restart)"
        )),
    }
}

/// One planned document after rendering.
enum Slot {
    /// Written (now or by an earlier execution).
    Document(ManifestEntry, Vec<String>),
    /// The layout refused the record's data, with the row's texts.
    Rejected(Reject, Vec<String>),
    /// Another shard's document.
    OtherShard,
}

/// What rendering one chunk gave, in plan order.
struct ChunkResult {
    slots: Vec<Slot>,
    rendered: usize,
    reused: usize,
}

/// Renders the documents of one chunk in parallel; documents an earlier
/// execution finished (journaled, same size on disk) are reused.
#[allow(clippy::too_many_arguments)]
fn render_chunk(
    job: &Job,
    opts: &RunOptions,
    assets: &Assets,
    pool: &rayon::ThreadPool,
    writer: &runstate::DocWriter,
    journal: &BTreeMap<String, JournalEntry>,
    docs_dir: &Path,
    progress: &Progress,
    docs: Vec<(Record, Vec<String>, PlannedDoc)>,
    (source_file, sheet_name): (&str, &str),
) -> Result<ChunkResult, BatchError> {
    let entry_for = |pd: &PlannedDoc, sha256: String, bytes: u64, pages: usize| ManifestEntry {
        file: pd.file.clone(),
        sha256,
        bytes,
        pages,
        record_id: pd.record_id.clone(),
        number: pd.number,
        kind: job.job.title.clone(),
        source_file: source_file.to_string(),
        source_sheet: sheet_name.to_string(),
        source_row: pd.row,
    };
    // Per document: whether it is this shard's, and if so whether an
    // earlier execution finished it.
    let work: Vec<_> = docs
        .into_iter()
        .map(|(record, texts, pd)| {
            let mine = opts.shard.is_none_or(|(k, n)| pd.shard_key % n == k);
            let done = journal.get(&pd.file).filter(|e| {
                mine && std::fs::symlink_metadata(docs_dir.join(&pd.file))
                    .is_ok_and(|m| m.is_file() && m.len() == e.bytes)
            });
            (record, texts, pd, mine, done.cloned())
        })
        .collect();
    let reused = work.iter().filter(|w| w.4.is_some()).count();
    let slots: Vec<Result<Slot, BatchError>> = pool.install(|| {
        work.into_par_iter()
            .map(|(record, texts, pd, mine, done)| {
                if !mine {
                    return Ok(Slot::OtherShard);
                }
                if let Some(e) = done {
                    return Ok(Slot::Document(
                        entry_for(&pd, e.sha256, e.bytes, e.pages),
                        e.warnings,
                    ));
                }
                let clock = opts.clock.as_deref();
                let out = match render_record_timed(job, assets, &record, pd.number, clock) {
                    Ok((bytes, pages, warnings)) => {
                        let t = std::time::Instant::now();
                        let sha = sha256_hex(&bytes);
                        if !opts.discard_docs {
                            let entry = JournalEntry {
                                file: pd.file.clone(),
                                sha256: sha.clone(),
                                bytes: bytes.len() as u64,
                                pages,
                                warnings: warnings.clone(),
                            };
                            writer
                                .write(entry, &bytes)
                                .map_err(|e| BatchError::write(&docs_dir.join(&pd.file), e))?;
                        }
                        if let Some(c) = clock {
                            StageClock::add(&c.write, t);
                        }
                        Ok(Slot::Document(
                            entry_for(&pd, sha, bytes.len() as u64, pages),
                            warnings,
                        ))
                    }
                    Err(RenderFailure::Data(e)) => Ok(Slot::Rejected(
                        Reject {
                            file: source_file.to_string(),
                            sheet: sheet_name.to_string(),
                            row: record.row,
                            column: String::new(),
                            value: String::new(),
                            code: e.code().into(),
                            reason: e.to_string(),
                        },
                        texts,
                    )),
                    Err(RenderFailure::Template(m)) => Err(BatchError::Render(m)),
                };
                progress.inc();
                out
            })
            .collect()
    });
    let out = slots
        .into_iter()
        .collect::<Result<Vec<Slot>, BatchError>>()?;
    let handled = out
        .iter()
        .filter(|s| matches!(s, Slot::Document(..) | Slot::Rejected(..)))
        .count();
    let rendered = handled - reused;
    Ok(ChunkResult {
        slots: out,
        rendered,
        reused,
    })
}

/// Orders rejects for the report: the main sheet's rows first, by row
/// (check and layout rejects of one row stay in the order they were found),
/// then those of joined sheets, by sheet and row.
pub fn sort_rejects(rejects: &mut [Reject], main_sheet: &str) {
    rejects.sort_by(|a, b| {
        let key = |r: &Reject| {
            (
                r.sheet != main_sheet,
                if r.sheet == main_sheet {
                    String::new()
                } else {
                    r.sheet.clone()
                },
                r.row,
            )
        };
        key(a).cmp(&key(b))
    });
}

/// The ledger of a job: `--ledger`, the job's `output.ledger`, or
/// `<out>/<job>/ledger.sqlite`.
pub fn ledger_path(job: &Job, opts: &RunOptions, out_root: &Path) -> PathBuf {
    opts.ledger
        .clone()
        .or_else(|| job.ledger_path())
        .unwrap_or_else(|| out_root.join(&job.job.name).join("ledger.sqlite"))
}

/// Writes everything after rendering, in this order: the journal in plan
/// order, rejects, manifests, the ledger's file hashes, and last
/// `summary.json` + `report.html` (the batch's "finished" mark). The
/// documents are read from the spool `entries` in one pass, never all held
/// (except by the delivery stage, which needs them together). Returns the
/// documents' bytes in all.
#[allow(clippy::too_many_arguments)]
fn finalize(
    job: &Job,
    plan: &Plan,
    dir: &RunDir,
    (outcome, entries): (&Outcome, &Entries),
    originals: &check::Originals,
    (assets, input): (&Assets, Option<&Path>),
    shard: Option<(u64, u64)>,
    mut timing: report::Timing,
    started: std::time::Instant,
    log: &RunLog,
    ledger_path: &Path,
) -> Result<u64, BatchError> {
    let modes = job.output.modes();
    let t_finalize = std::time::Instant::now();
    let rejects_path = dir.path.join("rejects.csv");
    write_rejects_csv(&rejects_path, &outcome.rejects)?;
    crate::run::rejects::write_rejects_xlsx(
        &dir.path.join("rejects.xlsx"),
        &outcome.rejects,
        originals,
    )?;

    // One pass: the journal in plan order (identical whatever the thread
    // count), the manifests, the ledger's file hashes, the counts.
    let jpath = dir.path.join("journal.jsonl");
    let mut journal =
        AtomicFile::create(&jpath, modes.file).map_err(|e| BatchError::write(&jpath, e))?;
    let mut manifests = ManifestWriter::create(&dir.path, job, &plan.batch)?;
    let mut ledger = Ledger::open(ledger_path).map_err(|e| BatchError::Io(e.to_string()))?;
    let mut issued: Vec<(String, String, String)> = Vec::new();
    let mark = |ledger: &mut Ledger, issued: &mut Vec<(String, String, String)>| {
        ledger
            .mark_issued(&job.job.name, &plan.batch, &job.job.title, issued)
            .map_err(|e| BatchError::Io(e.to_string()))?;
        issued.clear();
        Ok::<(), BatchError>(())
    };
    let (mut pages, mut total_bytes) = (0usize, 0u64);
    let (mut first, mut last): (Option<u64>, Option<u64>) = (None, None);
    let mut warnings = 0;
    for d in entries
        .iter()
        .map_err(|e| BatchError::write(&dir.path, e))?
    {
        let (d, w) = d.map_err(|e| BatchError::write(&dir.path, e))?;
        warnings += w.len();
        serde_json::to_writer(
            &mut journal,
            &JournalEntry {
                file: d.file.clone(),
                sha256: d.sha256.clone(),
                bytes: d.bytes,
                pages: d.pages,
                warnings: w,
            },
        )
        .map_err(|e| BatchError::Io(e.to_string()))?;
        journal
            .write_all(b"\n")
            .map_err(|e| BatchError::write(&jpath, e))?;
        manifests.push(&d)?;
        pages += d.pages;
        total_bytes += d.bytes;
        first = Some(first.map_or(d.number, |f| f.min(d.number)));
        last = Some(last.map_or(d.number, |l| l.max(d.number)));
        issued.push((d.record_id, d.file, d.sha256));
        if issued.len() >= 4096 {
            mark(&mut ledger, &mut issued)?;
        }
    }
    journal.commit().map_err(|e| BatchError::write(&jpath, e))?;
    manifests.commit()?;

    // Mail order, packages, print files and whole-batch documents; a shard
    // leaves them to the merge.
    let delivery = if shard.is_none() && crate::run::delivery::configured(job) {
        let documents = entries
            .load()
            .map_err(|e| BatchError::write(&dir.path, e))?;
        let records = read_and_check(job, input)?.records;
        crate::run::delivery::deliver(job, assets, &records, &documents, &dir.path, &plan.batch)?
    } else {
        serde_json::Value::Null
    };
    mark(&mut ledger, &mut issued)?;
    drop(ledger);

    let mut rejected_rows: Vec<(&str, u32)> = outcome
        .rejects
        .iter()
        .map(|r| (r.sheet.as_str(), r.row))
        .collect();
    rejected_rows.dedup();
    let documents = entries.len();
    timing
        .stages_ms
        .insert("finalize".into(), t_finalize.elapsed().as_millis() as u64);
    timing.total_ms = started.elapsed().as_millis() as u64;
    let summary = Summary {
        job: job.job.name.clone(),
        kind: job.job.title.clone(),
        batch: plan.batch.clone(),
        issue_date: job.batch.issue_date.clone(),
        shard: shard.map(|(k, n)| format!("{}/{n}", k + 1)),
        counts: report::Counts {
            rows_read: outcome.rows_read,
            documents,
            pages,
            rejected_rows: rejected_rows.len(),
            rejects: outcome.rejects.len(),
            warnings,
        },
        rejects_by_code: report::by_code(&outcome.rejects),
        numbers: serde_json::json!({
            "series": plan.series,
            "fiscal_year": plan.fiscal_year,
            "first": first,
            "last": last,
        }),
        inputs: plan.inputs.clone(),
        delivery,
        outputs: serde_json::json!({
            "documents_bytes": total_bytes,
            "bytes_per_document": if documents == 0 { 0 } else { total_bytes / documents as u64 },
            "manifest.json": file_sha256(&dir.path.join("manifest.json"))?,
            "manifest.csv": file_sha256(&dir.path.join("manifest.csv"))?,
            "rejects.csv": file_sha256(&rejects_path)?,
            "rejects.xlsx": file_sha256(&dir.path.join("rejects.xlsx"))?,
        }),
        timing,
    };
    let html = report::html(&summary, &outcome.rejects);
    let rpath = dir.path.join("report.html");
    crate::files::write_atomic_mode(&rpath, html.as_bytes(), modes.file)
        .map_err(|e| BatchError::write(&rpath, e))?;
    let mut json =
        serde_json::to_vec_pretty(&summary).map_err(|e| BatchError::Io(e.to_string()))?;
    json.push(b'\n');
    let spath = dir.path.join("summary.json");
    crate::files::write_atomic_mode(&spath, &json, modes.file)
        .map_err(|e| BatchError::write(&spath, e))?;
    log.info(
        "finished",
        "",
        serde_json::json!({"documents": documents, "rejects": outcome.rejects.len(), "rendered_now": outcome.rendered_now}),
    );
    Ok(total_bytes)
}

/// Combines the run directories of all N shards of a batch into the batch's
/// own run directory, identical to a run on one machine (but for timings).
pub fn merge(
    job: &Job,
    opts: &RunOptions,
    shards: u64,
    log: &RunLog,
) -> Result<Outcome, BatchError> {
    let started = std::time::Instant::now();
    let batch_id = opts
        .batch_id
        .clone()
        .unwrap_or_else(|| job.batch.issue_date.clone());
    check_batch_id(&batch_id)?;
    if shards == 0 {
        return Err(BatchError::Input(
            "--shards は 1 以上です (need at least one shard)".into(),
        ));
    }
    let modes = job.output.modes();
    let out_root = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| job.output.dir.clone());
    let mut plan: Option<(Plan, String)> = None;
    let mut documents: BTreeMap<u64, (ManifestEntry, PathBuf, Vec<String>)> = BTreeMap::new();
    let mut rejects: Vec<Reject> = Vec::new();
    let mut rows_read = 0;
    for k in 0..shards {
        let sdir = RunDir {
            path: run_dir_of(&out_root, job, &batch_id, Some((k, shards))),
        };
        if !sdir.is_finished() {
            return Err(BatchError::Input(format!(
                "分割 {}/{shards} が完了していません (shard not finished): {}",
                k + 1,
                sdir.path.display()
            )));
        }
        let sp = Plan::load(&sdir.path)
            .map_err(|e| BatchError::write(&sdir.path, e))?
            .ok_or_else(|| {
                BatchError::Input(format!("plan.json がありません: {}", sdir.path.display()))
            })?;
        // Every shard planned every document: the same header and lines.
        let lines = file_sha256(&sdir.path.join(crate::run::spool::PLAN_FILE))?;
        match &plan {
            None => plan = Some((sp, lines)),
            Some((p, l)) if *p == sp && *l == lines => {}
            Some(_) => {
                return Err(BatchError::Input(format!(
                    "分割 {}/{shards} の計画が他と異なります (shards were planned differently): {}",
                    k + 1,
                    sdir.path.display()
                )))
            }
        }
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(sdir.path.join("manifest.json"))
                .map_err(|e| BatchError::write(&sdir.path, e))?,
        )
        .map_err(|e| BatchError::Input(e.to_string()))?;
        let entries: Vec<ManifestEntry> = serde_json::from_value(manifest["documents"].clone())
            .map_err(|e| BatchError::Input(e.to_string()))?;
        let journal = Journal::read(&sdir.path).map_err(|e| BatchError::write(&sdir.path, e))?;
        for e in entries {
            let src = sdir.docs().join(&e.file);
            let warnings = journal
                .get(&e.file)
                .map(|j| j.warnings.clone())
                .unwrap_or_default();
            documents.insert(e.number, (e, src, warnings));
        }
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(sdir.path.join("summary.json"))
                .map_err(|e| BatchError::write(&sdir.path, e))?,
        )
        .map_err(|e| BatchError::Input(e.to_string()))?;
        rows_read = summary["counts"]["rows_read"].as_u64().unwrap_or(0) as usize;
        for r in crate::run::rejects::read_rejects_csv(&sdir.path.join("rejects.csv"))? {
            if !rejects.contains(&r) {
                rejects.push(r);
            }
        }
    }
    let (plan, _) = plan.expect("at least one shard");
    let first_shard = run_dir_of(&out_root, job, &batch_id, Some((0, shards)));
    let dir = RunDir {
        path: run_dir_of(&out_root, job, &batch_id, None),
    };
    crate::files::create_dir_with(&dir.path, modes.dir)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    let _lock = RunLock::acquire(&dir.path).map_err(|e| match e {
        runstate::LockError::Held(h) => BatchError::Locked(format!("locked by {h}")),
        runstate::LockError::Io(e) => BatchError::write(&dir.path, e),
    })?;
    log.attach(&dir.path.join("run.log"), modes.file)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    plan.save(&dir.path, modes.file)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    let ppath = dir.path.join(crate::run::spool::PLAN_FILE);
    let mut plan_lines = std::fs::File::open(first_shard.join(crate::run::spool::PLAN_FILE))
        .map_err(|e| BatchError::write(&first_shard, e))?;
    let mut copy =
        AtomicFile::create(&ppath, modes.file).map_err(|e| BatchError::write(&ppath, e))?;
    std::io::copy(&mut plan_lines, &mut copy).map_err(|e| BatchError::write(&ppath, e))?;
    copy.commit().map_err(|e| BatchError::write(&ppath, e))?;
    let docs_dir = dir.docs();
    crate::files::create_dir_with(&docs_dir, modes.dir)
        .map_err(|e| BatchError::write(&docs_dir, e))?;
    // Plan order = record order; numbers rise with it (`documents` is
    // keyed by number).
    let mut spool =
        EntrySpool::create(&dir.path, modes.file).map_err(|e| BatchError::write(&dir.path, e))?;
    let mut warnings = Vec::new();
    for (e, src, w) in documents.into_values() {
        let bytes = std::fs::read(&src).map_err(|err| BatchError::write(&src, err))?;
        if sha256_hex(&bytes) != e.sha256 {
            return Err(BatchError::Input(format!(
                "分割の文書がマニフェストと一致しません (shard document does not match its manifest): {}",
                src.display()
            )));
        }
        let dst = docs_dir.join(&e.file);
        crate::files::write_atomic_mode(&dst, &bytes, modes.file)
            .map_err(|err| BatchError::write(&dst, err))?;
        spool
            .push(&e, &w)
            .map_err(|err| BatchError::write(&dir.path, err))?;
        warnings.extend(w.into_iter().map(|m| (e.record_id.clone(), m)));
    }
    let entries = spool
        .finish()
        .map_err(|e| BatchError::write(&dir.path, e))?;
    // The rejects workbook shows each rejected row's original values: read
    // them from the input again (the shards read the same file).
    let checked = read_and_check(job, opts.input.as_deref())?;
    sort_rejects(&mut rejects, &checked.sheet);
    let outcome = Outcome {
        run_dir: dir.path.clone(),
        rows_read,
        documents: entries.len(),
        document_bytes: 0,
        rejects,
        warnings,
        already_finished: false,
        rendered_now: 0,
    };
    let timing = report::Timing {
        threads: 1,
        ..Default::default()
    };
    let ledger = ledger_path(job, opts, &out_root);
    let assets = Assets::load(job, opts.fonts_dir.as_deref())?;
    drop(checked.records);
    let bytes = finalize(
        job,
        &plan,
        &dir,
        (&outcome, &entries),
        &checked.originals,
        (&assets, opts.input.as_deref()),
        None,
        timing,
        started,
        log,
        &ledger,
    )?;
    entries
        .remove()
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok(Outcome {
        document_bytes: bytes,
        ..outcome
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn rejects_of_joined_sheets_come_after_the_main_sheet() {
        let r = |sheet: &str, row: u32, code: &str| Reject {
            file: "in.xlsx".into(),
            sheet: sheet.into(),
            row,
            column: String::new(),
            value: String::new(),
            code: code.into(),
            reason: String::new(),
        };
        let mut v = vec![
            r("申請", 9, "A"),
            r("給与明細", 3, "J"),
            r("申請", 4, "B"),
            r("申請", 4, "C"),
            r("給与明細", 2, "K"),
        ];
        sort_rejects(&mut v, "申請");
        let codes: Vec<&str> = v.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["B", "C", "A", "K", "J"]);
    }

    #[test]
    fn file_names_are_safe() {
        let mut fields = BTreeMap::new();
        fields.insert("name".into(), serde_json::json!("../山田/太郎"));
        let r = Record {
            id: "R-1".into(),
            row: 2,
            fields,
        };
        assert_eq!(file_name("{id}_{name}.pdf", &r, 7), "R-1_.._山田_太郎.pdf");
        assert_eq!(file_name("{no}.pdf", &r, 7), "7.pdf");
        assert_eq!(sanitize_file_name("..x"), "_.x");
    }
}
