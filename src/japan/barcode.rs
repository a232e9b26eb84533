//! Japan Post customer barcode (郵便カスタマバーコード): from a 7-digit postal
//! code and 住所B (the part of the address after the town name) to the 20
//! data characters, the modulo-19 check digit, the 67 bars and the
//! symbol's geometry (drawn as page rectangles by
//! [`crate::render::barcode::draw`]).
//!
//! Follows `shared/domain/customer-barcode.md` (Japan Post 郵便番号・バーコード
//! マニュアル and its 補足1–5). The stages are public so that callers and
//! tests can see each one:
//!
//! 1. [`address_number`]: 住所B → address display number (住所表示番号), e.g.
//!    `3丁目30-8　郵便ビル403号` → `3-30-8-403`;
//! 2. [`encode`]: postal code + address number → [`CustomerBarcode`] (20
//!    data symbols, check digit, bars);
//! 3. [`Geometry`]: the bars' size at a point size (8–11.5 pt).
//!
//! Anything that cannot be encoded exactly (a malformed or representative
//! postal code, a 住所B without any address number) is a [`BarcodeError`],
//! never a barcode that might be wrong. Error messages never contain the
//! address or the postal code (they may be logged).

use crate::japan::jtext;
use std::fmt;

/// Number of data characters in a customer barcode.
pub const DATA_LEN: usize = 20;
/// Number of bars in a complete symbol: start 2 + (20 data + 1 check) × 3 + stop 2.
pub const BAR_COUNT: usize = 67;
/// The standard point size; [`crate::render::barcode::draw`] scales linearly from it.
pub const DEFAULT_POINT_SIZE: f32 = 10.0;
/// Smallest allowed point size.
pub const MIN_POINT_SIZE: f32 = 8.0;
/// Largest allowed point size.
pub const MAX_POINT_SIZE: f32 = 11.5;
/// Quiet zone required on every side of the symbol, in millimetres.
pub const QUIET_ZONE_MM: f32 = 2.0;

/// One character of the symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Symbol {
    /// A digit `0`–`9`.
    Digit(u8),
    /// The hyphen `-`.
    Hyphen,
    /// Control code CC1 … CC8 (the number is 1–8).
    Control(u8),
    /// Start code (STC).
    Start,
    /// Stop code (SPC).
    Stop,
}

/// One bar of the symbol, named by the part of the 6-unit grid it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bar {
    /// Long bar: full height (units 0–6).
    Long,
    /// Semi-long ascending bar: top part (units 0–4).
    Ascending,
    /// Semi-long descending bar: bottom part (units 2–6).
    Descending,
    /// Timing bar: middle only (units 2–4).
    Timing,
}

impl Bar {
    /// The bar's letter in the spec's table: `L`, `A`, `D`, `T`.
    pub fn letter(self) -> char {
        match self {
            Bar::Long => 'L',
            Bar::Ascending => 'A',
            Bar::Descending => 'D',
            Bar::Timing => 'T',
        }
    }

    /// Top and bottom of the bar on the 6-unit vertical grid (0 = top).
    pub fn units(self) -> (u8, u8) {
        match self {
            Bar::Long => (0, 6),
            Bar::Ascending => (0, 4),
            Bar::Descending => (2, 6),
            Bar::Timing => (2, 4),
        }
    }
}

use Bar::{Ascending as A, Descending as D, Long as L, Timing as T};

/// Bars of `0`–`9` (index = digit), from the spec's table §5.
const DIGIT_BARS: [[Bar; 3]; 10] = [
    [L, T, T], // 0
    [L, L, T], // 1
    [L, D, A], // 2
    [D, L, A], // 3
    [L, A, D], // 4
    [L, T, L], // 5
    [D, A, L], // 6
    [A, L, D], // 7
    [A, D, L], // 8
    [T, L, L], // 9
];
/// Bars of `-`.
const HYPHEN_BARS: [Bar; 3] = [T, L, T];
/// Bars of CC1 … CC8 (index = n − 1).
const CONTROL_BARS: [[Bar; 3]; 8] = [
    [D, A, T], // CC1
    [D, T, A], // CC2
    [A, D, T], // CC3
    [T, D, A], // CC4
    [A, T, D], // CC5
    [T, A, D], // CC6
    [T, T, L], // CC7
    [L, L, L], // CC8
];
const START_BARS: [Bar; 2] = [L, D];
const STOP_BARS: [Bar; 2] = [D, L];

