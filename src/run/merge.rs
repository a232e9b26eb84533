//! Merging shards: the run directories of all N shards of a batch become
//! the batch's own run directory, identical to a run on one machine (but
//! for timings).
//!
//! Uses `location`, `finalize` and the shards' run state.

use crate::check::Reject;
use crate::error::BatchError;
use crate::files::{sha256_hex, AtomicFile};
use crate::job::Job;
use crate::mail::manifest::ManifestEntry;
use crate::run::document::Assets;
use crate::run::finalize::{finalize, sort_rejects, RenderedBatch};
use crate::run::inputs::read_and_check;
use crate::run::location::{check_batch_id, ledger_path, run_dir_of};
use crate::run::plan::file_sha256;
use crate::run::report;
use crate::run::runlog::RunLog;
use crate::run::runstate::{self, Journal, Plan, RunDir, RunLock};
use crate::run::spool::{Entries, EntrySpool};
use crate::run::{Outcome, RunOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Combines the run directories of all N shards of a batch into the batch's
/// own run directory, identical to a run on one machine (but for timings).
pub fn merge(
    job: &Job,
    opts: &RunOptions,
    shards: u64,
    log: &RunLog,
) -> Result<Outcome, BatchError> {
    let started = std::time::Instant::now();
    let batch_id = opts
        .batch_id
        .clone()
        .unwrap_or_else(|| job.batch.issue_date.clone());
    check_batch_id(&batch_id)?;
    if shards == 0 {
        return Err(BatchError::Input(
            "--shards は 1 以上です (need at least one shard)".into(),
        ));
    }
    let modes = job.output.modes();
    let out_root = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| job.output.dir.clone());
    let mut read = ShardsRead::default();
    for k in 0..shards {
        let sdir = RunDir {
            path: run_dir_of(&out_root, job, &batch_id, Some((k, shards))),
        };
        read_shard(&sdir, (k, shards), &mut read)?;
    }
    let (plan, _) = read.plan.expect("at least one shard");
    let first_shard = run_dir_of(&out_root, job, &batch_id, Some((0, shards)));
    let dir = RunDir {
        path: run_dir_of(&out_root, job, &batch_id, None),
    };
    let _lock = open_merged_run_dir(job, &dir, log)?;
    refuse_another_batch(&dir, &plan)?;
    plan.save(&dir.path, modes.file)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    copy_plan_lines(&first_shard, &dir, modes.file)?;
    let (entries, warnings) = copy_documents(job, &dir, read.documents)?;
    // The rejects workbook shows each rejected row's original values: read
    // them from the input again (the shards read the same file).
    // Only the sheet's name and the rows' texts are wanted: the rejects
    // themselves are the shards' (glyph rejects included), so no fonts.
    let checked = read_and_check(job, opts.input.as_deref(), None)?;
    let mut rejects = read.rejects;
    sort_rejects(&mut rejects, &checked.sheet);
    let outcome = Outcome {
        run_dir: dir.path.clone(),
        rows_read: read.rows_read,
        documents: entries.len(),
        document_bytes: 0,
        rejects,
        warnings,
        already_finished: false,
        rendered_now: 0,
        skipped: std::mem::take(&mut read.skipped),
        sheet: checked.sheet.clone(),
        counts: Default::default(),
        // Merging copies the shards' documents: none is rendered here.
        this_run: crate::run::counts::ThisRun {
            documents_issued: 0,
            documents_reused: entries.len(),
        },
    };
    let timing = report::Timing {
        threads: 1,
        this_run: outcome.this_run,
        ..Default::default()
    };
    let ledger = ledger_path(job, opts.ledger.as_deref(), &out_root);
    let assets = Assets::load(job, opts.fonts_dir.as_deref())?;
    drop(checked.records);
    let batch = RenderedBatch {
        job,
        plan: &plan,
        dir: &dir,
        outcome: &outcome,
        entries: &entries,
        originals: &checked.originals,
        assets: &assets,
        input: opts.input.as_deref(),
        shard: None,
        ledger_path: &ledger,
        started,
    };
    let (bytes, counts) = finalize(&batch, timing, log)?;
    entries
        .remove()
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok(Outcome {
        document_bytes: bytes,
        counts,
        ..outcome
    })
}

