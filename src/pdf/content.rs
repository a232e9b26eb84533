//! Page content streams: the ops of a [`Page`] as PDF operators, with the
//! graphics state tracked so that operators are only written when a value
//! changes, text as `TJ` arrays of 2-byte CIDs, and rectangle paths.
//!
//! Pages use top-left based coordinates with y down (see
//! [`crate::render::page`]); the content stream flips them:
//! `y_pdf = page.height - y`.
//!
//! May use `crate::render::page` (the ops) and the sibling `font` module (CIDs and
//! widths of the embedded fonts).

use super::font::EmbeddedFont;
use super::round;
use crate::render::page::{Color, FontId, GlyphRun, Op, Page, Stroke};
use std::collections::BTreeMap;

/// A glyph further than this many ems from the pen starts a new `Td`
/// instead of a `TJ` adjustment.
const TD_GAP_EM: f32 = 4.0;

/// Reusable buffers for content generation.
#[derive(Default)]
pub(super) struct Scratch {
    glyph_bytes: Vec<u8>,
    items: Vec<TjItem>,
}

/// One element of a `TJ` array: a byte range of `Scratch::glyph_bytes` or an adjustment.
enum TjItem {
    Glyphs(usize, usize),
    Adjust(f32),
}

/// Graphics state tracked while writing a content stream, so that
/// operators are only emitted when a value changes.
#[derive(Clone)]
struct GState {
    font: Option<(FontId, f32)>,
    fill: Color,
    stroke: Color,
    line_width: f32,
    dash: Vec<f32>,
    in_text: bool,
}

impl GState {
    fn new() -> Self {
        GState {
            font: None,
            fill: Color::BLACK,
            stroke: Color::BLACK,
            line_width: 1.0,
            dash: Vec::new(),
            in_text: false,
        }
    }

    fn end_text(&mut self, c: &mut Content) {
        if self.in_text {
            c.end_text();
            self.in_text = false;
        }
    }

    fn set_fill(&mut self, c: &mut Content, color: Color) {
        if self.fill != color {
            c.set_fill_rgb(round(color.r), round(color.g), round(color.b));
            self.fill = color;
        }
    }

    fn set_stroke(&mut self, c: &mut Content, s: &Stroke) {
        if self.stroke != s.color {
            let k = s.color;
            c.set_stroke_rgb(round(k.r), round(k.g), round(k.b));
            self.stroke = k;
        }
        if self.line_width != s.width {
            c.set_line_width(round(s.width));
            self.line_width = s.width;
        }
        if self.dash != s.dash {
            c.set_dash_pattern(s.dash.iter().map(|d| round(*d)), 0.0);
            self.dash.clone_from(&s.dash);
        }
    }
}

/// The uncompressed content stream of one page, naming the embedded
/// `fonts` by their resource names and images by their resource index
/// (`Im{index}`, by image id in `images`).
pub(super) fn page_content(
    page: &Page,
    fonts: &BTreeMap<FontId, EmbeddedFont>,
    images: &BTreeMap<usize, usize>,
    scratch: &mut Scratch,
) -> Vec<u8> {
    let h = page.height;
    let mut c = Content::with_capacity(4096);
    let mut gs = GState::new();
    let mut clips: Vec<GState> = Vec::new();
    for op in &page.ops {
        match op {
            Op::Text(run) => {
                if run.glyphs.is_empty() {
                    continue;
                }
                // Usage::collect guarantees the font is embedded.
                let Some(font) = fonts.get(&run.font) else {
                    continue;
                };
                if !gs.in_text {
                    c.begin_text();
                    gs.in_text = true;
                }
                write_run(&mut c, &mut gs, run, font, h, scratch);
            }
            Op::Line { from, to, stroke } => {
                gs.end_text(&mut c);
                gs.set_stroke(&mut c, stroke);
                c.move_to(round(from.0), round(h - from.1))
                    .line_to(round(to.0), round(h - to.1))
                    .stroke();
            }
            Op::Rect {
                x,
                y,
                w,
                h: rh,
                stroke,
                fill,
                radius,
            } => {
                if stroke.is_none() && fill.is_none() {
                    continue;
                }
                gs.end_text(&mut c);
                if let Some(s) = stroke {
                    gs.set_stroke(&mut c, s);
                }
                if let Some(f) = fill {
                    gs.set_fill(&mut c, *f);
                }
                let (x0, x1) = (x.min(x + w), x.max(x + w));
                let (top, bottom) = (y.min(y + rh), y.max(y + rh));
                rect_path(&mut c, x0, h - bottom, x1, h - top, *radius);
                match (stroke.is_some(), fill.is_some()) {
                    (true, true) => c.fill_nonzero_and_stroke(),
                    (false, true) => c.fill_nonzero(),
                    _ => c.stroke(),
                };
            }
            Op::Image { id, x, y, w, h: ih } => {
                let Some(index) = images.get(&id.0) else {
                    continue;
                };
                gs.end_text(&mut c);
                c.save_state()
                    .transform([
                        round(*w),
                        0.0,
                        0.0,
                        round(*ih),
                        round(*x),
                        round(h - y - ih),
                    ])
                    .x_object(&format!("Im{index}"))
                    .restore_state();
            }
            Op::ClipBegin { x, y, w, h: ch } => {
                // q, then the clip rectangle as `re W n`; Q at ClipEnd
                // restores the state, so the tracked state is saved too.
                gs.end_text(&mut c);
                c.save_state();
                clips.push(gs.clone());
                c.rect(round(*x), round(h - y - ch), round(*w), round(*ch));
                c.op("W");
                c.op("n");
            }
            Op::ClipEnd => {
                if let Some(saved) = clips.pop() {
                    gs.end_text(&mut c);
                    c.restore_state();
                    gs = saved;
                }
            }
        }
    }
    gs.end_text(&mut c);
    // An unbalanced ClipBegin still gets its Q.
    while clips.pop().is_some() {
        c.restore_state();
    }
    c.finish()
}

