//! Reading the job's input and checking its rows: all at once (the `check`
//! command, merging shards, delivery) or streamed row by row (a batch).
//!
//! Uses `input` (the readers) and `check`; knows nothing of rendering.

use crate::check;
use crate::error::BatchError;
use crate::input::{self, SheetSelector};
use crate::job::Job;
use std::path::Path;

/// The sheet the job reads (a sheet option names a workbook tab; delimited
/// text has none and ignores it).
fn input_selector(job: &Job) -> Option<SheetSelector> {
    match (&job.input.sheet, job.input.sheet_index) {
        (Some(name), _) => Some(SheetSelector::Name(name.clone())),
        (None, Some(i)) => Some(SheetSelector::Index(i)),
        (None, None) => None,
    }
}

/// Where the job's header row is: given, or searched by the mapped columns.
fn input_header(job: &Job) -> input::HeaderRow {
    match job.input.header_row {
        Some(row) => input::HeaderRow::Pinned {
            row,
            wanted: job.fields.iter().map(|f| f.column.clone()).collect(),
        },
        None => input::HeaderRow::Find(job.fields.iter().map(|f| f.column.clone()).collect()),
    }
}

/// An input that cannot be used; one that cannot be read at all (missing,
/// not a file, no permission) says where its name comes from.
fn input_error(e: input::SourceError) -> BatchError {
    if e.source.is_some() {
        BatchError::Input(format!(
            "{e}。ジョブファイルの input.file か --input を確認してください \
             (check input.file in the job file or --input)"
        ))
    } else {
        BatchError::Input(e.to_string())
    }
}

/// Reads and checks the job's whole input at once (the `check` command,
/// merging shards, delivery). A batch streams instead. With `coverage`
/// (the batch's fonts), values they cannot print are rejects too.
pub fn read_and_check(
    job: &Job,
    input: Option<&Path>,
    coverage: Option<&dyn check::GlyphCoverage>,
) -> Result<check::Checked, BatchError> {
    let path = input.unwrap_or(&job.input.file);
    let sheet = input::read_sheet_with(path, input_selector(job).as_ref(), &input_header(job))
        .map_err(input_error)?;
    check::check_sheet(&sheet, job, coverage)
        .map_err(|e| BatchError::Input(format!("{}: {}", path.display(), e.message)))
}

/// What the `check` command reports: the rejects with their rows' texts
/// and the counts. The good rows are counted, not kept, so checking a
/// million rows takes memory for the problems only.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Problems in sheet order, the joined sheets' after the main sheet's.
    pub rejects: Vec<check::Reject>,
    /// The rejected rows' original texts (for `rejects.xlsx`).
    pub originals: check::Originals,
    /// Rows read (excluding blank rows).
    pub rows_read: usize,
    /// Rows without any problem.
    pub good: usize,
}

/// Reads and checks the job's input as a stream for the `check` command
/// (with the fonts' `coverage`, as a batch checks): the same rejects and
/// texts as [`read_and_check`], without holding the sheet or the records.
pub fn check_input(
    job: &Job,
    input: Option<&Path>,
    coverage: Option<&dyn check::GlyphCoverage>,
) -> Result<CheckReport, BatchError> {
    let path = input.unwrap_or(&job.input.file);
    let file = check::file_label(path);
    let sheet = std::cell::RefCell::new(String::new());
    let mut columns = Vec::new();
    let mut report = CheckReport::default();
    let checker = stream_checked(
        job,
        path,
        coverage,
        &mut |head, c| {
            *sheet.borrow_mut() = head.sheet.clone();
            columns = c.columns().to_vec();
        },
        &mut |o| {
            match o.result {
                Ok(_) => report.good += 1,
                Err(rs) => {
                    let key = (file.clone(), sheet.borrow().clone(), o.number);
                    report.originals.rows.insert(key, o.texts);
                    report.rejects.extend(rs);
                }
            }
            Ok(true)
        },
    )?;
    let fin = checker.finish();
    report.rows_read = fin.rows_read;
    report.rejects.extend(fin.rejects);
    report.originals.rows.extend(fin.originals.rows);
    report.originals.columns = if fin.originals.columns.is_empty() {
        columns
    } else {
        fin.originals.columns
    };
    Ok(report)
}

/// Reads and checks the job's input row by row, keeping nothing but the
/// count of problems: `(rows read, rejects)`. For `run --strict`, which
/// renders only an input without any problem (and so also finds a
/// structural error late in a large input before anything is written).
/// `coverage` as for [`read_and_check`].
pub fn count_rejects(
    job: &Job,
    input: Option<&Path>,
    coverage: Option<&dyn check::GlyphCoverage>,
) -> Result<(usize, usize), BatchError> {
    let path = input.unwrap_or(&job.input.file);
    let mut rejects = 0;
    let checker = stream_checked(job, path, coverage, &mut |_, _| {}, &mut |o| {
        if let Err(rs) = o.result {
            rejects += rs.len();
        }
        Ok(true)
    })?;
    let fin = checker.finish();
    Ok((fin.rows_read, rejects + fin.rejects.len()))
}

/// Streams the job's input sheet at `path` through a [`check::Checker`]
/// (with the fonts' `coverage`, see [`read_and_check`]): `on_head` once, when the checker is made from the sheet's head (also for
/// a sheet without data rows, whose mapping is still checked); `on_row` with
/// each row's outcome, returning `false` to stop. Returns the checker, for
/// [`check::Checker::finish`].
pub(super) fn stream_checked<'c>(
    job: &Job,
    path: &Path,
    coverage: Option<&'c dyn check::GlyphCoverage>,
    on_head: &mut dyn FnMut(&input::SheetHead, &check::Checker),
    on_row: &mut dyn FnMut(check::RowOutcome) -> Result<bool, BatchError>,
) -> Result<check::Checker<'c>, BatchError> {
    let mapping =
        |e: check::MappingError| BatchError::Input(format!("{}: {}", path.display(), e.message));
    let mut checker: Option<check::Checker<'c>> = None;
    let mut failed: Option<BatchError> = None;
    let head = input::stream_sheet(
        path,
        input_selector(job).as_ref(),
        &input_header(job),
        &mut |head, row| {
            let c = match &mut checker {
                Some(c) => c,
                None => match check::Checker::new(job, head, coverage) {
                    Ok(c) => {
                        on_head(head, &c);
                        checker.insert(c)
                    }
                    Err(e) => {
                        failed = Some(mapping(e));
                        return false;
                    }
                },
            };
            match on_row(c.check(&row)) {
                Ok(go_on) => go_on,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        },
    )
    .map_err(input_error)?;
    if let Some(e) = failed {
        return Err(e);
    }
    match checker {
        Some(c) => Ok(c),
        None => {
            let c = check::Checker::new(job, &head, coverage).map_err(mapping)?;
            on_head(&head, &c);
            Ok(c)
        }
    }
}
