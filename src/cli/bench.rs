//! `chohyo bench`: the end-to-end benchmark of every job kind, and of
//! `check` alone; a thin layer over `crate::bench`.
//!
//! ```text
//! chohyo bench [--job zaishoku|zaishoku-noseal|shuro|kyuyo|saiyo[,…]]
//!              [--stage run|check|rejects] [--n 10000[,100000]]
//!              [--threads N[,M]] [--sink disk|null] [--format xlsx[,csv]]
//!              [--dir DIR] [--json]
//! ```
//! `--stage run` (the default) generates N valid synthetic rows for each
//! job kind (cached under `--dir`, default `target/bench/`) and measures,
//! in a fresh child process per combination of `--job`, `--n` and
//! `--threads`, the whole batch as `chohyo run` does it (saiyo with its
//! whole mail batch). `--stage check` measures `check` alone on N valid
//! rows in each `--format`; `--stage rejects` checks N rows made to be
//! rejected and writes the rejects files. Each run prints its figures
//! (a figure it could not measure as "未計測 (not measured)"), then the
//! targets of issue 16, each computed from the runs it applies to.
//!
//! Exit codes: 0 every target that applies to the runs measured is met
//! (or none applies); 1 a target that applies is not met or could not be
//! measured; 2 bad arguments or a job error; 3 a run failed, or did not
//! render every requested document, or a generated row was rejected (or,
//! for `rejects`, accepted).

