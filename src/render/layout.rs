//! The layout stage: a typed [`Form`] → [`Page`]s of positioned operations.
//!
//! Text is measured with the batch's [`FontSet`] (per-character fallback along
//! the slot's chain), broken into lines by UAX #14 with the strict JLREQ
//! kinsoku lists of [`crate::render::kinsoku`] enforced on top, aligned (left, centre,
//! right, 均等割付, justified) and fitted to its box by the element's `fit`
//! rule. Nothing overflows silently: text that does not fit and cannot shrink
//! enough, and a character that no font has, are [`LayoutError`]s, which the
//! batch turns into a reject of the record.
//!
//! A document has at most [`MAX_PAGES`] pages, continuation pages of a
//! `<table overflow="continue">` included: the layout stops with
//! [`LayoutError::TooManyPages`] as soon as one more page would pass the
//! limit, before the page is built.

use crate::japan::barcode;
use crate::japan::postal::{BarcodeFailure, PostalData};
use crate::render::fonts::FontSet;
use crate::render::form::{
    Align, BarcodeAddress, BarcodeEl, Element, Field, Fit, Form, FormPage, ImageEl, Margins,
    OnBarcodeError, ParaBox, Pos, QrEl, QrLevel, Run, Table, TableCell, TextBox, VAlign,
};
use crate::render::image::ImageSet;
use crate::render::kinsoku;
use crate::render::page::{Color, FontId, Glyph, GlyphRun, Op, Page, Stroke};
use std::collections::BTreeMap;
use std::fmt;

/// Most pages of one laid-out document: the form's `<page>`s plus the
/// continuation pages of its tables (the same number as the markup's limit
/// on `<page>` elements, [`crate::render::form::MAX_PAGES`]).
pub const MAX_PAGES: usize = crate::render::form::MAX_PAGES;

/// Why a document could not be laid out. Messages name the markup position
/// and, for missing glyphs, the character — never other record data.
#[derive(Debug, Clone, PartialEq)]
pub enum LayoutError {
    /// No font of the slot's chain has this character.
    MissingGlyph {
        /// Element position in the markup.
        pos: Pos,
        /// The character.
        ch: char,
        /// The font slot.
        slot: String,
    },
    /// Text does not fit its box (and may not shrink further).
    Overflow {
        /// Element position in the markup.
        pos: Pos,
        /// Which element kind.
        element: &'static str,
    },
    /// The markup names a font slot the batch does not have.
    UnknownFont {
        /// Element position in the markup.
        pos: Pos,
        /// The slot name.
        slot: String,
    },
    /// The markup names an image the batch does not have.
    UnknownImage {
        /// Element position in the markup.
        pos: Pos,
        /// The image name.
        src: String,
    },
    /// Something is drawn outside the page's margins (its safe area).
    OutsideMargins {
        /// Element position in the markup.
        pos: Pos,
        /// Which element kind.
        element: &'static str,
    },
    /// The record's postal code and address give no customer barcode
    /// (`<barcode on-error="reject">`, the default).
    Barcode {
        /// Element position in the markup.
        pos: Pos,
        /// Why, without the address or the postal code.
        reason: String,
    },
    /// A `<barcode>`'s quiet zone does not lie inside the page (and its
    /// margins): the template places it badly.
    BarcodePlacement {
        /// Element position in the markup.
        pos: Pos,
    },
    /// The built-in postal-code table cannot be loaded (a broken build).
    PostalData {
        /// The loader's message.
        message: String,
    },
    /// A continuing table would make the document longer than the page
    /// limit ([`MAX_PAGES`]): the record has too many rows for one document.
    TooManyPages {
        /// Position of the table in the markup.
        pos: Pos,
        /// The limit that would be passed.
        limit: usize,
    },
}

impl LayoutError {
    /// Stable machine code for rejects and logs.
    pub fn code(&self) -> &'static str {
        match self {
            LayoutError::MissingGlyph { .. } => "E_GLYPH_MISSING",
            LayoutError::Overflow { .. } => "E_LAYOUT_OVERFLOW",
            LayoutError::UnknownFont { .. } => "E_TEMPLATE_FONT",
            LayoutError::UnknownImage { .. } => "E_TEMPLATE_IMAGE",
            LayoutError::OutsideMargins { .. } => "E_LAYOUT_MARGIN",
            LayoutError::Barcode { .. } => "E_BARCODE",
            LayoutError::BarcodePlacement { .. } => "E_TEMPLATE_BARCODE",
            LayoutError::PostalData { .. } => "E_POSTAL_DATA",
            LayoutError::TooManyPages { .. } => "E_TOO_MANY_PAGES",
        }
    }

    /// Whether the error comes from the record's data (a reject) rather than
    /// from the template (a job error that stops the batch).
    pub fn is_data_error(&self) -> bool {
        matches!(
            self,
            LayoutError::MissingGlyph { .. }
                | LayoutError::Overflow { .. }
                | LayoutError::OutsideMargins { .. }
                | LayoutError::Barcode { .. }
                | LayoutError::TooManyPages { .. }
        )
    }
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::MissingGlyph { pos, ch, slot } => write!(
                f,
                "文字「{ch}」(U+{:04X}) を表示できるフォントがありません (no font in slot {slot} has this character) [{pos}]",
                *ch as u32
            ),
            LayoutError::Overflow { pos, element } => write!(
                f,
                "文字が枠に収まりません (text does not fit its <{element}> box) [{pos}]"
            ),
            LayoutError::UnknownFont { pos, slot } => {
                write!(f, "フォント枠 {slot} がありません (unknown font slot) [{pos}]")
            }
            LayoutError::UnknownImage { pos, src } => {
                write!(f, "画像 {src} がありません (unknown image) [{pos}]")
            }
            LayoutError::OutsideMargins { pos, element } => write!(
                f,
                "<{element}> が余白の内側に収まりません (drawn outside the page margins) [{pos}]"
            ),
            LayoutError::Barcode { pos, reason } => write!(
                f,
                "カスタマバーコードを作れません (no customer barcode): {reason} [{pos}]"
            ),
            LayoutError::BarcodePlacement { pos } => write!(
                f,
                "<barcode> の周囲 {}mm の余白（クワイエットゾーン）が用紙・余白の内側に収まりません (quiet zone outside the page or its margins) [{pos}]",
                barcode::QUIET_ZONE_MM
            ),
            LayoutError::PostalData { message } => write!(
                f,
                "郵便番号データを読めません (postal data cannot be loaded): {message}"
            ),
            LayoutError::TooManyPages { pos, limit } => write!(
                f,
                "ページ数が上限 {limit} ページを超えます: 表の続きのページが多すぎます \
                 (too many pages: the continuing <table> would make the document \
                 longer than {limit} pages) [{pos}]"
            ),
        }
    }
}

impl std::error::Error for LayoutError {}

/// A laid-out document: its pages and any warnings for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Laid {
    /// Pages (a continuing table may add pages the form does not have).
    pub pages: Vec<Page>,
    /// Non-fatal notes (e.g. a variation sequence printed as its base character).
    pub warnings: Vec<String>,
}

