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
use crate::image::{ColorSpace, ImageData, ImageSet, Samples};
use crate::page::{Color, FontId, GlyphRun, Op, Page, Stroke};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::writers::Resources;
use pdf_writer::{Date, Filter, Finish, Name, Pdf, Rect, Ref, Settings, Str, TextStr};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use subsetter::GlyphRemapper;

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

    // The trailer /ID hashes what the document is made of rather than
    // its serialised bytes: font subsets and images are functions of the
    // glyph sets and image data hashed here, so hashing their compressed
    // streams again would only cost time (a third of the SHA-256 work).
    let mut id_hash = Sha256::new();
    id_hash.update(info.title.as_bytes());
    id_hash.update([0]);
    id_hash.update(info.created.as_bytes());
    id_hash.update([0, font_level, content_level]);
    for (id, glyphs) in &used.fonts {
        let font = fonts.font(*id);
        id_hash.update(font.postscript_name.as_bytes());
        id_hash.update((font.data.len() as u64).to_be_bytes());
        for (g, text) in glyphs {
            id_hash.update(g.to_be_bytes());
            id_hash.update(text.as_bytes());
            id_hash.update([0]);
        }
        // The core decides the subset's glyph order (and adds glyphs).
        if let Some(core) = cores.get(*id) {
            id_hash.update(b"core");
            for g in &core.gids {
                id_hash.update(g.to_be_bytes());
            }
        }
    }
    for id in &used.images {
        let image = images.get(crate::page::ImageId(*id));
        id_hash.update((*id as u64).to_be_bytes());
        id_hash.update(image.width.to_be_bytes());
        id_hash.update(image.height.to_be_bytes());
        image_fingerprint(&image.data, &mut id_hash);
    }

    // Fonts, in FontId order.
    let mut embedded: BTreeMap<FontId, EmbeddedFont> = BTreeMap::new();
    for (index, (id, glyphs)) in used.fonts.iter().enumerate() {
        let font = fonts.font(*id);
        let core = cores.get(*id);
        let e = embed_font(&mut pdf, &mut alloc, index, font, glyphs, core, font_level)?;
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
                palette,
                samples,
                smask,
            } => {
                let smask_ref = smask.as_ref().map(|_| alloc());
                let mut x = pdf.image_xobject(r, &samples.data);
                flate_image(&mut x, image.width, samples);
                x.width(image.width as i32).height(image.height as i32);
                match palette {
                    Some(p) => {
                        let n = p.len() / if *color == ColorSpace::Rgb { 3 } else { 1 };
                        x.color_space()
                            .indexed(Name(color.pdf_name()), n as i32 - 1, p);
                    }
                    None => {
                        x.color_space_name(Name(color.pdf_name()));
                    }
                }
                if let Some(s) = smask_ref {
                    x.s_mask(s);
                }
                x.finish();
                if let (Some(s), Some(mask)) = (smask_ref, smask) {
                    let mut m = pdf.image_xobject(s, &mask.samples.data);
                    flate_image(&mut m, image.width, &mask.samples);
                    m.width(image.width as i32)
                        .height(image.height as i32)
                        .color_space_name(Name(b"DeviceGray"));
                    if let Some([lo, hi]) = mask.decode {
                        m.decode([lo, hi]);
                    }
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
        id_hash.update(round(page.width).to_bits().to_be_bytes());
        id_hash.update(round(page.height).to_bits().to_be_bytes());
        id_hash.update((content.len() as u64).to_be_bytes());
        id_hash.update(&content);
        let compressed = zlib(&content, content_level);
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

    let digest = id_hash.finalize();
    let id = digest[..16].to_vec();
    pdf.set_file_id((id.clone(), id));
    Ok(pdf.finish())
}

/// zlib-compresses `data`, reusing a per-thread compressor (allocating
/// and zeroing a fresh one costs more than compressing a small content
/// stream). `reset` zeroes all compressor state, so the output is the same
/// as from a fresh compressor.
fn zlib(data: &[u8], level: u8) -> Vec<u8> {
    use miniz_oxide::deflate::core::TDEFLFlush;
    use miniz_oxide::DataFormat;
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    if deflate_into(&mut out, data, level, DataFormat::Zlib, TDEFLFlush::Finish) {
        out
    } else {
        miniz_oxide::deflate::compress_to_vec_zlib(data, level)
    }
}

/// Appends `data` compressed with a fresh (reset, per-thread) compressor
/// to `out`. With `DataFormat::Raw` and `TDEFLFlush::Sync` the output is
/// a run of non-final deflate blocks ending on a byte boundary, which
/// other such runs and a final one can follow (see [`FontCore`]).
/// `false` (and `out` unchanged) only on misuse of the compressor API.
fn deflate_into(
    out: &mut Vec<u8>,
    data: &[u8],
    level: u8,
    format: miniz_oxide::DataFormat,
    flush: miniz_oxide::deflate::core::TDEFLFlush,
) -> bool {
    use miniz_oxide::deflate::core::{compress, CompressorOxide, TDEFLFlush, TDEFLStatus};
    use std::cell::RefCell;
    thread_local! {
        static COMPRESSOR: RefCell<Option<Box<CompressorOxide>>> = const { RefCell::new(None) };
    }
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = slot.get_or_insert_with(|| Box::new(CompressorOxide::new(0)));
        c.reset();
        c.set_format_and_level(format, level);
        let start = out.len();
        let mut pos = start;
        out.resize(start + data.len() / 2 + 64, 0);
        let mut input = data;
        loop {
            let (status, read, written) = compress(c, input, &mut out[pos..], flush);
            pos += written;
            input = &input[read..];
            match status {
                TDEFLStatus::Done => break,
                // All input taken and output room left: everything is
                // flushed (a non-final flush never reports `Done`).
                TDEFLStatus::Okay
                    if flush != TDEFLFlush::Finish && input.is_empty() && pos < out.len() =>
                {
                    break
                }
                TDEFLStatus::Okay => {
                    if out.len() - pos < 64 {
                        let grow = out.len() - start;
                        out.resize(out.len() + grow.max(64), 0);
                    }
                }
                // Only on misuse of the API (bad parameters); not reachable.
                _ => {
                    out.truncate(start);
                    return false;
                }
            }
        }
        out.truncate(pos);
        true
    })
}

