//! Templates: a tera file + a record → form markup text.
//!
//! Every value is XML-escaped on output (autoescape with [`escape_xml`]), so a
//! name containing `<`, `&` or `{{ 7*7 }}` is printed, never interpreted.
//! Templates cannot read files or environment variables: the environment
//! function tera ships is replaced by one that refuses, and no file loader is
//! registered. The Japanese filters (era dates and friends) live here.

use crate::japan::era::{self, WarekiStyle};
use crate::render::template_map::{self, TemplatePos};
use crate::render::textfmt::{self, DaijiStyle, KanjiStyle, YenStyle};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tera::{Tera, Value};

/// Name under which the form template is registered (the `.xml` suffix turns
/// autoescaping on).
const MAIN: &str = "form.xml";

/// Most markup one document's template may print (bytes): far above any
/// real form (100 pages of tables), far below what exhausts memory.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

/// Most numbers `range` may give: a loop over pages, rows or labels, never
/// an allocation the size of the machine.
pub const MAX_RANGE: usize = 10_000;

/// How long one document's template may render by default (seconds).
pub const DEFAULT_TIME_LIMIT_SECS: u64 = 30;

/// A compiled template, shared read-only by all rendering threads.
pub struct Template {
    tera: Tera,
    /// The template's text (to find where an error is).
    text: String,
    /// Where it was loaded from (for messages).
    pub path: PathBuf,
}

/// Why a template could not be loaded or rendered.
#[derive(Debug)]
pub struct TemplateError {
    /// The template file.
    pub path: PathBuf,
    /// Where in it, when known.
    pub pos: Option<TemplatePos>,
    /// What went wrong, in Japanese (tera's English detail kept beside it).
    pub message: String,
    /// A filter or function refused the value it was given (a date filter
    /// on text that is no date, say): the record's data is at fault, not the
    /// template, so the record is rejected and the batch goes on.
    pub bad_value: bool,
}

impl TemplateError {
    fn new(path: &Path, message: String) -> TemplateError {
        TemplateError {
            path: path.to_owned(),
            pos: None,
            message,
            bad_value: false,
        }
    }

    /// `<file> の 3行5列 (line 3, column 5)`, or the file alone.
    pub fn place(&self) -> String {
        match self.pos {
            Some(p) => format!(
                "{} の {}行{}列 (line {}, column {})",
                self.path.display(),
                p.line,
                p.col,
                p.line,
                p.col
            ),
            None => self.path.display().to_string(),
        }
    }
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "テンプレート {} のエラー (template error): {}",
            self.place(),
            self.message
        )
    }
}

impl std::error::Error for TemplateError {}

/// A breach of a document's budget (output size, `range` length, time):
/// the template's fault whatever the data, so never a record's reject.
#[derive(Debug)]
pub struct BudgetExceeded(pub String);

impl std::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BudgetExceeded {}

/// The errors of tera's chain, outermost first.
fn causes(e: &tera::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        out.push(err);
        next = err.source();
    }
    out
}

/// Whether a filter or function call refused a value (and no budget was
/// breached).
fn is_bad_value(e: &tera::Error) -> bool {
    let all = causes(e);
    !all.iter()
        .any(|c| c.downcast_ref::<BudgetExceeded>().is_some())
        && all.iter().any(|c| {
            c.downcast_ref::<tera::Error>().is_some_and(|t| {
                matches!(
                    t.kind,
                    tera::ErrorKind::CallFilter(_) | tera::ErrorKind::CallFunction(_)
                )
            })
        })
}

/// tera's message chain in Japanese: the wrappers tera adds ("Failed to
/// render", "Filter call failed") are left out, the messages of our filters
/// are Japanese already, and tera's own are explained.
fn japanese(e: &tera::Error) -> String {
    let mut parts = Vec::new();
    for c in causes(e) {
        if let Some(t) = c.downcast_ref::<tera::Error>() {
            match &t.kind {
                tera::ErrorKind::Msg(m) => parts.push(explain(m)),
                tera::ErrorKind::CallFilter(n) => parts.push(format!("フィルタ {n}:")),
                tera::ErrorKind::CallFunction(n) => parts.push(format!("関数 {n}:")),
                tera::ErrorKind::Io(_) => {}
                _ => parts.push(t.to_string()),
            }
        } else if c.downcast_ref::<std::io::Error>().is_none() {
            parts.push(c.to_string());
        }
    }
    parts.retain(|p| !p.is_empty());
    parts.dedup();
    parts.join(" ")
}

