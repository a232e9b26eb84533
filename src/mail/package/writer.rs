//! [`PackageWriter`]: one group's zip(s), streamed part by part, and
//! `packages.json` for the batch. See the stage's module docs for the zip's
//! layout and how it is split.
//!
//! Uses the package's options, entries, manifest rows and hashing, and
//! [`crate::files`] for safe file names and atomic writes.

use crate::error::BatchError;
use crate::files::sanitize_file_name;
use crate::mail::package::entry::{PackageEntry, PackageInfo, PackagesFile};
use crate::mail::package::entry_options::entry_options;
use crate::mail::package::hash::{sha256_reader, HashingWriter};
use crate::mail::package::manifest::{csv_header, csv_row};
use crate::mail::package::options::PackageOptions;
use crate::mail::package::{
    DOCS_PREFIX, MANIFEST_CSV, MANIFEST_FORMAT, MANIFEST_JSON, PACKAGES_FORMAT, PACKAGES_JSON,
};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use zip::ZipWriter;

fn io_err(path: &Path, e: impl std::fmt::Display) -> BatchError {
    BatchError::Io(format!(
        "書き込めません (cannot write) {}: {e}",
        path.display()
    ))
}
/// The zip being written.
struct Part {
    name: String,
    number: u32,
    tmp: PathBuf,
    zip: ZipWriter<BufWriter<File>>,
    csv_spool_path: PathBuf,
    csv_spool: csv::Writer<BufWriter<File>>,
    json_spool_path: PathBuf,
    json_spool: BufWriter<File>,
    documents: usize,
    document_bytes: u64,
}

/// Writes one group's zip(s), streaming. See the module docs.
pub struct PackageWriter {
    dir: PathBuf,
    group: String,
    stem: String,
    opts: PackageOptions,
    current: Option<Part>,
    next_part: u32,
    done: Vec<PackageInfo>,
}