impl Symbol {
    /// The check-digit value: digits 0–9, `-` 10, CC1…CC8 11…18; `None` for start/stop.
    pub fn value(self) -> Option<u32> {
        match self {
            Symbol::Digit(d) => Some(u32::from(d)),
            Symbol::Hyphen => Some(10),
            Symbol::Control(n) => Some(10 + u32::from(n)),
            Symbol::Start | Symbol::Stop => None,
        }
    }

    /// The symbol with check-digit value `v` (0–18).
    pub fn from_value(v: u32) -> Option<Symbol> {
        match v {
            0..=9 => Some(Symbol::Digit(v as u8)),
            10 => Some(Symbol::Hyphen),
            11..=18 => Some(Symbol::Control((v - 10) as u8)),
            _ => None,
        }
    }

    /// The symbol's bars (3, or 2 for start and stop).
    pub fn bars(self) -> &'static [Bar] {
        match self {
            Symbol::Digit(d) => &DIGIT_BARS[usize::from(d.min(9))],
            Symbol::Hyphen => &HYPHEN_BARS,
            Symbol::Control(n) => &CONTROL_BARS[usize::from(n.clamp(1, 8) - 1)],
            Symbol::Start => &START_BARS,
            Symbol::Stop => &STOP_BARS,
        }
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Symbol::Digit(d) => write!(f, "{d}"),
            Symbol::Hyphen => f.write_str("-"),
            Symbol::Control(n) => write!(f, "CC{n}"),
            Symbol::Start => f.write_str("STC"),
            Symbol::Stop => f.write_str("SPC"),
        }
    }
}

/// Why no barcode can be made. Messages are Japanese with an English gloss
/// and contain no address or postal code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BarcodeError {
    /// The postal code is not exactly 7 ASCII digits (a hyphen after the
    /// third digit and full-width digits are accepted and removed).
    InvalidPostal,
    /// A representative postal code (last two digits `00`): no barcode.
    RepresentativeCode,
    /// 住所B yields no address display number.
    NoAddressNumber,
    /// The point size is outside 8–11.5 pt.
    PointSize,
}

impl fmt::Display for BarcodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BarcodeError::InvalidPostal => {
                "郵便番号が7桁の数字ではありません (postal code is not 7 digits)"
            }
            BarcodeError::RepresentativeCode => {
                "代表郵便番号（末尾00）にはカスタマバーコードを付けられません (representative postal code: no customer barcode)"
            }
            BarcodeError::NoAddressNumber => {
                "住所から住所表示番号（丁目・番地・号）を取り出せません (no address number in the address)"
            }
            BarcodeError::PointSize => {
                "バーコードのポイント数は8〜11.5ptです (point size must be 8–11.5 pt)"
            }
        })
    }
}

impl std::error::Error for BarcodeError {}

/// A fully derived customer barcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerBarcode {
    /// The postal code, 7 ASCII digits.
    pub postal: String,
    /// The address display number extracted from 住所B (e.g. `3-30-8-403`).
    pub address_number: String,
    /// The 20 data symbols (postal code, address number, CC4 padding).
    pub data: Vec<Symbol>,
    /// Sum of the 20 data values (before the modulo).
    pub sum: u32,
    /// The check digit.
    pub check: Symbol,
    /// The 67 bars: start, 20 data, check digit, stop.
    pub bars: Vec<Bar>,
}

impl CustomerBarcode {
    /// All 23 symbols as text, e.g. `STC 2 6 3 0 0 2 3 3 - 3 0 - 8 - 4 0 3 CC4 CC4 CC4 5 SPC`.
    pub fn data_string(&self) -> String {
        let mut out = String::from("STC");
        for s in self.data.iter().chain(std::iter::once(&self.check)) {
            out.push(' ');
            out.push_str(&s.to_string());
        }
        out.push_str(" SPC");
        out
    }

    /// The bars as letters `L`/`A`/`D`/`T` (67 characters).
    pub fn bar_string(&self) -> String {
        self.bars.iter().map(|b| b.letter()).collect()
    }
}

