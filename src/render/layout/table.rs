//! Tables: row heights, continuation pages with repeated header rows, cell
//! contents, fills and borders.
//!
//! May use `crate::render` (form, page).

use super::lines::{line_fits, lines_height, LineFrame};
use super::{Ctx, LayoutError};
use crate::render::form::{Fit, Table, TableCell, VAlign};
use crate::render::page::{Op, Stroke};
use std::collections::BTreeMap;

/// A table rule: from, to, width.
pub(super) type Rule = ((f32, f32), (f32, f32), f32);

impl Ctx<'_> {
    pub(super) fn table(&mut self, t: &Table) -> Result<(), LayoutError> {
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
    pub(super) fn table_fragment(
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

    pub(super) fn cell(
        &mut self,
        c: &TableCell,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    ) -> Result<(), LayoutError> {
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
                    self.place_lines(
                        lines,
                        &LineFrame {
                            x: x + pad_l,
                            top,
                            w: inner_w,
                            line_height: c.line_height,
                            align: c.align,
                            clip: None,
                        },
                    );
                } else {
                    let top = top.max(y + pad_t);
                    self.ops.push(Op::ClipBegin { x, y, w, h });
                    let bottom_room = y + h - pad_b - top;
                    self.place_lines(
                        lines,
                        &LineFrame {
                            x: x + pad_l,
                            top,
                            w: inner_w,
                            line_height: c.line_height,
                            align: c.align,
                            clip: Some((inner_w, bottom_room)),
                        },
                    );
                    self.ops.push(Op::ClipEnd);
                }
                return Ok(());
            }
            scale = self.shrink(c.fit, base, scale, c.pos, "cell")?;
        }
    }
}
