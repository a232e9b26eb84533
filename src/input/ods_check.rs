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
//! them all at once.
//!
//! **Text.** calamine clones a cell's text into every cell its repeats
//! declare, so the cell count alone does not bound memory: one string of
//! 32,767 characters in 16,384 columns of a row repeated a thousand times
//! is 1,600 GB. The check also follows what calamine builds as text: the
//! decoded `office:string-value`, `office:date-value` or `office:time-value`
//! (the first value attribute wins, as in calamine); for a string cell
//! without one (or an error cell with an empty one), the content, with
//! `<text:s text:c="N"/>` as N spaces, `<text:tab/>` and `<text:line-break/>`
//! as one character, a line feed between `<text:p>` paragraphs, entity
//! references as their character and `<office:annotation>` skipped; and the
//! decoded `table:formula`, which calamine keeps beside the value. A cell
//! whose value or formula is longer than [`limits::MAX_CELL_CHARS`]
//! characters is refused (calamine builds it before anything else, even in
//! a cell its column cap then drops: `text:c="2000000000"` is 2 GB), naming
//! its row and column. Each kept cell's text bytes times its (capped)
//! column repeats times its row's (capped) row repeats, each row element at
//! least once, is summed over the workbook and refused past
//! [`limits::MAX_ODS_TEXT_BYTES`]. Counts saturate: a repeat or `text:c` of
//! `u64::MAX` cannot overflow, and a truncated row or cell is counted up to
//! where the XML ends (calamine allocates before it fails there).
//!
//! Messages name the sheet, row and column numbers, never a cell value.

use std::io::{BufRead, BufReader, Read, Seek};

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::Reader as XmlReader;

use crate::input::limits;

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
    /// Bytes of text (values and formulas) the table expands to: each kept
    /// cell's text times its column repeats times its row's repeats (each
    /// row element at least once).
    pub text: u64,
    /// The first cell whose value or formula passes
    /// [`limits::MAX_CELL_CHARS`] characters.
    pub too_long: Option<LongCell>,
}

/// A cell whose value or formula is longer than [`limits::MAX_CELL_CHARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongCell {
    /// Row number in the sheet (1-based, repeats counted).
    pub row: u64,
    /// Column index (0-based, repeats counted, capped as calamine caps).
    pub column: u64,
    /// Whether the formula, not the value, is too long.
    pub formula: bool,
}

impl Extent {
    /// Fails with [`limits::check_extent`]'s message if the grid or the
    /// cells kept while reading pass [`limits::MAX_SHEET_CELLS`]; then if a
    /// cell is too long, or the table's text passes
    /// [`limits::MAX_ODS_TEXT_BYTES`].
    pub fn check(&self) -> Result<(), String> {
        limits::check_extent(self.rows, self.columns)?;
        if self.stored > limits::MAX_SHEET_CELLS {
            // stored ≤ stored_rows × widest, so this fails too.
            limits::check_extent(self.stored_rows, self.widest)?;
        }
        if let Some(c) = self.too_long {
            let column = crate::input::column_letters(c.column as usize);
            if c.formula {
                let max = limits::MAX_CELL_CHARS;
                return Err(format!(
                    "{} 行目 {column} 列: 数式の文字数が上限 {max} 字を超えています \
                     (formula longer than {max} characters)",
                    c.row
                ));
            }
            return Err(limits::cell_too_long(c.row, &column));
        }
        let (text, max) = (self.text, limits::MAX_ODS_TEXT_BYTES);
        if text > max {
            return Err(format!(
                "シートの文字列が多すぎます: 繰り返し (number-rows-repeated / \
                 number-columns-repeated) を展開すると {} MB (上限 {} MB) \
                 (the sheet's text expands to {text} bytes with its repeated cells \
                 and rows, limit {max} bytes)",
                text / (1024 * 1024),
                max / (1024 * 1024)
            ));
        }
        Ok(())
    }

