//! Checking: rows of a sheet → [`Record`]s (good rows) and [`Reject`]s.
//!
//! Columns are found by header name as the job maps them; each cell is parsed
//! by its field's type and checked by its rules. Every problem of a row is
//! reported (not only the first), with file, sheet, row, column, the value and
//! a reason in Japanese plus a stable code. A row with any problem becomes
//! rejects and no record: nothing is dropped silently.

use crate::era;
use crate::job::{FieldSpec, FieldType, Job};
use crate::source::{normalize_header, Cell, Sheet};
use std::collections::{BTreeMap, HashMap};
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
}

/// Where each field's column is in the sheet.
fn map_columns(sheet: &Sheet, fields: &[FieldSpec]) -> Result<Vec<usize>, MappingError> {
    let headers: Vec<String> = sheet.headers.iter().map(|h| normalize_header(h)).collect();
    fields
        .iter()
        .map(|f| {
            let want = normalize_header(&f.column);
            headers.iter().position(|h| *h == want).ok_or_else(|| {
                let hint = closest(&want, &sheet.headers)
                    .map(|h| format!("; もしかして「{h}」? (did you mean)"))
                    .unwrap_or_default();
                MappingError {
                    message: format!(
                        "列「{}」(field {}) がシートの見出しにありません (column not found in header row){hint}",
                        f.column, f.name
                    ),
                }
            })
        })
        .collect()
}

/// The header closest to `want` by edit distance, if reasonably close.
fn closest<'a>(want: &str, headers: &'a [String]) -> Option<&'a str> {
    headers
        .iter()
        .map(|h| (levenshtein(want, &normalize_header(h)), h))
        .filter(|(d, h)| *d <= (h.chars().count().max(want.chars().count()) / 2).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, h)| h.as_str())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A cell as text, the way a person reads it in the sheet.
pub fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Number(n) => format_number(*n),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Cell::Date(serial) => era::from_excel_serial(*serial, false)
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

/// Checks every row of `sheet` against the job's fields.
pub fn check_sheet(sheet: &Sheet, job: &Job) -> Result<Checked, MappingError> {
    let cols = map_columns(sheet, &job.fields)?;
    let file = sheet
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Checked {
        sheet: sheet.sheet.clone(),
        ..Checked::default()
    };
    // Values seen per unique field, with the first row that had them.
    let mut seen: Vec<HashMap<String, u32>> = vec![HashMap::new(); job.fields.len()];
    for row in &sheet.rows {
        out.rows_read += 1;
        let mut fields = BTreeMap::new();
        let mut problems = Vec::new();
        for (fi, (spec, &col)) in job.fields.iter().zip(&cols).enumerate() {
            let cell = row.cells.get(col).unwrap_or(&Cell::Empty);
            let reject = |code: &str, reason: String| Reject {
                file: file.clone(),
                sheet: sheet.sheet.clone(),
                row: row.number,
                column: sheet.headers.get(col).cloned().unwrap_or_default(),
                value: cell_text(cell),
                code: code.to_string(),
                reason,
            };
            match check_cell(cell, spec, sheet.date1904) {
                Ok(None) => {
                    fields.insert(spec.name.clone(), serde_json::Value::String(String::new()));
                }
                Ok(Some(v)) => {
                    if spec.unique {
                        let key = v.to_string();
                        if let Some(first) = seen[fi].get(&key) {
                            problems.push(reject(
                                "E_DUPLICATE",
                                format!("{first}行目と同じ値です (duplicate of row {first})"),
                            ));
                        } else {
                            seen[fi].insert(key, row.number);
                        }
                    }
                    fields.insert(spec.name.clone(), v);
                }
                Err((code, reason)) => problems.push(reject(code, reason)),
            }
        }
        if problems.is_empty() {
            let id = fields
                .get(&job.job.record_id)
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            out.records.push(Record {
                id,
                row: row.number,
                fields,
            });
        } else {
            out.rejects.extend(problems);
        }
    }
    Ok(out)
}

