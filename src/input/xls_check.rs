//! Size check of a legacy `.xls` workbook's sheets before calamine reads
//! them (hardening, issue 9).
//!
//! calamine (0.38) reads every sheet of an `.xls` while *opening* it
//! (`Xls::new`): for each `BoundSheet8` record of the workbook globals it
//! parses the records from the sheet's offset to its `EOF`, collects the
//! cells, and builds two dense grids with `Range::from_sparse`, one of
//! values and one of formula texts, each spanning the smallest rectangle
//! around the cells given to it. Rows and columns are 16-bit in the
//! records, so one cell at `(65535, 65535)` and one at `(0, 0)` ask for
//! 4 billion cells (134 GB): the allocation fails and the process aborts
//! (`fuzz/regressions/workbook/calamine-xls-dense-grid-oom`). It also
//! reserves room for the cells a `DIMENSIONS` record declares.
//!
//! [`check_xls`] walks the workbook stream (through
//! [`crate::input::cfb_check::WorkbookStream`], already checked, never held in
//! memory: records are skipped by seeking, at most 16 bytes of one are
//! read) the way calamine does and applies [`limits::check_extent`] to
//! what each sheet would allocate:
//!
//! * **value grid**: the rectangle around the cells of `NUMBER` (0x0203),
//!   `LABEL` (0x0204), `RSTRING` (0x00D6), `BOOLERR` (0x0205), `RK`
//!   (0x027E), `LABELSST` (0x00FD), `MULRK` (0x00BD: first column to the
//!   last of its values), `FORMULA` (0x0006) and `STRING` (0x0207, at the
//!   preceding formula's cell): row at offset 0, column at offset 2 of the
//!   record data. calamine ignores `BLANK` and `MULBLANK`, so does this;
//! * **formula grid**: the rectangle around the `FORMULA` cells;
//! * **reserved cells**: the rectangle of the `DIMENSIONS` record (0x0200),
//!   computed as calamine computes it (wrapping on malformed values);
//! * **cells kept** while reading the sheet (one per cell record, a `MULRK`
//!   counts each value): at most [`limits::MAX_SHEET_CELLS`];
//! * **the workbook**: all value and formula grids together, since calamine
//!   holds them all at once, at most [`limits::MAX_SHEET_CELLS`], and at
//!   most [`limits::MAX_XLS_SHEETS`] sheets.
//!
//! Like calamine, the walk skips substreams nested in a sheet (embedded
//! charts: a second `BOF` up to its `EOF`), folds `CONTINUE` records into
//! the record before them (they are never cell records) and stops the
//! globals at their first `EOF`. Where calamine would fail on a malformed
//! record, this check may count more than calamine keeps, never less.
//!
//! A record whose length runs past the end of the stream, or a sheet offset
//! past it, is refused (calamine fails or panics there). Real workbooks keep
//! each sheet's records apart, so the walk reads each byte about once; a
//! crafted workbook whose sheets overlap and would be read over and over is
//! refused once the walk has read four times the stream.
//!
//! Messages are in Japanese with an English gloss and name the sheet (its
//! tab name, or its position when the name cannot be decoded); they never
//! contain cell values.

use std::io::{BufReader, Read, Seek, SeekFrom};

use crate::input::limits;

pub use crate::input::limits::SheetRefusal as Refusal;

/// What calamine would allocate for one sheet.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Value grid: rows × columns of the rectangle around the cells.
    pub values: (u64, u64),
    /// Formula grid: rows × columns of the rectangle around the formulas.
    pub formulas: (u64, u64),
    /// Cells reserved for the `DIMENSIONS` record (rows × columns).
    pub reserved: (u64, u64),
    /// Cell records kept while reading (values and formulas).
    pub kept: u64,
}

impl Extent {
    /// Cells of both grids.
    pub fn grid_cells(&self) -> u64 {
        let (r, c) = self.values;
        let (fr, fc) = self.formulas;
        r.saturating_mul(c).saturating_add(fr.saturating_mul(fc))
    }

