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
//! A line that is not UTF-8 (or input that fails) is reported with its
//! line number, listed under `read_errors` in `BASE.json` (`unreadable` in
//! the CSV), and the check goes on with the next line. Scanned ids are
//! echoed with control characters escaped.
//!
//! Exit codes: 0 every document scanned and nothing unknown; 1 documents
//! missing, unknown/misread scans (an envelope that does not belong to
//! the batch) or unreadable lines; 2 the manifest or an option cannot be used. Duplicates are
//! reported but do not fail the check on their own.

use crate::cli::output::errln;
use crate::error::ExitCode;
use crate::files::terminal_safe;
use crate::mail::dispatch::{self, Clock, Reconciliation, ScanKind, Session};
use chrono::DateTime;
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Arguments of `chohyo dispatch-check`.
#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// マニフェスト: パッケージか実行ディレクトリの manifest.json、manifest.csv、またはパッケージの zip (the manifest: a
    /// manifest.json, a manifest.csv, or a package zip)
    pub manifest: PathBuf,
    /// 読み取った文書IDを端末や標準入力でなくこのファイルから読む (read scanned ids from this file instead of the
    /// terminal/stdin)
    #[arg(long)]
    pub ids: Option<PathBuf>,
    /// 照合結果ファイルの名前の元（BASE.json、BASE.csv） (base path of the reconciliation files, BASE.json
    /// and BASE.csv)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// すべての時刻にこの固定時刻（RFC 3339）を使う（テスト用） (use this fixed time, RFC 3339, for every timestamp;
    /// for tests)
    #[arg(long)]
    pub now: Option<String>,
    /// 暗号化パッケージ zip のパスワードをこのファイルから読む (password of an encrypted package zip, from this file)
    #[arg(long, conflicts_with = "password_env")]
    pub password_file: Option<PathBuf>,
    /// 暗号化パッケージ zip のパスワードをこの環境変数から読む (password of an encrypted package zip, from this
    /// environment variable)
    #[arg(long)]
    pub password_env: Option<String>,
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &DispatchArgs) -> ExitCode {
    let clock = match &args.now {
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Clock(Some(t)),
            Err(e) => {
                errln!("chohyo: --now は RFC 3339 の日時で指定します (--now must be RFC 3339, e.g. 2025-04-01T10:00:00+09:00): {e}");
                return ExitCode::Input;
            }
        },
        None => Clock(None),
    };
    let mut session = match open_session(args) {
        Ok(s) => s,
        Err(e) => {
            errln!("chohyo: {e}");
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
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "発送チェック (dispatch check): {} 通。読み取るたびに Enter。終了は :done か空行 (finish with :done or an empty line)",
        session.total()
    );
    // Lines as bytes: one line that is not UTF-8 is reported and skipped,
    // it does not end the check.
    let lines: Box<dyn Iterator<Item = std::io::Result<Vec<u8>>>> = match &args.ids {
        Some(p) => match std::fs::File::open(p) {
            Ok(f) => Box::new(std::io::BufReader::new(f).split(b'\n')),
            Err(e) => {
                errln!("chohyo: {}: {e}", p.display());
                return ExitCode::Input;
            }
        },
        None => Box::new(stdin.lock().split(b'\n')),
    };
    read_scans(&mut session, lines, interactive, &clock, &mut err);
    let r = session.reconcile(&args.manifest.display().to_string(), &clock.stamp());
    if let Err(e) = dispatch::write_reconciliation(&base, &r) {
        errln!("chohyo: 照合結果を書けません (cannot write the reconciliation): {e}");
        return ExitCode::Input;
    }
    print_result(&mut err, &r, &base);
    if r.complete {
        ExitCode::Success
    } else {
        ExitCode::Rejects
    }
}

/// The session expecting the manifest's ids (the password read first).
fn open_session(args: &DispatchArgs) -> Result<Session, String> {
    let password =
        super::verify::password_from(args.password_file.as_deref(), args.password_env.as_deref())
            .map_err(|e| e.to_string())?;
    let expected =
        dispatch::expected_doc_ids(&args.manifest, password.as_ref()).map_err(|e| e.to_string())?;
    Session::new(expected).map_err(|e| format!("{}: {e}", args.manifest.display()))
}

/// The conversation: one scan a line, each answered at once, until
/// `:done`, a confirmed empty line (on a terminal) or the end of input.
fn read_scans(
    session: &mut Session,
    mut lines: impl Iterator<Item = std::io::Result<Vec<u8>>>,
    interactive: bool,
    clock: &Clock,
    err: &mut impl Write,
) {
    let mut number = 0;
    loop {
        if interactive {
            let _ = write!(err, "[{}/{}] > ", session.found(), session.total());
            let _ = err.flush();
        }
        let Some(line) = lines.next() else { break };
        number += 1;
        let line = match line.map(String::from_utf8) {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                let detail = format!(
                    "{number} 行目: UTF-8 の文字として読めません。この行は飛ばしました (line {number}: not UTF-8, skipped; byte {})",
                    e.utf8_error().valid_up_to() + 1
                );
                let _ = writeln!(err, "!! {detail}");
                session.read_error(number, detail);
                continue;
            }
            Err(e) => {
                let detail = format!(
                    "{number} 行目から先を読めません (cannot read input from line {number}): {e}"
                );
                let _ = writeln!(err, "chohyo: {detail}");
                session.read_error(number, detail);
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
            match lines.next().map(|a| a.map(String::from_utf8)) {
                Some(Ok(Ok(a))) if matches!(a.trim(), "y" | "Y" | "yes" | "はい") => break,
                None => break,
                _ => continue,
            }
        }
        let at = clock.stamp();
        let found = session.found();
        let total = session.total();
        let scan = session.scan(trimmed, &at);
        let bell = if interactive { "\x07" } else { "" };
        // What was scanned is shown escaped: an ESC sequence typed or read
        // from the file must not drive the terminal.
        let (id, detail) = (terminal_safe(&scan.id), terminal_safe(&scan.detail));
        let _ = match scan.kind {
            ScanKind::Ok => writeln!(err, "OK    [{}/{total}] {id}", found + 1),
            ScanKind::Duplicate => writeln!(err, "{bell}!! 重複 (duplicate) {id} — {detail}"),
            ScanKind::Unknown => writeln!(
                err,
                "{bell}!! 不明 (unknown) {id} — このバッチの文書ではありません (not in this batch)"
            ),
            ScanKind::Misread => {
                writeln!(err, "{bell}!! 読み取り誤り (misread) {id} — {detail}")
            }
        };
    }
}

/// The summary line and the first missing ids.
fn print_result(err: &mut impl Write, r: &Reconciliation, base: &Path) {
    let _ = writeln!(
        err,
        "結果 (result): {}/{} 通を確認、未読 {}、重複 {}、不明・誤読 {}、読めない行 {} → {}.json / .csv",
        r.scanned,
        r.expected,
        r.missing.len(),
        r.duplicates.len(),
        r.unknown.len(),
        r.read_errors.len(),
        base.display()
    );
    const SHOWN: usize = 20;
    for id in r.missing.iter().take(SHOWN) {
        let _ = writeln!(err, "  未読 (missing): {}", terminal_safe(id));
    }
    if r.missing.len() > SHOWN {
        let _ = writeln!(
            err,
            "  ほか {} 通は照合ファイルを見てください (see the reconciliation file for the rest)",
            r.missing.len() - SHOWN
        );
    }
}
