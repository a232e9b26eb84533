//! The trailer `/ID`: the first 16 bytes of a SHA-256 over what the
//! document is made of.
//!
//! The hash covers what the document is made of rather than its
//! serialised bytes: font subsets and images are functions of the glyph
//! sets and image data hashed here, so hashing their compressed streams
//! again would only cost time (a third of the SHA-256 work).
//!
//! May use `crate::render::fonts`, `crate::render::image`, `crate::render::page`, `sha2` and the
//! sibling `usage`, `font_core` and `image` modules.

use super::font_core::FontCores;
use super::image::fingerprint;
use super::usage::Usage;
use super::{round, DocInfo};
use crate::render::fonts::FontSet;
use crate::render::image::ImageSet;
use crate::render::page::{ImageId, Page};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// The `/ID` hash, fed in a fixed order: document information and
/// compression levels, fonts, images, then the pages.
pub(super) struct FileId(Sha256);

impl FileId {
    /// Starts the hash with the document information and the compression
    /// levels.
    pub(super) fn new(info: &DocInfo, font_level: u8, content_level: u8) -> FileId {
        let mut h = Sha256::new();
        h.update(info.title.as_bytes());
        h.update([0]);
        h.update(info.created.as_bytes());
        h.update([0, font_level, content_level]);
        FileId(h)
    }

    /// Adds the used fonts: name, file size, glyphs with their texts and
    /// the core's glyph order.
    pub(super) fn add_fonts(&mut self, used: &Usage, fonts: &FontSet, cores: &FontCores) {
        let h = &mut self.0;
        for (id, glyphs) in &used.fonts {
            let font = fonts.font(*id);
            h.update(font.postscript_name.as_bytes());
            h.update((font.data.len() as u64).to_be_bytes());
            for (g, text) in glyphs {
                h.update(g.to_be_bytes());
                h.update(text.as_bytes());
                h.update([0]);
            }
            // The core decides the subset's glyph order (and adds glyphs).
            if let Some(core) = cores.get(*id) {
                h.update(b"core");
                for g in core.glyphs() {
                    h.update(g.to_be_bytes());
                }
            }
        }
    }

    /// Adds the used images: id, size and fingerprint.
    pub(super) fn add_images(&mut self, ids: &BTreeSet<usize>, images: &ImageSet) {
        let h = &mut self.0;
        for id in ids {
            let image = images.get(ImageId(*id));
            h.update((*id as u64).to_be_bytes());
            h.update(image.width.to_be_bytes());
            h.update(image.height.to_be_bytes());
            fingerprint(&image.data, h);
        }
    }

    /// Adds a page: its size and its uncompressed content stream.
    pub(super) fn add_page(&mut self, page: &Page, content: &[u8]) {
        let h = &mut self.0;
        h.update(round(page.width).to_bits().to_be_bytes());
        h.update(round(page.height).to_bits().to_be_bytes());
        h.update((content.len() as u64).to_be_bytes());
        h.update(content);
    }

    /// The `/ID` bytes.
    pub(super) fn finish(self) -> Vec<u8> {
        self.0.finalize()[..16].to_vec()
    }
}
