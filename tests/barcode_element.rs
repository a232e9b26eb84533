//! The `<barcode kind="jp-customer">` element: it draws the 67 bars where the
//! markup says for a known address, leaves them out (with a warning unless
//! `on-error="omit"`) when no barcode can be made — layout never rejects for
//! the address, the check stage does — keeps its quiet zone inside the
//! page; the `customer_barcode` template function; `doc.doc_id` in the
//! context; and the 採用通知書 sample with barcodes inside the envelope
//! window, through the library and through the binary (`qpdf --check`).

mod common;

use chohyo::japan::barcode::{self, BAR_COUNT, QUIET_ZONE_MM};
use chohyo::job::Job;
use chohyo::mail::docid;
use chohyo::render::fonts::FontSet;
use chohyo::render::form;
use chohyo::render::image::ImageSet;
use chohyo::render::layout::{self, Laid, LayoutError};
use chohyo::render::page::{Op, Page, PT_PER_MM};
use chohyo::render::template::Template;
use chohyo::run::{self, Assets};
use common::{root, sample_job};
use serde_json::{json, Value};
use std::path::Path;

fn fonts() -> FontSet {
    FontSet::load(&FontSet::default_slots(&root().join("fonts"))).unwrap()
}

fn lay(markup: &str) -> Result<Laid, LayoutError> {
    let f = form::parse(markup).unwrap_or_else(|e| panic!("{e}"));
    layout::layout(&f, &fonts(), &ImageSet::default())
}

/// Filled rectangles (bars) of a page: (x, y, w, h) in points.
fn rects(page: &Page) -> Vec<(f32, f32, f32, f32)> {
    page.ops
        .iter()
        .filter_map(|op| match op {
            Op::Rect {
                x,
                y,
                w,
                h,
                fill: Some(_),
                ..
            } => Some((*x, *y, *w, *h)),
            _ => None,
        })
        .collect()
}

const ADDRESS: &str = "千葉県千葉市稲毛区緑町3丁目30-8　郵便ビル403号";

/// The representative code of 千葉市稲毛区 with 住所B only (with the full
/// address, the postal table already reports that the code is not 緑町's).
fn representative(extra: &str) -> String {
    format!(
        "<form size=\"A4\"><page><barcode kind=\"jp-customer\" postal=\"2630000\" address-b=\"3丁目30-8　郵便ビル403号\" x=\"30mm\" y=\"50mm\"{extra}/></page></form>"
    )
}

fn element(postal: &str, address: &str, extra: &str) -> String {
    format!(
        "<form size=\"A4\"><page><barcode kind=\"jp-customer\" postal=\"{postal}\" address=\"{address}\" x=\"30mm\" y=\"50mm\"{extra}/></page></form>"
    )
}

#[test]
fn known_address_draws_67_bars_in_place() {
    let laid = lay(&element("2630023", ADDRESS, "")).unwrap();
    assert!(laid.warnings.is_empty());
    let bars = rects(&laid.pages[0]);
    assert_eq!(bars.len(), BAR_COUNT);
    // Same bars as the encoder's, at 10 pt: pitch 1.2 mm, width 0.6 mm,
    // long bars 3.6 mm from the element's y.
    let code = barcode::encode("2630023", "3丁目30-8　郵便ビル403号").unwrap();
    assert_eq!(
        code.data_string(),
        "STC 2 6 3 0 0 2 3 3 - 3 0 - 8 - 4 0 3 CC4 CC4 CC4 5 SPC"
    );
    let mm = |v: f32| v / PT_PER_MM;
    for (i, (&(x, y, w, h), bar)) in bars.iter().zip(&code.bars).enumerate() {
        assert!((mm(x) - (30.0 + 1.2 * i as f32)).abs() < 0.01, "bar {i} x");
        assert!((mm(w) - 0.6).abs() < 0.01, "bar {i} w");
        let (top, bottom) = bar.units();
        assert!((mm(y) - (50.0 + 0.6 * f32::from(top))).abs() < 0.01);
        assert!((mm(h) - 0.6 * f32::from(bottom - top)).abs() < 0.01);
    }
    let (x_last, _, w_last, _) = bars[BAR_COUNT - 1];
    assert!((mm(x_last + w_last) - 30.0 - 79.8).abs() < 0.01);
    // Smaller point size scales the symbol.
    let laid = lay(&element("2630023", ADDRESS, " size=\"8pt\"")).unwrap();
    let bars = rects(&laid.pages[0]);
    assert!((mm(bars[1].0 - bars[0].0) - 0.96).abs() < 0.01);
}

