//! Customer barcode and postal data: the spec's worked examples, property
//! tests over generated addresses, the address agreement fixture set, and
//! the `chohyo barcode` command with a PDF measured through qpdf.

mod common;

use chohyo::japan::barcode::{self, Bar, BarcodeError, Symbol, BAR_COUNT, DATA_LEN};
use chohyo::japan::postal::{BarcodeFailure, PostalData, Status};
use common::{chohyo, run_chohyo};

/// (postal, 住所B, extracted, CC4 count, check digit, data string) — the
/// worked examples of `shared/domain/customer-barcode.md` §7. The data
/// strings were written from the spec's rules; the CC4 counts and check
/// digits are the spec's.
const EXAMPLES: &[(&str, &str, &str, usize, &str, &str)] = &[
    (
        "2630023",
        "3丁目30-8　郵便ビル403号",
        "3-30-8-403",
        3,
        "5",
        "STC 2 6 3 0 0 2 3 3 - 3 0 - 8 - 4 0 3 CC4 CC4 CC4 5 SPC",
    ),
    (
        "0140113",
        "南田茂木　添60-1",
        "60-1",
        9,
        "CC8",
        "STC 0 1 4 0 1 1 3 6 0 - 1 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC8 SPC",
    ),
    (
        "1100016",
        "5-6-3　ABCビル10F",
        "5-6-3-10",
        5,
        "9",
        "STC 1 1 0 0 0 1 6 5 - 6 - 3 - 1 0 CC4 CC4 CC4 CC4 CC4 9 SPC",
    ),
    (
        "0600906",
        "4丁目　郵便センター6号館",
        "4-6",
        10,
        "9",
        "STC 0 6 0 0 9 0 6 4 - 6 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 9 SPC",
    ),
    (
        "0650006",
        "8丁目　郵便センター10号館",
        "8-10",
        9,
        "9",
        "STC 0 6 5 0 0 0 6 8 - 1 0 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 9 SPC",
    ),
    (
        "4070033",
        "韮崎400",
        "400",
        10,
        "-",
        "STC 4 0 7 0 0 3 3 4 0 0 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC4 - SPC",
    ),
    (
        "2730102",
        "東3丁目-20-5　郵便・A&bコーポB604号",
        "3-20-5B604",
        2,
        "0",
        "STC 2 7 3 0 1 0 2 3 - 2 0 - 5 CC1 1 6 0 4 CC4 CC4 0 SPC",
    ),
    (
        "1980036",
        "十一丁目六番地一号　郵便タワー601",
        "11-6-1-601",
        3,
        "CC8",
        "STC 1 9 8 0 0 3 6 1 1 - 6 - 1 - 6 0 1 CC4 CC4 CC4 CC8 SPC",
    ),
    (
        "0270203",
        "第二十一地割大淵川480",
        "21-480",
        7,
        "CC5",
        "STC 0 2 7 0 2 0 3 2 1 - 4 8 0 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC5 SPC",
    ),
    (
        "5900016",
        "四丁六番十九号",
        "4-6-19",
        7,
        "CC2",
        "STC 5 9 0 0 0 1 6 4 - 6 - 1 9 CC4 CC4 CC4 CC4 CC4 CC4 CC4 CC2 SPC",
    ),
    (
        "3170055",
        "6丁目7-14　ABCビル2F",
        "6-7-14-2",
        5,
        "CC1",
        "STC 3 1 7 0 0 5 5 6 - 7 - 1 4 - 2 CC4 CC4 CC4 CC4 CC4 CC1 SPC",
    ),
    (
        "1000013",
        "1丁目3番2号　郵便プラザ503室",
        "1-3-2-503",
        4,
        "9",
        "STC 1 0 0 0 0 1 3 1 - 3 - 2 - 5 0 3 CC4 CC4 CC4 CC4 9 SPC",
    ),
];

