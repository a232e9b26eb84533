//! Integration tests of the PDF writer against poppler-utils and qpdf.
//!
//! These call `qpdf`, `pdffonts`, `pdftotext` and `pdftoppm` (CI installs
//! poppler-utils and qpdf). Set `CHOHYO_KEEP_PDF=dir` to keep the sample PDF
//! and its page-1 rendering for visual inspection.

mod common;

use chohyo::pdf::{write_pdf, DocInfo};
use chohyo::render::fonts::FontSet;
use chohyo::render::image::ImageSet;
use chohyo::render::page::{Color, Glyph, GlyphRun, ImageId, Op, Page, Stroke, PT_PER_MM};
use common::{pdffonts, qpdf_check, tool};
use std::path::{Path, PathBuf};

fn fonts() -> FontSet {
    FontSet::load(&FontSet::default_slots(&common::root().join("fonts"))).unwrap()
}

/// A scratch directory unique to this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chohyo-pdf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Lays `text` out on one baseline from `x`, with `extra` points between
/// glyphs (distributed text). A character followed by a variation selector
/// becomes one glyph whose text is both. Returns runs (one per font).
#[allow(clippy::too_many_arguments)]
fn runs(
    set: &FontSet,
    slot: &str,
    text: &str,
    x: f32,
    baseline: f32,
    size: f32,
    color: Color,
    extra: f32,
) -> Vec<Op> {
    let chain = set.chain(slot).unwrap();
    let mut ops: Vec<Op> = Vec::new();
    let mut pen = x;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let vs = chars
            .get(i + 1)
            .copied()
            .filter(|c| matches!(*c as u32, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF));
        // The bundled fonts lack 𠮷 (U+20BB7, outside the BMP); draw it with
        // the glyph of 吉 but keep its own text, to exercise surrogate pairs
        // in the ToUnicode CMap.
        let shape = if ch == '𠮷' { '吉' } else { ch };
        let (fid, mut gid) = set
            .resolve(chain, shape)
            .unwrap_or_else(|| panic!("no glyph {ch}"));
        let mut t = ch.to_string();
        if let Some(v) = vs {
            if let Some(g) = set.font(fid).variation_glyph(ch, v) {
                gid = g;
            }
            t.push(v);
            i += 1;
        }
        let glyph = Glyph {
            gid,
            x: pen,
            text: t,
        };
        pen += set.font(fid).advance(gid) * size + extra;
        match ops.last_mut() {
            Some(Op::Text(run)) if run.font == fid => run.glyphs.push(glyph),
            _ => ops.push(Op::Text(GlyphRun {
                font: fid,
                size,
                color,
                baseline,
                glyphs: vec![glyph],
            })),
        }
        i += 1;
    }
    ops
}

/// Writes a red seal (ring and dot on a transparent background) PNG.
fn write_seal(path: &Path, size: u32) {
    let mut data = Vec::new();
    let c = (size as f32 - 1.0) / 2.0;
    let r = size as f32 / 2.0 - 1.0;
    for y in 0..size {
        for x in 0..size {
            let d = ((x as f32 - c).powi(2) + (y as f32 - c).powi(2)).sqrt();
            let on = (d <= r && d >= r - size as f32 / 10.0) || d <= r / 3.0;
            data.extend_from_slice(&[210, 30, 40, if on { 255 } else { 0 }]);
        }
    }
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), size, size);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&data).unwrap();
}

/// Text lines of the sample page, as pdftotext should give them back.
const LINES: &[&str] = &[
    "在職証明書",
    "山田 太郎",
    "令和7年4月1日",
    "Employee No. ABC-123 (test) {ok} \\ 100%",
    "（株）サンプル商事 営業部",
    "𠮷野 髙橋 﨑",
    "上記の者は当社に在籍していることを証明します。",
];

