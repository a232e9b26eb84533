//! The customer barcode of one address drawn on its own, for mailing staff
//! checking an address by hand (`chohyo barcode`): as SVG in millimetres,
//! as a greyscale PNG, and as a one-page PDF at actual size.
//!
//! Every drawing has the 2 mm quiet zone around the symbol and the exact
//! geometry of [`crate::japan::barcode::Geometry`]. The PDF goes the way
//! every document goes: [`crate::render::barcode`] draws the symbol as page
//! operations and the [`crate::pdf`] writer writes the page; that is why
//! this lives in the mail stage, above both. SVG and PNG are drawn here
//! from the same bar boxes.

use crate::japan::barcode::{self, CustomerBarcode, Geometry, QUIET_ZONE_MM};
use crate::pdf::{self, DocInfo};
use crate::render::fonts::FontSet;
use crate::render::image::ImageSet;
use crate::render::page::{Op, Page, PT_PER_MM};

/// Bars as (x, y, w, h) in millimetres, with the quiet zone as margin.
fn bar_boxes(code: &CustomerBarcode, g: Geometry) -> Vec<(f32, f32, f32, f32)> {
    code.bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let (top, bottom) = bar.units();
            (
                QUIET_ZONE_MM + i as f32 * g.pitch,
                QUIET_ZONE_MM + f32::from(top) * g.unit,
                g.bar_width,
                f32::from(bottom - top) * g.unit,
            )
        })
        .collect()
}

/// The symbol as an SVG document in millimetres.
pub fn svg(code: &CustomerBarcode, g: Geometry) -> String {
    let w = g.width() + 2.0 * QUIET_ZONE_MM;
    let h = g.height() + 2.0 * QUIET_ZONE_MM;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.3}mm\" height=\"{h:.3}mm\" viewBox=\"0 0 {w:.3} {h:.3}\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
    );
    for (x, y, bw, bh) in bar_boxes(code, g) {
        out.push_str(&format!(
            "<rect x=\"{x:.3}\" y=\"{y:.3}\" width=\"{bw:.3}\" height=\"{bh:.3}\"/>\n"
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// The symbol as an 8-bit greyscale PNG at `px_per_mm` (with pHYs set).
pub fn png(code: &CustomerBarcode, g: Geometry, px_per_mm: u32) -> Result<Vec<u8>, String> {
    if !(1..=100).contains(&px_per_mm) {
        return Err("--px-per-mm は1〜100です (must be 1–100)".into());
    }
    let k = px_per_mm as f32;
    let px = |mm: f32| (mm * k).round() as usize;
    let width = px(g.width() + 2.0 * QUIET_ZONE_MM);
    let height = px(g.height() + 2.0 * QUIET_ZONE_MM);
    let mut pixels = vec![255u8; width * height];
    for (x, y, w, h) in bar_boxes(code, g) {
        for row in px(y)..px(y + h).min(height) {
            let start = row * width + px(x);
            let end = row * width + px(x + w).min(width);
            pixels[start..end].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: px_per_mm * 1000,
            yppu: px_per_mm * 1000,
            unit: png::Unit::Meter,
        }));
        let mut w = enc
            .write_header()
            .map_err(|e| format!("PNG を書けません (cannot encode PNG): {e}"))?;
        w.write_image_data(&pixels)
            .map_err(|e| format!("PNG を書けません (cannot encode PNG): {e}"))?;
    }
    Ok(out)
}

/// The symbol on a page just large enough for it and its quiet zone.
fn page(code: &CustomerBarcode, point_size: f32) -> Result<Page, barcode::BarcodeError> {
    let g = Geometry::at(point_size)?;
    let q = QUIET_ZONE_MM * PT_PER_MM;
    let ops: Vec<Op> = crate::render::barcode::draw(code, q, q, point_size)?;
    Ok(Page {
        width: g.width() * PT_PER_MM + 2.0 * q,
        height: g.height() * PT_PER_MM + 2.0 * q,
        ops,
    })
}

/// The symbol as a one-page PDF at actual size.
pub fn pdf(code: &CustomerBarcode, point_size: f32) -> Result<Vec<u8>, String> {
    let page = page(code, point_size).map_err(|e| e.to_string())?;
    let info = DocInfo {
        title: "郵便カスタマバーコード".into(),
        created: String::new(),
    };
    pdf::write_pdf(&[page], &FontSet::default(), &ImageSet::default(), &info)
        .map_err(|e| format!("PDF を書けません (cannot write PDF): {e}"))
}