/// One of tera's own messages, with a Japanese explanation where we know it.
fn explain(m: &str) -> String {
    if m.starts_with("Failed to render") || m.starts_with("Failed to parse") {
        return String::new();
    }
    if let Some(rest) = m.strip_prefix("Variable `") {
        if let Some((name, _)) = rest.split_once('`') {
            if m.contains("not found in context") {
                return format!(
                    "変数 {name} がありません。項目名の綴りを確かめてください (variable `{name}` not found)"
                );
            }
        }
    }
    if m.contains("-->") {
        return format!(
            "テンプレートの書き方が正しくありません (syntax error):\n{}",
            m.trim_end()
        );
    }
    format!("テンプレートを描画できません (render failed): {m}")
}

/// Where tera's syntax error is (its ` --> 3:9` line).
fn syntax_pos(message: &str) -> Option<TemplatePos> {
    let at = message.find("--> ")? + 4;
    let rest = &message[at..];
    let end = rest.find(|c: char| !c.is_ascii_digit() && c != ':')?;
    let (l, c) = rest[..end].split_once(':')?;
    Some(TemplatePos {
        line: l.parse().ok()?,
        col: c.parse().ok()?,
    })
}

/// The markup a render prints, refusing more than the budget allows: both
/// the size and the deadline are checked at every write (a loop that
/// prints nothing is stopped from outside, by the run's watchdog).
struct BudgetWriter {
    out: Vec<u8>,
    deadline: Option<std::time::Instant>,
}

impl std::io::Write for BudgetWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > MAX_OUTPUT_BYTES {
            return Err(std::io::Error::other(BudgetExceeded(format!(
                "出力が大きすぎます: 1文書のマークアップは {} MB までです (output budget exceeded)",
                MAX_OUTPUT_BYTES / (1024 * 1024)
            ))));
        }
        if self.deadline.is_some_and(|d| std::time::Instant::now() > d) {
            return Err(std::io::Error::other(BudgetExceeded(
                "1文書の描画が時間の上限を超えました (render time limit exceeded)".into(),
            )));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The budget breach in an I/O error of tera's chain, if any.
fn budget_breach(e: &tera::Error) -> Option<String> {
    causes(e).iter().find_map(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<BudgetExceeded>())
            .or_else(|| c.downcast_ref::<BudgetExceeded>())
            .map(|b| b.0.clone())
    })
}

impl Template {
    /// Loads and compiles a template file (a regular file of at most 4 MB).
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        // A form template is a few kilobytes of markup; 4 MB leaves room for
        // inlined tables and keeps a wrong path (a spreadsheet, a device)
        // from being read whole and compiled.
        const MAX_TEMPLATE_BYTES: u64 = 4 * 1024 * 1024;
        let text = crate::files::read_capped_string(path, MAX_TEMPLATE_BYTES).map_err(|e| {
            TemplateError::new(
                &crate::error::full_path(path),
                format!(
                    "読めません (cannot read): {}。ジョブファイルの template.file を確認してください \
                     (check template.file in the job file)",
                    crate::error::io_reason(&e)
                ),
            )
        })?;
        Template::from_str(path, &text)
    }

    /// Compiles template text; `path` is used in messages only.
    pub fn from_str(path: &Path, text: &str) -> Result<Template, TemplateError> {
        let tera = compile(text, None).map_err(|e| {
            let message = chain_text(&e);
            TemplateError {
                pos: syntax_pos(&message),
                ..TemplateError::new(path, japanese(&e))
            }
        })?;
        Ok(Template {
            tera,
            text: text.to_owned(),
            path: path.to_owned(),
        })
    }

    /// Renders the template with `context` (a JSON object).
    pub fn render(&self, context: &serde_json::Value) -> Result<String, TemplateError> {
        self.render_until(context, None)
    }

    /// [`Template::render`], refused at the first write after `deadline`.
    pub fn render_until(
        &self,
        context: &serde_json::Value,
        deadline: Option<std::time::Instant>,
    ) -> Result<String, TemplateError> {
        let ctx = tera::Context::from_value(context.clone())
            .map_err(|e| TemplateError::new(&self.path, japanese(&e)))?;
        let mut w = BudgetWriter {
            out: Vec::new(),
            deadline,
        };
        match self.tera.render_to(MAIN, &ctx, &mut w) {
            Ok(()) => String::from_utf8(w.out).map_err(|e| {
                TemplateError::new(&self.path, format!("UTF-8 ではありません (not UTF-8): {e}"))
            }),
            Err(e) => Err(match budget_breach(&e) {
                Some(m) => TemplateError {
                    pos: self.failed_at(&ctx),
                    ..TemplateError::new(&self.path, m)
                },
                None => TemplateError {
                    pos: self.failed_at(&ctx),
                    bad_value: is_bad_value(&e),
                    ..TemplateError::new(&self.path, japanese(&e))
                },
            }),
        }
    }

    /// Where a render with `ctx` fails: the last tag reached by a render of
    /// the [`template_map::tracked`] copy (error path only).
    fn failed_at(&self, ctx: &tera::Context) -> Option<TemplatePos> {
        let (text, positions) = template_map::tracked(&self.text);
        let last = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(usize::MAX));
        let tera = compile(&text, Some(last.clone())).ok()?;
        let mut w = BudgetWriter {
            out: Vec::new(),
            deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(5)),
        };
        tera.render_to(MAIN, ctx, &mut w).err()?;
        positions
            .get(last.load(std::sync::atomic::Ordering::Relaxed))
            .copied()
    }

    /// The template position that printed markup `line`/`col` of
    /// `markup` (the output of a render with `context`), found by a render
    /// of the [`template_map::marked`] copy; None when not certain.
    pub fn markup_origin(
        &self,
        context: &serde_json::Value,
        markup: &str,
        line: u32,
        col: u32,
    ) -> Option<TemplatePos> {
        let ctx = tera::Context::from_value(context.clone()).ok()?;
        let tera = compile(&template_map::marked(&self.text), None).ok()?;
        let mut w = BudgetWriter {
            out: Vec::new(),
            deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(5)),
        };
        tera.render_to(MAIN, &ctx, &mut w).ok()?;
        let out = String::from_utf8(w.out).ok()?;
        template_map::OutputMap::new(&out).locate(&self.text, markup, line, col)
    }

    /// Whether a record's data printed anything inside the byte `ranges`
    /// of `markup` (the output of a render with `context`), found by a
    /// render of the [`template_map::data_marked`] copy (error path only).
    /// Expressions of [`fixed_text`](crate::render::fixed_text) — naming
    /// only `roots`, the context's parts that are the same for every record
    /// — do not count. None when not certain.
    pub fn record_printed(
        &self,
        context: &serde_json::Value,
        markup: &str,
        ranges: &[(usize, usize)],
        roots: &[&str],
    ) -> Option<bool> {
        let compiled = self.tera.templates.get(MAIN)?;
        let keys: Vec<&str> = context
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let names = crate::render::fixed_text::fixed_names(compiled, roots, &keys);
        let marked = template_map::data_marked(&self.text, |e| {
            crate::render::fixed_text::is_fixed_text(e, &names)
        });
        let ctx = tera::Context::from_value(context.clone()).ok()?;
        let tera = compile(&marked, None).ok()?;
        let mut w = BudgetWriter {
            out: Vec::new(),
            deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(5)),
        };
        tera.render_to(MAIN, &ctx, &mut w).ok()?;
        let out = String::from_utf8(w.out).ok()?;
        template_map::DataSpans::new(&out).touches(markup, ranges)
    }
}