/// Appends a closed rectangle path with optional rounded corners (PDF
/// coordinates, `x0 < x1`, `y0 < y1`).
fn rect_path(c: &mut Content, x0: f32, y0: f32, x1: f32, y1: f32, radius: f32) {
    let r = radius.min((x1 - x0) / 2.0).min((y1 - y0) / 2.0).max(0.0);
    if r <= 0.0 {
        c.rect(round(x0), round(y0), round(x1 - x0), round(y1 - y0));
        return;
    }
    // Quarter circle by one cubic Bézier: control points at k·r.
    let k = r * 0.552_284_7;
    let p = round;
    c.move_to(p(x0 + r), p(y0))
        .line_to(p(x1 - r), p(y0))
        .cubic_to(p(x1 - r + k), p(y0), p(x1), p(y0 + r - k), p(x1), p(y0 + r))
        .line_to(p(x1), p(y1 - r))
        .cubic_to(p(x1), p(y1 - r + k), p(x1 - r + k), p(y1), p(x1 - r), p(y1))
        .line_to(p(x0 + r), p(y1))
        .cubic_to(p(x0 + r - k), p(y1), p(x0), p(y1 - r + k), p(x0), p(y1 - r))
        .line_to(p(x0), p(y0 + r))
        .cubic_to(p(x0), p(y0 + r - k), p(x0 + r - k), p(y0), p(x0 + r), p(y0))
        .close_path();
}

/// Writes one glyph run inside a text object: `Tf` and colour when they
/// change, `Tm` at the first glyph, then `TJ` arrays whose adjustments put
/// every glyph exactly at its `x` (a `Td` for large jumps).
fn write_run(
    c: &mut Content,
    gs: &mut GState,
    run: &GlyphRun,
    font: &EmbeddedFont,
    page_h: f32,
    s: &mut Scratch,
) {
    let size = round(run.size);
    if gs.font != Some((run.font, size)) {
        c.set_font(&font.res_name, size);
        gs.font = Some((run.font, size));
    }
    gs.set_fill(c, run.color);
    let mut line_x = round(run.glyphs[0].x);
    let y = round(page_h - run.baseline);
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, line_x, y]);
    // Pen position in points as the viewer computes it.
    let mut pen = line_x;
    s.glyph_bytes.clear();
    s.items.clear();
    let mut start = 0;
    let em = size / 1000.0;
    for (i, g) in run.glyphs.iter().enumerate() {
        let (new, width) = font.glyph(g.gid);
        if i > 0 {
            let delta = g.x - pen;
            if size > 0.0 && delta.abs() > TD_GAP_EM * size {
                // Flush and move the line start.
                if s.glyph_bytes.len() > start {
                    s.items.push(TjItem::Glyphs(start, s.glyph_bytes.len()));
                    start = s.glyph_bytes.len();
                }
                flush_tj(c, s);
                let x = round(g.x);
                c.next_line(round(x - line_x), 0.0);
                line_x = x;
                pen = x;
            } else if size > 0.0 {
                // TJ numbers are thousandths of an em, subtracted from the pen.
                let adj = (-delta / em * 100.0).round() / 100.0;
                if adj != 0.0 {
                    if s.glyph_bytes.len() > start {
                        s.items.push(TjItem::Glyphs(start, s.glyph_bytes.len()));
                        start = s.glyph_bytes.len();
                    }
                    s.items.push(TjItem::Adjust(adj));
                    pen -= adj * em;
                }
            }
        }
        s.glyph_bytes.extend_from_slice(&new.to_be_bytes());
        pen += width * em;
    }
    if s.glyph_bytes.len() > start {
        s.items.push(TjItem::Glyphs(start, s.glyph_bytes.len()));
    }
    flush_tj(c, s);
}

