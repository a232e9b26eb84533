//! TrueType font files as bytes: table access, the composite-glyph closure
//! and `glyf` prefix the font cores rely on, and the stripping of hinting
//! and of most of the `name` table from subsets.
//!
//! Works on font files as byte slices, not on [`crate::render::fonts::Font`]: it
//! may use `ttf-parser` (for the table directory) and nothing of the crate.

/// A table of a font file, without parsing more than the table directory.
pub(super) fn raw_table<'a>(data: &'a [u8], tag: &[u8; 4]) -> Option<&'a [u8]> {
    ttf_parser::RawFace::parse(data, 0)
        .ok()?
        .table(ttf_parser::Tag::from_bytes(tag))
}

pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
}

/// Number of glyphs in a font file (from `maxp`).
pub(super) fn glyph_count(font: &[u8]) -> u16 {
    raw_table(font, b"maxp")
        .and_then(|m| be16(m, 4))
        .unwrap_or(0)
}

/// `gids` followed by every glyph their composite glyphs use (depth
/// first, each once, never `.notdef` twice), in that order: the order the
/// core glyphs take in every subset. `None` for a font without `glyf`.
pub(super) fn component_closure(font: &[u8], gids: &[u16]) -> Option<Vec<u16>> {
    let head = raw_table(font, b"head")?;
    let loca = raw_table(font, b"loca")?;
    let glyf = raw_table(font, b"glyf")?;
    let long = be16(head, 50)? != 0;
    let glyph = |g: u16| -> Option<&[u8]> {
        let i = g as usize;
        let (from, to) = if long {
            let at = |i: usize| be32(loca, 4 * i).map(|v| v as usize);
            (at(i)?, at(i + 1)?)
        } else {
            (
                2 * be16(loca, 2 * i)? as usize,
                2 * be16(loca, 2 * i + 2)? as usize,
            )
        };
        glyf.get(from..to)
    };
    let mut seen: std::collections::BTreeSet<u16> = gids.iter().copied().collect();
    seen.insert(0);
    let mut order = gids.to_vec();
    let mut i = 0;
    while i < order.len() {
        let data = glyph(order[i]).unwrap_or(&[]);
        i += 1;
        if data.len() < 10 || (be16(data, 0)? as i16) >= 0 {
            continue;
        }
        let mut at = 10;
        loop {
            let flags = be16(data, at)?;
            let component = be16(data, at + 2)?;
            if seen.insert(component) {
                order.push(component);
            }
            at += 4 + if flags & 0x0001 != 0 { 4 } else { 2 };
            at += if flags & 0x0008 != 0 {
                2
            } else if flags & 0x0040 != 0 {
                4
            } else if flags & 0x0080 != 0 {
                8
            } else {
                0
            };
            if flags & 0x0020 == 0 {
                break;
            }
        }
    }
    Some(order)
}

/// Byte range, within a whole font file, of the `glyf` data of its first
/// `n` glyphs (per its `loca`). `None` when the font has fewer glyphs or
/// its tables are not where the directory says.
pub(super) fn glyf_prefix(font: &[u8], n: usize) -> Option<std::ops::Range<usize>> {
    let be32 = |b: &[u8], at: usize| be32(b, at).map(|v| v as usize);
    let tables = be16(font, 4)? as usize;
    let find = |tag: &[u8; 4]| -> Option<(usize, usize)> {
        let rec = (0..tables)
            .map_while(|i| font.get(12 + 16 * i..28 + 16 * i))
            .find(|rec| &rec[..4] == tag)?;
        Some((be32(rec, 8)?, be32(rec, 12)?))
    };
    let (glyf_at, glyf_len) = find(b"glyf")?;
    let (loca_at, loca_len) = find(b"loca")?;
    let (head_at, _) = find(b"head")?;
    let loca = font.get(loca_at..loca_at.checked_add(loca_len)?)?;
    let end = match be16(font, head_at + 50)? {
        0 => 2 * be16(loca, 2 * n)? as usize,
        _ => be32(loca, 4 * n)?,
    };
    if end > glyf_len {
        return None;
    }
    font.get(glyf_at..glyf_at + end)?;
    Some(glyf_at..glyf_at + end)
}

