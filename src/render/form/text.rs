//! `<text>` (one line in a box) and `<para>` (a wrapped paragraph).
//!
//! May use the rest of `render::form`.

use super::{Align, Axis, Ctx, LineBreaking, MarkupError, Node, ParaBox, Parser, TextBox, VAlign};

impl<'input> Parser<'input> {
    pub(super) fn valign(
        &self,
        node: Node,
        default: Option<VAlign>,
    ) -> Result<Option<VAlign>, MarkupError> {
        Ok(match node.attribute("valign") {
            None => default,
            Some("middle") => Some(VAlign::Middle),
            Some("top") => Some(VAlign::Top),
            Some("bottom") => Some(VAlign::Bottom),
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("valign は top, middle, bottom のいずれかです (got {v})"),
                ))
            }
        })
    }

    pub(super) fn text(&self, node: Node, ctx: &Ctx) -> Result<TextBox, MarkupError> {
        let mut allowed = vec![
            "x",
            "y",
            "w",
            "h",
            "align",
            "valign",
            "baseline",
            "fit",
            "min-font-size",
        ];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, &ctx.style)?;
        let w = self.opt_length(node, "w", ctx, &style, Axis::W)?;
        let align = self.align(node, Align::Left)?;
        if w.is_none() && align != Align::Left {
            return Err(self.err(node, "align には w が必要です (align needs w)".into()));
        }
        Ok(TextBox {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, &style, Axis::X)?,
            y: self.req_length(node, "y", ctx, &style, Axis::Y)?,
            w,
            h: self.opt_length(node, "h", ctx, &style, Axis::H)?,
            valign: self.valign(node, None)?,
            baseline: self.opt_length(node, "baseline", ctx, &style, Axis::H)?,
            align,
            fit: self.fit(node, &style)?,
            runs: self.runs(node, &style, 0)?,
        })
    }

    pub(super) fn para(&self, node: Node, ctx: &Ctx) -> Result<ParaBox, MarkupError> {
        let mut allowed = vec![
            "x",
            "y",
            "w",
            "h",
            "align",
            "fit",
            "min-font-size",
            "line-height",
            "indent",
            "hanging",
            "break",
            "postal",
        ];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, &ctx.style)?;
        let align = self.align(node, Align::Left)?;
        Ok(ParaBox {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, &style, Axis::X)?,
            y: self.req_length(node, "y", ctx, &style, Axis::Y)?,
            w: self.req_length(node, "w", ctx, &style, Axis::W)?,
            h: self.opt_length(node, "h", ctx, &style, Axis::H)?,
            line_height: self.number(node, "line-height", 1.5)?,
            indent: self
                .opt_length(node, "indent", ctx, &style, Axis::W)?
                .unwrap_or(0.0),
            align,
            fit: self.fit(node, &style)?,
            hanging: match node.attribute("hanging") {
                Some(v) => self.boolean(node, "hanging", v)?,
                None => false,
            },
            breaking: self.breaking(node)?,
            runs: self.runs(node, &style, 0)?,
        })
    }

    /// `break="text|address"` and, for an address, its `postal` code.
    fn breaking(&self, node: Node) -> Result<LineBreaking, MarkupError> {
        let postal = node.attribute("postal").map(str::to_owned);
        match node.attribute("break") {
            None | Some("text") if postal.is_some() => Err(self.err(
                node,
                "postal は break=\"address\" と一緒に指定します (postal needs break=\"address\")"
                    .into(),
            )),
            None | Some("text") => Ok(LineBreaking::Text),
            Some("address") => Ok(LineBreaking::Address { postal }),
            Some(v) => Err(self.err(
                node,
                format!("break は text, address のいずれかです (got {v})"),
            )),
        }
    }
}
