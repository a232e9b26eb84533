//! Fonts: parsed once per batch, shared read-only by every rendering thread.
//!
//! A [`FontSet`] holds the font files and named *slots* (`mincho`, `gothic`,
//! `gothic-bold`, …). Each slot is a fallback chain: a character is taken from
//! the first font of the chain that has a glyph for it. A character that no
//! font of the chain has is reported by [`FontSet::resolve`] returning `None`,
//! and the layout stage turns that into a reject — never into tofu.

use crate::render::page::FontId;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One parsed font file with the metrics layout needs.
#[derive(Debug)]
pub struct Font {
    /// PostScript name (used, with a subset tag, as the PDF BaseFont).
    pub postscript_name: String,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// The raw font file (TrueType / OpenType).
    pub data: Arc<Vec<u8>>,
    /// Font units per em.
    pub units_per_em: u16,
    /// Typographic ascender in font units.
    pub ascender: i16,
    /// Typographic descender in font units (negative).
    pub descender: i16,
    /// Cap height in font units (estimated from the ascender when absent).
    pub cap_height: i16,
    /// Italic angle (0 for upright fonts).
    pub italic_angle: f32,
    /// Font bounding box in font units: x_min, y_min, x_max, y_max.
    pub bbox: [i16; 4],
    /// Glyph ids of the Basic Multilingual Plane, indexed by code point
    /// (0 = no glyph): a plain array lookup per character, which layout
    /// does for every character of every document.
    bmp: Vec<u16>,
    /// Glyph ids of characters outside the BMP.
    astral: HashMap<u32, u16>,
    advances: Vec<u16>,
}

/// Why fonts could not be loaded.
#[derive(Debug)]
pub struct FontError {
    /// The font file (or slot) concerned.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
    /// The system's error, when the file could not be read.
    pub source: Option<std::io::Error>,
}

impl std::fmt::Display for FontError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "フォントを読み込めません (cannot load font) {}: {}",
            self.path.display(),
            self.message
        )
    }
}

impl std::error::Error for FontError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// Largest font file read: 256 MB. A font is held in memory for the whole
/// batch; the largest CJK collections (every weight of a family in one
/// `.ttc`) are around 120 MB, and the bundled fonts are 5–6 MB.
pub const MAX_FONT_BYTES: u64 = 256 * 1024 * 1024;

impl Font {
    /// Parses a font file (a regular file of at most [`MAX_FONT_BYTES`]).
    pub fn load(path: &Path) -> Result<Font, FontError> {
        let data = crate::files::read_capped(path, MAX_FONT_BYTES).map_err(|e| FontError {
            path: crate::error::full_path(path),
            message: format!(
                "{}。ジョブファイルの [fonts] か同梱の fonts フォルダを確認してください \
                 (check [fonts] in the job file or the bundled fonts folder)",
                crate::error::io_reason(&e)
            ),
            source: Some(e),
        })?;
        Font::from_bytes(path, data)
    }

    /// Parses font bytes; `path` is only used for messages.
    pub fn from_bytes(path: &Path, data: Vec<u8>) -> Result<Font, FontError> {
        let err = |m: String| FontError {
            path: path.to_owned(),
            message: m,
            source: None,
        };
        let face = ttf_parser::Face::parse(&data, 0).map_err(|e| err(e.to_string()))?;
        let mut cmap = HashMap::new();
        if let Some(table) = face.tables().cmap {
            for sub in table.subtables {
                if !sub.is_unicode() {
                    continue;
                }
                sub.codepoints(|cp| {
                    if let Some(g) = sub.glyph_index(cp) {
                        cmap.entry(cp).or_insert(g.0);
                    }
                });
            }
        }
        if cmap.is_empty() {
            return Err(err("no Unicode cmap".into()));
        }
        let mut bmp = vec![0u16; 0x1_0000];
        let mut astral = HashMap::new();
        for (cp, g) in cmap {
            match bmp.get_mut(cp as usize) {
                Some(slot) => *slot = g,
                None => {
                    astral.insert(cp, g);
                }
            }
        }
        let n = face.number_of_glyphs();
        let advances = (0..n)
            .map(|g| face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0))
            .collect();
        let postscript_name = face
            .names()
            .into_iter()
            .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME && n.is_unicode())
            .and_then(|n| n.to_string())
            .unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "Font".into())
            });
        let postscript_name: String = postscript_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let bb = face.global_bounding_box();
        let ascender = face.ascender();
        Ok(Font {
            postscript_name,
            path: path.to_owned(),
            units_per_em: face.units_per_em(),
            ascender,
            descender: face.descender(),
            cap_height: face
                .capital_height()
                .unwrap_or((ascender as f32 * 0.8) as i16),
            italic_angle: face.italic_angle(),
            bbox: [bb.x_min, bb.y_min, bb.x_max, bb.y_max],
            bmp,
            astral,
            advances,
            data: Arc::new(data),
        })
    }

    /// The glyph for a character, if the font has one.
    pub fn glyph(&self, ch: char) -> Option<u16> {
        let cp = ch as u32;
        match self.bmp.get(cp as usize) {
            Some(g) => Some(*g),
            None => self.astral.get(&cp).copied(),
        }
        .filter(|g| *g != 0)
    }

    /// The glyph for a character followed by a variation selector, using the
    /// font's format-14 cmap. `None` when the font has no such sequence (the
    /// caller then falls back to the base character and warns).
    pub fn variation_glyph(&self, ch: char, selector: char) -> Option<u16> {
        let face = ttf_parser::Face::parse(&self.data, 0).ok()?;
        let cmap = face.tables().cmap?;
        for sub in cmap.subtables {
            if let ttf_parser::cmap::Format::UnicodeVariationSequences(t) = sub.format {
                return match t.glyph_index(ch as u32, selector as u32)? {
                    ttf_parser::cmap::GlyphVariationResult::Found(g) => Some(g.0),
                    ttf_parser::cmap::GlyphVariationResult::UseDefault => self.glyph(ch),
                };
            }
        }
        None
    }

    /// Horizontal advance of a glyph as a fraction of the em (multiply by the size).
    pub fn advance(&self, gid: u16) -> f32 {
        let units = self.advances.get(gid as usize).copied().unwrap_or(0);
        units as f32 / self.units_per_em as f32
    }

    /// Raw horizontal advance of a glyph in font units.
    pub fn advance_units(&self, gid: u16) -> u16 {
        self.advances.get(gid as usize).copied().unwrap_or(0)
    }

    /// Ascender as a fraction of the em.
    pub fn ascent(&self) -> f32 {
        self.ascender as f32 / self.units_per_em as f32
    }

    /// Descender as a (negative) fraction of the em.
    pub fn descent(&self) -> f32 {
        self.descender as f32 / self.units_per_em as f32
    }
}

