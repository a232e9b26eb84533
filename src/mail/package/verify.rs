//! `chohyo verify`'s entry point: what kind of target it was given, and the
//! checks of a `packages.json` (every zip it lists, and no other) and of a
//! run directory (`manifest.json` against `docs/`). Zips themselves are
//! checked by [`crate::mail::package::verify_zip`].

use crate::error::BatchError;
use crate::files::open_regular;
use crate::mail::package::entry::PackagesFile;
use crate::mail::package::findings::{unsafe_name, FindingKind, VerifyOptions, VerifyReport};
use crate::mail::package::hash::sha256_reader;
use crate::mail::package::manifest::{csv_difference, read_manifest, Listed};
use crate::mail::package::verify_zip::verify_zip;
use crate::mail::package::zipread::read_limited;
use crate::mail::package::{DOCS_PREFIX, MANIFEST_CSV, MANIFEST_JSON, PACKAGES_JSON};
use std::io::Read;
use std::path::Path;

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
            verify_dir(path, opts, &mut report);
            // A run directory's packages are checked with it; the
            // documents in them are copies of those of `docs/`, counted
            // apart so that a batch's documents are counted once.
            let packages = path.join("packages").join(PACKAGES_JSON);
            if packages.is_file() {
                let documents = report.documents_ok;
                verify_packages_json(&packages, opts, &mut report);
                report.package_copies_ok = report.documents_ok - documents;
                report.documents_ok = documents;
            }
        }
    } else if path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".json"))
    {
        verify_packages_json(path, opts, &mut report);
    } else {
        verify_zip(path, None, opts, &mut report);
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
        match open_regular(&zip_path).and_then(|mut f| sha256_reader(&mut f)) {
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
        verify_zip(&zip_path, Some(p), opts, report);
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

/// Reads a file of a run directory: a regular file only, at most `limit`
/// bytes. `Ok(None)` when it is not there.
fn read_capped(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, (FindingKind, String)> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let mut f = open_regular(path).map_err(|e| (FindingKind::Unreadable, e.to_string()))?;
    match read_limited(&mut f, limit) {
        Ok(Some(b)) => Ok(Some(b)),
        Ok(None) => Err((FindingKind::TooLarge, format!("> {limit} bytes"))),
        Err(e) => Err((FindingKind::Unreadable, e.to_string())),
    }
}

/// Checks a run directory: `manifest.json` against `docs/` and against
/// `manifest.csv`, field by field.
fn verify_dir(dir: &Path, opts: &VerifyOptions, report: &mut VerifyReport) {
    report.containers += 1;
    let limit = opts.max_entry_bytes;
    let read = match read_capped(&dir.join(MANIFEST_JSON), limit) {
        Ok(None) => {
            report.add(FindingKind::ManifestMissing, dir, MANIFEST_JSON, "");
            return;
        }
        Err((kind, detail)) => {
            report.add(kind, dir, MANIFEST_JSON, detail);
            return;
        }
        Ok(Some(b)) => match read_manifest(&b) {
            Ok(m) => m,
            Err(e) => {
                report.add(FindingKind::ManifestInvalid, dir, MANIFEST_JSON, e);
                return;
            }
        },
    };
    match read_capped(&dir.join(MANIFEST_CSV), limit) {
        Ok(None) => report.add(FindingKind::ManifestMissing, dir, MANIFEST_CSV, ""),
        Err((kind, detail)) => report.add(kind, dir, MANIFEST_CSV, detail),
        Ok(Some(b)) => match csv_difference(&b, &read.fields) {
            Ok(None) => {}
            Ok(Some(at)) => report.add(FindingKind::ManifestMismatch, dir, MANIFEST_CSV, at),
            Err(e) => report.add(FindingKind::ManifestInvalid, dir, MANIFEST_CSV, e),
        },
    }
    verify_docs(dir, &read.listed.documents, limit, report);
}

/// Hashes every listed document of `docs/` (regular files only, at most
/// `limit` bytes read); reports missing, changed and unlisted ones.
fn verify_docs(dir: &Path, listed: &[Listed], limit: u64, report: &mut VerifyReport) {
    let docs = dir.join("docs");
    let mut names = std::collections::BTreeSet::new();
    for l in listed {
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
            Ok(_) => match open_regular(&p).and_then(|f| sha256_reader(&mut f.take(limit + 1))) {
                Ok((_, n)) if n > limit => report.add(
                    FindingKind::TooLarge,
                    dir,
                    &entry,
                    format!("> {limit} bytes"),
                ),
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
