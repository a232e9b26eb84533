//! Dispatch checks: the mailing room scans every envelope's document id
//! before posting, and a [`Session`] reconciles the scans with the ids a
//! manifest expects ([`expected_doc_ids`]). The result, a
//! [`Reconciliation`], is written as `BASE.json` and `BASE.csv`
//! ([`write_reconciliation`]): every scan with its time, the missing ids,
//! the duplicates and the unknown scans.
//!
//! Times come from a [`Clock`]: the system time in Japan time (+09:00),
//! since this is an operator's log and not a batch output, or a fixed time
//! for tests. The terminal conversation itself is the command line's
//! (`chohyo dispatch-check`). Uses document ids ([`crate::mail::docid`]),
//! package zips read back ([`crate::mail::package`]) and [`crate::files`].

use crate::error::BatchError;
use crate::files::{neutralize_formula, restore_formula, write_atomic};
use crate::mail::docid;
use crate::mail::package::zipread::{open_entry, read_limited};
use crate::mail::package::{Password, MANIFEST_JSON};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use zip::ZipArchive;

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
            // Our CSVs are formula-safe: `-R001` is stored as `'-R001`.
            let row = rec.map_err(|e| bad(&e))?;
            rows.push(Row {
                doc_id: row.doc_id.map(|d| restore_formula(&d).to_string()),
                record_id: restore_formula(&row.record_id).to_string(),
            });
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
            _ => docid::doc_id(&r.record_id).map_err(|e| bad(&e)),
        })
        .collect()
}

/// What one scan turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanKind {
    /// An expected id, first time.
    Ok,
    /// An expected id scanned before.
    Duplicate,
    /// A well-formed id not in the manifest.
    Unknown,
    /// Not a valid document id (wrong check character or characters).
    Misread,
}

/// One scan as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scan {
    /// When (RFC 3339, +09:00).
    pub at: String,
    /// The id as normalised.
    pub id: String,
    /// Verdict.
    pub kind: ScanKind,
    /// Why, for `misread` (Japanese with English gloss).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A line of the scans that could not be read (not UTF-8, or the input
/// failed): reported and kept, so the check never ends as if it were
/// complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadError {
    /// 1-based line of the input.
    pub line: usize,
    /// Why (Japanese with English gloss).
    pub detail: String,
}

/// The state of a dispatch check.
#[derive(Debug)]
pub struct Session {
    expected: Vec<String>,
    position: BTreeMap<String, usize>,
    first_scan: Vec<Option<String>>,
    scans: Vec<Scan>,
    read_errors: Vec<ReadError>,
    found: usize,
}

/// The reconciliation written at the end.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    /// Format tag.
    pub format: &'static str,
    /// The manifest checked against.
    pub manifest: String,
    /// Documents expected.
    pub expected: usize,
    /// Distinct expected documents scanned.
    pub scanned: usize,
    /// Whether every document was scanned and nothing unknown was.
    pub complete: bool,
    /// Time of the first scan (or of the end, with no scans).
    pub started: String,
    /// Time the check was finished.
    pub finished: String,
    /// Expected ids not scanned, in manifest order.
    pub missing: Vec<String>,
    /// Ids scanned more than once: id → every time it was scanned.
    pub duplicates: BTreeMap<String, Vec<String>>,
    /// Unknown and misread scans.
    pub unknown: Vec<Scan>,
    /// Every scan in order.
    pub scans: Vec<Scan>,
    /// Lines of the input that could not be read.
    pub read_errors: Vec<ReadError>,
}

impl Session {
    /// A session expecting these ids (duplicates in the list are an error).
    pub fn new(expected: Vec<String>) -> Result<Session, String> {
        let mut position = BTreeMap::new();
        for (i, id) in expected.iter().enumerate() {
            if position.insert(id.clone(), i).is_some() {
                return Err(format!(
                    "マニフェストに同じ文書IDが2回あります (document id listed twice): {id}"
                ));
            }
        }
        Ok(Session {
            first_scan: vec![None; expected.len()],
            expected,
            position,
            scans: Vec::new(),
            read_errors: Vec::new(),
            found: 0,
        })
    }

    /// Documents expected.
    pub fn total(&self) -> usize {
        self.expected.len()
    }

    /// Distinct expected documents scanned so far.
    pub fn found(&self) -> usize {
        self.found
    }

    /// Records a line of the input that could not be read.
    pub fn read_error(&mut self, line: usize, detail: String) {
        self.read_errors.push(ReadError { line, detail });
    }

    /// Records one scan at time `at` and returns it.
    pub fn scan(&mut self, raw: &str, at: &str) -> &Scan {
        let id = docid::normalize_scan(raw);
        let (kind, detail) = match self.position.get(&id) {
            Some(&i) => match &self.first_scan[i] {
                Some(first) => (ScanKind::Duplicate, format!("1回目 (first scan) {first}")),
                None => {
                    self.first_scan[i] = Some(at.to_string());
                    self.found += 1;
                    (ScanKind::Ok, String::new())
                }
            },
            None => match docid::validate(&id) {
                Ok(_) => (ScanKind::Unknown, String::new()),
                Err(e) => match docid::doc_id(&id) {
                    // A bare record id typed by hand: say which id it would be.
                    Ok(full) if self.position.contains_key(&full) => (
                        ScanKind::Misread,
                        format!(
                            "チェック文字が抜けています。{full} のことですか？ (check character missing: did you mean {full}?)"
                        ),
                    ),
                    _ => (ScanKind::Misread, e.to_string()),
                },
            },
        };
        self.scans.push(Scan {
            at: at.to_string(),
            id,
            kind,
            detail,
        });
        &self.scans[self.scans.len() - 1]
    }

