//! `<line>`, `<rect>` and `<image>`: the elements that draw no text.
//!
//! May use the rest of `render::form` and `crate::render::page`.

use super::attrs::area_w;
use super::{Axis, Ctx, ImageEl, LineEl, MarkupError, Node, Parser, RectEl};
use crate::render::page::Color;

impl<'input> Parser<'input> {
    pub(super) fn line(&self, node: Node, ctx: &Ctx) -> Result<LineEl, MarkupError> {
        self.check_attrs(
            node,
            &["x1", "y1", "x2", "y2", "width", "color", "dash", "style"],
        )?;
        let s = &ctx.style;
        let width = self
            .opt_length(node, "width", ctx, s, Axis::W)?
            .unwrap_or(0.5);
        let mut dash = match node.attribute("style") {
            None | Some("solid") => Vec::new(),
            Some("dashed") => vec![3.0 * width.max(0.5), 2.0 * width.max(0.5)],
            Some("dotted") => vec![width.max(0.5), width.max(0.5)],
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("style は solid, dashed, dotted のいずれかです (got {v})"),
                ))
            }
        };
        if let Some(v) = node.attribute("dash") {
            dash.clear();
            for part in v.split_whitespace() {
                let d = self.length(node, "dash", part, s, area_w(ctx))?;
                if d < 0.0 {
                    return Err(self.err(
                        node,
                        format!("dash {v} は正の長さです (dash lengths must be positive)"),
                    ));
                }
                dash.push(d);
            }
            if !dash.is_empty() && dash.iter().all(|d| *d == 0.0) {
                dash.clear();
            }
        }
        Ok(LineEl {
            pos: self.pos(node),
            x1: self.req_length(node, "x1", ctx, s, Axis::X)?,
            y1: self.req_length(node, "y1", ctx, s, Axis::Y)?,
            x2: self.req_length(node, "x2", ctx, s, Axis::X)?,
            y2: self.req_length(node, "y2", ctx, s, Axis::Y)?,
            width,
            color: match node.attribute("color") {
                Some(v) => self.color(node, v)?,
                None => Color::BLACK,
            },
            dash,
        })
    }

    pub(super) fn rect(&self, node: Node, ctx: &Ctx) -> Result<RectEl, MarkupError> {
        self.check_attrs(
            node,
            &["x", "y", "w", "h", "stroke", "color", "fill", "radius"],
        )?;
        let s = &ctx.style;
        Ok(RectEl {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            w: self.req_length(node, "w", ctx, s, Axis::W)?,
            h: self.req_length(node, "h", ctx, s, Axis::H)?,
            stroke: self
                .opt_length(node, "stroke", ctx, s, Axis::W)?
                .unwrap_or(0.5),
            color: match node.attribute("color") {
                Some(v) => self.color(node, v)?,
                None => Color::BLACK,
            },
            fill: node
                .attribute("fill")
                .map(|v| self.color(node, v))
                .transpose()?,
            radius: self
                .opt_length(node, "radius", ctx, s, Axis::W)?
                .unwrap_or(0.0),
        })
    }

    pub(super) fn image(&self, node: Node, ctx: &Ctx) -> Result<ImageEl, MarkupError> {
        self.check_attrs(node, &["src", "x", "y", "w", "h"])?;
        let s = &ctx.style;
        let src = node
            .attribute("src")
            .ok_or_else(|| self.err(node, "<image> には src が必要です (src required)".into()))?;
        let w = self.opt_length(node, "w", ctx, s, Axis::W)?;
        let h = self.opt_length(node, "h", ctx, s, Axis::H)?;
        if w.is_none() && h.is_none() {
            return Err(self.err(
                node,
                "<image> には w か h が必要です (w or h required)".into(),
            ));
        }
        Ok(ImageEl {
            pos: self.pos(node),
            src: src.to_string(),
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            w,
            h,
        })
    }
}
