//! Embedded fonts: per used font a Type0 font (`/Identity-H`) over a
//! `CIDFontType2` descendant with `/CIDToGIDMap /Identity`, its widths, its
//! font descriptor, the TrueType subset as font file and a `/ToUnicode`
//! CMap. The subset numbers its glyphs `0..n` and those new ids are the
//! CIDs of the content streams ([`EmbeddedFont::glyph`]).
//!
//! May use `crate::render::fonts` (the loaded font), `pdf-writer`, `subsetter`,
//! `sha2` and the sibling `truetype`, `font_core`, `cmap` and `compress`
//! modules.

use super::cmap::write_to_unicode;
use super::compress::zlib;
use super::font_core::FontCore;
use super::truetype::{be16, raw_table, strip_hinting};
use super::{err, round, PdfError};
use crate::render::fonts::Font;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Filter, Name, Pdf, Rect, Ref, Str};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use subsetter::GlyphRemapper;

/// What the content writer needs to know about an embedded font.
pub(super) struct EmbeddedFont {
    /// Resource name (`F0`, `F1`, …).
    pub(super) res_name: String,
    /// The Type0 font object.
    pub(super) type0_ref: Ref,
    /// Old glyph id to new (CID).
    pub(super) remapper: GlyphRemapper,
    /// Advance width in 1/1000 em by old glyph id, exactly as written in `/W`.
    widths: BTreeMap<u16, f32>,
}

impl EmbeddedFont {
    /// New glyph id and width of an old glyph id (always present: the
    /// glyph set was collected from the same pages).
    pub(super) fn glyph(&self, gid: u16) -> (u16, f32) {
        (
            self.remapper.get(gid).unwrap_or(0),
            self.widths.get(&gid).copied().unwrap_or(0.0),
        )
    }
}

/// A font as one document uses it.
pub(super) struct FontUse<'a> {
    /// The font.
    pub(super) font: &'a Font,
    /// The glyphs the document uses, with the text of each (old glyph id
    /// → text of its first occurrence).
    pub(super) glyphs: &'a BTreeMap<u16, &'a str>,
    /// The batch's core of the font, if it has one.
    pub(super) core: Option<&'a FontCore>,
}

/// The objects of one embedded font.
struct FontRefs {
    type0: Ref,
    cid: Ref,
    descriptor: Ref,
    file: Ref,
    cmap: Ref,
}

