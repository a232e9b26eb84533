//! `chohyo run <job.toml>`: runs a whole batch.
//!
//! ```text
//! chohyo run samples/zaishoku/job.toml [--threads N] [--batch-id ID]
//!            [--input FILE] [--out DIR] [--strict] [--quiet]
//! ```
//! Writes `<out>/<job>/<batch-id>/` with `docs/*.pdf`, `rejects.csv`,
//! `manifest.csv` and `manifest.json`, and a summary on stderr.
//! Exit codes: 0 all rendered, 1 finished with rejects, 2 job or input error,
//! 3 failure during rendering.

use crate::batch::{self, RunOptions};
use crate::job::Job;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `chohyo run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job file.
    pub job: PathBuf,
    /// Rendering threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Batch id (default: the job's issue date).
    #[arg(long)]
    pub batch_id: Option<String>,
    /// Read this file instead of the job's input (same columns).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Output root instead of the job's `output.dir`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Fail before rendering anything if any row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &RunArgs) -> i32 {
    let job = match Job::load(&args.job) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("chohyo: {e}");
            return 2;
        }
    };
    if args.strict {
        match batch::read_and_check(&job, args.input.as_deref()) {
            Ok(c) if !c.rejects.is_empty() => {
                eprintln!(
                    "chohyo: --strict: {} 件の不備があるため出力しません (rejects found; nothing rendered). `chohyo check` で一覧を出せます",
                    c.rejects.len()
                );
                return 1;
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("chohyo: {e}");
                return e.exit_code();
            }
        }
    }
    let opts = RunOptions {
        batch_id: args.batch_id.clone(),
        input: args.input.clone(),
        out_dir: args.out.clone(),
        threads: args.threads,
        fonts_dir: None,
    };
    let started = std::time::Instant::now();
    let outcome = match batch::run(&job, &opts) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("chohyo: {e}");
            return e.exit_code();
        }
    };
    if !args.quiet {
        let bytes: u64 = outcome.documents.iter().map(|d| d.bytes).sum();
        eprintln!(
            "chohyo: {} 行を読み込み、{} 件を出力、{} 件の不備 (rows read, documents, rejects) — {:.2} s, {} KB",
            outcome.rows_read,
            outcome.documents.len(),
            outcome.rejects.len(),
            started.elapsed().as_secs_f64(),
            bytes / 1024
        );
        let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &outcome.rejects {
            *by_code.entry(r.code.as_str()).or_default() += 1;
        }
        for (code, n) in by_code {
            eprintln!("  {code}: {n}");
        }
        if !outcome.warnings.is_empty() {
            eprintln!("  警告 (warnings): {}", outcome.warnings.len());
        }
        eprintln!("  出力先 (run directory): {}", outcome.run_dir.display());
    }
    if outcome.rejects.is_empty() {
        0
    } else {
        1
    }
}
