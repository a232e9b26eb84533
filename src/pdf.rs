//! The PDF writer: laid-out pages to deterministic PDF bytes.
//!
//! STUB: the signatures are fixed; the implementation is being written.

use crate::fonts::FontSet;
use crate::image::ImageSet;
use crate::page::Page;

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

/// Writes `pages` as one PDF. Same input, same bytes.
pub fn write_pdf(
    pages: &[Page],
    fonts: &FontSet,
    images: &ImageSet,
    info: &DocInfo,
) -> Result<Vec<u8>, PdfError> {
    let _ = (pages, fonts, images, info);
    todo!()
}
