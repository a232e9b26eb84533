//! Writes the synthetic sample inputs and the `source` test fixtures.
//!
//! Run with `cargo run --example make_samples`. The output is deterministic
//! (a fixed-seed PRNG, fixed document dates), so re-running it leaves the
//! committed files unchanged. It writes:
//!
//! * `samples/zaishoku/requests.xlsx` — 50 synthetic 在職証明書 requests on
//!   sheet `申請一覧` (title row 1, header row 2, real date cells);
//! * `samples/zaishoku/requests_cp932.csv` — the same table as Excel's plain
//!   "CSV" save writes it (CP932, CRLF, header row only, dates as `2025/4/1`);
//! * `tests/fixtures/source/cells.xlsx` — a small workbook exercising cell
//!   kinds, blank rows and a range that does not start at `A1`.
//!
//! Every person, address and number in these files is made up.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook, XlsxError};

/// The column headers, in order: the columns the sample job maps.
fn headers() -> Vec<String> {
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/zaishoku/job.toml");
    let text = std::fs::read_to_string(&job).expect("samples/zaishoku/job.toml");
    chohyo::job::field_columns(&text).expect("the sample job parses")
}

const TITLE: &str = "在職証明書 発行申請一覧（サンプル・架空データ）";

/// Data rows (1-based) that are deliberately invalid.
const BAD_EMPTY_NAME: usize = 12;
const BAD_BIRTH_DATE: usize = 27;
const BAD_POSTAL_CODE: usize = 41;

const FAMILY: [(&str, &str); 20] = [
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
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
];

/// Family names with 髙 / 﨑 (CP932 IBM/NEC extensions), at fixed data rows.
const FAMILY_EXT: [(usize, &str, &str); 4] = [
    (5, "髙橋", "タカハシ"),
    (18, "山﨑", "ヤマザキ"),
    (33, "髙木", "タカギ"),
    (46, "宮﨑", "ミヤザキ"),
];

const MALE: [(&str, &str); 12] = [
    ("太郎", "タロウ"),
    ("健太", "ケンタ"),
    ("翔太", "ショウタ"),
    ("大輔", "ダイスケ"),
    ("誠", "マコト"),
    ("浩二", "コウジ"),
    ("拓也", "タクヤ"),
    ("直樹", "ナオキ"),
    ("隆", "タカシ"),
    ("健一", "ケンイチ"),
    ("悠斗", "ユウト"),
    ("和也", "カズヤ"),
];

const FEMALE: [(&str, &str); 12] = [
    ("花子", "ハナコ"),
    ("陽子", "ヨウコ"),
    ("美咲", "ミサキ"),
    ("恵子", "ケイコ"),
    ("由美", "ユミ"),
    ("直美", "ナオミ"),
    ("彩", "アヤ"),
    ("真由美", "マユミ"),
    ("明美", "アケミ"),
    ("愛", "アイ"),
    ("里奈", "リナ"),
    ("智子", "トモコ"),
];

/// Real towns with their postal codes and highest 丁目; block numbers are made up.
const TOWNS: [(&str, &str, u32); 21] = [
    ("153-0051", "東京都目黒区上目黒", 5),
    ("153-0061", "東京都目黒区中目黒", 5),
    ("153-0052", "東京都目黒区祐天寺", 2),
    ("154-0024", "東京都世田谷区三軒茶屋", 2),
    ("154-0004", "東京都世田谷区太子堂", 5),
    ("155-0031", "東京都世田谷区北沢", 5),
    ("150-0013", "東京都渋谷区恵比寿", 4),
    ("151-0053", "東京都渋谷区代々木", 5),
    ("166-0004", "東京都杉並区阿佐谷南", 3),
    ("166-0002", "東京都杉並区高円寺北", 4),
    ("164-0001", "東京都中野区中野", 6),
    ("176-0012", "東京都練馬区豊玉北", 6),
    ("140-0014", "東京都品川区大井", 7),
    ("144-0052", "東京都大田区蒲田", 5),
    ("173-0004", "東京都板橋区板橋", 4),
    ("115-0045", "東京都北区赤羽", 3),
    ("180-0004", "東京都武蔵野市吉祥寺本町", 4),
    ("181-0013", "東京都三鷹市下連雀", 9),
    ("211-0063", "神奈川県川崎市中原区小杉町", 3),
    ("330-0063", "埼玉県さいたま市浦和区高砂", 4),
    ("272-0021", "千葉県市川市八幡", 6),
];

