//! `chohyo dispatch-check`: the mailing room scans every envelope's
//! document id before posting; this reconciles the scans with the manifest.
//!
//! ```text
//! chohyo dispatch-check <manifest.json | manifest.csv | package.zip>
//!                       [--ids FILE] [--out BASE] [--now RFC3339]
//!                       [--password-file FILE | --password-env VAR]
//! ```
//! On a terminal: a USB scanner types the id and Enter (or a person types
//! it); each scan answers at once with the progress (n of N) or a loud
//! warning for an unknown id, a misread (wrong check character) or a
//! duplicate. Finish any time with `:done`, with an empty line and a
//! confirmation, or with end of input (Ctrl-D). Without a terminal, ids are
//! read from `--ids FILE` or stdin, one a line (empty lines skipped,
//! `:done` stops).
//!
//! Writes `BASE.json` and `BASE.csv` (default: `dispatch-check-<time>` next
//! to the manifest): every scan with its time, the missing ids, the
//! duplicates and the unknown scans. Times come from the clock (this is an
//! operator's log, not a batch output), in Japan time (+09:00); `--now`
//! fixes them for tests.
//!
//! Exit codes: 0 every document scanned and nothing unknown; 1 documents
//! missing or unknown/misread scans (an envelope that does not belong to
//! the batch); 2 the manifest or an option cannot be used. Duplicates are
//! reported but do not fail the check on their own.

use crate::error::ExitCode;
use crate::mail::docid;
use crate::mail::package;
use chrono::{DateTime, FixedOffset};
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Arguments of `chohyo dispatch-check`.
#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// The manifest: a package or run `manifest.json`, a `manifest.csv`, or a package zip.
    pub manifest: PathBuf,
    /// Read scanned ids from this file instead of the terminal/stdin.
    #[arg(long)]
    pub ids: Option<PathBuf>,
    /// Base path of the reconciliation files (`BASE.json`, `BASE.csv`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Use this fixed time (RFC 3339) for every timestamp (tests).
    #[arg(long)]
    pub now: Option<String>,
    /// Password of an encrypted package zip, from this file.
    #[arg(long, conflicts_with = "password_env")]
    pub password_file: Option<PathBuf>,
    /// Password of an encrypted package zip, from this environment variable.
    #[arg(long)]
    pub password_env: Option<String>,
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

/// The state of a dispatch check.
#[derive(Debug)]
pub struct Session {
    expected: Vec<String>,
    position: BTreeMap<String, usize>,
    first_scan: Vec<Option<String>>,
    scans: Vec<Scan>,
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
            complete: missing.is_empty() && unknown.is_empty(),
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
        }
    }
}

/// Writes `BASE.json` and `BASE.csv`.
pub fn write_reconciliation(base: &Path, r: &Reconciliation) -> Result<(), String> {
    let with_ext = |ext: &str| {
        let mut s = base.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    let mut json = serde_json::to_vec_pretty(r).map_err(|e| e.to_string())?;
    json.push(b'\n');
    let jp = with_ext(".json");
    crate::files::write_atomic(&jp, &json)
        .map_err(|e| crate::error::BatchError::write(&jp, e).to_string())?;
    let mut buf = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut buf);
        let rec = |w: &mut csv::Writer<&mut Vec<u8>>, k: &str, id: &str, at: &str, d: &str| {
            w.write_record([k, &crate::files::neutralize_formula(id), at, d])
                .map_err(|e| e.to_string())
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
        w.flush().map_err(|e| e.to_string())?;
    }
    {
        let p = with_ext(".csv");
        crate::files::write_atomic(&p, &buf)
            .map_err(|e| crate::error::BatchError::write(&p, e).to_string())
    }
}

/// The clock: fixed, or the system time in Japan time.
struct Clock(Option<DateTime<FixedOffset>>);

