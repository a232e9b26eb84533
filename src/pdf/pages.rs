//! Page objects and the page tree: per page one deflated content stream
//! and a page object, all pages naming one shared `/Resources` dictionary
//! of the fonts (`F0`, `F1`, …) and images (`Im0`, `Im1`, …) the document
//! uses, in id order.
//!
//! May use `crate::render::page` (page sizes), `pdf-writer` and the sibling
//! `font` and `compress` modules.

use super::compress::zlib;
use super::font::EmbeddedFont;
use super::{round, DocRefs};
use crate::render::page::{FontId, Page};
use pdf_writer::writers::Resources;
use pdf_writer::{Filter, Name, Pdf, Rect, Ref};
use std::collections::BTreeMap;

/// Writes the shared resources dictionary: the embedded fonts and the
/// image XObjects (in the order [`super::image::write_images`] wrote them).
pub(super) fn write_resources(
    pdf: &mut Pdf,
    resources_ref: Ref,
    fonts: &BTreeMap<FontId, EmbeddedFont>,
    images: &[Ref],
) {
    let mut res = pdf.indirect(resources_ref).start::<Resources>();
    if !fonts.is_empty() {
        let mut f = res.fonts();
        for e in fonts.values() {
            f.pair(Name(e.res_name.as_bytes()), e.type0_ref);
        }
    }
    if !images.is_empty() {
        let mut x = res.x_objects();
        for (i, r) in images.iter().enumerate() {
            x.pair(Name(format!("Im{i}").as_bytes()), *r);
        }
    }
}

/// Writes one page: its content stream (`content`, compressed at
/// `level`) and the page object. Returns the page object.
pub(super) fn write_page(
    pdf: &mut Pdf,
    alloc: &mut Ref,
    doc: &DocRefs,
    page: &Page,
    content: &[u8],
    level: u8,
) -> Ref {
    let page_ref = alloc.bump();
    let content_ref = alloc.bump();
    let compressed = zlib(content, level);
    pdf.stream(content_ref, &compressed)
        .filter(Filter::FlateDecode);
    let mut p = pdf.page(page_ref);
    p.parent(doc.pages)
        .media_box(Rect::new(0.0, 0.0, round(page.width), round(page.height)))
        .contents(content_ref);
    p.pair(Name(b"Resources"), doc.resources);
    page_ref
}

/// Writes the page tree (one level: every page is a kid of the root).
pub(super) fn write_page_tree(pdf: &mut Pdf, pages_ref: Ref, page_refs: &[Ref]) {
    pdf.pages(pages_ref)
        .kids(page_refs.iter().copied())
        .count(page_refs.len() as i32);
}
