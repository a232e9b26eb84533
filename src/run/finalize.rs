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
use crate::run::counts::Counts;
use crate::run::delivery;
use crate::run::document::Assets;
use crate::run::ledger::Ledger;
use crate::run::letters::Letters;
use crate::run::plan::file_sha256;
use crate::run::rejects::write_rejects_csv;
use crate::run::report::{self, Summary};
use crate::run::runlog::RunLog;
use crate::run::runstate::{self, JournalEntry, Plan, PlannedDoc, RunDir};
use crate::run::spool::{Entries, PLAN_FILE};
use crate::run::Outcome;
use std::collections::{HashMap, HashSet};
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

/// A rendered batch (or a merged one), as finalize takes it: what was
/// planned, where it is, what rendering gave and what finalizing needs.
pub(super) struct RenderedBatch<'a> {
    pub(super) job: &'a Job,
    pub(super) plan: &'a Plan,
    pub(super) dir: &'a RunDir,
    /// Counts and rejects of the run (its `document_bytes` not yet known).
    pub(super) outcome: &'a Outcome,
    /// The spooled manifest entries, in plan order.
    pub(super) entries: &'a Entries,
    /// The rejected rows' original texts, for `rejects.xlsx`.
    pub(super) originals: &'a check::Originals,
    pub(super) assets: &'a Assets,
    /// The `--input` that replaced the job's input, if any.
    pub(super) input: Option<&'a Path>,
    /// The shard rendered, if only one: a shard leaves delivery to the merge.
    pub(super) shard: Option<(u64, u64)>,
    pub(super) ledger_path: &'a Path,
    /// When the run started (for the summary's total time).
    pub(super) started: std::time::Instant,
}

/// Writes everything after rendering, in this order: the journal in plan
/// order, rejects, manifests, the ledger's file hashes, and last
/// `summary.json` + `report.html` (the batch's "finished" mark). The
/// documents are read from the spool `entries` in one pass, never all held
/// (the delivery stage keeps a compact item per letter). Returns the
/// documents' bytes in all and the batch's counts.
pub(super) fn finalize(
    batch: &RenderedBatch,
    mut timing: report::Timing,
    log: &RunLog,
) -> Result<(u64, Counts), BatchError> {
    let (job, dir, outcome) = (batch.job, batch.dir, batch.outcome);
    let t_finalize = std::time::Instant::now();
    let rejects_path = dir.path.join("rejects.csv");
    write_rejects_csv(&rejects_path, &outcome.rejects)?;
    crate::run::rejects::write_rejects_xlsx(
        &dir.path.join("rejects.xlsx"),
        &outcome.rejects,
        batch.originals,
    )?;
    let (totals, mut issue) = write_journal_and_manifests(batch)?;
    let planned = planned(batch, &totals.written)?;
    issue.void(&planned.voids)?;

    // Mail order, packages, print files and whole-batch documents; a shard
    // leaves them to the merge.
    let delivery = if batch.shard.is_none() && delivery::configured(job) {
        // The same records as the batch's (its rows the fonts cannot
        // print were rejected and have no document), spooled to disk:
        // only a compact item per letter stays in memory.
        let letters = Letters::spool(
            job,
            batch.entries,
            batch.input,
            Some(&batch.assets.fonts),
            &dir.path,
            job.output.modes().file,
        )?;
        delivery::deliver(
            job,
            batch.assets,
            letters,
            batch.entries.path(),
            &dir.path,
            &batch.plan.batch,
        )?
    } else {
        serde_json::Value::Null
    };
    issue.flush()?;
    drop(issue);

    timing
        .stages_ms
        .insert("finalize".into(), t_finalize.elapsed().as_millis() as u64);
    timing.total_ms = batch.started.elapsed().as_millis() as u64;
    let input = batch.input.unwrap_or(&job.input.file);
    timing.input_path = std::path::absolute(input)
        .unwrap_or_else(|_| input.to_owned())
        .display()
        .to_string();
    let counts = counts(batch, &totals, &planned);
    if let Some(m) = counts.mismatch(&timing.this_run) {
        // A bug in counting, not in the data: said, never a reason to
        // leave the batch unfinished.
        log.error(
            "counts",
            &format!("件数が合いません (counts do not add up): {m}"),
            serde_json::json!({}),
        );
    }
    let mut summary = summary(batch, &totals, counts.clone(), delivery, timing)?;
    summary.voids = planned.voids;
    write_summary_and_report(job, dir, &summary, &outcome.rejects)?;
    log.info(
        "finished",
        "",
        serde_json::json!({"counts": &summary.counts, "this_run": summary.timing.this_run}),
    );
    Ok((totals.bytes, counts))
}

/// The documents marked issued in the ledger, a few thousand at a time.
struct IssueMarks<'a> {
    ledger: Ledger,
    job: &'a Job,
    batch: &'a str,
    /// `(record id, file, sha256)` not yet marked.
    pending: Vec<(String, String, String)>,
}

