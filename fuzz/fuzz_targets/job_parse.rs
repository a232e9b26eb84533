//! Fuzz target: the job-file parser (`chohyo::job::Job::parse`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = chohyo::job::Job::parse(Path::new("/nonexistent-fuzz/job.toml"), text);
    }
});
