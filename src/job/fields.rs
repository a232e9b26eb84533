//! `[[fields]]`: one spreadsheet column mapped to one field, with its type,
//! normalisation and checks; the pattern and `min`/`max` bounds are compiled
//! at load ([`validate_fields`]). Plain configuration; uses nothing of ours.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

/// The type of a field, deciding how its cells are parsed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text as written (trimmed).
    Text,
    /// A date: Excel date cells or text in any supported form (see docs/job.md).
    Date,
    /// A number: `1,234`, `１２３４`, `¥1,234`, `1,234円`.
    Number,
    /// A Japanese postal code, normalised to `153-0051`.
    Postal,
    /// An integer: as `number`, but a fraction is a reject.
    Integer,
    /// A Japanese telephone number: 10-11 digits starting with 0, written with
    /// or without hyphens; full-width and dash look-alikes are normalised.
    Phone,
    /// A katakana reading; half-width ｶﾀｶﾅ and hiragana become full-width
    /// katakana.
    Kana,
}

/// Text normalisation of a text field's value (`normalize = …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// Kept as written (the default: names keep 髙, 﨑 and every
    /// compatibility ideograph).
    #[default]
    None,
    /// Full-width ASCII (`ＡＢＣ１２３`) → half-width, half-width katakana
    /// (`ｶﾀｶﾅ`) → full-width; nothing else changes.
    Width,
    /// Unicode NFKC (also folds `①` → `1`, `㈱` → `(株)`, and compatibility
    /// ideographs): for codes and free text, never for names.
    Nfkc,
}

/// A `min`/`max` bound, checked against the job at load.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A number (number and integer fields).
    Number(f64),
    /// A fixed date `YYYY-MM-DD` (date fields).
    Date(chrono::NaiveDate),
    /// Another date field of the same row (date fields).
    Field(String),
}

/// What load-time validation derived from a [`FieldSpec`].
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// `pattern`, anchored to match the whole value.
    pub pattern: Option<regex::Regex>,
    /// `min`.
    pub min: Option<Bound>,
    /// `max`.
    pub max: Option<Bound>,
}

/// `[[fields]]`: one column mapped to one field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Field name used in templates (ASCII identifier).
    pub name: String,
    /// Header text in the sheet (matched after width normalisation).
    pub column: String,
    /// The type.
    #[serde(rename = "type", default = "text_type")]
    pub kind: FieldType,
    /// Whether an empty cell is a reject.
    #[serde(default)]
    pub required: bool,
    /// Whether two rows may not share a value.
    #[serde(default)]
    pub unique: bool,
    /// Allowed values (compared with the normalised value).
    #[serde(default)]
    pub one_of: Vec<String>,
    /// Maximum length in characters (of the normalised value).
    pub max_length: Option<usize>,
    /// Minimum length in characters (of the normalised value).
    pub min_length: Option<usize>,
    /// Regular expression (Rust `regex` syntax) the whole value must match.
    pub pattern: Option<String>,
    /// Reason shown when `pattern` does not match (default: a generic one).
    pub pattern_message: Option<String>,
    /// Smallest allowed value: a number, a date `"YYYY-MM-DD"`, or the name
    /// of another date field.
    pub min: Option<toml::Value>,
    /// Largest allowed value, as `min`.
    pub max: Option<toml::Value>,
    /// Text normalisation (text fields; default `none`).
    pub normalize: Option<Normalize>,
    /// Whether leading/trailing white space (also U+3000) is removed
    /// (default true).
    #[serde(default = "yes")]
    pub trim: bool,
    /// Derived at load: the compiled pattern and bounds.
    #[serde(skip)]
    pub compiled: Compiled,
}

fn yes() -> bool {
    true
}

fn text_type() -> FieldType {
    FieldType::Text
}

/// Whether `s` is a field name: ASCII letters, digits and `_`, not empty.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks one list of field specs (`what` is its key, e.g. `fields`) and
/// fills in each spec's [`Compiled`] part. Errors name the key.
pub(crate) fn validate_fields(fields: &mut [FieldSpec], what: &str) -> Result<(), String> {
    if fields.is_empty() {
        return Err(format!("[[{what}]] がありません (no fields)"));
    }
    let kinds: BTreeMap<String, FieldType> =
        fields.iter().map(|f| (f.name.clone(), f.kind)).collect();
    let mut seen = HashSet::new();
    for (i, f) in fields.iter_mut().enumerate() {
        if !is_identifier(&f.name) {
            return Err(format!(
                "{what}[{i}].name「{}」は英数字と _ だけで書きます (field names are identifiers)",
                f.name
            ));
        }
        if !seen.insert(f.name.clone()) {
            return Err(format!(
                "{what}.name「{}」が重複しています (duplicate field)",
                f.name
            ));
        }
        let key = format!("{what}[{i}] (name = \"{}\")", f.name);
        f.check_keys(&key)?;
        f.compiled = f.compile(&key, &kinds)?;
    }
    Ok(())
}

