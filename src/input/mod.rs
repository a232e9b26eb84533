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

pub mod cfb_check;
pub mod limits;
pub mod ods_check;
pub mod xls_check;
pub mod xlsx_check;

use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use calamine::{Data, DataRef, Ods, Reader, SheetType, SheetVisible, Sheets, Xls, Xlsb, Xlsx};
use unicode_normalization::UnicodeNormalization;

/// One cell as the spreadsheet holds it, before any field checking.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Empty,
    /// Text (CSV cells are always text).
    Text(String),
    /// A number that is not formatted as a date.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A cell holding a date/time serial (Excel's or LibreOffice's), in the
    /// workbook's date system (see [`Sheet::date1904`]).
    Date(f64),
    /// An ISO 8601 date or date-time string stored as such (ODS).
    IsoDate(String),
    /// An error value such as `#N/A`.
    Error(String),
}

impl Cell {
    /// Whether the cell is empty or holds only white space (including
    /// U+3000 IDEOGRAPHIC SPACE).
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

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
    pub fn from_head(head: SheetHead, rows: Vec<Row>) -> Sheet {
        Sheet {
            file: head.file,
            sheet: head.sheet,
            headers: head.headers,
            date1904: head.date1904,
            rows,
        }
    }

    /// The sheet without its rows.
    pub fn head(&self) -> SheetHead {
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
pub type OnRow<'a> = dyn FnMut(&SheetHead, Row) -> bool + 'a;

/// Why a file could not be read.
#[derive(Debug)]
pub struct SourceError {
    /// The file.
    pub file: PathBuf,
    /// What went wrong, in Japanese with an English gloss.
    pub message: String,
}

impl SourceError {
    fn new(file: &Path, message: impl Into<String>) -> Self {
        SourceError {
            file: file.to_path_buf(),
            message: message.into(),
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

impl std::error::Error for SourceError {}

/// Where the header row is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderRow {
    /// At this 1-based row (CSV: line).
    At(u32),
    /// The first of the first [`HEADER_SEARCH_ROWS`] non-blank rows that
    /// contains every one of these headers (compared after
    /// [`normalize_header`]); for sheets with title rows of varying height.
    Find(Vec<String>),
}

/// How many rows [`HeaderRow::Find`] looks at.
pub const HEADER_SEARCH_ROWS: usize = 20;

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
pub fn read_sheet_with(
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
pub fn stream_sheet(
    path: &Path,
    sheet: Option<&SheetSelector>,
    header: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    if *header == HeaderRow::At(0) {
        return Err(SourceError::new(
            path,
            "ヘッダー行は 1 以上で指定してください (header row must be 1 or more)",
        ));
    }
    let open_err = |e: std::io::Error| {
        SourceError::new(
            path,
            format!("ファイルを開けません (cannot open file): {}", io_gloss(&e)),
        )
    };
    let len = std::fs::metadata(path).map_err(open_err)?.len();
    limits::check_input_size(len).map_err(|m| SourceError::new(path, m))?;
    // Workbooks are read from the file as the spreadsheet library needs
    // them (not copied into memory first); delimited text is read whole,
    // as its encoding is decided on all of it.
    let file = SharedFile::open(path).map_err(open_err)?;
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
        drop(file);
        let bytes = std::fs::read(path).map_err(open_err)?;
        stream_sheet_bytes(path, &bytes, sheet, header, on_row)
    }
}

/// A file read by position, cheap to clone (each clone keeps its own
/// position): the spreadsheet readers open a workbook several times.
#[derive(Clone)]
struct SharedFile {
    file: std::sync::Arc<std::fs::File>,
    pos: u64,
    len: u64,
}

impl SharedFile {
    fn open(path: &Path) -> std::io::Result<SharedFile> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(SharedFile {
            file: std::sync::Arc::new(file),
            pos: 0,
            len,
        })
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], at + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

impl std::io::Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = loop {
            match self.file.read_at(buf, self.pos) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for SharedFile {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Start(n) => Some(n),
            std::io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(t) => {
                self.pos = t;
                Ok(t)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )),
        }
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
pub fn stream_sheet_bytes(
    path: &Path,
    bytes: &[u8],
    sheet: Option<&SheetSelector>,
    header: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    if *header == HeaderRow::At(0) {
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
        read_delimited(path, bytes, header, on_row)
    }
}

/// Normalises a header for matching: trimmed, full-width ASCII to half-width,
/// half-width katakana to full-width, inner white space removed.
///
/// This is Unicode NFKC followed by removal of every white-space character,
/// so `"　氏　名 "` and `"氏名"` give the same key, `"ﾌﾘｶﾞﾅ"` gives
/// `"フリガナ"` and `"郵便番号（〒）"` gives `"郵便番号(〒)"`. Meant for
/// header texts and sheet names only: NFKC also folds characters such as
/// `①` → `1`, which must not happen to data.
pub fn normalize_header(s: &str) -> String {
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// The header among `headers` closest to `want` (compared after
/// [`normalize_header`]) by edit distance, if reasonably close: at most half
/// the longer text's characters differ.
pub fn closest_header<'a>(want: &str, headers: &'a [String]) -> Option<&'a str> {
    let want = normalize_header(want);
    headers
        .iter()
        .filter(|h| !h.trim().is_empty())
        .map(|h| (levenshtein(&want, &normalize_header(h)), h))
        .filter(|(d, h)| *d <= (h.chars().count().max(want.chars().count()) / 2).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, h)| h.as_str())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Converts a date serial (as in [`Cell::Date`]) to a calendar date.
///
/// Uses the 1900 date system (serial 1 = 1900-01-01, with Excel's fictitious
/// 1900-02-29 at serial 60, so serials from 61 on are correct) or, with
/// `date1904`, the 1904 system (serial 0 = 1904-01-01). The time of day is
/// dropped. Returns `None` for serials before the epoch (or the fictitious
/// 1900-02-29) and beyond 9999-12-31.
pub fn serial_to_date(serial: f64, date1904: bool) -> Option<chrono::NaiveDate> {
    if !serial.is_finite() {
        return None;
    }
    let days = serial.floor();
    let (epoch, days) = if date1904 {
        ((1904, 1, 1), days)
    } else if days == 60.0 {
        return None;
    } else if days < 60.0 {
        // Serial 1 = 1900-01-01.
        ((1900, 1, 1), days - 1.0)
    } else {
        // Excel counts a 1900-02-29 that never was.
        ((1900, 1, 1), days - 2.0)
    };
    if !(0.0..=3_000_000.0).contains(&days) {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(epoch.0, epoch.1, epoch.2)?
        .checked_add_days(chrono::Days::new(days as u64))
        .filter(|d| d.year() <= 9999)
}

use chrono::Datelike;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn io_gloss(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "ファイルがありません (not found)".to_string(),
        std::io::ErrorKind::PermissionDenied => {
            "アクセス権がありません (permission denied)".to_string()
        }
        _ => e.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Workbooks

#[derive(Clone, Copy)]
enum WorkbookKind {
    Zip,
    Ole,
}

/// What a workbook is read from: a file or bytes in memory.
trait WorkbookInput: std::io::Read + std::io::Seek + Clone {}
impl<T: std::io::Read + std::io::Seek + Clone> WorkbookInput for T {}

fn open_book<R: WorkbookInput>(
    path: &Path,
    rs: R,
    kind: WorkbookKind,
) -> Result<(Sheets<R>, bool), SourceError> {
    match kind {
        WorkbookKind::Ole => match Xls::new(rs) {
            Ok(x) => {
                let d1904 = x.has_1904_epoch();
                Ok((Sheets::Xls(x), d1904))
            }
            Err(e) => Err(SourceError::new(
                path,
                format!(
                    "xls ブックとして読めません。パスワード付きのファイルかもしれません \
                     (cannot read as an .xls workbook; it may be password-protected): {e}"
                ),
            )),
        },
        WorkbookKind::Zip => {
            // calamine reserves room for the declared shared strings first.
            crate::input::xlsx_check::check_shared_strings(rs.clone())
                .map_err(|m| SourceError::new(path, m))?;
            let xlsx_err = match Xlsx::new(rs.clone()) {
                Ok(x) => {
                    let d1904 = x.has_1904_epoch();
                    return Ok((Sheets::Xlsx(x), d1904));
                }
                Err(e) => e,
            };
            if let Ok(x) = Xlsb::new(rs.clone()) {
                let d1904 = x.has_1904_epoch();
                return Ok((Sheets::Xlsb(x), d1904));
            }
            // calamine expands every table while opening: size them first.
            if let Err(r) = crate::input::ods_check::check_ods(rs.clone()) {
                return Err(SourceError::in_sheet(path, &r.sheet, r.message));
            }
            if let Ok(x) = Ods::new(rs) {
                return Ok((Sheets::Ods(x), false));
            }
            Err(SourceError::new(
                path,
                format!(
                    "ブック (xlsx/xlsm/xlsb/ods) として読めません \
                     (zip file is not a readable workbook): {xlsx_err}"
                ),
            ))
        }
    }
}

/// Checks an OLE compound file before calamine opens it: its structure
/// ([`cfb_check`]), then what its sheets would allocate ([`xls_check`]).
fn check_ole<R: std::io::Read + std::io::Seek>(path: &Path, reader: R) -> Result<(), SourceError> {
    let stream = cfb_check::check_compound_file(reader).map_err(|m| SourceError::new(path, m))?;
    if let Some(stream) = stream {
        let len = stream.len();
        xls_check::check_xls(stream, len)
            .map_err(|r| SourceError::in_sheet(path, &r.sheet, r.message))?;
    }
    Ok(())
}

/// [`read_workbook`], turning a panic inside the spreadsheet library (seen
/// on corrupt `.xls` files while fuzzing) into an ordinary error.
fn read_workbook_guarded<R: WorkbookInput>(
    path: &Path,
    bytes: R,
    kind: WorkbookKind,
    selector: Option<&SheetSelector>,
    header_row: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_workbook(path, bytes, kind, selector, header_row, on_row)
    }))
    .unwrap_or_else(|_| {
        Err(SourceError::new(
            path,
            "ワークブックが壊れているため読めません (corrupt workbook: the reader failed)",
        ))
    })
}

fn read_workbook<R: WorkbookInput>(
    path: &Path,
    bytes: R,
    kind: WorkbookKind,
    selector: Option<&SheetSelector>,
    header_row: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    let (mut book, date1904) = open_book(path, bytes, kind)?;
    let worksheets: Vec<(String, bool)> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| (s.name.clone(), s.visible == SheetVisible::Visible))
        .collect();
    let name = choose_sheet(path, &worksheets, selector)?;
    let (layout, span) =
        sheet_extent(&mut book, &name).map_err(|m| SourceError::in_sheet(path, &name, m))?;
    let head = SheetHead {
        file: path.to_path_buf(),
        sheet: name.clone(),
        headers: Vec::new(),
        date1904,
        rows_hint: span,
    };
    let read_err = |e: &dyn fmt::Display| {
        SourceError::in_sheet(
            path,
            &name,
            format!("シートを読めません (cannot read sheet): {e}"),
        )
    };
    // Cells in row order are streamed row by row; anything else goes
    // through calamine's dense range.
    if layout == CellOrder::Rows {
        let mut failed: Option<String> = None;
        let head = match &mut book {
            Sheets::Xlsx(x) => {
                let mut cells = x.worksheet_cells_reader(&name).map_err(|e| read_err(&e))?;
                let next = std::iter::from_fn(|| match cells.next_cell() {
                    Ok(Some(c)) => Some(Some((c.get_position(), convert_data_ref(c.get_value())))),
                    Ok(None) => None,
                    Err(e) => {
                        failed = Some(e.to_string());
                        None
                    }
                });
                build_table(head, header_row, rows_of_cells(next.flatten()), on_row)
            }
            Sheets::Xlsb(x) => {
                let mut cells = x.worksheet_cells_reader(&name).map_err(|e| read_err(&e))?;
                let next = std::iter::from_fn(|| match cells.next_cell() {
                    Ok(Some(c)) => Some(Some((c.get_position(), convert_data_ref(c.get_value())))),
                    Ok(None) => None,
                    Err(e) => {
                        failed = Some(e.to_string());
                        None
                    }
                });
                build_table(head, header_row, rows_of_cells(next.flatten()), on_row)
            }
            _ => unreachable!("only xlsx and xlsb sheets are streamed"),
        };
        if let Some(e) = failed {
            return Err(read_err(&e));
        }
        return head;
    }
    let range = book.worksheet_range(&name).map_err(|e| read_err(&e))?;
    let is_ods = matches!(book, Sheets::Ods(_));
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let last = u64::from(col0) + (range.width() as u64).saturating_sub(1);
    limits::check_columns(last).map_err(|m| SourceError::in_sheet(path, &name, m))?;
    let col0 = col0 as usize;
    let rows = range.rows().enumerate().map(|(i, cells)| {
        let mut out = Vec::with_capacity(col0 + cells.len());
        out.resize(col0, Cell::Empty);
        out.extend(cells.iter().map(|d| match convert_data(d) {
            // calamine reads ODS error cells as their display text.
            Cell::Text(s) if is_ods && ERROR_LITERALS.contains(&s.as_str()) => Cell::Error(s),
            c => c,
        }));
        (row0.saturating_add(i as u32).saturating_add(1), out)
    });
    build_table(head, header_row, rows, on_row)
}

/// Groups cells given in row order (`(row, column)` 0-based, as calamine's
/// cell readers give them) into `(1-based row number, cells)`; empty cells
/// are skipped and gaps padded with [`Cell::Empty`].
fn rows_of_cells(
    cells: impl Iterator<Item = ((u32, u32), Cell)>,
) -> impl Iterator<Item = NumberedCells> {
    let mut cells = cells.filter(|(_, c)| *c != Cell::Empty).peekable();
    std::iter::from_fn(move || {
        let ((row, _), _) = cells.peek()?;
        let row = *row;
        let mut out: Vec<Cell> = Vec::new();
        while let Some(((_, col), cell)) = cells.next_if(|((r, _), _)| *r == row) {
            let col = col as usize;
            if out.len() < col {
                out.resize(col, Cell::Empty);
            }
            out.push(cell);
        }
        Some((row.saturating_add(1), out))
    })
}

/// How a sheet's cells are stored, as far as streaming is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellOrder {
    /// `.xlsx`/`.xlsb` cells in row order, each column once per row: the
    /// sheet can be read row by row.
    Rows,
    /// Anything else (other formats, or cells out of order): read the
    /// sheet whole.
    Whole,
}

