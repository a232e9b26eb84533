//! Checking: rows of a sheet → [`Record`]s (good rows) and [`Reject`]s.
//!
//! Columns are found by header name as the job maps them (a mapped header
//! that is missing or appears twice stops the run); each cell is parsed by
//! its field's type and checked by its rules, then the row's cross-field
//! `[[rules]]` run, then `[[input.join]]` sheets are attached. Every problem
//! of a row is reported (not only the first), with file, sheet, row, column,
//! the value and a reason in Japanese plus a stable code. A row with any
//! problem becomes rejects and no record: nothing is dropped silently. The
//! original cell texts of every row are kept in [`Originals`] so the rejects
//! report can show the row beside its reasons. The codes are catalogued in
//! `docs/job.md`.

use crate::input::{self, normalize_header, Cell, Row, Sheet, SheetHead, SheetSelector};
use crate::japan::{era, jtext};
use crate::job::rules;
use crate::job::{Bound, FieldSpec, FieldType, Job, JoinSpec, Normalize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use unicode_normalization::UnicodeNormalization;

/// A checked row, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record id (value of the job's `record_id` field).
    pub id: String,
    /// 1-based row number in the source sheet.
    pub row: u32,
    /// Field values, normalised (dates as `YYYY-MM-DD`, postal codes as `153-0051`).
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A field value as text: strings as they are, other JSON values written
/// out, a missing or null value as empty text.
pub fn value_text(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

impl Record {
    /// The value of `field` as text (see [`value_text`]).
    pub fn text(&self, field: &str) -> String {
        value_text(self.fields.get(field))
    }
}

/// One problem with one cell (or row) of the input.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reject {
    /// Source file name (no directories).
    pub file: String,
    /// Sheet name (empty for CSV).
    pub sheet: String,
    /// 1-based row number.
    pub row: u32,
    /// Column header (empty when the problem is not one cell's).
    pub column: String,
    /// The offending value as read.
    pub value: String,
    /// Stable machine code, e.g. `E_REQUIRED`.
    pub code: String,
    /// Reason in Japanese with an English gloss.
    pub reason: String,
}

/// A job/sheet mismatch that stops the run (e.g. a mapped column is missing).
#[derive(Debug)]
pub struct MappingError {
    /// What is wrong, naming the column and suggesting the closest header.
    pub message: String,
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MappingError {}

/// The outcome of checking a sheet.
#[derive(Debug, Default)]
pub struct Checked {
    /// Good rows in sheet order.
    pub records: Vec<Record>,
    /// Problems in sheet order.
    pub rejects: Vec<Reject>,
    /// Rows read (excluding blank rows).
    pub rows_read: usize,
    /// The sheet the rows came from ("" for CSV).
    pub sheet: String,
    /// Original cell texts of every row read (main and joined sheets).
    pub originals: Originals,
}

/// The cell texts of rows as the clerk wrote them, for the rejects report.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Originals {
    /// Mapped column headers as written, main sheet first, then the joined
    /// sheets' headers not seen before (compared after [`normalize_header`]).
    pub columns: Vec<String>,
    /// (file name, sheet, row) → texts aligned with `columns` (shorter rows
    /// are padded with empty texts by [`Originals::row`]).
    pub rows: BTreeMap<(String, String, u32), Vec<String>>,
}

impl Originals {
    /// The texts of one row aligned with [`Originals::columns`], if kept.
    pub fn row(&self, file: &str, sheet: &str, row: u32) -> Option<Vec<&str>> {
        let v = self.rows.get(&(file.to_string(), sheet.to_string(), row))?;
        Some(
            (0..self.columns.len())
                .map(|i| v.get(i).map(String::as_str).unwrap_or(""))
                .collect(),
        )
    }

    /// The index of a header in `columns`, adding it when new.
    fn column(&mut self, header: &str) -> usize {
        let key = normalize_header(header);
        match self.columns.iter().position(|c| normalize_header(c) == key) {
            Some(i) => i,
            None => {
                self.columns.push(header.to_string());
                self.columns.len() - 1
            }
        }
    }
}

pub use crate::input::column_letters;

/// Where each of `columns` is in the sheet. `what` names each column's
/// job key for messages. A missing header suggests the closest one; a header
/// that appears twice is an error (which one is meant?).
fn map_columns(
    sheet: &SheetHead,
    columns: &[(String, String)],
) -> Result<Vec<usize>, MappingError> {
    let headers: Vec<String> = sheet.headers.iter().map(|h| normalize_header(h)).collect();
    let place = if sheet.sheet.is_empty() {
        sheet
            .file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        format!("シート「{}」", sheet.sheet)
    };
    columns
        .iter()
        .map(|(column, what)| {
            let want = normalize_header(column);
            let found: Vec<usize> = headers
                .iter()
                .enumerate()
                .filter(|(_, h)| **h == want)
                .map(|(i, _)| i)
                .collect();
            match found.as_slice() {
                [one] => Ok(*one),
                [] => {
                    let hint = input::closest_header(&want, &sheet.headers)
                        .map(|h| format!("; もしかして「{h}」? (did you mean)"))
                        .unwrap_or_default();
                    Err(MappingError {
                        message: format!(
                            "列「{column}」({what}) が{place}の見出しにありません (column not found in header row){hint}"
                        ),
                    })
                }
                many => Err(MappingError {
                    message: format!(
                        "列「{column}」({what}) が{place}の見出しに{}回あります: {}列 (duplicate header; rename one)",
                        many.len(),
                        many.iter()
                            .map(|&i| column_letters(i))
                            .collect::<Vec<_>>()
                            .join("・")
                    ),
                }),
            }
        })
        .collect()
}

/// A cell as text, the way a person reads it in the sheet (dates in the
/// 1900 date system; see [`cell_text_in`]).
pub fn cell_text(c: &Cell) -> String {
    cell_text_in(c, false)
}

/// A cell as text, date cells read in the given date system.
pub fn cell_text_in(c: &Cell, date1904: bool) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Number(n) => format_number(*n),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Cell::Date(serial) => era::from_excel_serial(*serial, date1904)
            .map(|d| d.format("%Y/%-m/%-d").to_string())
            .unwrap_or_else(|_| format_number(*serial)),
        Cell::IsoDate(s) => s.clone(),
        Cell::Error(e) => e.clone(),
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A number as a JSON value: integral values as integers (`1234`, not
/// `1234.0`).
fn json_number(n: f64) -> Option<serde_json::Value> {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Some(serde_json::Value::from(n as i64))
    } else {
        serde_json::Number::from_f64(n).map(serde_json::Value::Number)
    }
}

/// The file name of a path (no directories), as rejects show it.
fn file_label(path: &std::path::Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One sheet's rows checked against a list of fields, one row at a time:
/// the column mapping, and the values seen so far for `unique` fields.
struct RowChecker {
    fields: Vec<FieldSpec>,
    rules: Vec<rules::Rule>,
    /// Sheet columns of the extra columns, then of the fields.
    cols: Vec<usize>,
    /// Extra columns (e.g. a join key) before the fields in `cols`.
    extra: usize,
    /// `Originals` column of each of `cols`.
    slots: Vec<usize>,
    /// Length of the texts kept per row.
    width: usize,
    /// Per field: the values seen so far and the first row of each. Values
    /// are kept as 64-bit hashes, 16 bytes per row however long they are;
    /// two different values sharing a hash (odds about 1 in 10^9 for a
    /// million rows) would make a reported duplicate, never a lost row.
    seen: Vec<HashMap<u64, u32>>,
    file: String,
    head: SheetHead,
}

/// What checking one row against its sheet's fields gave.
struct RowCheck {
    number: u32,
    values: serde_json::Map<String, serde_json::Value>,
    rejects: Vec<Reject>,
    /// Original texts, aligned with `Originals::columns`.
    texts: Vec<String>,
}

impl RowChecker {
    /// Maps `fields` (and `extra` columns first, e.g. a join key) to the
    /// sheet's columns, registering their headers in `originals`.
    fn new(
        head: &SheetHead,
        fields: &[FieldSpec],
        extra: &[(String, String)],
        rules: &[rules::Rule],
        originals: &mut Originals,
    ) -> Result<RowChecker, MappingError> {
        let mut wanted: Vec<(String, String)> = extra.to_vec();
        wanted.extend(
            fields
                .iter()
                .map(|f| (f.column.clone(), format!("field {}", f.name))),
        );
        let cols = map_columns(head, &wanted)?;
        let slots: Vec<usize> = cols
            .iter()
            .map(|&c| originals.column(head.headers.get(c).map(String::as_str).unwrap_or("")))
            .collect();
        Ok(RowChecker {
            fields: fields.to_vec(),
            rules: rules.to_vec(),
            extra: extra.len(),
            width: slots.iter().max().map_or(0, |m| m + 1),
            slots,
            cols,
            // Sized once from the sheet's row count when known: no growing
            // (and briefly doubled) tables on large sheets.
            seen: fields
                .iter()
                .map(|f| match (f.unique, head.rows_hint) {
                    (true, Some(n)) => {
                        HashMap::with_capacity(n.min(crate::input::limits::MAX_ROWS))
                    }
                    _ => HashMap::new(),
                })
                .collect(),
            file: file_label(&head.file),
            head: head.clone(),
        })
    }

    fn header(&self, c: usize) -> String {
        self.head.headers.get(c).cloned().unwrap_or_default()
    }

    fn text_of(&self, row: &Row, c: usize) -> String {
        cell_text_in(row.cells.get(c).unwrap_or(&Cell::Empty), self.head.date1904)
    }

    /// Checks one row: every field, the date bounds naming other fields,
    /// the cross-field rules.
    fn check(&mut self, row: &Row) -> RowCheck {
        let mut texts = vec![String::new(); self.width];
        for (&c, &slot) in self.cols.iter().zip(&self.slots) {
            texts[slot] = self.text_of(row, c);
        }
        let field_cols = &self.cols[self.extra..];
        let mut seen = std::mem::take(&mut self.seen);
        let reject = |col: usize, code: &str, reason: String| Reject {
            file: self.file.clone(),
            sheet: self.head.sheet.clone(),
            row: row.number,
            column: self.header(col),
            value: self.text_of(row, col),
            code: code.to_string(),
            reason,
        };
        let mut values = serde_json::Map::new();
        let mut typed: BTreeMap<String, rules::Value> = BTreeMap::new();
        let mut problems = Vec::new();
        for (fi, (spec, &col)) in self.fields.iter().zip(field_cols).enumerate() {
            let cell = row.cells.get(col).unwrap_or(&Cell::Empty);
            match check_cell(cell, spec, self.head.date1904) {
                Ok(None) => {
                    values.insert(spec.name.clone(), serde_json::Value::String(String::new()));
                    typed.insert(spec.name.clone(), rules::Value::Text(String::new()));
                }
                Ok(Some(v)) => {
                    if spec.unique {
                        let key = value_key(&v);
                        if let Some(first) = seen[fi].get(&key) {
                            problems.push(reject(
                                col,
                                "E_DUPLICATE",
                                format!("{first}行目と同じ値です (duplicate of row {first})"),
                            ));
                        } else {
                            seen[fi].insert(key, row.number);
                        }
                    }
                    if let Some(t) = typed_value(&v, spec.kind) {
                        typed.insert(spec.name.clone(), t);
                    }
                    values.insert(spec.name.clone(), v);
                }
                Err((code, reason)) => problems.push(reject(col, code, reason)),
            }
        }
        // Bounds naming another date field of the row.
        for (spec, &col) in self.fields.iter().zip(field_cols) {
            let Some(rules::Value::Date(d)) = typed.get(&spec.name) else {
                continue;
            };
            for (bound, is_min) in [(&spec.compiled.min, true), (&spec.compiled.max, false)] {
                let Some(Bound::Field(other)) = bound else {
                    continue;
                };
                let Some(rules::Value::Date(o)) = typed.get(other) else {
                    continue;
                };
                let other_col = self
                    .fields
                    .iter()
                    .position(|f| f.name == *other)
                    .map(|i| self.header(field_cols[i]))
                    .unwrap_or_default();
                if is_min && d < o {
                    problems.push(reject(
                        col,
                        "E_DATE_RANGE",
                        format!("「{other_col}」より前の日付です (before {other})"),
                    ));
                } else if !is_min && d > o {
                    problems.push(reject(
                        col,
                        "E_DATE_RANGE",
                        format!("「{other_col}」より後の日付です (after {other})"),
                    ));
                }
            }
        }
        for rule in &self.rules {
            if rule.fails(&typed) {
                let involved: Vec<usize> = rule
                    .fields
                    .iter()
                    .filter_map(|n| self.fields.iter().position(|f| f.name == *n))
                    .map(|i| field_cols[i])
                    .collect();
                problems.push(Reject {
                    file: self.file.clone(),
                    sheet: self.head.sheet.clone(),
                    row: row.number,
                    column: involved
                        .iter()
                        .map(|&c| self.header(c))
                        .collect::<Vec<_>>()
                        .join(" / "),
                    value: involved
                        .iter()
                        .map(|&c| self.text_of(row, c))
                        .collect::<Vec<_>>()
                        .join(" / "),
                    code: rule.code.clone(),
                    reason: format!("{} (rule: {})", rule.message, rule.source),
                });
            }
        }
        self.seen = seen;
        RowCheck {
            number: row.number,
            values,
            rejects: problems,
            texts,
        }
    }
}

/// The identity of a value for `unique`: its JSON text, hashed.
fn value_key(v: &serde_json::Value) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(v.to_string().as_bytes());
    u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

/// A parsed JSON value as rules see it.
fn typed_value(v: &serde_json::Value, kind: FieldType) -> Option<rules::Value> {
    match (kind, v) {
        (FieldType::Date, serde_json::Value::String(s)) => {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(rules::Value::Date)
        }
        (_, serde_json::Value::Number(n)) => n.as_f64().map(rules::Value::Number),
        (_, serde_json::Value::String(s)) => Some(rules::Value::Text(s.clone())),
        _ => None,
    }
}

/// The rows of one joined sheet, checked and grouped by key.
struct JoinTable {
    spec: JoinSpec,
    /// The main sheet's column holding the key.
    on_col: usize,
    /// Key → the good rows' values (in sheet order) and the numbers of the
    /// rows with problems.
    by_key: HashMap<String, (Vec<serde_json::Value>, BTreeSet<u32>)>,
    /// Every row: key, raw key text, its problems, its original texts.
    rows: Vec<(String, String, RowCheck)>,
    /// Keys some main row asked for.
    matched: HashSet<String>,
    head: SheetHead,
    key_col: usize,
}

/// The result of one main-sheet row.
#[derive(Debug)]
pub struct RowOutcome {
    /// 1-based row number.
    pub number: u32,
    /// The row's cell texts as written, aligned with
    /// [`Originals::columns`] (for the rejects report).
    pub texts: Vec<String>,
    /// The record, or every problem of the row.
    pub result: Result<Record, Vec<Reject>>,
}

/// Checks the rows of a main sheet one at a time, so that a batch never
/// holds them all: joined sheets are read and checked when it is made, each
/// main row is checked by [`Checker::check`] as it is read, and
/// [`Checker::finish`] reports the joined rows that were wrong or matched
/// no main row.
pub struct Checker {
    main: RowChecker,
    joins: Vec<JoinTable>,
    record_id: String,
    rows_read: usize,
    columns: Originals,
}

/// What is left when the last row was checked.
#[derive(Debug, Default)]
pub struct Finished {
    /// Problems of joined sheets' rows, by sheet and row.
    pub rejects: Vec<Reject>,
    /// Original column headers, and the texts of the joined rows in
    /// `rejects`.
    pub originals: Originals,
    /// Main rows checked.
    pub rows_read: usize,
}

impl Checker {
    /// Maps the job's fields to the sheet's columns and reads the joined
    /// sheets (from their own `file`, or else from the main sheet's file,
    /// so `--input` replaces both).
    pub fn new(job: &Job, head: &SheetHead) -> Result<Checker, MappingError> {
        let mut originals = Originals::default();
        let main = RowChecker::new(head, &job.fields, &[], &job.rules, &mut originals)?;
        let mut joins = Vec::new();
        for join in &job.input.join {
            let on = join.on.as_deref().unwrap_or(&job.job.record_id);
            let on_index = job.fields.iter().position(|f| f.name == on).unwrap_or(0);
            let js = read_join_sheet(head, join)?;
            let key_col_name = (
                join.key.clone(),
                format!("input.join.key of {}", join.field),
            );
            let jhead = js.head();
            let mut rc =
                RowChecker::new(&jhead, &join.fields, &[key_col_name], &[], &mut originals)?;
            let key_col = rc.cols[0];
            let mut table = JoinTable {
                spec: join.clone(),
                on_col: main.cols[on_index],
                by_key: HashMap::new(),
                rows: Vec::with_capacity(js.rows.len()),
                matched: HashSet::new(),
                head: jhead,
                key_col,
            };
            for jrow in &js.rows {
                let jr = rc.check(jrow);
                let raw_key = rc.text_of(jrow, key_col);
                let key = join_key(&raw_key);
                let entry = table.by_key.entry(key.clone()).or_default();
                if jr.rejects.is_empty() {
                    entry.0.push(serde_json::Value::Object(jr.values.clone()));
                } else {
                    entry.1.insert(jr.number);
                }
                table.rows.push((key, raw_key, jr));
            }
            joins.push(table);
        }
        Ok(Checker {
            main,
            joins,
            record_id: job.job.record_id.clone(),
            rows_read: 0,
            columns: originals,
        })
    }

    /// The original column headers (see [`Originals::columns`]).
    pub fn columns(&self) -> &[String] {
        &self.columns.columns
    }

    /// Checks one main-sheet row.
    pub fn check(&mut self, row: &Row) -> RowOutcome {
        self.rows_read += 1;
        let mut rc = self.main.check(row);
        for table in &mut self.joins {
            let raw = cell_text_in(
                row.cells.get(table.on_col).unwrap_or(&Cell::Empty),
                self.main.head.date1904,
            );
            let key = join_key(&raw);
            let (list, bad) = match table.by_key.get(&key).filter(|_| !key.is_empty()) {
                Some((list, bad)) => (list.clone(), bad.clone()),
                None => (Vec::new(), BTreeSet::new()),
            };
            if !key.is_empty() {
                table.matched.insert(key);
            }
            let sheet_label = if table.head.sheet.is_empty() {
                file_label(&table.head.file)
            } else {
                table.head.sheet.clone()
            };
            let reject = |code: &str, reason: String| Reject {
                file: self.main.file.clone(),
                sheet: self.main.head.sheet.clone(),
                row: row.number,
                column: self.main.header(table.on_col),
                value: raw.clone(),
                code: code.into(),
                reason,
            };
            if !bad.is_empty() {
                let numbers: Vec<String> = bad.iter().map(u32::to_string).collect();
                rc.rejects.push(reject(
                    "E_JOIN_ROWS",
                    format!(
                        "「{sheet_label}」の {} 行目に不備があります (joined rows have problems)",
                        numbers.join("・")
                    ),
                ));
            }
            let join = &table.spec;
            let n = list.len() + bad.len();
            let too_few = n < join.min_rows;
            let too_many = join.max_rows.is_some_and(|m| n > m);
            if too_few || too_many {
                let range = match join.max_rows {
                    Some(m) if m == join.min_rows => format!("{m}行"),
                    Some(m) => format!("{}〜{m}行", join.min_rows),
                    None => format!("{}行以上", join.min_rows),
                };
                rc.rejects.push(reject(
                    "E_JOIN_COUNT",
                    format!(
                        "「{sheet_label}」の行が{n}行あります。{range}必要です (wrong number of joined rows)"
                    ),
                ));
            }
            rc.values
                .insert(join.field.clone(), serde_json::Value::Array(list));
        }
        let result = if rc.rejects.is_empty() {
            Ok(Record {
                id: value_text(rc.values.get(&self.record_id)),
                row: rc.number,
                fields: rc.values.into_iter().collect(),
            })
        } else {
            Err(rc.rejects)
        };
        RowOutcome {
            number: rc.number,
            texts: rc.texts,
            result,
        }
    }

    /// The joined rows' problems, including rows whose key no main row had.
    pub fn finish(self) -> Finished {
        let mut out = Finished {
            rows_read: self.rows_read,
            originals: self.columns,
            ..Finished::default()
        };
        let main_place = if self.main.head.sheet.is_empty() {
            "入力ファイル".to_string()
        } else {
            format!("シート「{}」", self.main.head.sheet)
        };
        for table in self.joins {
            let jfile = file_label(&table.head.file);
            for (key, raw_key, jr) in table.rows {
                let mut problems = jr.rejects;
                if key.is_empty() || !table.matched.contains(&key) {
                    problems.insert(
                        0,
                        Reject {
                            file: jfile.clone(),
                            sheet: table.head.sheet.clone(),
                            row: jr.number,
                            column: table.head.headers.get(table.key_col).cloned().unwrap_or_default(),
                            value: raw_key.clone(),
                            code: if key.is_empty() { "E_REQUIRED" } else { "E_JOIN_NO_MATCH" }.into(),
                            reason: if key.is_empty() {
                                "必須項目が空欄です (required value missing)".into()
                            } else {
                                format!(
                                    "{main_place}に同じ「{}」の行がありません (no matching row in the main sheet)",
                                    self.main.header(table.on_col)
                                )
                            },
                        },
                    );
                }
                if !problems.is_empty() {
                    out.originals.rows.insert(
                        (jfile.clone(), table.head.sheet.clone(), jr.number),
                        jr.texts,
                    );
                    out.rejects.extend(problems);
                }
            }
        }
        out
    }
}

/// Checks every row of `sheet` against the job's fields, rules and joins.
/// Unlike a batch (which streams rows through a [`Checker`] and keeps only
/// the rejected rows' texts), the result keeps every row's original texts.
///
/// Joined sheets are read from their own `file`, or else from the file
/// `sheet` came from (so `--input` replaces both).
pub fn check_sheet(sheet: &Sheet, job: &Job) -> Result<Checked, MappingError> {
    let mut checker = Checker::new(job, &sheet.head())?;
    let mut out = Checked {
        sheet: sheet.sheet.clone(),
        rows_read: sheet.rows.len(),
        ..Checked::default()
    };
    let file = file_label(&sheet.file);
    let mut kept = Vec::new();
    for row in &sheet.rows {
        let o = checker.check(row);
        kept.push(((file.clone(), sheet.sheet.clone(), o.number), o.texts));
        match o.result {
            Ok(r) => out.records.push(r),
            Err(rejects) => out.rejects.extend(rejects),
        }
    }
    let fin = checker.finish();
    out.rejects.extend(fin.rejects);
    out.originals = fin.originals;
    out.originals.rows.extend(kept);
    Ok(out)
}

/// A join key compared across sheets: NFKC, white space removed.
fn join_key(s: &str) -> String {
    normalize_header(s)
}

/// Reads the sheet of one `[[input.join]]`.
fn read_join_sheet(main: &SheetHead, join: &JoinSpec) -> Result<Sheet, MappingError> {
    let path = join.file.clone().unwrap_or_else(|| main.file.clone());
    let selector = match (&join.sheet, join.sheet_index) {
        (Some(n), _) => Some(SheetSelector::Name(n.clone())),
        (None, Some(i)) => Some(SheetSelector::Index(i)),
        (None, None) => None,
    };
    let header = match join.header_row {
        Some(n) => input::HeaderRow::At(n),
        None => input::HeaderRow::Find(
            std::iter::once(join.key.clone())
                .chain(join.fields.iter().map(|f| f.column.clone()))
                .collect(),
        ),
    };
    input::read_sheet_with(&path, selector.as_ref(), &header).map_err(|e| MappingError {
        message: format!("input.join (field {}): {e}", join.field),
    })
}

type CellError = (&'static str, String);

/// Parses and checks one cell; `Ok(None)` is an allowed empty cell.
fn check_cell(
    cell: &Cell,
    spec: &FieldSpec,
    date1904: bool,
) -> Result<Option<serde_json::Value>, CellError> {
    let raw = cell_text_in(cell, date1904);
    let text = if spec.trim {
        raw.trim().to_string()
    } else {
        raw.clone()
    };
    if text.trim().is_empty() {
        return if spec.required {
            Err((
                "E_REQUIRED",
                "必須項目が空欄です (required value missing)".into(),
            ))
        } else {
            Ok(None)
        };
    }
    if let Cell::Error(e) = cell {
        return Err((
            "E_CELL_ERROR",
            format!("セルがエラー値 {e} です (cell holds an error value)"),
        ));
    }
    let value = match spec.kind {
        FieldType::Text => {
            let t = match spec.normalize.unwrap_or_default() {
                Normalize::None => text,
                Normalize::Width => jtext::fold_width(&text),
                Normalize::Nfkc => text.nfkc().collect(),
            };
            check_text(t, spec)?
        }
        FieldType::Kana => {
            let t = to_katakana(&jtext::fold_width(&text));
            if !t.chars().all(is_kana_char) {
                return Err((
                    "E_KANA",
                    "カタカナで入力してください (reading must be katakana)".into(),
                ));
            }
            check_text(t, spec)?
        }
        FieldType::Postal => {
            let p = normalize_postal(&text).ok_or((
                "E_POSTAL_FORMAT",
                "郵便番号は7桁の数字で入力してください（例: 153-0051） (postal code must have 7 digits)".to_string(),
            ))?;
            check_text(p, spec)?
        }
        FieldType::Phone => {
            let p = normalize_phone(&text).ok_or((
                "E_PHONE",
                "電話番号は0で始まる10桁か11桁で入力してください（例: 03-1234-5678） (phone number must be 10-11 digits starting with 0)".to_string(),
            ))?;
            check_text(p, spec)?
        }
        FieldType::Date => {
            let d = match cell {
                Cell::Date(serial) | Cell::Number(serial) => {
                    era::from_excel_serial(*serial, date1904)
                }
                Cell::IsoDate(s) => era::parse_date(s.get(..10).unwrap_or(s)),
                _ => era::parse_date(&text),
            }
            .map_err(|e| (e.code, e.reason))?;
            let out_of_range = |b: &Option<Bound>, min: bool| match b {
                Some(Bound::Date(x)) if (min && d < *x) || (!min && d > *x) => Some(*x),
                _ => None,
            };
            if let Some(x) = out_of_range(&spec.compiled.min, true) {
                return Err((
                    "E_DATE_RANGE",
                    format!(
                        "{}以降の日付にしてください (date before minimum)",
                        x.format("%Y-%m-%d")
                    ),
                ));
            }
            if let Some(x) = out_of_range(&spec.compiled.max, false) {
                return Err((
                    "E_DATE_RANGE",
                    format!(
                        "{}以前の日付にしてください (date after maximum)",
                        x.format("%Y-%m-%d")
                    ),
                ));
            }
            serde_json::Value::String(d.format("%Y-%m-%d").to_string())
        }
        FieldType::Number | FieldType::Integer => {
            let not_number = || ("E_NUMBER", "数値ではありません (not a number)".to_string());
            let n = match cell {
                Cell::Number(n) => *n,
                Cell::Text(_) => parse_number(&text).ok_or_else(not_number)?,
                _ => return Err(not_number()),
            };
            if spec.kind == FieldType::Integer && n.fract() != 0.0 {
                return Err((
                    "E_NOT_INTEGER",
                    "整数で入力してください (must be a whole number)".into(),
                ));
            }
            let lo = match spec.compiled.min {
                Some(Bound::Number(x)) => Some(x),
                _ => None,
            };
            let hi = match spec.compiled.max {
                Some(Bound::Number(x)) => Some(x),
                _ => None,
            };
            if lo.is_some_and(|x| n < x) || hi.is_some_and(|x| n > x) {
                let range = match (lo, hi) {
                    (Some(a), Some(b)) => {
                        format!("{}以上{}以下", format_number(a), format_number(b))
                    }
                    (Some(a), None) => format!("{}以上", format_number(a)),
                    (None, Some(b)) => format!("{}以下", format_number(b)),
                    (None, None) => String::new(),
                };
                return Err((
                    "E_NUMBER_RANGE",
                    format!("{range}で入力してください (number out of range)"),
                ));
            }
            json_number(n).ok_or_else(not_number)?
        }
    };
    Ok(Some(value))
}

/// The rules shared by text-like values (text, kana, postal, phone): length,
/// allowed values, pattern.
fn check_text(t: String, spec: &FieldSpec) -> Result<serde_json::Value, CellError> {
    let n = t.chars().count();
    if let Some(max) = spec.max_length {
        if n > max {
            return Err((
                "E_TOO_LONG",
                format!("{n}文字あります。{max}文字以内にしてください (too long)"),
            ));
        }
    }
    if let Some(min) = spec.min_length {
        if n < min {
            return Err((
                "E_TOO_SHORT",
                format!("{n}文字です。{min}文字以上にしてください (too short)"),
            ));
        }
    }
    if !spec.one_of.is_empty() && !spec.one_of.contains(&t) {
        return Err((
            "E_NOT_ALLOWED",
            format!(
                "使える値は {} のいずれかです (value not in the allowed list)",
                spec.one_of.join("・")
            ),
        ));
    }
    if let Some(re) = &spec.compiled.pattern {
        if !re.is_match(&t) {
            return Err((
                "E_PATTERN",
                spec.pattern_message.clone().unwrap_or_else(|| {
                    "書式が決まりに合いません (value does not match the pattern)".into()
                }),
            ));
        }
    }
    Ok(serde_json::Value::String(t))
}

/// Hiragana (ぁ–ゖ, ゝゞ) → katakana; everything else is kept.
pub fn to_katakana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
                char::from_u32(c as u32 + 0x60).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// Characters allowed in a katakana reading: katakana, ー, ・, spaces.
fn is_kana_char(c: char) -> bool {
    ('\u{30A1}'..='\u{30FE}').contains(&c) || c == ' ' || c == '\u{3000}'
}

/// Dash look-alikes written in numbers (after NFKC).
fn is_dash(c: char) -> bool {
    matches!(c, '-' | 'ー' | 'ｰ') || jtext::is_dash(c)
}

/// `153-0051`, `1530051`, `〒153-0051`, full-width forms → `153-0051`.
pub fn normalize_postal(s: &str) -> Option<String> {
    let t: String = s.nfkc().collect();
    let t = t.trim().trim_start_matches('〒').trim();
    let digits: String = t.chars().filter(|c| !is_dash(*c) && *c != ' ').collect();
    if digits.len() == 7 && digits.chars().all(|c| c.is_ascii_digit()) {
        Some(format!("{}-{}", &digits[..3], &digits[3..]))
    } else {
        None
    }
}

/// A Japanese telephone number, loosely checked: after NFKC, `+81` becomes
/// `0`; separators (dash look-alikes, parentheses, spaces) become single `-`
/// and the grouping is kept as written; the digits must be 10 or 11 and
/// start with 0. `０３（１２３４）５６７８` → `03-1234-5678`,
/// `09012345678` → `09012345678`.
pub fn normalize_phone(s: &str) -> Option<String> {
    let t: String = s.nfkc().collect();
    let t = t.trim();
    let t = match t.strip_prefix("+81") {
        Some(rest) => format!(
            "0{}",
            rest.trim_start_matches(|c: char| is_dash(c) || c == ' ' || c == '(' || c == ')')
        ),
        None => t.to_string(),
    };
    let mut out = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if is_dash(c) || matches!(c, '(' | ')' | ' ') {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        } else {
            return None;
        }
    }
    let out = out.trim_end_matches('-').to_string();
    let digits = out.chars().filter(char::is_ascii_digit).count();
    ((10..=11).contains(&digits) && out.starts_with('0')).then_some(out)
}

/// `1,234`, `１２３４`, `¥1,234`, `￥1,234`, `1,234円`, `-5`, `▲5`/`△5`
/// (accounting minus), `12.5` → the number. Commas must group by three.
pub fn parse_number(s: &str) -> Option<f64> {
    let t: String = s.nfkc().collect();
    let t = t.trim();
    let (neg, t) = match t.strip_prefix(['▲', '△', '-']) {
        Some(rest) => (true, rest.trim()),
        None => (false, t),
    };
    let t = t
        .strip_prefix('¥')
        .or_else(|| t.strip_prefix('\\'))
        .unwrap_or(t);
    let t = t.strip_suffix('円').unwrap_or(t).trim();
    let (int, frac) = match t.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    if int.is_empty()
        || frac.is_some_and(|f| f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let groups: Vec<&str> = int.split(',').collect();
    let grouped_ok = groups
        .iter()
        .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()))
        && (groups.len() == 1
            || (groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3)));
    if !grouped_ok {
        return None;
    }
    let cleaned = format!(
        "{}{}",
        groups.concat(),
        frac.map(|f| format!(".{f}")).unwrap_or_default()
    );
    let n: f64 = cleaned.parse().ok().filter(|n: &f64| n.is_finite())?;
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Row;
    use std::path::{Path, PathBuf};

    const JOB: &str = r#"
[job]
name = "t"
title = "在職証明書"
record_id = "id"
[input]
file = "in.csv"
[template]
file = "t.xml"
[batch]
issue_date = "2025-04-01"
[[fields]]
name = "id"
column = "申請番号"
required = true
unique = true
[[fields]]
name = "name"
column = "氏名"
required = true
[[fields]]
name = "birth"
column = "生年月日"
type = "date"
required = true
[[fields]]
name = "postal"
column = "郵便番号"
type = "postal"
"#;

    fn job() -> Job {
        Job::parse(Path::new("/j/job.toml"), JOB).unwrap()
    }

    fn sheet_with(headers: &[&str], rows: Vec<Vec<&str>>) -> Sheet {
        Sheet {
            file: PathBuf::from("/data/in.csv"),
            sheet: String::new(),
            headers: headers.iter().map(|s| s.to_string()).collect(),
            date1904: false,
            rows: rows
                .into_iter()
                .enumerate()
                .map(|(i, cells)| Row {
                    number: i as u32 + 2,
                    cells: cells
                        .into_iter()
                        .map(|c| {
                            if c.is_empty() {
                                Cell::Empty
                            } else {
                                Cell::Text(c.into())
                            }
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn sheet(rows: Vec<Vec<&str>>) -> Sheet {
        sheet_with(&["申請番号", "氏名", "生年月日", "郵便番号"], rows)
    }

    fn codes(c: &Checked) -> Vec<(u32, &str)> {
        c.rejects.iter().map(|r| (r.row, r.code.as_str())).collect()
    }

    #[test]
    fn good_and_bad_rows() {
        let s = sheet(vec![
            vec!["R1", "山田 太郎", "1990/4/1", "〒153-0051"],
            vec!["R2", "", "1990/2/30", "153-005"],
            vec!["R1", "髙橋 一郎", "平成2年4月1日", ""],
        ]);
        let c = check_sheet(&s, &job()).unwrap();
        assert_eq!(c.rows_read, 3);
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.records[0].fields["postal"], "153-0051");
        assert_eq!(c.records[0].fields["birth"], "1990-04-01");
        // Every problem of row 3 is reported, and the duplicate id of row 4.
        assert_eq!(
            codes(&c),
            vec![
                (3, "E_REQUIRED"),
                (3, "E_DATE_INVALID"),
                (3, "E_POSTAL_FORMAT"),
                (4, "E_DUPLICATE")
            ]
        );
        assert_eq!(c.rejects[0].column, "氏名");
        assert_eq!(c.rejects[0].file, "in.csv");
        // Originals keep every row as written, for the rejects report.
        assert_eq!(
            c.originals.columns,
            ["申請番号", "氏名", "生年月日", "郵便番号"]
        );
        assert_eq!(
            c.originals.row("in.csv", "", 3).unwrap(),
            ["R2", "", "1990/2/30", "153-005"]
        );
    }

    #[test]
    fn missing_column_suggests_closest_header() {
        let mut s = sheet(vec![]);
        s.headers[1] = "氏 名前".into();
        let e = check_sheet(&s, &job()).unwrap_err();
        assert!(e.message.contains("氏名"), "{}", e.message);
        assert!(e.message.contains("もしかして「氏 名前」"), "{}", e.message);
    }

    #[test]
    fn duplicate_mapped_header_is_an_error_naming_both_columns() {
        let s = sheet_with(
            &["申請番号", "氏名", "生年月日", "郵便番号", "氏　名"],
            vec![],
        );
        let e = check_sheet(&s, &job()).unwrap_err();
        assert!(
            e.message.contains("氏名") && e.message.contains("B・E"),
            "{}",
            e.message
        );
        // An unmapped duplicate does not matter.
        let s = sheet_with(
            &["申請番号", "氏名", "生年月日", "郵便番号", "備考", "備考"],
            vec![],
        );
        assert!(check_sheet(&s, &job()).is_ok());
    }

    fn one_field(extra: &str) -> Job {
        Job::parse(
            Path::new("/j/job.toml"),
            &format!(
                "{}\n[[fields]]\nname = \"x\"\ncolumn = \"値\"\n{extra}\n",
                JOB.replace("unique = true", "")
            ),
        )
        .unwrap()
    }

    /// Checks one value of field `x` (configured by `extra`).
    fn value(extra: &str, v: &str) -> Result<serde_json::Value, String> {
        let job = one_field(extra);
        let s = sheet_with(
            &["申請番号", "氏名", "生年月日", "郵便番号", "値"],
            vec![vec!["R1", "山田", "1990/4/1", "", v]],
        );
        let c = check_sheet(&s, &job).unwrap();
        match c.records.first() {
            Some(r) => Ok(r.fields["x"].clone()),
            None => Err(c.rejects[0].code.clone()),
        }
    }

    #[test]
    fn names_keep_their_characters_unless_asked() {
        // 髙, 﨑 and the compatibility ideograph 神 (U+FA19) stay as written.
        let name = "髙﨑\u{FA19}　太郎";
        assert_eq!(value("", name).unwrap(), name);
        assert_eq!(value("normalize = \"width\"", name).unwrap(), name);
        assert_eq!(
            value("normalize = \"width\"", "ＡＢ１ ｶﾞｯｺｳ").unwrap(),
            "AB1 ガッコウ"
        );
        // NFKC folds it (why it is never the default).
        assert_eq!(
            value("normalize = \"nfkc\"", "\u{FA19}①").unwrap(),
            "\u{795E}1"
        );
        assert_eq!(value("", "  x  ").unwrap(), "x");
        assert_eq!(value("trim = false", " x").unwrap(), " x");
    }

    #[test]
    fn field_rules() {
        let pat = "pattern = 'R-\\d{4}'\npattern_message = \"R-0001 の形で\"";
        assert_eq!(value(pat, "R-0001").unwrap(), "R-0001");
        assert_eq!(value(pat, "R-001").unwrap_err(), "E_PATTERN");
        assert_eq!(value(pat, "xR-0001").unwrap_err(), "E_PATTERN");
        assert_eq!(value("min_length = 3", "ab").unwrap_err(), "E_TOO_SHORT");
        assert_eq!(value("max_length = 1", "ab").unwrap_err(), "E_TOO_LONG");
        assert_eq!(value("one_of = [\"A\"]", "B").unwrap_err(), "E_NOT_ALLOWED");
        let money = "type = \"integer\"\nmin = 0\nmax = 1000000";
        assert_eq!(value(money, "¥1,234").unwrap(), 1234);
        assert_eq!(value(money, "１２３４円").unwrap(), 1234);
        assert_eq!(value(money, "12.5").unwrap_err(), "E_NOT_INTEGER");
        assert_eq!(value(money, "2,000,000").unwrap_err(), "E_NUMBER_RANGE");
        assert_eq!(value(money, "▲5").unwrap_err(), "E_NUMBER_RANGE");
        assert_eq!(value(money, "1,23").unwrap_err(), "E_NUMBER");
        assert_eq!(value("type = \"number\"", "12.5").unwrap(), 12.5);
        let dates = "type = \"date\"\nmin = \"2000-01-01\"\nmax = 2030-12-31";
        assert_eq!(value(dates, "R7.4.1").unwrap(), "2025-04-01");
        assert_eq!(value(dates, "H11.12.31").unwrap_err(), "E_DATE_RANGE");
        assert_eq!(
            value("type = \"date\"\nmin = \"birth\"", "1989/1/1").unwrap_err(),
            "E_DATE_RANGE"
        );
        assert_eq!(
            value("type = \"phone\"", "０３（１２３４）５６７８").unwrap(),
            "03-1234-5678"
        );
        assert_eq!(value("type = \"phone\"", "1234").unwrap_err(), "E_PHONE");
        assert_eq!(
            value("type = \"kana\"", "ﾔﾏﾀﾞ　たろう").unwrap(),
            "ヤマダ　タロウ"
        );
        assert_eq!(value("type = \"kana\"", "山田").unwrap_err(), "E_KANA");
        assert_eq!(
            value("type = \"postal\"", "〒１５３－００５１").unwrap(),
            "153-0051"
        );
    }

    #[test]
    fn bad_field_settings_are_job_errors_naming_the_key() {
        for (extra, needle) in [
            ("pattern = \"([a-z\"", "pattern"),
            ("type = \"date\"\nmin = 3", "min"),
            ("min = 3", "min"),
            ("type = \"number\"\npattern = \"1\"", "pattern"),
            ("type = \"kana\"\nnormalize = \"nfkc\"", "normalize"),
            ("min_length = 5\nmax_length = 2", "min_length"),
            ("type = \"date\"\nmax = \"nosuch\"", "nosuch"),
        ] {
            let text = format!("{JOB}\n[[fields]]\nname = \"x\"\ncolumn = \"値\"\n{extra}\n");
            let e = Job::parse(Path::new("/j/job.toml"), &text).unwrap_err();
            assert!(
                e.message.contains("name = \"x\"") || e.message.contains(needle),
                "{extra}: {}",
                e.message
            );
            assert!(e.message.contains(needle), "{extra}: {}", e.message);
        }
    }

    #[test]
    fn cross_field_rules_name_their_columns() {
        let text = format!(
            "{JOB}\n[[fields]]\nname = \"hire\"\ncolumn = \"採用日\"\ntype = \"date\"\n\
             [[rules]]\ncode = \"E_HIRE_TOO_EARLY\"\ncheck = \"hire >= birth + 15y\"\nmessage = \"採用日が早すぎます\"\n"
        );
        let job = Job::parse(Path::new("/j/job.toml"), &text).unwrap();
        let s = sheet_with(
            &["申請番号", "氏名", "生年月日", "郵便番号", "採用日"],
            vec![
                vec!["R1", "山田", "2000/4/2", "", "2015/4/2"],
                vec!["R2", "佐藤", "2000/4/2", "", "2015/4/1"],
                vec!["R3", "鈴木", "2000/4/2", "", ""],
            ],
        );
        let c = check_sheet(&s, &job).unwrap();
        assert_eq!(codes(&c), vec![(3, "E_HIRE_TOO_EARLY")]);
        assert_eq!(c.rejects[0].column, "採用日 / 生年月日");
        assert_eq!(c.rejects[0].value, "2015/4/1 / 2000/4/2");
        assert!(c.rejects[0].reason.starts_with("採用日が早すぎます"));
        assert_eq!(c.records.len(), 2);
    }

    #[test]
    fn helpers() {
        assert_eq!(
            normalize_postal("１５３－００５１").as_deref(),
            Some("153-0051")
        );
        assert_eq!(normalize_postal("1530051").as_deref(), Some("153-0051"));
        assert_eq!(normalize_postal("153-005"), None);
        assert_eq!(parse_number("¥1,234"), Some(1234.0));
        assert_eq!(parse_number("￥1,234"), Some(1234.0));
        assert_eq!(parse_number("１，２３４円"), Some(1234.0));
        assert_eq!(parse_number("-1,234.5"), Some(-1234.5));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("1.2.3"), None);
        assert_eq!(
            normalize_phone("+81-3-1234-5678").as_deref(),
            Some("03-1234-5678")
        );
        assert_eq!(
            normalize_phone("090−1234−5678").as_deref(),
            Some("090-1234-5678")
        );
        assert_eq!(
            normalize_phone("09012345678").as_deref(),
            Some("09012345678")
        );
        assert_eq!(normalize_phone("123-4567-8901"), None);
        assert_eq!(normalize_phone("03-1234-567"), None);
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27 * 26), "AAA");
    }
}