impl FieldSpec {
    /// The keys that must agree with each other and with the type (`key`
    /// names the spec in errors).
    fn check_keys(&self, key: &str) -> Result<(), String> {
        if self.column.trim().is_empty() {
            return Err(format!("{key}.column が空です (column must be given)"));
        }
        if let (Some(lo), Some(hi)) = (self.min_length, self.max_length) {
            if lo > hi {
                return Err(format!(
                    "{key}: min_length が max_length より大きいです (min_length > max_length)"
                ));
            }
        }
        if self.normalize.is_some() && self.kind != FieldType::Text {
            return Err(format!(
                "{key}.normalize は type = \"text\" の項目だけに書けます (normalize is for text fields; other types normalise themselves)"
            ));
        }
        let text_like = !matches!(
            self.kind,
            FieldType::Date | FieldType::Number | FieldType::Integer
        );
        if !text_like
            && (self.pattern.is_some() || self.min_length.is_some() || self.max_length.is_some())
        {
            return Err(format!(
                "{key}: pattern・min_length・max_length は文字の項目 (text, kana, postal, phone) だけに書けます。数値・日付は min/max で (pattern and lengths are for text-like fields)"
            ));
        }
        Ok(())
    }

    /// The pattern and the bounds, compiled; `kinds` gives every field's
    /// type, as a date bound may name another date field.
    fn compile(&self, key: &str, kinds: &BTreeMap<String, FieldType>) -> Result<Compiled, String> {
        let pattern = match &self.pattern {
            Some(p) => Some(
                regex::RegexBuilder::new(&format!("^(?:{p})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("{key}.pattern の正規表現が不正です (bad regex): {e}"))?,
            ),
            None if self.pattern_message.is_some() => {
                return Err(format!(
                "{key}.pattern_message には pattern が必要です (pattern_message without pattern)"
            ))
            }
            None => None,
        };
        let min = self.bound(key, "min", self.min.as_ref(), kinds)?;
        let max = self.bound(key, "max", self.max.as_ref(), kinds)?;
        match (&min, &max) {
            (Some(Bound::Number(a)), Some(Bound::Number(b))) if a > b => {
                return Err(format!("{key}: min が max より大きいです (min > max)"))
            }
            (Some(Bound::Date(a)), Some(Bound::Date(b))) if a > b => {
                return Err(format!("{key}: min が max より後の日付です (min > max)"))
            }
            _ => {}
        }
        Ok(Compiled { pattern, min, max })
    }

    /// `min` or `max` (`which`) as a [`Bound`] of this field's type.
    fn bound(
        &self,
        key: &str,
        which: &str,
        value: Option<&toml::Value>,
        kinds: &BTreeMap<String, FieldType>,
    ) -> Result<Option<Bound>, String> {
        let Some(v) = value else { return Ok(None) };
        let b = match (self.kind, v) {
            (FieldType::Number | FieldType::Integer, toml::Value::Integer(n)) => {
                Bound::Number(*n as f64)
            }
            (FieldType::Number | FieldType::Integer, toml::Value::Float(n)) => Bound::Number(*n),
            (FieldType::Date, toml::Value::Datetime(d)) => {
                chrono::NaiveDate::parse_from_str(&d.to_string(), "%Y-%m-%d")
                    .map(Bound::Date)
                    .map_err(|_| {
                        format!("{key}.{which} は日付 YYYY-MM-DD で書きます (must be a date)")
                    })?
            }
            (FieldType::Date, toml::Value::String(s)) => {
                if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                    Bound::Date(d)
                } else if kinds.get(s.as_str()) == Some(&FieldType::Date) && *s != self.name {
                    Bound::Field(s.clone())
                } else {
                    return Err(format!(
                        "{key}.{which}「{s}」は日付 YYYY-MM-DD か別の日付項目の名前で書きます (must be a date or another date field)"
                    ));
                }
            }
            (FieldType::Number | FieldType::Integer, _) => {
                return Err(format!("{key}.{which} は数値で書きます (must be a number)"))
            }
            (FieldType::Date, _) => {
                return Err(format!(
                    "{key}.{which} は \"YYYY-MM-DD\" か日付項目の名前で書きます (must be a date)"
                ))
            }
            _ => {
                return Err(format!(
                    "{key}.{which} は number・integer・date の項目だけに書けます。文字数は min_length/max_length で (min/max are for numbers and dates; use min_length/max_length for text)"
                ))
            }
        };
        Ok(Some(b))
    }
}