/// Writes `/Filter`, `/BitsPerComponent` and, for PNG-predicted
/// samples, `/DecodeParms` of a flate image stream.
fn flate_image(x: &mut pdf_writer::writers::ImageXObject, width: u32, s: &Samples) {
    x.filter(Filter::FlateDecode);
    x.bits_per_component(s.bits as i32);
    if s.predicted {
        let mut p = x.decode_parms();
        p.predictor(pdf_writer::types::Predictor::PngOptimum);
        if s.colors != 1 {
            p.colors(s.colors as i32);
        }
        if s.bits != 8 {
            p.bits_per_component(s.bits as i32);
        }
        p.columns(width as i32);
    }
}

/// Feeds an image's kind, sizes and the first and last bytes of its
/// encoded data into the /ID hash (image data is constant over a batch
/// and large; a changed image changes its size or its ends).
fn image_fingerprint(data: &ImageData, h: &mut Sha256) {
    let ends = |h: &mut Sha256, b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(&b[..b.len().min(256)]);
        h.update(&b[b.len().saturating_sub(256)..]);
    };
    match data {
        ImageData::Flate {
            color,
            palette,
            samples,
            smask,
        } => {
            h.update(b"F");
            h.update(color.pdf_name());
            if let Some(p) = palette {
                h.update(b"I");
                ends(h, p);
            }
            h.update([samples.bits, u8::from(samples.predicted)]);
            ends(h, &samples.data);
            if let Some(m) = smask {
                h.update([m.samples.bits, u8::from(m.samples.predicted)]);
                ends(h, &m.samples.data);
            }
        }
        ImageData::Jpeg {
            color,
            inverted,
            bytes,
        } => {
            h.update(b"J");
            h.update(color.pdf_name());
            h.update([u8::from(*inverted)]);
            ends(h, bytes);
        }
    }
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
                            .or_insert_with(|| glyph_count(fonts.font(run.font)));
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

/// A table of a font file, without parsing more than the table directory.
fn raw_table<'a>(data: &'a [u8], tag: &[u8; 4]) -> Option<&'a [u8]> {
    ttf_parser::RawFace::parse(data, 0)
        .ok()?
        .table(ttf_parser::Tag::from_bytes(tag))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]))
}