    fn cells(&self) -> u64 {
        self.rows.saturating_mul(self.columns)
    }
}

pub use crate::input::limits::SheetRefusal as Refusal;

/// Checks an `.ods` zip (read through `reader`) before calamine opens it.
///
/// Anything that is not an OpenDocument spreadsheet, or that cannot be read
/// (no `content.xml`, broken zip or XML), passes: calamine reports it in its
/// own words. Every table is checked, as calamine reads them all.
///
/// Except a `content.xml` that ends (or breaks) inside a table: calamine
/// 0.38's table reader takes the end of the XML for an ordinary event and
/// never returns (found while writing this check: a 300-byte file spun a
/// core for as long as it was let), so that is refused too.
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
    // Cells of the grids of the finished tables, and their text bytes.
    let mut grids = 0u64;
    let mut texts = 0u64;
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
            let text = texts.saturating_add(e.text);
            let max = limits::MAX_ODS_TEXT_BYTES;
            if text > max {
                return Err(refuse(format!(
                    "ブック全体の文字列が多すぎます: シート「{name}」までで繰り返しを展開すると \
                     {} MB (上限 {} MB) (the workbook's sheets expand to {text} bytes of text \
                     up to this sheet, limit {max} bytes)",
                    text / (1024 * 1024),
                    max / (1024 * 1024)
                )));
            }
            Ok(())
        });
        let extent = table.extent();
        let done = done?;
        if !done && enforce {
            return Err(Refusal {
                sheet: name,
                message: "ods ファイルが壊れています: content.xml がシートの途中で終わっているか \
                          読めません (corrupt .ods: content.xml ends or breaks inside the sheet)"
                    .to_string(),
            });
        }
        tables.push((name, extent));
        grids = grids.saturating_add(extent.cells());
        texts = texts.saturating_add(extent.text);
        if !done {
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
    text: u64,
    too_long: Option<LongCell>,
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
            text: self.text,
            too_long: self.too_long,
        }
    }

    /// Reads up to the end of the table (`Ok(true)`) or of the XML or an
    /// XML error (`Ok(false)`); `check` runs after each row that keeps
    /// cells or holds a cell that is too long (also after a row cut short
    /// by the end of the XML).
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
                    let row = read_row(reader, buf, &mut skip);
                    let before = self.rows_seen;
                    self.rows_seen = self.rows_seen.saturating_add(granted.max(1));
                    if let Some((c0, c1)) = row.values {
                        self.first_row.get_or_insert(before);
                        self.last_row = self.rows_seen;
                        self.first_col = Some(self.first_col.map_or(c0, |c| c.min(c0)));
                        self.end_col = self.end_col.max(c1);
                    }
                    // calamine keeps the row once while reading and copies
                    // it once per granted repeat into the grid.
                    let copies = granted.max(1);
                    self.text = self.text.saturating_add(row.text.saturating_mul(copies));
                    if let (None, Some((column, formula))) = (self.too_long, row.too_long) {
                        self.too_long = Some(LongCell {
                            row: before.saturating_add(1),
                            column,
                            formula,
                        });
                    }
                    if row.stored > 0 {
                        self.stored += row.stored;
                        self.stored_rows += 1;
                        self.widest = self.widest.max(row.stored);
                    }
                    if row.stored > 0 || row.too_long.is_some() {
                        check(self)?;
                    }
                    if !row.complete {
                        return Ok(false);
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
    /// Bytes of text of the kept cells, column repeats included.
    text: u64,
    /// The first cell too long: its column and whether its formula is.
    too_long: Option<(u64, bool)>,
    /// Whether `</table:table-row>` was reached (not the end of the XML or
    /// an XML error).
    complete: bool,
}

