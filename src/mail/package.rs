//! Packages: per mailing group, deterministic zips of the documents with
//! their manifests; a batch-level `packages.json`; and the checker that
//! `chohyo verify` runs over zips, run directories and `packages.json`.
//!
//! # Writing
//!
//! [`PackageWriter`] streams: each document is copied from its file (or from
//! bytes handed in) straight into the zip, hashed on the way, and its
//! manifest line is appended to a spool file on disk; the manifests are
//! copied into the zip when the part is finished. Memory therefore does not
//! grow with the batch beyond the zip's own central directory (about a
//! hundred bytes per entry).
//!
//! A package zip holds `docs/<file>` for every document, in the order they
//! were added (mail order: unzipping and printing in listing order gives the
//! mail order), then `manifest.csv` and `manifest.json`. Every entry has the
//! same timestamp (the batch's issue date, default 1980-01-01), permissions
//! `0644`, and the chosen compression (PDFs are already compressed, so
//! `stored` is the default). Same documents in the same order → the same
//! zip bytes. With AES-256 encryption (WinZip AE-2, as the `zip` crate writes
//! it) each entry gets a random salt, so encrypted zips are *not*
//! byte-identical between runs; their contents and manifests are.
//!
//! Splitting: with a maximum document count or a maximum size (sum of the
//! documents' uncompressed bytes), a group's zips are `<group>-001.zip`,
//! `<group>-002.zip`, … (always numbered when a limit is set, so names do
//! not change when a group grows past a limit); without limits the zip is
//! `<group>.zip`. A single document larger than the size limit gets a part
//! of its own.
//!
//! # Checking
//!
//! [`verify_path`] recomputes every hash and reports, each with its own
//! Japanese message and English gloss ([`FindingKind`]): missing, extra and
//! changed documents; unsafe entries (absolute paths, `..`, symlinks,
//! duplicate names, entries larger than a limit — a zip-bomb guard, enforced
//! on the bytes actually inflated, not only the declared size); missing or
//! inconsistent manifests; packages missing from or changed since
//! `packages.json`.