/// Refuses a sheet whose non-empty cells span more than
/// [`limits::MAX_SHEET_CELLS`] before calamine allocates its dense grid,
/// and says whether its cells come in row order. Streams the cells of xlsx
/// and xlsb sheets (a first, cheap pass); a sheet that cannot be streamed is
/// left to `worksheet_range` to report.
fn sheet_extent<R: WorkbookInput>(
    book: &mut Sheets<R>,
    name: &str,
) -> Result<(CellOrder, Option<usize>), String> {
    #[derive(Default)]
    struct Scan {
        bounds: Option<(u32, u32, u32, u32)>,
        last: Option<(u32, u32)>,
        ordered: bool,
    }
    impl Scan {
        fn cell(&mut self, pos: (u32, u32), empty: bool) {
            if self.last.is_some_and(|last| pos <= last) {
                self.ordered = false;
            }
            self.last = Some(pos);
            if empty {
                return;
            }
            let (r, c) = pos;
            self.bounds = Some(match self.bounds {
                None => (r, r, c, c),
                Some((r0, r1, c0, c1)) => (r0.min(r), r1.max(r), c0.min(c), c1.max(c)),
            });
        }
    }
    let mut scan = Scan {
        ordered: true,
        ..Scan::default()
    };
    let streamable = match book {
        Sheets::Xlsx(x) => match x.worksheet_cells_reader(name) {
            Ok(mut cells) => loop {
                match cells.next_cell() {
                    Ok(Some(cell)) => {
                        scan.cell(cell.get_position(), *cell.get_value() == DataRef::Empty)
                    }
                    Ok(None) => break true,
                    Err(_) => break false,
                }
            },
            Err(_) => false,
        },
        Sheets::Xlsb(x) => match x.worksheet_cells_reader(name) {
            Ok(mut cells) => loop {
                match cells.next_cell() {
                    Ok(Some(cell)) => {
                        scan.cell(cell.get_position(), *cell.get_value() == DataRef::Empty)
                    }
                    Ok(None) => break true,
                    Err(_) => break false,
                }
            },
            Err(_) => false,
        },
        _ => false,
    };
    if let Some((r0, r1, c0, c1)) = scan.bounds {
        limits::check_columns(u64::from(c1))?;
        limits::check_extent(u64::from(r1 - r0) + 1, u64::from(c1 - c0) + 1)?;
    }
    let span = scan.bounds.map(|(r0, r1, _, _)| (r1 - r0) as usize + 1);
    Ok(if streamable && scan.ordered {
        (CellOrder::Rows, span)
    } else {
        (CellOrder::Whole, span)
    })
}