/// Reads the cells of a row up to `</table:table-row>`, the end of the XML
/// or an XML error.
fn read_row<B: BufRead>(
    reader: &mut XmlReader<B>,
    buf: &mut Vec<u8>,
    skip: &mut Vec<u8>,
) -> RowScan {
    let mut row = RowScan {
        stored: 0,
        values: None,
        text: 0,
        too_long: None,
        complete: false,
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
                let (cell, closed) = read_cell(reader, &e, skip);
                row.stored += pending_empty;
                if row.too_long.is_none() {
                    let max = limits::MAX_CELL_CHARS as u64;
                    if cell.value.chars > max {
                        row.too_long = Some((row.stored, false));
                    } else if cell.formula.chars > max {
                        row.too_long = Some((row.stored, true));
                    }
                }
                let n = n.min(CALAMINE_MAX_COLUMNS - row.stored);
                if cell.filled {
                    if n > 0 {
                        let (c0, _) = row.values.unwrap_or((row.stored, 0));
                        row.values = Some((c0, row.stored + n));
                    }
                    let bytes = cell.value.bytes.saturating_add(cell.formula.bytes);
                    row.text = row.text.saturating_add(bytes.saturating_mul(n));
                    row.stored += n;
                    pending_empty = 0;
                } else {
                    pending_empty = n;
                }
                if !closed {
                    return row;
                }
            }
            Ok(Event::End(e)) if e.name() == QName("table:table-row") => {
                row.complete = true;
                return row;
            }
            Ok(Event::Eof) | Err(_) => return row,
            Ok(_) => {}
        }
    }
}

/// Characters and bytes of one text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Text {
    chars: u64,
    bytes: u64,
}

impl Text {
    fn of(s: &str) -> Text {
        Text {
            chars: s.chars().count() as u64,
            bytes: s.len() as u64,
        }
    }

    /// An attribute value, unescaped as calamine does (raw if it cannot
    /// be: calamine then fails).
    fn of_attr(raw: &str) -> Text {
        match quick_xml::escape::unescape(raw) {
            Ok(v) => Text::of(&v),
            Err(_) => Text::of(raw),
        }
    }

