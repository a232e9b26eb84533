//! The delivery stage through the real binary on the 採用通知書 sample: mail
//! order, zip packages that `verify` accepts, the print file, and the labels
//! and dispatch list made from all records — identical whatever the thread
//! count.

mod common;

use common::{assert_same, run_chohyo, snapshot};
use std::path::{Path, PathBuf};

/// Runs the 採用通知書 sample into `out` with `threads`; it must finish with
/// its deliberate rejects (exit 1). Returns the run directory.
fn run(out: &Path, threads: &str) -> PathBuf {
    let r = common::run_job(
        &common::sample_job("saiyo"),
        out,
        &["--threads", threads, "-q"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    out.join("saiyo/2025-03-10")
}

#[test]
fn sample_mailing_is_packaged_printed_and_verifiable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run(tmp.path(), "2");
    let summary = common::read_json(&dir.join("summary.json"));
    let d = &summary["delivery"];
    assert_eq!(d["groups"][0]["items"], 28);
    // max_documents = 20 splits the 28 documents in two zips.
    let pk: Vec<&str> = d["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["file"].as_str().unwrap())
        .collect();
    assert_eq!(pk, ["all-001.zip", "all-002.zip"]);
    for f in [
        "packages/all-001.zip",
        "packages/all-002.zip",
        "packages/packages.json",
        "print/all.pdf",
        "labels.pdf",
        "dispatch.pdf",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    for pdf in ["print/all.pdf", "labels.pdf", "dispatch.pdf"] {
        common::qpdf_check(&dir.join(pdf));
    }
    // Duplex padding: every document and the cover start on a front side.
    assert_eq!(d["print"][0]["stats"]["total_pages"], 58);
    // The dispatch list lists every document once.
    let text = common::pdftotext(&dir.join("dispatch.pdf"), None);
    let manifest = common::read_json(&dir.join("manifest.json"));
    for e in manifest["documents"].as_array().unwrap() {
        let id = e["record_id"].as_str().unwrap();
        assert_eq!(text.matches(id).count(), 1, "{id} in the dispatch list");
    }
    // verify accepts the run directory with its packages, and notices a change.
    let v = run_chohyo([Path::new("verify"), &dir]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    let zip = dir.join("packages/all-002.zip");
    let mut bytes = std::fs::read(&zip).unwrap();
    let mid = bytes.len() / 3;
    bytes[mid] ^= 0x40;
    std::fs::write(&zip, bytes).unwrap();
    let v = run_chohyo([Path::new("verify"), &dir]);
    assert_ne!(v.code, 0, "{}", v.stdout);
}

#[test]
fn delivery_outputs_do_not_depend_on_threads() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fa = snapshot(&run(a.path(), "1"));
    let fb = snapshot(&run(b.path(), "2"));
    assert_same(&fa, &fb, "threads 1 and 2");
}