impl IssueMarks<'_> {
    fn push(&mut self, record_id: String, file: String, sha256: String) -> Result<(), BatchError> {
        self.pending.push((record_id, file, sha256));
        if self.pending.len() >= 4096 {
            self.flush()?;
        }
        Ok(())
    }

    /// Records the batch's numbers that got no document.
    fn void(&mut self, voids: &[report::Void]) -> Result<(), BatchError> {
        if voids.is_empty() {
            return Ok(());
        }
        let marks: Vec<(String, String)> = voids
            .iter()
            .map(|v| (v.record_id.clone(), v.reason.clone()))
            .collect();
        self.ledger
            .mark_void(&self.job.job.name, self.batch, &self.job.job.title, &marks)
            .map_err(|e| BatchError::Io(e.to_string()))
    }

    fn flush(&mut self) -> Result<(), BatchError> {
        self.ledger
            .mark_issued(
                &self.job.job.name,
                self.batch,
                &self.job.job.title,
                &self.pending,
            )
            .map_err(|e| BatchError::Io(e.to_string()))?;
        self.pending.clear();
        Ok(())
    }
}

/// What the one pass over the documents counted.
struct Totals {
    pages: usize,
    bytes: u64,
    first: Option<u64>,
    last: Option<u64>,
    warnings: usize,
    /// The numbers of the documents written.
    written: HashSet<u64>,
}

/// One pass over the spooled documents: the journal in plan order
/// (identical whatever the thread count), the manifests, the ledger's file
/// hashes, the counts. Returns the counts and the ledger with the last
/// marks still pending (they are made after delivery).
fn write_journal_and_manifests<'a>(
    batch: &RenderedBatch<'a>,
) -> Result<(Totals, IssueMarks<'a>), BatchError> {
    let dir = batch.dir;
    let jpath = dir.path.join("journal.jsonl");
    let mut journal = AtomicFile::create(&jpath, batch.job.output.modes().file)
        .map_err(|e| BatchError::write(&jpath, e))?;
    let mut manifests = ManifestWriter::create(&dir.path, batch.job, &batch.plan.batch)?;
    let mut issue = IssueMarks {
        ledger: Ledger::open(batch.ledger_path).map_err(|e| BatchError::Io(e.to_string()))?,
        job: batch.job,
        batch: &batch.plan.batch,
        pending: Vec::new(),
    };
    let mut totals = Totals {
        pages: 0,
        bytes: 0,
        first: None,
        last: None,
        warnings: 0,
        written: HashSet::new(),
    };
    for d in batch
        .entries
        .iter()
        .map_err(|e| BatchError::read(batch.entries.path(), e))?
    {
        let (d, w) = d.map_err(|e| BatchError::read(batch.entries.path(), e))?;
        totals.warnings += w.len();
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
        totals.pages += d.pages;
        totals.bytes += d.bytes;
        totals.first = Some(totals.first.map_or(d.number, |f| f.min(d.number)));
        totals.last = Some(totals.last.map_or(d.number, |l| l.max(d.number)));
        totals.written.insert(d.number);
        issue.push(d.record_id, d.file, d.sha256)?;
    }
    journal.commit().map_err(|e| BatchError::write(&jpath, e))?;
    manifests.commit()?;
    Ok((totals, issue))
}

/// What `plan.jsonl` says of this run directory's numbers.
struct Planned {
    /// The numbers this run directory planned (its shard's, for a shard)
    /// that got no document.
    voids: Vec<report::Void>,
    /// Every number the batch planned (all shards).
    numbered: usize,
    /// Numbers planned for other shards' documents.
    other_shards: usize,
}

/// Reads `plan.jsonl`: the numbers this run directory planned (its
/// shard's, for a shard) that got no document — records rejected after
/// their number was given (at layout, or by a template filter), each with
/// its row's reject codes — and how many numbers were planned in all and
/// for other shards.
fn planned(batch: &RenderedBatch, written: &HashSet<u64>) -> Result<Planned, BatchError> {
    let path = batch.dir.path.join(PLAN_FILE);
    // The run's own file, read as every other: regular files only, capped.
    let file = runstate::open_back(&path).map_err(|e| BatchError::read(&path, e))?;
    let mut codes: HashMap<u32, Vec<&str>> = HashMap::new();
    for r in &batch.outcome.rejects {
        let of_row = codes.entry(r.row).or_default();
        if !of_row.contains(&r.code.as_str()) {
            of_row.push(&r.code);
        }
    }
    let mut out = Planned {
        voids: Vec::new(),
        numbered: 0,
        other_shards: 0,
    };
    for line in std::io::BufRead::lines(std::io::BufReader::new(file)) {
        let line = line.map_err(|e| BatchError::read(&path, e))?;
        let doc: PlannedDoc = serde_json::from_str(&line)
            .map_err(|e| BatchError::Input(format!("{}: {e}", path.display())))?;
        out.numbered += 1;
        if !doc.in_shard(batch.shard) {
            out.other_shards += 1;
        } else if !written.contains(&doc.number) {
            out.voids.push(report::Void {
                number: doc.number,
                reason: codes.get(&doc.row).map(|c| c.join(" ")).unwrap_or_default(),
                record_id: doc.record_id,
                row: doc.row,
            });
        }
    }
    Ok(out)
}

