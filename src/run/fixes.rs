//! How an operator or clerk fixes each reject: one short Japanese hint
//! per reject code, shown beside every reject in `report.html`.
//!
//! The codes are those of docs/job.md's table ("Codes"); a unit test
//! keeps this table and that one in step (a code added there needs its
//! hint here). Codes of a job's own `[[rules]]` get the rules' hint.
//!
//! Plain data: uses nothing.

/// `(code, how to fix it)`, in docs/job.md's order.
const FIXES: &[(&str, &str)] = &[
    ("E_REQUIRED", "空欄のセルに値を入力してください。"),
    ("E_CELL_ERROR", "セルがエラー値になっています。原因の数式や参照先を直してください。"),
    ("E_FORMULA_NO_VALUE", "数式の計算結果が保存されていません。ファイルを Excel か LibreOffice で開いて保存し直してください。"),
    ("E_CHAR", "表示できない制御文字（<U+…> の位置）を消して入力し直してください。"),
    ("E_TOO_LONG", "文字数の上限に収まるよう短くしてください（略称や改行の見直し）。"),
    ("E_TOO_SHORT", "必要な文字数まで正しく入力してください。"),
    ("E_NOT_ALLOWED", "理由に示された選択肢のいずれかを入力してください。"),
    ("E_PATTERN", "理由に示された形（例）のとおりに入力してください。"),
    ("E_DUPLICATE", "理由に示された行と重複しています。どちらが正しいか確認し、片方を直すか削除してください。"),
    ("E_DATE_FORMAT", "日付を 年/月/日 の形か、元号と年月日（令和◯年◯月◯日）の形で入力してください。"),
    ("E_DATE_INVALID", "存在しない日付です。月日を確認して正しい日付を入力してください。"),
    ("E_DATE_ERA_RANGE", "その元号にない年月日です。改元の日付をまたいでいないか確認し、正しい元号で入力してください。"),
    ("E_DATE_TOO_OLD", "1873年（明治6年）より前の日付は扱えません。入力の誤りがないか確認してください。"),
    ("E_DATE_RANGE", "理由に示された期間内の日付か、入力の誤りがないか確認してください。"),
    ("E_NUMBER", "半角または全角の数字だけで入力してください（漢数字・単位は不可）。"),
    ("E_NOT_INTEGER", "小数点以下のない整数で入力してください。"),
    ("E_NUMBER_RANGE", "理由に示された範囲内の数値を入力してください。"),
    ("E_POSTAL_FORMAT", "郵便番号を 7 桁の数字で入力してください（ハイフンはあってもなくても可）。"),
    ("E_PHONE", "電話番号を市外局番（0 で始まる）から 10 桁か 11 桁の数字で入力してください。"),
    ("E_KANA", "フリガナをカタカナで入力してください。"),
    ("E_JOIN_NO_MATCH", "結合するシートの行に、本表にある番号（キー）を入力してください。不要な行なら削除してください。"),
    ("E_JOIN_ROWS", "結合するシートの不備（同じ一覧に出ている行）を先に直してください。"),
    ("E_JOIN_COUNT", "結合するシートの行数を、理由に示された範囲にそろえてください。"),
    ("E_BARCODE", "郵便番号と住所（丁目・番地まで）が合っているか、郵便番号簿で確認してください。"),
    ("E_LAYOUT_OVERFLOW", "枠に入りきりません。値を短くするか、テンプレートの枠を広げるよう作成者に依頼してください。"),
    ("E_LAYOUT_PAPER", "用紙からはみ出します。値を短くするか、テンプレートの作成者に連絡してください。"),
    ("E_LAYOUT_MARGIN", "余白にはみ出します。値を短くするか、テンプレートの作成者に連絡してください。"),
    ("E_GLYPH_MISSING", "フォントにない文字です。常用の字体に置き換えるか、外字フォントの追加を管理者に依頼してください。"),
    ("E_TEMPLATE_VALUE", "テンプレートが値を変換できません。日付や数値の列に正しい形の値を入力してください。"),
    ("E_TOO_MANY_PAGES", "1 件の文書が 100 ページを超えます。結合する行を減らすか、分けて申請してください。"),
];

/// The hint for a code of the job's own `[[rules]]` (or any code not in
/// the table).
const RULE_FIX: &str =
    "ジョブの規則（[[rules]]）を満たしていません。理由に示された列どうしの値を確認して直してください。";

/// How to fix a reject with `code`, in Japanese.
pub fn how_to_fix(code: &str) -> &'static str {
    FIXES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(RULE_FIX, |(_, fix)| fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code of docs/job.md's table has its hint here, and no hint
    /// is for a code the table does not list.
    #[test]
    fn every_documented_code_has_a_hint() {
        let doc = include_str!("../../docs/job.md");
        let table = doc
            .split("### Codes")
            .nth(1)
            .expect("docs/job.md has a ### Codes section");
        let mut documented = Vec::new();
        for line in table.lines().skip_while(|l| !l.starts_with('|')) {
            if !line.starts_with('|') {
                break;
            }
            let first = line.split('|').nth(1).unwrap_or("");
            for part in first.split('/') {
                let code = part.trim().trim_matches('`');
                if code.starts_with("E_") {
                    documented.push(code.to_string());
                }
            }
        }
        assert!(documented.len() > 20, "{documented:?}");
        for code in &documented {
            assert!(
                FIXES.iter().any(|(c, _)| c == code),
                "{code} is in docs/job.md but has no hint in src/run/fixes.rs"
            );
        }
        for (code, _) in FIXES {
            assert!(
                documented.contains(&code.to_string()),
                "{code} has a hint but is not in docs/job.md's table"
            );
        }
        assert_eq!(how_to_fix("E_HIRE_BEFORE_15"), RULE_FIX);
    }
}
