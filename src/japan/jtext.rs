//! Character-level facts about Japanese text that several stages need:
//! full-width ↔ ASCII folding, half-width katakana, the digit and dash
//! classes, variation selectors, and reading kanji numerals.
//!
//! Why one module: these helpers used to be written once per caller (era
//! dates, postal matching, the customer barcode, field checks, template
//! filters, kinsoku) with small differences, and a fix in one copy did not
//! reach the others. The differences are real (a date reader is strict
//! where an address reader is lenient, Japan Post's barcode folds only a few
//! symbols), so each variant has its own name here and is written once.
//!
//! A leaf: uses no other module of the crate.

use unicode_normalization::UnicodeNormalization;

/// Distance between a full-width ASCII form (U+FF01–FF5E) and its ASCII
/// character (`!`–`~`).
const FULL_WIDTH_OFFSET: u32 = 0xFEE0;

/// Variation selectors: VS1–VS16 and VS17–VS256 (the ideographic variation
/// sequences of names, 葛 + U+E0100). Never printed on their own: layout
/// takes one as a choice of the glyph before it, and the glyph check
/// leaves them to layout.
pub(crate) fn is_variation_selector(c: char) -> bool {
    matches!(c as u32, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

/// Full-width ASCII forms (`！`–`～`, U+FF01–FF5E) → their ASCII character;
/// everything else unchanged. U+3000 is not in the range (callers decide
/// what an ideographic space becomes).
pub(crate) fn fold_full_width_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - FULL_WIDTH_OFFSET).unwrap_or(c),
        _ => c,
    }
}

/// Only full-width digits and Latin letters (`０`–`９`, `Ａ`–`Ｚ`, `ａ`–`ｚ`)
/// → ASCII; full-width symbols are kept. Address matching folds no more.
pub(crate) fn fold_full_width_alnum(c: char) -> char {
    match c {
        '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => fold_full_width_ascii(c),
        _ => c,
    }
}

/// ASCII `!`–`~` → its full-width form (`！`–`～`); everything else
/// (including the space) unchanged.
pub(crate) fn widen_ascii(c: char) -> char {
    match c {
        '!'..='~' => char::from_u32(c as u32 + FULL_WIDTH_OFFSET).unwrap_or(c),
        _ => c,
    }
}

/// Whether `c` is a half-width katakana or half-width CJK punctuation
/// (U+FF61–FF9F, `｡` to `ﾟ`).
pub(crate) fn is_half_width_kana(c: char) -> bool {
    ('\u{FF61}'..='\u{FF9F}').contains(&c)
}

/// Half-width katakana → full-width, with a following `ﾞ`/`ﾟ` joined to its
/// kana (`ｶﾞ` → `ガ`). Each maximal run of half-width kana is normalised
/// (NFKC) on its own; every other character is kept as it is.
pub(crate) fn widen_half_width_kana(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    for c in s.chars() {
        if is_half_width_kana(c) {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            out.extend(run.nfkc());
            run.clear();
        }
        out.push(c);
    }
    out.extend(run.nfkc());
    out
}

/// Width folding of a field value: full-width ASCII (U+FF01–FF5E) → ASCII,
/// half-width katakana (voiced marks joined) → full-width. Everything else
/// (kanji, U+3000, ①, ㈱) is kept.
pub(crate) fn fold_width(s: &str) -> String {
    widen_half_width_kana(s)
        .chars()
        .map(fold_full_width_ascii)
        .collect()
}