fn choose_sheet(
    path: &Path,
    worksheets: &[(String, bool)],
    selector: Option<&SheetSelector>,
) -> Result<String, SourceError> {
    let list = || {
        worksheets
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match selector {
        None => worksheets
            .iter()
            .find(|(_, visible)| *visible)
            .or_else(|| worksheets.first())
            .map(|(n, _)| n.clone())
            .ok_or_else(|| {
                SourceError::new(
                    path,
                    "ワークシートがありません (no worksheet in the workbook)",
                )
            }),
        Some(SheetSelector::Index(i)) => {
            worksheets.get(*i).map(|(n, _)| n.clone()).ok_or_else(|| {
                SourceError::new(
                    path,
                    format!(
                        "シート番号 {i} (0 起点) がありません (no sheet at index {i}); シート: {}",
                        list()
                    ),
                )
            })
        }
        Some(SheetSelector::Name(want)) => {
            if let Some((n, _)) = worksheets.iter().find(|(n, _)| n == want) {
                return Ok(n.clone());
            }
            let key = normalize_header(want);
            let mut close = worksheets
                .iter()
                .filter(|(n, _)| normalize_header(n) == key);
            match (close.next(), close.next()) {
                (Some((n, _)), None) => Ok(n.clone()),
                _ => Err(SourceError::new(
                    path,
                    format!(
                        "シート「{want}」がありません (no such sheet); シート: {}",
                        list()
                    ),
                )),
            }
        }
    }
}

/// Error values as spreadsheets display them.
const ERROR_LITERALS: [&str; 8] = [
    "#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "Err:502",
];

fn convert_data(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) if s.is_empty() => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => Cell::Date(dt.as_f64()),
        Data::DateTime(dt) => Cell::Number(dt.as_f64()),
        Data::DateTimeIso(s) => Cell::IsoDate(s.clone()),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

/// [`convert_data`] for the cell readers' borrowed values.
fn convert_data_ref(d: &DataRef<'_>) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) if s.is_empty() => Cell::Empty,
        DataRef::SharedString("") => Cell::Empty,
        DataRef::String(s) => Cell::Text(s.clone()),
        DataRef::SharedString(s) => Cell::Text((*s).to_string()),
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) if dt.is_datetime() => Cell::Date(dt.as_f64()),
        DataRef::DateTime(dt) => Cell::Number(dt.as_f64()),
        DataRef::DateTimeIso(s) => Cell::IsoDate(s.clone()),
        DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

// ---------------------------------------------------------------------------
// The table (shared by workbooks and delimited text)

/// Builds headers and data rows from `(row number, cells)` pairs in row order.
/// A row's 1-based number and its cells.
type NumberedCells = (u32, Vec<Cell>);

/// Builds the head and hands each data row to `on_row`.
fn build_table(
    mut head: SheetHead,
    header: &HeaderRow,
    rows: impl Iterator<Item = (u32, Vec<Cell>)>,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    let path = head.file.clone();
    let path = path.as_path();
    let sheet = head.sheet.clone();
    let sheet = sheet.as_str();
    let (header_row, rows): (u32, Box<dyn Iterator<Item = NumberedCells>>) = match header {
        HeaderRow::At(n) => (*n, Box::new(rows)),
        HeaderRow::Find(wanted) => {
            let wanted: Vec<String> = wanted.iter().map(|w| normalize_header(w)).collect();
            let mut head = Vec::new();
            let mut rows = rows.peekable();
            let mut found = None;
            for (n, cells) in rows.by_ref() {
                let blank = cells.iter().all(Cell::is_blank);
                let texts: Vec<String> = cells
                    .iter()
                    .map(|c| normalize_header(&header_text(c)))
                    .collect();
                head.push((n, cells));
                if blank {
                    continue;
                }
                if wanted.iter().all(|w| texts.contains(w)) {
                    found = Some(n);
                    break;
                }
                if head
                    .iter()
                    .filter(|(_, c)| !c.iter().all(Cell::is_blank))
                    .count()
                    >= HEADER_SEARCH_ROWS
                {
                    break;
                }
            }
            let n = found.ok_or_else(|| {
                // The row with most of the wanted headers is probably the
                // header row: say which are missing there, with the closest
                // header texts of that row.
                let best = head
                    .iter()
                    .map(|(n, cells)| {
                        let texts: Vec<String> = cells.iter().map(header_text).collect();
                        let hits = wanted
                            .iter()
                            .filter(|w| texts.iter().any(|t| normalize_header(t) == **w))
                            .count();
                        (hits, *n, texts)
                    })
                    .filter(|(hits, _, _)| *hits > 0)
                    .max_by_key(|(hits, n, _)| (*hits, std::cmp::Reverse(*n)));
                let hint = match best {
                    Some((_, n, texts)) => wanted
                        .iter()
                        .filter(|w| !texts.iter().any(|t| normalize_header(t) == **w))
                        .map(|w| {
                            let guess = closest_header(w, &texts)
                                .map(|h| format!("もしかして「{h}」? (did you mean)"))
                                .unwrap_or_default();
                            format!("; {n} 行目に「{w}」がありません{guess}")
                        })
                        .collect::<String>(),
                    None => String::new(),
                };
                SourceError::in_sheet(
                    path,
                    sheet,
                    format!(
                        "先頭 {HEADER_SEARCH_ROWS} 行に見出し行が見つかりません (no header row with all mapped columns): {}{hint}",
                        wanted.join(", ")
                    ),
                )
            })?;
            (n, Box::new(head.into_iter().chain(rows)))
        }
    };
    let mut rows = rows.skip_while(|(n, _)| *n < header_row).peekable();
    let empty_header = || {
        SourceError::in_sheet(
            path,
            sheet,
            format!("ヘッダー行 {header_row} が空です (header row is empty)"),
        )
    };
    let header_cells = match rows.next() {
        Some((n, cells)) if n == header_row => cells,
        _ => return Err(empty_header()),
    };
    let first = header_cells.iter().position(|c| !c.is_blank());
    let last = header_cells.iter().rposition(|c| !c.is_blank());
    let (first, last) = match (first, last) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err(empty_header()),
    };
    head.headers = header_cells[first..=last].iter().map(header_text).collect();
    let width = head.headers.len();

    let mut count = 0;
    for (number, mut cells) in rows {
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        if let Some(col) = cells
            .iter()
            .enumerate()
            .position(|(j, c)| (j < first || j > last) && !c.is_blank())
        {
            return Err(SourceError::in_sheet(
                path,
                sheet,
                format!(
                    "{number} 行目 {} 列: 見出しのない列に値があります \
                     (value in a column without header)",
                    column_letters(col)
                ),
            ));
        }
        cells.truncate(last + 1);
        cells.drain(..first.min(cells.len()));
        cells.resize(width, Cell::Empty);
        for (j, c) in cells.iter().enumerate() {
            if let Cell::Text(t) = c {
                limits::check_cell_chars(t, number, &column_letters(first + j))
                    .map_err(|m| SourceError::in_sheet(path, sheet, m))?;
            }
        }
        count += 1;
        limits::check_rows(count).map_err(|m| SourceError::in_sheet(path, sheet, m))?;
        if !on_row(&head, Row { number, cells }) {
            break;
        }
    }
    Ok(head)
}

