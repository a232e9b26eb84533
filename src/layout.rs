//! The layout stage: a typed [`Form`] → [`Page`]s of positioned operations.
//!
//! Text is measured with the batch's [`FontSet`] (per-character fallback along
//! the slot's chain), broken into lines by UAX #14 with the strict JLREQ
//! kinsoku lists of [`crate::kinsoku`] enforced on top, aligned (left, centre,
//! right, 均等割付, justified) and fitted to its box by the element's `fit`
//! rule. Nothing overflows silently: text that does not fit and cannot shrink
//! enough, and a character that no font has, are [`LayoutError`]s, which the
//! batch turns into a reject of the record.

use crate::fonts::FontSet;
use crate::form::{
    Align, Element, Fit, Form, FormPage, ImageEl, ParaBox, Pos, Run, Table, TableCell, TextBox,
    VAlign,
};
use crate::image::ImageSet;
use crate::kinsoku;
use crate::page::{Color, FontId, Glyph, GlyphRun, Op, Page, Stroke};
use std::fmt;

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
}

impl LayoutError {
    /// Stable machine code for rejects and logs.
    pub fn code(&self) -> &'static str {
        match self {
            LayoutError::MissingGlyph { .. } => "E_GLYPH_MISSING",
            LayoutError::Overflow { .. } => "E_LAYOUT_OVERFLOW",
            LayoutError::UnknownFont { .. } => "E_TEMPLATE_FONT",
            LayoutError::UnknownImage { .. } => "E_TEMPLATE_IMAGE",
        }
    }

    /// Whether the error comes from the record's data (a reject) rather than
    /// from the template (a job error that stops the batch).
    pub fn is_data_error(&self) -> bool {
        matches!(
            self,
            LayoutError::MissingGlyph { .. } | LayoutError::Overflow { .. }
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
        }
    }
}

impl std::error::Error for LayoutError {}

/// A laid-out document: its pages and any warnings for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Laid {
    /// Pages.
    pub pages: Vec<Page>,
    /// Non-fatal notes (e.g. a variation sequence printed as its base character).
    pub warnings: Vec<String>,
}

/// Lays out a whole form.
pub fn layout(form: &Form, fonts: &FontSet, images: &ImageSet) -> Result<Laid, LayoutError> {
    let mut out = Laid {
        pages: Vec::with_capacity(form.pages.len()),
        warnings: Vec::new(),
    };
    for fp in &form.pages {
        let page = layout_page(fp, fonts, images, &mut out.warnings)?;
        out.pages.push(page);
    }
    Ok(out)
}

fn layout_page(
    fp: &FormPage,
    fonts: &FontSet,
    images: &ImageSet,
    warnings: &mut Vec<String>,
) -> Result<Page, LayoutError> {
    let mut ctx = Ctx {
        fonts,
        ops: Vec::new(),
        warnings,
    };
    for el in &fp.elements {
        match el {
            Element::Text(t) => ctx.text(t)?,
            Element::Para(p) => ctx.para(p)?,
            Element::Table(t) => ctx.table(t)?,
            Element::Line(l) => ctx.ops.push(Op::Line {
                from: (l.x1, l.y1),
                to: (l.x2, l.y2),
                stroke: Stroke {
                    width: l.width,
                    color: l.color,
                    dash: l.dash.clone(),
                },
            }),
            Element::Rect(r) => ctx.ops.push(Op::Rect {
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
            }),
            Element::Image(i) => ctx.image(i, images)?,
        }
    }
    Ok(Page {
        width: fp.width,
        height: fp.height,
        ops: ctx.ops,
    })
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
    /// Letter spacing after this character.
    spacing: f32,
    ascent: f32,
    descent: f32,
    color: Color,
    underline: bool,
    /// Whether a line may break before this item.
    break_before: bool,
    /// An explicit line break (not drawn).
    hard_break: bool,
}

impl Item {
    fn is_space(&self) -> bool {
        self.ch == ' '
    }
}

/// Text laid into lines: per line, the items and their x offsets.
struct Lines {
    lines: Vec<Line>,
}

struct Line {
    items: Vec<Item>,
    /// x of each item relative to the line start.
    xs: Vec<f32>,
    /// Line width (without hanging punctuation overflow beyond `w`, which may exceed it).
    width: f32,
    ascent: f32,
    descent: f32,
    size: f32,
}

struct Ctx<'a, 'w> {
    fonts: &'a FontSet,
    ops: Vec<Op>,
    warnings: &'w mut Vec<String>,
}

