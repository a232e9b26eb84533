//! One cell as a spreadsheet holds it ([`Cell`]), and date serials as
//! calendar dates ([`serial_to_date`]). Plain data: uses nothing of ours.

use chrono::Datelike;

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
    /// A formula whose result was not saved (an `.xlsx` written by a
    /// program rather than by Excel or LibreOffice): its text, without `=`.
    /// Never blank, so it is reported rather than read as an empty cell.
    Formula(String),
}

impl Cell {
    /// Whether the cell is empty or holds only white space (including
    /// U+3000 IDEOGRAPHIC SPACE).
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// Converts a date serial (as in [`Cell::Date`]) to a calendar date.
///
/// Uses the 1900 date system (serial 1 = 1900-01-01, with Excel's fictitious
/// 1900-02-29 at serial 60, so serials from 61 on are correct) or, with
/// `date1904`, the 1904 system (serial 0 = 1904-01-01). The time of day is
/// dropped. Returns `None` for serials before the epoch (or the fictitious
/// 1900-02-29) and beyond 9999-12-31.
pub fn serial_to_date(serial: f64, date1904: bool) -> Option<chrono::NaiveDate> {
    if !serial.is_finite() {
        return None;
    }
    let days = serial.floor();
    let (epoch, days) = if date1904 {
        ((1904, 1, 1), days)
    } else if days == 60.0 {
        return None;
    } else if days < 60.0 {
        // Serial 1 = 1900-01-01.
        ((1900, 1, 1), days - 1.0)
    } else {
        // Excel counts a 1900-02-29 that never was.
        ((1900, 1, 1), days - 2.0)
    };
    if !(0.0..=3_000_000.0).contains(&days) {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(epoch.0, epoch.1, epoch.2)?
        .checked_add_days(chrono::Days::new(days as u64))
        .filter(|d| d.year() <= 9999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_dates() {
        let d = |y, m, dd| chrono::NaiveDate::from_ymd_opt(y, m, dd);
        assert_eq!(serial_to_date(45748.0, false), d(2025, 4, 1));
        assert_eq!(serial_to_date(1.0, false), d(1900, 1, 1));
        assert_eq!(serial_to_date(59.0, false), d(1900, 2, 28));
        assert_eq!(serial_to_date(60.0, false), None);
        assert_eq!(serial_to_date(61.0, false), d(1900, 3, 1));
        assert_eq!(serial_to_date(45748.75, false), d(2025, 4, 1));
        assert_eq!(serial_to_date(45748.0 - 1462.0, true), d(2025, 4, 1));
        assert_eq!(serial_to_date(0.0, true), d(1904, 1, 1));
        assert_eq!(serial_to_date(-1.0, false), None);
    }
}