/// Embeds `f` as the document's `index`-th font (`F{index}`): subsets it,
/// then writes the Type0 font, the CID font with its widths, the
/// descriptor, the font file and the ToUnicode CMap, in that order.
pub(super) fn embed_font(
    pdf: &mut Pdf,
    alloc: &mut Ref,
    index: usize,
    f: &FontUse,
    level: u8,
) -> Result<EmbeddedFont, PdfError> {
    let font = f.font;
    let gids = subset_order(f.glyphs, f.core);
    let remapper = GlyphRemapper::new_from_glyphs(&gids);
    let subset = subsetter::subset(&font.data, 0, &remapper)
        .map_err(|e| err(format!("cannot subset font {}: {e}", font.postscript_name)))?;
    let subset = strip_hinting(&subset).unwrap_or(subset);

    let refs = FontRefs {
        type0: alloc.bump(),
        cid: alloc.bump(),
        descriptor: alloc.bump(),
        file: alloc.bump(),
        cmap: alloc.bump(),
    };
    let base_font = format!("{}+{}", subset_tag(font, &gids), font.postscript_name);

    // Widths, by old id and by new id.
    let widths: BTreeMap<u16, f32> = gids
        .iter()
        .map(|g| (*g, scale(font, font.advance_units(*g) as f32)))
        .collect();
    let mut by_cid: Vec<(u16, f32)> = gids
        .iter()
        .map(|g| (remapper.get(*g).unwrap_or(0), widths[g]))
        .collect();
    by_cid.sort_by_key(|(cid, _)| *cid);

    pdf.type0_font(refs.type0)
        .base_font(Name(base_font.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(refs.cid)
        .to_unicode(refs.cmap);
    write_cid_font(pdf, &refs, &base_font, &by_cid);
    write_descriptor(pdf, &refs, &base_font, font);
    write_font_file(pdf, refs.file, &subset, f.core, level);
    write_to_unicode(pdf, refs.cmap, f.glyphs, &remapper, level);

    Ok(EmbeddedFont {
        res_name: format!("F{index}"),
        type0_ref: refs.type0,
        remapper,
        widths,
    })
}

/// The old glyph ids of the subset in subset order (after `.notdef`):
/// the batch's core glyphs (all of them, in core order), then the
/// document's other glyphs in ascending order.
fn subset_order(glyphs: &BTreeMap<u16, &str>, core: Option<&FontCore>) -> Vec<u16> {
    match core {
        Some(core) => {
            let in_core: BTreeSet<u16> = core.glyphs().iter().copied().collect();
            let mut order = core.glyphs().to_vec();
            order.extend(glyphs.keys().copied().filter(|g| !in_core.contains(g)));
            order
        }
        None => glyphs.keys().copied().collect(),
    }
}

/// Font units to 1/1000 em, rounded as everything written.
fn scale(font: &Font, v: f32) -> f32 {
    let upem = font.units_per_em.max(1) as f32;
    round(v * 1000.0 / upem)
}

/// The deterministic 6-letter subset tag for a font and glyph set.
fn subset_tag(font: &Font, gids: &[u16]) -> String {
    let mut h = Sha256::new();
    h.update(font.postscript_name.as_bytes());
    h.update([0]);
    for g in gids {
        h.update(g.to_be_bytes());
    }
    let d = h.finalize();
    d[..6].iter().map(|b| (b'A' + b % 26) as char).collect()
}

/// Writes the `CIDFontType2` descendant with `/DW` and `/W` from the
/// widths by CID (sorted).
fn write_cid_font(pdf: &mut Pdf, refs: &FontRefs, base_font: &str, by_cid: &[(u16, f32)]) {
    let dw = default_width(by_cid);
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    let mut cid = pdf.cid_font(refs.cid);
    cid.subtype(CidFontType::Type2)
        .base_font(Name(base_font.as_bytes()))
        .system_info(system_info)
        .font_descriptor(refs.descriptor)
        .default_width(dw)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    write_widths(&mut cid.widths(), by_cid, dw);
}

/// Writes the font descriptor: flags, metrics and the font file.
fn write_descriptor(pdf: &mut Pdf, refs: &FontRefs, base_font: &str, font: &Font) {
    let mut flags = FontFlags::SYMBOLIC;
    let os2 = raw_table(&font.data, b"OS/2").unwrap_or(&[]);
    let post = raw_table(&font.data, b"post").unwrap_or(&[]);
    // post.isFixedPitch (u32 at 12) is non-zero for monospaced fonts.
    if post.get(12..16).is_some_and(|b| b.iter().any(|x| *x != 0)) {
        flags |= FontFlags::FIXED_PITCH;
    }
    if is_serif(os2, font) {
        flags |= FontFlags::SERIF;
    }
    if font.italic_angle != 0.0 {
        flags |= FontFlags::ITALIC;
    }
    let weight = be16(os2, 4).unwrap_or(400).clamp(100, 900) as f32;
    let stem_v = (50.0 + (weight / 65.0).powi(2)).round();
    let [x0, y0, x1, y1] = font.bbox.map(|v| scale(font, v as f32));
    pdf.font_descriptor(refs.descriptor)
        .name(Name(base_font.as_bytes()))
        .flags(flags)
        .bbox(Rect::new(x0, y0, x1, y1))
        .italic_angle(round(font.italic_angle))
        .ascent(scale(font, font.ascender as f32))
        .descent(scale(font, font.descender as f32))
        .cap_height(scale(font, font.cap_height as f32))
        .stem_v(stem_v)
        .font_file2(refs.file);
}

/// Writes the subset as the `/FontFile2` stream: spliced around the
/// core's cached blocks when it has the core's bytes, else compressed
/// whole.
fn write_font_file(
    pdf: &mut Pdf,
    file_ref: Ref,
    subset: &[u8],
    core: Option<&FontCore>,
    level: u8,
) {
    let compressed = core
        .and_then(|c| c.splice(subset, level))
        .unwrap_or_else(|| zlib(subset, level));
    pdf.stream(file_ref, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), subset.len() as i32);
}

/// The most common width (ties: the smallest), used as `/DW`.
fn default_width(by_cid: &[(u16, f32)]) -> f32 {
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for (_, w) in by_cid {
        *counts.entry(w.to_bits()).or_default() += 1;
    }
    let mut best: Option<(usize, f32)> = None;
    for (bits, n) in counts {
        let w = f32::from_bits(bits);
        best = match best {
            Some((bn, bw)) if bn > n || (bn == n && bw <= w) => Some((bn, bw)),
            _ => Some((n, w)),
        };
    }
    best.map(|(_, w)| w).unwrap_or(1000.0)
}

/// Writes `/W` for every CID whose width differs from `dw`: runs of four or
/// more equal widths on consecutive CIDs as `first last w`, the rest as
/// `first [w …]` over consecutive CIDs.
fn write_widths(w: &mut pdf_writer::writers::Widths, by_cid: &[(u16, f32)], dw: f32) {
    let items: Vec<(u16, f32)> = by_cid.iter().copied().filter(|(_, x)| *x != dw).collect();
    let mut i = 0;
    while i < items.len() {
        // Extent of the consecutive-CID segment starting at i.
        let mut end = i + 1;
        while end < items.len() && items[end].0 == items[end - 1].0 + 1 {
            end += 1;
        }
        // Within it, split into equal runs.
        let mut pending: Vec<f32> = Vec::new();
        let mut pending_start = items[i].0;
        let mut j = i;
        while j < end {
            let mut k = j + 1;
            while k < end && items[k].1 == items[j].1 {
                k += 1;
            }
            if k - j >= 4 {
                if !pending.is_empty() {
                    w.consecutive(pending_start, pending.drain(..));
                }
                w.same(items[j].0, items[k - 1].0, items[j].1);
                pending_start = items.get(k).map(|x| x.0).unwrap_or(0);
            } else {
                if pending.is_empty() {
                    pending_start = items[j].0;
                }
                pending.extend(items[j..k].iter().map(|x| x.1));
            }
            j = k;
        }
        if !pending.is_empty() {
            w.consecutive(pending_start, pending.drain(..));
        }
        i = end;
    }
}

/// Serif detection: PANOSE serif style, IBM family class, or the name.
fn is_serif(os2: &[u8], font: &Font) -> bool {
    if os2.len() >= 42 {
        let class = os2[30];
        let panose = &os2[32..42];
        if panose[0] == 2 && (2..=10).contains(&panose[1]) {
            return true;
        }
        if matches!(class, 1..=5 | 7) {
            return true;
        }
    }
    let name = font.postscript_name.to_ascii_lowercase();
    ["mincho", "serif", "ming", "song"]
        .iter()
        .any(|k| name.contains(k) && !name.contains("sans"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::test_support::fonts;
    use crate::render::page::FontId;

    #[test]
    fn widths_array_is_compact() {
        let mut w = pdf_writer::Chunk::new();
        {
            let mut obj = w
                .indirect(Ref::new(1))
                .start::<pdf_writer::writers::Widths>();
            let by_cid: Vec<(u16, f32)> = vec![
                (1, 1000.0),
                (2, 500.0),
                (3, 500.0),
                (4, 500.0),
                (5, 500.0),
                (6, 250.0),
                (7, 1000.0),
                (9, 300.0),
            ];
            write_widths(&mut obj, &by_cid, default_width(&by_cid));
        }
        let s = String::from_utf8_lossy(w.as_bytes()).into_owned();
        // DW is 500 (most common): only 1, 6, 7 and 9 are listed.
        assert!(s.contains("[1 [1000] 6 [250 1000] 9 [300]]"), "{s}");
        let by_cid: Vec<(u16, f32)> = (1..=6).map(|c| (c, 600.0)).chain([(7, 1000.0)]).collect();
        assert_eq!(default_width(&by_cid), 600.0);
    }

    #[test]
    fn subset_tag_is_deterministic_and_glyph_dependent() {
        let set = fonts();
        let f = set.font(FontId(0));
        let a = subset_tag(f, &[1, 2, 3]);
        assert_eq!(a, subset_tag(f, &[1, 2, 3]));
        assert_ne!(a, subset_tag(f, &[1, 2, 4]));
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|b| b.is_ascii_uppercase()));
    }
}
