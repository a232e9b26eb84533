//! Japanese line-breaking rules (禁則処理) applied on top of UAX #14.
//!
//! The character classes are the strict lists of the W3C *Requirements for
//! Japanese Text Layout* (JLREQ, Appendix A) as summarised in the project's
//! domain notes: characters that must not start a line, characters that must
//! not end one, pairs that must not be split, and the punctuation that may
//! hang past the line end (ぶら下げ).

use crate::japan::jtext;

/// Characters that must not start a line (行頭禁則): closing brackets (cl-02),
/// hyphens (cl-03), dividing punctuation (cl-04), middle dots (cl-05), full
/// stops (cl-06), commas (cl-07), iteration marks (cl-09), the prolonged sound
/// mark (cl-10) and small kana (cl-11).
pub const NO_LINE_START: &[char] = &[
    // cl-02 closing brackets
    '’', '”', ')', '〕', ']', '}', '〉', '》', '」', '』', '】', '⦆', '〙', '〗', '»', '〟', '）',
    '］', '｝', '｣', // cl-03 hyphens
    '‐', '〜', '゠', '–', '～', // cl-04 dividing punctuation
    '!', '?', '‼', '⁇', '⁈', '⁉', '！', '？', // cl-05 middle dots
    '・', ':', ';', '：', '；', '･', // cl-06 full stops
    '。', '.', '．', '｡', // cl-07 commas
    '、', ',', '，', '､', // cl-09 iteration marks
    'ヽ', 'ヾ', 'ゝ', 'ゞ', '々', '〻', // cl-10 prolonged sound mark
    'ー', 'ｰ', // cl-11 small kana
    'ぁ', 'ぃ', 'ぅ', 'ぇ', 'ぉ', 'っ', 'ゃ', 'ゅ', 'ょ', 'ゎ', 'ゕ', 'ゖ', 'ァ', 'ィ', 'ゥ', 'ェ',
    'ォ', 'ッ', 'ャ', 'ュ', 'ョ', 'ヮ', 'ヵ', 'ヶ', 'ㇰ', 'ㇱ', 'ㇲ', 'ㇳ', 'ㇴ', 'ㇵ', 'ㇶ', 'ㇷ',
    'ㇸ', 'ㇹ', 'ㇺ', 'ㇻ', 'ㇼ', 'ㇽ', 'ㇾ', 'ㇿ', 'ｧ', 'ｨ', 'ｩ', 'ｪ', 'ｫ', 'ｬ', 'ｭ', 'ｮ', 'ｯ',
];

/// Characters that must not end a line (行末禁則): opening brackets (cl-01).
pub const NO_LINE_END: &[char] = &[
    '‘', '“', '(', '〔', '[', '{', '〈', '《', '「', '『', '【', '⦅', '〘', '〖', '«', '〝', '（',
    '［', '｛', '｢',
];

/// Dashes and leaders (cl-08) that must not be split from their twin.
pub const INSEPARABLE: &[char] = &['—', '―', '…', '‥', '〳', '〴', '〵'];

/// Punctuation that may hang past the line end when hanging is enabled.
pub const HANGING: &[char] = &['。', '、', '．', '，'];

/// Signs that stay with the number before them (1,234円, 10%).
const UNIT_AFTER: &[char] = &['円', '%', '％', '銭', '万', '億'];
/// Signs that stay with the number after them (¥1,234).
const UNIT_BEFORE: &[char] = &['¥', '￥', '$', '＄', '#', '＃', '№', '〒'];

/// Whether `c` must not start a line.
pub fn no_line_start(c: char) -> bool {
    NO_LINE_START.contains(&c)
}

/// Whether `c` must not end a line.
pub fn no_line_end(c: char) -> bool {
    NO_LINE_END.contains(&c)
}

/// Whether `c` may hang past the right edge (ぶら下げ).
pub fn may_hang(c: char) -> bool {
    HANGING.contains(&c)
}

/// Whether a line may break between `before` and `after` under the strict
/// rules (UAX #14 decides first whether there is an opportunity at all).
pub fn may_break_between(before: char, after: char) -> bool {
    if no_line_start(after) || no_line_end(before) {
        return false;
    }
    if INSEPARABLE.contains(&before) && before == after {
        return false;
    }
    if jtext::is_digit(before) && UNIT_AFTER.contains(&after) {
        return false;
    }
    if UNIT_BEFORE.contains(&before) && jtext::is_digit(after) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(!may_break_between('あ', '。'));
        assert!(!may_break_between('「', 'あ'));
        assert!(!may_break_between('…', '…'));
        assert!(!may_break_between('4', '円'));
        assert!(!may_break_between('¥', '1'));
        assert!(!may_break_between('カ', 'ー'));
        assert!(may_break_between('あ', 'い'));
        assert!(may_break_between('。', 'あ'));
    }
}