use crate::error::BatchError;
use crate::files::neutralize_formula;
use crate::files::sanitize_file_name;
use crate::job::Compression;
use crate::mail::manifest::ManifestEntry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::{AesMode, CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Name of the JSON manifest inside a package (and in a run directory).
pub const MANIFEST_JSON: &str = "manifest.json";
/// Name of the CSV manifest inside a package (and in a run directory).
pub const MANIFEST_CSV: &str = "manifest.csv";
/// Folder of the documents inside a package.
pub const DOCS_PREFIX: &str = "docs/";
/// Name of the batch-level list of packages.
pub const PACKAGES_JSON: &str = "packages.json";
/// Format tag of a package's `manifest.json`.
pub const MANIFEST_FORMAT: &str = "chohyo-package-manifest/1";
/// Format tag of `packages.json`.
pub const PACKAGES_FORMAT: &str = "chohyo-packages/1";

/// A package password. Its `Debug` output is redacted so it never reaches a
/// log; it is only ever read from a file or an environment variable.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Reads the password from the first line of a file (trailing CR/LF removed).
    pub fn from_file(path: &Path) -> Result<Password, BatchError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            BatchError::Input(format!(
                "パスワードファイルを読めません (cannot read the password file) {}: {e}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or("");
        Password::new(line).map_err(|m| BatchError::Input(format!("{}: {m}", path.display())))
    }

    /// Reads the password from an environment variable.
    pub fn from_env(var: &str) -> Result<Password, BatchError> {
        let value = std::env::var(var).map_err(|_| {
            BatchError::Input(format!(
                "環境変数 {var} にパスワードがありません (environment variable {var} is not set or not UTF-8)"
            ))
        })?;
        Password::new(&value).map_err(|m| BatchError::Input(format!("{var}: {m}")))
    }

    fn new(s: &str) -> Result<Password, String> {
        if s.is_empty() {
            Err("パスワードが空です (the password is empty)".into())
        } else {
            Ok(Password(s.to_string()))
        }
    }

    /// The password's bytes (for the zip library only).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// How packages are written.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// Stored or deflated.
    pub compression: Compression,
    /// At most this many documents per zip.
    pub max_documents: Option<usize>,
    /// At most this many bytes of documents (uncompressed) per zip.
    pub max_bytes: Option<u64>,
    /// Encrypt every entry with AES-256 when set.
    pub password: Option<Password>,
    /// Timestamp of every entry, `(year, month, day)`; 1980-01-01 by default.
    pub date: (u16, u8, u8),
    /// Whether recipient names may appear in the manifests (the job's choice;
    /// when false, names handed in are dropped).
    pub include_names: bool,
}

impl Default for PackageOptions {
    fn default() -> Self {
        PackageOptions {
            compression: Compression::Stored,
            max_documents: None,
            max_bytes: None,
            password: None,
            date: (1980, 1, 1),
            include_names: false,
        }
    }
}

impl PackageOptions {
    /// Sets the entries' timestamp from a `YYYY-MM-DD` issue date.
    pub fn with_issue_date(mut self, date: &str) -> Result<Self, BatchError> {
        let bad = || {
            BatchError::Input(format!(
                "発行日を zip の日付にできません (issue date cannot be a zip timestamp, 1980–2107, YYYY-MM-DD): {date}"
            ))
        };
        let mut it = date.split('-');
        let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        let (y, m, d) = (
            y.parse::<u16>().map_err(|_| bad())?,
            m.parse::<u8>().map_err(|_| bad())?,
            d.parse::<u8>().map_err(|_| bad())?,
        );
        DateTime::from_date_and_time(y, m, d, 0, 0, 0).map_err(|_| bad())?;
        self.date = (y, m, d);
        Ok(self)
    }

    fn splits(&self) -> bool {
        self.max_documents.is_some() || self.max_bytes.is_some()
    }
}

/// One document as listed in a package's manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageEntry {
    /// File name (inside `docs/`).
    pub file: String,
    /// Document id (record id + check character, see [`crate::mail::docid`]).
    pub doc_id: String,
    /// SHA-256 of the file, hex. May be left empty when adding: the writer
    /// fills it; when given, the writer checks the file still matches it.
    pub sha256: String,
    /// Size in bytes (filled/checked like `sha256`).
    pub bytes: u64,
    /// Number of pages.
    pub pages: usize,
    /// The record id.
    pub record_id: String,
    /// Document number in the batch's series.
    pub number: u64,
    /// Recipient name, only when the job allows names in manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_name: Option<String>,
    /// Postal code as recorded.
    pub postal: String,
    /// Document kind.
    pub kind: String,
    /// Source file name.
    pub source_file: String,
    /// Source sheet ("" for CSV).
    pub source_sheet: String,
    /// 1-based source row.
    pub source_row: u32,
    /// Mailing group.
    pub group: String,
}

impl PackageEntry {
    /// Builds a package entry from a run manifest entry and the mail data.
    /// The document id is derived from the record id; a record id that
    /// cannot make one is an input error.
    pub fn from_manifest(
        e: &ManifestEntry,
        group: &str,
        postal: &str,
        recipient_name: Option<&str>,
    ) -> Result<PackageEntry, BatchError> {
        let doc_id = crate::mail::docid::doc_id(&e.record_id).map_err(|err| {
            BatchError::Input(format!("{} {} 行目: {err}", e.source_file, e.source_row))
        })?;
        Ok(PackageEntry {
            file: e.file.clone(),
            doc_id,
            sha256: e.sha256.clone(),
            bytes: e.bytes,
            pages: e.pages,
            record_id: e.record_id.clone(),
            number: e.number,
            recipient_name: recipient_name.map(str::to_string),
            postal: postal.to_string(),
            kind: e.kind.clone(),
            source_file: e.source_file.clone(),
            source_sheet: e.source_sheet.clone(),
            source_row: e.source_row,
            group: group.to_string(),
        })
    }
}

/// One finished zip, as listed in `packages.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInfo {
    /// Zip file name (in the packages folder).
    pub file: String,
    /// Mailing group.
    pub group: String,
    /// Part number (1-based; 1 when not split).
    pub part: u32,
    /// Documents in it.
    pub documents: usize,
    /// Sum of the documents' sizes.
    pub document_bytes: u64,
    /// Size of the zip file.
    pub bytes: u64,
    /// SHA-256 of the zip file, hex.
    pub sha256: String,
    /// Whether the entries are AES-256 encrypted.
    pub encrypted: bool,
    /// How documents are stored.
    pub compression: Compression,
}

