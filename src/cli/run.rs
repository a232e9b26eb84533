//! `chohyo run <job.toml>`: runs a whole batch, or one shard of it.
//!
//! ```text
//! chohyo run samples/zaishoku/job.toml [--threads N] [--batch-id ID]
//!            [--input FILE] [--out DIR] [--strict] [--restart] [--reissue]
//!            [--shard K/N] [--ledger FILE|URL] [--issue-date YYYY-MM-DD] [-q | -v]
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
//! rejects, 2 job or input error, 3 failure during rendering, 4 lock held,
//! 5 `--strict` found rejects (nothing numbered or rendered; rejects written).

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
    /// ジョブファイル (the job file)
    pub job: PathBuf,
    /// 処理スレッド数（既定: すべてのコア）。1 なら読み込みと出力を交互に行う (worker threads, default: all cores; with 1,
    /// reading and rendering take turns)
    #[arg(long)]
    pub threads: Option<usize>,
    /// バッチID（既定: 発行日） (batch id, default: the issue date)
    #[arg(long)]
    pub batch_id: Option<String>,
    /// 文書に印字する発行日 YYYY-MM-DD。ジョブの batch.issue_date の代わり (issue date printed on the documents,
    /// instead of the job's batch.issue_date)
    #[arg(long)]
    pub issue_date: Option<String>,
    /// ジョブの入力ファイルの代わりに読むファイル（同じ列） (read this file instead of the job's input, same columns)
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// ジョブの output.dir の代わりの出力先 (output root instead of the job's output.dir)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// 不備が 1 件でもあれば番号も出力も使わずに終了する（終了コード 5、不備の一覧は実行ディレクトリの rejects.csv / rejects.xlsx） (stop
    /// before numbering or rendering anything if any row is rejected, exit 5)
    #[arg(long)]
    pub strict: bool,
    /// 計画後に入力が変わったバッチをやり直す（前回の出力は脇に移す） (start the batch over when its input changed since it
    /// was planned)
    #[arg(long)]
    pub restart: bool,
    /// 以前のバッチで同じ内容のまま発行済みの申請も再発行する（既定では除いて報告に載せる） (issue again the requests an earlier batch
    /// issued with the same content)
    #[arg(long)]
    pub reissue: bool,
    /// 分割の一つだけを出力する: K/N（1 ≤ K ≤ N）か auto/N（K はスケジューラから） (render one partition: K/N or
    /// auto/N)
    #[arg(long)]
    pub shard: Option<String>,
    /// 発行台帳のファイルか postgresql:// の URL（既定: ジョブの指定、なければ実行ディレクトリの隣） (the issuance
    /// ledger file or postgresql:// URL, default: the job's, or beside the run directories)
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// エラーのほかは何も表示しない (print nothing but errors)
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// 詳しく表示する (print more)
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
        strict: args.strict,
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
