//! Writes the synthetic sample spreadsheets of the bundled forms.
//!
//! Run with `cargo run --example make_form_samples`. The output is
//! deterministic (fixed-seed PRNG, fixed document dates), so re-running it
//! leaves the committed files unchanged. It writes:
//!
//! * `samples/shuro/requests.xlsx` — 30 就労証明書 requests (sheet `就労証明`);
//! * `samples/saiyo/hires.xlsx` — 30 採用通知書 recipients (sheet `採用者`),
//!   also the input of the label and dispatch-list samples;
//! * `samples/kyuyo/salaries.xlsx` — 24 給与支払証明書 requests with twelve
//!   months of pay in columns (sheet `給与`).
//!
//! Each has a few deliberately bad rows, listed in `samples/<form>/README.md`.
//! Every person, address and number in these files is made up.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

/// A tiny deterministic PRNG (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.range(1, 100) <= percent
    }
}

const FAMILY: [(&str, &str); 16] = [
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
    ("佐々木", "ササキ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
];

const GIVEN: [(&str, &str); 16] = [
    ("太郎", "タロウ"),
    ("健太", "ケンタ"),
    ("翔太", "ショウタ"),
    ("大輔", "ダイスケ"),
    ("誠", "マコト"),
    ("拓也", "タクヤ"),
    ("直樹", "ナオキ"),
    ("悠斗", "ユウト"),
    ("花子", "ハナコ"),
    ("陽子", "ヨウコ"),
    ("美咲", "ミサキ"),
    ("由美", "ユミ"),
    ("彩", "アヤ"),
    ("愛", "アイ"),
    ("里奈", "リナ"),
    ("智子", "トモコ"),
];

/// Real towns with their postal codes and highest 丁目; block numbers are made up.
const TOWNS: [(&str, &str, u32); 10] = [
    ("153-0051", "東京都目黒区上目黒", 5),
    ("153-0061", "東京都目黒区中目黒", 5),
    ("154-0024", "東京都世田谷区三軒茶屋", 2),
    ("150-0013", "東京都渋谷区恵比寿", 4),
    ("166-0004", "東京都杉並区阿佐谷南", 3),
    ("164-0001", "東京都中野区中野", 6),
    ("144-0052", "東京都大田区蒲田", 5),
    ("181-0013", "東京都三鷹市下連雀", 9),
    ("211-0063", "神奈川県川崎市中原区小杉町", 3),
    ("272-0021", "千葉県市川市八幡", 6),
];

const BUILDINGS: [&str; 5] = [
    "グリーンハイツ",
    "メゾン・ソレイユ",
    "サンライズマンション",
    "レジデンス青葉",
    "フォレストコート",
];

const DEPARTMENTS: [&str; 6] = [
    "総務部人事課",
    "区民部戸籍住民課",
    "子ども家庭部保育課",
    "健康福祉部福祉総務課",
    "都市整備部土木課",
    "教育委員会事務局学務課",
];

/// A cell to write: text, number, a date, or nothing.
#[derive(Clone)]
enum V {
    S(String),
    N(f64),
    D(u16, u8, u8),
    Empty,
}

fn s(t: impl Into<String>) -> V {
    V::S(t.into())
}

fn person(rng: &mut Rng, used: &mut Vec<String>) -> (String, String) {
    loop {
        let (f, fk) = *rng.pick(&FAMILY);
        let (g, gk) = *rng.pick(&GIVEN);
        let name = format!("{f}　{g}");
        if !used.contains(&name) {
            used.push(name.clone());
            return (name, format!("{fk}　{gk}"));
        }
    }
}

fn address(rng: &mut Rng) -> (String, String) {
    let (postal, town, max) = *rng.pick(&TOWNS);
    let mut a = format!(
        "{town}{}丁目{}-{}",
        rng.range(1, max),
        rng.range(1, 30),
        rng.range(1, 25)
    );
    if rng.chance(45) {
        a.push('　');
        let b = *rng.pick(&BUILDINGS);
        a.push_str(b);
        a.push_str(&format!("{}0{}", rng.range(1, 9), rng.range(1, 9)));
    }
    (postal.to_string(), a)
}

fn write_sheet(
    path: &Path,
    sheet: &str,
    title: &str,
    headers: &[&str],
    rows: &[Vec<V>],
) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(title)
            .set_author("chohyo make_form_samples")
            .set_creation_datetime(&ExcelDateTime::from_ymd(2025, 4, 1)?),
    );
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy/m/d");
    let text = Format::new().set_num_format("@");
    let money = Format::new().set_num_format("#,##0");
    let ws: &mut Worksheet = wb.add_worksheet();
    ws.set_name(sheet)?;
    ws.write_string_with_format(0, 0, title, &bold)?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &bold)?;
        ws.set_column_width(c as u16, (h.chars().count() as f64 * 2.2).max(10.0))?;
    }
    for (i, row) in rows.iter().enumerate() {
        let r = i as u32 + 2;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v {
                V::S(t) => {
                    ws.write_string_with_format(r, c, t, &text)?;
                }
                V::N(n) => {
                    ws.write_number_with_format(r, c, *n, &money)?;
                }
                V::D(y, m, d) => {
                    ws.write_datetime_with_format(
                        r,
                        c,
                        &ExcelDateTime::from_ymd(*y, *m, *d)?,
                        &date,
                    )?;
                }
                V::Empty => {}
            }
        }
    }
    wb.save(path)
}

