//! The PDF writer: laid-out pages to deterministic PDF bytes.
//!
//! [`write_pdf`] turns [`Page`]s into one PDF 1.7 file using `pdf-writer`
//! for the object syntax, `subsetter` for font subsets and `miniz_oxide`
//! for compression.
//!
//! # Document structure
//!
//! * One shared `/Resources` dictionary for all pages, naming the fonts
//!   `F0`, `F1`, … and images `Im0`, `Im1`, … in id order of the fonts and
//!   images the document actually uses.
//! * Per used font, one Type0 font (`/Identity-H`) over a `CIDFontType2`
//!   descendant with `/CIDToGIDMap /Identity`: the embedded TrueType subset
//!   numbers its glyphs `0..n` (old glyph ids in ascending order), and those
//!   new ids are the CIDs in the content streams. Widths (`/DW` + a compact
//!   `/W` array), a font descriptor and a `/ToUnicode` CMap (so that copying
//!   and `pdftotext` give the source text back, including characters outside
//!   the BMP and variation sequences) complete it. All pages of a document
//!   share one subset per font.
//! * Per used image, one image XObject (plus a soft mask for PNGs with
//!   transparency), pre-encoded at load time by [`crate::image`].
//! * Per page, one deflated content stream.
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
//! Pages use top-left based coordinates with y down (see [`crate::page`]);
//! the writer flips them: `y_pdf = page.height - y`.

use crate::fonts::{Font, FontSet};
use crate::image::{ImageData, ImageSet};
use crate::page::{Color, FontId, GlyphRun, Op, Page, Stroke};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::writers::Resources;
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Settings, Str, TextStr};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use subsetter::GlyphRemapper;

/// zlib level for page content streams. Level 1 is several times faster
/// than 6 on these small, repetitive streams for a few percent more bytes
/// (see the `pdf_speed` example).
const CONTENT_LEVEL: u8 = 1;

/// zlib level for embedded font subsets and CMaps.
const FONT_LEVEL: u8 = 6;

/// A glyph further than this many ems from the pen starts a new `Td`
/// instead of a `TJ` adjustment.
const TD_GAP_EM: f32 = 4.0;

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

/// Writes `pages` as one PDF. Same input, same bytes.
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
    let used = Usage::collect(pages, fonts, images)?;
    let date = parse_date(&info.created)?;

    let mut pdf = Pdf::with_settings_and_capacity(Settings { pretty: false }, 16 * 1024);
    pdf.set_version(1, 7);
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_ref = alloc();
    let pages_ref = alloc();
    let info_ref = alloc();
    let resources_ref = alloc();

    // Fonts, in FontId order.
    let mut embedded: BTreeMap<FontId, EmbeddedFont> = BTreeMap::new();
    for (index, (id, glyphs)) in used.fonts.iter().enumerate() {
        let font = fonts.font(*id);
        let e = embed_font(&mut pdf, &mut alloc, index, font, glyphs)?;
        embedded.insert(*id, e);
    }

    // Images, in ImageId order.
    let mut image_refs = Vec::with_capacity(used.images.len());
    for (index, id) in used.images.iter().enumerate() {
        let image = images.get(crate::page::ImageId(*id));
        let r = alloc();
        match &image.data {
            ImageData::Flate {
                color,
                samples,
                smask,
            } => {
                let smask_ref = smask.as_ref().map(|_| alloc());
                let mut x = pdf.image_xobject(r, samples);
                x.filter(Filter::FlateDecode);
                x.width(image.width as i32)
                    .height(image.height as i32)
                    .color_space_name(Name(color.pdf_name()))
                    .bits_per_component(8);
                if let Some(s) = smask_ref {
                    x.s_mask(s);
                }
                x.finish();
                if let (Some(s), Some(data)) = (smask_ref, smask) {
                    let mut m = pdf.image_xobject(s, data);
                    m.filter(Filter::FlateDecode);
                    m.width(image.width as i32)
                        .height(image.height as i32)
                        .color_space_name(Name(b"DeviceGray"))
                        .bits_per_component(8);
                }
            }
            ImageData::Jpeg {
                color,
                inverted,
                bytes,
            } => {
                let mut x = pdf.image_xobject(r, bytes);
                x.filter(Filter::DctDecode);
                x.width(image.width as i32)
                    .height(image.height as i32)
                    .color_space_name(Name(color.pdf_name()))
                    .bits_per_component(8);
                if *inverted {
                    x.decode([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
                }
            }
        }
        image_refs.push((index, *id, r));
    }
    let image_index: BTreeMap<usize, usize> =
        image_refs.iter().map(|(i, id, _)| (*id, *i)).collect();

    // Shared resources.
    {
        let mut res = pdf.indirect(resources_ref).start::<Resources>();
        if !embedded.is_empty() {
            let mut f = res.fonts();
            for e in embedded.values() {
                f.pair(Name(e.res_name.as_bytes()), e.type0_ref);
            }
        }
        if !image_refs.is_empty() {
            let mut x = res.x_objects();
            for (i, _, r) in &image_refs {
                x.pair(Name(format!("Im{i}").as_bytes()), *r);
            }
        }
    }

    // Pages.
    let mut page_refs = Vec::with_capacity(pages.len());
    let mut scratch = Scratch::default();
    for page in pages {
        let page_ref = alloc();
        let content_ref = alloc();
        page_refs.push(page_ref);
        let content = page_content(page, &embedded, &image_index, &mut scratch);
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content, CONTENT_LEVEL);
        pdf.stream(content_ref, &compressed)
            .filter(Filter::FlateDecode);
        let mut p = pdf.page(page_ref);
        p.parent(pages_ref)
            .media_box(Rect::new(0.0, 0.0, round(page.width), round(page.height)))
            .contents(content_ref);
        p.pair(Name(b"Resources"), resources_ref);
    }
    pdf.pages(pages_ref)
        .kids(page_refs.iter().copied())
        .count(page_refs.len() as i32);
    pdf.catalog(catalog_ref).pages(pages_ref);
    {
        let mut di = pdf.document_info(info_ref);
        di.title(TextStr(&info.title)).producer(TextStr("chohyo"));
        if let Some(d) = date {
            di.creation_date(d);
        }
    }

    let digest = Sha256::digest(pdf.as_bytes());
    let id = digest[..16].to_vec();
    pdf.set_file_id((id.clone(), id));
    Ok(pdf.finish())
}

