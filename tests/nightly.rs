//! Nightly operation: idempotent re-runs, resume after `kill -9`, locks,
//! changed input, thread-count and shard independence, the ledger's numbers,
//! and logs without personal data — all through the real binary.

mod common;

use common::{assert_same, root, run_chohyo, run_job, snapshot, Ran};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

fn job() -> PathBuf {
    common::sample_job("zaishoku")
}

/// `chohyo run <zaishoku job> --out <out> -q <extra…>`.
fn run(out: &Path, extra: &[&str]) -> Ran {
    let mut args = vec!["-q"];
    args.extend_from_slice(extra);
    run_job(&job(), out, &args)
}

/// `chohyo merge <zaishoku job> --shards <n> --out <out> -q`.
fn merge(out: &Path, shards: &str) -> Ran {
    run_chohyo([
        "merge".as_ref(),
        job().as_os_str(),
        "--shards".as_ref(),
        shards.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
    ])
}

/// A UTF-8 CSV with `copies` × the sample's rows (ids made unique), so a run
/// takes long enough to be interrupted.
fn big_input(dir: &Path, copies: usize) -> PathBuf {
    let bytes = std::fs::read(root().join("samples/zaishoku/requests_cp932.csv")).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows: Vec<&str> = lines.collect();
    let mut out = header + "\n";
    for k in 0..copies {
        for r in &rows {
            // 申請番号 is the first column: R2025-0001 → R2025-0001-007.
            let (id, rest) = r.split_once(',').unwrap();
            out.push_str(&format!("{id}-{k:03},{rest}\n"));
        }
    }
    let p = dir.join("big.csv");
    std::fs::write(&p, out).unwrap();
    p
}

/// Document numbers in the ledger for the fiscal year, sorted.
fn ledger_numbers(ledger: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(ledger).unwrap();
    let mut stmt = conn
        .prepare("SELECT number FROM issues WHERE fiscal_year = 2025 ORDER BY number")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn assert_consecutive(numbers: &[i64], first: i64, count: usize) {
    let want: Vec<i64> = (first..first + count as i64).collect();
    assert_eq!(
        numbers,
        want.as_slice(),
        "ledger numbers must be consecutive without gaps or duplicates"
    );
}

#[test]
fn second_run_renders_nothing_and_ledger_has_no_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let Ran { code, .. } = run(out, &[]);
    assert_eq!(code, 1);
    let dir = tmp.path().join("zaishoku/2025-04-01");
    let before = snapshot(&dir);
    let Ran { code, stderr, .. } = run_job(&job(), out, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("完了済み"), "{stderr}");
    assert_same(&before, &snapshot(&dir), "re-run");
    assert_consecutive(
        &ledger_numbers(&tmp.path().join("zaishoku/ledger.sqlite")),
        101,
        47,
    );
}

#[test]
fn threads_1_and_8_give_identical_run_directories() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(a.path(), &["--threads", "1"]);
    run(b.path(), &["--threads", "8"]);
    let sa = snapshot(&a.path().join("zaishoku/2025-04-01"));
    assert_eq!(sa.keys().filter(|k| k.starts_with("docs/")).count(), 47);
    assert_same(
        &sa,
        &snapshot(&b.path().join("zaishoku/2025-04-01")),
        "threads",
    );
}

#[test]
fn four_shards_merged_equal_one_run() {
    let (single, sharded) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(single.path(), &[]);
    let out = sharded.path();
    let mut rendered = 0;
    for k in 1..=4 {
        let spec = format!("{k}/4");
        let Ran { code, stderr, .. } = run(out, &["--shard", &spec]);
        assert!(code == 0 || code == 1, "{stderr}");
        let m = common::read_json(
            &sharded
                .path()
                .join(format!("zaishoku/2025-04-01.shard-{k}-of-4/manifest.json")),
        );
        rendered += m["documents"].as_array().unwrap().len();
    }
    assert_eq!(rendered, 47, "the shards partition the batch");
    let Ran { code, stderr, .. } = merge(out, "4");
    assert_eq!(code, 1, "{stderr}");
    assert_same(
        &snapshot(&single.path().join("zaishoku/2025-04-01")),
        &snapshot(&sharded.path().join("zaishoku/2025-04-01")),
        "merge",
    );
    assert_consecutive(
        &ledger_numbers(&sharded.path().join("zaishoku/ledger.sqlite")),
        101,
        47,
    );
    // Merging needs every shard.
    std::fs::remove_file(
        sharded
            .path()
            .join("zaishoku/2025-04-01.shard-2-of-4/summary.json"),
    )
    .unwrap();
    let Ran { code, .. } = merge(out, "4");
    assert_eq!(code, 2);
}

