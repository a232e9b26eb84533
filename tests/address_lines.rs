//! Recipient addresses through the binary: the saiyo sample's window
//! notice and its address labels (12-up and 24-up) break the long address
//! of H2025-007 where a person would — the same lines as the library's
//! address table in tests/layout.rs — and no address line on any label
//! starts with a character kinsoku forbids there (ー, small kana, …).
//! Read back with poppler's pdftotext.

mod common;

use chohyo::render::kinsoku;
use common::{pdftotext, run_job, sample_copy};
use std::path::Path;

/// H2025-007's lines: in the window and on the 12-up label (the same
/// building line, its room on its own), and on the 24-up label (the long
/// building name split between its words).
const WINDOW_AND_A12: [&str; 3] = [
    "北海道札幌市中央区北一条西2丁目1-1",
    "札幌グランドパークレジデンス北一条西タワー棟",
    "1502",
];
const A24: [&str; 3] = [
    "北海道札幌市中央区北一条西2丁目1-1",
    "札幌グランドパークレジデンス",
    "北一条西タワー棟1502",
];

/// Runs the saiyo sample with `label_stock` and returns its run directory.
fn run_saiyo(dir: &Path, stock: &str) -> std::path::PathBuf {
    let job = sample_copy("saiyo", dir, |t| {
        t.replace(
            "label_stock = \"a12\"",
            &format!("label_stock = \"{stock}\""),
        )
    });
    let out = dir.join("out");
    let ran = run_job(&job, &out, &["-q"]);
    assert_eq!(
        ran.code, 1,
        "the sample has deliberate rejects: {}",
        ran.stderr
    );
    out.join("saiyo").join("2025-03-10")
}

/// Whether `lines` appear one after the other in `text`'s lines.
fn has_lines(text: &str, lines: &[&str]) -> bool {
    let all: Vec<&str> = text.lines().map(str::trim).collect();
    all.windows(lines.len()).any(|w| w == lines)
}

#[test]
fn the_long_address_breaks_the_same_way_on_the_notice_and_the_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_saiyo(tmp.path(), "a12");
    let notice = pdftotext(&run.join("docs/H2025-007.pdf"), Some(1));
    assert!(has_lines(&notice, &WINDOW_AND_A12), "{notice}");
    let labels = pdftotext(&run.join("labels-00001-00028.pdf"), None);
    assert!(has_lines(&labels, &WINDOW_AND_A12), "{labels}");

    let tmp24 = tempfile::tempdir().unwrap();
    let run24 = run_saiyo(tmp24.path(), "a24");
    let labels24 = pdftotext(&run24.join("labels-00001-00028.pdf"), None);
    assert!(has_lines(&labels24, &A24), "{labels24}");
    for text in [&labels, &labels24] {
        for line in text.lines() {
            if let Some(first) = line.trim().chars().next() {
                assert!(!kinsoku::no_line_start(first), "{line:?} in\n{text}");
            }
        }
    }
}