/// `packages.json`: every zip of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagesFile {
    /// Always [`PACKAGES_FORMAT`].
    pub format: String,
    /// The zips, in group then part order.
    pub packages: Vec<PackageInfo>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> BatchError {
    BatchError::Io(format!(
        "書き込めません (cannot write) {}: {e}",
        path.display()
    ))
}

/// Lower-case hex of a digest.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<'a, W: Write> {
    inner: &'a mut W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and size of everything a reader yields, streamed.
pub fn sha256_reader(r: &mut impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

/// CSV header of a package's `manifest.csv` (the name column only with names).
fn csv_header(names: bool) -> Vec<&'static str> {
    let mut h = vec![
        "file",
        "doc_id",
        "sha256",
        "bytes",
        "pages",
        "record_id",
        "number",
    ];
    if names {
        h.push("recipient_name");
    }
    h.extend([
        "postal",
        "kind",
        "source_file",
        "source_sheet",
        "source_row",
        "group",
    ]);
    h
}

fn csv_row(e: &PackageEntry, names: bool) -> Vec<String> {
    let mut r = vec![
        e.file.clone(),
        e.doc_id.clone(),
        e.sha256.clone(),
        e.bytes.to_string(),
        e.pages.to_string(),
        neutralize_formula(&e.record_id),
        e.number.to_string(),
    ];
    if names {
        r.push(neutralize_formula(
            e.recipient_name.as_deref().unwrap_or(""),
        ));
    }
    r.extend([
        neutralize_formula(&e.postal),
        e.kind.clone(),
        e.source_file.clone(),
        e.source_sheet.clone(),
        e.source_row.to_string(),
        neutralize_formula(&e.group),
    ]);
    r
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

    fn file_options(&self) -> SimpleFileOptions {
        let (y, m, d) = self.opts.date;
        let date = DateTime::from_date_and_time(y, m, d, 0, 0, 0).unwrap_or_default();
        let (method, level) = match self.opts.compression {
            Compression::Stored => (CompressionMethod::Stored, None),
            Compression::Deflated => (CompressionMethod::Deflated, Some(6)),
        };
        SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(level)
            .last_modified_time(date)
            .unix_permissions(0o644)
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
        let create = |p: &Path| {
            File::create(p)
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
        let options = self.file_options();
        let names = self.opts.include_names;
        let password = self.opts.password.clone();
        let Some(part) = self.current.as_mut() else {
            return Err(BatchError::Io("internal: no open package part".into()));
        };
        let zip_path = self.dir.join(&part.name);
        let options = match &password {
            Some(p) => options.with_aes_encryption(AesMode::Aes256, p.expose()),
            None => options,
        };
        part.zip
            .start_file(format!("{DOCS_PREFIX}{}", entry.file), options)
            .map_err(|e| io_err(&zip_path, format!("{}: {e}", entry.file)))?;
        let mut hw = HashingWriter {
            inner: &mut part.zip,
            hasher: Sha256::new(),
            bytes: 0,
        };
        std::io::copy(r, &mut hw).map_err(|e| io_err(&zip_path, format!("{}: {e}", entry.file)))?;
        let sha = hex(&hw.hasher.finalize());
        let bytes = hw.bytes;
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
        let options = self.file_options();
        let password = self.opts.password.clone();
        let options = match &password {
            Some(p) => options.with_aes_encryption(AesMode::Aes256, p.expose()),
            None => options,
        };
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

/// Writes `packages.json` into `dir` (atomically).
pub fn write_packages_json(dir: &Path, packages: &[PackageInfo]) -> Result<(), BatchError> {
    let file = PackagesFile {
        format: PACKAGES_FORMAT.into(),
        packages: packages.to_vec(),
    };
    let mut text = serde_json::to_vec_pretty(&file).map_err(|e| io_err(dir, e))?;
    text.push(b'\n');
    crate::files::write_atomic(&dir.join(PACKAGES_JSON), &text)
        .map_err(|e| BatchError::write(&dir.join(PACKAGES_JSON), e))
}

// ───────────────────────────── checking ─────────────────────────────

/// Limits and secrets for [`verify_path`].
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Password for encrypted packages.
    pub password: Option<Password>,
    /// Largest uncompressed entry accepted (zip-bomb guard).
    pub max_entry_bytes: u64,
    /// Largest total uncompressed size of one zip accepted.
    pub max_total_bytes: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            password: None,
            max_entry_bytes: 256 * 1024 * 1024,
            max_total_bytes: 64 * 1024 * 1024 * 1024,
        }
    }
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Listed in the manifest, not present.
    Missing,
    /// Present, not listed in the manifest.
    Extra,
    /// Present and listed, but its bytes differ from the manifest.
    Changed,
    /// An entry with an absolute path.
    AbsolutePath,
    /// An entry whose path goes up (`..`).
    ParentPath,
    /// An entry that is a symbolic link.
    Symlink,
    /// An entry (or a zip) larger than the limit.
    TooLarge,
    /// Two entries with the same name.
    DuplicateName,
    /// No manifest where one must be.
    ManifestMissing,
    /// A manifest that cannot be read.
    ManifestInvalid,
    /// `manifest.csv` and `manifest.json` disagree.
    ManifestMismatch,
    /// Encrypted and no password given.
    PasswordRequired,
    /// Encrypted and the password is wrong.
    WrongPassword,
    /// The file is not a readable zip (or folder).
    Unreadable,
    /// Listed in `packages.json`, not present.
    PackageMissing,
    /// A zip whose hash or size differs from `packages.json`.
    PackageChanged,
    /// A zip next to `packages.json` that it does not list.
    PackageExtra,
}

