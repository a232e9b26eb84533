//! Japanese era (和暦) dates and the date parser for spreadsheet input.
//!
//! This module is the single place where the pipeline turns the many ways HR
//! spreadsheets write a date into a [`NaiveDate`], and where it turns a
//! [`NaiveDate`] back into the forms printed on certificates:
//!
//! * [`parse_date`] reads text cells (Western and era forms, full-width
//!   characters, kanji numerals, trailing Excel time parts);
//! * [`from_excel_serial`] reads date serials in Excel's 1900 and 1904 systems;
//! * [`format_wareki`] / [`format_wareki_with`] / [`format_western`] print dates;
//! * [`era_of`] and [`age_at`] answer the questions templates ask.
//!
//! Scope: dates before 1873-01-01 (明治6年, when Japan adopted the Gregorian
//! calendar) are rejected with [`E_DATE_TOO_OLD`] rather than guessed at.
//! Every failure is a [`DateError`] with a stable `code` and a Japanese
//! `reason` ending in a short English gloss in parentheses.

use crate::japan::jtext;
use std::fmt;

use chrono::{Datelike, Days, NaiveDate};

/// Error code: the text is not a date form the parser knows.
pub const E_DATE_FORMAT: &str = "E_DATE_FORMAT";
/// Error code: the form is understood but the day does not exist
/// (month 13, 2月30日, 2023-02-29, Excel's fictitious 1900-02-29, bad serials).
pub const E_DATE_INVALID: &str = "E_DATE_INVALID";
/// Error code: an era year or date outside that era (平成31年5月1日, 平成0年).
pub const E_DATE_ERA_RANGE: &str = "E_DATE_ERA_RANGE";
/// Error code: a date before 1873-01-01, which is out of scope.
pub const E_DATE_TOO_OLD: &str = "E_DATE_TOO_OLD";

/// Inputs longer than this many characters are shortened (with `…`) when
/// quoted in an error reason.
const MAX_SHOWN_CHARS: usize = 40;

/// A date that could not be understood or does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError {
    /// Stable machine code, e.g. `E_DATE_INVALID`.
    pub code: &'static str,
    /// Reason in Japanese for the rejects list.
    pub reason: String,
}

impl DateError {
    fn new(code: &'static str, reason: String) -> Self {
        DateError { code, reason }
    }
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

impl std::error::Error for DateError {}

/// One Japanese era (元号) of the modern calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Era {
    /// The era name in kanji, e.g. `令和`.
    pub name: &'static str,
    /// The one-kanji abbreviation, e.g. `令` (as in `令7.4.1`).
    pub kanji: char,
    /// The one-letter abbreviation, upper case, e.g. `R` (as in `R7.4.1`).
    pub letter: char,
    /// The first day of the era (year 1, 元年).
    pub first_day: NaiveDate,
    /// The last day of the era, or `None` for the current era.
    pub last_day: Option<NaiveDate>,
}

impl Era {
    /// The Gregorian year of this era's year 1 (元年).
    pub fn first_year(&self) -> i32 {
        self.first_day.year()
    }

    /// Whether `date` falls inside this era (both ends inclusive).
    pub fn contains(&self, date: NaiveDate) -> bool {
        date >= self.first_day && self.last_day.is_none_or(|last| date <= last)
    }
}

/// Builds a table date at compile time (a bad literal fails the build).
const fn table_date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date in the era table"),
    }
}

/// The modern eras, oldest first. 明治 starts on 1868-01-01 by convention;
/// dates before [`EARLIEST_DATE`] are nevertheless rejected everywhere.
pub const ERAS: [Era; 5] = [
    Era {
        name: "明治",
        kanji: '明',
        letter: 'M',
        first_day: table_date(1868, 1, 1),
        last_day: Some(table_date(1912, 7, 29)),
    },
    Era {
        name: "大正",
        kanji: '大',
        letter: 'T',
        first_day: table_date(1912, 7, 30),
        last_day: Some(table_date(1926, 12, 24)),
    },
    Era {
        name: "昭和",
        kanji: '昭',
        letter: 'S',
        first_day: table_date(1926, 12, 25),
        last_day: Some(table_date(1989, 1, 7)),
    },
    Era {
        name: "平成",
        kanji: '平',
        letter: 'H',
        first_day: table_date(1989, 1, 8),
        last_day: Some(table_date(2019, 4, 30)),
    },
    Era {
        name: "令和",
        kanji: '令',
        letter: 'R',
        first_day: table_date(2019, 5, 1),
        last_day: None,
    },
];

/// The earliest date in scope: 1873-01-01 (明治6年1月1日), the day Japan
/// switched to the Gregorian calendar. Earlier dates give [`E_DATE_TOO_OLD`].
pub const EARLIEST_DATE: NaiveDate = table_date(1873, 1, 1);

/// The latest date Excel can hold (serial 2958465 in the 1900 system).
const EXCEL_LAST_DATE: NaiveDate = table_date(9999, 12, 31);

/// How [`format_wareki_with`] writes an era date.
///
/// Examples are for 2025-04-01 / 2019-05-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WarekiStyle {
    /// `令和7年4月1日` / `令和元年5月1日` — the form for official documents.
    #[default]
    Long,
    /// `R7.4.1` / `R1.5.1` — letter abbreviation, no padding, year 1 as `1`.
    Short,
    /// `令和 7年 4月 1日` / `令和元年 5月 1日` — fixed width for printed forms.
    ///
    /// Rule: the era year, month and day are each right-aligned in a field
    /// two half-width columns wide, padded with a half-width space (U+0020).
    /// Year 1 is written `元`, a full-width character that fills the same two
    /// columns. Era years of 100 or more (令和100年 = 2118) are written in
    /// full and overflow the field.
    Padded,
    /// `令和七年四月一日` / `令和元年五月一日` — kanji numerals
    /// (`十`, `十一`, `二十一`, `三十一`; `百` for 令和100年 and later).
    Kanji,
}