/// A tera with our filters and functions and `text` as the form; `at`
/// records the marks of a [`template_map::tracked`] text.
fn compile(
    text: &str,
    at: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
) -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".xml"]);
    tera.set_escape_fn(escape_xml);
    register(&mut tera);
    if let Some(last) = at {
        tera.register_function(
            template_map::AT_FN,
            move |args: &HashMap<String, Value>| -> tera::Result<Value> {
                if let Some(n) = args.get("n").and_then(Value::as_u64) {
                    last.store(n as usize, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(Value::String(String::new()))
            },
        );
    }
    tera.add_raw_template(MAIN, text)?;
    Ok(tera)
}

/// tera's whole message chain as one text (for its syntax position).
fn chain_text(e: &tera::Error) -> String {
    causes(e)
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
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
    tera.register_function("range", capped_range);
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

/// tera's `range(end=…, start=0, step_by=1)`, refusing more than
/// [`MAX_RANGE`] numbers before anything is allocated.
fn capped_range(args: &HashMap<String, Value>) -> tera::Result<Value> {
    let arg = |k: &str, default: Option<u64>| -> tera::Result<u64> {
        match args.get(k) {
            None => default.ok_or_else(|| {
                tera::Error::msg(format!("range: {k} が必要です (argument {k} required)"))
            }),
            Some(v) => v.as_u64().ok_or_else(|| {
                tera::Error::msg(format!(
                    "range: {k} は 0 以上の整数です ({k} must be a whole number ≥ 0)"
                ))
            }),
        }
    };
    let (start, end, step) = (
        arg("start", Some(0))?,
        arg("end", None)?,
        arg("step_by", Some(1))?,
    );
    if step == 0 {
        return Err(tera::Error::msg(
            "range: step_by は 1 以上です (step_by must be ≥ 1)",
        ));
    }
    let count = end.saturating_sub(start).div_ceil(step);
    if count > MAX_RANGE as u64 {
        return Err(tera::Error::chain(
            "range",
            BudgetExceeded(format!(
                "range の数が多すぎます: {count} 個 (上限 {MAX_RANGE} 個) (range longer than the limit)"
            )),
        ));
    }
    Ok(Value::Array(
        (start..end)
            .step_by(step as usize)
            .map(Value::from)
            .collect(),
    ))
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
