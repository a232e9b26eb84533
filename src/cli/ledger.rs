//! `chohyo ledger <job.toml>`: lists, searches and exports the issuance
//! ledger (発行台帳).
//!
//! ```text
//! chohyo ledger samples/zaishoku/job.toml [--record ID] [--number N]
//!               [--fiscal-year Y] [--batch ID] [--from DATE] [--to DATE]
//!               [--csv FILE] [--ledger FILE] [--out DIR]
//! ```
//! Without `--csv` prints one line per document number; with it writes a
//! CSV (UTF-8 with BOM, for Excel). Exit codes: 0 ok, 2 job or ledger error.

use crate::cli::output::{errln, outln};
use crate::error::ExitCode;
use crate::job::Job;
use crate::run::ledger::{Issue, Ledger, Query};
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
    /// 台帳のファイル（既定: ジョブの指定か <out>/<job>/ledger.sqlite） (the ledger file, default: the job's or
    /// <out>/<job>/ledger.sqlite)
    #[arg(long)]
    pub ledger: Option<PathBuf>,
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
    if !path.is_file() {
        errln!(
            "chohyo: 発行台帳がありません (no ledger yet): {}",
            path.display()
        );
        return ExitCode::Input;
    }
    let ledger = match Ledger::open(&path) {
        Ok(l) => l,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
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
