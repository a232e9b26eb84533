//! Fuzz target: the spreadsheet readers (xlsx/xlsb/ods via calamine, xls)
//! on mutated workbook files; seeds are the fixtures of `tests/fixtures/`.
#![no_main]
use chohyo::source::{read_sheet_bytes, HeaderRow, SheetSelector};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.xlsx");
    let _ = read_sheet_bytes(path, data, None, &HeaderRow::At(1));
    let _ = read_sheet_bytes(
        path,
        data,
        Some(&SheetSelector::Index(1)),
        &HeaderRow::At(1),
    );
});