/// All fonts of a batch and their named fallback chains.
#[derive(Debug, Default)]
pub struct FontSet {
    fonts: Vec<Font>,
    slots: BTreeMap<String, Vec<FontId>>,
}

/// The slots bound to the bundled fonts when the job names none.
pub const DEFAULT_SLOTS: &[(&str, &str)] = &[
    ("mincho", "BIZUDMincho-Regular.ttf"),
    ("gothic", "BIZUDGothic-Regular.ttf"),
    ("gothic-bold", "BIZUDGothic-Bold.ttf"),
];

impl FontSet {
    /// Loads every font named by `slots` (slot name → fallback chain of files);
    /// a file used by several slots is parsed once.
    pub fn load(slots: &BTreeMap<String, Vec<PathBuf>>) -> Result<FontSet, FontError> {
        use rayon::prelude::*;
        let mut set = FontSet::default();
        // Ids in order of first mention, so they do not depend on timing.
        let mut paths: Vec<&PathBuf> = Vec::new();
        let mut by_path: HashMap<&PathBuf, FontId> = HashMap::new();
        for (slot, chain) in slots {
            if chain.is_empty() {
                return Err(FontError {
                    path: PathBuf::from(slot),
                    message: "slot has no font".into(),
                    source: None,
                });
            }
            let ids = chain
                .iter()
                .map(|path| {
                    *by_path.entry(path).or_insert_with(|| {
                        paths.push(path);
                        FontId(paths.len() - 1)
                    })
                })
                .collect();
            set.slots.insert(slot.clone(), ids);
        }
        // Parsing a CJK font's cmap takes a while: the files are parsed in
        // parallel (on the caller's rayon pool).
        set.fonts = paths
            .par_iter()
            .map(|p| Font::load(p))
            .collect::<Result<Vec<Font>, FontError>>()?;
        Ok(set)
    }

    /// The default slot table for a fonts directory (see [`DEFAULT_SLOTS`]).
    pub fn default_slots(dir: &Path) -> BTreeMap<String, Vec<PathBuf>> {
        DEFAULT_SLOTS
            .iter()
            .map(|(slot, file)| (slot.to_string(), vec![dir.join(file)]))
            .collect()
    }

    /// The fallback chain of a slot.
    pub fn chain(&self, slot: &str) -> Option<&[FontId]> {
        self.slots.get(slot).map(|v| v.as_slice())
    }

    /// A font by id.
    pub fn font(&self, id: FontId) -> &Font {
        &self.fonts[id.0]
    }

    /// Number of fonts loaded.
    pub fn len(&self) -> usize {
        self.fonts.len()
    }

    /// Whether no font is loaded.
    pub fn is_empty(&self) -> bool {
        self.fonts.is_empty()
    }

    /// The first font of `chain` that has `ch`, with its glyph id.
    pub fn resolve(&self, chain: &[FontId], ch: char) -> Option<(FontId, u16)> {
        chain
            .iter()
            .find_map(|id| self.font(*id).glyph(ch).map(|g| (*id, g)))
    }
}

/// The check stage's view of the fonts: a character is covered when some
/// font of the set (of any slot) has it.
impl crate::check::GlyphCoverage for FontSet {
    fn covers(&self, ch: char) -> bool {
        self.fonts.iter().any(|f| f.glyph(ch).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> FontSet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
        FontSet::load(&FontSet::default_slots(&dir)).unwrap()
    }

    #[test]
    fn bundled_fonts_cover_common_japanese() {
        let set = bundled();
        let chain = set.chain("mincho").unwrap();
        for ch in "在職証明書山田太郎髙橋﨑令和年月日、。「」ー①㈱".chars()
        {
            assert!(set.resolve(chain, ch).is_some(), "missing {ch}");
        }
        let (id, g) = set.resolve(chain, '証').unwrap();
        // Full-width ideographs advance one em in BIZ UD Mincho.
        assert!((set.font(id).advance(g) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn missing_character_is_reported_not_substituted() {
        let set = bundled();
        let chain = set.chain("mincho").unwrap();
        // A private-use code point (外字) is in no standard font.
        assert_eq!(set.resolve(chain, '\u{E000}'), None);
    }

    #[test]
    fn unreadable_font_names_the_path() {
        let mut slots = BTreeMap::new();
        slots.insert(
            "mincho".to_string(),
            vec![PathBuf::from("/nonexistent/x.ttf")],
        );
        let err = FontSet::load(&slots).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.ttf"));
    }
}
