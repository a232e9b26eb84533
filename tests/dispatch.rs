//! `chohyo dispatch-check` driven through the binary with scripted scans.

mod common;

use chohyo::mail::docid::doc_id;
use chohyo::mail::package::{PackageEntry, PackageOptions, PackageWriter};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

const NOW: &str = "2025-04-01T10:00:00+09:00";

fn ids(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| doc_id(&format!("Z-{i:03}")).unwrap())
        .collect()
}

/// A run-style manifest.json (no doc_id column: derived from record ids).
fn run_manifest(dir: &Path, n: usize) -> std::path::PathBuf {
    let docs: Vec<serde_json::Value> = (1..=n)
        .map(|i| {
            serde_json::json!({
                "file": format!("Z-{i:03}.pdf"), "sha256": "", "bytes": 0, "pages": 1,
                "record_id": format!("Z-{i:03}"),
            })
        })
        .collect();
    let p = dir.join("manifest.json");
    std::fs::write(&p, serde_json::json!({ "documents": docs }).to_string()).unwrap();
    p
}

struct Out {
    code: i32,
    stderr: String,
    json: serde_json::Value,
    csv: String,
}

fn run(manifest: &Path, out: &Path, stdin: &str, extra: &[&str]) -> Out {
    let mut child = common::chohyo()
        .arg("dispatch-check")
        .arg(manifest)
        .arg("--out")
        .arg(out)
        .args(["--now", NOW])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let json = common::read_json(&out.with_extension("json"));
    let csv = std::fs::read_to_string(out.with_extension("csv")).unwrap();
    Out {
        code: o.status.code().unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
        json,
        csv,
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn scripted_scans_find_missing_duplicates_and_unknown_exactly() {
    let t = tempfile::tempdir().unwrap();
    let m = run_manifest(t.path(), 10);
    let id = ids(10);
    let unknown = doc_id("Q-999").unwrap();
    // Misread: a valid id with its last body character changed.
    let mut misread = id[4].clone();
    misread.replace_range(misread.len() - 2..misread.len() - 1, "9");
    assert!(chohyo::mail::docid::validate(&misread).is_err());
    let script = [
        id[0].as_str(),
        id[1].as_str(),
        "",
        id[2].as_str(),
        &id[1].to_lowercase(), // duplicate, typed in lower case
        unknown.as_str(),
        id[5].as_str(),
        &misread,
        id[6].as_str(),
        id[1].as_str(), // duplicate again
        id[9].as_str(),
        id[8].as_str(),
    ]
    .join("\n");
    let o = run(&m, &t.path().join("recon"), &script, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let j = &o.json;
    assert_eq!(
        strings(&j["missing"]),
        vec![id[3].clone(), id[4].clone(), id[7].clone()]
    );
    let dups = j["duplicates"].as_object().unwrap();
    assert_eq!(dups.keys().collect::<Vec<_>>(), vec![&id[1]]);
    assert_eq!(dups[&id[1]].as_array().unwrap().len(), 3);
    let unk: Vec<(String, String)> = j["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        unk,
        vec![
            (unknown.clone(), "unknown".to_string()),
            (misread.clone(), "misread".to_string())
        ]
    );
    assert_eq!(j["expected"], 10);
    assert_eq!(j["scanned"], 7);
    assert_eq!(j["complete"], false);
    assert_eq!(j["scans"].as_array().unwrap().len(), 11);
    assert!(j["scans"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["at"] == NOW));
    // Immediate feedback on stderr.
    assert!(o.stderr.contains(&format!("OK    [1/10] {}", id[0])));
    assert!(o.stderr.contains("重複 (duplicate)"));
    assert!(o.stderr.contains("不明 (unknown)"));
    assert!(o.stderr.contains("読み取り誤り (misread)"));
    // The CSV has one row per scan and per missing id.
    let rows: Vec<&str> = o.csv.lines().collect();
    assert_eq!(rows[0], "kind,doc_id,at,detail");
    assert_eq!(rows.len(), 1 + 11 + 3);
    assert_eq!(rows.iter().filter(|r| r.starts_with("missing,")).count(), 3);
    assert_eq!(
        rows.iter().filter(|r| r.starts_with("duplicate,")).count(),
        2
    );
}

#[test]
fn complete_scan_exits_zero_and_done_stops_early() {
    let t = tempfile::tempdir().unwrap();
    let m = run_manifest(t.path(), 4);
    let id = ids(4);
    // Reverse order, a full-width scan, and `:done` after the last.
    let full_width: String = id[2]
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 + 0xFEE0).unwrap()
            } else {
                c
            }
        })
        .collect();
    let script = format!(
        "{}\n{}\n{full_width}\n{}\n:done\n{}\n",
        id[3], id[0], id[1], "ignored"
    );
    let o = run(&m, &t.path().join("ok"), &script, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json["complete"], true);
    assert!(strings(&o.json["missing"]).is_empty());

    // Duplicates alone do not fail the check.
    let script = format!("{}\n{}\n{}\n{}\n{}\n", id[0], id[1], id[2], id[3], id[3]);
    let o = run(&m, &t.path().join("dup"), &script, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json["duplicates"].as_object().unwrap().len(), 1);

    // Stopping early leaves the rest missing.
    let o = run(
        &m,
        &t.path().join("early"),
        &format!("{}\n:done\n", id[1]),
        &[],
    );
    assert_eq!(o.code, 1);
    assert_eq!(
        strings(&o.json["missing"]),
        vec![id[0].clone(), id[2].clone(), id[3].clone()]
    );
}

#[test]
fn ids_file_and_package_zip_and_csv_manifests() {
    let t = tempfile::tempdir().unwrap();
    let mut w =
        PackageWriter::create(&t.path().join("p"), "郵送", &PackageOptions::default()).unwrap();
    for i in 1..=3 {
        let rid = format!("Z-{i:03}");
        let e = PackageEntry {
            file: format!("{rid}.pdf"),
            doc_id: doc_id(&rid).unwrap(),
            sha256: String::new(),
            bytes: 0,
            pages: 1,
            record_id: rid,
            number: i,
            recipient_name: None,
            postal: "100-0013".into(),
            kind: "在職証明書".into(),
            source_file: "x.csv".into(),
            source_sheet: String::new(),
            source_row: 1 + i as u32,
            group: "郵送".into(),
        };
        w.add_bytes(&e, b"%PDF-1.7 x").unwrap();
    }
    let infos = w.finish().unwrap();
    let zip = t.path().join("p").join(&infos[0].file);
    let id = ids(3);
    let list = t.path().join("scans.txt");
    std::fs::write(&list, format!("{}\n\n{}\n", id[0], id[2])).unwrap();
    let o = run(
        &zip,
        &t.path().join("z"),
        "",
        &["--ids", list.to_str().unwrap()],
    );
    assert_eq!(o.code, 1);
    assert_eq!(strings(&o.json["missing"]), vec![id[1].clone()]);

    // The same from a manifest.csv extracted from the zip.
    let mut a = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let mut csv = String::new();
    std::io::Read::read_to_string(&mut a.by_name("manifest.csv").unwrap(), &mut csv).unwrap();
    let csv_path = t.path().join("manifest.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let o = run(
        &csv_path,
        &t.path().join("c"),
        &format!("{}\n{}\n{}\n", id[0], id[1], id[2]),
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn bad_now_and_bad_manifest_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let m = run_manifest(t.path(), 1);
    let o = common::chohyo()
        .args(["dispatch-check"])
        .arg(&m)
        .args(["--now", "yesterday"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = common::chohyo()
        .args(["dispatch-check"])
        .arg(t.path().join("missing.json"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
