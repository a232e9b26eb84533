//! Templates: a tera file + a record → form markup text.
//!
//! Every value is XML-escaped on output (autoescape with [`escape_xml`]), so a
//! name containing `<`, `&` or `{{ 7*7 }}` is printed, never interpreted.
//! Templates cannot read files or environment variables: the environment
//! function tera ships is replaced by one that refuses, and no file loader is
//! registered. The Japanese filters (era dates and friends) live here.

use crate::japan::era::{self, WarekiStyle};
use crate::render::textfmt::{self, DaijiStyle, KanjiStyle, YenStyle};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tera::{Tera, Value};

/// Name under which the form template is registered (the `.xml` suffix turns
/// autoescaping on).
const MAIN: &str = "form.xml";

/// A compiled template, shared read-only by all rendering threads.
pub struct Template {
    tera: Tera,
    /// Where it was loaded from (for messages).
    pub path: PathBuf,
}

/// Why a template could not be loaded or rendered.
#[derive(Debug)]
pub struct TemplateError {
    /// The template file.
    pub path: PathBuf,
    /// What went wrong (tera's message chain).
    pub message: String,
    /// A filter or function refused the value it was given (a date filter
    /// on text that is no date, say): the record's data is at fault, not the
    /// template, so the record is rejected and the batch goes on.
    pub bad_value: bool,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "テンプレート {} のエラー (template error): {}",
            self.path.display(),
            self.message
        )
    }
}

impl std::error::Error for TemplateError {}

/// Whether a filter or function call failed somewhere in tera's chain.
fn is_bad_value(e: &tera::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(t) = err.downcast_ref::<tera::Error>() {
            if matches!(
                t.kind,
                tera::ErrorKind::CallFilter(_) | tera::ErrorKind::CallFunction(_)
            ) {
                return true;
            }
        }
        next = err.source();
    }
    false
}

fn chain(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

impl Template {
    /// Loads and compiles a template file (a regular file of at most 4 MB).
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        // A form template is a few kilobytes of markup; 4 MB leaves room for
        // inlined tables and keeps a wrong path (a spreadsheet, a device)
        // from being read whole and compiled.
        const MAX_TEMPLATE_BYTES: u64 = 4 * 1024 * 1024;
        let text = crate::files::read_capped_string(path, MAX_TEMPLATE_BYTES).map_err(|e| {
            TemplateError {
                path: crate::error::full_path(path),
                message: format!(
                    "読めません (cannot read): {}。ジョブファイルの template.file を確認してください \
                     (check template.file in the job file)",
                    crate::error::io_reason(&e)
                ),
                bad_value: false,
            }
        })?;
        Template::from_str(path, &text)
    }

    /// Compiles template text; `path` is used in messages only.
    pub fn from_str(path: &Path, text: &str) -> Result<Template, TemplateError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".xml"]);
        tera.set_escape_fn(escape_xml);
        register(&mut tera);
        tera.add_raw_template(MAIN, text)
            .map_err(|e| TemplateError {
                path: path.to_owned(),
                message: chain(&e),
                bad_value: false,
            })?;
        Ok(Template {
            tera,
            path: path.to_owned(),
        })
    }

    /// Renders the template with `context` (a JSON object).
    pub fn render(&self, context: &serde_json::Value) -> Result<String, TemplateError> {
        let ctx = tera::Context::from_value(context.clone()).map_err(|e| TemplateError {
            path: self.path.clone(),
            message: chain(&e),
            bad_value: false,
        })?;
        self.tera.render(MAIN, &ctx).map_err(|e| TemplateError {
            path: self.path.clone(),
            message: chain(&e),
            bad_value: is_bad_value(&e),
        })
    }
}

/// Escapes text for XML content and attribute values.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn register(tera: &mut Tera) {
    tera.register_filter("wareki", wareki_filter);
    tera.register_filter("jdate", jdate_filter);
    tera.register_filter("age", age_filter);
    tera.register_filter("kanji_num", kanji_num_filter);
    tera.register_filter("daiji", daiji_filter);
    tera.register_filter("yen", yen_filter);
    tera.register_filter("zenkaku", zenkaku_filter);
    tera.register_filter("hankaku", hankaku_filter);
    tera.register_filter("postal", postal_filter);
    tera.register_filter("honorific", honorific_filter);
    tera.register_filter("address_lines", address_lines_filter);
    tera.register_filter("split_list", split_list_filter);
    tera.register_filter("checkbox", checkbox_filter);
    tera.register_function("get_env", refuse_env);
    tera.register_function("customer_barcode", customer_barcode_fn);
}