/// A table of a font file: its tag and its bytes.
type Table<'a> = ([u8; 4], &'a [u8]);

/// Removes TrueType hinting from a (subset) font: glyph instructions and
/// the `fpgm`, `prep` and `cvt ` tables. PDF viewers rasterise embedded
/// fonts with their own hinting, and the instructions are a quarter of a
/// BIZ UD subset. Returns `None` (keep the font as it is) when the font is
/// not laid out as expected.
pub(super) fn strip_hinting(font: &[u8]) -> Option<Vec<u8>> {
    let tables = read_tables(font)?;
    let find = |tag: &[u8; 4]| tables.iter().find(|(t, _)| t == tag).map(|(_, d)| *d);
    let outlines = strip_outlines(find(b"head")?, find(b"loca")?, find(b"glyf")?)?;
    let new_name = find(b"name").and_then(trim_name);
    let mut out_tables: Vec<Table> = Vec::with_capacity(tables.len());
    for (tag, data) in &tables {
        let data: &[u8] = match tag {
            b"fpgm" | b"prep" | b"cvt " => continue,
            b"glyf" => &outlines.glyf,
            b"loca" => &outlines.loca,
            b"head" => &outlines.head,
            b"name" => new_name.as_deref().unwrap_or(data),
            _ => data,
        };
        out_tables.push((*tag, data));
    }
    out_tables.sort_by_key(|(tag, _)| *tag);
    write_font_file(&out_tables, font.len())
}

/// The tables of a font file, in directory order; `None` when a table
/// lies outside the file.
fn read_tables(font: &[u8]) -> Option<Vec<Table<'_>>> {
    let num_tables = be16(font, 4)? as usize;
    let mut tables: Vec<Table> = Vec::with_capacity(num_tables);
    for i in 0..num_tables {
        let rec = font.get(12 + 16 * i..28 + 16 * i)?;
        let tag = [rec[0], rec[1], rec[2], rec[3]];
        let offset = be32(rec, 8)? as usize;
        let len = be32(rec, 12)? as usize;
        tables.push((tag, font.get(offset..offset.checked_add(len)?)?));
    }
    Some(tables)
}

/// The `glyf`, `loca` and `head` tables of a font without glyph
/// instructions.
struct Outlines {
    glyf: Vec<u8>,
    /// Short offsets whenever the new `glyf` allows them.
    loca: Vec<u8>,
    /// With the new `indexToLocFormat` and a zero `checkSumAdjustment`
    /// (set once the whole file is written).
    head: Vec<u8>,
}

/// Rewrites `glyf` glyph by glyph without instructions, and `loca` and
/// `head` to match.
fn strip_outlines(head: &[u8], loca: &[u8], glyf: &[u8]) -> Option<Outlines> {
    let long = match be16(head, 50)? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let offset = |i: usize| -> Option<usize> {
        if long {
            be32(loca, 4 * i).map(|v| v as usize)
        } else {
            be16(loca, 2 * i).map(|v| 2 * v as usize)
        }
    };
    let count = loca.len() / if long { 4 } else { 2 };
    if count == 0 {
        return None;
    }
    let mut new_glyf = Vec::with_capacity(glyf.len());
    let mut offsets = Vec::with_capacity(count);
    for i in 0..count - 1 {
        offsets.push(new_glyf.len());
        let g = glyf.get(offset(i)?..offset(i + 1)?)?;
        if !g.is_empty() {
            strip_glyph(g, &mut new_glyf)?;
            if new_glyf.len() % 2 == 1 {
                new_glyf.push(0);
            }
        }
    }
    offsets.push(new_glyf.len());
    let short = new_glyf.len() / 2 <= u16::MAX as usize;
    let mut new_loca = Vec::with_capacity(count * 4);
    for o in &offsets {
        if short {
            new_loca.extend_from_slice(&((o / 2) as u16).to_be_bytes());
        } else {
            new_loca.extend_from_slice(&(*o as u32).to_be_bytes());
        }
    }
    let mut new_head = head.to_vec();
    new_head
        .get_mut(50..52)?
        .copy_from_slice(&[0, u8::from(!short)]);
    new_head.get_mut(8..12)?.copy_from_slice(&[0; 4]);
    Some(Outlines {
        glyf: new_glyf,
        loca: new_loca,
        head: new_head,
    })
}

