//! Helpers shared by the unit tests of the PDF writer: the bundled fonts,
//! a one-run text page and a byte search.
//!
//! May use `crate::render::fonts` and `crate::render::page`.

use crate::render::fonts::FontSet;
use crate::render::page::{Color, FontId, Glyph, GlyphRun, Op, Page};
use std::path::Path;

/// The bundled fonts with the default slots.
pub(super) fn fonts() -> FontSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
    FontSet::load(&FontSet::default_slots(&dir)).unwrap()
}

/// A 200 × 100 pt page with `text` in 10 pt mincho on one baseline, at
/// `xs` or at the natural advance from x = 10.
pub(super) fn text_page(set: &FontSet, text: &str, xs: Option<&[f32]>) -> Page {
    let chain = set.chain("mincho").unwrap();
    let mut x = 10.0;
    let mut glyphs = Vec::new();
    let mut font = FontId(0);
    for (i, ch) in text.chars().enumerate() {
        let (f, gid) = set.resolve(chain, ch).unwrap();
        font = f;
        let gx = xs.map(|v| v[i]).unwrap_or(x);
        glyphs.push(Glyph {
            gid,
            x: gx,
            text: ch.to_string(),
        });
        x = gx + set.font(f).advance(gid) * 10.0;
    }
    Page {
        width: 200.0,
        height: 100.0,
        ops: vec![Op::Text(GlyphRun {
            font,
            size: 10.0,
            color: Color::BLACK,
            baseline: 50.0,
            glyphs,
        })],
    }
}

/// Where `needle` first occurs in `hay`.
pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