const SHURO_HEADERS: [&str; 33] = [
    "申請番号",
    "氏名",
    "フリガナ",
    "生年月日",
    "雇用期間",
    "雇用開始日",
    "雇用終了日",
    "就労先事業所",
    "就労先所在地",
    "雇用形態",
    "雇用形態その他",
    "月間就労時間",
    "月間就労日数",
    "週間就労日数",
    "平日始業",
    "平日終業",
    "平日休憩",
    "土曜始業",
    "土曜終業",
    "日祝始業",
    "日祝終業",
    "実績1月日数",
    "実績1月時間",
    "実績2月日数",
    "実績2月時間",
    "実績3月日数",
    "実績3月時間",
    "育休開始日",
    "育休終了日",
    "復職予定日",
    "短時間勤務",
    "更新の有無",
    "備考",
];

fn shuro_rows() -> Vec<Vec<V>> {
    let mut rng = Rng(0x54E0_2025);
    let mut used = Vec::new();
    let mut rows = Vec::new();
    for n in 1..=30u32 {
        let (name, kana) = person(&mut rng, &mut used);
        let by = rng.range(1982, 1998) as u16;
        let kaikei = rng.chance(30);
        let dept = *rng.pick(&DEPARTMENTS);
        let hire_y = rng.range(2008, 2024) as u16;
        let weekly = if kaikei { *rng.pick(&[4u32, 5]) } else { 5 };
        let (start, end) = if kaikei {
            ("9:00", "16:00")
        } else {
            ("8:30", "17:15")
        };
        let daily = if kaikei { 6.0 } else { 7.75 };
        let monthly_days = weekly * 4 + 1;
        let mut row = vec![
            s(format!("S2025-{n:03}")),
            s(name),
            s(kana),
            V::D(by, rng.range(1, 12) as u8, rng.range(1, 28) as u8),
            s(if kaikei { "有期" } else { "無期" }),
            V::D(if kaikei { 2025 } else { hire_y }, 4, 1),
            if kaikei { V::D(2026, 3, 31) } else { V::Empty },
            s(format!("見本区役所 {dept}")),
            s("東京都見本区本町1丁目1-1"),
            s(if kaikei {
                "会計年度任用職員"
            } else {
                "正社員"
            }),
            V::Empty,
            V::N(f64::from(monthly_days) * daily),
            V::N(f64::from(monthly_days)),
            V::N(f64::from(weekly)),
            s(start),
            s(end),
            s("60"),
            V::Empty,
            V::Empty,
            V::Empty,
            V::Empty,
        ];
        if dept == "子ども家庭部保育課" {
            row[17] = s("8:30");
            row[18] = s("12:30");
        }
        for _ in 0..3 {
            let days = monthly_days - rng.range(0, 2);
            row.push(V::N(f64::from(days)));
            row.push(V::N(f64::from(days) * daily));
        }
        let on_leave = rng.chance(25);
        if on_leave {
            row.push(V::D(2024, rng.range(6, 12) as u8, 1));
            row.push(V::D(2025, rng.range(4, 9) as u8, 30));
            row.push(V::D(2025, 10, 1));
        } else {
            row.extend([V::Empty, V::Empty, V::Empty]);
        }
        row.push(s(if rng.chance(20) { "有" } else { "無" }));
        row.push(s(if kaikei { "有(予定)" } else { "" }));
        row.push(if on_leave {
            s("育児休業中")
        } else {
            V::Empty
        });
        match n {
            // Deliberately bad rows (see README).
            9 => row[1] = V::Empty,
            17 => row[9] = s("アルバイト職員"),
            24 => row[5] = s("2025/13/01"),
            // その他 with a free text.
            12 => {
                row[9] = s("その他");
                row[10] = s("任期付職員");
            }
            _ => {}
        }
        rows.push(row);
    }
    rows
}

const SAIYO_HEADERS: [&str; 13] = [
    "通知番号",
    "氏名",
    "フリガナ",
    "郵便番号",
    "住所",
    "敬称",
    "採用年月日",
    "職名",
    "配属先",
    "出頭日",
    "出頭時刻",
    "出頭場所",
    "持参書類",
];