/// Finds the era of a date in scope (on or after [`EARLIEST_DATE`]).
fn find_era(date: NaiveDate) -> Option<&'static Era> {
    if date < EARLIEST_DATE {
        return None;
    }
    ERAS.iter().rev().find(|era| era.contains(date))
}

/// The era of `date`: `(era name in kanji, era letter, era year)`, e.g.
/// `("令和", 'R', 7)` for 2025-04-01 and `("令和", 'R', 1)` for 2019-05-01.
///
/// Returns `None` for dates before [`EARLIEST_DATE`] (1873-01-01), which
/// are out of scope even though 明治 nominally starts in 1868.
pub fn era_of(date: NaiveDate) -> Option<(&'static str, char, u32)> {
    let era = find_era(date)?;
    let year = u32::try_from(date.year() - era.first_year() + 1).ok()?;
    Some((era.name, era.letter, year))
}

/// Formats `date` in era form for official documents: `令和7年4月1日`, `令和元年5月1日`.
///
/// Same as [`format_wareki_with`] with [`WarekiStyle::Long`].
pub fn format_wareki(date: NaiveDate) -> Result<String, DateError> {
    format_wareki_with(date, WarekiStyle::Long)
}

/// Formats `date` in era form in the given style (see [`WarekiStyle`]).
///
/// Fails with [`E_DATE_TOO_OLD`] for dates before 1873-01-01. Every string
/// this returns is read back to the same date by [`parse_date`].
pub fn format_wareki_with(date: NaiveDate, style: WarekiStyle) -> Result<String, DateError> {
    let (name, letter, year) = era_of(date).ok_or_else(|| {
        DateError::new(
            E_DATE_TOO_OLD,
            format!(
                "{}は1873年1月1日（明治6年）より前のため和暦にできません \
                 (dates before 1873-01-01 are out of scope)",
                format_western(date)
            ),
        )
    })?;
    let (month, day) = (date.month(), date.day());
    let text = match style {
        WarekiStyle::Long => {
            let y = if year == 1 {
                "元".to_string()
            } else {
                year.to_string()
            };
            format!("{name}{y}年{month}月{day}日")
        }
        WarekiStyle::Short => format!("{letter}{year}.{month}.{day}"),
        WarekiStyle::Padded => {
            let y = if year == 1 {
                "元".to_string()
            } else {
                format!("{year:>2}")
            };
            format!("{name}{y}年{month:>2}月{day:>2}日")
        }
        WarekiStyle::Kanji => {
            let y = if year == 1 {
                "元".to_string()
            } else {
                kanji_number(year)
            };
            format!(
                "{name}{y}年{}月{}日",
                kanji_number(month),
                kanji_number(day)
            )
        }
    };
    Ok(text)
}

