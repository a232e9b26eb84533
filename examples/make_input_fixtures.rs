//! Writes the input-checking fixtures and the `samples/checks` workbook.
//!
//! ```sh
//! cargo run --example make_input_fixtures        # then tests/fixtures/input/make.sh
//! ```
//!
//! * `tests/fixtures/input/staff.xlsx` — sheet 職員 (title in row 1, headers
//!   in row 2; dates as text in every supported form and as date cells;
//!   money as formatted numbers) and sheet 給与明細 (monthly pay, joined by
//!   職員番号).
//! * `tests/fixtures/input/staff_1904_raw.xlsx` — the same 職員 sheet with
//!   date cells in the 1904 date system; `make.sh` sets the workbook's
//!   `date1904` flag (rust_xlsxwriter cannot) giving `staff_1904.xlsx`.
//! * `tests/fixtures/input/staff_cp932.csv` — the 職員 sheet as Excel's
//!   「CSV (コンマ区切り)」 writes it: CP932, CRLF, cells as displayed.
//! * `tests/fixtures/input/staff_utf16.txt` — as Excel's 「Unicode テキスト」:
//!   UTF-16LE with BOM, tab-separated.
//! * `samples/checks/requests.xlsx` — requests with a bad row for every
//!   reject code (see `samples/checks/README.md`).
//!
//! All people are fictional. Output is deterministic (fixed creation date).

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::path::Path;

/// Headers of the 職員 sheet.
const STAFF_HEADERS: [&str; 10] = [
    "職員番号",
    "氏名",
    "フリガナ",
    "生年月日",
    "採用年月日",
    "発令日",
    "郵便番号",
    "電話番号",
    "月額",
    "備考",
];

/// One staff row. `hire` is a date cell (y, m, d); `pay` a number cell
/// (formatted `#,##0`) or text.
struct Staff {
    id: &'static str,
    name: &'static str,
    kana: &'static str,
    birth: &'static str,
    hire: (u16, u8, u8),
    order: &'static str,
    postal: &'static str,
    phone: &'static str,
    pay: Pay,
    note: &'static str,
}

enum Pay {
    Number(f64),
    Text(&'static str),
}

fn staff() -> Vec<Staff> {
    use Pay::*;
    let s = |id, name, kana, birth, hire, order, postal, phone, pay, note| Staff {
        id,
        name,
        kana,
        birth,
        hire,
        order,
        postal,
        phone,
        pay,
        note,
    };
    vec![
        s(
            "E001",
            "見本 太郎",
            "ミホン タロウ",
            "1990/4/1",
            (2013, 4, 1),
            "2025/4/1",
            "153-0051",
            "03-1234-5678",
            Number(250000.0),
            "①係長",
        ),
        s(
            "E002",
            "髙橋 花子",
            "ﾀｶﾊｼ ﾊﾅｺ",
            "1985-04-01",
            (2008, 4, 1),
            "2025-04-01",
            "〒1530051",
            "０３（１２３４）５６７８",
            Number(312500.0),
            "㈱見本より出向",
        ),
        s(
            "E003",
            "山﨑 次郎",
            "やまさき じろう",
            "1978年4月1日",
            (2001, 4, 1),
            "2025年4月1日",
            "１５３－００５１",
            "090-1234-5678",
            Text("298,000円"),
            "4月～6月 研修",
        ),
        s(
            "E004",
            "試験 一郎",
            "シケン イチロウ",
            "昭和60年4月1日",
            (2008, 10, 1),
            "令和7年4月1日",
            "100-0001",
            "+81 3 1234 5678",
            Text("¥1,234"),
            "",
        ),
        s(
            "E005",
            "例示 桜",
            "レイジ サクラ",
            "S62.4.1",
            (2010, 4, 1),
            "R7.4.1",
            "1000001",
            "0312345678",
            Number(198000.0),
            "髙・﨑・①・㈱・～",
        ),
        s(
            "E006",
            "仮名 明",
            "カメイ アキラ",
            "H02.04.01",
            (2012, 4, 1),
            "R07.04.01",
            "060-0000",
            "011-000-0000",
            Number(221000.0),
            "",
        ),
        s(
            "E007",
            "昭和 最後",
            "ショウワ サイゴ",
            "昭和64年1月7日",
            (2011, 4, 1),
            "H31.4.30",
            "060-0001",
            "011-000-0001",
            Number(240000.0),
            "",
        ),
        s(
            "E008",
            "平成 最初",
            "ヘイセイ サイショ",
            "平成元年1月8日",
            (2011, 4, 1),
            "令和元年5月1日",
            "530-0001",
            "06-0000-0000",
            Number(240000.0),
            "",
        ),
        s(
            "E009",
            "全角 数字",
            "ゼンカク スウジ",
            "１９９５／１２／３１",
            (2018, 4, 1),
            "２０２５年４月１日",
            "530-0002",
            "06-0000-0001",
            Number(205000.0),
            "",
        ),
        s(
            "E010",
            "英字 略号",
            "エイジ リャクゴウ",
            "Ｈ７．１．１７",
            (2017, 4, 1),
            "Ｒ７．４．１",
            "900-0001",
            "098-000-0000",
            Number(201000.0),
            "",
        ),
    ]
}

fn properties(title: &str) -> Result<DocProperties, XlsxError> {
    Ok(DocProperties::new()
        .set_title(title)
        .set_author("chohyo make_input_fixtures")
        .set_creation_datetime(&ExcelDateTime::from_ymd(2025, 4, 1)?))
}

/// Days from 1904-01-01 to the date (the 1904 system's serial).
fn serial_1904(y: u16, m: u8, d: u8) -> f64 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1904, 1, 1).expect("valid");
    let date = chrono::NaiveDate::from_ymd_opt(y.into(), m.into(), d.into()).expect("valid");
    (date - epoch).num_days() as f64
}

