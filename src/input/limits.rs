//! Central limits on hostile or accidental huge input (hardening).
//!
//! Every limit here turns what would be memory or time exhaustion into a
//! clear error in Japanese with an English gloss. The readers call these
//! checks *before* the expensive work: [`check_input_size`] before a file is
//! read into memory, [`check_zip`] before calamine unpacks a workbook (it
//! inspects only the zip central directory, so a zip bomb is refused in
//! microseconds with bounded memory), [`check_rows`] and
//! [`check_cell_chars`] while a table is built. Legacy `.xls` files get a
//! structure check of their compound file before calamine reads them
//! ([`crate::input::cfb_check`]: no looping or out-of-range sector chains), then
//! [`check_extent`] on every sheet's cell records ([`crate::input::xls_check`]);
//! `.ods` files get a streaming check of their `content.xml`
//! ([`crate::input::ods_check`]: the cells and the text their repeats expand to,
//! [`MAX_SHEET_CELLS`], [`MAX_ODS_TEXT_BYTES`], [`MAX_CELL_CHARS`]).
//!
//! The limits of later stages live next to the code they guard (they are
//! not the readers' business): markup nesting depth and pages of one form
//! (`render::form::MAX_DEPTH`, `MAX_PAGES`), pages of one laid-out document
//! (`render::layout::MAX_PAGES`), image side and decoded size
//! (`render::image::MAX_SIDE`, `MAX_DECODED_BYTES`), file-name length
//! (`files::MAX_FILE_NAME_BYTES`), the size of a job file, template, font or
//! image file (`job::MAX_JOB_BYTES`, the template loader,
//! `render::fonts::MAX_FONT_BYTES`, `render::image::MAX_IMAGE_FILE_BYTES`)
//! and of the run's own files read back
//! (`run::runstate::MAX_READ_BACK_BYTES`). The README's Limits table states them all;
//! a unit test here keeps it true.
//!
//! Messages never contain cell values (they may be personal data), only
//! sizes, counts, row numbers and zip entry names.

use std::io::Cursor;

/// Formulas without a saved result that an `.xlsx` sheet read whole (its
/// cells out of order) may hold: they are kept by position until the sheet
/// is read, and more means the file was never saved by a spreadsheet
/// program at all, which one message says better than as many rejects.
/// (A sheet read row by row reports each as it comes, keeping none.)
pub const MAX_UNSAVED_FORMULAS: usize = 10_000;

/// Largest input file (spreadsheet or CSV) read: 200 MB.
pub const MAX_INPUT_BYTES: u64 = 200 * 1024 * 1024;

/// Most data rows of one sheet: 1,000,000 (Excel's own limit is 1,048,576).
pub const MAX_ROWS: usize = 1_000_000;

/// Most characters in one cell: 32,767, as in Excel.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Most cells in the rectangle spanned by a sheet's non-empty cells.
///
/// The workbook reader builds a dense grid: one value at `A1` and one at
/// `XFD1048576` would need 17 billion cells (hundreds of GB). 20 million
/// cells (about 640 MB) allows, say, 1,000,000 rows × 20 columns.
pub const MAX_SHEET_CELLS: u64 = 20_000_000;

/// Most sheets of an `.xls` workbook: 10,000. calamine reads every sheet
/// (with its name and two grids) when it opens the workbook, and a sheet
/// entry is a record of a dozen bytes (see [`crate::input::xls_check`]).
pub const MAX_XLS_SHEETS: usize = 10_000;

/// Largest total uncompressed size of all entries of an xlsx/ods zip: 1 GB.
pub const MAX_ZIP_UNCOMPRESSED: u64 = 1024 * 1024 * 1024;

