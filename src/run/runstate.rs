//! The state of a run directory: lock, plan and journal.
//!
//! * The **lock** (`run.lock`, an OS file lock) keeps two runs of the same
//!   batch from overlapping; the OS releases it when a process dies, even by
//!   `kill -9`, so a stale lock never blocks the next run.
//! * The **plan** (`plan.json`) fixes, before anything renders, which records
//!   become which documents with which numbers and file names, together with
//!   the hashes of the job, template and input it was made from. A re-run with
//!   a changed input is refused (unless `--restart`).
//! * The **journal** (`journal.jsonl`) gets one line per finished document
//!   (after its file was fsynced and renamed into place), so a resumed run
//!   renders only what is missing.
//!
//! Files are created owner-only (0600, directories 0700) unless the job says
//! otherwise.

use crate::files::{
    create_file, open_for_write, read_capped, write_atomic_mode, RegularFile, WriteMode,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Largest file of the batch's own read back (plan, journal, manifests,
/// summary, a shard's rejects and documents): 2 GB. The input limits allow
/// 1,000,000 rows, and the largest of these files, `manifest.json` or the
/// journal, takes a few hundred bytes a document; the cap is several times
/// that, and stops a file replaced by something else (a device, a huge
/// file) from being read without end.
pub(crate) const MAX_READ_BACK_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Reads a file of the batch's own whole: a regular file, at most
/// [`MAX_READ_BACK_BYTES`].
pub(crate) fn read_back(path: &Path) -> std::io::Result<Vec<u8>> {
    read_capped(path, MAX_READ_BACK_BYTES)
}

/// Opens a file of the batch's own to read it line by line: a regular file
/// (a FIFO cannot block the run), never more than [`MAX_READ_BACK_BYTES`]
/// of it read.
pub(crate) fn open_back(path: &Path) -> std::io::Result<std::io::Take<File>> {
    let f = RegularFile::open(path)?;
    f.check_size(MAX_READ_BACK_BYTES)?;
    Ok(f.file.take(MAX_READ_BACK_BYTES))
}

/// Removes temporary files a killed run left behind in `dir` (call only
/// while holding the run's lock).
pub fn remove_stale_temporaries(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The lock of a run directory, held until dropped (or the process dies).
pub struct RunLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another live process holds it.
    Held(String),
    /// The lock file could not be opened.
    Io(std::io::Error),
}

impl RunLock {
    /// Takes the lock of `dir` without waiting.
    pub fn acquire(dir: &Path) -> Result<RunLock, LockError> {
        let path = dir.join("run.lock");
        let mut file = open_for_write(&path, WriteMode::Update, 0o600).map_err(LockError::Io)?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.set_len(0);
                let _ = writeln!(file, "pid {}", std::process::id());
                Ok(RunLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                // "pid N": a few bytes; whatever else is there is not read.
                let holder = read_capped(&path, 64).unwrap_or_default();
                Err(LockError::Held(
                    String::from_utf8_lossy(&holder).trim().to_string(),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(LockError::Io(e)),
        }
    }
}

/// One planned document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlannedDoc {
    /// Document number (from the ledger).
    pub number: u64,
    /// Record id.
    pub record_id: String,
    /// File name in `docs/`.
    pub file: String,
    /// 1-based source row.
    pub row: u32,
    /// Shard this document belongs to when the batch is split N ways (`shard_of`).
    pub shard_key: u64,
}

impl PlannedDoc {
    /// Whether the document is rendered by `shard` (`(k, n)`, 0-based; none:
    /// the whole batch).
    pub fn in_shard(&self, shard: Option<(u64, u64)>) -> bool {
        shard.is_none_or(|(k, n)| self.shard_key % n == k)
    }
}

/// The plan of a batch (`plan.json`): what it is made from and its number
/// series. Its documents, one per line, are in `plan.jsonl` (see
/// [`crate::run::spool::PlanFile`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Job name.
    pub job: String,
    /// Batch id.
    pub batch: String,
    /// SHA-256 of the job file, template and input file, by role.
    pub inputs: BTreeMap<String, String>,
    /// Number series and fiscal year of the numbers.
    pub series: String,
    /// Fiscal year of the numbers.
    pub fiscal_year: i32,
}

impl Plan {
    /// Reads `plan.json` of a run directory, if there is one.
    pub fn load(dir: &Path) -> std::io::Result<Option<Plan>> {
        let path = dir.join("plan.json");
        match read_back(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `plan.json` atomically.
    pub fn save(&self, dir: &Path, mode: u32) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        write_atomic_mode(&dir.join("plan.json"), &bytes, mode)
    }
}

/// The shard (0-based, of `n`) a record id falls into: a stable hash, so
/// every machine computes the same partition.
pub fn shard_key(record_id: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(record_id.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// One finished document, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// File name in `docs/`.
    pub file: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Pages.
    pub pages: usize,
    /// Layout warnings of the document (so a resumed batch reports them too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The append-only journal of finished documents.
pub struct Journal {
    file: File,
    unsynced: usize,
}

impl Journal {
    /// Reads the journal of `dir` (a torn last line from a crash is ignored).
    pub fn read(dir: &Path) -> std::io::Result<BTreeMap<String, JournalEntry>> {
        let path = dir.join("journal.jsonl");
        let f = match open_back(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(e),
        };
        let mut out = BTreeMap::new();
        for line in BufReader::new(f).lines() {
            let line = line?;
            if let Ok(e) = serde_json::from_str::<JournalEntry>(&line) {
                out.insert(e.file.clone(), e);
            }
        }
        Ok(out)
    }

    /// Opens the journal of `dir` for appending.
    pub fn open(dir: &Path, mode: u32) -> std::io::Result<Journal> {
        let file = open_for_write(&dir.join("journal.jsonl"), WriteMode::Append, mode)?;
        Ok(Journal { file, unsynced: 0 })
    }

    /// Appends one entry; syncs every 64 entries (a lost tail only means
    /// those documents are checked again on resume).
    pub fn append(&mut self, e: &JournalEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.unsynced += 1;
        if self.unsynced >= 64 {
            self.sync()?;
        }
        Ok(())
    }

    /// Flushes the journal to disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.unsynced = 0;
        self.file.sync_data()
    }
}

/// Writes documents durably in groups: each file goes to a temporary name;
/// every `group` files (and at [`DocWriter::finish`]) the file system is
/// synced once, the files are renamed to their final names and journaled,
/// and the journal is synced. So a final name never holds a partial file,
/// a journaled document is on disk, and the cost is one sync per group
/// instead of one per file.
pub struct DocWriter {
    dir: PathBuf,
    mode: u32,
    group: usize,
    state: std::sync::Mutex<(Vec<Pending>, Journal)>,
}

/// A written document waiting for its group's sync: temporary path, final
/// path, journal entry.
type Pending = (PathBuf, PathBuf, JournalEntry);

/// Flushes file data of the whole file system holding `dir` (Linux
/// `syncfs`); elsewhere, each file is synced by the caller.
fn sync_filesystem(dir: &Path, files: &[PathBuf]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let _ = files;
        let d = File::open(dir)?;
        // SAFETY: syncfs only reads the descriptor, which stays open for the call.
        let rc = unsafe { libc::syncfs(d.as_raw_fd()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        for f in files {
            File::open(f)?.sync_all()?;
        }
        Ok(())
    }
}

impl DocWriter {
    /// A writer into `dir`, journaling into `journal`.
    pub fn new(dir: &Path, mode: u32, journal: Journal, group: usize) -> DocWriter {
        DocWriter {
            dir: dir.to_owned(),
            mode,
            group: group.max(1),
            state: std::sync::Mutex::new((Vec::new(), journal)),
        }
    }

    /// Writes one document (to its temporary name until the group is synced).
    pub fn write(&self, entry: JournalEntry, bytes: &[u8]) -> std::io::Result<()> {
        let fin = self.dir.join(&entry.file);
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", entry.file, std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        {
            let mut f = create_file(&tmp, self.mode)?;
            f.write_all(bytes)?;
        }
        let full = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.0.push((tmp, fin, entry));
            st.0.len() >= self.group
        };
        if full {
            self.flush()?;
        }
        Ok(())
    }

    /// Syncs, renames and journals everything written so far.
    pub fn flush(&self) -> std::io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.0.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut st.0);
        let tmps: Vec<PathBuf> = pending.iter().map(|p| p.0.clone()).collect();
        sync_filesystem(&self.dir, &tmps)?;
        for (tmp, fin, _) in &pending {
            if let Ok(meta) = std::fs::symlink_metadata(fin) {
                if meta.file_type().is_symlink() || meta.is_dir() {
                    return Err(std::io::Error::other(format!(
                        "出力先がシンボリックリンクかフォルダです (target is a symlink or a directory): {}",
                        fin.display()
                    )));
                }
            }
            std::fs::rename(tmp, fin)?;
        }
        File::open(&self.dir)?.sync_all()?;
        for (_, _, e) in &pending {
            st.1.append(e)?;
        }
        st.1.sync()
    }

    /// Flushes the last group.
    pub fn finish(self) -> std::io::Result<()> {
        self.flush()
    }
}

