//! The job definition: a TOML file saying what to read, how to check it, which
//! template renders it, and where outputs go.
//!
//! Unknown keys are errors (a misspelt `requried` must not silently turn a
//! check off). Relative paths are resolved against the job file's folder.
//! Everything that can be checked without the spreadsheet is checked at load
//! (field names, `pattern` regexes, `min`/`max` bounds, `[[rules]]`
//! expressions, `[[input.join]]` mappings), so a broken job stops before any
//! row is read, with a message naming the key. The full reference is
//! `docs/job.md`.

pub mod rules;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A loaded job with paths resolved.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job file.
    pub path: PathBuf,
    /// `[job]`.
    pub job: JobSection,
    /// `[input]`.
    pub input: Input,
    /// `[template]`.
    pub template: TemplateSection,
    /// `[fonts]`: slot → fallback chain of font files.
    pub fonts: BTreeMap<String, Vec<PathBuf>>,
    /// `[output]`.
    pub output: Output,
    /// `[batch]`.
    pub batch: BatchSection,
    /// `[values]`: constants passed to the template as `values`.
    pub values: toml::Table,
    /// `[[fields]]`, in order.
    pub fields: Vec<FieldSpec>,
    /// `[[rules]]`: cross-field checks, parsed, in order.
    pub rules: Vec<crate::job::rules::Rule>,
    /// `[mail]`: mail order and grouping (optional).
    pub mail: Option<MailSection>,
    /// `[package]`: zip packages per group (optional).
    pub package: Option<PackageSection>,
    /// `[print]`: one combined print PDF per group (optional).
    pub print: Option<PrintSection>,
    /// `[[documents]]`: documents made from all records at once (labels,
    /// dispatch list), in mail order.
    pub documents: Vec<BatchDocument>,
}

/// `[mail]`: how documents are ordered and grouped for mailing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSection {
    /// Field naming each document's group (e.g. 郵送 / 庁内便 / 窓口); none → one group `all`.
    pub group_by: Option<String>,
    /// Groups in this order first, the rest after them by name.
    #[serde(default)]
    pub group_order: Vec<String>,
    /// Groups judged against the bulk-mail discounts (empty: all).
    #[serde(default)]
    pub posted_groups: Vec<String>,
    /// Field sorted on after the postal code.
    pub sort_key: Option<String>,
    /// The postal code field.
    #[serde(default = "postal_field")]
    pub postal_field: String,
    /// The address field (for counting documents that can carry a customer barcode).
    pub address_field: Option<String>,
    /// The recipient name field (written into package manifests only with `package.include_names`).
    pub name_field: Option<String>,
    /// Discount thresholds (defaults from Japan Post's rules).
    #[serde(default)]
    pub thresholds: Thresholds,
}

/// Discount thresholds (item counts), defaults from `mail-discounts.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// バーコード付郵便物: items with a valid barcode, posted at once.
    pub barcode: usize,
    /// 区内特別: items to one delivery district (first five digits).
    pub district: usize,
    /// 区分郵便物: items pre-sorted by delivery district.
    pub presorted: usize,
    /// 料金後納: items a month (the batch's count is reported; the month's
    /// total is the mailing room's to add up).
    pub deferred_payment: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            barcode: 1000,
            district: 100,
            presorted: 2000,
            deferred_payment: 50,
        }
    }
}

/// How documents are stored in a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Stored as they are (PDFs are already compressed; fastest).
    #[default]
    Stored,
    /// Deflated (level 6).
    Deflated,
}

fn postal_field() -> String {
    "postal".into()
}

/// `[package]`: zip packages per mailing group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSection {
    /// `stored` (default) or `deflated`.
    #[serde(default)]
    pub compression: Compression,
    /// Split a group's zip after this many documents.
    pub max_documents: Option<usize>,
    /// Split a group's zip after this many megabytes of documents.
    pub max_mb: Option<u64>,
    /// Write recipient names into the package manifests.
    #[serde(default)]
    pub include_names: bool,
    /// AES-256 encryption with the password in this environment variable.
    pub password_env: Option<String>,
    /// AES-256 encryption with the password in this file.
    pub password_file: Option<PathBuf>,
}

