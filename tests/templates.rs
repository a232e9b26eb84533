//! Template errors through the binary: each names the template file with
//! the line and column of the template itself (not of the rendered markup),
//! in Japanese, with the record and row it happened with, and exits 2 (the
//! README's code for template errors); a template has a budget (a capped
//! `range`, an output size, a time limit) instead of exhausting the machine.
//! (Issue 15 item 17, issue 17 items 5 and 6.)

mod common;

use common::{run_job, sample_copy, Ran};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// A copy of the zaishoku sample whose template is `templates/zaishoku.xml`
/// copied beside the job as `form.xml` and edited by `edit`.
fn with_template(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    let job = sample_copy("zaishoku", dir, |t| {
        t.replace(
            &format!(
                "\"{}\"",
                common::root().join("templates/zaishoku.xml").display()
            ),
            "\"form.xml\"",
        )
    });
    let text = std::fs::read_to_string(common::root().join("templates/zaishoku.xml")).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changes the template");
    std::fs::write(dir.join("form.xml"), edited).unwrap();
    assert!(
        std::fs::read_to_string(&job)
            .unwrap()
            .contains("\"form.xml\""),
        "the job uses the copied template"
    );
    job
}

/// The 1-based line and column of the first `needle` in `text`.
fn line_col(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).expect("needle in the template");
    let line = text[..at].matches('\n').count() + 1;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..at].chars().count() + 1)
}

fn run(dir: &Path, job: &Path) -> Ran {
    run_job(job, &dir.join("out"), &["-q"])
}

/// `chohyo run <job> --out <out> <extra…>` with `CHOHYO_TEMPLATE_SECONDS`
/// set to `seconds`: the exit code and stderr.
fn run_with_limit(job: &Path, out: &Path, seconds: &str, extra: &[&str]) -> (Option<i32>, String) {
    let o = common::chohyo()
        .args(["run", job.to_str().unwrap(), "--out"])
        .arg(out)
        .args(extra)
        .env("CHOHYO_TEMPLATE_SECONDS", seconds)
        .output()
        .unwrap();
    (o.status.code(), String::from_utf8(o.stderr).unwrap())
}

/// The place a message must give: the template file, line and column.
fn place(dir: &Path, (line, col): (usize, usize)) -> String {
    format!(
        "{} の {line}行{col}列 (line {line}, column {col})",
        dir.join("form.xml").display()
    )
}

#[test]
fn misspelled_variable_names_file_line_column_and_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = with_template(dir, |t| t.replacen("{{ name }}", "{{ nmae }}", 1));
    let text = std::fs::read_to_string(dir.join("form.xml")).unwrap();
    let Ran { code, stderr, .. } = run(dir, &job);
    assert_eq!(code, 2, "a template error exits 2: {stderr}");
    assert!(
        stderr.contains(&place(dir, line_col(&text, "{{ nmae }}"))),
        "{stderr}"
    );
    assert!(stderr.contains("変数 nmae がありません"), "{stderr}");
    // The first record of the sample is on row 3 of its sheet.
    assert!(
        stderr.contains("3行目 (record R2025-0001, row 3)"),
        "{stderr}"
    );
}

#[test]
fn markup_error_points_to_the_template_line_not_the_rendered_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // An unknown attribute on the title: the template's leading comment
    // (4 lines, trimmed away) must be counted.
    let job = with_template(dir, |t| {
        t.replacen("letter-spacing=\"0.6em\"", "letter-spacng=\"0.6em\"", 1)
    });
    let text = std::fs::read_to_string(dir.join("form.xml")).unwrap();
    let (line, _) = line_col(&text, "letter-spacng");
    let element = line_col(&text, "<text x=\"20mm\" y=\"42mm\"");
    assert_eq!(element.0, line);
    let Ran { code, stderr, .. } = run(dir, &job);
    assert_eq!(
        code, 2,
        "a markup error exits 2 as the README says: {stderr}"
    );
    assert!(stderr.contains(&place(dir, element)), "{stderr}");
    assert!(!stderr.contains("form.xml の 7行"), "{stderr}");
    assert!(stderr.contains("letter-spacng"), "{stderr}");
}

