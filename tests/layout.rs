//! Layout engine tests: golden snapshots of laid-out pages, rendering and
//! text extraction of the markup fixtures in `tests/golden/`, Japanese line
//! breaking, continuing tables, fonts (fallback, IPAmj明朝, variation
//! sequences) and the fit rules.
//!
//! `UPDATE_GOLDEN=1 cargo test --test layout` rewrites the JSON snapshots
//! (review the diff!); `DOCS_PNG=1` also renders `docs/markup/*.png`;
//! `GOLDEN_PDF_DIR=dir` keeps the rendered PDFs.

mod common;

use chohyo::pdf::{self, DocInfo};
use chohyo::render::fonts::FontSet;
use chohyo::render::form;
use chohyo::render::image::ImageSet;
use chohyo::render::kinsoku;
use chohyo::render::layout::{self, Laid, LayoutError};
use chohyo::render::page::{Op, Page, PT_PER_MM};
use common::{pdftotext, root, squash};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn bundled_slots() -> BTreeMap<String, Vec<PathBuf>> {
    FontSet::default_slots(&root().join("fonts"))
}

fn fonts() -> FontSet {
    FontSet::load(&bundled_slots()).unwrap()
}

fn images() -> ImageSet {
    ImageSet::load_dir(&root().join("tests/golden/assets")).unwrap()
}

fn lay_with(markup: &str, fonts: &FontSet) -> Result<Laid, LayoutError> {
    let f = form::parse(markup).unwrap_or_else(|e| panic!("{e}"));
    layout::layout(&f, fonts, &images())
}

