//! Helpers shared by the integration tests that compare run directories.

// Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository's root folder (samples, templates and fixtures are found
/// from here).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `chohyo` executable built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chohyo"))
}

/// Every file of a run directory, with the execution-dependent parts removed:
/// `run.log` and `run.lock` are left out, the `timing` of `summary.json` and
/// the marked timing block of `report.html` are dropped.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if rel == "run.log" || rel == "run.lock" {
                continue;
            }
            let mut bytes = std::fs::read(&p).unwrap();
            if rel == "summary.json" {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                v.as_object_mut().unwrap().remove("timing");
                bytes = serde_json::to_vec(&v).unwrap();
            }
            if rel == "report.html" {
                let s = String::from_utf8(bytes).unwrap();
                let a = s.find("<!-- timing:begin -->").unwrap();
                let b = s.find("<!-- timing:end -->").unwrap();
                bytes = format!("{}{}", &s[..a], &s[b..]).into_bytes();
            }
            out.insert(rel, bytes);
        }
    }
    out
}

pub fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    let only_a: Vec<&String> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    let only_b: Vec<&String> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "{what}: files only in the first: {only_a:?}; only in the second: {only_b:?}"
    );
    for (k, v) in a {
        assert!(v == &b[k], "{what}: {k} differs");
    }
}