/// `[print]`: combined print files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintSection {
    /// Pad each document to an even page count for duplex printing.
    #[serde(default)]
    pub duplex_pad: bool,
}

/// `[[documents]]`: a document made from all records of the batch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDocument {
    /// Its template; context `records` (mail order), `values`, `batch`.
    pub template: PathBuf,
    /// Output file name in the run directory (e.g. `labels.pdf`).
    pub file_name: String,
    /// Document kind for titles (e.g. 宛名ラベル).
    pub title: String,
}

/// `[job]`: identity of the job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    /// Short ASCII name, used for the run directory (`out/<name>/…`).
    pub name: String,
    /// Document kind printed in manifests and PDF titles (e.g. 在職証明書).
    pub title: String,
    /// The field whose value identifies a record (e.g. the request number).
    pub record_id: String,
    /// Output file name pattern; `{field}` is replaced by the field's value.
    #[serde(default = "default_file_name")]
    pub file_name: String,
}

fn default_file_name() -> String {
    "{id}.pdf".into()
}

/// `[input]`: the spreadsheet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The file (xlsx, xlsm, xls, xlsb, ods, csv, tsv).
    pub file: PathBuf,
    /// Sheet name (default: the first sheet).
    pub sheet: Option<String>,
    /// Sheet position, 0 = first (instead of `sheet`).
    pub sheet_index: Option<usize>,
    /// 1-based header row; when absent, the first of the first 20 rows that
    /// contains every mapped column is taken.
    pub header_row: Option<u32>,
    /// `[[input.join]]`: further sheets joined to each record by a key.
    #[serde(default)]
    pub join: Vec<JoinSpec>,
}

/// `[[input.join]]`: rows of a second sheet (e.g. a 12-month salary table)
/// attached to each record as a list field, matched by a key column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinSpec {
    /// Name of the list field the records get (array of objects, sheet order).
    pub field: String,
    /// The workbook; default: the main input file (also when `--input`
    /// replaces it).
    pub file: Option<PathBuf>,
    /// Sheet name.
    pub sheet: Option<String>,
    /// Sheet position, 0 = first (instead of `sheet`).
    pub sheet_index: Option<usize>,
    /// 1-based header row; searched for when absent.
    pub header_row: Option<u32>,
    /// Header of the key column in the joined sheet.
    pub key: String,
    /// The main field whose value the key must equal (default: `job.record_id`).
    pub on: Option<String>,
    /// Fewest joined rows a record must have (default 0).
    #[serde(default)]
    pub min_rows: usize,
    /// Most joined rows a record may have.
    pub max_rows: Option<usize>,
    /// The joined sheet's columns, mapped like `[[fields]]`.
    pub fields: Vec<FieldSpec>,
}

/// `[template]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSection {
    /// The tera markup template.
    pub file: PathBuf,
    /// Folder of images the markup may use (`<image src="seal.png">`).
    pub assets: Option<PathBuf>,
}

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Root of run directories; the batch goes to `<dir>/<job name>/<batch id>/`.
    #[serde(default = "default_out")]
    pub dir: PathBuf,
    /// Who may read the outputs: `private` (owner only: files 0600, folders
    /// 0700, the default) or `group` (0640 / 0750).
    #[serde(default)]
    pub permissions: Permissions,
    /// The issuance ledger (default: `<dir>/<job name>/ledger.sqlite`).
    pub ledger: Option<PathBuf>,
}

/// Output permission profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permissions {
    /// Owner only.
    #[default]
    Private,
    /// Owner and group may read.
    Group,
}