/// Normalises a postal code: accepts `2630023`, `263-0023`, full-width
/// digits and hyphens; returns the 7 ASCII digits.
pub fn normalize_postal(postal: &str) -> Result<String, BarcodeError> {
    let mut out = String::with_capacity(7);
    for (i, ch) in postal.trim().chars().enumerate() {
        match ascii_fold(ch) {
            c @ '0'..='9' => out.push(c),
            '-' if i == 3 && out.len() == 3 => {}
            _ => return Err(BarcodeError::InvalidPostal),
        }
    }
    if out.len() == 7 {
        Ok(out)
    } else {
        Err(BarcodeError::InvalidPostal)
    }
}

/// Whether `postal7` (7 ASCII digits) is a representative code (ends in `00`).
pub fn is_representative(postal7: &str) -> bool {
    postal7.len() == 7 && postal7.ends_with("00")
}

/// Full-width ASCII letters/digits and `＆ ／ ．` → ASCII (NFKC restricted
/// to those, as the spec asks), and hyphen-like dashes → `-`. Other
/// characters are returned unchanged.
fn ascii_fold(ch: char) -> char {
    match ch {
        '＆' | '／' | '．' => jtext::fold_full_width_ascii(ch),
        '－' | '﹣' => '-',
        _ if jtext::is_dash(ch) => '-',
        _ => jtext::fold_full_width_alnum(ch),
    }
}

/// Markers after which a kanji-numeral run becomes digits (補足1). 丁 covers
/// 丁目 and 番 covers 番地.
const NUMERAL_MARKERS: [&str; 7] = ["丁", "番", "号", "地割", "線", "の", "ノ"];