/// The sum of a table's big-endian 32-bit words (the last one padded with
/// zeros), as the table directory and `checkSumAdjustment` want it.
fn checksum(d: &[u8]) -> u32 {
    let words = d.chunks_exact(4);
    let tail = words.remainder();
    let mut sum = words.fold(0u32, |sum, c| {
        sum.wrapping_add(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    });
    if !tail.is_empty() {
        let mut w = [0u8; 4];
        w[..tail.len()].copy_from_slice(tail);
        sum = sum.wrapping_add(u32::from_be_bytes(w));
    }
    sum
}

/// A font file of `tables` (sorted by tag, with a `head` table): the
/// table directory, then each table padded to four bytes, then `head`'s
/// `checkSumAdjustment` set so that the whole file sums to `0xB1B0AFBA`.
fn write_font_file(tables: &[Table], capacity: usize) -> Option<Vec<u8>> {
    let n = tables.len();
    let pow = if n == 0 { 0 } else { n.ilog2() };
    let search_range = 16u16 << pow;
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&[0, 1, 0, 0]);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&search_range.to_be_bytes());
    out.extend_from_slice(&(pow as u16).to_be_bytes());
    out.extend_from_slice(&((n as u16) * 16 - search_range).to_be_bytes());
    let mut at = 12 + 16 * n;
    let mut head_at = None;
    for (tag, data) in tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(at as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = Some(at);
        }
        at += data.len().div_ceil(4) * 4;
    }
    for (_, data) in tables {
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
    out.get_mut(head_at? + 8..head_at? + 12)?
        .copy_from_slice(&adjust.to_be_bytes());
    Some(out)
}

/// A `name` table (format 0) reduced to the copyright notice (name id 0)
/// and the PostScript name (id 6). The subsetter keeps the family names,
/// version, designer, vendor and licence texts, over a kilobyte in BIZ UD
/// fonts, which no PDF viewer reads from an embedded font; the copyright
/// line stays so that the subset still says whose work it is. `None` (keep
/// the table) for other formats or malformed tables.
fn trim_name(name: &[u8]) -> Option<Vec<u8>> {
    if be16(name, 0)? != 0 {
        return None;
    }
    let count = be16(name, 2)? as usize;
    let storage = name.get(be16(name, 4)? as usize..)?;
    let mut records: Vec<[u8; 12]> = Vec::new();
    let mut strings: Vec<u8> = Vec::new();
    for i in 0..count {
        let rec = name.get(6 + 12 * i..18 + 12 * i)?;
        let id = be16(rec, 6)?;
        if id != 0 && id != 6 {
            continue;
        }
        let len = be16(rec, 8)? as usize;
        let off = be16(rec, 10)? as usize;
        let text = storage.get(off..off.checked_add(len)?)?;
        let mut r = [0u8; 12];
        r[..10].copy_from_slice(rec.get(..10)?);
        let new_off = u16::try_from(strings.len()).ok()?;
        r[10..].copy_from_slice(&new_off.to_be_bytes());
        strings.extend_from_slice(text);
        records.push(r);
    }
    let header = 6 + 12 * records.len();
    let mut out = Vec::with_capacity(header + strings.len());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(records.len() as u16).to_be_bytes());
    out.extend_from_slice(&u16::try_from(header).ok()?.to_be_bytes());
    for r in &records {
        out.extend_from_slice(r);
    }
    out.extend_from_slice(&strings);
    Some(out)
}

