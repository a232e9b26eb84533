//! Synthetic inputs for the benchmark: N rows for a job kind, made from
//! the sample job's own fields (their columns, types, `one_of` lists and
//! length limits), so that every row passes the job's checks; or N rows
//! each made to be rejected. Addresses are real: postal codes and towns
//! from the embedded postal table (`japan::postal`), kept only when the
//! address agrees with its code, gives a customer barcode and every
//! character is in the batch's fonts, so that the checks and the barcodes
//! of the saiyo mail batch pass. Deterministic: the same (kind, N) gives
//! the same rows. Uses `japan`, `job`, `check` (the fonts' coverage).

use crate::bench::kind::JobKind;
use crate::bench::BenchError;
use crate::check::GlyphCoverage;
use crate::japan::postal::{Kind, PostalData};
use crate::job::{FieldSpec, FieldType, Job};
use chrono::{Datelike, NaiveDate};
use std::path::Path;

/// What the rows of a synthetic input are made to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Every row passes the job's checks.
    Valid,
    /// Every row is rejected (a required value missing, a malformed postal
    /// code or an impossible date, in turn).
    Rejected,
}

/// One cell of a synthetic row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Empty,
    /// Text as typed.
    Text(String),
    /// A date (a date cell in xlsx, `2025/4/1` in CSV).
    Date(NaiveDate),
    /// A number.
    Number(f64),
}

/// A real address: postal code `NNN-NNNN` and the full address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `NNN-NNNN`.
    pub postal: String,
    /// Prefecture, city, town and number.
    pub text: String,
}

/// How many different addresses the rows cycle through.
const ADDRESSES: usize = 512;

/// Real addresses spread over the whole table: area codes with one plain
/// town each (no building, no 小字 numbering, no note), with a number that
/// makes a customer barcode, every character covered by `coverage`.
pub fn addresses(coverage: Option<&dyn GlyphCoverage>) -> Result<Vec<Address>, BenchError> {
    let data = PostalData::embedded().map_err(|e| BenchError::Sample("postal", e.to_string()))?;
    // Candidates from the whole table (codes run north to south), then an
    // even pick of them, so that the addresses cover the country.
    let stride = (data.len() / (ADDRESSES * 6)).max(1);
    let mut usable = Vec::new();
    for (i, e) in data.entries().enumerate().filter(|(i, _)| i % stride == 0) {
        let plain = e.kind == Kind::Area
            && !e.town.is_empty()
            && !(e.multi || e.partial || e.building || e.koaza_banchi)
            && e.note.is_empty()
            && e.town.chars().count() <= 8
            && !e.town.contains(['（', '(', '、', '〜', '・']);
        if !plain {
            continue;
        }
        let number = format!("{}-{}", i % 20 + 1, i % 9 + 1);
        let text = if e.chome {
            format!("{}{}丁目{number}", e.place(), i % 4 + 1)
        } else {
            format!("{}{number}", e.place())
        };
        let postal = e.code_text();
        let printable = coverage.is_none_or(|c| text.chars().all(|ch| c.covers(ch)));
        if printable && data.customer_barcode(&postal, &text).is_ok() {
            usable.push(Address { postal, text });
        }
    }
    if usable.len() < ADDRESSES {
        return Err(BenchError::Sample(
            "postal",
            format!("only {} usable addresses", usable.len()),
        ));
    }
    let step = usable.len() as f64 / ADDRESSES as f64;
    Ok((0..ADDRESSES)
        .map(|k| usable[(k as f64 * step) as usize].clone())
        .collect())
}

const FAMILY: [(&str, &str); 12] = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("渡辺", "ワタナベ"),
    ("伊藤", "イトウ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
];
const GIVEN: [(&str, &str); 8] = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("一郎", "イチロウ"),
    ("美咲", "ミサキ"),
    ("健太", "ケンタ"),
    ("陽子", "ヨウコ"),
    ("翔太", "ショウタ"),
    ("由美", "ユミ"),
];
const DEPARTMENTS: [&str; 4] = [
    "総務部人事課",
    "区民部戸籍住民課",
    "子ども家庭部保育課",
    "企画経営部財政課",
];

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default())
}

/// The makings of one row: its number and its address.
struct RowCtx<'a> {
    kind: JobKind,
    i: usize,
    address: &'a Address,
}