/// The batch's counts (see `run::counts` for what each means), each found
/// from its own source so that their sums check something: rows from the
/// reader, accepted rows from the plan and the skipped list, rejected rows
/// from the rejects, documents from the manifest pass.
fn counts(batch: &RenderedBatch, totals: &Totals, planned: &Planned) -> Counts {
    let outcome = batch.outcome;
    let main_file = check::file_label(batch.input.unwrap_or(&batch.job.input.file));
    let is_main = |r: &Reject| r.file == main_file && r.sheet == outcome.sheet;
    // A voided record's row has a reject too (from layout), but it was
    // accepted by the check and given a number.
    let void_rows: HashSet<u32> = planned.voids.iter().map(|v| v.row).collect();
    let main_rows: HashSet<u32> = outcome
        .rejects
        .iter()
        .filter(|r| is_main(r) && !void_rows.contains(&r.row))
        .map(|r| r.row)
        .collect();
    let joined_rows: HashSet<(&str, &str, u32)> = outcome
        .rejects
        .iter()
        .filter(|r| !is_main(r))
        .map(|r| (r.file.as_str(), r.sheet.as_str(), r.row))
        .collect();
    Counts {
        rows_read: outcome.rows_read,
        rows_accepted: planned.numbered + outcome.skipped.len(),
        rows_rejected: main_rows.len(),
        joined_rows_rejected: joined_rows.len(),
        documents: batch.entries.len(),
        documents_skipped: outcome.skipped.len(),
        documents_voided: planned.voids.len(),
        documents_in_other_shards: planned.other_shards,
        pages: totals.pages,
        rejects: outcome.rejects.len(),
        warnings: totals.warnings,
    }
}

/// The batch's `summary.json` content.
fn summary(
    batch: &RenderedBatch,
    totals: &Totals,
    counts: Counts,
    delivery: serde_json::Value,
    timing: report::Timing,
) -> Result<Summary, BatchError> {
    let (job, plan, dir, outcome) = (batch.job, batch.plan, batch.dir, batch.outcome);
    let documents = batch.entries.len();
    let total_bytes = totals.bytes;
    Ok(Summary {
        job: job.job.name.clone(),
        kind: job.job.title.clone(),
        batch: plan.batch.clone(),
        issue_date: job.batch.issue_date.clone(),
        shard: batch.shard.map(|(k, n)| format!("{}/{n}", k + 1)),
        counts,
        version: env!("CARGO_PKG_VERSION").to_string(),
        input_file: check::file_label(batch.input.unwrap_or(&job.input.file)),
        rejects_by_code: report::by_code(&outcome.rejects),
        numbers: serde_json::json!({
            "series": plan.series,
            "fiscal_year": plan.fiscal_year,
            "first": totals.first,
            "last": totals.last,
        }),
        inputs: plan.inputs.clone(),
        delivery,
        outputs: serde_json::json!({
            "documents_bytes": total_bytes,
            "bytes_per_document": if documents == 0 { 0 } else { total_bytes / documents as u64 },
            "manifest.json": file_sha256(&dir.path.join("manifest.json"))?,
            "manifest.csv": file_sha256(&dir.path.join("manifest.csv"))?,
            "rejects.csv": file_sha256(&dir.path.join("rejects.csv"))?,
            "rejects.xlsx": file_sha256(&dir.path.join("rejects.xlsx"))?,
        }),
        voids: Vec::new(),
        skipped: outcome.skipped.clone(),
        timing,
    })
}

/// Writes `report.html`, then `summary.json`: the summary last, as it marks
/// the batch finished.
fn write_summary_and_report(
    job: &Job,
    dir: &RunDir,
    summary: &Summary,
    rejects: &[Reject],
) -> Result<(), BatchError> {
    let modes = job.output.modes();
    let html = report::html(summary, rejects, &dir.path);
    let rpath = dir.path.join("report.html");
    crate::files::write_atomic_mode(&rpath, html.as_bytes(), modes.file)
        .map_err(|e| BatchError::write(&rpath, e))?;
    let mut json = serde_json::to_vec_pretty(summary).map_err(|e| BatchError::Io(e.to_string()))?;
    json.push(b'\n');
    let spath = dir.path.join("summary.json");
    crate::files::write_atomic_mode(&spath, &json, modes.file)
        .map_err(|e| BatchError::write(&spath, e))?;
    Ok(())
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