/// Number of glyphs in a font (from `maxp`).
fn glyph_count(font: &Font) -> u16 {
    raw_table(&font.data, b"maxp")
        .and_then(|m| be16(m, 4))
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
    /// The stripped `glyf` bytes of `.notdef` and `gids`.
    glyf: Vec<u8>,
    /// `glyf` as raw deflate blocks (not final, byte-aligned end).
    deflated: Vec<u8>,
    /// Adler-32 of `glyf`.
    adler: u32,
}

impl FontCore {
    /// The core of `font` for `glyphs` (any order; duplicates, `.notdef`
    /// and ids the font does not have are dropped). `None` when there is
    /// nothing to share or the font cannot be subset as expected.
    fn build(font: &Font, glyphs: &[u16]) -> Option<FontCore> {
        let count = glyph_count(font);
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
        let glyf = subset[range].to_vec();
        let mut deflated = Vec::with_capacity(glyf.len() / 2 + 64);
        if !deflate_into(
            &mut deflated,
            &glyf,
            9,
            miniz_oxide::DataFormat::Raw,
            miniz_oxide::deflate::core::TDEFLFlush::Sync,
        ) {
            return None;
        }
        let adler = miniz_oxide::mz_adler32_oxide(1, &glyf);
        Some(FontCore {
            gids,
            glyf,
            deflated,
            adler,
        })
    }

    /// The core's glyph ids in subset order (after `.notdef`).
    pub fn glyphs(&self) -> &[u16] {
        &self.gids
    }

    /// The zlib stream of `subset` (a stripped subset numbered with this
    /// core first) spliced around the cached blocks, or `None` when the
    /// subset does not contain the core's bytes where they belong.
    fn splice(&self, subset: &[u8], level: u8) -> Option<Vec<u8>> {
        use miniz_oxide::deflate::core::TDEFLFlush;
        use miniz_oxide::DataFormat;
        let range = glyf_prefix(subset, self.gids.len() + 1)?;
        if subset[range.clone()] != self.glyf[..] {
            return None;
        }
        let (before, after) = (&subset[..range.start], &subset[range.end..]);
        let mut out = Vec::with_capacity(self.deflated.len() + after.len() / 2 + 128);
        // CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (no dictionary,
        // "fastest"; check bits make 0x7801 a multiple of 31).
        out.extend_from_slice(&[0x78, 0x01]);
        // The bytes before the run are the table directory (~140 bytes of
        // offsets and checksums): a stored block, which is byte-aligned
        // and saves resetting a compressor for them.
        match u16::try_from(before.len()) {
            Ok(len) => {
                out.push(0); // BFINAL 0, BTYPE 00 (stored), padding bits.
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(!len).to_le_bytes());
                out.extend_from_slice(before);
            }
            Err(_) => {
                if !deflate_into(&mut out, before, level, DataFormat::Raw, TDEFLFlush::Sync) {
                    return None;
                }
            }
        }
        out.extend_from_slice(&self.deflated);
        if !deflate_into(&mut out, after, level, DataFormat::Raw, TDEFLFlush::Finish) {
            return None;
        }
        let head = miniz_oxide::mz_adler32_oxide(1, before);
        let joined = adler32_combine(head, self.adler, self.glyf.len());
        let adler = miniz_oxide::mz_adler32_oxide(joined, after);
        out.extend_from_slice(&adler.to_be_bytes());
        Some(out)
    }
}

/// The [`FontCore`]s of a batch's fonts, by font id. Built once per batch
/// from its [`FontSet`] and passed with that set to [`write_pdf_with`];
/// the writer then numbers and compresses each cored font's subsets
/// around its core. The cores change the PDF bytes, never their content.
/// The default has no cores.
///
/// They are kept here rather than in the [`FontSet`] so that
/// `crate::fonts` does not depend on the writer.
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

