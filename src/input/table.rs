//! The table shared by workbooks and delimited text: the header row (given
//! or searched for), the columns it spans, and each data row cut to them
//! ([`build_table`]). Uses the input stage's cells, header matching and
//! limits.

use chrono::Datelike;

use crate::input::cell::{serial_to_date, Cell};
use crate::input::header::{closest_header, normalize_header};
use crate::input::limits;
use crate::input::{HeaderRow, OnRow, Row, SheetHead, SourceError, HEADER_SEARCH_ROWS};

/// A row's 1-based number and its cells.
pub(crate) type NumberedCells = (u32, Vec<Cell>);

/// Builds the head and hands each data row to `on_row`.
pub(crate) fn build_table(
    mut head: SheetHead,
    header: &HeaderRow,
    rows: impl Iterator<Item = NumberedCells>,
    on_row: &mut OnRow<'_>,
) -> Result<SheetHead, SourceError> {
    let path = head.file.clone();
    let sheet = head.sheet.clone();
    let fail = |message: String| SourceError::in_sheet(&path, &sheet, message);
    let (header_row, mut rows): (u32, Box<dyn Iterator<Item = NumberedCells>>) = match header {
        HeaderRow::At(n) | HeaderRow::Pinned { row: n, .. } => (*n, Box::new(rows)),
        HeaderRow::Find(wanted) => find_header_row(wanted, rows).map_err(fail)?,
    };
    let empty_header = || {
        fail(format!(
            "ヘッダー行 {header_row} が空です (header row is empty)"
        ))
    };
    // The rows just above a given header row, to say where the headers are
    // when the row given is wrong.
    let mut above = std::collections::VecDeque::new();
    let header_cells = loop {
        match rows.next() {
            Some((n, cells)) if n < header_row => {
                above.push_back((n, cells));
                if above.len() > HEADER_SEARCH_ROWS {
                    above.pop_front();
                }
            }
            Some((n, cells)) if n == header_row => break cells,
            _ => return Err(empty_header()),
        }
    };
    if let HeaderRow::Pinned { row, wanted } = header {
        let pinned = PinnedHeader {
            row: *row,
            wanted,
            above: Vec::from(above),
        };
        let below = pinned.check(&header_cells, &mut rows).map_err(fail)?;
        rows = Box::new(below.into_iter().chain(rows));
    }
    let first = header_cells.iter().position(|c| !c.is_blank());
    let last = header_cells.iter().rposition(|c| !c.is_blank());
    let (Some(first), Some(last)) = (first, last) else {
        return Err(empty_header());
    };
    head.headers = header_cells[first..=last].iter().map(header_text).collect();

    let mut count = 0;
    for (number, cells) in rows {
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        let cells = fit_row(number, cells, first, last).map_err(fail)?;
        count += 1;
        limits::check_rows(count).map_err(fail)?;
        if !on_row(&head, Row { number, cells }) {
            break;
        }
    }
    Ok(head)
}

/// A header row given by the job ([`HeaderRow::Pinned`]), held against
/// the headers it should have.
struct PinnedHeader<'a> {
    row: u32,
    wanted: &'a [String],
    /// Up to [`HEADER_SEARCH_ROWS`] rows above it.
    above: Vec<NumberedCells>,
}

impl PinnedHeader<'_> {
    /// Refuses a header row that holds none of the mapped headers, or that
    /// lacks some when a row near it (above, or among the
    /// [`HEADER_SEARCH_ROWS`] below) holds them all, saying which row that
    /// is. Returns the rows read below, to be handed on as data. A row
    /// holding some of them is left to the column mapping, whose error
    /// names each missing column with the closest header.
    fn check(
        &self,
        header: &[Cell],
        rows: &mut dyn Iterator<Item = NumberedCells>,
    ) -> Result<Vec<NumberedCells>, String> {
        let wanted: Vec<String> = self.wanted.iter().map(|w| normalize_header(w)).collect();
        let missing = missing_from(header, &wanted);
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let below: Vec<NumberedCells> = rows.take(HEADER_SEARCH_ROWS).collect();
        let row = self.row;
        let near = self
            .above
            .iter()
            .chain(&below)
            .filter(|(_, cells)| missing_from(cells, &wanted).is_empty())
            .min_by_key(|(n, _)| n.abs_diff(row))
            .map(|(n, _)| *n);
        let list = header_list(&missing);
        if let Some(m) = near {
            return Err(format!(
                "ヘッダー行 {row} 行目に、ジョブの列の見出し（{list}）がありません。\
                 見出しは {m} 行目にあります。ジョブファイルの header_row を {m} にするか、\
                 header_row を消して自動で探させてください \
                 (the mapped headers are not in header row {row} but in row {m}: \
                 set header_row = {m}, or remove it to find the header row automatically)"
            ));
        }
        if missing.len() == wanted.len() {
            return Err(format!(
                "ヘッダー行 {row} 行目に、ジョブの列の見出し（{list}）が一つもありません。\
                 ジョブファイルの header_row の行番号を確かめるか、header_row を消して自動で探させてください \
                 (none of the mapped headers is in header row {row}: check header_row, \
                 or remove it to find the header row automatically)"
            ));
        }
        Ok(below)
    }
}

