//! Cross-field rules (`[[rules]]`): small expressions checked per record.
//!
//! ```toml
//! [[rules]]
//! code = "E_HIRE_BEFORE_16"
//! check = "hire_date >= birth_date + 15y"
//! when = "employment_type != '会計年度任用'"   # optional
//! message = "採用日が生年月日から15年未満です"
//! ```
//!
//! The grammar (keywords in lower case; full reference in `docs/job.md`):
//!
//! ```text
//! expr    = or
//! or      = and { "or" and }
//! and     = unary { "and" unary }
//! unary   = "not" unary | primary
//! primary = "(" expr ")" | "empty(" field ")" | term [ cmp term ]
//! cmp     = "==" | "!=" | "<" | "<=" | ">" | ">="
//! term    = atom { ("+" | "-") atom }
//! atom    = field | number | 'text' | "text" | 2025-04-01 | 15y | 6m | 30d
//! ```
//!
//! Rules are parsed and type-checked when the job loads (dates compare with
//! dates, numbers with numbers, a date plus an offset is a date; an unknown
//! field or a type mismatch is a job error naming the rule). Evaluation is
//! three-valued: a comparison that reads an empty field is *unknown*, and
//! only a `check` that is definitely false makes a reject; a `when` must be
//! definitely true for the rule to apply. Use `not empty(x)` or
//! `required = true` to demand a value.

