//! Font cores: the glyphs of a font that every document of a batch uses
//! (the template's constant text), with the start of their subset
//! compressed once per batch ([`FontCore`]), and the batch's cores by font
//! ([`FontCores`]).
//!
//! The cores are kept here, in a type of the PDF writer passed to
//! [`super::write_pdf_with`] alongside the [`FontSet`], rather than in the
//! font set, so that `crate::render::fonts` does not depend on the writer.
//!
//! May use `crate::render::fonts`, `crate::render::page` (font ids), `subsetter` and the
//! sibling `truetype` and `compress` modules.

use super::compress::DeflatedRun;
use super::truetype::{component_closure, glyf_prefix, glyph_count, strip_hinting};
use crate::render::fonts::{Font, FontSet};
use crate::render::page::FontId;
use std::collections::{BTreeMap, BTreeSet};
use subsetter::GlyphRemapper;

/// The glyphs of a font that every document of a batch uses (the
/// template's constant text), with the start of their subset compressed
/// once per batch.
///
/// `embed_font` numbers a document's subset with `.notdef` first, then
/// all core glyphs in core order, then the document's other glyphs in
/// ascending order. The subset's `glyf` table (always the first table of a
/// stripped subset) then starts with the same bytes in every document:
/// those are deflated here once, at level 9, as raw deflate blocks ending
/// on a byte boundary. A document's font stream is spliced from its own
/// bytes before that run (the table directory, as a stored block), the
/// cached blocks and its bytes after the run (deflated on their own), in a
/// zlib wrapper with the Adler-32 of the whole subset. A document whose run differs (checked byte for byte) is
/// compressed whole, so the output never depends on the cache being right.
#[derive(Debug)]
pub struct FontCore {
    /// Old glyph ids in subset order (after `.notdef`), closed under
    /// composite-glyph components.
    gids: Vec<u16>,
    /// The stripped `glyf` bytes of `.notdef` and `gids`, deflated once.
    glyf: DeflatedRun,
}

impl FontCore {
    /// The core of `font` for `glyphs` (any order; duplicates, `.notdef`
    /// and ids the font does not have are dropped). `None` when there is
    /// nothing to share or the font cannot be subset as expected.
    fn build(font: &Font, glyphs: &[u16]) -> Option<FontCore> {
        let count = glyph_count(&font.data);
        let wanted: BTreeSet<u16> = glyphs
            .iter()
            .copied()
            .filter(|g| *g != 0 && *g < count)
            .collect();
        if wanted.is_empty() {
            return None;
        }
        let gids = component_closure(&font.data, &wanted.into_iter().collect::<Vec<_>>())?;
        let remapper = GlyphRemapper::new_from_glyphs(&gids);
        let subset = subsetter::subset(&font.data, 0, &remapper).ok()?;
        let subset = strip_hinting(&subset)?;
        let range = glyf_prefix(&subset, gids.len() + 1)?;
        let glyf = DeflatedRun::new(subset[range].to_vec())?;
        Some(FontCore { gids, glyf })
    }

    /// The core's glyph ids in subset order (after `.notdef`).
    pub fn glyphs(&self) -> &[u16] {
        &self.gids
    }

    /// The zlib stream of `subset` (a stripped subset numbered with this
    /// core first) spliced around the cached blocks, or `None` when the
    /// subset does not contain the core's bytes where they belong.
    pub(super) fn splice(&self, subset: &[u8], level: u8) -> Option<Vec<u8>> {
        let range = glyf_prefix(subset, self.gids.len() + 1)?;
        if subset[range.clone()] != self.glyf.bytes[..] {
            return None;
        }
        let (before, after) = (&subset[..range.start], &subset[range.end..]);
        self.glyf.splice(before, after, level)
    }
}

/// The [`FontCore`]s of a batch's fonts, by font id. Built once per batch
/// from its [`FontSet`] and passed with that set to
/// [`super::write_pdf_with`]; the writer then numbers and compresses each
/// cored font's subsets around its core. The cores change the PDF bytes,
/// never their content. The default has no cores.
#[derive(Debug, Default)]
pub struct FontCores {
    by_font: BTreeMap<FontId, FontCore>,
}

impl FontCores {
    /// The cores of the fonts of `fonts` for the glyphs given per font id
    /// (ids of `fonts`); a font whose glyphs give no core (see
    /// [`FontCore`]) gets none.
    pub(crate) fn build(
        fonts: &FontSet,
        glyphs: impl IntoIterator<Item = (FontId, Vec<u16>)>,
    ) -> FontCores {
        let mut by_font = BTreeMap::new();
        for (id, glyphs) in glyphs {
            if let Some(core) = FontCore::build(fonts.font(id), &glyphs) {
                by_font.insert(id, core);
            }
        }
        FontCores { by_font }
    }

