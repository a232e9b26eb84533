//! Pre-check of an `.xlsx`/`.xlsm` before calamine opens it: the declared
//! number of shared strings.
//!
//! When it opens a workbook, calamine reserves room for as many shared
//! strings as the `uniqueCount` attribute of `sharedStrings.xml` declares,
//! before reading any of them. A 400-byte file declaring 10^14 strings
//! makes that reservation fail and the process abort (found by the
//! `workbook_xml` fuzz target). A truthful count cannot exceed the size of
//! the part that holds the strings (each `<si/>` takes at least 5 bytes),
//! so a count above the part's uncompressed size is refused here.

use quick_xml::events::Event;
use std::io::{BufReader, Read, Seek};

/// Refuses a workbook whose `sharedStrings.xml` declares more strings than
/// it could hold. A zip that cannot be read is left to calamine, which
/// reports it in its own words.
pub fn check_shared_strings<R: Read + Seek>(reader: R) -> Result<(), String> {
    let Ok(mut archive) = zip::ZipArchive::new(reader) else {
        return Ok(());
    };
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index(i) else {
            continue;
        };
        // calamine finds parts by name whatever their case.
        let Ok(name) = entry.name() else {
            continue;
        };
        let name = name.replace('\\', "/").to_ascii_lowercase();
        if !name.ends_with("sharedstrings.xml") {
            continue;
        }
        let size = entry.size();
        if let Some(count) = declared_unique_count(BufReader::new(entry)) {
            if count > size {
                return Err(format!(
                    "共有文字列の数が不正です: {count} 個と宣言されていますが、部品は {size} バイトしかありません \
                     (sharedStrings.xml declares {count} strings in {size} bytes)"
                ));
            }
        }
    }
    Ok(())
}

/// The `uniqueCount` of the first `sst` element, as calamine reads it:
/// with calamine's XML reader settings (end names unchecked, so a
/// malformed document goes on to a later `sst`), digits only (any number
/// of leading zeros), else none. An XML error before it stops calamine as
/// it stops this. Saturates at `u64::MAX`.
fn declared_unique_count<B: std::io::BufRead>(xml: B) -> Option<u64> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.local_name().as_ref() == "sst" => {
                return parse_count(
                    lenient_attribute(e.attributes_raw(), "uniqueCount")?.as_bytes(),
                );
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The value of attribute `name` in a start tag's raw attribute text, read
/// as leniently as calamine reads it (not as XML requires): a key is
/// everything up to the next `=` (trailing blanks dropped), a value runs
/// from its opening quote to the same quote or to the end of the text.
/// Text that cannot be read that way before `name` comes gives `None`
/// (calamine gives up there too).
fn lenient_attribute<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = raw;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let quote = after.chars().next().filter(|&q| q == '"' || q == '\'')?;
        let value_and_more = &after[1..];
        let (value, more) = value_and_more
            .split_once(quote)
            .unwrap_or((value_and_more, ""));
        if key.trim_end_matches(|c: char| c.is_ascii_whitespace()) == name {
            return Some(value);
        }
        rest = more;
    }
}

/// A non-empty run of ASCII digits as a number, saturating.
fn parse_count(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip_with(name: &str, body: &str) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(body.as_bytes()).unwrap();
        w.finish().unwrap().into_inner()
    }

    fn sst(unique: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="{unique}"><si><t>a</t></si><si><t>b</t></si></sst>"#
        )
    }

    #[test]
    fn a_truthful_count_passes() {
        for unique in ["2", "0002", "0", "150"] {
            let z = zip_with("xl/sharedStrings.xml", &sst(unique));
            assert_eq!(check_shared_strings(Cursor::new(z)), Ok(()), "{unique}");
        }
    }

    #[test]
    fn a_count_larger_than_the_part_is_refused() {
        for unique in ["444444444444444", "99999999999999999999999999", "1000"] {
            let z = zip_with("xl/sharedStrings.xml", &sst(unique));
            let e = check_shared_strings(Cursor::new(z)).unwrap_err();
            assert!(e.contains("sharedStrings.xml declares"), "{e}");
        }
        // Wherever the part is and however its name is written.
        let z = zip_with("other/SHAREDSTRINGS.XML", &sst("5000000000"));
        assert!(check_shared_strings(Cursor::new(z)).is_err());
    }

    #[test]
    fn an_sst_after_mismatched_end_tags_is_checked() {
        // calamine does not check end names: it reads on to this `sst`.
        let body = format!("<a><b></c>{}", sst("444444401"));
        let z = zip_with("xl/sharedStrings.xml", &body);
        assert!(check_shared_strings(Cursor::new(z)).is_err());
        // An empty `<sst/>` is a start element for calamine too.
        let z = zip_with("xl/sharedStrings.xml", r#"<sst uniqueCount="99999"/>"#);
        assert!(check_shared_strings(Cursor::new(z)).is_err());
    }

    #[test]
    fn attributes_are_read_as_leniently_as_calamine_reads_them() {
        // A key without `=` swallows the next one; an unterminated value
        // runs to the end of the tag (a fuzz finding).
        let raw = r#" x.ope444" cotnt="2" uniqueCount="444444444444444"#;
        assert_eq!(
            lenient_attribute(raw, "uniqueCount"),
            Some("444444444444444")
        );
        assert_eq!(lenient_attribute(raw, "cotnt"), None);
        assert_eq!(lenient_attribute(" a = '1' b=\"2\"", "b"), Some("2"));
        assert_eq!(lenient_attribute(" a = '1' b=\"2\"", "a"), Some("1"));
        // An unquoted value stops the reading, as in calamine.
        assert_eq!(
            lenient_attribute(" a=1 uniqueCount=\"9\"", "uniqueCount"),
            None
        );
        assert_eq!(lenient_attribute(" a", "a"), None);
        let z = zip_with(
            "xl/sharedStrings.xml",
            r#"<?x="UTF-8"?><sst x.ope444" cotnt="2" uniqueCount="444444444444444>is.<"><si/></sst>"#,
        );
        assert!(check_shared_strings(Cursor::new(z)).is_err());
    }

    #[test]
    fn counts_calamine_would_not_read_are_ignored() {
        for unique in ["", "+5000000000", "5e12", "&#52;4444444444"] {
            let z = zip_with("xl/sharedStrings.xml", &sst(unique));
            assert_eq!(check_shared_strings(Cursor::new(z)), Ok(()), "{unique}");
        }
        // Not a zip, or no shared strings: nothing to say.
        assert_eq!(
            check_shared_strings(Cursor::new(b"not a zip".to_vec())),
            Ok(())
        );
        let z = zip_with("xl/workbook.xml", "<workbook/>");
        assert_eq!(check_shared_strings(Cursor::new(z)), Ok(()));
    }

    #[test]
    fn parse_count_saturates() {
        assert_eq!(parse_count(b"18446744073709551616"), Some(u64::MAX));
        assert_eq!(parse_count(b"007"), Some(7));
        assert_eq!(parse_count(b"-1"), None);
    }
}