fn write_staff_sheet(ws: &mut Worksheet, date1904: bool) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy/m/d");
    let money = Format::new().set_num_format("#,##0");
    ws.set_name("職員")?;
    ws.write_string_with_format(0, 0, "職員一覧（見本）", &bold)?;
    for (c, h) in STAFF_HEADERS.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &bold)?;
        ws.set_column_width(c as u16, 16)?;
    }
    for (i, p) in staff().iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_string(r, 0, p.id)?;
        ws.write_string(r, 1, p.name)?;
        ws.write_string(r, 2, p.kana)?;
        ws.write_string(r, 3, p.birth)?;
        let (y, m, d) = p.hire;
        if date1904 {
            ws.write_number_with_format(r, 4, serial_1904(y, m, d), &date)?;
        } else {
            ws.write_datetime_with_format(r, 4, &ExcelDateTime::from_ymd(y, m, d)?, &date)?;
        }
        ws.write_string(r, 5, p.order)?;
        ws.write_string(r, 6, p.postal)?;
        ws.write_string(r, 7, p.phone)?;
        match p.pay {
            Pay::Number(n) => ws.write_number_with_format(r, 8, n, &money)?,
            Pay::Text(t) => ws.write_string(r, 8, t)?,
        };
        if !p.note.is_empty() {
            ws.write_string(r, 9, p.note)?;
        }
    }
    Ok(())
}

/// 給与明細: three months for E001–E003, in sheet order per person
/// interleaved, to show the join keeps sheet order.
fn write_pay_sheet(ws: &mut Worksheet) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy/m");
    let money = Format::new().set_num_format("#,##0");
    ws.set_name("給与明細")?;
    for (c, h) in ["職員番号", "支給月", "支給額"].iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut r = 1;
    for month in 4..=6u8 {
        for (i, id) in ["E001", "E002", "E003"].iter().enumerate() {
            ws.write_string(r, 0, *id)?;
            ws.write_datetime_with_format(r, 1, &ExcelDateTime::from_ymd(2024, month, 1)?, &date)?;
            ws.write_number_with_format(
                r,
                2,
                200000.0 + 10000.0 * i as f64 + f64::from(month),
                &money,
            )?;
            r += 1;
        }
    }
    Ok(())
}

/// The 職員 sheet as Excel shows it (what its CSV / text exports contain).
fn displayed_rows() -> Vec<Vec<String>> {
    let mut rows = vec![STAFF_HEADERS.iter().map(|s| s.to_string()).collect()];
    for p in staff() {
        let (y, m, d) = p.hire;
        let pay = match p.pay {
            Pay::Number(n) => {
                let s = format!("{}", n as i64);
                let mut out = String::new();
                for (i, c) in s.chars().enumerate() {
                    if i > 0 && (s.len() - i) % 3 == 0 {
                        out.push(',');
                    }
                    out.push(c);
                }
                out
            }
            Pay::Text(t) => t.to_string(),
        };
        rows.push(vec![
            p.id.into(),
            p.name.into(),
            p.kana.into(),
            p.birth.into(),
            format!("{y}/{m}/{d}"),
            p.order.into(),
            p.postal.into(),
            p.phone.into(),
            pay,
            p.note.into(),
        ]);
    }
    rows
}

