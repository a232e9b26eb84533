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
//!
//! One file per concept: errors ([`error`]), shaping text into glyphs with
//! ruby ([`shaping`]), breaking and placing lines ([`lines`]), address
//! lines broken where a person would ([`address`]), the text
//! boxes and their fit rules ([`text`]), tables ([`table`]), images and QR
//! codes ([`graphics`]) and the customer barcode with its postal-code and
//! address agreement ([`customer_barcode`]). The layout's methods are
//! spread over these files as `impl Ctx` blocks.
//!
//! May use `crate::render` (form, fonts, image, kinsoku, page, barcode) and
//! `crate::japan` (postal data and the barcode's code).

mod address;
mod customer_barcode;
mod error;
mod graphics;
mod lines;
mod shaping;
mod table;
mod text;

pub use error::LayoutError;

use crate::render::fonts::FontSet;
use crate::render::form::{Element, Form, FormPage, Margins, Pos};
use crate::render::image::ImageSet;
use crate::render::page::{Op, Page, Stroke};

/// Most pages of one laid-out document: the form's `<page>`s plus the
/// continuation pages of its tables (the same number as the markup's limit
/// on `<page>` elements, [`crate::render::form::MAX_PAGES`]).
pub const MAX_PAGES: usize = crate::render::form::MAX_PAGES;

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
        // Check what the element drew on the page it ended on (a table
        // that continued checks each of its pages itself via `bottom`):
        // always against the paper, and against the margins where set.
        let from = if ctx.done.len() == page_before {
            op_before
        } else {
            0
        };
        ctx.check_area(from, pos, kind)?;
    }
    Ok(())
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

    /// Rejects ops from `from` on that leave the paper
    /// ([`LayoutError::OutsidePaper`]) or, when the page has margins, its
    /// safe area ([`LayoutError::OutsideMargins`]).
    fn check_area(&self, from: usize, pos: Pos, element: &'static str) -> Result<(), LayoutError> {
        let paper = Margins::default();
        if self.outside(from, paper, true) {
            return Err(LayoutError::OutsidePaper { pos, element });
        }
        if !self.margins.is_zero() && self.outside(from, self.margins, false) {
            return Err(LayoutError::OutsideMargins { pos, element });
        }
        Ok(())
    }

    /// Whether an op from `from` on draws outside the page less `m`. Text
    /// is measured by the font's line box, or with `ink` by the em box of a
    /// full-width glyph (what is printed: ruby sits in the line's ascent
    /// by that measure).
    fn outside(&self, from: usize, m: Margins, ink: bool) -> bool {
        let (x0, y0, x1, y1) = (m.left, m.top, self.page_w - m.right, self.page_h - m.bottom);
        let tol = 0.01;
        let outside = |a: f32, b: f32, c: f32, d: f32| {
            a < x0 - tol || b < y0 - tol || c > x1 + tol || d > y1 + tol
        };
        self.ops[from..].iter().any(|op| {
            match op {
                Op::Text(r) => r.glyphs.iter().any(|g| {
                    let f = self.fonts.font(r.font);
                    let adv = f.advance(g.gid) * r.size;
                    let (up, down) = if ink {
                        (shaping::GLYPH_TOP, shaping::GLYPH_TOP - 1.0)
                    } else {
                        (f.ascent().min(1.0), f.descent().max(-0.3))
                    };
                    outside(
                        g.x,
                        r.baseline - up * r.size,
                        g.x + adv,
                        r.baseline - down * r.size,
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
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::form;
    use crate::render::kinsoku;
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
