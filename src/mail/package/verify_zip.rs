//! Checking one package zip against the manifests inside it, in steps:
//! open it, list its entries without reading them (unsafe names, symlinks,
//! declared sizes), read and compare the two manifests, then hash every
//! listed document under the size limit.
//!
//! Each step adds its findings to the report; a step that leaves nothing to
//! check after it (an unreadable zip, a zip over the total limit, no usable
//! `manifest.json`) ends the check of this zip.

use crate::mail::package::entry::PackageInfo;
use crate::mail::package::findings::{unsafe_name, FindingKind, VerifyOptions, VerifyReport};
use crate::mail::package::hash::sha256_reader;
use crate::mail::package::manifest::{csv_difference, read_manifest, Listed, ReadManifest};
use crate::mail::package::zipread::{open_entry, read_limited, zip_error_kind};
use crate::mail::package::{DOCS_PREFIX, MANIFEST_CSV, MANIFEST_JSON};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use zip::ZipArchive;

type Zip = ZipArchive<BufReader<File>>;

/// One file entry of the zip, as listed before reading any content.
struct EntryMeta {
    index: usize,
    name: String,
    /// False when its name, kind or declared size was reported: its
    /// content is then never read.
    safe: bool,
}

/// What every step needs: the zip's path, the limits, the report.
struct Check<'a> {
    path: &'a Path,
    listed_as: Option<&'a PackageInfo>,
    opts: &'a VerifyOptions,
    report: &'a mut VerifyReport,
}

/// Checks one zip against the manifests inside it, and against its line of
/// `packages.json` when it was listed there (`listed_as`).
pub(crate) fn verify_zip(
    path: &Path,
    listed_as: Option<&PackageInfo>,
    opts: &VerifyOptions,
    report: &mut VerifyReport,
) {
    report.containers += 1;
    let mut check = Check {
        path,
        listed_as,
        opts,
        report,
    };
    let Some(mut zip) = check.open() else {
        return;
    };
    let Some(entries) = check.list_entries(&mut zip) else {
        return;
    };
    let Some(listed) = check.manifests(&mut zip, &entries) else {
        return;
    };
    check.documents(&mut zip, &entries, &listed);
}

