//! `chohyo ledger <job.toml>`: lists, searches and exports the issuance
//! ledger (発行台帳); makes a PostgreSQL ledger's schema; carries a ledger
//! from one back end to another.
//!
//! ```text
//! chohyo ledger samples/zaishoku/job.toml [--record ID] [--number N]
//!               [--fiscal-year Y] [--batch ID] [--from DATE] [--to DATE]
//!               [--csv FILE] [--ledger FILE|URL] [--out DIR]
//!               [--init] [--export FILE] [--import FILE]
//! ```
//! Without `--csv` prints one line per document number; with it writes a
//! CSV (UTF-8 with BOM, for Excel). `--init` creates (or brings up to
//! date) the ledger's schema; `--export` writes every row, whatever the
//! filters, as JSON Lines and `--import` adds such a file's rows in one
//! transaction, then checks that every one of them is there. Exit codes: 0
//! ok, 2 job or ledger error.

use crate::cli::output::{errln, outln};
use crate::error::ExitCode;
use crate::job::Job;
use crate::run::ledger::{self, Issue, Ledger, Query};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `chohyo ledger`.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// ジョブファイル (the job file)
    pub job: PathBuf,
    /// この記録IDだけ (only this record id)
    #[arg(long)]
    pub record: Option<String>,
    /// この文書番号だけ (only this document number)
    #[arg(long)]
    pub number: Option<u64>,
    /// この年度だけ（4 月 1 日に始まる年） (only this fiscal year, the year it begins on April 1)
    #[arg(long)]
    pub fiscal_year: Option<i32>,
    /// このバッチだけ (only this batch)
    #[arg(long)]
    pub batch: Option<String>,
    /// 発行日がこの日以降 YYYY-MM-DD (issue date from, inclusive)
    #[arg(long)]
    pub from: Option<String>,
    /// 発行日がこの日以前 YYYY-MM-DD (issue date to, inclusive)
    #[arg(long)]
    pub to: Option<String>,
    /// 表示せずにこの CSV ファイルへ書き出す (write the rows as CSV here instead of printing them)
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// 台帳のファイルか postgresql:// の URL（既定: ジョブの指定か <out>/<job>/ledger.sqlite） (the ledger file or
    /// postgresql:// URL, default: the job's or <out>/<job>/ledger.sqlite)
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// 台帳の表を作る・最新にする（PostgreSQL の台帳は最初に一度） (create or update the ledger's schema, once
    /// first for a PostgreSQL ledger)
    #[arg(long, conflicts_with_all = ["export", "import", "csv"])]
    pub init: bool,
    /// 台帳の全行を JSON Lines でこのファイルへ書き出す（移行用） (write every ledger row to this JSON Lines file,
    /// to move the ledger)
    #[arg(long, conflicts_with_all = ["import", "csv"])]
    pub export: Option<PathBuf>,
    /// --export のファイルの全行をこの台帳に取り込み、件数を確かめる (add every row of an --export file to this
    /// ledger and verify the counts)
    #[arg(long, conflicts_with = "csv")]
    pub import: Option<PathBuf>,
    /// 既定の台帳を探す出力先。ジョブの output.dir の代わり (output root instead of the job's output.dir, to find
    /// the default ledger)
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &LedgerArgs) -> ExitCode {
    let job = match Job::load(&args.job) {
        Ok(j) => j,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let out_root = args.out.as_ref().unwrap_or(&job.output.dir);
    let path = crate::run::ledger_path(&job, args.ledger.as_deref(), out_root);
    if args.init {
        return match Ledger::init(&path) {
            Ok(said) => {
                errln!("chohyo: {said}");
                ExitCode::Success
            }
            Err(e) => {
                errln!("chohyo: {e}");
                ExitCode::Input
            }
        };
    }
    if !ledger::exists(&path) && args.import.is_none() {
        errln!(
            "chohyo: 発行台帳がありません (no ledger yet): {}",
            ledger::describe(&path)
        );
        return ExitCode::Input;
    }
    let mut ledger = match Ledger::open(&path) {
        Ok(l) => l,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    if let Some(file) = &args.import {
        return import(&mut ledger, file);
    }
    if let Some(file) = &args.export {
        return export(&mut ledger, file);
    }
    let q = Query {
        record_id: args.record.clone(),
        number: args.number,
        fiscal_year: args.fiscal_year,
        batch: args.batch.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
    };
    let rows = match ledger.search(&q) {
        Ok(r) => r,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    match &args.csv {
        Some(out) => export_csv(&rows, out),
        None => {
            print_rows(&rows);
            print_counts(&rows);
            ExitCode::Success
        }
    }
}

/// Writes every row of the ledger to `out`, one JSON object a line.
fn export(ledger: &mut Ledger, out: &Path) -> ExitCode {
    let rows = match ledger.search(&Query::default()) {
        Ok(r) => r,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let mut buf = Vec::new();
    for r in &rows {
        // An Issue is strings and numbers: it always serialises.
        buf.extend(serde_json::to_vec(r).unwrap_or_default());
        buf.push(b'\n');
    }
    if let Err(e) =
        crate::files::write_atomic(out, &buf).map_err(|e| crate::error::BatchError::write(out, e))
    {
        errln!("chohyo: {e}");
        return ExitCode::Failure;
    }
    errln!(
        "chohyo: 台帳の {} 件を書き出しました (ledger rows exported) → {}",
        rows.len(),
        out.display()
    );
    ExitCode::Success
}

/// Adds the rows of an `--export` file to the ledger in one transaction,
/// then reads the ledger back to check that every row of the file is there
/// with its number.
fn import(ledger: &mut Ledger, file: &Path) -> ExitCode {
    let rows = match read_export(file) {
        Ok(r) => r,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let checked = ledger.import(&rows).and_then(|added| {
        let now = ledger.search(&Query::default())?;
        Ok((added, ledger::missing_after_import(&rows, &now)))
    });
    match checked {
        Ok((added, 0)) => {
            errln!(
                "chohyo: {} 件中 {added} 件を新たに取り込み、{} 件すべてが台帳にあることを確かめました                  (imported {added} new rows; all {} rows of the file are in the ledger)",
                rows.len(),
                rows.len(),
                rows.len()
            );
            ExitCode::Success
        }
        Ok((_, missing)) => {
            errln!(
                "chohyo: 取り込んだあとの台帳に {missing} 件が見つかりません (after the import, {missing} rows of the file are not in the ledger)"
            );
            ExitCode::Failure
        }
        Err(e) => {
            errln!("chohyo: {e}");
            ExitCode::Input
        }
    }
}

/// The rows of an `--export` file; a bad line is an error naming its line.
fn read_export(file: &Path) -> Result<Vec<Issue>, String> {
    let text = crate::files::read_capped_string(file, 4 << 30)
        .map_err(|e| crate::error::BatchError::read(file, e).to_string())?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                format!(
                    "{} の {} 行目が台帳の書き出しの行として読めません (line {} is not a ledger export row): {e}",
                    crate::error::full_path(file).display(),
                    i + 1,
                    i + 1
                )
            })
        })
        .collect()
}

/// Writes the rows as a CSV (UTF-8 with BOM, a header row, formula-safe
/// cells) to `out`.
fn export_csv(rows: &[Issue], out: &Path) -> ExitCode {
    let mut buf = "\u{FEFF}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        let header = [
            "series",
            "fiscal_year",
            "number",
            "kind",
            "record_id",
            "job",
            "batch",
            "issue_date",
            "file",
            "sha256",
            "planned_at",
            "issued_at",
            "void",
        ];
        if w.write_record(header).is_err() {
            return ExitCode::Input;
        }
        for r in rows {
            let cell = |s: &str| crate::files::neutralize_formula(s);
            let rec = [
                cell(&r.series),
                r.fiscal_year.to_string(),
                r.number.to_string(),
                cell(&r.kind),
                cell(&r.record_id),
                cell(&r.job),
                cell(&r.batch),
                cell(&r.issue_date),
                cell(&r.file),
                cell(&r.sha256),
                cell(&r.planned_at),
                cell(&r.issued_at),
                cell(&r.void),
            ];
            if w.write_record(&rec).is_err() {
                return ExitCode::Input;
            }
        }
        let _ = w.flush();
    }
    if let Err(e) =
        crate::files::write_atomic(out, &buf).map_err(|e| crate::error::BatchError::write(out, e))
    {
        errln!("chohyo: {e}");
        return ExitCode::Failure;
    }
    errln!(
        "chohyo: {} 件を書き出しました (rows exported) → {}",
        rows.len(),
        out.display()
    );
    ExitCode::Success
}