impl FindingKind {
    /// The Japanese message with an English gloss.
    pub fn message(self) -> &'static str {
        match self {
            FindingKind::Missing => "マニフェストにある文書がありません (listed document is missing)",
            FindingKind::Extra => "マニフェストにないファイルがあります (file not listed in the manifest)",
            FindingKind::Changed => "内容がマニフェストと一致しません（改変または破損）(content differs from the manifest: altered or corrupt)",
            FindingKind::AbsolutePath => "絶対パスのエントリです（展開すると任意の場所に書かれます）(absolute path entry)",
            FindingKind::ParentPath => "親フォルダ（..）を指すエントリです（展開先の外に書かれます）(entry path escapes with '..')",
            FindingKind::Symlink => "シンボリックリンクです（文書の代わりに別のファイルを指せます）(symbolic link entry)",
            FindingKind::TooLarge => "展開後のサイズが上限を超えています（zip爆弾の疑い）(uncompressed size over the limit: possible zip bomb)",
            FindingKind::DuplicateName => "同じ名前のエントリが重複しています (duplicate entry names)",
            FindingKind::ManifestMissing => "マニフェストがありません (manifest missing)",
            FindingKind::ManifestInvalid => "マニフェストを読めません (manifest unreadable)",
            FindingKind::ManifestMismatch => "manifest.csv と manifest.json が一致しません (the two manifests disagree)",
            FindingKind::PasswordRequired => "暗号化されています。パスワードを指定してください (encrypted: a password is required)",
            FindingKind::WrongPassword => "パスワードが違います (wrong password)",
            FindingKind::Unreadable => "zip ファイルとして読めません (not a readable zip)",
            FindingKind::PackageMissing => "packages.json にあるパッケージがありません (listed package is missing)",
            FindingKind::PackageChanged => "パッケージが packages.json の記録と一致しません (package differs from packages.json)",
            FindingKind::PackageExtra => "packages.json にないパッケージがあります (package not listed in packages.json)",
        }
    }

    /// Whether the kind is about an unsafe entry.
    pub fn is_unsafe(self) -> bool {
        matches!(
            self,
            FindingKind::AbsolutePath
                | FindingKind::ParentPath
                | FindingKind::Symlink
                | FindingKind::TooLarge
                | FindingKind::DuplicateName
        )
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The zip or folder it was found in.
    pub container: String,
    /// The entry (file name inside the container; "" for the container itself).
    pub entry: String,
    /// The Japanese message with an English gloss.
    pub message: String,
    /// Extra detail (expected/actual hash, sizes), never personal data.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The result of checking a zip, a run directory or a `packages.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// What was checked.
    pub target: String,
    /// Zips or folders opened.
    pub containers: usize,
    /// Documents whose hash matched.
    pub documents_ok: usize,
    /// Problems, in the order found.
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    /// True when everything matched.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    fn add(&mut self, kind: FindingKind, container: &Path, entry: &str, detail: impl Into<String>) {
        self.findings.push(Finding {
            kind,
            container: container.display().to_string(),
            entry: entry.to_string(),
            message: kind.message().to_string(),
            detail: detail.into(),
        });
    }
}

/// A listed document, as read back from a manifest (package or run).
#[derive(Debug, Deserialize)]
struct Listed {
    file: String,
    sha256: String,
    bytes: u64,
}