/// Rounds to 1/1000 (of a point, or of a text space unit).
fn round(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

/// Parses `YYYYMMDDHHmmSS`; the empty string means "no date".
fn parse_date(s: &str) -> Result<Option<Date>, PdfError> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || {
        err(format!(
            "invalid creation date {s:?} (expected YYYYMMDDHHmmSS)"
        ))
    };
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u16>().map_err(|_| bad());
    let (year, month, day) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hour, minute, second) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    Ok(Some(
        Date::new(year)
            .month(month as u8)
            .day(day as u8)
            .hour(hour as u8)
            .minute(minute as u8)
            .second(second as u8),
    ))
}

/// Fonts (with their glyphs and the text of each glyph) and images a
/// document uses; building it validates every op.
struct Usage<'a> {
    fonts: BTreeMap<FontId, BTreeMap<u16, &'a str>>,
    images: BTreeSet<usize>,
}

impl<'a> Usage<'a> {
    fn collect(pages: &'a [Page], fonts: &FontSet, images: &ImageSet) -> Result<Self, PdfError> {
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
                        let glyph_count = glyph_count(fonts.font(run.font));
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
                }
            }
        }
        // Runs with no glyphs do not make a font "used".
        used.fonts.retain(|_, g| !g.is_empty());
        Ok(used)
    }
}

/// Number of glyphs in a font (from `maxp`).
fn glyph_count(font: &Font) -> u16 {
    ttf_parser::Face::parse(&font.data, 0)
        .map(|f| f.number_of_glyphs())
        .unwrap_or(0)
}

/// What the content writer needs to know about an embedded font.
struct EmbeddedFont {
    res_name: String,
    type0_ref: Ref,
    remapper: GlyphRemapper,
    /// Advance width in 1/1000 em by old glyph id, exactly as written in `/W`.
    widths: BTreeMap<u16, f32>,
}