#[test]
fn filter_refusing_a_value_rejects_that_row_naming_the_template_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = with_template(dir, |t| t.replacen("{{ kana }}", "{{ kana | wareki }}", 1));
    let text = std::fs::read_to_string(dir.join("form.xml")).unwrap();
    let Ran { code, stderr, .. } = run(dir, &job);
    assert_eq!(code, 1, "the batch finishes with rejects: {stderr}");
    let rejects = common::read_rejects(&dir.join("out/zaishoku/2025-04-01/rejects.csv"));
    let refused: Vec<_> = rejects
        .iter()
        .filter(|r| &r[5] == "E_TEMPLATE_VALUE")
        .collect();
    assert!(!refused.is_empty(), "{rejects:?}");
    let want = place(dir, line_col(&text, "{{ kana | wareki }}"));
    for r in refused {
        assert!(r[2].parse::<u32>().is_ok_and(|n| n >= 3), "row: {r:?}");
        assert!(
            r[6].contains(&want) && r[6].contains("wareki: 日付ではありません"),
            "{r:?}"
        );
    }
}

#[test]
fn huge_range_is_a_template_error_not_an_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = with_template(dir, |t| {
        t.replacen(
            "<page>",
            "<page>{% for i in range(end=200000000) %}{{ i }}{% endfor %}",
            1,
        )
    });
    let text = std::fs::read_to_string(dir.join("form.xml")).unwrap();
    let Ran { code, stderr, .. } = run(dir, &job);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("range の数が多すぎます: 200000000 個 (上限 10000 個)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&place(dir, line_col(&text, "{% for i in range"))),
        "{stderr}"
    );
}

#[test]
fn output_beyond_the_budget_is_a_template_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = with_template(dir, |t| {
        t.replacen(
            "<page>",
            "<page>{% for i in range(end=10000) %}{% for j in range(end=10000) %}<!-- padding padding padding -->{% endfor %}{% endfor %}",
            1,
        )
    });
    let Ran { code, stderr, .. } = run(dir, &job);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("出力が大きすぎます: 1文書のマークアップは 16 MB までです"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&dir.join("form.xml").display().to_string()),
        "{stderr}"
    );
}

#[test]
fn a_loop_that_prints_nothing_is_stopped_by_the_time_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 10,000³ empty iterations: no output, so only the watchdog can stop
    // it (at load already, with the blank record).
    let job = with_template(dir, |t| {
        t.replacen(
            "<page>",
            "<page>{% for i in range(end=10000) %}{% for j in range(end=10000) %}{% for k in range(end=10000) %}{% endfor %}{% endfor %}{% endfor %}",
            1,
        )
    });
    let (code, stderr) = run_with_limit(&job, &dir.join("out"), "2", &["-q"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "テンプレート {} のエラー (template error): 1文書の描画が上限の 2 秒を超えました",
            dir.join("form.xml").display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("the blank record rendered at load"),
        "{stderr}"
    );
}

#[test]
fn a_time_limit_that_is_not_a_number_of_seconds_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let job = common::sample_copy("zaishoku", tmp.path(), |t| t);
    let (code, stderr) = run_with_limit(&job, &tmp.path().join("out"), "0", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("CHOHYO_TEMPLATE_SECONDS は 1〜3600 の秒数です"),
        "{stderr}"
    );
}

#[test]
fn a_record_whose_render_loops_stops_the_batch_naming_that_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The blank record tried at load has no id: only real records loop.
    let job = with_template(dir, |t| {
        t.replacen(
            "<page>",
            "<page>{% if doc.record_id != \"\" %}{% for i in range(end=10000) %}{% for j in range(end=10000) %}{% for k in range(end=10000) %}{% endfor %}{% endfor %}{% endfor %}{% endif %}",
            1,
        )
    });
    let (code, stderr) = run_with_limit(&job, &dir.join("out"), "2", &["-q", "--threads", "1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("1文書の描画が上限の 2 秒を超えました"),
        "{stderr}"
    );
    assert!(stderr.contains("(record R2025-0001, row 3)"), "{stderr}");
    let log = std::fs::read_to_string(dir.join("out/zaishoku/2025-04-01/run.log")).unwrap();
    assert!(log.contains("\"event\":\"template_time_limit\""), "{log}");
}

