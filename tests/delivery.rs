//! The delivery stage through the real binary on the 採用通知書 sample: mail
//! order, zip packages that `verify` accepts, the print file, and the labels
//! and dispatch list made from all records — identical whatever the thread
//! count, and cut into volumes when the batch is larger than one.

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
        "print/print-00001-00028.pdf",
        "labels-00001-00028.pdf",
        "dispatch-00001-00028.pdf",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    for pdf in [
        "print/print-00001-00028.pdf",
        "labels-00001-00028.pdf",
        "dispatch-00001-00028.pdf",
    ] {
        common::qpdf_check(&dir.join(pdf));
    }
    // Duplex padding: every document and the cover start on a front side.
    assert_eq!(d["print"][0]["stats"]["total_pages"], 58);
    // The dispatch list lists every document once.
    let text = common::pdftotext(&dir.join("dispatch-00001-00028.pdf"), None);
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

/// The PDFs of one kind in the delivery report: `(file, first, last, count)`.
fn volumes_of(list: &serde_json::Value, kind: Option<&str>) -> Vec<(String, u64, u64, u64)> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|v| kind.is_none_or(|k| v["kind"] == k))
        .map(|v| {
            (
                v["file"].as_str().unwrap().to_string(),
                v["first"].as_u64().unwrap(),
                v["last"].as_u64().unwrap(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_batch_larger_than_a_volume_is_cut_into_volumes() {
    let tmp = tempfile::tempdir().unwrap();
    let job = common::sample_copy("saiyo", tmp.path(), |t| {
        t.replace("[mail]\n", "[mail]\nvolume_size = 10\n")
    });
    let out = tmp.path().join("out");
    let r = common::run_job(&job, &out, &["--threads", "2", "-q"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let dir = out.join("saiyo/2025-03-10");
    let d = common::read_json(&dir.join("summary.json"))["delivery"].clone();
    let ranges = [(1, 10, 10), (11, 20, 10), (21, 28, 8)];
    for (kind, stem) in [("宛名ラベル", "labels"), ("発送一覧表", "dispatch")] {
        let got = volumes_of(&d["batch_documents"], Some(kind));
        let want: Vec<(String, u64, u64, u64)> = ranges
            .iter()
            .map(|&(a, b, n)| (format!("{stem}-{a:05}-{b:05}.pdf"), a, b, n))
            .collect();
        assert_eq!(got, want, "{kind}");
        // Every letter is on exactly one volume (its id is printed on the
        // label and in the dispatch list), in mail order.
        let mut text = String::new();
        for (f, ..) in &got {
            common::qpdf_check(&dir.join(f));
            text.push_str(&common::pdftotext(&dir.join(f), None));
        }
        let manifest = common::read_json(&dir.join("manifest.json"));
        for e in manifest["documents"].as_array().unwrap() {
            let id = e["record_id"].as_str().unwrap();
            assert_eq!(text.matches(id).count(), 1, "{id} in the {kind} volumes");
        }
    }
    // The dispatch list's 通番 run on across volumes, and only the last
    // volume has the grand total.
    let second = common::pdftotext(&dir.join("dispatch-00011-00020.pdf"), None);
    assert!(second.contains("第 2 冊 / 全 3 冊"), "{second}");
    assert!(second.contains("累計 20 件 / 全 28 件"), "{second}");
    assert!(!second.contains("総計"), "{second}");
    let last = common::pdftotext(&dir.join("dispatch-00021-00028.pdf"), None);
    assert!(last.contains("総計 28 件"), "{last}");

    let prints = volumes_of(&d["print"], None);
    let want: Vec<(String, u64, u64, u64)> = ranges
        .iter()
        .map(|&(a, b, n)| (format!("print/print-{a:05}-{b:05}.pdf"), a, b, n))
        .collect();
    assert_eq!(prints, want);
    for (i, p) in d["print"].as_array().unwrap().iter().enumerate() {
        let path = dir.join(p["file"].as_str().unwrap());
        common::qpdf_check(&path);
        // Duplex: one-page letters padded to two, and a two-page cover.
        let n = ranges[i].2 as usize;
        assert_eq!(p["stats"]["documents"], n);
        assert_eq!(p["stats"]["total_pages"], 2 * n + 2);
        let info = common::tool("pdfinfo", [&path]);
        assert!(
            info.lines()
                .any(|l| l.starts_with("Pages:") && l.ends_with(&format!(" {}", 2 * n + 2))),
            "{info}"
        );
        let cover = common::squash(&common::pdftotext(&path, Some(1)));
        let (a, b, _) = ranges[i];
        assert!(cover.contains("区分票"), "{cover}");
        assert!(
            cover.contains(&common::squash(&format!("第 {} 冊 ／ 全 3 冊", i + 1))),
            "{cover}"
        );
        assert!(
            cover.contains(&common::squash(&format!("通番：{a} ～ {b}（全 28 通）"))),
            "{cover}"
        );
        assert!(
            cover.contains(&common::squash(&format!("通数：{n} 通"))),
            "{cover}"
        );
        assert!(!cover.contains("all") && !cover.contains("("), "{cover}");
    }
    // The packages are as before, and verify accepts the run directory.
    let v = run_chohyo([Path::new("verify"), &dir]);
    assert_eq!(v.code, 0, "{}", v.stdout);
}

#[test]
fn a_volume_size_of_zero_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let job = common::sample_copy("saiyo", tmp.path(), |t| {
        t.replace("[mail]\n", "[mail]\nvolume_size = 0\n")
    });
    let r = common::run_job(&job, &tmp.path().join("out"), &["-q"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("mail.volume_size は 1 以上にします"),
        "{}",
        r.stderr
    );
}
