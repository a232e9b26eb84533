//! What an operator meets around the data (issue 17, items 2, 13–16),
//! through the binary: `--strict` has its own exit code and leaves the
//! rejects report; a wrong `header_row` says where the headers are; a
//! formula saved without its result is its own reject; a run that fails
//! after planning leaves no number pending; every `--help` is Japanese and
//! in step with the README.

mod common;

use common::{inline, read_rejects, run_chohyo, run_job, sample_copy, Ran};
use std::path::{Path, PathBuf};

/// The zaishoku sample's rows as UTF-8 CSV lines, header first.
fn sample_lines() -> Vec<String> {
    let bytes = std::fs::read(common::root().join("samples/zaishoku/requests_cp932.csv")).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    text.lines().map(str::to_string).collect()
}

/// `chohyo check <job> --rejects <dir>/rejects.csv <extra…>`.
fn check(job: &Path, dir: &Path, extra: &[&str]) -> Ran {
    let rejects = dir.join("rejects.csv");
    let mut args = vec![
        "check",
        job.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_chohyo(args)
}

/// The numbers of a run directory's documents by record id.
fn numbers(run_dir: &Path) -> Vec<(String, u64)> {
    let mut v = common::manifest_by_record(run_dir, "number");
    v.sort();
    v
}

/// Rows of the ledger: (record id, number, void, issued_at), by number.
fn ledger_rows(ledger: &Path) -> Vec<(String, u64, String, String)> {
    if !ledger.exists() {
        return Vec::new();
    }
    let conn = rusqlite::Connection::open(ledger).unwrap();
    let mut stmt = conn
        .prepare("SELECT record_id, number, void, issued_at FROM issues ORDER BY number")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?, r.get(3)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn strict_exits_5_leaves_the_rejects_report_and_numbers_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let job = common::sample_job("zaishoku");
    let ran = run_job(&job, &out, &["--strict"]);
    assert_eq!(ran.code, 5, "--strict with rejects exits 5: {}", ran.stderr);
    let run_dir = out.join("zaishoku/2025-04-01");
    assert!(
        ran.stderr.contains("--strict: 3 行に 3 件の不備があるため")
            && ran.stderr.contains("文書番号も使っていません")
            && ran
                .stderr
                .contains(&run_dir.join("rejects.csv").display().to_string()),
        "{}",
        ran.stderr
    );
    // The report names file, sheet, row, column and reason of each problem.
    let rejects = read_rejects(&run_dir.join("rejects.csv"));
    let got: Vec<(&str, &str, &str, &str, &str)> = rejects
        .iter()
        .map(|r| (&r[0], &r[1], &r[2], &r[3], &r[5]))
        .collect();
    assert_eq!(
        got,
        [
            ("requests.xlsx", "申請一覧", "14", "氏名", "E_REQUIRED"),
            (
                "requests.xlsx",
                "申請一覧",
                "29",
                "生年月日",
                "E_DATE_INVALID"
            ),
            (
                "requests.xlsx",
                "申請一覧",
                "43",
                "郵便番号",
                "E_POSTAL_FORMAT"
            ),
        ]
    );
    assert!(rejects[0][6].contains("必須項目が空欄です"));
    let xlsx = run_dir.join("rejects.xlsx");
    assert!(std::fs::metadata(&xlsx).unwrap().len() > 0);
    // Nothing planned, rendered or numbered.
    assert!(!run_dir.join("plan.json").exists());
    assert!(!run_dir.join("docs").exists());
    assert_eq!(ledger_rows(&out.join("zaishoku/ledger.sqlite")), []);

    // The same batch without --strict: numbers from the first one on.
    let ran = run_job(&job, &out, &["-q"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let got = numbers(&run_dir);
    assert_eq!(got.len(), 47);
    let mut all: Vec<u64> = got.iter().map(|(_, n)| *n).collect();
    all.sort();
    assert_eq!(all, (101..148).collect::<Vec<_>>());
}

#[test]
fn strict_without_rejects_renders_the_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = sample_lines();
    let csv = tmp.path().join("good.csv");
    std::fs::write(&csv, lines[..6].join("\n") + "\n").unwrap();
    let out = tmp.path().join("out");
    let ran = run_job(
        &common::sample_job("zaishoku"),
        &out,
        &["--strict", "-q", "--input", csv.to_str().unwrap()],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(numbers(&out.join("zaishoku/2025-04-01")).len(), 5);
}

/// The zaishoku sample copied to `dir` with `header_row = row`.
fn job_with_header_row(dir: &Path, row: u32) -> PathBuf {
    sample_copy("zaishoku", dir, |t| {
        t.replace(
            "sheet = \"申請一覧\"",
            &format!("sheet = \"申請一覧\"\nheader_row = {row}"),
        )
    })
}

#[test]
fn a_wrong_header_row_says_the_headers_are_in_another_row() {
    for row in [1, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let job = job_with_header_row(tmp.path(), row);
        let ran = check(&job, tmp.path(), &[]);
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        let file = tmp.path().join("requests.xlsx");
        assert!(
            ran.stderr.contains(&format!(
                "{}: シート「申請一覧」: ヘッダー行 {row} 行目に、ジョブの列の見出し（「申請番号」「氏名」「フリガナ」など 12 列）がありません。見出しは 2 行目にあります。ジョブファイルの header_row を 2 にするか",
                file.display()
            )),
            "header_row = {row}: {}",
            ran.stderr
        );
        assert!(!ran.stderr.contains("見出しのない列"), "{}", ran.stderr);
    }
    // The right row reads.
    let tmp = tempfile::tempdir().unwrap();
    let ran = check(&job_with_header_row(tmp.path(), 2), tmp.path(), &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
}

#[test]
fn a_header_row_holding_none_of_the_headers_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = sample_lines();
    // Thirty data rows above the header: too far to be found near row 1.
    let mut shifted: Vec<String> = lines[1..31].to_vec();
    shifted.extend(lines.iter().cloned());
    let csv = tmp.path().join("late.csv");
    std::fs::write(&csv, shifted.join("\n") + "\n").unwrap();
    let job = job_with_header_row(tmp.path(), 1);
    let ran = check(&job, tmp.path(), &["--input", csv.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "ヘッダー行 1 行目に、ジョブの列の見出し（「申請番号」「氏名」「フリガナ」など 12 列）が一つもありません。"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_missing_column_never_suggests_a_column_already_mapped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = sample_lines();
    // The sheet has no 生年月日, only the (mapped) 採用年月日 close to it.
    lines[0] = lines[0].replace("生年月日", "誕生日");
    let csv = tmp.path().join("renamed.csv");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let input = ["--input", csv.to_str().unwrap()];

    // The header row searched for.
    let job = sample_copy("zaishoku", tmp.path(), |t| t);
    let ran = check(&job, tmp.path(), &input);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("1 行目に「生年月日」がありません。"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("採用年月日」のこと"), "{}", ran.stderr);

    // The header row given: the column mapping's message.
    let job = job_with_header_row(tmp.path(), 1);
    let ran = check(&job, tmp.path(), &input);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "{}: 列「生年月日」(field birth_date) がrenamed.csvの見出しにありません (column not found in header row)。",
            csv.display()
        )),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("もしかして"), "{}", ran.stderr);

    // A misspelt job column is still answered with the sheet's header.
    let job = sample_copy("zaishoku", tmp.path(), |t| {
        t.replace("column = \"生年月日\"", "column = \"生年月\"")
    });
    let ran = check(&job, tmp.path(), &[]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "2 行目に「生年月」がありません。もしかして「生年月日」のことですか (did you mean 生年月日?)。"
        ),
        "{}",
        ran.stderr
    );
}

/// The sample's header and first three records as an `.xlsx` sheet 「名簿」
/// (rows 1–4, columns A–L), with `cell(row, column, text)` deciding each
/// cell's XML; rows in `order`.
fn formula_book(order: &[usize], cell: impl Fn(usize, usize, &str) -> String) -> Vec<u8> {
    let lines = sample_lines();
    let rows: Vec<String> = order
        .iter()
        .map(|&i| {
            let cells: String = lines[i]
                .split(',')
                .enumerate()
                .map(|(j, text)| cell(i + 1, j, text))
                .collect();
            format!("<row r=\"{}\">{cells}</row>", i + 1)
        })
        .collect();
    common::xlsx_with_sheet_data(&rows.concat())
}

#[test]
fn a_formula_saved_without_its_result_is_its_own_reject() {
    let letters = |j: usize| ((b'A' + j as u8) as char).to_string();
    let cell = |row: usize, col: usize, text: &str| {
        let at = format!("{}{row}", letters(col));
        match (row, col) {
            // 氏名 (required) and 提出先 (optional) of rows 2 and 3: formulas
            // written by a program, no result saved.
            (2, 1) => format!("<c r=\"{at}\"><f>CONCAT(\"井上\",\"陽子\")</f></c>"),
            (3, 11) => format!("<c r=\"{at}\"><f>B3&amp;\"の申請\"</f></c>"),
            // A formula with its result saved reads as that result.
            (4, 1) => format!("<c r=\"{at}\" t=\"str\"><f>\"{text}\"</f><v>{text}</v></c>"),
            _ => inline(&at, text),
        }
    };
    for (what, order) in [
        ("rows in order", vec![0, 1, 2, 3]),
        ("rows out of order", vec![0, 2, 1, 3]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let book = tmp.path().join("program.xlsx");
        std::fs::write(&book, formula_book(&order, cell)).unwrap();
        let job = sample_copy("zaishoku", tmp.path(), |t| {
            t.replace("sheet = \"申請一覧\"", "sheet = \"名簿\"")
        });
        let ran = check(&job, tmp.path(), &["--input", book.to_str().unwrap()]);
        assert_eq!(ran.code, 1, "{what}: {}", ran.stderr);
        let rejects = read_rejects(&tmp.path().join("rejects.csv"));
        let got: Vec<(&str, &str, &str, &str, &str, &str)> = rejects
            .iter()
            .map(|r| (&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "program.xlsx",
                    "名簿",
                    "2",
                    "氏名",
                    "'=CONCAT(\"井上\",\"陽子\")",
                    "E_FORMULA_NO_VALUE"
                ),
                (
                    "program.xlsx",
                    "名簿",
                    "3",
                    "提出先",
                    "'=B3&\"の申請\"",
                    "E_FORMULA_NO_VALUE"
                ),
            ],
            "{what}"
        );
        assert!(
            rejects[0][6].starts_with(
                "数式 =CONCAT(\"井上\",\"陽子\") の計算結果がファイルに保存されていません。"
            ) && rejects[0][6].contains("Excel か LibreOffice で開いて保存し直して"),
            "{}",
            &rejects[0][6]
        );
        assert!(ran.stdout.contains("正常 1 件"), "{what}: {}", ran.stdout);
    }
}

#[test]
fn a_run_failing_after_planning_leaves_no_number_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let template = common::root().join("templates/zaishoku.xml");
    let good = std::fs::read_to_string(&template).unwrap();
    // A misspelt variable: found on the first record, after numbering.
    std::fs::write(
        dir.join("form.xml"),
        good.replacen("{{ name }}", "{{ nmae }}", 1),
    )
    .unwrap();
    let job = sample_copy("zaishoku", dir, |t| {
        t.replace(&format!("\"{}\"", template.display()), "\"form.xml\"")
    });
    let out = dir.join("out");
    let ran = run_job(&job, &out, &[]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("出力できなかった 47 件の番号を台帳に欠番として記録しました"),
        "{}",
        ran.stderr
    );
    let ledger = out.join("zaishoku/ledger.sqlite");
    let planned = ledger_rows(&ledger);
    assert_eq!(planned.len(), 47);
    for (id, _, void, issued) in &planned {
        assert_eq!(
            (void.as_str(), issued.as_str()),
            ("実行失敗 exit 2", ""),
            "{id}"
        );
    }
    let listed = run_chohyo([
        "ledger",
        job.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--number",
        "101",
    ]);
    assert!(
        listed.stdout.contains("欠番 (実行失敗 exit 2)") && !listed.stdout.contains("未出力"),
        "{}",
        listed.stdout
    );

    // Fixed and run again: each record gets the number it was planned
    // with (never another record's), and no void is left.
    std::fs::write(dir.join("form.xml"), &good).unwrap();
    let ran = run_job(&job, &out, &["-q", "--restart"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let issued = numbers(&out.join("zaishoku/2025-04-01"));
    let mut before: Vec<(String, u64)> = planned
        .iter()
        .map(|(id, n, _, _)| (id.clone(), *n))
        .collect();
    before.sort();
    assert_eq!(issued, before);
    assert!(ledger_rows(&ledger)
        .iter()
        .all(|(_, _, void, issued)| void.is_empty() && !issued.is_empty()));
}

/// Whether `text` holds Japanese (kana or kanji).
fn has_japanese(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c, '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}'))
}