/// The Adler-32 of `a ‖ b` from the checksums of `a` and of `b` and the
/// length of `b`: the sum `A` adds up (minus the 1 `b` started from), and
/// each of `b`'s `len` running sums grows by `A(a) - 1`.
fn adler32_combine(a: u32, b: u32, len_b: usize) -> u32 {
    const MOD: u64 = 65521;
    let (a1, b1) = (u64::from(a & 0xFFFF), u64::from(a >> 16));
    let (a2, b2) = (u64::from(b & 0xFFFF), u64::from(b >> 16));
    let n = len_b as u64 % MOD;
    let sum_a = (a1 + a2 + MOD - 1) % MOD;
    let sum_b = (b1 + b2 + n * ((a1 + MOD - 1) % MOD)) % MOD;
    ((sum_b << 16) | sum_a) as u32
}

/// `gids` followed by every glyph their composite glyphs use (depth
/// first, each once, never `.notdef` twice), in that order: the order the
/// core glyphs take in every subset. `None` for a font without `glyf`.
fn component_closure(font: &[u8], gids: &[u16]) -> Option<Vec<u16>> {
    let head = raw_table(font, b"head")?;
    let loca = raw_table(font, b"loca")?;
    let glyf = raw_table(font, b"glyf")?;
    let long = be16(head, 50)? != 0;
    let glyph = |g: u16| -> Option<&[u8]> {
        let i = g as usize;
        let (from, to) = if long {
            let at = |i: usize| {
                loca.get(4 * i..4 * i + 4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            };
            (at(i)?, at(i + 1)?)
        } else {
            (
                2 * be16(loca, 2 * i)? as usize,
                2 * be16(loca, 2 * i + 2)? as usize,
            )
        };
        glyf.get(from..to)
    };
    let mut seen: BTreeSet<u16> = gids.iter().copied().collect();
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
fn glyf_prefix(font: &[u8], n: usize) -> Option<std::ops::Range<usize>> {
    let be32 = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]) as usize)
    };
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

fn embed_font(
    pdf: &mut Pdf,
    alloc: &mut impl FnMut() -> Ref,
    index: usize,
    font: &Font,
    glyphs: &BTreeMap<u16, &str>,
    core: Option<&FontCore>,
    level: u8,
) -> Result<EmbeddedFont, PdfError> {
    // Subset order: the batch's core glyphs (all of them, in core order),
    // then the document's other glyphs in ascending order.
    let gids: Vec<u16> = match core {
        Some(core) => {
            let in_core: BTreeSet<u16> = core.gids.iter().copied().collect();
            let mut order = core.gids.clone();
            order.extend(glyphs.keys().copied().filter(|g| !in_core.contains(g)));
            order
        }
        None => glyphs.keys().copied().collect(),
    };
    let remapper = GlyphRemapper::new_from_glyphs(&gids);
    let subset = subsetter::subset(&font.data, 0, &remapper)
        .map_err(|e| err(format!("cannot subset font {}: {e}", font.postscript_name)))?;
    let subset = strip_hinting(&subset).unwrap_or(subset);

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

    let compressed = core
        .and_then(|c| c.splice(&subset, level))
        .unwrap_or_else(|| zlib(&subset, level));
    pdf.stream(file_ref, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), subset.len() as i32);

    // ToUnicode.
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

    Ok(EmbeddedFont {
        res_name: format!("F{index}"),
        type0_ref,
        remapper,
        widths,
    })
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
#[derive(Clone)]
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
    let mut c = Content::with_capacity(4096);
    let mut gs = GState::new();
    let mut clips: Vec<GState> = Vec::new();
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
                    .x_object(&format!("Im{index}"))
                    .restore_state();
            }
            Op::ClipBegin { x, y, w, h: ch } => {
                // q, then the clip rectangle as `re W n`; Q at ClipEnd
                // restores the state, so the tracked state is saved too.
                gs.end_text(&mut c);
                c.save_state();
                clips.push(gs.clone());
                c.rect(round(*x), round(h - y - ch), round(*w), round(*ch));
                c.op("W");
                c.op("n");
            }
            Op::ClipEnd => {
                if let Some(saved) = clips.pop() {
                    gs.end_text(&mut c);
                    c.restore_state();
                    gs = saved;
                }
            }
        }
    }
    gs.end_text(&mut c);
    // An unbalanced ClipBegin still gets its Q.
    while clips.pop().is_some() {
        c.restore_state();
    }
    c.finish()
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
        c.set_font(&font.res_name, size);
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
    c.buf.push(b'[');
    for (i, item) in s.items.iter().enumerate() {
        match *item {
            TjItem::Glyphs(a, b) => c.hex(&s.glyph_bytes[a..b]),
            TjItem::Adjust(v) => {
                if i > 0 {
                    c.buf.push(b' ');
                }
                c.num_raw(v);
                c.buf.push(b' ');
            }
        }
    }
    c.buf.extend_from_slice(b"]TJ\n");
    s.items.clear();
}

