//! The rejects report: every problem row, for the clerk who fixes the input.
//!
//! * `rejects.csv` is UTF-8 with a BOM (so Excel opens it as UTF-8), one
//!   line per problem with the columns ファイル, シート, 行, 列, 値, コード,
//!   理由; every cell that a spreadsheet would run as a formula (`=`, `+`,
//!   `-`, `@`, tab, CR first) is neutralised with a leading apostrophe.
//! * `rejects.xlsx` has the same columns on the sheet 「不備一覧」, followed
//!   by the original values of every mapped column of the problem's row,
//!   and a sheet 「修正用」 with one line per rejected row (its original
//!   values and all its reasons) for correcting and resubmitting. Every value
//!   is written as a string cell, never as a formula. The header is bold on a
//!   fill, frozen, filterable; columns are sized to their content.
//!
//! These files are the only outputs that echo input values. Both are
//! deterministic (the workbook's creation date is fixed).

use crate::check::{Originals, Reject};
use crate::error::BatchError;
use crate::files::{neutralize_formula, restore_formula};
use crate::japan::jtext;
use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError,
};
use std::collections::hash_map::{Entry, HashMap};
use std::path::Path;

/// Writes `rejects.csv`: UTF-8 with BOM (Excel opens it), formula-safe.
pub fn write_rejects_csv(path: &Path, rejects: &[Reject]) -> Result<(), BatchError> {
    let mut buf = Vec::new();
    buf.extend_from_slice("\u{FEFF}".as_bytes());
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut buf);
        w.write_record(COLUMNS)
            .map_err(|e| BatchError::Io(e.to_string()))?;
        for r in rejects {
            w.write_record([
                neutralize_formula(&r.file),
                neutralize_formula(&r.sheet),
                r.row.to_string(),
                neutralize_formula(&r.column),
                neutralize_formula(&r.value),
                r.code.clone(),
                neutralize_formula(&r.reason),
            ])
            .map_err(|e| BatchError::Io(e.to_string()))?;
        }
        w.flush().map_err(|e| BatchError::write(path, e))?;
    }
    crate::files::write_atomic(path, &buf).map_err(|e| BatchError::write(path, e))
}

/// Reads a `rejects.csv` written by [`write_rejects_csv`] back (used when
/// merging shards; the neutralising apostrophe is taken off again, so a
/// merge writes each cell once neutralised, as a single run does).
pub fn read_rejects_csv(path: &Path) -> Result<Vec<Reject>, BatchError> {
    let bytes = crate::run::runstate::read_back(path).map_err(|e| BatchError::read(path, e))?;
    let body = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(&bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| BatchError::Input(format!("{}: {e}", path.display())))?;
        let get = |i: usize| restore_formula(rec.get(i).unwrap_or("")).to_string();
        out.push(Reject {
            file: get(0),
            sheet: get(1),
            row: get(2).parse().unwrap_or(0),
            column: get(3),
            value: get(4),
            code: get(5),
            reason: get(6),
        });
    }
    Ok(out)
}

/// The columns of both reports, in order.
pub const COLUMNS: [&str; 7] = ["ファイル", "シート", "行", "列", "値", "コード", "理由"];

/// Excel's limit on characters in one cell.
const MAX_CELL_CHARS: usize = 32_767;

