//! The rejects report: every problem row, for the clerk who fixes the input.
//!
//! `rejects.csv` is UTF-8 with a BOM (so Excel opens it as UTF-8) and every
//! cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
//! CR first) is neutralised with a leading apostrophe. These files are the
//! only outputs that echo input values.

use crate::batch::{io_err, write_atomic, BatchError};
use crate::check::Reject;
use std::path::Path;

/// Neutralises a cell that a spreadsheet would run as a formula.
pub fn neutralize_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Writes `rejects.csv`: UTF-8 with BOM (Excel opens it), formula-safe.
pub fn write_rejects_csv(path: &Path, rejects: &[Reject]) -> Result<(), BatchError> {
    let mut buf = Vec::new();
    buf.extend_from_slice("\u{FEFF}".as_bytes());
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut buf);
        let header = ["ファイル", "シート", "行", "列", "値", "コード", "理由"];
        w.write_record(header)
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
        w.flush().map_err(|e| io_err(path, e))?;
    }
    write_atomic(path, &buf)
}

/// Reads a `rejects.csv` written by [`write_rejects_csv`] back (used when
/// merging shards; the neutralising apostrophe is kept as written).
pub fn read_rejects_csv(path: &Path) -> Result<Vec<Reject>, BatchError> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let body = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(&bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| BatchError::Input(format!("{}: {e}", path.display())))?;
        let get = |i: usize| rec.get(i).unwrap_or("").to_string();
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
}
