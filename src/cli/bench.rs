//! `chohyo bench`: the end-to-end benchmark of the reference certificate.
//!
//! ```text
//! chohyo bench [--n 10000[,100000]] [--threads N[,M]] [--sink disk|null] [--dir DIR] [--json]
//! ```
//! Generates an `.xlsx` of N synthetic 在職証明書 requests (cached under
//! `--dir`, default `target/bench/`), then measures, in a fresh child process
//! so that generating the input does not count, the whole pipeline exactly as
//! `chohyo run` does it: start-up (fonts, template), reading the xlsx,
//! checking, planning (ledger), template, markup, layout, PDF, writing
//! (`--sink disk`) or only hashing (`--sink null`, to separate CPU from
//! disk), journal and manifests. The sample job, its template and seal are
//! built into the binary and written into `--dir`, so an installed binary
//! benchmarks from any folder. Prints documents per second, CPU ms per
//! document, bytes per document, peak RSS (VmHWM) and each stage's share.
//!
//! `--n` and `--threads` take lists: every combination is measured, one
//! child process each, and the performance targets are checked against
//! what was measured (throughput with 1 and 2 threads, size, the 2-thread
//! speed-up, peak memory and its growth from 10,000 to 100,000 documents,
//! start-up): `chohyo bench --n 10000,100000 --threads 1,2 --sink null`
//! shows them all.

