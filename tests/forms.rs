//! The bundled forms: each renders from its sample with only the deliberate
//! rejects, passes `qpdf --check` and carries its key texts (pdftotext); the
//! 採用通知書 recipient block lies inside the envelope window; the label sheet
//! matches its stock's pitch and margins; the dispatch list paginates.
//!
//! Per-record forms run through the real binary. The per-batch forms
//! (labels, dispatch list) are rendered through the library with the
//! per-batch context built here, until the batch driver supports them.
//! Set `CHOHYO_FORMS_OUT=<dir>` to keep the per-batch PDFs (for docs/forms).

mod common;

use chohyo::check::Record;
use chohyo::job::Job;
use chohyo::pdf;
use chohyo::render::page::{Op, Page, PT_PER_MM};
use chohyo::render::{form, layout, template::Template};
use chohyo::run::{self, Assets};
use common::{docs, pdftotext, qpdf_check, root, sample_job, squash};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Runs `chohyo run <job> --out <tmp>`; returns (exit code, run dir, stderr).
fn run(form: &str, out: &Path) -> (i32, PathBuf, String) {
    let job = Job::load(&sample_job(form)).expect("job loads");
    let r = common::run_job(&sample_job(form), out, &[]);
    (
        r.code,
        out.join(&job.job.name).join(&job.batch.issue_date),
        r.stderr,
    )
}

/// Reject codes with their rows, in file order.
fn rejects(dir: &Path) -> Vec<(String, String)> {
    common::read_rejects(&dir.join("rejects.csv"))
        .iter()
        .map(|r| (r[2].to_string(), r[5].to_string()))
        .collect()
}

