//! Japanese line-breaking rules (禁則処理) applied on top of UAX #14.
//!
//! The character classes are the strict lists of the W3C *Requirements for
//! Japanese Text Layout* (JLREQ, Appendix A) as summarised in the project's
//! domain notes: characters that must not start a line, characters that must
//! not end one, pairs that must not be split, and the punctuation that may
//! hang past the line end (ぶら下げ). On top of JLREQ's lists, numbers are
//! kept whole in both widths (１２，３４５ as 12,345) and with the unit
//! after them (３８時間, ４５分, ３丁目), and the half-width blank of
//! full-width punctuation is what 追い込み may squeeze ([`squeezable`]).
//!
//! The relaxed rules ([`may_break_relaxed`]) are the newspapers' ones, used
//! only where the strict rules leave a line with no break at all.

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

/// Signs and counters that stay with the number before them (1,234円,
/// 10%, ３８時間, ４５分, ３丁目, ２５歳).
const UNIT_AFTER: &[char] = &[
    '円', '%', '％', '銭', '万', '億', '千', '百', '時', '分', '秒', '年', '月', '日', '歳', '人',
    '件', '号', '番', '丁', '回', '枚', '通', '部', '週', '個', '名', '条', '項', '級', '階',
];
/// Separators inside a number (1,234.5 and １，２３４．５).
const NUMBER_SEPARATORS: &[char] = &[',', '.', '，', '．'];
/// Characters the relaxed rules let start a line (JLREQ: newspapers allow
/// iteration marks, the prolonged sound mark, small kana and middle dots).
const RELAXED_START: &[char] = &[
    'ヽ', 'ヾ', 'ゝ', 'ゞ', '々', '〻', 'ー', 'ｰ', '・', '･', 'ぁ', 'ぃ', 'ぅ', 'ぇ', 'ぉ', 'っ',
    'ゃ', 'ゅ', 'ょ', 'ゎ', 'ゕ', 'ゖ', 'ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ッ', 'ャ', 'ュ', 'ョ', 'ヮ',
    'ヵ', 'ヶ', 'ㇰ', 'ㇱ', 'ㇲ', 'ㇳ', 'ㇴ', 'ㇵ', 'ㇶ', 'ㇷ', 'ㇸ', 'ㇹ', 'ㇺ', 'ㇻ', 'ㇼ', 'ㇽ',
    'ㇾ', 'ㇿ', 'ｧ', 'ｨ', 'ｩ', 'ｪ', 'ｫ', 'ｬ', 'ｭ', 'ｮ', 'ｯ',
];
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
    !(no_line_start(after) || no_line_end(before) || keeps_together(before, after))
}

/// Whether a line may break before `after` under the strict rules, given
/// the two characters before it (`before2` is `None` at the start): as
/// [`may_break_between`], and never after a separator inside a number
/// (１２，｜３４５).
pub fn may_break_at(before2: Option<char>, before: char, after: char) -> bool {
    may_break_between(before, after) && !inside_number(before2, before, after)
}

/// Whether the relaxed rules let `c` start a line though the strict ones
/// do not.
pub fn relaxed_start(c: char) -> bool {
    RELAXED_START.contains(&c)
}

/// The relaxed rules: as [`may_break_at`], except that iteration marks,
/// the prolonged sound mark, small kana and middle dots may start a line.
pub fn may_break_relaxed(before2: Option<char>, before: char, after: char) -> bool {
    let start_ok = !no_line_start(after) || relaxed_start(after);
    start_ok
        && !no_line_end(before)
        && !keeps_together(before, after)
        && !inside_number(before2, before, after)
}

/// Pairs that stay together whatever the line start and end rules say:
/// leaders, the digits of a number, a number and its unit or sign.
fn keeps_together(before: char, after: char) -> bool {
    (INSEPARABLE.contains(&before) && before == after)
        || (jtext::is_digit(before) && jtext::is_digit(after))
        || (jtext::is_digit(before) && UNIT_AFTER.contains(&after))
        || (before == '丁' && after == '目')
        || (UNIT_BEFORE.contains(&before) && jtext::is_digit(after))
}

/// A digit after a separator that follows a digit (the 3 of 12,345).
fn inside_number(before2: Option<char>, before: char, after: char) -> bool {
    before2.is_some_and(jtext::is_digit)
        && NUMBER_SEPARATORS.contains(&before)
        && jtext::is_digit(after)
}

/// How much of its advance, as a fraction of the font size, a full-width
/// punctuation mark may give up when a line is squeezed (追い込み), and on
/// which side its blank is: `(before, after)`. Opening brackets have their
/// blank before the ink, closing brackets, full stops and commas after it,
/// middle dots and colons on both sides. `None` for everything else.
pub fn squeezable(c: char) -> Option<(f32, f32)> {
    match c {
        '（' | '「' | '『' | '【' | '〔' | '〈' | '《' | '［' | '｛' | '〘' | '〖' | '｢' => {
            Some((0.5, 0.0))
        }
        '）' | '」' | '』' | '】' | '〕' | '〉' | '》' | '］' | '｝' | '〙' | '〗' | '｣' | '。'
        | '．' | '、' | '，' => Some((0.0, 0.5)),
        '・' | '：' | '；' => Some((0.25, 0.25)),
        _ => None,
    }
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

    #[test]
    fn numbers_stay_whole_in_both_widths_with_their_units() {
        assert!(!may_break_between('６', '０'));
        assert!(!may_break_between('3', '8'));
        assert!(!may_break_between('８', '時'));
        assert!(!may_break_between('５', '分'));
        assert!(!may_break_between('３', '丁'));
        assert!(!may_break_between('丁', '目'));
        assert!(!may_break_at(Some('２'), '，', '３'));
        assert!(!may_break_at(Some('1'), '.', '5'));
        // After the unit, and after a comma that ends a clause, a line may
        // break.
        assert!(may_break_between('時', '間'));
        assert!(may_break_at(Some('円'), '，', '３'));
        assert!(may_break_at(None, 'あ', 'い'));
    }

    #[test]
    fn relaxed_rules_only_free_the_newspaper_classes() {
        assert!(may_break_relaxed(None, 'タ', 'ー'));
        assert!(may_break_relaxed(None, '佐', '々'));
        assert!(may_break_relaxed(None, 'キ', 'ャ'));
        assert!(!may_break_relaxed(None, 'あ', '。'));
        assert!(!may_break_relaxed(None, 'あ', '）'));
        assert!(!may_break_relaxed(None, '「', 'あ'));
        assert!(!may_break_relaxed(None, '１', '２'));
    }
}