#[derive(Debug, Deserialize)]
struct ListedManifest {
    documents: Vec<Listed>,
}

/// How an entry name is unsafe, if it is.
pub fn unsafe_name(name: &str) -> Option<FindingKind> {
    let b = name.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    if name.starts_with('/') || name.starts_with('\\') || drive {
        return Some(FindingKind::AbsolutePath);
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Some(FindingKind::ParentPath);
    }
    None
}

/// Checks a zip, a run directory (with `manifest.json`; its
/// `packages/packages.json` too when present), a folder holding
/// `packages.json`, or a `packages.json` file.
pub fn verify_path(path: &Path, opts: &VerifyOptions) -> Result<VerifyReport, BatchError> {
    let mut report = VerifyReport {
        target: path.display().to_string(),
        ..VerifyReport::default()
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        BatchError::Input(format!(
            "検査対象を開けません (cannot open what to verify) {}: {e}",
            path.display()
        ))
    })?;
    if meta.is_dir() {
        if path.join(PACKAGES_JSON).is_file() && !path.join(MANIFEST_JSON).is_file() {
            verify_packages_json(&path.join(PACKAGES_JSON), opts, &mut report);
        } else {
            verify_dir(path, &mut report);
            // A run directory's packages are checked with it.
            let packages = path.join("packages").join(PACKAGES_JSON);
            if packages.is_file() {
                verify_packages_json(&packages, opts, &mut report);
            }
        }
    } else if path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".json"))
    {
        verify_packages_json(path, opts, &mut report);
    } else {
        verify_zip(path, opts, &mut report);
    }
    Ok(report)
}

/// Checks a `packages.json` and every zip it lists.
fn verify_packages_json(path: &Path, opts: &VerifyOptions, report: &mut VerifyReport) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let parsed: Result<PackagesFile, String> = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    let list = match parsed {
        Ok(l) => l,
        Err(e) => {
            report.add(FindingKind::ManifestInvalid, path, "", e);
            return;
        }
    };
    let mut listed = std::collections::BTreeSet::new();
    for p in &list.packages {
        listed.insert(p.file.clone());
        if let Some(k) = unsafe_name(&p.file).or_else(|| {
            p.file
                .contains(['/', '\\'])
                .then_some(FindingKind::ParentPath)
        }) {
            report.add(k, path, &p.file, "");
            continue;
        }
        let zip_path = dir.join(&p.file);
        match std::fs::symlink_metadata(&zip_path) {
            Err(_) => {
                report.add(FindingKind::PackageMissing, path, &p.file, "");
                continue;
            }
            Ok(m) if m.file_type().is_symlink() => {
                report.add(FindingKind::Symlink, path, &p.file, "");
                continue;
            }
            Ok(_) => {}
        }
        match File::open(&zip_path).and_then(|mut f| sha256_reader(&mut f)) {
            Ok((sha, bytes)) => {
                if sha != p.sha256 || bytes != p.bytes {
                    report.add(
                        FindingKind::PackageChanged,
                        path,
                        &p.file,
                        format!("sha256 {} → {sha}, bytes {} → {bytes}", p.sha256, p.bytes),
                    );
                }
            }
            Err(e) => report.add(FindingKind::Unreadable, &zip_path, "", e.to_string()),
        }
        verify_zip(&zip_path, opts, report);
    }
    let mut extra: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".zip") && !listed.contains(n))
                .collect()
        })
        .unwrap_or_default();
    extra.sort();
    for n in extra {
        report.add(FindingKind::PackageExtra, path, &n, "");
    }
}

/// Reads a whole entry, at most `limit` bytes; `Ok(None)` when over the limit.
fn read_limited(r: &mut impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

/// Maps a zip read error to a finding kind.
fn zip_error_kind(e: &zip::result::ZipError) -> FindingKind {
    match e {
        zip::result::ZipError::InvalidPassword => FindingKind::WrongPassword,
        zip::result::ZipError::UnsupportedArchive(m)
            if *m == zip::result::ZipError::PASSWORD_REQUIRED =>
        {
            FindingKind::PasswordRequired
        }
        _ => FindingKind::Unreadable,
    }
}

/// Opens entry `i` (decrypting with the password when given).
fn open_entry<'a, R: Read + Seek>(
    zip: &'a mut ZipArchive<R>,
    i: usize,
    password: Option<&Password>,
) -> zip::result::ZipResult<zip::read::ZipFile<'a, R>> {
    match password {
        Some(p) => zip.by_index_decrypt(i, p.expose().as_bytes()),
        None => zip.by_index(i),
    }
}

