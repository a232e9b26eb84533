//! The batch driver: job → run directory with documents, rejects and manifests.
//!
//! Order of work: load everything shared (fonts, images, template) once;
//! read and check the sheet; render every record in parallel (rayon), each
//! document a pure function of its record and the shared assets, written to a
//! temporary name and renamed; then write the rejects and, last, the
//! manifests, so a manifest never lists an incomplete file. Results are
//! collected in record order, so the output is identical whatever the thread
//! count.

use crate::check::{self, Record, Reject};
use crate::fonts::FontSet;
use crate::form;
use crate::image::ImageSet;
use crate::job::Job;
use crate::layout::{self, LayoutError};
use crate::ledger::{self, Ledger};
use crate::pdf::{self, DocInfo};
use crate::rejects::{neutralize_formula, write_rejects_csv};
use crate::report::{self, Summary};
use crate::runlog::{Progress, RunLog};
use crate::runstate::{self, Journal, JournalEntry, Modes, Plan, PlannedDoc, RunDir, RunLock};
use crate::source::{self, SheetSelector};
use crate::template::Template;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
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

/// One rendered document as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ManifestEntry {
    /// File name inside `docs/`.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Number of pages.
    pub pages: usize,
    /// The record id.
    pub record_id: String,
    /// Document number within the batch's series.
    pub number: u64,
    /// Document kind (the job title).
    pub kind: String,
    /// Source file name.
    pub source_file: String,
    /// Source sheet ("" for CSV).
    pub source_sheet: String,
    /// 1-based source row.
    pub source_row: u32,
}

/// What a finished run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Data rows read.
    pub rows_read: usize,
    /// Documents of this run directory (all, including reused ones).
    pub documents: Vec<ManifestEntry>,
    /// Rejects (from checking and from layout).
    pub rejects: Vec<Reject>,
    /// Warnings per record id (non-fatal).
    pub warnings: Vec<(String, String)>,
    /// The batch had already finished: nothing was rendered or written.
    pub already_finished: bool,
    /// Documents rendered by this execution.
    pub rendered_now: usize,
}

/// Why a batch failed. Each maps to a documented exit code.
#[derive(Debug)]
pub enum BatchError {
    /// The job, its template/fonts/images or the input cannot be used (exit 2).
    Input(String),
    /// Another run of the same batch holds the lock (exit 4).
    Locked(String),
    /// Rendering failed for a reason that is not the record's data (exit 3).
    Render(String),
    /// Writing outputs failed (exit 3).
    Io(String),
}