/// `chohyo <args> --help`'s standard output.
fn help(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--help");
    let ran = run_chohyo(&all);
    assert_eq!(ran.code, 0, "{all:?}: {}", ran.stderr);
    ran.stdout
}

/// The lines of a help's section (its heading's lines up to a blank line).
fn section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// A command's name and a text about it.
type Named = (String, String);

/// The README's command reference: each command's usage text (its line in
/// the code block with continuation lines) and its line in the table.
fn readme_commands() -> (Vec<Named>, Vec<Named>) {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let start = readme
        .find("\n## Commands\n")
        .expect("README has ## Commands");
    let part = &readme[start..];
    let part = &part[..part.find("\n### Exit codes").unwrap()];
    let block = part.split("```").nth(1).expect("a usage block");
    let mut usage: Vec<Named> = Vec::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        match line.strip_prefix("chohyo ") {
            Some(rest) => {
                let name = rest.split_whitespace().next().unwrap().to_string();
                usage.push((name, line.to_string()));
            }
            None => usage.last_mut().expect("usage starts with chohyo").1 += line,
        }
    }
    let table = part
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| {
            let (name, rest) = l.split_once("` | ").unwrap();
            (
                name.to_string(),
                rest.trim_end_matches(" |").trim().to_string(),
            )
        })
        .collect();
    (usage, table)
}