    fn add(&mut self, chars: u64, bytes: u64) {
        self.chars = self.chars.saturating_add(chars);
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

/// One cell as calamine reads it.
#[derive(Debug, Default)]
struct CellScan {
    /// Whether calamine keeps it as non-empty (a value or a formula).
    filled: bool,
    /// The value's text (none for numbers and booleans).
    value: Text,
    /// The formula.
    formula: Text,
}

/// What one event inside a string cell's content does.
enum Step {
    Add(u64),
    Paragraph,
    Annotation,
    End,
    Stop,
    Skip,
}

/// Reads a cell whose start tag `e` was just read, as calamine's
/// `get_datatype` does, up to its end; `false` with what was counted so far
/// at the end of the XML or an XML error.
fn read_cell<B: BufRead>(
    reader: &mut XmlReader<B>,
    e: &BytesStart<'_>,
    buf: &mut Vec<u8>,
) -> (CellScan, bool) {
    let mut cell = CellScan::default();
    let (mut value_set, mut is_string, mut is_error, mut empty_string) =
        (false, false, false, false);
    for a in e.attributes().with_checks(false).flatten() {
        match a.key.as_ref() {
            "office:value" | "office:boolean-value" if !value_set => value_set = true,
            key @ ("office:string-value" | "office:date-value" | "office:time-value")
                if !value_set =>
            {
                cell.value = Text::of_attr(&a.value);
                empty_string = key == "office:string-value" && cell.value.bytes == 0;
                value_set = true;
            }
            "office:value-type" if !value_set => is_string = a.value.as_ref() == "string",
            "calcext:value-type" => is_error = a.value.as_ref() == "error",
            "table:formula" => cell.formula = Text::of_attr(&a.value),
            _ => {}
        }
    }
    cell.filled = value_set || cell.formula.bytes > 0;
    if !(!value_set && is_string || is_error && empty_string) {
        let end = e.name().as_ref().to_owned();
        buf.clear();
        let closed = reader.read_to_end_into(QName(&end), buf).is_ok();
        return (cell, closed);
    }
    // The content is the value (a string, maybe empty).
    cell.filled = true;
    cell.value = Text::default();
    let mut first_paragraph = true;
    loop {
        buf.clear();
        let step = match reader.read_event_into(buf) {
            Ok(Event::Text(t)) => {
                let t = t.xml10_content();
                cell.value.add(t.chars().count() as u64, t.len() as u64);
                Step::Skip
            }
            // One character: a predefined entity or a character reference
            // (calamine fails on others; they count as their own length).
            Ok(Event::GeneralRef(r)) => {
                let bytes = match quick_xml::escape::resolve_xml_entity(&r) {
                    Some(s) => s.len(),
                    None => match r.resolve_char_ref() {
                        Ok(Some(c)) => c.len_utf8(),
                        _ => r.len() + 2,
                    },
                };
                cell.value.add(1, bytes as u64);
                Step::Skip
            }
            Ok(Event::End(e))
                if e.name() == QName("table:table-cell")
                    || e.name() == QName("table:covered-table-cell") =>
            {
                Step::End
            }
            Ok(Event::Start(e)) => match e.name().as_ref() {
                "office:annotation" => Step::Annotation,
                "text:p" => Step::Paragraph,
                // calamine parses `text:c` as i32 and fails on a larger
                // number; a negative one is no space.
                "text:s" => Step::Add(match attr(&e, "text:c") {
                    None => 1,
                    Some(c) => c.parse().unwrap_or(0),
                }),
                "text:tab" | "text:line-break" => Step::Add(1),
                _ => Step::Skip,
            },
            Ok(Event::Eof) | Err(_) => Step::Stop,
            Ok(_) => Step::Skip,
        };
        match step {
            Step::Add(n) => cell.value.add(n, n),
            Step::Paragraph if first_paragraph => first_paragraph = false,
            Step::Paragraph => cell.value.add(1, 1),
            // calamine skips an annotation up to its first end tag.
            Step::Annotation => loop {
                buf.clear();
                match reader.read_event_into(buf) {
                    Ok(Event::End(e)) if e.name() == QName("office:annotation") => break,
                    Ok(Event::Eof) | Err(_) => return (cell, false),
                    Ok(_) => {}
                }
            },
            Step::End => return (cell, true),
            Step::Stop => return (cell, false),
            Step::Skip => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The extents of every named table of a `content.xml`, without limits:
    /// what the tests compare with calamine's own reading.
    fn table_extents<B: BufRead>(xml: B) -> Vec<(String, Extent)> {
        scan(xml, false).unwrap_or_default()
    }

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
                assert_eq!(e.text, calamine_text(&mut book, &name), "{f} {name}");
                assert!(e.text > 0, "{f} {name}");
            }
            check_ods(std::io::Cursor::new(&bytes)).unwrap();
        }
    }

    /// Bytes of text in calamine's value and formula grids of `sheet`.
    fn calamine_text<R: Read + Seek>(book: &mut calamine::Ods<R>, sheet: &str) -> u64 {
        use calamine::{Data, Reader};
        let values: usize = book
            .worksheet_range(sheet)
            .unwrap()
            .used_cells()
            .map(|(_, _, d)| match d {
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.len(),
                _ => 0,
            })
            .sum();
        let formulas: usize = book
            .worksheet_formula(sheet)
            .unwrap()
            .used_cells()
            .map(|(_, _, f)| f.len())
            .sum();
        (values + formulas) as u64
    }

    /// A minimal `.ods` zip whose only table, `S`, is `table`.
    fn ods(table: &str) -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("mimetype", opts).unwrap();
        w.write_all(ODS_MIMETYPE).unwrap();
        w.start_file("META-INF/manifest.xml", opts).unwrap();
        w.write_all(b"<manifest:manifest/>").unwrap();
        w.start_file("content.xml", opts).unwrap();
        write!(
            w,
            "<office:document-content><office:body><office:spreadsheet>\
             <table:table table:name=\"S\">{table}</table:table>\
             </office:spreadsheet></office:body></office:document-content>"
        )
        .unwrap();
        w.finish().unwrap().into_inner()
    }

