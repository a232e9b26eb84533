//! `[input]`: the spreadsheet to read, and `[[input.join]]`, further sheets
//! joined to each record. Plain configuration; uses the job's field specs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::job::fields::{is_identifier, validate_fields, FieldSpec};

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

impl Input {
    /// The sheet is given by name or by position, not both.
    pub(crate) fn check_sheet(&self) -> Result<(), String> {
        if self.sheet.is_some() && self.sheet_index.is_some() {
            return Err("input.sheet と input.sheet_index は片方だけ書きます (give sheet or sheet_index, not both)".into());
        }
        Ok(())
    }
}

/// What a join is checked against: the main fields and the key they match
/// by default, and how paths are resolved.
pub(crate) struct JoinContext<'a> {
    /// The main `[[fields]]` names.
    pub fields: &'a HashSet<&'a str>,
    /// `job.record_id`, the default of `on`.
    pub record_id: &'a str,
    /// Resolves a path against the job file's folder.
    pub resolve: &'a dyn Fn(&Path) -> PathBuf,
}

/// Checks every `[[input.join]]` in order and gives them with `on` filled
/// in, their fields compiled and their files resolved.
pub(crate) fn check_joins(
    joins: &[JoinSpec],
    cx: &JoinContext<'_>,
) -> Result<Vec<JoinSpec>, String> {
    let mut out: Vec<JoinSpec> = Vec::new();
    for (i, j) in joins.iter().enumerate() {
        let j = j.checked(&format!("input.join[{i}]"), &out, cx)?;
        out.push(j);
    }
    Ok(out)
}

impl JoinSpec {
    /// This join checked (`key` is `input.join[i]`; `before` are the joins
    /// already checked, whose field names it may not repeat).
    fn checked(
        &self,
        key: &str,
        before: &[JoinSpec],
        cx: &JoinContext<'_>,
    ) -> Result<JoinSpec, String> {
        let mut j = self.clone();
        if !is_identifier(&j.field) {
            return Err(format!(
                "{key}.field「{}」は英数字と _ だけで書きます (field names are identifiers)",
                j.field
            ));
        }
        if cx.fields.contains(j.field.as_str()) || before.iter().any(|o| o.field == j.field) {
            return Err(format!(
                "{key}.field「{}」は既にある項目名です (duplicate field name)",
                j.field
            ));
        }
        let on = j.on.clone().unwrap_or_else(|| cx.record_id.to_owned());
        if !cx.fields.contains(on.as_str()) {
            return Err(format!(
                "{key}.on「{on}」はどの fields.name にもありません (on must name a main field)"
            ));
        }
        if j.sheet.is_some() && j.sheet_index.is_some() {
            return Err(format!("{key}: sheet と sheet_index は片方だけ書きます (give sheet or sheet_index, not both)"));
        }
        if j.file.is_none() && j.sheet.is_none() && j.sheet_index.is_none() {
            return Err(format!("{key}: 同じファイルの別シートを読むには sheet を書きます (sheet is required when file is not given)"));
        }
        if j.key.trim().is_empty() {
            return Err(format!("{key}.key が空です (key column must be given)"));
        }
        if let Some(max) = j.max_rows {
            if max < j.min_rows {
                return Err(format!(
                    "{key}: max_rows が min_rows より小さいです (max_rows < min_rows)"
                ));
            }
        }
        validate_fields(&mut j.fields, &format!("{key}.fields"))?;
        j.on = Some(on);
        j.file = j.file.as_deref().map(cx.resolve);
        Ok(j)
    }
}
