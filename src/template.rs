//! Templates: a tera file + a record → form markup text.
//!
//! Every value is XML-escaped on output (autoescape with [`escape_xml`]), so a
//! name containing `<`, `&` or `{{ 7*7 }}` is printed, never interpreted.
//! Templates cannot read files or environment variables: the environment
//! function tera ships is replaced by one that refuses, and no file loader is
//! registered. The Japanese filters (era dates and friends) live here.

use crate::era;
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
    /// Loads and compiles a template file.
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|e| TemplateError {
            path: path.to_owned(),
            message: e.to_string(),
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
        })?;
        self.tera.render(MAIN, &ctx).map_err(|e| TemplateError {
            path: self.path.clone(),
            message: chain(&e),
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
    tera.register_function("get_env", refuse_env);
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

/// `{{ d | wareki }}` → `令和7年4月1日`.
fn wareki_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let d = date_arg(value, "wareki")?;
    era::format_wareki(d)
        .map(Value::String)
        .map_err(|e| tera::Error::msg(format!("wareki: {}", e.reason)))
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
