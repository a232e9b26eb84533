//! Fuzz target: the form markup parser (`chohyo::render::form::parse`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = chohyo::render::form::parse(text);
    }
});