    /// Fails with [`limits::check_extent`]'s message if a grid or the
    /// reservation passes [`limits::MAX_SHEET_CELLS`], or if too many cells
    /// are kept while reading.
    pub fn check(&self) -> Result<(), String> {
        limits::check_extent(self.values.0, self.values.1)?;
        limits::check_extent(self.formulas.0, self.formulas.1)?;
        limits::check_extent(self.reserved.0, self.reserved.1)?;
        let limit = limits::MAX_SHEET_CELLS;
        if self.kept > limit {
            return Err(format!(
                "シートのセルが多すぎます: {} 個 (上限 {limit} セル) \
                 (sheet has {} cell records, limit {limit} cells)",
                self.kept, self.kept
            ));
        }
        Ok(())
    }
}

/// The rectangle around some cells.
#[derive(Default, Clone, Copy)]
struct Bounds(Option<(u32, u32, u32, u32)>);

impl Bounds {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
    }

    fn size(self) -> (u64, u64) {
        match self.0 {
            None => (0, 0),
            Some((r0, r1, c0, c1)) => (u64::from(r1 - r0) + 1, u64::from(c1 - c0) + 1),
        }
    }
}

/// Record types (MS-XLS 2.3).
const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const BOUNDSHEET: u16 = 0x0085;
const DIMENSIONS: u16 = 0x0200;
const FORMULA: u16 = 0x0006;
const STRING: u16 = 0x0207;
const MULRK: u16 = 0x00BD;
/// Cell records with the row at offset 0 and the column at offset 2 that
/// calamine keeps: NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST.
const CELLS: [u16; 6] = [0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD];

/// Why the walk stopped.
enum Stop {
    Refused(Refusal),
    Io(std::io::Error),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        Stop::Io(e)
    }
}

fn refuse<T>(sheet: &str, message: String) -> Result<T, Stop> {
    Err(Stop::Refused(Refusal {
        sheet: sheet.to_string(),
        message,
    }))
}

/// Checks the workbook stream `stream` (`len` bytes) of an `.xls` before
/// calamine opens it, as described in the [module documentation](self).
pub fn check_xls<R: Read + Seek>(stream: R, len: u64) -> Result<(), Refusal> {
    match walk(stream, len, true) {
        Ok(_) => Ok(()),
        Err(Stop::Refused(r)) => Err(r),
        Err(Stop::Io(e)) => Err(Refusal {
            sheet: String::new(),
            message: format!("ファイルを読めません (cannot read file): {e}"),
        }),
    }
}

/// One record: its type, length and the first bytes of its data (16, or
/// all of a `BoundSheet8` up to the longest name).
struct Record<'a> {
    typ: u16,
    len: usize,
    head: &'a [u8],
}

impl Record<'_> {
    /// The little-endian `u16` at `at`, 0 past the bytes read.
    fn u16_at(&self, at: usize) -> u16 {
        match self.head.get(at..at + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]),
            None => 0,
        }
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from(self.u16_at(at)) | (u32::from(self.u16_at(at + 2)) << 16)
    }

    /// Row and column at offsets 0 and 2, if the record is long enough.
    fn cell(&self) -> Option<(u32, u32)> {
        (self.len >= 4).then(|| (u32::from(self.u16_at(0)), u32::from(self.u16_at(2))))
    }
}

/// Bytes of a record's data read: enough for every field used.
const HEAD: usize = 16;
/// Bytes of a `BoundSheet8` read: 8 + a name of 255 UTF-16 units.
const BOUNDSHEET_HEAD: usize = 8 + 2 * 255;

/// Reads records from a position of the stream, as calamine's record
/// iterator splits them.
struct Records<R> {
    r: BufReader<R>,
    pos: u64,
    len: u64,
    /// Bytes read by all walks (the overlap budget).
    walked: u64,
    buf: Vec<u8>,
}

impl<R: Read + Seek> Records<R> {
    fn start(&mut self, pos: u64) -> Result<(), Stop> {
        self.r.seek(SeekFrom::Start(pos))?;
        self.pos = pos;
        Ok(())
    }

