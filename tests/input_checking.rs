//! Input and checking end to end: the same data from every file format gives
//! the same records; joined sheets; the `samples/checks` job with a bad row
//! for every reject code; the rejects reports read back by calamine; job
//! errors that stop at once.

mod common;

use calamine::{open_workbook_auto, Data, Reader};
use chohyo::check::Record;
use chohyo::job::Job;
use chohyo::run::read_and_check;
use common::{root, Ran};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/input").join(name)
}

fn load(job: &str) -> Job {
    Job::load(&fixture(job)).unwrap()
}

const FORMATS: [&str; 6] = [
    "staff.xlsx",
    "staff_1904.xlsx",
    "staff.ods",
    "staff.xls",
    "staff_cp932.csv",
    "staff_utf16.txt",
];

fn column(records: &[Record], field: &str) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r.fields[field] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

#[test]
fn every_format_gives_identical_records() {
    let job = load("job.toml");
    let reference = read_and_check(&job, Some(&fixture("staff.xlsx")), None).unwrap();
    assert!(reference.rejects.is_empty(), "{:?}", reference.rejects);
    assert_eq!(reference.records.len(), 10);
    let r = &reference.records;
    // Dates in every written form.
    assert_eq!(
        column(r, "order"),
        [
            "2025-04-01", // 2025/4/1
            "2025-04-01", // 2025-04-01
            "2025-04-01", // 2025年4月1日
            "2025-04-01", // 令和7年4月1日
            "2025-04-01", // R7.4.1
            "2025-04-01", // R07.04.01
            "2019-04-30", // H31.4.30
            "2019-05-01", // 令和元年5月1日
            "2025-04-01", // full-width 年月日
            "2025-04-01", // Ｒ７．４．１
        ]
    );
    assert_eq!(
        column(r, "birth"),
        [
            "1990-04-01",
            "1985-04-01",
            "1978-04-01",
            "1985-04-01", // 昭和60年4月1日
            "1987-04-01", // S62.4.1
            "1990-04-01", // H02.04.01
            "1989-01-07", // 昭和64年1月7日
            "1989-01-08", // 平成元年1月8日
            "1995-12-31", // １９９５／１２／３１
            "1995-01-17", // Ｈ７．１．１７
        ]
    );
    // Date cells (serials).
    assert_eq!(column(r, "hire")[0], "2013-04-01");
    assert_eq!(column(r, "hire")[3], "2008-10-01");
    // Money, postal codes, phones, readings; names as written.
    assert_eq!(
        column(r, "pay")[..5],
        ["250000", "312500", "298000", "1234", "198000"]
    );
    assert!(column(r, "postal")[..5]
        .iter()
        .all(|p| p == "153-0051" || p == "100-0001"));
    assert_eq!(
        column(r, "phone")[..5],
        [
            "03-1234-5678",
            "03-1234-5678",
            "090-1234-5678",
            "03-1234-5678",
            "0312345678"
        ]
    );
    assert_eq!(column(r, "kana")[1], "タカハシ ハナコ");
    assert_eq!(column(r, "kana")[2], "ヤマサキ ジロウ");
    assert_eq!(column(r, "name")[1], "髙橋 花子");
    assert_eq!(column(r, "name")[2], "山﨑 次郎");
    assert_eq!(column(r, "note")[4], "髙・﨑・①・㈱・～");

    for f in &FORMATS[1..] {
        let c =
            read_and_check(&job, Some(&fixture(f)), None).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(c.rejects.is_empty(), "{f}: {:?}", c.rejects);
        assert_eq!(c.records, reference.records, "{f} differs from staff.xlsx");
    }
}

