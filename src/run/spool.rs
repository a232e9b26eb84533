//! Lists a batch writes to disk instead of holding them in memory.
//!
//! A batch streams its records through planning and rendering in chunks,
//! so the two lists that grow with the number of documents live in files:
//!
//! * [`PlanFile`] — `plan.jsonl` in the run directory, one
//!   [`PlannedDoc`] per line in record order. A resumed run plans again
//!   (numbers come back from the ledger, names are a function of the
//!   records) and checks each line against what was planned before; a
//!   difference stops the run. A line torn by a crash is planned again.
//! * [`EntrySpool`] — the manifest entries of the run's documents in plan
//!   order, written while rendering and read back once by the finalize
//!   stage (journal, manifests, ledger, delivery). It is a dot-file ending
//!   in `.tmp`, so a killed run's spool is removed by the next run.

use crate::check::Record;
use crate::mail::manifest::ManifestEntry;
use crate::run::runstate::{open_back, PlannedDoc};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the plan's document list in a run directory.
pub const PLAN_FILE: &str = "plan.jsonl";

/// Why a planned document could not be recorded.
#[derive(Debug)]
pub enum PlanError {
    /// Reading or writing `plan.jsonl` failed.
    Io(std::io::Error),
    /// The document differs from the one planned by an earlier execution
    /// (1-based line of `plan.jsonl`).
    Differs(u64),
}

impl From<std::io::Error> for PlanError {
    fn from(e: std::io::Error) -> Self {
        PlanError::Io(e)
    }
}

/// `plan.jsonl`: verified against while an earlier execution's lines last,
/// appended to after them.
pub struct PlanFile {
    /// The earlier lines still to compare with.
    earlier: Option<BufReader<std::io::Take<File>>>,
    /// Where new lines go, once the earlier ones are used up.
    writer: Option<BufWriter<File>>,
    path: PathBuf,
    mode: u32,
    /// Bytes of the file confirmed so far.
    offset: u64,
    line: u64,
    buf: String,
}

