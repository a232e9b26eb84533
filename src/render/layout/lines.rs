//! Lines: breaking shaped items into lines (UAX #14 with the JLREQ kinsoku
//! rules on top, hanging punctuation) and placing them on the page with
//! their alignment, underlines and ruby.
//!
//! May use `crate::render` (kinsoku, form, page).

use super::shaping::{Item, Ruby, GLYPH_TOP, RUBY_GAP};
use super::Ctx;
use crate::render::form::Align;
use crate::render::kinsoku;
use crate::render::page::{Color, Glyph, GlyphRun, Op, Stroke};

/// Where a block of lines goes: left edge `x`, `top`, width `w`, line
/// height as a multiple of each line's size, alignment, and an optional clip
/// (width, height) past which lines and glyphs are left out.
#[derive(Clone, Copy)]
pub(super) struct LineFrame {
    pub(super) x: f32,
    pub(super) top: f32,
    pub(super) w: f32,
    pub(super) line_height: f32,
    pub(super) align: Align,
    pub(super) clip: Option<(f32, f32)>,
}

/// Text laid into lines.
pub(super) struct Lines {
    pub(super) lines: Vec<Line>,
}

pub(super) struct Line {
    pub(super) items: Vec<Item>,
    /// x of each glyph origin relative to the line start.
    pub(super) xs: Vec<f32>,
    /// Line width (hanging punctuation included, so it may exceed the box).
    pub(super) width: f32,
    pub(super) ascent: f32,
    pub(super) descent: f32,
    pub(super) size: f32,
    /// Whether the line ends a paragraph (last line, or before `<br/>`):
    /// such lines are not stretched by `justify`.
    pub(super) para_end: bool,
}