/// `customer_barcode(postal=…, address=…)` (or `address_b=…` for only 住所B):
/// the customer barcode's symbols with the check digit, as
/// `STC 2 6 3 0 0 2 3 3 - 3 0 - 8 - 4 0 3 CC4 CC4 CC4 5 SPC`, for printing
/// or checking. When the address cannot be encoded it is an error (which
/// fails the batch), unless `default=…` is given: then that value is
/// returned. Error messages name neither the address nor the postal code.
fn customer_barcode_fn(args: &HashMap<String, Value>) -> tera::Result<Value> {
    let text = |k: &str| -> tera::Result<Option<String>> {
        match args.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(tera::Error::msg(format!(
                "customer_barcode: {k} は文字列です ({k} must be a string)"
            ))),
        }
    };
    for k in args.keys() {
        if !matches!(k.as_str(), "postal" | "address" | "address_b" | "default") {
            return Err(tera::Error::msg(format!(
                "customer_barcode: 引数 {k} は使えません (unknown argument; use postal, address or address_b, default)"
            )));
        }
    }
    let postal = text("postal")?.ok_or_else(|| {
        tera::Error::msg("customer_barcode: postal が必要です (argument postal required)")
    })?;
    let result = match (text("address")?, text("address_b")?) {
        (Some(address), None) => {
            let data = crate::japan::postal::PostalData::embedded()
                .map_err(|e| tera::Error::msg(e.message.clone()))?;
            data.customer_barcode(&postal, &address)
                .map_err(|f| match f {
                    crate::japan::postal::BarcodeFailure::Address(v) => format!(
                        "郵便番号と住所が一致しません (postal code and address disagree: {})",
                        v.status.name()
                    ),
                    crate::japan::postal::BarcodeFailure::Barcode(e) => e.to_string(),
                })
        }
        (None, Some(addr_b)) => {
            crate::japan::barcode::encode(&postal, &addr_b).map_err(|e| e.to_string())
        }
        _ => {
            return Err(tera::Error::msg(
                "customer_barcode: address か address_b のどちらか一方が必要です (exactly one of address, address_b)",
            ))
        }
    };
    match result {
        Ok(code) => Ok(Value::String(code.data_string())),
        Err(reason) => match args.get("default") {
            Some(d) => Ok(d.clone()),
            None => Err(tera::Error::msg(format!(
                "customer_barcode: カスタマバーコードを作れません (no customer barcode): {reason}"
            ))),
        },
    }
}

fn refuse_env(_: &HashMap<String, Value>) -> tera::Result<Value> {
    Err(tera::Error::msg(
        "テンプレートから環境変数は読めません (templates cannot read environment variables)",
    ))
}

fn date_arg(value: &Value, filter: &str) -> tera::Result<NaiveDate> {
    let s = value.as_str().ok_or_else(|| {
        tera::Error::msg(format!(
            "{filter}: 日付の文字列が必要です (expects a date string)"
        ))
    })?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| era::parse_date(s).map_err(|_| ()))
        .map_err(|_| tera::Error::msg(format!("{filter}: 日付ではありません (not a date)")))
}

/// A string argument of a filter, if given.
fn str_arg<'a>(
    args: &'a HashMap<String, Value>,
    name: &str,
    filter: &str,
) -> tera::Result<Option<&'a str>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(tera::Error::msg(format!(
            "{filter}: 引数 {name} は文字列です ({name} must be a string)"
        ))),
    }
}

fn bad_style(filter: &str, style: &str, allowed: &str) -> tera::Error {
    tera::Error::msg(format!(
        "{filter}: style={style} は使えません (unknown style); 使えるもの: {allowed}"
    ))
}

/// The value as a whole number (JSON integer, integral float or digit text).
fn number_arg(value: &Value, filter: &str) -> tera::Result<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => crate::check::parse_number(s),
        _ => None,
    };
    n.ok_or_else(|| tera::Error::msg(format!("{filter}: 数値ではありません (not a number)")))
}