impl EmbeddedFont {
    /// New glyph id and width of an old glyph id (always present: the
    /// glyph set was collected from the same pages).
    fn glyph(&self, gid: u16) -> (u16, f32) {
        (
            self.remapper.get(gid).unwrap_or(0),
            self.widths.get(&gid).copied().unwrap_or(0.0),
        )
    }
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

fn embed_font(
    pdf: &mut Pdf,
    alloc: &mut impl FnMut() -> Ref,
    index: usize,
    font: &Font,
    glyphs: &BTreeMap<u16, &str>,
) -> Result<EmbeddedFont, PdfError> {
    let gids: Vec<u16> = glyphs.keys().copied().collect();
    let remapper = GlyphRemapper::new_from_glyphs_sorted(&gids);
    let subset = subsetter::subset(&font.data, 0, &remapper)
        .map_err(|e| err(format!("cannot subset font {}: {e}", font.postscript_name)))?;
    let face = ttf_parser::Face::parse(&font.data, 0)
        .map_err(|e| err(format!("cannot parse font {}: {e}", font.postscript_name)))?;

    let type0_ref = alloc();
    let cid_ref = alloc();
    let descriptor_ref = alloc();
    let file_ref = alloc();
    let cmap_ref = alloc();

    let base_font = format!("{}+{}", subset_tag(font, &gids), font.postscript_name);
    let upem = font.units_per_em.max(1) as f32;
    let scale = |v: f32| round(v * 1000.0 / upem);

    // Widths, by new id.
    let widths: BTreeMap<u16, f32> = gids
        .iter()
        .map(|g| (*g, scale(font.advance_units(*g) as f32)))
        .collect();
    let mut by_cid: Vec<(u16, f32)> = gids
        .iter()
        .map(|g| (remapper.get(*g).unwrap_or(0), widths[g]))
        .collect();
    by_cid.sort_by_key(|(cid, _)| *cid);
    let dw = default_width(&by_cid);

    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(type0_ref)
        .base_font(Name(base_font.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_ref)
        .to_unicode(cmap_ref);

    {
        let mut cid = pdf.cid_font(cid_ref);
        cid.subtype(CidFontType::Type2)
            .base_font(Name(base_font.as_bytes()))
            .system_info(system_info)
            .font_descriptor(descriptor_ref)
            .default_width(dw)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        write_widths(&mut cid.widths(), &by_cid, dw);
    }

    // Descriptor.
    let mut flags = FontFlags::SYMBOLIC;
    if face.is_monospaced() {
        flags |= FontFlags::FIXED_PITCH;
    }
    if is_serif(&face, font) {
        flags |= FontFlags::SERIF;
    }
    if font.italic_angle != 0.0 {
        flags |= FontFlags::ITALIC;
    }
    let weight = face.weight().to_number() as f32;
    let stem_v = (50.0 + (weight / 65.0).powi(2)).round();
    let [x0, y0, x1, y1] = font.bbox.map(|v| scale(v as f32));
    pdf.font_descriptor(descriptor_ref)
        .name(Name(base_font.as_bytes()))
        .flags(flags)
        .bbox(Rect::new(x0, y0, x1, y1))
        .italic_angle(round(font.italic_angle))
        .ascent(scale(font.ascender as f32))
        .descent(scale(font.descender as f32))
        .cap_height(scale(font.cap_height as f32))
        .stem_v(stem_v)
        .font_file2(file_ref);

    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&subset, FONT_LEVEL);
    pdf.stream(file_ref, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), subset.len() as i32);

    // ToUnicode.
    let mut cmap = UnicodeCmap::<u16>::new(
        Name(b"Adobe-Identity-UCS"),
        SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"UCS"),
            supplement: 0,
        },
    );
    let mut entries: Vec<(u16, &str)> = glyphs
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(g, t)| (remapper.get(*g).unwrap_or(0), *t))
        .collect();
    entries.sort_by_key(|(cid, _)| *cid);
    for (cid, text) in entries {
        cmap.pair_with_multiple(cid, text.chars());
    }
    let cmap = cmap.finish();
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(cmap.as_slice(), FONT_LEVEL);
    pdf.cmap(cmap_ref, &compressed).filter(Filter::FlateDecode);

    Ok(EmbeddedFont {
        res_name: format!("F{index}"),
        type0_ref,
        remapper,
        widths,
    })
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
fn is_serif(face: &ttf_parser::Face, font: &Font) -> bool {
    if let Some(os2) = face.raw_face().table(ttf_parser::Tag::from_bytes(b"OS/2")) {
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
    }
    let name = font.postscript_name.to_ascii_lowercase();
    ["mincho", "serif", "ming", "song"]
        .iter()
        .any(|k| name.contains(k) && !name.contains("sans"))
}