impl PackageWriter {
    /// Starts the packages of `group` in `dir` (created if missing).
    pub fn create(dir: &Path, group: &str, opts: &PackageOptions) -> Result<Self, BatchError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        Ok(PackageWriter {
            dir: dir.to_path_buf(),
            group: group.to_string(),
            stem: sanitize_file_name(group),
            opts: opts.clone(),
            current: None,
            next_part: 1,
            done: Vec::new(),
        })
    }

    fn open_part(&mut self) -> Result<(), BatchError> {
        let number = self.next_part;
        self.next_part += 1;
        let name = if self.opts.splits() {
            format!("{}-{number:03}.zip", self.stem)
        } else {
            format!("{}.zip", self.stem)
        };
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let csv_spool_path = self.dir.join(format!(".{name}.csv.tmp"));
        let json_spool_path = self.dir.join(format!(".{name}.json.tmp"));
        let mode = self.opts.file_mode;
        // Owner-only from the first byte (the zip keeps its mode when it is
        // renamed into place); a stale temporary file of a killed run is
        // replaced, never written through.
        let create = |p: &Path| {
            let _ = std::fs::remove_file(p);
            crate::files::create_file(p, mode)
                .map(BufWriter::new)
                .map_err(|e| io_err(p, e))
        };
        let zip = ZipWriter::new(create(&tmp)?);
        let mut csv_spool = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(create(&csv_spool_path)?);
        csv_spool
            .write_record(csv_header(self.opts.include_names))
            .map_err(|e| io_err(&csv_spool_path, e))?;
        let json_spool = create(&json_spool_path)?;
        self.current = Some(Part {
            name,
            number,
            tmp,
            zip,
            csv_spool_path,
            csv_spool,
            json_spool_path,
            json_spool,
            documents: 0,
            document_bytes: 0,
        });
        Ok(())
    }

    /// Whether a document of `size` bytes must start a new part.
    fn needs_new_part(&self, size: u64) -> bool {
        let Some(p) = &self.current else {
            return true;
        };
        if p.documents == 0 {
            return false;
        }
        self.opts.max_documents.is_some_and(|m| p.documents >= m)
            || self
                .opts
                .max_bytes
                .is_some_and(|m| p.document_bytes + size > m)
    }

    /// Adds one document from a file on disk, streamed.
    pub fn add_file(&mut self, entry: &PackageEntry, path: &Path) -> Result<(), BatchError> {
        let mut f = File::open(path).map_err(|e| {
            BatchError::Io(format!(
                "文書を読めません (cannot read document) {}: {e}",
                path.display()
            ))
        })?;
        let size = f.metadata().map_err(|e| io_err(path, e))?.len();
        self.add_reader(entry, &mut f, size)
    }

    /// Adds one document handed in as bytes.
    pub fn add_bytes(&mut self, entry: &PackageEntry, bytes: &[u8]) -> Result<(), BatchError> {
        self.add_reader(entry, &mut std::io::Cursor::new(bytes), bytes.len() as u64)
    }

    fn add_reader(
        &mut self,
        entry: &PackageEntry,
        r: &mut impl Read,
        size: u64,
    ) -> Result<(), BatchError> {
        let name_problem = entry.file.is_empty()
            || entry.file.contains(['/', '\\'])
            || entry.file == "."
            || entry.file == "..";
        if name_problem {
            return Err(BatchError::Input(format!(
                "パッケージに入れられないファイル名です (file name not allowed in a package): {:?}",
                entry.file
            )));
        }
        if self.needs_new_part(size) {
            if self.current.is_some() {
                self.finish_part()?;
            }
            self.open_part()?;
        }
        let options = entry_options(&self.opts);
        let names = self.opts.include_names;
        let Some(part) = self.current.as_mut() else {
            return Err(BatchError::Io("internal: no open package part".into()));
        };
        let zip_path = self.dir.join(&part.name);
        part.zip
            .start_file(format!("{DOCS_PREFIX}{}", entry.file), options)
            .map_err(|e| io_err(&zip_path, format!("{}: {e}", entry.file)))?;
        let mut hw = HashingWriter::new(&mut part.zip);
        std::io::copy(r, &mut hw).map_err(|e| io_err(&zip_path, format!("{}: {e}", entry.file)))?;
        let (sha, bytes) = hw.finish();
        if (!entry.sha256.is_empty() && entry.sha256 != sha)
            || (entry.bytes != 0 && entry.bytes != bytes)
        {
            return Err(BatchError::Io(format!(
                "文書が出力後に変わっています (document changed after it was written): {}",
                entry.file
            )));
        }
        let mut listed = entry.clone();
        listed.sha256 = sha;
        listed.bytes = bytes;
        if !names {
            listed.recipient_name = None;
        }
        part.csv_spool
            .write_record(csv_row(&listed, names))
            .map_err(|e| io_err(&part.csv_spool_path, e))?;
        let line = serde_json::to_string(&listed).map_err(|e| io_err(&part.json_spool_path, e))?;
        let sep = if part.documents == 0 { "\n" } else { ",\n" };
        part.json_spool
            .write_all(sep.as_bytes())
            .and_then(|_| part.json_spool.write_all(line.as_bytes()))
            .map_err(|e| io_err(&part.json_spool_path, e))?;
        part.documents += 1;
        part.document_bytes += bytes;
        Ok(())
    }

    fn finish_part(&mut self) -> Result<(), BatchError> {
        let Some(mut part) = self.current.take() else {
            return Ok(());
        };
        let options = entry_options(&self.opts);
        let zip_path = self.dir.join(&part.name);
        let zerr = |e: &dyn std::fmt::Display| io_err(&zip_path, e);

        // manifest.csv from its spool.
        part.csv_spool.flush().map_err(|e| zerr(&e))?;
        drop(part.csv_spool);
        part.zip
            .start_file(MANIFEST_CSV, options)
            .map_err(|e| zerr(&e))?;
        let mut spool = File::open(&part.csv_spool_path).map_err(|e| zerr(&e))?;
        std::io::copy(&mut spool, &mut part.zip).map_err(|e| zerr(&e))?;

        // manifest.json: header, spooled entries, footer.
        part.json_spool.flush().map_err(|e| zerr(&e))?;
        drop(part.json_spool);
        part.zip
            .start_file(MANIFEST_JSON, options)
            .map_err(|e| zerr(&e))?;
        let head = serde_json::json!({
            "format": MANIFEST_FORMAT,
            "group": self.group,
            "part": part.number,
            "package": part.name,
            "documents_count": part.documents,
        });
        let head = serde_json::to_string(&head).map_err(|e| zerr(&e))?;
        // `{...,"documents":[` + entries + `\n]}`
        let head = format!("{},\"documents\":[", &head[..head.len() - 1]);
        part.zip.write_all(head.as_bytes()).map_err(|e| zerr(&e))?;
        let mut spool = File::open(&part.json_spool_path).map_err(|e| zerr(&e))?;
        std::io::copy(&mut spool, &mut part.zip).map_err(|e| zerr(&e))?;
        part.zip.write_all(b"\n]}\n").map_err(|e| zerr(&e))?;

        let buf = part.zip.finish().map_err(|e| zerr(&e))?;
        let file = buf.into_inner().map_err(|e| zerr(&e.error()))?;
        file.sync_all().map_err(|e| zerr(&e))?;
        drop(file);
        let _ = std::fs::remove_file(&part.csv_spool_path);
        let _ = std::fs::remove_file(&part.json_spool_path);
        std::fs::rename(&part.tmp, &zip_path).map_err(|e| zerr(&e))?;
        let mut f = File::open(&zip_path).map_err(|e| zerr(&e))?;
        let (sha256, bytes) = sha256_reader(&mut f).map_err(|e| zerr(&e))?;
        self.done.push(PackageInfo {
            file: part.name,
            group: self.group.clone(),
            part: part.number,
            documents: part.documents,
            document_bytes: part.document_bytes,
            bytes,
            sha256,
            encrypted: self.opts.password.is_some(),
            compression: self.opts.compression,
        });
        Ok(())
    }

    /// Finishes the last zip and returns every zip written for the group
    /// (none when no document was added).
    pub fn finish(mut self) -> Result<Vec<PackageInfo>, BatchError> {
        self.finish_part()?;
        Ok(std::mem::take(&mut self.done))
    }
}

impl Drop for PackageWriter {
    /// An unfinished part (an error on the way) leaves no temporary files.
    fn drop(&mut self) {
        if let Some(part) = self.current.take() {
            let _ = std::fs::remove_file(&part.tmp);
            let _ = std::fs::remove_file(&part.csv_spool_path);
            let _ = std::fs::remove_file(&part.json_spool_path);
        }
    }
}

/// Writes `packages.json` into `dir` (atomically, with file `mode`).
pub fn write_packages_json(
    dir: &Path,
    packages: &[PackageInfo],
    mode: u32,
) -> Result<(), BatchError> {
    let file = PackagesFile {
        format: PACKAGES_FORMAT.into(),
        packages: packages.to_vec(),
    };
    let mut text = serde_json::to_vec_pretty(&file).map_err(|e| io_err(dir, e))?;
    text.push(b'\n');
    crate::files::write_atomic_mode(&dir.join(PACKAGES_JSON), &text, mode)
        .map_err(|e| BatchError::write(&dir.join(PACKAGES_JSON), e))
}