#[test]
fn worked_examples() {
    for &(postal, b, extracted, cc4, cd, data) in EXAMPLES {
        assert_eq!(
            barcode::address_number(b).as_deref(),
            Ok(extracted),
            "{postal}"
        );
        let code = barcode::encode(postal, b).expect(postal);
        assert_eq!(code.address_number, extracted);
        assert_eq!(code.data.len(), DATA_LEN);
        let pad = code
            .data
            .iter()
            .filter(|s| **s == Symbol::Control(4))
            .count();
        assert_eq!(pad, cc4, "{postal} CC4 padding");
        assert_eq!(code.check.to_string(), cd, "{postal} check digit");
        assert_eq!(code.data_string(), data, "{postal} data string");
        assert_eq!(code.bars.len(), BAR_COUNT);
    }
}

#[test]
fn worked_example_sum_and_bars() {
    let code = barcode::encode("2630023", "3丁目30-8　郵便ビル403号").unwrap();
    assert_eq!(code.sum, 109);
    assert_eq!(code.sum % 19, 14);
    assert_eq!(code.check, Symbol::Digit(5));
    // Written out by hand from the spec's table §5: STC, 2 6 3 0 0 2 3, 3 - 3 0
    // - 8 - 4 0 3, CC4 ×3, 5, SPC.
    let expected = concat!(
        "LD", "LDA", "DAL", "DLA", "LTT", "LTT", "LDA", "DLA", "DLA", "TLT", "DLA", "LTT", "TLT",
        "ADL", "TLT", "LAD", "LTT", "DLA", "TDA", "TDA", "TDA", "LTL", "DL"
    );
    assert_eq!(code.bar_string(), expected);
    // One letter example with a control code: B → CC1 1 (D A T, L L T).
    let code = barcode::encode("2730102", "東3丁目-20-5　郵便・A&bコーポB604号").unwrap();
    let bars = code.bar_string();
    assert_eq!(&bars[2 + 13 * 3..2 + 15 * 3], "DATLLT");
}

#[test]
fn bar_table_is_complete_and_distinct() {
    let mut seen = std::collections::BTreeSet::new();
    for v in 0..19 {
        let s = Symbol::from_value(v).unwrap();
        assert_eq!(s.value(), Some(v));
        let bars: String = s.bars().iter().map(|b| b.letter()).collect();
        assert_eq!(bars.len(), 3);
        assert!(seen.insert(bars), "duplicate pattern for {s}");
    }
    assert_eq!(Symbol::from_value(19), None);
    assert_eq!(Symbol::Start.bars(), [Bar::Long, Bar::Descending]);
    assert_eq!(Symbol::Stop.bars(), [Bar::Descending, Bar::Long]);
}

#[test]
fn truncation_and_letters_at_the_end() {
    // 7 + 14 positions: the 21st (the 8) is cut, no padding.
    let c = barcode::encode("1234567", "1-2-3-4-5-6-78").unwrap();
    assert_eq!(
        c.data_string(),
        format!(
            "STC 1 2 3 4 5 6 7 1 - 2 - 3 - 4 - 5 - 6 - 7 {} SPC",
            c.check
        )
    );
    // A letter split across 20/21 keeps only its control code.
    let c = barcode::encode("1234561", "1-2-3-4-5-67Z").unwrap();
    assert_eq!(c.address_number, "1-2-3-4-5-67Z");
    assert_eq!(c.data[19], Symbol::Control(3));
    // A letter ending exactly at 20 keeps both.
    let c = barcode::encode("1234561", "1-2-3-4-5-6Z").unwrap();
    assert_eq!(c.data[18..], [Symbol::Control(3), Symbol::Digit(5)]);
    // Longer address numbers are cut at 20.
    let c = barcode::encode("1234561", "1234-5678-9012-3456").unwrap();
    assert_eq!(c.data.len(), DATA_LEN);
    assert!(!c.data.contains(&Symbol::Control(4)));
}

#[test]
fn refusals() {
    assert_eq!(
        barcode::encode("1000000", "1-1"),
        Err(BarcodeError::RepresentativeCode)
    );
    assert_eq!(
        barcode::encode("263002", "1-1"),
        Err(BarcodeError::InvalidPostal)
    );
    assert_eq!(
        barcode::encode("2630023", "郵便ビル"),
        Err(BarcodeError::NoAddressNumber)
    );
    assert_eq!(
        barcode::encode("2630023", "ＡＢＣ　ＤＥ"),
        Err(BarcodeError::NoAddressNumber)
    );
    let msg = BarcodeError::NoAddressNumber.to_string();
    assert!(msg.contains("住所表示番号") && msg.contains("no address number"));
}

