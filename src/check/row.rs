//! One sheet's rows checked against a list of fields, one row at a time:
//! every field's cell, `unique` against the rows before, date bounds that
//! name another field, the job's cross-field rules. Uses `input` (rows),
//! `job` (fields and rules) and the stage's cell checks and column mapping.

use crate::check::cell::{cell_text_in, check_cell};
use crate::check::columns::map_columns;
use crate::check::glyphs::{first_missing, missing_reason, GlyphCoverage};
use crate::check::{file_label, MappingError, Originals, Reject};
use crate::input::{Cell, Row, SheetHead};
use crate::job::rules;
use crate::job::{Bound, FieldSpec, FieldType};
use std::collections::{BTreeMap, HashMap};

/// One sheet's rows checked against a list of fields, one row at a time:
/// the column mapping, and the values seen so far for `unique` fields.
pub(super) struct RowChecker {
    fields: Vec<FieldSpec>,
    rules: Vec<rules::Rule>,
    /// Sheet columns of the extra columns, then of the fields.
    pub(super) cols: Vec<usize>,
    /// Extra columns (e.g. a join key) before the fields in `cols`.
    extra: usize,
    /// `Originals` column of each of `cols`.
    slots: Vec<usize>,
    /// Length of the texts kept per row.
    width: usize,
    /// Per field: the values seen so far and the first row of each. Values
    /// are kept as 64-bit hashes, 16 bytes per row however long they are;
    /// two different values sharing a hash (odds about 1 in 10^9 for a
    /// million rows) would make a reported duplicate, never a lost row.
    seen: Vec<HashMap<u64, u32>>,
    pub(super) file: String,
    pub(super) head: SheetHead,
}

/// The fields of one row, each checked on its own.
#[derive(Default)]
struct FieldValues {
    /// Parsed values by field name (an allowed empty cell as empty text).
    values: serde_json::Map<String, serde_json::Value>,
    /// The same values as the cross-field rules see them.
    typed: BTreeMap<String, rules::Value>,
    problems: Vec<Reject>,
}

/// What checking one row against its sheet's fields gave.
pub(super) struct RowCheck {
    pub(super) number: u32,
    pub(super) values: serde_json::Map<String, serde_json::Value>,
    pub(super) rejects: Vec<Reject>,
    /// Original texts, aligned with `Originals::columns`.
    pub(super) texts: Vec<String>,
}

impl RowChecker {
    /// Maps `fields` (and `extra` columns first, e.g. a join key) to the
    /// sheet's columns, registering their headers in `originals`.
    pub(super) fn new(
        head: &SheetHead,
        fields: &[FieldSpec],
        extra: &[(String, String)],
        rules: &[rules::Rule],
        originals: &mut Originals,
    ) -> Result<RowChecker, MappingError> {
        let mut wanted: Vec<(String, String)> = extra.to_vec();
        wanted.extend(
            fields
                .iter()
                .map(|f| (f.column.clone(), format!("field {}", f.name))),
        );
        let cols = map_columns(head, &wanted)?;
        let slots: Vec<usize> = cols
            .iter()
            .map(|&c| originals.column(head.headers.get(c).map(String::as_str).unwrap_or("")))
            .collect();
        Ok(RowChecker {
            fields: fields.to_vec(),
            rules: rules.to_vec(),
            extra: extra.len(),
            width: slots.iter().max().map_or(0, |m| m + 1),
            slots,
            cols,
            // Sized once from the sheet's row count when known: no growing
            // (and briefly doubled) tables on large sheets.
            seen: fields
                .iter()
                .map(|f| match (f.unique, head.rows_hint) {
                    (true, Some(n)) => {
                        HashMap::with_capacity(n.min(crate::input::limits::MAX_ROWS))
                    }
                    _ => HashMap::new(),
                })
                .collect(),
            file: file_label(&head.file),
            head: head.clone(),
        })
    }

    pub(super) fn header(&self, c: usize) -> String {
        self.head.headers.get(c).cloned().unwrap_or_default()
    }

    pub(super) fn text_of(&self, row: &Row, c: usize) -> String {
        cell_text_in(row.cells.get(c).unwrap_or(&Cell::Empty), self.head.date1904)
    }

    /// A reject of one cell of `row`.
    fn reject(&self, row: &Row, col: usize, code: &str, reason: String) -> Reject {
        Reject {
            file: self.file.clone(),
            sheet: self.head.sheet.clone(),
            row: row.number,
            column: self.header(col),
            value: crate::check::cell::visible(&self.text_of(row, col)),
            code: code.to_string(),
            reason,
        }
    }

    /// Checks one row: every field, the date bounds naming other fields,
    /// the cross-field rules.
    pub(super) fn check(&mut self, row: &Row) -> RowCheck {
        let mut texts = vec![String::new(); self.width];
        for (&c, &slot) in self.cols.iter().zip(&self.slots) {
            texts[slot] = crate::check::cell::visible(&self.text_of(row, c));
        }
        let mut fields = self.check_fields(row);
        self.check_date_bounds(row, &fields.typed, &mut fields.problems);
        self.check_rules(row, &fields.typed, &mut fields.problems);
        RowCheck {
            number: row.number,
            values: fields.values,
            rejects: fields.problems,
            texts,
        }
    }

