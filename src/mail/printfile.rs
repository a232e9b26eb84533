//! Print files: one combined PDF per volume of a mailing group (at most
//! `[mail] volume_size` letters), in mail order, for the print room.
//!
//! The laid-out pages of every document of the group are concatenated and
//! written with a single [`pdf::write_pdf_with`] call, so the group shares one
//! font subset instead of one per document. Optionally each recipient's
//! document is padded with a blank page to an even page count, so that in
//! duplex printing every document starts on the front of a new sheet (and
//! no recipient gets the back of someone else's page). A cover sheet
//! (区分票) with the volume's counts comes first, itself padded in duplex
//! mode.
//!
//! The pages are held in memory until the file is written (the PDF writer
//! needs them all to build the shared subset); that is tens of kilobytes per
//! page laid out, which is why a print file is one volume, never a whole
//! large batch.
//!
//! The cover page is built like any document: a small markup string
//! ([`cover_markup`]) parsed and laid out with the batch's fonts.

use crate::mail::mailorder::GroupSummary;
use crate::pdf::{self, DocInfo, FontCores, PdfError, PdfOptions};
use crate::render::fonts::FontSet;
use crate::render::form;
use crate::render::image::ImageSet;
use crate::render::layout;
use crate::render::page::Page;
use serde::Serialize;
use std::fmt::Write as _;

/// How the print file is assembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrintOptions {
    /// Pad each document (and the cover) to an even page count for duplex printing.
    pub duplex_pad: bool,
}

/// Page counts of a print file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PrintStats {
    /// Documents in it.
    pub documents: usize,
    /// Pages of the documents themselves.
    pub document_pages: usize,
    /// Blank pages added for duplex.
    pub blank_pages: usize,
    /// Pages of the cover sheet (with its padding).
    pub cover_pages: usize,
    /// All pages.
    pub total_pages: usize,
    /// Sheets of paper (pages / 2 in duplex, else pages).
    pub sheets: usize,
}

/// Collects the pages of one group's documents in mail order.
#[derive(Debug, Default)]
pub struct PrintFileBuilder {
    opts: PrintOptions,
    pages: Vec<Page>,
    documents: usize,
    document_pages: usize,
    blank_pages: usize,
}

/// A blank page of the same size as `like`.
fn blank_like(like: &Page) -> Page {
    Page {
        width: like.width,
        height: like.height,
        ops: Vec::new(),
    }
}

impl PrintFileBuilder {
    /// An empty print file.
    pub fn new(opts: PrintOptions) -> Self {
        PrintFileBuilder {
            opts,
            ..Self::default()
        }
    }

    /// Appends one document's pages (padded when duplex is on).
    pub fn push_document(&mut self, pages: Vec<Page>) {
        if pages.is_empty() {
            return;
        }
        self.documents += 1;
        self.document_pages += pages.len();
        let pad = self.opts.duplex_pad && pages.len() % 2 == 1;
        let blank = pad.then(|| pages.last().map(blank_like)).flatten();
        self.pages.extend(pages);
        if let Some(b) = blank {
            self.pages.push(b);
            self.blank_pages += 1;
        }
    }

    /// Counts so far, as they will be with a cover of `cover_pages` pages
    /// (before duplex padding of the cover).
    pub fn stats(&self, cover_pages: usize) -> PrintStats {
        let cover = if self.opts.duplex_pad {
            cover_pages + cover_pages % 2
        } else {
            cover_pages
        };
        let total = cover + self.pages.len();
        PrintStats {
            documents: self.documents,
            document_pages: self.document_pages,
            blank_pages: self.blank_pages,
            cover_pages: cover,
            total_pages: total,
            sheets: if self.opts.duplex_pad {
                total.div_ceil(2)
            } else {
                total
            },
        }
    }

    /// The pages collected, cover first (padded), ready for the writer.
    pub fn into_pages(self, cover: Vec<Page>) -> (Vec<Page>, PrintStats) {
        let stats = self.stats(cover.len());
        let mut all = Vec::with_capacity(stats.total_pages);
        let pad = self.opts.duplex_pad && cover.len() % 2 == 1;
        let blank = pad.then(|| cover.last().map(blank_like)).flatten();
        all.extend(cover);
        all.extend(blank);
        all.extend(self.pages);
        (all, stats)
    }