use crate::cli::output::{errln, outln};
use crate::error::ExitCode;
use crate::job::Job;
use crate::run::runlog::{RunLog, Verbosity};
use crate::run::{self, RunOptions, StageClock};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `chohyo bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Number of documents; a list (`10000,100000`) measures each.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    pub n: Vec<usize>,
    /// Worker threads, as `run --threads` (default: all cores); a list
    /// (`1,2`) measures each.
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// `disk` writes every PDF; `null` renders and hashes them only.
    #[arg(long, default_value = "disk")]
    pub sink: String,
    /// Work folder for the generated input and the run directory.
    #[arg(long, default_value = "target/bench")]
    pub dir: PathBuf,
    /// Print the measurements as JSON.
    #[arg(long)]
    pub json: bool,
    /// Internal: measure in this process (the parent starts the child with it).
    #[arg(long, hide = true)]
    pub measure: bool,
}

/// The sample job the bench runs, with its template and the seal image it
/// draws: embedded, so that an installed binary needs no checkout.
const SAMPLE_JOB: &str = include_str!("../../samples/zaishoku/job.toml");
const SAMPLE_TEMPLATE: &str = include_str!("../../templates/zaishoku.xml");
const SAMPLE_SEAL: &[u8] = include_bytes!("../../templates/assets/seal.png");

/// The input's column headers, in order: the sample job's field columns, so
/// that the job is the one place they are written.
fn sample_headers() -> Result<Vec<String>, String> {
    crate::job::field_columns(SAMPLE_JOB).map_err(|e| e.to_string())
}

/// Writes an xlsx of `n` synthetic requests (deterministic) to `path`.
pub fn generate_input(path: &Path, n: usize) -> Result<(), String> {
    use rust_xlsxwriter::{Format, Workbook};
    let family = [
        "佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "山本", "中村", "小林", "加藤", "吉田",
        "山田",
    ];
    let family_kana = [
        "サトウ",
        "スズキ",
        "タカハシ",
        "タナカ",
        "ワタナベ",
        "イトウ",
        "ヤマモト",
        "ナカムラ",
        "コバヤシ",
        "カトウ",
        "ヨシダ",
        "ヤマダ",
    ];
    let given = [
        "太郎", "花子", "一郎", "美咲", "健太", "陽子", "翔太", "由美",
    ];
    let given_kana = [
        "タロウ",
        "ハナコ",
        "イチロウ",
        "ミサキ",
        "ケンタ",
        "ヨウコ",
        "ショウタ",
        "ユミ",
    ];
    let towns = [
        ("153-0051", "東京都目黒区上目黒"),
        ("154-0004", "東京都世田谷区太子堂"),
        ("150-0002", "東京都渋谷区渋谷"),
        ("160-0022", "東京都新宿区新宿"),
    ];
    let depts = [
        "総務部人事課",
        "区民部戸籍住民課",
        "子ども家庭部保育課",
        "企画経営部財政課",
    ];
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy/m/d");
    let ws = wb.add_worksheet();
    ws.set_name("申請一覧").map_err(|e| e.to_string())?;
    for (c, h) in sample_headers()?.iter().enumerate() {
        ws.write_string(0, c as u16, h).map_err(|e| e.to_string())?;
    }
    for i in 0..n {
        let r = (i + 1) as u32;
        let (f, g) = (i % family.len(), (i / family.len()) % given.len());
        let (postal, town) = towns[i % towns.len()];
        let cells = [
            format!("B{:07}", i + 1),
            format!("{}　{}", family[f], given[g]),
            format!("{} {}", family_kana[f], given_kana[g]),
            if g % 2 == 0 { "男" } else { "女" }.to_string(),
            String::new(),
            postal.to_string(),
            format!("{town}{}丁目{}-{}", i % 5 + 1, i % 30 + 1, i % 17 + 1),
            depts[i % depts.len()].to_string(),
            "主事".to_string(),
            "常勤職員".to_string(),
            String::new(),
            "住宅ローン申請のため".to_string(),
        ];
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r, c as u16, v).map_err(|e| e.to_string())?;
            }
        }
        // Birth 1960–2000 and hire 1985–2024 as real date serials.
        let birth = 21916.0 + ((i * 7919) % 14600) as f64;
        let hire = 31048.0 + ((i * 104_729) % 14235) as f64;
        ws.write_number_with_format(r, 4, birth.max(0.0), &date)
            .map_err(|e| e.to_string())?;
        ws.write_number_with_format(r, 10, hire.max(birth + 6600.0), &date)
            .map_err(|e| e.to_string())?;
    }
    wb.save(path).map_err(|e| e.to_string())
}

/// Writes the embedded template and seal into `dir` and returns the sample
/// job with absolute paths to them and to the generated input.
fn write_job_files(dir: &Path, input: &Path) -> std::io::Result<String> {
    let template = dir.join("zaishoku.xml");
    let assets = dir.join("assets");
    std::fs::write(&template, SAMPLE_TEMPLATE)?;
    crate::files::create_private_dir(&assets)?;
    std::fs::write(assets.join("seal.png"), SAMPLE_SEAL)?;
    let quoted = |p: &Path| format!("file = {:?}", p.display().to_string());
    Ok(SAMPLE_JOB
        .replace("file = \"requests.xlsx\"", &quoted(input))
        .replace(
            "file = \"../../templates/zaishoku.xml\"",
            &quoted(&template),
        )
        .replace(
            "assets = \"../../templates/assets\"",
            &format!("assets = {:?}", assets.display().to_string()),
        ))
}

/// Peak resident set size of this process in KiB (Linux VmHWM).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// User + system CPU time of this process in milliseconds.
fn cpu_ms() -> f64 {
    // /proc/self/stat fields 14 and 15: utime and stime in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) * 10.0
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &BenchArgs) -> ExitCode {
    if args.sink != "disk" && args.sink != "null" {
        errln!("chohyo: --sink は disk か null です");
        return ExitCode::Input;
    }
    if args.n.is_empty() || args.n.contains(&0) || args.threads.contains(&0) {
        errln!("chohyo: --n と --threads は 1 以上です (--n and --threads must be at least 1)");
        return ExitCode::Input;
    }
    if let Err(e) = crate::files::create_private_dir(&args.dir) {
        errln!("chohyo: {}: {e}", args.dir.display());
        return ExitCode::Failure;
    }
    let dir = std::fs::canonicalize(&args.dir).unwrap_or_else(|_| args.dir.clone());
    if args.measure {
        let (n, threads) = (args.n[0], args.threads.first().copied());
        return measure(args, n, threads, &dir.join(format!("zaishoku-{n}.xlsx")));
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Failure;
        }
    };
    let thread_counts: Vec<Option<usize>> = if args.threads.is_empty() {
        vec![None]
    } else {
        args.threads.iter().map(|&t| Some(t)).collect()
    };
    let mut runs = Vec::new();
    for &n in &args.n {
        let input = dir.join(format!("zaishoku-{n}.xlsx"));
        if !input.is_file() {
            errln!("chohyo: 入力を生成しています (generating {n} rows)…");
            if let Err(e) = generate_input(&input, n) {
                errln!("chohyo: {e}");
                return ExitCode::Failure;
            }
        }
        for &threads in &thread_counts {
            let mut cmd = std::process::Command::new(&exe);
            cmd.arg("bench")
                .arg("--measure")
                .arg("--n")
                .arg(n.to_string())
                .arg("--sink")
                .arg(&args.sink)
                .arg("--dir")
                .arg(&args.dir);
            if let Some(t) = threads {
                cmd.arg("--threads").arg(t.to_string());
            }
            let out = match cmd.stderr(std::process::Stdio::inherit()).output() {
                Ok(o) => o,
                Err(e) => {
                    errln!("chohyo: {e}");
                    return ExitCode::Failure;
                }
            };
            if !out.status.success() {
                return ExitCode::of_child(out.status.code());
            }
            let run: serde_json::Value = match serde_json::from_slice(&out.stdout) {
                Ok(v) => v,
                Err(e) => {
                    errln!("chohyo: bench child: {e}");
                    return ExitCode::Failure;
                }
            };
            if !args.json {
                print_run(&run);
            }
            runs.push(run);
        }
    }
    let targets = check_targets(&runs);
    if args.json {
        outln!("{}", serde_json::json!({"runs": runs, "targets": targets}));
    } else {
        print_targets(&targets);
    }
    ExitCode::Success
}

/// The performance targets of the reference certificate (issue 8), each
/// checked against the measured runs it applies to; a target no run
/// applies to is left out.
fn check_targets(runs: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap_or(0.0);
    let of = |threads: u64| -> Vec<&serde_json::Value> {
        runs.iter()
            .filter(|r| r["threads"].as_u64() == Some(threads))
            .collect()
    };
    let mut out = Vec::new();
    let mut target = |name: &str, measured: String, met: bool| {
        out.push(serde_json::json!({"target": name, "measured": measured, "met": met}));
    };
    for (threads, least) in [(2u64, 2000.0), (1, 1000.0)] {
        if let Some(worst) = of(threads)
            .into_iter()
            .min_by(|a, b| f(a, "docs_per_s").total_cmp(&f(b, "docs_per_s")))
        {
            target(
                &format!("≥ {least:.0} docs/s with {threads} thread(s)"),
                format!("{:.0} docs/s", f(worst, "docs_per_s")),
                f(worst, "docs_per_s") >= least,
            );
        }
    }
    if let Some(largest) = runs
        .iter()
        .max_by(|a, b| f(a, "bytes_per_doc").total_cmp(&f(b, "bytes_per_doc")))
    {
        let bytes = f(largest, "bytes_per_doc");
        target(
            "≤ 20 KB (20,480 bytes) per document",
            format!("{bytes:.0} bytes"),
            bytes <= 20_480.0,
        );
    }
    for one in of(1) {
        if let Some(two) = of(2).into_iter().find(|r| r["n"] == one["n"]) {
            let ratio = f(two, "docs_per_s") / f(one, "docs_per_s").max(1e-9);
            target(
                &format!("2 threads ≥ 1.8 × 1 thread (N = {})", one["n"]),
                format!("{ratio:.2} ×"),
                ratio >= 1.8,
            );
        }
    }
    for big in runs.iter().filter(|r| r["n"].as_u64() == Some(100_000)) {
        let rss = f(big, "peak_rss_mib");
        target(
            &format!(
                "peak RSS ≤ 200 MB at N = 100,000 ({} threads)",
                big["threads"]
            ),
            format!("{rss:.1} MiB"),
            rss * 1.048_576 <= 200.0,
        );
        if let Some(small) = runs
            .iter()
            .find(|r| r["n"].as_u64() == Some(10_000) && r["threads"] == big["threads"])
        {
            let growth = rss / f(small, "peak_rss_mib").max(1e-9);
            target(
                &format!(
                    "peak RSS at N = 100,000 within 20 % of N = 10,000 ({} threads)",
                    big["threads"]
                ),
                format!("{growth:.2} ×"),
                growth <= 1.2,
            );
        }
    }
    if let Some(slowest) = runs
        .iter()
        .max_by(|a, b| f(a, "startup_ms").total_cmp(&f(b, "startup_ms")))
    {
        let ms = f(slowest, "startup_ms");
        target("start-up ≤ 100 ms", format!("{ms:.1} ms"), ms <= 100.0);
    }
    out
}

/// Prints the targets table.
fn print_targets(targets: &[serde_json::Value]) {
    outln!("targets:");
    for t in targets {
        outln!(
            "  {:<8} {:<62} {}",
            if t["met"].as_bool() == Some(true) {
                "met"
            } else {
                "NOT MET"
            },
            t["target"].as_str().unwrap_or(""),
            t["measured"].as_str().unwrap_or("")
        );
    }
}

/// Prints one run's measurements.
fn print_run(r: &serde_json::Value) {
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    outln!(
        "chohyo bench: {} documents, {} thread(s), sink {}",
        r["documents"],
        r["threads"],
        r["sink"].as_str().unwrap_or("")
    );
    outln!(
        "  throughput      {:>10.0} docs/s  (wall {:.2} s)",
        f("docs_per_s"),
        f("wall_s")
    );
    outln!("  CPU             {:>10.3} ms/doc", f("cpu_ms_per_doc"));
    outln!(
        "  size            {:>10} bytes/doc",
        r["bytes_per_doc"].as_u64().unwrap_or(0)
    );
    outln!("  peak RSS        {:>10.1} MiB", f("peak_rss_mib"));
    outln!(
        "  start-up        {:>10.1} ms (fonts, images, template)",
        f("startup_ms")
    );
    outln!("  batch stages (wall ms):");
    if let Some(m) = r["batch_stages_ms"].as_object() {
        for (k, v) in m {
            outln!("    {k:<12} {:>10}", v);
        }
    }
    outln!("  rendering stages (CPU, share of rendering):");
    if let Some(m) = r["render_stages_cpu_ms"].as_object() {
        let total: f64 = m.values().filter_map(|v| v.as_f64()).sum();
        for (k, v) in m {
            let v = v.as_f64().unwrap_or(0.0);
            let share = if total > 0.0 { v / total * 100.0 } else { 0.0 };
            outln!("    {k:<12} {v:>10.0} ms  {share:>5.1} %");
        }
    }
}

/// The child: runs the batch once and prints its measurements as JSON.
fn measure(args: &BenchArgs, n: usize, threads: Option<usize>, input: &Path) -> ExitCode {
    let job_path = args.dir.join("bench-job.toml");
    let dir = input.parent().unwrap_or(&args.dir);
    let written = write_job_files(dir, input).and_then(|text| std::fs::write(&job_path, text));
    if let Err(e) = written {
        errln!("chohyo: {e}");
        return ExitCode::Failure;
    }
    let out = args.dir.join(format!("out-{n}-{}", args.sink));
    let _ = std::fs::remove_dir_all(&out);
    if args.sink == "disk" {
        // Write the previous run's deletion out now rather than during this
        // run's syncs. (It still leaves the file system slower for a while
        // on this machine: see docs/performance.md, "Disk sink".)
        // SAFETY: sync takes no arguments and cannot fail.
        unsafe { libc::sync() };
    }
    let t0 = Instant::now();
    let job = match Job::load(&job_path) {
        Ok(j) => j,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    // Start-up alone: fonts, images, template.
    let startup = Instant::now();
    if let Err(e) = run::Assets::load(&job, None) {
        errln!("chohyo: {e}");
        return ExitCode::Input;
    }
    let startup_ms = startup.elapsed().as_secs_f64() * 1e3;
    let clock = Arc::new(StageClock::default());
    let opts = RunOptions {
        out_dir: Some(out.clone()),
        threads,
        discard_docs: args.sink == "null",
        clock: Some(clock.clone()),
        ..RunOptions::default()
    };
    let cpu0 = cpu_ms();
    let run_start = Instant::now();
    let outcome = match run::run(&job, &opts, &RunLog::stderr_only(Verbosity::Quiet)) {
        Ok(o) => o,
        Err(e) => {
            errln!("chohyo: {e}");
            return e.exit_code();
        }
    };
    let wall = run_start.elapsed().as_secs_f64();
    let cpu = cpu_ms() - cpu0;
    let docs = outcome.documents.max(1);
    let bytes: u64 = outcome.document_bytes;
    let summary: serde_json::Value = std::fs::read(outcome.run_dir.join("summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let stages = &summary["timing"]["stages_ms"];
    let render_stages = clock.millis();
    let threads = threads.unwrap_or_else(rayon::current_num_threads);
    let result = serde_json::json!({
        "n": n,
        "documents": outcome.documents,
        "threads": threads,
        "sink": args.sink,
        "wall_s": wall,
        "docs_per_s": outcome.documents as f64 / wall,
        "cpu_ms_per_doc": cpu / docs as f64,
        "bytes_per_doc": bytes / docs as u64,
        "peak_rss_mib": peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
        "startup_ms": startup_ms,
        "batch_stages_ms": stages,
        "render_stages_cpu_ms": render_stages,
        "process_s": t0.elapsed().as_secs_f64(),
        "run_dir": outcome.run_dir,
    });
    outln!("{result}");
    ExitCode::Success
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_the_sample_jobs_columns() {
        let h = sample_headers().unwrap();
        assert_eq!(h.len(), 12);
        assert_eq!(h.first().map(String::as_str), Some("申請番号"));
        assert_eq!(h.last().map(String::as_str), Some("提出先"));
    }
}