impl BatchError {
    /// The process exit code documented in the README.
    pub fn exit_code(&self) -> i32 {
        match self {
            BatchError::Input(_) => 2,
            BatchError::Locked(_) => 4,
            BatchError::Render(_) | BatchError::Io(_) => 3,
        }
    }
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Input(m)
            | BatchError::Locked(m)
            | BatchError::Render(m)
            | BatchError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BatchError {}

/// An I/O error naming the file.
pub(crate) fn io_err(path: &Path, e: std::io::Error) -> BatchError {
    BatchError::Io(format!(
        "書き込めません (cannot write) {}: {e}",
        path.display()
    ))
}

/// Everything shared read-only by the rendering threads.
pub struct Assets {
    /// Fonts.
    pub fonts: FontSet,
    /// Images.
    pub images: ImageSet,
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
        Ok(Assets {
            fonts,
            images,
            template,
        })
    }
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

/// Reads and checks the job's input.
pub fn read_and_check(job: &Job, input: Option<&Path>) -> Result<check::Checked, BatchError> {
    let path = input.unwrap_or(&job.input.file);
    let selector = match (&job.input.sheet, job.input.sheet_index) {
        (Some(name), _) => Some(SheetSelector::Name(name.clone())),
        (None, Some(i)) => Some(SheetSelector::Index(i)),
        (None, None) => None,
    };
    let header = match job.input.header_row {
        Some(n) => source::HeaderRow::At(n),
        None => source::HeaderRow::Find(job.fields.iter().map(|f| f.column.clone()).collect()),
    };
    // A sheet option names a workbook tab; delimited text has none and ignores it.
    let sheet = source::read_sheet_with(path, selector.as_ref(), &header)
        .map_err(|e| BatchError::Input(e.to_string()))?;
    check::check_sheet(&sheet, job)
        .map_err(|e| BatchError::Input(format!("{}: {}", path.display(), e.message)))
}

/// The template context of one record: its fields, `values` and `doc`
/// (`number`, `record_id`, `doc_id` — the document id of
/// [`crate::docid::doc_id`], empty when the record id cannot make one —
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
            "doc_id": crate::docid::doc_id(&record.id).unwrap_or_default(),
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
    let bytes = pdf::write_pdf(&laid.pages, &assets.fonts, &assets.images, &doc_info(job))
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

/// Longest file name [`sanitize_file_name`] returns, in UTF-8 bytes (below
/// the 255-byte limit of Linux file systems and SMB shares, leaving room for
/// a collision suffix and temporary-file prefixes).
pub const MAX_FILE_NAME_BYTES: usize = 200;

/// Makes a file name safe on Linux and on Windows shares.
///
/// NFC-normalised; path separators, control characters and
/// `\ / : * ? " < > |` become `_`; leading dots become `_` (no hidden
/// files, no `..`); trailing dots and spaces become `_` (Windows drops
/// them); a Windows reserved device name (`CON`, `PRN`, `AUX`, `NUL`,
/// `COM1`–`COM9`, `LPT1`–`LPT9`, any case, also with an extension such as
/// `nul.pdf`) gets a `_` prefix; at most [`MAX_FILE_NAME_BYTES`] bytes, cut
/// at a character boundary before the extension so `.pdf` is kept; never
/// empty.
pub fn sanitize_file_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut s: String = name
        .nfc()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Bounded length: keep a short extension, cut the stem at a char boundary.
    if s.len() > MAX_FILE_NAME_BYTES {
        let ext = match s.rfind('.') {
            Some(i) if s.len() - i <= 16 && i > 0 => s[i..].to_string(),
            _ => String::new(),
        };
        let mut cut = MAX_FILE_NAME_BYTES - ext.len();
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(&ext);
    }
    let dots = s.len() - s.trim_start_matches('.').len();
    s.replace_range(0..dots, &"_".repeat(dots));
    let trail = s.len() - s.trim_end_matches(['.', ' ']).len();
    let keep = s.len() - trail;
    s.replace_range(keep.., &"_".repeat(trail));
    let stem = s.split('.').next().unwrap_or("").trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    let reserved = matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && matches!(upper.as_bytes()[3], b'1'..=b'9'));
    if reserved {
        s.insert(0, '_');
        if s.len() > MAX_FILE_NAME_BYTES {
            let mut cut = MAX_FILE_NAME_BYTES;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// Writes bytes to `path` atomically with owner-only permissions (see
/// [`runstate::write_atomic_mode`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
    runstate::write_atomic_mode(path, bytes, Modes::default().file).map_err(|e| io_err(path, e))
}

/// SHA-256 as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One record's outcome: its manifest entry and warnings, or a reject.
type DocOutcome = Result<(ManifestEntry, Vec<String>), Reject>;

/// SHA-256 of a file, hex.
fn file_sha256(path: &Path) -> Result<String, BatchError> {
    let bytes = std::fs::read(path).map_err(|e| {
        BatchError::Input(format!(
            "読み込めません (cannot read) {}: {e}",
            path.display()
        ))
    })?;
    Ok(sha256_hex(&bytes))
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

/// Makes the plan: numbers from the ledger, file names, shard keys.
fn make_plan(
    job: &Job,
    records: &[Record],
    batch_id: &str,
    inputs: BTreeMap<String, String>,
    ledger_path: &Path,
) -> Result<Plan, BatchError> {
    let issue_date = chrono::NaiveDate::parse_from_str(&job.batch.issue_date, "%Y-%m-%d")
        .map_err(|e| BatchError::Input(e.to_string()))?;
    let series = job
        .batch
        .series
        .clone()
        .unwrap_or_else(|| job.job.name.clone());
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let mut ledger = Ledger::open(ledger_path).map_err(|e| BatchError::Io(e.to_string()))?;
    let numbers = ledger
        .allocate(&ledger::Allocation {
            job: &job.job.name,
            batch: batch_id,
            kind: &job.job.title,
            series: &series,
            issue_date,
            first_number: job.batch.number_start,
            record_ids: &ids,
        })
        .map_err(|e| BatchError::Io(e.to_string()))?;
    // Names already taken, compared case-insensitively (Windows shares are).
    let mut taken: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let docs = records
        .iter()
        .zip(numbers)
        .map(|(r, number)| {
            let base = file_name(&job.job.file_name, r, number);
            let (stem, ext) = match base.rfind('.') {
                Some(p) if p > 0 => (base[..p].to_string(), base[p..].to_string()),
                _ => (base.clone(), String::new()),
            };
            let mut name = base.clone();
            let mut n = 1;
            // A collision gets the first free suffix -2, -3, …: never a name
            // that another record has or will be given.
            while !taken.insert(name.to_lowercase()) {
                n += 1;
                name = sanitize_file_name(&format!("{stem}-{n}{ext}"));
            }
            PlannedDoc {
                number,
                record_id: r.id.clone(),
                file: name,
                row: r.row,
                shard_key: runstate::shard_key(&r.id),
            }
        })
        .collect();
    Ok(Plan {
        job: job.job.name.clone(),
        batch: batch_id.to_string(),
        inputs,
        series,
        fiscal_year: ledger::fiscal_year(issue_date),
        docs,
    })
}

/// Removes a run directory's state and outputs for `--restart`.
fn wipe_run_dir(dir: &RunDir) -> Result<(), BatchError> {
    for f in [
        "plan.json",
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
            std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
        }
    }
    let docs = dir.docs();
    if docs.exists() {
        std::fs::remove_dir_all(&docs).map_err(|e| io_err(&docs, e))?;
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
    runstate::create_dir_with(&dir.path, modes.dir).map_err(|e| io_err(&dir.path, e))?;
    let _lock = RunLock::acquire(&dir.path).map_err(|e| match e {
        runstate::LockError::Held(holder) => BatchError::Locked(format!(
            "このバッチは別のプロセスが実行中です (batch is locked by another run: {holder}): {}",
            dir.path.display()
        )),
        runstate::LockError::Io(e) => io_err(&dir.path, e),
    })?;
    log.attach(&dir.path.join("run.log"), modes.file)
        .map_err(|e| io_err(&dir.path, e))?;
    for d in [dir.path.clone(), dir.docs()] {
        runstate::remove_stale_temporaries(&d).map_err(|e| io_err(&d, e))?;
    }
    log.info(
        "start",
        "",
        serde_json::json!({"job": job.job.name, "batch": batch_id, "shard": opts.shard.map(|(k, n)| format!("{}/{n}", k + 1))}),
    );

    let input = opts.input.clone().unwrap_or_else(|| job.input.file.clone());
    let inputs = input_hashes(job, &input)?;
    let existing = Plan::load(&dir.path).map_err(|e| io_err(&dir.path, e))?;
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
                documents: Vec::new(),
                rejects: Vec::new(),
                warnings: Vec::new(),
                already_finished: true,
                rendered_now: 0,
            });
        }
    }
    let existing = if opts.restart { None } else { existing };

    let assets = Assets::load(job, opts.fonts_dir.as_deref())?;
    stage("load", &mut lap);
    let checked = read_and_check(job, Some(&input))?;
    stage("read_check", &mut lap);
    log.info(
        "checked",
        "",
        serde_json::json!({"rows": checked.rows_read, "records": checked.records.len(), "rejects": checked.rejects.len()}),
    );

    let ledger_path = ledger_path(job, opts, &out_root);
    let plan = match existing {
        Some(p) => p,
        None => {
            let plan = make_plan(job, &checked.records, &batch_id, inputs, &ledger_path)?;
            plan.save(&dir.path, modes.file)
                .map_err(|e| io_err(&dir.path, e))?;
            plan
        }
    };
    if plan.docs.len() != checked.records.len() {
        return Err(BatchError::Input(
            "計画と入力の件数が一致しません (plan and input disagree); --restart でやり直してください".into(),
        ));
    }
    stage("plan", &mut lap);

    let docs_dir = dir.docs();
    runstate::create_dir_with(&docs_dir, modes.dir).map_err(|e| io_err(&docs_dir, e))?;
    let journal = Journal::read(&dir.path).map_err(|e| io_err(&dir.path, e))?;
    let mine: Vec<usize> = (0..plan.docs.len())
        .filter(|i| match opts.shard {
            Some((k, n)) => plan.docs[*i].shard_key % n == k,
            None => true,
        })
        .collect();

    // Documents finished by an earlier execution: journaled and present.
    let mut reused: BTreeMap<usize, JournalEntry> = BTreeMap::new();
    for &i in &mine {
        let pd = &plan.docs[i];
        let path = docs_dir.join(&pd.file);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        match journal.get(&pd.file) {
            Some(e) if e.bytes == meta.len() => {
                reused.insert(i, e.clone());
            }
            _ => {}
        }
    }
    let todo: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|i| !reused.contains_key(i))
        .collect();
    if !reused.is_empty() {
        log.info(
            "resume",
            &format!(
                "前回の続きから再開します: {} 件は出力済み、残り {} 件 (resuming)",
                reused.len(),
                todo.len()
            ),
            serde_json::json!({"reused": reused.len(), "todo": todo.len()}),
        );
    }

    let threads = opts.threads.unwrap_or_else(rayon::current_num_threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| BatchError::Render(e.to_string()))?;
    let writer = runstate::DocWriter::new(
        &docs_dir,
        modes.file,
        Journal::open(&dir.path, modes.file).map_err(|e| io_err(&dir.path, e))?,
        128,
    );
    let progress = Progress::new(todo.len() as u64, log.verbosity());
    let source_file = input
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sheet_name = checked.sheet.clone();
    let entry_for = |i: usize, sha256: String, bytes: u64, pages: usize| {
        let pd = &plan.docs[i];
        ManifestEntry {
            file: pd.file.clone(),
            sha256,
            bytes,
            pages,
            record_id: pd.record_id.clone(),
            number: pd.number,
            kind: job.job.title.clone(),
            source_file: source_file.clone(),
            source_sheet: sheet_name.clone(),
            source_row: pd.row,
        }
    };
    let rendered: Vec<(usize, Result<DocOutcome, BatchError>)> = pool.install(|| {
        todo.par_iter()
            .map(|&i| {
                let record = &checked.records[i];
                let pd = &plan.docs[i];
                let clock = opts.clock.as_deref();
                let out = match render_record_timed(job, &assets, record, pd.number, clock) {
                    Ok((bytes, pages, warnings)) => (|| {
                        let t = std::time::Instant::now();
                        let sha = sha256_hex(&bytes);
                        if !opts.discard_docs {
                            let entry = JournalEntry {
                                file: pd.file.clone(),
                                sha256: sha.clone(),
                                bytes: bytes.len() as u64,
                                pages,
                            };
                            writer
                                .write(entry, &bytes)
                                .map_err(|e| io_err(&docs_dir.join(&pd.file), e))?;
                        }
                        if let Some(c) = clock {
                            StageClock::add(&c.write, t);
                        }
                        Ok(Ok((entry_for(i, sha, bytes.len() as u64, pages), warnings)))
                    })(),
                    Err(RenderFailure::Data(e)) => Ok(Err(Reject {
                        file: source_file.clone(),
                        sheet: sheet_name.clone(),
                        row: record.row,
                        column: String::new(),
                        value: String::new(),
                        code: e.code().into(),
                        reason: e.to_string(),
                    })),
                    Err(RenderFailure::Template(m)) => Err(BatchError::Render(m)),
                };
                progress.inc();
                (i, out)
            })
            .collect()
    });
    progress.finish();
    writer.finish().map_err(|e| io_err(&docs_dir, e))?;
    stage("render", &mut lap);

    let mut by_index: BTreeMap<usize, ManifestEntry> = reused
        .iter()
        .map(|(i, e)| (*i, entry_for(*i, e.sha256.clone(), e.bytes, e.pages)))
        .collect();
    let mut rejects = checked.rejects;
    let mut warnings = Vec::new();
    let rendered_now = rendered.len();
    for (i, r) in rendered {
        match r? {
            Ok((entry, w)) => {
                for msg in w {
                    warnings.push((entry.record_id.clone(), msg));
                }
                by_index.insert(i, entry);
            }
            Err(reject) => {
                log.info(
                    "reject",
                    "",
                    serde_json::json!({"row": reject.row, "code": reject.code}),
                );
                rejects.push(reject);
            }
        }
    }
    sort_rejects(&mut rejects, &checked.sheet);
    let documents: Vec<ManifestEntry> = by_index.into_values().collect();

    let outcome = Outcome {
        run_dir: dir.path.clone(),
        rows_read: checked.rows_read,
        documents,
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
        reused: reused.len(),
    };
    finalize(
        job,
        &plan,
        &dir,
        &outcome,
        &checked.originals,
        (&assets, &checked.records),
        opts.shard,
        timing,
        started,
        log,
        &ledger_path,
    )?;
    Ok(outcome)
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
/// `summary.json` + `report.html` (the batch's "finished" mark).
#[allow(clippy::too_many_arguments)]
fn finalize(
    job: &Job,
    plan: &Plan,
    dir: &RunDir,
    outcome: &Outcome,
    originals: &check::Originals,
    (assets, records): (&Assets, &[Record]),
    shard: Option<(u64, u64)>,
    mut timing: report::Timing,
    started: std::time::Instant,
    log: &RunLog,
    ledger_path: &Path,
) -> Result<(), BatchError> {
    let modes = job.output.modes();
    // A compact journal in plan order: identical whatever the thread count.
    let mut journal = String::new();
    for d in &outcome.documents {
        let line = serde_json::to_string(&JournalEntry {
            file: d.file.clone(),
            sha256: d.sha256.clone(),
            bytes: d.bytes,
            pages: d.pages,
        })
        .map_err(|e| BatchError::Io(e.to_string()))?;
        journal.push_str(&line);
        journal.push('\n');
    }
    let jpath = dir.path.join("journal.jsonl");
    runstate::write_atomic_mode(&jpath, journal.as_bytes(), modes.file)
        .map_err(|e| io_err(&jpath, e))?;

    let rejects_path = dir.path.join("rejects.csv");
    write_rejects_csv(&rejects_path, &outcome.rejects)?;
    crate::rejects::write_rejects_xlsx(
        &dir.path.join("rejects.xlsx"),
        &outcome.rejects,
        originals,
    )?;
    write_manifests(&dir.path, job, &plan.batch, &outcome.documents)?;

    // Mail order, packages, print files and whole-batch documents; a shard
    // leaves them to the merge.
    let delivery = if shard.is_none() {
        crate::delivery::deliver(
            job,
            assets,
            records,
            &outcome.documents,
            &dir.path,
            &plan.batch,
        )?
    } else {
        serde_json::Value::Null
    };
    let ledger_done: Vec<(String, String, String)> = outcome
        .documents
        .iter()
        .map(|d| (d.record_id.clone(), d.file.clone(), d.sha256.clone()))
        .collect();
    Ledger::open(ledger_path)
        .and_then(|mut l| l.mark_issued(&job.job.name, &plan.batch, &job.job.title, &ledger_done))
        .map_err(|e| BatchError::Io(e.to_string()))?;

    let mut rejected_rows: Vec<u32> = outcome.rejects.iter().map(|r| r.row).collect();
    rejected_rows.dedup();
    let numbers: Vec<u64> = outcome.documents.iter().map(|d| d.number).collect();
    let total_bytes: u64 = outcome.documents.iter().map(|d| d.bytes).sum();
    timing.total_ms = started.elapsed().as_millis() as u64;
    let summary = Summary {
        job: job.job.name.clone(),
        kind: job.job.title.clone(),
        batch: plan.batch.clone(),
        issue_date: job.batch.issue_date.clone(),
        shard: shard.map(|(k, n)| format!("{}/{n}", k + 1)),
        counts: report::Counts {
            rows_read: outcome.rows_read,
            documents: outcome.documents.len(),
            pages: outcome.documents.iter().map(|d| d.pages).sum(),
            rejected_rows: rejected_rows.len(),
            rejects: outcome.rejects.len(),
            warnings: outcome.warnings.len(),
        },
        rejects_by_code: report::by_code(&outcome.rejects),
        numbers: serde_json::json!({
            "series": plan.series,
            "fiscal_year": plan.fiscal_year,
            "first": numbers.iter().min(),
            "last": numbers.iter().max(),
        }),
        inputs: plan.inputs.clone(),
        delivery,
        outputs: serde_json::json!({
            "documents_bytes": total_bytes,
            "bytes_per_document": if outcome.documents.is_empty() { 0 } else { total_bytes / outcome.documents.len() as u64 },
            "manifest.json": file_sha256(&dir.path.join("manifest.json"))?,
            "manifest.csv": file_sha256(&dir.path.join("manifest.csv"))?,
            "rejects.csv": file_sha256(&rejects_path)?,
            "rejects.xlsx": file_sha256(&dir.path.join("rejects.xlsx"))?,
        }),
        timing,
    };
    let html = report::html(&summary, &outcome.rejects);
    let rpath = dir.path.join("report.html");
    runstate::write_atomic_mode(&rpath, html.as_bytes(), modes.file)
        .map_err(|e| io_err(&rpath, e))?;
    let mut json =
        serde_json::to_vec_pretty(&summary).map_err(|e| BatchError::Io(e.to_string()))?;
    json.push(b'\n');
    let spath = dir.path.join("summary.json");
    runstate::write_atomic_mode(&spath, &json, modes.file).map_err(|e| io_err(&spath, e))?;
    log.info(
        "finished",
        "",
        serde_json::json!({"documents": outcome.documents.len(), "rejects": outcome.rejects.len(), "rendered_now": outcome.rendered_now}),
    );
    Ok(())
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
    let mut plan: Option<Plan> = None;
    let mut documents: BTreeMap<u64, (ManifestEntry, PathBuf)> = BTreeMap::new();
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
            .map_err(|e| io_err(&sdir.path, e))?
            .ok_or_else(|| {
                BatchError::Input(format!("plan.json がありません: {}", sdir.path.display()))
            })?;
        match &plan {
            None => plan = Some(sp),
            Some(p) if *p == sp => {}
            Some(_) => {
                return Err(BatchError::Input(format!(
                    "分割 {}/{shards} の計画が他と異なります (shards were planned differently): {}",
                    k + 1,
                    sdir.path.display()
                )))
            }
        }
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(sdir.path.join("manifest.json")).map_err(|e| io_err(&sdir.path, e))?,
        )
        .map_err(|e| BatchError::Input(e.to_string()))?;
        let entries: Vec<ManifestEntry> = serde_json::from_value(manifest["documents"].clone())
            .map_err(|e| BatchError::Input(e.to_string()))?;
        for e in entries {
            let src = sdir.docs().join(&e.file);
            documents.insert(e.number, (e, src));
        }
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(sdir.path.join("summary.json")).map_err(|e| io_err(&sdir.path, e))?,
        )
        .map_err(|e| BatchError::Input(e.to_string()))?;
        rows_read = summary["counts"]["rows_read"].as_u64().unwrap_or(0) as usize;
        for r in crate::rejects::read_rejects_csv(&sdir.path.join("rejects.csv"))? {
            if !rejects.contains(&r) {
                rejects.push(r);
            }
        }
    }
    let plan = plan.expect("at least one shard");
    let dir = RunDir {
        path: run_dir_of(&out_root, job, &batch_id, None),
    };
    runstate::create_dir_with(&dir.path, modes.dir).map_err(|e| io_err(&dir.path, e))?;
    let _lock = RunLock::acquire(&dir.path).map_err(|e| match e {
        runstate::LockError::Held(h) => BatchError::Locked(format!("locked by {h}")),
        runstate::LockError::Io(e) => io_err(&dir.path, e),
    })?;
    log.attach(&dir.path.join("run.log"), modes.file)
        .map_err(|e| io_err(&dir.path, e))?;
    plan.save(&dir.path, modes.file)
        .map_err(|e| io_err(&dir.path, e))?;
    let docs_dir = dir.docs();
    runstate::create_dir_with(&docs_dir, modes.dir).map_err(|e| io_err(&docs_dir, e))?;
    let mut entries = Vec::with_capacity(documents.len());
    // Plan order = record order; numbers rise with it.
    let order: BTreeMap<&str, usize> = plan
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.file.as_str(), i))
        .collect();
    let mut sorted: Vec<(ManifestEntry, PathBuf)> = documents.into_values().collect();
    sorted.sort_by_key(|(e, _)| order.get(e.file.as_str()).copied().unwrap_or(usize::MAX));
    for (e, src) in sorted {
        let bytes = std::fs::read(&src).map_err(|err| io_err(&src, err))?;
        if sha256_hex(&bytes) != e.sha256 {
            return Err(BatchError::Input(format!(
                "分割の文書がマニフェストと一致しません (shard document does not match its manifest): {}",
                src.display()
            )));
        }
        let dst = docs_dir.join(&e.file);
        runstate::write_atomic_mode(&dst, &bytes, modes.file).map_err(|err| io_err(&dst, err))?;
        entries.push(e);
    }
    // The rejects workbook shows each rejected row's original values: read
    // them from the input again (the shards read the same file).
    let checked = read_and_check(job, opts.input.as_deref())?;
    sort_rejects(&mut rejects, &checked.sheet);
    let outcome = Outcome {
        run_dir: dir.path.clone(),
        rows_read,
        documents: entries,
        rejects,
        warnings: Vec::new(),
        already_finished: false,
        rendered_now: 0,
    };
    let timing = report::Timing {
        threads: 1,
        ..Default::default()
    };
    let ledger = ledger_path(job, opts, &out_root);
    let assets = Assets::load(job, opts.fonts_dir.as_deref())?;
    finalize(
        job,
        &plan,
        &dir,
        &outcome,
        &checked.originals,
        (&assets, &checked.records),
        None,
        timing,
        started,
        log,
        &ledger,
    )?;
    Ok(outcome)
}

