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
//!
//! # Files
//!
//! One file per concept: [`password`] and [`options`] (how packages are
//! written), [`entry`] (what they list), [`entry_options`] (how each zip
//! entry is stored), [`manifest`] (the manifests' rows, written and read
//! back), [`hash`] (streamed SHA-256), [`writer`] (the zips and
//! `packages.json`), [`zipread`] (reading entries back), [`findings`],
//! [`verify`] and [`verify_zip`] (the checker). May use `job` (compression),
//! `files`, `error` and the run manifest's [`crate::mail::manifest`].

pub(crate) mod entry;
pub(crate) mod entry_options;
pub(crate) mod findings;
pub(crate) mod hash;
pub(crate) mod manifest;
pub(crate) mod options;
pub(crate) mod password;
pub(crate) mod verify;
pub(crate) mod verify_zip;
pub(crate) mod writer;
pub(crate) mod zipread;

pub use entry::{PackageEntry, PackageInfo, PackagesFile};
pub use findings::{Finding, FindingKind, VerifyOptions, VerifyReport};
pub use options::PackageOptions;
pub use password::Password;
pub use verify::verify_path;
pub use writer::{write_packages_json, PackageWriter};

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