/// Appends glyph `g` without its instructions.
fn strip_glyph(g: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let contours = be16(g, 0)? as i16;
    if contours >= 0 {
        let end_pts = 10 + 2 * contours as usize;
        let ins_len = be16(g, end_pts)? as usize;
        let rest = g.get(end_pts + 2 + ins_len..)?;
        out.extend_from_slice(g.get(..end_pts)?);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(rest);
    } else {
        // Composite: walk the components, clearing WE_HAVE_INSTRUCTIONS.
        const ARGS_ARE_WORDS: u16 = 0x0001;
        const HAVE_SCALE: u16 = 0x0008;
        const MORE_COMPONENTS: u16 = 0x0020;
        const HAVE_XY_SCALE: u16 = 0x0040;
        const HAVE_2X2: u16 = 0x0080;
        const HAVE_INSTRUCTIONS: u16 = 0x0100;
        let start = out.len();
        out.extend_from_slice(g.get(..10)?);
        let mut at = 10;
        loop {
            let flags = be16(g, at)?;
            let mut len = 4 + if flags & ARGS_ARE_WORDS != 0 { 4 } else { 2 };
            if flags & HAVE_SCALE != 0 {
                len += 2;
            } else if flags & HAVE_XY_SCALE != 0 {
                len += 4;
            } else if flags & HAVE_2X2 != 0 {
                len += 8;
            }
            let component = g.get(at..at + len)?;
            let pos = out.len();
            out.extend_from_slice(component);
            out[pos..pos + 2].copy_from_slice(&(flags & !HAVE_INSTRUCTIONS).to_be_bytes());
            at += len;
            if flags & MORE_COMPONENTS == 0 {
                break;
            }
            if out.len() - start > g.len() {
                return None;
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::test_support::fonts;
    use crate::render::page::FontId;
    use subsetter::GlyphRemapper;

    /// A bare font file of `head`, `loca` (short) and `glyf` tables.
    fn tiny_font(glyphs: &[Vec<u8>]) -> Vec<u8> {
        let mut head = vec![0u8; 54];
        head[50..52].copy_from_slice(&0i16.to_be_bytes());
        let (mut loca, mut glyf) = (Vec::new(), Vec::new());
        for g in glyphs {
            loca.extend_from_slice(&((glyf.len() / 2) as u16).to_be_bytes());
            glyf.extend_from_slice(g);
        }
        loca.extend_from_slice(&((glyf.len() / 2) as u16).to_be_bytes());
        let tables: [(&[u8; 4], &Vec<u8>); 3] =
            [(b"glyf", &glyf), (b"head", &head), (b"loca", &loca)];
        let mut out = vec![0, 1, 0, 0, 0, 3, 0, 32, 0, 1, 0, 16];
        let mut at = 12 + 16 * tables.len();
        for (tag, data) in &tables {
            out.extend_from_slice(*tag);
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&(at as u32).to_be_bytes());
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            at += data.len().div_ceil(4) * 4;
        }
        for (_, data) in &tables {
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(4) * 4, 0);
        }
        out
    }

    #[test]
    fn composite_components_join_the_core_closure() {
        let simple = vec![0u8; 10];
        // Composite: two components (byte args; the first with a scale).
        let composite = |a: u16, b: u16| {
            let mut g = vec![0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0];
            g.extend_from_slice(&(0x0020u16 | 0x0008).to_be_bytes());
            g.extend_from_slice(&a.to_be_bytes());
            g.extend_from_slice(&[0, 0, 0x40, 0]);
            g.extend_from_slice(&0u16.to_be_bytes());
            g.extend_from_slice(&b.to_be_bytes());
            g.extend_from_slice(&[0, 0]);
            g
        };
        let font = tiny_font(&[
            Vec::new(),
            simple.clone(),
            composite(4, 1),
            simple.clone(),
            composite(3, 1),
        ]);
        assert_eq!(component_closure(&font, &[2]).unwrap(), vec![2, 4, 1, 3]);
        assert_eq!(component_closure(&font, &[3, 2]).unwrap(), vec![3, 2, 4, 1]);
        assert_eq!(component_closure(&font, &[1]).unwrap(), vec![1]);
    }

    #[test]
    fn stripped_font_keeps_outlines_and_drops_hinting() {
        let set = fonts();
        let f = set.font(FontId(0));
        let chain = set.chain("mincho").unwrap();
        let gids: Vec<u16> = "在職証明書（株）Ab1"
            .chars()
            .map(|c| set.resolve(chain, c).unwrap().1)
            .collect();
        let remapper = GlyphRemapper::new_from_glyphs_sorted(&gids);
        let sub = subsetter::subset(&f.data, 0, &remapper).unwrap();
        let stripped = strip_hinting(&sub).unwrap();
        assert!(stripped.len() < sub.len());
        let before = ttf_parser::Face::parse(&sub, 0).unwrap();
        let after = ttf_parser::Face::parse(&stripped, 0).unwrap();
        assert!(after
            .raw_face()
            .table(ttf_parser::Tag::from_bytes(b"fpgm"))
            .is_none());
        assert_eq!(before.number_of_glyphs(), after.number_of_glyphs());
        for g in 0..after.number_of_glyphs() {
            let g = ttf_parser::GlyphId(g);
            assert_eq!(before.glyph_bounding_box(g), after.glyph_bounding_box(g));
            let (mut a, mut b) = (Outline::default(), Outline::default());
            before.outline_glyph(g, &mut a);
            after.outline_glyph(g, &mut b);
            assert_eq!(a.0, b.0, "glyph {g:?}");
        }
        // Whole-font checksum: the sum over the file is the magic constant.
        let sum = stripped.chunks(4).fold(0u32, |s, c| {
            s.wrapping_add(u32::from_be_bytes(c.try_into().unwrap()))
        });
        assert_eq!(sum, 0xB1B0_AFBA);
    }

    #[test]
    fn stripped_font_keeps_only_copyright_and_postscript_name() {
        let set = fonts();
        let f = set.font(FontId(0));
        let remapper = GlyphRemapper::new_from_glyphs_sorted(&[0, 10]);
        let sub = subsetter::subset(&f.data, 0, &remapper).unwrap();
        let stripped = strip_hinting(&sub).unwrap();
        let ids = |font: &[u8]| -> Vec<(u16, Option<String>)> {
            let face = ttf_parser::Face::parse(font, 0).unwrap();
            face.names()
                .into_iter()
                .map(|n| (n.name_id, n.to_string()))
                .collect()
        };
        let before = ids(&sub);
        let after = ids(&stripped);
        assert!(
            before.iter().any(|(id, _)| *id == 13),
            "licence text in the full name table"
        );
        assert!(!after.is_empty());
        assert!(
            after.iter().all(|(id, _)| *id == 0 || *id == 6),
            "{after:?}"
        );
        // The copyright and PostScript name records are carried over unchanged.
        let kept: Vec<_> = before
            .iter()
            .filter(|(id, _)| *id == 0 || *id == 6)
            .cloned()
            .collect();
        assert_eq!(after, kept);
        assert!(after
            .iter()
            .any(|(id, t)| *id == 0 && t.as_deref().is_some_and(|t| t.contains("Copyright"))));
        let ps = after
            .iter()
            .find(|(id, _)| *id == 6)
            .and_then(|(_, t)| t.clone());
        assert_eq!(ps.as_deref(), Some(f.postscript_name.as_str()));
    }

    #[derive(Default)]
    struct Outline(Vec<i32>);

    impl ttf_parser::OutlineBuilder for Outline {
        fn move_to(&mut self, x: f32, y: f32) {
            self.0.extend([0, x as i32, y as i32]);
        }
        fn line_to(&mut self, x: f32, y: f32) {
            self.0.extend([1, x as i32, y as i32]);
        }
        fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
            self.0.extend([2, x1 as i32, y1 as i32, x as i32, y as i32]);
        }
        fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
            self.0.extend([
                3, x1 as i32, y1 as i32, x2 as i32, y2 as i32, x as i32, y as i32,
            ]);
        }
        fn close(&mut self) {
            self.0.push(4);
        }
    }
}
