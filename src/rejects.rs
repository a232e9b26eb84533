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