impl Output {
    /// File and directory modes for the permission profile.
    pub fn modes(&self) -> crate::files::Modes {
        match self.permissions {
            Permissions::Private => crate::files::Modes {
                file: 0o600,
                dir: 0o700,
            },
            Permissions::Group => crate::files::Modes {
                file: 0o640,
                dir: 0o750,
            },
        }
    }
}

fn default_out() -> PathBuf {
    PathBuf::from("out")
}

/// `[batch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSection {
    /// Issue date printed on the documents and written as the PDFs' creation
    /// date (`YYYY-MM-DD`); also the default batch id. Fixed in the job so a
    /// re-run gives identical bytes.
    pub issue_date: String,
    /// First document number of a number series' fiscal year (the ledger
    /// continues from its last number after that).
    #[serde(default = "one")]
    pub number_start: u64,
    /// Number series in the ledger (default: the job name); numbers run per
    /// series per fiscal year (April 1 – March 31).
    pub series: Option<String>,
}

fn one() -> u64 {
    1
}

/// The type of a field, deciding how its cells are parsed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text as written (trimmed).
    Text,
    /// A date: Excel date cells or text in any supported form (see docs/job.md).
    Date,
    /// A number: `1,234`, `１２３４`, `¥1,234`, `1,234円`.
    Number,
    /// A Japanese postal code, normalised to `153-0051`.
    Postal,
    /// An integer: as `number`, but a fraction is a reject.
    Integer,
    /// A Japanese telephone number: 10-11 digits starting with 0, written with
    /// or without hyphens; full-width and dash look-alikes are normalised.
    Phone,
    /// A katakana reading; half-width ｶﾀｶﾅ and hiragana become full-width
    /// katakana.
    Kana,
}

/// Text normalisation of a text field's value (`normalize = …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// Kept as written (the default: names keep 髙, 﨑 and every
    /// compatibility ideograph).
    #[default]
    None,
    /// Full-width ASCII (`ＡＢＣ１２３`) → half-width, half-width katakana
    /// (`ｶﾀｶﾅ`) → full-width; nothing else changes.
    Width,
    /// Unicode NFKC (also folds `①` → `1`, `㈱` → `(株)`, and compatibility
    /// ideographs): for codes and free text, never for names.
    Nfkc,
}

/// A `min`/`max` bound, checked against the job at load.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A number (number and integer fields).
    Number(f64),
    /// A fixed date `YYYY-MM-DD` (date fields).
    Date(chrono::NaiveDate),
    /// Another date field of the same row (date fields).
    Field(String),
}

/// What load-time validation derived from a [`FieldSpec`].
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// `pattern`, anchored to match the whole value.
    pub pattern: Option<regex::Regex>,
    /// `min`.
    pub min: Option<Bound>,
    /// `max`.
    pub max: Option<Bound>,
}

/// `[[fields]]`: one column mapped to one field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Field name used in templates (ASCII identifier).
    pub name: String,
    /// Header text in the sheet (matched after width normalisation).
    pub column: String,
    /// The type.
    #[serde(rename = "type", default = "text_type")]
    pub kind: FieldType,
    /// Whether an empty cell is a reject.
    #[serde(default)]
    pub required: bool,
    /// Whether two rows may not share a value.
    #[serde(default)]
    pub unique: bool,
    /// Allowed values (compared with the normalised value).
    #[serde(default)]
    pub one_of: Vec<String>,
    /// Maximum length in characters (of the normalised value).
    pub max_length: Option<usize>,
    /// Minimum length in characters (of the normalised value).
    pub min_length: Option<usize>,
    /// Regular expression (Rust `regex` syntax) the whole value must match.
    pub pattern: Option<String>,
    /// Reason shown when `pattern` does not match (default: a generic one).
    pub pattern_message: Option<String>,
    /// Smallest allowed value: a number, a date `"YYYY-MM-DD"`, or the name
    /// of another date field.
    pub min: Option<toml::Value>,
    /// Largest allowed value, as `min`.
    pub max: Option<toml::Value>,
    /// Text normalisation (text fields; default `none`).
    pub normalize: Option<Normalize>,
    /// Whether leading/trailing white space (also U+3000) is removed
    /// (default true).
    #[serde(default = "yes")]
    pub trim: bool,
    /// Derived at load: the compiled pattern and bounds.
    #[serde(skip)]
    pub compiled: Compiled,
}