/// Checks one zip against the manifests inside it.
fn verify_zip(path: &Path, opts: &VerifyOptions, report: &mut VerifyReport) {
    report.containers += 1;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.add(FindingKind::Unreadable, path, "", e.to_string());
            return;
        }
    };
    let mut zip = match ZipArchive::new(BufReader::new(file)) {
        Ok(z) => z,
        Err(e) => {
            report.add(FindingKind::Unreadable, path, "", e.to_string());
            return;
        }
    };
    if zip.has_duplicate_names() {
        report.add(FindingKind::DuplicateName, path, "", "");
    }
    // Pass 1: names and kinds, without reading contents.
    struct Meta {
        index: usize,
        name: String,
        safe: bool,
    }
    let mut entries = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let f = match zip.by_index_raw(i) {
            Ok(f) => f,
            Err(e) => {
                report.add(
                    FindingKind::Unreadable,
                    path,
                    &format!("#{i}"),
                    e.to_string(),
                );
                continue;
            }
        };
        let name = String::from_utf8_lossy(f.name_raw()).into_owned();
        let mut safe = true;
        if let Some(kind) = unsafe_name(&name) {
            report.add(kind, path, &name, "");
            safe = false;
        } else if f.is_symlink() {
            report.add(FindingKind::Symlink, path, &name, "");
            safe = false;
        } else if f.size() > opts.max_entry_bytes {
            report.add(
                FindingKind::TooLarge,
                path,
                &name,
                format!("{} > {} bytes", f.size(), opts.max_entry_bytes),
            );
            safe = false;
        }
        total = total.saturating_add(f.size());
        if f.is_dir() {
            continue;
        }
        entries.push(Meta {
            index: i,
            name,
            safe,
        });
    }
    if total > opts.max_total_bytes {
        report.add(
            FindingKind::TooLarge,
            path,
            "",
            format!("{total} > {} bytes", opts.max_total_bytes),
        );
        return;
    }
    let password = opts.password.as_ref();

    // Manifests.
    let read_named = |zip: &mut ZipArchive<BufReader<File>>,
                      name: &str|
     -> Option<Result<Vec<u8>, (FindingKind, String)>> {
        let m = entries.iter().find(|m| m.name == name && m.safe)?;
        Some(match open_entry(zip, m.index, password) {
            Ok(mut f) => match read_limited(&mut f, opts.max_entry_bytes) {
                Ok(Some(b)) => Ok(b),
                Ok(None) => Err((FindingKind::TooLarge, String::new())),
                Err(e) => Err((FindingKind::ManifestInvalid, e.to_string())),
            },
            Err(e) => Err((zip_error_kind(&e), e.to_string())),
        })
    };
    let json = read_named(&mut zip, MANIFEST_JSON);
    let csv_bytes = read_named(&mut zip, MANIFEST_CSV);
    let listed: Vec<Listed> = match json {
        None => {
            report.add(FindingKind::ManifestMissing, path, MANIFEST_JSON, "");
            return;
        }
        Some(Err((kind, detail))) => {
            report.add(kind, path, MANIFEST_JSON, detail);
            return;
        }
        Some(Ok(bytes)) => match serde_json::from_slice::<ListedManifest>(&bytes) {
            Ok(m) => m.documents,
            Err(e) => {
                report.add(
                    FindingKind::ManifestInvalid,
                    path,
                    MANIFEST_JSON,
                    e.to_string(),
                );
                return;
            }
        },
    };
    match csv_bytes {
        None => report.add(FindingKind::ManifestMissing, path, MANIFEST_CSV, ""),
        Some(Err((kind, detail))) => report.add(kind, path, MANIFEST_CSV, detail),
        Some(Ok(bytes)) => match csv_pairs(&bytes) {
            Ok(pairs) => {
                let from_json: Vec<(String, String)> = listed
                    .iter()
                    .map(|l| (l.file.clone(), l.sha256.clone()))
                    .collect();
                if pairs != from_json {
                    report.add(FindingKind::ManifestMismatch, path, MANIFEST_CSV, "");
                }
            }
            Err(e) => report.add(FindingKind::ManifestInvalid, path, MANIFEST_CSV, e),
        },
    }

    // Documents.
    let mut by_name: std::collections::BTreeMap<&str, &Listed> = std::collections::BTreeMap::new();
    for l in &listed {
        by_name.insert(l.file.as_str(), l);
    }
    let mut seen = std::collections::BTreeSet::new();
    for m in &entries {
        if m.name == MANIFEST_JSON || m.name == MANIFEST_CSV {
            continue;
        }
        let file = m.name.strip_prefix(DOCS_PREFIX);
        let Some(l) = file.and_then(|f| by_name.get(f)) else {
            if m.safe {
                report.add(FindingKind::Extra, path, &m.name, "");
            }
            continue;
        };
        seen.insert(l.file.as_str());
        if !m.safe {
            continue;
        }
        let result = match open_entry(&mut zip, m.index, password) {
            Ok(mut f) => {
                let mut limited = (&mut f).take(opts.max_entry_bytes + 1);
                sha256_reader(&mut limited).map_err(|e| (FindingKind::Changed, e.to_string()))
            }
            Err(e) => Err((zip_error_kind(&e), e.to_string())),
        };
        match result {
            Ok((_, n)) if n > opts.max_entry_bytes => report.add(
                FindingKind::TooLarge,
                path,
                &m.name,
                format!("> {} bytes", opts.max_entry_bytes),
            ),
            Ok((sha, n)) if sha == l.sha256 && n == l.bytes => report.documents_ok += 1,
            Ok((sha, n)) => report.add(
                FindingKind::Changed,
                path,
                &m.name,
                format!("sha256 {} → {sha}, bytes {} → {n}", l.sha256, l.bytes),
            ),
            Err((kind, detail)) => report.add(kind, path, &m.name, detail),
        }
    }
    for l in &listed {
        if !seen.contains(l.file.as_str()) {
            report.add(
                FindingKind::Missing,
                path,
                &format!("{DOCS_PREFIX}{}", l.file),
                "",
            );
        }
    }
}

