//! The form markup parser: XML text produced by a template → a typed [`Form`].
//!
//! Templates emit a small XML vocabulary (documented in the README's markup
//! section). This stage resolves every length to points, checks every element
//! and attribute name, and reports mistakes with the line and column of the
//! rendered markup. It knows nothing of fonts: measuring and placing text is
//! the layout stage's job.
//!
//! Coordinates are measured from the page's top-left corner. Lengths take a
//! unit: `mm`, `cm`, `pt`, `in`, `em` (relative to the element's font size)
//! or `%` (of the page width for x/w, of the page height for y/h).

use crate::page::{Color, PT_PER_MM};
use std::fmt;

/// A parsed form: one or more pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// Pages in order.
    pub pages: Vec<FormPage>,
}

/// Text style inherited from `form` → `page` → element → inline span.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    /// Font slot name (`mincho`, `gothic`, …).
    pub font: String,
    /// Font size in points.
    pub size: f32,
    /// Text colour.
    pub color: Color,
    /// Extra space after each character, in points.
    pub letter_spacing: f32,
    /// Whether the text is underlined.
    pub underline: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            font: "mincho".into(),
            size: 10.5,
            color: Color::BLACK,
            letter_spacing: 0.0,
            underline: false,
        }
    }
}

/// A piece of text with one style.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The text; `'\n'` is an explicit line break.
    pub text: String,
    /// Its style.
    pub style: Style,
}

/// One page of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormPage {
    /// Width in points.
    pub width: f32,
    /// Height in points.
    pub height: f32,
    /// Elements in painting order.
    pub elements: Vec<Element>,
}

/// Horizontal alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Flush left.
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
    /// 均等割付: characters spread evenly over the whole width.
    Distribute,
    /// Both edges flush (last line of a paragraph flush left).
    Justify,
}

/// Vertical alignment inside a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VAlign {
    /// Top.
    Top,
    /// Middle.
    Middle,
    /// Bottom.
    Bottom,
}

/// What to do when text does not fit its box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fit {
    /// Reduce the font size, down to the given minimum (points); below it the
    /// record is rejected.
    Shrink {
        /// Smallest acceptable size in points.
        min_size: f32,
    },
    /// Reject the record.
    Error,
    /// Cut the text at the box edge.
    Clip,
}

/// The position of an element in the markup, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}行{}列 (line {}, column {})",
            self.line, self.col, self.line, self.col
        )
    }
}

/// A form element.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// A single line of text.
    Text(TextBox),
    /// A wrapped paragraph.
    Para(ParaBox),
    /// A bordered table.
    Table(Table),
    /// A straight line.
    Line(LineEl),
    /// A rectangle.
    Rect(RectEl),
    /// An image.
    Image(ImageEl),
}

/// `<text>`: one line of text in a box.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBox {
    /// Where it stands in the markup.
    pub pos: Pos,
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Box width (`None`: as wide as the text, no fitting).
    pub w: Option<f32>,
    /// Box height (`None`: one line).
    pub h: Option<f32>,
    /// Alignment within the width.
    pub align: Align,
    /// Overflow rule.
    pub fit: Fit,
    /// The text.
    pub runs: Vec<Run>,
}

/// `<para>`: wrapped text with Japanese line breaking.
#[derive(Debug, Clone, PartialEq)]
pub struct ParaBox {
    /// Where it stands in the markup.
    pub pos: Pos,
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height limit (`None`: unlimited).
    pub h: Option<f32>,
    /// Line height as a multiple of the font size.
    pub line_height: f32,
    /// First-line indent in points.
    pub indent: f32,
    /// Alignment of lines.
    pub align: Align,
    /// Overflow rule (only with a height).
    pub fit: Fit,
    /// Whether 。、．， may hang past the right edge (ぶら下げ).
    pub hanging: bool,
    /// The text.
    pub runs: Vec<Run>,
}

/// `<table>`: rows of cells on a column grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where it stands in the markup.
    pub pos: Pos,
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Column widths.
    pub columns: Vec<f32>,
    /// Border width (0: no borders).
    pub border: f32,
    /// Rows.
    pub rows: Vec<TableRow>,
}