impl Check<'_> {
    fn add(&mut self, kind: FindingKind, entry: &str, detail: impl Into<String>) {
        self.report.add(kind, self.path, entry, detail);
    }

    /// Opens the zip; reports it unreadable, or its duplicate names.
    fn open(&mut self) -> Option<Zip> {
        let opened = crate::files::open_regular(self.path)
            .map_err(|e| e.to_string())
            .and_then(|f| ZipArchive::new(BufReader::new(f)).map_err(|e| e.to_string()));
        let zip = match opened {
            Ok(z) => z,
            Err(detail) => {
                self.add(FindingKind::Unreadable, "", detail);
                return None;
            }
        };
        if zip.has_duplicate_names() {
            self.add(FindingKind::DuplicateName, "", "");
        }
        Some(zip)
    }

    /// Pass 1: names and kinds, without reading contents. `None` when the
    /// declared total is over the limit (nothing more is read).
    fn list_entries(&mut self, zip: &mut Zip) -> Option<Vec<EntryMeta>> {
        let mut entries = Vec::new();
        let mut total = 0u64;
        for i in 0..zip.len() {
            let f = match zip.by_index_raw(i) {
                Ok(f) => f,
                Err(e) => {
                    self.add(FindingKind::Unreadable, &format!("#{i}"), e.to_string());
                    continue;
                }
            };
            let name = String::from_utf8_lossy(f.name_raw()).into_owned();
            let problem = if let Some(kind) = unsafe_name(&name) {
                Some((kind, String::new()))
            } else if f.is_symlink() {
                Some((FindingKind::Symlink, String::new()))
            } else if f.size() > self.opts.max_entry_bytes {
                let detail = format!("{} > {} bytes", f.size(), self.opts.max_entry_bytes);
                Some((FindingKind::TooLarge, detail))
            } else {
                None
            };
            let safe = problem.is_none();
            if let Some((kind, detail)) = problem {
                self.add(kind, &name, detail);
            }
            total = total.saturating_add(f.size());
            if !f.is_dir() {
                entries.push(EntryMeta {
                    index: i,
                    name,
                    safe,
                });
            }
        }
        if total > self.opts.max_total_bytes {
            let detail = format!("{total} > {} bytes", self.opts.max_total_bytes);
            self.add(FindingKind::TooLarge, "", detail);
            return None;
        }
        Some(entries)
    }

    /// Reads a manifest entry by name: `None` when there is no safe entry of
    /// that name, else its bytes or the finding to report.
    fn read_named(
        &self,
        zip: &mut Zip,
        entries: &[EntryMeta],
        name: &str,
    ) -> Option<Result<Vec<u8>, (FindingKind, String)>> {
        let m = entries.iter().find(|m| m.name == name && m.safe)?;
        Some(
            match open_entry(zip, m.index, self.opts.password.as_ref()) {
                Ok(mut f) => match read_limited(&mut f, self.opts.max_entry_bytes) {
                    Ok(Some(b)) => Ok(b),
                    Ok(None) => Err((FindingKind::TooLarge, String::new())),
                    Err(e) => Err((FindingKind::ManifestInvalid, e.to_string())),
                },
                Err(e) => Err((zip_error_kind(&e), e.to_string())),
            },
        )
    }

    /// The documents `manifest.json` lists (`None` when it is missing or
    /// unusable), after checking that `manifest.csv` agrees with it.
    fn manifests(&mut self, zip: &mut Zip, entries: &[EntryMeta]) -> Option<Vec<Listed>> {
        let json = self.read_named(zip, entries, MANIFEST_JSON);
        let csv_bytes = self.read_named(zip, entries, MANIFEST_CSV);
        let listed = match json {
            None => {
                self.add(FindingKind::ManifestMissing, MANIFEST_JSON, "");
                return None;
            }
            Some(Err((kind, detail))) => {
                self.add(kind, MANIFEST_JSON, detail);
                return None;
            }
            Some(Ok(bytes)) => match read_manifest(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    self.add(FindingKind::ManifestInvalid, MANIFEST_JSON, e);
                    return None;
                }
            },
        };
        let count = listed.listed.documents_count;
        if count.is_some_and(|n| n != listed.listed.documents.len() as u64) {
            let detail = format!(
                "documents_count {} / documents {}",
                count.unwrap_or(0),
                listed.listed.documents.len()
            );
            self.add(FindingKind::ManifestCount, MANIFEST_JSON, detail);
        }
        self.identity(&listed);
        match csv_bytes {
            None => self.add(FindingKind::ManifestMissing, MANIFEST_CSV, ""),
            Some(Err((kind, detail))) => self.add(kind, MANIFEST_CSV, detail),
            Some(Ok(bytes)) => match csv_difference(&bytes, &listed.fields) {
                Ok(None) => {}
                Ok(Some(at)) => self.add(FindingKind::ManifestMismatch, MANIFEST_CSV, at),
                Err(e) => self.add(FindingKind::ManifestInvalid, MANIFEST_CSV, e),
            },
        }
        Some(listed.listed.documents)
    }

    /// Holds the package's own name, group and part against the zip's file
    /// name, every document's group and its line of `packages.json`: a
    /// zip renamed, or swapped for another group's, is found even when
    /// its contents are intact. Group names are the job's mail groups, not
    /// personal data, so the detail shows them.
    fn identity(&mut self, read: &ReadManifest) {
        let m = &read.listed;
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut wrong = Vec::new();
        match (&m.package, &m.group, m.part) {
            (Some(package), Some(group), Some(part)) => {
                if *package != file_name {
                    wrong.push(format!("package {package} / ファイル名 {file_name}"));
                }
                let strays = read
                    .fields
                    .iter()
                    .filter(|d| d.get("group").and_then(|g| g.as_str()) != Some(group.as_str()))
                    .count();
                if strays > 0 {
                    wrong.push(format!("group {group} / 別グループの文書 {strays} 件"));
                }
                if let Some(p) = self.listed_as {
                    if p.group != *group || p.part != part {
                        wrong.push(format!(
                            "group {group} part {part} / packages.json: group {} part {}",
                            p.group, p.part
                        ));
                    }
                    if p.documents != m.documents.len() {
                        wrong.push(format!(
                            "文書 {} 件 / packages.json: {} 件",
                            m.documents.len(),
                            p.documents
                        ));
                    }
                }
            }
            _ => wrong.push("package・group・part のいずれかがありません (missing)".to_string()),
        }
        if !wrong.is_empty() {
            self.add(
                FindingKind::ManifestIdentity,
                MANIFEST_JSON,
                wrong.join("; "),
            );
        }
    }

    /// Hashes every listed document present; reports extra, changed, too
    /// large and missing ones.
    fn documents(&mut self, zip: &mut Zip, entries: &[EntryMeta], listed: &[Listed]) {
        let by_name: BTreeMap<&str, &Listed> =
            listed.iter().map(|l| (l.file.as_str(), l)).collect();
        let mut seen = BTreeSet::new();
        for m in entries {
            if m.name == MANIFEST_JSON || m.name == MANIFEST_CSV {
                continue;
            }
            let file = m.name.strip_prefix(DOCS_PREFIX);
            let Some(l) = file.and_then(|f| by_name.get(f)) else {
                if m.safe {
                    self.add(FindingKind::Extra, &m.name, "");
                }
                continue;
            };
            seen.insert(l.file.as_str());
            if m.safe {
                self.document(zip, m, l);
            }
        }
        for l in listed {
            if !seen.contains(l.file.as_str()) {
                self.add(
                    FindingKind::Missing,
                    &format!("{DOCS_PREFIX}{}", l.file),
                    "",
                );
            }
        }
    }

    /// Hashes one document (at most the entry limit is inflated, whatever
    /// the zip declares) and compares it with its manifest line.
    fn document(&mut self, zip: &mut Zip, m: &EntryMeta, l: &Listed) {
        let limit = self.opts.max_entry_bytes;
        let result = match open_entry(zip, m.index, self.opts.password.as_ref()) {
            Ok(mut f) => {
                let mut limited = (&mut f).take(limit + 1);
                sha256_reader(&mut limited).map_err(|e| (FindingKind::Changed, e.to_string()))
            }
            Err(e) => Err((zip_error_kind(&e), e.to_string())),
        };
        match result {
            Ok((_, n)) if n > limit => {
                self.add(FindingKind::TooLarge, &m.name, format!("> {limit} bytes"))
            }
            Ok((sha, n)) if sha == l.sha256 && n == l.bytes => self.report.documents_ok += 1,
            Ok((sha, n)) => self.add(
                FindingKind::Changed,
                &m.name,
                format!("sha256 {} → {sha}, bytes {} → {n}", l.sha256, l.bytes),
            ),
            Err((kind, detail)) => self.add(kind, &m.name, detail),
        }
    }
}
