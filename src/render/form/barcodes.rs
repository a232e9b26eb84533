//! `<qr>` and `<barcode kind="jp-customer">`: the two code symbols a form
//! can draw, parsed here and encoded by the layout.
//!
//! May use the rest of `render::form` and `crate::render::page`.

use super::{
    Axis, BarcodeAddress, BarcodeEl, Ctx, MarkupError, Node, OnBarcodeError, Parser, QrEl, QrLevel,
};
use crate::render::page::Color;

impl<'input> Parser<'input> {
    pub(super) fn qr(&self, node: Node, ctx: &Ctx) -> Result<QrEl, MarkupError> {
        self.check_attrs(node, &["x", "y", "size", "level", "quiet", "color"])?;
        let s = &ctx.style;
        let level = match node.attribute("level") {
            None | Some("M") => QrLevel::M,
            Some("L") => QrLevel::L,
            Some("Q") => QrLevel::Q,
            Some("H") => QrLevel::H,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("level は L, M, Q, H のいずれかです (got {v})"),
                ))
            }
        };
        let quiet = match node.attribute("quiet") {
            None => 4,
            Some(v) => v.parse::<u32>().ok().filter(|n| *n <= 16).ok_or_else(|| {
                self.err(
                    node,
                    format!("quiet {v} は 0〜16 の整数です (bad quiet zone)"),
                )
            })?,
        };
        let mut text = String::new();
        for c in node.children() {
            if c.is_element() {
                return Err(self.err(c, "<qr> の中は文字だけです (only text inside <qr>)".into()));
            }
            text.push_str(c.text().unwrap_or(""));
        }
        Ok(QrEl {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            size: self.req_length(node, "size", ctx, s, Axis::W)?,
            level,
            quiet,
            color: match node.attribute("color") {
                Some(v) => self.color(node, v)?,
                None => Color::BLACK,
            },
            text: text.trim().to_string(),
        })
    }

    pub(super) fn barcode(&self, node: Node, ctx: &Ctx) -> Result<BarcodeEl, MarkupError> {
        self.check_attrs(
            node,
            &[
                "kind",
                "postal",
                "address",
                "address-b",
                "x",
                "y",
                "size",
                "on-error",
            ],
        )?;
        if !self.elements(node)?.is_empty() {
            return Err(self.err(
                node,
                "<barcode> の中には何も書けません (barcode must be empty)".into(),
            ));
        }
        match node.attribute("kind") {
            Some("jp-customer") => {}
            Some(v) => {
                return Err(self.err(
                    node,
                    format!(
                        "kind {v} は使えません; 使えるもの: jp-customer (unknown barcode kind)"
                    ),
                ))
            }
            None => {
                return Err(self.err(
                    node,
                    "<barcode> には kind が必要です (attribute kind required: jp-customer)".into(),
                ))
            }
        }
        let postal = node
            .attribute("postal")
            .ok_or_else(|| {
                self.err(
                    node,
                    "<barcode> には postal が必要です (attribute postal required)".into(),
                )
            })?
            .to_string();
        let address = match (node.attribute("address"), node.attribute("address-b")) {
            (Some(a), None) => BarcodeAddress::Full(a.to_string()),
            (None, Some(b)) => BarcodeAddress::B(b.to_string()),
            _ => {
                return Err(self.err(
                    node,
                    "<barcode> には address か address-b のどちらか一方が必要です (exactly one of address, address-b)".into(),
                ))
            }
        };
        let point_size = match node.attribute("size") {
            None => crate::japan::barcode::DEFAULT_POINT_SIZE,
            Some(v) => {
                let pt = self.abs_length(node, "size", v)?;
                if !(crate::japan::barcode::MIN_POINT_SIZE..=crate::japan::barcode::MAX_POINT_SIZE)
                    .contains(&pt)
                {
                    return Err(self.err(
                        node,
                        format!(
                            "size {v} は 8pt〜11.5pt です (barcode point size must be 8–11.5 pt)"
                        ),
                    ));
                }
                pt
            }
        };
        let on_error = match node.attribute("on-error") {
            None | Some("reject") => OnBarcodeError::Reject,
            Some("warn") => OnBarcodeError::Warn,
            Some("omit") => OnBarcodeError::Omit,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("on-error は reject, warn, omit のいずれかです (got {v})"),
                ))
            }
        };
        let s = &ctx.style;
        Ok(BarcodeEl {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            point_size,
            postal,
            address,
            on_error,
        })
    }
}
