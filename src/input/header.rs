//! Header matching: the folding under which a job's column names meet a
//! sheet's header texts ([`normalize_header`]), and the nearest header for
//! a "did you mean" hint ([`closest_header`]). Uses nothing of ours.

use unicode_normalization::UnicodeNormalization;

/// Normalises a header for matching: trimmed, full-width ASCII to half-width,
/// half-width katakana to full-width, inner white space removed.
///
/// This is Unicode NFKC followed by removal of every white-space character,
/// so `"　氏　名 "` and `"氏名"` give the same key, `"ﾌﾘｶﾞﾅ"` gives
/// `"フリガナ"` and `"郵便番号（〒）"` gives `"郵便番号(〒)"`. Meant for
/// header texts and sheet names only: NFKC also folds characters such as
/// `①` → `1`, which must not happen to data.
pub(crate) fn normalize_header(s: &str) -> String {
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// The header among `headers` closest to `want` (compared after
/// [`normalize_header`]) by edit distance, if reasonably close: at most half
/// the longer text's characters differ.
pub(crate) fn closest_header<'a>(want: &str, headers: &'a [String]) -> Option<&'a str> {
    let want = normalize_header(want);
    headers
        .iter()
        .filter(|h| !h.trim().is_empty())
        .map(|h| (levenshtein(&want, &normalize_header(h)), h))
        .filter(|(d, h)| *d <= (h.chars().count().max(want.chars().count()) / 2).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, h)| h.as_str())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_normalisation() {
        assert_eq!(normalize_header("　氏　名 "), "氏名");
        assert_eq!(normalize_header("氏名"), "氏名");
        assert_eq!(normalize_header("ﾌﾘｶﾞﾅ"), "フリガナ");
        assert_eq!(normalize_header("郵便番号（〒）"), "郵便番号(〒)");
        assert_eq!(normalize_header("ＩＤ　No．"), "IDNo.");
        assert_eq!(normalize_header("生年\n月日\t"), "生年月日");
    }
}