    /// Writes the print file (cover first) as one PDF, with the batch's
    /// font cores.
    pub fn write(
        self,
        cover: Vec<Page>,
        fonts: &FontSet,
        cores: &FontCores,
        images: &ImageSet,
        info: &DocInfo,
    ) -> Result<(Vec<u8>, PrintStats), PdfError> {
        let (pages, stats) = self.into_pages(cover);
        let options = PdfOptions::default();
        let bytes = pdf::write_pdf_with(&pages, fonts, cores, images, info, &options)?;
        Ok((bytes, stats))
    }
}

/// Which volume of the batch a print file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VolumeInfo {
    /// 1-based number of the volume.
    pub number: usize,
    /// Volumes in the batch.
    pub count: usize,
    /// 通番 (place in mail order) of its first letter.
    pub first: usize,
    /// 通番 of its last letter.
    pub last: usize,
    /// Letters in the whole batch.
    pub total: usize,
}

/// What the cover sheet says.
#[derive(Debug, Clone)]
pub struct CoverInfo<'a> {
    /// Document kind (e.g. 在職証明書).
    pub kind: &'a str,
    /// Batch id.
    pub batch_id: &'a str,
    /// The mailing group, when the job groups its letters.
    pub group: Option<&'a str>,
    /// Which volume this is.
    pub volume: VolumeInfo,
    /// The volume's counts from the mail order (discounts judged on its group).
    pub summary: &'a GroupSummary,
    /// The print file's page counts (from [`PrintFileBuilder::stats`] with 1 cover page).
    pub stats: PrintStats,
}

/// Escapes text for the form markup.
fn esc(s: &str) -> String {
    crate::render::template::escape_xml(s)
}

/// Most postal prefixes listed on a cover; the rest are summed in one line.
const MAX_PREFIX_LINES: usize = 60;

/// The cover sheet's markup (one A4 page). Every line is short and of a
/// bounded length whatever the counts (a count has at most a few digits
/// more), so the cover fits for any batch size.
pub fn cover_markup(c: &CoverInfo) -> String {
    let mut t = CoverText {
        markup: String::new(),
        y: 20.0,
    };
    t.markup
        .push_str("<form size=\"A4\" font=\"gothic\" font-size=\"11pt\">\n  <page>\n");
    t.line(22.0, "区分票");
    t.y += 3.0;
    cover_counts(&mut t, c);
    cover_discounts(&mut t, c.summary);
    t.y += 2.0;
    cover_prefixes(&mut t, c.summary);
    t.markup.push_str("  </page>\n</form>\n");
    t.markup
}

/// The cover's markup as it is written, top to bottom.
struct CoverText {
    markup: String,
    /// Where the next line goes, in millimetres from the top.
    y: f32,
}

impl CoverText {
    /// One line of text at `size` points; moves down by 1.6 line heights.
    fn line(&mut self, size: f32, text: &str) {
        let y = self.y;
        let _ = writeln!(
            self.markup,
            r#"    <text x="20mm" y="{y:.1}mm" w="170mm" font-size="{size}pt">{}</text>"#,
            esc(text)
        );
        self.y += size * 0.3528 * 1.6;
    }
}

/// Kind, batch, group, volume, letters, pages and sheets, barcode counts.
fn cover_counts(t: &mut CoverText, c: &CoverInfo) {
    let (s, st, v) = (c.summary, &c.stats, &c.volume);
    t.line(12.0, &format!("文書：{}", c.kind));
    t.line(12.0, &format!("バッチ：{}", c.batch_id));
    if let Some(g) = c.group {
        t.line(12.0, &format!("区分：{g}"));
    }
    t.line(
        12.0,
        &format!("冊：第 {} 冊 ／ 全 {} 冊", v.number, v.count.max(1)),
    );
    t.line(
        12.0,
        &format!("通番：{} ～ {}（全 {} 通）", v.first, v.last, v.total),
    );
    t.line(12.0, &format!("通数：{} 通", st.documents));
    t.line(
        12.0,
        &format!(
            "頁数：文書 {} ＋ 白紙 {} ＋ 表紙 {} ＝ {} 頁",
            st.document_pages, st.blank_pages, st.cover_pages, st.total_pages
        ),
    );
    t.line(12.0, &format!("用紙：{} 枚", st.sheets));
    t.line(
        12.0,
        &format!(
            "バーコード付 {} 通　代表番号 {} 通　郵便番号なし {} 通",
            s.with_barcode, s.representative, s.without_postal
        ),
    );
}