/// `<row>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// Row height.
    pub height: f32,
    /// Cells.
    pub cells: Vec<TableCell>,
}

/// `<cell>`: wrapped text inside a grid cell.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCell {
    /// Where it stands in the markup.
    pub pos: Pos,
    /// Number of columns spanned.
    pub colspan: usize,
    /// Horizontal alignment.
    pub align: Align,
    /// Vertical alignment.
    pub valign: VAlign,
    /// Inner padding in points: (top and bottom, left and right).
    pub padding: (f32, f32),
    /// Background colour.
    pub fill: Option<Color>,
    /// Overflow rule.
    pub fit: Fit,
    /// Line height as a multiple of the font size.
    pub line_height: f32,
    /// The text.
    pub runs: Vec<Run>,
}

/// `<line>`.
#[derive(Debug, Clone, PartialEq)]
pub struct LineEl {
    /// Start x.
    pub x1: f32,
    /// Start y.
    pub y1: f32,
    /// End x.
    pub x2: f32,
    /// End y.
    pub y2: f32,
    /// Width.
    pub width: f32,
    /// Colour.
    pub color: Color,
    /// Dash pattern (empty: solid).
    pub dash: Vec<f32>,
}

/// `<rect>`.
#[derive(Debug, Clone, PartialEq)]
pub struct RectEl {
    /// Left.
    pub x: f32,
    /// Top.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
    /// Stroke width (0: no outline).
    pub stroke: f32,
    /// Stroke colour.
    pub color: Color,
    /// Fill.
    pub fill: Option<Color>,
    /// Corner radius.
    pub radius: f32,
}

/// `<image>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageEl {
    /// Where it stands in the markup.
    pub pos: Pos,
    /// Image name (file name in the job's assets).
    pub src: String,
    /// Left.
    pub x: f32,
    /// Top.
    pub y: f32,
    /// Width (`None`: from the height and the aspect ratio).
    pub w: Option<f32>,
    /// Height (`None`: from the width and the aspect ratio).
    pub h: Option<f32>,
}

/// A markup error with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkupError {
    /// Where.
    pub pos: Pos,
    /// What, in Japanese with an English gloss.
    pub message: String,
}

impl fmt::Display for MarkupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl std::error::Error for MarkupError {}

/// Named paper sizes in millimetres (portrait).
pub const PAPER_SIZES: &[(&str, f32, f32)] = &[
    ("A3", 297.0, 420.0),
    ("A4", 210.0, 297.0),
    ("A5", 148.0, 210.0),
    ("B4", 257.0, 364.0),
    ("B5", 182.0, 257.0),
    ("postcard", 100.0, 148.0),
    ("nagagata3", 120.0, 235.0),
];

/// Nesting limit for inline elements (protects against hostile markup).
const MAX_DEPTH: usize = 32;

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
    let p = Parser { doc: &doc };
    p.form(root)
}

struct Parser<'a, 'input> {
    doc: &'a roxmltree::Document<'input>,
}

type Node<'a, 'input> = roxmltree::Node<'a, 'input>;

/// Axis a percentage refers to.
#[derive(Clone, Copy)]
enum Axis {
    X,
    Y,
}

struct Ctx {
    page_w: f32,
    page_h: f32,
    style: Style,
}