/// Refuses to merge into a run directory that holds a batch planned from
/// other inputs (or documents without a plan): merging would mix the two
/// batches' documents and mark the other batch's numbers issued. The same
/// plan merged again is fine (merging is idempotent).
fn refuse_another_batch(dir: &RunDir, plan: &Plan) -> Result<(), BatchError> {
    let existing =
        Plan::load(&dir.path).map_err(|e| BatchError::read(&dir.path.join("plan.json"), e))?;
    let has_documents = std::fs::read_dir(dir.docs())
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    let other = match &existing {
        Some(p) => p != plan,
        None => has_documents,
    };
    if other {
        return Err(BatchError::Input(format!(
            "このフォルダには別の入力から作ったバッチがあります。分割の結果をまとめると混ざるため中止しました。\
             まとめ直すには、前のバッチを別の場所に移すか、別のバッチID (--batch-id) で実行してください \
             (the run directory holds a batch planned from other inputs; refusing to merge shards into it): {}",
            dir.path.display()
        )));
    }
    Ok(())
}

/// Creates and locks the batch's own run directory and attaches its log;
/// the lock holds until the returned value is dropped.
fn open_merged_run_dir(job: &Job, dir: &RunDir, log: &RunLog) -> Result<RunLock, BatchError> {
    let modes = job.output.modes();
    crate::files::create_dir_with(&dir.path, modes.dir)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    let lock = RunLock::acquire(&dir.path).map_err(|e| match e {
        runstate::LockError::Held(h) => BatchError::Locked(format!("locked by {h}")),
        runstate::LockError::Io(e) => BatchError::write(&dir.path, e),
    })?;
    log.attach(&dir.path.join("run.log"), modes.file)
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok(lock)
}

/// What the shards' run directories hold together.
#[derive(Default)]
struct ShardsRead {
    /// The plan every shard made, with the hash of its `plan.jsonl`.
    plan: Option<(Plan, String)>,
    /// Each document with its file in its shard and its warnings, by number.
    documents: BTreeMap<u64, (ManifestEntry, PathBuf, Vec<String>)>,
    /// The rejects, each once (every shard checked every row).
    rejects: Vec<Reject>,
    rows_read: usize,
    /// Requests left out as already issued (the same in every shard).
    skipped: Vec<crate::run::report::Skipped>,
}

