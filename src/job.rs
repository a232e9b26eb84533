//! The job definition: a TOML file saying what to read, how to check it, which
//! template renders it, and where outputs go.
//!
//! Unknown keys are errors (a misspelt `requried` must not silently turn a
//! check off). Relative paths are resolved against the job file's folder.
//! The full reference is in the README's "Job file" section.

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
    pub fn modes(&self) -> crate::runstate::Modes {
        match self.permissions {
            Permissions::Private => crate::runstate::Modes {
                file: 0o600,
                dir: 0o700,
            },
            Permissions::Group => crate::runstate::Modes {
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
    /// A date: Excel date cells or text in any supported form (see README).
    Date,
    /// A number: `1,234`, `１２３４`, `¥1,234`, `1,234円`.
    Number,
    /// A Japanese postal code, normalised to `153-0051`.
    Postal,
    /// A katakana reading; half-width ｶﾀｶﾅ becomes full-width.
    Kana,
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
    /// Allowed values (text fields).
    #[serde(default)]
    pub one_of: Vec<String>,
    /// Maximum length in characters (text fields).
    pub max_length: Option<usize>,
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
        let raw: RawJob = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
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
        if raw.fields.is_empty() {
            return Err(err("[[fields]] がありません (no fields)".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &raw.fields {
            if f.name.is_empty()
                || !f
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(err(format!(
                    "fields.name「{}」は英数字と _ だけで書きます (field names are identifiers)",
                    f.name
                )));
            }
            if !seen.insert(f.name.as_str()) {
                return Err(err(format!(
                    "fields.name「{}」が重複しています (duplicate field)",
                    f.name
                )));
            }
        }
        if !seen.contains(raw.job.record_id.as_str()) {
            return Err(err(format!(
                "job.record_id「{}」はどの fields.name にもありません (record_id must name a field)",
                raw.job.record_id
            )));
        }
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
        let fonts = raw
            .fonts
            .into_iter()
            .map(|(slot, chain)| (slot, chain.iter().map(|p| resolve(p)).collect()))
            .collect();
        Ok(Job {
            path: path.to_owned(),
            input: Input {
                file: resolve(&raw.input.file),
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
        })
    }
}

impl Job {
    /// The ledger path the job sets, if any.
    pub fn ledger_path(&self) -> Option<PathBuf> {
        self.output.ledger.clone()
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
    fn placeholders_are_found() {
        assert_eq!(placeholders("{a}-{b}.pdf"), vec!["a", "b"]);
        assert!(placeholders("x.pdf").is_empty());
    }
}
