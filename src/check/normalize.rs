//! The normalisations of field values that are facts about Japanese
//! writing: kana readings, postal codes, telephone numbers and amounts as
//! clerks type them. Pure functions of text; uses only `japan::jtext`.

use crate::japan::jtext;
use unicode_normalization::UnicodeNormalization;

/// Hiragana (ぁ–ゖ, ゝゞ) → katakana; everything else is kept.
pub(super) fn to_katakana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
                char::from_u32(c as u32 + 0x60).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// Characters allowed in a katakana reading: katakana, ー, ・, spaces.
pub(super) fn is_kana_char(c: char) -> bool {
    ('\u{30A1}'..='\u{30FE}').contains(&c) || c == ' ' || c == '\u{3000}'
}

/// Dash look-alikes written in numbers (after NFKC).
fn is_dash(c: char) -> bool {
    matches!(c, '-' | 'ー' | 'ｰ') || jtext::is_dash(c)
}

/// `153-0051`, `1530051`, `〒153-0051`, full-width forms → `153-0051`.
pub fn normalize_postal(s: &str) -> Option<String> {
    let t: String = s.nfkc().collect();
    let t = t.trim().trim_start_matches('〒').trim();
    let digits: String = t.chars().filter(|c| !is_dash(*c) && *c != ' ').collect();
    if digits.len() == 7 && digits.chars().all(|c| c.is_ascii_digit()) {
        Some(format!("{}-{}", &digits[..3], &digits[3..]))
    } else {
        None
    }
}

/// A Japanese telephone number, loosely checked: after NFKC, `+81` becomes
/// `0`; separators (dash look-alikes, parentheses, spaces) become single `-`
/// and the grouping is kept as written; the digits must be 10 or 11 and
/// start with 0. `０３（１２３４）５６７８` → `03-1234-5678`,
/// `09012345678` → `09012345678`.
pub(super) fn normalize_phone(s: &str) -> Option<String> {
    let t: String = s.nfkc().collect();
    let t = t.trim();
    let t = match t.strip_prefix("+81") {
        Some(rest) => format!(
            "0{}",
            rest.trim_start_matches(|c: char| is_dash(c) || c == ' ' || c == '(' || c == ')')
        ),
        None => t.to_string(),
    };
    let mut out = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if is_dash(c) || matches!(c, '(' | ')' | ' ') {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        } else {
            return None;
        }
    }
    let out = out.trim_end_matches('-').to_string();
    let digits = out.chars().filter(char::is_ascii_digit).count();
    ((10..=11).contains(&digits) && out.starts_with('0')).then_some(out)
}

/// `1,234`, `１２３４`, `¥1,234`, `￥1,234`, `1,234円`, `-5`, `▲5`/`△5`
/// (accounting minus), `12.5` → the number. Commas must group by three.
pub fn parse_number(s: &str) -> Option<f64> {
    let t: String = s.nfkc().collect();
    let t = t.trim();
    let (neg, t) = match t.strip_prefix(['▲', '△', '-']) {
        Some(rest) => (true, rest.trim()),
        None => (false, t),
    };
    let t = t
        .strip_prefix('¥')
        .or_else(|| t.strip_prefix('\\'))
        .unwrap_or(t);
    let t = t.strip_suffix('円').unwrap_or(t).trim();
    let (int, frac) = match t.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    if int.is_empty()
        || frac.is_some_and(|f| f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let groups: Vec<&str> = int.split(',').collect();
    let grouped_ok = groups
        .iter()
        .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()))
        && (groups.len() == 1
            || (groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3)));
    if !grouped_ok {
        return None;
    }
    let cleaned = format!(
        "{}{}",
        groups.concat(),
        frac.map(|f| format!(".{f}")).unwrap_or_default()
    );
    let n: f64 = cleaned.parse().ok().filter(|n: &f64| n.is_finite())?;
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(
            normalize_postal("１５３－００５１").as_deref(),
            Some("153-0051")
        );
        assert_eq!(normalize_postal("1530051").as_deref(), Some("153-0051"));
        assert_eq!(normalize_postal("153-005"), None);
        assert_eq!(parse_number("¥1,234"), Some(1234.0));
        assert_eq!(parse_number("￥1,234"), Some(1234.0));
        assert_eq!(parse_number("１，２３４円"), Some(1234.0));
        assert_eq!(parse_number("-1,234.5"), Some(-1234.5));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("1.2.3"), None);
        assert_eq!(
            normalize_phone("+81-3-1234-5678").as_deref(),
            Some("03-1234-5678")
        );
        assert_eq!(
            normalize_phone("090−1234−5678").as_deref(),
            Some("090-1234-5678")
        );
        assert_eq!(
            normalize_phone("09012345678").as_deref(),
            Some("09012345678")
        );
        assert_eq!(normalize_phone("123-4567-8901"), None);
        assert_eq!(normalize_phone("03-1234-567"), None);
    }
}