/// An ASCII or a full-width digit (`0`–`9`, `０`–`９`).
pub(crate) fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// The dashes people type for a hyphen that every reader accepts: the
/// Unicode hyphens and dashes U+2010–2015 (`‐ ‑ ‒ – — ―`) and the minus sign
/// U+2212 (`−`). Not `-` itself, nor `ー`, `－` or `﹣`: callers add those
/// they accept.
pub(crate) fn is_dash(c: char) -> bool {
    matches!(c, '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Value of one kanji digit (`〇`/`零` to `九`).
pub(crate) fn kanji_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' => 0,
        '一' => 1,
        '二' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// Value of a kanji unit below ten thousand (`十`, `百`, `千`).
pub(crate) fn kanji_unit(c: char) -> Option<u32> {
    match c {
        '十' => Some(10),
        '百' => Some(100),
        '千' => Some(1000),
        _ => None,
    }
}

/// Whether `c` is a kanji digit (`〇`, `零`, `一`–`九`) or unit (`十百千`).
pub(crate) fn is_kanji_numeral(c: char) -> bool {
    kanji_digit(c).is_some() || kanji_unit(c).is_some()
}

/// Value of a run of kanji numerals as addresses write them, leniently:
/// with units (二十一 → 21, 百五 → 105, in any order of units) or digit by
/// digit without them (一〇五 → 105, any length, `None` on overflow).
/// `None` for an empty run, a character that is not a numeral, or two
/// digits in a row before a unit (二三十).
pub(crate) fn kanji_number_lenient(run: &[char]) -> Option<u64> {
    if run.is_empty() {
        return None;
    }
    if !run.iter().any(|&c| kanji_unit(c).is_some()) {
        let mut n: u64 = 0;
        for &c in run {
            n = n.checked_mul(10)?.checked_add(u64::from(kanji_digit(c)?))?;
        }
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut pending: Option<u64> = None;
    for &c in run {
        if let Some(unit) = kanji_unit(c) {
            total += pending.take().unwrap_or(1) * u64::from(unit);
        } else {
            let d = kanji_digit(c)?;
            if pending.is_some() {
                return None;
            }
            pending = Some(u64::from(d));
        }
    }
    Some(total + pending.unwrap_or(0))
}

/// Value of a well-formed run of kanji numerals, as dates write them. Two
/// forms: with units (`二十一`, `百`, `千九百八十九`; units strictly
/// descending, at most one non-zero digit before each) or positional digits
/// (`二〇二五`, one to four). Anything else is `None`.
pub(crate) fn kanji_number_strict(run: &[char]) -> Option<u32> {
    if run.iter().any(|&c| kanji_unit(c).is_some()) {
        let mut total = 0;
        let mut pending: Option<u32> = None;
        let mut last_unit = u32::MAX;
        for &c in run {
            if let Some(unit) = kanji_unit(c) {
                if unit >= last_unit {
                    return None;
                }
                total += pending.unwrap_or(1) * unit;
                pending = None;
                last_unit = unit;
            } else {
                let d = kanji_digit(c)?;
                if pending.is_some() || d == 0 {
                    return None;
                }
                pending = Some(d);
            }
        }
        Some(total + pending.unwrap_or(0))
    } else {
        if run.is_empty() || run.len() > 4 {
            return None;
        }
        run.iter()
            .try_fold(0, |acc, &c| kanji_digit(c).map(|d| acc * 10 + d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn full_width_ascii_folds() {
        let folded: String = "ＡＢｃ１２！～－　"
            .chars()
            .map(fold_full_width_ascii)
            .collect();
        assert_eq!(folded, "ABc12!~-　");
        let alnum: String = "Ａｚ９＆／－".chars().map(fold_full_width_alnum).collect();
        assert_eq!(alnum, "Az9＆／－");
        let wide: String = "Ab1-! ".chars().map(widen_ascii).collect();
        assert_eq!(wide, "Ａｂ１－！ ");
        for c in '!'..='~' {
            assert_eq!(fold_full_width_ascii(widen_ascii(c)), c);
        }
    }

    #[test]
    fn half_width_kana_widen() {
        assert!(is_half_width_kana('ｶ') && is_half_width_kana('ﾟ') && !is_half_width_kana('カ'));
        assert_eq!(widen_half_width_kana("ｶﾞｷﾞ A ﾊﾟ"), "ガギ A パ");
        assert_eq!(fold_width("ｺｳﾍﾞ１２３ＡＢ　①㈱"), "コウベ123AB　①㈱");
    }

    #[test]
    fn digit_and_dash_classes() {
        assert!(is_digit('7') && is_digit('７') && !is_digit('七'));
        for c in ['‐', '‑', '‒', '–', '—', '―', '−'] {
            assert!(is_dash(c), "{c}");
        }
        for c in ['-', 'ー', '－', '﹣', 'ｰ'] {
            assert!(!is_dash(c), "{c}");
        }
    }

    #[test]
    fn lenient_kanji_numbers() {
        let n = |s: &str| kanji_number_lenient(&chars(s));
        assert_eq!(n("十"), Some(10));
        assert_eq!(n("十一"), Some(11));
        assert_eq!(n("二十一"), Some(21));
        assert_eq!(n("四"), Some(4));
        assert_eq!(n("百五"), Some(105));
        assert_eq!(n("一〇五"), Some(105));
        assert_eq!(n("零"), Some(0));
        assert_eq!(n("十百"), Some(110));
        assert_eq!(n("二三十"), None);
        assert_eq!(n(""), None);
        assert_eq!(n("一a"), None);
        assert_eq!(n(&"九".repeat(25)), None);
        assert!(is_kanji_numeral('零') && is_kanji_numeral('千') && !is_kanji_numeral('万'));
    }

    #[test]
    fn strict_kanji_numbers() {
        let n = |s: &str| kanji_number_strict(&chars(s));
        assert_eq!(n("千九百八十九"), Some(1989));
        assert_eq!(n("二〇二五"), Some(2025));
        assert_eq!(n("十"), Some(10));
        assert_eq!(n("十百"), None);
        assert_eq!(n("〇十"), None);
        assert_eq!(n("一二三四五"), None);
        assert_eq!(n(""), None);
    }
}