fn saiyo_rows() -> Vec<Vec<V>> {
    let mut rng = Rng(0x5A10_2025);
    let mut used = Vec::new();
    let mut rows = Vec::new();
    let docs = [
        "住民票記載事項証明書・卒業証明書・資格免許証の写し",
        "住民票記載事項証明書・年金手帳又は基礎年金番号通知書の写し・給与振込口座届・扶養親族申告書",
        "住民票記載事項証明書\n健康診断書（3か月以内のもの）\n印鑑",
    ];
    for n in 1..=30u32 {
        let (name, kana) = person(&mut rng, &mut used);
        let (mut postal, mut addr) = address(&mut rng);
        if n == 7 {
            // A long address that needs three lines in the window (real
            // town and postal code, invented building).
            postal = "060-0001".into();
            addr = "北海道札幌市中央区北一条西2丁目1-1　札幌グランドパークレジデンス北一条西タワー棟1502".into();
        }
        let kaikei = rng.chance(30);
        let mut row = vec![
            s(format!("H2025-{n:03}")),
            s(name),
            s(kana),
            s(postal),
            s(addr),
            if n % 10 == 3 { s("殿") } else { V::Empty },
            V::D(2025, 4, 1),
            s(if kaikei {
                "事務補助員"
            } else {
                *rng.pick(&["主事", "技師", "保育士"])
            }),
            s(*rng.pick(&DEPARTMENTS)),
            V::D(2025, 4, 1),
            s(if kaikei { "9:30" } else { "8:30" }),
            s("見本区役所本庁舎 5階 第1会議室"),
            s(*rng.pick(&docs)),
        ];
        match n {
            11 => row[3] = s("1530-51"),
            22 => row[6] = V::Empty,
            _ => {}
        }
        rows.push(row);
    }
    rows
}

const MONTHS: [u32; 12] = [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3];

fn kyuyo_headers() -> Vec<String> {
    let mut h: Vec<String> = ["証明番号", "氏名", "住所", "所属", "職名", "提出先"]
        .map(String::from)
        .to_vec();
    for m in MONTHS {
        for k in ["総支給額", "社会保険料", "所得税", "住民税"] {
            h.push(format!("{m}月{k}"));
        }
    }
    h
}

fn kyuyo_rows() -> Vec<Vec<V>> {
    let mut rng = Rng(0x004B_5955_594F);
    let mut used = Vec::new();
    let mut rows = Vec::new();
    for n in 1..=24u32 {
        let (name, _) = person(&mut rng, &mut used);
        let (_, addr) = address(&mut rng);
        let base = f64::from(rng.range(180, 420) * 1000);
        let resident = (base * 0.06 / 100.0).round() * 100.0;
        let mut row = vec![
            s(format!("K2025-{n:03}")),
            s(name),
            s(addr),
            s(*rng.pick(&DEPARTMENTS)),
            s(*rng.pick(&["主事", "主任", "係長"])),
            s(*rng.pick(&[
                "保育所入所申請のため",
                "住宅ローン申請のため",
                "奨学金申請のため",
            ])),
        ];
        for m in MONTHS {
            // June and December include a bonus.
            let gross =
                base + if m == 6 || m == 12 {
                    (base * 2.2).round()
                } else {
                    0.0
                } + f64::from(rng.range(0, 30)) * 1000.0;
            let social = (gross * 0.15).round();
            let tax = ((gross - social) * 0.04).round();
            let res = if m == 4 || m == 5 {
                resident - 500.0
            } else {
                resident
            };
            row.extend([V::N(gross), V::N(social), V::N(tax), V::N(res)]);
        }
        match n {
            6 => row[1] = V::Empty,
            15 => row[6 + 4 * 3] = s("三十万円"),
            _ => {}
        }
        rows.push(row);
    }
    rows
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
    for d in ["shuro", "saiyo", "kyuyo"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    write_sheet(
        &root.join("shuro/requests.xlsx"),
        "就労証明",
        "就労証明書 発行依頼一覧（サンプル・架空データ）",
        &SHURO_HEADERS,
        &shuro_rows(),
    )?;
    write_sheet(
        &root.join("saiyo/hires.xlsx"),
        "採用者",
        "採用通知書 送付一覧（サンプル・架空データ）",
        &SAIYO_HEADERS,
        &saiyo_rows(),
    )?;
    let kh = kyuyo_headers();
    let kh: Vec<&str> = kh.iter().map(String::as_str).collect();
    write_sheet(
        &root.join("kyuyo/salaries.xlsx"),
        "給与",
        "給与支払証明書 発行依頼一覧（サンプル・架空データ）",
        &kh,
        &kyuyo_rows(),
    )?;
    println!("wrote samples under {}", root.display());
    Ok(())
}