/// Lays out a whole form.
///
/// `<pagecount/>` needs the final number of pages, which a continuing table
/// only reveals during layout: the form is laid out with the form's own page
/// count first and again with the real count when they differ.
///
/// A document longer than [`MAX_PAGES`] pages is [`LayoutError::TooManyPages`].
pub fn layout(form: &Form, fonts: &FontSet, images: &ImageSet) -> Result<Laid, LayoutError> {
    layout_limited(form, fonts, images, MAX_PAGES)
}

/// [`layout`] with at most `max_pages` pages.
fn layout_limited(
    form: &Form,
    fonts: &FontSet,
    images: &ImageSet,
    max_pages: usize,
) -> Result<Laid, LayoutError> {
    let mut count = form.pages.len();
    let mut laid = layout_pass(form, fonts, images, count, max_pages)?;
    for _ in 0..3 {
        if laid.pages.len() == count {
            break;
        }
        count = laid.pages.len();
        laid = layout_pass(form, fonts, images, count, max_pages)?;
    }
    Ok(laid)
}

fn layout_pass(
    form: &Form,
    fonts: &FontSet,
    images: &ImageSet,
    page_count: usize,
    max_pages: usize,
) -> Result<Laid, LayoutError> {
    let mut ctx = Ctx {
        fonts,
        ops: Vec::new(),
        done: Vec::with_capacity(form.pages.len()),
        warnings: Vec::new(),
        page_w: 0.0,
        page_h: 0.0,
        margins: Margins::default(),
        page_count,
        max_pages,
        pages_after: 0,
    };
    for (i, fp) in form.pages.iter().enumerate() {
        ctx.pages_after = form.pages.len() - i - 1;
        ctx.page_w = fp.width;
        ctx.page_h = fp.height;
        ctx.margins = fp.margins;
        layout_page(&mut ctx, fp, images)?;
        ctx.new_page();
    }
    Ok(Laid {
        pages: ctx.done,
        warnings: ctx.warnings,
    })
}

fn layout_page(ctx: &mut Ctx, fp: &FormPage, images: &ImageSet) -> Result<(), LayoutError> {
    for el in &fp.elements {
        let (page_before, op_before) = (ctx.done.len(), ctx.ops.len());
        let (pos, kind) = match el {
            Element::Text(t) => {
                ctx.text(t)?;
                (t.pos, "text")
            }
            Element::Para(p) => {
                ctx.para(p)?;
                (p.pos, "para")
            }
            Element::Table(t) => {
                ctx.table(t)?;
                (t.pos, "table")
            }
            Element::Line(l) => {
                ctx.ops.push(Op::Line {
                    from: (l.x1, l.y1),
                    to: (l.x2, l.y2),
                    stroke: Stroke {
                        width: l.width,
                        color: l.color,
                        dash: l.dash.clone(),
                    },
                });
                (l.pos, "line")
            }
            Element::Rect(r) => {
                ctx.ops.push(Op::Rect {
                    x: r.x,
                    y: r.y,
                    w: r.w,
                    h: r.h,
                    stroke: (r.stroke > 0.0).then(|| Stroke {
                        width: r.stroke,
                        color: r.color,
                        dash: Vec::new(),
                    }),
                    fill: r.fill,
                    radius: r.radius,
                });
                (r.pos, "rect")
            }
            Element::Image(i) => {
                ctx.image(i, images)?;
                (i.pos, "image")
            }
            Element::Qr(q) => {
                ctx.qr(q)?;
                (q.pos, "qr")
            }
            Element::Barcode(b) => {
                ctx.barcode(b)?;
                (b.pos, "barcode")
            }
        };
        if !ctx.margins.is_zero() {
            // Check what the element drew on the page it ended on (a table
            // that continued checks each of its pages itself via `bottom`).
            let from = if ctx.done.len() == page_before {
                op_before
            } else {
                0
            };
            ctx.check_margins(from, pos, kind)?;
        }
    }
    Ok(())
}

/// Ruby text shaped with its base: drawn centred over the base's `len` items.
#[derive(Debug, Clone)]
struct Ruby {
    /// Number of base items it covers (the first carries the ruby).
    len: usize,
    /// Glyphs: font, glyph id, x offset from the ruby's start, text.
    glyphs: Vec<(FontId, u16, f32, String)>,
    size: f32,
    width: f32,
    color: Color,
}

/// One shaped character.
#[derive(Debug, Clone)]
struct Item {
    /// The character (plus variation selector, if any) it stands for.
    text: String,
    /// The base character.
    ch: char,
    font: FontId,
    gid: u16,
    /// Advance in points at `size`, without letter spacing.
    advance: f32,
    size: f32,
    /// Letter spacing after this character (between characters only).
    spacing: f32,
    /// Extra space before and after the glyph (ruby wider than its base).
    pre: f32,
    post: f32,
    ascent: f32,
    descent: f32,
    color: Color,
    underline: bool,
    /// Whether a line may break before this item.
    break_before: bool,
    /// An explicit line break (not drawn).
    hard_break: bool,
    /// Ruby starting at this item.
    ruby: Option<Box<Ruby>>,
}

impl Item {
    fn is_space(&self) -> bool {
        self.ch == ' '
    }
}

/// Text laid into lines.
struct Lines {
    lines: Vec<Line>,
}

struct Line {
    items: Vec<Item>,
    /// x of each glyph origin relative to the line start.
    xs: Vec<f32>,
    /// Line width (hanging punctuation included, so it may exceed the box).
    width: f32,
    ascent: f32,
    descent: f32,
    size: f32,
    /// Whether the line ends a paragraph (last line, or before `<br/>`):
    /// such lines are not stretched by `justify`.
    para_end: bool,
}

struct Ctx<'a> {
    fonts: &'a FontSet,
    /// Operations of the page being laid out.
    ops: Vec<Op>,
    /// Finished pages.
    done: Vec<Page>,
    warnings: Vec<String>,
    page_w: f32,
    page_h: f32,
    margins: Margins,
    /// Number of pages of the document (for `<pagecount/>`).
    page_count: usize,
    /// Most pages the document may have.
    max_pages: usize,
    /// Pages of the form after the one being laid out.
    pages_after: usize,
}

/// A table rule: from, to, width.
type Rule = ((f32, f32), (f32, f32), f32);

