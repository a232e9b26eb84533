//! One cell checked against its field: read as text the way a person sees
//! it, parsed by the field's type (text, kana, postal code, phone, date,
//! number), normalised and checked by the field's own rules. Each problem is
//! a reject code with its reason. Uses `input` (cells), `job` (field specs),
//! `japan` (dates, width folding) and the stage's normalisations.

use crate::check::normalize::{
    is_kana_char, normalize_phone, normalize_postal, parse_number, to_katakana,
};
use crate::input::Cell;
use crate::japan::{era, jtext};
use crate::job::{Bound, FieldSpec, FieldType, Normalize};
use unicode_normalization::UnicodeNormalization;

/// A cell as text, date cells read in the given date system.
pub(super) fn cell_text_in(c: &Cell, date1904: bool) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Number(n) => format_number(*n),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Cell::Date(serial) => era::from_excel_serial(*serial, date1904)
            .map(|d| d.format("%Y/%-m/%-d").to_string())
            .unwrap_or_else(|_| format_number(*serial)),
        Cell::IsoDate(s) => s.clone(),
        Cell::Error(e) => e.clone(),
        Cell::Formula(f) => format!("={f}"),
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A number as a JSON value: integral values as integers (`1234`, not
/// `1234.0`).
fn json_number(n: f64) -> Option<serde_json::Value> {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Some(serde_json::Value::from(n as i64))
    } else {
        serde_json::Number::from_f64(n).map(serde_json::Value::Number)
    }
}

/// A character no document can print and the markup may not hold: a
/// control character other than tab, line feed and carriage return (C0,
/// DEL, C1), or a Unicode noncharacter (U+FFFE, U+FFFF, U+FDD0–U+FDEF and the
/// last two of every plane). Found at check time, such a character is a
/// reject of its row; left in, it would stop the whole batch with a markup
/// error at rendering.
pub(crate) fn is_unprintable(c: char) -> bool {
    let u = c as u32;
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || (0xFDD0..=0xFDEF).contains(&u)
        || u & 0xFFFE == 0xFFFE
}

