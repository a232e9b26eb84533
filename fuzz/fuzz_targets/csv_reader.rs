//! Fuzz target: the delimited-text reader with encoding detection
//! (`chohyo::input::read_sheet_bytes`), header row 1 and header search.
#![no_main]
use chohyo::input::{read_sheet_bytes, HeaderRow};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // Zip and OLE magic go to the workbook readers: the `workbook` target.
    if data.starts_with(b"PK") || data.starts_with(&[0xD0, 0xCF]) {
        return;
    }
    let path = Path::new("fuzz.csv");
    let _ = read_sheet_bytes(path, data, None, &HeaderRow::At(1));
    let _ = read_sheet_bytes(path, data, None, &HeaderRow::At(3));
    let _ = read_sheet_bytes(path, data, None, &HeaderRow::Find(vec!["氏名".into()]));
});
