//! Where a batch lives: the batch id's rules, the run directory's name
//! (of a batch or one of its shards), the ledger's location, and clearing a
//! run directory for `--restart`.
//!
//! Uses the run state's [`RunDir`] and the job's output settings.

use crate::error::BatchError;
use crate::job::Job;
use crate::run::runstate::RunDir;
use std::path::{Path, PathBuf};

/// The run directory of a batch (or of one shard of it).
pub fn run_dir_of(
    out_root: &Path,
    job: &Job,
    batch_id: &str,
    shard: Option<(u64, u64)>,
) -> PathBuf {
    let name = match shard {
        Some((k, n)) => format!("{batch_id}.shard-{}-of-{n}", k + 1),
        None => batch_id.to_string(),
    };
    out_root.join(&job.job.name).join(name)
}

/// Validates a batch id: ASCII letters, digits, `-` and `_`, at most 64,
/// and not a Windows reserved name (`con`, `NUL`, `com1` …).
pub fn check_batch_id(batch_id: &str) -> Result<(), BatchError> {
    if batch_id.is_empty()
        || batch_id.len() > 64
        || !batch_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(BatchError::Input(format!(
            "バッチIDは64文字以内の英数字・-・_ で書きます (batch id must be ASCII letters, digits, - or _): {batch_id}"
        )));
    }
    // The batch id names a folder, which a Windows share refuses to create
    // (or silently maps to a device) for these names.
    if crate::files::is_reserved_name(batch_id) {
        return Err(BatchError::Input(format!(
            "バッチID {batch_id} は Windows の予約名のため使えません (batch id is a reserved Windows name)"
        )));
    }
    Ok(())
}

/// Removes a run directory's state and outputs for `--restart`.
pub(super) fn wipe_run_dir(dir: &RunDir) -> Result<(), BatchError> {
    for f in [
        "plan.json",
        crate::run::spool::PLAN_FILE,
        "journal.jsonl",
        "manifest.csv",
        "manifest.json",
        "rejects.csv",
        "rejects.xlsx",
        "summary.json",
        "report.html",
    ] {
        let p = dir.path.join(f);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| BatchError::write(&p, e))?;
        }
    }
    let docs = dir.docs();
    if docs.exists() {
        std::fs::remove_dir_all(&docs).map_err(|e| BatchError::write(&docs, e))?;
    }
    Ok(())
}

/// The ledger of a job: `ledger` (the `--ledger` option), the job's
/// `output.ledger`, or `<out>/<job>/ledger.sqlite` under the output root
/// (`--out` or the job's `output.dir`). `chohyo run`, `merge` and `ledger`
/// all find it here.
pub fn ledger_path(job: &Job, ledger: Option<&Path>, out_root: &Path) -> PathBuf {
    ledger
        .map(Path::to_owned)
        .or_else(|| job.ledger_path())
        .unwrap_or_else(|| out_root.join(&job.job.name).join("ledger.sqlite"))
}
