//! One record to one document: the [`Assets`] every document shares
//! (fonts, images, the compiled template and the fonts' constant cores),
//! the template context of a record, and template → markup → layout → PDF.
//!
//! A document is a pure function of its record, its number and the assets,
//! so rendering can run on any thread in any order. Uses `check` (records),
//! `render`, `pdf` and the run's [`StageClock`].

use crate::check::Record;
use crate::error::BatchError;
use crate::job::Job;
use crate::pdf::{self, DocInfo};
use crate::render::fonts::FontSet;
use crate::render::form;
use crate::render::image::ImageSet;
use crate::render::layout::{self, LayoutError};
use crate::render::template::{Template, TemplateError};
use crate::run::fonts_dir::fonts_dir_for_job;
use crate::run::StageClock;
use std::collections::BTreeMap;
use std::path::Path;

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
    /// How long one document's template may render.
    pub time_limit: std::time::Duration,
}

/// Loads the fonts of a job: the bundled ones from `fonts_dir`, else from
/// the search of [`fonts_dir_for_job`], with the slots the job's `[fonts]`
/// rebinds. The `check` command loads them alone, to find the values they
/// cannot print.
pub fn load_fonts(job: &Job, fonts_dir: Option<&Path>) -> Result<FontSet, BatchError> {
    let dir = fonts_dir
        .map(Path::to_owned)
        .unwrap_or_else(|| fonts_dir_for_job(&job.path));
    let mut slots = FontSet::default_slots(&dir);
    slots.extend(job.fonts.clone());
    FontSet::load(&slots).map_err(|e| BatchError::Input(e.to_string()))
}

impl Assets {
    /// A fingerprint of every asset the documents use but the template
    /// (hashed with the job's inputs): each font's bytes in the order the
    /// batch uses them, and each image of the job's assets folder by name
    /// and bytes. A resume compares it, so a batch is never finished with a
    /// replaced seal or font beside documents made with the old one.
    pub fn fingerprint(&self, job: &Job) -> Result<String, BatchError> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for i in 0..self.fonts.len() {
            let data = &self.fonts.font(crate::render::page::FontId(i)).data;
            h.update((data.len() as u64).to_be_bytes());
            h.update(data.as_slice());
        }
        if let Some(dir) = &job.template.assets {
            for name in self.images.names() {
                let path = dir.join(name);
                let bytes = std::fs::read(&path).map_err(|e| BatchError::read(&path, e))?;
                h.update((name.len() as u64).to_be_bytes());
                h.update(name.as_bytes());
                h.update((bytes.len() as u64).to_be_bytes());
                h.update(&bytes);
            }
        }
        Ok(crate::files::hex(&h.finalize()))
    }

    /// Loads fonts, images and the template of a job. The bundled fonts
    /// come from `fonts_dir`, else from the search of
    /// [`fonts_dir_for_job`](crate::run::fonts_dir::fonts_dir_for_job).
    pub fn load(job: &Job, fonts_dir: Option<&Path>) -> Result<Assets, BatchError> {
        let fonts = load_fonts(job, fonts_dir)?;
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
            time_limit: time_limit()?,
        };
        // The blank record's render is a template's first: watched as any.
        let glyphs = crate::run::watchdog::watched(
            assets.time_limit,
            &assets.template.path,
            "（読み込み時の空のレコード (the blank record rendered at load)）",
            || core_glyphs(job, &assets),
        )?;
        assets.cores = pdf::FontCores::build(&assets.fonts, glyphs);
        Ok(assets)
    }
}

/// The glyphs of each font that the blank record's layout printed.
type CoreGlyphs = BTreeMap<crate::render::page::FontId, Vec<u16>>;

/// The environment variable that changes the time limit of one document's
/// template (seconds, 1 to 3600).
pub const TIME_LIMIT_VAR: &str = "CHOHYO_TEMPLATE_SECONDS";

/// How long one document's template may render: [`TIME_LIMIT_VAR`], else
/// the default of [`crate::render::template::DEFAULT_TIME_LIMIT_SECS`].
pub fn time_limit() -> Result<std::time::Duration, BatchError> {
    let secs = match std::env::var(TIME_LIMIT_VAR) {
        Err(_) => crate::render::template::DEFAULT_TIME_LIMIT_SECS,
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .ok_or_else(|| {
                BatchError::Input(format!(
                    "{TIME_LIMIT_VAR} は 1〜3600 の秒数です (must be seconds from 1 to 3600)"
                ))
            })?,
    };
    Ok(std::time::Duration::from_secs(secs))
}

