//! The batch's letters as the delivery stage reads them: a compact
//! [`MailItem`] per letter in memory, its manifest entry and its record on
//! disk, read back one letter at a time.
//!
//! The delivery stage needs every letter's sort key together (to put them
//! in mail order), but each letter's full record and manifest entry only
//! while its own volume is written. A batch that delivers spools each
//! record with its manifest entry while rendering; a merge of shards does
//! not, so then the records are checked again from the input as a stream
//! (the same checks as the batch's, with the fonts' coverage) and spooled to
//! `.records.jsonl.tmp` in the run directory. Both are read back by offset
//! (`pread`, so threads can share the files). Memory per letter: one
//! `MailItem` and two offsets — a few hundred bytes, whatever the records
//! hold.
//!
//! Uses `check` (the records), `japan::postal` (barcode counts), `mail`
//! (manifest entries, mail items) and the run's `inputs` and `spool`.

use crate::check::{self, Record};
use crate::error::BatchError;
use crate::job::Job;
use crate::mail::mailorder::MailItem;
use crate::mail::manifest::ManifestEntry;
use crate::run::inputs::stream_checked;
use crate::run::runstate::open_back;
use crate::run::spool::{self, Entries};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

/// Name of the records' spool in a run directory (a dot-file ending in
/// `.tmp`: a killed run's is removed by the next run, as the entries').
const RECORDS_SPOOL: &str = ".records.jsonl.tmp";

/// Where one line is in a spool file: byte offset and length.
type LineAt = (u64, u32);

/// The letters of a finished batch, in mail order once [`Letters::items`]
/// is sorted.
pub struct Letters {
    /// One per letter that has both a document and a record; `index` is the
    /// document's place in the entries spool.
    pub items: Vec<MailItem>,
    entries: File,
    entry_at: Vec<LineAt>,
    records: File,
    records_path: PathBuf,
    record_at: Vec<Option<LineAt>>,
    /// Whether `records_path` is this stage's own spool (removed at the end)
    /// rather than the entries spool.
    own_records: bool,
}

impl Drop for Letters {
    fn drop(&mut self) {
        // The spool is scratch: the run directory keeps only its outputs.
        if self.own_records {
            let _ = std::fs::remove_file(&self.records_path);
        }
    }
}

/// A spool file that cannot be read back: an I/O error naming it.
fn spool_error(path: &Path, e: impl std::fmt::Display) -> BatchError {
    BatchError::read(path, std::io::Error::other(e.to_string()))
}

/// Reads one line of `file` at `at`.
fn read_line_at(file: &File, at: LineAt, path: &Path) -> Result<Vec<u8>, BatchError> {
    let mut buf = vec![0u8; at.1 as usize];
    file.read_exact_at(&mut buf, at.0)
        .map_err(|e| BatchError::read(path, e))?;
    Ok(buf)
}

impl Letters {
    /// Indexes the entries spool and spools the batch's records again from
    /// the input (`input`, or the job's), checked with `coverage` as the
    /// batch checked them. A document whose record is not found again gets
    /// no letter (as before: delivery reads what the input still holds).
    pub(super) fn spool(
        job: &Job,
        entries: &Entries,
        input: Option<&Path>,
        coverage: Option<&dyn check::GlyphCoverage>,
        dir: &Path,
        mode: u32,
    ) -> Result<Letters, BatchError> {
        let letter = LetterFields::new(job);
        let indexed = index_entries(entries.path(), &letter)?;
        let open = |path: &Path| {
            // Read by the offsets found through the capped reader.
            open_back(path)
                .map(|f| f.into_inner())
                .map_err(|e| BatchError::read(path, e))
        };
        if let Some(items) = indexed.items {
            // Every record came with its entry: the input is not read again.
            return Ok(Letters {
                items,
                entries: open(entries.path())?,
                records: open(entries.path())?,
                records_path: entries.path().to_path_buf(),
                record_at: indexed.at.iter().copied().map(Some).collect(),
                entry_at: indexed.at,
                own_records: false,
            });
        }
        let (entry_at, mut by_id) = (indexed.at, indexed.by_id);
        let records_path = dir.join(RECORDS_SPOOL);
        let _ = std::fs::remove_file(&records_path);
        let file = crate::files::create_file(&records_path, mode)
            .map_err(|e| BatchError::write(&records_path, e))?;
        let mut writer = BufWriter::new(file);
        let mut record_at = vec![None; entry_at.len()];
        let mut items = Vec::new();
        let mut offset = 0u64;
        let path = input.unwrap_or(&job.input.file);
        stream_checked(job, path, coverage, &mut |_, _| {}, &mut |o| {
            let Ok(r) = o.result else { return Ok(true) };
            // The first record of an id is the one the batch planned.
            let Some(index) = by_id.remove(r.id.as_str()) else {
                return Ok(true);
            };
            let mut line = serde_json::to_vec(&r).map_err(|e| spool_error(&records_path, e))?;
            line.push(b'\n');
            writer
                .write_all(&line)
                .map_err(|e| BatchError::write(&records_path, e))?;
            record_at[index] = Some((offset, line.len() as u32));
            offset += line.len() as u64;
            items.push(letter.item(index, &r));
            Ok(true)
        })?;
        writer
            .flush()
            .map_err(|e| BatchError::write(&records_path, e))?;
        drop(writer);
        Ok(Letters {
            items,
            entries: open(entries.path())?,
            entry_at,
            records: open(&records_path)?,
            records_path,
            record_at,
            own_records: true,
        })
    }