/// A value by the field's name, for the names whose meaning the samples
/// share (a person, an address, a date of birth, working hours, pay).
fn named_value(name: &str, c: &RowCtx) -> Option<Value> {
    let i = c.i;
    let (family, given) = (
        FAMILY[i % FAMILY.len()],
        GIVEN[(i / FAMILY.len()) % GIVEN.len()],
    );
    let n = |v: f64| Some(Value::Number(v));
    let t = |v: &str| Some(Value::Text(v.to_string()));
    match name {
        "name" => Some(Value::Text(format!("{}　{}", family.0, given.0))),
        "kana" => Some(Value::Text(format!("{} {}", family.1, given.1))),
        "postal" => t(&c.address.postal),
        "address" => t(&c.address.text),
        "workplace_address" => t("東京都見本区本町1丁目1-1"),
        "workplace" => t("見本区役所 総務部人事課"),
        "department" => t(DEPARTMENTS[i % DEPARTMENTS.len()]),
        "job_title" => t("主事"),
        "employment_type" if c.kind != JobKind::Shuro => t("常勤職員"),
        "purpose" => t("住宅ローン申請のため"),
        "birth_date" => Some(date(
            1960 + (i % 40) as i32,
            (i % 12) as u32 + 1,
            (i % 28) as u32 + 1,
        )),
        "hire_date" | "term_from" => Some(date(2000 + (i % 24) as i32, 4, 1)),
        "start_date" | "report_date" => Some(date(2025, 4, 1)),
        "report_time" => t("8:30"),
        "report_place" => t("見本区役所本庁舎 5階 第1会議室"),
        "documents" => t("住民票記載事項証明書・卒業証明書"),
        "weekday_start" => t("8:30"),
        "weekday_end" => t("17:15"),
        "weekday_break" => n(60.0),
        "monthly_hours" => n(162.75),
        "monthly_days" => n(21.0),
        "weekly_days" => n(5.0),
        _ if name.starts_with("actual_days_") => n(20.0 + (i % 2) as f64),
        _ if name.starts_with("actual_hours_") => n(155.0 + (i % 8) as f64),
        _ if name.starts_with("gross_") => n(300_000.0 + (i % 50) as f64 * 1000.0),
        _ if name.starts_with("social_") => n(45_000.0),
        _ if name.starts_with("itax_") => n(9_000.0 + (i % 7) as f64 * 100.0),
        _ if name.starts_with("rtax_") => n(18_000.0),
        _ => None,
    }
}

/// A valid value for any other field, from its type and rules; optional
/// free-text fields stay empty.
fn typed_value(f: &FieldSpec, c: &RowCtx) -> Value {
    if !f.one_of.is_empty() {
        // その他 asks for a second field's text: choose the others.
        let choices: Vec<&String> = f.one_of.iter().filter(|v| *v != "その他").collect();
        return Value::Text(choices[c.i % choices.len()].clone());
    }
    match f.kind {
        FieldType::Date => date(2025, 4, 1),
        FieldType::Number | FieldType::Integer => Value::Number(1.0),
        FieldType::Postal => Value::Text(c.address.postal.clone()),
        FieldType::Kana => Value::Text("ミホン".into()),
        FieldType::Phone => Value::Text("03-0000-0000".into()),
        _ if f.required => Value::Text("見本".into()),
        _ => Value::Empty,
    }
}

/// The value of field `f` in row `c` of a valid input.
fn valid_value(job: &Job, f: &FieldSpec, c: &RowCtx) -> Value {
    if f.name == job.job.record_id {
        return Value::Text(format!("{}{:07}", c.kind.id_prefix(), c.i + 1));
    }
    let v = named_value(&f.name, c).unwrap_or_else(|| typed_value(f, c));
    match (v, f.max_length) {
        (Value::Text(s), Some(max)) => Value::Text(s.chars().take(max).collect()),
        (v, _) => v,
    }
}

/// Row `i` (0-based) of the input, one value per field in column order.
pub fn row(job: &Job, kind: JobKind, rows: Rows, i: usize, addresses: &[Address]) -> Vec<Value> {
    let c = RowCtx {
        kind,
        i,
        address: &addresses[i % addresses.len()],
    };
    let mut values: Vec<Value> = job.fields.iter().map(|f| valid_value(job, f, &c)).collect();
    if rows == Rows::Rejected {
        spoil(job, &mut values, i);
    }
    values
}