/// The glyphs, per font, of the job's template laid out for a blank
/// record: its constant text, which (nearly) every document of the batch
/// prints, as the fonts' [`pdf::FontCore`]s. The blank record holds, per
/// field type, the plainest value the check could have made (see
/// [`blank_value`]) — so that number, date and postal-code filters and
/// arithmetic work on it — and empty joined lists; it depends on the job
/// alone, never on the input, threads, shards or resumption. A template
/// that cannot lay it out gets no core (documents are then written as
/// without one, larger and about twice as slow to write).
///
/// The same layout finds, once and before any document, the template's
/// fixed content that cannot be laid out (a label too wide for its box,
/// text off the paper): a template error. A template the blank record
/// cannot render meets it with its first record, which every record does
/// as well: the batch stops there, with no document of it written.
fn core_glyphs(job: &Job, assets: &Assets) -> Result<CoreGlyphs, BatchError> {
    let mut fields = BTreeMap::new();
    for f in &job.fields {
        fields.insert(f.name.clone(), blank_value(f.kind, &job.batch.issue_date));
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
    let laid = match lay_out(job, assets, &blank, 0, None) {
        Ok(laid) => laid,
        Err(Failed::Fixed(m)) => return Err(BatchError::Input(m)),
        Err(Failed::Record(_)) => return Ok(out),
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
    Ok(out)
}

/// A field's value in the blank record of [`core_glyphs`]: what the check
/// makes of the plainest valid cell of its type (a number 0, the issue
/// date, the postal code 000-0000, empty text), so that the template
/// takes the same branches and filters as for a real record. A blank that
/// still fails (a rule of the template's own) only costs the core.
fn blank_value(kind: crate::job::FieldType, issue_date: &str) -> serde_json::Value {
    use crate::job::FieldType;
    match kind {
        FieldType::Date => serde_json::Value::String(issue_date.to_string()),
        FieldType::Number | FieldType::Integer => serde_json::Value::from(0),
        FieldType::Postal => serde_json::Value::String("000-0000".into()),
        FieldType::Text | FieldType::Phone | FieldType::Kana => {
            serde_json::Value::String(String::new())
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
    lay_out(job, assets, record, number, clock).map_err(|f| match f {
        Failed::Record(r) => r,
        Failed::Fixed(m) => RenderFailure::Template(m),
    })
}

/// Why [`lay_out`] failed: as [`RenderFailure`], or the template's fixed
/// content cannot be laid out whatever the record (see
/// [`fixed_text_failure`]).
enum Failed {
    Record(RenderFailure),
    Fixed(String),
}

impl From<RenderFailure> for Failed {
    fn from(r: RenderFailure) -> Failed {
        Failed::Record(r)
    }
}

/// [`layout_record`], telling the template's fixed content apart.
fn lay_out(
    job: &Job,
    assets: &Assets,
    record: &Record,
    number: u64,
    clock: Option<&StageClock>,
) -> Result<layout::Laid, Failed> {
    let mut t = std::time::Instant::now();
    let mut tick = |c: fn(&StageClock) -> &std::sync::atomic::AtomicU64| {
        if let Some(clock) = clock {
            t = StageClock::add(c(clock), t);
        }
    };
    let ctx = context(job, record, number);
    let deadline = std::time::Instant::now() + assets.time_limit;
    let markup = assets
        .template
        .render_until(&ctx, Some(deadline))
        .map_err(|e| template_failure(e, record))?;
    tick(|c| &c.template);
    let form = form::parse(&markup).map_err(|e| {
        let what = format!("マークアップ (markup): {}", e.message);
        RenderFailure::Template(markup_failure(assets, &ctx, &markup, e.pos, &what, record))
    })?;
    tick(|c| &c.markup);
    let laid = layout::layout(&form, &assets.fonts, &assets.images).map_err(|e| {
        if !e.is_data_error() {
            let pos = e.pos().unwrap_or_default();
            return Failed::Record(RenderFailure::Template(markup_failure(
                assets,
                &ctx,
                &markup,
                pos,
                &e.to_string(),
                record,
            )));
        }
        match fixed_text_failure(assets, &ctx, &markup, &e) {
            Some(m) => Failed::Fixed(m),
            None => Failed::Record(RenderFailure::Data(e)),
        }
    })?;
    tick(|c| &c.layout);
    Ok(laid)
}

/// The parts of a record's template context that are the same for every
/// record of a batch (see [`context`]): text printed from these alone is
/// the template's, like its literal text.
pub const FIXED_CONTEXT: &[&str] = &["values", "doc.issue_date", "doc.kind"];

/// A layout error that no record can avoid — in an element that no
/// record's data printed into, nor into the elements around it, so every
/// record meets it — as the template's error (a message naming the
/// template's line and column), else None: the record's reject.
fn fixed_text_failure(
    assets: &Assets,
    ctx: &serde_json::Value,
    markup: &str,
    e: &LayoutError,
) -> Option<String> {
    let pos = e.pos()?;
    // Where a QR code, an image, a shape or a table lies does not depend on
    // what it holds (a cell's text never leaves its cell): the attributes
    // (and a table's rows) alone decide whether it leaves the paper.
    let content = !matches!(
        e,
        LayoutError::OutsidePaper { element, .. } | LayoutError::OutsideMargins { element, .. }
            if matches!(*element, "qr" | "image" | "rect" | "line" | "table")
    );
    let ranges = form::element_ranges(markup, pos, content)?;
    let printed = assets
        .template
        .record_printed(ctx, markup, &ranges, FIXED_CONTEXT)?;
    if printed {
        return None;
    }
    let fix = match e {
        LayoutError::Overflow { .. } => {
            "枠 (w, h) を広げるか、文字を短くするか、fit=\"shrink\" を付けてください \
             (widen the box, shorten the text or add fit=\"shrink\")"
        }
        LayoutError::MissingGlyph { .. } => {
            "その文字を持つフォントをジョブの [fonts] に加えるか、文字を替えてください \
             (add a font that has it to the job's [fonts], or use another character)"
        }
        _ => "位置 (x, y) か大きさを直してください (move or resize the element)",
    };
    // The markup position is given once, by markup_failure.
    let said = e.to_string();
    let said = said.rsplit_once(" [").map_or(said.as_str(), |(s, _)| s);
    let what = format!(
        "{said}。テンプレートに固定の内容で、どのレコードでも同じです (the template's own \
         content, the same for every record): {fix}"
    );
    // Not the record's: no record is named.
    let none = Record {
        id: String::new(),
        row: 0,
        fields: BTreeMap::new(),
    };
    Some(markup_failure(assets, ctx, markup, pos, &what, &none))
}

/// `（レコード R001、5行目）`: the record a template error happened with
/// (none for the blank record of [`core_glyphs`]).
fn of_record(record: &Record) -> String {
    if record.row == 0 {
        return String::new();
    }
    format!(
        "（レコード {}、{}行目 (record {}, row {})）",
        record.id, record.row, record.id, record.row
    )
}

/// A template error met while rendering `record`: a value a filter refused
/// is the record's reject, anything else the template's error.
fn template_failure(e: TemplateError, record: &Record) -> RenderFailure {
    if e.bad_value {
        RenderFailure::Value(format!("{}: {}", e.place(), e.message))
    } else {
        RenderFailure::Template(format!("{e}{}", of_record(record)))
    }
}

/// The message of a markup or layout error at `pos` of the rendered
/// `markup`: the template line and column that printed it when they can be
/// found for certain, and the position in the markup.
fn markup_failure(
    assets: &Assets,
    ctx: &serde_json::Value,
    markup: &str,
    pos: form::Pos,
    what: &str,
    record: &Record,
) -> String {
    let origin = assets
        .template
        .markup_origin(ctx, markup, pos.line, pos.col);
    let e = TemplateError {
        path: assets.template.path.clone(),
        pos: origin,
        message: format!("{what} [出力されたマークアップの {pos} (in the rendered markup)]"),
        bad_value: false,
    };
    format!("{e}{}", of_record(record))
}

/// Why one record did not render.
#[derive(Debug)]
pub enum RenderFailure {
    /// The record's data cannot be laid out (a reject).
    Data(LayoutError),
    /// A template filter refused one of the record's values (a reject
    /// `E_TEMPLATE_VALUE`: no data value stops a batch).
    Value(String),
    /// The template is broken (fails the batch).
    Template(String),
}