use crate::bench::kind::JobKind;
use crate::bench::measure::{
    self, CheckMeasurement, Figure, Format, Measurement, Request, RowsKind, RunMeasurement, Sink,
    Task,
};
use crate::bench::targets::{self, Target};
use crate::cli::output::{errln, outln};
use crate::error::ExitCode;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `chohyo bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// ジョブの種類。zaishoku,shuro のように並べるとそれぞれ測る (job kinds; a list measures each)
    #[arg(long, value_delimiter = ',', default_value = "zaishoku", value_parser = JobKind::parse)]
    pub job: Vec<JobKind>,
    /// run はバッチ全体、check は確認だけ、rejects は N 件の不備行の確認と不備一覧の書き出し (run a whole batch, check alone, or check N rejected rows and write the rejects files)
    #[arg(long, default_value = "run")]
    pub stage: String,
    /// 行（文書）の件数。10000,100000 のように並べるとそれぞれ測る (number of rows or documents; a list measures each)
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    pub n: Vec<usize>,
    /// 処理スレッド数、run --threads と同じ（既定: すべてのコア）。並べるとそれぞれ測る (worker threads as run --threads; a list measures each)
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// disk はすべての PDF を書く、null は作ってハッシュを取るだけ (disk writes every PDF; null renders and hashes them only)
    #[arg(long, default_value = "disk")]
    pub sink: String,
    /// --stage check と rejects の入力形式 (input formats of --stage check and rejects)
    #[arg(long, value_delimiter = ',', default_value = "xlsx,csv")]
    pub format: Vec<String>,
    /// 生成する入力と実行ディレクトリの作業フォルダ (work folder for the generated inputs and the run directories)
    #[arg(long, default_value = "target/bench")]
    pub dir: PathBuf,
    /// 測定結果と目標を JSON で出す (print the measurements and targets as JSON)
    #[arg(long)]
    pub json: bool,
    /// Internal: measure this request (JSON) in this process.
    #[arg(long, hide = true)]
    pub measure: Option<String>,
    /// Internal: generate the input of this request (JSON) and exit.
    #[arg(long, hide = true)]
    pub generate: Option<String>,
    /// Internal (tests): report these figures as not measured.
    #[arg(long, hide = true, value_delimiter = ',')]
    pub withhold: Vec<String>,
}

fn parse_figure(name: &str) -> Result<Figure, String> {
    serde_json::from_value(serde_json::Value::String(name.into()))
        .map_err(|_| format!("--withhold: unknown figure {name:?}"))
}

fn parse_format(name: &str) -> Result<Format, String> {
    match name {
        "xlsx" => Ok(Format::Xlsx),
        "csv" => Ok(Format::Csv),
        _ => Err(format!(
            "--format は xlsx か csv です (unknown format {name:?})"
        )),
    }
}

/// The requests the arguments ask for, in order.
fn requests(args: &BenchArgs, dir: &std::path::Path) -> Result<Vec<Request>, String> {
    if args.n.is_empty() || args.n.contains(&0) || args.threads.contains(&0) {
        return Err("--n と --threads は 1 以上です (--n and --threads must be at least 1)".into());
    }
    let sink = match args.sink.as_str() {
        "disk" => Sink::Disk,
        "null" => Sink::Null,
        _ => return Err("--sink は disk か null です (--sink is disk or null)".into()),
    };
    let withhold = args
        .withhold
        .iter()
        .map(|w| parse_figure(w))
        .collect::<Result<Vec<_>, _>>()?;
    let formats = args
        .format
        .iter()
        .map(|f| parse_format(f))
        .collect::<Result<Vec<_>, _>>()?;
    let threads = if args.threads.is_empty() {
        vec![rayon::current_num_threads()]
    } else {
        args.threads.clone()
    };
    let mut tasks = Vec::new();
    for &kind in &args.job {
        match args.stage.as_str() {
            "run" => tasks.extend(threads.iter().map(|&threads| Task::Run {
                kind,
                threads,
                sink,
            })),
            "check" | "rejects" => {
                let rows = if args.stage == "check" {
                    RowsKind::Valid
                } else {
                    RowsKind::Rejected
                };
                tasks.extend(
                    formats
                        .iter()
                        .map(|&format| Task::Check { kind, format, rows }),
                );
            }
            other => {
                return Err(format!(
                    "--stage は run、check、rejects のどれかです (unknown stage {other:?})"
                ))
            }
        }
    }
    // Every N of one task before the next task, as the tables read.
    Ok(tasks
        .iter()
        .flat_map(|task| {
            args.n.iter().map(|&n| Request {
                task: task.clone(),
                n,
                dir: dir.to_path_buf(),
                spawned_at_ns: None,
                withhold: withhold.clone(),
            })
        })
        .collect())
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &BenchArgs) -> ExitCode {
    if let Err(e) = crate::files::create_private_dir(&args.dir) {
        errln!("chohyo: {}: {e}", args.dir.display());
        return ExitCode::Failure;
    }
    let dir = std::fs::canonicalize(&args.dir).unwrap_or_else(|_| args.dir.clone());
    if let Some(text) = &args.measure {
        return measure_here(text);
    }
    if let Some(text) = &args.generate {
        return generate_here(text);
    }
    let requests = match requests(args, &dir) {
        Ok(r) => r,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Failure;
        }
    };
    let mut measured = Vec::new();
    for req in &requests {
        if !measure::input_path(req).is_file() {
            errln!("chohyo: 入力を生成しています (generating {} rows)…", req.n);
        }
        let done =
            measure::generate_in_child(&exe, req).and_then(|()| measure::in_child(&exe, req));
        match done {
            Ok(m) => {
                if !args.json {
                    print_measurement(&m);
                }
                measured.push(m);
            }
            Err(e) => {
                errln!("chohyo: {e}");
                return e.exit_code();
            }
        }
    }
    let targets = targets::judge(&measured);
    if args.json {
        outln!(
            "{}",
            serde_json::json!({"runs": measured, "targets": targets})
        );
    } else {
        print_targets(&targets);
    }
    if targets.iter().any(Target::fails) {
        ExitCode::Rejects
    } else {
        ExitCode::Success
    }
}

/// A child's request, or why it cannot be read.
fn child_request(text: &str) -> Result<Request, ExitCode> {
    serde_json::from_str(text).map_err(|e| {
        errln!("chohyo: bench: {e}");
        ExitCode::Input
    })
}

/// The generating child: writes the input of one request (cached).
fn generate_here(text: &str) -> ExitCode {
    let req = match child_request(text) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match measure::prepare_input(&req) {
        Ok(_) => ExitCode::Success,
        Err(e) => {
            errln!("chohyo: {e}");
            e.exit_code()
        }
    }
}

/// The measuring child: measures one request and prints it as JSON.
fn measure_here(text: &str) -> ExitCode {
    let req = match child_request(text) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match measure::prepare_input(&req).and_then(|input| measure::measure(&req, &input)) {
        Ok(m) => match serde_json::to_string(&m) {
            Ok(json) => {
                outln!("{json}");
                ExitCode::Success
            }
            Err(e) => {
                errln!("chohyo: {e}");
                ExitCode::Failure
            }
        },
        Err(e) => {
            errln!("chohyo: {e}");
            e.exit_code()
        }
    }
}

const NOT_MEASURED: &str = "未計測 (not measured)";

/// `value` formatted, or "not measured".
fn or_not_measured<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map_or_else(|| NOT_MEASURED.to_string(), show)
}

fn print_measurement(m: &Measurement) {
    match m {
        Measurement::Run(r) => print_run(r),
        Measurement::Check(c) => print_check(c),
    }
}

fn print_run(r: &RunMeasurement) {
    let sink = if r.sink == Sink::Disk { "disk" } else { "null" };
    outln!(
        "chohyo bench: {} — {} documents rendered of {}, {} thread(s), sink {sink}",
        r.kind,
        r.documents,
        r.n,
        r.threads
    );
    outln!(
        "  throughput      {:>10.0} docs/s  (wall {:.2} s)",
        r.docs_per_s(),
        r.wall_s
    );
    outln!(
        "  CPU             {} ms/doc",
        or_not_measured(r.cpu_ms_per_doc(), |v| format!("{v:>10.3}"))
    );
    outln!("  size            {:>10.0} bytes/doc", r.bytes_per_doc());
    outln!(
        "  peak RSS        {} MiB",
        or_not_measured(r.peak_rss_kib, |k| format!("{:>10.1}", k as f64 / 1024.0))
    );
    outln!(
        "  start-up        {} ms (process start to the first document {})",
        or_not_measured(r.startup_ms, |v| format!("{v:>10.1}")),
        if r.sink == Sink::Disk {
            "on disk"
        } else {
            "rendered"
        }
    );
    if r.kind == JobKind::Saiyo {
        outln!(
            "  print files     {}",
            or_not_measured(r.print, |p| format!(
                "{} file(s), {} pages, {:.0} bytes/page",
                p.files,
                p.pages,
                p.bytes_per_page()
            ))
        );
    }
    if let Some(v) = r.verified_documents {
        outln!("  verify          {v:>10} documents' hashes right (chohyo verify of the run directory)");
    }
    outln!("  batch stages (wall ms):");
    for (k, v) in &r.batch_stages_ms {
        outln!("    {k:<12} {v:>10}");
    }
    outln!("  rendering stages (CPU, share of rendering):");
    let total: f64 = r.render_stages_cpu_ms.values().sum();
    for (k, v) in &r.render_stages_cpu_ms {
        let share = if total > 0.0 { v / total * 100.0 } else { 0.0 };
        outln!("    {k:<12} {v:>10.0} ms  {share:>5.1} %");
    }
}

fn print_check(c: &CheckMeasurement) {
    outln!(
        "chohyo bench: check {} ({}), {} rows read of {}, {} rejected",
        c.kind,
        c.format.ext(),
        c.rows_read,
        c.n,
        c.rejected_rows
    );
    outln!(
        "  speed           {:>10.0} rows/s  (read and check {:.2} s)",
        c.rows_per_s(),
        c.check_s
    );
    if c.rows == RowsKind::Rejected {
        outln!(
            "  rejects files   {} s",
            or_not_measured(c.rejects_write_s, |v| format!("{v:>10.2}"))
        );
    }
    outln!(
        "  CPU             {} s",
        or_not_measured(c.cpu_s, |v| format!("{v:>10.2}"))
    );
    outln!(
        "  peak RSS        {} MiB",
        or_not_measured(c.peak_rss_kib, |k| format!("{:>10.1}", k as f64 / 1024.0))
    );
}

/// Prints the targets table: the requested ones first.
fn print_targets(targets: &[Target]) {
    outln!("targets (issue 16):");
    for t in targets.iter().filter(|t| t.requested) {
        outln!(
            "  {:<24} {} {}: {}",
            t.verdict.label(),
            t.what,
            t.goal,
            t.measured.as_deref().unwrap_or(NOT_MEASURED)
        );
    }
    let others: Vec<&Target> = targets.iter().filter(|t| !t.requested).collect();
    if !others.is_empty() {
        outln!("  not requested (no run they apply to was measured):");
        for t in others {
            outln!("    {} {}", t.what, t.goal);
        }
    }
}