#[test]
fn joined_sheet_gives_each_record_its_rows_in_sheet_order() {
    let job = load("job_join.toml");
    let mut seen = Vec::new();
    for f in ["staff.xlsx", "staff.ods", "staff.xls"] {
        let c = read_and_check(&job, Some(&fixture(f)), None).unwrap();
        assert!(c.rejects.is_empty(), "{f}: {:?}", c.rejects);
        let months = &c.records[1].fields["months"];
        assert_eq!(
            months,
            &serde_json::json!([
                {"month": "2024-04-01", "amount": 210004},
                {"month": "2024-05-01", "amount": 210005},
                {"month": "2024-06-01", "amount": 210006},
            ]),
            "{f}"
        );
        assert_eq!(c.records[5].fields["months"], serde_json::json!([]));
        seen.push(c.records);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
}

/// The expected rejects of samples/checks: (sheet, row, code).
const EXPECTED: [(&str, u32, &str); 25] = [
    ("申請一覧", 5, "E_REQUIRED"),
    ("申請一覧", 5, "E_NOT_ALLOWED"),
    ("申請一覧", 6, "E_DATE_INVALID"),
    ("申請一覧", 7, "E_DATE_ERA_RANGE"),
    ("申請一覧", 8, "E_DATE_FORMAT"),
    ("申請一覧", 9, "E_DATE_TOO_OLD"),
    ("申請一覧", 10, "E_POSTAL_FORMAT"),
    ("申請一覧", 11, "E_KANA"),
    ("申請一覧", 12, "E_PHONE"),
    ("申請一覧", 13, "E_NUMBER"),
    ("申請一覧", 14, "E_NOT_INTEGER"),
    ("申請一覧", 15, "E_NUMBER_RANGE"),
    ("申請一覧", 16, "E_PATTERN"),
    ("申請一覧", 17, "E_DUPLICATE"),
    ("申請一覧", 18, "E_TOO_LONG"),
    ("申請一覧", 19, "E_TOO_SHORT"),
    ("申請一覧", 20, "E_HIRE_BEFORE_15"),
    ("申請一覧", 21, "E_DATE_RANGE"),
    ("申請一覧", 22, "E_CELL_ERROR"),
    ("申請一覧", 23, "E_JOIN_ROWS"),
    ("申請一覧", 24, "E_JOIN_COUNT"),
    ("給与明細", 66, "E_NUMBER"),
    ("給与明細", 68, "E_JOIN_NO_MATCH"),
    ("給与明細", 69, "E_JOIN_NO_MATCH"),
    ("給与明細", 70, "E_JOIN_NO_MATCH"),
];

fn cell(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => format!("{other:?}"),
    }
}

/// Checks rejects.csv and rejects.xlsx of the sample against each other and
/// against the expected list.
fn check_reports(csv_path: &Path, xlsx_path: &Path) {
    let rows = common::read_rejects(csv_path);
    let got: Vec<(String, u32, String)> = rows
        .iter()
        .map(|r| (r[1].to_string(), r[2].parse().unwrap(), r[5].to_string()))
        .collect();
    let mut want: Vec<(String, u32, String)> = EXPECTED
        .iter()
        .map(|(s, r, c)| (s.to_string(), *r, c.to_string()))
        .collect();
    let mut sorted = got.clone();
    sorted.sort();
    want.sort();
    assert_eq!(sorted, want);
    // The formula-like input is neutralised in the CSV.
    let link = rows.iter().find(|r| &r[5] == "E_POSTAL_FORMAT").unwrap();
    assert_eq!(&link[4], "'=HYPERLINK(\"http://x\",\"y\")");
    assert!(rows
        .iter()
        .all(|r| !r[6].is_empty() && !r[6].starts_with('=')));

    let mut wb = open_workbook_auto(xlsx_path).unwrap();
    assert_eq!(wb.sheet_names(), ["不備一覧", "修正用"]);
    let sheet = wb.worksheet_range("不備一覧").unwrap();
    let table: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(cell).collect()).collect();
    let header = &table[0];
    assert_eq!(header[..7], common::REJECTS_HEADER);
    // The original columns follow: the main sheet's, then the joined sheet's new ones.
    assert_eq!(header[7], "申請番号");
    assert!(header.contains(&"支給額".to_string()), "{header:?}");
    assert_eq!(
        table.len() - 1,
        rows.len(),
        "every reject is in the workbook"
    );
    for (x, c) in table[1..].iter().zip(&rows) {
        assert_eq!(x[0], &c[0]);
        assert_eq!(x[1], &c[1]);
        assert_eq!(x[2], &c[2]);
        assert_eq!(x[5], &c[5]);
        assert_eq!(x[6], &c[6]);
    }
    // The HYPERLINK text is a plain string cell (never a formula), and the
    // row's original values stand beside the reason.
    let at = table
        .iter()
        .position(|r| r[5] == "E_POSTAL_FORMAT")
        .unwrap();
    assert_eq!(table[at][4], "=HYPERLINK(\"http://x\",\"y\")");
    assert!(matches!(sheet.get((at, 4)), Some(Data::String(_))));
    let formulas = wb.worksheet_formula("不備一覧").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formulas"
    );
    let postal_col = header.iter().position(|h| h == "郵便番号").unwrap();
    assert_eq!(table[at][postal_col], "=HYPERLINK(\"http://x\",\"y\")");
    let name_col = header.iter().position(|h| h == "氏名").unwrap();
    assert_eq!(table[at][name_col], "不備 例示");
    // A joined-sheet reject shows that sheet's values.
    let j = table
        .iter()
        .position(|r| r[1] == "給与明細" && r[5] == "E_NUMBER")
        .unwrap();
    let pay_col = header.iter().position(|h| h == "支給額").unwrap();
    assert_eq!(table[j][pay_col], "未定");

    // 修正用: one line per rejected row with all its reasons.
    let fix = wb.worksheet_range("修正用").unwrap();
    let fix: Vec<Vec<String>> = fix.rows().map(|r| r.iter().map(cell).collect()).collect();
    assert_eq!(fix.len() - 1, 24, "24 distinct rejected rows");
    let row5 = fix
        .iter()
        .find(|r| r[1] == "申請一覧" && r[2] == "5")
        .unwrap();
    assert!(
        row5[3].contains("E_REQUIRED") && row5[3].contains("E_NOT_ALLOWED"),
        "{row5:?}"
    );
}

