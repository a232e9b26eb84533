//! End-to-end: the bundled 在職証明書 sample through the real `chohyo` binary,
//! with the outputs checked by independent tools (qpdf, poppler's pdffonts and
//! pdftotext) as well as in Rust.

mod common;

use calamine::{open_workbook_auto, Data, Reader};
use common::{docs, pdftotext, root, run_chohyo, squash};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn job() -> PathBuf {
    common::sample_job("zaishoku")
}

/// Runs `chohyo run` into a fresh output folder; returns (exit code, run dir, stderr).
fn run(out: &Path, extra: &[&str]) -> (i32, PathBuf, String) {
    let r = common::run_job(&job(), out, extra);
    (r.code, out.join("zaishoku").join("2025-04-01"), r.stderr)
}

/// Sample rows read straight from the xlsx with calamine: request id → (name, row).
fn sample_names() -> BTreeMap<String, String> {
    let mut wb = open_workbook_auto(root().join("samples/zaishoku/requests.xlsx")).unwrap();
    let range = wb.worksheet_range("申請一覧").unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    let header = rows
        .iter()
        .position(|r| r.iter().any(|c| *c == Data::String("申請番号".into())))
        .unwrap();
    let col = |name: &str| {
        rows[header]
            .iter()
            .position(|c| *c == Data::String(name.into()))
            .unwrap()
    };
    let (id, name) = (col("申請番号"), col("氏名"));
    rows[header + 1..]
        .iter()
        .map(|r| (r[id].to_string(), r[name].to_string()))
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn sample_batch_renders_47_checked_certificates() {
    let tmp = tempdir();
    let (code, dir, stderr) = run(tmp.path(), &[]);
    // 1 = finished with rejects.
    assert_eq!(code, 1, "{stderr}");
    let pdfs = docs(&dir);
    assert_eq!(pdfs.len(), 47, "{stderr}");
    assert!(pdfs.iter().all(|p| p.extension().unwrap() == "pdf"));

    // Rejects: exactly the 3 bad rows, each with a Japanese reason.
    let rows = common::read_rejects(&dir.join("rejects.csv"));
    assert_eq!(rows.len(), 3, "{rows:?}");
    let codes: Vec<&str> = rows.iter().map(|r| &r[5]).collect();
    assert_eq!(
        codes,
        ["E_REQUIRED", "E_DATE_INVALID", "E_POSTAL_FORMAT"],
        "{rows:?}"
    );
    let columns: Vec<&str> = rows.iter().map(|r| &r[3]).collect();
    assert_eq!(columns, ["氏名", "生年月日", "郵便番号"]);
    for r in &rows {
        assert_eq!(&r[0], "requests.xlsx");
        assert_eq!(&r[1], "申請一覧");
        assert!(r[2].parse::<u32>().unwrap() > 2);
        assert!(
            r[6].chars().any(|c| ('\u{3040}'..='\u{30FF}').contains(&c)),
            "Japanese reason: {}",
            &r[6]
        );
    }

    // Manifests agree with the files.
    let manifest = common::read_json(&dir.join("manifest.json"));
    let entries = manifest["documents"].as_array().unwrap();
    assert_eq!(entries.len(), 47);
    let mut csv_rdr = csv::Reader::from_path(dir.join("manifest.csv")).unwrap();
    assert_eq!(csv_rdr.records().count(), 47);
    let names = sample_names();
    for e in entries {
        let file = dir.join("docs").join(e["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(e["bytes"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(
            e["sha256"].as_str().unwrap(),
            format!("{:x}", Sha256::digest(&bytes))
        );
        assert_eq!(e["pages"], 1);
        assert!(e["source_row"].as_u64().unwrap() >= 3);
        // The name of that row and the era-form issue date are in the text.
        let text = pdftotext(&file, None);
        let id = e["record_id"].as_str().unwrap();
        let name = &names[id];
        let squeezed = squash(&text);
        assert!(squeezed.contains(&squash(name)), "{name} not in {file:?}");
        assert!(text.contains("令和7年4月1日"), "issue date in {file:?}");
        assert!(squeezed.contains("在職証明書"));
        assert!(squeezed
            .contains("上記の者は、令和7年4月1日現在、当区に在職していることを証明します。"));
    }
}

#[test]
fn every_pdf_passes_qpdf_and_embeds_subset_fonts() {
    let tmp = tempdir();
    let (_, dir, stderr) = run(tmp.path(), &[]);
    let pdfs = docs(&dir);
    assert_eq!(pdfs.len(), 47, "{stderr}");
    for pdf in &pdfs {
        common::qpdf_check(pdf);
        let font_lines = common::pdffonts(pdf);
        assert!(!font_lines.is_empty(), "{pdf:?}");
        for line in &font_lines {
            // name: ABCDEF+BIZUDMincho-Regular ... CID TrueType Identity-H yes yes yes
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert!(
                cols[0].len() > 7 && cols[0].as_bytes()[6] == b'+',
                "subset tag: {line}"
            );
            assert!(line.contains("CID TrueType"), "{line}");
            assert!(
                cols.ends_with(&["yes", "yes", "yes"])
                    || cols[cols.len() - 5..cols.len() - 2] == ["yes", "yes", "yes"],
                "emb/sub/uni: {line}"
            );
        }
        assert!(
            font_lines.iter().any(|l| l.contains("BIZUDMincho")),
            "{font_lines:#?}"
        );
    }
}

#[test]
fn output_is_byte_identical_across_runs_and_thread_counts() {
    let (a, b) = (tempdir(), tempdir());
    let (_, da, _) = run(a.path(), &["--threads", "1"]);
    let (_, db, _) = run(b.path(), &["--threads", "4"]);
    let (pa, pb) = (docs(&da), docs(&db));
    assert_eq!(pa.len(), 47);
    assert_eq!(pa.len(), pb.len());
    for (x, y) in pa.iter().zip(&pb) {
        assert_eq!(x.file_name(), y.file_name());
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{x:?} differs"
        );
    }
    for f in ["manifest.json", "manifest.csv", "rejects.csv"] {
        assert_eq!(
            std::fs::read(da.join(f)).unwrap(),
            std::fs::read(db.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn cp932_csv_gives_the_same_pdfs_as_xlsx() {
    let (a, b) = (tempdir(), tempdir());
    let (_, dx, _) = run(a.path(), &[]);
    let csv = root().join("samples/zaishoku/requests_cp932.csv");
    let (code, dc, stderr) = run(b.path(), &["--input", csv.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let (px, pc) = (docs(&dx), docs(&dc));
    assert_eq!(px.len(), 47);
    assert_eq!(pc.len(), 47, "{stderr}");
    for (x, c) in px.iter().zip(&pc) {
        assert_eq!(x.file_name(), c.file_name());
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(c).unwrap(),
            "{x:?} differs between xlsx and csv"
        );
    }
    let rejects = std::fs::read_to_string(dc.join("rejects.csv")).unwrap();
    assert_eq!(rejects.lines().count(), 4, "{rejects}");
    assert!(rejects.contains("requests_cp932.csv"));
}

#[test]
fn check_subcommand_reports_rejects_and_renders_nothing() {
    let tmp = tempdir();
    let rejects = tmp.path().join("r.csv");
    let r = common::check_job(&job(), &rejects);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let stdout = r.stdout;
    assert!(
        stdout.contains("50") && stdout.contains("47") && stdout.contains('3'),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap().lines().count(),
        4
    );
}

#[test]
fn strict_mode_renders_nothing_when_rows_are_rejected() {
    let tmp = tempdir();
    let (code, dir, stderr) = run(tmp.path(), &["--strict"]);
    assert_eq!(code, 5, "--strict has its own exit code: {stderr}");
    assert!(stderr.contains("--strict: 3 行に 3 件の不備"), "{stderr}");
    // Only the rejects report (and the log) is written.
    assert!(!dir.join("docs").exists() && !dir.join("plan.json").exists());
    assert!(dir.join("rejects.csv").exists() && dir.join("rejects.xlsx").exists());
    // The streaming count agrees with the full check of the `check` command.
    let job = chohyo::job::Job::load(&job()).unwrap();
    let full = chohyo::run::read_and_check(&job, None, None).unwrap();
    let (rows, rejects) = chohyo::run::count_rejects(&job, None, None).unwrap();
    assert_eq!((rows, rejects), (full.rows_read, full.rejects.len()));
    assert_eq!((rows, rejects), (50, 3));
}

#[test]
fn job_errors_exit_2_naming_the_key() {
    let tmp = tempdir();
    let bad = tmp.path().join("job.toml");
    let text = std::fs::read_to_string(job())
        .unwrap()
        .replace("required = true\nunique = true", "requried = true");
    std::fs::write(&bad, text).unwrap();
    let r = run_chohyo([OsStr::new("run"), bad.as_os_str()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("requried"), "{}", r.stderr);
}

/// The template's constant text becomes the mincho font's core at load
/// time (so every document's font stream reuses its compressed blocks),
/// and each document's glyphs for it are numbered first, in core order.
#[test]
fn constant_text_is_the_font_core_and_documents_use_it() {
    use chohyo::job::Job;
    use chohyo::run::{self, Assets};
    let job = Job::load(&job()).unwrap();
    let assets = Assets::load(&job, None).unwrap();
    let chain = assets.fonts.chain("mincho").unwrap();
    let core = assets.cores.get(chain[0]).expect("mincho has a core");
    for ch in "在職証明書上記の者は現在に在職していることを証明します".chars()
    {
        let (_, g) = assets.fonts.resolve(chain, ch).unwrap();
        assert!(core.glyphs().contains(&g), "{ch} in core");
    }
    // A name only in the data is not.
    let (_, g) = assets.fonts.resolve(chain, '鈴').unwrap();
    assert!(!core.glyphs().contains(&g));
    // Documents of different people are valid, and their font program
    // streams share a long compressed run (the cached core blocks).
    let checked = run::read_and_check(&job, None, None).unwrap();
    let streams: Vec<Vec<u8>> = checked.records[..2]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (pdf, _, _) = run::render_record(&job, &assets, r, i as u64 + 1).unwrap();
            let at = find(&pdf, b"/Length1").unwrap();
            let start = at + find(&pdf[at..], b"stream\n").unwrap() + 7;
            let end = start + find(&pdf[start..], b"\nendstream").unwrap();
            pdf[start..end].to_vec()
        })
        .collect();
    assert_ne!(streams[0], streams[1]);
    let run = &streams[0][200..4200];
    assert!(
        find(&streams[1], run).is_some(),
        "cached core blocks shared"
    );
    for s in &streams {
        assert!(miniz_oxide::inflate::decompress_to_vec_zlib(s).is_ok());
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
