//! The counts a run gives add up and are the same on stderr, in
//! `summary.json` and in `report.html`; `report.html`, opened in headless
//! Chromium, shows what ran, every reject with how to fix it, and links
//! only to files that exist (issue 17, items 11 and 12).
//!
//! Every bundled sample is run through the binary; the page is read as the
//! browser builds it (`--dump-dom`) and as it prints (`--print-to-pdf`,
//! read back with pdfinfo and pdftotext).

mod common;

use common::{read_json, read_rejects, run_job, sample_job, squash, Ran};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The counts as users read them: `summary.json` key and the Japanese
/// label stderr and the page print before the figure.
const LABELS: [(&str, &str); 10] = [
    ("rows_read", "読み込んだ行"),
    ("rows_accepted", "受け付けた行"),
    ("rows_rejected", "不備で除いた行"),
    ("joined_rows_rejected", "不備のある結合シートの行"),
    ("documents", "出力した文書"),
    ("documents_skipped", "既発行のため発行せず"),
    ("documents_voided", "欠番"),
    ("pages", "ページ"),
    ("rejects", "不備の件数"),
    ("warnings", "警告"),
];

/// Documents of this execution (in `summary.json`'s `timing`).
const THIS_RUN: [(&str, &str); 2] = [
    ("documents_issued", "今回出力した文書"),
    ("documents_reused", "前回の実行で出力済みの文書"),
];

/// `label figure` pairs of the run's stderr, by label.
fn stderr_figures(stderr: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for seg in stderr.split(['、', '（', '）', '\n']) {
        let seg = seg.trim();
        let seg = seg.strip_prefix("chohyo:").unwrap_or(seg).trim();
        let seg = seg.split(" (").next().unwrap_or("");
        if let Some((label, n)) = seg.rsplit_once(' ') {
            if let Ok(n) = n.parse::<u64>() {
                out.insert(label.to_string(), n);
            }
        }
    }
    out
}

/// The figure in the element with id `id` of the page (`id="x">12<`).
fn dom_figure(dom: &str, id: &str) -> Option<u64> {
    let at = dom.find(&format!("id=\"{id}\">"))? + id.len() + 6;
    dom[at..].split('<').next()?.trim().parse().ok()
}

/// The text of an HTML fragment: tags removed, entities decoded.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Every `href` of the page.
fn links(dom: &str) -> Vec<String> {
    dom.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

/// The cells' texts of each reject row of the page's table.
fn reject_rows(dom: &str) -> Vec<Vec<String>> {
    dom.split("<tr class=\"reject\">")
        .skip(1)
        .map(|row| {
            let row = row.split("</tr>").next().unwrap();
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let cell = &cell[cell.find('>').unwrap() + 1..];
                    text_of(&cell.replace("<br>", " "))
                })
                .collect()
        })
        .collect()
}

/// Every `file` the summary's delivery section names.
fn delivery_files(delivery: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(sections) = delivery.as_object() {
        for v in sections.values() {
            for item in v.as_array().into_iter().flatten() {
                if let Some(f) = item.get("file").and_then(|f| f.as_str()) {
                    out.push(f.to_string());
                }
            }
        }
    }
    out
}

/// Asserts the sums and that stderr, `summary.json` and the page agree;
/// returns the summary.
fn assert_counts(sample: &str, ran: &Ran, run_dir: &Path, dom: &str) -> Value {
    let summary = read_json(&run_dir.join("summary.json"));
    let c = &summary["counts"];
    let n = |k: &str| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("{sample}: summary.json counts.{k}: {c}"))
    };
    let t = |k: &str| summary["timing"][k].as_u64().unwrap();
    assert_eq!(
        n("rows_read"),
        n("rows_accepted") + n("rows_rejected"),
        "{sample}: rows read = accepted + rejected: {c}"
    );
    assert_eq!(
        n("rows_accepted"),
        n("documents") + n("documents_skipped") + n("documents_voided"),
        "{sample}: accepted = documents + skipped + voided: {c}"
    );
    assert_eq!(
        n("documents"),
        t("documents_issued") + t("documents_reused"),
        "{sample}: documents = issued + reused: {}",
        summary["timing"]
    );
    let said = stderr_figures(&ran.stderr);
    for (key, label) in LABELS {
        assert_eq!(
            said.get(label),
            Some(&n(key)),
            "{sample}: stderr's {label} is summary.json's {key}:\n{}",
            ran.stderr
        );
        assert_eq!(dom_figure(dom, key), Some(n(key)), "{sample}: page's {key}");
    }
    for (key, label) in THIS_RUN {
        assert_eq!(said.get(label), Some(&t(key)), "{sample}: {}", ran.stderr);
        assert_eq!(dom_figure(dom, key), Some(t(key)), "{sample}: page's {key}");
    }
    summary
}