#[test]
fn kill_9_at_several_points_then_resume_gives_identical_output() {
    let tmp = tempfile::tempdir().unwrap();
    let input = big_input(tmp.path(), 12);
    let input = input.to_str().unwrap();
    let reference = tmp.path().join("ref");
    let Ran { code, stderr, .. } = run(&reference, &["--input", input]);
    assert_eq!(code, 1, "{stderr}");
    let want = snapshot(&reference.join("zaishoku/2025-04-01"));
    let n_docs = want.keys().filter(|k| k.starts_with("docs/")).count();
    assert_eq!(n_docs, 47 * 12);
    let mut interrupted = 0;
    for (trial, delay_ms) in [15u64, 40, 80, 150, 300, 600].into_iter().enumerate() {
        let out = tmp.path().join(format!("t{trial}"));
        let mut child = common::chohyo()
            .arg("run")
            .arg(job())
            .arg("--out")
            .arg(&out)
            .args(["-q", "--input", input, "--threads", "2"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let was_running = child.try_wait().unwrap().is_none();
        if was_running {
            interrupted += 1;
        }
        // SIGKILL: no cleanup handlers run.
        child.kill().unwrap();
        child.wait().unwrap();
        let Ran { code, stderr, .. } = run(&out, &["--input", input]);
        // A run that finished before the kill leaves nothing to do (exit 0).
        let want_code = if was_running { 1 } else { 0 };
        assert!(
            code == want_code || (code == 0 && stderr.is_empty()),
            "trial {trial}: exit {code}: {stderr}"
        );
        let got = snapshot(&out.join("zaishoku/2025-04-01"));
        assert_same(&want, &got, &format!("kill after {delay_ms} ms"));
        // No stray temporary files.
        for f in std::fs::read_dir(out.join("zaishoku/2025-04-01/docs")).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            assert!(name.ends_with(".pdf") && !name.starts_with('.'), "{name}");
        }
        assert_consecutive(
            &ledger_numbers(&out.join("zaishoku/ledger.sqlite")),
            101,
            n_docs,
        );
    }
    assert!(
        interrupted >= 2,
        "the test must really interrupt runs ({interrupted})"
    );
}

#[test]
fn changed_input_is_refused_unless_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let input = big_input(tmp.path(), 1);
    let input_s = input.to_str().unwrap();
    run(out, &["--input", input_s]);
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("R9999-0001,見本 花子,ミホン ハナコ,女,1990/4/1,153-0051,東京都目黒区上目黒1丁目1-1,総務部人事課,主事,常勤職員,2015/4/1,テスト\n");
    std::fs::write(&input, text).unwrap();
    let Ran { code, stderr, .. } = run(out, &["--input", input_s]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--restart"), "{stderr}");
    let Ran { code, stderr, .. } = run(out, &["--input", input_s, "--restart"]);
    assert_eq!(code, 1, "{stderr}");
    let m = common::read_json(&tmp.path().join("zaishoku/2025-04-01/manifest.json"));
    assert_eq!(m["documents"].as_array().unwrap().len(), 48);
    // The 47 keep their numbers; the new record gets the next one.
    assert_consecutive(
        &ledger_numbers(&tmp.path().join("zaishoku/ledger.sqlite")),
        101,
        48,
    );
}

#[test]
fn a_held_lock_exits_4() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("zaishoku/2025-04-01");
    std::fs::create_dir_all(&dir).unwrap();
    let _held = chohyo::run::runstate::RunLock::acquire(&dir).unwrap();
    let Ran { code, stderr, .. } = run(tmp.path(), &[]);
    assert_eq!(code, 4, "{stderr}");
}