/// A minimal content-stream writer: operands are numbers rounded to 1/1000
/// and formatted without exponent or trailing zeros, glyph strings are
/// hex, one operator per line. (pdf-writer's `Content` would write 2-byte
/// glyph ids below 128 as octal escapes, twice the size of hex.)
struct Content {
    buf: Vec<u8>,
}

impl Content {
    fn with_capacity(n: usize) -> Self {
        Content {
            buf: Vec::with_capacity(n),
        }
    }

    fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// Appends a number (rounded to 1/1000) without a trailing space.
    fn num_raw(&mut self, v: f32) {
        let m = (v as f64 * 1000.0).round() as i64;
        if m < 0 {
            self.buf.push(b'-');
        }
        let m = m.unsigned_abs();
        let (int, frac) = (m / 1000, m % 1000);
        let mut digits = [0u8; 20];
        let mut n = 0;
        let mut x = int;
        loop {
            digits[n] = b'0' + (x % 10) as u8;
            n += 1;
            x /= 10;
            if x == 0 {
                break;
            }
        }
        self.buf.extend(digits[..n].iter().rev());
        if frac != 0 {
            self.buf.push(b'.');
            let f = [frac / 100, frac / 10 % 10, frac % 10];
            let keep = if f[2] != 0 {
                3
            } else if f[1] != 0 {
                2
            } else {
                1
            };
            self.buf.extend(f[..keep].iter().map(|d| b'0' + *d as u8));
        }
    }

    fn nums(&mut self, vals: &[f32]) {
        for v in vals {
            self.num_raw(*v);
            self.buf.push(b' ');
        }
    }

    fn op(&mut self, op: &str) -> &mut Self {
        self.buf.extend_from_slice(op.as_bytes());
        self.buf.push(b'\n');
        self
    }

    fn hex(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.buf.push(b'<');
        for b in bytes {
            self.buf.push(HEX[(b >> 4) as usize]);
            self.buf.push(HEX[(b & 15) as usize]);
        }
        self.buf.push(b'>');
    }

    fn begin_text(&mut self) -> &mut Self {
        self.op("BT")
    }

    fn end_text(&mut self) -> &mut Self {
        self.op("ET")
    }

    fn set_fill_rgb(&mut self, r: f32, g: f32, b: f32) -> &mut Self {
        self.nums(&[r, g, b]);
        self.op("rg")
    }

    fn set_stroke_rgb(&mut self, r: f32, g: f32, b: f32) -> &mut Self {
        self.nums(&[r, g, b]);
        self.op("RG")
    }

    fn set_line_width(&mut self, w: f32) -> &mut Self {
        self.nums(&[w]);
        self.op("w")
    }

    fn set_dash_pattern(&mut self, dash: impl Iterator<Item = f32>, phase: f32) -> &mut Self {
        self.buf.push(b'[');
        for (i, d) in dash.enumerate() {
            if i > 0 {
                self.buf.push(b' ');
            }
            self.num_raw(d);
        }
        self.buf.extend_from_slice(b"] ");
        self.nums(&[phase]);
        self.op("d")
    }

    fn move_to(&mut self, x: f32, y: f32) -> &mut Self {
        self.nums(&[x, y]);
        self.op("m")
    }

    fn line_to(&mut self, x: f32, y: f32) -> &mut Self {
        self.nums(&[x, y]);
        self.op("l")
    }

