//! Japanese era (和暦) dates and the date parser for spreadsheet input.
//!
//! STUB: the signatures are fixed; the implementation is being written.

use chrono::NaiveDate;

/// A date that could not be understood or does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError {
    /// Stable machine code, e.g. `E_DATE_INVALID`.
    pub code: &'static str,
    /// Reason in Japanese for the rejects list.
    pub reason: String,
}

/// Formats `date` in era form for official documents: `令和7年4月1日`, `令和元年5月1日`.
pub fn format_wareki(date: NaiveDate) -> Result<String, DateError> {
    let _ = date;
    todo!()
}

/// Parses a date as HR spreadsheets write it (see the README's job reference).
pub fn parse_date(input: &str) -> Result<NaiveDate, DateError> {
    let _ = input;
    todo!()
}

/// Converts an Excel date serial in the 1900 or 1904 date system.
pub fn from_excel_serial(serial: f64, date1904: bool) -> Result<NaiveDate, DateError> {
    let _ = (serial, date1904);
    todo!()
}
