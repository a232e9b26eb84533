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
//! symbols with the check digit, the sum and the bars. The drawings are
//! [`crate::mail::address_barcode`]'s: the 2 mm quiet zone around the
//! symbol and the exact geometry of [`crate::japan::barcode::Geometry`].
//! Exit codes: 0 encoded, 1 cannot encode (message says why), 2 usage,
//! data or file error.

use crate::cli::output::{errln, outln};
use crate::error::ExitCode;
use crate::japan::barcode::{self, CustomerBarcode, Geometry};
use crate::japan::postal::PostalData;
use crate::mail::address_barcode;
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `chohyo barcode`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("addr").required(true).args(["address", "address_b"])))]
pub struct BarcodeArgs {
    /// 7 桁の郵便番号（2630023 か 263-0023） (the 7-digit postal code)
    #[arg(long)]
    pub postal: String,
    /// 住所全体。郵便番号データで住所A/住所Bに分ける (the full address; split into 住所A/住所B with the postal data)
    #[arg(long)]
    pub address: Option<String>,
    /// 住所Bだけ: 町域名より後ろの部分 (only 住所B: the part after the town name)
    #[arg(long = "address-b")]
    pub address_b: Option<String>,
    /// バーコードの大きさ（ポイント）8–11.5、標準は 10 (point size of the symbol, 8–11.5; 10 is the standard
    /// size)
    #[arg(long, default_value_t = barcode::DEFAULT_POINT_SIZE)]
    pub point_size: f32,
    /// SVG（ミリメートル単位）で書き出す (write the symbol as SVG, millimetre units)
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// PNG で書き出す (write the symbol as a PNG)
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// PNG の解像度（1 mm あたりの画素数、整数） (PNG resolution in pixels per millimetre)
    #[arg(long, default_value_t = 20)]
    pub px_per_mm: u32,
    /// 実寸の 1 ページ PDF で書き出す (write the symbol as a one-page PDF at actual size)
    #[arg(long)]
    pub pdf: Option<PathBuf>,
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &BarcodeArgs) -> ExitCode {
    let geometry = match Geometry::at(args.point_size) {
        Ok(g) => g,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let addr_b = match address_b(args) {
        Ok(b) => b,
        Err(code) => return code,
    };
    outln!("住所B (address B): {addr_b}");
    let code = match barcode::encode(&args.postal, &addr_b) {
        Ok(c) => c,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Rejects;
        }
    };
    print_code(&code);
    let rendered = [
        (
            &args.svg,
            Ok(address_barcode::svg(&code, geometry).into_bytes()),
        ),
        (
            &args.png,
            args.png.as_ref().map_or(Ok(Vec::new()), |_| {
                address_barcode::png(&code, geometry, args.px_per_mm)
            }),
        ),
        (
            &args.pdf,
            args.pdf.as_ref().map_or(Ok(Vec::new()), |_| {
                address_barcode::pdf(&code, args.point_size)
            }),
        ),
    ];
    for (path, bytes) in rendered {
        let Some(path) = path else { continue };
        let result = bytes.and_then(|b| write_file(path, &b));
        if let Err(e) = result {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    }
    ExitCode::Success
}

/// 住所B: given, or split from the full address with the postal data
/// (printing 住所A); the exit code when it cannot be had.
fn address_b(args: &BarcodeArgs) -> Result<String, ExitCode> {
    let full = match (&args.address, &args.address_b) {
        (_, Some(b)) => return Ok(b.clone()),
        (Some(full), None) => full,
        (None, None) => {
            errln!("chohyo: --address か --address-b を指定してください (give --address or --address-b)");
            return Err(ExitCode::Input);
        }
    };
    let data = PostalData::embedded().map_err(|e| {
        errln!("chohyo: {e}");
        ExitCode::Input
    })?;
    match data.split_address(&args.postal, full) {
        Ok(split) => {
            outln!("住所A (address A): {}", split.a);
            Ok(split.b)
        }
        Err(v) => {
            errln!("chohyo: {}", v.reason);
            if !v.suggestions.is_empty() {
                errln!(
                    "  住所に合う郵便番号 (codes matching the address): {}",
                    v.suggestions.join(", ")
                );
            }
            Err(ExitCode::Rejects)
        }
    }
}

fn print_code(code: &CustomerBarcode) {
    outln!("住所表示番号 (address number): {}", code.address_number);
    outln!("データ (data + check digit): {}", code.data_string());
    let check = code.check.value().unwrap_or(0);
    outln!(
        "合計 (sum): {} / {} mod 19 = {} / チェックデジット (check digit): {} (= {})",
        code.sum,
        code.sum,
        code.sum % 19,
        code.check,
        check
    );
    outln!("バー (bars, L/A/D/T): {}", code.bar_string());
}

/// Writes a drawing owner-only (0600) and atomically, never through a
/// symlink: the symbol encodes a person's address, personal data like every
/// other output.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::files::write_atomic(path, bytes)
        .map_err(|e| format!("{} に書き込めません (cannot write): {e}", path.display()))
}
