//! After rendering: the journal in plan order, rejects, manifests, the
//! ledger's file hashes, the delivery stage, and last `summary.json` and
//! `report.html`, the batch's "finished" mark.
//!
//! Uses the spooled entries, `mail::manifest`, the `ledger`, `rejects`,
//! `report` and `delivery`.

use crate::check::{self, Reject};
use crate::error::BatchError;
use crate::files::AtomicFile;
use crate::job::Job;
use crate::mail::manifest::ManifestWriter;
use crate::run::delivery;
use crate::run::document::Assets;
use crate::run::inputs::read_and_check;
use crate::run::ledger::Ledger;
use crate::run::plan::file_sha256;
use crate::run::rejects::write_rejects_csv;
use crate::run::report::{self, Summary};
use crate::run::runlog::RunLog;
use crate::run::runstate::{JournalEntry, Plan, RunDir};
use crate::run::spool::Entries;
use crate::run::Outcome;
use std::io::Write as _;
use std::path::Path;

/// Orders rejects for the report: the main sheet's rows first, by row
/// (check and layout rejects of one row stay in the order they were found),
/// then those of joined sheets, by sheet and row.
pub fn sort_rejects(rejects: &mut [Reject], main_sheet: &str) {
    rejects.sort_by(|a, b| {
        let key = |r: &Reject| {
            (
                r.sheet != main_sheet,
                if r.sheet == main_sheet {
                    String::new()
                } else {
                    r.sheet.clone()
                },
                r.row,
            )
        };
        key(a).cmp(&key(b))
    });
}

