//! The form markup parser: XML text produced by a template → a typed [`Form`].
//!
//! Templates emit a small XML vocabulary, documented element by element in
//! `docs/markup.md`. This stage resolves every length to points, checks every
//! element and attribute name, and reports mistakes with the line and column
//! of the rendered markup. It knows nothing of fonts: measuring and placing
//! text is the layout stage's job.
//!
//! Coordinates are measured from the page's top-left corner. Lengths take a
//! unit: `mm`, `cm`, `pt`, `in`, `em` (relative to the element's font size)
//! or `%` (of the page's safe area — the page minus its margins — with
//! positions starting at the margin).
//!
//! One file per concept: the tree ([`tree`]), positions and errors
//! ([`error`]), `<form>`/`<page>` ([`page`]), inline text ([`inline`]), each
//! element family ([`text`], [`table`], [`graphics`], [`barcodes`]) and the
//! attribute values they share ([`attrs`]). The parser's methods are spread
//! over these files as `impl Parser` blocks.
//!
//! May use `crate::render::page` (colours, units) and roxmltree.

mod attrs;
mod barcodes;
mod error;
mod graphics;
mod inline;
mod page;
mod table;
mod text;
mod tree;

pub use attrs::{parse_color, parse_length};
pub use error::{MarkupError, Pos};
pub use tree::*;

/// Named paper sizes in millimetres (portrait).
pub const PAPER_SIZES: &[(&str, f32, f32)] = &[
    ("A3", 297.0, 420.0),
    ("A4", 210.0, 297.0),
    ("A5", 148.0, 210.0),
    ("B4", 257.0, 364.0),
    ("B5", 182.0, 257.0),
    ("postcard", 100.0, 148.0),
    ("nagagata3", 120.0, 235.0),
    ("長形3号", 120.0, 235.0),
    ("はがき", 100.0, 148.0),
];

/// Nesting limit for inline elements (protects against hostile markup).
pub const MAX_DEPTH: usize = 32;

/// Most `<page>` elements in one form.
pub const MAX_PAGES: usize = 100;

/// Parses form markup.
pub fn parse(markup: &str) -> Result<Form, MarkupError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1_000_000,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(markup, opts).map_err(|e| {
        let p = e.pos();
        MarkupError {
            pos: Pos {
                line: p.row,
                col: p.col,
            },
            message: format!("マークアップが正しくありません (malformed markup): {e}"),
        }
    })?;
    let root = doc.root_element();
    let p = Parser::new(markup);
    p.form(root)
}

/// What decides how the element at `pos` of `markup` is laid out, as byte
/// ranges: the element (its attributes and, with `content`, what it holds;
/// without, a table's row start tags, which give its rows' heights) and
/// the start tags of the elements around it (`<form>`, `<page>`,
/// `<table>`, `<row>`: sizes, margins, styles, columns). None when no
/// element starts there. Error path only: the markup is parsed again.
pub fn element_ranges(markup: &str, pos: Pos, content: bool) -> Option<Vec<(usize, usize)>> {
    let doc = roxmltree::Document::parse(markup).ok()?;
    let p = Parser::new(markup);
    let node = doc
        .descendants()
        .filter(|n| n.is_element())
        .find(|n| p.pos(*n) == pos)?;
    let r = node.range();
    let end = if content {
        r.end
    } else {
        start_tag_end(markup, r.start)
    };
    let mut out = vec![(r.start, end)];
    if !content {
        for row in node.descendants().filter(|n| n.has_tag_name("row")) {
            let start = row.range().start;
            out.push((start, start_tag_end(markup, start)));
        }
    }
    for a in node.ancestors().skip(1).filter(|n| n.is_element()) {
        let start = a.range().start;
        out.push((start, start_tag_end(markup, start)));
    }
    Some(out)
}

/// The end (exclusive) of the start tag that begins at byte `start`: the
/// first `>` outside quoted attribute values.
fn start_tag_end(markup: &str, start: usize) -> usize {
    let mut quote = None;
    for (i, c) in markup[start..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return start + i + 1,
            _ => {}
        }
    }
    markup.len()
}

/// Byte offsets where the lines of `text` start (the first is 0).
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