/// Steps 1–4 of the spec: fold to ASCII, upper-case, delete `& / ・ .`,
/// kanji numerals before markers → digits.
fn normalize_b(addr_b: &str) -> Vec<char> {
    let src: Vec<char> = addr_b.chars().collect();
    let mut chars: Vec<char> = Vec::with_capacity(src.len());
    for (i, &raw) in src.iter().enumerate() {
        let mut c = ascii_fold(raw);
        // The long-vowel mark is a hyphen only between digits (3ー20 but not コーポ).
        if matches!(c, 'ー' | 'ｰ') {
            let prev_digit = i > 0 && ascii_fold(src[i - 1]).is_ascii_digit();
            let next_digit = src
                .get(i + 1)
                .is_some_and(|&n| ascii_fold(n).is_ascii_digit());
            if prev_digit && next_digit {
                c = '-';
            }
        }
        c = c.to_ascii_uppercase();
        if matches!(c, '&' | '/' | '・' | '･' | '.') {
            continue;
        }
        chars.push(c);
    }
    // 補足1: kanji numerals immediately before a marker.
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if jtext::is_kanji_numeral(chars[i]) {
            let start = i;
            while i < chars.len() && jtext::is_kanji_numeral(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let before_marker = NUMERAL_MARKERS.iter().any(|m| rest.starts_with(m));
            match jtext::kanji_number_lenient(run) {
                Some(n) if before_marker => out.extend(n.to_string().chars()),
                _ => out.extend_from_slice(run),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Extracts the address display number (住所表示番号) from 住所B, exactly per
/// the spec's steps (see the module doc). The result holds only digits,
/// `-` and `A`–`Z`, never starts or ends with `-`, and has no `-` next to a
/// letter. Fails with [`BarcodeError::NoAddressNumber`] when nothing is left.
pub fn address_number(addr_b: &str) -> Result<String, BarcodeError> {
    let chars = normalize_b(addr_b);
    // Classify: Some(c) extracted, None not extracted.
    let n = chars.len();
    let mut kept: Vec<Option<char>> = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if c.is_ascii_uppercase() {
            let start = i;
            while i < n && chars[i].is_ascii_uppercase() {
                i += 1;
            }
            if i - start == 1 {
                // 補足2/3: F right after a digit is a floor mark, not a letter.
                let after_digit = start > 0 && chars[start - 1].is_ascii_digit();
                kept.push(if c == 'F' && after_digit {
                    None
                } else {
                    Some(c)
                });
            } else {
                kept.extend(std::iter::repeat_n(None, i - start)); // letter run
            }
            continue;
        }
        kept.push(if c.is_ascii_digit() || c == '-' {
            Some(c)
        } else {
            None
        });
        i += 1;
    }
    // Step 8–9: a non-extracted run becomes one '-' when something extracted
    // follows; collapse; no leading '-'.
    let mut out = String::new();
    let mut gap = false;
    for k in kept {
        match k {
            None => gap = true,
            Some(c) => {
                if gap && !out.is_empty() && !out.ends_with('-') {
                    out.push('-');
                }
                gap = false;
                if c == '-' && (out.is_empty() || out.ends_with('-')) {
                    continue;
                }
                out.push(c);
            }
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    // Step 10: no '-' directly before or after a letter.
    let v: Vec<char> = out.chars().collect();
    let cleaned: String = v
        .iter()
        .enumerate()
        .filter(|&(j, &c)| {
            !(c == '-'
                && (v.get(j + 1).is_some_and(|n| n.is_ascii_uppercase())
                    || (j > 0 && v[j - 1].is_ascii_uppercase())))
        })
        .map(|(_, &c)| c)
        .collect();
    if cleaned.is_empty() {
        Err(BarcodeError::NoAddressNumber)
    } else {
        Ok(cleaned)
    }
}

/// The 20 data symbols for a postal code and an extracted address number:
/// letters become a control code + digit, the result is cut at 20 (a letter
/// split at 20/21 keeps only its control code), then padded with CC4.
pub fn data_symbols(postal7: &str, number: &str) -> Vec<Symbol> {
    let mut data = Vec::with_capacity(DATA_LEN + 1);
    for c in postal7.chars().chain(number.chars()) {
        match c {
            '0'..='9' => data.push(Symbol::Digit(c as u8 - b'0')),
            '-' => data.push(Symbol::Hyphen),
            'A'..='J' => data.extend([Symbol::Control(1), Symbol::Digit(c as u8 - b'A')]),
            'K'..='T' => data.extend([Symbol::Control(2), Symbol::Digit(c as u8 - b'K')]),
            'U'..='Z' => data.extend([Symbol::Control(3), Symbol::Digit(c as u8 - b'U')]),
            _ => {}
        }
        if data.len() >= DATA_LEN {
            break;
        }
    }
    data.truncate(DATA_LEN);
    data.resize(DATA_LEN, Symbol::Control(4));
    data
}

/// The modulo-19 check digit of the data symbols and the sum it came from.
pub fn check_digit(data: &[Symbol]) -> (Symbol, u32) {
    let sum: u32 = data.iter().filter_map(|s| s.value()).sum();
    let cd = (19 - sum % 19) % 19;
    (Symbol::from_value(cd).unwrap_or(Symbol::Digit(0)), sum)
}

/// Encodes a postal code and 住所B into a customer barcode.
///
/// Fails for a malformed postal code, a representative code (…00) and a
/// 住所B without an address number — the caller turns the error into a
/// warning or a reject; no barcode is ever made from a guess.
pub fn encode(postal: &str, addr_b: &str) -> Result<CustomerBarcode, BarcodeError> {
    let postal7 = normalize_postal(postal)?;
    if is_representative(&postal7) {
        return Err(BarcodeError::RepresentativeCode);
    }
    let number = address_number(addr_b)?;
    Ok(from_parts(postal7, number))
}

/// Builds the barcode from an already validated postal code and address number.
fn from_parts(postal7: String, number: String) -> CustomerBarcode {
    let data = data_symbols(&postal7, &number);
    let (check, sum) = check_digit(&data);
    let mut bars = Vec::with_capacity(BAR_COUNT);
    bars.extend_from_slice(Symbol::Start.bars());
    for s in data.iter().chain(std::iter::once(&check)) {
        bars.extend_from_slice(s.bars());
    }
    bars.extend_from_slice(Symbol::Stop.bars());
    CustomerBarcode {
        postal: postal7,
        address_number: number,
        data,
        sum,
        check,
        bars,
    }
}

/// Physical dimensions of the symbol at a point size, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Bar width (0.6 mm at 10 pt).
    pub bar_width: f32,
    /// Distance from one bar's left edge to the next (1.2 mm at 10 pt).
    pub pitch: f32,
    /// One unit of the 6-unit vertical grid (0.6 mm at 10 pt).
    pub unit: f32,
}

impl Geometry {
    /// The geometry at `point_size` (8–11.5 pt), scaled linearly from 10 pt.
    pub fn at(point_size: f32) -> Result<Geometry, BarcodeError> {
        if !(MIN_POINT_SIZE..=MAX_POINT_SIZE).contains(&point_size) {
            return Err(BarcodeError::PointSize);
        }
        let s = point_size / DEFAULT_POINT_SIZE;
        Ok(Geometry {
            bar_width: 0.6 * s,
            pitch: 1.2 * s,
            unit: 0.6 * s,
        })
    }

    /// Long-bar height (3.6 mm at 10 pt).
    pub fn height(&self) -> f32 {
        6.0 * self.unit
    }

    /// Symbol width: 66 pitches + one bar (79.8 mm at 10 pt).
    pub fn width(&self) -> f32 {
        (BAR_COUNT - 1) as f32 * self.pitch + self.bar_width
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals_only_before_markers() {
        assert_eq!(address_number("南七線").as_deref(), Ok("7"));
        assert_eq!(address_number("三の五").as_deref(), Ok("3"));
        assert_eq!(address_number("第二ビル5").as_deref(), Ok("5"));
        assert_eq!(address_number("三ノ5").as_deref(), Ok("3-5"));
    }

    #[test]
    fn hyphens_and_long_vowel_marks() {
        assert_eq!(address_number("３ー２０ー５").as_deref(), Ok("3-20-5"));
        assert_eq!(
            address_number("1−2−3　コーポ101").as_deref(),
            Ok("1-2-3-101")
        );
        assert_eq!(address_number("--1--2--").as_deref(), Ok("1-2"));
    }

    #[test]
    fn letters() {
        assert_eq!(address_number("1-2 A棟 3").as_deref(), Ok("1-2A3"));
        assert_eq!(address_number("1-2 AB棟 3").as_deref(), Ok("1-2-3"));
        assert_eq!(address_number("1-2 b-3").as_deref(), Ok("1-2B3"));
        assert_eq!(address_number("10F").as_deref(), Ok("10"));
        assert_eq!(address_number("3F 5号室").as_deref(), Ok("3-5"));
        assert_eq!(address_number("F5").as_deref(), Ok("F5"));
    }

    #[test]
    fn nothing_to_extract() {
        assert_eq!(address_number(""), Err(BarcodeError::NoAddressNumber));
        assert_eq!(
            address_number("郵便ビル"),
            Err(BarcodeError::NoAddressNumber)
        );
        assert_eq!(address_number("ABC"), Err(BarcodeError::NoAddressNumber));
    }

    #[test]
    fn postal_codes() {
        assert_eq!(normalize_postal("263-0023").as_deref(), Ok("2630023"));
        assert_eq!(
            normalize_postal("２６３－００２３").as_deref(),
            Ok("2630023")
        );
        assert_eq!(
            normalize_postal("26300231"),
            Err(BarcodeError::InvalidPostal)
        );
        assert_eq!(
            normalize_postal("2630-023"),
            Err(BarcodeError::InvalidPostal)
        );
        assert_eq!(
            encode("1000000", "1-1"),
            Err(BarcodeError::RepresentativeCode)
        );
    }

    #[test]
    fn letter_split_at_position_20() {
        // 7 + 12 = 19 positions, then a letter: only its CC survives.
        let data = data_symbols("1234567", "1-2-3-4-5-67A");
        assert_eq!(data.len(), DATA_LEN);
        assert_eq!(data[19], Symbol::Control(1));
        let data = data_symbols("1234567", "1-2-3-4-5-6Z");
        assert_eq!(data[18..], [Symbol::Control(3), Symbol::Digit(5)]);
    }

    #[test]
    fn geometry_at_10pt() {
        let g = Geometry::at(10.0).unwrap();
        assert!((g.width() - 79.8).abs() < 1e-4);
        assert!((g.height() - 3.6).abs() < 1e-5);
        assert_eq!(Geometry::at(7.9), Err(BarcodeError::PointSize));
        assert!(Geometry::at(11.5).is_ok());
    }
}
