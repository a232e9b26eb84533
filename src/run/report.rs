//! The batch summary: `summary.json` for machines and `report.html` for people.
//!
//! Everything in both files is a pure function of the batch's inputs and
//! outputs, except the `timing` section (how this particular execution went:
//! durations, threads, documents rendered now vs. reused after a resume),
//! which is kept apart so runs can be compared byte for byte without it.
//! The HTML page is self-contained (no scripts, fonts or links to load) and
//! holds no personal data: rejects are listed by row, column and code.

use crate::check::Reject;
use crate::run::counts::{Counts, Line, ThisRun};
use crate::run::fixes::how_to_fix;
use serde::Serialize;
use std::collections::BTreeMap;

/// How one execution went (not comparable between runs).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    /// Rendering threads.
    pub threads: usize,
    /// Wall time of the whole run, ms.
    pub total_ms: u64,
    /// Wall time per stage, ms.
    pub stages_ms: BTreeMap<String, u64>,
    /// Documents issued now and reused from an interrupted execution.
    #[serde(flatten)]
    pub this_run: ThisRun,
    /// The input file as this execution found it (full path; the job's or
    /// `--input`).
    pub input_path: String,
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
    /// Counts (see `run::counts` for what each means).
    pub counts: Counts,
    /// The chohyo version that made the batch.
    pub version: String,
    /// The input file's name (its hash is `inputs.input`).
    pub input_file: String,
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