/// A small deterministic generator (no randomness in tests' outcomes).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn properties_over_generated_addresses() {
    let parts = [
        "1",
        "23",
        "456",
        "7890",
        "-",
        "－",
        "ー",
        "丁目",
        "番地",
        "番",
        "号",
        "の",
        "ノ",
        "線",
        "地割",
        "一",
        "二十",
        "十一",
        "三百",
        "〇",
        "A",
        "b",
        "Ｃ",
        "AB",
        "F",
        "10F",
        "ビル",
        "コーポ",
        "　",
        " ",
        "・",
        "&",
        "/",
        ".",
        "第",
        "号室",
        "Ｚ",
        "ｘ",
        "東",
        "字",
    ];
    let mut rng = Lcg(2026);
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..20_000 {
        let n = 1 + rng.next() % 10;
        let b: String = (0..n).map(|_| rng.pick(&parts)).collect();
        let postal = format!("{:07}", 1 + rng.next() % 9_999_998);
        match barcode::encode(&postal, &b) {
            Ok(c) => {
                ok += 1;
                assert_eq!(c.data.len(), DATA_LEN, "{b}");
                assert_eq!(c.bars.len(), BAR_COUNT, "{b}");
                let total = c.sum + c.check.value().unwrap();
                assert_eq!(total % 19, 0, "{b}");
                let a = &c.address_number;
                assert!(
                    a.chars()
                        .all(|ch| ch.is_ascii_digit() || ch == '-' || ch.is_ascii_uppercase()),
                    "{b} -> {a}"
                );
                assert!(
                    !a.starts_with('-') && !a.ends_with('-') && !a.contains("--"),
                    "{b} -> {a}"
                );
                let v: Vec<char> = a.chars().collect();
                for w in v.windows(2) {
                    assert!(!(w[0] == '-' && w[1].is_ascii_uppercase()), "{b} -> {a}");
                    assert!(!(w[1] == '-' && w[0].is_ascii_uppercase()), "{b} -> {a}");
                }
                assert_eq!(c.bars[..2], [Bar::Long, Bar::Descending]);
                assert_eq!(c.bars[65..], [Bar::Descending, Bar::Long]);
            }
            Err(BarcodeError::RepresentativeCode) => assert!(postal.ends_with("00")),
            Err(BarcodeError::NoAddressNumber) => {
                refused += 1;
                assert!(
                    !b.chars()
                        .any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c)),
                    "{b}"
                );
            }
            Err(e) => panic!("{b}: {e}"),
        }
    }
    assert!(ok > 10_000 && refused > 1_000, "ok {ok} refused {refused}");
}

