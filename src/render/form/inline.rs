//! Text and its inline markup: style attributes, `<b>`, `<u>`, `<br/>`,
//! `<ruby>`, `<pageno/>`, `<pagecount/>`, and the XML white-space rules for
//! Japanese text, giving the [`Run`]s of a text element.
//!
//! May use the rest of `render::form`.

use super::{Ctx, Field, Margins, MarkupError, Node, Parser, Run, Style, MAX_DEPTH};

/// The slot `<b>` switches to: `X-bold` for a slot `X`, keeping `-bold` slots.
fn bold_slot(slot: &str) -> String {
    if slot.ends_with("-bold") {
        slot.to_string()
    } else if slot == "mincho" {
        // Mincho has no bold in the bundled set: official forms use Gothic bold.
        "gothic-bold".into()
    } else {
        format!("{slot}-bold")
    }
}

/// XML white space handling for Japanese text: a run of ASCII white space that
/// contains a line break is template formatting and disappears; a run without
/// one becomes a single space (data such as `山田 太郎` keeps its space).
/// The ideographic space U+3000 is never touched.
fn normalize_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            let mut newline = c == '\n' || c == '\r';
            while let Some(&n) = chars.peek() {
                if matches!(n, ' ' | '\t' | '\n' | '\r') {
                    newline |= n == '\n' || n == '\r';
                    chars.next();
                } else {
                    break;
                }
            }
            if !newline {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn extend_runs(runs: &mut Vec<Run>, more: Vec<Run>) {
    for r in more {
        if r.ruby.is_some() || r.field.is_some() {
            runs.push(r);
        } else {
            push_run(runs, r.text, &r.style);
        }
    }
}

fn push_run(runs: &mut Vec<Run>, text: String, style: &Style) {
    if let Some(last) = runs.last_mut() {
        if last.style == *style && last.ruby.is_none() && last.field.is_none() {
            last.text.push_str(&text);
            return;
        }
    }
    runs.push(Run {
        text,
        style: style.clone(),
        ruby: None,
        field: None,
    });
}

/// Removes leading spaces of the first run and trailing spaces of the last.
fn trim_runs(runs: &mut Vec<Run>) {
    if let Some(first) = runs.first_mut() {
        let t = first.text.trim_start_matches(' ').to_string();
        first.text = t;
    }
    if let Some(last) = runs.last_mut() {
        let t = last.text.trim_end_matches(' ').to_string();
        last.text = t;
    }
    runs.retain(|r| !r.text.is_empty() || r.field.is_some());
}

impl<'input> Parser<'input> {
    pub(super) const STYLE_ATTRS: &'static [&'static str] =
        &["font", "font-size", "color", "letter-spacing", "underline"];

    pub(super) fn style(
        &self,
        node: Node,
        ctx: &Ctx,
        parent: &Style,
    ) -> Result<Style, MarkupError> {
        let mut s = parent.clone();
        if let Some(f) = node.attribute("font") {
            if f.is_empty() {
                return Err(self.err(node, "font が空です (empty font slot)".into()));
            }
            s.font = f.to_string();
        }
        if let Some(v) = node.attribute("font-size") {
            // em and % are relative to the parent size.
            s.size = self.length_rel(node, "font-size", v, parent.size, parent.size)?;
            if !(s.size > 0.5 && s.size < 500.0) {
                return Err(self.err(node, format!("font-size {v} は範囲外です (out of range)")));
            }
        }
        if let Some(v) = node.attribute("color") {
            s.color = self.color(node, v)?;
        }
        if let Some(v) = node.attribute("letter-spacing") {
            s.letter_spacing = self.length_rel(node, "letter-spacing", v, s.size, ctx.page_w)?;
        }
        if let Some(v) = node.attribute("underline") {
            s.underline = self.boolean(node, "underline", v)?;
        }
        Ok(s)
    }

    pub(super) fn runs(
        &self,
        node: Node,
        style: &Style,
        depth: usize,
    ) -> Result<Vec<Run>, MarkupError> {
        let mut runs = self.inline(node, style, depth)?;
        trim_runs(&mut runs);
        Ok(runs)
    }

    pub(super) fn inline(
        &self,
        node: Node,
        style: &Style,
        depth: usize,
    ) -> Result<Vec<Run>, MarkupError> {
        if depth > MAX_DEPTH {
            return Err(self.err(node, "入れ子が深すぎます (nesting too deep)".into()));
        }
        let mut runs = Vec::new();
        for child in node.children() {
            if child.is_text() {
                let t = normalize_space(child.text().unwrap_or(""));
                if !t.is_empty() {
                    push_run(&mut runs, t, style);
                }
            } else if child.is_element() {
                match child.tag_name().name() {
                    "br" => {
                        self.check_attrs(child, &[])?;
                        push_run(&mut runs, "\n".into(), style);
                    }
                    "b" => {
                        self.check_attrs(child, &[])?;
                        let mut s = style.clone();
                        s.font = bold_slot(&s.font);
                        extend_runs(&mut runs, self.inline(child, &s, depth + 1)?);
                    }
                    "u" => {
                        self.check_attrs(child, &[])?;
                        let mut s = style.clone();
                        s.underline = true;
                        extend_runs(&mut runs, self.inline(child, &s, depth + 1)?);
                    }
                    "span" => {
                        self.check_attrs(child, Self::STYLE_ATTRS)?;
                        let ctx = Ctx {
                            page_w: 0.0,
                            page_h: 0.0,
                            margins: Margins::default(),
                            style: style.clone(),
                        };
                        let s = self.style(child, &ctx, style)?;
                        extend_runs(&mut runs, self.inline(child, &s, depth + 1)?);
                    }
                    "pageno" | "pagecount" => {
                        self.check_attrs(child, &[])?;
                        let field = if child.tag_name().name() == "pageno" {
                            Field::PageNo
                        } else {
                            Field::PageCount
                        };
                        runs.push(Run {
                            text: String::new(),
                            style: style.clone(),
                            ruby: None,
                            field: Some(field),
                        });
                    }
                    "ruby" => {
                        self.check_attrs(child, &[])?;
                        runs.push(self.ruby(child, style)?);
                    }
                    other => {
                        return Err(self.err(
                            child,
                            format!(
                                "文中に <{other}> は使えません (unknown inline element); 使えるもの: br, b, u, span, ruby, pageno, pagecount"
                            ),
                        ))
                    }
                }
            }
        }
        Ok(runs)
    }

    /// `<ruby>base<rt>reading</rt></ruby>`: plain text only on both sides.
    pub(super) fn ruby(&self, node: Node, style: &Style) -> Result<Run, MarkupError> {
        let mut base = String::new();
        let mut rt: Option<String> = None;
        for c in node.children() {
            if c.is_text() {
                base.push_str(&normalize_space(c.text().unwrap_or("")));
            } else if c.is_element() && c.tag_name().name() == "rt" && rt.is_none() {
                self.check_attrs(c, &[])?;
                let mut t = String::new();
                for cc in c.children() {
                    if cc.is_element() {
                        return Err(
                            self.err(cc, "<rt> の中は文字だけです (only text inside <rt>)".into())
                        );
                    }
                    t.push_str(&normalize_space(cc.text().unwrap_or("")));
                }
                rt = Some(t.trim().to_string());
            } else if c.is_element() {
                return Err(self.err(
                    c,
                    "<ruby> の中は文字と <rt> 1 つだけです (ruby holds text and one <rt>)".into(),
                ));
            }
        }
        let base = base.trim().to_string();
        if base.is_empty() || base.contains('\n') {
            return Err(self.err(
                node,
                "<ruby> の親文字がありません (ruby without base text)".into(),
            ));
        }
        Ok(Run {
            text: base,
            style: style.clone(),
            ruby: rt.filter(|t| !t.is_empty()),
            field: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::normalize_space;

    #[test]
    fn escaped_data_stays_data() {
        let f = parse(
            "<form><page><text x=\"1mm\" y=\"1mm\">&lt;text&gt;{{ 7*7 }}&amp;</text></page></form>",
        )
        .unwrap();
        match &f.pages[0].elements[0] {
            Element::Text(t) => assert_eq!(t.runs[0].text, "<text>{{ 7*7 }}&"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn whitespace_rules() {
        assert_eq!(normalize_space("山田 太郎"), "山田 太郎");
        assert_eq!(normalize_space("証明\n    します"), "証明します");
        assert_eq!(normalize_space("A  B"), "A B");
        assert_eq!(normalize_space("全角　空白"), "全角　空白");
    }

    #[test]
    fn ruby_page_fields_and_qr() {
        let f = parse(
            "<form><page><text x=\"0mm\" y=\"0mm\"><b><ruby>山田<rt>やまだ</rt></ruby></b><pageno/>/<pagecount/></text>\
             <qr x=\"0mm\" y=\"0mm\" size=\"20mm\" level=\"Q\">R-1</qr></page></form>",
        )
        .unwrap();
        let Element::Text(t) = &f.pages[0].elements[0] else {
            panic!()
        };
        assert_eq!(t.runs[0].text, "山田");
        assert_eq!(t.runs[0].ruby.as_deref(), Some("やまだ"));
        assert_eq!(t.runs[0].style.font, "gothic-bold");
        assert_eq!(t.runs[1].field, Some(Field::PageNo));
        assert_eq!(t.runs[2].text, "/");
        assert_eq!(t.runs[3].field, Some(Field::PageCount));
        let Element::Qr(q) = &f.pages[0].elements[1] else {
            panic!()
        };
        assert_eq!((q.level, q.quiet, q.text.as_str()), (QrLevel::Q, 4, "R-1"));
        let e = parse(
            "<form><page><text x=\"0mm\" y=\"0mm\"><ruby>山<b>田</b></ruby></text></page></form>",
        )
        .unwrap_err();
        assert!(e.message.contains("ruby"), "{}", e.message);
    }
}