fn yes() -> bool {
    true
}

fn text_type() -> FieldType {
    FieldType::Text
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    job: JobSection,
    input: Input,
    template: TemplateSection,
    #[serde(default)]
    fonts: BTreeMap<String, Vec<PathBuf>>,
    #[serde(default = "default_output")]
    output: Output,
    batch: BatchSection,
    #[serde(default)]
    values: toml::Table,
    fields: Vec<FieldSpec>,
    #[serde(default)]
    rules: Vec<crate::job::rules::RuleSpec>,
    mail: Option<MailSection>,
    package: Option<PackageSection>,
    print: Option<PrintSection>,
    #[serde(default)]
    documents: Vec<BatchDocument>,
}

fn default_output() -> Output {
    Output {
        dir: default_out(),
        permissions: Permissions::Private,
        ledger: None,
    }
}

/// An error in the job file itself: the run stops at once (exit code 2).
#[derive(Debug)]
pub struct JobError {
    /// The job file.
    pub path: PathBuf,
    /// What is wrong, naming the key.
    pub message: String,
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ジョブ定義 {} のエラー (job file error): {}",
            self.path.display(),
            self.message
        )
    }
}

impl std::error::Error for JobError {}

impl Job {
    /// Reads and validates a job file.
    pub fn load(path: &Path) -> Result<Job, JobError> {
        let text = std::fs::read_to_string(path).map_err(|e| JobError {
            path: path.to_owned(),
            message: format!("読み込めません (cannot read): {e}"),
        })?;
        Job::parse(path, &text)
    }