    fn string_cell(repeat: u64, text: &str) -> String {
        format!(
            "<table:table-cell office:value-type=\"string\" \
             table:number-columns-repeated=\"{repeat}\"><text:p>{text}</text:p></table:table-cell>"
        )
    }

    fn refusal(table: &str) -> Refusal {
        let xml = format!("<r><table:table table:name=\"S\">{table}</table:table></r>");
        scan(xml.as_bytes(), true).unwrap_err()
    }

    #[test]
    fn the_text_counted_is_the_text_calamine_builds() {
        // Paragraphs, spaces, tabs, line breaks, entities, annotations, a
        // value attribute before or after the value type, an error cell,
        // dates and formulas; repeats across columns and rows.
        let cells = [
            "<table:table-cell office:value-type=\"string\"><text:p>a<text:s/>b<text:s text:c=\"5\"/>\
             <text:tab/>&amp;&#x3042;<text:span>漢字</text:span></text:p><text:p>x<text:line-break/>y</text:p>\
             <office:annotation><text:p>not kept<text:s text:c=\"900\"/></text:p></office:annotation>\
             <text:p/></table:table-cell>",
            "<table:table-cell office:value-type=\"string\" office:string-value=\"attr &lt;wins&gt;\">\
             <text:p>content not read</text:p></table:table-cell>",
            "<table:table-cell office:string-value=\"first\" office:value-type=\"string\"/>",
            "<table:table-cell office:value-type=\"float\" office:value=\"3\" \
             table:formula=\"of:=[.A1]&amp;&quot;x&quot;\" table:number-columns-repeated=\"3\"/>",
            "<table:table-cell office:value-type=\"string\" office:string-value=\"\" \
             calcext:value-type=\"error\" table:formula=\"of:=1/0\"><text:p>#DIV/0!</text:p></table:table-cell>",
            "<table:table-cell office:value-type=\"date\" office:date-value=\"2024-04-01\"/>",
            "<table:table-cell office:value-type=\"time\" office:time-value=\"PT01H02M00S\"/>",
            "<table:covered-table-cell office:value-type=\"string\"><text:p>c</text:p></table:covered-table-cell>",
            "<table:table-cell office:value-type=\"boolean\" office:boolean-value=\"true\"/>",
            "<table:table-cell table:number-columns-repeated=\"4\"/>",
            "<table:table-cell office:value-type=\"string\"/>",
            "<table:table-cell office:value-type=\"float\"/>",
        ]
        .concat();
        let table = format!(
            "<table:table-header-rows>{}</table:table-header-rows>{}\
             <table:table-row-group>{}</table:table-row-group>{}",
            row(1, &string_cell(2, "見出し")),
            row(3, &cells),
            row(2, &format!("{}{}", empty(2), string_cell(1, "z"))),
            row(5, &empty(10)),
        );
        let bytes = ods(&table);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let ours = table_extents(BufReader::new(zip.by_name("content.xml").unwrap()));
        use calamine::Reader;
        let mut book: calamine::Ods<_> = calamine::Ods::new(std::io::Cursor::new(&bytes)).unwrap();
        let theirs = calamine_text(&mut book, "S");
        assert!(theirs > 200, "{theirs}");
        assert_eq!(ours[0].1.text, theirs);
        assert_eq!(ours[0].1.too_long, None);
        check_ods(std::io::Cursor::new(&bytes)).unwrap();
    }