/// A header cell as text: numbers without a trailing `.0`, dates as `y/m/d`.
fn header_text(c: &Cell) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(s) | Cell::IsoDate(s) | Cell::Error(s) => s.clone(),
        Cell::Number(f) => format_number(*f),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        // Headers are not expected to be dates; the 1900 system is assumed.
        Cell::Date(f) => match serial_to_date(*f, false) {
            Some(d) => format!("{}/{}/{}", d.year(), d.month(), d.day()),
            None => format_number(*f),
        },
    }
}

fn format_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Spreadsheet column letters for a 0-based column index (0 → `A`, 26 → `AA`).
pub fn column_letters(mut col: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Delimited text

fn read_delimited(
    path: &Path,
    bytes: &[u8],
    header: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    let text = decode_text(bytes).map_err(|e| SourceError::new(path, e.message()))?;
    let header_line = match header {
        HeaderRow::At(n) => text.split('\n').nth(*n as usize - 1).unwrap_or(""),
        HeaderRow::Find(wanted) => {
            let first = wanted
                .first()
                .map(|w| normalize_header(w))
                .unwrap_or_default();
            text.split('\n')
                .take(HEADER_SEARCH_ROWS * 2)
                .find(|l| normalize_header(l).contains(&first))
                .unwrap_or("")
        }
    };
    let delimiter = if header_line.contains('\t') && !header_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    // Line numbers are computed from byte offsets: the csv crate's own line
    // count lags by one after a CRLF (it consumes the LF with the next record).
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_at = |byte: u64| -> u32 {
        let mut b = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
        // Skip the line terminators (and blank lines) before the record.
        b += text.as_bytes()[b..]
            .iter()
            .take_while(|&&c| c == b'\r' || c == b'\n')
            .count();
        u32::try_from(line_starts.partition_point(|&s| s <= b)).unwrap_or(u32::MAX)
    };
    let mut record = csv::StringRecord::new();
    let mut failed: Option<u32> = None;
    let records = std::iter::from_fn(|| match reader.read_record(&mut record) {
        Ok(false) => None,
        Ok(true) => {
            let line = line_at(record.position().map_or(0, |p| p.byte()));
            let cells = record
                .iter()
                .map(|f| {
                    if f.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(f.to_string())
                    }
                })
                .collect();
            Some((line, cells))
        }
        Err(e) => {
            failed = Some(line_at(e.position().map_or(0, |p| p.byte())));
            None
        }
    });
    let head = SheetHead {
        file: path.to_path_buf(),
        sheet: String::new(),
        headers: Vec::new(),
        date1904: false,
        rows_hint: Some(line_starts.len()),
    };
    let head = build_table(head, header, records, on_row);
    if let Some(line) = failed {
        return Err(SourceError::new(
            path,
            format!("{line} 行目付近を読めません (cannot parse near line {line})"),
        ));
    }
    head
}

