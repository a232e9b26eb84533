//! Where the bundled fonts are when a job names none.
//!
//! Uses nothing of ours: it only looks at folders.

use std::path::{Path, PathBuf};

/// The bundled `fonts/` folder: next to the executable's crate when run from
/// a checkout, else `./fonts`.
pub fn default_fonts_dir() -> PathBuf {
    let from_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
    if from_crate.is_dir() {
        from_crate
    } else {
        PathBuf::from("fonts")
    }
}
