//! What a document uses: the fonts (with their glyphs and the text of each
//! glyph) and the images its pages refer to. Collecting it validates every
//! op, so that the rest of the writer can rely on ids and coordinates.
//!
//! May use `crate::render::page` (the ops), `crate::render::fonts` and `crate::render::image` (to
//! check ids against the loaded assets) and the sibling `truetype` module.

use super::truetype::glyph_count;
use super::{err, PdfError};
use crate::render::fonts::FontSet;
use crate::render::image::ImageSet;
use crate::render::page::{FontId, Op, Page};
use std::collections::{BTreeMap, BTreeSet};

/// Fonts (with their glyphs and the text of each glyph) and images a
/// document uses; building it validates every op.
pub(super) struct Usage<'a> {
    /// Per font, its glyphs and the text of each glyph's first occurrence.
    pub(super) fonts: BTreeMap<FontId, BTreeMap<u16, &'a str>>,
    /// Image ids.
    pub(super) images: BTreeSet<usize>,
}

impl<'a> Usage<'a> {
    /// The usage of `pages`; an error for the first op that references a
    /// font, glyph or image the assets do not have, or has a non-finite
    /// coordinate.
    pub(super) fn collect(
        pages: &'a [Page],
        fonts: &FontSet,
        images: &ImageSet,
    ) -> Result<Self, PdfError> {
        let mut used = Usage {
            fonts: BTreeMap::new(),
            images: BTreeSet::new(),
        };
        let finite = |what: &str, vals: &[f32]| {
            if vals.iter().all(|v| v.is_finite()) {
                Ok(())
            } else {
                Err(err(format!("non-finite coordinate in {what}")))
            }
        };
        let mut counts: BTreeMap<FontId, u16> = BTreeMap::new();
        for (n, page) in pages.iter().enumerate() {
            finite("page size", &[page.width, page.height])?;
            if page.width <= 0.0 || page.height <= 0.0 {
                return Err(err(format!("page {} has an empty size", n + 1)));
            }
            for op in &page.ops {
                match op {
                    Op::Text(run) => {
                        if run.font.0 >= fonts.len() {
                            return Err(err(format!(
                                "page {}: glyph run references missing font {}",
                                n + 1,
                                run.font.0
                            )));
                        }
                        finite("text", &[run.size, run.baseline])?;
                        let glyph_count = *counts
                            .entry(run.font)
                            .or_insert_with(|| glyph_count(&fonts.font(run.font).data));
                        let set = used.fonts.entry(run.font).or_default();
                        for g in &run.glyphs {
                            finite("text", &[g.x])?;
                            if g.gid >= glyph_count {
                                return Err(err(format!(
                                    "page {}: glyph id {} not in font {}",
                                    n + 1,
                                    g.gid,
                                    fonts.font(run.font).postscript_name
                                )));
                            }
                            // The first text seen for a glyph wins.
                            set.entry(g.gid).or_insert(g.text.as_str());
                        }
                    }
                    Op::Line { from, to, stroke } => {
                        finite("line", &[from.0, from.1, to.0, to.1, stroke.width])?;
                        finite("line", &stroke.dash)?;
                    }
                    Op::Rect {
                        x,
                        y,
                        w,
                        h,
                        stroke,
                        radius,
                        ..
                    } => {
                        finite("rect", &[*x, *y, *w, *h, *radius])?;
                        if let Some(s) = stroke {
                            finite("rect", &[s.width])?;
                            finite("rect", &s.dash)?;
                        }
                    }
                    Op::Image { id, x, y, w, h } => {
                        if images.try_get(*id).is_none() {
                            return Err(err(format!(
                                "page {}: references missing image {}",
                                n + 1,
                                id.0
                            )));
                        }
                        finite("image", &[*x, *y, *w, *h])?;
                        used.images.insert(id.0);
                    }
                    Op::ClipBegin { x, y, w, h } => finite("clip", &[*x, *y, *w, *h])?,
                    Op::ClipEnd => {}
                }
            }
        }
        // Runs with no glyphs do not make a font "used".
        used.fonts.retain(|_, g| !g.is_empty());
        Ok(used)
    }
}
