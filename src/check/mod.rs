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
//!
//! Files: `checker` (the streaming [`Checker`]), `row` (one row's fields,
//! bounds and rules), `address` (the postal code against the address),
//! `glyphs` (values the batch's fonts cannot print),
//! `cell` (one cell by field type), `normalize` (kana, postal codes, phone
//! numbers, amounts), `columns` (headers to columns), `join` (joined
//! sheets). The stage uses `input`, `job` and `japan`.

mod address;
mod cell;
mod checker;
mod columns;
mod glyphs;
mod join;
mod normalize;
mod row;

pub use checker::{Checker, Finished, RowOutcome};
pub use glyphs::GlyphCoverage;
pub use normalize::{normalize_postal, parse_number};

use crate::input::{normalize_header, Sheet};
use crate::job::Job;
use std::collections::BTreeMap;

/// A checked row, ready to render (spooled to disk as JSON by the
/// delivery stage, which reads its letters back one at a time).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// The file name of a path (no directories), as rejects show it.
pub(crate) fn file_label(path: &std::path::Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Checks every row of `sheet` against the job's fields, rules and joins.
/// Unlike a batch (which streams rows through a [`Checker`] and keeps only
/// the rejected rows' texts), the result keeps every row's original texts.
///
/// Joined sheets are read from their own `file`, or else from the file
/// `sheet` came from (so `--input` replaces both). With `coverage` (the
/// batch's fonts), values they cannot print are rejects too.
pub fn check_sheet(
    sheet: &Sheet,
    job: &Job,
    coverage: Option<&dyn GlyphCoverage>,
) -> Result<Checked, MappingError> {
    let mut checker = Checker::new(job, &sheet.head(), coverage)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Cell, Row};
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
        let c = check_sheet(&s, &job(), None).unwrap();
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
        let e = check_sheet(&s, &job(), None).unwrap_err();
        assert!(e.message.contains("氏名"), "{}", e.message);
        assert!(e.message.contains("もしかして「氏 名前」"), "{}", e.message);
    }

    #[test]
    fn duplicate_mapped_header_is_an_error_naming_both_columns() {
        let s = sheet_with(
            &["申請番号", "氏名", "生年月日", "郵便番号", "氏　名"],
            vec![],
        );
        let e = check_sheet(&s, &job(), None).unwrap_err();
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
        assert!(check_sheet(&s, &job(), None).is_ok());
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
        let c = check_sheet(&s, &job, None).unwrap();
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
        let c = check_sheet(&s, &job, None).unwrap();
        assert_eq!(codes(&c), vec![(3, "E_HIRE_TOO_EARLY")]);
        assert_eq!(c.rejects[0].column, "採用日 / 生年月日");
        assert_eq!(c.rejects[0].value, "2015/4/1 / 2000/4/2");
        assert!(c.rejects[0].reason.starts_with("採用日が早すぎます"));
        assert_eq!(c.records.len(), 2);
    }
}