/// Checks the counts against the files themselves: documents in `docs/`
/// and the manifest, rejected rows in `rejects.csv` (main sheet and joined
/// sheets apart).
fn assert_counts_match_files(sample: &str, run_dir: &Path, summary: &Value) {
    let c = &summary["counts"];
    let manifest = read_json(&run_dir.join("manifest.json"));
    let docs = manifest["documents"].as_array().unwrap();
    assert_eq!(c["documents"], docs.len(), "{sample}");
    assert_eq!(common::docs(run_dir).len(), docs.len(), "{sample}");
    let main_sheet = docs[0]["source_sheet"].as_str().unwrap();
    let rejects = read_rejects(&run_dir.join("rejects.csv"));
    assert_eq!(c["rejects"], rejects.len(), "{sample}");
    let voided: BTreeSet<String> = summary["voids"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["row"].to_string())
        .collect();
    let main: BTreeSet<&str> = rejects
        .iter()
        .filter(|r| &r[1] == main_sheet && !voided.contains(&r[2]))
        .map(|r| &r[2])
        .collect();
    let joined: BTreeSet<(&str, &str)> = rejects
        .iter()
        .filter(|r| &r[1] != main_sheet)
        .map(|r| (&r[1], &r[2]))
        .collect();
    assert_eq!(c["rows_rejected"], main.len(), "{sample}");
    assert_eq!(c["joined_rows_rejected"], joined.len(), "{sample}");
}

/// The page shows what ran and every reject, with a hint, and links only
/// to files that exist — every delivery output among them.
fn assert_page(sample: &str, run_dir: &Path, dom: &str, summary: &Value) {
    let text = text_of(dom);
    let input_hash = summary["inputs"]["input"].as_str().unwrap();
    for shown in [
        input_hash,
        summary["input_file"].as_str().unwrap(),
        summary["version"].as_str().unwrap(),
        summary["batch"].as_str().unwrap(),
        summary["issue_date"].as_str().unwrap(),
        "準備（フォント・画像・テンプレートの読み込み）",
        "文書の作成",
    ] {
        assert!(text.contains(shown), "{sample}: the page shows {shown}");
    }
    let rejects = read_rejects(&run_dir.join("rejects.csv"));
    let rows = reject_rows(dom);
    assert_eq!(rows.len(), rejects.len(), "{sample}: one row per reject");
    for (r, cells) in rejects.iter().zip(&rows) {
        // ファイル・シート, 行, 列, 値, コード, 理由, 直し方
        assert_eq!(cells[0], format!("{} {}", &r[0], &r[1]), "{sample}");
        assert_eq!((&cells[1][..], &cells[2][..]), (&r[2], &r[3]), "{sample}");
        assert_eq!(cells[4], r[5], "{sample}");
        assert!(!cells[5].is_empty() && !cells[6].is_empty(), "{cells:?}");
        if r[4].trim().chars().count() >= 4 {
            assert!(
                !cells.concat().contains(&r[4]),
                "{sample}: value {:?} shown in {cells:?}",
                &r[4]
            );
        }
    }
    let hrefs = links(dom);
    assert!(hrefs.len() >= 5, "{sample}: {hrefs:?}");
    for h in &hrefs {
        assert!(
            !h.contains(':') && !h.starts_with('/') && !h.contains(".."),
            "{sample}: link {h} leaves the run directory"
        );
        assert!(run_dir.join(h).exists(), "{sample}: link {h} has no file");
    }
    for f in delivery_files(&summary["delivery"]) {
        let name = Path::new(&f).file_name().unwrap().to_str().unwrap();
        assert!(
            hrefs.iter().any(|h| h.ends_with(name)),
            "{sample}: delivery output {f} has a link: {hrefs:?}"
        );
    }
}

#[test]
fn every_sample_s_counts_add_up_and_agree_on_stderr_summary_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let mut delivered = 0;
    for sample in ["zaishoku", "shuro", "saiyo", "kyuyo", "checks"] {
        let out = tmp.path().join(sample);
        let ran = run_job(&sample_job(sample), &out, &[]);
        assert!(ran.code <= 1, "{sample} exits {}: {}", ran.code, ran.stderr);
        let run_dir = only_run_dir(&out.join(sample));
        let report = run_dir.join("report.html");
        let dom = common::chromium(&report, &["--dump-dom"]);
        let summary = assert_counts(sample, &ran, &run_dir, &dom);
        assert_counts_match_files(sample, &run_dir, &summary);
        assert_page(sample, &run_dir, &dom, &summary);
        delivered += delivery_files(&summary["delivery"]).len();
    }
    assert!(
        delivered >= 4,
        "saiyo's packages, print file, labels, dispatch"
    );
}