const BUILDINGS: [&str; 8] = [
    "グリーンハイツ",
    "コーポさくら",
    "メゾン・ソレイユ",
    "パークサイド",
    "サンライズマンション",
    "ハイツ若葉",
    "レジデンス青葉",
    "フォレストコート",
];

const DEPARTMENTS: [&str; 10] = [
    "総務部人事課",
    "総務部総務課",
    "企画経営部財政課",
    "区民部戸籍住民課",
    "区民部税務課",
    "子ども家庭部保育課",
    "健康福祉部福祉総務課",
    "都市整備部土木課",
    "環境清掃部清掃事務所",
    "教育委員会事務局学務課",
];

const PURPOSES: [&str; 8] = [
    "保育所入所申請のため",
    "住宅ローン申請のため",
    "賃貸住宅入居審査のため",
    "学童クラブ入会申請のため",
    "奨学金申請のため",
    "児童手当の手続きのため",
    "自動車ローン申請のため",
    "クレジットカード申込みのため",
];

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

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u32) -> bool {
        self.range(1, 100) <= percent
    }
}

/// A calendar date.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Ymd(u32, u32, u32);

impl Ymd {
    fn slash(self) -> String {
        format!("{}/{}/{}", self.0, self.1, self.2)
    }
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A date cell value: a real date, or (for the bad row) a text.
enum DateValue {
    Date(Ymd),
    Text(&'static str),
}

impl DateValue {
    fn csv(&self) -> String {
        match self {
            DateValue::Date(d) => d.slash(),
            DateValue::Text(s) => s.to_string(),
        }
    }
}

struct Person {
    id: String,
    name: String,
    kana: String,
    sex: &'static str,
    birth: DateValue,
    postal: String,
    address: String,
    department: &'static str,
    title: &'static str,
    employment: &'static str,
    hired: DateValue,
    purpose: &'static str,
}

impl Person {
    fn csv_fields(&self) -> [String; 12] {
        [
            self.id.clone(),
            self.name.clone(),
            self.kana.clone(),
            self.sex.to_string(),
            self.birth.csv(),
            self.postal.clone(),
            self.address.clone(),
            self.department.to_string(),
            self.title.to_string(),
            self.employment.to_string(),
            self.hired.csv(),
            self.purpose.to_string(),
        ]
    }
}

fn make_people() -> Vec<Person> {
    let mut rng = Rng(0x5A1_5401_2025);
    let mut people: Vec<Person> = Vec::new();
    let mut used_names: Vec<String> = Vec::new();
    for n in 1..=50 {
        let male = rng.chance(50);
        let (name, kana) = loop {
            let (fam, fam_kana) = match FAMILY_EXT.iter().find(|(row, _, _)| *row == n) {
                Some((_, f, k)) => (*f, *k),
                None => *rng.pick(&FAMILY),
            };
            let (given, given_kana) = *rng.pick(if male { &MALE[..] } else { &FEMALE[..] });
            let name = format!("{fam}　{given}");
            if !used_names.contains(&name) {
                used_names.push(name.clone());
                break (name, format!("{fam_kana}　{given_kana}"));
            }
        };

        let by = rng.range(1960, 2003);
        let bm = rng.range(1, 12);
        let birth = Ymd(by, bm, rng.range(1, days_in_month(by, bm)));
        let age_2025 = 2025 - by - u32::from((bm, birth.2) > (4, 1));

        let department = *rng.pick(&DEPARTMENTS);
        let employment = if by <= 1964 && rng.chance(60) {
            "再任用職員"
        } else if rng.chance(20) {
            "会計年度任用職員"
        } else {
            "常勤職員"
        };
        // Earliest hire: the day the person turns 18, and not before 1985.
        let adult = Ymd(by + 18, bm, birth.2.min(days_in_month(by + 18, bm)));
        let hired = match employment {
            // 再任用: from the April after turning 60 (61 in some cases).
            "再任用職員" => Ymd(by + 61, 4, 1),
            "会計年度任用職員" => {
                let y = rng.range(2021, 2025).max(by + 19);
                Ymd(y, *rng.pick(&[4, 4, 4, 6, 10]), 1)
            }
            _ => {
                let earliest = (by + 18).max(1985);
                let latest = 2025.min(earliest + 25);
                let y = rng.range(earliest, latest);
                let mut d = Ymd(y, *rng.pick(&[4, 4, 4, 4, 7, 10]), 1);
                if d < adult {
                    d = Ymd(y + 1, 4, 1);
                }
                d
            }
        };
        assert!(hired >= adult && hired.0 >= 1985 && hired <= Ymd(2025, 10, 1));

        let title = match employment {
            "会計年度任用職員" if department == "子ども家庭部保育課" => {
                "保育補助員"
            }
            "会計年度任用職員" => "事務補助員",
            "再任用職員" => *rng.pick(&["主任", "主任", "係長"]),
            _ => match age_2025 {
                0..=29 if department == "子ども家庭部保育課" => "保育士",
                0..=29 if department == "都市整備部土木課" => "技師",
                0..=29 => "主事",
                30..=39 => *rng.pick(&["主事", "主任", "主任"]),
                40..=49 => *rng.pick(&["主任", "係長", "係長"]),
                _ => *rng.pick(&["係長", "課長補佐", "課長補佐", "課長"]),
            },
        };

        let (postal, town, max_chome) = *rng.pick(&TOWNS);
        let mut address = format!(
            "{town}{}丁目{}-{}",
            rng.range(1, max_chome),
            rng.range(1, 30),
            rng.range(1, 25)
        );
        if rng.chance(40) {
            address.push('　');
            let building = *rng.pick(&BUILDINGS);
            address.push_str(building);
            address.push_str(&format!("{}0{}", rng.range(1, 5), rng.range(1, 9)));
        }

        let purpose = *rng.pick(&PURPOSES);
        let mut p = Person {
            id: format!("R2025-{n:04}"),
            name,
            kana,
            sex: if male { "男" } else { "女" },
            birth: DateValue::Date(birth),
            postal: postal.to_string(),
            address,
            department,
            title,
            employment,
            hired: DateValue::Date(hired),
            purpose,
        };
        match n {
            BAD_EMPTY_NAME => p.name.clear(),
            BAD_BIRTH_DATE => p.birth = DateValue::Text("1990/2/30"),
            BAD_POSTAL_CODE => p.postal = "153-005".to_string(),
            _ => {}
        }
        people.push(p);
    }
    people
}

fn fixed_properties(title: &str) -> Result<DocProperties, XlsxError> {
    Ok(DocProperties::new()
        .set_title(title)
        .set_author("chohyo make_samples")
        .set_creation_datetime(&ExcelDateTime::from_ymd(2025, 4, 1)?))
}

fn write_xlsx(people: &[Person], path: &Path) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    wb.set_properties(&fixed_properties(TITLE)?);
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy/m/d");
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name("申請一覧")?;
    ws.write_string_with_format(0, 0, TITLE, &bold)?;
    for (c, h) in headers().iter().enumerate() {
        ws.write_string_with_format(1, c as u16, h, &bold)?;
    }
    let widths = [
        12.0, 14.0, 18.0, 5.0, 11.0, 10.0, 48.0, 22.0, 10.0, 16.0, 11.0, 26.0,
    ];
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    for (i, p) in people.iter().enumerate() {
        let r = i as u32 + 2;
        let put_date = |ws: &mut rust_xlsxwriter::Worksheet, c: u16, v: &DateValue| match v {
            DateValue::Date(d) => {
                let dt = ExcelDateTime::from_ymd(d.0 as u16, d.1 as u8, d.2 as u8)?;
                ws.write_datetime_with_format(r, c, &dt, &date).map(|_| ())
            }
            DateValue::Text(s) => ws.write_string_with_format(r, c, *s, &text).map(|_| ()),
        };
        ws.write_string(r, 0, &p.id)?;
        if !p.name.is_empty() {
            ws.write_string(r, 1, &p.name)?;
        }
        ws.write_string(r, 2, &p.kana)?;
        ws.write_string(r, 3, p.sex)?;
        put_date(ws, 4, &p.birth)?;
        ws.write_string_with_format(r, 5, &p.postal, &text)?;
        ws.write_string(r, 6, &p.address)?;
        ws.write_string(r, 7, p.department)?;
        ws.write_string(r, 8, p.title)?;
        ws.write_string(r, 9, p.employment)?;
        put_date(ws, 10, &p.hired)?;
        ws.write_string(r, 11, p.purpose)?;
    }
    wb.save(path)
}

/// One CSV field, quoted only when needed (as Excel does).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Encodes to CP932, refusing characters it cannot carry.
fn to_cp932(s: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!unmappable, "text not representable in CP932");
    let (back, malformed) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(&bytes);
    assert!(!malformed && back == s, "CP932 round trip failed");
    bytes.into_owned()
}

