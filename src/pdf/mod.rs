//! The PDF writer: laid-out pages to deterministic PDF bytes.
//!
//! [`write_pdf`] turns [`Page`]s into one PDF 1.7 file using `pdf-writer`
//! for the object syntax, `subsetter` for font subsets and `miniz_oxide`
//! for compression.
//!
//! This module may use `crate::render::page` (its input), `crate::render::fonts` and
//! `crate::render::image` (the batch's loaded assets) and external crates, and
//! nothing else of the crate; the rest of the crate uses it through the
//! items re-exported here.
//!
//! # Document structure
//!
//! * One shared `/Resources` dictionary for all pages, naming the fonts
//!   `F0`, `F1`, … and images `Im0`, `Im1`, … in id order of the fonts and
//!   images the document actually uses.
//! * Per used font, one Type0 font (`/Identity-H`) over a `CIDFontType2`
//!   descendant with `/CIDToGIDMap /Identity`: the embedded TrueType subset
//!   numbers its glyphs `0..n` (`.notdef`, then the font's [`FontCore`]
//!   glyphs if the [`FontCores`] have one, then the other glyphs in
//!   ascending order of old id), and those new ids are the CIDs in the
//!   content streams. Widths (`/DW` + a compact `/W` array), a font
//!   descriptor and a `/ToUnicode` CMap (so that copying and `pdftotext`
//!   give the source text back, including characters outside the BMP and
//!   variation sequences) complete it. All pages of a document
//!   share one subset per font. TrueType hinting (glyph instructions,
//!   `fpgm`/`prep`/`cvt `) is stripped from the subset: viewers do not need
//!   it and it is a quarter of a BIZ UD subset. A glyph maps to the text of
//!   its first occurrence in the document; should one glyph stand for two
//!   texts (e.g. a base character and a variation sequence that resolves to
//!   the default glyph), the later one extracts as the earlier.
//! * Per used image, one image XObject (plus a soft mask for PNGs with
//!   transparency), pre-encoded at load time by [`crate::render::image`].
//! * Per page, one deflated content stream.
//!
//! # Where things are written
//!
//! One file per PDF concept:
//!
//! * `mod.rs`: the entry points, options and errors, and the document
//!   driver (object numbering and the order objects are written in).
//! * `usage.rs`: the fonts, glyphs and images a document uses; validation.
//! * `font.rs`: Type0 and CID fonts, widths, font descriptor, font file.
//! * `font_core.rs`: the batch's constant glyphs, compressed once.
//! * `truetype.rs`: font tables, composite glyphs, hinting stripped.
//! * `cmap.rs`: the `/ToUnicode` CMap.
//! * `image.rs`: image XObjects and soft masks.
//! * `content.rs`: content streams (graphics state, text, paths).
//! * `pages.rs`: page objects, the page tree and the shared resources.
//! * `info.rs`: the document information dictionary and its date.
//! * `file_id.rs`: the trailer `/ID`.
//! * `compress.rs`: zlib, and zlib streams spliced around cached blocks.
//!
//! # Determinism
//!
//! The output is a pure function of the inputs: objects are numbered in a
//! fixed order, all maps are `BTreeMap`s, the subset tag (`ABCDEF+` in
//! front of the PostScript name) is derived from a SHA-256 of the font's
//! name and glyph set, the creation date comes from [`DocInfo::created`]
//! rather than the clock, and the trailer `/ID` is the first 16 bytes of a
//! SHA-256 over the document body. Numbers are rounded to 1/1000 pt before
//! formatting so that float noise does not leak into the bytes.
//!
//! # Coordinates
//!
//! Pages use top-left based coordinates with y down (see [`crate::render::page`]);
//! the writer flips them: `y_pdf = page.height - y`.

mod cmap;
mod compress;
mod content;
mod file_id;
mod font;
mod font_core;
mod image;
mod info;
mod pages;
#[cfg(test)]
mod test_support;
mod truetype;
mod usage;

pub use font_core::{FontCore, FontCores};

use crate::render::fonts::FontSet;
use crate::render::image::ImageSet;
use crate::render::page::{FontId, Page};
use content::{page_content, Scratch};
use file_id::FileId;
use font::{embed_font, EmbeddedFont, FontUse};
use info::{parse_date, write_info};
use pages::{write_page, write_page_tree, write_resources};
use pdf_writer::{Pdf, Ref, Settings};
use std::collections::BTreeMap;
use usage::Usage;

/// Compression settings for [`write_pdf_with`].
///
/// Levels are zlib levels `1..=9` (0 stores uncompressed). The default is
/// level 1 for everything: measured on a dense one-page certificate (13
/// lines × 30 kanji, ~140 distinct glyphs) level 6 makes the file 7 %
/// smaller but the writer 3× slower, almost all of it in compressing the
/// font subset (see `examples/pdf_speed.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfOptions {
    /// Level for embedded font subsets and ToUnicode CMaps.
    pub font_level: u8,
    /// Level for page content streams.
    pub content_level: u8,
}

impl Default for PdfOptions {
    fn default() -> Self {
        PdfOptions {
            font_level: 1,
            content_level: 1,
        }
    }
}

impl PdfOptions {
    /// Smallest files, for archives: level 9 throughout (about 3× slower).
    pub const SMALL: PdfOptions = PdfOptions {
        font_level: 9,
        content_level: 9,
    };
}

/// Document-level information written into the PDF.
#[derive(Debug, Clone, Default)]
pub struct DocInfo {
    /// Title (document kind, never personal data).
    pub title: String,
    /// Creation date as `YYYYMMDDHHmmSS` (from the batch, not the clock, so output is reproducible).
    pub created: String,
}

