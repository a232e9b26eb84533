//! Nothing lost, nothing issued twice (issue 15): a control character in a
//! cell is a reject of its row, `--restart` keeps the finished batch until
//! the new one can work (and then moves it aside), `merge` refuses to
//! overwrite a batch made from another input, and a lost ledger never gives
//! out the same numbers again — all through the real binary.

mod common;

use common::{read_json, read_rejects, run_chohyo, run_job, Ran};
use std::path::{Path, PathBuf};

fn job() -> PathBuf {
    common::sample_job("zaishoku")
}

/// The sample's rows as a UTF-8 CSV (header first), the way an operator
/// exports them.
fn sample_lines() -> Vec<String> {
    let bytes = std::fs::read(common::root().join("samples/zaishoku/requests_cp932.csv")).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    text.lines().map(str::to_string).collect()
}

fn write_csv(path: &Path, lines: &[String]) -> PathBuf {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
    path.to_path_buf()
}

/// `chohyo run <zaishoku job> --out <out> -q <extra…>`.
fn run(out: &Path, extra: &[&str]) -> Ran {
    let mut args = vec!["-q"];
    args.extend_from_slice(extra);
    run_job(&job(), out, &args)
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn files_and_folders_planted_as_symlinks_are_never_written_through() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let tmp = tempfile::tempdir().unwrap();
    let input = write_csv(&tmp.path().join("in.csv"), &sample_lines());
    let input_s = input.to_str().unwrap();
    let victim = tmp.path().join("victim.txt");
    for planted in ["run.lock", "run.log", "journal.jsonl"] {
        std::fs::write(&victim, "keep me\n").unwrap();
        let out = tmp.path().join(format!("out-{planted}"));
        let run_dir = out.join("zaishoku/2025-04-01");
        std::fs::create_dir_all(&run_dir).unwrap();
        symlink(&victim, run_dir.join(planted)).unwrap();
        let ran = run(&out, &["--input", input_s]);
        assert_eq!(ran.code, 3, "{planted}: {}", ran.stderr);
        assert!(ran.stderr.contains("symlink"), "{planted}: {}", ran.stderr);
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "keep me\n",
            "{planted}"
        );
    }

    // A job folder that is a link elsewhere: nothing is written there.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = tmp.path().join("out-linked");
    std::fs::create_dir(&out).unwrap();
    symlink(&elsewhere, out.join("zaishoku")).unwrap();
    let ran = run(&out, &["--input", input_s]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(names(&elsewhere).is_empty(), "{:?}", names(&elsewhere));

    // A run directory left world-writable is made owner-only again.
    let out = tmp.path().join("out-open");
    let run_dir = out.join("zaishoku/2025-04-01");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let ran = run(&out, &["--input", input_s]);
    assert!(ran.code <= 1, "{}", ran.stderr);
    let mode = std::fs::metadata(&run_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn names_made_from_data_or_options_are_safe_on_a_windows_share() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = sample_lines();
    // A record id that is only dots (the file name's extension survives;
    // invisible characters in names are the unit tests' of
    // files::sanitize_file_name: the template prints the id, so such a row
    // is already a glyph reject here).
    let (_, rest) = lines[1].split_once(',').unwrap();
    lines[1] = format!("..,{rest}");
    let input = write_csv(&tmp.path().join("in.csv"), &lines);
    let out = tmp.path().join("out");
    let ran = run(&out, &["--input", input.to_str().unwrap()]);
    assert!(ran.code <= 1, "{}", ran.stderr);
    let files: Vec<String> = common::docs(&out.join("zaishoku/2025-04-01"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(files.contains(&"__.pdf".to_string()), "{files:?}");
    assert!(files.iter().all(|f| f.ends_with(".pdf")), "{files:?}");

    for reserved in ["con", "NUL", "com1", "Lpt9"] {
        let ran = run(
            &out,
            &["--input", input.to_str().unwrap(), "--batch-id", reserved],
        );
        assert_eq!(ran.code, 2, "{reserved}: {}", ran.stderr);
        assert!(ran.stderr.contains("予約名"), "{}", ran.stderr);
        assert!(!out.join("zaishoku").join(reserved).exists());
    }
}

/// The record ids of a finished run directory's documents.
fn documents(run_dir: &Path) -> Vec<String> {
    read_json(&run_dir.join("manifest.json"))["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["record_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn control_characters_in_a_cell_reject_that_row_and_the_batch_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = sample_lines();
    let clean = write_csv(&tmp.path().join("clean.csv"), &lines);
    let base = run(
        &tmp.path().join("base"),
        &["--input", clean.to_str().unwrap()],
    );
    assert!(base.code <= 1, "{}", base.stderr);
    let good = documents(&tmp.path().join("base/zaishoku/2025-04-01"));

    // Six rows that rendered, each with one character that cannot be
    // printed in its name.
    let bad_chars = ['\u{0}', '\u{7}', '\u{8}', '\u{B}', '\u{1B}', '\u{FFFE}'];
    let mut spoiled = Vec::new();
    for (ch, id) in bad_chars.iter().zip(&good) {
        let line = lines
            .iter_mut()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap();
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        cells[1] = format!("山田{ch}太郎");
        *line = cells.join(",");
        spoiled.push(id.clone());
    }
    let input = write_csv(&tmp.path().join("spoiled.csv"), &lines);
    let out = tmp.path().join("out");
    let ran = run(&out, &["--input", input.to_str().unwrap()]);
    assert_eq!(
        ran.code, 1,
        "the batch finishes with rejects: {}",
        ran.stderr
    );
    let run_dir = out.join("zaishoku/2025-04-01");
    let now = documents(&run_dir);
    assert_eq!(now.len(), good.len() - spoiled.len());
    assert!(spoiled.iter().all(|id| !now.contains(id)));

    // Each spoiled row is a reject naming the file, row and column, with
    // the character's code point; `check` finds the same ones.
    let rejects = read_rejects(&run_dir.join("rejects.csv"));
    let of_char: Vec<&csv::StringRecord> = rejects.iter().filter(|r| &r[5] == "E_CHAR").collect();
    assert_eq!(of_char.len(), spoiled.len(), "{rejects:?}");
    for (r, ch) in of_char.iter().zip(bad_chars) {
        assert_eq!(&r[0], "spoiled.csv");
        assert_eq!(&r[3], "氏名");
        assert!(
            r[6].contains(&format!("U+{:04X}", ch as u32)),
            "{:?}",
            &r[6]
        );
        assert!(!r[4].chars().any(|c| c.is_control()), "value echoed raw");
    }
    let rejects_csv = tmp.path().join("check.csv");
    let checked = run_chohyo([
        "check".as_ref(),
        job().as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--rejects".as_ref(),
        rejects_csv.as_os_str(),
    ]);
    assert_eq!(checked.code, 1, "{}", checked.stderr);
    let found = read_rejects(&rejects_csv);
    assert_eq!(
        found.iter().filter(|r| &r[5] == "E_CHAR").count(),
        spoiled.len()
    );
}

/// A finished batch of the sample (47 documents) in `out`.
fn finished_batch(out: &Path, input: &Path) -> Vec<String> {
    let ran = run(out, &["--input", input.to_str().unwrap()]);
    assert!(ran.code <= 1, "{}", ran.stderr);
    documents(&out.join("zaishoku/2025-04-01"))
}

#[test]
fn restart_keeps_the_finished_batch_when_the_new_run_cannot_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lines = sample_lines();
    let input = write_csv(&tmp.path().join("in.csv"), &lines);
    let before = finished_batch(&out, &input);
    let run_dir = out.join("zaishoku/2025-04-01");
    let snapshot = common::snapshot(&run_dir);

    // A missing input file.
    let missing = tmp.path().join("missing.csv");
    let ran = run(&out, &["--input", missing.to_str().unwrap(), "--restart"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    // A missing column.
    let mut renamed = lines.clone();
    renamed[0] = renamed[0].replace("氏名", "名前");
    let renamed = write_csv(&tmp.path().join("renamed.csv"), &renamed);
    let ran = run(&out, &["--input", renamed.to_str().unwrap(), "--restart"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("氏名"), "{}", ran.stderr);
    // A new issue date in another fiscal year, same batch id: its numbers
    // were given in fiscal year 2025.
    let ran = run(
        &out,
        &[
            "--input",
            input.to_str().unwrap(),
            "--issue-date",
            "2026-04-01",
            "--batch-id",
            "2025-04-01",
            "--restart",
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);

    // Nothing of the finished batch was touched, nothing moved aside.
    let after = common::snapshot(&run_dir);
    let without_log = |s: &std::collections::BTreeMap<String, Vec<u8>>| {
        s.iter()
            .filter(|(k, _)| !k.ends_with("run.log"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    common::assert_same(&without_log(&snapshot), &without_log(&after), "kept batch");
    assert_eq!(documents(&run_dir), before);
    let folders: Vec<String> = names(&out.join("zaishoku"))
        .into_iter()
        .filter(|n| !n.starts_with("ledger.sqlite"))
        .collect();
    assert_eq!(folders, ["2025-04-01"]);
}

#[test]
fn restart_moves_the_previous_run_aside_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut lines = sample_lines();
    let input = write_csv(&tmp.path().join("in.csv"), &lines);
    let before = finished_batch(&out, &input);
    lines.push("R9999-0001,見本　花子,ミホン　ハナコ,女,1990/4/1,153-0051,東京都目黒区上目黒1丁目1-1,総務部人事課,主事,常勤職員,2015/4/1,テスト".into());
    write_csv(&input, &lines);

    // Without --restart: refused, and the message says what --restart does.
    let ran = run(&out, &["--input", input.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("--restart"), "{}", ran.stderr);
    assert!(ran.stderr.contains("replaced-"), "{}", ran.stderr);

    let ran = run_job(
        &job(),
        &out,
        &["--input", input.to_str().unwrap(), "--restart"],
    );
    assert!(ran.code <= 1, "{}", ran.stderr);
    let job_dir = out.join("zaishoku");
    let aside: Vec<String> = names(&job_dir)
        .into_iter()
        .filter(|n| n.starts_with("2025-04-01.replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "{:?}", names(&job_dir));
    assert!(ran.stderr.contains(&aside[0]), "{}", ran.stderr);
    // The previous batch is whole where it was moved; the new one has 48.
    let old = job_dir.join(&aside[0]);
    assert_eq!(documents(&old), before);
    assert_eq!(common::docs(&old).len(), before.len());
    assert_eq!(
        documents(&job_dir.join("2025-04-01")).len(),
        before.len() + 1
    );
    let log = std::fs::read_to_string(job_dir.join("2025-04-01/run.log")).unwrap();
    assert!(log.contains(&aside[0]), "{log}");
}

#[test]
fn merge_refuses_to_overwrite_a_batch_from_another_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lines = sample_lines();
    let input = write_csv(&tmp.path().join("a.csv"), &lines);
    let before = finished_batch(&out, &input);
    let run_dir = out.join("zaishoku/2025-04-01");

    // Two shards of another input (the same rows with new ids).
    let other: Vec<String> = std::iter::once(lines[0].clone())
        .chain(lines[1..].iter().map(|l| l.replacen("R2025-", "R2026-", 1)))
        .collect();
    let other = write_csv(&tmp.path().join("b.csv"), &other);
    for k in ["1/2", "2/2"] {
        let ran = run(&out, &["--input", other.to_str().unwrap(), "--shard", k]);
        assert!(ran.code <= 1, "{}", ran.stderr);
    }
    let ran = run_chohyo([
        "merge".as_ref(),
        job().as_os_str(),
        "--shards".as_ref(),
        "2".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
    ]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert_eq!(documents(&run_dir), before);
    assert_eq!(common::docs(&run_dir).len(), before.len());
}

#[test]
fn a_lost_ledger_never_gives_the_same_numbers_again() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let input = write_csv(&tmp.path().join("in.csv"), &sample_lines());
    let input_s = input.to_str().unwrap();
    let first = finished_batch(&out, &input);
    let ledger = out.join("zaishoku/ledger.sqlite");
    std::fs::remove_file(&ledger).unwrap();
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(out.join(format!("zaishoku/ledger.sqlite{side}")));
    }

    let ran = run(&out, &["--input", input_s, "--batch-id", "B"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let last = 100 + first.len();
    assert!(ran.stderr.contains(&last.to_string()), "{}", ran.stderr);
    assert!(ran.stderr.contains("number_start"), "{}", ran.stderr);
    assert!(
        !out.join("zaishoku/B/docs").exists() || common::docs(&out.join("zaishoku/B")).is_empty()
    );

    // The documented recovery: continue the series above what was issued.
    let dir = tempfile::tempdir().unwrap();
    let job = common::sample_copy("zaishoku", dir.path(), |t| {
        t.replace(
            "number_start = 101",
            &format!("number_start = {}", last + 1),
        )
    });
    let ran = run_job(&job, &out, &["-q", "--input", input_s, "--batch-id", "B"]);
    assert!(ran.code <= 1, "{}", ran.stderr);
    let numbers: Vec<u64> = read_json(&out.join("zaishoku/B/manifest.json"))["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers.first().copied(), Some(last as u64 + 1));
}

#[test]
fn a_filter_refusing_one_records_value_rejects_that_record_only() {
    let tmp = tempfile::tempdir().unwrap();
    // The form prints the purpose as a Japanese date: a row whose purpose is
    // no date is that row's problem, not the template's.
    let template = std::fs::read_to_string(common::root().join("templates/zaishoku.xml"))
        .unwrap()
        .replace("{{ purpose }}", "{{ purpose | wareki }}");
    let template_path = tmp.path().join("form.xml");
    std::fs::write(&template_path, template).unwrap();
    let job = common::sample_copy("zaishoku", tmp.path(), |t| {
        t.replace(
            &format!(
                "{}/zaishoku.xml",
                common::root().join("templates").display()
            ),
            template_path.to_str().unwrap(),
        )
    });
    let mut lines = sample_lines();
    for line in lines.iter_mut().skip(1) {
        let (rest, _) = line.rsplit_once(',').unwrap();
        *line = format!("{rest},2024/4/1");
    }
    let (rest, _) = lines[3].rsplit_once(',').unwrap();
    lines[3] = format!("{rest},保育所入所申請のため");
    let bad_id = lines[3].split(',').next().unwrap().to_string();
    let input = write_csv(&tmp.path().join("in.csv"), &lines);
    let out = tmp.path().join("out");
    let ran = run_job(&job, &out, &["-q", "--input", input.to_str().unwrap()]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let run_dir = out.join("zaishoku/2025-04-01");
    assert!(!documents(&run_dir).contains(&bad_id));
    let rejects = read_rejects(&run_dir.join("rejects.csv"));
    let refused: Vec<_> = rejects
        .iter()
        .filter(|r| &r[5] == "E_TEMPLATE_VALUE")
        .collect();
    assert_eq!(refused.len(), 1, "{rejects:?}");
    assert_eq!(&refused[0][2], "4");
    assert!(refused[0][6].contains("wareki"), "{:?}", &refused[0][6]);
}

#[test]
fn a_replaced_seal_or_font_is_a_changed_input_not_a_mixed_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let assets = tmp.path().join("assets");
    std::fs::create_dir(&assets).unwrap();
    for e in std::fs::read_dir(common::root().join("templates/assets")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, assets.join(p.file_name().unwrap())).unwrap();
    }
    let job = common::sample_copy("zaishoku", tmp.path(), |t| {
        t.replace(
            &common::root()
                .join("templates/assets")
                .display()
                .to_string(),
            assets.to_str().unwrap(),
        )
    });
    let input = write_csv(&tmp.path().join("in.csv"), &sample_lines());
    let out = tmp.path().join("out");
    let args = ["-q", "--input", input.to_str().unwrap()];
    let first = run_job(&job, &out, &args);
    assert!(first.code <= 1, "{}", first.stderr);

    // Another seal: the earlier documents were made with the old one, so
    // the batch may not simply go on (bytes after IEND change the file, not
    // the image's validity).
    let seal = assets.join("seal.png");
    let mut bytes = std::fs::read(&seal).unwrap();
    bytes.extend_from_slice(b"another seal");
    std::fs::write(&seal, &bytes).unwrap();
    let again = run_job(&job, &out, &args);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("--restart"), "{}", again.stderr);
}

#[test]
fn a_number_given_to_a_record_rejected_at_layout_is_recorded_as_void() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = sample_lines();
    // A purpose far too long for its box: found only at layout, after the
    // record got its number.
    let (rest, _) = lines[2].rsplit_once(',').unwrap();
    lines[2] = format!("{rest},{}", "長い提出先".repeat(400));
    let overflowing = lines[2].split(',').next().unwrap().to_string();
    let input = write_csv(&tmp.path().join("in.csv"), &lines);
    let out = tmp.path().join("out");
    let ran = run(&out, &["--input", input.to_str().unwrap()]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);

    let run_dir = out.join("zaishoku/2025-04-01");
    let summary = read_json(&run_dir.join("summary.json"));
    let voids = summary["voids"]
        .as_array()
        .expect("summary lists the voids");
    assert_eq!(voids.len(), 1, "{voids:?}");
    assert_eq!(voids[0]["record_id"], overflowing.as_str());
    assert_eq!(voids[0]["reason"], "E_LAYOUT_OVERFLOW");
    let void_number = voids[0]["number"].as_u64().unwrap();

    // Documents and voids together cover the series without a gap.
    let mut numbers: Vec<u64> = read_json(&run_dir.join("manifest.json"))["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].as_u64().unwrap())
        .collect();
    numbers.push(void_number);
    numbers.sort();
    let first = numbers[0];
    assert_eq!(
        numbers,
        (first..first + numbers.len() as u64).collect::<Vec<_>>()
    );

    // The ledger says why the number has no document; the report shows it.
    let conn = rusqlite::Connection::open(out.join("zaishoku/ledger.sqlite")).unwrap();
    let (void, issued): (String, String) = conn
        .query_row(
            "SELECT void, issued_at FROM issues WHERE number = ?1",
            [void_number as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((void.as_str(), issued.as_str()), ("E_LAYOUT_OVERFLOW", ""));
    let report = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(report.contains("欠番"), "report lists the voids");
    assert!(report.contains(&format!("<td class=\"n\">{void_number}</td>")));
    // `chohyo ledger` lists it as a 欠番 with its reason.
    let listed = run_chohyo([
        "ledger".as_ref(),
        job().as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--number".as_ref(),
        void_number.to_string().as_ref(),
    ]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.stdout.contains("欠番 (E_LAYOUT_OVERFLOW)"),
        "{}",
        listed.stdout
    );
}

#[test]
fn the_row_limit_is_found_before_any_number_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = sample_lines();
    // The sample's good rows first, then rows up to one past the limit of
    // 1,000,000 (short ones, rejected by the check, which does not matter:
    // the limit counts rows read).
    let path = tmp.path().join("huge.csv");
    {
        use std::io::Write as _;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for l in &lines {
            writeln!(w, "{l}").unwrap();
        }
        for i in lines.len()..=1_000_001 {
            writeln!(w, "X{i},,,,,,,,,,,").unwrap();
        }
    }
    let out = tmp.path().join("out");
    let ran = run(&out, &["--input", path.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("1000000"), "{}", ran.stderr);
    // No number was given and nothing was rendered.
    let ledger = out.join("zaishoku/ledger.sqlite");
    if ledger.exists() {
        let conn = rusqlite::Connection::open(&ledger).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM issues", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
    let docs = out.join("zaishoku/2025-04-01/docs");
    assert!(!docs.exists() || std::fs::read_dir(&docs).unwrap().next().is_none());
}

#[test]
fn sigterm_stops_after_the_documents_in_hand_and_the_run_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = sample_lines();
    // The sample's rows many times over (ids made unique), so the run is
    // still rendering when the signal comes.
    let mut big = vec![lines[0].clone()];
    for k in 0..100 {
        for l in &lines[1..] {
            let (id, rest) = l.split_once(',').unwrap();
            big.push(format!("{id}-{k:03},{rest}"));
        }
    }
    let input = write_csv(&tmp.path().join("big.csv"), &big);
    let out = tmp.path().join("out");
    let run_dir = out.join("zaishoku/2025-04-01");
    let docs = run_dir.join("docs");
    let mut child = common::chohyo()
        .arg("run")
        .arg(job())
        .arg("--out")
        .arg(&out)
        .args(["-q", "--threads", "1", "--input", input.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first document, then ask the run to stop.
    let pdfs = |d: &Path| -> usize {
        std::fs::read_dir(d)
            .map(|r| {
                r.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".pdf"))
                })
                .count()
            })
            .unwrap_or(0)
    };
    while pdfs(&docs) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended too early"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("再開"), "{stderr}");

    // Stopped, not finished: every document on disk is whole and journaled,
    // nothing half-written or hidden is left.
    assert!(!run_dir.join("summary.json").exists());
    let names: Vec<String> = std::fs::read_dir(&docs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".pdf") && !n.starts_with('.')),
        "{names:?}"
    );
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), names.len());
    assert!(names.len() < 100 * 47, "the run was stopped before the end");

    // Running again resumes and finishes the batch.
    let ran = run(&out, &["--input", input.to_str().unwrap()]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(documents(&run_dir).len(), 100 * 47);
}

#[test]
fn a_request_already_issued_is_not_issued_again_by_the_next_nightly_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = sample_lines();
    let input = write_csv(&tmp.path().join("in.csv"), &lines);
    let input_s = input.to_str().unwrap();
    let out = tmp.path().join("out");
    let first = finished_batch(&out, &input);

    // The next night: the same spreadsheet, grown by one request, with one
    // request corrected (its purpose changed), and a new issue date.
    let (rest, _) = lines[1].rsplit_once(',').unwrap();
    lines[1] = format!("{rest},住宅ローン申請のため");
    let corrected = lines[1].split(',').next().unwrap().to_string();
    lines.push("R9999-0001,見本　花子,ミホン　ハナコ,女,1990/4/1,153-0051,東京都目黒区上目黒1丁目1-1,総務部人事課,主事,常勤職員,2015/4/1,テスト".into());
    write_csv(&input, &lines);
    let night = |batch: &str, extra: &[&str]| {
        let mut args = vec![
            "--input",
            input_s,
            "--issue-date",
            batch,
            "--batch-id",
            batch,
        ];
        args.extend_from_slice(extra);
        run(&out, &args)
    };
    let ran = night("2025-04-02", &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let run_dir = out.join("zaishoku/2025-04-02");
    let mut issued = documents(&run_dir);
    issued.sort();
    assert_eq!(issued, vec![corrected.clone(), "R9999-0001".to_string()]);
    let summary = read_json(&run_dir.join("summary.json"));
    let skipped = summary["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), first.len() - 1);
    assert!(skipped.iter().all(|s| s["issued"]["batch"] == "2025-04-01"));
    let report = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(
        report.contains("既発行"),
        "the report says how many and why"
    );

    // Asked for, they are issued again, with new numbers.
    let ran = night("2025-04-03", &["--reissue"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let again = documents(&out.join("zaishoku/2025-04-03"));
    assert_eq!(again.len(), first.len() + 1);
    let summary = read_json(&out.join("zaishoku/2025-04-03/summary.json"));
    assert!(summary.get("skipped").is_none());
}
