//! The stage's streaming entry point: a [`Checker`] made once per sheet
//! (mapping columns, reading the joined sheets), fed the main rows one at a
//! time, finished with the joined rows' problems. Uses `input`, `job` and
//! the stage's row and join checks.

use crate::check::address::AddressFields;
use crate::check::glyphs::GlyphCoverage;
use crate::check::join::JoinTable;
use crate::check::row::RowChecker;
use crate::check::{value_text, MappingError, Originals, Record, Reject};
use crate::input::{Row, SheetHead};
use crate::job::Job;

/// The result of one main-sheet row.
#[derive(Debug)]
pub struct RowOutcome {
    /// 1-based row number.
    pub number: u32,
    /// The row's cell texts as written, aligned with
    /// [`Originals::columns`] (for the rejects report).
    pub texts: Vec<String>,
    /// The record, or every problem of the row.
    pub result: Result<Record, Vec<Reject>>,
}

/// Checks the rows of a main sheet one at a time, so that a batch never
/// holds them all: joined sheets are read and checked when it is made, each
/// main row is checked by [`Checker::check`] as it is read, and
/// [`Checker::finish`] reports the joined rows that were wrong or matched
/// no main row. With the batch's fonts (`coverage` of [`Checker::new`]), a
/// value they cannot print, in the main sheet or a joined one, is a reject
/// too, before the row is given a number.
pub struct Checker<'c> {
    main: RowChecker,
    joins: Vec<JoinTable>,
    address: Option<AddressFields>,
    coverage: Option<&'c dyn GlyphCoverage>,
    record_id: String,
    rows_read: usize,
    columns: Originals,
}

/// What is left when the last row was checked.
#[derive(Debug, Default)]
pub struct Finished {
    /// Problems of joined sheets' rows, by sheet and row.
    pub rejects: Vec<Reject>,
    /// Original column headers, and the texts of the joined rows in
    /// `rejects`.
    pub originals: Originals,
    /// Main rows checked.
    pub rows_read: usize,
}

impl<'c> Checker<'c> {
    /// Maps the job's fields to the sheet's columns and reads the joined
    /// sheets (from their own `file`, or else from the main sheet's file,
    /// so `--input` replaces both). With `coverage` (the batch's fonts),
    /// every text value of the main sheet's fields and of the joined rows
    /// is checked against them (`E_GLYPH_MISSING`; see `check::glyphs`).
    pub fn new(
        job: &Job,
        head: &SheetHead,
        coverage: Option<&'c dyn GlyphCoverage>,
    ) -> Result<Checker<'c>, MappingError> {
        let mut originals = Originals::default();
        let main = RowChecker::new(head, &job.fields, &[], &job.rules, &mut originals)?;
        let mut joins = Vec::new();
        for join in &job.input.join {
            let on = join.on.as_deref().unwrap_or(&job.job.record_id);
            let on_index = job.fields.iter().position(|f| f.name == on).unwrap_or(0);
            joins.push(JoinTable::read(
                head,
                join,
                main.cols[on_index],
                coverage,
                &mut originals,
            )?);
        }
        Ok(Checker {
            main,
            joins,
            address: AddressFields::of(job)?,
            coverage,
            record_id: job.job.record_id.clone(),
            rows_read: 0,
            columns: originals,
        })
    }

    /// The original column headers (see [`Originals::columns`]).
    pub fn columns(&self) -> &[String] {
        &self.columns.columns
    }

    /// Checks one main-sheet row.
    pub fn check(&mut self, row: &Row) -> RowOutcome {
        self.rows_read += 1;
        let mut rc = self.main.check(row);
        for table in &mut self.joins {
            table.attach(&self.main, row, &mut rc);
        }
        if let Some(coverage) = self.coverage {
            rc.rejects
                .extend(self.main.glyph_rejects(row, &rc.values, coverage));
        }
        if let Some(address) = &self.address {
            rc.rejects
                .extend(address.check(&self.main, row, &rc.values));
        }
        let result = if rc.rejects.is_empty() {
            Ok(Record {
                id: value_text(rc.values.get(&self.record_id)),
                row: rc.number,
                fields: rc.values.into_iter().collect(),
            })
        } else {
            Err(rc.rejects)
        };
        RowOutcome {
            number: rc.number,
            texts: rc.texts,
            result,
        }
    }

    /// The joined rows' problems, including rows whose key no main row had.
    pub fn finish(self) -> Finished {
        let mut out = Finished {
            rows_read: self.rows_read,
            originals: self.columns,
            ..Finished::default()
        };
        let main_place = if self.main.head.sheet.is_empty() {
            "入力ファイル".to_string()
        } else {
            format!("シート「{}」", self.main.head.sheet)
        };
        for table in self.joins {
            table.leftover_rejects(
                &self.main,
                &main_place,
                &mut out.rejects,
                &mut out.originals,
            );
        }
        out
    }
}
