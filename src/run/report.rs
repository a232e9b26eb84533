//! The batch summary: `summary.json` for machines and `report.html` for people.
//!
//! Everything in both files is a pure function of the batch's inputs and
//! outputs, except the `timing` section (how this particular execution went:
//! durations, threads, documents rendered now vs. reused after a resume),
//! which is kept apart so runs can be compared byte for byte without it.
//! The HTML page is self-contained (no scripts, fonts or links to load) and
//! holds no personal data: rejects are listed by row, column and code.

use crate::check::Reject;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of a batch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Data rows read.
    pub rows_read: usize,
    /// Documents written.
    pub documents: usize,
    /// Pages in all documents.
    pub pages: usize,
    /// Distinct rows with at least one reject.
    pub rejected_rows: usize,
    /// Reject lines.
    pub rejects: usize,
    /// Warnings (e.g. variation sequences printed as their base character).
    pub warnings: usize,
}

/// How one execution went (not comparable between runs).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    /// Rendering threads.
    pub threads: usize,
    /// Wall time of the whole run, ms.
    pub total_ms: u64,
    /// Wall time per stage, ms.
    pub stages_ms: BTreeMap<String, u64>,
    /// Documents rendered by this execution.
    pub rendered_now: usize,
    /// Documents found finished from an earlier (interrupted) execution.
    pub reused: usize,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Job name.
    pub job: String,
    /// Document kind.
    pub kind: String,
    /// Batch id.
    pub batch: String,
    /// Issue date.
    pub issue_date: String,
    /// `K/N` for a shard's run directory.
    pub shard: Option<String>,
    /// Counts.
    pub counts: Counts,
    /// Reject lines per code.
    pub rejects_by_code: BTreeMap<String, usize>,
    /// Number series, fiscal year and the first and last number used.
    pub numbers: serde_json::Value,
    /// SHA-256 of the job file, template and input, by role.
    pub inputs: BTreeMap<String, String>,
    /// Sizes and hashes of the outputs.
    pub outputs: serde_json::Value,
    /// Mail order groups, packages, print files and whole-batch documents
    /// (`null` when the job has none).
    pub delivery: serde_json::Value,
    /// Numbers given to records that got no document (欠番), with why; an
    /// auditor sees every gap in the series here and in the ledger.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub voids: Vec<Void>,
    /// Requests left out as already issued (same record id and content).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// This execution only.
    pub timing: Timing,
}

/// A request left out because an earlier batch issued it with the same
/// content (a growing spreadsheet run every night); `--reissue` issues it
/// again.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Skipped {
    /// The record.
    pub record_id: String,
    /// Its row in the input.
    pub row: u32,
    /// Where it was issued.
    pub issued: crate::run::ledger::EarlierIssue,
}

/// A number planned for a record that was rejected after planning.
#[derive(Debug, Clone, Serialize)]
pub struct Void {
    /// The document number left unused.
    pub number: u64,
    /// The record it was planned for.
    pub record_id: String,
    /// The record's row in the input.
    pub row: u32,
    /// The reject codes of that row.
    pub reason: String,
}

/// Reject lines per code.
pub fn by_code(rejects: &[Reject]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in rejects {
        *m.entry(r.code.clone()).or_insert(0) += 1;
    }
    m
}

fn esc(s: &str) -> String {
    crate::render::template::escape_xml(s)
}

/// Marks the part of `report.html` that depends on the execution.
pub const TIMING_BEGIN: &str = "<!-- timing:begin -->";
/// End of the execution-dependent part.
pub const TIMING_END: &str = "<!-- timing:end -->";

/// Renders `report.html`.
pub fn html(s: &Summary, rejects: &[Reject]) -> String {
    let mut h = String::with_capacity(8192);
    html_head(&mut h, s);
    html_counts(&mut h, s);
    html_rejects(&mut h, s, rejects);
    html_voids(&mut h, s);
    html_skipped(&mut h, s);
    html_outputs(&mut h, s);
    html_delivery(&mut h, s);
    html_timing(&mut h, s);
    h.push_str("\n</body></html>\n");
    h
}

/// The page head, title and what ran.
fn html_head(h: &mut String, s: &Summary) {
    h.push_str("<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>{} {} バッチ報告</title>\n",
        esc(&s.kind),
        esc(&s.batch)
    ));
    h.push_str(
        "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #999;padding:.3em .7em;text-align:left}th{background:#eee}\
td.n{text-align:right}.ok{color:#060}.ng{color:#a00}</style></head><body>\n",
    );
    h.push_str(&format!(
        "<h1>{} — バッチ {}</h1>\n<p>ジョブ <code>{}</code>、発行日 {}{}</p>\n",
        esc(&s.kind),
        esc(&s.batch),
        esc(&s.job),
        esc(&s.issue_date),
        s.shard
            .as_ref()
            .map(|k| format!("、分割 {}", esc(k)))
            .unwrap_or_default()
    ));
}

/// The status line and the counts table.
fn html_counts(h: &mut String, s: &Summary) {
    let c = &s.counts;
    let status = if c.rejects == 0 {
        "<p class=\"ok\" id=\"status\">すべての行を出力しました (all rows rendered)</p>"
    } else {
        "<p class=\"ng\" id=\"status\">不備のある行があります — rejects.csv / rejects.xlsx を確認してください (some rows were rejected)</p>"
    };
    h.push_str(status);
    h.push_str("\n<h2>件数 (counts)</h2>\n<table id=\"counts\">\n");
    for (label, id, v) in [
        ("読み込み行数 (rows read)", "rows_read", c.rows_read),
        ("出力文書数 (documents)", "documents", c.documents),
        ("ページ数 (pages)", "pages", c.pages),
        (
            "不備のある行 (rejected rows)",
            "rejected_rows",
            c.rejected_rows,
        ),
        ("不備の件数 (rejects)", "rejects", c.rejects),
        ("警告 (warnings)", "warnings", c.warnings),
    ] {
        h.push_str(&format!(
            "<tr><th>{label}</th><td class=\"n\" id=\"{id}\">{v}</td></tr>\n"
        ));
    }
    h.push_str("</table>\n");
}