fn whole_arg(value: &Value, filter: &str) -> tera::Result<i64> {
    textfmt::whole_yen(number_arg(value, filter)?)
        .map_err(|e| tera::Error::msg(format!("{filter}: {}", e.0)))
}

fn unsigned_arg(value: &Value, filter: &str) -> tera::Result<u64> {
    u64::try_from(whole_arg(value, filter)?).map_err(|_| {
        tera::Error::msg(format!(
            "{filter}: 負の数は書けません (negative numbers are not supported)"
        ))
    })
}

/// `{{ d | wareki }}` → `令和7年4月1日`; `style` = `long` (default), `short`
/// (`R7.4.1`), `padded` (`令和 7年 4月 1日`), `kanji` (`令和七年四月一日`),
/// `month` (`令和7年4月`: year and month of the long style).
fn wareki_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let d = date_arg(value, "wareki")?;
    let style = match str_arg(args, "style", "wareki")? {
        None | Some("long") => WarekiStyle::Long,
        Some("short") => WarekiStyle::Short,
        Some("padded") => WarekiStyle::Padded,
        Some("kanji") => WarekiStyle::Kanji,
        Some("month") => {
            let long = era::format_wareki_with(d, WarekiStyle::Long)
                .map_err(|e| tera::Error::msg(format!("wareki: {}", e.reason)))?;
            let end = long.find('月').map_or(long.len(), |i| i + '月'.len_utf8());
            return Ok(Value::String(long[..end].to_string()));
        }
        Some(s) => return Err(bad_style("wareki", s, "long, short, padded, kanji, month")),
    };
    era::format_wareki_with(d, style)
        .map(Value::String)
        .map_err(|e| tera::Error::msg(format!("wareki: {}", e.reason)))
}

/// `{{ birth_date | age(at=doc.issue_date) }}` → `34` (whole years; see
/// [`era::age_at`]).
fn age_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let birth = date_arg(value, "age")?;
    let at = args
        .get("at")
        .ok_or_else(|| tera::Error::msg("age: at=日付 が必要です (the at= date is required)"))?;
    let at = date_arg(at, "age")?;
    Ok(Value::from(era::age_at(birth, at)))
}

/// `{{ 2025 | kanji_num }}` → `二千二十五`; `style="positional"` → `二〇二五`.
fn kanji_num_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let n = unsigned_arg(value, "kanji_num")?;
    let style = match str_arg(args, "style", "kanji_num")? {
        None | Some("grouped") => KanjiStyle::Grouped,
        Some("positional") => KanjiStyle::Positional,
        Some(s) => return Err(bad_style("kanji_num", s, "grouped, positional")),
    };
    Ok(Value::String(textfmt::kanji_num(n, style)))
}

/// `{{ 12000 | daiji }}` → `壱萬弐千`; `style="full"` → `壱萬弐阡`.
fn daiji_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let n = unsigned_arg(value, "daiji")?;
    let style = match str_arg(args, "style", "daiji")? {
        None | Some("legal") => DaijiStyle::Legal,
        Some("full") => DaijiStyle::Full,
        Some(s) => return Err(bad_style("daiji", s, "legal, full")),
    };
    Ok(Value::String(textfmt::daiji(n, style)))
}

/// `{{ 1234 | yen }}` → `1,234円`; `style="symbol"` → `¥1,234`;
/// `style="plain"` → `1,234`; `style="formal"` → `金壱千弐百参拾四円也`.
fn yen_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let n = whole_arg(value, "yen")?;
    let style = match str_arg(args, "style", "yen")? {
        None | Some("suffix") => YenStyle::Suffix,
        Some("symbol") => YenStyle::Symbol,
        Some("plain") => YenStyle::Plain,
        Some("formal") => YenStyle::Formal,
        Some(s) => return Err(bad_style("yen", s, "suffix, symbol, plain, formal")),
    };
    textfmt::yen(n, style)
        .map(Value::String)
        .map_err(|e| tera::Error::msg(format!("yen: {}", e.0)))
}

/// Text of a value: strings as they are, numbers printed (`12` not `12.0`).
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// `{{ "ABC 1" | zenkaku }}` → `ＡＢＣ　１`.
fn zenkaku_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(textfmt::zenkaku(&text_of(value))))
}

