//! Reading rows from spreadsheets and CSV files (the first pipeline stage).
//!
//! STUB: the signatures are fixed; the implementation is being written.

use std::path::{Path, PathBuf};

/// One cell as the spreadsheet holds it, before any field checking.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Empty,
    /// Text (CSV cells are always text).
    Text(String),
    /// A number that is not formatted as a date.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A cell holding a date/time serial (Excel's or LibreOffice's), in the
    /// workbook's date system (see [`Sheet::date1904`]).
    Date(f64),
    /// An ISO 8601 date or date-time string stored as such (ODS).
    IsoDate(String),
    /// An error value such as `#N/A`.
    Error(String),
}

/// Which sheet of a workbook to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetSelector {
    /// By its tab name.
    Name(String),
    /// By position, 0 = first.
    Index(usize),
}

/// A data row with its 1-based row number in the sheet (as Excel shows it).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based row number as shown by Excel / the CSV line number of the record.
    pub number: u32,
    /// Cells, one per header column (padded with [`Cell::Empty`]).
    pub cells: Vec<Cell>,
}

/// The table read from one sheet: headers and data rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The file it came from.
    pub file: PathBuf,
    /// The sheet name (for CSV files: empty).
    pub sheet: String,
    /// Header texts as written in the file.
    pub headers: Vec<String>,
    /// Whether the workbook uses the 1904 date system.
    pub date1904: bool,
    /// Data rows below the header row, blank rows skipped.
    pub rows: Vec<Row>,
}

/// Why a file could not be read.
#[derive(Debug)]
pub struct SourceError {
    /// The file.
    pub file: PathBuf,
    /// What went wrong, in Japanese with an English gloss.
    pub message: String,
}

/// Reads one sheet of `path`; `header_row` is 1-based.
pub fn read_sheet(
    path: &Path,
    sheet: Option<&SheetSelector>,
    header_row: u32,
) -> Result<Sheet, SourceError> {
    let _ = (path, sheet, header_row);
    todo!()
}

/// Normalises a header for matching: trimmed, full-width ASCII to half-width,
/// half-width katakana to full-width, inner white space removed.
pub fn normalize_header(s: &str) -> String {
    s.trim().to_string()
}
