//! Reading rows from spreadsheets and CSV files (the first pipeline stage).
//!
//! [`read_sheet`] turns one sheet of a workbook, or one delimited text file,
//! into a [`Sheet`]: the header texts of one header row and the data rows
//! below it, each cell as a raw [`Cell`] (no field checking happens here).
//!
//! # Formats
//!
//! The format is decided by the file's content, never by its extension:
//!
//! * zip magic (`PK\x03\x04`): an Office Open XML workbook (`.xlsx`, `.xlsm`),
//!   a binary workbook (`.xlsb`) or an OpenDocument spreadsheet (`.ods`);
//!   the readers are tried in that order, after the zip's sizes
//!   ([`limits::check_zip`]), an xlsx's declared shared strings
//!   ([`crate::input::xlsx_check`]) and, for ods, its tables ([`crate::input::ods_check`])
//!   were checked;
//! * OLE compound file magic (`D0 CF 11 E0 A1 B1 1A E1`): a legacy `.xls`
//!   workbook (a password-protected `.xlsx` is also an OLE file: it fails
//!   with a message saying so); its compound file structure is checked by
//!   [`crate::input::cfb_check`] and the size of its sheets by [`crate::input::xls_check`]
//!   before the spreadsheet library reads it;
//! * anything else: delimited text (CSV or TSV).
//!
//! # Workbooks
//!
//! * The sheet is chosen by [`SheetSelector`]; without one, the first visible
//!   worksheet is read. Names match exactly, or else after
//!   [`normalize_header`] folding if that gives exactly one sheet. Indexes
//!   count worksheets (chart and macro sheets excluded, hidden ones included)
//!   from 0.
//! * Row numbers are the 1-based row numbers Excel shows, also when the used
//!   range of the sheet does not start at `A1`.
//! * Formula cells give their cached values (as saved by the spreadsheet
//!   program).
//! * Number cells with a date or date-time format become [`Cell::Date`] with
//!   the serial number in the workbook's date system ([`Sheet::date1904`], read
//!   from `.xlsx`, `.xlsb` and `.xls` workbooks). Duration-formatted numbers
//!   (`[h]:mm`) stay [`Cell::Number`]. OpenDocument files store dates as ISO
//!   8601 strings, which become [`Cell::IsoDate`]; they have no date system, so
//!   `date1904` is `false` for them.
//! * Error values become [`Cell::Error`] with Excel's spelling (`#N/A`).
//!   calamine reads OpenDocument error cells as their display text, so in
//!   `.ods` files a text cell that is exactly an error literal (`#N/A`,
//!   `#DIV/0!`, `#VALUE!`, `#REF!`, `#NAME?`, `#NUM!`, `#NULL!`, `Err:502`)
//!   is taken as an error. LibreOffice has no boolean cells: its `TRUE` is
//!   [`Cell::Number`] `1`.
//!
//! # Delimited text
//!
//! * Encoding by content: UTF-8 BOM → UTF-8; UTF-16 LE/BE BOM → UTF-16;
//!   valid UTF-8 → UTF-8; otherwise Shift_JIS as Windows code page 932
//!   (`encoding_rs::SHIFT_JIS`, which includes the NEC and IBM extensions such
//!   as `①`, `㈱`, `髙`, `﨑`). Bytes that decode in none of these are an error
//!   giving the byte offset (counted from 0, from the start of the file) and
//!   the line of the first undecodable sequence.
//! * Delimiter: a tab if the header line contains a tab and no comma,
//!   otherwise a comma.
//! * Quoting as Excel writes it (`"` around fields, `""` inside); quoted
//!   fields may contain line breaks. A row's number is the 1-based line
//!   number on which its record starts, so `header_row` counts lines.
//! * All cells are [`Cell::Text`], except empty fields, which are
//!   [`Cell::Empty`]. [`Sheet::sheet`] is empty.
//!
//! # The table
//!
//! * Rows above `header_row` (a title row, say) are ignored.
//! * The table's columns run from the first to the last non-empty cell of the
//!   header row; empty header cells in between are kept as `""`.
//! * Data rows whose cells are all empty or white space are skipped.
//! * Every row has exactly one cell per header (padded with [`Cell::Empty`]).
//!   A non-empty cell outside the header's columns is an error naming the row
//!   and column: data is never dropped silently.
//!
//! Error messages are in Japanese with an English gloss, name the file (and
//! sheet) and never contain cell values, which may be personal data.