/// The sample certificate page.
fn sample_page(set: &FontSet, seal: Option<ImageId>) -> Page {
    let w = 210.0 * PT_PER_MM;
    let h = 297.0 * PT_PER_MM;
    let black = Color::BLACK;
    let mut ops = Vec::new();
    // Background band and frame first, text painted over them.
    ops.push(Op::Rect {
        x: 60.0,
        y: 60.0,
        w: w - 120.0,
        h: 60.0,
        stroke: None,
        fill: Some(Color {
            r: 0.9,
            g: 0.93,
            b: 1.0,
        }),
        radius: 0.0,
    });
    ops.push(Op::Rect {
        x: 40.0,
        y: 40.0,
        w: w - 80.0,
        h: h - 80.0,
        stroke: Some(Stroke {
            width: 1.5,
            color: black,
            dash: vec![],
        }),
        fill: None,
        radius: 12.0,
    });
    // Title, distributed: 5 glyphs of 24pt with 12pt between them.
    ops.extend(runs(
        set,
        "gothic-bold",
        LINES[0],
        209.0,
        100.0,
        24.0,
        black,
        12.0,
    ));
    ops.extend(runs(
        set, "mincho", LINES[1], 100.0, 200.0, 16.0, black, 0.0,
    ));
    ops.extend(runs(
        set, "mincho", LINES[2], 100.0, 240.0, 10.5, black, 0.0,
    ));
    ops.extend(runs(
        set, "gothic", LINES[3], 100.0, 270.0, 10.5, black, 0.0,
    ));
    ops.extend(runs(
        set, "mincho", LINES[4], 100.0, 300.0, 12.0, black, 0.0,
    ));
    ops.extend(runs(
        set, "mincho", LINES[5], 100.0, 330.0, 12.0, black, 0.0,
    ));
    let red = Color {
        r: 0.8,
        g: 0.0,
        b: 0.0,
    };
    ops.extend(runs(set, "mincho", LINES[6], 72.0, 400.0, 10.5, red, 0.0));
    // Underline under the name, dashed rule under the date.
    ops.push(Op::Line {
        from: (100.0, 206.0),
        to: (300.0, 206.0),
        stroke: Stroke {
            width: 0.75,
            color: black,
            dash: vec![],
        },
    });
    ops.push(Op::Line {
        from: (100.0, 246.0),
        to: (300.0, 246.0),
        stroke: Stroke {
            width: 0.5,
            color: Color {
                r: 0.0,
                g: 0.3,
                b: 0.8,
            },
            dash: vec![3.0, 2.0],
        },
    });
    // A filled and stroked rounded box (stamp field).
    ops.push(Op::Rect {
        x: 400.0,
        y: 170.0,
        w: 80.0,
        h: 50.0,
        stroke: Some(Stroke {
            width: 1.0,
            color: red,
            dash: vec![],
        }),
        fill: Some(Color {
            r: 1.0,
            g: 0.95,
            b: 0.9,
        }),
        radius: 8.0,
    });
    if let Some(id) = seal {
        // Overlaps the end of the name so the transparency is visible.
        ops.push(Op::Image {
            id,
            x: 160.0,
            y: 170.0,
            w: 40.0,
            h: 40.0,
        });
    }
    Page {
        width: w,
        height: h,
        ops,
    }
}

fn info() -> DocInfo {
    DocInfo {
        title: "在職証明書".into(),
        created: "20250401093000".into(),
    }
}

fn images(dir: &Path) -> (ImageSet, ImageId) {
    let seal = dir.join("seal.png");
    write_seal(&seal, 64);
    let mut set = ImageSet::default();
    let id = set.load("seal.png", &seal).unwrap();
    (set, id)
}