/// The one batch folder of a job's output folder.
fn only_run_dir(job_dir: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(job_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// The checks sample, whose joined sheet has bad rows: they are counted
/// as joined rows, not as rows read (issue 17: "rows read 23, documents 3,
/// rejected rows 24").
#[test]
fn joined_sheet_rows_are_counted_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = run_job(&sample_job("checks"), tmp.path(), &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let summary = read_json(&tmp.path().join("checks/2025-04-01/summary.json"));
    let c = &summary["counts"];
    assert_eq!(
        (
            &c["rows_read"],
            &c["rows_accepted"],
            &c["rows_rejected"],
            &c["joined_rows_rejected"]
        ),
        (&23.into(), &3.into(), &20.into(), &4.into()),
        "{c}"
    );
    assert!(
        ran.stderr.contains(
            "読み込んだ行 23、受け付けた行 3、不備で除いた行 20、不備のある結合シートの行 4"
        ),
        "{}",
        ran.stderr
    );
}

/// A record refused at layout is a void, not a document issued now
/// ("35 件を出力（今回 40 件）"); a resumed batch reuses its documents
/// and says so, with the same counts.
#[test]
fn voids_and_reused_documents_are_counted_where_they_belong() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(common::root().join("samples/zaishoku/requests_cp932.csv")).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Two purposes far too long for their box: found only at layout.
    for i in [2, 5] {
        let (rest, _) = lines[i].rsplit_once(',').unwrap();
        lines[i] = format!("{rest},{}", "長い提出先".repeat(400));
    }
    let input = tmp.path().join("in.csv");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = tmp.path().join("out");
    let args = ["--input", input.to_str().unwrap()];
    let ran = run_job(&sample_job("zaishoku"), &out, &args);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let run_dir = out.join("zaishoku/2025-04-01");
    let dom = common::chromium(&run_dir.join("report.html"), &["--dump-dom"]);
    let first = assert_counts("voids", &ran, &run_dir, &dom);
    assert_eq!(first["counts"]["documents_voided"], 2, "{first}");
    assert_eq!(first["counts"]["documents"], 45, "{first}");
    assert_eq!(first["timing"]["documents_issued"], 45, "{first}");
    let said = stderr_figures(&ran.stderr);
    assert_eq!(said["今回出力した文書"], 45, "{}", ran.stderr);

    // Unfinished again (its finished mark removed): the next run reuses
    // every document.
    std::fs::remove_file(run_dir.join("summary.json")).unwrap();
    let again = run_job(&sample_job("zaishoku"), &out, &args);
    assert_eq!(again.code, 1, "{}", again.stderr);
    let dom = common::chromium(&run_dir.join("report.html"), &["--dump-dom"]);
    let second = assert_counts("resumed", &again, &run_dir, &dom);
    assert_eq!(second["counts"], first["counts"]);
    assert_eq!(second["timing"]["documents_issued"], 0, "{second}");
    assert_eq!(second["timing"]["documents_reused"], 45, "{second}");
}

/// The page prints on A4 with its counts and input hash readable.
#[test]
fn report_prints_on_a4() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = run_job(&sample_job("saiyo"), tmp.path(), &[]);
    assert!(ran.code <= 1, "{}", ran.stderr);
    let run_dir = tmp.path().join("saiyo/2025-03-10");
    let pdf = tmp.path().join("report.pdf");
    common::chromium(
        &run_dir.join("report.html"),
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
        ],
    );
    let info = common::tool("pdfinfo", [&pdf]);
    assert!(info.contains("(A4)"), "{info}");
    let printed = squash(&common::pdftotext(&pdf, None));
    let summary = read_json(&run_dir.join("summary.json"));
    for shown in [
        "件数(counts)".to_string(),
        format!(
            "読み込んだ行{}=受け付けた行",
            summary["counts"]["rows_read"]
        ),
        summary["inputs"]["input"].as_str().unwrap().to_string(),
        "郵便番号を7桁の数字で入力".to_string(),
    ] {
        assert!(printed.contains(&shown), "printed page shows {shown}");
    }
}
