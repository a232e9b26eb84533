//! Where in the template file a template error is: positions for errors
//! tera reports without one, and for markup errors found in its output.
//!
//! tera tells where a syntax error is but not where rendering failed, and
//! the markup parser knows positions in the *rendered* markup, which are
//! lines off from the template (comments, `{%- … -%}` trimming, loops). Both
//! are found after the fact, on the error path only, by rendering a copy of
//! the template with marks that do not change its output:
//!
//! * [`tracked`] puts `{{ __at(n=i) }}` (a function that prints nothing and
//!   records `i`) before every tag: the last mark reached before the
//!   failure is the tag that failed.
//! * [`marked`] puts a mark of noncharacters (U+FDD0 line U+FDD1) where each
//!   template line's text starts: the last mark before a markup position
//!   in the output is the line that printed it. The marks are taken out
//!   again and the rest must equal the markup that failed, else no position
//!   is claimed ([`OutputMap::locate`]).
//!
//! * [`data_marked`] puts marks of other noncharacters (U+FDD2 … U+FDD3)
//!   around the output of every `{{ … }}` whose value may differ from one
//!   record to the next: [`DataSpans`] then tells whether a piece of the
//!   markup (an element that overflowed, say) holds anything a record
//!   printed, or is the template's own text, the same for every record.
//!
//! Uses nothing of ours.

/// A 1-based line and column (in characters) in the template file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplatePos {
    /// Line.
    pub line: u32,
    /// Column.
    pub col: u32,
}

/// The name of the position-recording function of [`tracked`].
pub const AT_FN: &str = "__chohyo_at";

const MARK_START: char = '\u{FDD0}';
const MARK_END: char = '\u{FDD1}';

/// A tera tag: `{{ … }}`, `{% … %}`, `{# … #}` or a whole
/// `{% raw %} … {% endraw %}` block, as byte offsets.
#[derive(Debug, Clone)]
struct Tag {
    start: usize,
    end: usize,
    /// `{#` comment.
    comment: bool,
    /// First word of a `{% … %}` statement.
    keyword: String,
    /// `{{-`, `{%-`, `{#-`: trims the whitespace before it.
    trim_left: bool,
}

/// The tags of a template, in order; stops at an unterminated tag (tera
/// refuses such a template anyway).
fn tags(text: &str) -> Vec<Tag> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'{' || !matches!(b[i + 1], b'{' | b'%' | b'#') {
            i += 1;
            continue;
        }
        let kind = b[i + 1];
        let Some(end) = tag_end(b, i, kind) else {
            break;
        };
        let inner = text[i + 2..end - 2].trim_matches('-').trim();
        let keyword: String = inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let mut tag = Tag {
            start: i,
            end,
            comment: kind == b'#',
            keyword: if kind == b'%' { keyword } else { String::new() },
            trim_left: b.get(i + 2) == Some(&b'-'),
        };
        if tag.keyword == "raw" {
            match raw_end(text, end) {
                Some(e) => tag.end = e,
                None => break,
            }
        }
        i = tag.end;
        out.push(tag);
    }
    out
}

/// The end (exclusive) of the tag opened at `start`, skipping quoted
/// strings in expressions and statements.
fn tag_end(b: &[u8], start: usize, kind: u8) -> Option<usize> {
    let close = match kind {
        b'{' => b'}',
        b'%' => b'%',
        _ => b'#',
    };
    let mut i = start + 2;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if kind != b'#' && matches!(c, b'"' | b'\'' | b'`') => quote = Some(c),
            None if c == close && b.get(i + 1) == Some(&b'}') => return Some(i + 2),
            None => {}
        }
        i += 1;
    }
    None
}

/// The end of the `{% endraw %}` tag after a raw block's body at `from`.
fn raw_end(text: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(off) = text[at..].find("{%") {
        let s = at + off;
        let e = tag_end(text.as_bytes(), s, b'%')?;
        if text[s + 2..e - 2].trim_matches('-').trim() == "endraw" {
            return Some(e);
        }
        at = e;
    }
    None
}

/// 1-based line and column of byte offset `at` in `text`.
fn pos_of(text: &str, at: usize) -> TemplatePos {
    let before = &text[..at];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    TemplatePos {
        line,
        col: text[line_start..at].chars().count() as u32 + 1,
    }
}

/// Statements before which nothing may be printed (they are not rendered
/// where they stand).
fn unmarkable(tag: &Tag) -> bool {
    tag.comment
        || matches!(
            tag.keyword.as_str(),
            "macro" | "import" | "extends" | "block"
        )
}

/// The template with a call of [`AT_FN`] before every tag, and the position
/// of each tag by its number.
pub fn tracked(text: &str) -> (String, Vec<TemplatePos>) {
    let mut out = String::with_capacity(text.len() * 2);
    let mut positions = Vec::new();
    let mut from = 0;
    for tag in tags(text).iter().filter(|t| !unmarkable(t)) {
        out.push_str(&text[from..tag.start]);
        // A mark before a left-trimming tag trims in its place.
        let open = if tag.trim_left { "{{-" } else { "{{" };
        out.push_str(&format!("{open} {AT_FN}(n={}) }}}}", positions.len()));
        positions.push(pos_of(text, tag.start));
        from = tag.start;
    }
    out.push_str(&text[from..]);
    (out, positions)
}