fn lay(markup: &str) -> Result<Laid, LayoutError> {
    lay_with(markup, &fonts())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Rounds every number to 0.01 so snapshots do not depend on float noise.
fn round(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                if n.is_f64() {
                    let r = (f * 100.0).round() / 100.0;
                    *v = serde_json::json!(r);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(round),
        serde_json::Value::Object(o) => o.values_mut().for_each(round),
        _ => {}
    }
}

fn snapshot(pages: &[Page]) -> String {
    let mut v = serde_json::to_value(pages).unwrap();
    round(&mut v);
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

fn write_pdf(pages: &[Page], fonts: &FontSet, images: &ImageSet, path: &Path) {
    let info = DocInfo {
        title: "layout test".into(),
        created: "20250401000000".into(),
    };
    let bytes = pdf::write_pdf(pages, fonts, images, &info).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The text runs of a page, in drawing order.
fn text_runs(page: &Page) -> Vec<&chohyo::render::page::GlyphRun> {
    page.ops
        .iter()
        .filter_map(|o| match o {
            Op::Text(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// Texts of a page grouped into lines (runs on one baseline joined), in order.
fn lines_of(page: &Page) -> Vec<String> {
    let mut lines: Vec<(f32, String)> = Vec::new();
    for op in &page.ops {
        if let Op::Text(r) = op {
            let t: String = r.glyphs.iter().map(|g| g.text.as_str()).collect();
            match lines.last_mut() {
                Some((b, l)) if (*b - r.baseline).abs() < 0.01 => l.push_str(&t),
                _ => lines.push((r.baseline, t)),
            }
        }
    }
    lines.into_iter().map(|(_, t)| t).collect()
}

/// The golden fixtures without a `.txt` of their extracted text: no text
/// at all, or text checked page by page by its own test. Every other
/// fixture's `.txt` is committed.
const GOLDEN_WITHOUT_TEXT: [&str; 2] = ["shapes", "table_continue"];

#[test]
fn golden_fixtures_snapshot_render_and_extract() {
    let dir = root().join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let docs = std::env::var_os("DOCS_PNG").is_some();
    let fonts = fonts();
    let images = images();
    let tmp = tempfile::tempdir().unwrap();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "fixtures missing");
    let mut stale = Vec::new();
    for xml in names {
        let name = xml.file_stem().unwrap().to_string_lossy().into_owned();
        let markup = std::fs::read_to_string(&xml).unwrap();
        let f = form::parse(&markup).unwrap_or_else(|e| panic!("{name}: {e}"));
        let laid = layout::layout(&f, &fonts, &images).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(laid.warnings.is_empty(), "{name}: {:?}", laid.warnings);
        // Same input, same layout.
        let again = layout::layout(&f, &fonts, &images).unwrap();
        assert_eq!(laid, again, "{name}: layout is not deterministic");
        let snap = snapshot(&laid.pages);
        let json = dir.join(format!("{name}.json"));
        if update {
            std::fs::write(&json, &snap).unwrap();
        } else {
            let old = std::fs::read_to_string(&json)
                .unwrap_or_else(|_| panic!("{name}.json missing: run with UPDATE_GOLDEN=1"));
            if old != snap {
                stale.push(name.clone());
            }
        }
        let pdf = tmp.path().join(format!("{name}.pdf"));
        write_pdf(&laid.pages, &fonts, &images, &pdf);
        if let Some(d) = std::env::var_os("GOLDEN_PDF_DIR") {
            std::fs::copy(&pdf, Path::new(&d).join(format!("{name}.pdf"))).unwrap();
        }
        common::qpdf_check(&pdf);
        // Extraction fidelity: the source text comes back in reading order.
        let expected = dir.join(format!("{name}.txt"));
        if GOLDEN_WITHOUT_TEXT.contains(&name.as_str()) {
            assert!(
                !expected.exists(),
                "{name}.txt: take {name} out of GOLDEN_WITHOUT_TEXT"
            );
        } else {
            let want = std::fs::read_to_string(&expected)
                .unwrap_or_else(|e| panic!("tests/golden/{name}.txt is committed: {e}"));
            let got = pdftotext(&pdf, None);
            assert_eq!(
                squash(&got),
                squash(&want),
                "{name}: pdftotext -raw gives\n{got}"
            );
        }
        if docs {
            let out = root().join("docs/markup").join(&name);
            common::tool(
                "pdftoppm",
                [
                    "-r".as_ref(),
                    "100".as_ref(),
                    "-png".as_ref(),
                    pdf.as_os_str(),
                    out.as_os_str(),
                ],
            );
        }
    }
    assert!(
        stale.is_empty(),
        "layout changed for {stale:?}: review, then UPDATE_GOLDEN=1 cargo test --test layout"
    );
}

#[test]
fn table_taller_than_the_page_continues_with_its_header_repeated() {
    let markup = std::fs::read_to_string(root().join("tests/golden/table_continue.xml")).unwrap();
    let fonts = fonts();
    let images = images();
    let laid = lay_with(&markup, &fonts).unwrap();
    assert!(laid.pages.len() >= 2, "{} pages", laid.pages.len());
    let tmp = tempfile::tempdir().unwrap();
    let pdf = tmp.path().join("t.pdf");
    write_pdf(&laid.pages, &fonts, &images, &pdf);
    let mut seen = Vec::new();
    for p in 1..=laid.pages.len() {
        let text = pdftotext(&pdf, Some(p));
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        // Page 1 starts with the title; every page then has the header row.
        let header = if p == 1 { 1 } else { 0 };
        assert_eq!(
            squash(lines[header]),
            "番号氏名支給日金額",
            "page {p}: {lines:?}"
        );
        for l in &lines[header + 1..] {
            if let Some(n) = l
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u32>().ok())
            {
                seen.push(n);
            }
        }
        // Nothing below the table's bottom limit but the closing text.
        let limit = 185.0 * PT_PER_MM;
        for op in &laid.pages[p - 1].ops {
            if let Op::Line { from, to, .. } = op {
                assert!(
                    from.1.max(to.1) <= limit + 0.5,
                    "page {p}: rule below the limit"
                );
            }
        }
        if p == laid.pages.len() {
            assert!(
                lines.last().unwrap().contains("以上"),
                "以上 on the last page"
            );
        } else {
            assert!(!text.contains("以上"), "以上 only on the last page");
        }
    }
    assert_eq!(
        seen,
        (1..=45).collect::<Vec<_>>(),
        "every row once, in order"
    );
    // Without overflow="continue" the same table is an overflow reject.
    let e = lay(&markup.replace(" overflow=\"continue\"", "")).unwrap_err();
    assert_eq!(e.code(), "E_LAYOUT_OVERFLOW");
}

#[test]
fn page_numbers_count_continuation_pages() {
    let markup = std::fs::read_to_string(root().join("tests/golden/table_continue.xml"))
        .unwrap()
        .replace(
            "以上</text>",
            "以上</text><text x=\"0%\" y=\"0%\" font-size=\"8pt\"><pageno/>/<pagecount/></text>",
        );
    let laid = lay(&markup).unwrap();
    let n = laid.pages.len();
    // The page-number text is laid after the table: on its last page.
    let last = lines_of(&laid.pages[n - 1]);
    assert!(last.contains(&format!("{n}/{n}")), "{last:?}");
}

#[test]
fn no_prohibited_line_start_with_hanging_and_mixed_runs() {
    for &ch in kinsoku::NO_LINE_START {
        for hanging in [false, true] {
            for fill in 5..9 {
                // The character sits inside a bold run, its neighbours outside.
                let text = format!(
                    "{}<b>か{}</b>{}",
                    "あ".repeat(fill - 1),
                    escape(&ch.to_string()),
                    "い".repeat(12)
                );
                let w = fill as f32 * 10.5 + 0.001;
                let markup = format!(
                    "<form><page><para x=\"0pt\" y=\"0pt\" w=\"{w}pt\" hanging=\"{hanging}\">{text}</para></page></form>"
                );
                let laid = match lay(&markup) {
                    Ok(l) => l,
                    Err(LayoutError::MissingGlyph { .. }) => break,
                    Err(e) => panic!("{ch:?}: {e}"),
                };
                let page = &laid.pages[0];
                for line in lines_of(page).iter().skip(1) {
                    let first = line.chars().next().unwrap();
                    assert!(
                        !kinsoku::no_line_start(first),
                        "{ch:?} starts a line: {line}"
                    );
                }
                // Width never exceeded beyond one hanging 。、．，
                for op in &page.ops {
                    if let Op::Text(r) = op {
                        for g in &r.glyphs {
                            let c = g.text.chars().next().unwrap();
                            let allowed = if hanging && kinsoku::may_hang(c) {
                                w + r.size
                            } else {
                                w
                            };
                            let adv = if c.is_ascii() { r.size * 0.5 } else { r.size };
                            assert!(g.x + adv <= allowed + 0.02, "{c:?} overflows in {text}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn hanging_punctuation_hangs_only_when_enabled() {
    // Five characters fill the line exactly; the 。 after them hangs or is
    // pushed (追い出し) with the character before it.
    let p = |hanging: bool| {
        let laid = lay(&format!(
            "<form><page><para x=\"0pt\" y=\"0pt\" w=\"52.5pt\" hanging=\"{hanging}\">あいうえお。かきくけ</para></page></form>"
        ))
        .unwrap();
        lines_of(&laid.pages[0])
    };
    assert_eq!(p(true), vec!["あいうえお。", "かきくけ"]);
    assert_eq!(p(false), vec!["あいうえ", "お。かきく", "け"]);
}

#[test]
fn long_latin_words_and_numbers_are_never_split() {
    // A word wider than the paragraph: an overflow, not a split word.
    let word = "Supercalifragilisticexpialidocious";
    let e = lay(&format!(
        "<form><page><para x=\"0pt\" y=\"0pt\" w=\"60pt\">{word}</para></page></form>"
    ))
    .unwrap_err();
    assert_eq!(e.code(), "E_LAYOUT_OVERFLOW");
    // With shrink it is set smaller, whole, on one line.
    let laid = lay(&format!(
        "<form><page><para x=\"0pt\" y=\"0pt\" w=\"90pt\" fit=\"shrink\" min-font-size=\"4pt\">{word}</para></page></form>"
    ))
    .unwrap();
    assert_eq!(lines_of(&laid.pages[0]), vec![word]);
    // Numbers with separators and units stay whole across many widths.
    for w in 40..120 {
        let laid = lay(&format!(
            "<form><page><para x=\"0pt\" y=\"0pt\" w=\"{w}pt\" fit=\"clip\">金額1,234,567円と¥98,765と12.5%</para></page></form>"
        ))
        .unwrap();
        let lines = lines_of(&laid.pages[0]);
        let all = lines.join("|");
        for token in ["1,234,567円", "¥98,765", "12.5%"] {
            assert!(
                lines.iter().any(|l| l.contains(token)) || !all.replace('|', "").contains(token),
                "{token} split at {w}pt: {all}"
            );
        }
    }
}

#[test]
fn ruby_is_centred_over_its_base_and_never_split() {
    let laid = lay(
        "<form><page><text x=\"10mm\" y=\"10mm\" font-size=\"20pt\"><ruby>山田<rt>やまだ</rt></ruby></text></page></form>",
    )
    .unwrap();
    let runs = text_runs(&laid.pages[0]);
    assert_eq!(runs.len(), 2, "base then ruby");
    let (base, ruby) = (runs[0], runs[1]);
    assert_eq!(ruby.size, 10.0);
    assert!(ruby.baseline < base.baseline - 15.0);
    let centre = |r: &chohyo::render::page::GlyphRun| {
        let last = r.glyphs.last().unwrap();
        (r.glyphs[0].x + last.x + r.size) / 2.0
    };
    assert!((centre(base) - centre(ruby)).abs() < 0.01);
    // Ruby wider than its base spaces the base out instead of overlapping.
    let laid = lay(
        "<form><page><text x=\"0pt\" y=\"0pt\">あ<ruby>一<rt>はじめ</rt></ruby>い</text></page></form>",
    )
    .unwrap();
    let Op::Text(r) = &laid.pages[0].ops[0] else {
        panic!()
    };
    // ruby 3 × 5.25pt = 15.75pt over a 10.5pt base: 2.625pt each side.
    assert!((r.glyphs[1].x - (10.5 + 2.625)).abs() < 0.01);
    assert!((r.glyphs[2].x - (10.5 + 15.75)).abs() < 0.01);
    // Never broken inside the base, at any width. (Below the paper's top
    // edge: a first line's ruby reaches a little above a 1.5 line box.)
    for w in 32..90 {
        let laid = lay(&format!(
            "<form><page><para x=\"0pt\" y=\"10pt\" w=\"{w}pt\">あい<ruby>佐々木<rt>ささき</rt></ruby>うえお</para></page></form>"
        ))
        .unwrap();
        let lines = lines_of(&laid.pages[0]);
        assert!(
            lines.iter().any(|l| l.contains("佐々木")),
            "{w}pt: {lines:?}"
        );
    }
}

#[test]
fn clip_really_clips_and_other_fits_never_overflow_silently() {
    let long = "あ".repeat(30);
    let laid = lay(&format!(
        "<form><page><text x=\"0pt\" y=\"0pt\" w=\"50pt\" fit=\"clip\">{long}</text></page></form>"
    ))
    .unwrap();
    let ops = &laid.pages[0].ops;
    assert!(matches!(ops.first(), Some(Op::ClipBegin { w, .. }) if (*w - 50.0).abs() < 0.01));
    assert!(matches!(ops.last(), Some(Op::ClipEnd)));
    for op in ops {
        if let Op::Text(r) = op {
            assert!(r.glyphs.iter().all(|g| g.x + r.size <= 50.01));
        }
    }
    // The clip reaches the PDF as q … re W n … Q.
    let fonts = fonts();
    let tmp = tempfile::tempdir().unwrap();
    let pdf = tmp.path().join("c.pdf");
    write_pdf(&laid.pages, &fonts, &images(), &pdf);
    let text = common::qdf(&pdf);
    assert!(text.contains("re\nW\nn"), "clip path in content");
    // Every box kind rejects overflow under fit="error".
    for m in [
        format!("<text x=\"0pt\" y=\"0pt\" w=\"50pt\">{long}</text>"),
        format!("<text x=\"0pt\" y=\"0pt\" w=\"500pt\" h=\"5pt\">{long}</text>"),
        format!("<para x=\"0pt\" y=\"0pt\" w=\"50pt\" h=\"20pt\">{long}</para>"),
        format!("<table x=\"0pt\" y=\"0pt\" columns=\"50pt\" row-height=\"20pt\"><row><cell>{long}</cell></row></table>"),
        format!("<qr x=\"0pt\" y=\"0pt\" size=\"20mm\" level=\"H\">{}</qr>", "9".repeat(8000)),
    ] {
        let e = lay(&format!("<form><page>{m}</page></form>")).unwrap_err();
        assert_eq!(e.code(), "E_LAYOUT_OVERFLOW", "{m}");
        assert!(e.is_data_error());
    }
}

#[test]
fn safe_area_is_checked_when_margins_are_set() {
    let e =
        lay("<form margin=\"20mm\"><page><text x=\"5mm\" y=\"30mm\">余白の外</text></page></form>")
            .unwrap_err();
    assert_eq!(e.code(), "E_LAYOUT_MARGIN");
    assert!(e.to_string().contains("1行"), "{e}");
    // % positions are inside the safe area.
    let laid = lay(
        "<form margin=\"20mm\"><page><rect x=\"0%\" y=\"0%\" w=\"100%\" h=\"100%\"/></page></form>",
    )
    .unwrap();
    let Op::Rect { x, w, .. } = &laid.pages[0].ops[0] else {
        panic!()
    };
    assert!((x - 20.0 * PT_PER_MM).abs() < 0.01);
    assert!((w - 170.0 * PT_PER_MM).abs() < 0.01);
}

#[test]
fn missing_character_is_rejected_with_its_code_point() {
    for (ch, code) in [('\u{E000}', "U+E000"), ('\u{F0001}', "U+F0001")] {
        let e = lay(&format!(
            "<form><page><table x=\"0pt\" y=\"0pt\" columns=\"50mm\"><row><cell>山{ch}</cell></row></table></page></form>"
        ))
        .unwrap_err();
        assert_eq!(e.code(), "E_GLYPH_MISSING");
        assert!(e.to_string().contains(code), "{e}");
    }
}

#[test]
fn unsupported_variation_sequence_prints_the_base_with_a_warning() {
    // BIZ UD Mincho's format-14 cmap has 葛 + VS17 (the 葛飾区 form) …
    let laid =
        lay("<form><page><text x=\"0pt\" y=\"0pt\">葛\u{E0100}城</text></page></form>").unwrap();
    assert!(laid.warnings.is_empty(), "{:?}", laid.warnings);
    assert_eq!(lines_of(&laid.pages[0]), vec!["葛\u{E0100}城"]);
    // … but no sequence for a kana: the base is printed, with a warning.
    let laid =
        lay("<form><page><text x=\"0pt\" y=\"0pt\">あ\u{E0101}い</text></page></form>").unwrap();
    assert_eq!(laid.warnings.len(), 1, "{:?}", laid.warnings);
    assert!(laid.warnings[0].contains("U+E0101"));
    assert_eq!(lines_of(&laid.pages[0]), vec!["あい"]);
}

const IPAMJ: &str = "/usr/share/fonts/truetype/ipamj/ipamjm.ttf";

#[test]
fn ipamj_mincho_as_fallback_for_names() {
    assert!(
        Path::new(IPAMJ).exists(),
        "{IPAMJ} must be installed (package fonts-ipamj-mincho; .ci/run installs it)"
    );
    let mut slots = bundled_slots();
    slots.get_mut("mincho").unwrap().push(PathBuf::from(IPAMJ));
    let fonts = FontSet::load(&slots).unwrap();
    let markup = "<form><page><text x=\"10mm\" y=\"10mm\" font-size=\"20pt\">𠮷野家　葛\u{E0100}飾　髙橋</text>\
        <text x=\"10mm\" y=\"30mm\" w=\"60mm\" align=\"distribute\">𠮷田</text></page></form>";
    let laid = lay_with(markup, &fonts).unwrap();
    assert!(laid.warnings.is_empty(), "{:?}", laid.warnings);
    let ipamj = fonts.chain("mincho").unwrap()[1];
    let runs = text_runs(&laid.pages[0]);
    // 𠮷 (outside the BMP) comes from IPAmj, the rest (葛 + VS17 included)
    // from the first font of the chain.
    let from_ipamj: String = runs
        .iter()
        .filter(|r| r.font == ipamj)
        .flat_map(|r| r.glyphs.iter().map(|g| g.text.clone()))
        .collect();
    assert_eq!(from_ipamj, "𠮷𠮷");
    let tmp = tempfile::tempdir().unwrap();
    let pdf = tmp.path().join("mj.pdf");
    write_pdf(&laid.pages, &fonts, &images(), &pdf);
    let text = pdftotext(&pdf, None);
    let got = squash(&text);
    assert!(got.starts_with("𠮷野家葛"), "{text}");
    assert!(got.contains("飾髙橋𠮷田"), "{text}");
}

/// Probe paragraphs from testing narrow boxes (issue 18): hanging
/// punctuation before a closing bracket, full-width numbers with their
/// separators and units, 丁目 and 番地, leaders, katakana with small kana
/// and ー, half-width numbers.
const PROBES: [&str; 6] = [
    "職員（会計年度任用職員を含む。）に対し、週３８時間４５分（休憩時間６０分）の勤務を命じ、月額１２，３４５円を支給する。",
    "令和７年４月１日から令和８年３月３１日まで、第３号様式により申請すること（期限厳守）。",
    "本年度の手当は12,345円、前年度は9,876.5円でした。支給率は１２．５％です。",
    "東京都千代田区丸の内二丁目７番３号　東京ビルディング１５階　総務課気付",
    "「ゆうちょ銀行」のキャッシュカード……をお持ちのうえ、窓口へお越しください。",
    "ヴァイオリン・コンサートのチケットを、２５歳以下の方へ１人２枚まで配布します。",
];

/// Counters that must stay with the number before them.
const UNITS: &str = "時分秒年月日歳円人件号番丁枚％%";

#[test]
fn probe_paragraphs_break_by_the_rules_at_every_width() {
    let fonts = fonts();
    let digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    for probe in PROBES {
        for mm in 10..=90 {
            for (align, hanging) in [
                ("left", false),
                ("left", true),
                ("justify", false),
                ("justify", true),
            ] {
                // Shrink lets a number wider than a narrow box get smaller
                // instead of split; the rules are what is tested.
                let markup = format!(
                    "<form><page><para x=\"10mm\" y=\"10mm\" w=\"{mm}mm\" align=\"{align}\" \
                     hanging=\"{hanging}\" fit=\"shrink\" min-font-size=\"2pt\">{probe}</para></page></form>"
                );
                let laid = lay_with(&markup, &fonts).unwrap_or_else(|e| panic!("{mm}mm: {e}"));
                let lines = lines_of(&laid.pages[0]);
                let at = format!("{mm}mm {align} hanging={hanging}: {lines:?}");
                assert_eq!(lines.concat(), probe, "text lost or changed at {at}");
                for pair in lines.windows(2) {
                    let (end, start) = (&pair[0], &pair[1]);
                    let last = end.chars().last().unwrap();
                    let before_last = end.chars().rev().nth(1);
                    let first = start.chars().next().unwrap();
                    assert!(
                        !kinsoku::no_line_start(first),
                        "{first} starts a line at {at}"
                    );
                    assert!(!kinsoku::no_line_end(last), "{last} ends a line at {at}");
                    assert!(!(digit(last) && digit(first)), "number split at {at}");
                    assert!(
                        !(digit(last) && UNITS.contains(first)),
                        "number and unit split at {at}"
                    );
                    assert!(
                        !(before_last.is_some_and(digit)
                            && "，．,.".contains(last)
                            && digit(first)),
                        "number split after its separator at {at}"
                    );
                    assert!(!(last == '丁' && first == '目'), "丁目 split at {at}");
                }
            }
        }
    }
}

#[test]
fn a_closing_bracket_after_hanging_punctuation_does_not_start_a_line() {
    // 「含む。」 fills the line with the 。 hanging; the ） after it may not
    // start the next line, so the 。 does not hang alone: the line is
    // squeezed (追い込み) to hold 。） or the last characters go down.
    for w in [52.5f32, 63.0, 73.5, 84.0, 94.5] {
        let laid = lay(&format!(
            "<form><page><para x=\"20pt\" y=\"20pt\" w=\"{w}pt\" hanging=\"true\">（職員を含む。）に対し、支給する。</para></page></form>"
        ))
        .unwrap();
        let lines = lines_of(&laid.pages[0]);
        assert!(
            lines.iter().skip(1).all(|l| !l.starts_with('）')),
            "{w}pt: {lines:?}"
        );
    }
}

#[test]
fn punctuation_is_squeezed_to_pull_a_character_back() {
    // Ten full-width characters in a box 9.5 em wide: 「」 give up half an
    // em each, so 」 and 。 join the line (追い込み) instead of 。 being
    // pushed down with the character before it.
    let laid = lay(
        "<form><page><para x=\"20pt\" y=\"20pt\" w=\"99.75pt\" hanging=\"false\">「あいうえおかき」。くけこ</para></page></form>",
    )
    .unwrap();
    let page = &laid.pages[0];
    assert_eq!(lines_of(page), vec!["「あいうえおかき」。", "くけこ"]);
    // Every glyph of the first line still inside the box.
    let first = text_runs(page)[0];
    let last = first.glyphs.last().unwrap();
    assert!(
        last.x + first.size * 0.5 <= 20.0 + 99.75 + 0.02,
        "{}",
        last.x
    );
}

/// The address boxes of the bundled forms (templates/saiyo.xml's window
/// and templates/labels.xml's two stocks, with their sample job values):
/// name, width, font size, line height and height in mm.
const ADDRESS_BOXES: [(&str, f32, f32, f32, f32); 3] = [
    ("window", 82.0, 10.5, 1.4, 16.5),
    ("a12", 74.4, 9.5, 1.3, 13.571),
    ("a24", 57.0, 8.0, 1.3, 11.507),
];

/// Real towns with their postal codes (block numbers and buildings made
/// up), and the lines each gives in the window, on the 12-up and on the
/// 24-up label.
const ADDRESSES: [(&str, &str, [&[&str]; 3]); 20] = [
    (
        "0600001",
        "北海道札幌市中央区北一条西2丁目1-1　札幌グランドパークレジデンス北一条西タワー棟1502",
        [
            &[
                "北海道札幌市中央区北一条西2丁目1-1",
                "札幌グランドパークレジデンス北一条西タワー棟",
                "1502",
            ],
            &[
                "北海道札幌市中央区北一条西2丁目1-1",
                "札幌グランドパークレジデンス北一条西タワー棟",
                "1502",
            ],
            &[
                "北海道札幌市中央区北一条西2丁目1-1",
                "札幌グランドパークレジデンス",
                "北一条西タワー棟1502",
            ],
        ],
    ),
    (
        "1530051",
        "東京都目黒区上目黒1丁目8-4　グリーンハイツ203",
        [
            &["東京都目黒区上目黒1丁目8-4", "グリーンハイツ203"],
            &["東京都目黒区上目黒1丁目8-4", "グリーンハイツ203"],
            &["東京都目黒区上目黒1丁目8-4", "グリーンハイツ203"],
        ],
    ),
    (
        "2110063",
        "神奈川県川崎市中原区小杉町3丁目12-5　メゾン・ソレイユ１０２号室",
        [
            &[
                "神奈川県川崎市中原区小杉町3丁目12-5",
                "メゾン・ソレイユ１０２号室",
            ],
            &[
                "神奈川県川崎市中原区小杉町3丁目12-5",
                "メゾン・ソレイユ１０２号室",
            ],
            &[
                "神奈川県川崎市中原区小杉町3丁目12-5",
                "メゾン・ソレイユ１０２号室",
            ],
        ],
    ),
    (
        "6008022",
        "京都府京都市下京区河原町通四条下る稲荷町318",
        [
            &["京都府京都市下京区河原町通四条下る稲荷町318"],
            &["京都府京都市下京区河原町通四条下る稲荷町318"],
            &["京都府京都市下京区", "河原町通四条下る稲荷町318"],
        ],
    ),
    (
        "6048026",
        "京都府京都市中京区寺町通四条上ル米屋町384　寺町ハイツ５０５号室",
        [
            &[
                "京都府京都市中京区寺町通四条上ル米屋町384",
                "寺町ハイツ５０５号室",
            ],
            &[
                "京都府京都市中京区寺町通四条上ル米屋町384",
                "寺町ハイツ５０５号室",
            ],
            &[
                "京都府京都市中京区",
                "寺町通四条上ル米屋町384",
                "寺町ハイツ５０５号室",
            ],
        ],
    ),
    (
        "1901212",
        "東京都西多摩郡瑞穂町殿ケ谷1234番地",
        [
            &["東京都西多摩郡瑞穂町殿ケ谷1234番地"],
            &["東京都西多摩郡瑞穂町殿ケ谷1234番地"],
            &["東京都西多摩郡瑞穂町殿ケ谷1234番地"],
        ],
    ),
    (
        "0711501",
        "北海道上川郡東神楽町南一条西1丁目2番3号　コーポ東神楽B604号",
        [
            &[
                "北海道上川郡東神楽町南一条西1丁目2番3号",
                "コーポ東神楽B604号",
            ],
            &[
                "北海道上川郡東神楽町南一条西1丁目2番3号",
                "コーポ東神楽B604号",
            ],
            &[
                "北海道上川郡東神楽町南一条西1丁目2番3号",
                "コーポ東神楽B604号",
            ],
        ],
    ),
    (
        "9800811",
        "宮城県仙台市青葉区一番町三丁目九番十八号",
        [
            &["宮城県仙台市青葉区一番町三丁目九番十八号"],
            &["宮城県仙台市青葉区一番町三丁目九番十八号"],
            &["宮城県仙台市青葉区一番町三丁目九番十八号"],
        ],
    ),
    (
        "1000005",
        "東京都千代田区丸の内二丁目7番3号　東京ビルディング１５階",
        [
            &["東京都千代田区丸の内二丁目7番3号", "東京ビルディング１５階"],
            &["東京都千代田区丸の内二丁目7番3号", "東京ビルディング１５階"],
            &["東京都千代田区丸の内二丁目7番3号", "東京ビルディング１５階"],
        ],
    ),
    (
        "1890014",
        "東京都東村山市本町2丁目3-4　サンライズマンション1102",
        [
            &["東京都東村山市本町2丁目3-4", "サンライズマンション1102"],
            &["東京都東村山市本町2丁目3-4", "サンライズマンション1102"],
            &["東京都東村山市本町2丁目3-4", "サンライズマンション1102"],
        ],
    ),
    (
        "6391160",
        "奈良県大和郡山市北郡山町248番地の4",
        [
            &["奈良県大和郡山市北郡山町248番地の4"],
            &["奈良県大和郡山市北郡山町248番地の4"],
            &["奈良県大和郡山市北郡山町248番地の4"],
        ],
    ),
    (
        "0460003",
        "北海道余市郡余市町黒川町5丁目12番地",
        [
            &["北海道余市郡余市町黒川町5丁目12番地"],
            &["北海道余市郡余市町黒川町5丁目12番地"],
            &["北海道余市郡余市町黒川町5丁目12番地"],
        ],
    ),
    (
        "2630023",
        "千葉県千葉市稲毛区緑町3丁目30-8　郵便ビル403号",
        [
            &["千葉県千葉市稲毛区緑町3丁目30-8", "郵便ビル403号"],
            &["千葉県千葉市稲毛区緑町3丁目30-8", "郵便ビル403号"],
            &["千葉県千葉市稲毛区緑町3丁目30-8", "郵便ビル403号"],
        ],
    ),
    (
        "3050861",
        "茨城県つくば市大字谷田部1234番地",
        [
            &["茨城県つくば市大字谷田部1234番地"],
            &["茨城県つくば市大字谷田部1234番地"],
            &["茨城県つくば市大字谷田部1234番地"],
        ],
    ),
    (
        "9040322",
        "沖縄県中頭郡読谷村字波平123番地",
        [
            &["沖縄県中頭郡読谷村字波平123番地"],
            &["沖縄県中頭郡読谷村字波平123番地"],
            &["沖縄県中頭郡読谷村字波平123番地"],
        ],
    ),
    (
        "2700104",
        "千葉県流山市森のロジスティクスパーク1丁目2-3　ロジスティクスセンター北棟2階",
        [
            &[
                "千葉県流山市森のロジスティクスパーク1丁目2-3",
                "ロジスティクスセンター北棟2階",
            ],
            &[
                "千葉県流山市森のロジスティクスパーク1丁目2-3",
                "ロジスティクスセンター北棟2階",
            ],
            &[
                "千葉県流山市",
                "森のロジスティクスパーク1丁目2-3",
                "ロジスティクスセンター北棟2階",
            ],
        ],
    ),
    (
        "3300854",
        "埼玉県さいたま市大宮区桜木町1丁目7-5　ソニックシティビル20階",
        [
            &[
                "埼玉県さいたま市大宮区桜木町1丁目7-5",
                "ソニックシティビル20階",
            ],
            &[
                "埼玉県さいたま市大宮区桜木町1丁目7-5",
                "ソニックシティビル20階",
            ],
            &[
                "埼玉県さいたま市大宮区桜木町1丁目7-5",
                "ソニックシティビル20階",
            ],
        ],
    ),
    (
        "1100016",
        "東京都台東区台東5-6-3　ABCビル10F",
        [
            &["東京都台東区台東5-6-3　ABCビル10F"],
            &["東京都台東区台東5-6-3　ABCビル10F"],
            &["東京都台東区台東5-6-3　ABCビル10F"],
        ],
    ),
    (
        "2110063",
        "神奈川県川崎市中原区小杉町3丁目12-5　パークシティ武蔵小杉ミッドスカイタワー棟2801号室",
        [
            &[
                "神奈川県川崎市中原区小杉町3丁目12-5",
                "パークシティ武蔵小杉ミッドスカイタワー棟",
                "2801号室",
            ],
            &[
                "神奈川県川崎市中原区小杉町3丁目12-5",
                "パークシティ武蔵小杉ミッドスカイタワー棟",
                "2801号室",
            ],
            &[
                "神奈川県川崎市中原区小杉町3丁目12-5",
                "パークシティ武蔵小杉ミッドスカイタワー棟",
                "2801号室",
            ],
        ],
    ),
    (
        "1901212",
        "東京都西多摩郡瑞穂町殿ケ谷1234番地の5　サンハイム瑞穂ガーデンテラス東館305",
        [
            &[
                "東京都西多摩郡瑞穂町殿ケ谷1234番地の5",
                "サンハイム瑞穂ガーデンテラス東館305",
            ],
            &[
                "東京都西多摩郡瑞穂町殿ケ谷1234番地の5",
                "サンハイム瑞穂ガーデンテラス東館305",
            ],
            &[
                "東京都西多摩郡瑞穂町殿ケ谷1234番地の5",
                "サンハイム瑞穂ガーデンテラス東館305",
            ],
        ],
    ),
];

/// The lines of an address laid out in a box of the given form.
fn address_lines_in(
    fonts: &FontSet,
    (w, size, lh, h): (f32, f32, f32, f32),
    x: f32,
    postal: &str,
    address: &str,
) -> Vec<String> {
    let markup = format!(
        "<form><page><para x=\"{x}mm\" y=\"20mm\" w=\"{w}mm\" h=\"{h}mm\" line-height=\"{lh}\" \
         font-size=\"{size}pt\" fit=\"shrink\" break=\"address\" postal=\"{postal}\">{address}</para></page></form>"
    );
    let laid = lay_with(&markup, fonts).unwrap_or_else(|e| panic!("{address}: {e}"));
    lines_of(&laid.pages[0])
}

fn is_katakana(c: char) -> bool {
    ('ァ'..='ヺ').contains(&c) || c == 'ー'
}

#[test]
fn addresses_break_where_a_person_would_on_every_form() {
    let fonts = fonts();
    let digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    for (postal, address, want) in ADDRESSES {
        for (k, (form, w, size, lh, h)) in ADDRESS_BOXES.into_iter().enumerate() {
            let lines = address_lines_in(&fonts, (w, size, lh, h), 10.0, postal, address);
            let at = format!("{form}: {lines:?}");
            // Nothing lost: only the spaces at a break vanish.
            let squash = |s: &str| s.replace(['　', ' '], "");
            assert_eq!(squash(&lines.concat()), squash(address), "{at}");
            for pair in lines.windows(2) {
                let last = pair[0].chars().last().unwrap();
                let first = pair[1].chars().next().unwrap();
                assert!(
                    !kinsoku::no_line_start(first),
                    "{first} starts a line at {at}"
                );
                assert!(!(digit(last) && digit(first)), "number split at {at}");
                assert!(
                    !(is_katakana(last) && is_katakana(first)),
                    "katakana word split at {at}"
                );
            }
            // The same box elsewhere on a page gives the same lines.
            let moved = address_lines_in(&fonts, (w, size, lh, h), 60.0, postal, address);
            assert_eq!(moved, lines, "{form}: moved");
            assert_eq!(lines, want[k], "{form} {address}");
        }
    }
}

#[test]
fn addresses_keep_their_rules_at_every_width() {
    let fonts = fonts();
    let digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    let size = 9.0;
    for (postal, address, _) in ADDRESSES {
        let building = address.split_once('　').map(|(_, b)| b);
        let longest_katakana = address
            .split(|c: char| !is_katakana(c))
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(0);
        for mm in (25..=90).step_by(5) {
            let w = mm as f32;
            let markup = format!(
                "<form><page><para x=\"10mm\" y=\"10mm\" w=\"{w}mm\" font-size=\"{size}pt\" \
                 break=\"address\" postal=\"{postal}\">{address}</para></page></form>"
            );
            let laid = lay_with(&markup, &fonts).unwrap_or_else(|e| panic!("{mm}mm: {e}"));
            let lines = lines_of(&laid.pages[0]);
            let at = format!("{mm}mm: {lines:?}");
            let squash = |s: &str| s.replace(['　', ' '], "");
            assert_eq!(squash(&lines.concat()), squash(address), "{at}");
            // A katakana word that fits on a line is never split.
            let word_fits = longest_katakana as f32 * size <= w * PT_PER_MM;
            for pair in lines.windows(2) {
                let last = pair[0].chars().last().unwrap();
                let first = pair[1].chars().next().unwrap();
                assert!(
                    !kinsoku::no_line_start(first),
                    "{first} starts a line at {at}"
                );
                assert!(!(digit(last) && digit(first)), "number split at {at}");
                if word_fits {
                    assert!(
                        !(is_katakana(last) && is_katakana(first)),
                        "katakana word split at {at}"
                    );
                }
            }
            // The building starts a line when the address needs more than one.
            if let (Some(b), true) = (building, lines.len() > 1) {
                let head: String = b.chars().take(2).collect();
                assert!(lines.iter().any(|l| l.starts_with(&head)), "{at}");
            }
        }
    }
}

#[test]
fn address_breaking_is_refused_where_it_makes_no_sense() {
    let err = form::parse(
        "<form><page><para x=\"1mm\" y=\"1mm\" w=\"50mm\" postal=\"1000005\">x</para></page></form>",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("postal"), "{err}");
    let err = form::parse(
        "<form><page><para x=\"1mm\" y=\"1mm\" w=\"50mm\" break=\"word\">x</para></page></form>",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("break"), "{err}");
}
