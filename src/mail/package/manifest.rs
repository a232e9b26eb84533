//! The formats of a package's own manifests: the rows of `manifest.csv`
//! as written, and what the checker reads back from either manifest
//! ([`Listed`], [`csv_pairs`]).
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
}

/// `(file, sha256)` of every row of a manifest CSV.
pub(crate) fn csv_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
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
            restore_formula(rec.get(fi).unwrap_or("")).to_string(),
            rec.get(si).unwrap_or("").to_string(),
        ));
    }
    Ok(out)
}
