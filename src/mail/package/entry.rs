//! What a package lists: one [`PackageEntry`] per document, one
//! [`PackageInfo`] per finished zip, and `packages.json` ([`PackagesFile`]).
//!
//! Plain serialisable data; builds an entry from a run's
//! [`ManifestEntry`] with its document id from [`crate::mail::docid`].

use crate::error::BatchError;
use crate::job::Compression;
use crate::mail::manifest::ManifestEntry;
use serde::{Deserialize, Serialize};

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