#[test]
fn sample_certificate_is_valid_embedded_and_extractable() {
    let dir = scratch("sample");
    let set = fonts();
    let (imgs, seal) = images(&dir);
    let page = sample_page(&set, Some(seal));
    let bytes = write_pdf(std::slice::from_ref(&page), &set, &imgs, &info()).unwrap();
    let path = dir.join("sample.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();

    // Structure.
    let check = qpdf_check(&path);
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );

    // Fonts: three CID TrueType subsets, embedded, tagged.
    let rows = pdffonts(&path);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let name = cols[0];
        let (tag, ps) = name.split_once('+').expect("subset tag");
        assert_eq!(tag.len(), 6, "{name}");
        assert!(tag.bytes().all(|b| b.is_ascii_uppercase()), "{name}");
        assert!(ps.starts_with("BIZUD"), "{name}");
        assert!(row.contains("CID TrueType"), "{row}");
        assert!(row.contains("Identity-H"), "{row}");
        // emb sub uni columns.
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], &["yes", "yes", "yes"], "{row}");
    }

    // Text comes back exactly, line by line.
    let text = tool("pdftotext", ["-enc", "UTF-8", p, "-"]);
    let got: Vec<&str> = text
        .lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && *l != "\u{c}")
        .collect();
    // The title is distributed (half-em gaps), which pdftotext rightly
    // reports as spaces; every other line must come back exactly.
    assert!(got.contains(&"在 職 証 明 書"), "{got:#?}");
    for line in &LINES[1..] {
        assert!(got.contains(line), "missing {line:?} in {got:#?}");
    }

    // Distributed title glyphs sit exactly where layout put them:
    // 24pt glyphs from x = 209 with 12pt between them.
    let bbox = tool("pdftotext", ["-bbox", "-enc", "UTF-8", p, "-"]);
    for (i, ch) in LINES[0].chars().enumerate() {
        let line = bbox
            .lines()
            .find(|l| l.ends_with(&format!(">{ch}</word>")))
            .unwrap_or_else(|| panic!("no bbox for {ch}"));
        let x_min: f32 = line.split('"').nth(1).unwrap().parse().unwrap();
        let want = 209.0 + i as f32 * 36.0;
        assert!((x_min - want).abs() < 0.01, "{ch}: {x_min} != {want}");
    }

    // Info dictionary and trailer ID.
    let s = String::from_utf8_lossy(&bytes);
    assert!(
        s.contains("/CreationDate(D:20250401093000)"),
        "creation date"
    );
    assert!(s.contains("/Producer(chohyo)"));
    assert!(s.contains("/ID["));

    // Render page 1 for visual inspection when asked to.
    if let Ok(keep) = std::env::var("CHOHYO_KEEP_PDF") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        std::fs::copy(&path, keep.join("sample.pdf")).unwrap();
        let prefix = keep.join("sample");
        tool(
            "pdftoppm",
            [
                "-r",
                "100",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                p,
                prefix.to_str().unwrap(),
            ],
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn variation_sequences_round_trip() {
    let set = fonts();
    let chain = set.chain("mincho").unwrap();
    // 葛 + VS17 (IVS): the bundled mincho font has the sequence.
    let (fid, _) = set.resolve(chain, '葛').unwrap();
    assert!(
        set.font(fid).variation_glyph('葛', '\u{E0100}').is_some(),
        "the bundled mincho font (fonts/, committed) has the IVS 葛 + VS17"
    );
    let dir = scratch("ivs");
    let text = "葛\u{E0100}飾区";
    let page = Page {
        width: 300.0,
        height: 100.0,
        ops: runs(&set, "mincho", text, 10.0, 50.0, 12.0, Color::BLACK, 0.0),
    };
    let bytes = write_pdf(&[page], &set, &ImageSet::default(), &info()).unwrap();
    let path = dir.join("ivs.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let out = tool("pdftotext", ["-enc", "UTF-8", path.to_str().unwrap(), "-"]);
    assert_eq!(out.trim_end_matches(['\n', '\u{c}']), text);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn same_input_same_bytes_across_threads() {
    let dir = scratch("det");
    let set = fonts();
    let (imgs, seal) = images(&dir);
    let pages = vec![sample_page(&set, Some(seal)), sample_page(&set, None)];
    let first = write_pdf(&pages, &set, &imgs, &info()).unwrap();
    let second = write_pdf(&pages, &set, &imgs, &info()).unwrap();
    assert_eq!(first, second);
    let outputs: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| write_pdf(&pages, &set, &imgs, &info()).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in outputs {
        assert!(out == first, "thread output differs");
    }
    // Different input, different ID.
    let other = write_pdf(&pages[..1], &set, &imgs, &info()).unwrap();
    assert_ne!(trailer_id(&first), trailer_id(&other));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn trailer_id(pdf: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(pdf);
    let at = s.rfind("/ID").unwrap();
    s[at..at + 80].as_bytes().to_vec()
}

#[test]
fn many_pages_share_one_subset() {
    let dir = scratch("many");
    let set = fonts();
    let (imgs, seal) = images(&dir);
    let one = write_pdf(&[sample_page(&set, Some(seal))], &set, &imgs, &info()).unwrap();
    let pages: Vec<Page> = (0..20).map(|_| sample_page(&set, Some(seal))).collect();
    let twenty = write_pdf(&pages, &set, &imgs, &info()).unwrap();
    eprintln!(
        "1 page: {} bytes, 20 pages: {} bytes",
        one.len(),
        twenty.len()
    );
    assert!(
        twenty.len() < one.len() * 3,
        "20 pages {} vs 1 page {}",
        twenty.len(),
        one.len()
    );
    let path = dir.join("many.pdf");
    std::fs::write(&path, &twenty).unwrap();
    qpdf_check(&path);
    let rows = pdffonts(&path);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_document_is_valid() {
    let dir = scratch("empty");
    let set = fonts();
    let page = Page {
        width: 595.0,
        height: 842.0,
        ops: vec![],
    };
    let bytes = write_pdf(&[page], &set, &ImageSet::default(), &DocInfo::default()).unwrap();
    let path = dir.join("empty.pdf");
    std::fs::write(&path, &bytes).unwrap();
    qpdf_check(&path);
    std::fs::remove_dir_all(&dir).unwrap();
}
