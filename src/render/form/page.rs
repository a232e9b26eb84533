//! The `<form>` and `<page>` elements: paper size and orientation, margins
//! (the safe area that `%` lengths refer to), and the hand-off of each child
//! element to its family's parser.
//!
//! May use the rest of `render::form` and `crate::render::page`.

use super::{
    Ctx, Element, Form, FormPage, Margins, MarkupError, Node, Parser, Style, MAX_PAGES, PAGE_ATTRS,
    PAPER_SIZES,
};
use crate::render::page::PT_PER_MM;

impl<'input> Parser<'input> {
    pub(super) fn form(&self, node: Node) -> Result<Form, MarkupError> {
        if node.tag_name().name() != "form" {
            return Err(self.err(
                node,
                format!(
                    "最上位の要素は <form> です (root must be <form>, found <{}>)",
                    node.tag_name().name()
                ),
            ));
        }
        self.check_attrs(node, PAGE_ATTRS)?;
        let (w, h) = self.page_size(node, None)?;
        let mut ctx = Ctx {
            page_w: w,
            page_h: h,
            margins: Margins::default(),
            style: Style::default(),
        };
        ctx.margins = self.margins(node, &ctx, Margins::default())?;
        ctx.style = self.style(node, &ctx, &ctx.style)?;
        let mut pages = Vec::new();
        for child in self.elements(node)? {
            if child.tag_name().name() != "page" {
                return Err(self.err(
                    child,
                    format!(
                        "<form> の中には <page> だけを書きます (only <page> inside <form>, found <{}>)",
                        child.tag_name().name()
                    ),
                ));
            }
            if pages.len() == MAX_PAGES {
                return Err(self.err(
                    child,
                    format!(
                        "ページが多すぎます: 上限 {MAX_PAGES} ページ (too many pages: limit {MAX_PAGES})"
                    ),
                ));
            }
            pages.push(self.page(child, &ctx)?);
        }
        if pages.is_empty() {
            return Err(self.err(node, "<page> がありません (form has no page)".into()));
        }
        Ok(Form { pages })
    }