/// Most bytes of text (string, date and time values and formulas) an `.ods`
/// workbook may expand to, all sheets together: [`MAX_ZIP_UNCOMPRESSED`].
///
/// calamine copies a cell's text into every cell its
/// `table:number-columns-repeated` and its row's
/// `table:number-rows-repeated` declare, and expands `<text:s text:c="N"/>`
/// to N spaces, so a file of a few hundred bytes can ask for terabytes.
/// [`crate::input::ods_check`] counts, per cell, its text times its repeats (each
/// row element at least once) before calamine opens the file. Without
/// repeats a workbook's text is part of its `content.xml`, which
/// [`check_zip`] keeps under [`MAX_ZIP_UNCOMPRESSED`], so every file that
/// passes the zip check and does not repeat text passes this one; with
/// repeats, calamine holds at most about twice this much text (a table's
/// rows while reading it, and its finished grid).
pub const MAX_ODS_TEXT_BYTES: u64 = MAX_ZIP_UNCOMPRESSED;

/// Largest uncompressed/compressed ratio of one zip entry.
///
/// Real workbooks compress their XML at 5–30×; 200× leaves ample room, while
/// a deflate bomb reaches about 1000×.
pub const MAX_ZIP_RATIO: u64 = 200;

/// Entries smaller than this are exempt from [`MAX_ZIP_RATIO`] (a tiny
/// entry cannot exhaust anything, and tiny runs of zeros compress well).
pub const ZIP_RATIO_EXEMPT_BYTES: u64 = 1024 * 1024;

/// Most entries in an xlsx/ods zip.
pub const MAX_ZIP_ENTRIES: usize = 10_000;

/// Fails if an input file of `len` bytes is larger than [`MAX_INPUT_BYTES`].
pub fn check_input_size(len: u64) -> Result<(), String> {
    if len > MAX_INPUT_BYTES {
        return Err(format!(
            "ファイルが大きすぎます: {} MB (上限 {} MB) \
             (input file too large: {len} bytes, limit {MAX_INPUT_BYTES} bytes)",
            len / (1024 * 1024),
            MAX_INPUT_BYTES / (1024 * 1024)
        ));
    }
    Ok(())
}

/// Fails if a sheet has more than [`MAX_ROWS`] rows.
pub fn check_rows(rows: usize) -> Result<(), String> {
    if rows > MAX_ROWS {
        return Err(format!(
            "行数が多すぎます: 上限 {MAX_ROWS} 行 (too many rows: limit {MAX_ROWS})"
        ));
    }
    Ok(())
}

/// Fails if a cell holds more than [`MAX_CELL_CHARS`] characters; `row` is
/// 1-based, `column` the column letters.
pub fn check_cell_chars(text: &str, row: u32, column: &str) -> Result<(), String> {
    // Cheap test first: a string of at most MAX_CELL_CHARS bytes is short.
    if text.len() > MAX_CELL_CHARS && text.chars().count() > MAX_CELL_CHARS {
        return Err(cell_too_long(row.into(), column));
    }
    Ok(())
}

/// [`check_cell_chars`]'s message for the cell at `row` (1-based) and
/// `column` (letters).
pub fn cell_too_long(row: u64, column: &str) -> String {
    format!(
        "{row} 行目 {column} 列: セルの文字数が上限 {MAX_CELL_CHARS} 字を超えています \
         (cell longer than {MAX_CELL_CHARS} characters)"
    )
}

/// A workbook refused by a pre-check of its sheets ([`crate::input::ods_check`],
/// [`crate::input::xls_check`]) before calamine opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRefusal {
    /// The sheet the refusal is about (its name, or its position when the
    /// name cannot be read), or empty when it is about the whole workbook.
    pub sheet: String,
    /// Japanese message with English gloss; no cell values.
    pub message: String,
}

/// Columns a sheet may use: Excel's own last column is XFD, the 16,384th.
/// Rows are handed out with a cell for every column up to the last one
/// used, so a single cell far to the right would cost memory in every row.
pub const MAX_COLUMNS: u64 = 16_384;

/// Refuses a cell beyond [`MAX_COLUMNS`] (0-based `last_column`).
pub fn check_columns(last_column: u64) -> Result<(), String> {
    if last_column >= MAX_COLUMNS {
        return Err(format!(
            "列が多すぎます: {} 列目にセルがあります (上限 {MAX_COLUMNS} 列 = XFD) \
             (a cell in column {}, limit {MAX_COLUMNS})",
            last_column + 1,
            last_column + 1
        ));
    }
    Ok(())
}

