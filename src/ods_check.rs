//! Size check of an OpenDocument spreadsheet (`.ods`) before calamine reads
//! it (hardening, issue 9).
//!
//! OpenDocument compresses runs of equal cells with
//! `table:number-rows-repeated` and `table:number-columns-repeated`, so a
//! `content.xml` of a few hundred bytes can declare billions of cells, and
//! calamine (0.38) expands them into memory while *opening* the workbook:
//! `Ods::new` reads every table of the document, not just the sheet asked
//! for. calamine caps a table at 1,048,576 rows, 16,384 columns and 100
//! million cells, but 100 million cells are several GB (a value and a
//! formula string per cell), and the cells kept *before* that cap are not
//! counted at all.
//!
//! [`check_ods`] streams `content.xml` once (the XML is never held whole:
//! only one element at a time) and follows what calamine keeps:
//!
//! * **Kept while reading** (`stored`): in each row, every cell up to and
//!   including the last one, each repeated as declared, the columns capped
//!   at 16,384. Only the row's *last* cell is dropped when it is empty, so
//!   `<cell repeated="16384"/><cell/>` keeps 16,384 empty cells; a row
//!   repeated many times is kept once.
//! * **The dense grid** (`rows` × `columns`): the rectangle from the first to
//!   the last row holding a non-empty cell (rows counted with their repeats,
//!   capped at 1,048,576 in all as calamine does) and from the leftmost to
//!   the rightmost non-empty column.
//!
//! A cell counts as non-empty when it has a value attribute
//! (`office:value`, `office:string-value`, `office:date-value`,
//! `office:time-value`, `office:boolean-value`), `office:value-type="string"`
//! (calamine then reads the text, even an empty one) or a `table:formula`.
//! Where calamine would fail on malformed XML this check may count more
//! than calamine keeps, never less.
//!
//! A table whose grid or kept cells pass [`limits::MAX_SHEET_CELLS`] is
//! refused with [`limits::check_extent`]'s message (the same as for xlsx);
//! so is a workbook whose tables together pass it, since calamine holds
//! them all at once. Messages name the sheet, never a cell value.

use std::io::{BufRead, BufReader, Read, Seek};

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::Reader as XmlReader;

use crate::limits;

/// calamine's row cap of one table (`ods.rs`, `MAX_ROWS`).
const CALAMINE_MAX_ROWS: u64 = 1_048_576;

/// calamine's column cap of one row (`ods.rs`, `MAX_COLUMNS`).
const CALAMINE_MAX_COLUMNS: u64 = 16_384;

const ODS_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

/// What calamine would allocate for one table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Rows of the dense grid (repeats included).
    pub rows: u64,
    /// Columns of the dense grid.
    pub columns: u64,
    /// Cells kept while reading, before the grid is built.
    pub stored: u64,
    /// Rows that keep at least one cell while reading.
    pub stored_rows: u64,
    /// Most cells kept for one row while reading.
    pub widest: u64,
}

impl Extent {
    /// Fails with [`limits::check_extent`]'s message if the grid or the
    /// cells kept while reading pass [`limits::MAX_SHEET_CELLS`].
    pub fn check(&self) -> Result<(), String> {
        limits::check_extent(self.rows, self.columns)?;
        if self.stored > limits::MAX_SHEET_CELLS {
            // stored ≤ stored_rows × widest, so this fails too.
            limits::check_extent(self.stored_rows, self.widest)?;
        }
        Ok(())
    }

    fn cells(&self) -> u64 {
        self.rows.saturating_mul(self.columns)
    }
}

/// A refused workbook: the sheet (table name) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The table whose cells passed the limit.
    pub sheet: String,
    /// Japanese message with English gloss; no cell values.
    pub message: String,
}

/// Checks an `.ods` zip (read through `reader`) before calamine opens it.
///
/// Anything that is not an OpenDocument spreadsheet, or that cannot be read
/// (no `content.xml`, broken zip or XML), passes: calamine reports it in its
/// own words. Every table is checked, as calamine reads them all.
pub fn check_ods<R: Read + Seek>(reader: R) -> Result<(), Refusal> {
    let Ok(mut zip) = zip::ZipArchive::new(reader) else {
        return Ok(());
    };
    let is_ods = match zip.by_name("mimetype") {
        Ok(f) => {
            let mut head = Vec::with_capacity(ODS_MIMETYPE.len());
            f.take(ODS_MIMETYPE.len() as u64)
                .read_to_end(&mut head)
                .is_ok()
                && head == ODS_MIMETYPE
        }
        Err(_) => false,
    };
    if !is_ods {
        return Ok(());
    }
    let Ok(content) = zip.by_name("content.xml") else {
        return Ok(());
    };
    scan(BufReader::new(content), true).map(|_| ())
}