/// Variation selectors: VS1–VS16 and VS17–VS256.
fn is_variation_selector(c: char) -> bool {
    matches!(c as u32, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

/// How far above the baseline the top of a full-width glyph lies, in ems.
const GLYPH_TOP: f32 = 0.88;
/// Ruby size as a fraction of its base size (JLREQ: half).
const RUBY_SCALE: f32 = 0.5;
/// Gap between the base's top and the ruby's baseline... in ruby ems.
const RUBY_GAP: f32 = 0.15;

impl Ctx<'_> {
    /// Closes the current page and starts a new one of the same size.
    fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.done.push(Page {
            width: self.page_w,
            height: self.page_h,
            ops,
        });
    }

    /// Rejects ops from `from` on that leave the safe area.
    fn check_margins(
        &self,
        from: usize,
        pos: Pos,
        element: &'static str,
    ) -> Result<(), LayoutError> {
        let m = self.margins;
        let (x0, y0, x1, y1) = (m.left, m.top, self.page_w - m.right, self.page_h - m.bottom);
        let tol = 0.01;
        let outside = |a: f32, b: f32, c: f32, d: f32| {
            a < x0 - tol || b < y0 - tol || c > x1 + tol || d > y1 + tol
        };
        for op in &self.ops[from..] {
            let bad = match op {
                Op::Text(r) => r.glyphs.iter().any(|g| {
                    let f = self.fonts.font(r.font);
                    let adv = f.advance(g.gid) * r.size;
                    outside(
                        g.x,
                        r.baseline - f.ascent().min(1.0) * r.size,
                        g.x + adv,
                        r.baseline - f.descent().max(-0.3) * r.size,
                    )
                }),
                // Rules by their centre line (a table's frame on the margin is fine).
                Op::Line { from, to, stroke } => {
                    let hw = stroke.width;
                    outside(
                        from.0.min(to.0) + hw,
                        from.1.min(to.1) + hw,
                        from.0.max(to.0) - hw,
                        from.1.max(to.1) - hw,
                    )
                }
                Op::Rect { x, y, w, h, .. } | Op::Image { x, y, w, h, .. } => {
                    outside(x.min(x + w), y.min(y + h), x.max(x + w), y.max(y + h))
                }
                Op::ClipBegin { .. } | Op::ClipEnd => false,
            };
            if bad {
                return Err(LayoutError::OutsideMargins { pos, element });
            }
        }
        Ok(())
    }

    /// The text a run stands for (placeholders filled in).
    fn run_text<'r>(&self, r: &'r Run) -> std::borrow::Cow<'r, str> {
        match r.field {
            Some(Field::PageNo) => (self.done.len() + 1).to_string().into(),
            Some(Field::PageCount) => self.page_count.to_string().into(),
            None => r.text.as_str().into(),
        }
    }

    /// Resolves one character (with an optional variation selector).
    fn glyph(
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
    fn shape(&mut self, runs: &[Run], scale: f32, pos: Pos) -> Result<Vec<Item>, LayoutError> {
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
                    hard_break: false,
                    ruby: None,
                };
                if ch == '\n' {
                    item.hard_break = true;
                    item.break_before = false;
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
        // Enforce the strict kinsoku rules on top of UAX #14.
        for i in 1..items.len() {
            let (prev, cur) = (items[i - 1].ch, items[i].ch);
            if items[i].break_before && !kinsoku::may_break_between(prev, cur) {
                items[i].break_before = false;
            }
        }
        if let Some(first) = items.first_mut() {
            first.break_before = false;
        }
        Ok(items)
    }

    /// Shapes ruby text over `base` (a whole run): no break inside the base,
    /// the base spaced out when the ruby is wider, ascent raised to hold it.
    fn attach_ruby(
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

    /// Breaks items into lines no wider than `width` (the first line `indent`
    /// narrower). A word longer than the line is not split: its line comes out
    /// too wide and the caller's fit rule decides.
    fn break_lines(&self, items: Vec<Item>, width: f32, indent: f32, hanging: bool) -> Lines {
        let mut lines = Vec::new();
        let mut paragraphs: Vec<Vec<Item>> = vec![Vec::new()];
        for it in items {
            if it.hard_break {
                paragraphs.push(Vec::new());
            } else {
                paragraphs.last_mut().expect("never empty").push(it);
            }
        }
        let mut first_line = true;
        for para in paragraphs {
            let mut start = 0;
            if para.is_empty() {
                let mut l = make_line(Vec::new());
                l.para_end = true;
                lines.push(l);
                first_line = false;
                continue;
            }
            while start < para.len() {
                let avail = if first_line { width - indent } else { width };
                let end = find_line_end(&para, start, avail, hanging);
                let mut slice: Vec<Item> = para[start..end].to_vec();
                while slice.last().is_some_and(|i| i.is_space()) {
                    slice.pop();
                }
                let mut line = make_line(slice);
                if first_line && indent != 0.0 {
                    for x in &mut line.xs {
                        *x += indent;
                    }
                    line.width += indent;
                }
                first_line = false;
                start = end;
                // Spaces at the start of a continuation line vanish.
                while start < para.len() && para[start].is_space() {
                    start += 1;
                }
                line.para_end = start >= para.len();
                lines.push(line);
            }
        }
        Lines { lines }
    }

    fn text(&mut self, t: &TextBox) -> Result<(), LayoutError> {
        let mut scale = 1.0;
        let base = t.runs.first().map(|r| r.style.size).unwrap_or(10.5);
        loop {
            let items = self.shape(&t.runs, scale, t.pos)?;
            let items: Vec<Item> = items.into_iter().filter(|i| !i.hard_break).collect();
            let mut line = make_line(items);
            line.para_end = true;
            let glyph_h = line.ascent - line.descent;
            let fits = t.w.is_none_or(|w| line.width <= w + 0.01)
                && t.h.is_none_or(|h| glyph_h <= h + 0.01);
            if fits || matches!(t.fit, Fit::Clip) {
                let valign = t.valign.unwrap_or(if t.h.is_some() {
                    VAlign::Middle
                } else {
                    VAlign::Top
                });
                let bh = t.h.unwrap_or(glyph_h);
                let baseline = match (t.baseline, valign) {
                    (Some(b), _) => t.y + b,
                    (None, VAlign::Top) => t.y + line.ascent,
                    (None, VAlign::Middle) => t.y + (bh - glyph_h) / 2.0 + line.ascent,
                    (None, VAlign::Bottom) => t.y + bh + line.descent,
                };
                let w = t.w.unwrap_or(line.width);
                if fits {
                    self.place_line(line, t.x, w, baseline, t.align, None);
                } else {
                    // Overflowing text is cut at the box: whole glyphs past
                    // the edge are dropped, the rest clipped exactly.
                    self.ops.push(Op::ClipBegin {
                        x: t.x,
                        y: t.y,
                        w,
                        h: bh,
                    });
                    let align = if line.width > w { Align::Left } else { t.align };
                    self.place_line(line, t.x, w, baseline, align, Some(w));
                    self.ops.push(Op::ClipEnd);
                }
                return Ok(());
            }
            scale = self.shrink(t.fit, base, scale, t.pos, "text")?;
        }
    }

    /// The next, smaller scale under a `shrink` rule; an overflow otherwise.
    fn shrink(
        &self,
        fit: Fit,
        base: f32,
        scale: f32,
        pos: Pos,
        element: &'static str,
    ) -> Result<f32, LayoutError> {
        match fit {
            Fit::Shrink { min_size } if base * scale - 0.25 >= min_size - 1e-4 => {
                Ok((base * scale - 0.25) / base)
            }
            _ => Err(LayoutError::Overflow { pos, element }),
        }
    }

    fn para(&mut self, p: &ParaBox) -> Result<(), LayoutError> {
        let base = p.runs.first().map(|r| r.style.size).unwrap_or(10.5);
        let mut scale = 1.0;
        loop {
            let items = self.shape(&p.runs, scale, p.pos)?;
            let lines = self.break_lines(items, p.w, p.indent, p.hanging);
            let height = lines_height(&lines, p.line_height);
            let fits = p.h.is_none_or(|h| height <= h + 0.01)
                && lines.lines.iter().all(|l| line_fits(l, p.w, p.hanging));
            if fits {
                self.place_lines(lines, p.x, p.y, p.w, p.line_height, p.align, None);
                return Ok(());
            }
            if matches!(p.fit, Fit::Clip) {
                let h = p.h.unwrap_or(height);
                self.ops.push(Op::ClipBegin {
                    x: p.x,
                    y: p.y,
                    w: p.w,
                    h,
                });
                self.place_lines(lines, p.x, p.y, p.w, p.line_height, p.align, Some((p.w, h)));
                self.ops.push(Op::ClipEnd);
                return Ok(());
            }
            scale = self.shrink(p.fit, base, scale, p.pos, "para")?;
        }
    }

    fn table(&mut self, t: &Table) -> Result<(), LayoutError> {
        let ncols = t.columns.len();
        let mut col_x = Vec::with_capacity(ncols + 1);
        let mut x = t.x;
        col_x.push(x);
        for w in &t.columns {
            x += w;
            col_x.push(x);
        }
        // Place cells on the grid: (row, column, cell).
        let nrows = t.rows.len();
        let mut placed: Vec<(usize, usize, &TableCell)> = Vec::new();
        let mut covered = vec![0usize; ncols];
        // The last row (exclusive) each row is tied to by rowspans.
        let mut reach: Vec<usize> = (1..=nrows).collect();
        for (ri, row) in t.rows.iter().enumerate() {
            let mut col = 0;
            for cell in &row.cells {
                while col < ncols && covered[col] > 0 {
                    col += 1;
                }
                if col + cell.colspan > ncols {
                    break; // the parser checked the grid; be safe anyway
                }
                for c in covered.iter_mut().skip(col).take(cell.colspan) {
                    *c = cell.rowspan;
                }
                reach[ri] = reach[ri].max((ri + cell.rowspan).min(nrows));
                placed.push((ri, col, cell));
                col += cell.colspan;
            }
            for c in &mut covered {
                *c = c.saturating_sub(1);
            }
        }
        // Blocks of rows that must stay on one page.
        let mut blocks: Vec<(usize, usize)> = Vec::new();
        let mut ri = 0;
        while ri < nrows {
            let mut end = reach[ri];
            let mut k = ri;
            while k < end {
                end = end.max(reach[k]);
                k += 1;
            }
            blocks.push((ri, end));
            ri = end;
        }
        let heights: Vec<f32> = t.rows.iter().map(|r| r.height).collect();
        let nheader = t.rows.iter().take_while(|r| r.header).count();
        let bottom = t.bottom.unwrap_or(self.page_h - self.margins.bottom);
        let cont_y = t.continue_y.unwrap_or(if self.margins.top > 0.0 {
            self.margins.top
        } else {
            t.y
        });
        let overflow = LayoutError::Overflow {
            pos: t.pos,
            element: "table",
        };
        // Rows of each page fragment with their y.
        let mut frags: Vec<Vec<(usize, f32)>> = vec![Vec::new()];
        let mut y = t.y;
        for &(a, b) in &blocks {
            let hb: f32 = heights[a..b].iter().sum();
            if y + hb > bottom + 0.01 {
                let body_on_page = frags
                    .last()
                    .is_some_and(|f| f.iter().any(|(r, _)| *r >= nheader));
                if !t.continues || !body_on_page {
                    return Err(overflow);
                }
                // Pages so far (this table's included) + the new one + the
                // form's pages still to come.
                if self.done.len() + frags.len() + 1 + self.pages_after > self.max_pages {
                    return Err(LayoutError::TooManyPages {
                        pos: t.pos,
                        limit: self.max_pages,
                    });
                }
                frags.push(Vec::new());
                y = cont_y;
                for (r, h) in heights.iter().enumerate().take(nheader) {
                    frags.last_mut().expect("just pushed").push((r, y));
                    y += h;
                }
                if y + hb > bottom + 0.01 {
                    return Err(overflow);
                }
            }
            for (r, h) in heights.iter().enumerate().take(b).skip(a) {
                frags.last_mut().expect("never empty").push((r, y));
                y += h;
            }
        }
        for (k, frag) in frags.iter().enumerate() {
            if k > 0 {
                self.new_page();
            }
            self.table_fragment(t, frag, &placed, &col_x, &heights)?;
        }
        Ok(())
    }

    /// Draws the rows of one page of a table: fills, cell contents, borders.
    fn table_fragment(
        &mut self,
        t: &Table,
        frag: &[(usize, f32)],
        placed: &[(usize, usize, &TableCell)],
        col_x: &[f32],
        heights: &[f32],
    ) -> Result<(), LayoutError> {
        // Boundaries of this fragment: ys[k] is the top of frag row k.
        let mut ys: Vec<f32> = frag.iter().map(|(_, y)| *y).collect();
        if let Some((r, y)) = frag.last() {
            ys.push(y + heights[*r]);
        }
        let slot = |row: usize| frag.iter().position(|(r, _)| *r == row);
        // Segments: (boundary, index) → (width, explicitly set).
        let mut hseg: BTreeMap<(usize, usize), (f32, bool)> = BTreeMap::new();
        let mut vseg: BTreeMap<(usize, usize), (f32, bool)> = BTreeMap::new();
        fn set(
            map: &mut BTreeMap<(usize, usize), (f32, bool)>,
            key: (usize, usize),
            v: (f32, bool),
        ) {
            let e = map.entry(key).or_insert(v);
            if v.1 && !e.1 {
                *e = v;
            } else if v.1 == e.1 && v.0 > e.0 {
                e.0 = v.0;
            }
        }
        let mut contents = Vec::new();
        for &(row, col, cell) in placed {
            let Some(k) = slot(row) else { continue };
            let rs = cell.rowspan;
            let (x, w) = (col_x[col], col_x[col + cell.colspan] - col_x[col]);
            let (y, h) = (ys[k], ys[(k + rs).min(ys.len() - 1)] - ys[k]);
            if let Some(fill) = cell.fill {
                self.ops.push(Op::Rect {
                    x,
                    y,
                    w,
                    h,
                    stroke: None,
                    fill: Some(fill),
                    radius: 0.0,
                });
            }
            contents.push((cell, x, y, w, h));
            let side = |i: usize| {
                (
                    cell.borders[i].unwrap_or(t.border),
                    cell.borders[i].is_some(),
                )
            };
            for c in col..col + cell.colspan {
                set(&mut hseg, (k, c), side(0));
                set(&mut hseg, (k + rs, c), side(2));
            }
            for kk in k..k + rs {
                set(&mut vseg, (col, kk), side(3));
                set(&mut vseg, (col + cell.colspan, kk), side(1));
            }
        }
        for (cell, x, y, w, h) in contents {
            self.cell(cell, x, y, w, h)?;
        }
        // Merge collinear segments of equal width into single rules; each
        // rule is extended by half its width so that corners close.
        let stroke = |w: f32| Stroke {
            width: w,
            color: t.border_color,
            dash: Vec::new(),
        };
        let mut rules: Vec<Rule> = Vec::new();
        let mut run: Option<(usize, usize, usize, f32)> = None; // boundary, from, to, width
        let mut flush = |run: &mut Option<(usize, usize, usize, f32)>, horizontal: bool| {
            if let Some((b, a, e, w)) = run.take() {
                let half = w / 2.0;
                if horizontal {
                    rules.push(((col_x[a] - half, ys[b]), (col_x[e] + half, ys[b]), w));
                } else {
                    rules.push(((col_x[b], ys[a] - half), (col_x[b], ys[e] + half), w));
                }
            }
        };
        for horizontal in [true, false] {
            let map = if horizontal { &hseg } else { &vseg };
            for (&(b, i), &(w, _)) in map {
                match run {
                    Some((rb, _, re, rw)) if rb == b && re == i && rw == w => {
                        run = run.map(|(rb, ra, _, rw)| (rb, ra, i + 1, rw));
                    }
                    _ => {
                        flush(&mut run, horizontal);
                        if w > 0.0 {
                            run = Some((b, i, i + 1, w));
                        }
                    }
                }
            }
            flush(&mut run, horizontal);
        }
        for (from, to, w) in rules {
            self.ops.push(Op::Line {
                from,
                to,
                stroke: stroke(w),
            });
        }
        Ok(())
    }

    fn cell(&mut self, c: &TableCell, x: f32, y: f32, w: f32, h: f32) -> Result<(), LayoutError> {
        if c.runs.is_empty() {
            return Ok(());
        }
        let [pad_t, pad_r, pad_b, pad_l] = c.padding;
        let inner_w = (w - pad_l - pad_r).max(1.0);
        let inner_h = (h - pad_t - pad_b).max(1.0);
        let base = c.runs.first().map(|r| r.style.size).unwrap_or(10.5);
        let mut scale = 1.0;
        loop {
            let items = self.shape(&c.runs, scale, c.pos)?;
            let lines = self.break_lines(items, inner_w, 0.0, false);
            let height = lines_height(&lines, c.line_height);
            let fits = height <= inner_h + 0.01
                && lines.lines.iter().all(|l| line_fits(l, inner_w, false));
            if fits || matches!(c.fit, Fit::Clip) {
                let top = match c.valign {
                    VAlign::Top => y + pad_t,
                    VAlign::Middle => y + pad_t + (inner_h - height) / 2.0,
                    VAlign::Bottom => y + h - pad_b - height,
                };
                if fits {
                    self.place_lines(lines, x + pad_l, top, inner_w, c.line_height, c.align, None);
                } else {
                    let top = top.max(y + pad_t);
                    self.ops.push(Op::ClipBegin { x, y, w, h });
                    let bottom_room = y + h - pad_b - top;
                    self.place_lines(
                        lines,
                        x + pad_l,
                        top,
                        inner_w,
                        c.line_height,
                        c.align,
                        Some((inner_w, bottom_room)),
                    );
                    self.ops.push(Op::ClipEnd);
                }
                return Ok(());
            }
            scale = self.shrink(c.fit, base, scale, c.pos, "cell")?;
        }
    }

    fn image(&mut self, i: &ImageEl, images: &ImageSet) -> Result<(), LayoutError> {
        let id = images
            .find(&i.src)
            .ok_or_else(|| LayoutError::UnknownImage {
                pos: i.pos,
                src: i.src.clone(),
            })?;
        let img = images.get(id);
        let aspect = img.height.max(1) as f32 / img.width.max(1) as f32;
        let (x, y, w, h) = match (i.w, i.h) {
            // Both given: the largest picture of the image's proportions
            // that fits the box, centred in it.
            (Some(bw), Some(bh)) => {
                let (w, h) = if bw * aspect <= bh {
                    (bw, bw * aspect)
                } else {
                    (bh / aspect, bh)
                };
                (i.x + (bw - w) / 2.0, i.y + (bh - h) / 2.0, w, h)
            }
            (Some(w), None) => (i.x, i.y, w, w * aspect),
            (None, Some(h)) => (i.x, i.y, h / aspect, h),
            (None, None) => (i.x, i.y, img.width as f32 * 0.75, img.height as f32 * 0.75),
        };
        self.ops.push(Op::Image { id, x, y, w, h });
        Ok(())
    }

    fn qr(&mut self, q: &QrEl) -> Result<(), LayoutError> {
        let level = match q.level {
            QrLevel::L => qrcode::EcLevel::L,
            QrLevel::M => qrcode::EcLevel::M,
            QrLevel::Q => qrcode::EcLevel::Q,
            QrLevel::H => qrcode::EcLevel::H,
        };
        // Too much data for any QR version is the record's problem.
        let code = qrcode::QrCode::with_error_correction_level(q.text.as_bytes(), level).map_err(
            |_| LayoutError::Overflow {
                pos: q.pos,
                element: "qr",
            },
        )?;
        let n = code.width();
        let colors = code.to_colors();
        let module = q.size / (n as f32 + 2.0 * q.quiet as f32);
        let origin = (q.x + module * q.quiet as f32, q.y + module * q.quiet as f32);
        // One rectangle per horizontal run of dark modules.
        for row in 0..n {
            let mut col = 0;
            while col < n {
                if colors[row * n + col] != qrcode::Color::Dark {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < n && colors[row * n + col] == qrcode::Color::Dark {
                    col += 1;
                }
                self.ops.push(Op::Rect {
                    x: origin.0 + start as f32 * module,
                    y: origin.1 + row as f32 * module,
                    w: (col - start) as f32 * module,
                    h: module,
                    stroke: None,
                    fill: Some(q.color),
                    radius: 0.0,
                });
            }
        }
        Ok(())
    }

    /// Draws a customer barcode, or applies its `on-error` rule when the
    /// record's address cannot be encoded. Never draws a guessed barcode.
    fn barcode(&mut self, b: &BarcodeEl) -> Result<(), LayoutError> {
        let g = barcode::Geometry::at(b.point_size)
            .map_err(|_| LayoutError::BarcodePlacement { pos: b.pos })?;
        let k = crate::render::page::PT_PER_MM;
        let q = barcode::QUIET_ZONE_MM * k;
        let (x0, y0) = (b.x - q, b.y - q);
        let (x1, y1) = (b.x + g.width() * k + q, b.y + g.height() * k + q);
        let m = self.margins;
        let tol = 0.01;
        if x0 < m.left - tol
            || y0 < m.top - tol
            || x1 > self.page_w - m.right + tol
            || y1 > self.page_h - m.bottom + tol
        {
            return Err(LayoutError::BarcodePlacement { pos: b.pos });
        }
        let code = match &b.address {
            BarcodeAddress::Full(address) => {
                let data = PostalData::embedded().map_err(|e| LayoutError::PostalData {
                    message: e.message.clone(),
                })?;
                data.customer_barcode(&b.postal, address)
                    .map_err(|f| barcode_reason(&f))
            }
            BarcodeAddress::B(addr_b) => {
                barcode::encode(&b.postal, addr_b).map_err(|e| e.to_string())
            }
        };
        match code {
            Ok(code) => {
                let ops = crate::render::barcode::draw(&code, b.x, b.y, b.point_size)
                    .map_err(|_| LayoutError::BarcodePlacement { pos: b.pos })?;
                self.ops.extend(ops);
                Ok(())
            }
            Err(reason) => match b.on_error {
                OnBarcodeError::Reject => Err(LayoutError::Barcode { pos: b.pos, reason }),
                OnBarcodeError::Warn => {
                    self.warnings.push(format!(
                        "カスタマバーコードを付けませんでした (customer barcode left out): {reason} [{}]",
                        b.pos
                    ));
                    Ok(())
                }
                OnBarcodeError::Omit => Ok(()),
            },
        }
    }

    /// Places lines starting at `top`, each `line_height` × its size apart.
    /// With `clip` (width, height), lines below the height and glyphs past
    /// the width are left out.
    #[allow(clippy::too_many_arguments)]
    fn place_lines(
        &mut self,
        lines: Lines,
        x: f32,
        top: f32,
        w: f32,
        line_height: f32,
        align: Align,
        clip: Option<(f32, f32)>,
    ) {
        let mut y = top;
        for line in lines.lines {
            let lh = line.size.max(1.0) * line_height;
            if let Some((_, h)) = clip {
                if y + lh > top + h + 0.01 {
                    break;
                }
            }
            let glyph_h = line.ascent - line.descent;
            let baseline = y + (lh - glyph_h) / 2.0 + line.ascent;
            self.place_line(line, x, w, baseline, align, clip.map(|c| c.0));
            y += lh;
        }
    }

    /// Places one line at `baseline` within `[x, x + w]`; ruby after the base
    /// text so that text extraction reads the base first.
    fn place_line(
        &mut self,
        line: Line,
        x: f32,
        w: f32,
        baseline: f32,
        align: Align,
        clip_w: Option<f32>,
    ) {
        if line.items.is_empty() {
            return;
        }
        let n = line.items.len();
        let extra = w - line.width;
        let (start, gap) = match align {
            Align::Left => (0.0, 0.0),
            Align::Center => (extra / 2.0, 0.0),
            Align::Right => (extra, 0.0),
            Align::Distribute => {
                if n > 1 {
                    (0.0, extra.max(0.0) / (n - 1) as f32)
                } else {
                    (extra / 2.0, 0.0)
                }
            }
            Align::Justify => (0.0, 0.0),
        };
        // Where extra space may go: between every pair of characters for
        // 均等割付; for justify only at break opportunities and spaces, so
        // Latin words and numbers keep their letters together.
        let mut slots = vec![0usize; n];
        let mut count = 0;
        for (i, slot) in slots.iter_mut().enumerate().skip(1) {
            let open = match align {
                Align::Justify => {
                    line.items[i].break_before
                        || line.items[i].is_space()
                        || line.items[i - 1].is_space()
                }
                _ => true,
            };
            if open {
                count += 1;
            }
            *slot = count;
        }
        let gap = match align {
            Align::Justify if !line.para_end && extra > 0.0 && count > 0 => extra / count as f32,
            _ => gap,
        };
        let gxs: Vec<f32> = line
            .xs
            .iter()
            .enumerate()
            .map(|(i, ix)| x + start + ix + gap * slots[i] as f32)
            .collect();
        let mut run: Option<GlyphRun> = None;
        let mut underline: Option<(f32, f32, f32, Color)> = None; // (x0, x1, size, colour)
        let mut rubies = Vec::new();
        for (i, item) in line.items.iter().enumerate() {
            let gx = gxs[i];
            if let Some(cw) = clip_w {
                if gx + item.advance > x + cw + 0.01 {
                    break;
                }
            }
            if item.underline {
                let end = gx + item.advance;
                underline = match underline {
                    Some((x0, _, s, c)) if c == item.color => Some((x0, end, s.max(item.size), c)),
                    other => {
                        if let Some(u) = other {
                            self.underline(u, baseline);
                        }
                        Some((gx, end, item.size, item.color))
                    }
                };
            } else if let Some(u) = underline.take() {
                self.underline(u, baseline);
            }
            if let Some(ruby) = &item.ruby {
                let last = (i + ruby.len - 1).min(n - 1);
                let x1 = gxs[last] + line.items[last].advance;
                rubies.push((ruby.clone(), (gx + x1) / 2.0, item.size));
            }
            if item.text.is_empty() {
                continue;
            }
            let same = run.as_ref().is_some_and(|r| {
                r.font == item.font && r.size == item.size && r.color == item.color
            });
            if !same {
                if let Some(r) = run.take() {
                    self.ops.push(Op::Text(r));
                }
                run = Some(GlyphRun {
                    font: item.font,
                    size: item.size,
                    color: item.color,
                    baseline,
                    glyphs: Vec::new(),
                });
            }
            run.as_mut().expect("just set").glyphs.push(Glyph {
                gid: item.gid,
                x: gx,
                text: item.text.clone(),
            });
        }
        if let Some(r) = run.take() {
            self.ops.push(Op::Text(r));
        }
        if let Some(u) = underline {
            self.underline(u, baseline);
        }
        for (ruby, centre, base_size) in rubies {
            let rb = baseline - GLYPH_TOP * base_size - RUBY_GAP * ruby.size;
            let x0 = centre - ruby.width / 2.0;
            let mut out: Option<GlyphRun> = None;
            for (font, gid, dx, text) in &ruby.glyphs {
                if out.as_ref().is_some_and(|r| r.font != *font) {
                    if let Some(r) = out.take() {
                        self.ops.push(Op::Text(r));
                    }
                }
                out.get_or_insert_with(|| GlyphRun {
                    font: *font,
                    size: ruby.size,
                    color: ruby.color,
                    baseline: rb,
                    glyphs: Vec::new(),
                })
                .glyphs
                .push(Glyph {
                    gid: *gid,
                    x: x0 + dx,
                    text: text.clone(),
                });
            }
            if let Some(r) = out {
                self.ops.push(Op::Text(r));
            }
        }
    }

    fn underline(&mut self, (x0, x1, size, color): (f32, f32, f32, Color), baseline: f32) {
        let y = baseline + size * 0.12;
        self.ops.push(Op::Line {
            from: (x0, y),
            to: (x1, y),
            stroke: Stroke {
                width: size * 0.05,
                color,
                dash: Vec::new(),
            },
        });
    }
}

/// A reason for a failed customer barcode that names neither the address nor
/// the postal code (the postal table's own reasons name the code's place).
fn barcode_reason(f: &BarcodeFailure) -> String {
    match f {
        BarcodeFailure::Address(v) => format!(
            "郵便番号と住所が一致しません (postal code and address disagree: {})",
            v.status.name()
        ),
        BarcodeFailure::Barcode(e) => e.to_string(),
    }
}

/// Computes glyph offsets and the line's metrics. Letter spacing follows every
/// character but the last, so spaced titles stay centred.
fn make_line(items: Vec<Item>) -> Line {
    let mut xs = Vec::with_capacity(items.len());
    let mut x = 0.0;
    let (mut ascent, mut descent, mut size) = (0.0f32, 0.0f32, 0.0f32);
    for (i, it) in items.iter().enumerate() {
        x += it.pre;
        xs.push(x);
        x += it.advance + it.post;
        if i + 1 < items.len() {
            x += it.spacing;
        }
        ascent = ascent.max(it.ascent);
        descent = descent.min(it.descent);
        size = size.max(it.size);
    }
    Line {
        items,
        xs,
        width: x,
        ascent,
        descent,
        size,
        para_end: false,
    }
}

/// Whether a line fits `w`, allowing one hanging 。、．， when enabled.
fn line_fits(line: &Line, w: f32, hanging: bool) -> bool {
    if line.width <= w + 0.01 {
        return true;
    }
    if hanging {
        if let Some(last) = line.items.last() {
            return kinsoku::may_hang(last.ch) && line.width - last.advance <= w + 0.01;
        }
    }
    false
}

fn lines_height(lines: &Lines, line_height: f32) -> f32 {
    lines
        .lines
        .iter()
        .map(|l| l.size.max(1.0) * line_height)
        .sum()
}

/// Finds where the line starting at `start` ends (exclusive).
fn find_line_end(items: &[Item], start: usize, avail: f32, hanging: bool) -> usize {
    let mut x = 0.0;
    let mut i = start;
    while i < items.len() {
        let it = &items[i];
        let end = x + it.pre + it.advance + it.post;
        if end > avail + 0.01 && !it.is_space() {
            // ぶら下げ: a closing 。、 may hang past the edge.
            if hanging && kinsoku::may_hang(it.ch) && i > start {
                return i + 1;
            }
            // Last allowed break at or before i (追い出し when kinsoku moved it).
            let mut b = i;
            while b > start && !items[b].break_before {
                b -= 1;
            }
            if b > start {
                return b;
            }
            // No break opportunity (a long word or number): keep it whole;
            // the line is overfull and the box's fit rule decides.
            let mut f = i + 1;
            while f < items.len() && !items[f].break_before {
                f += 1;
            }
            return f;
        }
        x = end + it.spacing;
        i += 1;
    }
    items.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::form;
    use std::path::Path;

    fn fonts() -> FontSet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
        FontSet::load(&FontSet::default_slots(&dir)).unwrap()
    }

    fn lay(markup: &str) -> Result<Laid, LayoutError> {
        let f = form::parse(markup).unwrap();
        layout(&f, &fonts(), &ImageSet::default())
    }

    fn texts(page: &Page) -> Vec<(f32, String)> {
        page.ops
            .iter()
            .filter_map(|op| match op {
                Op::Text(r) => Some((
                    r.baseline,
                    r.glyphs.iter().map(|g| g.text.as_str()).collect(),
                )),
                _ => None,
            })
            .collect()
    }

    /// The text of each laid-out line of a para (runs on one baseline joined).
    fn para_lines(page: &Page) -> Vec<String> {
        let mut lines: Vec<(f32, String)> = Vec::new();
        for (b, t) in texts(page) {
            match lines.last_mut() {
                Some((lb, lt)) if (*lb - b).abs() < 0.01 => lt.push_str(&t),
                _ => lines.push((b, t)),
            }
        }
        lines.into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn center_and_right_alignment() {
        let laid = lay(r#"<form><page>
            <text x="10mm" y="10mm" w="100mm" align="center">証明書</text>
            <text x="10mm" y="20mm" w="100mm" align="right">証明書</text></page></form>"#)
        .unwrap();
        let ops = &laid.pages[0].ops;
        let (Op::Text(c), Op::Text(r)) = (&ops[0], &ops[1]) else {
            panic!()
        };
        let mm = crate::render::page::PT_PER_MM;
        // Three full-width glyphs of 10.5pt: 31.5pt wide.
        assert!((c.glyphs[0].x - (10.0 * mm + (100.0 * mm - 31.5) / 2.0)).abs() < 0.01);
        assert!((r.glyphs[2].x + 10.5 - 110.0 * mm).abs() < 0.01);
    }

    #[test]
    fn distribute_spreads_over_the_width() {
        let laid = lay(r#"<form><page><text x="0mm" y="0mm" w="30mm" align="distribute">氏名</text></page></form>"#)
            .unwrap();
        let Op::Text(r) = &laid.pages[0].ops[0] else {
            panic!()
        };
        assert_eq!(r.glyphs[0].x, 0.0);
        assert!((r.glyphs[1].x + 10.5 - 30.0 * crate::render::page::PT_PER_MM).abs() < 0.01);
    }

    #[test]
    fn missing_glyph_is_an_error_with_code_point() {
        let e = lay("<form><page><text x=\"0mm\" y=\"0mm\">山\u{E000}</text></page></form>")
            .unwrap_err();
        assert!(matches!(
            e,
            LayoutError::MissingGlyph { ch: '\u{E000}', .. }
        ));
        assert!(e.to_string().contains("U+E000"));
        assert!(e.is_data_error());
    }

    #[test]
    fn overflow_is_error_or_shrinks() {
        let long = "あ".repeat(20);
        let e = lay(&format!(
            "<form><page><text x=\"0mm\" y=\"0mm\" w=\"50mm\">{long}</text></page></form>"
        ))
        .unwrap_err();
        assert_eq!(e.code(), "E_LAYOUT_OVERFLOW");
        let laid = lay(&format!(
            "<form><page><text x=\"0mm\" y=\"0mm\" w=\"50mm\" fit=\"shrink\" min-font-size=\"5pt\">{long}</text></page></form>"
        ))
        .unwrap();
        let Op::Text(r) = &laid.pages[0].ops[0] else {
            panic!()
        };
        assert!(r.size < 10.5 && r.size >= 5.0);
        let last = r.glyphs.last().unwrap();
        assert!(last.x + r.size <= 50.0 * crate::render::page::PT_PER_MM + 0.01);
    }

    #[test]
    fn no_line_starts_with_prohibited_characters() {
        // Every line-start-prohibited character, placed where a naive break would put it first.
        for &ch in kinsoku::NO_LINE_START {
            for fill in 5..9 {
                let text = format!("{}{}{}", "あ".repeat(fill), ch, "い".repeat(12));
                let markup = format!(
                    "<form><page><para x=\"0mm\" y=\"0mm\" w=\"{}pt\">{}</para></page></form>",
                    fill as f32 * 10.5 + 0.001,
                    crate::render::template::escape_xml(&text)
                );
                let laid = match lay(&markup) {
                    Ok(l) => l,
                    // A character no bundled font has is not a line-breaking case.
                    Err(LayoutError::MissingGlyph { .. }) => break,
                    Err(e) => panic!("{e}"),
                };
                for line in para_lines(&laid.pages[0]).iter().skip(1) {
                    let first = line.chars().next().unwrap();
                    assert!(
                        !kinsoku::no_line_start(first),
                        "line starts with {first:?} in {text}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_line_ends_with_opening_brackets() {
        for &ch in kinsoku::NO_LINE_END {
            let text = format!("{}{}かきくけこ", "あ".repeat(4), ch);
            let markup = format!(
                "<form><page><para x=\"0mm\" y=\"0mm\" w=\"52.6pt\">{}</para></page></form>",
                crate::render::template::escape_xml(&text)
            );
            let laid = match lay(&markup) {
                Ok(l) => l,
                Err(LayoutError::MissingGlyph { .. }) => continue,
                Err(e) => panic!("{e}"),
            };
            for line in para_lines(&laid.pages[0]) {
                let last = line.chars().last().unwrap();
                assert!(!kinsoku::no_line_end(last), "line ends with {last:?}");
            }
        }
    }

    #[test]
    fn latin_words_and_numbers_stay_whole() {
        let laid = lay(r#"<form><page><para x="0mm" y="0mm" w="60mm">申請番号はR2025-0001です。金額は1,234,567円でした。Certificate issued.</para></page></form>"#)
            .unwrap();
        let lines = para_lines(&laid.pages[0]);
        let joined = lines.join("|");
        for word in ["R2025-0001", "1,234,567円", "Certificate"] {
            assert!(
                lines.iter().any(|l| l.contains(word)),
                "{word} split: {joined}"
            );
        }
    }

    #[test]
    fn para_width_is_respected_and_hanging_allowed() {
        let text =
            "上記の者は、令和七年四月一日現在、当区に在職していることを証明します。".repeat(3);
        for hanging in [false, true] {
            let markup = format!(
                "<form><page><para x=\"10mm\" y=\"0mm\" w=\"63pt\" hanging=\"{hanging}\">{text}</para></page></form>"
            );
            let laid = lay(&markup).unwrap();
            let right = 10.0 * crate::render::page::PT_PER_MM + 63.0;
            for op in &laid.pages[0].ops {
                if let Op::Text(r) = op {
                    for g in &r.glyphs {
                        let allowed =
                            if hanging && kinsoku::may_hang(g.text.chars().next().unwrap()) {
                                right + r.size
                            } else {
                                right
                            };
                        assert!(g.x + r.size <= allowed + 0.01, "{} overflows", g.text);
                    }
                }
            }
            assert_eq!(para_lines(&laid.pages[0]).concat(), text);
        }
    }

    #[test]
    fn explicit_breaks_and_indent() {
        let laid = lay(r#"<form><page><para x="0mm" y="0mm" w="100mm" indent="1em">一行目<br/>二行目</para></page></form>"#)
            .unwrap();
        let t = texts(&laid.pages[0]);
        assert_eq!(t.len(), 2);
        assert!(t[1].0 > t[0].0);
        let Op::Text(r) = &laid.pages[0].ops[0] else {
            panic!()
        };
        assert!((r.glyphs[0].x - 10.5).abs() < 0.01);
    }

    #[test]
    fn table_draws_grid_and_cells() {
        let laid = lay(r#"<form><page><table x="10mm" y="10mm" columns="30mm 60mm" row-height="10mm" border="0.5pt">
            <row><cell align="distribute">氏名</cell><cell>山田 太郎</cell></row>
            <row><cell colspan="2">備考</cell></row></table></page></form>"#)
        .unwrap();
        let ops = &laid.pages[0].ops;
        let lines: Vec<_> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Line { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect();
        // Three full-width rules, two full-height sides, and the divider of
        // row 1 only (row 2 spans both columns).
        assert_eq!(lines.len(), 6, "{lines:?}");
        let mm = crate::render::page::PT_PER_MM;
        let divider = lines
            .iter()
            .find(|(f, t)| (f.0 - 40.0 * mm).abs() < 0.01 && (t.0 - 40.0 * mm).abs() < 0.01)
            .expect("divider");
        assert!((divider.1 .1 - 20.0 * mm).abs() < 0.3, "{divider:?}");
        assert_eq!(texts(&laid.pages[0]).len(), 3);
    }

    /// A form whose first page holds a continuing table of `rows` rows of
    /// 100 mm (two to an A4 page), followed by one more `<page>`.
    fn long_table(rows: usize) -> Form {
        let body = "<row><cell>明細</cell></row>".repeat(rows);
        form::parse(&format!(
            "<form size=\"A4\"><page><table x=\"10mm\" y=\"10mm\" columns=\"50mm\" \
             row-height=\"100mm\" overflow=\"continue\">{body}</table></page>\
             <page><text x=\"10mm\" y=\"10mm\">以上</text></page></form>"
        ))
        .unwrap()
    }

    #[test]
    fn continuation_pages_count_against_the_page_limit() {
        let fonts = fonts();
        let images = ImageSet::default();
        // 8 rows: 4 table pages + the last page = 5 pages, the limit.
        let laid = layout_limited(&long_table(8), &fonts, &images, 5).unwrap();
        assert_eq!(laid.pages.len(), 5);
        // 9 rows need a fifth table page: 6 pages, one too many.
        let e = layout_limited(&long_table(9), &fonts, &images, 5).unwrap_err();
        assert!(
            matches!(e, LayoutError::TooManyPages { limit: 5, pos } if pos.line == 1),
            "{e:?}"
        );
        assert_eq!(e.code(), "E_TOO_MANY_PAGES");
        assert!(e.is_data_error());
        let msg = e.to_string();
        assert!(
            msg.contains("上限 5 ページ") && msg.contains("too many pages"),
            "{msg}"
        );
        assert!(
            !msg.contains("明細"),
            "no record data in the message: {msg}"
        );
        // The real limit: 2 × 99 rows fill 99 pages, + 1 = 100; one more row is 101.
        let laid = layout(&long_table(2 * (MAX_PAGES - 1)), &fonts, &images).unwrap();
        assert_eq!(laid.pages.len(), MAX_PAGES);
        let e = layout(&long_table(2 * (MAX_PAGES - 1) + 1), &fonts, &images).unwrap_err();
        assert!(matches!(
            e,
            LayoutError::TooManyPages {
                limit: MAX_PAGES,
                ..
            }
        ));
    }

    #[test]
    fn fallback_chain_takes_the_next_font() {
        // 'A' resolved from the first font of the chain; unknown slot is a template error.
        let e = lay("<form><page><text x=\"0mm\" y=\"0mm\" font=\"nosuch\">A</text></page></form>")
            .unwrap_err();
        assert_eq!(e.code(), "E_TEMPLATE_FONT");
        assert!(!e.is_data_error());
    }
}
