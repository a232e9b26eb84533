//! `chohyo bench`: it measures every job kind (saiyo with its whole mail
//! batch) and `check` alone on generated inputs that the checks accept,
//! its documents pass independent checks (qpdf, pdffonts, pdftotext,
//! `chohyo verify`), its targets are computed from what it measured, and
//! it fails closed: a figure it could not measure prints "未計測 (not
//! measured)" and makes it exit 1. No wall-clock figure is asserted.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// `chohyo bench <args> --dir <dir> --json`: its exit code and JSON, the
/// exit code checked against the targets (1 when a requested target is not
/// met, 0 otherwise).
fn bench(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all: Vec<&OsStr> = vec![OsStr::new("bench")];
    all.extend(args.iter().map(OsStr::new));
    all.extend([OsStr::new("--dir"), dir.as_os_str(), OsStr::new("--json")]);
    let r = common::run_chohyo(all);
    let v: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", r.stdout, r.stderr));
    let fails = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["requested"] == true && t["verdict"] != "met");
    assert_eq!(r.code, i32::from(fails), "{}", r.stderr);
    v
}

fn run_dir(run: &serde_json::Value) -> PathBuf {
    PathBuf::from(run["run_dir"].as_str().unwrap())
}

#[test]
fn every_job_kind_renders_every_row_and_its_pdfs_pass_independent_checks() {
    let t = tempfile::tempdir().unwrap();
    let v = bench(
        t.path(),
        &[
            "--job",
            "zaishoku,shuro,kyuyo,saiyo",
            "--n",
            "7",
            "--threads",
            "2",
        ],
    );
    let runs = v["runs"].as_array().unwrap();
    let kinds: Vec<&str> = runs.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["zaishoku", "shuro", "kyuyo", "saiyo"]);
    let titles = ["在職証明書", "就労証明書", "給与支払証明書", "採用通知書"];
    for (r, title) in runs.iter().zip(titles) {
        assert_eq!(r["measured"], "run");
        assert_eq!(
            (r["n"].as_u64(), r["documents"].as_u64()),
            (Some(7), Some(7))
        );
        assert!(r["cpu_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["peak_rss_kib"].as_u64().unwrap() > 1024, "{r}");
        assert!(r["startup_ms"].as_f64().unwrap() > 0.0, "{r}");
        let dir = run_dir(r);
        assert!(dir.starts_with(t.path()), "{dir:?}");
        let pdfs = common::docs(&dir);
        assert_eq!(pdfs.len(), 7, "{pdfs:?}");
        let bytes: u64 = pdfs.iter().map(|p| p.metadata().unwrap().len()).sum();
        assert_eq!(r["document_bytes"].as_u64(), Some(bytes));
        for pdf in [&pdfs[0], &pdfs[6]] {
            common::qpdf_check(pdf);
            for row in common::pdffonts(pdf) {
                let cols: Vec<&str> = row.split_whitespace().collect();
                let n = cols.len();
                assert_eq!(&cols[n - 5..n - 2], ["yes", "yes", "yes"], "{row}");
            }
            let text = common::squash(&common::pdftotext(pdf, None));
            assert!(text.contains(title), "{title}: {text}");
        }
    }
    // saiyo: the whole mail batch, every document of it sound.
    let saiyo = run_dir(&runs[3]);
    // Every volume the run lists (labels, dispatch list, print files).
    let summary = common::read_json(&saiyo.join("summary.json"));
    let delivery = &summary["delivery"];
    let listed = |part: &str| -> Vec<String> {
        delivery[part]
            .as_array()
            .unwrap_or_else(|| panic!("{part}: {delivery}"))
            .iter()
            .map(|v| v["file"].as_str().unwrap().to_string())
            .collect()
    };
    let prints = listed("print");
    let volumes = [listed("batch_documents"), prints.clone()].concat();
    assert_eq!(
        volumes.len(),
        3,
        "labels, dispatch list, print file: {volumes:?}"
    );
    for pdf in &volumes {
        common::qpdf_check(&saiyo.join(pdf));
    }
    let print = &runs[3]["print"];
    assert_eq!(print["files"], 1, "{print}");
    let print_file = saiyo.join(&prints[0]);
    assert_eq!(
        print["bytes"].as_u64(),
        Some(print_file.metadata().unwrap().len())
    );
    let info = common::tool("pdfinfo", [&print_file]);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|p| p.trim().parse::<u64>().unwrap());
    assert_eq!(pages, print["pages"].as_u64(), "{info}");
    // The bench verified the run directory: 7 letters in docs/, 7 in packages.
    assert_eq!(runs[3]["verified_documents"], 14, "{}", runs[3]);
    assert_eq!(runs[0]["verified_documents"], 7, "{}", runs[0]);
    let verified = common::run_chohyo([OsStr::new("verify"), saiyo.as_os_str()]);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    // Real addresses: every letter has its customer barcode (none warned of).
    let summary = common::read_json(&saiyo.join("summary.json"));
    assert_eq!(summary["counts"]["warnings"], 0, "{summary}");
}