/// The extents of every named table of a `content.xml`, without limits (for
/// tests and measurements).
pub fn table_extents<B: BufRead>(xml: B) -> Vec<(String, Extent)> {
    scan(xml, false).unwrap_or_default()
}

/// Streams `content.xml`; with `enforce`, refuses as soon as a table or
/// the tables together pass [`limits::MAX_SHEET_CELLS`] (grid or cells kept
/// while reading).
fn scan<B: BufRead>(xml: B, enforce: bool) -> Result<Vec<(String, Extent)>, Refusal> {
    let limit = limits::MAX_SHEET_CELLS;
    let mut reader = XmlReader::from_reader(xml);
    // calamine's settings, so that both see the same events.
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::with_capacity(1024);
    let mut tables = Vec::new();
    // Cells of the grids of the finished tables.
    let mut grids = 0u64;
    loop {
        let name = match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name() == QName("table:table") => attr(&e, "table:name"),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => None,
        };
        buf.clear();
        let Some(name) = name else {
            continue;
        };
        let mut table = TableScan::default();
        let done = table.read(&mut reader, &mut buf, |t| {
            if !enforce {
                return Ok(());
            }
            let refuse = |message: String| Refusal {
                sheet: name.clone(),
                message,
            };
            let e = t.extent();
            e.check().map_err(refuse)?;
            // Earlier grids stay; this table's kept cells go once its grid
            // is built.
            let together = grids.saturating_add(e.cells().max(e.stored));
            if together > limit {
                return Err(refuse(format!(
                    "ブック全体のセル数が多すぎます: シート「{name}」までで {together} セル \
                     (上限 {limit} セル) (the workbook's sheets together span {together} \
                     cells up to this sheet, limit {limit} cells)"
                )));
            }
            Ok(())
        });
        let extent = table.extent();
        tables.push((name, extent));
        grids = grids.saturating_add(extent.cells());
        if !done? {
            break;
        }
    }
    Ok(tables)
}

/// The string value of attribute `key`, unescaped.
fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    let a = e.try_get_attribute(key).ok()??;
    let unescaped = quick_xml::escape::unescape(&a.value).map(|v| v.into_owned());
    Some(unescaped.unwrap_or_else(|_| a.value.into_owned()))
}

/// A repeat count; calamine fails on one it cannot parse, so 1 is as good
/// as any (the cells before were counted already).
fn repeats(e: &BytesStart<'_>, key: &str) -> u64 {
    attr(e, key).and_then(|v| v.parse().ok()).unwrap_or(1)
}

/// Whether calamine reads a cell as holding a value or a formula.
fn non_empty(e: &BytesStart<'_>) -> bool {
    e.attributes()
        .with_checks(false)
        .flatten()
        .any(|a| match a.key.as_ref() {
            "office:value"
            | "office:string-value"
            | "office:date-value"
            | "office:time-value"
            | "office:boolean-value" => true,
            "office:value-type" => a.value.as_ref() == "string",
            "table:formula" => !a.value.is_empty(),
            _ => false,
        })
}

/// Counts of one table so far.
#[derive(Debug, Default)]
struct TableScan {
    /// Rows so far, each repeat counted (at least 1 per row element).
    rows_seen: u64,
    /// Rows granted by calamine's row cap so far.
    rows_capped: u64,
    /// `rows_seen` before the first and after the last non-empty row.
    first_row: Option<u64>,
    last_row: u64,
    /// Leftmost and one past the rightmost non-empty column.
    first_col: Option<u64>,
    end_col: u64,
    stored: u64,
    stored_rows: u64,
    widest: u64,
}

impl TableScan {
    fn extent(&self) -> Extent {
        let (rows, columns) = match (self.first_row, self.first_col) {
            (Some(r0), Some(c0)) => (self.last_row - r0, self.end_col - c0),
            _ => (0, 0),
        };
        Extent {
            rows,
            columns,
            stored: self.stored,
            stored_rows: self.stored_rows,
            widest: self.widest,
        }
    }

