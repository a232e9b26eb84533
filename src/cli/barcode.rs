//! `chohyo barcode`: derives and draws the Japan Post customer barcode of
//! one address, so mailing staff can check an address by hand and tests can
//! drive the encoder end to end.
//!
//! ```text
//! chohyo barcode --postal 2630023 --address "千葉県千葉市稲毛区緑町3丁目30-8 郵便ビル403号"
//! chohyo barcode --postal 2630023 --address-b "3丁目30-8　郵便ビル403号"
//!                [--point-size 10] [--svg FILE] [--png FILE] [--px-per-mm 20] [--pdf FILE]
//! ```
//! `--address` is a full address, split into 住所A/住所B with the postal
//! data (the code must agree with the address); `--address-b` is only the
//! part after the town name. Prints 住所B, the address number, the data
//! symbols with the check digit, the sum and the bars. The drawings have
//! the 2 mm quiet zone around the symbol and the exact geometry of
//! [`crate::japan::barcode::Geometry`]. Exit codes: 0 encoded, 1 cannot encode
//! (message says why), 2 usage, data or file error.

use crate::error::ExitCode;
use crate::japan::barcode::{self, CustomerBarcode, Geometry, QUIET_ZONE_MM};
use crate::japan::postal::PostalData;
use crate::pdf::{self, DocInfo};
use crate::render::fonts::FontSet;
use crate::render::image::ImageSet;
use crate::render::page::{Op, Page, PT_PER_MM};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `chohyo barcode`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("addr").required(true).args(["address", "address_b"])))]
pub struct BarcodeArgs {
    /// The 7-digit postal code (`2630023` or `263-0023`).
    #[arg(long)]
    pub postal: String,
    /// The full address; split into 住所A/住所B with the postal data.
    #[arg(long)]
    pub address: Option<String>,
    /// Only 住所B: the part of the address after the town name.
    #[arg(long = "address-b")]
    pub address_b: Option<String>,
    /// Point size of the symbol, 8–11.5 (10 is the standard size).
    #[arg(long, default_value_t = barcode::DEFAULT_POINT_SIZE)]
    pub point_size: f32,
    /// Write the symbol as SVG (millimetre units).
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Write the symbol as a PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// PNG resolution in pixels per millimetre (integer so bars are exact).
    #[arg(long, default_value_t = 20)]
    pub px_per_mm: u32,
    /// Write the symbol as a one-page PDF at actual size.
    #[arg(long)]
    pub pdf: Option<PathBuf>,
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &BarcodeArgs) -> ExitCode {
    let geometry = match Geometry::at(args.point_size) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let addr_b = match (&args.address, &args.address_b) {
        (_, Some(b)) => b.clone(),
        (Some(full), None) => {
            let data = match PostalData::embedded() {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("chohyo: {e}");
                    return ExitCode::Input;
                }
            };
            match data.split_address(&args.postal, full) {
                Ok(split) => {
                    println!("住所A (address A): {}", split.a);
                    split.b
                }
                Err(v) => {
                    eprintln!("chohyo: {}", v.reason);
                    if !v.suggestions.is_empty() {
                        eprintln!(
                            "  住所に合う郵便番号 (codes matching the address): {}",
                            v.suggestions.join(", ")
                        );
                    }
                    return ExitCode::Rejects;
                }
            }
        }
        (None, None) => {
            eprintln!("chohyo: --address か --address-b を指定してください (give --address or --address-b)");
            return ExitCode::Input;
        }
    };
    println!("住所B (address B): {addr_b}");
    let code = match barcode::encode(&args.postal, &addr_b) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chohyo: {e}");
            return ExitCode::Rejects;
        }
    };
    print_code(&code);
    let rendered = [
        (&args.svg, Ok(svg(&code, geometry).into_bytes())),
        (
            &args.png,
            args.png
                .as_ref()
                .map_or(Ok(Vec::new()), |_| png(&code, geometry, args.px_per_mm)),
        ),
        (
            &args.pdf,
            args.pdf
                .as_ref()
                .map_or(Ok(Vec::new()), |_| pdf_bytes(&code, args.point_size)),
        ),
    ];
    for (path, bytes) in rendered {
        let Some(path) = path else { continue };
        let result = bytes.and_then(|b| write_file(path, &b));
        if let Err(e) = result {
            eprintln!("chohyo: {e}");
            return ExitCode::Input;
        }
    }
    ExitCode::Success
}

fn print_code(code: &CustomerBarcode) {
    println!("住所表示番号 (address number): {}", code.address_number);
    println!("データ (data + check digit): {}", code.data_string());
    let check = code.check.value().unwrap_or(0);
    println!(
        "合計 (sum): {} / {} mod 19 = {} / チェックデジット (check digit): {} (= {})",
        code.sum,
        code.sum,
        code.sum % 19,
        code.check,
        check
    );
    println!("バー (bars, L/A/D/T): {}", code.bar_string());
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes)
        .map_err(|e| format!("{} に書き込めません (cannot write): {e}", path.display()))
}

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
fn svg(code: &CustomerBarcode, g: Geometry) -> String {
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
fn png(code: &CustomerBarcode, g: Geometry, px_per_mm: u32) -> Result<Vec<u8>, String> {
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
pub fn page(code: &CustomerBarcode, point_size: f32) -> Result<Page, barcode::BarcodeError> {
    let g = Geometry::at(point_size)?;
    let q = QUIET_ZONE_MM * PT_PER_MM;
    let ops: Vec<Op> = crate::render::barcode::draw(code, q, q, point_size)?;
    Ok(Page {
        width: g.width() * PT_PER_MM + 2.0 * q,
        height: g.height() * PT_PER_MM + 2.0 * q,
        ops,
    })
}

fn pdf_bytes(code: &CustomerBarcode, point_size: f32) -> Result<Vec<u8>, String> {
    let page = page(code, point_size).map_err(|e| e.to_string())?;
    let info = DocInfo {
        title: "郵便カスタマバーコード".into(),
        created: String::new(),
    };
    pdf::write_pdf(&[page], &FontSet::default(), &ImageSet::default(), &info)
        .map_err(|e| format!("PDF を書けません (cannot write PDF): {e}"))
}
