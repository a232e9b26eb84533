//! `chohyo verify` through the binary: a clean package passes; each kind of
//! damage or unsafe entry is found with its own message and a non-zero exit.

mod common;

use chohyo::mail::package::{FindingKind, PackageEntry, PackageOptions, PackageWriter};
use common::run_chohyo;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

fn entry(i: usize) -> PackageEntry {
    let record_id = format!("R-{i:04}");
    PackageEntry {
        file: format!("{record_id}.pdf"),
        doc_id: chohyo::mail::docid::doc_id(&record_id).unwrap(),
        sha256: String::new(),
        bytes: 0,
        pages: 1,
        record_id,
        number: i as u64,
        recipient_name: None,
        postal: "263-0023".into(),
        kind: "在職証明書".into(),
        source_file: "requests.xlsx".into(),
        source_sheet: "申請一覧".into(),
        source_row: 2 + i as u32,
        group: "郵送".into(),
    }
}

fn pdf(i: usize) -> Vec<u8> {
    format!("%PDF-1.7\n% document {i}\n{}\n%%EOF\n", "y".repeat(300)).into_bytes()
}

/// A clean package of three documents; returns the zip path.
fn clean(dir: &Path) -> PathBuf {
    let mut w = PackageWriter::create(dir, "郵送", &PackageOptions::default()).unwrap();
    for i in 0..3 {
        w.add_bytes(&entry(i), &pdf(i)).unwrap();
    }
    let infos = w.finish().unwrap();
    chohyo::mail::package::write_packages_json(dir, &infos, 0o600).unwrap();
    dir.join(&infos[0].file)
}

/// Copies a zip entry by entry through `edit` (None drops the entry), then
/// lets `extra` add entries.
fn rebuild(
    src: &Path,
    dst: &Path,
    edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>,
    extra: impl FnOnce(&mut zip::ZipWriter<std::fs::File>),
) {
    let mut a = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..a.len() {
        let mut f = a.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if let Some(d) = edit(&name, data) {
            w.start_file(name, opts).unwrap();
            w.write_all(&d).unwrap();
        }
    }
    extra(&mut w);
    w.finish().unwrap();
}

/// Where a damaged copy of the clean package goes: a folder of its own, so
/// that the copy keeps the file name its manifest gives (a renamed zip is a
/// finding of its own).
fn damaged(dir: &Path, label: &str) -> PathBuf {
    let d = dir.join(label);
    std::fs::create_dir_all(&d).unwrap();
    d.join("郵送.zip")
}

struct Run {
    code: i32,
    stdout: String,
    kinds: Vec<String>,
}

/// `chohyo verify <target> <extra…>`, and again with `--json` (same exit
/// code): the exit code, the human report and the JSON findings' kinds.
fn verify(target: &Path, extra: &[&str]) -> Run {
    let args = |json: bool| {
        let mut a = vec![OsStr::new("verify"), target.as_os_str()];
        if json {
            a.push(OsStr::new("--json"));
        }
        a.extend(extra.iter().map(OsStr::new));
        a
    };
    let human = run_chohyo(args(false));
    let json = run_chohyo(args(true));
    assert_eq!(human.code, json.code);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let kinds = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    Run {
        code: human.code,
        stdout: human.stdout,
        kinds,
    }
}

/// Asserts exactly one finding of `kind`, its own message printed, exit 1.
fn assert_only(r: &Run, kind: FindingKind, kind_name: &str) {
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.kinds, vec![kind_name.to_string()], "{}", r.stdout);
    assert!(r.stdout.contains(kind.message()), "{}", r.stdout);
}