#[test]
fn every_help_is_japanese_and_in_step_with_the_readme() {
    let top = help(&[]);
    assert!(top.starts_with("chohyo (帳票): "), "{top}");
    assert!(top.contains("使い方 (usage): chohyo <COMMAND>"), "{top}");
    assert!(
        section(&top, "オプション (options):")
            .iter()
            .all(|l| has_japanese(l)),
        "{top}"
    );
    let commands: Vec<String> = section(&top, "コマンド (commands):")
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(commands.len(), 8, "{top}");
    let (usage, table) = readme_commands();
    let names = |v: &[Named]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let mut sorted = commands.clone();
    sorted.sort();
    for (what, mut listed) in [("usage", names(&usage)), ("table", names(&table))] {
        listed.sort();
        assert_eq!(listed, sorted, "the README's {what} lists every command");
    }
    let option = option_flags();
    for name in &commands {
        let text = help(&[name]);
        let first = text.lines().next().unwrap();
        let row = &table.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(
            first, row,
            "{name}: help's first line and the README's table"
        );
        assert!(has_japanese(first) && first.contains(" ("), "{first}");
        assert!(
            text.contains(&format!("使い方 (usage): chohyo {name}")),
            "{text}"
        );
        let readme = &usage.iter().find(|(n, _)| n == name).unwrap().1;
        let mut in_help = Vec::new();
        for line in section(&text, "オプション (options):")
            .into_iter()
            .chain(section(&text, "引数 (arguments):"))
        {
            // The localised default (［既定 (default): …］) is clap's, not
            // the option's own text.
            let own = line.split('［').next().unwrap_or(line);
            assert!(
                has_japanese(own) && own.contains(" ("),
                "{name}: every option is explained in Japanese with the English: {line}"
            );
            let Some((short, long)) = option(line) else {
                continue;
            };
            if long == "help" {
                continue;
            }
            let in_readme = readme.contains(&format!("--{long}"))
                || short.is_some_and(|s| readme.contains(&format!("-{s}")));
            assert!(
                in_readme,
                "{name}: --{long} is missing from the README: {readme}"
            );
            in_help.push(long);
        }
        for word in readme.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if let Some(long) = word.strip_prefix("--") {
                assert!(
                    in_help.iter().any(|h| h == long),
                    "{name}: the README's --{long} is not an option of the command"
                );
            }
        }
    }
}