/// Reusable buffers for content generation.
#[derive(Default)]
struct Scratch {
    glyph_bytes: Vec<u8>,
    items: Vec<TjItem>,
}

/// One element of a `TJ` array: a byte range of `Scratch::glyph_bytes` or an adjustment.
enum TjItem {
    Glyphs(usize, usize),
    Adjust(f32),
}

/// Graphics state tracked while writing a content stream, so that
/// operators are only emitted when a value changes.
struct GState {
    font: Option<(FontId, f32)>,
    fill: Color,
    stroke: Color,
    line_width: f32,
    dash: Vec<f32>,
    in_text: bool,
}

impl GState {
    fn new() -> Self {
        GState {
            font: None,
            fill: Color::BLACK,
            stroke: Color::BLACK,
            line_width: 1.0,
            dash: Vec::new(),
            in_text: false,
        }
    }

    fn end_text(&mut self, c: &mut Content) {
        if self.in_text {
            c.end_text();
            self.in_text = false;
        }
    }

    fn set_fill(&mut self, c: &mut Content, color: Color) {
        if self.fill != color {
            c.set_fill_rgb(round(color.r), round(color.g), round(color.b));
            self.fill = color;
        }
    }

    fn set_stroke(&mut self, c: &mut Content, s: &Stroke) {
        if self.stroke != s.color {
            let k = s.color;
            c.set_stroke_rgb(round(k.r), round(k.g), round(k.b));
            self.stroke = k;
        }
        if self.line_width != s.width {
            c.set_line_width(round(s.width));
            self.line_width = s.width;
        }
        if self.dash != s.dash {
            c.set_dash_pattern(s.dash.iter().map(|d| round(*d)), 0.0);
            self.dash.clone_from(&s.dash);
        }
    }
}

/// The uncompressed content stream of one page.
fn page_content(
    page: &Page,
    fonts: &BTreeMap<FontId, EmbeddedFont>,
    images: &BTreeMap<usize, usize>,
    scratch: &mut Scratch,
) -> Vec<u8> {
    let h = page.height;
    let mut c = Content::with_settings_and_capacity(Settings { pretty: false }, 4096);
    let mut gs = GState::new();
    for op in &page.ops {
        match op {
            Op::Text(run) => {
                if run.glyphs.is_empty() {
                    continue;
                }
                // Usage::collect guarantees the font is embedded.
                let Some(font) = fonts.get(&run.font) else {
                    continue;
                };
                if !gs.in_text {
                    c.begin_text();
                    gs.in_text = true;
                }
                write_run(&mut c, &mut gs, run, font, h, scratch);
            }
            Op::Line { from, to, stroke } => {
                gs.end_text(&mut c);
                gs.set_stroke(&mut c, stroke);
                c.move_to(round(from.0), round(h - from.1))
                    .line_to(round(to.0), round(h - to.1))
                    .stroke();
            }
            Op::Rect {
                x,
                y,
                w,
                h: rh,
                stroke,
                fill,
                radius,
            } => {
                if stroke.is_none() && fill.is_none() {
                    continue;
                }
                gs.end_text(&mut c);
                if let Some(s) = stroke {
                    gs.set_stroke(&mut c, s);
                }
                if let Some(f) = fill {
                    gs.set_fill(&mut c, *f);
                }
                let (x0, x1) = (x.min(x + w), x.max(x + w));
                let (top, bottom) = (y.min(y + rh), y.max(y + rh));
                rect_path(&mut c, x0, h - bottom, x1, h - top, *radius);
                match (stroke.is_some(), fill.is_some()) {
                    (true, true) => c.fill_nonzero_and_stroke(),
                    (false, true) => c.fill_nonzero(),
                    _ => c.stroke(),
                };
            }
            Op::Image { id, x, y, w, h: ih } => {
                let Some(index) = images.get(&id.0) else {
                    continue;
                };
                gs.end_text(&mut c);
                c.save_state()
                    .transform([
                        round(*w),
                        0.0,
                        0.0,
                        round(*ih),
                        round(*x),
                        round(h - y - ih),
                    ])
                    .x_object(Name(format!("Im{index}").as_bytes()))
                    .restore_state();
            }
        }
    }
    gs.end_text(&mut c);
    c.finish().into_vec()
}