    /// Parses job text; relative paths are resolved against `path`'s folder.
    pub fn parse(path: &Path, text: &str) -> Result<Job, JobError> {
        let err = |message: String| JobError {
            path: path.to_owned(),
            message,
        };
        let mut raw: RawJob = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_owned()
            } else {
                lexical_join(base, p)
            }
        };
        if raw.job.name.is_empty()
            || !raw
                .job
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                "job.name は英数字・-・_ だけで書きます (job.name must be ASCII letters, digits, - or _)".into(),
            ));
        }
        validate_fields(&mut raw.fields, "fields").map_err(err)?;
        let seen: std::collections::HashSet<&str> =
            raw.fields.iter().map(|f| f.name.as_str()).collect();
        if !seen.contains(raw.job.record_id.as_str()) {
            return Err(err(format!(
                "job.record_id「{}」はどの fields.name にもありません (record_id must name a field)",
                raw.job.record_id
            )));
        }
        let mut joins = Vec::new();
        for (i, j) in raw.input.join.iter().enumerate() {
            let key = format!("input.join[{i}]");
            let mut j = j.clone();
            if !is_identifier(&j.field) {
                return Err(err(format!(
                    "{key}.field「{}」は英数字と _ だけで書きます (field names are identifiers)",
                    j.field
                )));
            }
            if seen.contains(j.field.as_str())
                || joins.iter().any(|o: &JoinSpec| o.field == j.field)
            {
                return Err(err(format!(
                    "{key}.field「{}」は既にある項目名です (duplicate field name)",
                    j.field
                )));
            }
            let on = j.on.clone().unwrap_or_else(|| raw.job.record_id.clone());
            if !seen.contains(on.as_str()) {
                return Err(err(format!(
                    "{key}.on「{on}」はどの fields.name にもありません (on must name a main field)"
                )));
            }
            if j.sheet.is_some() && j.sheet_index.is_some() {
                return Err(err(format!("{key}: sheet と sheet_index は片方だけ書きます (give sheet or sheet_index, not both)")));
            }
            if j.file.is_none() && j.sheet.is_none() && j.sheet_index.is_none() {
                return Err(err(format!("{key}: 同じファイルの別シートを読むには sheet を書きます (sheet is required when file is not given)")));
            }
            if j.key.trim().is_empty() {
                return Err(err(format!(
                    "{key}.key が空です (key column must be given)"
                )));
            }
            if let Some(max) = j.max_rows {
                if max < j.min_rows {
                    return Err(err(format!(
                        "{key}: max_rows が min_rows より小さいです (max_rows < min_rows)"
                    )));
                }
            }
            validate_fields(&mut j.fields, &format!("{key}.fields")).map_err(err)?;
            j.on = Some(on);
            j.file = j.file.as_deref().map(resolve);
            joins.push(j);
        }
        let rules = raw
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| crate::job::rules::Rule::parse(r, i, &raw.fields))
            .collect::<Result<Vec<_>, String>>()
            .map_err(err)?;
        if chrono::NaiveDate::parse_from_str(&raw.batch.issue_date, "%Y-%m-%d").is_err() {
            return Err(err(format!(
                "batch.issue_date「{}」は YYYY-MM-DD で書きます (issue_date must be YYYY-MM-DD)",
                raw.batch.issue_date
            )));
        }
        if raw.input.sheet.is_some() && raw.input.sheet_index.is_some() {
            return Err(err("input.sheet と input.sheet_index は片方だけ書きます (give sheet or sheet_index, not both)".into()));
        }
        // Placeholders in the file name pattern must be fields.
        for name in placeholders(&raw.job.file_name) {
            if name != "id" && name != "no" && !seen.contains(name) {
                return Err(err(format!(
                    "job.file_name の {{{name}}} はどの fields.name にもありません (unknown placeholder)"
                )));
            }
        }
        if let Some(m) = &raw.mail {
            let named = [
                ("mail.group_by", m.group_by.as_deref()),
                ("mail.sort_key", m.sort_key.as_deref()),
                ("mail.postal_field", Some(m.postal_field.as_str())),
                ("mail.address_field", m.address_field.as_deref()),
                ("mail.name_field", m.name_field.as_deref()),
            ];
            for (key, field) in named {
                if let Some(f) = field {
                    if !seen.contains(f) {
                        return Err(err(format!(
                            "{key}「{f}」はどの fields.name にもありません (unknown field)"
                        )));
                    }
                }
            }
        }
        if let Some(p) = &raw.package {
            if p.password_env.is_some() && p.password_file.is_some() {
                return Err(err("package.password_env と package.password_file は片方だけ書きます (give one password source)".into()));
            }
        }
        for (i, d) in raw.documents.iter().enumerate() {
            if d.file_name.is_empty()
                || crate::files::sanitize_file_name(&d.file_name) != d.file_name
            {
                return Err(err(format!(
                    "documents[{i}].file_name「{}」はファイル名として使えません (not a safe file name)",
                    d.file_name
                )));
            }
        }
        let fonts = raw
            .fonts
            .into_iter()
            .map(|(slot, chain)| (slot, chain.iter().map(|p| resolve(p)).collect()))
            .collect();
        Ok(Job {
            path: path.to_owned(),
            input: Input {
                file: resolve(&raw.input.file),
                join: joins,
                ..raw.input
            },
            template: TemplateSection {
                file: resolve(&raw.template.file),
                assets: raw.template.assets.as_deref().map(resolve),
            },
            fonts,
            output: Output {
                dir: resolve(&raw.output.dir),
                ledger: raw.output.ledger.as_deref().map(resolve),
                permissions: raw.output.permissions,
            },
            job: raw.job,
            batch: raw.batch,
            values: raw.values,
            fields: raw.fields,
            rules,
            mail: raw.mail.map(|m| MailSection { ..m }),
            package: raw.package.map(|p| PackageSection {
                password_file: p.password_file.as_deref().map(resolve),
                ..p
            }),
            print: raw.print,
            documents: raw
                .documents
                .into_iter()
                .map(|d| BatchDocument {
                    template: resolve(&d.template),
                    ..d
                })
                .collect(),
        })
    }
}