impl<'a, 'input> Parser<'a, 'input> {
    fn pos(&self, node: Node) -> Pos {
        let p = self.doc.text_pos_at(node.range().start);
        Pos {
            line: p.row,
            col: p.col,
        }
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

    fn form(&self, node: Node) -> Result<Form, MarkupError> {
        if node.tag_name().name() != "form" {
            return Err(self.err(
                node,
                format!(
                    "最上位の要素は <form> です (root must be <form>, found <{}>)",
                    node.tag_name().name()
                ),
            ));
        }
        self.check_attrs(
            node,
            &[
                "size",
                "orientation",
                "width",
                "height",
                "font",
                "font-size",
                "color",
                "letter-spacing",
            ],
        )?;
        let (w, h) = self.page_size(node, None)?;
        let mut ctx = Ctx {
            page_w: w,
            page_h: h,
            style: Style::default(),
        };
        ctx.style = self.style(node, &ctx, &ctx.style)?;
        let mut pages = Vec::new();
        for child in self.elements(node)? {
            if child.tag_name().name() != "page" {
                return Err(self.err(
                    child,
                    format!(
                        "<form> の中には <page> だけを書きます (only <page> inside <form>, found <{}>)",
                        child.tag_name().name()
                    ),
                ));
            }
            pages.push(self.page(child, &ctx)?);
        }
        if pages.is_empty() {
            return Err(self.err(node, "<page> がありません (form has no page)".into()));
        }
        Ok(Form { pages })
    }

    fn page_size(
        &self,
        node: Node,
        inherit: Option<(f32, f32)>,
    ) -> Result<(f32, f32), MarkupError> {
        let (mut w, mut h) = match node.attribute("size") {
            Some(name) => {
                let (_, w, h) = PAPER_SIZES
                    .iter()
                    .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        let names: Vec<&str> = PAPER_SIZES.iter().map(|p| p.0).collect();
                        self.err(
                            node,
                            format!(
                                "用紙サイズ {name} は使えません (unknown paper size); 使えるもの: {}",
                                names.join(", ")
                            ),
                        )
                    })?;
                (w * PT_PER_MM, h * PT_PER_MM)
            }
            None => inherit.unwrap_or((210.0 * PT_PER_MM, 297.0 * PT_PER_MM)),
        };
        if let Some(v) = node.attribute("width") {
            w = self.abs_length(node, "width", v)?;
        }
        if let Some(v) = node.attribute("height") {
            h = self.abs_length(node, "height", v)?;
        }
        match node.attribute("orientation") {
            None => {}
            Some("portrait") if w > h => std::mem::swap(&mut w, &mut h),
            Some("landscape") if w < h => std::mem::swap(&mut w, &mut h),
            Some("portrait") | Some("landscape") => {}
            Some(o) => {
                return Err(self.err(
                    node,
                    format!("orientation は portrait か landscape です (got {o})"),
                ))
            }
        }
        if !(w > 0.0 && h > 0.0 && w < 5000.0 && h < 5000.0) {
            return Err(self.err(node, "用紙の大きさが不正です (bad page size)".into()));
        }
        Ok((w, h))
    }

    fn page(&self, node: Node, form: &Ctx) -> Result<FormPage, MarkupError> {
        self.check_attrs(
            node,
            &[
                "size",
                "orientation",
                "width",
                "height",
                "font",
                "font-size",
                "color",
                "letter-spacing",
            ],
        )?;
        let (w, h) = self.page_size(node, Some((form.page_w, form.page_h)))?;
        let mut ctx = Ctx {
            page_w: w,
            page_h: h,
            style: form.style.clone(),
        };
        ctx.style = self.style(node, &ctx, &form.style)?;
        let mut elements = Vec::new();
        for child in self.elements(node)? {
            elements.push(self.element(child, &ctx)?);
        }
        Ok(FormPage {
            width: w,
            height: h,
            elements,
        })
    }

    fn element(&self, node: Node, ctx: &Ctx) -> Result<Element, MarkupError> {
        match node.tag_name().name() {
            "text" => self.text(node, ctx).map(Element::Text),
            "para" => self.para(node, ctx).map(Element::Para),
            "table" => self.table(node, ctx).map(Element::Table),
            "line" => self.line(node, ctx).map(Element::Line),
            "rect" => self.rect(node, ctx).map(Element::Rect),
            "image" => self.image(node, ctx).map(Element::Image),
            other => Err(self.err(
                node,
                format!(
                    "要素 <{other}> は使えません (unknown element); 使える要素: text, para, table, line, rect, image"
                ),
            )),
        }
    }

    const STYLE_ATTRS: &'static [&'static str] =
        &["font", "font-size", "color", "letter-spacing", "underline"];

    fn style(&self, node: Node, ctx: &Ctx, parent: &Style) -> Result<Style, MarkupError> {
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

    fn runs(&self, node: Node, style: &Style, depth: usize) -> Result<Vec<Run>, MarkupError> {
        let mut runs = self.inline(node, style, depth)?;
        trim_runs(&mut runs);
        Ok(runs)
    }

    fn inline(&self, node: Node, style: &Style, depth: usize) -> Result<Vec<Run>, MarkupError> {
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
                            style: style.clone(),
                        };
                        let s = self.style(child, &ctx, style)?;
                        extend_runs(&mut runs, self.inline(child, &s, depth + 1)?);
                    }
                    other => {
                        return Err(self.err(
                            child,
                            format!(
                                "文中に <{other}> は使えません (unknown inline element); 使えるもの: br, b, u, span"
                            ),
                        ))
                    }
                }
            }
        }
        Ok(runs)
    }

    fn text(&self, node: Node, ctx: &Ctx) -> Result<TextBox, MarkupError> {
        let mut allowed = vec!["x", "y", "w", "h", "align", "fit", "min-font-size"];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, &ctx.style)?;
        let w = self.opt_length(node, "w", ctx, &style, Axis::X)?;
        let align = self.align(node, Align::Left)?;
        if w.is_none() && align != Align::Left {
            return Err(self.err(node, "align には w が必要です (align needs w)".into()));
        }
        Ok(TextBox {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, &style, Axis::X)?,
            y: self.req_length(node, "y", ctx, &style, Axis::Y)?,
            w,
            h: self.opt_length(node, "h", ctx, &style, Axis::Y)?,
            align,
            fit: self.fit(node, &style)?,
            runs: self.runs(node, &style, 0)?,
        })
    }

    fn para(&self, node: Node, ctx: &Ctx) -> Result<ParaBox, MarkupError> {
        let mut allowed = vec![
            "x",
            "y",
            "w",
            "h",
            "align",
            "fit",
            "min-font-size",
            "line-height",
            "indent",
            "hanging",
        ];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, &ctx.style)?;
        let align = self.align(node, Align::Left)?;
        Ok(ParaBox {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, &style, Axis::X)?,
            y: self.req_length(node, "y", ctx, &style, Axis::Y)?,
            w: self.req_length(node, "w", ctx, &style, Axis::X)?,
            h: self.opt_length(node, "h", ctx, &style, Axis::Y)?,
            line_height: self.number(node, "line-height", 1.5)?,
            indent: self
                .opt_length(node, "indent", ctx, &style, Axis::X)?
                .unwrap_or(0.0),
            align,
            fit: self.fit(node, &style)?,
            hanging: match node.attribute("hanging") {
                Some(v) => self.boolean(node, "hanging", v)?,
                None => false,
            },
            runs: self.runs(node, &style, 0)?,
        })
    }

    fn table(&self, node: Node, ctx: &Ctx) -> Result<Table, MarkupError> {
        let mut allowed = vec!["x", "y", "columns", "row-height", "border"];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, &ctx.style)?;
        let cols_attr = node.attribute("columns").ok_or_else(|| {
            self.err(
                node,
                "<table> には columns が必要です (columns required)".into(),
            )
        })?;
        let mut columns = Vec::new();
        for c in cols_attr.split_whitespace() {
            columns.push(self.length(node, "columns", c, &style, ctx.page_w)?);
        }
        if columns.is_empty() {
            return Err(self.err(node, "columns が空です (no columns)".into()));
        }
        let row_height = self
            .opt_length(node, "row-height", ctx, &style, Axis::Y)?
            .unwrap_or(style.size * 2.0);
        let border = self
            .opt_length(node, "border", ctx, &style, Axis::X)?
            .unwrap_or(0.5);
        let mut rows = Vec::new();
        for r in self.elements(node)? {
            if r.tag_name().name() != "row" {
                return Err(self.err(
                    r,
                    format!(
                        "<table> の中には <row> だけを書きます (only <row> in <table>, found <{}>)",
                        r.tag_name().name()
                    ),
                ));
            }
            let mut allowed = vec!["h"];
            allowed.extend_from_slice(Self::STYLE_ATTRS);
            self.check_attrs(r, &allowed)?;
            let rstyle = self.style(r, ctx, &style)?;
            let height = self
                .opt_length(r, "h", ctx, &rstyle, Axis::Y)?
                .unwrap_or(row_height);
            let mut cells = Vec::new();
            let mut span_total = 0;
            for c in self.elements(r)? {
                if c.tag_name().name() != "cell" {
                    return Err(self.err(
                        c,
                        format!(
                            "<row> の中には <cell> だけを書きます (only <cell> in <row>, found <{}>)",
                            c.tag_name().name()
                        ),
                    ));
                }
                let cell = self.cell(c, ctx, &rstyle)?;
                span_total += cell.colspan;
                cells.push(cell);
            }
            if span_total > columns.len() {
                return Err(self.err(
                    r,
                    format!(
                        "セルが列より多すぎます (row has {span_total} cells, table has {} columns)",
                        columns.len()
                    ),
                ));
            }
            rows.push(TableRow { height, cells });
        }
        Ok(Table {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, &style, Axis::X)?,
            y: self.req_length(node, "y", ctx, &style, Axis::Y)?,
            columns,
            border,
            rows,
        })
    }

    fn cell(&self, node: Node, ctx: &Ctx, row_style: &Style) -> Result<TableCell, MarkupError> {
        let mut allowed = vec![
            "colspan",
            "align",
            "valign",
            "padding",
            "fill",
            "fit",
            "min-font-size",
            "line-height",
        ];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, row_style)?;
        let colspan = match node.attribute("colspan") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| self.err(node, format!("colspan {v} は 1 以上の整数です")))?,
            None => 1,
        };
        let valign = match node.attribute("valign") {
            None | Some("middle") => VAlign::Middle,
            Some("top") => VAlign::Top,
            Some("bottom") => VAlign::Bottom,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("valign は top, middle, bottom のいずれかです (got {v})"),
                ))
            }
        };
        Ok(TableCell {
            pos: self.pos(node),
            colspan,
            align: self.align(node, Align::Left)?,
            valign,
            padding: match node.attribute("padding") {
                None => (1.0 * PT_PER_MM, 1.5 * PT_PER_MM),
                Some(v) => {
                    let parts: Vec<&str> = v.split_whitespace().collect();
                    let one = |p: &str| self.length(node, "padding", p, &style, ctx.page_w);
                    match parts.as_slice() {
                        [all] => (one(all)?, one(all)?),
                        [vertical, horizontal] => (one(vertical)?, one(horizontal)?),
                        _ => {
                            return Err(self.err(
                                node,
                                format!("padding は「上下左右」か「上下 左右」の長さです (padding takes one or two lengths, got {v})"),
                            ))
                        }
                    }
                }
            },
            fill: node
                .attribute("fill")
                .map(|v| self.color(node, v))
                .transpose()?,
            fit: self.fit(node, &style)?,
            line_height: self.number(node, "line-height", 1.3)?,
            runs: self.runs(node, &style, 0)?,
        })
    }

    fn line(&self, node: Node, ctx: &Ctx) -> Result<LineEl, MarkupError> {
        self.check_attrs(node, &["x1", "y1", "x2", "y2", "width", "color", "dash"])?;
        let s = &ctx.style;
        let dash = match node.attribute("dash") {
            None => Vec::new(),
            Some(v) => {
                let mut d = Vec::new();
                for part in v.split_whitespace() {
                    d.push(self.length(node, "dash", part, s, ctx.page_w)?);
                }
                d
            }
        };
        Ok(LineEl {
            x1: self.req_length(node, "x1", ctx, s, Axis::X)?,
            y1: self.req_length(node, "y1", ctx, s, Axis::Y)?,
            x2: self.req_length(node, "x2", ctx, s, Axis::X)?,
            y2: self.req_length(node, "y2", ctx, s, Axis::Y)?,
            width: self
                .opt_length(node, "width", ctx, s, Axis::X)?
                .unwrap_or(0.5),
            color: match node.attribute("color") {
                Some(v) => self.color(node, v)?,
                None => Color::BLACK,
            },
            dash,
        })
    }

    fn rect(&self, node: Node, ctx: &Ctx) -> Result<RectEl, MarkupError> {
        self.check_attrs(
            node,
            &["x", "y", "w", "h", "stroke", "color", "fill", "radius"],
        )?;
        let s = &ctx.style;
        Ok(RectEl {
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            w: self.req_length(node, "w", ctx, s, Axis::X)?,
            h: self.req_length(node, "h", ctx, s, Axis::Y)?,
            stroke: self
                .opt_length(node, "stroke", ctx, s, Axis::X)?
                .unwrap_or(0.5),
            color: match node.attribute("color") {
                Some(v) => self.color(node, v)?,
                None => Color::BLACK,
            },
            fill: node
                .attribute("fill")
                .map(|v| self.color(node, v))
                .transpose()?,
            radius: self
                .opt_length(node, "radius", ctx, s, Axis::X)?
                .unwrap_or(0.0),
        })
    }

    fn image(&self, node: Node, ctx: &Ctx) -> Result<ImageEl, MarkupError> {
        self.check_attrs(node, &["src", "x", "y", "w", "h"])?;
        let s = &ctx.style;
        let src = node
            .attribute("src")
            .ok_or_else(|| self.err(node, "<image> には src が必要です (src required)".into()))?;
        let w = self.opt_length(node, "w", ctx, s, Axis::X)?;
        let h = self.opt_length(node, "h", ctx, s, Axis::Y)?;
        if w.is_none() && h.is_none() {
            return Err(self.err(
                node,
                "<image> には w か h が必要です (w or h required)".into(),
            ));
        }
        Ok(ImageEl {
            pos: self.pos(node),
            src: src.to_string(),
            x: self.req_length(node, "x", ctx, s, Axis::X)?,
            y: self.req_length(node, "y", ctx, s, Axis::Y)?,
            w,
            h,
        })
    }

    fn align(&self, node: Node, default: Align) -> Result<Align, MarkupError> {
        Ok(match node.attribute("align") {
            None => default,
            Some("left") => Align::Left,
            Some("center") => Align::Center,
            Some("right") => Align::Right,
            Some("distribute") => Align::Distribute,
            Some("justify") => Align::Justify,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!(
                    "align は left, center, right, distribute, justify のいずれかです (got {v})"
                ),
                ))
            }
        })
    }

    fn fit(&self, node: Node, style: &Style) -> Result<Fit, MarkupError> {
        let min = match node.attribute("min-font-size") {
            Some(v) => self.length_rel(node, "min-font-size", v, style.size, style.size)?,
            None => (style.size * 0.6).max(5.0).min(style.size),
        };
        Ok(match node.attribute("fit") {
            None | Some("error") => Fit::Error,
            Some("shrink") => Fit::Shrink { min_size: min },
            Some("clip") => Fit::Clip,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("fit は shrink, error, clip のいずれかです (got {v})"),
                ))
            }
        })
    }

    fn boolean(&self, node: Node, name: &str, v: &str) -> Result<bool, MarkupError> {
        match v {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err(self.err(node, format!("{name} は true か false です (got {v})"))),
        }
    }

    fn number(&self, node: Node, name: &str, default: f32) -> Result<f32, MarkupError> {
        match node.attribute(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0 && *n < 100.0)
                .ok_or_else(|| self.err(node, format!("{name} の値 {v} が不正です (bad number)"))),
        }
    }

    fn color(&self, node: Node, v: &str) -> Result<Color, MarkupError> {
        parse_color(v).ok_or_else(|| {
            self.err(
                node,
                format!("色 {v} が不正です (bad colour: use #rrggbb, #rgb or a name: black, white, red, gray, blue)"),
            )
        })
    }

    fn req_length(
        &self,
        node: Node,
        name: &str,
        ctx: &Ctx,
        style: &Style,
        axis: Axis,
    ) -> Result<f32, MarkupError> {
        self.opt_length(node, name, ctx, style, axis)?
            .ok_or_else(|| {
                self.err(
                    node,
                    format!(
                        "<{}> には {name} が必要です (attribute {name} required)",
                        node.tag_name().name()
                    ),
                )
            })
    }

    fn opt_length(
        &self,
        node: Node,
        name: &str,
        ctx: &Ctx,
        style: &Style,
        axis: Axis,
    ) -> Result<Option<f32>, MarkupError> {
        let whole = match axis {
            Axis::X => ctx.page_w,
            Axis::Y => ctx.page_h,
        };
        node.attribute(name)
            .map(|v| self.length(node, name, v, style, whole))
            .transpose()
    }

    fn length(
        &self,
        node: Node,
        name: &str,
        v: &str,
        style: &Style,
        whole: f32,
    ) -> Result<f32, MarkupError> {
        self.length_rel(node, name, v, style.size, whole)
    }

    fn length_rel(
        &self,
        node: Node,
        name: &str,
        v: &str,
        em: f32,
        whole: f32,
    ) -> Result<f32, MarkupError> {
        parse_length(v, em, whole).ok_or_else(|| {
            self.err(
                node,
                format!(
                    "{name}=\"{v}\" は長さではありません (bad length: use mm, cm, pt, in, em or %)"
                ),
            )
        })
    }

    fn abs_length(&self, node: Node, name: &str, v: &str) -> Result<f32, MarkupError> {
        self.length_rel(node, name, v, 10.5, 0.0)
    }
}