use crate::job::{FieldSpec, FieldType};
use chrono::{Months, NaiveDate};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[[rules]]` as written in the job file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable code for the rejects list, `E_` and upper-case ASCII.
    pub code: String,
    /// The condition every record must meet.
    pub check: String,
    /// Optional condition: the rule applies only to records meeting it.
    pub when: Option<String>,
    /// Reason shown in the rejects list (Japanese).
    pub message: String,
}

/// A parsed, type-checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The reject code.
    pub code: String,
    /// The reject reason.
    pub message: String,
    /// The source text of `check` (for messages).
    pub source: String,
    check: Expr,
    when: Option<Expr>,
    /// The fields the rule reads, in order of first mention.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Empty(String),
    Cmp(CmpOp, Term, Term),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    first: Atom,
    rest: Vec<(bool, Atom)>, // (is_plus, atom)
}

#[derive(Debug, Clone, PartialEq)]
enum Atom {
    Field(String),
    Number(f64),
    Text(String),
    Date(NaiveDate),
    /// Years, months, days.
    Offset(i32, i32, i32),
}

/// The static type of a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Number,
    Text,
    Date,
    Offset,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Number => "数値 (number)",
            Ty::Text => "文字 (text)",
            Ty::Date => "日付 (date)",
            Ty::Offset => "期間 (offset)",
        }
    }
}

/// A field value as rules see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Number(f64),
    /// Text (text, kana, postal and phone fields).
    Text(String),
    /// A date.
    Date(NaiveDate),
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Number(f64),
    Text(String),
    Date(NaiveDate),
    Offset(i32, i32, i32),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Number(f64),
    Text(String),
    Date(NaiveDate),
    Offset(i32, i32, i32),
    Op(&'static str),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (tok, next) = if c.is_ascii_alphabetic() || c == '_' {
            let len = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            (Tok::Ident(chars[i..i + len].iter().collect()), i + len)
        } else if c.is_ascii_digit() {
            number_token(&chars, i)?
        } else if c == '\'' || c == '"' {
            let start = i + 1;
            let end = chars[start..]
                .iter()
                .position(|&x| x == c)
                .ok_or("文字列の終わりの引用符がありません (unterminated string)")?;
            (
                Tok::Text(chars[start..start + end].iter().collect()),
                start + end + 1,
            )
        } else {
            operator_token(&chars, i)?
        };
        out.push(tok);
        i = next;
    }
    Ok(out)
}

/// The number, date (`2025-04-01`) or offset (`15y`) starting at `start`,
/// and the index after it.
fn number_token(chars: &[char], start: usize) -> Result<(Tok, usize), String> {
    let mut i = start;
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
        i += 1;
    }
    let digits: String = chars[start..i].iter().collect();
    // A date literal: 4 digits - 2 digits - 2 digits.
    if digits.len() == 4
        && !digits.contains('.')
        && chars.get(i) == Some(&'-')
        && chars.len() >= i + 6
        && chars[i + 1..i + 3].iter().all(char::is_ascii_digit)
        && chars[i + 3] == '-'
        && chars[i + 4..i + 6].iter().all(char::is_ascii_digit)
    {
        let text: String = chars[start..i + 6].iter().collect();
        let d = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| format!("日付「{text}」がありません (no such date)"))?;
        return Ok((Tok::Date(d), i + 6));
    }
    match chars.get(i) {
        Some(u @ ('y' | 'm' | 'd'))
            if !chars
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') =>
        {
            let n: i32 = digits.parse().map_err(|_| {
                format!("期間「{digits}{u}」は整数で書きます (offsets are integers)")
            })?;
            let tok = match u {
                'y' => Tok::Offset(n, 0, 0),
                'm' => Tok::Offset(0, n, 0),
                _ => Tok::Offset(0, 0, n),
            };
            Ok((tok, i + 1))
        }
        _ => {
            let n: f64 = digits
                .parse()
                .map_err(|_| format!("数値「{digits}」が読めません (bad number)"))?;
            Ok((Tok::Number(n), i))
        }
    }
}

/// The operator or parenthesis at `i`, and the index after it.
fn operator_token(chars: &[char], i: usize) -> Result<(Tok, usize), String> {
    let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
    if let Some(op) = ["==", "!=", "<=", ">="].into_iter().find(|op| *op == two) {
        return Ok((Tok::Op(op), i + 2));
    }
    let op = match chars[i] {
        '<' => "<",
        '>' => ">",
        '+' => "+",
        '-' => "-",
        '(' => "(",
        ')' => ")",
        '=' => return Err("等しいは == と書きます (use == for equality)".into()),
        c => {
            return Err(format!(
                "使えない文字「{c}」があります (unexpected character)"
            ))
        }
    };
    Ok((Tok::Op(op), i + 1))
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    kinds: &'a BTreeMap<&'a str, FieldType>,
    fields: Vec<String>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == kw)
    }

    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("「{op}」がありません (expected {op})"))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.is_kw("or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.is_kw("and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.is_kw("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        if self.is_op("(") {
            self.pos += 1;
            let e = self.or()?;
            self.expect_op(")")?;
            return Ok(e);
        }
        if self.is_kw("empty") {
            self.pos += 1;
            self.expect_op("(")?;
            let name = match self.peek() {
                Some(Tok::Ident(n)) => n.clone(),
                _ => return Err("empty( ) の中には項目名を書きます (empty takes a field)".into()),
            };
            self.pos += 1;
            self.field_type(&name)?;
            self.expect_op(")")?;
            return Ok(Expr::Empty(name));
        }
        let (lhs, lt) = self.term()?;
        let op = match self.peek() {
            Some(Tok::Op("==")) => CmpOp::Eq,
            Some(Tok::Op("!=")) => CmpOp::Ne,
            Some(Tok::Op("<")) => CmpOp::Lt,
            Some(Tok::Op("<=")) => CmpOp::Le,
            Some(Tok::Op(">")) => CmpOp::Gt,
            Some(Tok::Op(">=")) => CmpOp::Ge,
            _ => return Err("比較 (== != < <= > >=) がありません (expected a comparison)".into()),
        };
        self.pos += 1;
        let (rhs, rt) = self.term()?;
        if lt != rt || lt == Ty::Offset {
            return Err(format!(
                "{} と {} は比べられません (type mismatch)",
                lt.name(),
                rt.name()
            ));
        }
        Ok(Expr::Cmp(op, lhs, rhs))
    }

    fn field_type(&mut self, name: &str) -> Result<Ty, String> {
        let kind = self.kinds.get(name).ok_or_else(|| {
            format!("項目「{name}」がありません (unknown field; names are fields.name)")
        })?;
        if !self.fields.iter().any(|f| f == name) {
            self.fields.push(name.to_string());
        }
        Ok(match kind {
            FieldType::Date => Ty::Date,
            FieldType::Number | FieldType::Integer => Ty::Number,
            _ => Ty::Text,
        })
    }

    fn atom(&mut self) -> Result<(Atom, Ty), String> {
        let tok = self
            .peek()
            .cloned()
            .ok_or("式が途中で終わっています (unexpected end)")?;
        self.pos += 1;
        Ok(match tok {
            Tok::Ident(n) if matches!(n.as_str(), "and" | "or" | "not" | "empty") => {
                return Err(format!("「{n}」の位置が不正です (unexpected keyword)"))
            }
            Tok::Ident(n) => {
                let t = self.field_type(&n)?;
                (Atom::Field(n), t)
            }
            Tok::Number(n) => (Atom::Number(n), Ty::Number),
            Tok::Text(s) => (Atom::Text(s), Ty::Text),
            Tok::Date(d) => (Atom::Date(d), Ty::Date),
            Tok::Offset(y, m, d) => (Atom::Offset(y, m, d), Ty::Offset),
            Tok::Op(o) => return Err(format!("「{o}」の位置が不正です (unexpected {o})")),
        })
    }

    fn term(&mut self) -> Result<(Term, Ty), String> {
        let (first, mut ty) = self.atom()?;
        let mut rest = Vec::new();
        while self.is_op("+") || self.is_op("-") {
            let plus = self.is_op("+");
            self.pos += 1;
            let (a, t) = self.atom()?;
            ty = match (ty, t) {
                (Ty::Number, Ty::Number) => Ty::Number,
                (Ty::Date, Ty::Offset) => Ty::Date,
                (Ty::Offset, Ty::Offset) => Ty::Offset,
                (a, b) => {
                    return Err(format!(
                        "{} に {} は足し引きできません (only number±number and date±offset)",
                        a.name(),
                        b.name()
                    ))
                }
            };
            rest.push((plus, a));
        }
        Ok((Term { first, rest }, ty))
    }
}

fn parse_expr(
    text: &str,
    kinds: &BTreeMap<&str, FieldType>,
    fields: &mut Vec<String>,
) -> Result<Expr, String> {
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        kinds,
        fields: std::mem::take(fields),
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "{}個目の字句から後が余っています (unexpected text after the expression)",
            p.pos + 1
        ));
    }
    *fields = p.fields;
    Ok(e)
}

impl Rule {
    /// Parses and type-checks `[[rules]]` entry `index` against the job's
    /// fields. The error names the rule (`rules[i] (code = …)`).
    pub fn parse(spec: &RuleSpec, index: usize, fields: &[FieldSpec]) -> Result<Rule, String> {
        let key = format!("rules[{index}] (code = \"{}\")", spec.code);
        let code_ok = spec.code.starts_with("E_")
            && spec.code.len() > 2
            && spec
                .code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !code_ok {
            return Err(format!(
                "{key}.code は E_ で始まる英大文字・数字・_ で書きます (code like E_HIRE_BEFORE_BIRTH)"
            ));
        }
        if spec.message.trim().is_empty() {
            return Err(format!("{key}.message が空です (message must be given)"));
        }
        let kinds: BTreeMap<&str, FieldType> =
            fields.iter().map(|f| (f.name.as_str(), f.kind)).collect();
        let mut names = Vec::new();
        let when = match &spec.when {
            Some(w) => Some(
                parse_expr(w, &kinds, &mut names).map_err(|e| format!("{key}.when「{w}」: {e}"))?,
            ),
            None => None,
        };
        let check = parse_expr(&spec.check, &kinds, &mut names)
            .map_err(|e| format!("{key}.check「{}」: {e}", spec.check))?;
        Ok(Rule {
            code: spec.code.clone(),
            message: spec.message.clone(),
            source: spec.check.clone(),
            check,
            when,
            fields: names,
        })
    }

    /// Whether a record breaks the rule: `when` is definitely true (or
    /// absent) and `check` is definitely false. Missing or empty fields are
    /// unknown.
    pub fn fails(&self, values: &BTreeMap<String, Value>) -> bool {
        let applies = match &self.when {
            Some(w) => eval(w, values) == Some(true),
            None => true,
        };
        applies && eval(&self.check, values) == Some(false)
    }
}

fn eval(e: &Expr, v: &BTreeMap<String, Value>) -> Option<bool> {
    match e {
        Expr::Or(a, b) => match (eval(a, v), eval(b, v)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Expr::And(a, b) => match (eval(a, v), eval(b, v)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Expr::Not(a) => eval(a, v).map(|b| !b),
        Expr::Empty(name) => Some(match v.get(name) {
            None => true,
            Some(Value::Text(s)) => s.is_empty(),
            Some(_) => false,
        }),
        Expr::Cmp(op, l, r) => {
            let (l, r) = (term(l, v)?, term(r, v)?);
            let ord = match (&l, &r) {
                (Val::Number(a), Val::Number(b)) => a.partial_cmp(b)?,
                (Val::Text(a), Val::Text(b)) => a.cmp(b),
                (Val::Date(a), Val::Date(b)) => a.cmp(b),
                _ => return None,
            };
            use std::cmp::Ordering::*;
            Some(match op {
                CmpOp::Eq => ord == Equal,
                CmpOp::Ne => ord != Equal,
                CmpOp::Lt => ord == Less,
                CmpOp::Le => ord != Greater,
                CmpOp::Gt => ord == Greater,
                CmpOp::Ge => ord != Less,
            })
        }
    }
}

fn atom(a: &Atom, v: &BTreeMap<String, Value>) -> Option<Val> {
    Some(match a {
        Atom::Field(n) => match v.get(n)? {
            Value::Number(x) => Val::Number(*x),
            Value::Text(s) if s.is_empty() => return None,
            Value::Text(s) => Val::Text(s.clone()),
            Value::Date(d) => Val::Date(*d),
        },
        Atom::Number(x) => Val::Number(*x),
        Atom::Text(s) => Val::Text(s.clone()),
        Atom::Date(d) => Val::Date(*d),
        Atom::Offset(y, m, d) => Val::Offset(*y, *m, *d),
    })
}

fn term(t: &Term, v: &BTreeMap<String, Value>) -> Option<Val> {
    let mut acc = atom(&t.first, v)?;
    for (plus, a) in &t.rest {
        let b = atom(a, v)?;
        let s = if *plus { 1 } else { -1 };
        acc = match (acc, b) {
            (Val::Number(x), Val::Number(y)) => Val::Number(x + f64::from(s) * y),
            (Val::Offset(y1, m1, d1), Val::Offset(y2, m2, d2)) => {
                Val::Offset(y1 + s * y2, m1 + s * m2, d1 + s * d2)
            }
            (Val::Date(d), Val::Offset(y, m, dd)) => Val::Date(shift(d, s * y, s * m, s * dd)?),
            _ => return None,
        };
    }
    Some(acc)
}

/// `d` moved by years and months (clamped to the month's last day, so
/// 2024-02-29 + 1y = 2025-02-28) and then days.
fn shift(d: NaiveDate, years: i32, months: i32, days: i32) -> Option<NaiveDate> {
    let total = years.checked_mul(12)?.checked_add(months)?;
    let d = if total >= 0 {
        d.checked_add_months(Months::new(total.unsigned_abs()))?
    } else {
        d.checked_sub_months(Months::new(total.unsigned_abs()))?
    };
    d.checked_add_signed(chrono::Duration::days(i64::from(days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, kind: FieldType) -> FieldSpec {
        let mut f: FieldSpec =
            toml::from_str(&format!("name = \"{name}\"\ncolumn = \"{name}\"")).unwrap();
        f.kind = kind;
        f
    }

    fn fields() -> Vec<FieldSpec> {
        vec![
            spec("birth", FieldType::Date),
            spec("hire", FieldType::Date),
            spec("kind", FieldType::Text),
            spec("pay", FieldType::Integer),
        ]
    }

    fn rule(check: &str, when: Option<&str>) -> Result<Rule, String> {
        Rule::parse(
            &RuleSpec {
                code: "E_X".into(),
                check: check.into(),
                when: when.map(Into::into),
                message: "m".into(),
            },
            0,
            &fields(),
        )
    }

    fn values(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn date(s: &str) -> Value {
        Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn date_offsets_and_three_valued_logic() {
        let r = rule("hire >= birth + 15y", None).unwrap();
        assert_eq!(r.fields, ["hire", "birth"]);
        let ok = values(&[("birth", date("2000-04-02")), ("hire", date("2015-04-02"))]);
        let bad = values(&[("birth", date("2000-04-02")), ("hire", date("2015-04-01"))]);
        assert!(!r.fails(&ok));
        assert!(r.fails(&bad));
        // An empty field makes the comparison unknown: no reject.
        assert!(!r.fails(&values(&[("birth", date("2000-04-02"))])));
        let r = rule("not empty(hire) or pay > 0", None).unwrap();
        assert!(r.fails(&values(&[("pay", Value::Number(0.0))])));
        assert!(!r.fails(&values(&[("pay", Value::Number(1.0))])));
    }

    #[test]
    fn when_limits_the_rule() {
        let r = rule(
            "pay >= 100000",
            Some("kind == '常勤' and hire >= 2020-04-01"),
        )
        .unwrap();
        let v = |k: &str, pay: f64| {
            values(&[
                ("kind", Value::Text(k.into())),
                ("hire", date("2021-01-01")),
                ("pay", Value::Number(pay)),
            ])
        };
        assert!(r.fails(&v("常勤", 5.0)));
        assert!(!r.fails(&v("非常勤", 5.0)));
        assert!(!r.fails(&v("常勤", 100000.0)));
    }

    #[test]
    fn month_end_clamps() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(shift(d("2024-02-29"), 1, 0, 0), Some(d("2025-02-28")));
        assert_eq!(shift(d("2025-03-31"), 0, -1, 1), Some(d("2025-03-01")));
    }

    #[test]
    fn tokens_of_every_kind() {
        let d = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
        assert_eq!(
            tokenize("a_1>=2025-04-01 + 15y-6m+30d!=(1.5) <'x y' and \"z\"").unwrap(),
            vec![
                Tok::Ident("a_1".into()),
                Tok::Op(">="),
                Tok::Date(d),
                Tok::Op("+"),
                Tok::Offset(15, 0, 0),
                Tok::Op("-"),
                Tok::Offset(0, 6, 0),
                Tok::Op("+"),
                Tok::Offset(0, 0, 30),
                Tok::Op("!="),
                Tok::Op("("),
                Tok::Number(1.5),
                Tok::Op(")"),
                Tok::Op("<"),
                Tok::Text("x y".into()),
                Tok::Ident("and".into()),
                Tok::Text("z".into()),
            ]
        );
        assert_eq!(
            tokenize("12ya").unwrap(),
            vec![Tok::Number(12.0), Tok::Ident("ya".into())]
        );
        assert!(tokenize("1.5y").unwrap_err().contains("整数"));
        assert!(tokenize("1..2").unwrap_err().contains("1..2"));
        assert!(tokenize("a = b").unwrap_err().contains("=="));
        assert!(tokenize("a ; b").unwrap_err().contains("「;」"));
    }

    #[test]
    fn bad_rules_are_errors_naming_the_problem() {
        for (check, needle) in [
            ("hire >= nosuch", "nosuch"),
            ("hire >= 3", "比べられません"),
            ("hire = birth", "=="),
            ("hire >= birth +", "途中"),
            ("kind + 1y == kind", "足し引き"),
            ("hire >= birth birth", "余って"),
            ("hire >= 2025-02-30", "2025-02-30"),
            ("'abc", "引用符"),
            ("hire", "比較"),
        ] {
            let e = rule(check, None).unwrap_err();
            assert!(e.contains("rules[0]") && e.contains(needle), "{check}: {e}");
        }
        let bad_code = Rule::parse(
            &RuleSpec {
                code: "bad".into(),
                check: "hire > birth".into(),
                when: None,
                message: "m".into(),
            },
            3,
            &fields(),
        )
        .unwrap_err();
        assert!(bad_code.contains("rules[3]"), "{bad_code}");
    }
}
