//! The manifests of a run directory: `manifest.csv` and `manifest.json`,
//! one [`ManifestEntry`] per finished document, written entry by entry and
//! appearing at their names only when complete.
//!
//! A manifest entry is what the mail stage knows of a document (packages,
//! print files and `dispatch-check` read it); the run driver makes the
//! entries. May use `job`, `files` and `error`.

use crate::error::BatchError;
use crate::files::{neutralize_formula, AtomicFile};
use crate::job::Job;
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One rendered document as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ManifestEntry {
    /// File name inside `docs/`.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Number of pages.
    pub pages: usize,
    /// The record id.
    pub record_id: String,
    /// Document number within the batch's series.
    pub number: u64,
    /// Document kind (the job title).
    pub kind: String,
    /// Source file name.
    pub source_file: String,
    /// Source sheet ("" for CSV).
    pub source_sheet: String,
    /// 1-based source row.
    pub source_row: u32,
}

/// Writes `manifest.csv` and `manifest.json` one entry at a time; they
/// appear at their names when committed.
pub struct ManifestWriter {
    csv: csv::Writer<AtomicFile>,
    json: AtomicFile,
    csv_path: PathBuf,
    json_path: PathBuf,
    count: usize,
}

impl ManifestWriter {
    /// Starts both manifests of a run directory.
    pub fn create(run_dir: &Path, job: &Job, batch_id: &str) -> Result<ManifestWriter, BatchError> {
        let modes = job.output.modes();
        let csv_path = run_dir.join("manifest.csv");
        let json_path = run_dir.join("manifest.json");
        let file = AtomicFile::create(&csv_path, modes.file)
            .map_err(|e| BatchError::write(&csv_path, e))?;
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(file);
        csv.write_record([
            "file",
            "sha256",
            "bytes",
            "pages",
            "record_id",
            "number",
            "kind",
            "source_file",
            "source_sheet",
            "source_row",
        ])
        .map_err(|e| BatchError::Io(e.to_string()))?;
        let mut json = AtomicFile::create(&json_path, modes.file)
            .map_err(|e| BatchError::write(&json_path, e))?;
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        write!(
            json,
            "{{\n  \"job\": {},\n  \"kind\": {},\n  \"batch\": {},\n  \"issue_date\": {},\n  \"documents\": [",
            q(&job.job.name),
            q(&job.job.title),
            q(batch_id),
            q(&job.batch.issue_date)
        )
        .map_err(|e| BatchError::write(&json_path, e))?;
        Ok(ManifestWriter {
            csv,
            json,
            csv_path,
            json_path,
            count: 0,
        })
    }

    /// Adds one document to both manifests.
    pub fn push(&mut self, d: &ManifestEntry) -> Result<(), BatchError> {
        self.csv
            .write_record([
                &neutralize_formula(&d.file),
                d.sha256.as_str(),
                &d.bytes.to_string(),
                &d.pages.to_string(),
                &neutralize_formula(&d.record_id),
                &d.number.to_string(),
                &neutralize_formula(&d.kind),
                &neutralize_formula(&d.source_file),
                &neutralize_formula(&d.source_sheet),
                &d.source_row.to_string(),
            ])
            .map_err(|e| BatchError::Io(e.to_string()))?;
        // The layout of `serde_json`'s pretty printer, entry by entry.
        let pretty = serde_json::to_string_pretty(d).map_err(|e| BatchError::Io(e.to_string()))?;
        let sep = if self.count == 0 { "\n" } else { ",\n" };
        let mut text = String::with_capacity(pretty.len() + 64);
        text.push_str(sep);
        for (i, line) in pretty.lines().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str("    ");
            text.push_str(line);
        }
        self.json
            .write_all(text.as_bytes())
            .map_err(|e| BatchError::write(&self.json_path, e))?;
        self.count += 1;
        Ok(())
    }

    /// Finishes and renames both files into place.
    pub fn commit(self) -> Result<(), BatchError> {
        let ManifestWriter {
            csv,
            mut json,
            csv_path,
            json_path,
            count,
        } = self;
        let file = csv
            .into_inner()
            .map_err(|e| BatchError::Io(format!("{}: {e}", csv_path.display())))?;
        file.commit().map_err(|e| BatchError::write(&csv_path, e))?;
        let end = if count == 0 { "]\n}\n" } else { "\n  ]\n}\n" };
        json.write_all(end.as_bytes())
            .map_err(|e| BatchError::write(&json_path, e))?;
        json.commit().map_err(|e| BatchError::write(&json_path, e))
    }
}