#[test]
fn address_b_only_is_encoded_unchecked() {
    let m = "<form size=\"A4\"><page><barcode kind=\"jp-customer\" postal=\"263-0023\" address-b=\"3丁目30-8　郵便ビル403号\" x=\"30mm\" y=\"50mm\"/></page></form>";
    assert_eq!(rects(&lay(m).unwrap().pages[0]).len(), BAR_COUNT);
}

/// The one warning of a layout that left its barcode out.
fn left_out(markup: &str) -> String {
    let laid = lay(markup).unwrap_or_else(|e| panic!("{e}"));
    assert!(rects(&laid.pages[0]).is_empty());
    assert_eq!(laid.warnings.len(), 1, "{:?}", laid.warnings);
    laid.warnings[0].clone()
}

#[test]
fn layout_never_rejects_for_the_address_it_leaves_the_barcode_out() {
    // The default on-error ("reject") is the check stage's business (the
    // row is rejected before it has a number); a record that reaches
    // layout anyway gets no barcode and a warning.
    let msg = left_out(&representative(""));
    assert!(msg.contains("代表郵便番号"), "{msg}");
    // No personal data in the warning.
    assert!(
        !msg.contains("263") && !msg.contains("緑町") && !msg.contains("30-8"),
        "{msg}"
    );
    // A postal code of another town: the warning names neither.
    let msg = left_out(&element("1530051", ADDRESS, ""));
    assert!(msg.contains("一致しません"), "{msg}");
    assert!(
        !msg.contains("153") && !msg.contains("目黒") && !msg.contains("緑町"),
        "{msg}"
    );
    // No address number at all.
    let msg = left_out(&element("2630023", "千葉県千葉市稲毛区緑町", ""));
    assert!(msg.contains("カスタマバーコード"), "{msg}");
}

#[test]
fn warn_mode_warns_and_draws_nothing_omit_is_silent() {
    let laid = lay(&representative(" on-error=\"warn\"")).unwrap();
    assert!(rects(&laid.pages[0]).is_empty());
    assert_eq!(laid.warnings.len(), 1);
    assert!(
        laid.warnings[0].contains("代表郵便番号"),
        "{:?}",
        laid.warnings
    );
    let laid = lay(&representative(" on-error=\"omit\"")).unwrap();
    assert!(rects(&laid.pages[0]).is_empty());
    assert!(laid.warnings.is_empty());
    // A good address in warn mode draws normally.
    let laid = lay(&element("2630023", ADDRESS, " on-error=\"warn\"")).unwrap();
    assert_eq!(rects(&laid.pages[0]).len(), BAR_COUNT);
    assert!(laid.warnings.is_empty());
}

#[test]
fn quiet_zone_must_fit_page_and_margins() {
    // 1 mm from the left edge: the 2 mm quiet zone leaves the page.
    let m = element("2630023", ADDRESS, "").replace("x=\"30mm\"", "x=\"1mm\"");
    let e = lay(&m).unwrap_err();
    assert_eq!(e.code(), "E_TEMPLATE_BARCODE");
    assert!(!e.is_data_error());
    // Bars inside a 10 mm margin but the quiet zone not.
    let m = "<form size=\"A4\" margin=\"10mm\"><page><barcode kind=\"jp-customer\" postal=\"2630023\" address=\"千葉県千葉市稲毛区緑町3丁目30-8\" x=\"11mm\" y=\"50mm\"/></page></form>";
    assert_eq!(lay(m).unwrap_err().code(), "E_TEMPLATE_BARCODE");
    // Exactly at the margin plus the quiet zone is fine.
    let m = m.replace("x=\"11mm\"", "x=\"12mm\"");
    assert_eq!(rects(&lay(&m).unwrap().pages[0]).len(), BAR_COUNT);
}

#[test]
fn markup_mistakes_are_reported() {
    let bad = [
        ("kind=\"jp-customer\" postal=\"2630023\" x=\"1mm\" y=\"1mm\"", "address"),
        ("kind=\"code39\" postal=\"2630023\" address=\"a\" x=\"1mm\" y=\"1mm\"", "kind"),
        ("postal=\"2630023\" address=\"a\" x=\"1mm\" y=\"1mm\"", "kind"),
        ("kind=\"jp-customer\" postal=\"2630023\" address=\"a\" address-b=\"b\" x=\"1mm\" y=\"1mm\"", "address-b"),
        ("kind=\"jp-customer\" postal=\"2630023\" address=\"a\" x=\"1mm\" y=\"1mm\" size=\"12pt\"", "size"),
        ("kind=\"jp-customer\" postal=\"2630023\" address=\"a\" x=\"1mm\" y=\"1mm\" on-error=\"skip\"", "on-error"),
        ("kind=\"jp-customer\" address=\"a\" x=\"1mm\" y=\"1mm\"", "postal"),
    ];
    for (attrs, word) in bad {
        let e = form::parse(&format!("<form><page><barcode {attrs}/></page></form>")).unwrap_err();
        assert!(e.message.contains(word), "{attrs}: {}", e.message);
    }
}