    pub(super) fn page_size(
        &self,
        node: Node,
        inherit: Option<(f32, f32)>,
    ) -> Result<(f32, f32), MarkupError> {
        let (mut w, mut h) = match node.attribute("size") {
            Some(name) => {
                let (_, w, h) = PAPER_SIZES
                    .iter()
                    .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        let names: Vec<&str> = PAPER_SIZES.iter().map(|p| p.0).collect();
                        self.err(
                            node,
                            format!(
                                "用紙サイズ {name} は使えません (unknown paper size); 使えるもの: {}",
                                names.join(", ")
                            ),
                        )
                    })?;
                (w * PT_PER_MM, h * PT_PER_MM)
            }
            None => inherit.unwrap_or((210.0 * PT_PER_MM, 297.0 * PT_PER_MM)),
        };
        if let Some(v) = node.attribute("width") {
            w = self.abs_length(node, "width", v)?;
        }
        if let Some(v) = node.attribute("height") {
            h = self.abs_length(node, "height", v)?;
        }
        match node.attribute("orientation") {
            None => {}
            Some("portrait") if w > h => std::mem::swap(&mut w, &mut h),
            Some("landscape") if w < h => std::mem::swap(&mut w, &mut h),
            Some("portrait") | Some("landscape") => {}
            Some(o) => {
                return Err(self.err(
                    node,
                    format!("orientation は portrait か landscape です (got {o})"),
                ))
            }
        }
        if !(w > 0.0 && h > 0.0 && w < 5000.0 && h < 5000.0) {
            return Err(self.err(node, "用紙の大きさが不正です (bad page size)".into()));
        }
        Ok((w, h))
    }

    pub(super) fn page(&self, node: Node, form: &Ctx) -> Result<FormPage, MarkupError> {
        self.check_attrs(node, PAGE_ATTRS)?;
        let (w, h) = self.page_size(node, Some((form.page_w, form.page_h)))?;
        let mut ctx = Ctx {
            page_w: w,
            page_h: h,
            margins: form.margins,
            style: form.style.clone(),
        };
        ctx.margins = self.margins(node, &ctx, form.margins)?;
        ctx.style = self.style(node, &ctx, &form.style)?;
        let mut elements = Vec::new();
        for child in self.elements(node)? {
            elements.push(self.element(child, &ctx)?);
        }
        Ok(FormPage {
            width: w,
            height: h,
            margins: ctx.margins,
            elements,
        })
    }

    /// `margin="all"`, `"vertical horizontal"` or `"top right bottom left"`.
    pub(super) fn margins(
        &self,
        node: Node,
        ctx: &Ctx,
        inherit: Margins,
    ) -> Result<Margins, MarkupError> {
        let Some(v) = node.attribute("margin") else {
            return Ok(inherit);
        };
        let mut vals = Vec::new();
        for part in v.split_whitespace() {
            vals.push(self.length_rel(node, "margin", part, ctx.style.size, ctx.page_w)?);
        }
        let m = match vals.as_slice() {
            [a] => Margins {
                top: *a,
                right: *a,
                bottom: *a,
                left: *a,
            },
            [vert, hor] => Margins {
                top: *vert,
                right: *hor,
                bottom: *vert,
                left: *hor,
            },
            [t, r, b, l] => Margins {
                top: *t,
                right: *r,
                bottom: *b,
                left: *l,
            },
            _ => {
                return Err(self.err(
                    node,
                    format!(
                        "margin は長さ 1, 2, 4 個です (margin takes 1, 2 or 4 lengths, got {v})"
                    ),
                ))
            }
        };
        if [m.top, m.right, m.bottom, m.left].iter().any(|x| *x < 0.0)
            || m.left + m.right >= ctx.page_w
            || m.top + m.bottom >= ctx.page_h
        {
            return Err(self.err(
                node,
                format!("margin {v} が用紙に収まりません (margins do not fit the page)"),
            ));
        }
        Ok(m)
    }

    pub(super) fn element(&self, node: Node, ctx: &Ctx) -> Result<Element, MarkupError> {
        match node.tag_name().name() {
            "text" => self.text(node, ctx).map(Element::Text),
            "para" => self.para(node, ctx).map(Element::Para),
            "table" => self.table(node, ctx).map(Element::Table),
            "line" => self.line(node, ctx).map(Element::Line),
            "rect" => self.rect(node, ctx).map(Element::Rect),
            "image" => self.image(node, ctx).map(Element::Image),
            "qr" => self.qr(node, ctx).map(Element::Qr),
            "barcode" => self.barcode(node, ctx).map(Element::Barcode),
            other => Err(self.err(
                node,
                format!(
                    "要素 <{other}> は使えません (unknown element); 使える要素: text, para, table, line, rect, image, qr, barcode"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::render::page::PT_PER_MM;

    fn mm(v: f32) -> f32 {
        v * PT_PER_MM
    }

    #[test]
    fn margins_make_percentages_relative_to_the_safe_area() {
        let f = parse(
            "<form margin=\"10mm 20mm\"><page><rect x=\"50%\" y=\"0%\" w=\"50%\" h=\"10mm\"/></page></form>",
        )
        .unwrap();
        let p = &f.pages[0];
        assert!((p.margins.left - mm(20.0)).abs() < 0.01);
        let Element::Rect(r) = &p.elements[0] else {
            panic!()
        };
        // Safe area 170mm wide starting at 20mm.
        assert!((r.x - mm(20.0 + 85.0)).abs() < 0.01);
        assert!((r.y - mm(10.0)).abs() < 0.01);
        assert!((r.w - mm(85.0)).abs() < 0.01);
        let e = parse("<form margin=\"200mm\"><page/></form>").unwrap_err();
        assert!(e.message.contains("margin"));
    }

    #[test]
    fn landscape_swaps_dimensions() {
        let f = parse("<form size=\"A4\" orientation=\"landscape\"><page/></form>").unwrap();
        assert!(f.pages[0].width > f.pages[0].height);
    }
}
