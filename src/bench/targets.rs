//! Issue 16's performance targets, typed. Each target names the runs it
//! applies to; it is *requested* when the benchmark measured such runs,
//! and its figure is computed from them (the worst of them). A figure that
//! one of those runs could not measure makes the whole figure `None`, and
//! the verdict "not measured", never "met": the benchmark fails closed.
//! A target whose runs were not requested is shown as not measured too,
//! but does not count against the exit code. Uses `bench::measure` only.

use crate::bench::kind::JobKind;
use crate::bench::measure::{
    CheckMeasurement, Format, Measurement, RowsKind, RunMeasurement, Sink,
};
use serde::{Deserialize, Serialize};

/// A target's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Measured and met.
    Met,
    /// Measured and not met.
    NotMet,
    /// Not measured: its runs were not requested, or a figure is missing.
    NotMeasured,
}

impl Verdict {
    /// How the table prints it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "NOT MET",
            Verdict::NotMeasured => "未計測 (not measured)",
        }
    }
}

/// One target and what the runs showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// What is measured, and on which runs.
    pub what: String,
    /// The bound, e.g. `≥ 1,500 letters/s`.
    pub goal: String,
    /// Whether the runs it applies to were measured.
    pub requested: bool,
    /// The figure, formatted; `None` when not measured.
    pub measured: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Target {
    fn judge(
        what: &str,
        goal: &str,
        requested: bool,
        figure: Option<f64>,
        show: impl Fn(f64) -> String,
        met: impl Fn(f64) -> bool,
    ) -> Target {
        let figure = figure.filter(|_| requested);
        Target {
            what: what.to_string(),
            goal: goal.to_string(),
            requested,
            measured: figure.map(&show),
            verdict: match figure {
                None => Verdict::NotMeasured,
                Some(v) if met(v) => Verdict::Met,
                Some(_) => Verdict::NotMet,
            },
        }
    }

    /// Whether this target makes the benchmark fail: requested and not met
    /// (or not measured).
    pub fn fails(&self) -> bool {
        self.requested && self.verdict != Verdict::Met
    }
}

/// The largest of some figures; `None` if any is `None` or there are none.
fn worst_max(figures: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    figures
        .into_iter()
        .try_fold(None::<f64>, |acc, f| {
            f.map(|v| Some(acc.map_or(v, |a| a.max(v))))
        })
        .flatten()
}

/// The smallest of some figures; `None` if any is `None` or there are none.
fn worst_min(figures: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    worst_max(figures.into_iter().map(|f| f.map(|v| -v))).map(|v| -v)
}

fn mb(kib: Option<u64>) -> Option<f64> {
    kib.map(|k| k as f64 * 1024.0 / 1e6)
}

const LETTERS: usize = 100_000;
const CHECK_ROWS: usize = 1_000_000;

/// Every target of issue 16, judged against `measurements`.
pub fn judge(measurements: &[Measurement]) -> Vec<Target> {
    let runs: Vec<&RunMeasurement> = measurements
        .iter()
        .filter_map(|m| match m {
            Measurement::Run(r) => Some(r),
            Measurement::Check(_) => None,
        })
        .collect();
    let checks: Vec<&CheckMeasurement> = measurements
        .iter()
        .filter_map(|m| match m {
            Measurement::Check(c) => Some(c),
            Measurement::Run(_) => None,
        })
        .collect();
    let mut out = saiyo_targets(&runs);
    out.extend(certificate_targets(&runs));
    out.extend(check_targets(&checks));
    out
}

fn saiyo_targets(runs: &[&RunMeasurement]) -> Vec<Target> {
    let big: Vec<&&RunMeasurement> = runs
        .iter()
        .filter(|r| r.kind == JobKind::Saiyo && r.n == LETTERS)
        .collect();
    let rate: Vec<&&&RunMeasurement> = big
        .iter()
        .filter(|r| r.sink == Sink::Disk && r.threads == 2)
        .collect();
    let flat = pairs(
        runs,
        JobKind::Saiyo,
        |r| (r.threads, r.sink),
        10_000,
        LETTERS,
    );
    vec![
        Target::judge(
            "saiyo mail batch, 100,000 letters, disk, 2 threads",
            "≥ 1,500 letters/s",
            !rate.is_empty(),
            worst_min(rate.iter().map(|r| Some(r.docs_per_s()))),
            |v| format!("{v:.0} letters/s"),
            |v| v >= 1500.0,
        ),
        Target::judge(
            "saiyo mail batch, 100,000 letters: peak RSS",
            "≤ 150 MB",
            !big.is_empty(),
            worst_max(big.iter().map(|r| mb(r.peak_rss_kib))),
            |v| format!("{v:.1} MB"),
            |v| v <= 150.0,
        ),
        Target::judge(
            "saiyo peak RSS at 100,000 letters vs 10,000",
            "within 20 % (≤ 1.20 ×)",
            !flat.is_empty(),
            worst_max(flat.iter().map(|(small, big)| {
                mb(big.peak_rss_kib)
                    .zip(mb(small.peak_rss_kib))
                    .map(|(b, s)| b / s)
            })),
            |v| format!("{v:.2} ×"),
            |v| v <= 1.2,
        ),
        Target::judge(
            "print files of the 100,000-letter batch",
            "≤ 3 KB (3,072 bytes) per page",
            !big.is_empty(),
            worst_max(big.iter().map(|r| r.print.map(|p| p.bytes_per_page()))),
            |v| format!("{v:.0} bytes/page"),
            |v| v <= 3072.0,
        ),
    ]
}