#[test]
fn the_targets_are_computed_from_the_runs_they_apply_to() {
    let t = tempfile::tempdir().unwrap();
    let v = bench(
        t.path(),
        &[
            "--job",
            "zaishoku,shuro,zaishoku-noseal",
            "--n",
            "5",
            "--threads",
            "1,2",
            "--sink",
            "null",
        ],
    );
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6);
    let targets = v["targets"].as_array().unwrap();
    let find = |prefix: &str| {
        targets
            .iter()
            .find(|t| t["what"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no target {prefix:?} in {targets:?}"))
    };
    let cpu = |kind: &str, threads: u64| {
        let r = runs
            .iter()
            .find(|r| r["kind"] == kind && r["threads"] == threads)
            .unwrap();
        r["cpu_s"].as_f64().unwrap() / r["documents"].as_f64().unwrap()
    };
    let worst = (cpu("shuro", 1) / cpu("zaishoku", 1)).max(cpu("shuro", 2) / cpu("zaishoku", 2));
    let shuro = find("shuro");
    assert_eq!(shuro["requested"], true);
    assert_eq!(shuro["measured"], format!("{worst:.2} ×"));
    assert_eq!(
        shuro["verdict"],
        if worst <= 2.0 { "met" } else { "not-met" }
    );
    let size = find("size");
    let largest = runs
        .iter()
        .filter(|r| r["kind"] == "zaishoku-noseal")
        .map(|r| r["document_bytes"].as_f64().unwrap() / 5.0)
        .fold(0.0, f64::max);
    assert_eq!(size["measured"], format!("{largest:.0} bytes"));
    assert_eq!(
        size["verdict"],
        if largest <= 22_528.0 {
            "met"
        } else {
            "not-met"
        }
    );
    // No kyuyo run and no 100,000-document run: not requested, not judged.
    for prefix in [
        "kyuyo",
        "certificates (zaishoku), 100,000",
        "saiyo",
        "check of",
    ] {
        let t = find(prefix);
        assert_eq!(
            (&t["requested"], &t["verdict"]),
            (&false.into(), &"not-measured".into())
        );
    }
}

#[test]
fn a_figure_not_measured_prints_not_measured_and_fails() {
    let t = tempfile::tempdir().unwrap();
    let r = common::run_chohyo([
        OsStr::new("bench"),
        OsStr::new("--job"),
        OsStr::new("zaishoku,shuro"),
        OsStr::new("--n"),
        OsStr::new("4"),
        OsStr::new("--withhold"),
        OsStr::new("cpu"),
        OsStr::new("--dir"),
        t.path().as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let cpu_lines: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("CPU "))
        .collect();
    assert_eq!(cpu_lines.len(), 2, "{}", r.stdout);
    assert!(cpu_lines
        .iter()
        .all(|l| l.contains("未計測 (not measured)")));
    let shuro = r
        .stdout
        .lines()
        .find(|l| l.contains("shuro: CPU per document"))
        .unwrap();
    assert!(
        shuro.trim_start().starts_with("未計測 (not measured)"),
        "{shuro}"
    );
    assert!(
        !r.stdout.lines().any(|l| l.trim_start().starts_with("met ")),
        "{}",
        r.stdout
    );
}

#[test]
fn check_alone_reads_every_row_of_xlsx_and_csv_and_rejects_every_spoiled_row() {
    let t = tempfile::tempdir().unwrap();
    let v = bench(
        t.path(),
        &["--stage", "check", "--job", "saiyo", "--n", "40"],
    );
    let runs = v["runs"].as_array().unwrap();
    let formats: Vec<&str> = runs.iter().map(|r| r["format"].as_str().unwrap()).collect();
    assert_eq!(formats, ["xlsx", "csv"]);
    for r in runs {
        assert_eq!(r["measured"], "check");
        assert_eq!(
            (r["rows_read"].as_u64(), r["rejected_rows"].as_u64()),
            (Some(40), Some(0))
        );
        assert!(r["peak_rss_kib"].as_u64().unwrap() > 1024, "{r}");
    }
    let v = bench(
        t.path(),
        &[
            "--stage", "rejects", "--job", "shuro", "--n", "30", "--format", "csv",
        ],
    );
    let r = &v["runs"][0];
    assert_eq!(r["rejected_rows"].as_u64(), Some(30), "{r}");
    assert!(r["rejects_write_s"].as_f64().unwrap() > 0.0, "{r}");
    let rejects = common::read_rejects(&t.path().join("out-check-shuro-30-csv/rejects.csv"));
    let rows: std::collections::BTreeSet<&str> = rejects.iter().map(|r| &r[2]).collect();
    assert_eq!(rows.len(), 30, "{rejects:?}");
    let codes: std::collections::BTreeSet<&str> = rejects.iter().map(|r| &r[5]).collect();
    assert!(codes.len() >= 2, "{codes:?}");
}