type CellError = (&'static str, String);

/// Parses and checks one cell; `Ok(None)` is an allowed empty cell.
fn check_cell(
    cell: &Cell,
    spec: &FieldSpec,
    date1904: bool,
) -> Result<Option<serde_json::Value>, CellError> {
    let text = cell_text(cell);
    let blank = text.trim().is_empty();
    if blank {
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
            let t = text.trim().to_string();
            if let Some(max) = spec.max_length {
                let n = t.chars().count();
                if n > max {
                    return Err((
                        "E_TOO_LONG",
                        format!("{n}文字あります。{max}文字以内にしてください (too long)"),
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
            serde_json::Value::String(t)
        }
        FieldType::Kana => {
            let t: String = text.trim().nfkc().collect();
            if !t
                .chars()
                .all(|c| ('\u{30A0}'..='\u{30FF}').contains(&c) || c == ' ' || c == '\u{3000}')
            {
                return Err((
                    "E_KANA",
                    "カタカナで入力してください (reading must be katakana)".into(),
                ));
            }
            serde_json::Value::String(t)
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
            serde_json::Value::String(d.format("%Y-%m-%d").to_string())
        }
        FieldType::Number => {
            let n = parse_number(&text)
                .ok_or(("E_NUMBER", "数値ではありません (not a number)".to_string()))?;
            serde_json::Number::from_f64(n)
                .map(serde_json::Value::Number)
                .ok_or(("E_NUMBER", "数値ではありません (not a number)".to_string()))?
        }
        FieldType::Postal => {
            let p = normalize_postal(&text).ok_or((
                "E_POSTAL_FORMAT",
                "郵便番号は7桁の数字で入力してください（例: 153-0051） (postal code must have 7 digits)".to_string(),
            ))?;
            serde_json::Value::String(p)
        }
    };
    Ok(Some(value))
}

/// `153-0051`, `1530051`, `〒153-0051`, full-width forms → `153-0051`.
pub fn normalize_postal(s: &str) -> Option<String> {
    let t: String = s.nfkc().collect();
    let t = t.trim().trim_start_matches('〒').trim();
    let digits: String = t
        .chars()
        .filter(|c| !matches!(c, '-' | '‐' | '−' | 'ー' | '―' | ' '))
        .collect();
    if digits.len() == 7 && digits.chars().all(|c| c.is_ascii_digit()) {
        Some(format!("{}-{}", &digits[..3], &digits[3..]))
    } else {
        None
    }
}

/// `1,234`, `１２３４`, `¥1,234`, `1,234円` → 1234.
pub fn parse_number(s: &str) -> Option<f64> {
    let t: String = s.nfkc().collect();
    let t = t.trim();
    let t = t
        .strip_prefix('¥')
        .or_else(|| t.strip_prefix('\\'))
        .unwrap_or(t);
    let t = t.strip_suffix('円').unwrap_or(t).trim();
    let cleaned: String = t.chars().filter(|c| *c != ',').collect();
    if cleaned.is_empty()
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Row;
    use std::path::{Path, PathBuf};

    fn job() -> Job {
        Job::parse(
            Path::new("/j/job.toml"),
            r#"
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
"#,
        )
        .unwrap()
    }

    fn sheet(rows: Vec<Vec<&str>>) -> Sheet {
        Sheet {
            file: PathBuf::from("/data/in.csv"),
            sheet: String::new(),
            headers: ["申請番号", "氏名", "生年月日", "郵便番号"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
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
        let codes: Vec<(u32, &str)> = c.rejects.iter().map(|r| (r.row, r.code.as_str())).collect();
        // Every problem of row 3 is reported, and the duplicate id of row 4.
        assert_eq!(
            codes,
            vec![
                (3, "E_REQUIRED"),
                (3, "E_DATE_INVALID"),
                (3, "E_POSTAL_FORMAT"),
                (4, "E_DUPLICATE")
            ]
        );
        assert_eq!(c.rejects[0].column, "氏名");
        assert_eq!(c.rejects[0].file, "in.csv");
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
    fn postal_and_numbers() {
        assert_eq!(
            normalize_postal("１５３－００５１").as_deref(),
            Some("153-0051")
        );
        assert_eq!(normalize_postal("1530051").as_deref(), Some("153-0051"));
        assert_eq!(normalize_postal("153-005"), None);
        assert_eq!(parse_number("¥1,234"), Some(1234.0));
        assert_eq!(parse_number("１，２３４円"), Some(1234.0));
        assert_eq!(parse_number("abc"), None);
    }
}