/// Computes glyph offsets and the line's metrics. Letter spacing follows every
/// character but the last, so spaced titles stay centred.
pub(super) fn make_line(items: Vec<Item>) -> Line {
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
pub(super) fn line_fits(line: &Line, w: f32, hanging: bool) -> bool {
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

pub(super) fn lines_height(lines: &Lines, line_height: f32) -> f32 {
    lines
        .lines
        .iter()
        .map(|l| l.size.max(1.0) * line_height)
        .sum()
}

/// Where a line ends, and how much its punctuation must be squeezed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct LineEnd {
    /// The first item of the next line.
    pub(super) end: usize,
    /// Points to take from the line's punctuation (追い込み), 0 when none.
    pub(super) squeeze: f32,
}

impl LineEnd {
    fn at(end: usize) -> LineEnd {
        LineEnd { end, squeeze: 0.0 }
    }
}

/// Finds where the line starting at `start` ends, `avail` points wide. When
/// a character that may not start a line would have to (or one that may
/// not end one would end it), JLREQ's resolutions are tried in order:
/// ぶら下げ (hanging 。、．， past the edge, when enabled, and only when the
/// next line may start after it), 追い込み (pulling the characters up to
/// the next break back onto the line by squeezing the blank halves of its
/// full-width punctuation), 追い出し (pushing the last characters down to
/// the last allowed break), and only when the strict rules leave no break
/// in the line at all, a break under the relaxed rules. A word or number
/// longer than the line is never split: the line comes out too wide and the
/// box's fit rule decides.
pub(super) fn find_line_end(items: &[Item], start: usize, avail: f32, hanging: bool) -> LineEnd {
    let mut x = 0.0;
    let mut i = start;
    while i < items.len() {
        let it = &items[i];
        let end = x + it.pre + it.advance + it.post;
        if end > avail + 0.01 && !it.is_space() {
            let next_may_start = items.get(i + 1).is_none_or(|n| n.break_before);
            if hanging && kinsoku::may_hang(it.ch) && i > start && next_may_start {
                return LineEnd::at(i + 1);
            }
            // The next strict break after i: the line would have to reach it.
            let mut f = i + 1;
            while f < items.len() && !items[f].break_before {
                f += 1;
            }
            // 追い込み only where the line may not break before i (a
            // legal break is taken as it is).
            if !it.break_before {
                if let Some(squeeze) = squeeze_to_fit(&items[start..f], avail) {
                    return LineEnd { end: f, squeeze };
                }
            }
            let last_break =
                |allowed: fn(&Item) -> bool| (start + 1..=i).rev().find(|&b| allowed(&items[b]));
            if let Some(b) = last_break(|it| it.break_before) {
                return LineEnd::at(b);
            }
            if let Some(b) = last_break(|it| it.relaxed_break) {
                return LineEnd::at(b);
            }
            return LineEnd::at(f);
        }
        x = end + it.spacing;
        i += 1;
    }
    LineEnd::at(items.len())
}

/// How many points `line` must give up to fit `avail`, when its full-width
/// punctuation can give that up (`None` when it cannot, or when the line
/// already fits). Trailing spaces do not count: they vanish at a line end.
fn squeeze_to_fit(line: &[Item], avail: f32) -> Option<f32> {
    let kept = line.len() - line.iter().rev().take_while(|i| i.is_space()).count();
    let line = &line[..kept];
    let width = make_line(line.to_vec()).width;
    let need = width - avail;
    let room: f32 = line.iter().map(squeeze_room).sum();
    (need > 0.01 && need <= room + 0.01).then_some(need)
}

/// Points a full-width punctuation item may give up (its blank halves).
fn squeeze_room(it: &Item) -> f32 {
    match kinsoku::squeezable(it.ch) {
        Some((before, after)) if it.advance >= it.size * 0.9 => (before + after) * it.size,
        _ => 0.0,
    }
}

/// Takes `squeeze` points from the punctuation of `line`, each mark giving
/// its share of what all can give, from the side where its blank is.
fn apply_squeeze(line: &mut [Item], squeeze: f32) {
    let room: f32 = line.iter().map(squeeze_room).sum();
    if squeeze <= 0.0 || room <= 0.0 {
        return;
    }
    let share = (squeeze / room).min(1.0);
    for it in line.iter_mut() {
        if squeeze_room(it) == 0.0 {
            continue;
        }
        if let Some((before, after)) = kinsoku::squeezable(it.ch) {
            it.pre -= before * it.size * share;
            it.post -= after * it.size * share;
        }
    }
}

impl Ctx<'_> {
    /// Breaks items into lines no wider than `width` (the first line `indent`
    /// narrower). A word longer than the line is not split: its line comes out
    /// too wide and the caller's fit rule decides.
    pub(super) fn break_lines(
        &self,
        items: Vec<Item>,
        width: f32,
        indent: f32,
        hanging: bool,
    ) -> Lines {
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
                let LineEnd { end, squeeze } = find_line_end(&para, start, avail, hanging);
                let mut slice: Vec<Item> = para[start..end].to_vec();
                while slice.last().is_some_and(|i| i.is_space()) {
                    slice.pop();
                }
                apply_squeeze(&mut slice, squeeze);
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

    /// Places lines starting at `top`, each `line_height` × its size apart.
    /// With `clip` (width, height), lines below the height and glyphs past
    /// the width are left out.
    pub(super) fn place_lines(&mut self, lines: Lines, frame: &LineFrame) {
        let LineFrame {
            x,
            top,
            w,
            line_height,
            align,
            clip,
        } = *frame;
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
    pub(super) fn place_line(
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
        let gxs = glyph_xs(&line, x, w, align);
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
        self.place_rubies(rubies, baseline);
    }

    /// Draws the ruby of a line: (ruby, centre x, base size) each, above
    /// `baseline`, one glyph run per font.
    fn place_rubies(&mut self, rubies: Vec<(Box<Ruby>, f32, f32)>, baseline: f32) {
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

    pub(super) fn underline(
        &mut self,
        (x0, x1, size, color): (f32, f32, f32, Color),
        baseline: f32,
    ) {
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

/// The x of each glyph of `line` set in `[x, x + w]` with `align`.
fn glyph_xs(line: &Line, x: f32, w: f32, align: Align) -> Vec<f32> {
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
    line.xs
        .iter()
        .enumerate()
        .map(|(i, ix)| x + start + ix + gap * slots[i] as f32)
        .collect()
}