/// Prints the rows on the terminal, a header line first.
fn print_rows(rows: &[Issue]) {
    // Record ids and file names come from the data: escaped, so an
    // ESC sequence or U+202E in them cannot rewrite the terminal.
    let t = |s: &str| crate::files::terminal_safe(s).into_owned();
    outln!("系列\t年度\t番号\t記録ID\tバッチ\t発行日\t状態\tファイル");
    for r in rows {
        outln!(
            "{}\t{}年度\t{}\t{}\t{}\t{}\t{}\t{}",
            t(&r.series),
            r.fiscal_year,
            r.number,
            t(&r.record_id),
            t(&r.batch),
            r.issue_date,
            state(r),
            t(&r.file)
        );
    }
}

/// The listed numbers by state on stderr, with the labels `run` and
/// `report.html` use (`run::counts`).
fn print_counts(rows: &[Issue]) {
    let mut c = crate::run::counts::LedgerCounts::default();
    for r in rows {
        match state_of(r) {
            State::Issued => c.documents += 1,
            State::Void => c.voided += 1,
            State::Unfinished => c.unfinished += 1,
        }
    }
    let lines = c.lines();
    let text: Vec<String> = lines
        .iter()
        .map(|l| format!("{} {}", l.ja, l.value))
        .collect();
    let gloss: Vec<&str> = lines.iter().map(|l| l.en).collect();
    errln!(
        "番号 {} 件: {} ({})",
        rows.len(),
        text.join("、"),
        gloss.join(", ")
    );
}

/// The state of a ledger row.
enum State {
    Issued,
    Void,
    Unfinished,
}

fn state_of(r: &Issue) -> State {
    if !r.issued_at.is_empty() {
        State::Issued
    } else if !r.void.is_empty() {
        State::Void
    } else {
        State::Unfinished
    }
}

/// A ledger row's state for people: issued, a void (欠番) with its reason,
/// or planned and not yet written.
fn state(r: &Issue) -> String {
    match state_of(r) {
        State::Issued => "出力済".into(),
        State::Void => format!("欠番 ({})", crate::files::terminal_safe(&r.void)),
        State::Unfinished => "未出力".into(),
    }
}