/// Checks a per-record form's batch: documents, rejects, qpdf, key texts.
fn check_batch(form: &str, docs_expected: usize, reject_rows: &[(&str, &str)], texts: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let (code, dir, stderr) = run(form, tmp.path());
    assert_eq!(code, 1, "finished with rejects: {stderr}");
    let pdfs = docs(&dir);
    assert_eq!(pdfs.len(), docs_expected, "{stderr}");
    let got = rejects(&dir);
    let want: Vec<(String, String)> = reject_rows
        .iter()
        .map(|(r, c)| (r.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want, "{stderr}");
    for p in [&pdfs[0], &pdfs[pdfs.len() / 2], &pdfs[pdfs.len() - 1]] {
        qpdf_check(p);
    }
    let text = squash(&pdftotext(&pdfs[0], None));
    for t in texts {
        assert!(text.contains(&squash(t)), "{form}: {t} missing in\n{text}");
    }
}

#[test]
fn shuro_renders_all_but_the_bad_rows() {
    check_batch(
        "shuro",
        27,
        &[
            ("11", "E_REQUIRED"),
            ("19", "E_NOT_ALLOWED"),
            ("26", "E_DATE_INVALID"),
        ],
        &[
            "就労証明書",
            "見本区長 殿",
            "証明日 令和7年4月15日",
            "■公務",
            "□農業・林業",
            "■正社員",
            "□パート・アルバイト",
            "令和7年1月",
            "保護者記載欄",
        ],
    );
}

#[test]
fn saiyo_renders_all_but_the_bad_rows() {
    check_batch(
        "saiyo",
        28,
        &[("13", "E_POSTAL_FORMAT"), ("24", "E_REQUIRED")],
        &[
            "採用通知書",
            "採用することに決定しましたので通知します",
            "採用年月日 令和7年4月1日",
            "東京都見本区長",
            "持参書類",
        ],
    );
}

#[test]
fn kyuyo_renders_all_but_the_bad_rows() {
    check_batch(
        "kyuyo",
        22,
        &[("8", "E_REQUIRED"), ("17", "E_NUMBER")],
        &[
            "給与支払証明書",
            "令和6年4月",
            "令和7年3月",
            "合計",
            "上記のとおり給与を支払ったことを証明します。",
        ],
    );
}

/// Loads a job, its assets and its checked records.
fn load(form: &str) -> (Job, Assets, Vec<Record>) {
    let job = Job::load(&sample_job(form)).unwrap();
    let assets = Assets::load(&job, None).unwrap();
    let checked = run::read_and_check(&job, None, None).unwrap();
    (job, assets, checked.records)
}

/// Renders a per-record document to laid-out pages.
fn lay_out_record(job: &Job, assets: &Assets, rec: &Record, number: u64) -> Vec<Page> {
    let markup = assets
        .template
        .render(&run::context(job, rec, number))
        .unwrap();
    let f = form::parse(&markup).unwrap_or_else(|e| panic!("{e}\n{markup}"));
    layout::layout(&f, &assets.fonts, &assets.images)
        .unwrap()
        .pages
}

fn num(v: &Value) -> f32 {
    v.as_f64().unwrap() as f32
}

#[test]
fn saiyo_recipient_block_lies_inside_the_window() {
    let (job, assets, records) = load("saiyo");
    let env = &serde_json::to_value(&job.values).unwrap()["envelope"];
    let (wx, wy, ww, wh, margin) = (
        num(&env["x_mm"]),
        num(&env["y_mm"]),
        num(&env["w_mm"]),
        num(&env["h_mm"]),
        num(&env["margin_mm"]),
    );
    // The window shrunk by the safety margin, in points (tolerance 0.05 mm).
    let tol = 0.05;
    let inner = (
        (wx + margin - tol) * PT_PER_MM,
        (wy + margin - tol) * PT_PER_MM,
        (wx + ww - margin + tol) * PT_PER_MM,
        (wy + wh - margin + tol) * PT_PER_MM,
    );
    assert!(records.len() >= 20);
    let mut three_line = 0;
    for (i, rec) in records.iter().enumerate() {
        let pages = lay_out_record(&job, &assets, rec, i as u64 + 1);
        let mut inside = String::new();
        let mut lines_inside = std::collections::BTreeSet::new();
        for op in &pages[0].ops {
            let Op::Text(run) = op else { continue };
            for g in &run.glyphs {
                let font = assets.fonts.font(run.font);
                let right = g.x + font.advance(g.gid) * run.size;
                let top = run.baseline - font.ascent() * run.size;
                let bottom = run.baseline - font.descent() * run.size;
                // The customer-barcode band under the block stays empty.
                let band = (
                    (wy + margin + 32.0) * PT_PER_MM,
                    (wy + margin + 38.0) * PT_PER_MM,
                );
                let in_band_x = right > inner.0 && g.x < inner.2;
                assert!(
                    !(in_band_x && bottom > band.0 && top < band.1),
                    "{}: glyph {} in the barcode band",
                    rec.id,
                    g.text
                );
                if g.x >= inner.0 && right <= inner.2 && top >= inner.1 && bottom <= inner.3 {
                    inside.push_str(&g.text);
                    lines_inside.insert((run.baseline * 10.0) as i64);
                }
            }
        }
        let inside = squash(&inside);
        let field = |k: &str| rec.fields[k].as_str().unwrap().to_string();
        let want_postal = format!("〒{}", field("postal"));
        assert!(inside.contains(&want_postal), "{}: {inside}", rec.id);
        assert!(
            inside.contains(&squash(&field("address"))),
            "{}: address not wholly inside the window: {inside}",
            rec.id
        );
        let honor = match field("honorific").as_str() {
            "" => "様".to_string(),
            h => h.to_string(),
        };
        assert!(
            inside.contains(&squash(&format!("{}{honor}", field("name")))),
            "{}: name not inside the window: {inside}",
            rec.id
        );
        if lines_inside.len() >= 5 {
            three_line += 1;
        }
    }
    // The long sample address takes three lines and still fits.
    assert!(three_line >= 1);
}

/// The per-batch context: records with their doc numbers, values, batch
/// and volume.
fn batch_context(job: &Job, records: &[Record], values: Value) -> Value {
    let recs: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut m = serde_json::Map::new();
            for (k, v) in &r.fields {
                m.insert(k.clone(), v.clone());
            }
            m.insert(
                "doc".into(),
                json!({"number": job.batch.number_start + i as u64, "record_id": r.id}),
            );
            Value::Object(m)
        })
        .collect();
    json!({
        "records": recs,
        "values": values,
        "batch": {"issue_date": job.batch.issue_date, "count": records.len(), "kind": job.job.title},
        // The whole batch as one volume, as a run writes a batch smaller
        // than `[mail] volume_size`.
        "volume": {"number": 1, "count": 1, "group": "all", "first": 1, "last": records.len(), "offset": 0, "size": records.len()},
    })
}

