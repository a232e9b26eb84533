//! Where the bundled fonts are when the command line names no folder.
//!
//! The binary must work installed, away from the folder it was built in,
//! so the search looks beside the job and beside the executable before the
//! working directory; only a debug build also knows its checkout. Uses the
//! default slot table of `render::fonts` to recognise the folder.

use crate::render::fonts::FontSet;
use std::path::{Path, PathBuf};

/// The bundled fonts' folder for the job file `job_file`: the first of
/// these that holds every font of the default slots (BIZ UD Mincho and
/// Gothic, see [`FontSet::default_slots`]):
///
/// 1. `fonts/` beside the job file;
/// 2. `fonts/` beside the executable;
/// 3. `../share/chohyo/fonts` from the executable's folder — what
///    `cargo install --path . --root X` plus copying `fonts/` to
///    `X/share/chohyo/fonts` gives (also a distribution's `/usr/share`);
/// 4. `./fonts` in the working directory;
/// 5. in a debug build only, the checkout's `fonts/` (so `cargo run` and
///    the tests work from any folder).
///
/// When none does, `fonts` (relative), whose missing files the font loader
/// then names.
pub fn fonts_dir_for_job(job_file: &Path) -> PathBuf {
    first_with_fonts(&candidates(Some(job_file), current_exe().as_deref()))
}

/// [`fonts_dir_for_job`] without a job: the executable's folders, `./fonts`
/// and (debug builds) the checkout's.
pub fn default_fonts_dir() -> PathBuf {
    first_with_fonts(&candidates(None, current_exe().as_deref()))
}

/// The running executable, its symbolic links resolved (an installed
/// `chohyo` is often a link in a `bin/` elsewhere).
fn current_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(std::fs::canonicalize(&exe).unwrap_or(exe))
}

/// The folders searched, in order (see [`fonts_dir_for_job`]).
fn candidates(job_file: Option<&Path>, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(job) = job_file {
        out.push(job.parent().unwrap_or(Path::new("")).join("fonts"));
    }
    if let Some(bin) = exe.and_then(Path::parent) {
        out.push(bin.join("fonts"));
        out.push(bin.join("..").join("share").join("chohyo").join("fonts"));
    }
    out.push(PathBuf::from("fonts"));
    #[cfg(debug_assertions)]
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts"));
    out
}

/// The first folder holding every default font, else `fonts`.
fn first_with_fonts(candidates: &[PathBuf]) -> PathBuf {
    candidates
        .iter()
        .find(|dir| {
            FontSet::default_slots(dir)
                .values()
                .flatten()
                .all(|f| f.is_file())
        })
        .cloned()
        .unwrap_or_else(|| PathBuf::from("fonts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_folder_then_the_executable_then_the_working_directory() {
        let found = candidates(
            Some(Path::new("/jobs/a/job.toml")),
            Some(Path::new("/opt/x/bin/chohyo")),
        );
        let want = [
            "/jobs/a/fonts",
            "/opt/x/bin/fonts",
            "/opt/x/bin/../share/chohyo/fonts",
            "fonts",
        ];
        let want: Vec<PathBuf> = want.iter().map(PathBuf::from).collect();
        assert_eq!(found[..4], want[..]);
        // A debug build (the tests) also knows its checkout, last.
        assert_eq!(found.len(), 5);
        assert!(found[4].ends_with("fonts"));
    }

    #[test]
    fn a_job_file_without_a_folder_looks_in_the_working_directory() {
        assert_eq!(
            candidates(Some(Path::new("job.toml")), None)[0],
            PathBuf::from("fonts")
        );
    }

    #[test]
    fn a_folder_without_the_default_fonts_is_passed_over() {
        let dir = std::env::temp_dir().join(format!("chohyo-fonts-dir-{}", std::process::id()));
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
        assert_eq!(first_with_fonts(&[empty, checkout.clone()]), checkout);
        assert_eq!(first_with_fonts(&[]), PathBuf::from("fonts"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