impl Job {
    /// The ledger path the job sets, if any.
    pub fn ledger_path(&self) -> Option<PathBuf> {
        self.output.ledger.clone()
    }
}

/// Whether `s` is a field name: ASCII letters, digits and `_`, not empty.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks one list of field specs (`what` is its key, e.g. `fields`) and
/// fills in each spec's [`Compiled`] part. Errors name the key.
fn validate_fields(fields: &mut [FieldSpec], what: &str) -> Result<(), String> {
    if fields.is_empty() {
        return Err(format!("[[{what}]] がありません (no fields)"));
    }
    let kinds: BTreeMap<String, FieldType> =
        fields.iter().map(|f| (f.name.clone(), f.kind)).collect();
    let mut seen = std::collections::HashSet::new();
    for (i, f) in fields.iter_mut().enumerate() {
        let key = format!("{what}[{i}] (name = \"{}\")", f.name);
        if !is_identifier(&f.name) {
            return Err(format!(
                "{what}[{i}].name「{}」は英数字と _ だけで書きます (field names are identifiers)",
                f.name
            ));
        }
        if !seen.insert(f.name.clone()) {
            return Err(format!(
                "{what}.name「{}」が重複しています (duplicate field)",
                f.name
            ));
        }
        if f.column.trim().is_empty() {
            return Err(format!("{key}.column が空です (column must be given)"));
        }
        if let (Some(lo), Some(hi)) = (f.min_length, f.max_length) {
            if lo > hi {
                return Err(format!(
                    "{key}: min_length が max_length より大きいです (min_length > max_length)"
                ));
            }
        }
        if f.normalize.is_some() && f.kind != FieldType::Text {
            return Err(format!(
                "{key}.normalize は type = \"text\" の項目だけに書けます (normalize is for text fields; other types normalise themselves)"
            ));
        }
        let text_like = !matches!(
            f.kind,
            FieldType::Date | FieldType::Number | FieldType::Integer
        );
        if !text_like && (f.pattern.is_some() || f.min_length.is_some() || f.max_length.is_some()) {
            return Err(format!(
                "{key}: pattern・min_length・max_length は文字の項目 (text, kana, postal, phone) だけに書けます。数値・日付は min/max で (pattern and lengths are for text-like fields)"
            ));
        }
        if let Some(p) = &f.pattern {
            let re = regex::RegexBuilder::new(&format!("^(?:{p})$"))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("{key}.pattern の正規表現が不正です (bad regex): {e}"))?;
            f.compiled.pattern = Some(re);
        } else if f.pattern_message.is_some() {
            return Err(format!(
                "{key}.pattern_message には pattern が必要です (pattern_message without pattern)"
            ));
        }
        let bound = |which: &str, v: &Option<toml::Value>| -> Result<Option<Bound>, String> {
            let Some(v) = v else { return Ok(None) };
            let b = match (f.kind, v) {
                (FieldType::Number | FieldType::Integer, toml::Value::Integer(n)) => {
                    Bound::Number(*n as f64)
                }
                (FieldType::Number | FieldType::Integer, toml::Value::Float(n)) => {
                    Bound::Number(*n)
                }
                (FieldType::Date, toml::Value::Datetime(d)) => {
                    chrono::NaiveDate::parse_from_str(&d.to_string(), "%Y-%m-%d")
                        .map(Bound::Date)
                        .map_err(|_| {
                            format!("{key}.{which} は日付 YYYY-MM-DD で書きます (must be a date)")
                        })?
                }
                (FieldType::Date, toml::Value::String(s)) => {
                    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                        Bound::Date(d)
                    } else if kinds.get(s.as_str()) == Some(&FieldType::Date) && *s != f.name {
                        Bound::Field(s.clone())
                    } else {
                        return Err(format!(
                            "{key}.{which}「{s}」は日付 YYYY-MM-DD か別の日付項目の名前で書きます (must be a date or another date field)"
                        ));
                    }
                }
                (FieldType::Number | FieldType::Integer, _) => {
                    return Err(format!("{key}.{which} は数値で書きます (must be a number)"))
                }
                (FieldType::Date, _) => {
                    return Err(format!(
                        "{key}.{which} は \"YYYY-MM-DD\" か日付項目の名前で書きます (must be a date)"
                    ))
                }
                _ => {
                    return Err(format!(
                        "{key}.{which} は number・integer・date の項目だけに書けます。文字数は min_length/max_length で (min/max are for numbers and dates; use min_length/max_length for text)"
                    ))
                }
            };
            Ok(Some(b))
        };
        let min = bound("min", &f.min)?;
        let max = bound("max", &f.max)?;
        match (&min, &max) {
            (Some(Bound::Number(a)), Some(Bound::Number(b))) if a > b => {
                return Err(format!("{key}: min が max より大きいです (min > max)"))
            }
            (Some(Bound::Date(a)), Some(Bound::Date(b))) if a > b => {
                return Err(format!("{key}: min が max より後の日付です (min > max)"))
            }
            _ => {}
        }
        f.compiled.min = min;
        f.compiled.max = max;
    }
    Ok(())
}

