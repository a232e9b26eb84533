//! Which of a template's `{{ … }}` print the same text for every record.
//!
//! A layout problem (text too wide for its box, something off the paper)
//! in text that no record's data printed is the template's fault, found
//! once at load, not a reject of every row. An expression is *fixed* when
//! it names only the context's record-independent parts (the job's
//! `values`, `doc.issue_date`, … — the run says which: `roots`),
//! literals, and variables that every `{% set %}` or `{% for %}` of the
//! template assigns from fixed expressions. Anything else (a record field,
//! a macro call, `loop`, an expression tera cannot parse alone) counts as
//! the record's, so a doubt never turns a record's problem into a
//! template error.
//!
//! Uses tera's syntax tree; nothing of ours.

use tera::ast::{Expr, ExprVal, Node};

/// The variables of a compiled template that hold the same value for every
/// record: `roots` (as `values` or `doc.issue_date`), and the names every
/// assignment of which (`{% set %}`, `{% for %}`) is fixed — unless the
/// context has a variable of that name too (`context_keys`), which the
/// template may print before or outside the assignment.
pub fn fixed_names(
    template: &tera::Template,
    roots: &[&str],
    context_keys: &[&str],
) -> Vec<String> {
    let mut assigned: Vec<(String, Expr)> = Vec::new();
    collect_assignments(&template.ast, &mut assigned);
    for m in template.macros.values() {
        collect_assignments(&m.body, &mut assigned);
    }
    // The greatest set of names whose assignments are all fixed given the
    // set itself (a name assigned from itself, `x = x ~ "a"`, stays in).
    let mut names: Vec<String> = assigned.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    names.retain(|n| !context_keys.contains(&n.as_str()));
    loop {
        let known: Vec<String> = roots
            .iter()
            .map(|r| r.to_string())
            .chain(names.iter().cloned())
            .collect();
        let keep: Vec<String> = names
            .iter()
            .filter(|n| {
                assigned
                    .iter()
                    .filter(|(a, _)| a == *n)
                    .all(|(_, e)| is_fixed(e, &known))
            })
            .cloned()
            .collect();
        if keep.len() == names.len() {
            return known;
        }
        names = keep;
    }
}

/// Every `{% set %}` and loop variable of `nodes`, with what it is given.
fn collect_assignments(nodes: &[Node], out: &mut Vec<(String, Expr)>) {
    for node in nodes {
        match node {
            Node::Set(_, s) => out.push((s.key.clone(), s.value.clone())),
            Node::Forloop(_, f, _) => {
                out.push((f.value.clone(), f.container.clone()));
                if let Some(k) = &f.key {
                    out.push((k.clone(), f.container.clone()));
                }
                collect_assignments(&f.body, out);
                if let Some(b) = &f.empty_body {
                    collect_assignments(b, out);
                }
            }
            Node::If(i, _) => {
                for (_, _, body) in &i.conditions {
                    collect_assignments(body, out);
                }
                if let Some((_, body)) = &i.otherwise {
                    collect_assignments(body, out);
                }
            }
            Node::FilterSection(_, f, _) => collect_assignments(&f.body, out),
            Node::Block(_, b, _) => collect_assignments(&b.body, out),
            _ => {}
        }
    }
}

/// Whether the text between `{{` and `}}` (trim marks taken off) is a
/// fixed expression given the fixed `names` of [`fixed_names`].
pub fn is_fixed_text(expr: &str, names: &[String]) -> bool {
    let Ok(t) = tera::Template::new("expr", None, &format!("{{{{ {expr} }}}}")) else {
        return false;
    };
    match t.ast.as_slice() {
        [Node::VariableBlock(_, e)] => is_fixed(e, names),
        _ => false,
    }
}

/// Whether `ident` (`values.a.b`, `doc.issue_date`, `x[0]`) is one of
/// `names` or a part of one.
fn is_fixed_ident(ident: &str, names: &[String]) -> bool {
    names.iter().any(|n| {
        ident == n
            || ident
                .strip_prefix(n.as_str())
                .is_some_and(|rest| rest.starts_with(['.', '[']))
    })
}

/// Whether an expression is fixed: literals, fixed names, and calls of
/// (pure) filters and functions on fixed arguments.
fn is_fixed(e: &Expr, names: &[String]) -> bool {
    let args_fixed = |f: &tera::ast::FunctionCall| f.args.values().all(|a| is_fixed(a, names));
    is_fixed_val(&e.val, names) && e.filters.iter().all(args_fixed)
}

fn is_fixed_val(v: &ExprVal, names: &[String]) -> bool {
    match v {
        ExprVal::String(_) | ExprVal::Int(_) | ExprVal::Float(_) | ExprVal::Bool(_) => true,
        ExprVal::Ident(i) => is_fixed_ident(i, names),
        ExprVal::Math(m) => is_fixed(&m.lhs, names) && is_fixed(&m.rhs, names),
        ExprVal::Logic(l) => is_fixed(&l.lhs, names) && is_fixed(&l.rhs, names),
        ExprVal::Test(t) => {
            is_fixed_ident(&t.ident, names) && t.args.iter().all(|a| is_fixed(a, names))
        }
        ExprVal::FunctionCall(f) => f.args.values().all(|a| is_fixed(a, names)),
        ExprVal::Array(items) => items.iter().all(|a| is_fixed(a, names)),
        ExprVal::StringConcat(c) => c.values.iter().all(|v| is_fixed_val(v, names)),
        ExprVal::In(i) => is_fixed(&i.lhs, names) && is_fixed(&i.rhs, names),
        // A macro prints what its body prints: its own tags say.
        ExprVal::MacroCall(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        let t = tera::Template::new("t", None, text).unwrap();
        fixed_names(
            &t,
            &["values", "doc.issue_date"],
            &["name", "rows", "shadow"],
        )
    }

    #[test]
    fn values_and_the_issue_date_are_fixed_record_fields_are_not() {
        let n = names("");
        assert!(is_fixed_text("values.issuer_name", &n));
        assert!(is_fixed_text(
            "doc.issue_date | wareki(style=\"kanji\")",
            &n
        ));
        assert!(is_fixed_text("\"在職\" ~ values.kind", &n));
        assert!(!is_fixed_text("doc.number", &n));
        assert!(!is_fixed_text("name", &n));
        assert!(!is_fixed_text("valuesx", &n));
        assert!(!is_fixed_text("birth_date | age(at=doc.issue_date)", &n));
        assert!(!is_fixed_text("doc.issue_date | age(at=birth_date)", &n));
        assert!(!is_fixed_text("}} broken {{", &n));
    }

    #[test]
    fn a_variable_is_fixed_when_every_assignment_is() {
        let n = names(
            "{% set title = values.t %}{% for opt in values.list %}{{ opt }}{% endfor %}\
             {% set who = name %}{% if x %}{% set mixed = values.a %}{% else %}{% set mixed = name %}{% endif %}\
             {% for r in rows %}{% set cell = r.v %}{% endfor %}{% set shadow = values.s %}",
        );
        // A record field of the same name may be printed before the set.
        assert!(!is_fixed_text("shadow", &n));
        assert!(is_fixed_text("title", &n));
        assert!(is_fixed_text("opt", &n));
        assert!(!is_fixed_text("who", &n));
        assert!(!is_fixed_text("mixed", &n));
        assert!(!is_fixed_text("cell", &n));
        assert!(!is_fixed_text("loop.index", &n));
    }
}