impl PlanFile {
    /// Opens (or creates) `plan.jsonl` in `dir`; files are created with `mode`.
    pub fn open(dir: &Path, mode: u32) -> std::io::Result<PlanFile> {
        let path = dir.join(PLAN_FILE);
        let earlier = match open_back(&path) {
            Ok(f) => Some(BufReader::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(PlanFile {
            earlier,
            writer: None,
            path,
            mode,
            offset: 0,
            line: 0,
            buf: String::new(),
        })
    }

    /// Records the next planned document.
    pub fn push(&mut self, doc: &PlannedDoc) -> Result<(), PlanError> {
        let mut line = serde_json::to_string(doc).map_err(std::io::Error::other)?;
        line.push('\n');
        self.line += 1;
        if let Some(r) = &mut self.earlier {
            self.buf.clear();
            let n = r.read_line(&mut self.buf)?;
            if n > 0 && self.buf.ends_with('\n') {
                if self.buf != line {
                    return Err(PlanError::Differs(self.line));
                }
                self.offset += n as u64;
                return Ok(());
            }
            // The earlier execution stopped here (maybe mid-line).
            self.earlier = None;
        }
        if self.writer.is_none() {
            let mut f = crate::files::open_for_write(
                &self.path,
                crate::files::WriteMode::Update,
                self.mode,
            )?;
            f.set_len(self.offset)?;
            f.seek(SeekFrom::Start(self.offset))?;
            self.writer = Some(BufWriter::new(f));
        }
        if let Some(w) = &mut self.writer {
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// Flushes what was appended; a plan shorter than an earlier
    /// execution's is an error (the input lost rows).
    pub fn finish(mut self) -> Result<(), PlanError> {
        if let Some(r) = &mut self.earlier {
            self.buf.clear();
            if r.read_line(&mut self.buf)? > 0 {
                return Err(PlanError::Differs(self.line + 1));
            }
        }
        if let Some(w) = &mut self.writer {
            w.flush()?;
        }
        if self.writer.is_none() && self.earlier.is_none() && self.line == 0 {
            // No document: still leave an (empty) plan behind.
            crate::files::create_file(&self.path, self.mode)?;
        }
        Ok(())
    }
}

/// The manifest entries of a run, in plan order, on disk.
pub struct EntrySpool {
    writer: BufWriter<File>,
    path: PathBuf,
    count: usize,
}

impl EntrySpool {
    /// Creates an empty spool in `dir` (replacing an old one).
    pub fn create(dir: &Path, mode: u32) -> std::io::Result<EntrySpool> {
        let path = dir.join(".entries.jsonl.tmp");
        let _ = std::fs::remove_file(&path);
        let file = crate::files::create_file(&path, mode)?;
        Ok(EntrySpool {
            writer: BufWriter::new(file),
            path,
            count: 0,
        })
    }

    /// Appends one entry and its document's warnings (and its record, for
    /// the delivery stage, which then need not read the input again).
    pub fn push(
        &mut self,
        e: &ManifestEntry,
        warnings: &[String],
        record: Option<&Record>,
    ) -> std::io::Result<()> {
        let line = Spooled {
            entry: e.clone(),
            warnings: warnings.to_vec(),
            record: record.cloned(),
        };
        serde_json::to_writer(&mut self.writer, &line).map_err(std::io::Error::other)?;
        self.writer.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Ends writing; the entries can then be read back any number of times.
    pub fn finish(mut self) -> std::io::Result<Entries> {
        self.writer.flush()?;
        Ok(Entries {
            path: self.path,
            count: self.count,
        })
    }
}

/// One line of the spool.
#[derive(serde::Serialize, serde::Deserialize)]
struct Spooled {
    #[serde(flatten)]
    entry: ManifestEntry,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record: Option<Record>,
}

/// One line of the entries spool: the entry and its document's warnings.
pub fn parse_entry(line: &str) -> std::io::Result<(ManifestEntry, Vec<String>)> {
    parse_line(line).map(|(e, w, _)| (e, w))
}

/// One line of the entries spool with its record, if it was spooled.
pub fn parse_line(line: &str) -> std::io::Result<(ManifestEntry, Vec<String>, Option<Record>)> {
    serde_json::from_str::<Spooled>(line)
        .map(|s| (s.entry, s.warnings, s.record))
        .map_err(std::io::Error::other)
}

/// A finished [`EntrySpool`].
#[derive(Debug)]
pub struct Entries {
    path: PathBuf,
    count: usize,
}

impl Entries {
    /// The spool file (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Reads the entries in order, each with its document's warnings.
    pub fn iter(
        &self,
    ) -> std::io::Result<impl Iterator<Item = std::io::Result<(ManifestEntry, Vec<String>)>>> {
        let r = BufReader::new(open_back(&self.path)?);
        Ok(r.lines().map(|l| l.and_then(|l| parse_entry(&l))))
    }

    /// All entries in memory (for the stages that need them together).
    pub fn load(&self) -> std::io::Result<Vec<ManifestEntry>> {
        self.iter()?.map(|r| r.map(|(e, _)| e)).collect()
    }

    /// Deletes the spool file.
    pub fn remove(self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: u64) -> PlannedDoc {
        PlannedDoc {
            number: n,
            record_id: format!("R{n}"),
            file: format!("R{n}.pdf"),
            row: n as u32 + 1,
            shard_key: n * 7,
        }
    }

    #[test]
    fn plan_is_written_then_verified_and_a_torn_tail_is_replanned() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = PlanFile::open(dir.path(), 0o600).unwrap();
        for n in 1..=3 {
            p.push(&doc(n)).unwrap();
        }
        p.finish().unwrap();
        let full = std::fs::read(dir.path().join(PLAN_FILE)).unwrap();
        assert_eq!(full.iter().filter(|&&b| b == b'\n').count(), 3);

        // Same plan again: verified, file unchanged.
        let mut p = PlanFile::open(dir.path(), 0o600).unwrap();
        for n in 1..=3 {
            p.push(&doc(n)).unwrap();
        }
        p.finish().unwrap();
        assert_eq!(std::fs::read(dir.path().join(PLAN_FILE)).unwrap(), full);

        // A crash tore the last line: it is planned again, byte-identical.
        std::fs::write(dir.path().join(PLAN_FILE), &full[..full.len() - 5]).unwrap();
        let mut p = PlanFile::open(dir.path(), 0o600).unwrap();
        for n in 1..=3 {
            p.push(&doc(n)).unwrap();
        }
        p.finish().unwrap();
        assert_eq!(std::fs::read(dir.path().join(PLAN_FILE)).unwrap(), full);

        // A different document is refused, naming the line.
        let mut p = PlanFile::open(dir.path(), 0o600).unwrap();
        p.push(&doc(1)).unwrap();
        match p.push(&doc(9)) {
            Err(PlanError::Differs(2)) => {}
            other => panic!("{other:?}"),
        }
        // Fewer documents than planned before is refused too.
        let mut p = PlanFile::open(dir.path(), 0o600).unwrap();
        p.push(&doc(1)).unwrap();
        assert!(matches!(p.finish(), Err(PlanError::Differs(2))));
    }

    #[test]
    fn spool_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = EntrySpool::create(dir.path(), 0o600).unwrap();
        let entry = |n: u64| ManifestEntry {
            file: format!("{n}.pdf"),
            sha256: "00".repeat(32),
            bytes: n * 10,
            pages: 1,
            record_id: format!("R{n}"),
            number: n,
            kind: "在職証明書".into(),
            source_file: "in.xlsx".into(),
            source_sheet: "申請".into(),
            source_row: n as u32,
        };
        for n in 0..5 {
            let w: Vec<String> = (0..n % 2).map(|i| format!("w{i}")).collect();
            s.push(&entry(n), &w, None).unwrap();
        }
        let e = s.finish().unwrap();
        assert_eq!(e.len(), 5);
        let back = e.load().unwrap();
        assert_eq!(back, (0..5).map(entry).collect::<Vec<_>>());
        let warned: Vec<usize> = e.iter().unwrap().map(|r| r.unwrap().1.len()).collect();
        assert_eq!(warned, [0, 1, 0, 1, 0]);
        e.remove().unwrap();
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}