#[test]
fn check_sample_reports_every_code_and_writes_both_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let csv_path = tmp.path().join("不備.csv");
    let job = common::sample_job("checks");
    let Ran {
        code,
        stdout,
        stderr,
    } = common::check_job(&job, &csv_path);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.contains("読み込み 23 行 / 正常 3 件 / 不備 25 件"),
        "{stdout}"
    );
    assert!(stdout.contains("E_JOIN_NO_MATCH: 3"), "{stdout}");
    assert!(stdout.contains("不備のある行 24 行"), "{stdout}");
    check_reports(&csv_path, &tmp.path().join("不備.xlsx"));
}

#[test]
fn run_sample_renders_the_good_rows_and_writes_both_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let job = common::sample_job("checks");
    let r = common::run_job(&job, tmp.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let dir = tmp.path().join("checks/2025-04-01");
    let mut docs: Vec<String> = std::fs::read_dir(dir.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    docs.sort();
    assert_eq!(docs, ["Q-0001.pdf", "Q-0002.pdf", "Q-0003.pdf"]);
    let text = common::pdftotext(&dir.join("docs/Q-0002.pdf"), None);
    // Half-width ｶﾀｶﾅ became full-width; 髙 stayed 髙.
    assert!(text.contains("タカハシ イチロウ"), "{text}");
    assert!(text.contains("髙橋 一郎"), "{text}");
    check_reports(&dir.join("rejects.csv"), &dir.join("rejects.xlsx"));
    // Same input, same report bytes.
    let tmp2 = tempfile::tempdir().unwrap();
    common::run_job(&job, tmp2.path(), &[]);
    let dir2 = tmp2.path().join("checks/2025-04-01");
    for f in ["rejects.csv", "rejects.xlsx"] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(dir2.join(f)).unwrap(),
            "{f} is deterministic"
        );
    }
}

/// Writes a variant of the sample job into `dir`: `from` replaced by `to`.
fn variant(dir: &Path, from: &str, to: &str) -> PathBuf {
    common::sample_copy("checks", dir, |text| {
        assert!(text.contains(from), "{from}");
        text.replace(from, to)
    })
}

#[test]
fn job_errors_stop_at_once_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (from, to, needles) in [
        (
            "pattern = 'Q-\\d{4}'",
            "pattern = 'Q-(\\d{4}'",
            &["fields[0]", "request_id", "pattern"][..],
        ),
        (
            "check = \"hire_date >= birth_date + 15y\"",
            "check = \"hire_date >= birthday + 15y\"",
            &["rules[0]", "E_HIRE_BEFORE_15", "birthday"][..],
        ),
        (
            "check = \"hire_date >= birth_date + 15y\"",
            "check = \"hire_date >= 15y\"",
            &["rules[0]", "比べられません"][..],
        ),
        (
            "column = \"支給額\"",
            "column = \"支給金額\"",
            &["支給金額", "もしかして「支給額」"][..],
        ),
        (
            "column = \"電話番号\"",
            "column = \"電話\"",
            &["電話", "phone"][..],
        ),
        ("min_rows = 3", "min_row = 3", &["min_row"][..]),
        (
            "on = \"staff_id\"",
            "on = \"staff\"",
            &["input.join[0].on", "staff"][..],
        ),
        (
            "max = \"received\"",
            "max = \"recieved\"",
            &["fields[10]", "recieved"][..],
        ),
    ] {
        let job = variant(tmp.path(), from, to);
        let Ran {
            code,
            stdout,
            stderr,
        } = common::check_job(&job, &tmp.path().join("r.csv"));
        assert_eq!(code, 2, "{to}: {stdout}{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{to}: expected {n} in {stderr}");
        }
        assert!(
            !tmp.path().join("r.csv").exists(),
            "nothing written on a job error"
        );
    }
}