/// `(file, sha256)` of every row of a manifest CSV.
fn csv_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut r = csv::Reader::from_reader(bytes);
    let headers = r.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("列 {name} がありません (column missing)"))
    };
    let (fi, si) = (col("file")?, col("sha256")?);
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        out.push((
            rec.get(fi).unwrap_or("").to_string(),
            rec.get(si).unwrap_or("").to_string(),
        ));
    }
    Ok(out)
}

/// Checks a run directory: `manifest.json` against `docs/`.
fn verify_dir(dir: &Path, report: &mut VerifyReport) {
    report.containers += 1;
    let manifest = dir.join(MANIFEST_JSON);
    let listed: Vec<Listed> = match std::fs::read(&manifest) {
        Err(_) => {
            report.add(FindingKind::ManifestMissing, dir, MANIFEST_JSON, "");
            return;
        }
        Ok(b) => match serde_json::from_slice::<ListedManifest>(&b) {
            Ok(m) => m.documents,
            Err(e) => {
                report.add(
                    FindingKind::ManifestInvalid,
                    dir,
                    MANIFEST_JSON,
                    e.to_string(),
                );
                return;
            }
        },
    };
    let docs = dir.join("docs");
    let mut names = std::collections::BTreeSet::new();
    for l in &listed {
        names.insert(l.file.clone());
        let entry = format!("{DOCS_PREFIX}{}", l.file);
        if let Some(k) = unsafe_name(&l.file) {
            report.add(k, dir, &entry, "");
            continue;
        }
        if l.file.contains(['/', '\\']) {
            report.add(FindingKind::ParentPath, dir, &entry, "");
            continue;
        }
        let p = docs.join(&l.file);
        match std::fs::symlink_metadata(&p) {
            Err(_) => report.add(FindingKind::Missing, dir, &entry, ""),
            Ok(m) if m.file_type().is_symlink() => {
                report.add(FindingKind::Symlink, dir, &entry, "")
            }
            Ok(_) => match File::open(&p).and_then(|mut f| sha256_reader(&mut f)) {
                Ok((sha, n)) if sha == l.sha256 && n == l.bytes => report.documents_ok += 1,
                Ok((sha, n)) => report.add(
                    FindingKind::Changed,
                    dir,
                    &entry,
                    format!("sha256 {} → {sha}, bytes {} → {n}", l.sha256, l.bytes),
                ),
                Err(e) => report.add(FindingKind::Unreadable, dir, &entry, e.to_string()),
            },
        }
    }
    let mut present: Vec<(String, bool)> = std::fs::read_dir(&docs)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let link = e.file_type().map(|t| t.is_symlink()).unwrap_or(false);
                    (e.file_name().to_string_lossy().into_owned(), link)
                })
                .collect()
        })
        .unwrap_or_default();
    present.sort();
    for (n, link) in present {
        if !names.contains(&n) {
            let kind = if link {
                FindingKind::Symlink
            } else {
                FindingKind::Extra
            };
            report.add(kind, dir, &format!("{DOCS_PREFIX}{n}"), "");
        }
    }
}