#[test]
fn logs_and_stderr_hold_no_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let stderr1 = run_job(&job(), tmp.path(), &["-v"]).stderr;
    let stderr2 = run_job(&job(), tmp.path(), &["-v"]).stderr;
    let log = std::fs::read_to_string(tmp.path().join("zaishoku/2025-04-01/run.log")).unwrap();
    let report =
        std::fs::read_to_string(tmp.path().join("zaishoku/2025-04-01/report.html")).unwrap();
    let summary =
        std::fs::read_to_string(tmp.path().join("zaishoku/2025-04-01/summary.json")).unwrap();
    // Every personal value of the sample, read independently of chohyo.
    let bytes = std::fs::read(root().join("samples/zaishoku/requests_cp932.csv")).unwrap();
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&bytes);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let personal = ["氏名", "フリガナ", "生年月日", "郵便番号", "住所"];
    let mut checked = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        for (h, v) in headers.iter().zip(rec.iter()) {
            if !personal.contains(&h) || v.trim().is_empty() {
                continue;
            }
            for (name, hay) in [
                ("stderr", &stderr1),
                ("stderr", &stderr2),
                ("run.log", &log),
                ("report.html", &report),
                ("summary.json", &summary),
            ] {
                assert!(!hay.contains(v), "{h} value found in {name}");
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "{checked}");
}

#[cfg(unix)]
#[test]
fn outputs_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    run(tmp.path(), &[]);
    let dir = tmp.path().join("zaishoku/2025-04-01");
    for p in [dir.clone(), dir.join("docs")] {
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700,
            "{p:?}"
        );
    }
    for f in [
        "rejects.csv",
        "manifest.json",
        "summary.json",
        "docs/R2025-0001.pdf",
    ] {
        assert_eq!(
            std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777,
            0o600,
            "{f}"
        );
    }
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    run(tmp.path(), &[]);
    let report = tmp.path().join("zaishoku/2025-04-01/report.html");
    let dom = common::chromium(&report, &["--dump-dom"]);
    assert!(dom.contains("id=\"documents\">47<"), "{dom}");
    assert!(dom.contains("id=\"rows_read\">50<"));
    assert!(dom.contains("id=\"rejects\">3<"));
}

/// Layout warnings are journaled with their document: a batch that resumes
/// and reuses every document reports the same warnings as one that rendered
/// them (`summary.json` counts them).
#[test]
fn warnings_of_reused_documents_are_reported_after_a_resume() {
    let tmp = tempfile::tempdir().unwrap();
    // Every name gets a variation selector no bundled font has: printed as
    // its base character, with a warning.
    let plain = big_input(tmp.path(), 1);
    let text = std::fs::read_to_string(&plain).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
        } else {
            let cells: Vec<&str> = line.split(',').collect();
            let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
            if let Some(first) = cells[1].chars().next() {
                cells[1] = format!("{first}\u{FE00}{}", &cells[1][first.len_utf8()..]);
            }
            out.push_str(&cells.join(","));
        }
        out.push('\n');
    }
    let input = tmp.path().join("vs.csv");
    std::fs::write(&input, out).unwrap();
    let input = input.to_str().unwrap();
    let dir = tmp.path().join("o");
    let Ran { code, stderr, .. } = run(&dir, &["--input", input]);
    assert_eq!(code, 1, "{stderr}");
    let run_dir = dir.join("zaishoku/2025-04-01");
    let summary = |d: &Path| common::read_json(&d.join("summary.json"));
    let first = summary(&run_dir);
    let warned = first["counts"]["warnings"].as_u64().unwrap();
    assert_eq!(warned, 47, "one warning per document: {first}");
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    assert_eq!(journal.matches("\"warnings\"").count(), 47);
    // Unfinish the batch: the next run reuses all 47 documents.
    std::fs::remove_file(run_dir.join("summary.json")).unwrap();
    let Ran { code, stderr, .. } = run(&dir, &["--input", input]);
    assert_eq!(code, 1, "{stderr}");
    let again = summary(&run_dir);
    assert_eq!(again["timing"]["documents_reused"], 47);
    assert_eq!(again["counts"], first["counts"]);
}