/// Why bytes could not be decoded as text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DecodeError {
    /// Name of the encoding that was tried.
    encoding: &'static str,
    /// 0-based byte offset of the first undecodable sequence in the file.
    offset: usize,
    /// 1-based line of that offset (0 where lines cannot be counted in bytes).
    line: usize,
}

impl DecodeError {
    fn message(&self) -> String {
        let line = if self.line > 0 {
            format!(" ({} 行目 / line {})", self.line, self.line)
        } else {
            String::new()
        };
        format!(
            "文字コードを判別できません: 先頭から {} バイト目の位置{line}が {} として不正です \
             (undecodable byte at offset {} as {})",
            self.offset, self.encoding, self.offset, self.encoding
        )
    }
}

/// Decodes delimited text by content (see the module documentation).
fn decode_text(bytes: &[u8]) -> Result<String, DecodeError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(str::to_string)
            .map_err(|e| utf8_error(bytes, 3 + e.valid_up_to()));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return decode_strict(rest, encoding_rs::UTF_16LE, "UTF-16LE", 2, false);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return decode_strict(rest, encoding_rs::UTF_16BE, "UTF-16BE", 2, false);
    }
    let utf8_err = match std::str::from_utf8(bytes) {
        Ok(s) => return Ok(s.to_string()),
        Err(e) => e.valid_up_to(),
    };
    match decode_strict(bytes, encoding_rs::SHIFT_JIS, "Shift_JIS (CP932)", 0, true) {
        Ok(s) => Ok(s),
        // A file whose valid prefix already holds non-ASCII UTF-8 is most
        // likely broken UTF-8: report that offset rather than the CP932 one.
        Err(_) if !bytes[..utf8_err].is_ascii() => Err(utf8_error(bytes, utf8_err)),
        Err(e) => Err(e),
    }
}