/// Writes the pending `TJ` items (if any) and clears them.
fn flush_tj(c: &mut Content, s: &mut Scratch) {
    if s.items.is_empty() {
        return;
    }
    c.buf.push(b'[');
    for (i, item) in s.items.iter().enumerate() {
        match *item {
            TjItem::Glyphs(a, b) => c.hex(&s.glyph_bytes[a..b]),
            TjItem::Adjust(v) => {
                if i > 0 {
                    c.buf.push(b' ');
                }
                c.num_raw(v);
                c.buf.push(b' ');
            }
        }
    }
    c.buf.extend_from_slice(b"]TJ\n");
    s.items.clear();
}

/// A minimal content-stream writer: operands are numbers rounded to 1/1000
/// and formatted without exponent or trailing zeros, glyph strings are
/// hex, one operator per line. (pdf-writer's `Content` would write 2-byte
/// glyph ids below 128 as octal escapes, twice the size of hex.)
struct Content {
    buf: Vec<u8>,
}

impl Content {
    fn with_capacity(n: usize) -> Self {
        Content {
            buf: Vec::with_capacity(n),
        }
    }

    fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// Appends a number (rounded to 1/1000) without a trailing space.
    fn num_raw(&mut self, v: f32) {
        let m = (v as f64 * 1000.0).round() as i64;
        if m < 0 {
            self.buf.push(b'-');
        }
        let m = m.unsigned_abs();
        let (int, frac) = (m / 1000, m % 1000);
        let mut digits = [0u8; 20];
        let mut n = 0;
        let mut x = int;
        loop {
            digits[n] = b'0' + (x % 10) as u8;
            n += 1;
            x /= 10;
            if x == 0 {
                break;
            }
        }
        self.buf.extend(digits[..n].iter().rev());
        if frac != 0 {
            self.buf.push(b'.');
            let f = [frac / 100, frac / 10 % 10, frac % 10];
            let keep = if f[2] != 0 {
                3
            } else if f[1] != 0 {
                2
            } else {
                1
            };
            self.buf.extend(f[..keep].iter().map(|d| b'0' + *d as u8));
        }
    }

    fn nums(&mut self, vals: &[f32]) {
        for v in vals {
            self.num_raw(*v);
            self.buf.push(b' ');
        }
    }

    fn op(&mut self, op: &str) -> &mut Self {
        self.buf.extend_from_slice(op.as_bytes());
        self.buf.push(b'\n');
        self
    }

    fn hex(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.buf.push(b'<');
        for b in bytes {
            self.buf.push(HEX[(b >> 4) as usize]);
            self.buf.push(HEX[(b & 15) as usize]);
        }
        self.buf.push(b'>');
    }

    fn begin_text(&mut self) -> &mut Self {
        self.op("BT")
    }

    fn end_text(&mut self) -> &mut Self {
        self.op("ET")
    }

    fn set_fill_rgb(&mut self, r: f32, g: f32, b: f32) -> &mut Self {
        self.nums(&[r, g, b]);
        self.op("rg")
    }

    fn set_stroke_rgb(&mut self, r: f32, g: f32, b: f32) -> &mut Self {
        self.nums(&[r, g, b]);
        self.op("RG")
    }

    fn set_line_width(&mut self, w: f32) -> &mut Self {
        self.nums(&[w]);
        self.op("w")
    }

    fn set_dash_pattern(&mut self, dash: impl Iterator<Item = f32>, phase: f32) -> &mut Self {
        self.buf.push(b'[');
        for (i, d) in dash.enumerate() {
            if i > 0 {
                self.buf.push(b' ');
            }
            self.num_raw(d);
        }
        self.buf.extend_from_slice(b"] ");
        self.nums(&[phase]);
        self.op("d")
    }

