//! Where the job's columns are in a sheet: found by header name, a missing
//! header answered with the closest one, a header written twice refused.
//! Uses `input` (headers) and the stage's `MappingError`.

use crate::check::MappingError;
use crate::input::{self, column_letters, normalize_header, SheetHead};

/// Where each of `columns` is in the sheet. `what` names each column's
/// job key for messages. A missing header suggests the closest one; a header
/// that appears twice is an error (which one is meant?).
pub(super) fn map_columns(
    sheet: &SheetHead,
    columns: &[(String, String)],
) -> Result<Vec<usize>, MappingError> {
    let headers: Vec<String> = sheet.headers.iter().map(|h| normalize_header(h)).collect();
    let place = if sheet.sheet.is_empty() {
        sheet
            .file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        format!("シート「{}」", sheet.sheet)
    };
    let wanted: Vec<String> = columns.iter().map(|(c, _)| normalize_header(c)).collect();
    // A header that is another mapped column's is never the guess for a
    // missing one.
    let free: Vec<String> = sheet
        .headers
        .iter()
        .filter(|h| !wanted.contains(&normalize_header(h)))
        .cloned()
        .collect();
    columns
        .iter()
        .map(|(column, what)| {
            let want = normalize_header(column);
            let found: Vec<usize> = headers
                .iter()
                .enumerate()
                .filter(|(_, h)| **h == want)
                .map(|(i, _)| i)
                .collect();
            match found.as_slice() {
                [one] => Ok(*one),
                [] => {
                    let hint = input::closest_header(&want, &free)
                        .map(|h| format!("もしかして「{h}」のことですか (did you mean {h}?)。"))
                        .unwrap_or_default();
                    Err(MappingError {
                        message: format!(
                            "列「{column}」({what}) が{place}の見出しにありません (column not found in header row)。{hint}"
                        ),
                    })
                }
                many => Err(MappingError {
                    message: format!(
                        "列「{column}」({what}) が{place}の見出しに{}回あります: {}列 (duplicate header; rename one)",
                        many.len(),
                        many.iter()
                            .map(|&i| column_letters(i))
                            .collect::<Vec<_>>()
                            .join("・")
                    ),
                }),
            }
        })
        .collect()
}