fn utf8_error(bytes: &[u8], offset: usize) -> DecodeError {
    DecodeError {
        encoding: "UTF-8",
        offset,
        line: line_of(bytes, offset),
    }
}

/// 1-based line of `offset`, counting LF bytes (valid for UTF-8 and CP932,
/// where 0x0A never occurs inside a multi-byte character).
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Decodes `src` in one pass without replacement; on a malformed sequence,
/// reports its offset (plus `base`, the length of a stripped BOM).
fn decode_strict(
    src: &[u8],
    encoding: &'static encoding_rs::Encoding,
    name: &'static str,
    base: usize,
    count_lines: bool,
) -> Result<String, DecodeError> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(src.len())
        .unwrap_or(src.len().saturating_mul(3));
    let mut out = String::with_capacity(capacity);
    let mut pos = 0;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&src[pos..], &mut out, true);
        pos += read;
        match result {
            encoding_rs::DecoderResult::InputEmpty => return Ok(out),
            encoding_rs::DecoderResult::OutputFull => {
                // Cannot happen with the worst-case capacity; grow and go on.
                out.reserve(src.len() - pos + 16);
            }
            encoding_rs::DecoderResult::Malformed(bad, after) => {
                let offset = pos - after as usize - bad as usize;
                return Err(DecodeError {
                    encoding: name,
                    offset: base + offset,
                    line: if count_lines { line_of(src, offset) } else { 0 },
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn serial_dates() {
        let d = |y, m, dd| chrono::NaiveDate::from_ymd_opt(y, m, dd);
        assert_eq!(serial_to_date(45748.0, false), d(2025, 4, 1));
        assert_eq!(serial_to_date(1.0, false), d(1900, 1, 1));
        assert_eq!(serial_to_date(59.0, false), d(1900, 2, 28));
        assert_eq!(serial_to_date(60.0, false), None);
        assert_eq!(serial_to_date(61.0, false), d(1900, 3, 1));
        assert_eq!(serial_to_date(45748.75, false), d(2025, 4, 1));
        assert_eq!(serial_to_date(45748.0 - 1462.0, true), d(2025, 4, 1));
        assert_eq!(serial_to_date(0.0, true), d(1904, 1, 1));
        assert_eq!(serial_to_date(-1.0, false), None);
    }

    #[test]
    fn header_normalisation() {
        assert_eq!(normalize_header("　氏　名 "), "氏名");
        assert_eq!(normalize_header("氏名"), "氏名");
        assert_eq!(normalize_header("ﾌﾘｶﾞﾅ"), "フリガナ");
        assert_eq!(normalize_header("郵便番号（〒）"), "郵便番号(〒)");
        assert_eq!(normalize_header("ＩＤ　No．"), "IDNo.");
        assert_eq!(normalize_header("生年\n月日\t"), "生年月日");
    }

    #[test]
    fn column_letter_names() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
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
        let expected = [
            "申請番号",
            "氏名",
            "フリガナ",
            "性別",
            "生年月日",
            "郵便番号",
            "住所",
            "所属",
            "職名",
            "雇用形態",
            "採用年月日",
            "提出先",
        ];
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
            e.message.contains("見出し行が見つかりません"),
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
        assert!(err.message.contains("ファイルを開けません"));
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