fn write_csv(people: &[Person], path: &Path) -> std::io::Result<()> {
    let mut text = String::new();
    let line = |fields: &[String]| {
        let mut l = fields
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(",");
        l.push_str("\r\n");
        l
    };
    text.push_str(&line(&headers()));
    for p in people {
        text.push_str(&line(&p.csv_fields()));
    }
    std::fs::write(path, to_cp932(&text))
}

/// The `cells` fixture for the `source` module tests.
fn write_cells_fixture(path: &Path) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    wb.set_properties(&fixed_properties("source test fixture")?);
    let date = Format::new().set_num_format("yyyy/m/d");
    let ws = wb.add_worksheet();
    ws.set_name("データ")?;
    ws.write_string(0, 0, "テスト用データ（架空）")?;
    // Row 3: headers (one of them a number).
    for (c, h) in ["番号", "氏名", "日付", "金額"].iter().enumerate() {
        ws.write_string(2, c as u16, *h)?;
    }
    ws.write_number(2, 4, 2025)?;
    ws.write_string(2, 5, "可否")?;
    // Row 4: number, text with 髙, date, decimal, (empty), boolean.
    ws.write_number(3, 0, 1)?;
    ws.write_string(3, 1, "髙橋 一郎")?;
    ws.write_datetime_with_format(3, 2, &ExcelDateTime::from_ymd(2025, 4, 1)?, &date)?;
    ws.write_number(3, 3, 1234.5)?;
    ws.write_boolean(3, 5, true)?;
    // Row 5: empty name, impossible date as text, an error value.
    ws.write_number(4, 0, 2)?;
    ws.write_string(4, 2, "1990/2/30")?;
    ws.write_formula(4, 3, Formula::new("=NA()").set_result("#N/A"))?;
    // Row 6: only white space (skipped).
    ws.write_string(5, 1, "　")?;
    // Row 7: text with 﨑, a formula with its cached value.
    ws.write_number(6, 0, 3)?;
    ws.write_string(6, 1, "山﨑 花子")?;
    ws.write_formula(6, 3, Formula::new("=D4*2").set_result("2469"))?;
    ws.write_string(6, 4, "x")?;

    // A second sheet whose used range starts at C5.
    let ws = wb.add_worksheet();
    ws.set_name("別表")?;
    ws.write_string(4, 2, "項目")?;
    ws.write_string(4, 3, "値")?;
    ws.write_string(6, 2, "甲")?;
    ws.write_number(6, 3, 1)?;
    wb.save(path)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let samples = root.join("samples/zaishoku");
    let fixtures = root.join("tests/fixtures/source");
    std::fs::create_dir_all(&samples)?;
    std::fs::create_dir_all(&fixtures)?;

    let people = make_people();
    write_xlsx(&people, &samples.join("requests.xlsx"))?;
    write_csv(&people, &samples.join("requests_cp932.csv"))?;
    write_cells_fixture(&fixtures.join("cells.xlsx"))?;
    println!(
        "wrote {} rows to {}",
        people.len(),
        samples.join("requests.xlsx").display()
    );
    Ok(())
}