#[test]
fn clean_package_run_dir_and_packages_json_verify() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(t.path());
    let r = verify(&zip, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.kinds.is_empty());
    assert!(r.stdout.contains("OK  すべて一致しました"), "{}", r.stdout);
    let r = verify(&t.path().join("packages.json"), &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = verify(t.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn every_finding_kind_has_its_own_message() {
    let all = [
        FindingKind::Missing,
        FindingKind::Extra,
        FindingKind::Changed,
        FindingKind::AbsolutePath,
        FindingKind::ParentPath,
        FindingKind::Symlink,
        FindingKind::TooLarge,
        FindingKind::DuplicateName,
    ];
    let mut msgs: Vec<&str> = all.iter().map(|k| k.message()).collect();
    msgs.sort();
    msgs.dedup();
    assert_eq!(msgs.len(), all.len());
}

#[test]
fn flipped_byte_in_one_pdf_is_changed() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(&t.path().join("p"));
    // Content rewritten with a consistent CRC: only the manifest hash tells.
    let bad = damaged(t.path(), "flip");
    rebuild(
        &zip,
        &bad,
        |name, mut d| {
            if name == "docs/R-0001.pdf" {
                d[20] ^= 0x01;
            }
            Some(d)
        },
        |_| {},
    );
    assert_only(&verify(&bad, &[]), FindingKind::Changed, "changed");
    // A byte flipped in the zip file itself (CRC no longer matches).
    let mut raw = std::fs::read(&zip).unwrap();
    let at = raw.windows(12).position(|w| w == b"% document 1").unwrap();
    raw[at + 2] ^= 0x01;
    let bad2 = damaged(t.path(), "flip2");
    std::fs::write(&bad2, raw).unwrap();
    assert_only(&verify(&bad2, &[]), FindingKind::Changed, "changed");
    // And packages.json notices the zip itself changed.
    std::fs::copy(&bad2, &zip).unwrap();
    let r = verify(&t.path().join("p/packages.json"), &[]);
    assert_eq!(r.code, 1);
    assert_eq!(r.kinds, ["package_changed", "changed"]);
}

#[test]
fn a_renamed_zip_or_one_listed_as_another_part_is_found() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(t.path());
    // Renamed: intact contents, but its manifest names another file.
    let renamed = t.path().join("窓口.zip");
    std::fs::copy(&zip, &renamed).unwrap();
    let r = verify(&renamed, &[]);
    assert_only(&r, FindingKind::ManifestIdentity, "manifest_identity");
    assert!(
        r.stdout.contains("package 郵送.zip / ファイル名 窓口.zip"),
        "{}",
        r.stdout
    );
    // packages.json that lists the zip as part 2 of another group.
    let list = t.path().join("packages.json");
    let text = std::fs::read_to_string(&list).unwrap();
    let edited = text
        .replace("\"group\": \"郵送\"", "\"group\": \"窓口\"")
        .replace("\"part\": 1", "\"part\": 2");
    assert_ne!(edited, text);
    std::fs::write(&list, edited).unwrap();
    let r = verify(&list, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    // The copy beside it is also unlisted there.
    assert_eq!(
        r.kinds,
        ["manifest_identity", "package_extra"],
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("group 郵送 part 1 / packages.json: group 窓口 part 2"),
        "{}",
        r.stdout
    );
}

#[test]
fn deleted_pdf_is_missing() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(t.path());
    let bad = damaged(t.path(), "del");
    rebuild(
        &zip,
        &bad,
        |n, d| (n != "docs/R-0002.pdf").then_some(d),
        |_| {},
    );
    let r = verify(&bad, &[]);
    assert_only(&r, FindingKind::Missing, "missing");
    assert!(r.stdout.contains("docs/R-0002.pdf"));
}

#[test]
fn added_file_is_extra() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(t.path());
    let bad = damaged(t.path(), "add");
    rebuild(
        &zip,
        &bad,
        |_, d| Some(d),
        |w| {
            w.start_file("docs/R-9999.pdf", SimpleFileOptions::default())
                .unwrap();
            w.write_all(b"%PDF-1.7 intruder").unwrap();
        },
    );
    let r = verify(&bad, &[]);
    assert_only(&r, FindingKind::Extra, "extra");
    assert!(r.stdout.contains("docs/R-9999.pdf"));
}

#[test]
fn parent_path_entry_is_unsafe() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(t.path());
    let bad = damaged(t.path(), "dotdot");
    rebuild(
        &zip,
        &bad,
        |_, d| Some(d),
        |w| {
            w.start_file("docs/../../evil.pdf", SimpleFileOptions::default())
                .unwrap();
            w.write_all(b"x").unwrap();
        },
    );
    assert_only(&verify(&bad, &[]), FindingKind::ParentPath, "parent_path");
}