/// Rejects by code and the rejected rows (without values: those stay in the
/// rejects files).
fn html_rejects(h: &mut String, s: &Summary, rejects: &[Reject]) {
    if !s.rejects_by_code.is_empty() {
        h.push_str(
            "<h2>不備の内訳 (rejects by code)</h2>\n<table><tr><th>コード</th><th>件数</th></tr>\n",
        );
        for (code, n) in &s.rejects_by_code {
            h.push_str(&format!(
                "<tr><td><code>{}</code></td><td class=\"n\">{n}</td></tr>\n",
                esc(code)
            ));
        }
        h.push_str("</table>\n<h2>不備のある行 (rejected rows)</h2>\n<table id=\"reject-rows\"><tr><th>ファイル</th><th>シート</th><th>行</th><th>列</th><th>コード</th></tr>\n");
        for r in rejects {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
                esc(&r.file),
                esc(&r.sheet),
                r.row,
                esc(&r.column),
                esc(&r.code)
            ));
        }
        h.push_str("</table>\n<p>理由と値は rejects.csv / rejects.xlsx にあります (reasons and values are in the rejects files only).</p>\n");
    }
}

/// The numbers given but printed on no document (欠番), when there are any.
fn html_voids(h: &mut String, s: &Summary) {
    if s.voids.is_empty() {
        return;
    }
    h.push_str("<h2>欠番 (numbers with no document)</h2>\n<table id=\"voids\"><tr><th>番号</th><th>申請</th><th>行</th><th>理由</th></tr>\n");
    for v in &s.voids {
        h.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>\n",
            v.number,
            esc(&v.record_id),
            v.row,
            esc(&v.reason)
        ));
    }
    h.push_str("</table>\n");
}

/// The requests left out as already issued, when there are any.
fn html_skipped(h: &mut String, s: &Summary) {
    if s.skipped.is_empty() {
        return;
    }
    h.push_str(&format!(
        "<h2>既発行のため発行しなかった申請 (already issued: {} requests)</h2>\n<p>同じ申請番号・同じ内容で以前のバッチが発行済みです。再発行するには --reissue を付けて実行します (issued before with the same content; run with --reissue to issue again).</p>\n<table id=\"skipped\"><tr><th>申請</th><th>行</th><th>番号</th><th>バッチ</th><th>発行日</th></tr>\n",
        s.skipped.len()
    ));
    for k in &s.skipped {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&k.record_id),
            k.row,
            k.issued.number,
            esc(&k.issued.batch),
            esc(&k.issued.issue_date)
        ));
    }
    h.push_str("</table>\n");
}

/// The output files with their hashes.
fn html_outputs(h: &mut String, s: &Summary) {
    h.push_str("<h2>出力 (outputs)</h2>\n<table>\n");
    if let Some(map) = s.outputs.as_object() {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            h.push_str(&format!(
                "<tr><th>{}</th><td><code>{}</code></td></tr>\n",
                esc(k),
                esc(&v)
            ));
        }
    }
    h.push_str("</table>\n");
}

/// Mailing groups and packages, when the job delivers.
fn html_delivery(h: &mut String, s: &Summary) {
    if let Some(groups) = s.delivery.get("groups").and_then(|g| g.as_array()) {
        h.push_str("<h2>発送区分 (mailing groups)</h2>\n<table id=\"groups\"><tr><th>区分</th><th>件数</th><th>郵便番号なし</th><th>バーコード付</th></tr>\n");
        for g in groups {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                esc(g["group"].as_str().unwrap_or("")),
                g["items"],
                g["without_postal"],
                g["with_barcode"]
            ));
        }
        h.push_str("</table>\n");
    }
    if let Some(pkgs) = s.delivery.get("packages").and_then(|g| g.as_array()) {
        h.push_str("<h2>パッケージ (packages)</h2>\n<table id=\"packages\"><tr><th>ファイル</th><th>文書数</th><th>sha256</th></tr>\n");
        for p in pkgs {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>\n",
                esc(p["file"].as_str().unwrap_or("")),
                p["documents"],
                esc(p["sha256"].as_str().unwrap_or(""))
            ));
        }
        h.push_str("</table>\n");
    }
}

/// The timings, between markers so that comparisons can leave them out.
fn html_timing(h: &mut String, s: &Summary) {
    h.push_str(TIMING_BEGIN);
    h.push_str("\n<h2>処理時間 (timings)</h2>\n<table>\n");
    let t = &s.timing;
    h.push_str(&format!(
        "<tr><th>合計 (total)</th><td class=\"n\">{} ms</td></tr>\n<tr><th>スレッド (threads)</th><td class=\"n\">{}</td></tr>\n<tr><th>今回出力 (rendered now)</th><td class=\"n\">{}</td></tr>\n<tr><th>再利用 (reused after resume)</th><td class=\"n\">{}</td></tr>\n",
        t.total_ms, t.threads, t.rendered_now, t.reused
    ));
    for (stage, ms) in &t.stages_ms {
        h.push_str(&format!(
            "<tr><th>{}</th><td class=\"n\">{ms} ms</td></tr>\n",
            esc(stage)
        ));
    }
    h.push_str("</table>\n");
    h.push_str(TIMING_END);
}