    fn cubic_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x3: f32, y3: f32) -> &mut Self {
        self.nums(&[x1, y1, x2, y2, x3, y3]);
        self.op("c")
    }

    fn close_path(&mut self) -> &mut Self {
        self.op("h")
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) -> &mut Self {
        self.nums(&[x, y, w, h]);
        self.op("re")
    }

    fn stroke(&mut self) -> &mut Self {
        self.op("S")
    }

    fn fill_nonzero(&mut self) -> &mut Self {
        self.op("f")
    }

    fn fill_nonzero_and_stroke(&mut self) -> &mut Self {
        self.op("B")
    }

    fn save_state(&mut self) -> &mut Self {
        self.op("q")
    }

    fn restore_state(&mut self) -> &mut Self {
        self.op("Q")
    }

    fn transform(&mut self, m: [f32; 6]) -> &mut Self {
        self.nums(&m);
        self.op("cm")
    }

    fn x_object(&mut self, name: &str) -> &mut Self {
        self.buf.push(b'/');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b' ');
        self.op("Do")
    }

    fn set_font(&mut self, name: &str, size: f32) -> &mut Self {
        self.buf.push(b'/');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b' ');
        self.nums(&[size]);
        self.op("Tf")
    }

    fn set_text_matrix(&mut self, m: [f32; 6]) -> &mut Self {
        self.nums(&m);
        self.op("Tm")
    }

    fn next_line(&mut self, x: f32, y: f32) -> &mut Self {
        self.nums(&[x, y]);
        self.op("Td")
    }
}

