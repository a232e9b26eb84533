//! Where a batch lives: the batch id's rules, the run directory's name
//! (of a batch or one of its shards), the ledger's location, and moving an
//! earlier run aside for `--restart`.
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

/// Moves everything an earlier execution left in a run directory (but the
/// lock and the log, which this execution holds) into a new sibling folder
/// `<run dir>.replaced-<UTC time>/`, for `--restart`: the earlier batch stays
/// whole and can be recovered; nothing is deleted. Returns that folder.
pub(super) fn move_aside(dir: &RunDir, mode: u32) -> Result<PathBuf, BatchError> {
    let name = dir
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // When it was replaced, for the operator: wall-clock time is right here.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let stamp = chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default();
    let mut aside = dir.path.with_file_name(format!("{name}.replaced-{stamp}"));
    let mut n = 1;
    while std::fs::symlink_metadata(&aside).is_ok() {
        n += 1;
        aside = dir
            .path
            .with_file_name(format!("{name}.replaced-{stamp}-{n}"));
    }
    crate::files::create_dir_with(&aside, mode).map_err(|e| BatchError::write(&aside, e))?;
    let entries = std::fs::read_dir(&dir.path).map_err(|e| BatchError::read(&dir.path, e))?;
    let mut names = Vec::new();
    for e in entries {
        names.push(e.map_err(|e| BatchError::read(&dir.path, e))?.file_name());
    }
    names.sort();
    for n in names
        .into_iter()
        .filter(|n| n != "run.lock" && n != "run.log")
    {
        let to = aside.join(&n);
        std::fs::rename(dir.path.join(&n), &to).map_err(|e| BatchError::write(&to, e))?;
    }
    Ok(aside)
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
