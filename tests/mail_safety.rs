//! Mail outputs and the commands that read them back, against a hostile or
//! careless operator (issue 15 items 12, 14, 15, 18, 19 and the FIFO of item
//! 16; issue 17 item 3): owner-only packages and barcode drawings,
//! formula-safe manifests read back as written, `verify` catching edited
//! manifests, terminal control characters escaped, `dispatch-check` going on
//! past a bad byte, and commands ending quietly when their output is closed.

mod common;

use common::run_chohyo;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Runs the 採用通知書 sample (a copy, `edit` applied to its job) into
/// `out`; it finishes with its deliberate rejects (exit 1). Returns the run
/// directory.
fn saiyo_run(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    let job = common::sample_copy("saiyo", dir, edit);
    let out = dir.join("out");
    let r = common::run_job(&job, &out, &["--threads", "2", "-q"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    out.join("saiyo/2025-03-10")
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Item 12: package zips and `packages.json` follow the job's modes (0600,
/// 0640 with `permissions = "group"`), never the umask's 0644/0664.
#[cfg(unix)]
#[test]
fn packages_are_owner_only_and_group_readable_only_when_asked() {
    for (edit, want) in [(None, 0o600), (Some("permissions = \"group\"\n"), 0o640)] {
        let tmp = tempfile::tempdir().unwrap();
        let run = saiyo_run(tmp.path(), |t| match edit {
            Some(line) => t.replacen("[output]\n", &format!("[output]\n{line}"), 1),
            None => t,
        });
        let pkg = run.join("packages");
        let mut zips = 0;
        for e in std::fs::read_dir(&pkg).unwrap() {
            let p = e.unwrap().path();
            assert_eq!(mode(&p), want, "{}", p.display());
            zips += usize::from(p.extension().is_some_and(|x| x == "zip"));
        }
        assert_eq!(zips, 2, "28 letters, 20 a zip");
    }
}

/// Item 12: `chohyo barcode` drawings are owner-only whatever the umask.
#[cfg(unix)]
#[test]
fn barcode_drawings_are_owner_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (svg, png, pdf) = (
        tmp.path().join("b.svg"),
        tmp.path().join("b.png"),
        tmp.path().join("b.pdf"),
    );
    let r = run_chohyo([
        "barcode".as_ref(),
        "--postal".as_ref(),
        "2630023".as_ref(),
        "--address-b".as_ref(),
        "3丁目30-8 郵便ビル403号".as_ref(),
        "--svg".as_ref(),
        svg.as_os_str(),
        "--png".as_ref(),
        png.as_os_str(),
        "--pdf".as_ref(),
        pdf.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for p in [&svg, &png, &pdf] {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }
}

/// A copy of the 在職証明書 sample reading a UTF-8 CSV of the sample's
/// first rows with these record ids; returns the job file.
fn zaishoku_with_ids(dir: &Path, ids: &[&str]) -> PathBuf {
    let job = common::sample_copy("zaishoku", dir, |t| {
        t.replace("requests.xlsx", "ids.csv")
            .replace("sheet = \"申請一覧\"\n", "")
    });
    let cp932 = std::fs::read(dir.join("requests_cp932.csv")).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&cp932);
    assert!(!bad);
    let mut lines = text.lines();
    let mut csv = format!("{}\n", lines.next().unwrap());
    for (id, line) in ids.iter().zip(lines) {
        csv.push_str(id);
        csv.push_str(&line[line.find(',').unwrap()..]);
        csv.push('\n');
    }
    std::fs::write(dir.join("ids.csv"), csv).unwrap();
    job
}

/// Item 14: the `file` column of `manifest.csv` and every text cell of
/// `ledger --csv` are formula-safe (`file_name = "{request_id}.pdf"` with
/// `=1+1`); `ledger --csv` has its header row.
#[test]
fn manifest_and_ledger_csv_cells_are_formula_safe() {
    let tmp = tempfile::tempdir().unwrap();
    let job = zaishoku_with_ids(tmp.path(), &["-R001", "=1+1"]);
    let out = tmp.path().join("out");
    let r = common::run_job(&job, &out, &["-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest = std::fs::read_to_string(out.join("zaishoku/2025-04-01/manifest.csv")).unwrap();
    let rows: Vec<&str> = manifest.lines().skip(1).collect();
    assert!(rows[0].starts_with("'-R001.pdf,"), "{manifest}");
    assert!(rows[1].starts_with("'=1+1.pdf,"), "{manifest}");
    let csv = tmp.path().join("ledger.csv");
    let r = run_chohyo([
        "ledger".as_ref(),
        job.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--csv".as_ref(),
        csv.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.trim_start_matches('\u{FEFF}').lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("series,fiscal_year,number,"));
    for line in lines {
        for cell in line.split(',') {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell} in {line}");
        }
    }
    assert!(text.contains(",'=1+1.pdf,"), "{text}");
}

/// Item 14: `dispatch-check` reads the project's own `manifest.csv`: a
/// record id `-R001` stored as `'-R001` is the document `-R001`.
#[test]
fn dispatch_check_reads_its_own_formula_safe_manifest_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let job = zaishoku_with_ids(tmp.path(), &["-R001", "R002"]);
    let out = tmp.path().join("out");
    assert_eq!(common::run_job(&job, &out, &["-q"]).code, 0);
    let ids = tmp.path().join("ids.txt");
    std::fs::write(&ids, "R002-?\n").unwrap();
    let base = tmp.path().join("check");
    let r = run_chohyo([
        "dispatch-check".as_ref(),
        out.join("zaishoku/2025-04-01/manifest.csv").as_os_str(),
        "--ids".as_ref(),
        ids.as_os_str(),
        "--out".as_ref(),
        base.as_os_str(),
        "--now".as_ref(),
        "2025-04-01T10:00:00+09:00".as_ref(),
    ]);
    assert_eq!(
        r.code, 1,
        "missing documents, not an unusable manifest: {}",
        r.stderr
    );
    let json = common::read_json(&tmp.path().join("check.json"));
    assert_eq!(json["expected"], 2);
    let missing = json["missing"].as_array().unwrap();
    assert!(
        missing
            .iter()
            .any(|m| m.as_str().unwrap().starts_with("-R001")),
        "{json}"
    );
}

/// Item 18: record ids from the data are printed escaped by `ledger`
/// (U+202E would make the line read backwards).
#[test]
fn ledger_escapes_bidi_and_control_characters_on_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let job = zaishoku_with_ids(tmp.path(), &["R001", "R002"]);
    let out = tmp.path().join("out");
    assert!(common::run_job(&job, &out, &["-q"]).code <= 1);
    // A record id with U+202E cannot pass the check any more (no font has
    // it), but a ledger kept from an older version may hold one.
    let conn = rusqlite::Connection::open(out.join("zaishoku/ledger.sqlite")).unwrap();
    conn.execute(
        "UPDATE issues SET record_id = ?1 WHERE record_id = 'R002'",
        ["R\u{202E}ABC"],
    )
    .unwrap();
    drop(conn);
    let r = run_chohyo([
        "ledger".as_ref(),
        job.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("系列\t年度\t番号\t記録ID"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("R\\u{202E}ABC"), "{}", r.stdout);
    assert!(!r.stdout.contains('\u{202E}'), "{}", r.stdout);
}

/// Issue 17 item 3: a command whose output is closed (`chohyo ledger … |
/// head`) ends quietly, without a panic or a backtrace.
#[test]
fn commands_end_quietly_when_their_output_is_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let job = zaishoku_with_ids(tmp.path(), &["R001", "R002", "R003"]);
    let out = tmp.path().join("out");
    assert_eq!(common::run_job(&job, &out, &["-q"]).code, 0);
    let run_dir = out.join("zaishoku/2025-04-01");
    for args in [
        vec![
            OsString::from("ledger"),
            job.clone().into(),
            "--out".into(),
            out.clone().into(),
        ],
        vec!["verify".into(), run_dir.into()],
    ] {
        // The reader is gone before chohyo writes: every write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = common::chohyo()
            .args(&args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// `dispatch-check` of a three-document run of the 在職証明書 sample with
/// the scans in `ids` (bytes); returns the process result and the JSON.
fn dispatch_scans(dir: &Path, ids: &[u8]) -> (common::Ran, serde_json::Value) {
    let job = zaishoku_with_ids(dir, &["R001", "R002", "R003"]);
    let out = dir.join("out");
    assert_eq!(common::run_job(&job, &out, &["-q"]).code, 0);
    let file = dir.join("scans.txt");
    std::fs::write(&file, ids).unwrap();
    let base = dir.join("check");
    let r = run_chohyo([
        "dispatch-check".as_ref(),
        out.join("zaishoku/2025-04-01/manifest.json").as_os_str(),
        "--ids".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        base.as_os_str(),
        "--now".as_ref(),
        "2025-04-01T10:00:00+09:00".as_ref(),
    ]);
    let json = common::read_json(&dir.join("check.json"));
    (r, json)
}

/// Item 19: one line that is not UTF-8 is reported with its line number
/// and the check goes on (all 3 found, not 1/3); the JSON lists it.
#[test]
fn dispatch_check_goes_on_past_a_line_that_is_not_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    let id = |r: &str| chohyo::mail::docid::doc_id(r).unwrap();
    let scans = [
        id("R001").as_bytes(),
        b"\n\xff\xfeR0\n",
        id("R002").as_bytes(),
        b"\n",
        id("R003").as_bytes(),
        b"\n",
    ]
    .concat();
    let (r, json) = dispatch_scans(tmp.path(), &scans);
    assert_eq!(
        r.code, 1,
        "an unreadable line fails the check: {}",
        r.stderr
    );
    assert_eq!(json["scanned"], 3, "{json}");
    assert_eq!(json["complete"], false);
    let errors = json["read_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{json}");
    assert_eq!(errors[0]["line"], 2);
    assert!(r.stderr.contains("2 行目: UTF-8"), "{}", r.stderr);
    assert!(r.stderr.contains("3/3 通を確認"), "{}", r.stderr);
}

/// Item 18: scanned ids with ESC sequences are echoed escaped.
#[test]
fn dispatch_check_echoes_escape_sequences_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, _) = dispatch_scans(tmp.path(), b"\x1b]0;owned\x07R9\x1b[2J\n");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    assert!(r.stderr.contains("\\u{1B}"), "{}", r.stderr);
}

/// A finished three-document 在職証明書 run; returns its run directory.
fn small_run(dir: &Path) -> PathBuf {
    let job = zaishoku_with_ids(dir, &["R001", "R002", "R003"]);
    let out = dir.join("out");
    assert_eq!(common::run_job(&job, &out, &["-q"]).code, 0);
    out.join("zaishoku/2025-04-01")
}

/// `chohyo verify --json <target>`: the exit code and the finding kinds.
fn verify_kinds(target: &Path) -> (i32, Vec<String>) {
    let r = run_chohyo(["verify".as_ref(), "--json".as_ref(), target.as_os_str()]);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect(&r.stderr);
    let kinds = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    (r.code, kinds)
}

/// Item 15: an edited run `manifest.csv` (zeroed sha256, size 1) and a
/// changed `number` or `record_id` in `manifest.json` are caught.
#[test]
fn verify_catches_edited_run_manifests() {
    let tmp = tempfile::tempdir().unwrap();
    let run = small_run(tmp.path());
    assert_eq!(verify_kinds(&run), (0, vec![]));
    let csv_path = run.join("manifest.csv");
    let json_path = run.join("manifest.json");
    let (csv, json) = (
        std::fs::read_to_string(&csv_path).unwrap(),
        std::fs::read_to_string(&json_path).unwrap(),
    );
    let first = csv.lines().nth(1).unwrap();
    let cells: Vec<&str> = first.split(',').collect();
    let zeroed =
        first
            .replacen(cells[1], &"0".repeat(64), 1)
            .replacen(&format!(",{},", cells[2]), ",1,", 1);
    std::fs::write(&csv_path, csv.replacen(first, &zeroed, 1)).unwrap();
    assert_eq!(verify_kinds(&run), (1, vec!["manifest_mismatch".into()]));
    std::fs::write(&csv_path, &csv).unwrap();
    for (from, to) in [
        ("\"number\": 101", "\"number\": 999"),
        ("\"R001\"", "\"R009\""),
    ] {
        assert!(json.contains(from), "{json}");
        std::fs::write(&json_path, json.replacen(from, to, 1)).unwrap();
        assert_eq!(
            verify_kinds(&run),
            (1, vec!["manifest_mismatch".into()]),
            "{to}"
        );
    }
}

/// Item 15: a package whose `manifest.json` says `"documents_count": 99`
/// for the 20 documents it lists is caught.
#[test]
fn verify_catches_a_wrong_documents_count_in_a_package() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let run = saiyo_run(tmp.path(), |t| t);
    let zip_path = run.join("packages/all-001.zip");
    assert_eq!(verify_kinds(&zip_path), (0, vec![]));
    let mut zin = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    // Same file name in a folder of its own: a renamed zip is another finding.
    std::fs::create_dir_all(tmp.path().join("edited")).unwrap();
    let edited = tmp.path().join("edited/all-001.zip");
    let mut zout = zip::ZipWriter::new(std::fs::File::create(&edited).unwrap());
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        let name = f.name().unwrap().to_string();
        if name == "manifest.json" {
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.contains("\"documents_count\":20"), "{text}");
            bytes = text
                .replace("\"documents_count\":20", "\"documents_count\":99")
                .into();
        }
        zout.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zout.write_all(&bytes).unwrap();
    }
    zout.finish().unwrap();
    assert_eq!(verify_kinds(&edited), (1, vec!["manifest_count".into()]));
}

/// Item 16 (verify): a FIFO listed in a manifest in place of a document is
/// reported, not opened for reading (which would wait for a writer forever).
#[cfg(unix)]
#[test]
fn verify_does_not_hang_on_a_fifo_in_place_of_a_document() {
    let tmp = tempfile::tempdir().unwrap();
    let run = small_run(tmp.path());
    let doc = run.join("docs/R001.pdf");
    std::fs::remove_file(&doc).unwrap();
    let c = std::ffi::CString::new(doc.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let r = run_chohyo(["verify".as_ref(), run.as_os_str()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("通常のファイルではありません"),
        "{}",
        r.stdout
    );
}