/// Removes TrueType hinting from a (subset) font: glyph instructions and
/// the `fpgm`, `prep` and `cvt ` tables. PDF viewers rasterise embedded
/// fonts with their own hinting, and the instructions are a quarter of a
/// BIZ UD subset. Returns `None` (keep the font as it is) when the font is
/// not laid out as expected.
fn strip_hinting(font: &[u8]) -> Option<Vec<u8>> {
    let be32 = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
    };
    let num_tables = be16(font, 4)? as usize;
    let mut tables: Vec<([u8; 4], &[u8])> = Vec::with_capacity(num_tables);
    for i in 0..num_tables {
        let rec = font.get(12 + 16 * i..28 + 16 * i)?;
        let tag = [rec[0], rec[1], rec[2], rec[3]];
        let offset = be32(rec, 8)? as usize;
        let len = be32(rec, 12)? as usize;
        tables.push((tag, font.get(offset..offset.checked_add(len)?)?));
    }
    let find = |tag: &[u8; 4]| tables.iter().find(|(t, _)| t == tag).map(|(_, d)| *d);
    let head = find(b"head")?;
    let loca = find(b"loca")?;
    let glyf = find(b"glyf")?;
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

    let new_name = find(b"name").and_then(trim_name);
    let mut out_tables: Vec<([u8; 4], &[u8])> = Vec::with_capacity(tables.len());
    for (tag, data) in &tables {
        let data: &[u8] = match tag {
            b"fpgm" | b"prep" | b"cvt " => continue,
            b"glyf" => &new_glyf,
            b"loca" => &new_loca,
            b"head" => &new_head,
            b"name" => new_name.as_deref().unwrap_or(data),
            _ => data,
        };
        out_tables.push((*tag, data));
    }
    out_tables.sort_by_key(|(tag, _)| *tag);

    let checksum = |d: &[u8]| -> u32 {
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
    };
    let n = out_tables.len();
    let pow = if n == 0 { 0 } else { n.ilog2() };
    let search_range = 16u16 << pow;
    let mut out = Vec::with_capacity(font.len());
    out.extend_from_slice(&[0, 1, 0, 0]);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&search_range.to_be_bytes());
    out.extend_from_slice(&(pow as u16).to_be_bytes());
    out.extend_from_slice(&((n as u16) * 16 - search_range).to_be_bytes());
    let mut at = 12 + 16 * n;
    let mut head_at = None;
    for (tag, data) in &out_tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(at as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = Some(at);
        }
        at += data.len().div_ceil(4) * 4;
    }
    for (_, data) in &out_tables {
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
    use crate::page::{Glyph, ImageId};
    use std::path::Path;

    fn fonts() -> FontSet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
        FontSet::load(&FontSet::default_slots(&dir)).unwrap()
    }

    fn text_page(set: &FontSet, text: &str, xs: Option<&[f32]>) -> Page {
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

    /// The decompressed content stream of the (only) page.
    fn content(pdf: &[u8]) -> String {
        // The page content is the stream that inflates to text operators.
        let s = pdf;
        let mut out = String::new();
        let mut at = 0;
        while let Some(i) = find(&s[at..], b"stream\n") {
            let start = at + i + 7;
            let end = start + find(&s[start..], b"\nendstream").unwrap();
            if let Ok(d) = miniz_oxide::inflate::decompress_to_vec_zlib(&s[start..end]) {
                if d.starts_with(b"BT") {
                    out = String::from_utf8_lossy(&d).into_owned();
                }
            }
            at = end + b"\nendstream".len();
        }
        out
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

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

    #[test]
    fn numbers_are_short_and_exact() {
        let mut c = Content::with_capacity(64);
        c.nums(&[
            0.0,
            -0.0,
            1.0,
            12.5,
            -3.25,
            595.2756,
            0.1 + 0.2,
            -0.0004,
            1e6,
        ]);
        assert_eq!(
            String::from_utf8(c.finish()).unwrap(),
            "0 0 1 12.5 -3.25 595.276 0.3 0 1000000 "
        );
    }

    #[test]
    fn dates_parse() {
        assert!(parse_date("").unwrap().is_none());
        assert!(parse_date("20250401093000").unwrap().is_some());
        for bad in [
            "2025040109300",
            "20251301093000",
            "20250401246000",
            "2025040109300x",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn glyphs_at_natural_advance_need_no_adjustment() {
        let set = fonts();
        let page = text_page(&set, "在職証明書", None);
        let pdf = write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).unwrap();
        let c = content(&pdf);
        assert!(c.contains("1 0 0 1 10 50 Tm"), "{c}");
        // One hex string of 2-byte new glyph ids, no adjustments.
        assert!(c.contains("[<00010004000300050002>]TJ"), "{c}");
    }

    #[test]
    fn spaced_glyphs_get_exact_adjustments_and_far_ones_a_td() {
        let set = fonts();
        // 10pt ideographs (10pt advance): +5pt gap, then -1.25pt, then a 100pt jump.
        let xs = [10.0, 25.0, 33.75, 143.75];
        let page = text_page(&set, "在職証明", Some(&xs));
        let pdf = write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).unwrap();
        let c = content(&pdf);
        // 5pt at 10pt = 500/1000 em, subtracted: -500; -1.25pt → +125.
        assert!(c.contains("-500"), "{c}");
        assert!(c.contains("125"), "{c}");
        // The jump: Td relative to the line start (10): 133.75.
        assert!(c.contains("133.75 0 Td"), "{c}");
    }

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
    fn write(pages: &[Page], set: &FontSet, cores: &FontCores) -> Vec<u8> {
        let (images, info) = (ImageSet::default(), DocInfo::default());
        write_pdf_with(pages, set, cores, &images, &info, &PdfOptions::default()).unwrap()
    }

    #[test]
    fn adler32_of_parts_combines_to_adler32_of_whole() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        for cut in [0, 1, 5551, 65521, 100_000, 200_000] {
            let (a, b) = data.split_at(cut);
            let whole = miniz_oxide::mz_adler32_oxide(1, &data);
            let (pa, pb) = (
                miniz_oxide::mz_adler32_oxide(1, a),
                miniz_oxide::mz_adler32_oxide(1, b),
            );
            assert_eq!(adler32_combine(pa, pb, b.len()), whole, "cut {cut}");
        }
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
        let mut next = 1;
        let mut alloc = || {
            next += 1;
            Ref::new(next)
        };
        let e = embed_font(&mut pdf, &mut alloc, 0, font, glyphs, Some(core), 1).unwrap();
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
        assert!(find(&spliced, &core.deflated).is_some());
        // The core's glyf run is a real prefix of the subset's glyf table.
        let range = glyf_prefix(&subset, core.glyphs().len() + 1).unwrap();
        assert_eq!(subset[range], core.glyf[..]);
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
                find(f, &core.deflated).is_some(),
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
        let last = core.glyf.len() - 1;
        core.glyf[last] ^= 0xFF;
        assert!(core.splice(&good_font, 1).is_none());
        let deflated = core.deflated.clone();
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
    fn reused_compressor_matches_fresh_one() {
        let inputs: [&[u8]; 4] = [b"", b"BT /F0 10 Tf ET", &[7u8; 100_000], b"abcabcabcabc"];
        for level in [1u8, 6, 9, 1] {
            for data in inputs {
                assert_eq!(
                    zlib(data, level),
                    miniz_oxide::deflate::compress_to_vec_zlib(data, level)
                );
            }
        }
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