/// The page's style: inline (the page loads nothing), readable on screen
/// and printed on A4.
const STYLE: &str = "<style>\
@page{size:A4;margin:14mm 12mm}\
body{font-family:\"IPAexGothic\",\"IPAGothic\",\"Noto Sans CJK JP\",\"Hiragino Sans\",\"Yu Gothic\",sans-serif;margin:1.5em auto;max-width:60em;color:#222;line-height:1.5;font-size:11pt}\
h1{font-size:1.5em;border-bottom:3px solid #335;padding-bottom:.2em}\
h2{font-size:1.15em;border-left:.4em solid #335;padding-left:.4em;margin-top:1.6em;break-after:avoid}\
table{border-collapse:collapse;margin:.5em 0 1em}\
td,th{border:1px solid #999;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#eef;font-weight:normal}\
tr{break-inside:avoid}\
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
td.nw{white-space:nowrap}\
code,.hash{font-family:monospace;font-size:.9em;word-break:break-all}\
.en{color:#666;font-size:.85em}\
.status{padding:.6em 1em;border-radius:.3em;font-weight:bold}\
.ok{background:#e6f4e6;color:#060}.ng{background:#fbeaea;color:#a00}\
.sum{color:#333}\
@media print{body{margin:0;max-width:none;font-size:9.5pt}a{color:inherit}}\
</style>";

/// Renders `report.html`, the page an operator opens first: what ran,
/// what came out (with links relative to `run_dir`, where the page is), the
/// counts, every reject with how to fix it, and how this execution went.
/// Every text from the data is escaped; values of rejected cells stay in
/// the rejects files (this page holds no personal data).
pub fn html(s: &Summary, rejects: &[Reject], run_dir: &std::path::Path) -> String {
    let mut h = String::with_capacity(16384);
    html_head(&mut h, s);
    html_what_ran(&mut h, s);
    html_counts(&mut h, &s.counts);
    html_outputs(&mut h, s, run_dir);
    html_rejects(&mut h, s, rejects);
    html_voids(&mut h, s);
    html_skipped(&mut h, s);
    html_warnings(&mut h, s);
    html_groups(&mut h, s);
    html_timing(&mut h, s);
    h.push_str("\n</body></html>\n");
    h
}

/// A label in Japanese with its English gloss.
fn label(ja: &str, en: &str) -> String {
    format!("{ja} <span class=\"en\">({en})</span>")
}

/// The page head, title and the status line.
fn html_head(h: &mut String, s: &Summary) {
    h.push_str("<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>{} {} バッチ報告</title>\n{STYLE}</head><body>\n",
        esc(&s.kind),
        esc(&s.batch)
    ));
    h.push_str(&format!(
        "<h1>{} — バッチ {} の報告 <span class=\"en\">(batch report)</span></h1>\n",
        esc(&s.kind),
        esc(&s.batch),
    ));
    let c = &s.counts;
    if c.rejects == 0 {
        h.push_str("<p class=\"status ok\" id=\"status\">すべての行を出力しました <span class=\"en\">(every row issued)</span></p>\n");
    } else {
        h.push_str(&format!(
            "<p class=\"status ng\" id=\"status\">不備が {} 件あります。下の「不備の一覧」の直し方に従って元の表を直し、再提出してください。値は <a href=\"rejects.xlsx\">rejects.xlsx</a> にあります <span class=\"en\">(some rows were rejected: fix them as shown below and resubmit; the values are in rejects.xlsx)</span></p>\n",
            c.rejects
        ));
    }
}

/// What ran: job, input and its hash, version, issue date, batch, shard.
fn html_what_ran(h: &mut String, s: &Summary) {
    h.push_str(&format!(
        "<h2>{}</h2>\n<table id=\"what-ran\">\n",
        label("実行内容", "what ran")
    ));
    let hash = |role: &str| s.inputs.get(role).map(String::as_str).unwrap_or("");
    let rows: Vec<(String, String)> = vec![
        (
            label("ジョブ", "job"),
            format!("<code>{}</code>（{}）", esc(&s.job), esc(&s.kind)),
        ),
        (
            label("入力ファイル", "input file"),
            format!(
                "{}<br><span class=\"hash\" id=\"input-sha256\">SHA-256 {}</span>",
                esc(&s.input_file),
                esc(hash("input"))
            ),
        ),
        (
            label("ジョブファイル", "job file"),
            format!("<span class=\"hash\">SHA-256 {}</span>", esc(hash("job"))),
        ),
        (
            label("テンプレート", "template"),
            format!(
                "<span class=\"hash\">SHA-256 {}</span>",
                esc(hash("template"))
            ),
        ),
        (
            label("chohyo のバージョン", "version"),
            format!("<span id=\"version\">{}</span>", esc(&s.version)),
        ),
        (label("発行日", "issue date"), esc(&s.issue_date)),
        (
            label("バッチID", "batch id"),
            format!("<code>{}</code>", esc(&s.batch)),
        ),
        (
            label("分割", "shard"),
            s.shard.as_deref().map_or("なし (whole batch)".into(), esc),
        ),
    ];
    for (k, v) in rows {
        h.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>\n"));
    }
    h.push_str("</table>\n<p class=\"en\">入力ファイルの場所は末尾の「今回の実行」にあります (the input's full path is under 「今回の実行」 below).</p>\n");
}

/// One table row per count, its id the count's `summary.json` key.
fn count_rows(h: &mut String, lines: &[Line]) {
    for l in lines {
        h.push_str(&format!(
            "<tr><th>{}</th><td class=\"n\" id=\"{}\">{}</td></tr>\n",
            label(l.ja, l.en),
            l.key,
            l.value
        ));
    }
}

/// The counts, with the two sums they make.
fn html_counts(h: &mut String, c: &Counts) {
    h.push_str(&format!(
        "<h2>{}</h2>\n<table id=\"counts\">\n",
        label("件数", "counts")
    ));
    count_rows(h, &c.rows());
    count_rows(h, &c.documents_lines());
    count_rows(h, &c.other_lines());
    h.push_str("</table>\n");
    let mut docs = format!(
        "受け付けた行 {} = 出力した文書 {} + 既発行のため発行せず {} + 欠番 {}",
        c.rows_accepted, c.documents, c.documents_skipped, c.documents_voided
    );
    if c.documents_in_other_shards > 0 {
        docs.push_str(&format!(
            " + 他の分割の文書 {}",
            c.documents_in_other_shards
        ));
    }
    h.push_str(&format!(
        "<p class=\"sum\">読み込んだ行 {} = 受け付けた行 {} + 不備で除いた行 {}<br>{docs}<br><span class=\"en\">結合シートの不備の行は本表の行に数えません。出力した文書のうち今回出力した数は「今回の実行」にあります (joined-sheet rows are not rows read; how many documents this execution wrote is under 「今回の実行」).</span></p>\n",
        c.rows_read, c.rows_accepted, c.rows_rejected
    ));
}

/// An output file's row: link, what it is, count, numbers, hash.
struct OutputRow {
    link: String,
    what: String,
    count: String,
    numbers: String,
    sha256: String,
}

/// Every output file with a link relative to the page, what it is, its
/// count, document numbers and hash. The delivery's files are read from
/// the summary's `delivery` section, whatever it holds: every object
/// with a `file` is an output, found beside the page or in the folder
/// named by its section.
fn html_outputs(h: &mut String, s: &Summary, run_dir: &std::path::Path) {
    let mut rows = Vec::new();
    let numbers = match (s.numbers.get("first"), s.numbers.get("last")) {
        (Some(f), Some(l)) if f.is_u64() => format!(
            "{f}〜{l}（系列 {}、{}年度）",
            esc(s.numbers["series"].as_str().unwrap_or("")),
            s.numbers["fiscal_year"]
        ),
        _ => "—".into(),
    };
    rows.push(OutputRow {
        link: "docs/".into(),
        what: label("文書（1 件 1 ファイル）", "documents"),
        count: format!("{} 件・{} ページ", s.counts.documents, s.counts.pages),
        numbers,
        sha256: "manifest.json 参照".into(),
    });
    let outputs = s.outputs.as_object();
    for (file, what) in [
        ("manifest.csv", label("文書の目録", "manifest")),
        ("manifest.json", label("文書の目録", "manifest")),
        ("rejects.csv", label("不備の一覧", "rejects")),
        (
            "rejects.xlsx",
            label("不備の一覧（元の値つき）", "rejects with values"),
        ),
    ] {
        let sha = outputs
            .and_then(|o| o.get(file))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let count = if file.starts_with("rejects") {
            format!("{} 件", s.counts.rejects)
        } else {
            format!("{} 件", s.counts.documents)
        };
        rows.push(OutputRow {
            link: file.into(),
            what,
            count,
            numbers: String::new(),
            sha256: sha.into(),
        });
    }
    if let Some(sections) = s.delivery.as_object() {
        for (section, v) in sections {
            for item in v.as_array().into_iter().flatten() {
                if let Some(row) = delivery_row(section, item, run_dir) {
                    rows.push(row);
                }
            }
        }
    }
    h.push_str(&format!(
        "<h2>{}</h2>\n<table id=\"outputs\"><tr><th>ファイル <span class=\"en\">(file)</span></th><th>内容 <span class=\"en\">(what)</span></th><th>件数 <span class=\"en\">(count)</span></th><th>文書番号 <span class=\"en\">(numbers)</span></th><th>SHA-256</th></tr>\n",
        label("出力されたもの", "outputs")
    ));
    for r in rows {
        h.push_str(&format!(
            "<tr><td><a href=\"{0}\">{0}</a></td><td>{1}</td><td class=\"n\">{2}</td><td>{3}</td><td class=\"hash\">{4}</td></tr>\n",
            esc(&r.link),
            r.what,
            esc(&r.count),
            r.numbers,
            esc(&r.sha256)
        ));
    }
    h.push_str("</table>\n<p class=\"en\">すべてのハッシュは <code>chohyo verify</code> でこのフォルダーごと照合できます (run <code>chohyo verify</code> on this folder to check every hash).</p>\n");
}

/// The Japanese name of a delivery section (its key when unknown).
fn section_label(section: &str) -> String {
    match section {
        "packages" => label("パッケージ（zip）", "package"),
        "print" => label("印刷用ファイル（区分票つき）", "print file"),
        "batch_documents" => label("一括文書", "batch document"),
        other => esc(other),
    }
}

/// One delivery output as a row, when `item` names a file.
fn delivery_row(
    section: &str,
    item: &serde_json::Value,
    run_dir: &std::path::Path,
) -> Option<OutputRow> {
    let file = item.get("file")?.as_str()?;
    // A relative path without `..` only: the page links nowhere else.
    let safe = |p: &str| {
        !p.is_empty()
            && !p.starts_with('/')
            && std::path::Path::new(p)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
    };
    if !safe(file) {
        return None;
    }
    let in_section = format!("{section}/{file}");
    let link = if !run_dir.join(file).exists() && run_dir.join(&in_section).exists() {
        in_section
    } else {
        file.to_string()
    };
    let what = match item.get("kind").and_then(|k| k.as_str()) {
        Some(kind) => format!("{}: {}", section_label(section), esc(kind)),
        None => section_label(section),
    };
    let n = |key: &str| {
        item.get(key)
            .or_else(|| item.get("stats").and_then(|s| s.get(key)))
            .and_then(|v| v.as_u64())
    };
    let count = match (n("documents"), n("pages").or(n("total_pages"))) {
        (Some(d), Some(p)) => format!("{d} 件・{p} ページ"),
        (Some(d), None) => format!("{d} 件"),
        (None, Some(p)) => format!("{p} ページ"),
        (None, None) => String::new(),
    };
    Some(OutputRow {
        link,
        what,
        count,
        numbers: String::new(),
        sha256: item
            .get("sha256")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string(),
    })
}

/// A rejected cell's value as this page shows it: never the value itself
/// (it may be personal data; `rejects.xlsx` holds it), only whether the
/// cell was empty.
fn shown_value(value: &str) -> &'static str {
    if value.trim().is_empty() {
        "（空欄）"
    } else {
        "（非表示）"
    }
}

/// A reject's reason without the rejected value (reasons quote it): every
/// occurrence of the value, or of one of its parts for a rule over several
/// columns, becomes "…" — inside a longer word too (a postal code `153-005`
/// in the example `153-0051`), as a value may not appear on this page at all.
fn shown_reason(r: &Reject) -> String {
    let mut parts: Vec<&str> = r.value.split(" / ").collect();
    parts.push(&r.value);
    parts.retain(|p| !p.trim().is_empty());
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut reason = r.reason.clone();
    for p in parts {
        reason = reason.replace(p, "…");
    }
    reason
}

/// Rejects by code, then every reject with where it is, its reason and how
/// to fix it.
fn html_rejects(h: &mut String, s: &Summary, rejects: &[Reject]) {
    if rejects.is_empty() {
        return;
    }
    h.push_str(&format!(
        "<h2>{}</h2>\n<table id=\"rejects-by-code\"><tr><th>コード</th><th>件数</th><th>直し方 <span class=\"en\">(how to fix)</span></th></tr>\n",
        label("不備の内訳", "rejects by code")
    ));
    for (code, n) in &s.rejects_by_code {
        h.push_str(&format!(
            "<tr><td><code>{}</code></td><td class=\"n\">{n}</td><td>{}</td></tr>\n",
            esc(code),
            esc(how_to_fix(code))
        ));
    }
    h.push_str(&format!(
        "</table>\n<h2>{}</h2>\n<p>値は <a href=\"rejects.xlsx\">rejects.xlsx</a>（元の行の値つき）と <a href=\"rejects.csv\">rejects.csv</a> にあります。この報告には個人情報を載せません <span class=\"en\">(values are in the rejects files only; this page holds no personal data)</span>.</p>\n",
        label("不備の一覧", "every reject")
    ));
    h.push_str("<table id=\"rejects\"><tr><th>ファイル・シート</th><th>行</th><th>列</th><th>値</th><th>コード</th><th>理由 <span class=\"en\">(reason)</span></th><th>直し方 <span class=\"en\">(how to fix)</span></th></tr>\n");
    for r in rejects {
        h.push_str(&format!(
            "<tr class=\"reject\"><td class=\"nw\">{}<br>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"nw\"><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
            esc(&r.file),
            esc(&r.sheet),
            r.row,
            esc(&r.column),
            shown_value(&r.value),
            esc(&r.code),
            esc(&shown_reason(r)),
            esc(how_to_fix(&r.code))
        ));
    }
    h.push_str("</table>\n");
}

/// The numbers given but printed on no document (欠番), when there are any.
fn html_voids(h: &mut String, s: &Summary) {
    if s.voids.is_empty() {
        return;
    }
    h.push_str(&format!(
        "<h2>{}</h2>\n<p>番号を付けた後で文書にできなかった申請です。番号は欠番として台帳に記録されています <span class=\"en\">(numbered, then refused at layout; recorded as void in the ledger)</span>.</p>\n<table id=\"voids\"><tr><th>番号</th><th>申請</th><th>行</th><th>理由</th></tr>\n",
        label("欠番", "numbers with no document")
    ));
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
        "<h2>既発行のため発行しなかった申請 <span class=\"en\">(already issued: {} requests)</span></h2>\n<p>同じ申請番号・同じ内容で以前のバッチが発行済みです。再発行するには --reissue を付けて実行します (issued before with the same content; run with --reissue to issue again).</p>\n<table id=\"skipped\"><tr><th>申請</th><th>行</th><th>番号</th><th>バッチ</th><th>発行日</th></tr>\n",
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

/// The warnings, when there are any: how many, and where they are listed.
fn html_warnings(h: &mut String, s: &Summary) {
    if s.counts.warnings == 0 {
        return;
    }
    h.push_str(&format!(
        "<h2>{}</h2>\n<p id=\"warnings-note\">警告が {} 件あります（文書は出力済み。異体字セレクタを基本の字で印字した、など）。文書ごとの警告は journal.jsonl にあります <span class=\"en\">(documents were issued; each document's warnings are in journal.jsonl)</span>.</p>\n",
        label("警告", "warnings"),
        s.counts.warnings
    ));
}

/// Mailing groups, when the job delivers.
fn html_groups(h: &mut String, s: &Summary) {
    let Some(groups) = s.delivery.get("groups").and_then(|g| g.as_array()) else {
        return;
    };
    h.push_str(&format!(
        "<h2>{}</h2>\n<table id=\"groups\"><tr><th>区分</th><th>件数</th><th>郵便番号なし</th><th>バーコード付</th></tr>\n",
        label("発送区分", "mailing groups")
    ));
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

/// The Japanese name of a timed stage (its key when unknown).
fn stage_label(stage: &str) -> String {
    let (ja, en) = match stage {
        "load" => ("準備（フォント・画像・テンプレートの読み込み）", "load"),
        "read_check" => ("入力の読み込みと確認", "read and check"),
        "plan" => ("採番と計画", "numbering and plan"),
        "render" => ("文書の作成", "render"),
        "finalize" => ("仕上げ（目録・台帳・発送物・報告）", "finalize"),
        other => return esc(other),
    };
    label(ja, en)
}

/// This execution: where the input was, the documents issued now and
/// reused, threads and timings — between markers so that comparisons of
/// runs can leave it out.
fn html_timing(h: &mut String, s: &Summary) {
    h.push_str(TIMING_BEGIN);
    h.push_str(&format!(
        "\n<h2>{}</h2>\n<table id=\"this-run\">\n",
        label("今回の実行", "this execution")
    ));
    let t = &s.timing;
    h.push_str(&format!(
        "<tr><th>{}</th><td><code id=\"input-path\">{}</code></td></tr>\n",
        label("入力ファイルの場所", "input path"),
        esc(&t.input_path)
    ));
    count_rows(h, &t.this_run.lines());
    h.push_str(&format!(
        "<tr><th>{}</th><td class=\"n\">{}</td></tr>\n<tr><th>{}</th><td class=\"n\">{} ms</td></tr>\n",
        label("スレッド数", "threads"),
        t.threads,
        label("合計時間", "total"),
        t.total_ms
    ));
    for (stage, ms) in &t.stages_ms {
        h.push_str(&format!(
            "<tr><th>{}</th><td class=\"n\">{ms} ms</td></tr>\n",
            stage_label(stage)
        ));
    }
    h.push_str("</table>\n");
    h.push_str(TIMING_END);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(value: &str, reason: &str) -> Reject {
        Reject {
            file: "in.xlsx".into(),
            sheet: "s".into(),
            row: 2,
            column: "c".into(),
            value: value.into(),
            code: "E_X".into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn reasons_are_shown_without_the_value() {
        let r = reject("1990/2/30", "「1990/2/30」は存在しない日付です");
        assert_eq!(shown_reason(&r), "「…」は存在しない日付です");
        // Inside a longer number too: the page never shows a value.
        let r = reject("153-005", "7桁で（例: 153-0051）");
        assert_eq!(shown_reason(&r), "7桁で（例: …1）");
        let r = reject(
            "1980/4/1 / 昭和60年4月1日",
            "「昭和60年4月1日」と「1980/4/1」",
        );
        assert_eq!(shown_reason(&r), "「…」と「…」");
        assert_eq!(shown_value(""), "（空欄）");
        assert_eq!(shown_value("x"), "（非表示）");
    }

    #[test]
    fn markup_in_data_stays_text() {
        let r = Reject {
            sheet: "<script>alert(1)</script>".into(),
            column: "<b>列</b>".into(),
            ..reject("<i>", "「<i>」 & 理由")
        };
        let s = Summary {
            job: "<j>".into(),
            kind: "k&".into(),
            batch: "b".into(),
            issue_date: "2025-04-01".into(),
            shard: None,
            counts: Counts::default(),
            version: "0".into(),
            input_file: "<in>.xlsx".into(),
            rejects_by_code: by_code(std::slice::from_ref(&r)),
            numbers: serde_json::Value::Null,
            inputs: BTreeMap::new(),
            outputs: serde_json::Value::Null,
            delivery: serde_json::json!({"x": [{"file": "../etc/passwd"}, {"file": "<a>.pdf"}]}),
            voids: Vec::new(),
            skipped: Vec::new(),
            timing: Timing::default(),
        };
        let page = html(&s, &[r], std::path::Path::new("/nonexistent"));
        for bad in ["<script>", "<b>", "<i>", "<j>", "<in>", "<a>", "../etc"] {
            assert!(!page.contains(bad), "{bad} in the page");
        }
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("&lt;a&gt;.pdf"));
    }
}