/// The `wanted` headers (normalised) that `cells` do not hold.
fn missing_from<'w>(cells: &[Cell], wanted: &'w [String]) -> Vec<&'w str> {
    let texts: Vec<String> = cells
        .iter()
        .map(|c| normalize_header(&header_text(c)))
        .collect();
    wanted
        .iter()
        .filter(|w| !texts.contains(w))
        .map(String::as_str)
        .collect()
}

/// Headers for a message: 「a」「b」「c」, the first three and how many
/// in all when there are more.
fn header_list(headers: &[&str]) -> String {
    let shown: String = headers.iter().take(3).map(|h| format!("「{h}」")).collect();
    if headers.len() > 3 {
        format!("{shown}など {} 列", headers.len())
    } else {
        shown
    }
}

/// The header row for [`HeaderRow::Find`]: the first of the first
/// [`HEADER_SEARCH_ROWS`] non-blank rows holding every `wanted` header,
/// with the rows from the top again (those read while searching first).
fn find_header_row<'a>(
    wanted: &[String],
    mut rows: impl Iterator<Item = NumberedCells> + 'a,
) -> Result<(u32, Box<dyn Iterator<Item = NumberedCells> + 'a>), String> {
    let wanted: Vec<String> = wanted.iter().map(|w| normalize_header(w)).collect();
    let mut searched = Vec::new();
    let mut found = None;
    for (n, cells) in rows.by_ref() {
        let blank = cells.iter().all(Cell::is_blank);
        let texts: Vec<String> = cells
            .iter()
            .map(|c| normalize_header(&header_text(c)))
            .collect();
        searched.push((n, cells));
        if blank {
            continue;
        }
        if wanted.iter().all(|w| texts.contains(w)) {
            found = Some(n);
            break;
        }
        if searched
            .iter()
            .filter(|(_, c)| !c.iter().all(Cell::is_blank))
            .count()
            >= HEADER_SEARCH_ROWS
        {
            break;
        }
    }
    match found {
        Some(n) => Ok((n, Box::new(searched.into_iter().chain(rows)))),
        None => Err(format!(
            "先頭 {HEADER_SEARCH_ROWS} 行に、ジョブの列の見出しをすべて持つ行がありません (no header row with all mapped columns): {}。{}",
            wanted.join("、"),
            missing_headers_hint(&searched, &wanted)
        )),
    }
}

/// Which `wanted` headers (normalised) are missing from the searched row
/// holding most of them, with the closest header text of that row: that
/// row is probably the header row.
fn missing_headers_hint(searched: &[NumberedCells], wanted: &[String]) -> String {
    let best = searched
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
    let Some((_, n, texts)) = best else {
        return String::new();
    };
    // A header that is another mapped column's is never the guess.
    let free: Vec<String> = texts
        .iter()
        .filter(|t| !wanted.contains(&normalize_header(t)))
        .cloned()
        .collect();
    wanted
        .iter()
        .filter(|w| !texts.iter().any(|t| normalize_header(t) == **w))
        .map(|w| {
            let guess = closest_header(w, &free)
                .map(|h| format!("もしかして「{h}」のことですか (did you mean {h}?)。"))
                .unwrap_or_default();
            format!("{n} 行目に「{w}」がありません。{guess}")
        })
        .collect()
}

/// A data row cut to the header's columns `first..=last` and padded to
/// their number. A value outside them is an error naming the row and
/// column (data is never dropped silently), as is a text too long.
fn fit_row(
    number: u32,
    mut cells: Vec<Cell>,
    first: usize,
    last: usize,
) -> Result<Vec<Cell>, String> {
    if let Some(col) = cells
        .iter()
        .enumerate()
        .position(|(j, c)| (j < first || j > last) && !c.is_blank())
    {
        return Err(format!(
            "{number} 行目 {} 列: 見出しのない列に値があります \
             (value in a column without header)",
            column_letters(col)
        ));
    }
    cells.truncate(last + 1);
    cells.drain(..first.min(cells.len()));
    cells.resize(last - first + 1, Cell::Empty);
    for (j, c) in cells.iter().enumerate() {
        if let Cell::Text(t) = c {
            limits::check_cell_chars(t, number, &column_letters(first + j))?;
        }
    }
    Ok(cells)
}

/// A header cell as text: numbers without a trailing `.0`, dates as `y/m/d`.
fn header_text(c: &Cell) -> String {
    match c {
        Cell::Empty | Cell::Formula(_) => String::new(),
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

pub(crate) fn format_number(f: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letter_names() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }
}