/// `{{ "ＡＢＣ　１" | hankaku }}` → `ABC 1`.
fn hankaku_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(textfmt::hankaku(&text_of(value))))
}

/// `{{ "1530051" | postal }}` → `〒153-0051`; `mark=false` → `153-0051`.
fn postal_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let p = textfmt::postal(&text_of(value)).ok_or_else(|| {
        tera::Error::msg("postal: 郵便番号は7桁の数字です (postal code must have 7 digits)")
    })?;
    let mark = match args.get("mark") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(tera::Error::msg(
                "postal: mark は true か false です (mark must be a boolean)",
            ))
        }
    };
    Ok(Value::String(if mark { format!("〒{p}") } else { p }))
}

/// `{{ name | honorific(title=honor, default="様") }}` → `山田　太郎　様`:
/// the title from a field when it is not empty, else `default` (様), joined
/// by `sep` (a full-width space by default).
fn honorific_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let name = text_of(value);
    let name = name.trim();
    let title = args.get("title").map(text_of).unwrap_or_default();
    let title = title.trim();
    let default = str_arg(args, "default", "honorific")?.unwrap_or("様");
    let sep = str_arg(args, "sep", "honorific")?.unwrap_or("\u{3000}");
    let title = if title.is_empty() { default } else { title };
    Ok(Value::String(if name.is_empty() {
        String::new()
    } else {
        format!("{name}{sep}{title}")
    }))
}

/// `{{ address | address_lines(width=16) }}` → an array of lines, each at
/// most `width` full-width characters (see [`textfmt::address_lines`]).
fn address_lines_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let width = match args.get("width") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    if !(1.0..=200.0).contains(&width) {
        return Err(tera::Error::msg(
            "address_lines: width=文字数 (1〜200) が必要です (width in characters required)",
        ));
    }
    let lines = textfmt::address_lines(&text_of(value), width as f32);
    Ok(Value::Array(lines.into_iter().map(Value::String).collect()))
}

/// `{{ docs | split_list }}` → array of the items of a `・`/`、`/newline
/// separated cell; `sep="/"` uses another separator.
fn split_list_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let sep = str_arg(args, "sep", "split_list")?;
    let items = textfmt::split_list(&text_of(value), sep);
    Ok(Value::Array(items.into_iter().map(Value::String).collect()))
}

/// `{{ option | checkbox(selected=field) }}` → `■` when `option` equals
/// `selected` (or is one of them, for an array), else `□`. Without
/// `selected`, the value's own truth decides (`true`, a non-empty string other
/// than `0`/`無`/`no`/`false`, a non-zero number).
///
/// The marks are ■/□ by default because the bundled BIZ UD fonts (JIS X
/// 0208/0213 repertoire) have no ☑ U+2611 / ☐ U+2610; with a font that has
/// them, pass `on="☑", off="☐"`.
fn checkbox_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let on = match args.get("selected") {
        Some(Value::Array(items)) => items.iter().any(|i| text_of(i) == text_of(value)),
        Some(sel) => text_of(sel) == text_of(value),
        None => match value {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => {
                let t = s.trim();
                !t.is_empty() && !matches!(t, "0" | "無" | "なし" | "no" | "false" | "いいえ")
            }
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        },
    };
    let on_mark = str_arg(args, "on", "checkbox")?.unwrap_or("■");
    let off_mark = str_arg(args, "off", "checkbox")?.unwrap_or("□");
    Ok(Value::String(if on { on_mark } else { off_mark }.into()))
}