/// A run that must stop at load with a template error at the element
/// `element` (the start of its tag in the edited template): exit 2, the
/// template file, line and column, `what`, said once, no record named, and
/// no document written. (Issue 17 items 7 and 8.)
fn assert_fixed_error(edit: impl FnOnce(String) -> String, element: &str, what: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let job = with_template(dir, edit);
    let text = std::fs::read_to_string(dir.join("form.xml")).unwrap();
    let Ran { code, stderr, .. } = run(dir, &job);
    assert_eq!(code, 2, "a template error exits 2: {stderr}");
    assert!(
        stderr.contains(&place(dir, line_col(&text, element))),
        "{element}: {stderr}"
    );
    assert_eq!(stderr.matches(what).count(), 1, "said once: {stderr}");
    assert!(stderr.contains("どのレコードでも同じです"), "{stderr}");
    assert!(
        !stderr.contains("(record "),
        "no record is to blame: {stderr}"
    );
    let run_dir = dir.join("out/zaishoku/2025-04-01");
    assert!(
        !run_dir.join("docs").exists() || common::docs(&run_dir).is_empty(),
        "no document is rendered"
    );
    assert!(!run_dir.join("rejects.csv").exists(), "no row is rejected");
}

#[test]
fn a_fixed_label_too_wide_for_its_box_is_one_template_error_at_load() {
    // The template's own text.
    assert_fixed_error(
        |t| {
            t.replacen(
                "<text x=\"20mm\" y=\"42mm\" w=\"170mm\"",
                "<text x=\"20mm\" y=\"42mm\" w=\"20mm\"",
                1,
            )
        },
        "<text x=\"20mm\" y=\"42mm\"",
        "文字が枠に収まりません (text does not fit its <text> box)",
    );
    // A job value (the same for every record) and the issue date.
    assert_fixed_error(
        |t| {
            t.replacen(
                "<text x=\"80mm\" y=\"250mm\" w=\"78mm\"",
                "<text x=\"80mm\" y=\"250mm\" w=\"10mm\"",
                1,
            )
        },
        "<text x=\"80mm\" y=\"250mm\"",
        "文字が枠に収まりません",
    );
    assert_fixed_error(
        |t| {
            t.replacen(
                "<text x=\"30mm\" y=\"222mm\"",
                "<text x=\"30mm\" y=\"222mm\" w=\"9mm\"",
                1,
            )
        },
        "<text x=\"30mm\" y=\"222mm\"",
        "文字が枠に収まりません",
    );
}

#[test]
fn fixed_overflow_is_found_before_any_document_when_the_blank_record_cannot_render() {
    // A template the blank record of the load cannot render (a filter given
    // nothing to read): every record meets the fixed overflow, so the
    // batch stops at the first with nothing written.
    assert_fixed_error(
        |t| {
            t.replacen(
                "<page>",
                "<page>{% if doc.record_id == \"\" %}{{ \"x\" | wareki }}{% endif %}",
                1,
            )
            .replacen(
                "<text x=\"20mm\" y=\"42mm\" w=\"170mm\"",
                "<text x=\"20mm\" y=\"42mm\" w=\"20mm\"",
                1,
            )
        },
        "<text x=\"20mm\" y=\"42mm\"",
        "文字が枠に収まりません",
    );
}

/// The zaishoku template with the issue date line (30 mm, 222 mm) printing
/// the record's name in the box `attrs` instead.
fn name_at(t: String, attrs: &str) -> String {
    t.replacen(
        "<text x=\"30mm\" y=\"222mm\" font-size=\"12pt\">{{ doc.issue_date | wareki }}</text>",
        &format!("<text {attrs} font-size=\"12pt\">{{{{ name }}}}</text>"),
        1,
    )
}

