//! Fuzz target: structure-aware workbook fuzzing. Raw byte mutation of a
//! zip rarely gets past the deflate layer, so this target stores the fuzz
//! input as `xl/worksheets/sheet1.xml` (or, with a leading `s`,
//! `xl/sharedStrings.xml`) of an otherwise valid minimal xlsx and reads it.
#![no_main]
use chohyo::input::{read_sheet_bytes, HeaderRow};
use libfuzzer_sys::fuzz_target;
use std::io::{Cursor, Write};
use std::path::Path;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="名簿" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WB_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
const SHEET: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>生年月日</t></is></c></row><row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>32874</v></c></row></sheetData></worksheet>"#;
const STRINGS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2"><si><t>氏名</t></si><si><t>見本 太郎</t></si></sst>"#;

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
    let (strings_mode, body) = match data.split_first() {
        Some((b's', rest)) => (true, rest),
        _ => (false, data),
    };
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut add = |name: &str, bytes: &[u8]| {
        w.start_file(name, opts).expect("zip entry");
        w.write_all(bytes).expect("zip write");
    };
    add("[Content_Types].xml", CONTENT_TYPES.as_bytes());
    add("_rels/.rels", RELS.as_bytes());
    add("xl/workbook.xml", WORKBOOK.as_bytes());
    add("xl/_rels/workbook.xml.rels", WB_RELS.as_bytes());
    if strings_mode {
        add("xl/worksheets/sheet1.xml", SHEET.as_bytes());
        add("xl/sharedStrings.xml", body);
    } else {
        add("xl/worksheets/sheet1.xml", body);
        add("xl/sharedStrings.xml", STRINGS.as_bytes());
    }
    let bytes = w.finish().expect("zip finish").into_inner();
    let _ = read_sheet_bytes(Path::new("fuzz.xlsx"), &bytes, None, &HeaderRow::At(1));
});
