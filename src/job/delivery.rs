//! What leaves the run besides the documents: `[package]` (zip packages per
//! mailing group), `[print]` (combined print files) and `[[documents]]`
//! (labels, dispatch lists made from all records). Plain configuration; uses
//! only the `files` leaf (safe file names).

use std::path::PathBuf;

use serde::Deserialize;

/// How documents are stored in a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Stored as they are (PDFs are already compressed; fastest).
    #[default]
    Stored,
    /// Deflated (level 6).
    Deflated,
}

/// `[package]`: zip packages per mailing group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSection {
    /// `stored` (default) or `deflated`.
    #[serde(default)]
    pub compression: Compression,
    /// Split a group's zip after this many documents.
    pub max_documents: Option<usize>,
    /// Split a group's zip after this many megabytes of documents.
    pub max_mb: Option<u64>,
    /// Write recipient names into the package manifests.
    #[serde(default)]
    pub include_names: bool,
    /// AES-256 encryption with the password in this environment variable.
    pub password_env: Option<String>,
    /// AES-256 encryption with the password in this file.
    pub password_file: Option<PathBuf>,
}

/// `[print]`: combined print files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintSection {
    /// Pad each document to an even page count for duplex printing.
    #[serde(default)]
    pub duplex_pad: bool,
}

/// `[[documents]]`: a document made from all records of the batch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDocument {
    /// Its template; context `records` (mail order), `values`, `batch`.
    pub template: PathBuf,
    /// Output file name in the run directory (e.g. `labels.pdf`).
    pub file_name: String,
    /// Document kind for titles (e.g. 宛名ラベル).
    pub title: String,
}

impl PackageSection {
    /// A package password has one source.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.password_env.is_some() && self.password_file.is_some() {
            return Err("package.password_env と package.password_file は片方だけ書きます (give one password source)".into());
        }
        Ok(())
    }
}

/// Every `[[documents]]` output name is a safe file name as it is.
pub(crate) fn check_documents(documents: &[BatchDocument]) -> Result<(), String> {
    for (i, d) in documents.iter().enumerate() {
        if d.file_name.is_empty() || crate::files::sanitize_file_name(&d.file_name) != d.file_name {
            return Err(format!(
                "documents[{i}].file_name「{}」はファイル名として使えません (not a safe file name)",
                d.file_name
            ));
        }
    }
    Ok(())
}