/// The template with a line mark where each line's text starts (after its
/// indentation), except inside tags, before left-trimming tags (the mark
/// would stop the trim) and on blank lines.
pub fn marked(text: &str) -> String {
    let tags = tags(text);
    let mut out = String::with_capacity(text.len() * 2);
    let mut from = 0;
    let mut t = 0;
    let mut line_start = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let at = line_start + indent;
        line_start += line.len();
        let rest = &text[at..];
        while t < tags.len() && tags[t].end <= at {
            t += 1;
        }
        let inside = t < tags.len() && tags[t].start < at;
        let trims = ["{{-", "{%-", "{#-"].iter().any(|o| rest.starts_with(o));
        if inside || trims || rest.starts_with(['\n', '\r']) || rest.is_empty() {
            continue;
        }
        out.push_str(&text[from..at]);
        out.push_str(&format!("{MARK_START}{}{MARK_END}", n + 1));
        from = at;
    }
    out.push_str(&text[from..]);
    out
}

/// The output of a [`marked`] template, with its marks taken out.
pub struct OutputMap {
    /// The output without marks.
    text: String,
    /// (byte offset in `text`, template line) of each mark.
    marks: Vec<(usize, u32)>,
}

impl OutputMap {
    /// Reads the marks out of a [`marked`] template's output.
    pub fn new(output: &str) -> OutputMap {
        let mut text = String::with_capacity(output.len());
        let mut marks = Vec::new();
        let mut rest = output;
        while let Some(s) = rest.find(MARK_START) {
            text.push_str(&rest[..s]);
            let after = &rest[s + MARK_START.len_utf8()..];
            let Some(e) = after.find(MARK_END) else {
                rest = &rest[s..];
                break;
            };
            if let Ok(line) = after[..e].parse() {
                marks.push((text.len(), line));
            }
            rest = &after[e + MARK_END.len_utf8()..];
        }
        text.push_str(rest);
        OutputMap { text, marks }
    }

    /// The template position that printed the markup at `line`/`col`
    /// (1-based, characters) of `markup`, the output that failed. None
    /// when the marked output differs from it (a mark changed what was
    /// printed) or no mark precedes the position.
    pub fn locate(&self, template: &str, markup: &str, line: u32, col: u32) -> Option<TemplatePos> {
        if self.text != markup {
            return None;
        }
        let line_start = markup
            .split_inclusive('\n')
            .take(line.saturating_sub(1) as usize)
            .map(str::len)
            .sum::<usize>();
        let at = line_start
            + markup[line_start..]
                .chars()
                .take(col.saturating_sub(1) as usize)
                .map(char::len_utf8)
                .sum::<usize>();
        let &(mark_at, tline) = self.marks.iter().rev().find(|(o, _)| *o <= at)?;
        let printed = &markup[mark_at..at];
        let source = template.split_inclusive('\n').nth(tline as usize - 1)?;
        let indent = source.len() - source.trim_start_matches([' ', '\t']).len();
        // The column is exact while the output copies the template's text;
        // where they part, an expression printed it: its column is given.
        let same: usize = printed
            .chars()
            .zip(source[indent..].chars())
            .take_while(|(a, b)| a == b && *a != '\n')
            .map(|(a, _)| a.len_utf8())
            .sum();
        Some(TemplatePos {
            line: tline,
            col: (source[..indent + same].chars().count() + 1) as u32,
        })
    }
}

const DATA_START: char = '\u{FDD2}';
const DATA_END: char = '\u{FDD3}';

/// The template with the output of every `{{ … }}` whose expression
/// `constant` does not accept (given the text between the braces and
/// trim marks) put between data marks. A mark beside a trimming tag is
/// printed by a tag of its own that trims in its place, so the output
/// without the marks is the template's output.
pub fn data_marked(text: &str, constant: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut from = 0;
    for tag in tags(text) {
        let inner = &text[tag.start + 2..tag.end - 2];
        if !text[tag.start..].starts_with("{{") {
            continue;
        }
        let expr = inner.strip_prefix('-').unwrap_or(inner);
        let expr = expr.strip_suffix('-').unwrap_or(expr).trim();
        if constant(expr) {
            continue;
        }
        let (open, close) = (
            if tag.trim_left { "{{-" } else { "{{" },
            if inner.ends_with('-') { "-}}" } else { "}}" },
        );
        out.push_str(&text[from..tag.start]);
        out.push_str(&format!(
            "{open} \"{DATA_START}\" }}}}{{{{ {expr} }}}}{{{{ \"{DATA_END}\" {close}"
        ));
        from = tag.end;
    }
    out.push_str(&text[from..]);
    out
}