/// Reads an option line of a help: its short letter and long name.
fn option_flags() -> impl Fn(&str) -> Option<(Option<char>, String)> {
    |line: &str| {
        let line = line.trim_start();
        let (short, rest) = match line.strip_prefix('-') {
            Some(r) if !r.starts_with('-') => {
                let c = r.chars().next()?;
                (Some(c), r[c.len_utf8()..].trim_start_matches(", "))
            }
            _ => (None, line),
        };
        let long: String = rest
            .strip_prefix("--")?
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        Some((short, long))
    }
}

#[test]
fn a_sheet_of_formulas_never_saved_is_refused_in_one_message() {
    let tmp = tempfile::tempdir().unwrap();
    // Cells out of order (row 2 before row 1), so the sheet is read whole
    // and its unsaved formulas are kept by position: capped at 10,000.
    let formulas: String = (0..10_001)
        .map(|i| format!("<c r=\"{}2\"><f>ROW()</f></c>", column_name(i)))
        .collect();
    let sheet = format!(
        "<row r=\"2\">{formulas}</row><row r=\"1\">{}</row>",
        inline("A1", "申請番号")
    );
    let book = tmp.path().join("never_saved.xlsx");
    std::fs::write(&book, common::xlsx_with_sheet_data(&sheet)).unwrap();
    let job = sample_copy("zaishoku", tmp.path(), |t| {
        t.replace("sheet = \"申請一覧\"", "sheet = \"名簿\"")
    });
    let ran = check(&job, tmp.path(), &["--input", book.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "{}: シート「名簿」: 計算結果が保存されていない数式が 10000 個を超えます。Excel か LibreOffice で開いて保存し直してください",
            book.display()
        )),
        "{}",
        ran.stderr
    );
}

/// Spreadsheet column letters of a 0-based column.
fn column_name(mut i: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap()
}