/// The discount thresholds and whether the group meets them (if any).
fn cover_discounts(t: &mut CoverText, s: &GroupSummary) {
    if s.discounts.is_empty() {
        return;
    }
    t.y += 2.0;
    t.line(12.0, "割引の条件（区分の全通数で判定）：");
    for d in &s.discounts {
        let verdict = if d.eligible {
            "満たす"
        } else {
            "満たさない"
        };
        t.line(
            11.0,
            &format!(
                "　{}: {} 通 ／ 基準 {} 通 — {verdict}",
                d.name, d.count, d.threshold
            ),
        );
    }
}

/// Items per postal prefix in four columns, the rest summed in one line.
fn cover_prefixes(t: &mut CoverText, s: &GroupSummary) {
    t.line(12.0, "郵便番号の上3桁ごとの通数：");
    let entries: Vec<(&String, &usize)> = s.by_prefix.iter().collect();
    let shown = entries.len().min(MAX_PREFIX_LINES);
    let rows = shown.div_ceil(4).max(1);
    let top = t.y;
    for (i, (prefix, n)) in entries.iter().take(shown).enumerate() {
        let col = i / rows;
        let row = i % rows;
        let _ = writeln!(
            t.markup,
            r#"    <text x="{:.1}mm" y="{:.1}mm" w="40mm" font-size="10pt">{}：{} 通</text>"#,
            22.0 + col as f32 * 42.0,
            top + row as f32 * 5.2,
            esc(prefix),
            n
        );
    }
    t.y = top + rows as f32 * 5.2 + 2.0;
    if entries.len() > shown {
        let rest: usize = entries[shown..].iter().map(|(_, n)| **n).sum();
        t.line(
            10.0,
            &format!("ほか {} 区分 {} 通", entries.len() - shown, rest),
        );
    }
}

/// Lays out the cover sheet.
pub fn cover_pages(c: &CoverInfo, fonts: &FontSet, images: &ImageSet) -> Result<Vec<Page>, String> {
    let form =
        form::parse(&cover_markup(c)).map_err(|e| format!("区分票 (cover sheet) markup: {e}"))?;
    let laid = layout::layout(&form, fonts, images)
        .map_err(|e| format!("区分票 (cover sheet) layout: {e}"))?;
    Ok(laid.pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(tag: f32) -> Page {
        Page {
            width: 595.0,
            height: 842.0 + tag,
            ops: Vec::new(),
        }
    }

    #[test]
    fn duplex_pads_each_document_and_cover() {
        let mut b = PrintFileBuilder::new(PrintOptions { duplex_pad: true });
        b.push_document(vec![page(1.0)]);
        b.push_document(vec![page(2.0), page(2.0)]);
        b.push_document(vec![page(3.0), page(3.0), page(3.0)]);
        let (pages, st) = b.into_pages(vec![page(0.0)]);
        assert_eq!(st.documents, 3);
        assert_eq!(st.document_pages, 6);
        assert_eq!(st.blank_pages, 2);
        assert_eq!(st.cover_pages, 2);
        assert_eq!(st.total_pages, 10);
        assert_eq!(st.sheets, 5);
        let heights: Vec<f32> = pages.iter().map(|p| p.height - 842.0).collect();
        assert_eq!(heights, [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0]);
        assert!(pages[1].ops.is_empty() && pages[3].ops.is_empty() && pages[9].ops.is_empty());
    }

    #[test]
    fn simplex_adds_nothing() {
        let mut b = PrintFileBuilder::new(PrintOptions::default());
        b.push_document(vec![page(1.0)]);
        b.push_document(vec![page(2.0), page(2.0), page(2.0)]);
        let (pages, st) = b.into_pages(vec![page(0.0)]);
        assert_eq!(pages.len(), 5);
        assert_eq!(st.blank_pages, 0);
        assert_eq!(st.sheets, 5);
    }

    #[test]
    fn cover_markup_escapes_and_counts() {
        let mut s = crate::mail::mailorder::GroupSummary {
            group: "郵送<A&B>".into(),
            items: 3,
            without_postal: 0,
            representative: 0,
            with_barcode: 3,
            by_prefix: Default::default(),
            by_district: Default::default(),
            discounts: Vec::new(),
        };
        for i in 0..70 {
            s.by_prefix.insert(format!("{:03}", 100 + i), 1);
        }
        let c = CoverInfo {
            kind: "在職証明書",
            batch_id: "2025-04-01",
            group: Some("郵送<A&B>"),
            volume: VolumeInfo::default(),
            summary: &s,
            stats: PrintStats::default(),
        };
        let m = cover_markup(&c);
        assert!(m.contains("郵送&lt;A&amp;B&gt;"));
        assert!(m.contains("ほか 10 区分 10 通"));
        assert!(form::parse(&m).is_ok());
    }
}