    /// The next record, `None` at the end of the stream.
    fn next(&mut self, sheet: &str) -> Result<Option<Record<'_>>, Stop> {
        let left = self.len - self.pos;
        if left == 0 {
            return Ok(None);
        }
        let truncated = || {
            refuse(
                sheet,
                "xls のレコードがストリームの終わりで途切れています \
                 (truncated .xls record: it runs past the end of the workbook stream)"
                    .to_string(),
            )
        };
        if left < 4 {
            return truncated();
        }
        let mut h = [0u8; 4];
        self.r.read_exact(&mut h)?;
        let typ = u16::from_le_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
        if left - 4 < len as u64 {
            return truncated();
        }
        let keep = len.min(if typ == BOUNDSHEET {
            BOUNDSHEET_HEAD
        } else {
            HEAD
        });
        self.buf.resize(keep, 0);
        self.r.read_exact(&mut self.buf)?;
        self.r.seek_relative((len - keep) as i64)?;
        self.pos += 4 + len as u64;
        self.walked += 4 + len as u64;
        Ok(Some(Record {
            typ,
            len,
            head: &self.buf,
        }))
    }
}

/// The `DIMENSIONS` rectangle as calamine reserves it (`parse_dimensions`,
/// then `end - start + 1` in wrapping 32-bit arithmetic); `None` where
/// calamine fails on the record.
fn dimensions(r: &Record) -> Option<(u64, u64)> {
    let (rf, rl, mut cf, cl) = match r.len {
        10 => (
            u32::from(r.u16_at(0)),
            u32::from(r.u16_at(2)),
            u32::from(r.u16_at(4)),
            u32::from(r.u16_at(6)),
        ),
        14 | 16 => (
            r.u32_at(0),
            r.u32_at(4),
            u32::from(r.u16_at(8)),
            u32::from(r.u16_at(10)),
        ),
        _ => return None,
    };
    if cf > 0xFF || cl < cf {
        cf = 0;
    }
    let (start, end) = if rl >= 1 && cl >= 1 {
        ((rf, cf), (rl - 1, cl - 1))
    } else {
        ((rf, cf), (rf, cf))
    };
    let span = |a: u32, b: u32| u64::from(b.wrapping_sub(a).wrapping_add(1));
    Some((span(start.0, end.0), span(start.1, end.1)))
}

/// Whether the globals' `BOF` says BIFF8 (calamine's `parse_bof`).
fn is_biff8(r: &Record) -> bool {
    let version = if r.len >= 2 { r.u16_at(0) } else { 0 };
    let dt = if r.len >= 4 { r.u16_at(2) } else { 0 };
    match version {
        0x0200 | 0x0002 | 0x0007 | 0x0300 | 0x0400 | 0x0500 => false,
        0 => dt != 0x1000,
        _ => true,
    }
}

/// A `BoundSheet8` record's name, if it is a BIFF8 string (otherwise the
/// sheet is named by its position).
fn sheet_name(r: &Record, biff8: bool) -> Option<String> {
    if !biff8 || r.len < 8 {
        return None;
    }
    let chars = usize::from(r.head[6]);
    let wide = r.head[7] & 1 == 1;
    let bytes = if wide { 2 * chars } else { chars };
    let body = r.head.get(8..8 + bytes)?;
    let mut name = if wide {
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|u| u16::from_le_bytes([u[0], u[1]]))
            .collect();
        String::from_utf16(&units).ok()?
    } else {
        body.iter().map(|&b| char::from(b)).collect()
    };
    name.retain(|c| c != '\0');
    Some(name)
}

