//! Images and QR codes: placed in their box, checked against the safe area.
//!
//! May use `crate::render` (form, image, page).

use super::{Ctx, LayoutError};
use crate::render::form::{ImageEl, QrEl, QrLevel};
use crate::render::image::ImageSet;
use crate::render::page::Op;

impl Ctx<'_> {
    pub(super) fn image(&mut self, i: &ImageEl, images: &ImageSet) -> Result<(), LayoutError> {
        let id = images
            .find(&i.src)
            .ok_or_else(|| LayoutError::UnknownImage {
                pos: i.pos,
                src: i.src.clone(),
            })?;
        let img = images.get(id);
        let aspect = img.height.max(1) as f32 / img.width.max(1) as f32;
        let (x, y, w, h) = match (i.w, i.h) {
            // Both given: the largest picture of the image's proportions
            // that fits the box, centred in it.
            (Some(bw), Some(bh)) => {
                let (w, h) = if bw * aspect <= bh {
                    (bw, bw * aspect)
                } else {
                    (bh / aspect, bh)
                };
                (i.x + (bw - w) / 2.0, i.y + (bh - h) / 2.0, w, h)
            }
            (Some(w), None) => (i.x, i.y, w, w * aspect),
            (None, Some(h)) => (i.x, i.y, h / aspect, h),
            (None, None) => (i.x, i.y, img.width as f32 * 0.75, img.height as f32 * 0.75),
        };
        self.ops.push(Op::Image { id, x, y, w, h });
        Ok(())
    }

    pub(super) fn qr(&mut self, q: &QrEl) -> Result<(), LayoutError> {
        let level = match q.level {
            QrLevel::L => qrcode::EcLevel::L,
            QrLevel::M => qrcode::EcLevel::M,
            QrLevel::Q => qrcode::EcLevel::Q,
            QrLevel::H => qrcode::EcLevel::H,
        };
        // Too much data for any QR version is the record's problem.
        let code = qrcode::QrCode::with_error_correction_level(q.text.as_bytes(), level).map_err(
            |_| LayoutError::Overflow {
                pos: q.pos,
                element: "qr",
            },
        )?;
        let n = code.width();
        let colors = code.to_colors();
        let module = q.size / (n as f32 + 2.0 * q.quiet as f32);
        let origin = (q.x + module * q.quiet as f32, q.y + module * q.quiet as f32);
        // One rectangle per horizontal run of dark modules.
        for row in 0..n {
            let mut col = 0;
            while col < n {
                if colors[row * n + col] != qrcode::Color::Dark {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < n && colors[row * n + col] == qrcode::Color::Dark {
                    col += 1;
                }
                self.ops.push(Op::Rect {
                    x: origin.0 + start as f32 * module,
                    y: origin.1 + row as f32 * module,
                    w: (col - start) as f32 * module,
                    h: module,
                    stroke: None,
                    fill: Some(q.color),
                    radius: 0.0,
                });
            }
        }
        Ok(())
    }
}