/// Paths of a run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
}

impl RunDir {
    /// `docs/`.
    pub fn docs(&self) -> PathBuf {
        self.path.join("docs")
    }

    /// Whether the batch finished (its summary is written last of all).
    pub fn is_finished(&self) -> bool {
        self.path.join("summary.json").is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let a = RunLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            RunLock::acquire(dir.path()),
            Err(LockError::Held(_))
        ));
        drop(a);
        assert!(RunLock::acquire(dir.path()).is_ok());
    }

    #[test]
    fn journal_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), 0o600).unwrap();
        let e = JournalEntry {
            warnings: Vec::new(),
            file: "a.pdf".into(),
            sha256: "00".into(),
            bytes: 1,
            pages: 1,
        };
        j.append(&e).unwrap();
        j.sync().unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("journal.jsonl"))
            .unwrap();
        f.write_all(b"{\"file\":\"b.p").unwrap();
        let read = Journal::read(dir.path()).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read["a.pdf"], e);
    }

    #[test]
    fn shard_keys_are_stable() {
        // The first 8 bytes of SHA-256 of the id, big-endian. Pinned: a
        // different hash would move records between the shards of every
        // sharded batch.
        assert_eq!(shard_key("R2025-0001"), 0x23fe_d246_7b16_6f3f);
        assert_eq!(shard_key("R2025-0002"), 0xcb13_9e58_c848_239c);
        assert_eq!(shard_key("R2025-0047"), 0xafa9_b147_3a90_9a2b);
    }
}
