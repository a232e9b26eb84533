//! `chohyo check <job.toml>`: reads and checks the input, renders nothing.
//! It loads the job's fonts, to find the values no document could print
//! (`E_GLYPH_MISSING`) as a batch does before giving numbers.
//!
//! ```text
//! chohyo check samples/zaishoku/job.toml [--input FILE] [--rejects FILE]
//! ```
//! Prints rows read, good rows and rejects by reason; writes the rejects to
//! `rejects.csv` (or the given file) and `rejects.xlsx` beside it (the same
//! path with the extension `.xlsx`). Exit codes: 0 no rejects, 1 rejects
//! found, 2 job or input error, 3 the reports cannot be written.

use crate::cli::output::{errln, outln};
use crate::error::ExitCode;
use crate::job::Job;
use crate::run;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `chohyo check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// ジョブファイル (the job file)
    pub job: PathBuf,
    /// ジョブの入力ファイルの代わりに読むファイル（同じ列） (read this file instead of the job's input, same columns)
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// 不備一覧 CSV の書き出し先（既定: ./rejects.csv）。.xlsx はその隣 (where to write the rejects CSV; the
    /// .xlsx report goes beside it)
    #[arg(long, default_value = "rejects.csv")]
    pub rejects: PathBuf,
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &CheckArgs) -> ExitCode {
    let job = match Job::load(&args.job) {
        Ok(j) => j,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    // The fonts find the values no document could print, as a batch does.
    let checked = match run::load_fonts(&job, None)
        .and_then(|fonts| run::check_input(&job, args.input.as_deref(), Some(&fonts)))
    {
        Ok(c) => c,
        Err(e) => {
            errln!("chohyo: {e}");
            return e.exit_code();
        }
    };
    let xlsx = crate::run::rejects::xlsx_sibling(&args.rejects);
    if xlsx == args.rejects {
        errln!(
            "chohyo: --rejects は .csv のファイル名にしてください (the rejects path must not end in .xlsx): {}",
            args.rejects.display()
        );
        return ExitCode::Input;
    }
    let written =
        crate::run::rejects::write_rejects_csv(&args.rejects, &checked.rejects).and_then(|()| {
            crate::run::rejects::write_rejects_xlsx(&xlsx, &checked.rejects, &checked.originals)
        });
    if let Err(e) = written {
        errln!("chohyo: {e}");
        return e.exit_code();
    }
    outln!(
        "読み込み {} 行 / 正常 {} 件 / 不備 {} 件 (rows read / good / rejects)",
        checked.rows_read,
        checked.good,
        checked.rejects.len()
    );
    let mut rows: std::collections::BTreeSet<(&str, &str, u32)> = Default::default();
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &checked.rejects {
        rows.insert((r.file.as_str(), r.sheet.as_str(), r.row));
        *by_code.entry(r.code.as_str()).or_default() += 1;
    }
    if !rows.is_empty() {
        outln!(
            "不備のある行 {} 行 (rejected rows); 理由別 (by reason):",
            rows.len()
        );
    }
    for (code, n) in by_code {
        outln!("  {code}: {n}");
    }
    if !checked.rejects.is_empty() {
        outln!(
            "不備一覧 (rejects): {} / {}",
            args.rejects.display(),
            xlsx.display()
        );
    }
    if checked.rejects.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::Rejects
    }
}