/// `{{ d | jdate }}` → `2025年4月1日`.
fn jdate_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let d = date_arg(value, "jdate")?;
    Ok(Value::String(d.format("%Y年%-m月%-d日").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(src: &str, ctx: serde_json::Value) -> Result<String, TemplateError> {
        Template::from_str(Path::new("t.xml"), src)?.render(&ctx)
    }

    #[test]
    fn data_is_escaped_never_interpreted() {
        let out = render(
            "<text>{{ name }}</text>",
            json!({"name": "<b>{{ 7*7 }}&</b>"}),
        )
        .unwrap();
        assert_eq!(out, "<text>&lt;b&gt;{{ 7*7 }}&amp;&lt;/b&gt;</text>");
    }

    #[test]
    fn filters() {
        let out = render(
            "{{ d | wareki }} {{ d | jdate }}",
            json!({"d": "2025-04-01"}),
        )
        .unwrap();
        assert_eq!(out, "令和7年4月1日 2025年4月1日");
        let out = render("{{ d | wareki }}", json!({"d": "2019-05-01"})).unwrap();
        assert_eq!(out, "令和元年5月1日");
    }

    /// (template, context, expected output) — each row one filter use.
    #[test]
    fn filter_table() {
        let cases: &[(&str, serde_json::Value, &str)] = &[
            (
                "{{ d | wareki }}",
                json!({"d": "2019-04-30"}),
                "平成31年4月30日",
            ),
            (
                "{{ d | wareki }}",
                json!({"d": "2019-05-01"}),
                "令和元年5月1日",
            ),
            (
                "{{ d | wareki }}",
                json!({"d": "1989-01-07"}),
                "昭和64年1月7日",
            ),
            (
                "{{ d | wareki }}",
                json!({"d": "1989-01-08"}),
                "平成元年1月8日",
            ),
            (
                "{{ d | wareki(style=\"short\") }}",
                json!({"d": "2025-04-01"}),
                "R7.4.1",
            ),
            (
                "{{ d | wareki(style=\"padded\") }}",
                json!({"d": "2025-04-01"}),
                "令和 7年 4月 1日",
            ),
            (
                "{{ d | wareki(style=\"padded\") }}",
                json!({"d": "2019-12-31"}),
                "令和元年12月31日",
            ),
            (
                "{{ d | wareki(style=\"kanji\") }}",
                json!({"d": "2025-12-21"}),
                "令和七年十二月二十一日",
            ),
            (
                "{{ d | wareki(style=\"long\") }}",
                json!({"d": "令和7年4月1日"}),
                "令和7年4月1日",
            ),
            (
                "{{ d | wareki(style=\"month\") }}",
                json!({"d": "2019-05-31"}),
                "令和元年5月",
            ),
            (
                "{{ d | wareki(style=\"month\") }}",
                json!({"d": "2025-1-1"}),
                "令和7年1月",
            ),
            (
                "{{ n | yen(style=\"plain\") }}",
                json!({"n": 1234567}),
                "1,234,567",
            ),
            (
                "{{ d | jdate }}",
                json!({"d": "2025-04-01"}),
                "2025年4月1日",
            ),
            (
                "{{ b | age(at=d) }}",
                json!({"b": "1990-04-02", "d": "2025-04-01"}),
                "34",
            ),
            (
                "{{ b | age(at=d) }}",
                json!({"b": "1990-04-01", "d": "2025-04-01"}),
                "35",
            ),
            ("{{ 2025 | kanji_num }}", json!({}), "二千二十五"),
            (
                "{{ n | kanji_num(style=\"positional\") }}",
                json!({"n": 2025.0}),
                "二〇二五",
            ),
            ("{{ 0 | kanji_num }}", json!({}), "〇"),
            ("{{ 12000 | daiji }}", json!({}), "壱萬弐千"),
            ("{{ 15000 | daiji(style=\"full\") }}", json!({}), "壱萬伍阡"),
            ("{{ 0 | daiji }}", json!({}), "零"),
            ("{{ n | yen }}", json!({"n": 1234.0}), "1,234円"),
            ("{{ n | yen }}", json!({"n": "1,234"}), "1,234円"),
            (
                "{{ n | yen(style=\"symbol\") }}",
                json!({"n": 1234}),
                "¥1,234",
            ),
            (
                "{{ n | yen(style=\"formal\") }}",
                json!({"n": 12000}),
                "金壱萬弐千円也",
            ),
            (
                "{{ n | yen(style=\"formal\") }}",
                json!({"n": 0}),
                "金零円也",
            ),
            (
                "{{ n | yen(style=\"formal\") }}",
                json!({"n": 3_000_000_000_000_i64}),
                "金参兆円也",
            ),
            (
                "{{ a + b | yen }}",
                json!({"a": 1000.0, "b": 234}),
                "1,234円",
            ),
            ("{{ s | zenkaku }}", json!({"s": "A1 ｶﾞ"}), "Ａ１　ガ"),
            ("{{ s | hankaku }}", json!({"s": "Ａ１　ガ"}), "A1 ガ"),
            ("{{ p | postal }}", json!({"p": "1530051"}), "〒153-0051"),
            (
                "{{ p | postal(mark=false) }}",
                json!({"p": "153-0051"}),
                "153-0051",
            ),
            (
                "{{ n | honorific }}",
                json!({"n": "山田　太郎"}),
                "山田　太郎　様",
            ),
            (
                "{{ n | honorific(title=t) }}",
                json!({"n": "山田", "t": "殿"}),
                "山田　殿",
            ),
            (
                "{{ n | honorific(title=t, default=\"殿\", sep=\"\") }}",
                json!({"n": "山田", "t": ""}),
                "山田殿",
            ),
            (
                "{% for l in a | address_lines(width=10) %}[{{ l }}]{% endfor %}",
                json!({"a": "東京都目黒区上目黒1丁目8-4"}),
                "[東京都目黒区][上目黒1丁目8-4]",
            ),
            (
                "{% for i in s | split_list %}<{{ i }}>{% endfor %}",
                json!({"s": "住民票・年金手帳\n印鑑"}),
                "<住民票><年金手帳><印鑑>",
            ),
            (
                "{{ \"正社員\" | checkbox(selected=e) }}",
                json!({"e": "正社員"}),
                "■",
            ),
            (
                "{{ \"契約社員\" | checkbox(selected=e) }}",
                json!({"e": "正社員"}),
                "□",
            ),
            (
                "{{ \"土\" | checkbox(selected=e) }}",
                json!({"e": ["土", "日"]}),
                "■",
            ),
            (
                "{{ \"月\" | checkbox(selected=e) }}",
                json!({"e": ["土", "日"]}),
                "□",
            ),
            ("{{ f | checkbox }}", json!({"f": "有"}), "■"),
            ("{{ f | checkbox }}", json!({"f": ""}), "□"),
            ("{{ f | checkbox }}", json!({"f": "無"}), "□"),
            (
                "{{ f | checkbox(on=\"☑\", off=\"☐\") }}",
                json!({"f": true}),
                "☑",
            ),
            (
                "{{ f | checkbox(on=\"☑\", off=\"☐\") }}",
                json!({"f": false}),
                "☐",
            ),
        ];
        for (src, ctx, want) in cases {
            let got = render(src, ctx.clone()).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(got, *want, "{src} with {ctx}");
        }
    }

    #[test]
    fn filter_errors_are_japanese_and_name_the_filter() {
        let cases: &[(&str, serde_json::Value, &str)] = &[
            (
                "{{ d | wareki(style=\"x\") }}",
                json!({"d": "2025-04-01"}),
                "wareki",
            ),
            ("{{ d | wareki }}", json!({"d": "1868-01-01"}), "wareki"),
            ("{{ n | yen }}", json!({"n": 1.5}), "整数"),
            ("{{ n | yen(style=\"formal\") }}", json!({"n": -1}), "負"),
            ("{{ n | yen }}", json!({"n": "abc"}), "数値"),
            ("{{ p | postal }}", json!({"p": "153-005"}), "7桁"),
            ("{{ b | age }}", json!({"b": "1990-01-01"}), "at="),
            ("{{ a | address_lines }}", json!({"a": "x"}), "width"),
        ];
        for (src, ctx, needle) in cases {
            let e = render(src, ctx.clone()).unwrap_err();
            assert!(e.message.contains(needle), "{src}: {}", e.message);
        }
    }

    #[test]
    fn wareki_round_trips_through_parse_date() {
        let mut d = NaiveDate::from_ymd_opt(1873, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
        while d < end {
            for style in ["long", "short", "padded", "kanji"] {
                let src = format!("{{{{ d | wareki(style=\"{style}\") }}}}");
                let out = render(&src, json!({"d": d.format("%Y-%m-%d").to_string()})).unwrap();
                assert_eq!(era::parse_date(&out).ok(), Some(d), "{out}");
            }
            d += chrono::Duration::days(97);
        }
    }

    #[test]
    fn environment_is_not_readable() {
        let e = render("{{ get_env(name=\"HOME\") }}", json!({})).unwrap_err();
        assert!(e.message.contains("環境変数"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let e = render("{{ name ", json!({})).unwrap_err();
        assert!(e.to_string().contains("t.xml"));
    }
}