/// Appends a closed rectangle path with optional rounded corners (PDF
/// coordinates, `x0 < x1`, `y0 < y1`).
fn rect_path(c: &mut Content, x0: f32, y0: f32, x1: f32, y1: f32, radius: f32) {
    let r = radius.min((x1 - x0) / 2.0).min((y1 - y0) / 2.0).max(0.0);
    if r <= 0.0 {
        c.rect(round(x0), round(y0), round(x1 - x0), round(y1 - y0));
        return;
    }
    // Quarter circle by one cubic Bézier: control points at k·r.
    let k = r * 0.552_284_7;
    let p = round;
    c.move_to(p(x0 + r), p(y0))
        .line_to(p(x1 - r), p(y0))
        .cubic_to(p(x1 - r + k), p(y0), p(x1), p(y0 + r - k), p(x1), p(y0 + r))
        .line_to(p(x1), p(y1 - r))
        .cubic_to(p(x1), p(y1 - r + k), p(x1 - r + k), p(y1), p(x1 - r), p(y1))
        .line_to(p(x0 + r), p(y1))
        .cubic_to(p(x0 + r - k), p(y1), p(x0), p(y1 - r + k), p(x0), p(y1 - r))
        .line_to(p(x0), p(y0 + r))
        .cubic_to(p(x0), p(y0 + r - k), p(x0 + r - k), p(y0), p(x0 + r), p(y0))
        .close_path();
}

/// Writes one glyph run inside a text object: `Tf` and colour when they
/// change, `Tm` at the first glyph, then `TJ` arrays whose adjustments put
/// every glyph exactly at its `x` (a `Td` for large jumps).
fn write_run(
    c: &mut Content,
    gs: &mut GState,
    run: &GlyphRun,
    font: &EmbeddedFont,
    page_h: f32,
    s: &mut Scratch,
) {
    let size = round(run.size);
    if gs.font != Some((run.font, size)) {
        c.set_font(Name(font.res_name.as_bytes()), size);
        gs.font = Some((run.font, size));
    }
    gs.set_fill(c, run.color);
    let mut line_x = round(run.glyphs[0].x);
    let y = round(page_h - run.baseline);
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, line_x, y]);
    // Pen position in points as the viewer computes it.
    let mut pen = line_x;
    s.glyph_bytes.clear();
    s.items.clear();
    let mut start = 0;
    let em = size / 1000.0;
    for (i, g) in run.glyphs.iter().enumerate() {
        let (new, width) = font.glyph(g.gid);
        if i > 0 {
            let delta = g.x - pen;
            if size > 0.0 && delta.abs() > TD_GAP_EM * size {
                // Flush and move the line start.
                if s.glyph_bytes.len() > start {
                    s.items.push(TjItem::Glyphs(start, s.glyph_bytes.len()));
                    start = s.glyph_bytes.len();
                }
                flush_tj(c, s);
                let x = round(g.x);
                c.next_line(round(x - line_x), 0.0);
                line_x = x;
                pen = x;
            } else if size > 0.0 {
                // TJ numbers are thousandths of an em, subtracted from the pen.
                let adj = (-delta / em * 100.0).round() / 100.0;
                if adj != 0.0 {
                    if s.glyph_bytes.len() > start {
                        s.items.push(TjItem::Glyphs(start, s.glyph_bytes.len()));
                        start = s.glyph_bytes.len();
                    }
                    s.items.push(TjItem::Adjust(adj));
                    pen -= adj * em;
                }
            }
        }
        s.glyph_bytes.extend_from_slice(&new.to_be_bytes());
        pen += width * em;
    }
    if s.glyph_bytes.len() > start {
        s.items.push(TjItem::Glyphs(start, s.glyph_bytes.len()));
    }
    flush_tj(c, s);
}

/// Writes the pending `TJ` items (if any) and clears them.
fn flush_tj(c: &mut Content, s: &mut Scratch) {
    if s.items.is_empty() {
        return;
    }
    {
        let mut tj = c.show_positioned();
        let mut items = tj.items();
        for item in &s.items {
            match *item {
                TjItem::Glyphs(a, b) => {
                    items.show(Str(&s.glyph_bytes[a..b]));
                }
                TjItem::Adjust(v) => {
                    items.adjust(v);
                }
            }
        }
    }
    s.items.clear();
}
