//! Nothing lost, nothing issued twice (issue 15): a control character in a
//! cell is a reject of its row, `--restart` keeps the finished batch until
//! the new one can work (and then moves it aside), `merge` refuses to
//! overwrite a batch made from another input, and a lost ledger never gives
//! out the same numbers again — all through the real binary.

mod common;

use common::{run_job, Ran};
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