    /// The core of a font, if it has one.
    pub fn get(&self, id: FontId) -> Option<&FontCore> {
        self.by_font.get(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::compress::zlib;
    use crate::pdf::font::{embed_font, FontUse};
    use crate::pdf::test_support::{find, fonts, text_page};
    use crate::pdf::usage::Usage;
    use crate::pdf::{write_pdf_with, DocInfo, PdfOptions};
    use crate::render::image::ImageSet;
    use pdf_writer::{Pdf, Ref};

    /// The raw (still compressed) embedded font file stream of a PDF with one font.
    fn font_stream(pdf: &[u8]) -> &[u8] {
        let at = find(pdf, b"/Length1").expect("font file");
        let start = at + find(&pdf[at..], b"stream\n").unwrap() + 7;
        let end = start + find(&pdf[start..], b"\nendstream").unwrap();
        &pdf[start..end]
    }

    /// A font set and cores whose mincho font has a core made of `text`'s glyphs.
    fn fonts_with_core(text: &str) -> (FontSet, FontCores, FontId) {
        let set = fonts();
        let chain = set.chain("mincho").unwrap().to_vec();
        let gids: Vec<u16> = text
            .chars()
            .map(|c| set.resolve(&chain, c).unwrap().1)
            .collect();
        let id = chain[0];
        let cores = FontCores::build(&set, [(id, gids)]);
        assert!(cores.get(id).is_some());
        (set, cores, id)
    }

    /// [`write_pdf_with`] with the default options and `cores`.
    fn write(pages: &[crate::render::page::Page], set: &FontSet, cores: &FontCores) -> Vec<u8> {
        let (images, info) = (ImageSet::default(), DocInfo::default());
        write_pdf_with(pages, set, cores, &images, &info, &PdfOptions::default()).unwrap()
    }

    #[test]
    fn core_glyphs_come_first_and_spliced_stream_inflates_to_the_subset() {
        let (set, cores, id) = fonts_with_core("上記の者は在職していることを証明します");
        let core = cores.get(id).unwrap();
        let font = set.font(id);
        let page = text_page(&set, "山田太郎は在職", None);
        let used = Usage::collect(std::slice::from_ref(&page), &set, &ImageSet::default()).unwrap();
        let glyphs = &used.fonts[&id];
        let mut pdf = Pdf::new();
        let mut alloc = Ref::new(2);
        let f = FontUse {
            font,
            glyphs,
            core: Some(core),
        };
        let e = embed_font(&mut pdf, &mut alloc, 0, &f, 1).unwrap();
        // Core glyphs get CIDs 1.. in core order, whether used or not.
        for (i, g) in core.glyphs().iter().enumerate() {
            assert_eq!(e.remapper.get(*g), Some(i as u16 + 1));
        }
        // The subset the writer compresses, rebuilt the same way.
        let order: Vec<u16> = e.remapper.remapped_gids().collect();
        let subset =
            subsetter::subset(&font.data, 0, &GlyphRemapper::new_from_glyphs(&order[1..])).unwrap();
        let subset = strip_hinting(&subset).unwrap();
        let spliced = core.splice(&subset, 1).expect("core matches");
        let inflated = miniz_oxide::inflate::decompress_to_vec_zlib(&spliced).unwrap();
        assert_eq!(inflated, subset);
        assert_eq!(
            spliced[spliced.len() - 4..],
            miniz_oxide::mz_adler32_oxide(1, &subset).to_be_bytes()
        );
        assert!(find(&spliced, &core.glyf.deflated).is_some());
        // The core's glyf run is a real prefix of the subset's glyf table.
        let range = glyf_prefix(&subset, core.glyphs().len() + 1).unwrap();
        assert_eq!(subset[range], core.glyf.bytes[..]);
    }

    #[test]
    fn documents_with_different_names_share_the_cached_core_blocks() {
        let (set, cores, id) = fonts_with_core("在職証明書氏名住所");
        let core = cores.get(id).unwrap();
        let a = write(&[text_page(&set, "在職証明書山田太郎", None)], &set, &cores);
        let b = write(&[text_page(&set, "在職証明書佐藤花子", None)], &set, &cores);
        let (fa, fb) = (font_stream(&a), font_stream(&b));
        assert_ne!(fa, fb);
        for f in [fa, fb] {
            assert!(
                find(f, &core.glyf.deflated).is_some(),
                "cached blocks spliced in"
            );
            let font = miniz_oxide::inflate::decompress_to_vec_zlib(f).unwrap();
            assert!(ttf_parser::Face::parse(&font, 0).is_ok());
        }
    }

    #[test]
    fn a_core_that_does_not_match_falls_back_to_whole_compression() {
        let (set, mut cores, id) = fonts_with_core("在職証明書");
        let page = text_page(&set, "在職証明書山田", None);
        let good = write(std::slice::from_ref(&page), &set, &cores);
        let good_font = miniz_oxide::inflate::decompress_to_vec_zlib(font_stream(&good)).unwrap();
        // Corrupt the cached bytes: the document's run no longer matches.
        let chain = set.chain("mincho").unwrap().to_vec();
        let gids: Vec<u16> = "在職証明書"
            .chars()
            .map(|c| set.resolve(&chain, c).unwrap().1)
            .collect();
        let mut core = FontCore::build(set.font(id), &gids).unwrap();
        assert!(core.splice(&good_font, 1).is_some());
        let last = core.glyf.bytes.len() - 1;
        core.glyf.bytes[last] ^= 0xFF;
        assert!(core.splice(&good_font, 1).is_none());
        let deflated = core.glyf.deflated.clone();
        cores.by_font.insert(id, core);
        let bad = write(std::slice::from_ref(&page), &set, &cores);
        let f = font_stream(&bad);
        assert!(find(f, &deflated).is_none(), "cache not used");
        assert_eq!(f, &zlib(&good_font, 1)[..]);
        assert_eq!(
            miniz_oxide::inflate::decompress_to_vec_zlib(f).unwrap(),
            good_font
        );
    }
}