/// Why a PDF could not be written.
#[derive(Debug)]
pub struct PdfError {
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PdfError {}

fn err(message: impl Into<String>) -> PdfError {
    PdfError {
        message: message.into(),
    }
}

/// Writes `pages` as one PDF with the default [`PdfOptions`] and no font
/// cores. Same input, same bytes.
///
/// Fails (never panics) when an op references a font or image id that is
/// not in `fonts` / `images`, a glyph id the font does not have, a
/// non-finite coordinate, or when `info.created` is not `YYYYMMDDHHmmSS`.
pub fn write_pdf(
    pages: &[Page],
    fonts: &FontSet,
    images: &ImageSet,
    info: &DocInfo,
) -> Result<Vec<u8>, PdfError> {
    let cores = FontCores::default();
    write_pdf_with(pages, fonts, &cores, images, info, &PdfOptions::default())
}

/// [`write_pdf`] with explicit compression settings, and the batch's
/// [`FontCores`] for `fonts` (which change the bytes of the font files,
/// never the document's content).
pub fn write_pdf_with(
    pages: &[Page],
    fonts: &FontSet,
    cores: &FontCores,
    images: &ImageSet,
    info: &DocInfo,
    options: &PdfOptions,
) -> Result<Vec<u8>, PdfError> {
    let font_level = options.font_level.min(10);
    let content_level = options.content_level.min(10);
    let used = Usage::collect(pages, fonts, images)?;
    let date = parse_date(&info.created)?;

    // Objects are numbered, and written, in a fixed order (the bytes
    // depend on it): the document's four objects, then per font its five
    // objects, per image its XObject (and soft mask), the resources, per
    // page its content stream and page object, the page tree, the catalog
    // and the information dictionary.
    let mut pdf = Pdf::with_settings_and_capacity(Settings { pretty: false }, 16 * 1024);
    pdf.set_version(1, 7);
    let mut alloc = Ref::new(1);
    let doc = DocRefs {
        catalog: alloc.bump(),
        pages: alloc.bump(),
        info: alloc.bump(),
        resources: alloc.bump(),
    };
    // Hashed from what the document is made of, not from its streams.
    let mut file_id = FileId::new(info, font_level, content_level);
    file_id.add_fonts(&used, fonts, cores);
    file_id.add_images(&used.images, images);

    // Fonts, in FontId order.
    let mut embedded: BTreeMap<FontId, EmbeddedFont> = BTreeMap::new();
    for (index, (id, glyphs)) in used.fonts.iter().enumerate() {
        let f = FontUse {
            font: fonts.font(*id),
            glyphs,
            core: cores.get(*id),
        };
        let e = embed_font(&mut pdf, &mut alloc, index, &f, font_level)?;
        embedded.insert(*id, e);
    }

    // Images, in ImageId order.
    let image_refs = image::write_images(&mut pdf, &mut alloc, &used.images, images);
    let image_index: BTreeMap<usize, usize> = used
        .images
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();

    write_resources(&mut pdf, doc.resources, &embedded, &image_refs);

    // Pages.
    let mut page_refs = Vec::with_capacity(pages.len());
    let mut scratch = Scratch::default();
    for page in pages {
        let content = page_content(page, &embedded, &image_index, &mut scratch);
        file_id.add_page(page, &content);
        page_refs.push(write_page(
            &mut pdf,
            &mut alloc,
            &doc,
            page,
            &content,
            content_level,
        ));
    }
    write_page_tree(&mut pdf, doc.pages, &page_refs);
    pdf.catalog(doc.catalog).pages(doc.pages);
    write_info(&mut pdf, doc.info, info, date);

    let id = file_id.finish();
    pdf.set_file_id((id.clone(), id));
    Ok(pdf.finish())
}

/// The objects every document has, numbered 1 to 4 in this order.
struct DocRefs {
    catalog: Ref,
    /// The page tree.
    pages: Ref,
    /// The document information dictionary.
    info: Ref,
    /// The resources dictionary all pages share.
    resources: Ref,
}

/// Rounds to 1/1000 (of a point, or of a text space unit).
fn round(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::page::{ImageId, Op};
    use test_support::{fonts, text_page};

    #[test]
    fn missing_font_or_image_is_an_error() {
        let set = fonts();
        let mut page = text_page(&set, "在職", None);
        if let Op::Text(run) = &mut page.ops[0] {
            run.font = FontId(99);
        }
        let e = write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).unwrap_err();
        assert!(e.message.contains("missing font 99"), "{e}");

        let page = Page {
            width: 100.0,
            height: 100.0,
            ops: vec![Op::Image {
                id: ImageId(3),
                x: 0.0,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            }],
        };
        let e = write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).unwrap_err();
        assert!(e.message.contains("missing image 3"), "{e}");
    }

    #[test]
    fn bad_glyph_coordinate_or_date_is_an_error() {
        let set = fonts();
        let mut page = text_page(&set, "在", None);
        if let Op::Text(run) = &mut page.ops[0] {
            run.glyphs[0].gid = u16::MAX;
        }
        assert!(write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).is_err());
        let mut page = text_page(&set, "在", None);
        if let Op::Text(run) = &mut page.ops[0] {
            run.glyphs[0].x = f32::NAN;
        }
        assert!(write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).is_err());
        let info = DocInfo {
            title: "t".into(),
            created: "2025-04-01".into(),
        };
        let page = text_page(&set, "在", None);
        assert!(write_pdf(&[page], &set, &ImageSet::default(), &info).is_err());
    }
}