#[test]
fn address_fixtures() {
    let data = PostalData::embedded().unwrap();
    let mut rdr = csv::Reader::from_path(common::root().join("tests/fixtures/addresses.csv"))
        .expect("tests/fixtures/addresses.csv is committed");
    let mut n = 0;
    let mut failures = Vec::new();
    for row in rdr.records() {
        let row = row.unwrap();
        let (id, postal, address, expected, b) = (&row[0], &row[1], &row[2], &row[3], &row[4]);
        let v = data.check_address(postal, address);
        n += 1;
        if v.status.name() != expected {
            failures.push(format!(
                "{id}: expected {expected}, got {} ({})",
                v.status.name(),
                v.reason
            ));
            continue;
        }
        if v.is_match() {
            let split = v.split.as_ref().unwrap();
            if split.b != b {
                failures.push(format!("{id}: 住所B {:?} != {b:?}", split.b));
            }
            assert!(v.reason.is_empty());
        } else {
            assert!(v.split.is_none());
            assert!(!v.reason.is_empty());
        }
    }
    assert!(n >= 30, "only {n} addresses");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mismatch_reason_names_the_code_and_place() {
    let data = PostalData::embedded().unwrap();
    let v = data.check_address("153-0051", "東京都目黒区中目黒1-1-1");
    assert!(
        v.reason
            .starts_with("郵便番号と住所が一致しません（153-0051 は 東京都目黒区上目黒）"),
        "{}",
        v.reason
    );
    assert_eq!(v.suggestions, ["153-0061"]);
    let v = data.check_address("0600001", "北海道札幌市中央区北一条西20丁目1-1");
    assert_eq!(v.suggestions, ["064-0821"]);
    let v = data.check_address("1030027", "東京都中央区日本橋兜町2-1");
    assert_eq!(v.suggestions, ["103-0026"]);
}

/// The committed table loads whole (a fresh copy: the shared one may
/// already be loaded by another test) and is the one compiled in; the
/// agreement check, whose city index is built on first use, gives the same
/// answer on first and later calls. How fast it loads is for a benchmark
/// to measure, not for a test to assert.
#[test]
fn postal_data_loads_from_the_committed_file() {
    let bytes = std::fs::read(common::root().join("data/postal/postal.tsv.deflate"))
        .expect("data/postal/postal.tsv.deflate is committed");
    let d = PostalData::from_deflated(&bytes).unwrap();
    assert!(d.len() > 140_000, "{} rows", d.len());
    assert_eq!(d.len(), PostalData::embedded().unwrap().len());
    assert!(d
        .check_address("2630023", "千葉県千葉市稲毛区緑町3丁目30-8")
        .is_match());
    for _ in 0..2 {
        assert!(d
            .check_address("1030026", "東京都中央区日本橋兜町2-1")
            .is_match());
    }
}

#[test]
fn cli_full_address_and_address_b() {
    let r = run_chohyo([
        "barcode",
        "--postal",
        "2630023",
        "--address",
        "千葉県千葉市稲毛区緑町3丁目30-8　郵便ビル403号",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.stdout;
    assert!(
        s.contains("住所B (address B): 3丁目30-8　郵便ビル403号"),
        "{s}"
    );
    assert!(
        s.contains("住所表示番号 (address number): 3-30-8-403"),
        "{s}"
    );
    assert!(
        s.contains("STC 2 6 3 0 0 2 3 3 - 3 0 - 8 - 4 0 3 CC4 CC4 CC4 5 SPC"),
        "{s}"
    );
    assert!(s.contains("合計 (sum): 109 / 109 mod 19 = 14"), "{s}");

    let r = run_chohyo([
        "barcode",
        "--postal",
        "2730102",
        "--address-b",
        "東3丁目-20-5　郵便・A&bコーポB604号",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("STC 2 7 3 0 1 0 2 3 - 2 0 - 5 CC1 1 6 0 4 CC4 CC4 0 SPC"),
        "{}",
        r.stdout
    );
}

#[test]
fn cli_refuses_with_japanese_messages() {
    for (args, needle) in [
        (
            vec!["--postal", "1000000", "--address-b", "1-1"],
            "代表郵便番号",
        ),
        (
            vec!["--postal", "2630023", "--address-b", "郵便ビル"],
            "住所表示番号",
        ),
        (
            vec![
                "--postal",
                "1530051",
                "--address",
                "東京都目黒区中目黒1-1-1",
            ],
            "郵便番号と住所が一致しません",
        ),
    ] {
        let r = run_chohyo(["barcode"].iter().chain(&args));
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains(needle), "{}", r.stderr);
    }
}

/// Fill rectangles (`x y w h re`) of the first page, via qpdf's uncompressed
/// form; the PDF must pass `qpdf --check`.
fn pdf_rects(pdf: &std::path::Path) -> Vec<[f64; 4]> {
    let text = common::qdf(pdf);
    common::qpdf_check(pdf);
    let mut rects = Vec::new();
    let mut nums: Vec<f64> = Vec::new();
    for tok in text.split_whitespace() {
        if tok == "re" && nums.len() >= 4 {
            let n = nums.len();
            rects.push([nums[n - 4], nums[n - 3], nums[n - 2], nums[n - 1]]);
        }
        match tok.parse::<f64>() {
            Ok(v) => nums.push(v),
            Err(_) => nums.clear(),
        }
    }
    rects
}

#[test]
fn pdf_bars_measure_to_spec() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("bc.pdf");
    let out = chohyo()
        .args([
            "barcode",
            "--postal",
            "2630023",
            "--address-b",
            "3丁目30-8　郵便ビル403号",
            "--pdf",
        ])
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rects = pdf_rects(&pdf);
    assert_eq!(rects.len(), BAR_COUNT);
    let mm = |pt: f64| pt * 25.4 / 72.0;
    let close = |a: f64, b: f64| (a - b).abs() <= 0.05;
    let code = barcode::encode("2630023", "3丁目30-8　郵便ビル403号").unwrap();
    // PDF y grows upwards: the top of a bar is y + h.
    let top_of_symbol = rects.iter().map(|r| r[1] + r[3]).fold(f64::MIN, f64::max);
    let x0 = rects[0][0];
    assert!(close(mm(x0), 2.0), "quiet zone left {}", mm(x0));
    for (i, (r, bar)) in rects.iter().zip(&code.bars).enumerate() {
        assert!(close(mm(r[2]), 0.6), "bar {i} width {}", mm(r[2]));
        assert!(
            close(mm(r[0] - x0), 1.2 * i as f64),
            "bar {i} x {}",
            mm(r[0] - x0)
        );
        let (top, bottom) = bar.units();
        let height = 0.6 * f64::from(bottom - top);
        assert!(close(mm(r[3]), height), "bar {i} height {}", mm(r[3]));
        let from_top = mm(top_of_symbol - (r[1] + r[3]));
        assert!(
            close(from_top, 0.6 * f64::from(top)),
            "bar {i} top offset {from_top}"
        );
    }
    let width = mm(rects[66][0] + rects[66][2] - x0);
    assert!(close(width, 79.8), "symbol width {width}");
    let long: Vec<_> = rects.iter().filter(|r| close(mm(r[3]), 3.6)).collect();
    assert!(!long.is_empty());
    let timing = rects.iter().filter(|r| close(mm(r[3]), 1.2)).count();
    assert_eq!(
        timing,
        code.bars.iter().filter(|b| **b == Bar::Timing).count()
    );
}

#[test]
fn svg_png_and_pdf_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let run = |tag: &str| {
        let p = |ext: &str| dir.path().join(format!("{tag}.{ext}"));
        let out = chohyo()
            .args([
                "barcode",
                "--postal",
                "0270203",
                "--address-b",
                "第二十一地割大淵川480",
            ])
            .arg("--svg")
            .arg(p("svg"))
            .arg("--png")
            .arg(p("png"))
            .arg("--pdf")
            .arg(p("pdf"))
            .output()
            .unwrap();
        assert!(out.status.success());
        ["svg", "png", "pdf"].map(|e| std::fs::read(p(e)).unwrap())
    };
    let a = run("a");
    let b = run("b");
    assert_eq!(a, b);
    let svg = String::from_utf8(a[0].clone()).unwrap();
    assert_eq!(svg.matches("<rect x=").count(), BAR_COUNT);
    assert!(svg.contains("width=\"83.800mm\""));
    assert_eq!(&a[1][1..4], b"PNG");
}

#[test]
fn customer_barcode_from_a_full_address() {
    let data = PostalData::embedded().unwrap();
    let c = data
        .customer_barcode("263-0023", "千葉県千葉市稲毛区緑町3丁目30-8　郵便ビル403号")
        .unwrap();
    assert_eq!(c.check, Symbol::Digit(5));
    match data.customer_barcode("1530051", "東京都目黒区中目黒1-1-1") {
        Err(BarcodeFailure::Address(v)) => assert_eq!(v.status, Status::TownMismatch),
        other => panic!("{other:?}"),
    }
    // A catch-all (representative) code agrees with a town it does not list,
    // but never gets a barcode.
    let v = data.check_address("1520000", "東京都目黒区見本町1-1");
    assert_eq!(v.status, Status::Match);
    assert_eq!(
        data.customer_barcode("1520000", "東京都目黒区見本町1-1"),
        Err(BarcodeFailure::Barcode(BarcodeError::RepresentativeCode))
    );
    // Agreeing address without any address number: refused, not guessed.
    assert_eq!(
        data.customer_barcode("1530051", "東京都目黒区上目黒"),
        Err(BarcodeFailure::Barcode(BarcodeError::NoAddressNumber))
    );
}