impl Clock {
    fn now(&self) -> DateTime<FixedOffset> {
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
    fn stamp(&self) -> String {
        self.now().to_rfc3339()
    }
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &DispatchArgs) -> ExitCode {
    let clock = match &args.now {
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Clock(Some(t)),
            Err(e) => {
                eprintln!("chohyo: --now は RFC 3339 の日時で指定します (--now must be RFC 3339, e.g. 2025-04-01T10:00:00+09:00): {e}");
                return ExitCode::Input;
            }
        },
        None => Clock(None),
    };
    let password = match super::verify::password_from(
        args.password_file.as_deref(),
        args.password_env.as_deref(),
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let expected = match package::expected_doc_ids(&args.manifest, password.as_ref()) {
        Ok(ids) => ids,
        Err(e) => {
            eprintln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let mut session = match Session::new(expected) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("chohyo: {}: {e}", args.manifest.display());
            return ExitCode::Input;
        }
    };
    let base = args.out.clone().unwrap_or_else(|| {
        let dir = args.manifest.parent().unwrap_or(Path::new("."));
        dir.join(format!(
            "dispatch-check-{}",
            clock.now().format("%Y%m%dT%H%M%S")
        ))
    });

    let stdin = std::io::stdin();
    let interactive = args.ids.is_none() && stdin.is_terminal();
    let err = std::io::stderr();
    let mut err = err.lock();
    let _ = writeln!(
        err,
        "発送チェック (dispatch check): {} 通。読み取るたびに Enter。終了は :done か空行 (finish with :done or an empty line)",
        session.total()
    );
    let lines: Box<dyn Iterator<Item = std::io::Result<String>>> = match &args.ids {
        Some(p) => match std::fs::File::open(p) {
            Ok(f) => Box::new(std::io::BufReader::new(f).lines()),
            Err(e) => {
                eprintln!("chohyo: {}: {e}", p.display());
                return ExitCode::Input;
            }
        },
        None => Box::new(stdin.lock().lines()),
    };
    let mut lines = lines;
    loop {
        if interactive {
            let _ = write!(err, "[{}/{}] > ", session.found(), session.total());
            let _ = err.flush();
        }
        let Some(line) = lines.next() else { break };
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(err, "chohyo: 入力を読めません (cannot read input): {e}");
                break;
            }
        };
        let trimmed = line.trim();
        if trimmed.eq_ignore_ascii_case(":done") {
            break;
        }
        if trimmed.is_empty() {
            if !interactive {
                continue;
            }
            let missing = session.total() - session.found();
            let _ = write!(
                err,
                "終了しますか？ 未読 {missing} 通 (finish now? {missing} not scanned) [y/N] "
            );
            let _ = err.flush();
            match lines.next() {
                Some(Ok(a)) if matches!(a.trim(), "y" | "Y" | "yes" | "はい") => break,
                None => break,
                _ => continue,
            }
        }
        let at = clock.stamp();
        let (found, total) = (session.found(), session.total());
        let scan = session.scan(trimmed, &at).clone();
        let bell = if interactive { "\x07" } else { "" };
        let _ = match scan.kind {
            ScanKind::Ok => writeln!(err, "OK    [{}/{total}] {}", found + 1, scan.id),
            ScanKind::Duplicate => writeln!(
                err,
                "{bell}!! 重複 (duplicate) {} — {}",
                scan.id, scan.detail
            ),
            ScanKind::Unknown => writeln!(
                err,
                "{bell}!! 不明 (unknown) {} — このバッチの文書ではありません (not in this batch)",
                scan.id
            ),
            ScanKind::Misread => writeln!(
                err,
                "{bell}!! 読み取り誤り (misread) {} — {}",
                scan.id, scan.detail
            ),
        };
    }
    let r = session.reconcile(&args.manifest.display().to_string(), &clock.stamp());
    if let Err(e) = write_reconciliation(&base, &r) {
        eprintln!("chohyo: 照合結果を書けません (cannot write the reconciliation): {e}");
        return ExitCode::Input;
    }
    let _ = writeln!(
        err,
        "結果 (result): {}/{} 通を確認、未読 {}、重複 {}、不明・誤読 {} → {}.json / .csv",
        r.scanned,
        r.expected,
        r.missing.len(),
        r.duplicates.len(),
        r.unknown.len(),
        base.display()
    );
    const SHOWN: usize = 20;
    for id in r.missing.iter().take(SHOWN) {
        let _ = writeln!(err, "  未読 (missing): {id}");
    }
    if r.missing.len() > SHOWN {
        let _ = writeln!(
            err,
            "  ほか {} 通は照合ファイルを見てください (see the reconciliation file for the rest)",
            r.missing.len() - SHOWN
        );
    }
    if r.complete {
        ExitCode::Success
    } else {
        ExitCode::Rejects
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