/// Makes a valid row one that the checks reject, one of three ways in turn.
fn spoil(job: &Job, values: &mut [Value], i: usize) {
    let find = |pred: &dyn Fn(&FieldSpec) -> bool| job.fields.iter().position(pred);
    let required = find(&|f| f.required && f.name != job.job.record_id);
    let postal = find(&|f| f.kind == FieldType::Postal);
    let date_field = find(&|f| f.kind == FieldType::Date && f.required);
    let slot = match i % 3 {
        1 => postal.map(|p| (p, Value::Text("1530-51".into()))),
        2 => date_field.map(|p| (p, Value::Text("2025/13/01".into()))),
        _ => None,
    };
    match slot.or_else(|| required.map(|p| (p, Value::Empty))) {
        Some((p, v)) => values[p] = v,
        // A job without a required field: a duplicate id is still a reject.
        None => values.iter_mut().for_each(|v| *v = Value::Empty),
    }
}

/// The column headers of `job`'s input, in field order.
pub fn headers(job: &Job) -> Vec<&str> {
    job.fields.iter().map(|f| f.column.as_str()).collect()
}

/// Writes `n` rows as an `.xlsx` (sheet named as the job reads it) or,
/// when `path` ends in `.csv`, as UTF-8 CSV.
pub fn write_input(
    path: &Path,
    job: &Job,
    kind: JobKind,
    rows: Rows,
    n: usize,
    addresses: &[Address],
) -> Result<(), BenchError> {
    let err = |e: String| BenchError::Input(path.to_path_buf(), e);
    if path.extension().is_some_and(|e| e == "csv") {
        write_csv(path, job, kind, rows, n, addresses).map_err(|e| err(e.to_string()))
    } else {
        let bytes = xlsx_bytes(job, kind, rows, n, addresses).map_err(|e| err(e.to_string()))?;
        crate::files::write_atomic(path, &bytes).map_err(|e| err(e.to_string()))
    }
}

fn write_csv(
    path: &Path,
    job: &Job,
    kind: JobKind,
    rows: Rows,
    n: usize,
    addresses: &[Address],
) -> Result<(), csv::Error> {
    let file = crate::files::AtomicFile::create(path, crate::files::Modes::default().file)?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record(headers(job))?;
    for i in 0..n {
        let cells = row(job, kind, rows, i, addresses)
            .into_iter()
            .map(|v| match v {
                Value::Empty => String::new(),
                Value::Text(s) => s,
                Value::Date(d) => format!("{}/{}/{}", d.year(), d.month(), d.day()),
                Value::Number(x) => x.to_string(),
            });
        w.write_record(cells)?;
    }
    let file = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(file.commit()?)
}

fn xlsx_bytes(
    job: &Job,
    kind: JobKind,
    rows: Rows,
    n: usize,
    addresses: &[Address],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let date_format = Format::new().set_num_format("yyyy/m/d");
    let ws = wb.add_worksheet();
    ws.set_name(job.input.sheet.as_deref().unwrap_or("Sheet1"))?;
    for (c, h) in headers(job).iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for i in 0..n {
        let r = (i + 1) as u32;
        for (c, v) in row(job, kind, rows, i, addresses).iter().enumerate() {
            let c = c as u16;
            match v {
                Value::Empty => {}
                Value::Text(s) => {
                    ws.write_string(r, c, s)?;
                }
                Value::Number(x) => {
                    ws.write_number(r, c, *x)?;
                }
                Value::Date(d) => {
                    let (y, m, day) = (d.year() as u16, d.month() as u8, d.day() as u8);
                    ws.write_datetime_with_format(
                        r,
                        c,
                        ExcelDateTime::from_ymd(y, m, day)?,
                        &date_format,
                    )?;
                }
            }
        }
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_real_and_give_barcodes() {
        let a = addresses(None).unwrap();
        assert_eq!(a.len(), ADDRESSES);
        let data = PostalData::embedded().unwrap();
        for x in a.iter().step_by(37) {
            assert!(data.check_address(&x.postal, &x.text).is_match(), "{x:?}");
        }
        // Spread over the country, not one town.
        let prefectures: std::collections::BTreeSet<&str> =
            a.iter().map(|x| &x.text[..9]).collect();
        assert!(prefectures.len() > 40, "{prefectures:?}");
    }
}
