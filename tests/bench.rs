//! `chohyo bench`: it measures the pipeline on the reference certificate,
//! checks the targets against what it measured, and its documents pass the
//! same independent checks as the foundation's (qpdf, pdffonts, pdftotext).

mod common;

use std::ffi::OsStr;
use std::path::Path;

/// `chohyo bench <args> --dir <dir> --json`, which must succeed: its JSON.
fn bench(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all: Vec<&OsStr> = vec![OsStr::new("bench")];
    all.extend(args.iter().map(OsStr::new));
    all.extend([OsStr::new("--dir"), dir.as_os_str(), OsStr::new("--json")]);
    let r = common::run_chohyo(all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

#[test]
fn every_combination_is_measured_and_the_targets_follow_the_measurements() {
    let t = tempfile::tempdir().unwrap();
    let v = bench(
        t.path(),
        &["--n", "30,60", "--threads", "1,2", "--sink", "null"],
    );
    let runs = v["runs"].as_array().unwrap();
    let seen: Vec<(u64, u64)> = runs
        .iter()
        .map(|r| (r["n"].as_u64().unwrap(), r["threads"].as_u64().unwrap()))
        .collect();
    assert_eq!(seen, [(30, 1), (30, 2), (60, 1), (60, 2)]);
    for r in runs {
        assert_eq!(r["documents"], r["n"], "{r}");
        assert!(r["docs_per_s"].as_f64().unwrap() > 0.0);
        assert!(r["cpu_ms_per_doc"].as_f64().unwrap() > 0.0);
        assert!(r["peak_rss_mib"].as_f64().unwrap() > 1.0);
        let bytes = r["bytes_per_doc"].as_u64().unwrap();
        assert!((10_000..60_000).contains(&bytes), "{bytes} bytes/doc");
        for stage in ["read_check", "plan", "render", "finalize"] {
            assert!(r["batch_stages_ms"][stage].is_u64(), "{stage}: {r}");
        }
        for stage in ["template", "markup", "layout", "pdf"] {
            assert!(r["render_stages_cpu_ms"][stage].is_number(), "{stage}: {r}");
        }
    }
    let targets = v["targets"].as_array().unwrap();
    let find = |prefix: &str| {
        targets
            .iter()
            .find(|t| t["target"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no target {prefix:?} in {targets:?}"))
    };
    // The verdicts are computed from the runs, not written in.
    let size = find("≤ 20 KB");
    let largest = runs
        .iter()
        .map(|r| r["bytes_per_doc"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(size["met"], largest <= 20_480, "{size}");
    assert_eq!(size["measured"], format!("{largest} bytes"));
    for n in [30, 60] {
        let rate = |threads: u64| {
            runs.iter()
                .find(|r| r["n"] == n && r["threads"] == threads)
                .unwrap()["docs_per_s"]
                .as_f64()
                .unwrap()
        };
        let ratio = find(&format!("2 threads ≥ 1.8 × 1 thread (N = {n})"));
        assert_eq!(ratio["measured"], format!("{:.2} ×", rate(2) / rate(1)));
        assert_eq!(ratio["met"], rate(2) / rate(1) >= 1.8);
    }
    find("≥ 2000 docs/s with 2 thread(s)");
    find("≥ 1000 docs/s with 1 thread(s)");
    find("start-up ≤ 100 ms");
    // No 100,000-document run, so no memory-growth verdict.
    assert!(targets
        .iter()
        .all(|t| !t["target"].as_str().unwrap().contains("100,000")));
}

#[test]
fn the_benchmarks_documents_pass_the_foundations_checks() {
    let t = tempfile::tempdir().unwrap();
    let v = bench(t.path(), &["--n", "12", "--threads", "2", "--sink", "disk"]);
    assert_eq!(v["runs"][0]["documents"], 12);
    let run_dir = std::path::PathBuf::from(v["runs"][0]["run_dir"].as_str().unwrap());
    assert!(run_dir.starts_with(t.path()), "{run_dir:?}");
    let pdfs = common::docs(&run_dir);
    assert_eq!(pdfs.len(), 12, "{pdfs:?}");
    assert!(pdfs
        .iter()
        .all(|p| p.extension().is_some_and(|e| e == "pdf")));
    for pdf in [&pdfs[0], &pdfs[11]] {
        common::qpdf_check(pdf);
        let rows = common::pdffonts(pdf);
        assert!(!rows.is_empty(), "{pdf:?}");
        for row in &rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // name type encoding emb sub uni object ID
            let n = cols.len();
            assert_eq!(&cols[n - 5..n - 2], ["yes", "yes", "yes"], "{row}");
            assert!(cols[0].contains('+'), "subset tag: {row}");
        }
        let text = common::tool(
            "pdftotext",
            [OsStr::new("-layout"), pdf.as_os_str(), OsStr::new("-")],
        );
        assert!(common::squash(&text).contains("在職証明書"), "{text}");
    }
}