/// Variation selectors: VS1–VS16 and VS17–VS256.
fn is_variation_selector(c: char) -> bool {
    matches!(c as u32, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

impl Ctx<'_, '_> {
    /// Shapes runs into items at `scale` × their size.
    fn shape(&mut self, runs: &[Run], scale: f32, pos: Pos) -> Result<Vec<Item>, LayoutError> {
        let mut text = String::new();
        for r in runs {
            text.push_str(&r.text);
        }
        // Break opportunities (UAX #14) by byte offset.
        let mut uax_breaks = vec![false; text.len() + 1];
        for (i, _) in unicode_linebreak::linebreaks(&text) {
            uax_breaks[i] = true;
        }
        let mut items: Vec<Item> = Vec::with_capacity(text.len() / 3 + 1);
        let mut offset = 0;
        for r in runs {
            let chain =
                self.fonts
                    .chain(&r.style.font)
                    .ok_or_else(|| LayoutError::UnknownFont {
                        pos,
                        slot: r.style.font.clone(),
                    })?;
            let size = r.style.size * scale;
            let mut chars = r.text.char_indices().peekable();
            while let Some((i, ch)) = chars.next() {
                let at = offset + i;
                if ch == '\n' {
                    items.push(Item {
                        text: String::new(),
                        ch,
                        font: chain[0],
                        gid: 0,
                        advance: 0.0,
                        size,
                        spacing: 0.0,
                        ascent: 0.0,
                        descent: 0.0,
                        color: r.style.color,
                        underline: false,
                        break_before: false,
                        hard_break: true,
                    });
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
                let mut item_text = ch.to_string();
                let resolved = match selector {
                    Some(vs) => {
                        chars.next();
                        let with_vs = chain.iter().find_map(|id| {
                            self.fonts
                                .font(*id)
                                .variation_glyph(ch, vs)
                                .map(|g| (*id, g))
                        });
                        match with_vs {
                            Some(found) => {
                                item_text.push(vs);
                                Some(found)
                            }
                            None => {
                                self.warnings.push(format!(
                                    "異体字セレクタ U+{:04X} に対応するフォントがないため U+{:04X} の標準字形で印字しました (variation sequence printed as its base character)",
                                    vs as u32, ch as u32
                                ));
                                self.fonts.resolve(chain, ch)
                            }
                        }
                    }
                    None => self.fonts.resolve(chain, ch),
                };
                let (font_id, gid) = match resolved {
                    Some(found) => found,
                    None if ch.is_whitespace() && ch != '\u{3000}' => {
                        // A space the font lacks: use a third of an em of nothing.
                        let f = chain[0];
                        items.push(Item {
                            text: String::new(),
                            ch: ' ',
                            font: f,
                            gid: 0,
                            advance: size / 3.0,
                            size,
                            spacing: r.style.letter_spacing * scale,
                            ascent: 0.0,
                            descent: 0.0,
                            color: r.style.color,
                            underline: r.style.underline,
                            break_before: uax_breaks[at],
                            hard_break: false,
                        });
                        continue;
                    }
                    None => {
                        return Err(LayoutError::MissingGlyph {
                            pos,
                            ch,
                            slot: r.style.font.clone(),
                        })
                    }
                };
                let font = self.fonts.font(font_id);
                items.push(Item {
                    text: item_text,
                    ch,
                    font: font_id,
                    gid,
                    advance: font.advance(gid) * size,
                    size,
                    spacing: r.style.letter_spacing * scale,
                    ascent: font.ascent() * size,
                    descent: font.descent() * size,
                    color: r.style.color,
                    underline: r.style.underline,
                    break_before: uax_breaks[at],
                    hard_break: false,
                });
            }
            offset += r.text.len();
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

    /// Breaks items into lines no wider than `width` (the first line `indent` narrower).
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
                lines.push(make_line(Vec::new()));
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
                lines.push(line);
                first_line = false;
                start = end;
                // Spaces at the start of a continuation line vanish.
                while start < para.len() && para[start].is_space() {
                    start += 1;
                }
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
            let line = make_line(items);
            let fits = t.w.is_none_or(|w| line.width <= w + 0.01);
            if fits || matches!(t.fit, Fit::Clip) {
                let h = line.ascent - line.descent;
                let top = match t.h {
                    Some(bh) => t.y + (bh - h) / 2.0,
                    None => t.y,
                };
                let baseline = top + line.ascent;
                let w = t.w.unwrap_or(line.width);
                self.place_line(
                    line,
                    t.x,
                    w,
                    baseline,
                    t.align,
                    false,
                    t.w.filter(|_| !fits),
                );
                return Ok(());
            }
            match t.fit {
                Fit::Shrink { min_size } if base * scale - 0.25 >= min_size - 1e-4 => {
                    scale = (base * scale - 0.25) / base;
                }
                _ => {
                    return Err(LayoutError::Overflow {
                        pos: t.pos,
                        element: "text",
                    })
                }
            }
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
            if fits || matches!(p.fit, Fit::Clip) {
                self.place_lines(lines, p.x, p.y, p.w, p.line_height, p.align, p.h);
                return Ok(());
            }
            match p.fit {
                Fit::Shrink { min_size } if base * scale - 0.25 >= min_size - 1e-4 => {
                    scale = (base * scale - 0.25) / base;
                }
                _ => {
                    return Err(LayoutError::Overflow {
                        pos: p.pos,
                        element: "para",
                    })
                }
            }
        }
    }

    fn table(&mut self, t: &Table) -> Result<(), LayoutError> {
        let total_w: f32 = t.columns.iter().sum();
        let mut y = t.y;
        let stroke = Stroke {
            width: t.border,
            color: Color::BLACK,
            dash: Vec::new(),
        };
        let mut rules = Vec::new();
        for row in &t.rows {
            let mut col = 0;
            let mut x = t.x;
            for cell in &row.cells {
                let w: f32 = t.columns[col..col + cell.colspan].iter().sum();
                if let Some(fill) = cell.fill {
                    self.ops.push(Op::Rect {
                        x,
                        y,
                        w,
                        h: row.height,
                        stroke: None,
                        fill: Some(fill),
                        radius: 0.0,
                    });
                }
                self.cell(cell, x, y, w, row.height)?;
                x += w;
                col += cell.colspan;
                if t.border > 0.0 && col < t.columns.len() {
                    rules.push(((x, y), (x, y + row.height)));
                }
            }
            // Columns without cells still get their dividers.
            while col < t.columns.len() {
                x += t.columns[col];
                col += 1;
                if t.border > 0.0 && col < t.columns.len() {
                    rules.push(((x, y), (x, y + row.height)));
                }
            }
            y += row.height;
            if t.border > 0.0 && !std::ptr::eq(row, t.rows.last().expect("non-empty")) {
                rules.push(((t.x, y), (t.x + total_w, y)));
            }
        }
        if t.border > 0.0 && !t.rows.is_empty() {
            for (from, to) in rules {
                self.ops.push(Op::Line {
                    from,
                    to,
                    stroke: stroke.clone(),
                });
            }
            self.ops.push(Op::Rect {
                x: t.x,
                y: t.y,
                w: total_w,
                h: y - t.y,
                stroke: Some(stroke),
                fill: None,
                radius: 0.0,
            });
        }
        Ok(())
    }

    fn cell(&mut self, c: &TableCell, x: f32, y: f32, w: f32, h: f32) -> Result<(), LayoutError> {
        if c.runs.is_empty() {
            return Ok(());
        }
        let (pad_v, pad_h) = c.padding;
        let inner_w = (w - 2.0 * pad_h).max(1.0);
        let inner_h = (h - 2.0 * pad_v).max(1.0);
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
                    VAlign::Top => y + pad_v,
                    VAlign::Middle => y + (h - height) / 2.0,
                    VAlign::Bottom => y + h - pad_v - height,
                };
                self.place_lines(lines, x + pad_h, top, inner_w, c.line_height, c.align, None);
                return Ok(());
            }
            match c.fit {
                Fit::Shrink { min_size } if base * scale - 0.25 >= min_size - 1e-4 => {
                    scale = (base * scale - 0.25) / base;
                }
                _ => {
                    return Err(LayoutError::Overflow {
                        pos: c.pos,
                        element: "cell",
                    })
                }
            }
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
        let (w, h) = match (i.w, i.h) {
            (Some(w), Some(h)) => (w, h),
            (Some(w), None) => (w, w * aspect),
            (None, Some(h)) => (h / aspect, h),
            (None, None) => (img.width as f32 * 0.75, img.height as f32 * 0.75),
        };
        self.ops.push(Op::Image {
            id,
            x: i.x,
            y: i.y,
            w,
            h,
        });
        Ok(())
    }

    /// Places lines starting at `top`, each `line_height` × its size apart.
    #[allow(clippy::too_many_arguments)]
    fn place_lines(
        &mut self,
        lines: Lines,
        x: f32,
        top: f32,
        w: f32,
        line_height: f32,
        align: Align,
        clip_h: Option<f32>,
    ) {
        let mut y = top;
        let n = lines.lines.len();
        let mut ends_paragraph = vec![false; n];
        // A line ends a paragraph if it is the last, or followed by a hard break.
        // make_line does not keep hard breaks, so treat only the last line so.
        if n > 0 {
            ends_paragraph[n - 1] = true;
        }
        for (i, line) in lines.lines.into_iter().enumerate() {
            let lh = line.size.max(1.0) * line_height;
            if let Some(h) = clip_h {
                if y + lh > top + h + 0.01 {
                    break;
                }
            }
            let glyph_h = line.ascent - line.descent;
            let baseline = y + (lh - glyph_h) / 2.0 + line.ascent;
            self.place_line(line, x, w, baseline, align, ends_paragraph[i], None);
            y += lh;
        }
    }

    /// Places one line at `baseline` within `[x, x + w]`.
    #[allow(clippy::too_many_arguments)]
    fn place_line(
        &mut self,
        line: Line,
        x: f32,
        w: f32,
        baseline: f32,
        align: Align,
        last_of_para: bool,
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
            Align::Justify => {
                if n > 1 && !last_of_para && extra > 0.0 {
                    (0.0, extra / (n - 1) as f32)
                } else {
                    (0.0, 0.0)
                }
            }
        };
        let mut run: Option<GlyphRun> = None;
        let mut underline: Option<(f32, f32, f32)> = None; // (x0, x1, size)
        for (i, (item, ix)) in line.items.iter().zip(line.xs.iter()).enumerate() {
            let gx = x + start + ix + gap * i as f32;
            if let Some(cw) = clip_w {
                if gx + item.advance > x + cw + 0.01 {
                    break;
                }
            }
            if item.underline {
                let end = gx + item.advance;
                underline = match underline {
                    Some((x0, _, s)) => Some((x0, end, s.max(item.size))),
                    None => Some((gx, end, item.size)),
                };
            } else if let Some(u) = underline.take() {
                self.underline(u, baseline);
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
    }

    fn underline(&mut self, (x0, x1, size): (f32, f32, f32), baseline: f32) {
        let y = baseline + size * 0.12;
        self.ops.push(Op::Line {
            from: (x0, y),
            to: (x1, y),
            stroke: Stroke {
                width: size * 0.05,
                color: Color::BLACK,
                dash: Vec::new(),
            },
        });
    }
}

/// Computes item offsets and the line's metrics. Letter spacing follows every
/// character but the last, so spaced titles stay centred.
fn make_line(items: Vec<Item>) -> Line {
    let mut xs = Vec::with_capacity(items.len());
    let mut x = 0.0;
    let (mut ascent, mut descent, mut size) = (0.0f32, 0.0f32, 0.0f32);
    for (i, it) in items.iter().enumerate() {
        xs.push(x);
        x += it.advance;
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
        let end = x + it.advance;
        if end > avail + 0.01 && !it.is_space() {
            // ぶら下げ: a closing 。、 may hang past the edge.
            if hanging && kinsoku::may_hang(it.ch) && i > start {
                return i + 1;
            }
            // Last allowed break at or before i.
            let mut b = i;
            while b > start && !items[b].break_before {
                b -= 1;
            }
            if b > start {
                return b;
            }
            // No break opportunity (a long word): force one, but never put a
            // line-start-prohibited character first (追い出し).
            let mut f = i.max(start + 1);
            while f > start + 1 && f < items.len() && kinsoku::no_line_start(items[f].ch) {
                f -= 1;
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
    use crate::form;
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
        let mm = crate::page::PT_PER_MM;
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
        assert!((r.glyphs[1].x + 10.5 - 30.0 * crate::page::PT_PER_MM).abs() < 0.01);
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
        assert!(last.x + r.size <= 50.0 * crate::page::PT_PER_MM + 0.01);
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
                    crate::template::escape_xml(&text)
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
                crate::template::escape_xml(&text)
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
            let right = 10.0 * crate::page::PT_PER_MM + 63.0;
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
        let lines = ops.iter().filter(|o| matches!(o, Op::Line { .. })).count();
        // One divider in row 1, none in row 2 (colspan), one horizontal rule.
        assert_eq!(lines, 2);
        assert!(ops.iter().any(|o| matches!(o, Op::Rect { .. })));
        assert_eq!(texts(&laid.pages[0]).len(), 3);
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
