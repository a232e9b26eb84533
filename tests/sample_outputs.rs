//! Every bundled sample's run directory, hashed file by file, against the
//! listing in `tests/golden/sample-outputs.txt`.
//!
//! This is what keeps a change of structure honest: the five samples (with
//! the saiyo job's packages, print file, labels and dispatch list) must give
//! the same bytes before and after. `run.log`, `run.lock`, the ledger file
//! and the timings of `summary.json` / `report.html` are left out (see
//! `common::snapshot`). A change that is meant to alter an output updates
//! the listing with `CHOHYO_BLESS=1 cargo test --test sample_outputs` and
//! says why in its commit.

mod common;

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

const SAMPLES: [&str; 5] = ["zaishoku", "shuro", "saiyo", "kyuyo", "checks"];

fn listing(out: &Path) -> String {
    let root = common::root();
    let mut text = String::new();
    for sample in SAMPLES {
        let job = root.join("samples").join(sample).join("job.toml");
        let status = common::chohyo()
            .arg("run")
            .arg(&job)
            .arg("--out")
            .arg(out.join(sample))
            .arg("-q")
            .status()
            .expect("chohyo runs");
        writeln!(text, "exit {sample} {}", status.code().unwrap_or(-1)).unwrap();
        let job_dir = out.join(sample).join(sample);
        let mut batches: Vec<_> = std::fs::read_dir(&job_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        batches.sort();
        for batch in batches {
            let name = batch.file_name().unwrap().to_string_lossy().into_owned();
            for (rel, bytes) in common::snapshot(&batch) {
                let hash = Sha256::digest(&bytes);
                let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
                writeln!(text, "{hex}  {sample}/{name}/{rel}").unwrap();
            }
        }
    }
    text
}

#[test]
fn every_sample_output_matches_the_recorded_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let got = listing(tmp.path());
    let golden = common::root().join("tests/golden/sample-outputs.txt");
    if std::env::var_os("CHOHYO_BLESS").is_some() {
        std::fs::write(&golden, &got).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(&golden).expect("tests/golden/sample-outputs.txt is committed");
    let differing: Vec<String> = got
        .lines()
        .filter(|l| !want.lines().any(|w| w == *l))
        .chain(want.lines().filter(|w| !got.lines().any(|l| l == *w)))
        .map(str::to_owned)
        .collect();
    assert!(
        differing.is_empty(),
        "sample outputs differ from tests/golden/sample-outputs.txt:\n{}",
        differing.join("\n")
    );
}