/// `base.join(rel)` with `a/../` folded away lexically, so messages show
/// `out/zaishoku/…` rather than `samples/zaishoku/../../out/zaishoku/…`.
/// A `..` that would climb above a relative base is kept.
pub fn lexical_join(base: &Path, rel: &Path) -> PathBuf {
    use std::path::Component;
    let joined = base.join(rel);
    let mut parts: Vec<Component> = Vec::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        PathBuf::from(".")
    } else {
        parts.iter().collect()
    }
}

/// The `{name}` placeholders of a file name pattern.
pub fn placeholders(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[job]
name = "t"
title = "在職証明書"
record_id = "id"
[input]
file = "in.xlsx"
[template]
file = "t.xml"
[batch]
issue_date = "2025-04-01"
[[fields]]
name = "id"
column = "申請番号"
required = true
"#;

    #[test]
    fn resolves_relative_paths() {
        let j = Job::parse(Path::new("/jobs/a/job.toml"), MINIMAL).unwrap();
        assert_eq!(j.input.file, PathBuf::from("/jobs/a/in.xlsx"));
        assert_eq!(j.output.dir, PathBuf::from("/jobs/a/out"));
        assert_eq!(j.fields[0].kind, FieldType::Text);
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let text = MINIMAL.replace("required = true", "requried = true");
        let e = Job::parse(Path::new("job.toml"), &text).unwrap_err();
        assert!(e.message.contains("requried"), "{}", e.message);
    }

    #[test]
    fn record_id_must_be_a_field() {
        let text = MINIMAL.replace("record_id = \"id\"", "record_id = \"nosuch\"");
        let e = Job::parse(Path::new("job.toml"), &text).unwrap_err();
        assert!(e.message.contains("nosuch"));
    }

    #[test]
    fn relative_paths_are_folded() {
        let j = |b: &str, r: &str| lexical_join(Path::new(b), Path::new(r));
        assert_eq!(j("samples/zaishoku", "../../out"), PathBuf::from("out"));
        assert_eq!(
            j("samples/zaishoku", "../../templates/a.xml"),
            PathBuf::from("templates/a.xml")
        );
        assert_eq!(j("", "../x"), PathBuf::from("../x"));
        assert_eq!(j("/jobs/a", "./in.xlsx"), PathBuf::from("/jobs/a/in.xlsx"));
        assert_eq!(j("a", ".."), PathBuf::from("."));
    }

    #[test]
    fn placeholders_are_found() {
        assert_eq!(placeholders("{a}-{b}.pdf"), vec!["a", "b"]);
        assert!(placeholders("x.pdf").is_empty());
    }
}
