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
use crate::pdf::{self, DocInfo};
use crate::rejects::{neutralize_formula, write_rejects_csv};
use crate::source::{self, SheetSelector};
use crate::template::Template;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::Write;
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
}

/// One rendered document as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Documents written.
    pub documents: Vec<ManifestEntry>,
    /// Rejects (from checking and from layout).
    pub rejects: Vec<Reject>,
    /// Warnings per record id (non-fatal).
    pub warnings: Vec<(String, String)>,
}

/// Why a batch failed. Each maps to a documented exit code.
#[derive(Debug)]
pub enum BatchError {
    /// The job, its template/fonts/images or the input cannot be used (exit 2).
    Input(String),
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
            BatchError::Render(_) | BatchError::Io(_) => 3,
        }
    }
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Input(m) | BatchError::Render(m) | BatchError::Io(m) => f.write_str(m),
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

/// The template context of one record.
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
    let markup = assets
        .template
        .render(&context(job, record, number))
        .map_err(|e| RenderFailure::Template(e.to_string()))?;
    let form = form::parse(&markup).map_err(|e| {
        RenderFailure::Template(format!(
            "{}: 出力されたマークアップ (rendered markup) {e}",
            assets.template.path.display()
        ))
    })?;
    let laid = layout::layout(&form, &assets.fonts, &assets.images).map_err(|e| {
        if e.is_data_error() {
            RenderFailure::Data(e)
        } else {
            RenderFailure::Template(format!("{}: {e}", assets.template.path.display()))
        }
    })?;
    let info = DocInfo {
        title: job.job.title.clone(),
        created: format!("{}000000", job.batch.issue_date.replace('-', "")),
    };
    let bytes = pdf::write_pdf(&laid.pages, &assets.fonts, &assets.images, &info)
        .map_err(|e| RenderFailure::Template(format!("PDF: {}", e.message)))?;
    Ok((bytes, laid.pages.len(), laid.warnings))
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
            k => match record.fields.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            },
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    sanitize_file_name(&out)
}

/// Replaces path separators, control and reserved characters; no leading dot.
pub fn sanitize_file_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let dots = s.len() - s.trim_start_matches('.').len();
    s.replace_range(0..dots, &"_".repeat(dots));
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// Writes bytes to `path` via a temporary file in the same folder, fsynced
/// and renamed, so a reader never sees a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
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

/// Runs a whole batch.
pub fn run(job: &Job, opts: &RunOptions) -> Result<Outcome, BatchError> {
    let assets = Assets::load(job, opts.fonts_dir.as_deref())?;
    let checked = read_and_check(job, opts.input.as_deref())?;
    let batch_id = opts
        .batch_id
        .clone()
        .unwrap_or_else(|| job.batch.issue_date.clone());
    if batch_id.is_empty()
        || !batch_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(BatchError::Input(format!(
            "バッチIDは英数字・-・_ だけで書きます (batch id must be ASCII letters, digits, - or _): {batch_id}"
        )));
    }
    let out_root = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| job.output.dir.clone());
    let run_dir = out_root.join(&job.job.name).join(&batch_id);
    let docs_dir = run_dir.join("docs");
    std::fs::create_dir_all(&docs_dir).map_err(|e| io_err(&docs_dir, e))?;

    let source_file = opts
        .input
        .as_deref()
        .unwrap_or(&job.input.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();

    // Numbers and file names are fixed before rendering, in record order.
    let mut names = std::collections::HashMap::new();
    let planned: Vec<(usize, u64, String)> = checked
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let number = job.batch.number_start + i as u64;
            let mut name = file_name(&job.job.file_name, r, number);
            let count = names.entry(name.clone()).or_insert(0u32);
            *count += 1;
            if *count > 1 {
                let (stem, ext) = match name.rfind('.') {
                    Some(p) => (name[..p].to_string(), name[p..].to_string()),
                    None => (name.clone(), String::new()),
                };
                name = format!("{stem}-{count}{ext}");
            }
            (i, number, name)
        })
        .collect();

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .map_err(|e| BatchError::Render(e.to_string()))?;
    let sheet_name = checked.sheet.clone();
    let results: Vec<Result<DocOutcome, BatchError>> = pool.install(|| {
        planned
            .par_iter()
            .map(|(i, number, name)| {
                let record = &checked.records[*i];
                match render_record(job, &assets, record, *number) {
                    Ok((bytes, pages, warnings)) => {
                        let path = docs_dir.join(name);
                        write_atomic(&path, &bytes)?;
                        Ok(Ok((
                            ManifestEntry {
                                file: name.clone(),
                                sha256: sha256_hex(&bytes),
                                bytes: bytes.len() as u64,
                                pages,
                                record_id: record.id.clone(),
                                number: *number,
                                kind: job.job.title.clone(),
                                source_file: source_file.clone(),
                                source_sheet: sheet_name.clone(),
                                source_row: record.row,
                            },
                            warnings,
                        )))
                    }
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
                }
            })
            .collect()
    });
    let mut documents = Vec::new();
    let mut rejects = checked.rejects;
    let mut warnings = Vec::new();
    for r in results {
        match r? {
            Ok((entry, w)) => {
                for msg in w {
                    warnings.push((entry.record_id.clone(), msg));
                }
                documents.push(entry);
            }
            Err(reject) => rejects.push(reject),
        }
    }
    rejects.sort_by_key(|r| r.row);

    write_rejects_csv(&run_dir.join("rejects.csv"), &rejects)?;
    crate::rejects::write_rejects_xlsx(&run_dir.join("rejects.xlsx"), &rejects, &checked.originals)?;
    write_manifests(&run_dir, job, &batch_id, &documents)?;
    Ok(Outcome {
        run_dir,
        rows_read: checked.rows_read,
        documents,
        rejects,
        warnings,
    })
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
    let json = serde_json::json!({
        "job": job.job.name,
        "kind": job.job.title,
        "batch": batch_id,
        "issue_date": job.batch.issue_date,
        "documents": docs,
    });
    let mut text = serde_json::to_vec_pretty(&json).map_err(|e| BatchError::Io(e.to_string()))?;
    text.push(b'\n');
    write_atomic(&run_dir.join("manifest.json"), &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
    fn formulas_are_neutralised() {
        assert_eq!(
            neutralize_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralize_formula("山田"), "山田");
    }
}