/// Fails if the non-empty cells of a sheet span more than
/// [`MAX_SHEET_CELLS`] cells (`rows` × `columns`).
pub fn check_extent(rows: u64, columns: u64) -> Result<(), String> {
    let cells = rows.saturating_mul(columns);
    if cells > MAX_SHEET_CELLS {
        return Err(format!(
            "シートの範囲が広すぎます: {rows} 行 × {columns} 列 (上限 {MAX_SHEET_CELLS} セル) \
             (sheet spans {rows} rows × {columns} columns, limit {MAX_SHEET_CELLS} cells)"
        ));
    }
    Ok(())
}

/// Checks the central directory of a zip (xlsx, xlsm, xlsb, ods) before it
/// is unpacked: at most [`MAX_ZIP_ENTRIES`] entries, total declared
/// uncompressed size at most [`MAX_ZIP_UNCOMPRESSED`], no entry above
/// [`ZIP_RATIO_EXEMPT_BYTES`] with a ratio above [`MAX_ZIP_RATIO`].
///
/// Declared sizes can lie; the zip crate stops inflating an entry at its
/// declared size, so the declared sizes bound what calamine can get.
/// A zip that cannot be read at all is left to the workbook reader, which
/// reports it in its own words.
pub fn check_zip(bytes: &[u8]) -> Result<(), String> {
    check_zip_reader(Cursor::new(bytes))
}