    /// Reads up to the end of the table (`Ok(true)`) or of the XML or an
    /// XML error (`Ok(false)`); `check` runs after each row that keeps
    /// cells.
    fn read<B: BufRead>(
        &mut self,
        reader: &mut XmlReader<B>,
        buf: &mut Vec<u8>,
        mut check: impl FnMut(&TableScan) -> Result<(), Refusal>,
    ) -> Result<bool, Refusal> {
        let mut skip = Vec::new();
        loop {
            buf.clear();
            match reader.read_event_into(buf) {
                Ok(Event::Start(e)) if e.name() == QName("table:table-row") => {
                    let declared = repeats(&e, "table:number-rows-repeated");
                    let granted = declared.min(CALAMINE_MAX_ROWS - self.rows_capped);
                    self.rows_capped += granted;
                    let Some(row) = read_row(reader, buf, &mut skip) else {
                        return Ok(false);
                    };
                    let before = self.rows_seen;
                    self.rows_seen = self.rows_seen.saturating_add(granted.max(1));
                    if let Some((c0, c1)) = row.values {
                        self.first_row.get_or_insert(before);
                        self.last_row = self.rows_seen;
                        self.first_col = Some(self.first_col.map_or(c0, |c| c.min(c0)));
                        self.end_col = self.end_col.max(c1);
                    }
                    if row.stored > 0 {
                        self.stored += row.stored;
                        self.stored_rows += 1;
                        self.widest = self.widest.max(row.stored);
                        check(self)?;
                    }
                }
                Ok(Event::End(e)) if e.name() == QName("table:table") => return Ok(true),
                Ok(Event::Eof) | Err(_) => return Ok(false),
                Ok(_) => {}
            }
        }
    }
}

/// One row element as calamine keeps it.
struct RowScan {
    /// Cells kept (trailing empty cell dropped), at most 16,384.
    stored: u64,
    /// Leftmost and one past the rightmost non-empty column.
    values: Option<(u64, u64)>,
}