fn walk<R: Read + Seek>(stream: R, len: u64, enforce: bool) -> Result<Vec<(String, Extent)>, Stop> {
    let mut records = Records {
        r: BufReader::new(stream),
        pos: 0,
        len,
        walked: 0,
        buf: Vec::with_capacity(BOUNDSHEET_HEAD),
    };
    records.start(0)?;
    // The globals: sheet offsets, up to the first EOF.
    let mut sheets: Vec<(u64, String)> = Vec::new();
    let mut biff8 = true;
    while let Some(r) = records.next("")? {
        match r.typ {
            BOF => biff8 = is_biff8(&r),
            BOUNDSHEET if r.len >= 6 => {
                if sheets.len() == limits::MAX_XLS_SHEETS {
                    let limit = limits::MAX_XLS_SHEETS;
                    return refuse(
                        "",
                        format!(
                            "シートが多すぎます: 上限 {limit} 枚 \
                             (too many sheets: limit {limit})"
                        ),
                    );
                }
                let label =
                    sheet_name(&r, biff8).unwrap_or_else(|| format!("{} 枚目", sheets.len() + 1));
                sheets.push((u64::from(r.u32_at(0)), label));
            }
            EOF => break,
            _ => {}
        }
    }
    let budget = len.saturating_mul(4).saturating_add(1 << 16);
    let limit = limits::MAX_SHEET_CELLS;
    let mut grids = 0u64;
    let mut out = Vec::with_capacity(sheets.len().min(1024));
    for (pos, label) in sheets {
        if pos > len {
            return refuse(
                &label,
                "xls のシートの位置がストリームの外です \
                 (sheet offset beyond the end of the workbook stream)"
                    .to_string(),
            );
        }
        records.start(pos)?;
        let extent = sheet(&mut records, &label, enforce)?;
        if enforce && records.walked > budget {
            return refuse(
                &label,
                "xls のシートのレコードが重なり合っています \
                 (the sheets' record streams overlap and would be read over and over)"
                    .to_string(),
            );
        }
        grids = grids.saturating_add(extent.grid_cells());
        if enforce && grids > limit {
            return refuse(
                &label,
                format!(
                    "ブック全体のセル数が多すぎます: シート「{label}」までで {grids} セル \
                     (上限 {limit} セル) (the workbook's sheets together span {grids} \
                     cells up to this sheet, limit {limit} cells)"
                ),
            );
        }
        out.push((label, extent));
    }
    Ok(out)
}

