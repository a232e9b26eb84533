//! Delimited text (CSV, TSV): the encoding decided by content, the
//! delimiter by the header line, and line numbers as rows. Uses the input
//! stage's cells, header matching and table.

use std::path::Path;

use crate::input::cell::Cell;
use crate::input::header::normalize_header;
use crate::input::table::build_table;
use crate::input::{HeaderRow, OnRow, SheetHead, SourceError, HEADER_SEARCH_ROWS};

/// Reads the bytes of a delimited text file as one sheet (no sheet name,
/// no date system) and hands its rows to `on_row`.
pub(crate) fn read_delimited(
    path: &Path,
    bytes: &[u8],
    header: &HeaderRow,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    let text = decode_text(bytes).map_err(|e| SourceError::new(path, e.message()))?;
    let delimiter = delimiter(&text, header);
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
