//! `[[input.join]]`: a second sheet's rows checked, grouped by key and
//! attached to each main row as a list, with the joined rows that were
//! wrong or matched no main row reported. Uses `input` (reading the joined
//! sheet), `job` (the join's settings) and the stage's row checks.

use crate::check::cell::cell_text_in;
use crate::check::glyphs::GlyphCoverage;
use crate::check::row::{RowCheck, RowChecker};
use crate::check::{file_label, MappingError, Originals, Reject};
use crate::input::{self, normalize_header, Cell, Row, Sheet, SheetHead, SheetSelector};
use crate::job::JoinSpec;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The rows of one joined sheet, checked and grouped by key.
pub(super) struct JoinTable {
    spec: JoinSpec,
    /// The main sheet's column holding the key.
    on_col: usize,
    /// Key → the good rows' values (in sheet order) and the numbers of the
    /// rows with problems.
    by_key: HashMap<String, (Vec<serde_json::Value>, BTreeSet<u32>)>,
    /// Every row: key, raw key text, its problems, its original texts.
    rows: Vec<(String, String, RowCheck)>,
    /// Keys some main row asked for.
    matched: HashSet<String>,
    head: SheetHead,
    key_col: usize,
}

impl JoinTable {
    /// Reads and checks the joined sheet of `join`, whose key is matched
    /// against the main sheet's column `on_col`, registering its headers in
    /// `originals`. With `coverage`, a value the batch's fonts cannot print
    /// makes its row wrong, as in the main sheet.
    pub(super) fn read(
        main: &SheetHead,
        join: &JoinSpec,
        on_col: usize,
        coverage: Option<&dyn GlyphCoverage>,
        originals: &mut Originals,
    ) -> Result<JoinTable, MappingError> {
        let js = read_join_sheet(main, join)?;
        let key_col_name = (
            join.key.clone(),
            format!("input.join.key of {}", join.field),
        );
        let jhead = js.head();
        let mut rc = RowChecker::new(&jhead, &join.fields, &[key_col_name], &[], originals)?;
        let key_col = rc.cols[0];
        let mut table = JoinTable {
            spec: join.clone(),
            on_col,
            by_key: HashMap::new(),
            rows: Vec::with_capacity(js.rows.len()),
            matched: HashSet::new(),
            head: jhead,
            key_col,
        };
        for jrow in &js.rows {
            let mut jr = rc.check(jrow);
            if let Some(coverage) = coverage {
                let missing = rc.glyph_rejects(jrow, &jr.values, coverage);
                jr.rejects.extend(missing);
            }
            let raw_key = rc.text_of(jrow, key_col);
            let key = join_key(&raw_key);
            let entry = table.by_key.entry(key.clone()).or_default();
            if jr.rejects.is_empty() {
                entry.0.push(serde_json::Value::Object(jr.values.clone()));
            } else {
                entry.1.insert(jr.number);
            }
            table.rows.push((key, raw_key, jr));
        }
        Ok(table)
    }

    /// Attaches the joined rows matching `row`'s key to the row's values,
    /// and rejects the row when they are wrong or too few or too many.
    pub(super) fn attach(&mut self, main: &RowChecker, row: &Row, rc: &mut RowCheck) {
        let raw = cell_text_in(
            row.cells.get(self.on_col).unwrap_or(&Cell::Empty),
            main.head.date1904,
        );
        let key = join_key(&raw);
        let (list, bad) = match self.by_key.get(&key).filter(|_| !key.is_empty()) {
            Some((list, bad)) => (list.clone(), bad.clone()),
            None => (Vec::new(), BTreeSet::new()),
        };
        if !key.is_empty() {
            self.matched.insert(key);
        }
        let sheet_label = if self.head.sheet.is_empty() {
            file_label(&self.head.file)
        } else {
            self.head.sheet.clone()
        };
        let reject = |code: &str, reason: String| Reject {
            file: main.file.clone(),
            sheet: main.head.sheet.clone(),
            row: row.number,
            column: main.header(self.on_col),
            value: raw.clone(),
            code: code.into(),
            reason,
        };
        if !bad.is_empty() {
            let numbers: Vec<String> = bad.iter().map(u32::to_string).collect();
            rc.rejects.push(reject(
                "E_JOIN_ROWS",
                format!(
                    "「{sheet_label}」の {} 行目に不備があります (joined rows have problems)",
                    numbers.join("・")
                ),
            ));
        }
        let join = &self.spec;
        let n = list.len() + bad.len();
        let too_few = n < join.min_rows;
        let too_many = join.max_rows.is_some_and(|m| n > m);
        if too_few || too_many {
            let range = match join.max_rows {
                Some(m) if m == join.min_rows => format!("{m}行"),
                Some(m) => format!("{}〜{m}行", join.min_rows),
                None => format!("{}行以上", join.min_rows),
            };
            rc.rejects.push(reject(
                "E_JOIN_COUNT",
                format!(
                    "「{sheet_label}」の行が{n}行あります。{range}必要です (wrong number of joined rows)"
                ),
            ));
        }
        rc.values
            .insert(join.field.clone(), serde_json::Value::Array(list));
    }

    /// Adds to `rejects` the problems of the joined rows, including rows
    /// whose key no main row had (`main_place` names the main sheet), and
    /// their original texts to `originals`.
    pub(super) fn leftover_rejects(
        self,
        main: &RowChecker,
        main_place: &str,
        rejects: &mut Vec<Reject>,
        originals: &mut Originals,
    ) {
        let jfile = file_label(&self.head.file);
        for (key, raw_key, jr) in self.rows {
            let mut problems = jr.rejects;
            if key.is_empty() || !self.matched.contains(&key) {
                problems.insert(
                    0,
                    Reject {
                        file: jfile.clone(),
                        sheet: self.head.sheet.clone(),
                        row: jr.number,
                        column: self.head.headers.get(self.key_col).cloned().unwrap_or_default(),
                        value: raw_key.clone(),
                        code: if key.is_empty() { "E_REQUIRED" } else { "E_JOIN_NO_MATCH" }.into(),
                        reason: if key.is_empty() {
                            "必須項目が空欄です (required value missing)".into()
                        } else {
                            format!(
                                "{main_place}に同じ「{}」の行がありません (no matching row in the main sheet)",
                                main.header(self.on_col)
                            )
                        },
                    },
                );
            }
            if !problems.is_empty() {
                originals.rows.insert(
                    (jfile.clone(), self.head.sheet.clone(), jr.number),
                    jr.texts,
                );
                rejects.extend(problems);
            }
        }
    }
}

/// A join key compared across sheets: NFKC, white space removed.
fn join_key(s: &str) -> String {
    normalize_header(s)
}

/// Reads the sheet of one `[[input.join]]`.
fn read_join_sheet(main: &SheetHead, join: &JoinSpec) -> Result<Sheet, MappingError> {
    let path = join.file.clone().unwrap_or_else(|| main.file.clone());
    let selector = match (&join.sheet, join.sheet_index) {
        (Some(n), _) => Some(SheetSelector::Name(n.clone())),
        (None, Some(i)) => Some(SheetSelector::Index(i)),
        (None, None) => None,
    };
    let wanted: Vec<String> = std::iter::once(join.key.clone())
        .chain(join.fields.iter().map(|f| f.column.clone()))
        .collect();
    let header = match join.header_row {
        Some(row) => input::HeaderRow::Pinned { row, wanted },
        None => input::HeaderRow::Find(wanted),
    };
    input::read_sheet_with(&path, selector.as_ref(), &header).map_err(|e| MappingError {
        message: format!("input.join (field {}): {e}", join.field),
    })
}