/// Parses a length with its unit into points. `em` is the font size in points
/// and `whole` the length that `100%` stands for.
pub fn parse_length(v: &str, em: f32, whole: f32) -> Option<f32> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f32 = num.parse().ok()?;
    if !n.is_finite() || n.abs() > 100_000.0 {
        return None;
    }
    let pt = match unit {
        "mm" => n * PT_PER_MM,
        "cm" => n * 10.0 * PT_PER_MM,
        "pt" => n,
        "in" => n * 72.0,
        "em" => n * em,
        "%" => n / 100.0 * whole,
        _ => return None,
    };
    Some(pt)
}

/// Parses `#rrggbb`, `#rgb` or a few colour names.
pub fn parse_color(v: &str) -> Option<Color> {
    let v = v.trim();
    let named = match v {
        "black" => Some((0, 0, 0)),
        "white" => Some((255, 255, 255)),
        "red" => Some((200, 30, 30)),
        "gray" | "grey" => Some((128, 128, 128)),
        "blue" => Some((30, 60, 200)),
        _ => None,
    };
    let (r, g, b) = match named {
        Some(c) => c,
        None => {
            let hex = v.strip_prefix('#')?;
            if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            match hex.len() {
                6 => (
                    u8::from_str_radix(&hex[0..2], 16).ok()?,
                    u8::from_str_radix(&hex[2..4], 16).ok()?,
                    u8::from_str_radix(&hex[4..6], 16).ok()?,
                ),
                3 => {
                    let d = |i: usize| u8::from_str_radix(&hex[i..i + 1], 16).map(|x| x * 17);
                    (d(0).ok()?, d(1).ok()?, d(2).ok()?)
                }
                _ => return None,
            }
        }
    };
    Some(Color {
        r: r as f32 / 255.0,
        g: g as f32 / 255.0,
        b: b as f32 / 255.0,
    })
}

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
        push_run(runs, r.text, &r.style);
    }
}

