//! The delivery stage through the real binary on the 採用通知書 sample: mail
//! order, zip packages that `verify` accepts, the print file, and the labels
//! and dispatch list made from all records — identical whatever the thread
//! count.

use std::path::{Path, PathBuf};
use std::process::Command;

fn job() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/saiyo/job.toml")
}

fn run(out: &Path, threads: &str) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_chohyo"))
        .arg("run")
        .arg(job())
        .arg("--out")
        .arg(out)
        .args(["--threads", threads, "-q"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out.join("saiyo/2025-03-10")
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                if !matches!(
                    rel.as_str(),
                    "run.log" | "run.lock" | "summary.json" | "report.html"
                ) {
                    out.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sample_mailing_is_packaged_printed_and_verifiable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run(tmp.path(), "2");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
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
        let o = Command::new("qpdf")
            .arg("--check")
            .arg(dir.join(pdf))
            .output()
            .unwrap();
        assert!(o.status.success(), "{pdf}");
    }
    // Duplex padding: every document and the cover start on a front side.
    assert_eq!(d["print"][0]["stats"]["total_pages"], 58);
    // The dispatch list lists every document once.
    let o = Command::new("pdftotext")
        .arg("-raw")
        .arg(dir.join("dispatch.pdf"))
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    for e in manifest["documents"].as_array().unwrap() {
        let id = e["record_id"].as_str().unwrap();
        assert_eq!(text.matches(id).count(), 1, "{id} in the dispatch list");
    }
    // verify accepts the run directory with its packages, and notices a change.
    let v = Command::new(env!("CARGO_BIN_EXE_chohyo"))
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    let zip = dir.join("packages/all-002.zip");
    let mut bytes = std::fs::read(&zip).unwrap();
    let mid = bytes.len() / 3;
    bytes[mid] ^= 0x40;
    std::fs::write(&zip, bytes).unwrap();
    let v = Command::new(env!("CARGO_BIN_EXE_chohyo"))
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    assert_ne!(v.status.code(), Some(0));
}

#[test]
fn delivery_outputs_do_not_depend_on_threads() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fa = files(&run(a.path(), "1"));
    let fb = files(&run(b.path(), "2"));
    assert_eq!(fa.len(), fb.len());
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs");
    }
}