fn render(template: &str, ctx: Value) -> Result<String, String> {
    let t = Template::from_str(Path::new("t.xml"), template).unwrap();
    t.render(&ctx).map_err(|e| e.to_string())
}

#[test]
fn template_function_gives_the_data_string() {
    let ctx = json!({"postal": "263-0023", "address": ADDRESS});
    assert_eq!(
        render(
            "{{ customer_barcode(postal=postal, address=address) }}",
            ctx.clone()
        )
        .unwrap(),
        "STC 2 6 3 0 0 2 3 3 - 3 0 - 8 - 4 0 3 CC4 CC4 CC4 5 SPC"
    );
    assert_eq!(
        render(
            "{{ customer_barcode(postal=postal, address_b='3丁目30-8　郵便ビル403号') }}",
            ctx.clone()
        )
        .unwrap(),
        "STC 2 6 3 0 0 2 3 3 - 3 0 - 8 - 4 0 3 CC4 CC4 CC4 5 SPC"
    );
    let e = render(
        "{{ customer_barcode(postal='2630000', address_b='3丁目30-8') }}",
        ctx.clone(),
    )
    .unwrap_err();
    assert!(e.contains("代表郵便番号") && !e.contains("30-8"), "{e}");
    let e = render(
        "{{ customer_barcode(postal='1530051', address=address) }}",
        ctx.clone(),
    )
    .unwrap_err();
    assert!(
        e.contains("一致しません") && !e.contains("緑町") && !e.contains("153"),
        "{e}"
    );
    assert_eq!(
        render(
            "[{{ customer_barcode(postal='1530051', address=address, default='') }}]",
            ctx.clone()
        )
        .unwrap(),
        "[]"
    );
    assert!(render("{{ customer_barcode(postal=postal) }}", ctx).is_err());
}

fn saiyo() -> (Job, Assets, Vec<chohyo::check::Record>) {
    let job = Job::load(&sample_job("saiyo")).unwrap();
    let assets = Assets::load(&job, None).unwrap();
    let checked = run::read_and_check(&job, None, None).unwrap();
    (job, assets, checked.records)
}

#[test]
fn context_carries_the_document_id() {
    let (job, _, records) = saiyo();
    let ctx = run::context(&job, &records[0], 1);
    let id = ctx["doc"]["doc_id"].as_str().unwrap();
    assert_eq!(id, docid::doc_id(&records[0].id).unwrap());
    assert_eq!(id.len(), records[0].id.len() + 1);
    // A record id that makes no document id leaves it empty.
    let mut odd = records[0].clone();
    odd.id = "番号1".into();
    assert!(docid::doc_id(&odd.id).is_err());
    assert_eq!(run::context(&job, &odd, 1)["doc"]["doc_id"], "");
}