    #[test]
    fn a_repeated_long_string_is_refused() {
        let long = "x".repeat(10_000);
        // 10,000 bytes × 16,384 columns × 7 rows: 1.15 GB, over 1 GiB,
        // though only 114,688 cells.
        let table = row(7, &string_cell(16_384, &long));
        let e = extents(&table);
        assert_eq!(e.text, 10_000 * 16_384 * 7);
        assert_eq!((e.rows, e.columns), (7, 16_384));
        let r = refusal(&table);
        assert_eq!(r.sheet, "S");
        assert!(
            r.message.contains("シートの文字列が多すぎます")
                && r.message.contains("limit 1073741824 bytes"),
            "{}",
            r.message
        );
        assert!(!r.message.contains("xxx"), "{}", r.message);
        // 6 rows (983 MB) pass; so does the string value attribute and a
        // formula counted with it.
        let e = extents(&row(6, &string_cell(16_384, &long)));
        e.check().unwrap();
        let formula = format!(
            "<table:table-cell office:value-type=\"string\" office:string-value=\"{long}\" \
             table:formula=\"of:={long}\" table:number-columns-repeated=\"16384\"/>"
        );
        let e = extents(&row(4, &formula));
        assert_eq!(e.text, 20_004 * 16_384 * 4);
        assert!(e.check().unwrap_err().contains("1250 MB"));
        // Column repeats are capped as calamine caps them, and row repeats
        // at 1,048,576 rows; a row past that cap is still kept once.
        let e = extents(&format!(
            "{}{}",
            row(1_048_576, &value(1)),
            row(1_000, &string_cell(100_000, "abc"))
        ));
        assert_eq!(e.text, 3 * 16_384);
    }

    #[test]
    fn the_tables_text_is_limited_together() {
        let t = row(2, &string_cell(16_384, &"y".repeat(20_000)));
        let e = extents(&t);
        assert_eq!(e.text, 655_360_000);
        e.check().unwrap();
        let xml = format!(
            "<r><table:table table:name=\"A\">{t}</table:table>\
             <table:table table:name=\"B\">{t}</table:table></r>"
        );
        let r = scan(xml.as_bytes(), true).unwrap_err();
        assert_eq!(r.sheet, "B");
        assert!(r.message.contains("ブック全体の文字列"), "{}", r.message);
    }

    #[test]
    fn a_huge_text_s_is_refused_naming_row_and_column() {
        let spaces = |c: &str| {
            format!(
                "{}{}",
                row(2, &value(1)),
                row(
                    1,
                    &format!(
                        "{}<table:table-cell office:value-type=\"string\"><text:p>a\
                         <text:s text:c=\"{c}\"/></text:p></table:table-cell>",
                        value(1)
                    )
                )
            )
        };
        let r = refusal(&spaces("2000000000"));
        assert!(
            r.message
                .starts_with("3 行目 B 列: セルの文字数が上限 32767 字")
                && r.message.contains("cell longer than 32767 characters"),
            "{}",
            r.message
        );
        let e = extents(&spaces("2000000000"));
        assert_eq!(
            e.too_long,
            Some(LongCell {
                row: 3,
                column: 1,
                formula: false
            })
        );
        assert_eq!(e.text, 2_000_000_001);
        // Exactly 32,767 characters pass, one more does not.
        extents(&spaces("32766")).check().unwrap();
        assert!(extents(&spaces("32767")).check().is_err());
        // Refused even when the cell is cut short by the end of the XML
        // (calamine builds the spaces before it fails there).
        let cut = "<r><table:table table:name=\"S\"><table:table-row>\
                   <table:table-cell office:value-type=\"string\"><text:p>\
                   <text:s text:c=\"2000000000\"/>";
        let r = scan(cut.as_bytes(), true).unwrap_err();
        assert!(r.message.starts_with("1 行目 A 列"), "{}", r.message);
        // Skipped inside an annotation, as calamine skips it.
        let note = "<table:table-cell office:value-type=\"string\"><office:annotation>\
                    <text:p><text:s text:c=\"2000000000\"/></text:p></office:annotation>\
                    <text:p>ok</text:p></table:table-cell>";
        let e = extents(&row(1, note));
        assert_eq!((e.text, e.too_long), (2, None));
    }

