//! The canonical form addresses are compared in: full-width letters and
//! digits folded, whitespace ignored, kanji numerals as digits, ケ/ヶ/が/ガ
//! and の/ノ/之 alike, keeping where each character came from in the
//! original. Uses `japan::jtext`.

use crate::japan::jtext;

/// An address in canonical form for prefix matching, with the byte offset
/// in the original of each canonical character that starts a segment.
pub(super) struct Canon {
    pub(super) chars: Vec<char>,
    /// `starts[i]`: byte offset where canonical char `i` begins, if it begins
    /// an original segment (not inside a converted numeral); last = text length.
    pub(super) starts: Vec<Option<usize>>,
}

/// One character in canonical form (kanji numerals are read by runs).
fn canon_char(c: char) -> char {
    match c {
        'ヶ' | 'が' | 'ガ' | 'ヵ' | 'ｹ' => 'ケ',
        'ノ' | '之' => 'の',
        '－' | '‐' | '−' | '―' | 'ー' => '-',
        _ => jtext::fold_full_width_alnum(c).to_ascii_uppercase(),
    }
}

impl Canon {
    /// `s` in canonical form.
    pub(super) fn new(s: &str) -> Canon {
        // 零 is not read as a numeral here (unlike the barcode): addresses
        // match exactly as they did before the helpers were shared.
        let is_num = |c: char| c != '零' && jtext::is_kanji_numeral(c);
        let src: Vec<(usize, char)> = s.char_indices().collect();
        let mut chars = Vec::with_capacity(src.len());
        let mut starts = Vec::with_capacity(src.len() + 1);
        let mut i = 0;
        while i < src.len() {
            let (off, c) = src[i];
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            if is_num(c) {
                let j = (i..src.len())
                    .find(|&j| !is_num(src[j].1))
                    .unwrap_or(src.len());
                let run: Vec<char> = src[i..j].iter().map(|x| x.1).collect();
                if let Some(v) = jtext::kanji_number_lenient(&run) {
                    for (k, d) in v.to_string().chars().enumerate() {
                        chars.push(d);
                        starts.push(if k == 0 { Some(off) } else { None });
                    }
                    i = j;
                    continue;
                }
            }
            chars.push(canon_char(c));
            starts.push(Some(off));
            i += 1;
        }
        starts.push(Some(s.len()));
        Canon { chars, starts }
    }

    /// If `needle` occurs at canonical position `pos` and ends on a segment
    /// boundary, the position after it.
    pub(super) fn match_at(&self, pos: usize, needle: &[char]) -> Option<usize> {
        let end = pos + needle.len();
        if needle.is_empty() || end > self.chars.len() || self.chars[pos..end] != *needle {
            return None;
        }
        self.starts[end].map(|_| end)
    }

    /// Byte offset in the original of the first segment at or after `pos`.
    pub(super) fn byte_at(&self, pos: usize) -> usize {
        self.starts[pos..]
            .iter()
            .flatten()
            .next()
            .copied()
            .unwrap_or(0)
    }
}

/// Drops a leading `〒263-0023` (postal mark and code) and spaces.
pub(super) fn strip_postal_mark(address: &str) -> &str {
    let t = address.trim_start();
    match t.strip_prefix('〒') {
        Some(rest) => {
            rest.trim_start_matches(|c: char| jtext::is_digit(c) || "-－‐ー　 ".contains(c))
        }
        None => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_numerals() {
        let c = Canon::new("北六条東 4丁目");
        assert_eq!(c.chars.iter().collect::<String>(), "北6条東4丁目");
        assert!(c.match_at(0, &Canon::new("北6条東").chars).is_some());
        // "北1" must not match inside 北十一条.
        let c = Canon::new("北十一条");
        assert!(c.match_at(0, &['北', '1']).is_none());
    }
}
