//! Mail outputs and the commands that read them back, against a hostile or
//! careless operator (issue 15 items 12, 14, 15, 18, 19 and the FIFO of item
//! 16; issue 17 item 3): owner-only packages and barcode drawings,
//! formula-safe manifests read back as written, `verify` catching edited
//! manifests, terminal control characters escaped, `dispatch-check` going on
//! past a bad byte, and commands ending quietly when their output is closed.

mod common;

use common::run_chohyo;
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
