//! The formats of a package's own manifests: the rows of `manifest.csv`
//! as written, and what the checker reads back from either manifest
//! ([`Listed`], [`read_manifest`], [`csv_difference`]).
//!
//! Uses [`crate::files`] to keep cells formula-safe.

use crate::files::{neutralize_formula, restore_formula};
use crate::mail::package::entry::PackageEntry;
use serde::Deserialize;

/// CSV header of a package's `manifest.csv` (the name column only with names).
pub(crate) fn csv_header(names: bool) -> Vec<&'static str> {
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

pub(crate) fn csv_row(e: &PackageEntry, names: bool) -> Vec<String> {
    let mut r = vec![
        neutralize_formula(&e.file),
        neutralize_formula(&e.doc_id),
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
        neutralize_formula(&e.kind),
        neutralize_formula(&e.source_file),
        neutralize_formula(&e.source_sheet),
        e.source_row.to_string(),
        neutralize_formula(&e.group),
    ]);
    r
}

/// A listed document, as read back from a manifest (package or run).
#[derive(Debug, Deserialize)]
pub(crate) struct Listed {
    pub(crate) file: String,
    pub(crate) sha256: String,
    pub(crate) bytes: u64,
}

/// The part of a `manifest.json` the checker reads.
#[derive(Debug, Deserialize)]
pub(crate) struct ListedManifest {
    pub(crate) documents: Vec<Listed>,
    /// A package's own count of its documents.
    #[serde(default)]
    pub(crate) documents_count: Option<u64>,
    /// A package's mailing group (absent in a run's manifest).
    #[serde(default)]
    pub(crate) group: Option<String>,
    /// A package's part number, 1-based.
    #[serde(default)]
    pub(crate) part: Option<u32>,
    /// A package's own file name.
    #[serde(default)]
    pub(crate) package: Option<String>,
}

/// A `manifest.json` read for checking: what it lists, and every field of
/// every document as written (to hold `manifest.csv` against).
pub(crate) struct ReadManifest {
    pub(crate) listed: ListedManifest,
    pub(crate) fields: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Parses a `manifest.json` (run or package).
pub(crate) fn read_manifest(bytes: &[u8]) -> Result<ReadManifest, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let fields = value["documents"]
        .as_array()
        .map(|docs| docs.iter().filter_map(|d| d.as_object().cloned()).collect())
        .unwrap_or_default();
    let listed = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok(ReadManifest { listed, fields })
}

/// Where a `manifest.csv` differs from its `manifest.json`, compared field
/// by field over every column (cells read back through
/// [`restore_formula`]); `None` when they agree. Names the row and column,
/// never the values (they may be personal data).
pub(crate) fn csv_difference(
    csv_bytes: &[u8],
    json: &[serde_json::Map<String, serde_json::Value>],
) -> Result<Option<String>, String> {
    let mut r = csv::Reader::from_reader(csv_bytes);
    let headers = r.headers().map_err(|e| e.to_string())?.clone();
    for key in json.iter().flat_map(|d| d.keys()) {
        if !headers.iter().any(|h| h == key) {
            return Ok(Some(format!("列 {key} がありません (column missing)")));
        }
    }
    let mut rows = 0;
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        rows += 1;
        let Some(doc) = json.get(i) else { continue };
        for (col, cell) in headers.iter().zip(rec.iter()) {
            let want = match doc.get(col) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            };
            if restore_formula(cell) != want {
                return Ok(Some(format!(
                    "{} 行目 {col} (row {}, column {col})",
                    i + 2,
                    i + 2
                )));
            }
        }
    }
    Ok((rows != json.len()).then(|| {
        format!(
            "行数 (rows): manifest.csv {rows}, manifest.json {}",
            json.len()
        )
    }))
}