/// Pairs of runs of `kind` at `small` and `big` documents that agree on `key`.
fn pairs<'a, K: PartialEq>(
    runs: &[&'a RunMeasurement],
    kind: JobKind,
    key: impl Fn(&RunMeasurement) -> K,
    small: usize,
    big: usize,
) -> Vec<(&'a RunMeasurement, &'a RunMeasurement)> {
    let of = |n: usize| runs.iter().filter(move |r| r.kind == kind && r.n == n);
    of(big)
        .filter_map(|b| of(small).find(|s| key(s) == key(b)).map(|s| (*s, *b)))
        .collect()
}

fn certificate_targets(runs: &[&RunMeasurement]) -> Vec<Target> {
    let big: Vec<&&RunMeasurement> = runs
        .iter()
        .filter(|r| r.kind == JobKind::Zaishoku && r.n == LETTERS && r.sink == Sink::Null)
        .collect();
    let one = big.iter().find(|r| r.threads == 1);
    let two = big.iter().find(|r| r.threads == 2);
    let noseal: Vec<&&RunMeasurement> = runs
        .iter()
        .filter(|r| r.kind == JobKind::ZaishokuNoseal)
        .collect();
    let mut out = vec![
        Target::judge(
            "certificates (zaishoku), 100,000, null sink: 2 threads vs 1",
            "≥ 2.00 ×",
            one.is_some() && two.is_some(),
            one.zip(two).map(|(o, t)| t.docs_per_s() / o.docs_per_s()),
            |v| format!("{v:.2} ×"),
            |v| v >= 2.0,
        ),
        Target::judge(
            "certificates (zaishoku), 100,000, null sink: peak RSS",
            "≤ 100 MB",
            !big.is_empty(),
            worst_max(big.iter().map(|r| mb(r.peak_rss_kib))),
            |v| format!("{v:.1} MB"),
            |v| v <= 100.0,
        ),
    ];
    for kind in [JobKind::Shuro, JobKind::Kyuyo] {
        let same = |a: &RunMeasurement, b: &RunMeasurement| {
            (a.n, a.threads, a.sink) == (b.n, b.threads, b.sink)
        };
        let ratios: Vec<Option<f64>> = runs
            .iter()
            .filter(|r| r.kind == kind)
            .filter_map(|r| {
                let cert = runs
                    .iter()
                    .find(|c| c.kind == JobKind::Zaishoku && same(c, r))?;
                Some(
                    r.cpu_ms_per_doc()
                        .zip(cert.cpu_ms_per_doc())
                        .map(|(a, b)| a / b),
                )
            })
            .collect();
        out.push(Target::judge(
            &format!("{kind}: CPU per document vs the certificate's (same N, threads, sink)"),
            "≤ 2.00 ×",
            !ratios.is_empty(),
            worst_max(ratios),
            |v| format!("{v:.2} ×"),
            |v| v <= 2.0,
        ));
    }
    out.push(Target::judge(
        "size of the reference certificate without a seal (zaishoku-noseal)",
        "≤ 22 KB (22,528 bytes)",
        !noseal.is_empty(),
        worst_max(noseal.iter().map(|r| Some(r.bytes_per_doc()))),
        |v| format!("{v:.0} bytes"),
        |v| v <= 22_528.0,
    ));
    out
}