/// Formats `date` the Western way with kanji units: `2025年4月1日`.
pub fn format_western(date: NaiveDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// Age in whole years on day `at` of someone born on `birth`.
///
/// Uses the ordinary calendar rule: the age goes up on the birthday itself.
/// (The legal rule of 年齢計算ニ関スル法律, where the age goes up at the end
/// of the previous day, is deliberately not used.) Someone born on 2月29日
/// turns a year older on 2月29日 in leap years and on 3月1日 in other years.
/// Returns 0 when `at` is before `birth`.
pub fn age_at(birth: NaiveDate, at: NaiveDate) -> u32 {
    if at <= birth {
        return 0;
    }
    let mut years = at.year() - birth.year();
    if (at.month(), at.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Writes `n` in kanji numerals: 1 → 一, 10 → 十, 21 → 二十一, 100 → 百,
/// 2025 → 二千二十五. Values of 10000 or more fall back to ASCII digits
/// (no date field reaches them).
fn kanji_number(n: u32) -> String {
    const DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    if n == 0 {
        return "〇".to_string();
    }
    if n >= 10_000 {
        return n.to_string();
    }
    let mut out = String::new();
    for (unit, unit_char) in [(1000, '千'), (100, '百'), (10, '十')] {
        let d = (n / unit) % 10;
        if d > 1 {
            out.push(DIGITS[d as usize]);
        }
        if d > 0 {
            out.push(unit_char);
        }
    }
    let ones = n % 10;
    if ones > 0 {
        out.push(DIGITS[ones as usize]);
    }
    out
}

/// Quotes the input for an error reason: control characters escaped and
/// anything past [`MAX_SHOWN_CHARS`] characters cut off with `…`.
fn shown(input: &str) -> String {
    let too_long = input.chars().nth(MAX_SHOWN_CHARS).is_some();
    let mut out = String::new();
    for (i, c) in input.chars().enumerate() {
        if too_long && i + 1 >= MAX_SHOWN_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Maps full-width ASCII (０-９, Ａ-Ｚ, ／, ．, －, …) to half-width, dash
/// look-alikes to `-`, and the era ligatures (㋿ ㍻ ㍼ ㍽ ㍾) to their two
/// kanji. Whitespace (including U+3000) is left for the tokenizer.
fn normalize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\u{FF01}'..='\u{FF5E}' => out.push(jtext::fold_full_width_ascii(c)),
            '\u{30FC}' | '\u{FF70}' => out.push('-'),
            _ if jtext::is_dash(c) => out.push('-'),
            '\u{32FF}' => out.push_str("令和"),
            '\u{337B}' => out.push_str("平成"),
            '\u{337C}' => out.push_str("昭和"),
            '\u{337D}' => out.push_str("大正"),
            '\u{337E}' => out.push_str("明治"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether `s` is a clock time `H:MM`, `H:MM:SS` or `H:MM:SS.fff`
/// (hours 0-23 in one or two digits, minutes and seconds 00-59).
fn is_time(s: &str) -> bool {
    let (main, frac) = match s.split_once('.') {
        Some((main, frac)) => (main, Some(frac)),
        None => (s, None),
    };
    if let Some(frac) = frac {
        if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    let parts: Vec<&str> = main.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 || (frac.is_some() && parts.len() != 3) {
        return false;
    }
    let field = |p: &str, max_len: usize, max: u32| {
        !p.is_empty()
            && p.len() <= max_len
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|v| v <= max)
    };
    field(parts[0], 2, 23) && parts[1..].iter().all(|p| p.len() == 2 && field(p, 2, 59))
}

/// Splits off a trailing time part (`2025/04/01 0:00:00`,
/// `2025-04-01T00:00:00`) and returns the date part. Text without `:` is
/// returned unchanged; a malformed time gives `None`.
fn strip_time(s: &str) -> Option<&str> {
    if !s.contains(':') {
        return Some(s);
    }
    let at = s.rfind(|c: char| c.is_whitespace() || c == 'T' || c == 't')?;
    let sep_len = s[at..].chars().next().map_or(1, char::len_utf8);
    if !is_time(&s[at + sep_len..]) {
        return None;
    }
    Some(s[..at].trim_end())
}

/// A lexical piece of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A number; `ascii_digits` is the digit count for ASCII digits and 0
    /// for kanji numerals.
    Num { value: u32, ascii_digits: usize },
    /// `元` (as in 元年).
    Gan,
    /// An era (index into [`ERAS`]), by name, kanji or letter.
    Era(usize),
    /// One of `年 月 日 / - .`.
    Sym(char),
}

/// Splits normalized text into tokens; whitespace separates tokens and is
/// otherwise ignored. `None` for any character outside the date alphabet.
fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let len = i - start;
            if len > 8 {
                return None;
            }
            let value = chars[start..i]
                .iter()
                .fold(0u32, |acc, &d| acc * 10 + (d as u32 - '0' as u32));
            toks.push(Tok::Num {
                value,
                ascii_digits: len,
            });
        } else if jtext::is_kanji_numeral(c) {
            let start = i;
            while i < chars.len() && jtext::is_kanji_numeral(chars[i]) {
                i += 1;
            }
            let value = jtext::kanji_number_strict(&chars[start..i])?;
            toks.push(Tok::Num {
                value,
                ascii_digits: 0,
            });
        } else if c == '元' {
            toks.push(Tok::Gan);
            i += 1;
        } else if matches!(c, '年' | '月' | '日' | '/' | '-' | '.') {
            toks.push(Tok::Sym(c));
            i += 1;
        } else if let Some(idx) = ERAS.iter().position(|era| {
            let mut name = era.name.chars();
            name.next() == Some(c) && name.next() == chars.get(i + 1).copied()
        }) {
            toks.push(Tok::Era(idx));
            i += 2;
        } else if let Some(idx) = ERAS
            .iter()
            .position(|era| era.kanji == c || era.letter == c.to_ascii_uppercase())
        {
            toks.push(Tok::Era(idx));
            i += 1;
        } else {
            return None;
        }
    }
    Some(toks)
}

/// A date as written, before checking that it exists.
struct Written {
    era: Option<usize>,
    year: u32,
    month: u32,
    day: u32,
}

/// Recognises the token sequence of one of the known forms.
fn read_form(toks: &[Tok]) -> Option<Written> {
    let (era, rest) = match toks.split_first() {
        Some((Tok::Era(idx), rest)) => (Some(*idx), rest),
        _ => (None, toks),
    };
    if let (
        None,
        [Tok::Num {
            value,
            ascii_digits: 8,
        }],
    ) = (era, rest)
    {
        return Some(Written {
            era: None,
            year: value / 10_000,
            month: value / 100 % 100,
            day: value % 100,
        });
    }
    let [y, Tok::Sym(s1), m, Tok::Sym(s2), d, tail @ ..] = rest else {
        return None;
    };
    let kanji_style = *s1 == '年' && *s2 == '月' && tail == [Tok::Sym('日')];
    let sep_style = s1 == s2 && matches!(s1, '/' | '-' | '.') && tail.is_empty();
    if !kanji_style && !sep_style {
        return None;
    }
    let year = match (era, *y) {
        (Some(_), Tok::Gan) => 1,
        (
            Some(_),
            Tok::Num {
                value,
                ascii_digits: 1..=3,
            },
        ) => value,
        (
            Some(_),
            Tok::Num {
                value,
                ascii_digits: 0,
            },
        ) if value <= 999 => value,
        (
            None,
            Tok::Num {
                value,
                ascii_digits: 4,
            },
        ) => value,
        // Kanji Western years must still have four digits' worth (二〇二五, 千九百八十九).
        (
            None,
            Tok::Num {
                value,
                ascii_digits: 0,
            },
        ) if value >= 1000 => value,
        _ => return None,
    };
    let small = |t: Tok| match t {
        Tok::Num {
            value,
            ascii_digits: 1 | 2,
        } => Some(value),
        Tok::Num {
            value,
            ascii_digits: 0,
        } if value <= 99 => Some(value),
        _ => None,
    };
    Some(Written {
        era,
        year,
        month: small(*m)?,
        day: small(*d)?,
    })
}

/// Rejects dates before [`EARLIEST_DATE`].
fn check_in_scope(date: NaiveDate, quoted: &str) -> Result<NaiveDate, DateError> {
    if date < EARLIEST_DATE {
        return Err(DateError::new(
            E_DATE_TOO_OLD,
            format!(
                "「{quoted}」は1873年1月1日（明治6年）より前の日付のため対象外です \
                 (dates before 1873-01-01 are out of scope)"
            ),
        ));
    }
    Ok(date)
}

/// Parses a date as HR spreadsheets write it.
///
/// The input is trimmed, full-width characters are made half-width
/// (`２０２５／４／１`, `Ｒ７．４．１`), dash look-alikes become `-` and the
/// era ligatures (㋿ ㍻ …) are expanded. Whitespace (including U+3000) may
/// appear between any two parts. Accepted forms:
///
/// * Western: `2025/4/1`, `2025-04-01`, `2025.4.1`, `2025年4月1日`,
///   `20250401` (exactly 8 digits). The year must have 4 digits.
/// * Era: an era as name (`令和`), one kanji (`令`) or letter (`R`, `r`),
///   then year, month, day as `7年4月1日` or separated by one of `/ - .`
///   used twice (`R7.4.1`, `R07.04.01`, `R7/4/1`, `令7.4.1`). Year 1 may be
///   `1` or `元`. Era years have 1-3 digits.
/// * Kanji numerals anywhere a number goes: `令和七年四月一日`,
///   `平成三十一年四月三十日`, `二〇二五年四月一日`.
/// * A trailing time as in Excel/CSV/ODS date-time exports,
///   `2025/04/01 0:00:00` or `2025-04-01T00:00:00`: it must be a valid
///   `H:MM[:SS[.fff]]` and is ignored whatever its value (the cell still
///   names that calendar day).
///
/// Excel serials given as text (`45748`) are not accepted: they give
/// [`E_DATE_FORMAT`]; convert numeric cells with [`from_excel_serial`].
///
/// Errors: [`E_DATE_FORMAT`] (unknown form), [`E_DATE_INVALID`] (no such
/// day), [`E_DATE_ERA_RANGE`] (era year 0, or a date outside the named
/// era; 令和 has no end), [`E_DATE_TOO_OLD`] (before 1873-01-01).
pub fn parse_date(input: &str) -> Result<NaiveDate, DateError> {
    let trimmed = input.trim();
    let quoted = shown(trimmed);
    let format_error = || {
        let reason = if trimmed.is_empty() {
            "日付が空です (empty date)".to_string()
        } else if trimmed.chars().all(|c| c.is_ascii_digit()) && trimmed.len() <= 7 {
            format!(
                "「{quoted}」は日付として読み取れません。Excelのシリアル値が文字列になっている可能性があります \
                 (not a date; looks like an Excel serial number stored as text)"
            )
        } else {
            format!("「{quoted}」は日付として読み取れません (not a recognised date format)")
        };
        DateError::new(E_DATE_FORMAT, reason)
    };
    let normalized = normalize(trimmed);
    let date_part = strip_time(normalized.trim()).ok_or_else(format_error)?;
    let toks = tokenize(date_part).ok_or_else(format_error)?;
    let written = read_form(&toks).ok_or_else(format_error)?;

    let Some(era_idx) = written.era else {
        let year = i32::try_from(written.year).map_err(|_| format_error())?;
        let date = NaiveDate::from_ymd_opt(year, written.month, written.day).ok_or_else(|| {
            DateError::new(
                E_DATE_INVALID,
                format!("「{quoted}」は存在しない日付です (no such date)"),
            )
        })?;
        return check_in_scope(date, &quoted);
    };

    let era = &ERAS[era_idx];
    let range_error = || {
        let span = match era.last_day {
            Some(last) => format!(
                "{}から{}まで",
                format_western(era.first_day),
                format_western(last)
            ),
            None => format!("{}から", format_western(era.first_day)),
        };
        DateError::new(
            E_DATE_ERA_RANGE,
            format!(
                "「{quoted}」は{}の範囲外です（{}は{span}） (date outside the era)",
                era.name, era.name
            ),
        )
    };
    if written.year == 0 {
        return Err(DateError::new(
            E_DATE_ERA_RANGE,
            format!("「{quoted}」: 和暦の年は元年（1年）から始まります (era years start at 1)"),
        ));
    }
    // Era years are at most 999 (read_form), so this cannot overflow.
    let year = era.first_year() - 1 + written.year as i32;
    let date = NaiveDate::from_ymd_opt(year, written.month, written.day).ok_or_else(|| {
        DateError::new(
            E_DATE_INVALID,
            format!(
                "「{quoted}」は存在しない日付です（西暦{year}年{}月{}日） (no such date)",
                written.month, written.day
            ),
        )
    })?;
    if !era.contains(date) {
        return Err(range_error());
    }
    check_in_scope(date, &quoted)
}

/// Converts an Excel date serial in the 1900 or 1904 date system.
///
/// * 1900 system (`date1904 == false`): serial 1 is 1900-01-01. Excel
///   counts a fictitious 1900-02-29 as serial 60, which is rejected with
///   [`E_DATE_INVALID`]; serial 61 is 1900-03-01. Serial 0 (Excel's
///   "1900-01-00") is rejected too.
/// * 1904 system: serial 0 is 1904-01-01.
///
/// The fractional part (the time of day) is ignored. NaN, infinities,
/// negative serials and serials after 9999-12-31 (Excel's last date) give
/// [`E_DATE_INVALID`]; dates before 1873-01-01 would give
/// [`E_DATE_TOO_OLD`] (no serial reaches them).
pub fn from_excel_serial(serial: f64, date1904: bool) -> Result<NaiveDate, DateError> {
    let system = if date1904 { "1904年" } else { "1900年" };
    let invalid = |why: &str, gloss: &str| {
        DateError::new(
            E_DATE_INVALID,
            format!("Excelの日付シリアル値{serial}（{system}方式）は{why} ({gloss})"),
        )
    };
    if !serial.is_finite() || serial < 0.0 {
        return Err(invalid(
            "日付として不正です",
            "not a valid Excel date serial",
        ));
    }
    let day = serial.floor();
    // Anything this large is far past 9999-12-31; avoids float-to-int surprises.
    if day > 1.0e7 {
        return Err(invalid(
            "9999年12月31日より後です",
            "after Excel's last date",
        ));
    }
    let day = day as u64;
    let (base, offset) = if date1904 {
        (table_date(1904, 1, 1), day)
    } else {
        match day {
            0 => {
                return Err(invalid(
                    "存在しない日付（1900年1月0日）です",
                    "no such date",
                ))
            }
            60 => {
                return Err(invalid(
                    "Excelにしか存在しない1900年2月29日です",
                    "Excel's fictitious 1900-02-29",
                ))
            }
            1..=59 => (table_date(1899, 12, 31), day),
            _ => (table_date(1899, 12, 30), day),
        }
    };
    let date = base
        .checked_add_days(Days::new(offset))
        .filter(|d| *d <= EXCEL_LAST_DATE)
        .ok_or_else(|| invalid("9999年12月31日より後です", "after Excel's last date"))?;
    check_in_scope(date, &format!("シリアル値{serial}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn iso(date: NaiveDate) -> String {
        format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
    }

    #[test]
    fn parse_date_table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            // Western forms.
            ("2025/4/1", Ok("2025-04-01")),
            ("2025-04-01", Ok("2025-04-01")),
            ("2025.4.1", Ok("2025-04-01")),
            ("2025年4月1日", Ok("2025-04-01")),
            ("2025年04月01日", Ok("2025-04-01")),
            ("20250401", Ok("2025-04-01")),
            ("  2025/4/1 \t", Ok("2025-04-01")),
            ("1873/1/1", Ok("1873-01-01")),
            ("9999/12/31", Ok("9999-12-31")),
            // Era forms.
            ("令和7年4月1日", Ok("2025-04-01")),
            ("令和 7年 4月 1日", Ok("2025-04-01")),
            ("令和\u{3000}7年\u{3000}4月\u{3000}1日", Ok("2025-04-01")),
            ("令和 7 年 4 月 1 日", Ok("2025-04-01")),
            ("令和元年5月1日", Ok("2019-05-01")),
            ("令和1年5月1日", Ok("2019-05-01")),
            ("R7.4.1", Ok("2025-04-01")),
            ("R07.04.01", Ok("2025-04-01")),
            ("R7/4/1", Ok("2025-04-01")),
            ("R7-4-1", Ok("2025-04-01")),
            ("r7.4.1", Ok("2025-04-01")),
            ("令7.4.1", Ok("2025-04-01")),
            ("令和7.4.1", Ok("2025-04-01")),
            ("H31.4.30", Ok("2019-04-30")),
            ("平31.4.30", Ok("2019-04-30")),
            ("S64.1.7", Ok("1989-01-07")),
            ("昭64.1.7", Ok("1989-01-07")),
            ("M45.7.29", Ok("1912-07-29")),
            ("T1.7.30", Ok("1912-07-30")),
            ("大1.7.30", Ok("1912-07-30")),
            ("明治6年1月1日", Ok("1873-01-01")),
            ("令和100年1月1日", Ok("2118-01-01")),
            ("\u{32FF}7年4月1日", Ok("2025-04-01")),
            ("\u{337B}31年4月30日", Ok("2019-04-30")),
            // Kanji numerals.
            ("令和七年四月一日", Ok("2025-04-01")),
            ("令和元年五月一日", Ok("2019-05-01")),
            ("平成三十一年四月三十日", Ok("2019-04-30")),
            ("昭和六十四年一月七日", Ok("1989-01-07")),
            ("令和十二年十月十一日", Ok("2030-10-11")),
            ("二〇二五年四月一日", Ok("2025-04-01")),
            ("千九百八十九年一月七日", Ok("1989-01-07")),
            ("二五年四月一日", Err(E_DATE_FORMAT)),
            // Full-width.
            ("２０２５／４／１", Ok("2025-04-01")),
            ("２０２５－０４－０１", Ok("2025-04-01")),
            ("２０２５年４月１日", Ok("2025-04-01")),
            ("Ｒ７．４．１", Ok("2025-04-01")),
            ("ｒ７／４／１", Ok("2025-04-01")),
            ("令和７年４月１日", Ok("2025-04-01")),
            ("令和　元年　５月　１日", Ok("2019-05-01")),
            ("２０２５０４０１", Ok("2025-04-01")),
            ("2025\u{2212}04\u{2212}01", Ok("2025-04-01")),
            // Trailing times.
            ("2025/04/01 0:00:00", Ok("2025-04-01")),
            ("2025/04/01 00:00", Ok("2025-04-01")),
            ("2025-04-01T00:00:00", Ok("2025-04-01")),
            ("2025-04-01T00:00:00.000", Ok("2025-04-01")),
            ("2025/4/1 13:45:10", Ok("2025-04-01")),
            ("令和7年4月1日 0:00:00", Ok("2025-04-01")),
            ("２０２５／０４／０１　０：００：００", Ok("2025-04-01")),
            ("2025/04/01 25:00", Err(E_DATE_FORMAT)),
            ("2025/04/01 0:0", Err(E_DATE_FORMAT)),
            ("2025/04/01 0:00:00 extra", Err(E_DATE_FORMAT)),
            // Era boundaries, both sides.
            ("明治45年7月29日", Ok("1912-07-29")),
            ("明治45年7月30日", Err(E_DATE_ERA_RANGE)),
            ("大正元年7月30日", Ok("1912-07-30")),
            ("大正1年7月29日", Err(E_DATE_ERA_RANGE)),
            ("大正15年12月24日", Ok("1926-12-24")),
            ("大正15年12月25日", Err(E_DATE_ERA_RANGE)),
            ("昭和元年12月25日", Ok("1926-12-25")),
            ("昭和元年12月24日", Err(E_DATE_ERA_RANGE)),
            ("昭和64年1月7日", Ok("1989-01-07")),
            ("昭和64年1月8日", Err(E_DATE_ERA_RANGE)),
            ("平成元年1月8日", Ok("1989-01-08")),
            ("平成元年1月7日", Err(E_DATE_ERA_RANGE)),
            ("平成31年4月30日", Ok("2019-04-30")),
            ("平成31年5月1日", Err(E_DATE_ERA_RANGE)),
            ("令和元年5月1日", Ok("2019-05-01")),
            ("令和元年4月30日", Err(E_DATE_ERA_RANGE)),
            ("平成0年1月8日", Err(E_DATE_ERA_RANGE)),
            ("H0.1.1", Err(E_DATE_ERA_RANGE)),
            ("昭和65年1月1日", Err(E_DATE_ERA_RANGE)),
            // Leap days and non-existent days.
            ("2024-02-29", Ok("2024-02-29")),
            ("2000-02-29", Ok("2000-02-29")),
            ("2023-02-29", Err(E_DATE_INVALID)),
            ("1900-02-29", Err(E_DATE_INVALID)),
            ("2025年2月30日", Err(E_DATE_INVALID)),
            ("2025/13/1", Err(E_DATE_INVALID)),
            ("2025/0/1", Err(E_DATE_INVALID)),
            ("2025/4/0", Err(E_DATE_INVALID)),
            ("2025/4/31", Err(E_DATE_INVALID)),
            ("20251301", Err(E_DATE_INVALID)),
            ("令和5年2月29日", Err(E_DATE_INVALID)),
            ("令和6年2月29日", Ok("2024-02-29")),
            ("R7.13.1", Err(E_DATE_INVALID)),
            // Too old.
            ("1872/12/31", Err(E_DATE_TOO_OLD)),
            ("明治5年12月31日", Err(E_DATE_TOO_OLD)),
            ("明治元年1月1日", Err(E_DATE_TOO_OLD)),
            ("0001-01-01", Err(E_DATE_TOO_OLD)),
            // Unknown forms.
            ("", Err(E_DATE_FORMAT)),
            ("   ", Err(E_DATE_FORMAT)),
            ("45748", Err(E_DATE_FORMAT)),
            ("45748.5", Err(E_DATE_FORMAT)),
            ("abc", Err(E_DATE_FORMAT)),
            ("25/4/1", Err(E_DATE_FORMAT)),
            ("2025/4", Err(E_DATE_FORMAT)),
            ("2025/4-1", Err(E_DATE_FORMAT)),
            ("2025/4/1/", Err(E_DATE_FORMAT)),
            ("2025年4月1", Err(E_DATE_FORMAT)),
            ("2025 04 01", Err(E_DATE_FORMAT)),
            ("20 25/4/1", Err(E_DATE_FORMAT)),
            ("X7.4.1", Err(E_DATE_FORMAT)),
            ("元年5月1日", Err(E_DATE_FORMAT)),
            ("令和", Err(E_DATE_FORMAT)),
            ("R2025.4.1", Err(E_DATE_FORMAT)),
            ("2025/004/01", Err(E_DATE_FORMAT)),
            ("令和七十七七年1月1日", Err(E_DATE_FORMAT)),
            ("2025/4/1(火)", Err(E_DATE_FORMAT)),
        ];
        assert!(cases.len() >= 45);
        let mut failures = Vec::new();
        for &(input, expected) in cases {
            let got = parse_date(input).map(iso).map_err(|e| e.code);
            let want = expected.map(str::to_string);
            if got != want {
                failures.push(format!("{input:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn reasons_are_japanese_with_gloss() {
        let e = parse_date("2025年2月30日").unwrap_err();
        assert_eq!(e.code, E_DATE_INVALID);
        assert_eq!(
            e.reason,
            "「2025年2月30日」は存在しない日付です (no such date)"
        );

        let e = parse_date("平成31年5月1日").unwrap_err();
        assert_eq!(e.code, E_DATE_ERA_RANGE);
        assert!(e.reason.contains("平成の範囲外"), "{}", e.reason);
        assert!(e.reason.contains("2019年4月30日"), "{}", e.reason);

        let e = parse_date("令和5年2月29日").unwrap_err();
        assert!(e.reason.contains("西暦2023年2月29日"), "{}", e.reason);

        let e = parse_date("1872/12/31").unwrap_err();
        assert!(e.reason.contains("対象外"), "{}", e.reason);

        let e = parse_date("45748").unwrap_err();
        assert!(e.reason.contains("シリアル値"), "{}", e.reason);

        let e = parse_date("").unwrap_err();
        assert_eq!(e.reason, "日付が空です (empty date)");

        assert_eq!(e.to_string(), "E_DATE_FORMAT: 日付が空です (empty date)");
    }

    #[test]
    fn long_inputs_are_truncated_in_reasons() {
        let long = "あ".repeat(100);
        let e = parse_date(&long).unwrap_err();
        assert_eq!(e.code, E_DATE_FORMAT);
        assert!(!e.reason.contains(&long));
        let quoted: String = e
            .reason
            .chars()
            .skip_while(|&c| c != '「')
            .skip(1)
            .take_while(|&c| c != '」')
            .collect();
        assert_eq!(quoted.chars().count(), MAX_SHOWN_CHARS);
        assert!(quoted.ends_with('…'));

        // Exactly the limit is shown in full.
        let exact = "x".repeat(MAX_SHOWN_CHARS);
        assert!(parse_date(&exact).unwrap_err().reason.contains(&exact));

        // Control characters are escaped, not copied.
        let e = parse_date("2025\n4/1").unwrap_err();
        assert!(!e.reason.contains('\n'));
        assert!(e.reason.contains("\\n"));
    }

    #[test]
    fn format_table() {
        type Row = (
            (i32, u32, u32),
            &'static str,
            &'static str,
            &'static str,
            &'static str,
        );
        let rows: &[Row] = &[
            (
                (2025, 4, 1),
                "令和7年4月1日",
                "R7.4.1",
                "令和 7年 4月 1日",
                "令和七年四月一日",
            ),
            (
                (2019, 5, 1),
                "令和元年5月1日",
                "R1.5.1",
                "令和元年 5月 1日",
                "令和元年五月一日",
            ),
            (
                (2019, 4, 30),
                "平成31年4月30日",
                "H31.4.30",
                "平成31年 4月30日",
                "平成三十一年四月三十日",
            ),
            (
                (1989, 1, 8),
                "平成元年1月8日",
                "H1.1.8",
                "平成元年 1月 8日",
                "平成元年一月八日",
            ),
            (
                (1989, 1, 7),
                "昭和64年1月7日",
                "S64.1.7",
                "昭和64年 1月 7日",
                "昭和六十四年一月七日",
            ),
            (
                (1926, 12, 25),
                "昭和元年12月25日",
                "S1.12.25",
                "昭和元年12月25日",
                "昭和元年十二月二十五日",
            ),
            (
                (1926, 12, 24),
                "大正15年12月24日",
                "T15.12.24",
                "大正15年12月24日",
                "大正十五年十二月二十四日",
            ),
            (
                (1912, 7, 30),
                "大正元年7月30日",
                "T1.7.30",
                "大正元年 7月30日",
                "大正元年七月三十日",
            ),
            (
                (1912, 7, 29),
                "明治45年7月29日",
                "M45.7.29",
                "明治45年 7月29日",
                "明治四十五年七月二十九日",
            ),
            (
                (1873, 1, 1),
                "明治6年1月1日",
                "M6.1.1",
                "明治 6年 1月 1日",
                "明治六年一月一日",
            ),
            (
                (2030, 10, 11),
                "令和12年10月11日",
                "R12.10.11",
                "令和12年10月11日",
                "令和十二年十月十一日",
            ),
            (
                (2039, 11, 20),
                "令和21年11月20日",
                "R21.11.20",
                "令和21年11月20日",
                "令和二十一年十一月二十日",
            ),
            (
                (2024, 2, 29),
                "令和6年2月29日",
                "R6.2.29",
                "令和 6年 2月29日",
                "令和六年二月二十九日",
            ),
            (
                (2028, 12, 31),
                "令和10年12月31日",
                "R10.12.31",
                "令和10年12月31日",
                "令和十年十二月三十一日",
            ),
            (
                (2118, 1, 1),
                "令和100年1月1日",
                "R100.1.1",
                "令和100年 1月 1日",
                "令和百年一月一日",
            ),
        ];
        for &((y, m, d), long, short, padded, kanji) in rows {
            let date = ymd(y, m, d);
            for (style, want) in [
                (WarekiStyle::Long, long),
                (WarekiStyle::Short, short),
                (WarekiStyle::Padded, padded),
                (WarekiStyle::Kanji, kanji),
            ] {
                assert_eq!(
                    format_wareki_with(date, style).as_deref(),
                    Ok(want),
                    "{date} {style:?}"
                );
            }
            assert_eq!(format_wareki(date).as_deref(), Ok(long));
        }
        for style in [
            WarekiStyle::Long,
            WarekiStyle::Short,
            WarekiStyle::Padded,
            WarekiStyle::Kanji,
        ] {
            let e = format_wareki_with(ymd(1872, 12, 31), style).unwrap_err();
            assert_eq!(e.code, E_DATE_TOO_OLD);
        }
        assert_eq!(WarekiStyle::default(), WarekiStyle::Long);
    }

    #[test]
    fn western_format() {
        assert_eq!(format_western(ymd(2025, 4, 1)), "2025年4月1日");
        assert_eq!(format_western(ymd(1989, 12, 31)), "1989年12月31日");
    }

    #[test]
    fn era_of_dates() {
        assert_eq!(era_of(ymd(2025, 4, 1)), Some(("令和", 'R', 7)));
        assert_eq!(era_of(ymd(2019, 5, 1)), Some(("令和", 'R', 1)));
        assert_eq!(era_of(ymd(2019, 4, 30)), Some(("平成", 'H', 31)));
        assert_eq!(era_of(ymd(1989, 1, 7)), Some(("昭和", 'S', 64)));
        assert_eq!(era_of(ymd(1926, 12, 24)), Some(("大正", 'T', 15)));
        assert_eq!(era_of(ymd(1912, 7, 29)), Some(("明治", 'M', 45)));
        assert_eq!(era_of(ymd(1873, 1, 1)), Some(("明治", 'M', 6)));
        assert_eq!(era_of(ymd(1872, 12, 31)), None);
    }

    #[test]
    fn era_table_is_contiguous() {
        for pair in ERAS.windows(2) {
            let last = pair[0].last_day.expect("closed era");
            assert_eq!(last.succ_opt(), Some(pair[1].first_day));
        }
        assert!(ERAS[ERAS.len() - 1].last_day.is_none());
        let offsets: Vec<i32> = ERAS.iter().map(|e| e.first_year() - 1).collect();
        assert_eq!(offsets, [1867, 1911, 1925, 1988, 2018]);
    }

    #[test]
    fn kanji_numbers() {
        let cases = [
            (1, "一"),
            (9, "九"),
            (10, "十"),
            (11, "十一"),
            (20, "二十"),
            (21, "二十一"),
            (31, "三十一"),
            (64, "六十四"),
            (99, "九十九"),
            (100, "百"),
            (101, "百一"),
            (110, "百十"),
            (999, "九百九十九"),
            (1000, "千"),
            (2025, "二千二十五"),
        ];
        for (n, want) in cases {
            assert_eq!(kanji_number(n), want);
        }
        for n in 1..10_000 {
            let chars: Vec<char> = kanji_number(n).chars().collect();
            assert_eq!(jtext::kanji_number_strict(&chars), Some(n), "{n}");
        }
        let bad = ["十十", "二十三四", "十百", "二〇十", "五五五五五", ""];
        for s in bad {
            let chars: Vec<char> = s.chars().collect();
            assert_eq!(jtext::kanji_number_strict(&chars), None, "{s}");
        }
        let positional: Vec<char> = "二〇二五".chars().collect();
        assert_eq!(jtext::kanji_number_strict(&positional), Some(2025));
    }

    #[test]
    fn ages() {
        let birth = ymd(2000, 4, 1);
        assert_eq!(age_at(birth, ymd(2025, 3, 31)), 24);
        assert_eq!(age_at(birth, ymd(2025, 4, 1)), 25);
        assert_eq!(age_at(birth, ymd(2025, 4, 2)), 25);
        assert_eq!(age_at(birth, birth), 0);
        assert_eq!(age_at(birth, ymd(1999, 1, 1)), 0);

        let leapling = ymd(2004, 2, 29);
        assert_eq!(age_at(leapling, ymd(2005, 2, 28)), 0);
        assert_eq!(age_at(leapling, ymd(2005, 3, 1)), 1);
        assert_eq!(age_at(leapling, ymd(2007, 2, 28)), 2);
        assert_eq!(age_at(leapling, ymd(2007, 3, 1)), 3);
        assert_eq!(age_at(leapling, ymd(2008, 2, 28)), 3);
        assert_eq!(age_at(leapling, ymd(2008, 2, 29)), 4);
        assert_eq!(age_at(ymd(1873, 1, 1), ymd(2100, 12, 31)), 227);
    }

    #[test]
    fn excel_serials() {
        let ok = |serial: f64, date1904: bool| {
            from_excel_serial(serial, date1904)
                .map(iso)
                .unwrap_or_else(|e| e.code.to_string())
        };
        assert_eq!(ok(45748.0, false), "2025-04-01");
        assert_eq!(ok(45748.75, false), "2025-04-01");
        assert_eq!(ok(45_748.999_999, false), "2025-04-01");
        assert_eq!(ok(1.0, false), "1900-01-01");
        assert_eq!(ok(59.0, false), "1900-02-28");
        assert_eq!(ok(60.0, false), E_DATE_INVALID);
        assert_eq!(ok(60.5, false), E_DATE_INVALID);
        assert_eq!(ok(61.0, false), "1900-03-01");
        assert_eq!(ok(0.0, false), E_DATE_INVALID);
        assert_eq!(ok(0.5, false), E_DATE_INVALID);
        assert_eq!(ok(1462.0, false), "1904-01-01");
        assert_eq!(ok(2_958_465.0, false), "9999-12-31");
        assert_eq!(ok(2_958_466.0, false), E_DATE_INVALID);
        // 1904 system: serial 0 is 1904-01-01, and every serial is 1462
        // smaller than in the 1900 system (45748 - 1462 = 44286).
        assert_eq!(ok(0.0, true), "1904-01-01");
        assert_eq!(ok(1.0, true), "1904-01-02");
        assert_eq!(ok(44286.0, true), "2025-04-01");
        assert_eq!(ok(2_957_003.0, true), "9999-12-31");
        assert_eq!(ok(2_957_004.0, true), E_DATE_INVALID);
        for date1904 in [false, true] {
            for bad in [
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -1.0,
                -0.5,
                1e12,
                f64::MAX,
            ] {
                assert_eq!(ok(bad, date1904), E_DATE_INVALID, "{bad} {date1904}");
            }
        }
        // The two systems agree on every date both can hold.
        for s in 1462..50_000u32 {
            let a = from_excel_serial(f64::from(s), false);
            let b = from_excel_serial(f64::from(s - 1462), true);
            assert_eq!(a, b, "{s}");
        }
        let e = from_excel_serial(60.0, false).unwrap_err();
        assert!(e.reason.contains("1900年2月29日"), "{}", e.reason);
    }

    #[test]
    fn round_trip_every_day() {
        let styles = [
            WarekiStyle::Long,
            WarekiStyle::Short,
            WarekiStyle::Padded,
            WarekiStyle::Kanji,
        ];
        let last = ymd(2100, 12, 31);
        let mut date = EARLIEST_DATE;
        let mut days = 0;
        loop {
            for style in styles {
                let text = format_wareki_with(date, style)
                    .unwrap_or_else(|e| panic!("{date} {style:?}: {e}"));
                assert_eq!(parse_date(&text), Ok(date), "{text}");
            }
            assert_eq!(parse_date(&format_western(date)), Ok(date));
            assert_eq!(parse_date(&iso(date)), Ok(date));
            days += 1;
            if date == last {
                break;
            }
            date = date.succ_opt().expect("next day");
        }
        assert_eq!(days, 83_275);
    }
}
