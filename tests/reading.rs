//! Paths that are not regular files, or not there: a device such as
//! `/dev/zero` or a FIFO given as the font, template, input or job file
//! ends the run with a clear error (never a hang or an unbounded read), and
//! a file that cannot be read is named by its full path, in Japanese, with
//! the setting to check (issue 15 item 16, issue 17 item 4).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `chohyo` with `args` in `cwd`. A run that does not end within a
/// generous bound is killed and the test fails saying so, instead of the
/// test hanging: the bound is a guard, never what is asserted.
fn run_bounded(cwd: &Path, args: &[&str]) -> Ran {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chohyo");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("wait for chohyo").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chohyo {args:?} did not end: it blocks on a FIFO or reads without end");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().expect("chohyo's output");
    Ran {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(o.stderr).expect("UTF-8 stderr"),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A FIFO at `path` (nobody ever writes to it).
fn fifo(path: &Path) -> PathBuf {
    let st = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils)");
    assert!(st.success(), "mkfifo {}", path.display());
    path.to_path_buf()
}

/// Asserts a run refused `path` as not a regular file: exit 2, the path
/// named, the kind of file said in Japanese, nothing planned.
fn assert_refused(ran: &Ran, path: &Path, kind: &str, setting: &str, out: &Path) {
    assert_eq!(ran.code, 2, "{}: {}", path.display(), ran.stderr);
    for want in [s(path), "通常のファイルではありません", kind, setting] {
        assert!(
            ran.stderr.contains(want),
            "{}: stderr lacks {want:?}: {}",
            path.display(),
            ran.stderr
        );
    }
    assert!(
        !out.join("zaishoku/2025-04-01/plan.json").exists(),
        "{}: a batch was planned",
        path.display()
    );
}

#[test]
fn a_device_as_font_is_refused_before_reading() {
    let t = tempfile::tempdir().unwrap();
    let job = sample_copy("zaishoku", t.path(), |j| {
        format!("{j}\n[fonts]\nmincho = [\"/dev/zero\"]\n")
    });
    let out = t.path().join("out");
    let ran = run_bounded(t.path(), &["run", s(&job), "--out", s(&out), "-q"]);
    assert_refused(&ran, Path::new("/dev/zero"), "デバイス", "[fonts]", &out);
    assert!(
        ran.stderr.contains("フォントを読み込めません"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_device_or_fifo_as_template_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let pipe = fifo(&t.path().join("form.xml"));
    for (template, kind) in [
        (PathBuf::from("/dev/zero"), "デバイス"),
        (pipe, "名前付きパイプ"),
    ] {
        let job = sample_copy("zaishoku", t.path(), |j| {
            j.replace(
                &format!("{}/zaishoku.xml", root().join("templates").display()),
                s(&template),
            )
        });
        let out = t.path().join("out");
        // `check` does not use the template; `run` reads it first.
        let ran = run_bounded(t.path(), &["run", s(&job), "--out", s(&out), "-q"]);
        assert_refused(&ran, &template, kind, "template.file", &out);
    }
}

#[test]
fn a_device_or_fifo_as_input_is_refused_by_run_and_check() {
    let t = tempfile::tempdir().unwrap();
    let pipe = fifo(&t.path().join("requests.csv"));
    for (input, kind) in [
        (PathBuf::from("/dev/zero"), "デバイス"),
        (pipe, "名前付きパイプ"),
    ] {
        let job = sample_copy("zaishoku", t.path(), |j| {
            j.replace(
                "file = \"requests.xlsx\"",
                &format!("file = \"{}\"", s(&input)),
            )
        });
        let out = t.path().join("out");
        let run = run_bounded(t.path(), &["run", s(&job), "--out", s(&out), "-q"]);
        assert_refused(&run, &input, kind, "input.file", &out);
        let rejects = t.path().join("rejects.csv");
        let check = run_bounded(t.path(), &["check", s(&job), "--rejects", s(&rejects)]);
        assert_refused(&check, &input, kind, "input.file", &out);
    }
}

#[test]
fn a_fifo_as_job_file_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let job = fifo(&t.path().join("job.toml"));
    let ran = run_bounded(t.path(), &["check", s(&job)]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains(s(&job)), "{}", ran.stderr);
    assert!(ran.stderr.contains("名前付きパイプ"), "{}", ran.stderr);
}

/// The operator's exact case: a relative input name in the job, run from
/// the job's folder, and the file is not there.
#[test]
fn a_missing_input_is_named_by_its_full_path_in_japanese() {
    let t = tempfile::tempdir().unwrap();
    sample_copy("zaishoku", t.path(), |j| {
        j.replace("file = \"requests.xlsx\"", "file = \"request.xlsx\"")
    });
    let full = t.path().join("request.xlsx");
    let out = t.path().join("out");
    let run = run_bounded(t.path(), &["run", "job.toml", "--out", s(&out), "-q"]);
    let check = run_bounded(t.path(), &["check", "job.toml"]);
    for ran in [run, check] {
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        for want in [
            s(&full),
            "見つかりません",
            "ジョブファイルの input.file か --input を確認してください",
        ] {
            assert!(ran.stderr.contains(want), "lacks {want:?}: {}", ran.stderr);
        }
        assert!(!ran.stderr.contains("No such file"), "{}", ran.stderr);
    }
}

#[test]
fn a_missing_job_file_is_named_by_its_full_path_in_japanese() {
    let t = tempfile::tempdir().unwrap();
    let ran = run_bounded(t.path(), &["check", "nojob.toml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(s(&t.path().join("nojob.toml"))),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("見つかりません"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("No such file"), "{}", ran.stderr);
}

/// A file of the batch's own that cannot be read is told apart from one
/// that cannot be written: `plan.json` replaced by a FIFO gives "読めません"
/// naming that file (exit 3), not "書き込めません", and no hang.
#[test]
fn a_run_file_that_cannot_be_read_is_a_read_error() {
    let t = tempfile::tempdir().unwrap();
    let job = sample_copy("zaishoku", t.path(), |j| j);
    let out = t.path().join("out");
    let run_dir = out.join("zaishoku/2025-04-01");
    std::fs::create_dir_all(&run_dir).unwrap();
    let plan = fifo(&run_dir.join("plan.json"));
    let ran = run_bounded(t.path(), &["run", s(&job), "--out", s(&out), "-q"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    for want in ["読めません (cannot read)", s(&plan), "名前付きパイプ"] {
        assert!(ran.stderr.contains(want), "lacks {want:?}: {}", ran.stderr);
    }
    assert!(!ran.stderr.contains("書き込めません"), "{}", ran.stderr);
    assert!(!run_dir.join("docs").exists(), "documents were rendered");
}