/// Reads one finished shard `(k, n)` into `read`, refusing a shard that is
/// not finished or was planned differently from the others.
fn read_shard(
    sdir: &RunDir,
    (k, shards): (u64, u64),
    read: &mut ShardsRead,
) -> Result<(), BatchError> {
    if !sdir.is_finished() {
        return Err(BatchError::Input(format!(
            "分割 {}/{shards} が完了していません (shard not finished): {}",
            k + 1,
            sdir.path.display()
        )));
    }
    let sp = Plan::load(&sdir.path)
        .map_err(|e| BatchError::read(&sdir.path.join("plan.json"), e))?
        .ok_or_else(|| {
            BatchError::Input(format!("plan.json がありません: {}", sdir.path.display()))
        })?;
    // Every shard planned every document: the same header and lines.
    let lines = file_sha256(&sdir.path.join(crate::run::spool::PLAN_FILE))?;
    match &read.plan {
        None => read.plan = Some((sp, lines)),
        Some((p, l)) if *p == sp && *l == lines => {}
        Some(_) => {
            return Err(BatchError::Input(format!(
                "分割 {}/{shards} の計画が他と異なります (shards were planned differently): {}",
                k + 1,
                sdir.path.display()
            )))
        }
    }
    let manifest_path = sdir.path.join("manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(
        &runstate::read_back(&manifest_path).map_err(|e| BatchError::read(&manifest_path, e))?,
    )
    .map_err(|e| BatchError::Input(e.to_string()))?;
    let entries: Vec<ManifestEntry> = serde_json::from_value(manifest["documents"].clone())
        .map_err(|e| BatchError::Input(e.to_string()))?;
    let journal = Journal::read(&sdir.path)
        .map_err(|e| BatchError::read(&sdir.path.join("journal.jsonl"), e))?;
    for e in entries {
        let src = sdir.docs().join(&e.file);
        let warnings = journal
            .get(&e.file)
            .map(|j| j.warnings.clone())
            .unwrap_or_default();
        read.documents.insert(e.number, (e, src, warnings));
    }
    let summary_path = sdir.path.join("summary.json");
    let summary: serde_json::Value = serde_json::from_slice(
        &runstate::read_back(&summary_path).map_err(|e| BatchError::read(&summary_path, e))?,
    )
    .map_err(|e| BatchError::Input(e.to_string()))?;
    read.rows_read = summary["counts"]["rows_read"].as_u64().unwrap_or(0) as usize;
    // Every shard planned every request: their lists of requests left out
    // as already issued are the same.
    if let Some(skipped) = summary.get("skipped") {
        read.skipped = serde_json::from_value(skipped.clone())
            .map_err(|e| BatchError::Input(format!("{}: {e}", summary_path.display())))?;
    }
    for r in crate::run::rejects::read_rejects_csv(&sdir.path.join("rejects.csv"))? {
        if !read.rejects.contains(&r) {
            read.rejects.push(r);
        }
    }
    Ok(())
}

/// Copies the first shard's `plan.jsonl` (every shard's is the same).
fn copy_plan_lines(first_shard: &Path, dir: &RunDir, mode: u32) -> Result<(), BatchError> {
    let ppath = dir.path.join(crate::run::spool::PLAN_FILE);
    let lines_path = first_shard.join(crate::run::spool::PLAN_FILE);
    let mut plan_lines =
        runstate::open_back(&lines_path).map_err(|e| BatchError::read(&lines_path, e))?;
    let mut copy = AtomicFile::create(&ppath, mode).map_err(|e| BatchError::write(&ppath, e))?;
    std::io::copy(&mut plan_lines, &mut copy).map_err(|e| BatchError::write(&ppath, e))?;
    copy.commit().map_err(|e| BatchError::write(&ppath, e))?;
    Ok(())
}

/// Copies the shards' documents into `docs/`, each checked against its
/// manifest hash, spooling their entries in plan order (= number order);
/// returns the spool and the warnings per record id.
fn copy_documents(
    job: &Job,
    dir: &RunDir,
    documents: BTreeMap<u64, (ManifestEntry, PathBuf, Vec<String>)>,
) -> Result<(Entries, Vec<(String, String)>), BatchError> {
    let modes = job.output.modes();
    let docs_dir = dir.docs();
    crate::files::create_dir_with(&docs_dir, modes.dir)
        .map_err(|e| BatchError::write(&docs_dir, e))?;
    let mut spool =
        EntrySpool::create(&dir.path, modes.file).map_err(|e| BatchError::write(&dir.path, e))?;
    let mut warnings = Vec::new();
    for (e, src, w) in documents.into_values() {
        let bytes = runstate::read_back(&src).map_err(|err| BatchError::read(&src, err))?;
        if sha256_hex(&bytes) != e.sha256 {
            return Err(BatchError::Input(format!(
                "分割の文書がマニフェストと一致しません (shard document does not match its manifest): {}",
                src.display()
            )));
        }
        let dst = docs_dir.join(&e.file);
        crate::files::write_atomic_mode(&dst, &bytes, modes.file)
            .map_err(|err| BatchError::write(&dst, err))?;
        spool
            .push(&e, &w, None)
            .map_err(|err| BatchError::write(&dir.path, err))?;
        warnings.extend(w.into_iter().map(|m| (e.record_id.clone(), m)));
    }
    let entries = spool
        .finish()
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok((entries, warnings))
}
