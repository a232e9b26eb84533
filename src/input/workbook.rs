//! Workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.ods`, `.xls`) through calamine:
//! opening by content after the pre-checks, choosing the sheet, measuring
//! it before calamine allocates, and handing its rows to [`build_table`]
//! row by row where the cells allow it. Uses the input stage's pre-checks,
//! limits, cells and table.

use std::fmt;
use std::path::Path;

use calamine::{
    Data, DataRef, Ods, Reader, SheetType, SheetVisible, Sheets, Xls, Xlsb, Xlsx, XlsxCellFormula,
};

use crate::input::cell::Cell;
use crate::input::header::normalize_header;
use crate::input::table::{build_table, NumberedCells};
use crate::input::{cfb_check, limits, xls_check};
use crate::input::{HeaderRow, OnRow, SheetHead, SheetSelector, SourceError};

/// What a workbook file is, by its magic bytes.
#[derive(Clone, Copy)]
pub(crate) enum WorkbookKind {
    Zip,
    Ole,
}

/// What a workbook is read from: a file or bytes in memory.
pub(crate) trait WorkbookInput: std::io::Read + std::io::Seek + Clone {}
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
pub(crate) fn check_ole<R: std::io::Read + std::io::Seek>(
    path: &Path,
    reader: R,
) -> Result<(), SourceError> {
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
pub(crate) fn read_workbook_guarded<R: WorkbookInput>(
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
        sheet: name,
        headers: Vec::new(),
        date1904,
        rows_hint: span,
    };
    // Cells in row order are streamed row by row; anything else goes
    // through calamine's dense range.
    match layout {
        CellOrder::Rows => stream_rows(&mut book, head, header_row, on_row),
        CellOrder::Whole => read_whole(&mut book, head, header_row, on_row),
    }
}

/// Why the sheet `head` names could not be read.
fn read_error(head: &SheetHead, e: &dyn fmt::Display) -> SourceError {
    SourceError::in_sheet(
        &head.file,
        &head.sheet,
        format!("シートを読めません (cannot read sheet): {e}"),
    )
}

/// Reads an `.xlsx`/`.xlsb` sheet whose cells come in row order (see
/// [`sheet_extent`]) row by row, never holding the whole sheet.
fn stream_rows<R: WorkbookInput>(
    book: &mut Sheets<R>,
    head: SheetHead,
    header_row: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    let mut failed: Option<String> = None;
    let name = head.sheet.clone();
    // The two cell readers are different types; an xlsx cell also tells
    // whether it is a formula whose result was not saved.
    macro_rules! stream {
        ($reader:expr, $next:ident, $convert:expr) => {{
            let mut cells = $reader
                .worksheet_cells_reader(&name)
                .map_err(|e| read_error(&head, &e))?;
            let next = std::iter::from_fn(|| match cells.$next() {
                Ok(Some(c)) => Some(Some($convert(c))),
                Ok(None) => None,
                Err(e) => {
                    failed = Some(e.to_string());
                    None
                }
            });
            build_table(
                head.clone(),
                header_row,
                rows_of_cells(next.flatten()),
                on_row,
            )
        }};
    }
    let read = match book {
        Sheets::Xlsx(x) => stream!(x, next_cell_with_formula, |c: XlsxCellFormula| {
            (c.pos, xlsx_cell(&c.value, c.formula))
        }),
        Sheets::Xlsb(x) => stream!(x, next_cell, |c: calamine::Cell<DataRef>| {
            (c.get_position(), convert_data_ref(c.get_value()))
        }),
        _ => unreachable!("only xlsx and xlsb sheets are streamed"),
    };
    match failed {
        Some(e) => Err(read_error(&head, &e)),
        None => read,
    }
}

/// Reads a sheet through calamine's dense range: `.xls` and `.ods` sheets,
/// and `.xlsx`/`.xlsb` sheets whose cells are out of order.
fn read_whole<R: WorkbookInput>(
    book: &mut Sheets<R>,
    head: SheetHead,
    header_row: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    let range = book
        .worksheet_range(&head.sheet)
        .map_err(|e| read_error(&head, &e))?;
    let is_ods = matches!(book, Sheets::Ods(_));
    let unsaved = unsaved_formulas(book, &head.sheet)
        .map_err(|m| SourceError::in_sheet(&head.file, &head.sheet, m))?;
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let last = u64::from(col0) + (range.width() as u64).saturating_sub(1);
    limits::check_columns(last).map_err(|m| SourceError::in_sheet(&head.file, &head.sheet, m))?;
    let col0 = col0 as usize;
    let rows = range.rows().enumerate().map(|(i, cells)| {
        let row = row0.saturating_add(i as u32);
        let mut out = Vec::with_capacity(col0 + cells.len());
        out.resize(col0, Cell::Empty);
        out.extend(cells.iter().enumerate().map(|(j, d)| {
            match convert_data(d) {
                // calamine reads ODS error cells as their display text.
                Cell::Text(s) if is_ods && ERROR_LITERALS.contains(&s.as_str()) => Cell::Error(s),
                Cell::Empty => unsaved
                    .get(&(row, (col0 + j) as u32))
                    .map_or(Cell::Empty, |f| Cell::Formula(f.clone())),
                c => c,
            }
        }));
        (row.saturating_add(1), out)
    });
    build_table(head, header_row, rows, on_row)
}

/// The formulas without a saved result of an `.xlsx` sheet read whole (its
/// cells out of order), by 0-based `(row, column)`; a second pass of the
/// cell reader. Other formats save results (or calamine computes none).
fn unsaved_formulas<R: WorkbookInput>(
    book: &mut Sheets<R>,
    name: &str,
) -> Result<std::collections::HashMap<(u32, u32), String>, String> {
    let mut found = std::collections::HashMap::new();
    let Sheets::Xlsx(x) = book else {
        return Ok(found);
    };
    let Ok(mut cells) = x.worksheet_cells_reader(name) else {
        return Ok(found);
    };
    const MAX: usize = limits::MAX_UNSAVED_FORMULAS;
    while let Ok(Some(c)) = cells.next_cell_with_formula() {
        if let Cell::Formula(f) = xlsx_cell(&c.value, c.formula) {
            if found.len() == MAX {
                return Err(format!(
                    "計算結果が保存されていない数式が {MAX} 個を超えます。\
                     Excel か LibreOffice で開いて保存し直してください \
                     (more than {MAX} formulas without a saved result; \
                     open the file in Excel or LibreOffice and save it)"
                ));
            }
            found.insert(c.pos, f);
        }
    }
    Ok(found)
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

/// An xlsx cell from the cell reader: a formula without a saved result is
/// [`Cell::Formula`], anything else its value.
fn xlsx_cell(value: &DataRef<'_>, formula: Option<String>) -> Cell {
    match formula {
        Some(f) if *value == DataRef::Empty && !f.trim().is_empty() => Cell::Formula(f),
        _ => convert_data_ref(value),
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