/// Reads the cells of a row up to `</table:table-row>`; `None` at the end of
/// the XML or an XML error.
fn read_row<B: BufRead>(
    reader: &mut XmlReader<B>,
    buf: &mut Vec<u8>,
    skip: &mut Vec<u8>,
) -> Option<RowScan> {
    let mut row = RowScan {
        stored: 0,
        values: None,
    };
    // Empty cells are kept only once a later cell follows them.
    let mut pending_empty = 0;
    loop {
        buf.clear();
        match reader.read_event_into(buf) {
            Ok(Event::Start(e))
                if e.name() == QName("table:table-cell")
                    || e.name() == QName("table:covered-table-cell") =>
            {
                let n = repeats(&e, "table:number-columns-repeated");
                let filled = non_empty(&e);
                row.stored += pending_empty;
                let n = n.min(CALAMINE_MAX_COLUMNS - row.stored);
                if filled {
                    if n > 0 {
                        let (c0, _) = row.values.unwrap_or((row.stored, 0));
                        row.values = Some((c0, row.stored + n));
                    }
                    row.stored += n;
                    pending_empty = 0;
                } else {
                    pending_empty = n;
                }
                let end = e.name().as_ref().to_owned();
                skip.clear();
                reader.read_to_end_into(QName(&end), skip).ok()?;
            }
            Ok(Event::End(e)) if e.name() == QName("table:table-row") => return Some(row),
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extents(table: &str) -> Extent {
        let xml = format!(
            "<office:document-content><office:body><office:spreadsheet>\
             <table:table table:name=\"S\">{table}</table:table>\
             </office:spreadsheet></office:body></office:document-content>"
        );
        let t = table_extents(xml.as_bytes());
        assert_eq!(t.len(), 1, "{t:?}");
        t[0].1
    }

    fn row(repeat: u64, cells: &str) -> String {
        format!(
            "<table:table-row table:number-rows-repeated=\"{repeat}\">{cells}</table:table-row>"
        )
    }

    fn value(repeat: u64) -> String {
        format!(
            "<table:table-cell office:value-type=\"float\" office:value=\"1\" \
             table:number-columns-repeated=\"{repeat}\"/>"
        )
    }

    fn empty(repeat: u64) -> String {
        format!("<table:table-cell table:number-columns-repeated=\"{repeat}\"/>")
    }

    #[test]
    fn repeated_values_span_their_repeats() {
        let e = extents(&row(3, &format!("{}{}", value(2), empty(5))));
        assert_eq!((e.rows, e.columns, e.stored, e.widest), (3, 2, 2, 2));
        // Capped as calamine caps: 1,048,576 rows × 16,384 columns.
        let e = extents(&row(5_000_000, &value(100_000)));
        assert_eq!((e.rows, e.columns, e.stored), (1_048_576, 16_384, 16_384));
        assert!(e.check().unwrap_err().contains("1048576 行 × 16384 列"));
    }

    #[test]
    fn repeated_empties_count_only_between_values() {
        // Leading empty rows and columns are not part of the grid...
        let e = extents(&format!(
            "{}{}",
            row(1_000_000, &empty(16_384)),
            row(1, &format!("{}{}", empty(16_000), value(1)))
        ));
        assert_eq!((e.rows, e.columns), (1, 1));
        // ...but calamine keeps the empty cells left of a row's last value.
        assert_eq!(e.stored, 16_001);
        // A value at A1 and one at XFD1048576.
        let e = extents(&format!(
            "{}{}{}",
            row(1, &value(1)),
            row(1_048_574, &empty(1)),
            row(1, &format!("{}{}", empty(16_383), value(1)))
        ));
        assert_eq!((e.rows, e.columns), (1_048_576, 16_384));
        assert!(e.check().is_err());
    }

    #[test]
    fn trailing_empties_are_dropped_but_not_empties_before_another_cell() {
        // The last cell of a row is dropped when empty.
        let e = extents(&row(1, &format!("{}{}", value(1), empty(16_000))));
        assert_eq!((e.stored, e.columns), (1, 1));
        // Two empty cells: the first is kept, though the row has no value.
        let e = extents(&row(1, &format!("{}{}", empty(16_384), empty(1))));
        assert_eq!((e.rows, e.columns, e.stored), (0, 0, 16_384));
        // 2,000 such rows keep 32 million cells: refused, though the grid is
        // empty.
        let bomb = row(1, &format!("{}{}", empty(16_384), empty(1))).repeat(2_000);
        let e = extents(&bomb);
        assert_eq!(
            (e.stored, e.stored_rows, e.widest),
            (32_768_000, 2_000, 16_384)
        );
        assert!(e.check().unwrap_err().contains("2000 行 × 16384 列"));
        // Trailing empty rows are not part of the grid.
        let e = extents(&format!(
            "{}{}",
            row(2, &value(3)),
            row(1_000_000, &empty(3))
        ));
        assert_eq!((e.rows, e.columns, e.stored), (2, 3, 3));
    }

    #[test]
    fn strings_and_formulas_count_as_values() {
        let cells =
            "<table:table-cell office:value-type=\"string\"><text:p>x</text:p></table:table-cell>\
             <table:table-cell office:value-type=\"string\"/>\
             <table:table-cell table:formula=\"of:=1\"/>\
             <table:table-cell office:value-type=\"float\"/>";
        let e = extents(&row(1, cells));
        assert_eq!((e.rows, e.columns, e.stored), (1, 3, 3));
        // Empty rows between values are part of the grid.
        let e = extents(&format!(
            "{}{}{}",
            row(1, &value(1)),
            row(10, ""),
            row(1, &value(1))
        ));
        assert_eq!((e.rows, e.columns), (12, 1));
    }

    #[test]
    fn the_tables_of_a_workbook_are_limited_together() {
        // Two tables of 12 million cells each: each passes, both do not.
        let t = row(1_000, &value(12_000));
        let xml = format!(
            "<r><table:table table:name=\"A\">{t}</table:table>\
             <table:table table:name=\"B\">{t}</table:table></r>"
        );
        let e = scan(xml.as_bytes(), true).unwrap_err();
        assert_eq!(e.sheet, "B");
        assert!(e.message.contains("ブック全体"), "{}", e.message);
        let one = format!("<r><table:table table:name=\"A\">{t}</table:table></r>");
        scan(one.as_bytes(), true).unwrap();
    }

    #[test]
    fn the_grid_matches_calamines_on_the_ods_fixtures() {
        use calamine::{Ods, Reader};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for f in [
            "tests/fixtures/source/cells.ods",
            "tests/fixtures/input/staff.ods",
        ] {
            let bytes = std::fs::read(root.join(f)).unwrap();
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
            let ours = table_extents(BufReader::new(zip.by_name("content.xml").unwrap()));
            assert!(!ours.is_empty(), "{f}");
            let mut book: Ods<_> = Ods::new(std::io::Cursor::new(&bytes)).unwrap();
            for (name, e) in ours {
                let (h, w) = book.worksheet_range(&name).unwrap().get_size();
                assert_eq!((e.rows, e.columns), (h as u64, w as u64), "{f} {name}");
            }
            check_ods(std::io::Cursor::new(&bytes)).unwrap();
        }
    }
}