fn push_run(runs: &mut Vec<Run>, text: String, style: &Style) {
    if let Some(last) = runs.last_mut() {
        if last.style == *style {
            last.text.push_str(&text);
            return;
        }
    }
    runs.push(Run {
        text,
        style: style.clone(),
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
    runs.retain(|r| !r.text.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn lengths_and_colours() {
        assert_eq!(parse_length("72pt", 10.0, 0.0), Some(72.0));
        assert!((parse_length("25.4mm", 10.0, 0.0).unwrap() - 72.0).abs() < 1e-4);
        assert_eq!(parse_length("2em", 10.0, 0.0), Some(20.0));
        assert_eq!(parse_length("50%", 10.0, 200.0), Some(100.0));
        assert_eq!(parse_length("10", 10.0, 0.0), None);
        assert_eq!(parse_length("mm", 10.0, 0.0), None);
        assert_eq!(
            parse_color("#fff").unwrap(),
            Color {
                r: 1.0,
                g: 1.0,
                b: 1.0
            }
        );
        assert!(parse_color("#12345").is_none());
    }

    #[test]
    fn whitespace_rules() {
        assert_eq!(normalize_space("山田 太郎"), "山田 太郎");
        assert_eq!(normalize_space("証明\n    します"), "証明します");
        assert_eq!(normalize_space("A  B"), "A B");
        assert_eq!(normalize_space("全角　空白"), "全角　空白");
    }

    #[test]
    fn landscape_swaps_dimensions() {
        let f = parse("<form size=\"A4\" orientation=\"landscape\"><page/></form>").unwrap();
        assert!(f.pages[0].width > f.pages[0].height);
    }
}
