//! The binary works installed: copied into a `bin/` with the fonts in
//! `share/chohyo/fonts` beside it (what `cargo install --path . --root X`
//! and copying `fonts/` to `X/share/chohyo/fonts` give), run from another
//! working directory on a job elsewhere, it writes the same documents as
//! the built binary.
//!
//! A debug build also finds the checkout's fonts as a last resort; the
//! order of the search itself is pinned by the unit tests of
//! `run::fonts_dir`, which put the installed folder before it.

mod common;

use common::{assert_same, bin, docs, root, run_job, sample_copy, snapshot};
use std::process::Command;

#[test]
fn an_installed_binary_runs_a_job_from_another_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("prefix");
    let bin_dir = prefix.join("bin");
    let fonts = prefix.join("share").join("chohyo").join("fonts");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::create_dir_all(&fonts).unwrap();
    let installed = bin_dir.join("chohyo");
    std::fs::copy(bin(), &installed).unwrap();
    for e in std::fs::read_dir(root().join("fonts")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, fonts.join(p.file_name().unwrap())).unwrap();
    }
    let job_dir = tmp.path().join("job");
    std::fs::create_dir_all(&job_dir).unwrap();
    let job = sample_copy("zaishoku", &job_dir, |t| t);
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    let out = Command::new(&installed)
        .current_dir(&elsewhere)
        .args(["run", job.to_str().unwrap(), "--out", "out", "-q"])
        .output()
        .unwrap();
    // The sample has three bad rows: "finished, with rejects".
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_dir = elsewhere.join("out").join("zaishoku").join("2025-04-01");
    assert_eq!(docs(&run_dir).len(), 47);

    let reference = tmp.path().join("reference");
    assert_eq!(run_job(&job, &reference, &["-q"]).code, 1);
    assert_same(
        &snapshot(&run_dir),
        &snapshot(&reference.join("zaishoku").join("2025-04-01")),
        "installed binary vs built binary",
    );
}
