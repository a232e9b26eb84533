//! `chohyo merge <job.toml> --shards N`: combines the run directories of N
//! shards into the batch's own run directory.
//!
//! ```text
//! chohyo merge samples/zaishoku/job.toml --shards 4 [--batch-id ID] [--out DIR]
//! ```
//! Every shard must have finished and been planned identically; each
//! document's hash is checked against its shard's manifest while copying.
//! The result — documents, manifests, rejects, plan, journal, summary — is
//! identical to a run on one machine (but for `summary.json`'s timing).
//! Exit codes: 0 merged without rejects, 1 merged with rejects, 2 a shard is
//! missing, unfinished or inconsistent, 3 write failure, 4 lock held.

use crate::cli::output::errln;
use crate::error::ExitCode;
use crate::job::Job;
use crate::run::runlog::{RunLog, Verbosity};
use crate::run::{self, RunOptions};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `chohyo merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// ジョブファイル (the job file)
    pub job: PathBuf,
    /// バッチを分割した数 (how many shards the batch was split into)
    #[arg(long)]
    pub shards: u64,
    /// バッチID（既定: ジョブの発行日） (batch id, default: the job's issue date)
    #[arg(long)]
    pub batch_id: Option<String>,
    /// ジョブの output.dir の代わりの出力先 (output root instead of the job's output.dir)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// エラーのほかは何も表示しない (print nothing but errors)
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &MergeArgs) -> ExitCode {
    let job = match Job::load(&args.job) {
        Ok(j) => j,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let log = RunLog::stderr_only(if args.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    });
    let opts = RunOptions {
        batch_id: args.batch_id.clone(),
        out_dir: args.out.clone(),
        ..RunOptions::default()
    };
    let started = std::time::Instant::now();
    match run::merge(&job, &opts, args.shards, &log) {
        Ok(o) => {
            log.info(
                "merged",
                &format!(
                    "{} 分割を結合しました (merged) → {}",
                    args.shards,
                    o.run_dir.display()
                ),
                serde_json::json!({"documents": o.counts.documents}),
            );
            if log.verbosity() > Verbosity::Quiet {
                crate::cli::run::print_counts(&o, started.elapsed().as_secs_f64());
            }
            if o.rejects.is_empty() {
                ExitCode::Success
            } else {
                ExitCode::Rejects
            }
        }
        Err(e) => {
            log.error(
                "error",
                &e.to_string(),
                serde_json::json!({"exit": e.exit_code().code()}),
            );
            e.exit_code()
        }
    }
}
