//! The Japan Post customer barcode as a page element. Whether a record's
//! postal code agrees with its address is the check stage's business
//! (`check::address`, which rejects such rows before they are given a
//! number): here a barcode that cannot be made is only left out, with a
//! warning unless the markup says `on-error="omit"`.
//!
//! May use `crate::japan` (postal data, the barcode's code) and
//! `crate::render` (form, barcode drawing, page).

use super::{Ctx, LayoutError};
use crate::japan::barcode;
use crate::japan::postal::PostalData;
use crate::render::form::{BarcodeAddress, BarcodeEl, OnBarcodeError};

impl Ctx<'_> {
    /// Draws a customer barcode, or leaves it out (with a warning unless
    /// `on-error="omit"`) when the record's address cannot be encoded.
    /// Never draws a guessed barcode, and never rejects the record: that
    /// was decided when its row was checked.
    pub(super) fn barcode(&mut self, b: &BarcodeEl) -> Result<(), LayoutError> {
        let g = barcode::Geometry::at(b.point_size)
            .map_err(|_| LayoutError::BarcodePlacement { pos: b.pos })?;
        let k = crate::render::page::PT_PER_MM;
        let q = barcode::QUIET_ZONE_MM * k;
        let (x0, y0) = (b.x - q, b.y - q);
        let (x1, y1) = (b.x + g.width() * k + q, b.y + g.height() * k + q);
        let m = self.margins;
        let tol = 0.01;
        if x0 < m.left - tol
            || y0 < m.top - tol
            || x1 > self.page_w - m.right + tol
            || y1 > self.page_h - m.bottom + tol
        {
            return Err(LayoutError::BarcodePlacement { pos: b.pos });
        }
        let code = match &b.address {
            BarcodeAddress::Full(address) => {
                let data = PostalData::embedded().map_err(|e| LayoutError::PostalData {
                    message: e.message.clone(),
                })?;
                data.customer_barcode(&b.postal, address)
                    .map_err(|f| f.plain_reason())
            }
            BarcodeAddress::B(addr_b) => {
                barcode::encode(&b.postal, addr_b).map_err(|e| e.to_string())
            }
        };
        match code {
            Ok(code) => {
                let ops = crate::render::barcode::draw(&code, b.x, b.y, b.point_size)
                    .map_err(|_| LayoutError::BarcodePlacement { pos: b.pos })?;
                self.ops.extend(ops);
                Ok(())
            }
            Err(reason) => match b.on_error {
                OnBarcodeError::Reject | OnBarcodeError::Warn => {
                    self.warnings.push(format!(
                        "カスタマバーコードを付けませんでした (customer barcode left out): {reason} [{}]",
                        b.pos
                    ));
                    Ok(())
                }
                OnBarcodeError::Omit => Ok(()),
            },
        }
    }
}
