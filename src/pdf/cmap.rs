//! The `/ToUnicode` CMap of an embedded font: which text each CID stands
//! for, so that copying and `pdftotext` give the source text back.
//!
//! May use `pdf-writer`, `subsetter` (the glyph remapper that numbers the
//! CIDs) and the sibling `compress` module.

use super::compress::zlib;
use pdf_writer::{Filter, Pdf, Ref};
use std::collections::BTreeMap;
use subsetter::GlyphRemapper;

/// Writes the compressed `/ToUnicode` stream of a font whose glyphs (old
/// glyph id → text of its first occurrence) `remapper` numbers.
pub(super) fn write_to_unicode(
    pdf: &mut Pdf,
    cmap_ref: Ref,
    glyphs: &BTreeMap<u16, &str>,
    remapper: &GlyphRemapper,
    level: u8,
) {
    let mut entries: Vec<(u16, &str)> = glyphs
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(g, t)| (remapper.get(*g).unwrap_or(0), *t))
        .collect();
    entries.sort_by_key(|(cid, _)| *cid);
    let cmap = to_unicode_cmap(&entries);
    let compressed = zlib(&cmap, level);
    pdf.stream(cmap_ref, &compressed)
        .filter(Filter::FlateDecode);
}

/// A compact `/ToUnicode` CMap for `(cid, text)` pairs sorted by CID:
/// runs of two or more consecutive CIDs mapping to consecutive single BMP
/// characters become `bfrange` entries, everything else `bfchar` (texts as
/// UTF-16BE, so characters outside the BMP and variation sequences extract
/// too). Only what a CMap needs to be read is written (no DSC comments).
fn to_unicode_cmap(entries: &[(u16, &str)]) -> Vec<u8> {
    use std::fmt::Write;
    // One BMP character, as its code unit.
    let single = |t: &str| {
        let mut cs = t.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) if (c as u32) < 0x1_0000 => Some(c as u32),
            _ => None,
        }
    };
    let mut chars = String::new();
    let mut ranges = String::new();
    let (mut n_chars, mut n_ranges) = (0, 0);
    let mut blocks = String::new();
    let flush = |chars: &mut String, n: &mut usize, kind: &str, blocks: &mut String| {
        if *n > 0 {
            let _ = write!(blocks, "{n} begin{kind}\n{chars}end{kind}\n");
            chars.clear();
            *n = 0;
        }
    };
    let mut i = 0;
    while i < entries.len() {
        let (cid, text) = entries[i];
        let mut end = i;
        if let Some(u) = single(text) {
            // Same high byte of the CID, and the last byte of the
            // character must not wrap.
            while end + 1 < entries.len() {
                let (next_cid, next_text) = entries[end + 1];
                let step = (end + 1 - i) as u32;
                if next_cid as u32 == cid as u32 + step
                    && next_cid >> 8 == cid >> 8
                    && single(next_text) == Some(u + step)
                    && (u & 0xFF) + step <= 0xFF
                {
                    end += 1;
                } else {
                    break;
                }
            }
        }
        if end > i {
            let _ = writeln!(
                ranges,
                "<{cid:04X}><{:04X}><{:04X}>",
                entries[end].0,
                single(text).unwrap_or(0)
            );
            n_ranges += 1;
            if n_ranges == 100 {
                flush(&mut ranges, &mut n_ranges, "bfrange", &mut blocks);
            }
        } else {
            let _ = write!(chars, "<{cid:04X}><");
            for unit in text.encode_utf16() {
                let _ = write!(chars, "{unit:04X}");
            }
            chars.push_str(">\n");
            n_chars += 1;
            if n_chars == 100 {
                flush(&mut chars, &mut n_chars, "bfchar", &mut blocks);
            }
        }
        i = end + 1;
    }
    flush(&mut chars, &mut n_chars, "bfchar", &mut blocks);
    flush(&mut ranges, &mut n_ranges, "bfrange", &mut blocks);
    let mut out = String::with_capacity(blocks.len() + 400);
    out.push_str(
        "/CIDInit/ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo<</Registry(Adobe)/Ordering(UCS)/Supplement 0>>def\n\
         /CMapName/Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000><FFFF>\nendcodespacerange\n",
    );
    out.push_str(&blocks);
    out.push_str("endcmap\nCMapName currentdict/CMap defineresource pop\nend\nend\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_unicode_uses_ranges_for_consecutive_characters() {
        let entries = [
            (1, "0"),
            (2, "1"),
            (3, "2"),
            (4, "在"),
            (5, "葛\u{E0100}"),
            (6, "\u{20B9F}"),
            (0x00FF, "A"),
            (0x0100, "B"), // new high byte: no range across it
            (0x0101, "\u{00FF}"),
            (0x0102, "\u{0100}"), // the character's last byte would wrap
        ];
        let cmap = String::from_utf8(to_unicode_cmap(&entries)).unwrap();
        assert!(
            cmap.contains("1 beginbfrange\n<0001><0003><0030>\nendbfrange"),
            "{cmap}"
        );
        for line in [
            "<0004><5728>",
            "<0005><845BDB40DD00>",
            "<0006><D842DF9F>",
            "<00FF><0041>",
            "<0100><0042>",
            "<0101><00FF>",
            "<0102><0100>",
        ] {
            assert!(cmap.contains(line), "{line} missing in {cmap}");
        }
        assert!(cmap.contains("7 beginbfchar"), "{cmap}");
        assert!(cmap.starts_with("/CIDInit/ProcSet findresource begin"));
        assert!(cmap.ends_with("defineresource pop\nend\nend\n"));
    }
}
