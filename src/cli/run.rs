//! `chohyo run <job.toml>`: runs a whole batch, or one shard of it.
//!
//! ```text
//! chohyo run samples/zaishoku/job.toml [--threads N] [--batch-id ID]
//!            [--input FILE] [--out DIR] [--strict] [--restart] [--reissue]
//!            [--shard K/N] [--ledger FILE] [--issue-date YYYY-MM-DD] [-q | -v]
//! ```
//! Writes `<out>/<job>/<batch-id>/` with `docs/*.pdf`, `rejects.csv`,
//! `manifest.csv`, `manifest.json`, `plan.json`, `journal.jsonl`, `run.log`,
//! `summary.json` and `report.html`. Re-running a finished batch renders
//! nothing; re-running an interrupted one resumes it. `--shard K/N` renders
//! the K-th of N deterministic partitions into `<batch-id>.shard-K-of-N/`;
//! with `--shard auto/N`, K comes from `JOB_COMPLETION_INDEX` (Kubernetes
//! Indexed Jobs, 0-based) or `SLURM_ARRAY_TASK_ID` (Slurm arrays, 1-based).
//!
//! Exit codes: 0 all rendered (or already finished), 1 finished with
//! rejects, 2 job or input error, 3 failure during rendering, 4 lock held.

use crate::cli::output::errln;
use crate::error::ExitCode;
use crate::job::Job;
use crate::run::runlog::{RunLog, Verbosity};
use crate::run::{self, RunOptions};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `chohyo run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job file.
    pub job: PathBuf,
    /// Worker threads (default: all cores). With 1, reading and rendering
    /// take turns on one thread; with more, a reader thread reads, checks
    /// and plans ahead of that many rendering threads.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Batch id (default: the issue date).
    #[arg(long)]
    pub batch_id: Option<String>,
    /// Issue date printed on the documents (YYYY-MM-DD), instead of the job's
    /// `batch.issue_date` — e.g. `--issue-date "$(date +%F)"` in a nightly run.
    #[arg(long)]
    pub issue_date: Option<String>,
    /// Read this file instead of the job's input (same columns).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Output root instead of the job's `output.dir`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Fail before rendering anything if any row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// Start the batch over when its input changed since it was planned.
    #[arg(long)]
    pub restart: bool,
    /// Issue again the requests an earlier batch already issued with the
    /// same content (by default they are left out and listed in the report).
    #[arg(long)]
    pub reissue: bool,
    /// Render one partition: `K/N` (1 ≤ K ≤ N) or `auto/N` (K from the scheduler).
    #[arg(long)]
    pub shard: Option<String>,
    /// The issuance ledger (default: the job's, or beside the run directories).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Parses `K/N` or `auto/N` into a 0-based shard index and the count.
pub fn parse_shard(spec: &str) -> Result<(u64, u64), String> {
    let (k, n) = spec
        .split_once('/')
        .ok_or_else(|| format!("--shard は K/N で指定します (got {spec})"))?;
    let n: u64 = n
        .parse()
        .map_err(|_| format!("--shard の N が数ではありません (got {spec})"))?;
    let k0 = if k == "auto" {
        if let Ok(v) = std::env::var("JOB_COMPLETION_INDEX") {
            v.parse::<u64>()
                .map_err(|_| format!("JOB_COMPLETION_INDEX が数ではありません ({v})"))?
        } else if let Ok(v) = std::env::var("SLURM_ARRAY_TASK_ID") {
            v.parse::<u64>()
                .ok()
                .and_then(|x| x.checked_sub(1))
                .ok_or_else(|| format!("SLURM_ARRAY_TASK_ID は 1 以上の数です ({v})"))?
        } else {
            return Err(
                "--shard auto/N には JOB_COMPLETION_INDEX か SLURM_ARRAY_TASK_ID が必要です".into(),
            );
        }
    } else {
        k.parse::<u64>()
            .ok()
            .and_then(|x| x.checked_sub(1))
            .ok_or_else(|| format!("--shard の K は 1 以上の数です (got {spec})"))?
    };
    if n == 0 || k0 >= n {
        return Err(format!("--shard は 1 ≤ K ≤ N です (got {spec})"));
    }
    Ok((k0, n))
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &RunArgs) -> ExitCode {
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else if args.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let mut job = match Job::load(&args.job) {
        Ok(j) => j,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    if let Some(d) = &args.issue_date {
        if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            errln!("chohyo: --issue-date は YYYY-MM-DD で指定します (got {d})");
            return ExitCode::Input;
        }
        job.batch.issue_date = d.clone();
    }
    let shard = match args.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s,
        Err(m) => {
            errln!("chohyo: {m}");
            return ExitCode::Input;
        }
    };
    if args.strict {
        let counted = run::load_fonts(&job, None)
            .and_then(|fonts| run::count_rejects(&job, args.input.as_deref(), Some(&fonts)));
        match counted {
            Ok((_, rejects)) if rejects > 0 => {
                errln!(
                    "chohyo: --strict: {rejects} 件の不備があるため出力しません (rejects found; nothing rendered). `chohyo check` で一覧を出せます"
                );
                return ExitCode::Rejects;
            }
            Ok(_) => {}
            Err(e) => {
                errln!("chohyo: {e}");
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
        shard,
        restart: args.restart,
        reissue: args.reissue,
        ledger: args.ledger.clone(),
        ..RunOptions::default()
    };
    let log = RunLog::stderr_only(verbosity);
    let started = std::time::Instant::now();
    run::stop::install();
    let outcome = match run::run(&job, &opts, &log) {
        Ok(o) => o,
        Err(e) => {
            log.error(
                "error",
                &e.to_string(),
                serde_json::json!({"exit": e.exit_code().code()}),
            );
            return e.exit_code();
        }
    };
    if outcome.already_finished {
        return ExitCode::Success;
    }
    if verbosity > Verbosity::Quiet {
        print_counts(&outcome, started.elapsed().as_secs_f64());
        let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &outcome.rejects {
            *by_code.entry(r.code.as_str()).or_default() += 1;
        }
        for (code, n) in by_code {
            errln!("  {code}: {n}");
        }
        if !outcome.warnings.is_empty() {
            errln!("  警告 (warnings): {}", outcome.warnings.len());
        }
        if !outcome.skipped.is_empty() {
            errln!(
                "  既発行のため発行しなかった申請 (already issued, left out; --reissue issues them): {}",
                outcome.skipped.len()
            );
        }
        errln!("  出力先 (run directory): {}", outcome.run_dir.display());
    }
    if outcome.rejects.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::Rejects
    }
}

/// The batch's counts on stderr, with the labels and figures of
/// `summary.json` and `report.html` (`run::counts`): one line for rows, one
/// for documents, one for the rest.
pub(crate) fn print_counts(outcome: &run::Outcome, seconds: f64) {
    let line = |lines: &[run::counts::Line]| {
        lines
            .iter()
            .map(|l| format!("{} {}", l.ja, l.value))
            .collect::<Vec<_>>()
            .join("、")
    };
    let gloss =
        |lines: &[run::counts::Line]| lines.iter().map(|l| l.en).collect::<Vec<_>>().join(", ");
    let c = &outcome.counts;
    let (rows, docs, this_run) = (c.rows(), c.documents_lines(), outcome.this_run.lines());
    errln!("chohyo: {} ({})", line(&rows), gloss(&rows));
    errln!(
        "  {}（{}） ({}; {})",
        line(&docs),
        line(&this_run),
        gloss(&docs),
        gloss(&this_run)
    );
    errln!(
        "  {} ({}) — {seconds:.2} s, {} KB",
        line(&c.other_lines()),
        gloss(&c.other_lines()),
        outcome.document_bytes / 1024
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs() {
        assert_eq!(parse_shard("1/4"), Ok((0, 4)));
        assert_eq!(parse_shard("4/4"), Ok((3, 4)));
        assert!(parse_shard("0/4").is_err());
        assert!(parse_shard("5/4").is_err());
        assert!(parse_shard("x").is_err());
    }
}