/// Renders a per-batch template; writes the PDF (to CHOHYO_FORMS_OUT if set)
/// and returns the pages and the PDF path.
fn render_batch_form(
    template: &str,
    ctx: &Value,
    assets: &Assets,
    out: &Path,
    name: &str,
) -> (Vec<Page>, PathBuf) {
    let t = Template::load(&root().join("templates").join(template)).unwrap();
    let markup = t.render(ctx).unwrap_or_else(|e| panic!("{e}"));
    let f = form::parse(&markup).unwrap_or_else(|e| panic!("{e}\n{markup}"));
    let laid = layout::layout(&f, &assets.fonts, &assets.images).unwrap_or_else(|e| panic!("{e}"));
    let info = pdf::DocInfo {
        title: name.into(),
        created: "20250310000000".into(),
    };
    let bytes = pdf::write_pdf(&laid.pages, &assets.fonts, &assets.images, &info).unwrap();
    let dir = std::env::var_os("CHOHYO_FORMS_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| out.to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, bytes).unwrap();
    (laid.pages, path)
}

#[test]
fn labels_sit_on_the_stock_grid() {
    let (job, assets, records) = load("saiyo");
    let tmp = tempfile::tempdir().unwrap();
    for (stock, start) in [("a12", 3_i64), ("a24", 1), ("a24", 20)] {
        let mut values = serde_json::to_value(&job.values).unwrap();
        values["label_stock"] = json!(stock);
        values["label_start"] = json!(start);
        values["label_outline"] = json!(true);
        let st = values["label_stocks"][stock].clone();
        let (cols, rows) = (
            st["columns"].as_i64().unwrap(),
            st["rows"].as_i64().unwrap(),
        );
        let per = cols * rows;
        let ctx = batch_context(&job, &records, values);
        let name = format!("labels_{stock}_from{start}");
        let (pages, pdf_path) = render_batch_form("labels.xml", &ctx, &assets, tmp.path(), &name);
        let slots = start - 1 + records.len() as i64;
        assert_eq!(pages.len() as i64, (slots + per - 1) / per, "{name}");
        let mut k = start - 1;
        for page in &pages {
            let rects: Vec<(f32, f32, f32, f32)> = page
                .ops
                .iter()
                .filter_map(|op| match op {
                    Op::Rect { x, y, w, h, .. } => Some((*x, *y, *w, *h)),
                    _ => None,
                })
                .collect();
            for (x, y, w, h) in rects {
                let pos = k % per;
                let (c, r) = (pos % cols, pos / cols);
                let want_x = num(&st["left_mm"]) + c as f32 * num(&st["pitch_x_mm"]);
                let want_y = num(&st["top_mm"]) + r as f32 * num(&st["pitch_y_mm"]);
                let mm = |v: f32| v / PT_PER_MM;
                assert!(
                    (mm(x) - want_x).abs() < 0.2,
                    "{name} label {k}: x {}",
                    mm(x)
                );
                assert!(
                    (mm(y) - want_y).abs() < 0.2,
                    "{name} label {k}: y {}",
                    mm(y)
                );
                assert!((mm(w) - num(&st["w_mm"])).abs() < 0.2);
                assert!((mm(h) - num(&st["h_mm"])).abs() < 0.2);
                k += 1;
            }
            // Every glyph stays on a label (no run spills past an edge).
            for op in &page.ops {
                if let Op::Text(run) = op {
                    for g in &run.glyphs {
                        let inside = (0..per).any(|pos| {
                            let (c, r) = (pos % cols, pos / cols);
                            let lx = (num(&st["left_mm"]) + c as f32 * num(&st["pitch_x_mm"]))
                                * PT_PER_MM;
                            let ly = (num(&st["top_mm"]) + r as f32 * num(&st["pitch_y_mm"]))
                                * PT_PER_MM;
                            g.x >= lx
                                && g.x + run.size * 0.5 <= lx + num(&st["w_mm"]) * PT_PER_MM
                                && run.baseline - run.size * 0.9 >= ly
                                && run.baseline <= ly + num(&st["h_mm"]) * PT_PER_MM
                        });
                        assert!(inside, "{name}: glyph {} off every label", g.text);
                    }
                }
            }
        }
        assert_eq!(k, slots, "{name}: one label per record");
        qpdf_check(&pdf_path);
        let text = squash(&pdftotext(&pdf_path, None));
        for r in &records {
            assert!(
                text.contains(&squash(r.fields["name"].as_str().unwrap())),
                "{name}: {}",
                r.id
            );
        }
    }
}

#[test]
fn dispatch_list_paginates_with_subtotals() {
    let (job, assets, records) = load("saiyo");
    let tmp = tempfile::tempdir().unwrap();
    // The job's own rows per page (25), and 12 to get a short last page.
    for per in [25_usize, 12] {
        let mut values = serde_json::to_value(&job.values).unwrap();
        values["dispatch_rows_per_page"] = json!(per);
        let ctx = batch_context(&job, &records, values);
        let name = format!("dispatch_{per}");
        let (pages, path) = render_batch_form("dispatch.xml", &ctx, &assets, tmp.path(), &name);
        let n = records.len();
        assert_eq!(pages.len(), n.div_ceil(per), "{name}");
        qpdf_check(&path);
        let text = pdftotext(&path, None);
        let per_page: Vec<String> = text.split('\u{c}').map(squash).collect();
        for (p, page_text) in per_page.iter().take(pages.len()).enumerate() {
            let on_page = (n - p * per).min(per);
            let cumulative = (p * per + on_page).to_string();
            assert!(
                page_text.contains(&format!("この頁{on_page}件累計{cumulative}件/全{n}件")),
                "{name} page {}: {page_text}",
                p + 1
            );
            assert_eq!(
                page_text.matches('□').count(),
                on_page,
                "{name} page {}",
                p + 1
            );
            assert_eq!(
                page_text.contains(&format!("総計{n}件")),
                p + 1 == pages.len()
            );
        }
        // Every document in order, each once.
        let all = squash(&text);
        let mut last = 0;
        for r in &records {
            let at = all[last..].find(&r.id).map(|i| i + last);
            assert!(at.is_some(), "{name}: {} missing or out of order", r.id);
            last = at.unwrap();
        }
        assert_eq!(
            all.matches("H2025-").count(),
            n,
            "{name}: each document once"
        );
    }
}