/// Walks one sheet's records from its `BOF` to its `EOF` (or the end of the
/// stream); with `enforce`, refuses as soon as a limit is passed.
fn sheet<R: Read + Seek>(
    records: &mut Records<R>,
    label: &str,
    enforce: bool,
) -> Result<Extent, Stop> {
    let mut values = Bounds::default();
    let mut formulas = Bounds::default();
    let mut extent = Extent::default();
    let mut formula_cell = (0, 0);
    let mut seen_bof = false;
    let mut depth = 0usize;
    while let Some(r) = records.next(label)? {
        if depth > 0 {
            match r.typ {
                BOF => depth += 1,
                EOF => depth -= 1,
                _ => {}
            }
            continue;
        }
        let before = extent.kept;
        match r.typ {
            BOF if seen_bof => depth += 1,
            BOF => seen_bof = true,
            EOF => break,
            DIMENSIONS => {
                if let Some(d) = dimensions(&r) {
                    extent.reserved = d;
                    if enforce {
                        limits::check_extent(d.0, d.1).or_else(|m| refuse(label, m))?;
                    }
                }
            }
            FORMULA => {
                if let Some((row, col)) = r.cell() {
                    formula_cell = (row, col);
                    values.add(row, col);
                    formulas.add(row, col);
                    extent.kept += 2;
                }
            }
            STRING => {
                values.add(formula_cell.0, formula_cell.1);
                extent.kept += 1;
            }
            MULRK if r.len >= 6 => {
                // calamine gives the values (6 bytes each, the last one
                // possibly short) columns from the first one on.
                let n = (r.len - 6).div_ceil(6) as u32;
                if n > 0 {
                    let (row, first) = r.cell().expect("6 bytes or more");
                    values.add(row, first);
                    values.add(row, first + n - 1);
                    extent.kept += u64::from(n);
                }
            }
            t if CELLS.contains(&t) => {
                if let Some((row, col)) = r.cell() {
                    values.add(row, col);
                    extent.kept += 1;
                }
            }
            _ => {}
        }
        if enforce && extent.kept != before {
            extent.values = values.size();
            extent.formulas = formulas.size();
            extent.check().or_else(|m| refuse(label, m))?;
        }
    }
    extent.values = values.size();
    extent.formulas = formulas.size();
    Ok(extent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// The extents of every sheet of a workbook stream, without limits (what
    /// the tests compare with calamine's own reading); `None` if the stream is
    /// malformed.
    fn sheet_extents<R: Read + Seek>(stream: R, len: u64) -> Option<Vec<(String, Extent)>> {
        walk(stream, len, false).ok()
    }

    /// A record: type, length, data.
    fn rec(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend_from_slice(&(data.len() as u16).to_le_bytes());
        r.extend_from_slice(data);
        r
    }

    fn cell(typ: u16, row: u16, col: u16, rest: usize) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend_from_slice(&col.to_le_bytes());
        d.resize(4 + rest, 0);
        rec(typ, &d)
    }

    fn number(row: u16, col: u16) -> Vec<u8> {
        cell(0x0203, row, col, 10)
    }

    /// MULRK: `n` values from `first` on, the last column stated.
    fn mulrk(row: u16, first: u16, n: u16) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend_from_slice(&first.to_le_bytes());
        d.resize(4 + 6 * usize::from(n), 0);
        d.extend_from_slice(&(first + n - 1).to_le_bytes());
        rec(MULRK, &d)
    }

    fn bof(dt: u16) -> Vec<u8> {
        let mut d = 0x0600u16.to_le_bytes().to_vec();
        d.extend_from_slice(&dt.to_le_bytes());
        d.resize(16, 0);
        rec(BOF, &d)
    }

    fn eof() -> Vec<u8> {
        rec(EOF, &[])
    }

    fn boundsheet(pos: u32, name: &str) -> Vec<u8> {
        let mut d = pos.to_le_bytes().to_vec();
        d.extend_from_slice(&[0, 0]);
        let units: Vec<u16> = name.encode_utf16().collect();
        d.extend_from_slice(&[units.len() as u8, 1]);
        for u in units {
            d.extend_from_slice(&u.to_le_bytes());
        }
        rec(BOUNDSHEET, &d)
    }

    /// A workbook stream: globals listing the sheets, then each sheet's
    /// BOF, records and EOF.
    fn book(sheets: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let globals_len = bof(5).len()
            + sheets
                .iter()
                .map(|(n, _)| boundsheet(0, n).len())
                .sum::<usize>()
            + eof().len();
        let mut globals = bof(5);
        let mut body = Vec::new();
        for (name, records) in sheets {
            globals.extend(boundsheet((globals_len + body.len()) as u32, name));
            body.extend(bof(0x10));
            body.extend_from_slice(records);
            body.extend(eof());
        }
        globals.extend(eof());
        assert_eq!(globals.len(), globals_len);
        globals.extend(body);
        globals
    }

    fn check(stream: &[u8]) -> Result<(), Refusal> {
        check_xls(Cursor::new(stream), stream.len() as u64)
    }

    fn extents(stream: &[u8]) -> Vec<(String, Extent)> {
        sheet_extents(Cursor::new(stream), stream.len() as u64).unwrap()
    }

    #[test]
    fn an_ordinary_sheet_passes_with_its_extent() {
        let mut cells = Vec::new();
        for row in 2..12 {
            cells.extend(number(row, 1));
            cells.extend(cell(0x00FD, row, 3, 6));
        }
        cells.extend(cell(0x0201, 60000, 200, 2)); // BLANK: ignored
        let b = book(&[("申請", cells)]);
        check(&b).unwrap();
        let e = extents(&b);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "申請");
        assert_eq!(e[0].1.values, (10, 3));
        assert_eq!(e[0].1.formulas, (0, 0));
        assert_eq!(e[0].1.kept, 20);
    }

    #[test]
    fn a_cell_far_away_is_refused_naming_the_sheet() {
        // Excel's own largest sheet (65,536 × 256) is within the limit.
        let mut full = number(0, 0);
        full.extend(number(65535, 255));
        check(&book(&[("full", full)])).unwrap();
        for far in [number(65535, 400), cell(0x027E, 1000, 65535, 6)] {
            let mut cells = number(0, 0);
            cells.extend(far);
            let e = check(&book(&[("Sheet1", cells)])).unwrap_err();
            assert_eq!(e.sheet, "Sheet1");
            assert!(
                e.message.contains("シートの範囲が広すぎます")
                    && e.message.contains("limit 20000000 cells"),
                "{e:?}"
            );
        }
        // One cell alone is a 1 × 1 grid, wherever it is.
        assert_eq!(
            extents(&book(&[("a", number(65535, 65535))]))[0].1.values,
            (1, 1)
        );
    }

    #[test]
    fn a_mulrk_spans_to_its_last_column() {
        let mut cells = number(65535, 0);
        cells.extend(mulrk(0, 250, 1));
        check(&book(&[("s", cells)])).unwrap();
        let mut cells = number(65535, 0);
        cells.extend(mulrk(0, 250, 200));
        let b = book(&[("s", cells)]);
        assert_eq!(extents(&b)[0].1.values, (65536, 450));
        assert_eq!(extents(&b)[0].1.kept, 201);
        assert!(check(&b).unwrap_err().message.contains("450 列"));
    }

    #[test]
    fn formulas_count_in_both_grids_and_their_strings_at_the_formula() {
        let mut cells = number(3, 3);
        cells.extend(cell(FORMULA, 10, 7, 22));
        cells.extend(rec(STRING, &[1, 0, 0, b'x']));
        let e = extents(&book(&[("f", cells)]))[0].1;
        assert_eq!(e.values, (8, 5));
        assert_eq!(e.formulas, (1, 1));
        let mut cells = cell(FORMULA, 0, 0, 22);
        cells.extend(cell(FORMULA, 65535, 1000, 22));
        let e = check(&book(&[("f", cells)])).unwrap_err();
        assert!(e.message.contains("1001 列"), "{e:?}");
    }

    #[test]
    fn dimensions_are_sized_as_calamine_reserves_them() {
        let dims = |rf: u32, rl: u32, cf: u16, cl: u16| {
            let mut d = rf.to_le_bytes().to_vec();
            d.extend_from_slice(&rl.to_le_bytes());
            d.extend_from_slice(&cf.to_le_bytes());
            d.extend_from_slice(&cl.to_le_bytes());
            d.extend_from_slice(&[0, 0]);
            rec(DIMENSIONS, &d)
        };
        let b = book(&[("d", dims(0, 65536, 0, 256))]);
        check(&b).unwrap();
        assert_eq!(extents(&b)[0].1.reserved, (65536, 256));
        // Empty sheet: one cell.
        assert_eq!(
            extents(&book(&[("d", dims(0, 0, 0, 0))]))[0].1.reserved,
            (1, 1)
        );
        for (d, what) in [
            (dims(0, 1_000_000, 0, 256), "1000000 行 × 256 列"),
            // First row after the last: calamine's subtraction wraps.
            (dims(5, 3, 0, 10), "4294967294 行"),
        ] {
            let e = check(&book(&[("d", d)])).unwrap_err();
            assert!(e.message.contains(what), "{e:?}");
        }
    }

    #[test]
    fn cells_of_an_embedded_chart_do_not_count() {
        let mut cells = number(1, 1);
        cells.extend(bof(0x20));
        cells.extend(number(65535, 65535));
        cells.extend(bof(0x20));
        cells.extend(eof());
        cells.extend(number(0, 65535));
        cells.extend(eof());
        cells.extend(number(2, 2));
        let e = extents(&book(&[("c", cells)]))[0].1;
        assert_eq!(e.values, (2, 2));
    }

    #[test]
    fn the_sheets_of_a_workbook_are_limited_together() {
        let big = |col: u16| {
            let mut c = number(0, 0);
            c.extend(number(65535, col));
            c
        };
        let b = book(&[("one", big(152)), ("two", big(152))]);
        let e = check(&b).unwrap_err();
        assert_eq!(e.sheet, "two");
        assert!(
            e.message.contains("ブック全体のセル数が多すぎます")
                && e.message.contains("sheets together span 20054016 cells"),
            "{e:?}"
        );
        check(&book(&[("one", big(152)), ("two", big(0))])).unwrap();
    }

    #[test]
    fn too_many_cells_kept_are_refused() {
        let e = Extent {
            values: (1, 1),
            kept: limits::MAX_SHEET_CELLS + 1,
            ..Extent::default()
        };
        assert!(e.check().unwrap_err().contains("20000001 cell records"));
    }

    #[test]
    fn a_truncated_or_misplaced_record_stream_is_an_error() {
        let mut cells = number(1, 1);
        cells.extend(number(2, 2));
        let good = book(&[("t", cells)]);
        check(&good).unwrap();
        // Every cut of the stream: an error or a pass, never a panic; cuts
        // inside a record are errors.
        for cut in 0..good.len() {
            let _ = check(&good[..cut]);
        }
        let last_number = good.len() - eof().len() - 5;
        let e = check(&good[..last_number]).unwrap_err();
        assert_eq!(e.sheet, "t");
        assert!(e.message.contains("truncated .xls record"), "{e:?}");
        // A record header cut short.
        let e = check(&good[..good.len() - 2]).unwrap_err();
        assert!(e.message.contains("truncated .xls record"), "{e:?}");
        // A length past the end in the globals.
        let mut bad = good.clone();
        bad[2] = 0xFF;
        bad[3] = 0xFF;
        let e = check(&bad).unwrap_err();
        assert_eq!(e.sheet, "");
        assert!(e.message.contains("truncated .xls record"), "{e:?}");
        // A sheet offset past the end.
        let mut bad = bof(5);
        bad.extend(boundsheet(100_000, "x"));
        bad.extend(eof());
        let e = check(&bad).unwrap_err();
        assert!(e.message.contains("sheet offset beyond"), "{e:?}");
    }

    #[test]
    fn sheets_read_over_and_over_are_refused() {
        let mut cells = bof(0x10);
        for i in 0..100 {
            cells.extend(number(i, 0));
        }
        cells.extend(eof());
        // 100 sheets at the same offset, right after the globals.
        let names: Vec<String> = (0..100).map(|i| format!("{i:02}")).collect();
        let globals_len = bof(5).len() + 100 * boundsheet(0, "00").len() + eof().len();
        let mut b = bof(5);
        for name in &names {
            b.extend(boundsheet(globals_len as u32, name));
        }
        b.extend(eof());
        assert_eq!(b.len(), globals_len);
        b.extend(cells);
        let e = check(&b).unwrap_err();
        assert!(e.message.contains("overlap"), "{e:?}");
        // Without limits every sheet is walked (for measurements).
        assert_eq!(extents(&b).len(), 100);
    }

    /// The workbook stream of an `.xls` file of the repository.
    fn stream_of(path: &str) -> crate::input::cfb_check::WorkbookStream<Cursor<Vec<u8>>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(root.join(path)).unwrap();
        crate::input::cfb_check::check_compound_file(Cursor::new(bytes))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_real_xls_fixtures_pass() {
        for p in [
            "tests/fixtures/source/cells.xls",
            "tests/fixtures/input/staff.xls",
            "fuzz/seeds/workbook/cells.xls",
            "fuzz/seeds/workbook/staff.xls",
        ] {
            let s = stream_of(p);
            let len = s.len();
            check_xls(s, len).unwrap_or_else(|e| panic!("{p}: {e:?}"));
            let e = sheet_extents(stream_of(p), len).unwrap();
            assert!(!e.is_empty(), "{p}");
            for (name, x) in e {
                assert!(x.kept > 0 && x.grid_cells() < 1000, "{p} {name}: {x:?}");
            }
        }
    }

    #[test]
    fn the_fuzz_regression_is_refused() {
        let s = stream_of("fuzz/regressions/workbook/calamine-xls-dense-grid-oom");
        let len = s.len();
        let e = check_xls(s, len).unwrap_err();
        // calamine asked for 65,283 × 64,512 cells (134 GB).
        assert_eq!(e.sheet, "職員");
        assert!(e.message.contains("65283 行 × 64512 列"), "{e:?}");
    }

    #[test]
    fn the_number_of_sheets_is_bounded() {
        // Every sheet at the end of the stream: no records.
        let many = |n: usize| {
            let end = bof(5).len() + n * boundsheet(0, "s").len() + eof().len();
            let mut b = bof(5);
            for _ in 0..n {
                b.extend(boundsheet(end as u32, "s"));
            }
            b.extend(eof());
            b
        };
        check(&many(limits::MAX_XLS_SHEETS)).unwrap();
        let e = check(&many(limits::MAX_XLS_SHEETS + 1)).unwrap_err();
        assert!(e.message.contains("too many sheets: limit 10000"), "{e:?}");
    }

    #[test]
    fn biff5_sheets_are_named_by_position() {
        let mut b = book(&[("x", number(0, 0)), ("y", number(0, 65535))]);
        b[4..6].copy_from_slice(&0x0500u16.to_le_bytes());
        let e = extents(&b);
        assert_eq!(e[0].0, "1 枚目");
        assert_eq!(e[1].0, "2 枚目");
    }
}