/// Reads the document ids expected by a manifest: a package or run
/// `manifest.json`, a `manifest.csv`, or a package zip (its `manifest.json`).
/// Run manifests have no `doc_id`; it is derived from the record id.
pub fn expected_doc_ids(
    path: &Path,
    password: Option<&Password>,
) -> Result<Vec<String>, BatchError> {
    let bad = |e: &dyn std::fmt::Display| {
        BatchError::Input(format!(
            "マニフェストを読めません (cannot read the manifest) {}: {e}",
            path.display()
        ))
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    #[derive(Deserialize)]
    struct Row {
        #[serde(default)]
        doc_id: Option<String>,
        record_id: String,
    }
    #[derive(Deserialize)]
    struct Docs {
        documents: Vec<Row>,
    }
    let rows: Vec<Row> = if name.ends_with(".csv") {
        let f = File::open(path).map_err(|e| bad(&e))?;
        let mut r = csv::Reader::from_reader(BufReader::new(f));
        let mut rows = Vec::new();
        for rec in r.deserialize::<Row>() {
            rows.push(rec.map_err(|e| bad(&e))?);
        }
        rows
    } else if name.ends_with(".zip") {
        let f = File::open(path).map_err(|e| bad(&e))?;
        let mut zip = ZipArchive::new(BufReader::new(f)).map_err(|e| bad(&e))?;
        let idx = zip
            .index_for_name(MANIFEST_JSON)
            .ok_or_else(|| bad(&"manifest.json"))?;
        let mut entry = open_entry(&mut zip, idx, password).map_err(|e| bad(&e))?;
        let bytes = read_limited(&mut entry, 256 * 1024 * 1024)
            .map_err(|e| bad(&e))?
            .ok_or_else(|| bad(&"too large"))?;
        serde_json::from_slice::<Docs>(&bytes)
            .map_err(|e| bad(&e))?
            .documents
    } else {
        let f = File::open(path).map_err(|e| bad(&e))?;
        serde_json::from_reader::<_, Docs>(BufReader::new(f))
            .map_err(|e| bad(&e))?
            .documents
    };
    rows.into_iter()
        .map(|r| match r.doc_id {
            Some(id) if !id.is_empty() => Ok(id),
            _ => crate::mail::docid::doc_id(&r.record_id).map_err(|e| bad(&e)),
        })
        .collect()
}

/// Reads lines of a file (used by tools that take lists of ids).
pub fn read_lines(path: &Path) -> Result<Vec<String>, BatchError> {
    let f = File::open(path).map_err(|e| {
        BatchError::Input(format!(
            "ファイルを読めません (cannot read) {}: {e}",
            path.display()
        ))
    })?;
    BufReader::new(f)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| BatchError::Input(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names() {
        assert_eq!(unsafe_name("/etc/passwd"), Some(FindingKind::AbsolutePath));
        assert_eq!(unsafe_name("C:\\x.pdf"), Some(FindingKind::AbsolutePath));
        assert_eq!(unsafe_name("docs/../../x"), Some(FindingKind::ParentPath));
        assert_eq!(unsafe_name("docs\\..\\x"), Some(FindingKind::ParentPath));
        assert_eq!(unsafe_name("docs/a..b.pdf"), None);
    }

    #[test]
    fn issue_date_sets_timestamp() {
        let o = PackageOptions::default()
            .with_issue_date("2025-04-01")
            .unwrap();
        assert_eq!(o.date, (2025, 4, 1));
        assert!(PackageOptions::default()
            .with_issue_date("1970-01-01")
            .is_err());
        assert!(PackageOptions::default()
            .with_issue_date("2025-13-01")
            .is_err());
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::new("hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        assert!(Password::new("").is_err());
    }
}