/// A text with every [unprintable](is_unprintable) character shown as
/// `<U+0007>`: how such a value is echoed in the rejects report, so that the
/// clerk sees where it is and no spreadsheet or terminal acts on it.
pub(crate) fn visible(text: &str) -> String {
    if !text.chars().any(is_unprintable) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unprintable(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Why a formula cell without a saved result is a reject (required or
/// not: reading it as empty would lose its value silently), and what to do.
fn formula_without_value(formula: &str) -> String {
    // A formula may be up to 8,192 characters: enough of it to find it.
    let shown: String = formula.chars().take(60).collect();
    let more = if formula.chars().count() > 60 {
        "…"
    } else {
        ""
    };
    format!(
        "数式 ={shown}{more} の計算結果がファイルに保存されていません。\
         プログラムで作られたファイルのようです。Excel か LibreOffice で開いて保存し直してから、もう一度読み込ませてください \
         (the formula's result was not saved in the file, as when a program writes it; \
         open the file in Excel or LibreOffice, save it, and run again)"
    )
}

/// A reject code and its reason.
pub(super) type CellError = (&'static str, String);

/// Parses and checks one cell; `Ok(None)` is an allowed empty cell.
pub(super) fn check_cell(
    cell: &Cell,
    spec: &FieldSpec,
    date1904: bool,
) -> Result<Option<serde_json::Value>, CellError> {
    if let Cell::Formula(f) = cell {
        return Err(("E_FORMULA_NO_VALUE", formula_without_value(f)));
    }
    let raw = cell_text_in(cell, date1904);
    let text = if spec.trim {
        raw.trim().to_string()
    } else {
        raw.clone()
    };
    if text.trim().is_empty() {
        return if spec.required {
            Err((
                "E_REQUIRED",
                "必須項目が空欄です (required value missing)".into(),
            ))
        } else {
            Ok(None)
        };
    }
    if let Cell::Error(e) = cell {
        return Err((
            "E_CELL_ERROR",
            format!("セルがエラー値 {e} です (cell holds an error value)"),
        ));
    }
    if let Some(c) = raw.chars().find(|&c| is_unprintable(c)) {
        return Err((
            "E_CHAR",
            format!(
                "印刷できない文字 U+{:04X} が含まれています (a character that cannot be printed: U+{:04X})",
                c as u32, c as u32
            ),
        ));
    }
    let value = match spec.kind {
        FieldType::Text => {
            let t = match spec.normalize.unwrap_or_default() {
                Normalize::None => text,
                Normalize::Width => jtext::fold_width(&text),
                Normalize::Nfkc => text.nfkc().collect(),
            };
            check_text(t, spec)?
        }
        FieldType::Kana => {
            let t = to_katakana(&jtext::fold_width(&text));
            if !t.chars().all(is_kana_char) {
                return Err((
                    "E_KANA",
                    "カタカナで入力してください (reading must be katakana)".into(),
                ));
            }
            check_text(t, spec)?
        }
        FieldType::Postal => {
            let p = normalize_postal(&text).ok_or((
                "E_POSTAL_FORMAT",
                "郵便番号は7桁の数字で入力してください（例: 100-0001） (postal code must have 7 digits)".to_string(),
            ))?;
            check_text(p, spec)?
        }
        FieldType::Phone => {
            let p = normalize_phone(&text).ok_or((
                "E_PHONE",
                "電話番号は0で始まる10桁か11桁で入力してください（例: 03-1234-5678） (phone number must be 10-11 digits starting with 0)".to_string(),
            ))?;
            check_text(p, spec)?
        }
        FieldType::Date => check_date(cell, &text, spec, date1904)?,
        FieldType::Number | FieldType::Integer => check_number(cell, &text, spec)?,
    };
    Ok(Some(value))
}

/// A date cell or a date written as text (Western or 和暦), within the
/// field's fixed bounds, as `YYYY-MM-DD`.
fn check_date(
    cell: &Cell,
    text: &str,
    spec: &FieldSpec,
    date1904: bool,
) -> Result<serde_json::Value, CellError> {
    let d = match cell {
        Cell::Date(serial) | Cell::Number(serial) => era::from_excel_serial(*serial, date1904),
        Cell::IsoDate(s) => era::parse_date(s.get(..10).unwrap_or(s)),
        _ => era::parse_date(text),
    }
    .map_err(|e| (e.code, e.reason))?;
    let out_of_range = |b: &Option<Bound>, min: bool| match b {
        Some(Bound::Date(x)) if (min && d < *x) || (!min && d > *x) => Some(*x),
        _ => None,
    };
    if let Some(x) = out_of_range(&spec.compiled.min, true) {
        return Err((
            "E_DATE_RANGE",
            format!(
                "{}以降の日付にしてください (date before minimum)",
                x.format("%Y-%m-%d")
            ),
        ));
    }
    if let Some(x) = out_of_range(&spec.compiled.max, false) {
        return Err((
            "E_DATE_RANGE",
            format!(
                "{}以前の日付にしてください (date after maximum)",
                x.format("%Y-%m-%d")
            ),
        ));
    }
    Ok(serde_json::Value::String(d.format("%Y-%m-%d").to_string()))
}

/// A number cell or a number written as text, whole when the field is an
/// integer, within the field's bounds.
fn check_number(cell: &Cell, text: &str, spec: &FieldSpec) -> Result<serde_json::Value, CellError> {
    let not_number = || ("E_NUMBER", "数値ではありません (not a number)".to_string());
    let n = match cell {
        Cell::Number(n) => *n,
        Cell::Text(_) => parse_number(text).ok_or_else(not_number)?,
        _ => return Err(not_number()),
    };
    if spec.kind == FieldType::Integer && n.fract() != 0.0 {
        return Err((
            "E_NOT_INTEGER",
            "整数で入力してください (must be a whole number)".into(),
        ));
    }
    let lo = match spec.compiled.min {
        Some(Bound::Number(x)) => Some(x),
        _ => None,
    };
    let hi = match spec.compiled.max {
        Some(Bound::Number(x)) => Some(x),
        _ => None,
    };
    if lo.is_some_and(|x| n < x) || hi.is_some_and(|x| n > x) {
        let range = match (lo, hi) {
            (Some(a), Some(b)) => {
                format!("{}以上{}以下", format_number(a), format_number(b))
            }
            (Some(a), None) => format!("{}以上", format_number(a)),
            (None, Some(b)) => format!("{}以下", format_number(b)),
            (None, None) => String::new(),
        };
        return Err((
            "E_NUMBER_RANGE",
            format!("{range}で入力してください (number out of range)"),
        ));
    }
    json_number(n).ok_or_else(not_number)
}

/// The rules shared by text-like values (text, kana, postal, phone): length,
/// allowed values, pattern.
fn check_text(t: String, spec: &FieldSpec) -> Result<serde_json::Value, CellError> {
    let n = t.chars().count();
    if let Some(max) = spec.max_length {
        if n > max {
            return Err((
                "E_TOO_LONG",
                format!("{n}文字あります。{max}文字以内にしてください (too long)"),
            ));
        }
    }
    if let Some(min) = spec.min_length {
        if n < min {
            return Err((
                "E_TOO_SHORT",
                format!("{n}文字です。{min}文字以上にしてください (too short)"),
            ));
        }
    }
    if !spec.one_of.is_empty() && !spec.one_of.contains(&t) {
        return Err((
            "E_NOT_ALLOWED",
            format!(
                "使える値は {} のいずれかです (value not in the allowed list)",
                spec.one_of.join("・")
            ),
        ));
    }
    if let Some(re) = &spec.compiled.pattern {
        if !re.is_match(&t) {
            return Err((
                "E_PATTERN",
                spec.pattern_message.clone().unwrap_or_else(|| {
                    "書式が決まりに合いません (value does not match the pattern)".into()
                }),
            ));
        }
    }
    Ok(serde_json::Value::String(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unprintable_characters_are_found_and_shown() {
        for c in [
            '\u{0}',
            '\u{7}',
            '\u{8}',
            '\u{B}',
            '\u{1B}',
            '\u{7F}',
            '\u{85}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{FDD0}',
            '\u{1FFFF}',
        ] {
            assert!(is_unprintable(c), "{:X}", c as u32);
        }
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            '山',
            '\u{3000}',
            '\u{FFFD}',
            '\u{E000}',
            '\u{20B9F}',
            '\u{E0100}',
        ] {
            assert!(!is_unprintable(c), "{:X}", c as u32);
        }
        assert_eq!(visible("山田\u{7}太郎"), "山田<U+0007>太郎");
        assert_eq!(visible("\u{FFFE}"), "<U+FFFE>");
        assert_eq!(visible("山田 太郎"), "山田 太郎");
    }
}