struct Parser<'input> {
    /// The markup.
    text: &'input str,
    /// [`line_starts`] of `text`, and the last position computed (byte
    /// offset, line, column): elements are visited in document order, so
    /// each position is found from the previous one. (roxmltree's
    /// `text_pos_at` scans from the start each time, which made a long
    /// table quadratic.)
    line_starts: Vec<usize>,
    last: std::cell::Cell<(usize, u32, u32)>,
}

type Node<'a, 'input> = roxmltree::Node<'a, 'input>;

/// What a length measures, which decides what its `%` refers to: positions
/// are offset by the margin, sizes are not; both scale with the safe area.
#[derive(Clone, Copy)]
enum Axis {
    /// A horizontal position.
    X,
    /// A vertical position.
    Y,
    /// A width (or another horizontal extent).
    W,
    /// A height.
    H,
}

struct Ctx {
    page_w: f32,
    page_h: f32,
    margins: Margins,
    style: Style,
}

const PAGE_ATTRS: &[&str] = &[
    "size",
    "orientation",
    "width",
    "height",
    "margin",
    "font",
    "font-size",
    "color",
    "letter-spacing",
];

impl<'input> Parser<'input> {
    fn new(text: &'input str) -> Self {
        Parser {
            text,
            line_starts: line_starts(text),
            last: std::cell::Cell::new((0, 1, 1)),
        }
    }