/// Writes `manifest.csv` and `manifest.json` (last: they list only finished files).
pub fn write_manifests(
    run_dir: &Path,
    job: &Job,
    batch_id: &str,
    docs: &[ManifestEntry],
) -> Result<(), BatchError> {
    let mut buf = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut buf);
        w.write_record([
            "file",
            "sha256",
            "bytes",
            "pages",
            "record_id",
            "number",
            "kind",
            "source_file",
            "source_sheet",
            "source_row",
        ])
        .map_err(|e| BatchError::Io(e.to_string()))?;
        for d in docs {
            w.write_record([
                d.file.clone(),
                d.sha256.clone(),
                d.bytes.to_string(),
                d.pages.to_string(),
                neutralize_formula(&d.record_id),
                d.number.to_string(),
                d.kind.clone(),
                d.source_file.clone(),
                d.source_sheet.clone(),
                d.source_row.to_string(),
            ])
            .map_err(|e| BatchError::Io(e.to_string()))?;
        }
        w.flush().map_err(|e| io_err(run_dir, e))?;
    }
    write_atomic(&run_dir.join("manifest.csv"), &buf)?;
    /// `manifest.json`, serialised straight from the entries (no copy as a
    /// JSON tree: it matters at 100,000 documents).
    #[derive(Serialize)]
    struct ManifestJson<'a> {
        job: &'a str,
        kind: &'a str,
        batch: &'a str,
        issue_date: &'a str,
        documents: &'a [ManifestEntry],
    }
    let json = ManifestJson {
        job: &job.job.name,
        kind: &job.job.title,
        batch: batch_id,
        issue_date: &job.batch.issue_date,
        documents: docs,
    };
    let mut text = serde_json::to_vec_pretty(&json).map_err(|e| BatchError::Io(e.to_string()))?;
    text.push(b'\n');
    write_atomic(&run_dir.join("manifest.json"), &text)
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
        assert_eq!(sanitize_file_name("..x"), "__x");
    }

    #[test]
    fn file_names_are_safe_on_windows_shares() {
        for (given, want) in [
            ("..", "__"),
            ("../../etc/passwd", "___.._etc_passwd"),
            ("a\\b:c*d?e\"f<g>h|i", "a_b_c_d_e_f_g_h_i"),
            ("tab\there\n", "tab_here_"),
            ("CON", "_CON"),
            ("con.pdf", "_con.pdf"),
            ("Nul.tar.gz", "_Nul.tar.gz"),
            ("COM1.pdf", "_COM1.pdf"),
            ("lpt9", "_lpt9"),
            ("COM0.pdf", "COM0.pdf"),
            ("CONSOLE.pdf", "CONSOLE.pdf"),
            ("name. ", "name__"),
            ("name...", "name___"),
            ("", "_"),
            // NFD か + combining voiced mark → NFC が.
            ("\u{304B}\u{3099}.pdf", "\u{304C}.pdf"),
        ] {
            assert_eq!(sanitize_file_name(given), want, "{given:?}");
        }
    }

    #[test]
    fn long_file_names_are_cut_at_a_char_boundary_keeping_the_extension() {
        let long = format!("{}.pdf", "山".repeat(300));
        let s = sanitize_file_name(&long);
        assert!(s.len() <= MAX_FILE_NAME_BYTES, "{}", s.len());
        assert!(s.ends_with(".pdf") && s.starts_with("山山"), "{s}");
        let s = sanitize_file_name(&"a".repeat(10_000));
        assert_eq!(s.len(), MAX_FILE_NAME_BYTES);
        // Every output is a fixed point.
        for n in ["CON", "a. ", &long, "..", "x/y"] {
            let once = sanitize_file_name(n);
            assert_eq!(sanitize_file_name(&once), once, "{n:?}");
        }
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            neutralize_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralize_formula("山田"), "山田");
    }
}