fn check_targets(checks: &[&CheckMeasurement]) -> Vec<Target> {
    let mut out = Vec::new();
    for format in [Format::Xlsx, Format::Csv] {
        let ext = format.ext();
        let valid = |n: Option<usize>| {
            checks
                .iter()
                .filter(move |c| c.format == format && c.rows == RowsKind::Valid)
                .filter(move |c| n.is_none_or(|n| c.n == n))
        };
        let big: Vec<&&CheckMeasurement> = valid(Some(CHECK_ROWS)).collect();
        let small: Vec<&&CheckMeasurement> = valid(None).filter(|c| c.n < CHECK_ROWS).collect();
        out.push(Target::judge(
            &format!("check of 1,000,000 rows ({ext}): peak RSS"),
            "≤ 200 MB",
            !big.is_empty(),
            worst_max(big.iter().map(|c| mb(c.peak_rss_kib))),
            |v| format!("{v:.1} MB"),
            |v| v <= 200.0,
        ));
        out.push(Target::judge(
            &format!("check of 1,000,000 rows ({ext}): peak RSS vs a smaller N"),
            "flat: ≤ 1.20 ×",
            !big.is_empty() && !small.is_empty(),
            worst_max(big.iter().flat_map(|b| {
                small.iter().map(|s| {
                    mb(b.peak_rss_kib)
                        .zip(mb(s.peak_rss_kib))
                        .map(|(b, s)| b / s)
                })
            })),
            |v| format!("{v:.2} ×"),
            |v| v <= 1.2,
        ));
        out.push(Target::judge(
            &format!("check of 1,000,000 rows ({ext}): speed"),
            "≥ 100,000 rows/s",
            !big.is_empty(),
            worst_min(big.iter().map(|c| Some(c.rows_per_s()))),
            |v| format!("{v:.0} rows/s"),
            |v| v >= 100_000.0,
        ));
    }
    let rejected = |n: usize| {
        checks
            .iter()
            .filter(move |c| c.rows == RowsKind::Rejected && c.n == n)
    };
    let ratios: Vec<Option<f64>> = rejected(300_000)
        .filter_map(|b| {
            let s = rejected(100_000).find(|s| s.format == b.format)?;
            Some(b.rejects_write_s.zip(s.rejects_write_s).map(|(b, s)| b / s))
        })
        .collect();
    out.push(Target::judge(
        "rejects files: 300,000 rejected rows vs 100,000",
        "linear: ≤ 3.00 × the time",
        !ratios.is_empty(),
        worst_max(ratios),
        |v| format!("{v:.2} ×"),
        |v| v <= 3.0,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn run(kind: JobKind, n: usize, threads: usize, cpu_s: Option<f64>) -> Measurement {
        Measurement::Run(RunMeasurement {
            kind,
            n,
            threads,
            sink: Sink::Null,
            documents: n,
            wall_s: 1.0,
            cpu_s,
            peak_rss_kib: Some(50_000),
            document_bytes: 21_000 * n as u64,
            startup_ms: Some(30.0),
            print: None,
            batch_stages_ms: Default::default(),
            render_stages_cpu_ms: Default::default(),
            verified_documents: None,
            run_dir: PathBuf::new(),
        })
    }

    fn find<'a>(targets: &'a [Target], prefix: &str) -> &'a Target {
        targets.iter().find(|t| t.what.starts_with(prefix)).unwrap()
    }

    #[test]
    fn a_missing_figure_is_not_measured_and_fails() {
        let m = [
            run(JobKind::Zaishoku, 10, 1, Some(1.0)),
            run(JobKind::Shuro, 10, 1, None),
        ];
        let t = judge(&m);
        let shuro = find(&t, "shuro");
        assert_eq!(shuro.verdict, Verdict::NotMeasured);
        assert_eq!(shuro.measured, None);
        assert!(shuro.requested && shuro.fails());
    }

    #[test]
    fn verdicts_follow_the_figures() {
        let m = [
            run(JobKind::Zaishoku, 10, 1, Some(1.0)),
            run(JobKind::Shuro, 10, 1, Some(1.5)),
            run(JobKind::Kyuyo, 10, 1, Some(2.5)),
            run(JobKind::ZaishokuNoseal, 10, 1, Some(1.0)),
        ];
        let t = judge(&m);
        assert_eq!(find(&t, "shuro").verdict, Verdict::Met);
        assert_eq!(find(&t, "shuro").measured.as_deref(), Some("1.50 ×"));
        assert_eq!(find(&t, "kyuyo").verdict, Verdict::NotMet);
        assert!(find(&t, "kyuyo").fails());
        assert_eq!(find(&t, "size").verdict, Verdict::Met);
        // No 100,000-letter run: those targets were not requested.
        let saiyo = find(&t, "saiyo mail batch, 100,000 letters, disk");
        assert_eq!(saiyo.verdict, Verdict::NotMeasured);
        assert!(!saiyo.requested && !saiyo.fails());
    }

    #[test]
    fn the_worst_run_decides_and_any_gap_voids_it() {
        assert_eq!(worst_max([Some(1.0), Some(3.0)]), Some(3.0));
        assert_eq!(worst_min([Some(1.0), Some(3.0)]), Some(1.0));
        assert_eq!(worst_max([Some(1.0), None]), None);
        assert_eq!(worst_max(std::iter::empty()), None);
    }
}