    /// 1-based line and column (in characters) of a node's start, as
    /// `roxmltree::Document::text_pos_at` counts them.
    fn pos(&self, node: Node) -> Pos {
        let at = node.range().start.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= at) as u32;
        let (b, l, c) = self.last.get();
        let (from, col) = if l == line && b <= at {
            (b, c)
        } else {
            (self.line_starts[line as usize - 1], 1)
        };
        let col = col + self.text[from..at].chars().count() as u32;
        self.last.set((at, line, col));
        Pos { line, col }
    }

    fn err(&self, node: Node, message: String) -> MarkupError {
        MarkupError {
            pos: self.pos(node),
            message,
        }
    }

    fn check_attrs(&self, node: Node, allowed: &[&str]) -> Result<(), MarkupError> {
        for a in node.attributes() {
            if !allowed.contains(&a.name()) {
                return Err(self.err(
                    node,
                    format!(
                        "<{}> に属性 {} は使えません (unknown attribute); 使える属性: {}",
                        node.tag_name().name(),
                        a.name(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn elements<'b>(&self, node: Node<'b, 'input>) -> Result<Vec<Node<'b, 'input>>, MarkupError> {
        let mut out = Vec::new();
        for child in node.children() {
            if child.is_element() {
                out.push(child);
            } else if child.is_text() && !child.text().unwrap_or("").trim().is_empty() {
                return Err(self.err(
                    child,
                    format!(
                        "<{}> の中に文字は書けません (text not allowed here)",
                        node.tag_name().name()
                    ),
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::page::PT_PER_MM;

    #[test]
    fn element_ranges_cover_the_element_and_the_start_tags_around_it() {
        let markup = "<form size=\"A5\">\n<page>\n<qr x=\"1mm\" y=\"1mm\" size=\"9mm\">a>b</qr>\n</page>\n</form>";
        let qr = markup.find("<qr").unwrap();
        let pos = Pos { line: 3, col: 1 };
        let whole = element_ranges(markup, pos, true).unwrap();
        let slice = |(a, b): (usize, usize)| &markup[a..b];
        assert_eq!(
            slice(whole[0]),
            "<qr x=\"1mm\" y=\"1mm\" size=\"9mm\">a>b</qr>"
        );
        assert_eq!(whole[0].0, qr);
        assert_eq!(slice(whole[1]), "<page>");
        assert_eq!(slice(whole[2]), "<form size=\"A5\">");
        let tag = element_ranges(markup, pos, false).unwrap();
        assert_eq!(slice(tag[0]), "<qr x=\"1mm\" y=\"1mm\" size=\"9mm\">");
        assert_eq!(element_ranges(markup, Pos { line: 3, col: 2 }, true), None);
    }

    #[test]
    fn positions_match_roxmltree_on_every_node() {
        let markup = "<form size=\"A4\">\n  <page>\r\n<text x=\"1mm\" y=\"1mm\">氏名：<b>見本</b>\n\
                      太郎</text>\n\n\t<para x=\"0\" y=\"0\" w=\"10mm\">𠮷<br/>a</para></page>\n</form>";
        let doc = roxmltree::Document::parse(markup).unwrap();
        let p = Parser::new(markup);
        let nodes: Vec<_> = doc.descendants().collect();
        assert!(nodes.len() > 10, "{}", nodes.len());
        // In document order (as the parser goes), backwards, and repeated.
        let order = nodes.iter().chain(nodes.iter().rev()).chain(nodes.iter());
        for node in order {
            let want = doc.text_pos_at(node.range().start);
            let got = p.pos(*node);
            assert_eq!((got.line, got.col), (want.row, want.col), "{node:?}");
        }
    }

    fn mm(v: f32) -> f32 {
        v * PT_PER_MM
    }

    #[test]
    fn parses_a_certificate_skeleton() {
        let f = parse(
            r##"<form size="A4" font="mincho" font-size="10.5pt">
  <page>
    <text x="140mm" y="15mm" w="50mm" align="right">目人第12号</text>
    <text x="20mm" y="35mm" w="170mm" align="center" font-size="22pt" letter-spacing="0.5em">在職証明書</text>
    <table x="25mm" y="60mm" columns="35mm 125mm" row-height="11mm" border="0.4pt">
      <row><cell align="distribute">氏名</cell><cell fit="shrink">山田 太郎</cell></row>
    </table>
    <para x="25mm" y="170mm" w="160mm" line-height="1.8">上記の者は、<b>在職</b>して
      いることを証明します。</para>
    <line x1="10mm" y1="10mm" x2="20mm" y2="10mm" dash="1mm 1mm"/>
    <rect x="1cm" y="1cm" w="1in" h="72pt" fill="#f0f0f0" radius="2mm"/>
    <image src="seal.png" x="160mm" y="230mm" w="25mm"/>
  </page>
</form>"##,
        )
        .unwrap();
        assert_eq!(f.pages.len(), 1);
        let p = &f.pages[0];
        assert!((p.width - mm(210.0)).abs() < 0.01);
        assert_eq!(p.elements.len(), 7);
        match &p.elements[1] {
            Element::Text(t) => {
                assert_eq!(t.align, Align::Center);
                assert_eq!(t.runs[0].style.size, 22.0);
                assert!((t.runs[0].style.letter_spacing - 11.0).abs() < 1e-4);
            }
            e => panic!("{e:?}"),
        }
        match &p.elements[3] {
            Element::Para(para) => {
                let text: String = para.runs.iter().map(|r| r.text.as_str()).collect();
                // The line break and indentation of the template vanish.
                assert_eq!(text, "上記の者は、在職していることを証明します。");
                assert_eq!(para.runs[1].style.font, "gothic-bold");
            }
            e => panic!("{e:?}"),
        }
        match &p.elements[2] {
            Element::Table(t) => {
                assert_eq!(t.columns.len(), 2);
                assert_eq!(t.rows[0].cells[1].runs[0].text, "山田 太郎");
                assert!(matches!(t.rows[0].cells[1].fit, Fit::Shrink { .. }));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn unknown_element_and_attribute_report_position() {
        let e = parse("<form>\n<page>\n  <txt x=\"1mm\"/></page></form>").unwrap_err();
        assert_eq!(e.pos, Pos { line: 3, col: 3 });
        assert!(e.message.contains("<txt>"));
        let e =
            parse("<form><page><text x=\"1mm\" y=\"1mm\" colour=\"red\">a</text></page></form>")
                .unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
    }

    #[test]
    fn bad_units_and_unclosed_tags_are_errors() {
        let e = parse("<form><page><text x=\"10px\" y=\"1mm\">a</text></page></form>").unwrap_err();
        assert!(e.message.contains("10px"));
        let e = parse("<form><page><text x=\"1mm\" y=\"1mm\">a</page></form>").unwrap_err();
        assert_eq!(e.pos.line, 1);
        assert!(e.message.contains("malformed"));
    }
}
