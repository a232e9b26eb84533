//! Fuzz target: the spreadsheet readers (xlsx/xlsb/ods via calamine, xls)
//! on mutated workbook files; seeds are the fixtures of `tests/fixtures/`.
#![no_main]
use chohyo::input::{read_sheet_bytes, HeaderRow, SheetSelector};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// calamine panics on some corrupt files (see docs/upstream); chohyo catches
/// those panics inside `read_sheet_bytes` and returns an error, which is the
/// behaviour under test. libfuzzer-sys's panic hook would abort on them all
/// the same, so it is replaced by a silent one: a panic that escapes
/// `read_sheet_bytes` still reaches libfuzzer-sys's own `catch_unwind`,
/// which aborts, and is reported as a crash.
fn let_caught_panics_pass() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

fuzz_target!(|data: &[u8]| {
    let_caught_panics_pass();
    let path = Path::new("fuzz.xlsx");
    let _ = read_sheet_bytes(path, data, None, &HeaderRow::At(1));
    let _ = read_sheet_bytes(
        path,
        data,
        Some(&SheetSelector::Index(1)),
        &HeaderRow::At(1),
    );
});