/// Writes everything after rendering, in this order: the journal in plan
/// order, rejects, manifests, the ledger's file hashes, and last
/// `summary.json` + `report.html` (the batch's "finished" mark). The
/// documents are read from the spool `entries` in one pass, never all held
/// (except by the delivery stage, which needs them together). Returns the
/// documents' bytes in all.
#[allow(clippy::too_many_arguments)]
pub(super) fn finalize(
    job: &Job,
    plan: &Plan,
    dir: &RunDir,
    (outcome, entries): (&Outcome, &Entries),
    originals: &check::Originals,
    (assets, input): (&Assets, Option<&Path>),
    shard: Option<(u64, u64)>,
    mut timing: report::Timing,
    started: std::time::Instant,
    log: &RunLog,
    ledger_path: &Path,
) -> Result<u64, BatchError> {
    let modes = job.output.modes();
    let t_finalize = std::time::Instant::now();
    let rejects_path = dir.path.join("rejects.csv");
    write_rejects_csv(&rejects_path, &outcome.rejects)?;
    crate::run::rejects::write_rejects_xlsx(
        &dir.path.join("rejects.xlsx"),
        &outcome.rejects,
        originals,
    )?;

    // One pass: the journal in plan order (identical whatever the thread
    // count), the manifests, the ledger's file hashes, the counts.
    let jpath = dir.path.join("journal.jsonl");
    let mut journal =
        AtomicFile::create(&jpath, modes.file).map_err(|e| BatchError::write(&jpath, e))?;
    let mut manifests = ManifestWriter::create(&dir.path, job, &plan.batch)?;
    let mut ledger = Ledger::open(ledger_path).map_err(|e| BatchError::Io(e.to_string()))?;
    let mut issued: Vec<(String, String, String)> = Vec::new();
    let mark = |ledger: &mut Ledger, issued: &mut Vec<(String, String, String)>| {
        ledger
            .mark_issued(&job.job.name, &plan.batch, &job.job.title, issued)
            .map_err(|e| BatchError::Io(e.to_string()))?;
        issued.clear();
        Ok::<(), BatchError>(())
    };
    let (mut pages, mut total_bytes) = (0usize, 0u64);
    let (mut first, mut last): (Option<u64>, Option<u64>) = (None, None);
    let mut warnings = 0;
    for d in entries
        .iter()
        .map_err(|e| BatchError::write(&dir.path, e))?
    {
        let (d, w) = d.map_err(|e| BatchError::write(&dir.path, e))?;
        warnings += w.len();
        serde_json::to_writer(
            &mut journal,
            &JournalEntry {
                file: d.file.clone(),
                sha256: d.sha256.clone(),
                bytes: d.bytes,
                pages: d.pages,
                warnings: w,
            },
        )
        .map_err(|e| BatchError::Io(e.to_string()))?;
        journal
            .write_all(b"\n")
            .map_err(|e| BatchError::write(&jpath, e))?;
        manifests.push(&d)?;
        pages += d.pages;
        total_bytes += d.bytes;
        first = Some(first.map_or(d.number, |f| f.min(d.number)));
        last = Some(last.map_or(d.number, |l| l.max(d.number)));
        issued.push((d.record_id, d.file, d.sha256));
        if issued.len() >= 4096 {
            mark(&mut ledger, &mut issued)?;
        }
    }
    journal.commit().map_err(|e| BatchError::write(&jpath, e))?;
    manifests.commit()?;

    // Mail order, packages, print files and whole-batch documents; a shard
    // leaves them to the merge.
    let delivery = if shard.is_none() && delivery::configured(job) {
        let documents = entries
            .load()
            .map_err(|e| BatchError::write(&dir.path, e))?;
        let records = read_and_check(job, input)?.records;
        delivery::deliver(job, assets, &records, &documents, &dir.path, &plan.batch)?
    } else {
        serde_json::Value::Null
    };
    mark(&mut ledger, &mut issued)?;
    drop(ledger);

    let mut rejected_rows: Vec<(&str, u32)> = outcome
        .rejects
        .iter()
        .map(|r| (r.sheet.as_str(), r.row))
        .collect();
    rejected_rows.dedup();
    let documents = entries.len();
    timing
        .stages_ms
        .insert("finalize".into(), t_finalize.elapsed().as_millis() as u64);
    timing.total_ms = started.elapsed().as_millis() as u64;
    let summary = Summary {
        job: job.job.name.clone(),
        kind: job.job.title.clone(),
        batch: plan.batch.clone(),
        issue_date: job.batch.issue_date.clone(),
        shard: shard.map(|(k, n)| format!("{}/{n}", k + 1)),
        counts: report::Counts {
            rows_read: outcome.rows_read,
            documents,
            pages,
            rejected_rows: rejected_rows.len(),
            rejects: outcome.rejects.len(),
            warnings,
        },
        rejects_by_code: report::by_code(&outcome.rejects),
        numbers: serde_json::json!({
            "series": plan.series,
            "fiscal_year": plan.fiscal_year,
            "first": first,
            "last": last,
        }),
        inputs: plan.inputs.clone(),
        delivery,
        outputs: serde_json::json!({
            "documents_bytes": total_bytes,
            "bytes_per_document": if documents == 0 { 0 } else { total_bytes / documents as u64 },
            "manifest.json": file_sha256(&dir.path.join("manifest.json"))?,
            "manifest.csv": file_sha256(&dir.path.join("manifest.csv"))?,
            "rejects.csv": file_sha256(&rejects_path)?,
            "rejects.xlsx": file_sha256(&dir.path.join("rejects.xlsx"))?,
        }),
        timing,
    };
    let html = report::html(&summary, &outcome.rejects);
    let rpath = dir.path.join("report.html");
    crate::files::write_atomic_mode(&rpath, html.as_bytes(), modes.file)
        .map_err(|e| BatchError::write(&rpath, e))?;
    let mut json =
        serde_json::to_vec_pretty(&summary).map_err(|e| BatchError::Io(e.to_string()))?;
    json.push(b'\n');
    let spath = dir.path.join("summary.json");
    crate::files::write_atomic_mode(&spath, &json, modes.file)
        .map_err(|e| BatchError::write(&spath, e))?;
    log.info(
        "finished",
        "",
        serde_json::json!({"documents": documents, "rejects": outcome.rejects.len(), "rendered_now": outcome.rendered_now}),
    );
    Ok(total_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_of_joined_sheets_come_after_the_main_sheet() {
        let r = |sheet: &str, row: u32, code: &str| Reject {
            file: "in.xlsx".into(),
            sheet: sheet.into(),
            row,
            column: String::new(),
            value: String::new(),
            code: code.into(),
            reason: String::new(),
        };
        let mut v = vec![
            r("申請", 9, "A"),
            r("給与明細", 3, "J"),
            r("申請", 4, "B"),
            r("申請", 4, "C"),
            r("給与明細", 2, "K"),
        ];
        sort_rejects(&mut v, "申請");
        let codes: Vec<&str> = v.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["B", "C", "A", "K", "J"]);
    }
}
