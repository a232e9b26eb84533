//! Rejects the check stage finds before any number is given, which layout
//! used to find after (issue 14: the postal code against the address;
//! issue 15 item 6: numbers with no document). Through the binary, with a
//! copy of the 採用通知書 sample reading a small CSV: `check` lists the
//! reject, and `run` rejects the row with the same code and reason and
//! numbers the other documents without a gap (`run --strict` counts it).

mod common;

use common::{read_rejects, run_chohyo, run_job, sample_copy};
use std::path::{Path, PathBuf};

const HEADER: &str =
    "通知番号,氏名,フリガナ,郵便番号,住所,敬称,採用年月日,職名,配属先,出頭日,出頭時刻,出頭場所,持参書類";
/// An address whose postal code is 263-0023 and that encodes.
const ADDRESS: &str = "千葉県千葉市稲毛区緑町3丁目30-8";

/// One CSV row of a new hire.
fn hire(id: &str, name: &str, postal: &str) -> String {
    format!("{id},{name},,{postal},{ADDRESS},,2025/4/1,事務職員,総務部,2025/4/1,9:00,本庁舎,")
}

/// A copy of the saiyo sample and a CSV input of `rows` beside it.
fn job_with(dir: &Path, rows: &[String]) -> (PathBuf, PathBuf) {
    let job = sample_copy("saiyo", dir, |t| t);
    let csv = dir.join("hires.csv");
    std::fs::write(&csv, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    (job, csv)
}

/// `chohyo check` on the CSV: its exit code and the rejects it wrote.
fn check(job: &Path, csv: &Path, dir: &Path) -> (i32, Vec<csv::StringRecord>) {
    let rejects = dir.join("check-rejects.csv");
    let r = run_chohyo([
        "check".as_ref(),
        job.as_os_str(),
        "--input".as_ref(),
        csv.as_os_str(),
        "--rejects".as_ref(),
        rejects.as_os_str(),
    ]);
    (r.code, read_rejects(&rejects))
}

/// `chohyo run` on the CSV: the rejects and the manifest's (record id,
/// number) pairs.
fn run(job: &Path, csv: &Path, dir: &Path) -> (Vec<csv::StringRecord>, Vec<(String, u64)>) {
    let out = dir.join("out");
    let r = run_job(job, &out, &["--input", csv.to_str().unwrap(), "-q"]);
    assert_eq!(r.code, 1, "finished with rejects: {}", r.stderr);
    let run_dir = out.join("saiyo").join("2025-03-10");
    let numbers = common::manifest_by_record(&run_dir, "number");
    (read_rejects(&run_dir.join("rejects.csv")), numbers)
}

/// (row, column, value, code, reason) of a rejects CSV row.
fn fields(r: &csv::StringRecord) -> (&str, &str, &str, &str, &str) {
    (&r[2], &r[3], &r[4], &r[5], &r[6])
}

/// The manifest's numbers, which must be consecutive from the sample's
/// `number_start` (1): no number was kept for a rejected row.
fn assert_no_gap(numbers: &[(String, u64)], ids: &[&str]) {
    let got: Vec<&str> = numbers.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(got, ids);
    let n: Vec<u64> = numbers.iter().map(|(_, n)| *n).collect();
    assert_eq!(n, (1..=ids.len() as u64).collect::<Vec<_>>());
}

#[test]
fn postal_code_against_address_is_checked_before_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = [
        hire("H1", "山田 太郎", "263-0023"),
        // A real code of another town (東京都千代田区千代田).
        hire("H2", "佐藤 花子", "100-0001"),
        hire("H3", "鈴木 一郎", "263-0023"),
        // The representative code of 千葉市稲毛区: agrees with no street.
        hire("H4", "田中 次郎", "263-0000"),
        hire("H5", "高橋 三郎", "263-0023"),
    ];
    let (job, csv) = job_with(tmp.path(), &rows);
    let (code, checked) = check(&job, &csv, tmp.path());
    assert_eq!(code, 1);
    let (rejects, numbers) = run(&job, &csv, tmp.path());
    for list in [&checked, &rejects] {
        assert_eq!(list.len(), 2, "{list:?}");
        let (row, column, value, code, reason) = fields(&list[0]);
        assert_eq!((row, column, code), ("3", "郵便番号 / 住所", "E_BARCODE"));
        assert_eq!(value, format!("100-0001 / {ADDRESS}"));
        assert_eq!(
            reason,
            "カスタマバーコードを作れません (no customer barcode): \
             郵便番号と住所が一致しません (postal code and address disagree: prefecture_mismatch)"
        );
        let (row, _, _, code, _) = fields(&list[1]);
        assert_eq!((row, code), ("5", "E_BARCODE"));
    }
    assert_eq!(checked, rejects, "check and run report the same rejects");
    assert_no_gap(&numbers, &["H1", "H3", "H5"]);
}