/// The output of a [`data_marked`] template, with its marks taken out.
pub struct DataSpans {
    /// The output without marks.
    text: String,
    /// Byte ranges of `text` that a record's data printed (outermost).
    spans: Vec<(usize, usize)>,
}

impl DataSpans {
    /// Reads the data marks out of a [`data_marked`] template's output
    /// (marks nest where a macro prints marked output).
    pub fn new(output: &str) -> DataSpans {
        let mut text = String::with_capacity(output.len());
        let mut spans = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        for c in output.chars() {
            match c {
                DATA_START => open.push(text.len()),
                DATA_END => {
                    if let Some(start) = open.pop() {
                        if open.is_empty() {
                            spans.push((start, text.len()));
                        }
                    }
                }
                c => text.push(c),
            }
        }
        DataSpans { text, spans }
    }

    /// Whether data printed anything — even nothing, an empty value
    /// counts — inside one of the byte `ranges` of `markup`, the output
    /// without marks. None when the output differs from `markup`.
    pub fn touches(&self, markup: &str, ranges: &[(usize, usize)]) -> Option<bool> {
        if self.text != markup {
            return None;
        }
        Some(self.spans.iter().any(|&(s, e)| {
            ranges
                .iter()
                .any(|&(a, b)| s < b && (a < e || (s == e && a <= s)))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_skip_strings_and_raw_blocks() {
        let t = tags("a{{ \"}}\" }}b{% raw %}{{ x }}{% endraw %}{#- c -#}");
        let spans: Vec<_> = t.iter().map(|t| (t.start, t.end, t.comment)).collect();
        assert_eq!(spans, vec![(1, 11, false), (12, 40, false), (40, 49, true)]);
        assert!(t[2].trim_left);
    }

    #[test]
    fn tracked_marks_each_tag_with_its_position() {
        let (out, pos) = tracked("{# c #}\n<a>\n  {{- x }}{% if y %}\n{% endif %}");
        assert_eq!(
            out,
            "{# c #}\n<a>\n  {{- __chohyo_at(n=0) }}{{- x }}{{ __chohyo_at(n=1) }}{% if y %}\n{{ __chohyo_at(n=2) }}{% endif %}"
        );
        assert_eq!(pos[0], TemplatePos { line: 3, col: 3 });
        assert_eq!(pos[2], TemplatePos { line: 4, col: 1 });
    }

    #[test]
    fn marked_output_maps_back_to_template_lines() {
        let template = "{#- one\n two -#}\n<form>\n  <page>\n    <bad x=\"{{ v }}\"/>\n";
        let marked = marked(template);
        assert!(!marked.contains("\u{FDD0}1\u{FDD1}"));
        // What tera prints for the marked template with v = "1mm".
        let printed = marked
            .replace("{#- one\n two -#}\n", "")
            .replace("{{ v }}", "1mm");
        let map = OutputMap::new(&printed);
        let markup = "<form>\n  <page>\n    <bad x=\"1mm\"/>\n";
        // The markup's line 3, column 5 is the template's line 5, column 5.
        assert_eq!(
            map.locate(template, markup, 3, 5),
            Some(TemplatePos { line: 5, col: 5 })
        );
        // Inside the value: the column of the expression that printed it.
        assert_eq!(
            map.locate(template, markup, 3, 14),
            Some(TemplatePos { line: 5, col: 13 })
        );
        assert_eq!(map.locate(template, "other", 1, 1), None);
    }

    #[test]
    fn data_marks_wrap_only_what_a_record_prints() {
        let t = "<a>{{ values.x }}</a>\n  {{- name -}}\n<b w=\"{{ w }}\">固定</b>";
        let marked = data_marked(t, |e| e.starts_with("values."));
        assert_eq!(
            marked,
            "<a>{{ values.x }}</a>\n  {{- \"\u{FDD2}\" }}{{ name }}{{ \"\u{FDD3}\" -}}\n<b w=\"{{ \"\u{FDD2}\" }}{{ w }}{{ \"\u{FDD3}\" }}\">固定</b>"
        );
        // What tera prints for it with values.x = "X", name = "", w = "5mm".
        let out = "<a>X</a>\u{FDD2}\u{FDD3}<b w=\"\u{FDD2}5mm\u{FDD3}\">固定</b>";
        let spans = DataSpans::new(out);
        let markup = "<a>X</a><b w=\"5mm\">固定</b>";
        // <a>…</a> is constant; the empty name right after it is not inside it.
        assert_eq!(spans.touches(markup, &[(0, 8)]), Some(false));
        // <b>'s start tag holds the record's w.
        assert_eq!(spans.touches(markup, &[(8, markup.len())]), Some(true));
        // An empty value inside a range counts.
        assert_eq!(spans.touches(markup, &[(7, 9)]), Some(true));
        assert_eq!(spans.touches("other", &[(0, 1)]), None);
    }
}