    #[test]
    fn a_content_xml_ending_inside_a_table_is_refused() {
        // calamine 0.38 never returns on these (Eof inside `read_table`,
        // and inside an annotation of a string cell).
        for cut in [
            "<r><table:table table:name=\"S\"><table:table-row><table:table-cell/>\
             </table:table-row>",
            "<r><table:table table:name=\"S\"><table:table-row><table:table-cell \
             office:value-type=\"string\"><office:annotation><text:p>x",
            "<r><table:table table:name=\"S\">",
        ] {
            let r = scan(cut.as_bytes(), true).unwrap_err();
            assert_eq!(r.sheet, "S");
            assert!(r.message.contains("corrupt .ods"), "{}", r.message);
            // Counted all the same, without limits.
            assert_eq!(table_extents(cut.as_bytes()).len(), 1);
        }
        let whole = format!(
            "<r><table:table table:name=\"S\">{}</table:table>",
            row(1, &value(1))
        );
        scan(whole.as_bytes(), true).unwrap();
    }

    #[test]
    fn a_long_formula_is_refused() {
        let cell = format!(
            "<table:table-cell office:value-type=\"float\" office:value=\"1\" \
             table:formula=\"of:={}\"/>",
            "1+".repeat(20_000)
        );
        let r = refusal(&row(1, &cell));
        assert!(
            r.message.starts_with("1 行目 A 列: 数式の文字数")
                && r.message.contains("formula longer than 32767"),
            "{}",
            r.message
        );
    }

    #[test]
    fn overflow_sized_numbers_do_not_panic() {
        let max = u64::MAX;
        let cell = format!(
            "<table:table-cell office:value-type=\"string\" table:number-columns-repeated=\"{max}\">\
             <text:p><text:s text:c=\"{max}\"/><text:s text:c=\"{max}\"/>\
             <text:s text:c=\"99999999999999999999999\"/><text:s text:c=\"-3\"/></text:p>\
             </table:table-cell>"
        );
        let table = format!("{}{}", row(max, &cell), row(max, &cell));
        let e = extents(&table);
        assert_eq!((e.text, e.columns), (u64::MAX, 16_384));
        assert!(e.check().is_err());
        assert_eq!(
            e.too_long,
            Some(LongCell {
                row: 1,
                column: 0,
                formula: false
            })
        );
        assert!(refusal(&table).message.contains("シートの範囲"));
        // Repeats of u64::MAX with short text: refused by the text bound
        // (the extent check comes first here).
        let e = extents(&row(max, &string_cell(max, "abc")));
        assert_eq!(e.text, 3 * 16_384 * 1_048_576);
        assert!(e.check().unwrap_err().contains("シートの範囲"));
    }

    #[test]
    fn a_normal_sheet_with_repeats_and_short_strings_passes() {
        let table = format!(
            "{}{}{}{}",
            row(
                1,
                &format!(
                    "{}{}{}",
                    string_cell(1, "氏名"),
                    string_cell(1, "所属"),
                    empty(16_382)
                )
            ),
            row(
                500,
                &format!(
                    "{}{}{}",
                    string_cell(1, "山田"),
                    string_cell(1, "総務課"),
                    empty(16_382)
                )
            ),
            row(1, &format!("{}{}", string_cell(2, "同"), empty(16_382))),
            row(1_048_000, &empty(16_384)),
        );
        let e = extents(&table);
        assert_eq!(e.text, 6 + 6 + 500 * (6 + 9) + 2 * 3);
        assert_eq!(e.too_long, None);
        e.check().unwrap();
        let xml = format!("<r><table:table table:name=\"S\">{table}</table:table></r>");
        scan(xml.as_bytes(), true).unwrap();
    }
}