/// Display width of a text in Excel column units (wide characters count 2).
fn display_width(s: &str) -> usize {
    s.lines()
        .map(|l| {
            l.chars()
                .map(|c| {
                    if (c as u32) < 0x1100 || jtext::is_half_width_kana(c) {
                        1
                    } else {
                        2
                    }
                })
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

fn clip(s: &str) -> String {
    if s.chars().count() > MAX_CELL_CHARS {
        s.chars().take(MAX_CELL_CHARS).collect()
    } else {
        s.to_string()
    }
}

/// Tracks column widths while a sheet is written.
struct Widths(Vec<usize>);

impl Widths {
    fn see(&mut self, col: usize, text: &str) {
        if self.0.len() <= col {
            self.0.resize(col + 1, 0);
        }
        self.0[col] = self.0[col].max(display_width(text));
    }

    fn apply(&self, ws: &mut Worksheet) -> Result<(), XlsxError> {
        for (i, w) in self.0.iter().enumerate() {
            let w = (*w + 2).clamp(6, 60);
            ws.set_column_width(i as u16, w as f64)?;
        }
        Ok(())
    }
}

/// Writes a header row: bold on a fill, frozen, with an autofilter over
/// `rows` data rows.
fn header(
    ws: &mut Worksheet,
    names: &[(String, bool)],
    rows: usize,
    widths: &mut Widths,
) -> Result<(), XlsxError> {
    let base = Format::new().set_bold().set_border(FormatBorder::Thin);
    let ours = base.clone().set_background_color(Color::RGB(0xDDEBF7));
    let theirs = base.set_background_color(Color::RGB(0xFFF2CC));
    for (i, (name, original)) in names.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, name, if *original { &theirs } else { &ours })?;
        widths.see(i, name);
    }
    ws.set_freeze_panes(1, 0)?;
    if !names.is_empty() {
        ws.autofilter(0, 0, rows as u32, (names.len() - 1) as u16)?;
    }
    Ok(())
}

/// The rejects of each problem row, rows in the order they were first seen.
/// Linear: a file where every row is bad has as many rows as rejects, and
/// a nightly run must not stall on writing its report.
fn by_row(rejects: &[Reject]) -> Vec<(&Reject, Vec<&Reject>)> {
    let mut rows: Vec<(&Reject, Vec<&Reject>)> = Vec::new();
    let mut index: HashMap<(&str, &str, u32), usize> = HashMap::new();
    for r in rejects {
        match index.entry((r.file.as_str(), r.sheet.as_str(), r.row)) {
            Entry::Occupied(at) => rows[*at.get()].1.push(r),
            Entry::Vacant(slot) => {
                slot.insert(rows.len());
                rows.push((r, vec![r]));
            }
        }
    }
    rows
}

/// The workbook's bytes. Its sheets are written row by row in "constant
/// memory" mode, so that the cells are not all held at once (640,000
/// rejects took 1.36 GB held whole): each sheet's rows go to an unnamed
/// temporary file in `tempdir`, the run directory (owner-only, as the
/// rows are personal data), never to the system's temporary folder.
fn xlsx_bytes(
    rejects: &[Reject],
    originals: &Originals,
    tempdir: Option<&Path>,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    if let Some(dir) = tempdir.filter(|d| !d.as_os_str().is_empty()) {
        wb.set_tempdir(dir)?;
    }
    wb.set_properties(
        &DocProperties::new()
            .set_title("不備一覧 (rejects)")
            .set_creation_datetime(&ExcelDateTime::from_ymd(2000, 1, 1)?),
    );
    let wrap = Format::new().set_text_wrap();
    let mut names: Vec<(String, bool)> = COLUMNS.iter().map(|c| (c.to_string(), false)).collect();
    names.extend(originals.columns.iter().map(|c| (c.clone(), true)));

    // Sheet 1: one line per problem, the row's original values beside it.
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name("不備一覧")?;
    let mut widths = Widths(Vec::new());
    header(ws, &names, rejects.len(), &mut widths)?;
    for (i, r) in rejects.iter().enumerate() {
        let row = i as u32 + 1;
        let mut texts: Vec<String> = vec![
            r.file.clone(),
            r.sheet.clone(),
            String::new(),
            r.column.clone(),
            r.value.clone(),
            r.code.clone(),
            r.reason.clone(),
        ];
        if let Some(orig) = originals.row(&r.file, &r.sheet, r.row) {
            texts.extend(orig.into_iter().map(str::to_string));
        }
        for (c, t) in texts.iter().enumerate() {
            if c == 2 {
                ws.write_number(row, 2, f64::from(r.row))?;
                widths.see(2, &r.row.to_string());
            } else if !t.is_empty() {
                ws.write_string(row, c as u16, clip(t))?;
                widths.see(c, t);
            }
        }
    }
    widths.apply(ws)?;

    // Sheet 2: one line per rejected row, for correcting and resubmitting.
    let grouped = by_row(rejects);
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name("修正用")?;
    let mut names2: Vec<(String, bool)> = ["ファイル", "シート", "行", "不備"]
        .iter()
        .map(|c| (c.to_string(), false))
        .collect();
    names2.extend(originals.columns.iter().map(|c| (c.clone(), true)));
    let mut widths = Widths(Vec::new());
    header(ws, &names2, grouped.len(), &mut widths)?;
    for (i, (first, all)) in grouped.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, clip(&first.file))?;
        widths.see(0, &first.file);
        ws.write_string(row, 1, clip(&first.sheet))?;
        widths.see(1, &first.sheet);
        ws.write_number(row, 2, f64::from(first.row))?;
        let reasons: Vec<String> = all
            .iter()
            .map(|r| {
                if r.column.is_empty() {
                    format!("[{}] {}", r.code, r.reason)
                } else {
                    format!("[{}] {}: {}", r.code, r.column, r.reason)
                }
            })
            .collect();
        let joined = reasons.join("\n");
        ws.write_string_with_format(row, 3, clip(&joined), &wrap)?;
        widths.see(3, &joined);
        if let Some(orig) = originals.row(&first.file, &first.sheet, first.row) {
            for (c, t) in orig.iter().enumerate() {
                if !t.is_empty() {
                    ws.write_string(row, 4 + c as u16, clip(t))?;
                    widths.see(4 + c, t);
                }
            }
        }
    }
    widths.apply(ws)?;
    wb.save_to_buffer()
}

