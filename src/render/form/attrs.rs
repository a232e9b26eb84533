//! Attribute values shared by every element: alignment, fit rules, booleans,
//! numbers, colours (`#rgb`, `#rrggbb`) and lengths with their units, `%`
//! taken of the page's safe area.
//!
//! May use the rest of `render::form` and `crate::render::page`.

use super::{Align, Axis, Ctx, Fit, MarkupError, Node, Parser, Style};
use crate::render::page::{Color, PT_PER_MM};

/// Width of the safe area (page minus left and right margins).
pub(super) fn area_w(ctx: &Ctx) -> f32 {
    ctx.page_w - ctx.margins.left - ctx.margins.right
}

/// Height of the safe area.
pub(super) fn area_h(ctx: &Ctx) -> f32 {
    ctx.page_h - ctx.margins.top - ctx.margins.bottom
}

/// Parses a length with its unit into points. `em` is the font size in points
/// and `whole` the length that `100%` stands for.
pub fn parse_length(v: &str, em: f32, whole: f32) -> Option<f32> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f32 = num.parse().ok()?;
    if unit.is_empty() && n == 0.0 {
        return Some(0.0); // "0" needs no unit
    }
    if !n.is_finite() || n.abs() > 100_000.0 {
        return None;
    }
    let pt = match unit {
        "mm" => n * PT_PER_MM,
        "cm" => n * 10.0 * PT_PER_MM,
        "pt" => n,
        "in" => n * 72.0,
        "em" => n * em,
        "%" => n / 100.0 * whole,
        _ => return None,
    };
    Some(pt)
}

/// Parses `#rrggbb`, `#rgb` or a few colour names.
pub fn parse_color(v: &str) -> Option<Color> {
    let v = v.trim();
    let named = match v {
        "black" => Some((0, 0, 0)),
        "white" => Some((255, 255, 255)),
        "red" => Some((200, 30, 30)),
        "gray" | "grey" => Some((128, 128, 128)),
        "blue" => Some((30, 60, 200)),
        _ => None,
    };
    let (r, g, b) = match named {
        Some(c) => c,
        None => {
            let hex = v.strip_prefix('#')?;
            if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            match hex.len() {
                6 => (
                    u8::from_str_radix(&hex[0..2], 16).ok()?,
                    u8::from_str_radix(&hex[2..4], 16).ok()?,
                    u8::from_str_radix(&hex[4..6], 16).ok()?,
                ),
                3 => {
                    let d = |i: usize| u8::from_str_radix(&hex[i..i + 1], 16).map(|x| x * 17);
                    (d(0).ok()?, d(1).ok()?, d(2).ok()?)
                }
                _ => return None,
            }
        }
    };
    Some(Color {
        r: r as f32 / 255.0,
        g: g as f32 / 255.0,
        b: b as f32 / 255.0,
    })
}

impl<'input> Parser<'input> {
    pub(super) fn align(&self, node: Node, default: Align) -> Result<Align, MarkupError> {
        Ok(match node.attribute("align") {
            None => default,
            Some("left") => Align::Left,
            Some("center") => Align::Center,
            Some("right") => Align::Right,
            Some("distribute") => Align::Distribute,
            Some("justify") => Align::Justify,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!(
                    "align は left, center, right, distribute, justify のいずれかです (got {v})"
                ),
                ))
            }
        })
    }

    pub(super) fn fit(&self, node: Node, style: &Style) -> Result<Fit, MarkupError> {
        let min = match node.attribute("min-font-size") {
            Some(v) => self.length_rel(node, "min-font-size", v, style.size, style.size)?,
            None => (style.size * 0.6).max(5.0).min(style.size),
        };
        Ok(match node.attribute("fit") {
            None | Some("error") => Fit::Error,
            Some("shrink") => Fit::Shrink { min_size: min },
            Some("clip") => Fit::Clip,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("fit は shrink, error, clip のいずれかです (got {v})"),
                ))
            }
        })
    }

    pub(super) fn boolean(&self, node: Node, name: &str, v: &str) -> Result<bool, MarkupError> {
        match v {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err(self.err(node, format!("{name} は true か false です (got {v})"))),
        }
    }

    pub(super) fn number(&self, node: Node, name: &str, default: f32) -> Result<f32, MarkupError> {
        match node.attribute(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0 && *n < 100.0)
                .ok_or_else(|| self.err(node, format!("{name} の値 {v} が不正です (bad number)"))),
        }
    }

    pub(super) fn color(&self, node: Node, v: &str) -> Result<Color, MarkupError> {
        parse_color(v).ok_or_else(|| {
            self.err(
                node,
                format!("色 {v} が不正です (bad colour: use #rrggbb, #rgb or a name: black, white, red, gray, blue)"),
            )
        })
    }

    pub(super) fn req_length(
        &self,
        node: Node,
        name: &str,
        ctx: &Ctx,
        style: &Style,
        axis: Axis,
    ) -> Result<f32, MarkupError> {
        self.opt_length(node, name, ctx, style, axis)?
            .ok_or_else(|| {
                self.err(
                    node,
                    format!(
                        "<{}> には {name} が必要です (attribute {name} required)",
                        node.tag_name().name()
                    ),
                )
            })
    }

    pub(super) fn opt_length(
        &self,
        node: Node,
        name: &str,
        ctx: &Ctx,
        style: &Style,
        axis: Axis,
    ) -> Result<Option<f32>, MarkupError> {
        let m = ctx.margins;
        let (whole, offset) = match axis {
            Axis::X => (area_w(ctx), m.left),
            Axis::Y => (area_h(ctx), m.top),
            Axis::W => (area_w(ctx), 0.0),
            Axis::H => (area_h(ctx), 0.0),
        };
        node.attribute(name)
            .map(|v| {
                let l = self.length(node, name, v, style, whole)?;
                Ok(if v.trim().ends_with('%') {
                    l + offset
                } else {
                    l
                })
            })
            .transpose()
    }

    pub(super) fn length(
        &self,
        node: Node,
        name: &str,
        v: &str,
        style: &Style,
        whole: f32,
    ) -> Result<f32, MarkupError> {
        self.length_rel(node, name, v, style.size, whole)
    }

    pub(super) fn length_rel(
        &self,
        node: Node,
        name: &str,
        v: &str,
        em: f32,
        whole: f32,
    ) -> Result<f32, MarkupError> {
        parse_length(v, em, whole).ok_or_else(|| {
            self.err(
                node,
                format!(
                    "{name}=\"{v}\" は長さではありません (bad length: use mm, cm, pt, in, em or %)"
                ),
            )
        })
    }

    pub(super) fn abs_length(&self, node: Node, name: &str, v: &str) -> Result<f32, MarkupError> {
        self.length_rel(node, name, v, 10.5, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_color, parse_length};
    use crate::render::page::Color;

    #[test]
    fn lengths_and_colours() {
        assert_eq!(parse_length("72pt", 10.0, 0.0), Some(72.0));
        assert!((parse_length("25.4mm", 10.0, 0.0).unwrap() - 72.0).abs() < 1e-4);
        assert_eq!(parse_length("2em", 10.0, 0.0), Some(20.0));
        assert_eq!(parse_length("50%", 10.0, 200.0), Some(100.0));
        assert_eq!(parse_length("10", 10.0, 0.0), None);
        assert_eq!(parse_length("mm", 10.0, 0.0), None);
        assert_eq!(
            parse_color("#fff").unwrap(),
            Color {
                r: 1.0,
                g: 1.0,
                b: 1.0
            }
        );
        assert!(parse_color("#12345").is_none());
    }
}