mod cell;
pub(crate) mod cfb_check;
mod delimited;
mod header;
pub mod limits;
pub(crate) mod ods_check;
mod shared_file;
mod table;
mod text_encoding;
mod workbook;
pub(crate) mod xls_check;
pub(crate) mod xlsx_check;

use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};

pub use crate::input::cell::{serial_to_date, Cell};
pub(crate) use crate::input::header::{closest_header, normalize_header};
pub use crate::input::table::column_letters;

use crate::files::RegularFile;
use crate::input::delimited::read_delimited;
use crate::input::shared_file::SharedFile;
use crate::input::workbook::{check_ole, read_workbook_guarded, WorkbookKind};

/// Which sheet of a workbook to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetSelector {
    /// By its tab name.
    Name(String),
    /// By position, 0 = first.
    Index(usize),
}

/// A data row with its 1-based row number in the sheet (as Excel shows it).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based row number as shown by Excel / the CSV line number of the record.
    pub number: u32,
    /// Cells, one per header column (padded with [`Cell::Empty`]).
    pub cells: Vec<Cell>,
}

/// The table read from one sheet: headers and data rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The file it came from.
    pub file: PathBuf,
    /// The sheet name (for CSV files: empty).
    pub sheet: String,
    /// Header texts as written in the file.
    pub headers: Vec<String>,
    /// Whether the workbook uses the 1904 date system.
    pub date1904: bool,
    /// Data rows below the header row, blank rows skipped.
    pub rows: Vec<Row>,
}

/// What is known of a sheet before its data rows: everything of a [`Sheet`]
/// but the rows. [`stream_sheet`] hands it to its row callback.
#[derive(Debug, Clone)]
pub struct SheetHead {
    /// The file it came from.
    pub file: PathBuf,
    /// The sheet name (for CSV files: empty).
    pub sheet: String,
    /// Header texts as written in the file.
    pub headers: Vec<String>,
    /// Whether the workbook uses the 1904 date system.
    pub date1904: bool,
    /// How many rows the sheet spans, when known before its rows are read
    /// (an upper bound of the data rows, for sizing tables and progress).
    pub rows_hint: Option<usize>,
}

impl Sheet {
    /// A sheet from its head and rows.
    pub(crate) fn from_head(head: SheetHead, rows: Vec<Row>) -> Sheet {
        Sheet {
            file: head.file,
            sheet: head.sheet,
            headers: head.headers,
            date1904: head.date1904,
            rows,
        }
    }

    /// The sheet without its rows.
    pub(crate) fn head(&self) -> SheetHead {
        SheetHead {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            headers: self.headers.clone(),
            date1904: self.date1904,
            rows_hint: Some(self.rows.len()),
        }
    }
}

/// Called with each data row, in sheet order, by [`stream_sheet`]; returns
/// `false` to stop reading.
pub(crate) type OnRow<'a> = dyn FnMut(&SheetHead, Row) -> bool + 'a;

/// Why a file could not be read.
#[derive(Debug)]
pub struct SourceError {
    /// The file.
    pub file: PathBuf,
    /// What went wrong, in Japanese with an English gloss.
    pub message: String,
    /// The system's error, when the file could not be opened or read (the
    /// caller may add how to name another file).
    pub source: Option<std::io::Error>,
}

impl SourceError {
    fn new(file: &Path, message: impl Into<String>) -> Self {
        SourceError {
            file: file.to_path_buf(),
            message: message.into(),
            source: None,
        }
    }

    /// The file could not be opened or read: named by its full path.
    fn unreadable(file: &Path, e: std::io::Error) -> Self {
        SourceError {
            file: crate::error::full_path(file),
            message: format!("読めません (cannot read): {}", crate::error::io_reason(&e)),
            source: Some(e),
        }
    }