    /// The reconciliation at time `finished`.
    pub fn reconcile(&self, manifest: &str, finished: &str) -> Reconciliation {
        let missing: Vec<String> = self
            .expected
            .iter()
            .zip(&self.first_scan)
            .filter(|(_, s)| s.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        let mut duplicates: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &self.scans {
            if s.kind == ScanKind::Duplicate {
                let entry = duplicates.entry(s.id.clone()).or_default();
                if entry.is_empty() {
                    if let Some(Some(first)) =
                        self.position.get(&s.id).map(|&i| &self.first_scan[i])
                    {
                        entry.push(first.clone());
                    }
                }
                entry.push(s.at.clone());
            }
        }
        let unknown: Vec<Scan> = self
            .scans
            .iter()
            .filter(|s| matches!(s.kind, ScanKind::Unknown | ScanKind::Misread))
            .cloned()
            .collect();
        Reconciliation {
            format: "chohyo-dispatch-check/1",
            manifest: manifest.to_string(),
            expected: self.expected.len(),
            scanned: self.found,
            complete: missing.is_empty() && unknown.is_empty() && self.read_errors.is_empty(),
            started: self
                .scans
                .first()
                .map(|s| s.at.clone())
                .unwrap_or_else(|| finished.to_string()),
            finished: finished.to_string(),
            missing,
            duplicates,
            unknown,
            scans: self.scans.clone(),
            read_errors: self.read_errors.clone(),
        }
    }
}

/// Writes `BASE.json` and `BASE.csv`.
pub fn write_reconciliation(base: &Path, r: &Reconciliation) -> Result<(), BatchError> {
    let other = |e: &dyn std::fmt::Display| BatchError::Io(e.to_string());
    let with_ext = |ext: &str| {
        let mut s = base.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    let mut json = serde_json::to_vec_pretty(r).map_err(|e| other(&e))?;
    json.push(b'\n');
    let jp = with_ext(".json");
    write_atomic(&jp, &json).map_err(|e| BatchError::write(&jp, e))?;
    let mut buf = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut buf);
        let rec = |w: &mut csv::Writer<&mut Vec<u8>>, k: &str, id: &str, at: &str, d: &str| {
            w.write_record([k, &neutralize_formula(id), at, &neutralize_formula(d)])
                .map_err(|e| other(&e))
        };
        rec(&mut w, "kind", "doc_id", "at", "detail")?;
        for s in &r.scans {
            let kind = match s.kind {
                ScanKind::Ok => "scanned",
                ScanKind::Duplicate => "duplicate",
                ScanKind::Unknown => "unknown",
                ScanKind::Misread => "misread",
            };
            rec(&mut w, kind, &s.id, &s.at, &s.detail)?;
        }
        for id in &r.missing {
            rec(&mut w, "missing", id, "", "")?;
        }
        for e in &r.read_errors {
            rec(&mut w, "unreadable", &e.line.to_string(), "", &e.detail)?;
        }
        w.flush().map_err(|e| other(&e))?;
    }
    {
        let p = with_ext(".csv");
        write_atomic(&p, &buf).map_err(|e| BatchError::write(&p, e))
    }
}

/// The clock: fixed, or the system time in Japan time.
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub Option<DateTime<FixedOffset>>);

impl Clock {
    /// The time now (or the fixed time).
    pub fn now(&self) -> DateTime<FixedOffset> {
        if let Some(t) = self.0 {
            return t;
        }
        let jst = FixedOffset::east_opt(9 * 3600).unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        DateTime::from_timestamp(since.as_secs() as i64, 0)
            .unwrap_or_default()
            .with_timezone(&jst)
    }

    /// The time now as RFC 3339, for a scan's log line.
    pub fn stamp(&self) -> String {
        self.now().to_rfc3339()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_counts_and_reconciles() {
        let ids: Vec<String> = ["A1", "A2", "A3"]
            .iter()
            .map(|r| docid::doc_id(r).unwrap())
            .collect();
        let mut s = Session::new(ids.clone()).unwrap();
        assert_eq!(s.scan(&ids[0], "t1").kind, ScanKind::Ok);
        assert_eq!(
            s.scan(&ids[0].to_lowercase(), "t2").kind,
            ScanKind::Duplicate
        );
        assert_eq!(
            s.scan(&docid::doc_id("B9").unwrap(), "t3").kind,
            ScanKind::Unknown
        );
        let bare = s.scan("A2", "t4").clone();
        assert_eq!(bare.kind, ScanKind::Misread);
        assert!(bare.detail.contains(&ids[1]), "{}", bare.detail);
        assert_eq!(s.scan(&ids[2], "t5").kind, ScanKind::Ok);
        let r = s.reconcile("m", "t9");
        assert_eq!(r.missing, vec![ids[1].clone()]);
        assert_eq!(r.duplicates[&ids[0]], vec!["t1".to_string(), "t2".into()]);
        assert_eq!(r.unknown.len(), 2);
        assert_eq!(r.scanned, 2);
        assert!(!r.complete);
        assert!(Session::new(vec!["X".into(), "X".into()]).is_err());
    }
}