    fn move_to(&mut self, x: f32, y: f32) -> &mut Self {
        self.nums(&[x, y]);
        self.op("m")
    }

    fn line_to(&mut self, x: f32, y: f32) -> &mut Self {
        self.nums(&[x, y]);
        self.op("l")
    }

    fn cubic_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x3: f32, y3: f32) -> &mut Self {
        self.nums(&[x1, y1, x2, y2, x3, y3]);
        self.op("c")
    }

    fn close_path(&mut self) -> &mut Self {
        self.op("h")
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) -> &mut Self {
        self.nums(&[x, y, w, h]);
        self.op("re")
    }

    fn stroke(&mut self) -> &mut Self {
        self.op("S")
    }

    fn fill_nonzero(&mut self) -> &mut Self {
        self.op("f")
    }

    fn fill_nonzero_and_stroke(&mut self) -> &mut Self {
        self.op("B")
    }

    fn save_state(&mut self) -> &mut Self {
        self.op("q")
    }

    fn restore_state(&mut self) -> &mut Self {
        self.op("Q")
    }

    fn transform(&mut self, m: [f32; 6]) -> &mut Self {
        self.nums(&m);
        self.op("cm")
    }

    fn x_object(&mut self, name: &str) -> &mut Self {
        self.buf.push(b'/');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b' ');
        self.op("Do")
    }

    fn set_font(&mut self, name: &str, size: f32) -> &mut Self {
        self.buf.push(b'/');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b' ');
        self.nums(&[size]);
        self.op("Tf")
    }

    fn set_text_matrix(&mut self, m: [f32; 6]) -> &mut Self {
        self.nums(&m);
        self.op("Tm")
    }

    fn next_line(&mut self, x: f32, y: f32) -> &mut Self {
        self.nums(&[x, y]);
        self.op("Td")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::test_support::{find, fonts, text_page};
    use crate::pdf::{write_pdf, DocInfo};
    use crate::render::image::ImageSet;

    /// The decompressed content stream of the (only) page.
    fn content(pdf: &[u8]) -> String {
        // The page content is the stream that inflates to text operators.
        let s = pdf;
        let mut out = String::new();
        let mut at = 0;
        while let Some(i) = find(&s[at..], b"stream\n") {
            let start = at + i + 7;
            let end = start + find(&s[start..], b"\nendstream").unwrap();
            if let Ok(d) = miniz_oxide::inflate::decompress_to_vec_zlib(&s[start..end]) {
                if d.starts_with(b"BT") {
                    out = String::from_utf8_lossy(&d).into_owned();
                }
            }
            at = end + b"\nendstream".len();
        }
        out
    }

    #[test]
    fn numbers_are_short_and_exact() {
        let mut c = Content::with_capacity(64);
        c.nums(&[
            0.0,
            -0.0,
            1.0,
            12.5,
            -3.25,
            595.2756,
            0.1 + 0.2,
            -0.0004,
            1e6,
        ]);
        assert_eq!(
            String::from_utf8(c.finish()).unwrap(),
            "0 0 1 12.5 -3.25 595.276 0.3 0 1000000 "
        );
    }

    #[test]
    fn glyphs_at_natural_advance_need_no_adjustment() {
        let set = fonts();
        let page = text_page(&set, "在職証明書", None);
        let pdf = write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).unwrap();
        let c = content(&pdf);
        assert!(c.contains("1 0 0 1 10 50 Tm"), "{c}");
        // One hex string of 2-byte new glyph ids, no adjustments.
        assert!(c.contains("[<00010004000300050002>]TJ"), "{c}");
    }

    #[test]
    fn spaced_glyphs_get_exact_adjustments_and_far_ones_a_td() {
        let set = fonts();
        // 10pt ideographs (10pt advance): +5pt gap, then -1.25pt, then a 100pt jump.
        let xs = [10.0, 25.0, 33.75, 143.75];
        let page = text_page(&set, "在職証明", Some(&xs));
        let pdf = write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).unwrap();
        let c = content(&pdf);
        // 5pt at 10pt = 500/1000 em, subtracted: -500; -1.25pt → +125.
        assert!(c.contains("-500"), "{c}");
        assert!(c.contains("125"), "{c}");
        // The jump: Td relative to the line start (10): 133.75.
        assert!(c.contains("133.75 0 Td"), "{c}");
    }
}