#[test]
fn absolute_path_entry_is_unsafe() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(t.path());
    let bad = damaged(t.path(), "abs");
    rebuild(
        &zip,
        &bad,
        |_, d| Some(d),
        |w| {
            w.start_file("/tmp/evil.pdf", SimpleFileOptions::default())
                .unwrap();
            w.write_all(b"x").unwrap();
        },
    );
    assert_only(
        &verify(&bad, &[]),
        FindingKind::AbsolutePath,
        "absolute_path",
    );
}

#[test]
fn symlink_entry_is_unsafe() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(t.path());
    let bad = damaged(t.path(), "link");
    // The symlink replaces a listed document: it is reported as a symlink,
    // not read through.
    rebuild(
        &zip,
        &bad,
        |n, d| (n != "docs/R-0000.pdf").then_some(d),
        |w| {
            w.add_symlink(
                "docs/R-0000.pdf",
                "/etc/passwd",
                SimpleFileOptions::default(),
            )
            .unwrap();
        },
    );
    assert_only(&verify(&bad, &[]), FindingKind::Symlink, "symlink");
}

#[test]
fn oversized_entry_is_a_zip_bomb_suspect() {
    let t = tempfile::tempdir().unwrap();
    let zip = clean(t.path());
    let bad = damaged(t.path(), "bomb");
    rebuild(
        &zip,
        &bad,
        |_, d| Some(d),
        |w| {
            let o =
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            w.start_file("docs/big.pdf", o).unwrap();
            w.write_all(&vec![0u8; 3 * 1024 * 1024]).unwrap();
        },
    );
    assert!(std::fs::metadata(&bad).unwrap().len() < 100 * 1024);
    let r = verify(&bad, &["--max-entry-mb", "1"]);
    assert_only(&r, FindingKind::TooLarge, "too_large");
}

#[test]
fn run_directory_changes_are_found() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("run");
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    let mut docs = Vec::new();
    for i in 0..3 {
        let e = entry(i);
        let bytes = pdf(i);
        std::fs::write(dir.join("docs").join(&e.file), &bytes).unwrap();
        docs.push(serde_json::json!({
            "file": e.file, "sha256": chohyo::files::sha256_hex(&bytes),
            "bytes": bytes.len(), "pages": 1, "record_id": e.record_id,
        }));
    }
    // A run directory has both manifests, and they must agree.
    let mut csv = String::from("file,sha256,bytes,pages,record_id\r\n");
    for d in &docs {
        let cell = |k: &str| d[k].as_str().map_or(d[k].to_string(), str::to_string);
        let row = ["file", "sha256", "bytes", "pages", "record_id"].map(cell);
        csv.push_str(&format!("{}\r\n", row.join(",")));
    }
    std::fs::write(dir.join("manifest.csv"), csv).unwrap();
    let m = serde_json::json!({ "job": "t", "documents": docs });
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    assert_eq!(verify(&dir, &[]).code, 0);
    // The run's packages are checked with it.
    let zip = clean(&dir.join("packages"));
    let r = verify(&dir, &[]);
    assert_eq!((r.code, r.kinds.len()), (0, 0), "{}", r.stdout);
    std::fs::remove_file(&zip).unwrap();
    let r = verify(&dir, &[]);
    assert_eq!(r.kinds, ["package_missing"]);
    std::fs::remove_file(dir.join("packages/packages.json")).unwrap();
    std::fs::write(dir.join("docs/R-0001.pdf"), b"changed").unwrap();
    std::fs::remove_file(dir.join("docs/R-0002.pdf")).unwrap();
    std::fs::write(dir.join("docs/zz.pdf"), b"new").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", dir.join("docs/zz-link.pdf")).unwrap();
    let r = verify(&dir, &[]);
    assert_eq!(r.code, 1);
    // Unlisted files in name order: "zz-link.pdf" sorts before "zz.pdf".
    let want = if cfg!(unix) {
        vec!["changed", "missing", "symlink", "extra"]
    } else {
        vec!["changed", "missing", "extra"]
    };
    assert_eq!(r.kinds, want, "{}", r.stdout);
}

#[test]
fn unreadable_target_exits_2() {
    let t = tempfile::tempdir().unwrap();
    let r = run_chohyo([OsStr::new("verify"), t.path().join("nope.zip").as_os_str()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let junk = t.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let r = verify(&junk, &[]);
    assert_eq!(r.code, 1);
    assert_eq!(r.kinds, ["unreadable"]);
}
