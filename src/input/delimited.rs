//! Delimited text (CSV, TSV): the encoding decided by content, the
//! delimiter by the header line, and line numbers as rows. Uses the input
//! stage's cells, header matching and table.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::input::cell::Cell;
use crate::input::header::normalize_header;
use crate::input::limits;
use crate::input::table::build_table;
use crate::input::text_encoding::{self, TextEncoding};
use crate::input::{HeaderRow, OnRow, SheetHead, SourceError, HEADER_SEARCH_ROWS};

/// Reads a delimited text file as one sheet (no sheet name, no date
/// system) and hands its rows to `on_row`, streaming: a first pass decides
/// the encoding ([`text_encoding`]), the second decodes while the rows are
/// read, so that memory does not grow with the file. `source` is cloned to
/// read the file again from its start.
pub(crate) fn read_delimited<R: Read + Seek + Clone>(
    path: &Path,
    source: R,
    header: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    let head_lines = match header {
        HeaderRow::At(n) | HeaderRow::Pinned { row: n, .. } => *n as usize,
        HeaderRow::Find(_) => HEADER_SEARCH_ROWS * 2,
    };
    let mut open = || {
        let mut s = source.clone();
        s.seek(SeekFrom::Start(0)).map(|_| s)
    };
    let text = text_encoding::decide(&mut open, limits::MAX_INPUT_BYTES, head_lines)
        .map_err(|e| SourceError::new(path, e.message()))?;
    let delimiter = delimiter(&text.head, header);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(LineEnds::new(decoded(path, &text, open())?));
    let mut record = csv::StringRecord::new();
    let mut failed: Option<u32> = None;
    let records = std::iter::from_fn(|| match reader.read_record(&mut record) {
        Ok(false) => None,
        Ok(true) => {
            let at = record.position().map_or(0, |p| p.byte());
            let line = reader.get_mut().line_at(at);
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
            let at = e.position().map_or(0, |p| p.byte());
            failed = Some(reader.get_mut().line_at(at));
            None
        }
    });
    let head = SheetHead {
        file: path.to_path_buf(),
        sheet: String::new(),
        headers: Vec::new(),
        date1904: false,
        rows_hint: Some(text.line_feeds + 1),
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

/// The file's text as UTF-8, from the byte after its byte-order mark. The
/// first pass saw every byte, so the decoder never replaces one; valid
/// UTF-8 is passed through as it is.
fn decoded<R: Read + Seek>(
    path: &Path,
    text: &TextEncoding,
    source: std::io::Result<R>,
) -> Result<impl Read, SourceError> {
    let mut source = source.map_err(|e| SourceError::unreadable(path, e))?;
    source
        .seek(SeekFrom::Start(text.bom))
        .map_err(|e| SourceError::unreadable(path, e))?;
    Ok(encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(text.encoding))
        .bom_sniffing(false)
        .utf8_passthru(true)
        .build(source.take(limits::MAX_INPUT_BYTES)))
}

/// The decoded text passed on to the CSV reader, with the places of its
/// line ends noted as they go by, so that a record's byte offset gives its
/// line number without the text being kept. (The csv crate's own line count
/// lags by one after a CRLF: it consumes the LF with the next record.)
///
/// Only the line ends read ahead of the last record asked about are held:
/// records are asked about in order.
struct LineEnds<R> {
    inner: R,
    /// Bytes passed on so far.
    offset: u64,
    /// Offsets of the line feeds passed on and not yet counted.
    feeds: VecDeque<u64>,
    /// Runs of CR and LF bytes, as (start, end), not yet passed.
    runs: VecDeque<(u64, u64)>,
    /// Line feeds before the last offset asked about.
    counted: u64,
}

impl<R: Read> LineEnds<R> {
    fn new(inner: R) -> Self {
        LineEnds {
            inner,
            offset: 0,
            feeds: VecDeque::new(),
            runs: VecDeque::new(),
            counted: 0,
        }
    }

    /// The 1-based line of the record that starts at byte `at`: the line
    /// terminators (and blank lines) just before a record belong to it.
    fn line_at(&mut self, at: u64) -> u32 {
        while self.runs.front().is_some_and(|&(_, end)| end <= at) {
            self.runs.pop_front();
        }
        let at = match self.runs.front() {
            Some(&(start, end)) if start <= at => end,
            _ => at,
        };
        while self.feeds.front().is_some_and(|&f| f < at) {
            self.feeds.pop_front();
            self.counted += 1;
        }
        u32::try_from(self.counted + 1).unwrap_or(u32::MAX)
    }
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b != b'\n' && b != b'\r' {
                continue;
            }
            let at = self.offset + i as u64;
            if b == b'\n' {
                self.feeds.push_back(at);
            }
            match self.runs.back_mut() {
                Some(run) if run.1 == at => run.1 = at + 1,
                _ => self.runs.push_back((at, at + 1)),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The delimiter, decided by the header line: a tab if it holds a tab and
/// no comma, otherwise a comma. With [`HeaderRow::Find`], the header line
/// is the first early line holding the first wanted header.
fn delimiter(text: &str, header: &HeaderRow) -> u8 {
    let header_line = match header {
        HeaderRow::At(n) | HeaderRow::Pinned { row: n, .. } => {
            text.split('\n').nth(*n as usize - 1).unwrap_or("")
        }
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
    if header_line.contains('\t') && !header_line.contains(',') {
        b'\t'
    } else {
        b','
    }
}