#[test]
fn saiyo_barcodes_lie_inside_the_window_with_their_quiet_zone() {
    let (job, assets, records) = saiyo();
    let env = &serde_json::to_value(&job.values).unwrap()["envelope"];
    let n = |k: &str| env[k].as_f64().unwrap() as f32;
    let (wx, wy, ww, wh, margin) = (n("x_mm"), n("y_mm"), n("w_mm"), n("h_mm"), n("margin_mm"));
    // The window minus its margin, in points (tolerance 0.01 mm).
    let tol = 0.01;
    let inner = (
        (wx + margin - tol) * PT_PER_MM,
        (wy + margin - tol) * PT_PER_MM,
        (wx + ww - margin + tol) * PT_PER_MM,
        (wy + wh - margin + tol) * PT_PER_MM,
    );
    let q = QUIET_ZONE_MM * PT_PER_MM;
    let mut with_barcode = 0;
    for (i, rec) in records.iter().enumerate() {
        let markup = assets
            .template
            .render(&run::context(&job, rec, i as u64 + 1))
            .unwrap();
        let f = form::parse(&markup).unwrap();
        let laid = layout::layout(&f, &assets.fonts, &assets.images)
            .unwrap_or_else(|e| panic!("{}: {e}", rec.id));
        assert!(laid.warnings.is_empty(), "{}: {:?}", rec.id, laid.warnings);
        let page = &laid.pages[0];
        // The bars: filled rects in the window's rows (the QR code sits at
        // the page foot, other rects elsewhere).
        let bars: Vec<_> = rects(page)
            .into_iter()
            .filter(|r| r.1 > wy * PT_PER_MM && r.1 < (wy + wh) * PT_PER_MM)
            .collect();
        assert_eq!(bars.len(), BAR_COUNT, "{}", rec.id);
        with_barcode += 1;
        let x0 = bars.iter().map(|r| r.0).fold(f32::MAX, f32::min) - q;
        let y0 = bars.iter().map(|r| r.1).fold(f32::MAX, f32::min) - q;
        let x1 = bars.iter().map(|r| r.0 + r.2).fold(f32::MIN, f32::max) + q;
        let y1 = bars.iter().map(|r| r.1 + r.3).fold(f32::MIN, f32::max) + q;
        assert!(
            x0 >= inner.0 && y0 >= inner.1 && x1 <= inner.2 && y1 <= inner.3,
            "{}: quiet zone ({x0}, {y0})–({x1}, {y1}) outside {inner:?}",
            rec.id
        );
        // Nothing else is drawn in the quiet zone.
        for op in &page.ops {
            if let Op::Text(run) = op {
                for g in &run.glyphs {
                    let font = assets.fonts.font(run.font);
                    let right = g.x + font.advance(g.gid) * run.size;
                    let top = run.baseline - font.ascent() * run.size;
                    let bottom = run.baseline - font.descent() * run.size;
                    assert!(
                        right <= x0 || g.x >= x1 || bottom <= y0 || top >= y1,
                        "{}: glyph {} in the quiet zone",
                        rec.id,
                        g.text
                    );
                }
            }
        }
        // The document id is printed as text with its QR code.
        let id = docid::doc_id(&rec.id).unwrap();
        assert!(markup.contains(&format!("文書ID {id}")), "{}", rec.id);
        assert!(markup.contains(&format!(">{id}</qr>")), "{}", rec.id);
    }
    assert!(with_barcode >= 20, "{with_barcode}");
}

#[test]
fn saiyo_renders_through_the_binary_and_passes_qpdf() {
    let tmp = tempfile::tempdir().unwrap();
    let job_path = sample_job("saiyo");
    let job = Job::load(&job_path).unwrap();
    let r = common::run_job(&job_path, tmp.path(), &[]);
    // Exit 1: finished with the sample's deliberate rejects only.
    assert_eq!(r.code, 1, "{}", r.stderr);
    let dir = tmp.path().join(&job.job.name).join(&job.batch.issue_date);
    let pdfs = common::docs(&dir);
    assert_eq!(pdfs.len(), 28, "{}", r.stderr);
    let rejects = std::fs::read_to_string(dir.join("rejects.csv")).unwrap();
    assert!(!rejects.contains("E_BARCODE"), "{rejects}");
    for p in [&pdfs[0], &pdfs[pdfs.len() - 1]] {
        common::qpdf_check(p);
        assert!(common::pdftotext(p, None).contains("文書ID"));
    }
}

/// Lays out one saiyo record; returns the bars in the window and the warnings.
fn saiyo_bars(
    job: &Job,
    assets: &Assets,
    rec: &chohyo::check::Record,
) -> Result<(usize, Vec<String>), LayoutError> {
    let markup = assets.template.render(&run::context(job, rec, 1)).unwrap();
    let f = form::parse(&markup).unwrap();
    let laid = layout::layout(&f, &assets.fonts, &assets.images)?;
    let bars = rects(&laid.pages[0])
        .into_iter()
        .filter(|r| r.1 > 45.0 * PT_PER_MM && r.1 < 90.0 * PT_PER_MM)
        .count();
    Ok((bars, laid.warnings))
}

#[test]
fn saiyo_mismatched_address_is_left_out_at_layout_in_every_mode() {
    let (mut job, assets, records) = saiyo();
    let mut rec = records[0].clone();
    // A real code of another town (東京都千代田区千代田): the check stage
    // rejects such a row (tests/check_stage.rs); layout only leaves the
    // barcode out, whatever the job's barcode_on_error says.
    rec.fields.insert("postal".into(), json!("100-0001"));
    for mode in ["reject", "warn"] {
        job.values
            .insert("barcode_on_error".into(), toml::Value::String(mode.into()));
        let (bars, warnings) = saiyo_bars(&job, &assets, &rec).unwrap();
        assert_eq!(bars, 0, "{mode}");
        assert_eq!(warnings.len(), 1, "{mode}: {warnings:?}");
        assert!(!warnings[0].contains("100") && !warnings[0].contains("千代田"));
    }
    // The unchanged record still gets its barcode.
    assert_eq!(
        saiyo_bars(&job, &assets, &records[0]).unwrap(),
        (BAR_COUNT, vec![])
    );
}