/// Runs a template whose name box fits some records and not others: the
/// others are rejects with `code`, the rest documents; returns the run
/// directory's documents.
fn assert_rejects_only_the_rows_that_do_not_fit(
    dir: &Path,
    attrs: &str,
    code: &str,
) -> Vec<PathBuf> {
    let job = with_template(dir, |t| name_at(t, attrs));
    let Ran {
        code: exit, stderr, ..
    } = run(dir, &job);
    assert_eq!(exit, 1, "finished, with rejects: {stderr}");
    assert!(
        !stderr.contains("テンプレート"),
        "no template error: {stderr}"
    );
    let run_dir = dir.join("out/zaishoku/2025-04-01");
    let rejects = common::read_rejects(&run_dir.join("rejects.csv"));
    let ours: Vec<_> = rejects.iter().filter(|r| &r[5] == code).collect();
    let docs = common::docs(&run_dir);
    // 50 rows, 3 of them bad in the sample itself.
    assert!(!ours.is_empty() && !docs.is_empty(), "{rejects:?} {docs:?}");
    assert_eq!(ours.len() + docs.len(), 47, "{rejects:?}");
    for r in ours {
        assert!(r[2].parse::<u32>().is_ok_and(|n| n >= 3), "{r:?}");
    }
    docs
}

#[test]
fn a_record_value_too_wide_for_its_box_stays_a_reject_of_that_row() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = assert_rejects_only_the_rows_that_do_not_fit(
        tmp.path(),
        "x=\"30mm\" y=\"222mm\" w=\"20mm\"",
        "E_LAYOUT_OVERFLOW",
    );
    assert!(common::squash(&common::pdftotext(&docs[0], None)).contains("在職証明書"));
}

/// A word of `pdftotext -bbox` and its box (xMin, yMin, xMax, yMax).
type WordBox = (String, [f32; 4]);

/// `pdftotext -bbox` of a one-page PDF: the page's width and height and
/// each word with its box (xMin, yMin, xMax, yMax), in points.
fn word_boxes(pdf: &Path) -> ((f32, f32), Vec<WordBox>) {
    let html = common::tool(
        "pdftotext",
        [OsStr::new("-bbox"), pdf.as_os_str(), OsStr::new("-")],
    );
    let attr = |tag: &str, name: &str| -> f32 {
        let at = tag.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    let page = html.lines().find(|l| l.contains("<page ")).expect("a page");
    let size = (attr(page, "width"), attr(page, "height"));
    let words = html
        .lines()
        .filter(|l| l.contains("<word "))
        .map(|l| {
            let word = l.split('>').nth(1).unwrap().split('<').next().unwrap();
            let b = ["xMin", "yMin", "xMax", "yMax"].map(|n| attr(l, n));
            (word.to_string(), b)
        })
        .collect();
    (size, words)
}

#[test]
fn a_record_value_run_off_the_paper_is_a_reject_and_no_document_leaves_the_paper() {
    let tmp = tempfile::tempdir().unwrap();
    // No width, 17 mm from the right edge of an A4 page without margins:
    // short names fit, longer ones would run off the paper.
    let docs = assert_rejects_only_the_rows_that_do_not_fit(
        tmp.path(),
        "x=\"193mm\" y=\"222mm\"",
        "E_LAYOUT_PAPER",
    );
    // Read back independently: every word of every document is on the paper.
    for doc in &docs {
        let ((w, h), words) = word_boxes(doc);
        assert!(words.len() > 10, "{}", doc.display());
        for (word, [x0, y0, x1, y1]) in words {
            assert!(
                x0 >= 0.0 && y0 >= 0.0 && x1 <= w + 0.5 && y1 <= h + 0.5,
                "{}: {word} at {x0},{y0}–{x1},{y1} leaves the {w}×{h} page",
                doc.display()
            );
        }
    }
}

#[test]
fn nothing_fixed_is_drawn_off_the_paper() {
    let off = "が用紙の外にはみ出します (drawn outside the paper)";
    // Text without a width near the edge of a page without margins.
    assert_fixed_error(
        |t| {
            t.replacen(
                "<text x=\"20mm\" y=\"42mm\" w=\"170mm\" align=\"center\"",
                "<text x=\"160mm\" y=\"42mm\"",
                1,
            )
        },
        "<text x=\"160mm\" y=\"42mm\"",
        &format!("<text> {off}"),
    );
    // The seal.
    assert_fixed_error(
        |t| {
            t.replacen(
                "<image src=\"seal.png\" x=\"155mm\"",
                "<image src=\"seal.png\" x=\"195mm\"",
                1,
            )
        },
        "<image src=\"seal.png\"",
        &format!("<image> {off}"),
    );
    // A table wider than the paper, though its cells hold the record's data.
    assert_fixed_error(
        |t| t.replacen("columns=\"38mm 128mm\"", "columns=\"38mm 178mm\"", 1),
        "<table x=\"22mm\"",
        &format!("<table> {off}"),
    );
    // A QR code of the record's id placed off the paper: where it lies does
    // not depend on what it encodes.
    assert_fixed_error(
        |t| {
            t.replacen(
                "<line x1=",
                "<qr x=\"195mm\" y=\"250mm\" size=\"20mm\">{{ doc.record_id }}</qr>\n    <line x1=",
                1,
            )
        },
        "<qr x=\"195mm\"",
        &format!("<qr> {off}"),
    );
}

#[test]
fn a_customer_barcode_off_the_paper_stops_the_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 79.8 mm of bars from 150 mm: past the 210 mm edge.
    let job = with_template(dir, |t| {
        t.replacen(
            "<line x1=",
            "<barcode kind=\"jp-customer\" postal=\"{{ postal }}\" address=\"{{ address }}\" x=\"150mm\" y=\"10mm\"/>\n    <line x1=",
            1,
        )
    });
    let text = std::fs::read_to_string(dir.join("form.xml")).unwrap();
    let Ran { code, stderr, .. } = run(dir, &job);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("クワイエットゾーン"), "{stderr}");
    assert!(
        stderr.contains(&place(dir, line_col(&text, "<barcode "))),
        "{stderr}"
    );
}