fn write_delimited(rows: &[Vec<String>], sep: u8) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(sep)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Excel writes the title row too (first cell only, the rest empty).
    let mut title = vec![String::new(); STAFF_HEADERS.len()];
    title[0] = "職員一覧（見本）".into();
    w.write_record(&title).expect("in memory");
    for r in rows {
        w.write_record(r).expect("in memory");
    }
    w.into_inner().expect("in memory")
}

/// Headers of the samples/checks request sheet: the 在職証明書 sample job's
/// columns plus phone, pay, staff number and a receipt date.
fn req_headers() -> Vec<String> {
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/zaishoku/job.toml");
    let text = std::fs::read_to_string(&job).expect("samples/zaishoku/job.toml");
    let mut h = chohyo::job::field_columns(&text).expect("the sample job parses");
    h.extend(["電話番号", "月額", "職員番号", "受付日"].map(String::from));
    h
}

enum V {
    S(&'static str),
    D(u16, u8, u8),
    N(f64),
    NaError,
    Empty,
}

fn requests() -> Vec<[V; 16]> {
    use V::*;
    let good = |id, name, kana, staff_id, n: f64| -> [V; 16] {
        [
            S(id),
            S(name),
            S(kana),
            S("女"),
            S("昭和60年4月1日"),
            S("153-0051"),
            S("東京都見本区見本町一丁目2番3号"),
            S("総務部人事課"),
            S("主事"),
            S("常勤"),
            D(2008, 4, 1),
            S("見本銀行"),
            S("03-1234-5678"),
            N(n),
            S(staff_id),
            S("R7.3.10"),
        ]
    };
    let mut rows = vec![
        good("Q-0001", "見本 花子", "ミホン ハナコ", "E001", 250000.0),
        good("Q-0002", "髙橋 一郎", "ﾀｶﾊｼ ｲﾁﾛｳ", "E002", 260000.0),
        good("Q-0003", "山﨑 三郎", "やまさき さぶろう", "E003", 270000.0),
    ];
    // Each bad row breaks one or two rules (see README.md for the list).
    let bad = |f: &dyn Fn(&mut [V; 16]), id: &'static str, staff_id: &'static str| {
        let mut r = good(id, "不備 例示", "フビ レイジ", staff_id, 200000.0);
        f(&mut r);
        r
    };
    rows.push(bad(
        &|r| {
            r[1] = Empty;
            r[3] = S("不明")
        },
        "Q-0004",
        "E004",
    )); // E_REQUIRED, E_NOT_ALLOWED
    rows.push(bad(&|r| r[4] = S("1990/2/30"), "Q-0005", "E005")); // E_DATE_INVALID
    rows.push(bad(&|r| r[4] = S("平成31年5月1日"), "Q-0006", "E006")); // E_DATE_ERA_RANGE
    rows.push(bad(&|r| r[4] = S("生年月日不明"), "Q-0007", "E007")); // E_DATE_FORMAT
    rows.push(bad(&|r| r[4] = S("明治5年1月1日"), "Q-0008", "E008")); // E_DATE_TOO_OLD
    rows.push(bad(
        &|r| r[5] = S("=HYPERLINK(\"http://x\",\"y\")"),
        "Q-0009",
        "E009",
    )); // E_POSTAL_FORMAT
    rows.push(bad(&|r| r[2] = S("Fubi"), "Q-0010", "E010")); // E_KANA
    rows.push(bad(&|r| r[12] = S("03-1234"), "Q-0011", "E011")); // E_PHONE
    rows.push(bad(&|r| r[13] = S("二十万円"), "Q-0012", "E012")); // E_NUMBER
    rows.push(bad(&|r| r[13] = N(200000.5), "Q-0013", "E013")); // E_NOT_INTEGER
    rows.push(bad(&|r| r[13] = N(-1.0), "Q-0014", "E014")); // E_NUMBER_RANGE
    rows.push(bad(&|r| r[0] = S("Q-001"), "", "E015")); // E_PATTERN
    rows.push(bad(&|r| r[0] = S("Q-0001"), "", "E016")); // E_DUPLICATE
    rows.push(bad(
        &|r| {
            r[6] =
                S("東京都見本区見本町一丁目2番3号見本マンション101号室の奥の部屋のさらに奥の部屋")
        },
        "Q-0017",
        "E017",
    )); // E_TOO_LONG
    rows.push(bad(&|r| r[1] = S("不"), "Q-0018", "E018")); // E_TOO_SHORT
    rows.push(bad(&|r| r[10] = D(1980, 4, 1), "Q-0019", "E019")); // E_HIRE_BEFORE_15 (rule)
    rows.push(bad(&|r| r[15] = S("2020/1/1"), "Q-0020", "E020")); // E_DATE_RANGE
    rows.push(bad(&|r| r[11] = NaError, "Q-0021", "E021")); // E_CELL_ERROR
    rows.push(bad(&|_| {}, "Q-0022", "E022")); // E_JOIN_ROWS (its pay row is bad)
    rows.push(bad(&|_| {}, "Q-0023", "E023")); // E_JOIN_COUNT (no pay rows)
    rows
}

fn write_requests(path: &Path) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    wb.set_properties(&properties("在職証明書 申請一覧（不備の見本）")?);
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy/m/d");
    let money = Format::new().set_num_format("#,##0");
    let ws = wb.add_worksheet();
    ws.set_name("申請一覧")?;
    for (c, h) in req_headers().iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
        ws.set_column_width(c as u16, 14)?;
    }
    for (i, row) in requests().iter().enumerate() {
        let r = i as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v {
                V::S("") => {}
                V::S(s) => {
                    ws.write_string(r, c, *s)?;
                }
                V::D(y, m, d) => {
                    ws.write_datetime_with_format(
                        r,
                        c,
                        &ExcelDateTime::from_ymd(*y, *m, *d)?,
                        &date,
                    )?;
                }
                V::N(n) => {
                    ws.write_number_with_format(r, c, *n, &money)?;
                }
                V::NaError => {
                    ws.write_formula(
                        r,
                        c,
                        rust_xlsxwriter::Formula::new("=NA()").set_result("#N/A"),
                    )?;
                }
                V::Empty => {}
            }
        }
    }
    // 給与明細: three months each; E022's second month is not a number,
    // E099 matches no request, E023 has none.
    let ws = wb.add_worksheet();
    ws.set_name("給与明細")?;
    for (c, h) in ["職員番号", "支給月", "支給額"].iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let ym = Format::new().set_num_format("yyyy/m");
    let mut r = 1;
    let ids: Vec<String> = (1..=22).map(|n| format!("E{n:03}")).collect();
    for id in ids.iter().map(String::as_str).chain(["E099"]) {
        for month in 1..=3u8 {
            ws.write_string(r, 0, id)?;
            ws.write_datetime_with_format(r, 1, &ExcelDateTime::from_ymd(2025, month, 1)?, &ym)?;
            if id == "E022" && month == 2 {
                ws.write_string(r, 2, "未定")?;
            } else {
                ws.write_number_with_format(r, 2, 250000.0 + f64::from(month) * 1000.0, &money)?;
            }
            r += 1;
        }
    }
    wb.save(path)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/fixtures/input");
    std::fs::create_dir_all(&dir)?;

    let mut wb = Workbook::new();
    wb.set_properties(&properties("入力検査 フィクスチャ")?);
    write_staff_sheet(wb.add_worksheet(), false)?;
    write_pay_sheet(wb.add_worksheet())?;
    wb.save(dir.join("staff.xlsx"))?;

    let mut wb = Workbook::new();
    wb.set_properties(&properties("入力検査 フィクスチャ (1904)")?);
    write_staff_sheet(wb.add_worksheet(), true)?;
    wb.save(dir.join("staff_1904_raw.xlsx"))?;

    let rows = displayed_rows();
    let text = String::from_utf8(write_delimited(&rows, b','))?;
    let (cp932, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable, "every character is in CP932");
    std::fs::write(dir.join("staff_cp932.csv"), &cp932)?;

    let text = String::from_utf8(write_delimited(&rows, b'\t'))?;
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(dir.join("staff_utf16.txt"), utf16)?;

    let samples = root.join("samples/checks");
    std::fs::create_dir_all(&samples)?;
    write_requests(&samples.join("requests.xlsx"))?;
    println!("wrote {} and {}", dir.display(), samples.display());
    Ok(())
}
