//! The customer barcode as a page element: the bars of a
//! [`CustomerBarcode`] (encoded in [`crate::japan::barcode`]) to filled
//! rectangles on a [`crate::render::page::Page`]. May use `japan` and
//! `render::page`.

use crate::japan::barcode::{BarcodeError, CustomerBarcode, Geometry};
use crate::render::page::{Color, Op, PT_PER_MM};

/// Draws the symbol with its top-left corner at (`x_pt`, `y_pt`) (page
/// points from the top-left, as in [`crate::render::page`]), one filled black
/// [`Op::Rect`] per bar. The quiet zone ([`crate::japan::barcode::QUIET_ZONE_MM`] on every side)
/// is the caller's to keep clear.
pub fn draw(
    code: &CustomerBarcode,
    x_pt: f32,
    y_pt: f32,
    point_size: f32,
) -> Result<Vec<Op>, BarcodeError> {
    let g = Geometry::at(point_size)?;
    let k = PT_PER_MM;
    Ok(code
        .bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let (top, bottom) = bar.units();
            Op::Rect {
                x: x_pt + i as f32 * g.pitch * k,
                y: y_pt + f32::from(top) * g.unit * k,
                w: g.bar_width * k,
                h: f32::from(bottom - top) * g.unit * k,
                stroke: None,
                fill: Some(Color::BLACK),
                radius: 0.0,
            }
        })
        .collect())
}