    /// Each field's cell on its own, and `unique` against the rows before.
    fn check_fields(&mut self, row: &Row) -> FieldValues {
        let field_cols = &self.cols[self.extra..];
        let mut seen = std::mem::take(&mut self.seen);
        let mut out = FieldValues::default();
        for (fi, (spec, &col)) in self.fields.iter().zip(field_cols).enumerate() {
            let cell = row.cells.get(col).unwrap_or(&Cell::Empty);
            match check_cell(cell, spec, self.head.date1904) {
                Ok(None) => {
                    out.values
                        .insert(spec.name.clone(), serde_json::Value::String(String::new()));
                    out.typed
                        .insert(spec.name.clone(), rules::Value::Text(String::new()));
                }
                Ok(Some(v)) => {
                    if spec.unique {
                        let key = value_key(&v);
                        if let Some(first) = seen[fi].get(&key) {
                            out.problems.push(self.reject(
                                row,
                                col,
                                "E_DUPLICATE",
                                format!("{first}行目と同じ値です (duplicate of row {first})"),
                            ));
                        } else {
                            seen[fi].insert(key, row.number);
                        }
                    }
                    if let Some(t) = typed_value(&v, spec.kind) {
                        out.typed.insert(spec.name.clone(), t);
                    }
                    out.values.insert(spec.name.clone(), v);
                }
                Err((code, reason)) => out.problems.push(self.reject(row, col, code, reason)),
            }
        }
        self.seen = seen;
        out
    }

    /// Bounds naming another date field of the row.
    fn check_date_bounds(
        &self,
        row: &Row,
        typed: &BTreeMap<String, rules::Value>,
        problems: &mut Vec<Reject>,
    ) {
        let field_cols = &self.cols[self.extra..];
        for (spec, &col) in self.fields.iter().zip(field_cols) {
            let Some(rules::Value::Date(d)) = typed.get(&spec.name) else {
                continue;
            };
            for (bound, is_min) in [(&spec.compiled.min, true), (&spec.compiled.max, false)] {
                let Some(Bound::Field(other)) = bound else {
                    continue;
                };
                let Some(rules::Value::Date(o)) = typed.get(other) else {
                    continue;
                };
                let other_col = self
                    .fields
                    .iter()
                    .position(|f| f.name == *other)
                    .map(|i| self.header(field_cols[i]))
                    .unwrap_or_default();
                if is_min && d < o {
                    problems.push(self.reject(
                        row,
                        col,
                        "E_DATE_RANGE",
                        format!("「{other_col}」より前の日付です (before {other})"),
                    ));
                } else if !is_min && d > o {
                    problems.push(self.reject(
                        row,
                        col,
                        "E_DATE_RANGE",
                        format!("「{other_col}」より後の日付です (after {other})"),
                    ));
                }
            }
        }
    }

    /// The job's cross-field `[[rules]]`, each naming the columns it reads.
    fn check_rules(
        &self,
        row: &Row,
        typed: &BTreeMap<String, rules::Value>,
        problems: &mut Vec<Reject>,
    ) {
        for rule in &self.rules {
            if rule.fails(typed) {
                problems.push(self.fields_reject(
                    row,
                    &rule.fields,
                    &rule.code,
                    format!("{} (rule: {})", rule.message, rule.source),
                ));
            }
        }
    }

    /// An `E_GLYPH_MISSING` reject for each field of `row` whose text
    /// value has a character no font of the batch has (the first such
    /// character names it).
    pub(super) fn glyph_rejects(
        &self,
        row: &Row,
        values: &serde_json::Map<String, serde_json::Value>,
        coverage: &dyn GlyphCoverage,
    ) -> Vec<Reject> {
        let field_cols = &self.cols[self.extra..];
        let mut out = Vec::new();
        for (spec, &col) in self.fields.iter().zip(field_cols) {
            let Some(serde_json::Value::String(text)) = values.get(&spec.name) else {
                continue;
            };
            if let Some(ch) = first_missing(text, coverage) {
                out.push(self.reject(row, col, "E_GLYPH_MISSING", missing_reason(ch)));
            }
        }
        out
    }

    /// A reject of several fields of `row` together (a cross-field
    /// problem): their headers and their texts as written, each joined
    /// with ` / `. Names that are not fields of this sheet are left out.
    pub(super) fn fields_reject(
        &self,
        row: &Row,
        names: &[String],
        code: &str,
        reason: String,
    ) -> Reject {
        let field_cols = &self.cols[self.extra..];
        let involved: Vec<usize> = names
            .iter()
            .filter_map(|n| self.fields.iter().position(|f| f.name == *n))
            .map(|i| field_cols[i])
            .collect();
        Reject {
            file: self.file.clone(),
            sheet: self.head.sheet.clone(),
            row: row.number,
            column: involved
                .iter()
                .map(|&c| self.header(c))
                .collect::<Vec<_>>()
                .join(" / "),
            value: involved
                .iter()
                .map(|&c| self.text_of(row, c))
                .collect::<Vec<_>>()
                .join(" / "),
            code: code.to_string(),
            reason,
        }
    }
}

/// The identity of a value for `unique`: its JSON text, hashed.
fn value_key(v: &serde_json::Value) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(v.to_string().as_bytes());
    u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

/// A parsed JSON value as rules see it.
fn typed_value(v: &serde_json::Value, kind: FieldType) -> Option<rules::Value> {
    match (kind, v) {
        (FieldType::Date, serde_json::Value::String(s)) => {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(rules::Value::Date)
        }
        (_, serde_json::Value::Number(n)) => n.as_f64().map(rules::Value::Number),
        (_, serde_json::Value::String(s)) => Some(rules::Value::Text(s.clone())),
        _ => None,
    }
}
