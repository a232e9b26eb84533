//! The document information dictionary: title, producer and creation
//! date. The date comes from [`DocInfo::created`], never from the clock,
//! so that the output is reproducible.
//!
//! May use `pdf-writer`.

use super::{err, DocInfo, PdfError};
use pdf_writer::{Date, Pdf, Ref, TextStr};

/// Parses `YYYYMMDDHHmmSS`; the empty string means "no date".
pub(super) fn parse_date(s: &str) -> Result<Option<Date>, PdfError> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || {
        err(format!(
            "invalid creation date {s:?} (expected YYYYMMDDHHmmSS)"
        ))
    };
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u16>().map_err(|_| bad());
    let (year, month, day) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hour, minute, second) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    Ok(Some(
        Date::new(year)
            .month(month as u8)
            .day(day as u8)
            .hour(hour as u8)
            .minute(minute as u8)
            .second(second as u8),
    ))
}

/// Writes the information dictionary of `info` with its parsed `date`.
pub(super) fn write_info(pdf: &mut Pdf, info_ref: Ref, info: &DocInfo, date: Option<Date>) {
    let mut di = pdf.document_info(info_ref);
    di.title(TextStr(&info.title)).producer(TextStr("chohyo"));
    if let Some(d) = date {
        di.creation_date(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse() {
        assert!(parse_date("").unwrap().is_none());
        assert!(parse_date("20250401093000").unwrap().is_some());
        for bad in [
            "2025040109300",
            "20251301093000",
            "20250401246000",
            "2025040109300x",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