#[test]
fn address_check_off_renders_the_row_without_a_barcode() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = [
        hire("H1", "山田 太郎", "100-0001"),
        hire("H2", "鈴木 一郎", "263-0023"),
        // A bad postal code is still a reject of its own, so the run ends
        // with exit code 1 as `run` expects.
        hire("H3", "田中 次郎", "263-00"),
    ];
    let (job, csv) = job_with(tmp.path(), &rows);
    let text = std::fs::read_to_string(&job).unwrap().replace(
        "address_field = \"address\"",
        "address_field = \"address\"\naddress_check = \"off\"",
    );
    std::fs::write(&job, text).unwrap();
    let (rejects, numbers) = run(&job, &csv, tmp.path());
    let codes: Vec<&str> = rejects.iter().map(|r| &r[5]).collect();
    assert_eq!(codes, ["E_POSTAL_FORMAT"]);
    assert_no_gap(&numbers, &["H1", "H2"]);
}

#[test]
fn a_character_no_font_has_is_rejected_before_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    // U+E000 (private use): no bundled font has it.
    let rows = [
        hire("H1", "山田 太郎", "263-0023"),
        hire("H2", "山田\u{E000}花子", "263-0023"),
        hire("H3", "鈴木 一郎", "263-0023"),
        // A variation sequence no font has prints its base (a warning, not
        // a reject), as layout does.
        hire("H4", "高橋\u{E0101}三郎", "263-0023"),
    ];
    let (job, csv) = job_with(tmp.path(), &rows);
    let (code, checked) = check(&job, &csv, tmp.path());
    assert_eq!(code, 1);
    let (rejects, numbers) = run(&job, &csv, tmp.path());
    for list in [&checked, &rejects] {
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(
            fields(&list[0]),
            (
                "3",
                "氏名",
                "山田\u{E000}花子",
                "E_GLYPH_MISSING",
                "文字「\u{E000}」(U+E000) を表示できるフォントがありません \
                 (no font of the batch has this character)"
            )
        );
    }
    assert_no_gap(&numbers, &["H1", "H3", "H4"]);
    // `run --strict` counts it and renders nothing (exit 5).
    let out = tmp.path().join("strict");
    let r = run_job(&job, &out, &["--input", csv.to_str().unwrap(), "--strict"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("1 行に 1 件の不備"), "{}", r.stderr);
    assert!(!out.join("saiyo").join("2025-03-10").join("docs").exists());
}

#[test]
fn a_character_no_font_has_in_a_joined_sheet_is_rejected_before_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = [
        hire("H1", "山田 太郎", "263-0023"),
        hire("H2", "鈴木 一郎", "263-0023"),
    ];
    let (job, csv) = job_with(tmp.path(), &rows);
    // A joined file of notes per hire; H2's note has U+E000, which no
    // bundled font has (the template does not print the notes: the check
    // cannot know which fields a template prints, so it checks them all).
    std::fs::write(
        tmp.path().join("notes.csv"),
        "通知番号,備考\nH1,印鑑を持参\nH2,印鑑\u{E000}を持参\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&job).unwrap().replace(
        "[template]",
        "[[input.join]]\nfield = \"notes\"\nfile = \"notes.csv\"\nkey = \"通知番号\"\n\
         on = \"notice_id\"\n\n[[input.join.fields]]\nname = \"note\"\ncolumn = \"備考\"\n\n\
         [template]",
    );
    std::fs::write(&job, text).unwrap();
    let (code, checked) = check(&job, &csv, tmp.path());
    assert_eq!(code, 1);
    let (rejects, numbers) = run(&job, &csv, tmp.path());
    for list in [&checked, &rejects] {
        let got: Vec<_> = list.iter().map(|r| (&r[0], fields(r))).collect();
        assert_eq!(
            got,
            [
                (
                    "hires.csv",
                    (
                        "3",
                        "通知番号",
                        "H2",
                        "E_JOIN_ROWS",
                        "「notes.csv」の 3 行目に不備があります (joined rows have problems)"
                    )
                ),
                (
                    "notes.csv",
                    (
                        "3",
                        "備考",
                        "印鑑\u{E000}を持参",
                        "E_GLYPH_MISSING",
                        "文字「\u{E000}」(U+E000) を表示できるフォントがありません \
                      (no font of the batch has this character)"
                    )
                )
            ],
            "{list:?}"
        );
    }
    assert_no_gap(&numbers, &["H1"]);
}
