//! `<text>` and `<para>` boxes: lines fitted to the box by the element's
//! `fit` rule (shrink, reject or clip); a `<para break="address">` breaks
//! its lines as an address (`address`).
//!
//! May use `crate::render` (form).

use super::address::break_address;
use super::lines::{line_fits, lines_height, make_line, LineFrame};
use super::shaping::Item;
use super::{Ctx, LayoutError};
use crate::render::form::{Align, Fit, LineBreaking, ParaBox, Pos, TextBox, VAlign};
use crate::render::page::Op;

impl Ctx<'_> {
    pub(super) fn text(&mut self, t: &TextBox) -> Result<(), LayoutError> {
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
    pub(super) fn shrink(
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

    pub(super) fn para(&mut self, p: &ParaBox) -> Result<(), LayoutError> {
        let base = p.runs.first().map(|r| r.style.size).unwrap_or(10.5);
        let kinds = match &p.breaking {
            LineBreaking::Address { postal } => {
                Some(self.address_kinds(&p.runs, postal.as_deref())?)
            }
            LineBreaking::Text => None,
        };
        let mut scale = 1.0;
        loop {
            let items = self.shape(&p.runs, scale, p.pos)?;
            let address = kinds.as_ref().and_then(|k| break_address(&items, p.w, k));
            let lines = match address {
                Some(lines) => lines,
                None => self.break_lines(items, p.w, p.indent, p.hanging),
            };
            let height = lines_height(&lines, p.line_height);
            let fits = p.h.is_none_or(|h| height <= h + 0.01)
                && lines.lines.iter().all(|l| line_fits(l, p.w, p.hanging));
            if fits {
                self.place_lines(
                    lines,
                    &LineFrame {
                        x: p.x,
                        top: p.y,
                        w: p.w,
                        line_height: p.line_height,
                        align: p.align,
                        clip: None,
                    },
                );
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
                self.place_lines(
                    lines,
                    &LineFrame {
                        x: p.x,
                        top: p.y,
                        w: p.w,
                        line_height: p.line_height,
                        align: p.align,
                        clip: Some((p.w, h)),
                    },
                );
                self.ops.push(Op::ClipEnd);
                return Ok(());
            }
            scale = self.shrink(p.fit, base, scale, p.pos, "para")?;
        }
    }
}
