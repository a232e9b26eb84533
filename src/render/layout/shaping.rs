//! Shaping: runs of styled text → [`Item`]s, one per character, with the
//! glyph of the first font in the slot's fallback chain that has it, its
//! advance and letter spacing, and ruby shaped over its base.
//!
//! May use `crate::render` (fonts, form, page) and `crate::japan::jtext`.

use super::{Ctx, LayoutError};
use crate::japan::jtext::is_variation_selector;
use crate::render::form::{Field, Pos, Run};
use crate::render::kinsoku;
use crate::render::page::{Color, FontId};

#[derive(Debug, Clone)]
pub(super) struct Ruby {
    /// Number of base items it covers (the first carries the ruby).
    pub(super) len: usize,
    /// Glyphs: font, glyph id, x offset from the ruby's start, text.
    pub(super) glyphs: Vec<(FontId, u16, f32, String)>,
    pub(super) size: f32,
    pub(super) width: f32,
    pub(super) color: Color,
}

/// One shaped character.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// The character (plus variation selector, if any) it stands for.
    pub(super) text: String,
    /// The base character.
    pub(super) ch: char,
    /// Byte offset of the character in the element's whole text.
    pub(super) at: usize,
    pub(super) font: FontId,
    pub(super) gid: u16,
    /// Advance in points at `size`, without letter spacing.
    pub(super) advance: f32,
    pub(super) size: f32,
    /// Letter spacing after this character (between characters only).
    pub(super) spacing: f32,
    /// Extra space before and after the glyph (ruby wider than its base).
    pub(super) pre: f32,
    pub(super) post: f32,
    pub(super) ascent: f32,
    pub(super) descent: f32,
    pub(super) color: Color,
    pub(super) underline: bool,
    /// Whether a line may break before this item (the strict rules).
    pub(super) break_before: bool,
    /// Whether the relaxed rules let a line break before this item (used
    /// only where the strict ones leave none in a line).
    pub(super) relaxed_break: bool,
    /// An explicit line break (not drawn).
    pub(super) hard_break: bool,
    /// Ruby starting at this item.
    pub(super) ruby: Option<Box<Ruby>>,
}

impl Item {
    pub(super) fn is_space(&self) -> bool {
        self.ch == ' '
    }

    /// A space of either width (an ideographic space is drawn, but not at
    /// an address line's end).
    pub(super) fn is_any_space(&self) -> bool {
        self.ch == ' ' || self.ch == '\u{3000}'
    }
}

/// How far above the baseline the top of a full-width glyph lies, in ems.
pub(super) const GLYPH_TOP: f32 = 0.88;
/// Ruby size as a fraction of its base size (JLREQ: half).
pub(super) const RUBY_SCALE: f32 = 0.5;
/// Gap between the base's top and the ruby's baseline... in ruby ems.
pub(super) const RUBY_GAP: f32 = 0.15;

