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
//!
//! One file per part of the job file: `batch` (`[job]`, `[batch]`), `input`
//! (`[input]`, `[[input.join]]`), `fields` (`[[fields]]`), `output`
//! (`[output]`), `mail` (`[mail]`), `delivery` (`[package]`, `[print]`,
//! `[[documents]]`) and `rules` (`[[rules]]`); each checks its own keys,
//! and [`Job::parse`] runs the checks in the order of the messages a user
//! meets. Plain configuration: uses only the leaves (`files`).

mod batch;
mod delivery;
mod fields;
mod input;
mod mail;
mod output;
pub mod rules;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::job::batch::{BatchSection, JobSection};
pub use crate::job::delivery::{BatchDocument, Compression, PackageSection, PrintSection};
pub use crate::job::fields::{Bound, Compiled, FieldSpec, FieldType, Normalize};
pub use crate::job::input::{Input, JoinSpec};
pub use crate::job::mail::{AddressCheck, MailSection, Thresholds, DEFAULT_VOLUME_SIZE};
pub use crate::job::output::{is_server_url, Output, Permissions};

use crate::job::delivery::check_documents;
use crate::job::fields::validate_fields;
use crate::job::input::{check_joins, JoinContext};
use crate::job::output::default_output;
use crate::job::rules::{Rule, RuleSpec};

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
    pub rules: Vec<Rule>,
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
/// `[template]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSection {
    /// The tera markup template.
    pub file: PathBuf,
    /// Folder of images the markup may use (`<image src="seal.png">`).
    pub assets: Option<PathBuf>,
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
    rules: Vec<RuleSpec>,
    mail: Option<MailSection>,
    package: Option<PackageSection>,
    print: Option<PrintSection>,
    #[serde(default)]
    documents: Vec<BatchDocument>,
}
/// Largest job file read: 1 MB. A job is a few kilobytes of TOML; the cap
/// leaves room for long `[values]` and many fields, and keeps a wrong path
/// (a spreadsheet, a device) from being read whole and parsed as TOML.
pub const MAX_JOB_BYTES: u64 = 1024 * 1024;

/// An error in the job file itself: the run stops at once (exit code 2).
#[derive(Debug)]
pub struct JobError {
    /// The job file.
    pub path: PathBuf,
    /// What is wrong, naming the key.
    pub message: String,
    /// The system's error, when the file could not be read.
    pub source: Option<std::io::Error>,
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

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}
impl Job {
    /// Reads and validates a job file.
    pub fn load(path: &Path) -> Result<Job, JobError> {
        let text = crate::files::read_capped_string(path, MAX_JOB_BYTES).map_err(|e| JobError {
            path: crate::error::full_path(path),
            message: format!(
                "読めません (cannot read): {}。コマンドに渡したジョブファイルのパスを確認してください \
                 (check the job file path given to the command)",
                crate::error::io_reason(&e)
            ),
            source: Some(e),
        })?;
        Job::parse(path, &text)
    }

    /// Parses job text; relative paths are resolved against `path`'s folder.
    pub fn parse(path: &Path, text: &str) -> Result<Job, JobError> {
        let err = |message: String| JobError {
            path: path.to_owned(),
            message,
            source: None,
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
        let (joins, rules) = raw.check(&resolve).map_err(err)?;
        Ok(raw.into_job(path, joins, rules, &resolve))
    }

    /// The ledger path the job sets, if any.
    pub fn ledger_path(&self) -> Option<PathBuf> {
        self.output.ledger.clone()
    }
}

impl RawJob {
    /// Every check that needs no spreadsheet, in the order their messages
    /// have always come; gives the checked joins and the parsed rules.
    fn check(
        &mut self,
        resolve: &dyn Fn(&Path) -> PathBuf,
    ) -> Result<(Vec<JoinSpec>, Vec<Rule>), String> {
        self.job.check_name()?;
        validate_fields(&mut self.fields, "fields")?;
        let seen: HashSet<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        if !seen.contains(self.job.record_id.as_str()) {
            return Err(format!(
                "job.record_id「{}」はどの fields.name にもありません (record_id must name a field)",
                self.job.record_id
            ));
        }
        let joins = check_joins(
            &self.input.join,
            &JoinContext {
                fields: &seen,
                record_id: &self.job.record_id,
                resolve,
            },
        )?;
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| Rule::parse(r, i, &self.fields))
            .collect::<Result<Vec<_>, String>>()?;
        self.batch.check_issue_date()?;
        self.input.check_sheet()?;
        // Placeholders in the file name pattern must be fields.
        self.job.check_file_name(&seen)?;
        if let Some(m) = &self.mail {
            m.check_fields(&seen)?;
        }
        if let Some(p) = &self.package {
            p.check()?;
        }
        check_documents(&self.documents)?;
        Ok((joins, rules))
    }

    /// The checked job, with every path resolved.
    fn into_job(
        self,
        path: &Path,
        joins: Vec<JoinSpec>,
        rules: Vec<Rule>,
        resolve: &dyn Fn(&Path) -> PathBuf,
    ) -> Job {
        let fonts = self
            .fonts
            .into_iter()
            .map(|(slot, chain)| (slot, chain.iter().map(|p| resolve(p)).collect()))
            .collect();
        Job {
            path: path.to_owned(),
            input: Input {
                file: resolve(&self.input.file),
                join: joins,
                ..self.input
            },
            template: TemplateSection {
                file: resolve(&self.template.file),
                assets: self.template.assets.as_deref().map(resolve),
            },
            fonts,
            output: Output {
                dir: resolve(&self.output.dir),
                // A server URL is no path beside the job file.
                ledger: self.output.ledger.as_deref().map(|l| match l.to_str() {
                    Some(url) if is_server_url(url) => l.to_owned(),
                    _ => resolve(l),
                }),
                permissions: self.output.permissions,
            },
            job: self.job,
            batch: self.batch,
            values: self.values,
            fields: self.fields,
            rules,
            mail: self.mail,
            package: self.package.map(|p| PackageSection {
                password_file: p.password_file.as_deref().map(resolve),
                ..p
            }),
            print: self.print,
            documents: self
                .documents
                .into_iter()
                .map(|d| BatchDocument {
                    template: resolve(&d.template),
                    ..d
                })
                .collect(),
        }
    }
}

/// `base.join(rel)` with `a/../` folded away lexically, so messages show
/// `out/zaishoku/…` rather than `samples/zaishoku/../../out/zaishoku/…`.
/// A `..` that would climb above a relative base is kept.
fn lexical_join(base: &Path, rel: &Path) -> PathBuf {
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

/// The spreadsheet columns a job file maps, in order, read from the job's
/// text alone (no file it names needs to exist): the headers a sample input
/// is made with, so generators, the benchmark and the tests take them from
/// the job rather than keeping their own copy.
pub fn field_columns(job_text: &str) -> Result<Vec<String>, toml::de::Error> {
    let job: toml::Table = toml::from_str(job_text)?;
    Ok(job
        .get("fields")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("column").and_then(|c| c.as_str()))
        .map(str::to_string)
        .collect())
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
}