/// Writes `rejects.xlsx`: the problems with each row's original values
/// beside them (see the [module documentation](self)).
pub fn write_rejects_xlsx(
    path: &Path,
    rejects: &[Reject],
    originals: &Originals,
) -> Result<(), BatchError> {
    let bytes = xlsx_bytes(rejects, originals, path.parent()).map_err(|e| {
        BatchError::Io(format!(
            "rejects.xlsx を作れません (cannot build the workbook) {}: {e}",
            path.display()
        ))
    })?;
    crate::files::write_atomic(path, &bytes).map_err(|e| BatchError::write(path, e))
}

/// The `.xlsx` sibling of a rejects CSV path (`out/r.csv` → `out/r.xlsx`).
pub fn xlsx_sibling(csv: &Path) -> std::path::PathBuf {
    csv.with_extension("xlsx")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            neutralize_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralize_formula("-1"), "'-1");
        assert_eq!(neutralize_formula("山田"), "山田");
    }

    fn reject(file: &str, sheet: &str, row: u32, code: &str) -> Reject {
        Reject {
            file: file.into(),
            sheet: sheet.into(),
            row,
            column: String::new(),
            value: String::new(),
            code: code.into(),
            reason: String::new(),
        }
    }

    #[test]
    fn rejects_are_grouped_by_file_sheet_and_row_in_first_seen_order() {
        let all = [
            reject("a.csv", "", 3, "E1"),
            reject("a.csv", "", 2, "E2"),
            reject("a.csv", "", 3, "E3"),
            reject("b.csv", "", 3, "E4"),
            reject("a.csv", "x", 3, "E5"),
            reject("a.csv", "", 2, "E6"),
        ];
        let rows: Vec<(u32, Vec<&str>)> = by_row(&all)
            .iter()
            .map(|(first, all)| (first.row, all.iter().map(|r| r.code.as_str()).collect()))
            .collect();
        assert_eq!(
            rows,
            vec![
                (3, vec!["E1", "E3"]),
                (2, vec!["E2", "E6"]),
                (3, vec!["E4"]),
                (3, vec!["E5"]),
            ]
        );
    }
}
