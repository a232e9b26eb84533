//! `chohyo check <job.toml>`: reads and checks the input, renders nothing.
//!
//! ```text
//! chohyo check samples/zaishoku/job.toml [--input FILE] [--rejects FILE]
//! ```
//! Prints rows read, good rows and rejects by reason; writes the rejects to
//! `rejects.csv` (or the given file). Exit codes: 0 no rejects, 1 rejects
//! found, 2 job or input error.

use crate::batch;
use crate::job::Job;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `chohyo check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The job file.
    pub job: PathBuf,
    /// Read this file instead of the job's input (same columns).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Where to write the rejects (default: ./rejects.csv).
    #[arg(long, default_value = "rejects.csv")]
    pub rejects: PathBuf,
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &CheckArgs) -> i32 {
    let job = match Job::load(&args.job) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("chohyo: {e}");
            return 2;
        }
    };
    let checked = match batch::read_and_check(&job, args.input.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chohyo: {e}");
            return e.exit_code();
        }
    };
    if let Err(e) = crate::rejects::write_rejects_csv(&args.rejects, &checked.rejects) {
        eprintln!("chohyo: {e}");
        return e.exit_code();
    }
    println!(
        "読み込み {} 行 / 正常 {} 件 / 不備 {} 件 (rows read / good / rejects)",
        checked.rows_read,
        checked.records.len(),
        checked.rejects.len()
    );
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &checked.rejects {
        *by_code.entry(r.code.as_str()).or_default() += 1;
    }
    for (code, n) in by_code {
        println!("  {code}: {n}");
    }
    if checked.rejects.is_empty() {
        0
    } else {
        1
    }
}