    /// The manifest entry of document `index`.
    pub fn entry(&self, index: usize, spool_path: &Path) -> Result<ManifestEntry, BatchError> {
        let at = self.entry_at[index];
        let line = read_line_at(&self.entries, at, spool_path)?;
        let text = String::from_utf8_lossy(&line);
        spool::parse_entry(text.trim_end())
            .map(|(e, _)| e)
            .map_err(|e| spool_error(spool_path, e))
    }

    /// The record of document `index`.
    pub fn record(&self, index: usize) -> Result<Record, BatchError> {
        let Some(at) = self.record_at[index] else {
            return Err(spool_error(
                &self.records_path,
                format!("no record {index}"),
            ));
        };
        let line = read_line_at(&self.records, at, &self.records_path)?;
        if self.own_records {
            return serde_json::from_slice(&line).map_err(|e| spool_error(&self.records_path, e));
        }
        let text = String::from_utf8_lossy(&line);
        match spool::parse_line(text.trim_end()) {
            Ok((_, _, Some(r))) => Ok(r),
            Ok(_) => Err(spool_error(
                &self.records_path,
                format!("no record {index}"),
            )),
            Err(e) => Err(spool_error(&self.records_path, e)),
        }
    }
}

/// What one pass over the entries spool found.
struct Indexed {
    /// Each entry's place in the spool.
    at: Vec<LineAt>,
    /// The document index of each record id (the first, if an id came twice).
    by_id: HashMap<String, usize>,
    /// The letters, when every entry came with its record.
    items: Option<Vec<MailItem>>,
}

/// Indexes the entries spool, making the letters from the records spooled
/// with the entries (if every entry has one).
fn index_entries(path: &Path, letter: &LetterFields) -> Result<Indexed, BatchError> {
    let mut r = BufReader::new(open_back(path).map_err(|e| BatchError::read(path, e))?);
    let (mut at, mut by_id, mut items) = (Vec::new(), HashMap::new(), Some(Vec::new()));
    let (mut offset, mut line) = (0u64, String::new());
    loop {
        line.clear();
        let n = r
            .read_line(&mut line)
            .map_err(|e| BatchError::read(path, e))?;
        if n == 0 {
            break;
        }
        let (entry, _, record) =
            spool::parse_line(line.trim_end()).map_err(|e| spool_error(path, e))?;
        match (&mut items, record) {
            (Some(v), Some(rec)) => v.push(letter.item(at.len(), &rec)),
            _ => items = None,
        }
        by_id.entry(entry.record_id).or_insert(at.len());
        at.push((offset, n as u32));
        offset += n as u64;
    }
    if items.is_some() {
        by_id.clear();
    }
    Ok(Indexed { at, by_id, items })
}

/// What makes a record's mail item: the job's `[mail]` fields and the
/// postal table for the barcode count.
struct LetterFields<'a> {
    mail: Option<&'a crate::job::MailSection>,
    postal_data: Option<&'static crate::japan::postal::PostalData>,
}

impl<'a> LetterFields<'a> {
    fn new(job: &'a Job) -> Self {
        let mail = job.mail.as_ref();
        let postal_data = mail
            .and_then(|m| m.address_field.as_ref())
            .and_then(|_| crate::japan::postal::PostalData::embedded().ok());
        LetterFields { mail, postal_data }
    }

    /// The mail item of document `index`, made from its record.
    fn item(&self, index: usize, r: &Record) -> MailItem {
        let mail = self.mail;
        let postal_field = mail.map(|m| m.postal_field.as_str()).unwrap_or("postal");
        let postal = r.text(postal_field);
        let barcode = match (
            mail.and_then(|m| m.address_field.as_deref()),
            self.postal_data,
        ) {
            (Some(af), Some(data)) => data.customer_barcode(&postal, &r.text(af)).is_ok(),
            _ => false,
        };
        MailItem {
            index,
            record_id: r.id.clone(),
            postal,
            group: mail
                .and_then(|m| m.group_by.as_deref())
                .map(|g| r.text(g))
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| "all".to_string()),
            key: mail
                .and_then(|m| m.sort_key.as_deref())
                .map(|k| r.text(k))
                .unwrap_or_default(),
            barcode,
        }
    }
}
