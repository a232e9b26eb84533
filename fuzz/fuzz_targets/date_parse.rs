//! Fuzz target: the date parser (`chohyo::japan::era::parse_date`), and wareki
//! formatting of whatever it accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(d) = chohyo::japan::era::parse_date(text) {
            let _ = chohyo::japan::era::format_wareki(d);
        }
    }
});