impl Ctx<'_> {
    pub(super) fn run_text<'r>(&self, r: &'r Run) -> std::borrow::Cow<'r, str> {
        match r.field {
            Some(Field::PageNo) => (self.done.len() + 1).to_string().into(),
            Some(Field::PageCount) => self.page_count.to_string().into(),
            None => r.text.as_str().into(),
        }
    }

    /// Resolves one character (with an optional variation selector).
    pub(super) fn glyph(
        &mut self,
        chain: &[FontId],
        ch: char,
        selector: Option<char>,
    ) -> Option<(FontId, u16, String)> {
        let mut text = ch.to_string();
        if let Some(vs) = selector {
            let with_vs = chain.iter().find_map(|id| {
                self.fonts
                    .font(*id)
                    .variation_glyph(ch, vs)
                    .map(|g| (*id, g))
            });
            if let Some((id, g)) = with_vs {
                text.push(vs);
                return Some((id, g, text));
            }
            self.warnings.push(format!(
                "異体字セレクタ U+{:04X} に対応するフォントがないため U+{:04X} の標準字形で印字しました (variation sequence printed as its base character)",
                vs as u32, ch as u32
            ));
        }
        self.fonts.resolve(chain, ch).map(|(id, g)| (id, g, text))
    }

    /// Shapes runs into items at `scale` × their size.
    pub(super) fn shape(
        &mut self,
        runs: &[Run],
        scale: f32,
        pos: Pos,
    ) -> Result<Vec<Item>, LayoutError> {
        let texts: Vec<String> = runs.iter().map(|r| self.run_text(r).into_owned()).collect();
        let text: String = texts.concat();
        // Break opportunities (UAX #14) by byte offset.
        let mut uax_breaks = vec![false; text.len() + 1];
        for (i, _) in unicode_linebreak::linebreaks(&text) {
            uax_breaks[i] = true;
        }
        let mut items: Vec<Item> = Vec::with_capacity(text.len() / 3 + 1);
        let mut offset = 0;
        for (r, rtext) in runs.iter().zip(&texts) {
            let chain = self
                .fonts
                .chain(&r.style.font)
                .ok_or_else(|| LayoutError::UnknownFont {
                    pos,
                    slot: r.style.font.clone(),
                })?
                .to_vec();
            let size = r.style.size * scale;
            let spacing = r.style.letter_spacing * scale;
            let group_start = items.len();
            let mut chars = rtext.char_indices().peekable();
            while let Some((i, ch)) = chars.next() {
                let at = offset + i;
                let mut item = Item {
                    text: String::new(),
                    ch,
                    at,
                    font: chain[0],
                    gid: 0,
                    advance: 0.0,
                    size,
                    spacing,
                    pre: 0.0,
                    post: 0.0,
                    ascent: 0.0,
                    descent: 0.0,
                    color: r.style.color,
                    underline: r.style.underline,
                    break_before: uax_breaks[at],
                    // UAX #14 resolves small kana and ー as non-starters
                    // (its strict mode); the relaxed rules may free them.
                    relaxed_break: uax_breaks[at] || kinsoku::relaxed_start(ch),
                    hard_break: false,
                    ruby: None,
                };
                if ch == '\n' {
                    item.hard_break = true;
                    item.break_before = false;
                    item.relaxed_break = false;
                    item.spacing = 0.0;
                    item.underline = false;
                    items.push(item);
                    continue;
                }
                if is_variation_selector(ch) {
                    // A selector without a base character: drop it.
                    continue;
                }
                let selector = chars
                    .peek()
                    .map(|(_, c)| *c)
                    .filter(|c| is_variation_selector(*c));
                if selector.is_some() {
                    chars.next();
                }
                match self.glyph(&chain, ch, selector) {
                    Some((font_id, gid, t)) => {
                        let font = self.fonts.font(font_id);
                        item.text = t;
                        item.font = font_id;
                        item.gid = gid;
                        item.advance = font.advance(gid) * size;
                        item.ascent = font.ascent() * size;
                        item.descent = font.descent() * size;
                    }
                    None if ch.is_whitespace() && ch != '\u{3000}' => {
                        // A space the font lacks: a third of an em of nothing.
                        item.ch = ' ';
                        item.advance = size / 3.0;
                    }
                    None => {
                        return Err(LayoutError::MissingGlyph {
                            pos,
                            ch,
                            slot: r.style.font.clone(),
                        })
                    }
                }
                items.push(item);
            }
            offset += rtext.len();
            if let Some(rt) = &r.ruby {
                self.attach_ruby(&mut items[group_start..], rt, &chain, r, size, pos)?;
            }
        }
        // Enforce the kinsoku rules on top of UAX #14 (which sees no break
        // inside a number of half-width digits, but one between any two
        // full-width ones).
        for i in 1..items.len() {
            let before2 = i.checked_sub(2).map(|k| items[k].ch);
            let (prev, cur) = (items[i - 1].ch, items[i].ch);
            if items[i].break_before && !kinsoku::may_break_at(before2, prev, cur) {
                items[i].break_before = false;
            }
            if items[i].relaxed_break && !kinsoku::may_break_relaxed(before2, prev, cur) {
                items[i].relaxed_break = false;
            }
        }
        if let Some(first) = items.first_mut() {
            first.break_before = false;
            first.relaxed_break = false;
        }
        Ok(items)
    }

    /// Shapes ruby text over `base` (a whole run): no break inside the base,
    /// the base spaced out when the ruby is wider, ascent raised to hold it.
    pub(super) fn attach_ruby(
        &mut self,
        base: &mut [Item],
        rt: &str,
        chain: &[FontId],
        r: &Run,
        size: f32,
        pos: Pos,
    ) -> Result<(), LayoutError> {
        if base.is_empty() {
            return Ok(());
        }
        let rsize = size * RUBY_SCALE;
        let mut glyphs = Vec::new();
        let mut x = 0.0;
        for ch in rt.chars().filter(|c| !is_variation_selector(*c)) {
            let (id, gid, t) =
                self.glyph(chain, ch, None)
                    .ok_or_else(|| LayoutError::MissingGlyph {
                        pos,
                        ch,
                        slot: r.style.font.clone(),
                    })?;
            glyphs.push((id, gid, x, t));
            x += self.fonts.font(id).advance(gid) * rsize;
        }
        let rwidth = x;
        let n = base.len();
        let bwidth: f32 = base.iter().map(|i| i.advance).sum::<f32>()
            + base[..n - 1].iter().map(|i| i.spacing).sum::<f32>();
        if rwidth > bwidth {
            let extra = (rwidth - bwidth) / 2.0;
            base[0].pre += extra;
            base[n - 1].post += extra;
        }
        let ascent = GLYPH_TOP * size + RUBY_GAP * rsize + GLYPH_TOP * rsize;
        for (k, it) in base.iter_mut().enumerate() {
            it.ascent = it.ascent.max(ascent);
            if k > 0 {
                it.break_before = false;
                it.relaxed_break = false;
            }
        }
        base[0].ruby = Some(Box::new(Ruby {
            len: n,
            glyphs,
            size: rsize,
            width: rwidth,
            color: r.style.color,
        }));
        Ok(())
    }
}