    /// An error about one sheet of a workbook (`sheet` empty for CSV).
    fn in_sheet(file: &Path, sheet: &str, message: impl fmt::Display) -> Self {
        if sheet.is_empty() {
            SourceError::new(file, message.to_string())
        } else {
            SourceError::new(file, format!("シート「{sheet}」: {message}"))
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// Where the header row is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderRow {
    /// At this 1-based row (CSV: line).
    At(u32),
    /// At this 1-based row, which should hold these headers: when it holds
    /// none of them, or another row near it holds them all, the error says
    /// so (and which row) instead of failing later on the data rows.
    Pinned {
        /// The row.
        row: u32,
        /// The mapped headers.
        wanted: Vec<String>,
    },
    /// The first of the first [`HEADER_SEARCH_ROWS`] non-blank rows that
    /// contains every one of these headers (compared after
    /// [`normalize_header`]); for sheets with title rows of varying height.
    Find(Vec<String>),
}

impl HeaderRow {
    /// The row given by the job, if one is.
    pub(crate) fn given_row(&self) -> Option<u32> {
        match self {
            HeaderRow::At(row) | HeaderRow::Pinned { row, .. } => Some(*row),
            HeaderRow::Find(_) => None,
        }
    }
}

/// How many rows [`HeaderRow::Find`] looks at.
pub(crate) const HEADER_SEARCH_ROWS: usize = 20;

/// Reads one sheet of `path`; `header_row` is 1-based.
///
/// `sheet` chooses the sheet of a workbook (ignored for delimited text);
/// `None` reads the first visible worksheet. See the [module
/// documentation](self) for the formats, encodings and table rules.
pub fn read_sheet(
    path: &Path,
    sheet: Option<&SheetSelector>,
    header_row: u32,
) -> Result<Sheet, SourceError> {
    read_sheet_with(path, sheet, &HeaderRow::At(header_row))
}

/// Reads one sheet of `path` with the header row given or searched for.
pub(crate) fn read_sheet_with(
    path: &Path,
    sheet: Option<&SheetSelector>,
    header: &HeaderRow,
) -> Result<Sheet, SourceError> {
    let mut rows = Vec::new();
    let head = stream_sheet(path, sheet, header, &mut |_, row| {
        rows.push(row);
        true
    })?;
    Ok(Sheet::from_head(head, rows))
}

/// Reads one sheet of `path` row by row: `on_row` gets every data row in
/// sheet order and the rows are not kept, so memory does not grow with the
/// number of rows for `.xlsx`, `.xlsb` and delimited text (`.xls` and `.ods`
/// sheets are read whole by the spreadsheet library first). Returns the
/// sheet's head; the same rules, limits and errors as [`read_sheet_with`].
/// Rows handed out before an error stay handed out: the caller decides what
/// a failed read means for them.
pub(crate) fn stream_sheet(
    path: &Path,
    sheet: Option<&SheetSelector>,
    header: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    if header.given_row() == Some(0) {
        return Err(SourceError::new(
            path,
            "ヘッダー行は 1 以上で指定してください (header row must be 1 or more)",
        ));
    }
    let open_err = |e: std::io::Error| SourceError::unreadable(path, e);
    // Only a regular file, checked on the opened handle: a FIFO or a device
    // such as /dev/zero would block or never end.
    let opened = RegularFile::open(path).map_err(open_err)?;
    limits::check_input_size(opened.len).map_err(|m| SourceError::new(path, m))?;
    // Workbooks are read from the file as the spreadsheet library needs
    // them, and delimited text in two streaming passes (its encoding is
    // decided on all of it first): neither is copied into memory whole.
    let file = SharedFile::new(opened).map_err(open_err)?;
    let mut magic = [0u8; 8];
    let got = file.read_at(&mut magic, 0).map_err(open_err)?;
    let magic = &magic[..got];
    if magic.starts_with(ZIP_MAGIC) {
        limits::check_zip_reader(file.clone()).map_err(|m| SourceError::new(path, m))?;
        read_workbook_guarded(path, file, WorkbookKind::Zip, sheet, header, on_row)
    } else if magic.starts_with(OLE_MAGIC) {
        check_ole(path, file.clone())?;
        read_workbook_guarded(path, file, WorkbookKind::Ole, sheet, header, on_row)
    } else {
        read_delimited(path, file, header, on_row)
    }
}

/// Reads one sheet from the bytes of a file (`path` only names it in
/// errors): the same as [`read_sheet_with`] after the file was read. The
/// input limits ([`crate::input::limits`]) apply.
pub fn read_sheet_bytes(
    path: &Path,
    bytes: &[u8],
    sheet: Option<&SheetSelector>,
    header: &HeaderRow,
) -> Result<Sheet, SourceError> {
    let mut rows = Vec::new();
    let head = stream_sheet_bytes(path, bytes, sheet, header, &mut |_, row| {
        rows.push(row);
        true
    })?;
    Ok(Sheet::from_head(head, rows))
}

/// [`stream_sheet`] on the bytes of a file.
fn stream_sheet_bytes(
    path: &Path,
    bytes: &[u8],
    sheet: Option<&SheetSelector>,
    header: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    if header.given_row() == Some(0) {
        return Err(SourceError::new(
            path,
            "ヘッダー行は 1 以上で指定してください (header row must be 1 or more)",
        ));
    }
    limits::check_input_size(bytes.len() as u64).map_err(|m| SourceError::new(path, m))?;
    if bytes.starts_with(ZIP_MAGIC) {
        limits::check_zip(bytes).map_err(|m| SourceError::new(path, m))?;
        read_workbook_guarded(
            path,
            Cursor::new(bytes),
            WorkbookKind::Zip,
            sheet,
            header,
            on_row,
        )
    } else if bytes.starts_with(OLE_MAGIC) {
        check_ole(path, Cursor::new(bytes))?;
        read_workbook_guarded(
            path,
            Cursor::new(bytes),
            WorkbookKind::Ole,
            sheet,
            header,
            on_row,
        )
    } else {
        read_delimited(path, Cursor::new(bytes), header, on_row)
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::table::format_number;
    use chrono::Datelike;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/source")
            .join(name)
    }

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/zaishoku")
            .join(name)
    }

    /// Writes `bytes` to a fresh temporary file and returns its path.
    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chohyo-source-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn text(c: &Cell) -> Option<&str> {
        match c {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A cell as comparable text: dates as `y/m/d` like Excel's CSV save.
    fn as_csv_text(c: &Cell, date1904: bool) -> String {
        match c {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(f) => format_number(*f),
            Cell::Date(f) => {
                let d = serial_to_date(*f, date1904).expect("date in range");
                format!("{}/{}/{}", d.year(), d.month(), d.day())
            }
            Cell::IsoDate(s) => {
                let d = chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").unwrap();
                format!("{}/{}/{}", d.year(), d.month(), d.day())
            }
            other => panic!("unexpected cell {other:?}"),
        }
    }

    #[test]
    fn sample_xlsx_and_cp932_csv_agree() {
        let x = read_sheet(
            &sample("requests.xlsx"),
            Some(&SheetSelector::Name("申請一覧".into())),
            2,
        )
        .unwrap();
        let c = read_sheet(&sample("requests_cp932.csv"), None, 1).unwrap();
        // The columns the sample job maps, in the sample's order.
        let job = std::fs::read_to_string(sample("job.toml")).unwrap();
        let expected = crate::job::field_columns(&job).unwrap();
        assert_eq!(expected.len(), 12);
        assert_eq!(x.headers, expected);
        assert_eq!(c.headers, expected);
        assert_eq!(x.sheet, "申請一覧");
        assert_eq!(c.sheet, "");
        assert!(!x.date1904);
        assert_eq!(x.rows.len(), 50);
        assert_eq!(c.rows.len(), 50);
        // xlsx: title row 1, header row 2, data from row 3; CSV: data from line 2.
        assert_eq!(x.rows[0].number, 3);
        assert_eq!(x.rows[49].number, 52);
        assert_eq!(c.rows[0].number, 2);
        assert_eq!(c.rows[49].number, 51);
        for (xr, cr) in x.rows.iter().zip(&c.rows) {
            assert_eq!(xr.cells.len(), 12);
            assert_eq!(cr.cells.len(), 12);
            let xt: Vec<String> = xr.cells.iter().map(|c| as_csv_text(c, false)).collect();
            let ct: Vec<String> = cr.cells.iter().map(|c| as_csv_text(c, false)).collect();
            assert_eq!(xt, ct, "xlsx row {} vs csv line {}", xr.number, cr.number);
            for cell in &cr.cells {
                assert!(matches!(cell, Cell::Text(_) | Cell::Empty));
            }
        }
        // Real date cells, except the deliberately bad text date in data row 27.
        assert!(matches!(x.rows[0].cells[4], Cell::Date(_)));
        assert!(matches!(x.rows[0].cells[10], Cell::Date(_)));
        assert_eq!(text(&x.rows[26].cells[4]), Some("1990/2/30"));
        // The other bad rows: empty 氏名 (row 12), malformed 郵便番号 (row 41).
        assert_eq!(x.rows[11].cells[1], Cell::Empty);
        assert_eq!(c.rows[11].cells[1], Cell::Empty);
        assert_eq!(text(&c.rows[40].cells[5]), Some("153-005"));
        // CP932 extension characters survived the round trip.
        let all: String = c
            .rows
            .iter()
            .flat_map(|r| r.cells.iter().filter_map(text))
            .collect();
        assert!(all.contains('髙'));
        assert!(all.contains('﨑'));
        assert_eq!(text(&c.rows[0].cells[0]), Some("R2025-0001"));
    }

    #[test]
    fn utf8_bom_plain_and_utf16_csv() {
        let body = "氏名,生年月日\r\n山田 太郎,1990/4/1\r\n";
        let expect = |p: &Path| {
            let s = read_sheet(p, None, 1).unwrap();
            assert_eq!(s.headers, ["氏名", "生年月日"]);
            assert_eq!(s.rows.len(), 1);
            assert_eq!(s.rows[0].number, 2);
            assert_eq!(
                s.rows[0].cells,
                [
                    Cell::Text("山田 太郎".into()),
                    Cell::Text("1990/4/1".into())
                ]
            );
        };
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(body.as_bytes());
        expect(&temp_file("bom.csv", &bom));
        expect(&temp_file("plain.csv", body.as_bytes()));
        let mut le = vec![0xFF, 0xFE];
        le.extend(body.encode_utf16().flat_map(|u| u.to_le_bytes()));
        expect(&temp_file("utf16le.csv", &le));
        let mut be = vec![0xFE, 0xFF];
        be.extend(body.encode_utf16().flat_map(|u| u.to_be_bytes()));
        expect(&temp_file("utf16be.txt", &be));
    }

    #[test]
    fn utf16_tab_separated() {
        let body = "氏名\t住所\r\n佐藤 花子\t東京都目黒区上目黒2丁目1-1, 101\r\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(body.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let s = read_sheet(&temp_file("unicode.txt", &le), None, 1).unwrap();
        assert_eq!(s.headers, ["氏名", "住所"]);
        assert_eq!(
            text(&s.rows[0].cells[1]),
            Some("東京都目黒区上目黒2丁目1-1, 101")
        );
    }

    #[test]
    fn cp932_specials_decode() {
        // 備考,会社 / ①,㈱ / 髙橋～
        let bytes: &[u8] = b"\x94\xf5\x8d\x6c,\x89\xef\x8e\xd0\r\n\x87\x40,\x87\x8a\r\n\xfb\xfc\x8b\xb4\x81\x60,\xfa\xb1\r\n";
        let s = read_sheet(&temp_file("cp932.csv", bytes), None, 1).unwrap();
        assert_eq!(s.headers, ["備考", "会社"]);
        assert_eq!(text(&s.rows[0].cells[0]), Some("①"));
        assert_eq!(text(&s.rows[0].cells[1]), Some("㈱"));
        assert_eq!(text(&s.rows[1].cells[0]), Some("髙橋\u{FF5E}"));
        assert_eq!(text(&s.rows[1].cells[1]), Some("﨑"));
        assert_eq!(s.rows[1].number, 3);
    }

    #[test]
    fn undecodable_bytes_give_offset() {
        // "氏名\r\n" in CP932, then a lead byte followed by a control byte.
        let bytes: &[u8] = b"\x8e\x81\x96\xbc\r\nab\x81\x0a\r\n";
        let err = read_sheet(&temp_file("bad.csv", bytes), None, 1).unwrap_err();
        assert!(err.message.contains("offset 8"), "{}", err.message);
        assert!(err.message.contains("line 2"), "{}", err.message);
        assert!(err.message.contains("文字コード"), "{}", err.message);
        // 0xFF is never valid in CP932.
        let bytes: &[u8] = b"a,b\r\n\x82\xa0\xff\r\n";
        let err = read_sheet(&temp_file("bad2.csv", bytes), None, 1).unwrap_err();
        assert!(err.message.contains("offset 7"), "{}", err.message);
        // Broken UTF-8 after valid UTF-8 Japanese is reported as UTF-8.
        let mut bytes = "氏名\n山田,".as_bytes().to_vec();
        bytes.push(0xE3);
        bytes.push(b',');
        let err = read_sheet(&temp_file("bad3.csv", &bytes), None, 1).unwrap_err();
        assert!(
            err.message.contains("offset 14 as UTF-8"),
            "{}",
            err.message
        );
        // UTF-16 with an unpaired surrogate.
        let bytes: &[u8] = &[0xFF, 0xFE, b'a', 0, 0x00, 0xDC, b'b', 0];
        let err = read_sheet(&temp_file("bad4.csv", bytes), None, 1).unwrap_err();
        assert!(err.message.contains("offset 4"), "{}", err.message);
        assert!(err.to_string().contains("bad4.csv"));
    }

    #[test]
    fn blank_rows_skipped_with_csv_line_numbers() {
        let body = "タイトル\r\n氏名,所属,\r\n佐藤,総務部\r\n,\r\n\r\n\"鈴木\r\n次郎\",\"区民部\"\r\n　, \r\n田中\r\n";
        let s = read_sheet(&temp_file("blank.csv", body.as_bytes()), None, 2).unwrap();
        assert_eq!(s.headers, ["氏名", "所属"]);
        let numbers: Vec<u32> = s.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [3, 6, 9]);
        assert_eq!(text(&s.rows[1].cells[0]), Some("鈴木\r\n次郎"));
        assert_eq!(s.rows[2].cells, [Cell::Text("田中".into()), Cell::Empty]);
    }

    /// Line numbers and decode errors far past the first pass's chunk and
    /// the CSV reader's buffer (both streaming): the numbers are counted
    /// here independently, line by line.
    #[test]
    fn csv_lines_are_numbered_across_buffers() {
        let mut body = String::from("氏名,所属\n");
        let mut expected = Vec::new();
        let mut line = 2u32;
        for i in 0..150_000u32 {
            match i % 7 {
                // A blank line before the row.
                3 => {
                    body.push_str("\r\n");
                    line += 1;
                }
                // A value over two lines.
                5 => {
                    body.push_str(&format!("\"職員{i}\n続き\",区民部\r\n"));
                    expected.push(line);
                    line += 2;
                    continue;
                }
                _ => {}
            }
            let end = if i % 2 == 0 { "\n" } else { "\r\n" };
            body.push_str(&format!("職員{i},総務部{end}"));
            expected.push(line);
            line += 1;
        }
        assert!(body.len() > 2 << 20);
        let s = read_sheet(&temp_file("long.csv", body.as_bytes()), None, 1).unwrap();
        let numbers: Vec<u32> = s.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers.len(), expected.len());
        assert_eq!(numbers, expected);
        // A broken byte 3 MB in: its offset and line, and no row handed out
        // with a replacement character (the file is refused first).
        let mut bytes = body.clone().into_bytes();
        let lines_before = bytes.iter().filter(|&&b| b == b'\n').count();
        let offset = bytes.len();
        bytes.extend_from_slice(b"\xE3,x\n");
        let err = read_sheet(&temp_file("long-bad.csv", &bytes), None, 1).unwrap_err();
        let want = format!("{offset} バイト目の位置 ({} 行目", lines_before + 1);
        assert!(err.message.contains(&want), "{}", err.message);
    }

    #[test]
    fn value_beyond_headers_is_an_error_without_the_value() {
        let body = "氏名,所属\r\n佐藤,総務部,秘密のメモ\r\n";
        let err = read_sheet(&temp_file("extra.csv", body.as_bytes()), None, 1).unwrap_err();
        assert!(err.message.contains("2 行目 C 列"), "{}", err.message);
        assert!(!err.message.contains("秘密"));
    }

    #[test]
    fn header_row_is_found_below_a_title() {
        let wanted = vec!["申請番号".to_string(), "氏　名".to_string()];
        let x = read_sheet_with(
            &sample("requests.xlsx"),
            None,
            &HeaderRow::Find(wanted.clone()),
        )
        .unwrap();
        assert_eq!(x.headers[0], "申請番号");
        assert_eq!(x.rows[0].number, 3);
        let c = read_sheet_with(
            &sample("requests_cp932.csv"),
            None,
            &HeaderRow::Find(wanted),
        )
        .unwrap();
        assert_eq!(c.rows[0].number, 2);
        assert_eq!(x.rows.len(), c.rows.len());
        let e = read_sheet_with(
            &sample("requests.xlsx"),
            None,
            &HeaderRow::Find(vec!["存在しない".into()]),
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("ジョブの列の見出しをすべて持つ行がありません"),
            "{}",
            e.message
        );
    }

    #[test]
    fn failed_header_search_names_the_missing_column_and_the_closest_header() {
        let e = read_sheet_with(
            &sample("requests.xlsx"),
            None,
            &HeaderRow::Find(vec!["申請番号".into(), "氏名前".into()]),
        )
        .unwrap_err();
        assert!(
            e.message.contains("2 行目に「氏名前」がありません")
                && e.message.contains("もしかして「氏名」"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_corrupt_xls_that_panics_calamine_is_an_error() {
        // Found by the `workbook` fuzz target: calamine's OLE reader panics.
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions/workbook/calamine-cfb-panic");
        let bytes = std::fs::read(&path).unwrap();
        let e = read_sheet_bytes(&path, &bytes, None, &HeaderRow::At(1)).unwrap_err();
        assert!(e.message.contains("壊れて"), "{}", e.message);
    }

    #[test]
    fn header_row_errors() {
        let p = temp_file("hdr.csv", b"a,b\r\n1,2\r\n");
        let err = read_sheet(&p, None, 3).unwrap_err();
        assert!(
            err.message.contains("ヘッダー行 3 が空です"),
            "{}",
            err.message
        );
        assert!(read_sheet(&p, None, 0).is_err());
        let s = read_sheet(&p, None, 2).unwrap();
        assert_eq!(s.headers, ["1", "2"]);
        assert!(s.rows.is_empty());
        let err = read_sheet(Path::new("/nonexistent/x.csv"), None, 1).unwrap_err();
        assert!(err.message.contains("読めません"), "{}", err.message);
        assert!(err.message.contains("見つかりません"), "{}", err.message);
        assert!(err.source.is_some());
        let err = read_sheet(Path::new("/dev/zero"), None, 1).unwrap_err();
        assert!(err.message.contains("デバイス"), "{}", err.message);
    }

    #[test]
    fn xlsx_fixture_cells_and_rows() {
        let s = read_sheet(&fixture("cells.xlsx"), None, 3).unwrap();
        check_cells_fixture(&s, true);
    }

    /// Checks the `cells` fixture (see `tests/fixtures/source/README.md`).
    fn check_cells_fixture(s: &Sheet, excel: bool) {
        assert_eq!(s.sheet, "データ");
        assert_eq!(s.headers, ["番号", "氏名", "日付", "金額", "2025", "可否"]);
        let numbers: Vec<u32> = s.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [4, 5, 7]);
        let r = &s.rows[0].cells;
        assert_eq!(r[0], Cell::Number(1.0));
        assert_eq!(text(&r[1]), Some("髙橋 一郎"));
        match &r[2] {
            Cell::Date(f) => {
                assert!(excel);
                assert_eq!(
                    serial_to_date(*f, s.date1904),
                    chrono::NaiveDate::from_ymd_opt(2025, 4, 1)
                );
            }
            Cell::IsoDate(iso) => {
                assert!(!excel);
                assert!(iso.starts_with("2025-04-01"), "{iso}");
            }
            other => panic!("date cell: {other:?}"),
        }
        assert_eq!(r[3], Cell::Number(1234.5));
        assert_eq!(r[4], Cell::Empty);
        if excel {
            assert_eq!(r[5], Cell::Bool(true));
        } else {
            // LibreOffice has no boolean cell type: TRUE is 1 in a boolean format.
            assert_eq!(r[5], Cell::Number(1.0));
        }
        let r = &s.rows[1].cells;
        assert_eq!(r[0], Cell::Number(2.0));
        assert_eq!(r[1], Cell::Empty);
        assert_eq!(text(&r[2]), Some("1990/2/30"));
        assert_eq!(r[3], Cell::Error("#N/A".into()));
        let r = &s.rows[2].cells;
        assert_eq!(r[0], Cell::Number(3.0));
        assert_eq!(text(&r[1]), Some("山﨑 花子"));
        // Formula =D4*2, cached value.
        assert_eq!(r[3], Cell::Number(2469.0));
        assert_eq!(text(&r[4]), Some("x"));
    }

    #[test]
    fn ods_fixture_cells_and_rows() {
        let p = fixture("cells.ods");
        if !p.exists() {
            return;
        }
        let s = read_sheet(&p, Some(&SheetSelector::Name("データ".into())), 3).unwrap();
        check_cells_fixture(&s, false);
    }

    #[test]
    fn xls_fixture_cells_and_rows() {
        let p = fixture("cells.xls");
        if !p.exists() {
            return;
        }
        let s = read_sheet(&p, Some(&SheetSelector::Index(0)), 3).unwrap();
        check_cells_fixture(&s, true);
    }

    #[test]
    fn format_detected_by_content_not_extension() {
        let bytes = std::fs::read(fixture("cells.xlsx")).unwrap();
        let p = temp_file("looks-like.csv", &bytes);
        let s = read_sheet(&p, None, 3).unwrap();
        assert_eq!(s.sheet, "データ");
        let p = temp_file("looks-like.xlsx", "氏名\r\n佐藤\r\n".as_bytes());
        let s = read_sheet(&p, None, 1).unwrap();
        assert_eq!(s.headers, ["氏名"]);
    }

    #[test]
    fn sheet_selection() {
        let p = fixture("cells.xlsx");
        let err = read_sheet(&p, Some(&SheetSelector::Name("申請".into())), 1).unwrap_err();
        assert!(
            err.message
                .contains("シート「申請」がありません (no such sheet); シート: データ, 別表"),
            "{}",
            err.message
        );
        let err = read_sheet(&p, Some(&SheetSelector::Index(5)), 1).unwrap_err();
        assert!(err.message.contains("データ, 別表"), "{}", err.message);
        let s = read_sheet(&p, Some(&SheetSelector::Index(1)), 5).unwrap();
        assert_eq!(s.sheet, "別表");
        // The used range of 別表 starts at C5: numbers are still Excel's.
        let err = read_sheet(&p, Some(&SheetSelector::Name("別表".into())), 1).unwrap_err();
        assert!(err.message.contains("シート「別表」"), "{}", err.message);
        assert!(
            err.message.contains("ヘッダー行 1 が空です"),
            "{}",
            err.message
        );
        let s = read_sheet(&p, Some(&SheetSelector::Name("　別表".into())), 5).unwrap();
        assert_eq!(s.headers, ["項目", "値"]);
        assert_eq!(s.rows.len(), 1);
        assert_eq!(s.rows[0].number, 7);
        assert_eq!(text(&s.rows[0].cells[0]), Some("甲"));
    }
}
