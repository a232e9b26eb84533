//! Glyph coverage checked before numbers are given: a value with a
//! character that no font of the batch has would be rejected at layout
//! (`E_GLYPH_MISSING`) after its row was numbered, leaving a gap in the
//! issued numbers. The fonts are loaded by the caller (the run driver, the
//! `check` command) and seen here only through [`GlyphCoverage`], since the
//! check stage knows nothing of rendering.
//!
//! Which fields a template prints, and in which font slot, cannot be known
//! here: every text value of the main sheet's fields, and of the fields of
//! joined sheets, is checked against all the batch's fonts. Layout still rejects a character that only another
//! slot's fonts have (the check lets it through rather than reject a row
//! some font could print).
//!
//! Uses `japan::jtext` (variation selectors).

use crate::japan::jtext::is_variation_selector;

/// Which characters the batch's fonts can print.
pub trait GlyphCoverage: Sync {
    /// Whether some font of the batch has a glyph for `ch`.
    fn covers(&self, ch: char) -> bool;
}

/// The first character of `text` that layout could not print with the
/// fonts of `coverage`. What layout prints without a glyph is left alone:
/// line feeds (a line break), variation selectors (a choice of the glyph
/// before them; an unknown one prints the base, with a warning) and white
/// space other than the ideographic space U+3000 (a blank third of an em).
pub(super) fn first_missing(text: &str, coverage: &dyn GlyphCoverage) -> Option<char> {
    text.chars().find(|&ch| {
        !(ch == '\n'
            || is_variation_selector(ch)
            || (ch.is_whitespace() && ch != '\u{3000}')
            || coverage.covers(ch))
    })
}

/// The reason of an `E_GLYPH_MISSING` reject: the character and its code
/// (the words of layout's reason, without its font slot and position).
pub(super) fn missing_reason(ch: char) -> String {
    format!(
        "文字「{ch}」(U+{:04X}) を表示できるフォントがありません (no font of the batch has this character)",
        ch as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fonts that have the kana and kanji blocks only.
    struct Kana;

    impl GlyphCoverage for Kana {
        fn covers(&self, ch: char) -> bool {
            matches!(ch, '\u{3000}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}')
        }
    }

    #[test]
    fn finds_the_first_character_no_font_has() {
        assert_eq!(first_missing("山田　太郎", &Kana), None);
        assert_eq!(first_missing("山田\u{E000}太郎x", &Kana), Some('\u{E000}'));
        // What layout prints without a glyph is not a problem.
        assert_eq!(first_missing("葛\u{E0100}城 \t\n山", &Kana), None);
        // An ideographic space is a glyph.
        assert_eq!(first_missing(" 山", &NoFont), Some('山'));
        assert_eq!(first_missing("\u{3000}", &NoFont), Some('\u{3000}'));
    }

    struct NoFont;

    impl GlyphCoverage for NoFont {
        fn covers(&self, _: char) -> bool {
            false
        }
    }
}