/// [`check_zip`] on a zip read through `reader` (only the central directory
/// is read).
pub fn check_zip_reader<R: std::io::Read + std::io::Seek>(reader: R) -> Result<(), String> {
    let Ok(mut archive) = zip::ZipArchive::new(reader) else {
        return Ok(());
    };
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(format!(
            "zip の項目が多すぎます: {} 個 (上限 {MAX_ZIP_ENTRIES}) \
             (too many zip entries: {}, limit {MAX_ZIP_ENTRIES})",
            archive.len(),
            archive.len()
        ));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index_raw(i) else {
            continue;
        };
        let size = entry.size();
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let packed = entry.compressed_size().max(1);
        total = total.saturating_add(size);
        if size > ZIP_RATIO_EXEMPT_BYTES && size / packed > MAX_ZIP_RATIO {
            return Err(format!(
                "zip 爆弾の疑い: 項目「{}」の圧縮率が {} 倍です (上限 {MAX_ZIP_RATIO} 倍) \
                 (suspected zip bomb: entry compression ratio {}:1, limit {MAX_ZIP_RATIO}:1)",
                name,
                size / packed,
                size / packed
            ));
        }
    }
    if total > MAX_ZIP_UNCOMPRESSED {
        return Err(format!(
            "zip の展開後サイズが大きすぎます: {} MB (上限 {} MB) \
             (zip expands to {total} bytes, limit {MAX_ZIP_UNCOMPRESSED})",
            total / (1024 * 1024),
            MAX_ZIP_UNCOMPRESSED / (1024 * 1024)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Thousands separators as the README writes them.
    fn grouped(n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn the_readme_states_the_limits_in_force() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme
            .find("### Limits")
            .expect("README has a Limits section")..];
        let section = &section[..section[4..].find("\n### ").map_or(section.len(), |e| e + 4)];
        let mib = 1024 * 1024;
        for want in [
            format!("| {} MB, checked before reading |", MAX_INPUT_BYTES / mib),
            format!("| {} |", grouped(MAX_ROWS as u64)),
            format!("| {} |", grouped(MAX_SHEET_CELLS)),
            format!("| {} |", grouped(MAX_CELL_CHARS as u64)),
            format!(
                "| {} GB / {} / {}:1 ",
                MAX_ZIP_UNCOMPRESSED / (1024 * mib),
                grouped(MAX_ZIP_ENTRIES as u64),
                MAX_ZIP_RATIO
            ),
            format!("| {} GB |", MAX_ODS_TEXT_BYTES / (1024 * mib)),
            format!("workbook | {} |", grouped(MAX_XLS_SHEETS as u64)),
            format!(
                "cells out of order) | {} |",
                grouped(MAX_UNSAVED_FORMULAS as u64)
            ),
            format!(
                "| {} / {} |",
                crate::render::form::MAX_DEPTH,
                crate::render::form::MAX_PAGES
            ),
            format!("| {} |", crate::render::layout::MAX_PAGES),
            format!(
                "| {} px a side, {} MB decoded |",
                grouped(crate::render::image::MAX_SIDE as u64),
                crate::render::image::MAX_DECODED_BYTES / mib
            ),
            format!("| {} bytes, NFC", crate::files::MAX_FILE_NAME_BYTES),
            format!(
                "| {} MB / 4 MB / {} MB / {} MB, checked before reading |",
                crate::job::MAX_JOB_BYTES / mib,
                crate::render::fonts::MAX_FONT_BYTES / mib,
                crate::render::image::MAX_IMAGE_FILE_BYTES / mib
            ),
            format!(
                "| {} GB |",
                crate::run::runstate::MAX_READ_BACK_BYTES / (1024 * mib)
            ),
        ] {
            assert!(section.contains(&want), "README's limits lack {want:?}");
        }
        assert_eq!(grouped(1_000_000), "1,000,000");
        assert_eq!(grouped(200), "200");
    }

    use super::*;
    use std::io::Write;

    fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_deflate_bomb_is_refused_from_the_directory() {
        let zeros = vec![0u8; 50 * 1024 * 1024];
        let z = zip_with(&[("xl/worksheets/sheet1.xml", &zeros)]);
        assert!(z.len() < 200_000, "{}", z.len());
        let e = check_zip(&z).unwrap_err();
        assert!(e.contains("zip 爆弾") && e.contains("sheet1.xml"), "{e}");
    }

    #[test]
    fn zip_entry_count_is_bounded() {
        let names: Vec<String> = (0..=MAX_ZIP_ENTRIES).map(|i| format!("e{i}")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        check_zip(&zip_with(&entries[..MAX_ZIP_ENTRIES])).unwrap();
        let e = check_zip(&zip_with(&entries)).unwrap_err();
        assert!(e.contains("too many zip entries: 10001"), "{e}");
    }

    #[test]
    fn total_uncompressed_size_is_bounded() {
        // Entries of exactly 1 MiB are exempt from the ratio rule, so only
        // the total can stop them: 1024 MiB passes, 1025 MiB does not.
        let mib = vec![0u8; ZIP_RATIO_EXEMPT_BYTES as usize];
        let zip_of = |n: usize| {
            let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            w.start_file("e0", opts).unwrap();
            w.write_all(&mib).unwrap();
            for i in 1..n {
                // Copies the compressed bytes (about 1 kB), no re-compression.
                w.deep_copy_file("e0", &format!("e{i}")).unwrap();
            }
            w.finish().unwrap().into_inner()
        };
        let n = (MAX_ZIP_UNCOMPRESSED / ZIP_RATIO_EXEMPT_BYTES) as usize;
        let at_limit = zip_of(n);
        assert!(at_limit.len() < 5_000_000, "{}", at_limit.len());
        check_zip(&at_limit).unwrap();
        let e = check_zip(&zip_of(n + 1)).unwrap_err();
        assert!(
            e.contains("展開後サイズが大きすぎます") && e.contains("limit 1073741824"),
            "{e}"
        );
    }

    #[test]
    fn ordinary_zips_pass() {
        let z = zip_with(&[("a.xml", b"<a>hello</a>"), ("b.xml", &[b'x'; 2048])]);
        check_zip(&z).unwrap();
        check_zip(b"not a zip").unwrap();
    }

    #[test]
    fn sizes_rows_and_cells_are_bounded() {
        check_input_size(MAX_INPUT_BYTES).unwrap();
        assert!(check_input_size(MAX_INPUT_BYTES + 1)
            .unwrap_err()
            .contains("too large"));
        check_rows(MAX_ROWS).unwrap();
        assert!(check_rows(MAX_ROWS + 1).is_err());
        check_cell_chars(&"あ".repeat(MAX_CELL_CHARS), 2, "B").unwrap();
        let e = check_cell_chars(&"a".repeat(MAX_CELL_CHARS + 1), 7, "C").unwrap_err();
        assert!(e.starts_with("7 行目 C 列"), "{e}");
    }
}