/// The files of docs/templates.md's "A form from nothing": each fenced
/// block after a `<!-- file: NAME -->` line, by name.
fn files_in_the_docs() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(common::root().join("docs/templates.md")).unwrap();
    doc.split("<!-- file: ")
        .skip(1)
        .map(|part| {
            let (name, rest) = part.split_once(" -->\n").expect("a file marker line");
            let body = rest.split_once("\n").expect("a fence").1;
            let body = body.split_once("```\n").expect("a closing fence").0;
            (name.to_string(), body.to_string())
        })
        .collect()
}

#[test]
fn the_form_from_nothing_in_the_docs_runs_as_printed() {
    let files = files_in_the_docs();
    let names: Vec<_> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["requests.csv", "job.toml", "form.xml"]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (name, body) in &files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    // The seal, where the page says it goes.
    std::fs::create_dir(dir.join("assets")).unwrap();
    std::fs::copy(
        common::root().join("templates/assets/seal.png"),
        dir.join("assets/seal.png"),
    )
    .unwrap();
    let ran = common::run_chohyo([OsStr::new("run"), dir.join("job.toml").as_os_str()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let run_dir = dir.join("out/shomei/2025-04-01");
    let docs = common::docs(&run_dir);
    let names: Vec<_> = docs.iter().map(|d| d.file_name().unwrap()).collect();
    assert_eq!(names, ["T-001.pdf", "T-002.pdf"]);
    let want = [
        vec![
            "第1号",
            "令和7年4月1日",
            "在職証明書",
            "見本花子",
            "平成2年5月14日生（34歳）",
            "総務部人事課",
            "平成二十七年四月一日",
            "上記の者は、令和7年4月1日現在、当区に在職していることを証明します。",
            "東京都見本区長見本一郎",
        ],
        vec![
            "第2号",
            "試験太郎",
            "昭和60年11月3日生（39歳）",
            "平成二十二年十月一日",
        ],
    ];
    for (doc, want) in docs.iter().zip(want) {
        let text = common::squash(&common::pdftotext(doc, None));
        for w in want {
            assert!(text.contains(w), "{}: {w} in {text}", doc.display());
        }
        common::qpdf_check(doc);
        // The seal is the page's one image.
        let images = common::tool("pdfimages", [OsStr::new("-list"), doc.as_os_str()]);
        assert_eq!(
            images
                .lines()
                .filter(|l| l.split_whitespace().nth(2) == Some("image"))
                .count(),
            1,
            "{images}"
        );
    }
}
